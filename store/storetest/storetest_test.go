package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/linli-community/linli/models"
)

func TestMain(m *testing.M) { Main(m) }

// BenchmarkNew measures what New costs each test: a fresh database with
// its schema (built ahead by the store server when the store runs in one),
// opened. Run it with
//
//	go test -run '^$' -bench New -benchtime 30x ./store/storetest/
func BenchmarkNew(b *testing.B) {
	for range b.N {
		New(b)
	}
}

// Each New is a database of its own, with every collection and index in
// place: its schema's mark is found, so building it again sends only the
// list of collections.
func TestNewGivesEachTestItsOwnDatabaseWithItsSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := New(t), New(t)
	if err := a.InsertCommunity(ctx, models.Community{ID: "c1", Name: "康乐居民区"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Community(ctx, "c1"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another test's store finds the community: %v", err)
	}
	before := b.CommandCounts()
	if err := b.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if other := b.CommandCounts().Other - before.Other; other != 1 {
		t.Fatalf("building the schema of New's database again sent %d schema commands; want 1", other)
	}
}
