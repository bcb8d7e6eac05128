package storetest

import (
	"context"
	"testing"

	"github.com/linli-community/linli/store"
)

func TestMain(m *testing.M) { Main(m) }

// BenchmarkNew measures what New costs each test: open a fresh database,
// build its schema, and drop it when the test ends. Run it with
//
//	go test -run '^$' -bench New -benchtime 30x ./store/storetest/
func BenchmarkNew(b *testing.B) {
	uri, emb, err := server()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for range b.N {
		s, err := store.Open(ctx, uri, "b"+randomHex(6), emb)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.EnsureSchema(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Drop(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
