package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A replica that read a legacy document before another replica listed it
// (both started at once on a store from before the lists) lists it again,
// and sets the slots the first claim took, not its own: a document's
// slots, once set, never change, so what a reader saw a slot say (and a
// copy of its block keeps) stays true. The document is listed once.
func TestBackfill_AReplicaLateToListADocumentSetsTheFirstClaimsSlots(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	other := openReplica(t, s)
	ctx := context.Background()
	at := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	var ids []string
	for n := range 3 {
		l := testLine("st1", n, at)
		if err := s.insert(ctx, colStatementLines, toLineDoc(l)); err != nil { // stored before the lists: no slots
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	slotsOf := func(id string) []slotRef {
		t.Helper()
		var d lineDoc
		if err := s.findByID(ctx, colStatementLines, id, &d); err != nil {
			t.Fatal(err)
		}
		return d.Slots
	}
	forgetBackfills(t, s, "statement-lists", "statement-line-lists")
	if err := s.listStatementsStoredBefore(ctx); err != nil {
		t.Fatal(err)
	}
	first := map[string][]slotRef{}
	for _, id := range ids {
		if first[id] = slotsOf(id); len(first[id]) != 1 {
			t.Fatalf("line %s names %v after the first start; want one slot", id, first[id])
		}
	}
	// The other replica read the lines before the first listed them: to it
	// they have no slots, and its mark was not there yet.
	for _, id := range ids {
		if _, err := s.c(colStatementLines).UpdateOne(ctx, byID(id), bson.D{{Key: "$unset", Value: bson.D{{Key: "slots", Value: ""}}}}); err != nil {
			t.Fatal(err)
		}
	}
	forgetBackfills(t, s, "statement-lists", "statement-line-lists")
	if err := other.listStatementsStoredBefore(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if got := slotsOf(id); !slices.Equal(got, first[id]) {
			t.Fatalf("line %s names %v after the late replica; the first claim took %v", id, got, first[id])
		}
	}
	if got := walkLines(ctx, t, s, "st1", 2); len(got) != len(ids) {
		t.Fatalf("the statement lists %v; want each of its %d lines once", got, len(ids))
	}
}
