package honour_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/models"
)

// walkEntries reads every page of Entries as p at limit and returns the
// ids in the order read, failing on an id read twice.
func (w *honourWorld) walkEntries(p models.Principal, status models.HonourStatus, limit int) []string {
	w.t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 200 {
			w.t.Fatal("the pages never end")
		}
		es, next, err := w.hs.Entries(ctx, p, status, cursor, limit)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, e := range es {
			if slices.Contains(ids, e.ID) {
				w.t.Fatalf("%s on two pages", e.ID)
			}
			ids = append(ids, e.ID)
		}
		if next == "" {
			return ids
		}
		cursor = next
	}
}

// walkBoard reads every page of the board as p at limit.
func (w *honourWorld) walkBoard(p models.Principal, limit int) []string {
	w.t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 200 {
			w.t.Fatal("the pages never end")
		}
		rows, next, err := w.hs.Board(ctx, p, cursor, limit)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, r := range rows {
			if slices.Contains(ids, r.EntryID) {
				w.t.Fatalf("%s on two pages of the board", r.EntryID)
			}
			ids = append(ids, r.EntryID)
		}
		if next == "" {
			return ids
		}
		cursor = next
	}
}

// An entry whose nominee chose not to be shown stays off every page for
// other residents, in notice and on the board, at every page size; the
// nominee and their household see it in notice, staff see it everywhere.
func TestIssue15_HonourLists_OptedOutEntriesHiddenOnEveryPage(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	more := []models.Resident{w.resident("钱七", w.hh2.ID), w.resident("孙八", w.hh1.ID), w.resident("周九", w.hh2.ID)}
	nominees := append([]models.Resident{w.zhang, w.wang}, more...)
	var ids []string
	for _, r := range nominees {
		ids = append(ids, w.nominate(r).ID)
	}
	slices.Reverse(ids) // the latest first
	// 张三 (household 1, with 李四) and 钱七 opt out.
	for _, r := range []models.Resident{w.zhang, more[0]} {
		e, _, err := w.hs.Entries(ctx, w.as(r), models.HonourNotice, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var mine string
		for _, x := range e {
			if x.ResidentID == r.ID {
				mine = x.ID
			}
		}
		if _, err := w.hs.SetHidden(ctx, w.as(r), mine, true); err != nil {
			t.Fatal(err)
		}
	}
	hidden := map[string]bool{}
	for _, id := range ids {
		if e := w.entry(id); e.Hidden {
			hidden[e.ResidentID] = true
		}
	}
	shown := func(see func(models.HonourEntry) bool) []string {
		var out []string
		for _, id := range ids {
			if e := w.entry(id); !e.Hidden || see(e) {
				out = append(out, id)
			}
		}
		return out
	}
	others := shown(func(models.HonourEntry) bool { return false })
	if len(others) != 3 || len(hidden) != 2 {
		t.Fatalf("set-up: %d shown, %d hidden", len(others), len(hidden))
	}
	for _, limit := range []int{1, 2, 3, 50} {
		if got := w.walkEntries(w.as(w.wang), models.HonourNotice, limit); !slices.Equal(got, others) {
			t.Fatalf("another resident at limit %d reads %v; want %v", limit, got, others)
		}
		// 李四 shares 张三's household, but the entry names 张三 alone.
		if got := w.walkEntries(w.as(w.li), models.HonourNotice, limit); !slices.Equal(got, others) {
			t.Fatalf("the nominee's housemate at limit %d reads %v", limit, got)
		}
		if got := w.walkEntries(w.as(more[0]), models.HonourNotice, limit); !slices.Equal(got, shown(func(e models.HonourEntry) bool { return e.ResidentID == more[0].ID })) {
			t.Fatalf("the nominee at limit %d reads %v", limit, got)
		}
		if got := w.walkEntries(w.staff, models.HonourNotice, limit); !slices.Equal(got, ids) {
			t.Fatalf("staff at limit %d read %v; want all %v", limit, got, ids)
		}
		if got := w.walkEntries(w.staff, "", limit); !slices.Equal(got, ids) {
			t.Fatalf("staff, every status, at limit %d: %v", limit, got)
		}
	}
	if _, _, err := w.hs.Entries(ctx, w.as(w.wang), "", "", 10); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("a resident listed every status: %v", err)
	}
	// Listed: the board leaves the two out for everyone, page by page.
	w.at = w.at.Add(8 * 24 * time.Hour)
	if listed, _, _ := w.listDue(); listed != 5 {
		t.Fatalf("listed %d", listed)
	}
	// The job lists in its own order, and the board reads the latest
	// listed first: compared as sets (a walk fails on a repeat).
	sorted := func(ids []string) []string { return slices.Sorted(slices.Values(ids)) }
	for _, limit := range []int{1, 2, 50} {
		if got := w.walkBoard(w.as(w.zhao), limit); !slices.Equal(sorted(got), sorted(others)) {
			t.Fatalf("board at limit %d: %v; want %v", limit, got, others)
		}
		if got := w.walkEntries(w.staff, models.HonourListed, limit); !slices.Equal(sorted(got), sorted(ids)) {
			t.Fatalf("staff's listed at limit %d: %v", limit, got)
		}
		if got := w.walkEntries(w.as(w.wang), models.HonourNotice, limit); len(got) != 0 {
			t.Fatalf("still in notice after the listing: %v", got)
		}
	}
	// Revoked and expired listings leave the board and the listed view.
	if _, err := w.hs.Revoke(ctx, w.staff, ids[0], "违反公约"); err != nil {
		t.Fatal(err)
	}
	if got := w.walkBoard(w.as(w.zhao), 1); !slices.Equal(sorted(got), sorted(others[1:])) {
		t.Fatalf("board after a revocation: %v", got)
	}
	w.at = w.entry(ids[1]).ExpiresAt
	if _, err := w.hs.ExpireDue(ctx, w.at); err != nil {
		t.Fatal(err)
	}
	if got := w.walkBoard(w.as(w.zhao), 2); len(got) != 0 {
		t.Fatalf("board after the expiry: %v", got)
	}
	if got := w.walkEntries(w.staff, models.HonourExpired, 2); len(got) != 4 {
		t.Fatalf("staff's expired: %v", got)
	}
}

// Nominations made concurrently while staff and residents page through
// the notice: no page repeats an entry, every walk sees each nomination
// that was there when it began, and afterwards every nomination is there
// once.
func TestIssue15_HonourLists_NominatedConcurrentlyWhilePagesAreRead(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	var people []models.Resident
	for i := range 12 {
		people = append(people, w.resident(fmt.Sprintf("邻居%d", i), w.hh2.ID))
	}
	var before []string
	for _, r := range people[:4] {
		before = append(before, w.nominate(r).ID)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for _, r := range people[4:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			nomination := honour.Nomination{
				ResidentID: r.ID,
				Category:   "诚信",
				Reason:     "热心",
			}
			if _, err := w.hs.Nominate(ctx, w.staff, nomination); err != nil {
				errs <- err
			}
		}()
	}
	walks := make([][]string, 4)
	for i := range walks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			p := w.staff
			if i%2 == 1 {
				p = w.as(w.zhang)
			}
			cursor := ""
			for {
				es, next, err := w.hs.Entries(ctx, p, models.HonourNotice, cursor, 1+i)
				if err != nil {
					errs <- err
					return
				}
				for _, e := range es {
					walks[i] = append(walks[i], e.ID)
				}
				if next == "" {
					return
				}
				cursor = next
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, walk := range walks {
		seen := map[string]int{}
		for _, id := range walk {
			seen[id]++
			if seen[id] > 1 {
				t.Fatalf("walk %d read %s twice", i, id)
			}
		}
		for _, id := range before {
			if seen[id] != 1 {
				t.Fatalf("walk %d missed %s: %v", i, id, walk)
			}
		}
	}
	if got := w.walkEntries(w.staff, models.HonourNotice, 5); len(got) != 12 {
		t.Fatalf("after the nominations the notice holds %d; want 12", len(got))
	}
}

// The board names each row's building from memory once it has read it: a
// building's name is set when it is made and never changed, so a page of
// rows from a few buildings looks each up once an hour, not once a row. A
// read within the hour costs no lookup of the building; one after it reads
// the building again, and the row still names it.
func TestIssue15_BoardRemembersBuildingNames(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustListed(w.zhang)
	w.mustListed(w.wang) // another flat of the same building
	board := func() (int64, []honour.BoardRow) {
		t.Helper()
		before := w.st.CommandCounts().Finds
		rows, _, err := w.hs.Board(ctx, w.as(w.li), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("board %+v; want the two listed", rows)
		}
		for _, r := range rows {
			if r.BuildingName != w.bld.Name {
				t.Fatalf("row %+v; want building %q", r, w.bld.Name)
			}
		}
		return w.st.CommandCounts().Finds - before, rows
	}
	board() // the first read moves the board's floor and reads the building
	warm, _ := board()
	again, _ := board()
	if again != warm {
		t.Fatalf("two reads in a row cost %d and %d finds", warm, again)
	}
	w.at = w.at.Add(61 * time.Minute)
	if cold, _ := board(); cold != warm+1 {
		t.Fatalf("a read after an hour cost %d finds, one within it %d; want one more, the building's", cold, warm)
	}
}
