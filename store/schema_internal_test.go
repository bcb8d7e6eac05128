package store

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A database whose schema this version built costs a later start two
// commands of schema work (the collections' list, the mark's look-up)
// instead of a create per collection and index; without its mark (a
// database another version built) the schema is built again and marked.
func TestEnsureSchema_SecondStartSkipsWhatItBuilt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := listsStore(t) // built once already
	before := s.CommandCounts()
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if other := s.CommandCounts().Other - before.Other; other != 1 {
		t.Fatalf("a second start sent %d schema commands (creates, indexes, lists); want 1, the collections' list", other)
	}
	if _, err := s.c(colListHeads).DeleteOne(ctx, bson.D{{Key: "_id", Value: schemaMark()}}); err != nil {
		t.Fatal(err)
	}
	before = s.CommandCounts()
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if other := s.CommandCounts().Other - before.Other; other < int64(len(indexes)) {
		t.Fatalf("a start without the mark sent %d schema commands; want at least one per index (%d)", other, len(indexes))
	}
	var d listHeadDoc
	if err := s.findByID(ctx, colListHeads, schemaMark(), &d); err != nil {
		t.Fatalf("the schema's mark after building it again: %v", err)
	}
}
