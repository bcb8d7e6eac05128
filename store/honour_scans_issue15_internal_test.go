package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// nomineeIDs is the ids of the nominee's entries stored before the chains,
// in community c1, in the order read.
func nomineeIDs(ctx context.Context, t *testing.T, s *Store, nominee string) []string {
	t.Helper()
	es, err := s.NomineeEntriesStoredBefore(ctx, "c1", nominee)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// The entries a store held before this start are put on their nominee's
// list once: those stored before any list (no slots) and those already on
// the community's lists, residents' and households' apart, newest first;
// a slot a crash left unnamed is skipped; the second start adds nothing,
// and an entry stored after the backfill is not on the list (its chain
// holds it).
func TestIssue15_HonourScans_OldEntriesOnTheirNomineesListAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		e := testHonourEntry(i)
		e.ResidentID = []string{"resA", "resB"}[i%2]
		if i == 5 {
			e.ResidentID, e.HouseholdID = "", "hh1"
		}
		if i <= 3 {
			// Before any list: no slots.
			if err := s.insert(ctx, colHonourEntries, toHonourEntryDoc(e)); err != nil {
				t.Fatal(err)
			}
		} else if err := s.InsertHonourEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// A crash part way through a backfill left a slot naming he002 that
	// he002 does not name.
	if _, err := s.insertListed(ctx, colHonourEntries, []string{honourNomineeList("c1", "r:resA")}, "he002", honourAt, nil); err != nil {
		t.Fatal(err)
	}
	forgetBackfills(t, s, "honour-lists", "honour-nominee-lists")
	startTwice(t, s.EnsureSchema) // the second start finds the work done
	later := testHonourEntry(7)
	later.ResidentID = "resB"
	if err := s.InsertHonourEntry(ctx, later); err != nil {
		t.Fatal(err)
	}
	if got, want := nomineeIDs(ctx, t, s, "r:resA"), []string{"he006", "he004", "he002"}; !slices.Equal(got, want) {
		t.Fatalf("resA: %v; want %v", got, want)
	}
	if got, want := nomineeIDs(ctx, t, s, "r:resB"), []string{"he003", "he001"}; !slices.Equal(got, want) {
		t.Fatalf("resB: %v; want %v", got, want)
	}
	if got, want := nomineeIDs(ctx, t, s, "h:hh1"), []string{"he005"}; !slices.Equal(got, want) {
		t.Fatalf("hh1: %v; want %v", got, want)
	}
	if got := nomineeIDs(ctx, t, s, "r:nobody"); len(got) != 0 {
		t.Fatalf("nobody: %v", got)
	}
	// Each entry is on its nominee's list once.
	for i := 1; i <= 6; i++ {
		var d honourEntryDoc
		if err := s.findByID(ctx, colHonourEntries, fmt.Sprintf("he%03d", i), &d); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, sl := range d.Slots {
			if strings.HasPrefix(sl.List, "hn:") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("he%03d names %d nominee slots: %v", i, n, d.Slots)
		}
	}
}
