package store

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
	build, _ := schemaIndexes(s.embedded != nil)
	if other := s.CommandCounts().Other - before.Other; other < int64(len(build)) {
		t.Fatalf("a start without the mark sent %d schema commands; want at least one per index built (%d)", other, len(build))
	}
	var d listHeadDoc
	if err := s.findByID(ctx, colListHeads, schemaMark(), &d); err != nil {
		t.Fatalf("the schema's mark after building it again: %v", err)
	}
}

// The embedded store keeps only the unique indexes (it reads no other:
// it filters by nothing but an exact _id), and a database an earlier
// version built, with the others, loses them at the next start; MongoDB
// is given every index.
func TestEnsureSchema_EmbeddedStoreKeepsOnlyUniqueIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := listsStore(t)
	if s.embedded == nil {
		t.Skip("the embedded store's indexes; this store is MongoDB")
	}
	build, unused := schemaIndexes(true)
	if len(build) == 0 || len(unused) == 0 {
		t.Fatalf("the embedded store builds %d indexes and removes %d; want some of each", len(build), len(unused))
	}
	if all, none := schemaIndexes(false); len(all) != len(indexes) || len(none) != 0 {
		t.Fatalf("MongoDB is given %d indexes and loses %d; want all %d and none", len(all), len(none), len(indexes))
	}
	named := func() map[string]bool {
		t.Helper()
		have := map[string]bool{}
		for _, col := range allCollections {
			specs, err := s.c(col).Indexes().ListSpecifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, sp := range specs {
				have[sp.Name] = true
			}
		}
		return have
	}
	check := func(when string) {
		t.Helper()
		have := named()
		for _, ix := range build {
			if !ix.unique || !have[ix.name()] {
				t.Errorf("%s: index %s (unique %t) built: %t; want every unique index built", when, ix.name(), ix.unique, have[ix.name()])
			}
		}
		for _, ix := range unused {
			if ix.unique || have[ix.name()] {
				t.Errorf("%s: index %s (unique %t) still there: %t; want no non-unique index", when, ix.name(), ix.unique, have[ix.name()])
			}
		}
	}
	check("a new database")

	// A database an earlier version built: every index, and that
	// version's schema mark, which is not this version's.
	for _, ix := range unused {
		m := mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name())}
		if _, err := s.c(ix.col).Indexes().CreateOne(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if have := named(); !have[unused[0].name()] {
		t.Fatalf("index %s not made for the earlier version's database", unused[0].name())
	}
	if _, err := s.c(colListHeads).DeleteOne(ctx, bson.D{{Key: "_id", Value: schemaMark()}}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	check("the next start on an earlier version's database")
	var d listHeadDoc
	if err := s.findByID(ctx, colListHeads, schemaMark(), &d); err != nil {
		t.Fatalf("mark %s after the indexes were removed: %v", schemaMark(), err)
	}
	// Removing is safe to repeat: a start that finds them gone already
	// (a crash after the removals, before the mark) succeeds.
	if _, err := s.c(colListHeads).DeleteOne(ctx, bson.D{{Key: "_id", Value: schemaMark()}}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatalf("a start after the indexes were removed: %v", err)
	}
	check("a start after a crash before the mark")
}
