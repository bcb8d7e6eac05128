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
		s := inTurn(w, stores...)
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
	run, next, err := s.slotPage(ctx, colRedemptions, list, 0, len(want))
	if err != nil {
		t.Fatal(err)
	}
	slots, refs := run.slots, run.refs
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
	b := openReplica(t, a)
	want := appendConcurrently(t, []*Store{a, b}, "se:p1:2026-12", 8, 15)
	checkDense(t, a, "se:p1:2026-12", want)
	fresh := openReplica(t, a)
	checkDense(t, fresh, "se:p1:2026-12", want)
	t.Logf("slot collisions: %d and %d", a.InsertStats().SlotCollisions, b.InsertStats().SlotCollisions)
}

// listedTestDoc is a record of TestInsertListedMany_…: its id and the
// slots it names.
type listedTestDoc struct {
	ID    string    `bson:"_id"`
	Slots []slotRef `bson:"slots"`
}

// Batches of records on several lists, written by two processes at once,
// each batch repeating records the other process writes too: every list
// stays dense, and each record is named by exactly one slot of each of
// its lists (a repeat's slots name nothing), whatever stopped a batch.
func TestInsertListedMany_BatchesOfTwoProcessesWithRepeatsStayDense(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := listsStore(t)
	b := openReplica(t, a)
	stores := []*Store{a, b}
	lists := []string{"m:0", "m:1", "m:2"}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	const writers, batches, perBatch = 8, 5, 6
	want := map[string]map[string]bool{} // list → ids on it
	for _, l := range append(lists, "m:all") {
		want[l] = map[string]bool{}
	}
	record := func(id string, k int) listedRecord {
		return listedRecord{
			lists: []string{lists[k%len(lists)], "m:all"},
			ref:   id,
			at:    at,
			doc:   func(slots []slotRef) any { return listedTestDoc{ID: id, Slots: slots} },
		}
	}
	for w := range writers {
		for bn := range batches {
			for k := range perBatch {
				id := fmt.Sprintf("r-%d-%d-%d", w/2, bn, k) // writers 2m and 2m+1 write the same ids
				want[lists[k%len(lists)]][id] = true
				want["m:all"][id] = true
			}
		}
	}
	errs := atonce.Errors(writers, func(w int) error {
		s := inTurn(w, stores...)
		for bn := range batches {
			records := make([]listedRecord, perBatch)
			for k := range perBatch {
				records[k] = record(fmt.Sprintf("r-%d-%d-%d", w/2, bn, k), k)
			}
			for len(records) > 0 {
				slots, inserted, err := s.insertListedMany(ctx, colRedemptions, records, listHintEvery)
				if err != nil {
					return err
				}
				if len(slots) != inserted {
					return fmt.Errorf("%d slot sets for %d records inserted", len(slots), inserted)
				}
				records = records[min(inserted+1, len(records)):]
			}
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	fresh := openReplica(t, a)
	for list, ids := range want {
		head, err := fresh.listHead(ctx, colRedemptions, list)
		if err != nil {
			t.Fatal(err)
		}
		run, next, err := fresh.slotPage(ctx, colRedemptions, list, 0, int(head))
		if err != nil {
			t.Fatal(err)
		}
		slots, refs := run.slots, run.refs
		if next != 0 || int64(len(slots)) != head || head < int64(len(ids)) {
			t.Fatalf("list %s: head %d, one page read %d slots (next %d), for %d records", list, head, len(slots), next, len(ids))
		}
		for i, ref := range refs {
			if ref == "" {
				t.Fatalf("list %s: slot %d is missing below the head %d: a gap", list, slots[i].N, head)
			}
		}
		docs, err := listedDocs(ctx, fresh, colRedemptions, slots, refs,
			func(d *listedTestDoc) []slotRef { return d.Slots }, func(*listedTestDoc) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, d := range docs {
			if !ids[d.ID] || seen[d.ID] {
				t.Fatalf("list %s: record %q listed although not on it, or twice", list, d.ID)
			}
			seen[d.ID] = true
		}
		if len(seen) != len(ids) {
			t.Fatalf("list %s lists %d of its %d records", list, len(seen), len(ids))
		}
	}
	t.Logf("slot collisions: %d and %d", a.InsertStats().SlotCollisions, b.InsertStats().SlotCollisions)
}

// A batch longer than the embedded store's chunk of 100 documents that
// meets a repeated record stops there: nothing after the repeat is stored,
// so the list has no slot past a gap (the embedded FerretDB goes on into
// the next chunk of a longer ordered insert; maxOrderedInsert).
func TestInsertListedMany_StopsAtARepeatWithNothingStoredAfterIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := listsStore(t)
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	record := func(k int) listedRecord {
		id := fmt.Sprintf("rec-%03d", k)
		return listedRecord{
			lists: []string{"long"},
			ref:   id,
			at:    at,
			doc:   func(slots []slotRef) any { return listedTestDoc{ID: id, Slots: slots} },
		}
	}
	if _, inserted, err := s.insertListedMany(ctx, colRedemptions, []listedRecord{record(10)}, listHintEvery); err != nil || inserted != 1 {
		t.Fatalf("the first record: %d inserted, %v", inserted, err)
	}
	records := make([]listedRecord, 150) // 300 documents
	for k := range records {
		records[k] = record(k)
	}
	_, inserted, err := s.insertListedMany(ctx, colRedemptions, records, listHintEvery)
	if err != nil || inserted != 10 {
		t.Fatalf("the batch: %d inserted, %v; want it to stop at the repeat, record 10", inserted, err)
	}
	// Slot 1 is record 10's, slots 2–11 the ten before the repeat, slot 12
	// the repeat's own (naming nothing); nothing above.
	for n := int64(1); n <= 320; n++ {
		var d listSlotDoc
		err := s.findByID(ctx, colRedemptions, slotID("long", n), &d)
		if n <= 12 && err != nil {
			t.Fatalf("slot %d: %v", n, err)
		}
		if n > 12 && err == nil {
			t.Fatalf("slot %d (of %s) is stored after the batch stopped at slot 12: a gap below it", n, d.Ref)
		}
	}
	for k := 11; k < 150; k++ {
		var d listedTestDoc
		if err := s.findByID(ctx, colRedemptions, fmt.Sprintf("rec-%03d", k), &d); err == nil {
			t.Fatalf("record %d is stored after the batch stopped at the repeat", k)
		}
	}
}
