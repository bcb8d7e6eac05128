package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
)

// appendConcurrently has writers goroutines each append perWriter records
// to list in col, through the stores given in turn, all at once, and
// returns the refs appended.
func appendConcurrently(t *testing.T, stores []*Store, list string, writers, perWriter int) map[string]bool {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	errs := make(chan error, writers*perWriter)
	want := map[string]bool{}
	for w := range writers {
		for i := range perWriter {
			want[fmt.Sprintf("rec-%d-%d", w, i)] = true
		}
	}
	atonce.Run(writers, func(w int) {
		s := stores[w%len(stores)]
		for i := range perWriter {
			if _, err := s.insertListed(ctx, colRedemptions, []string{list}, fmt.Sprintf("rec-%d-%d", w, i), at, nil); err != nil {
				errs <- err
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return want
}

// checkDense reads list's slots from its head down and checks that they
// are numbered 1..len(want) with no gap, and point at each wanted ref
// exactly once.
func checkDense(t *testing.T, s *Store, list string, want map[string]bool) {
	t.Helper()
	ctx := context.Background()
	head, err := s.listHead(ctx, colRedemptions, list)
	if err != nil {
		t.Fatal(err)
	}
	if head != int64(len(want)) {
		t.Fatalf("the list's head is slot %d after %d appends", head, len(want))
	}
	slots, refs, next, err := s.pageSlots(ctx, colRedemptions, list, 0, len(want))
	if err != nil {
		t.Fatal(err)
	}
	if next != 0 || len(slots) != len(want) {
		t.Fatalf("one page of %d read %d slots, next %d", len(want), len(slots), next)
	}
	seen := map[string]bool{}
	for i, ref := range refs {
		if !want[ref] || seen[ref] {
			t.Fatalf("slot %d points at %q: not appended, or listed twice", slots[i].N, ref)
		}
		seen[ref] = true
	}
}

// The appenders of one list in one process take turns: 16 of them
// appending at once leave the slots dense, each record listed once, and
// never find a slot taken (a collision would cost a failed write each).
func TestListTurns_AppendersOfOneListInOneProcessNeverCollide(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	before := s.InsertStats().SlotCollisions
	want := appendConcurrently(t, []*Store{s}, "adj:c1", 16, 10)
	if got := s.InsertStats().SlotCollisions - before; got != 0 {
		t.Fatalf("%d slot collisions among the appenders of one process; want 0", got)
	}
	checkDense(t, s, "adj:c1", want)
}

// Two processes (two stores on one database) appending to one list at
// once collide with each other; each collision moves on to the other's
// head, and the list stays dense with every record listed once.
func TestListTurns_TwoProcessesAppendingToOneListStayDense(t *testing.T) {
	t.Parallel()
	a := listsStore(t)
	emb, err := listsServer()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), emb.URI(), a.db.Name(), emb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	want := appendConcurrently(t, []*Store{a, b}, "se:p1:2026-12", 8, 15)
	checkDense(t, a, "se:p1:2026-12", want)
	fresh, err := Open(context.Background(), emb.URI(), a.db.Name(), emb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Close(context.Background()) })
	checkDense(t, fresh, "se:p1:2026-12", want)
	t.Logf("slot collisions: %d and %d", a.InsertStats().SlotCollisions, b.InsertStats().SlotCollisions)
}
