package settlement_test

import (
	"errors"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/settlement"
)

// walkStatementLines reads every page of a statement's lines as p, limit
// a page, and returns how often each line was read and the lines in order.
func walkStatementLines(t *testing.T, svc *settlement.Service, p models.Principal, id string, limit int) (map[string]int, []models.StatementLine) {
	t.Helper()
	seen := map[string]int{}
	var all []models.StatementLine
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 2000 {
			t.Fatal("the pages never end")
		}
		_, lines, next, err := svc.Statement(ctx, p, id, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			seen[l.ID]++
			all = append(all, l)
		}
		if next == "" {
			return seen, all
		}
		cursor = next
	}
}

// Issue 15: several settlement runs of one partner's month racing (each
// with two line writers of its own, some of them resumed runs that look
// their lines up first) make one statement whose list of lines holds every
// event once: read a page at a time by cursor, whatever the page size,
// each line is read exactly once and they add up to the header.
func TestIssue15_Statements_RacingRunsListEachLineOnce(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	want := w.october(450) // three batches of lines
	later := &clock{t: w.clock.now().Add(time.Second)}
	// A second replica, a second later: whichever began first, the runs of
	// the other replica are resumed runs (their start differs from the
	// saved one).
	replica := settlement.New(settlement.Deps{
		Store:    w.st,
		Ledger:   w.l,
		People:   w.st,
		Policies: policy.New(w.st, later.now),
		Trail:    w.st,
		Held:     heldStub{7},
		Now:      later.now,
		Notify:   community.NoNotifier{},
	})
	const runs = 6
	made := make([]bool, runs)
	sts := make([]models.Statement, runs)
	errs := make([]error, runs)
	atonce.Run(runs, func(i int) {
		svc := w.svc
		if i%2 == 1 {
			svc = replica
		}
		sts[i], made[i], errs[i] = svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], oct2026)
	})
	created := 0
	for i := range runs {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		if made[i] {
			created++
		}
		checkTotals(t, sts[i], want)
	}
	if created != 1 {
		t.Fatalf("%d runs wrote the header; want 1", created)
	}
	id := models.StatementID("P1", oct2026)
	for _, limit := range []int{7, 64, 449, 500} {
		seen, lines := walkStatementLines(t, w.svc, staffA(), id, limit)
		if len(seen) != want.Lines || len(lines) != want.Lines {
			t.Fatalf("pages of %d read %d lines (%d distinct); want %d", limit, len(lines), len(seen), want.Lines)
		}
		var got models.StatementTotals
		for _, l := range lines {
			if seen[l.ID] != 1 {
				t.Fatalf("pages of %d read %s %d times", limit, l.ID, seen[l.ID])
			}
			got.Add(l)
		}
		if got != want {
			t.Fatalf("pages of %d add up to %+v; want %+v", limit, got, want)
		}
	}
	// The partner reads the same pages; another partner cannot.
	if seen, _ := walkStatementLines(t, w.svc, clerkOf("A", "P1"), id, 100); len(seen) != want.Lines {
		t.Fatalf("the clerk reads %d lines; want %d", len(seen), want.Lines)
	}
	_, _, next, err := w.svc.Statement(ctx, clerkOf("A", "P1"), id, "", 100)
	if err != nil || next == "" {
		t.Fatalf("the clerk's first page: next %q, %v", next, err)
	}
	if _, _, _, err := w.svc.Statement(ctx, partnerLogin("A", "P2"), id, next, 100); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("P2 pages P1's statement: %v; want forbidden", err)
	}
	// The statements: P1's, on the community's, the partner's and the
	// month's lists.
	for _, tc := range []struct {
		p              models.Principal
		partner, month string
	}{{staffA(), "", ""}, {staffA(), "P1", ""}, {staffA(), "", "2026-10"}, {clerkOf("A", "P1"), "", ""}, {clerkOf("A", "P1"), "", "2026-10"}} {
		got, next, err := w.svc.Statements(ctx, tc.p, tc.partner, tc.month, "", 10)
		if err != nil || next != "" || len(got) != 1 || got[0].ID != id {
			t.Fatalf("statements %+v: %+v, next %q, %v; want P1's once", tc, got, next, err)
		}
	}
}
