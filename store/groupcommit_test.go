package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) {
	store.UseSharedDatabases(storetest.Database)
	storetest.Main(m)
}

// Many requests insert marks at once, some racing for the same _id and
// some for an _id stored already, with group commit on and off: each id
// has exactly one winner, the stored mark is the winner's, every other
// request is told models.ErrConflict (its "someone else got there first"
// path), and no request fails for its neighbours in a batch.
func TestIssue18_ConcurrentInsertsWithDuplicateIDs(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("off=%t", off), func(t *testing.T) {
			t.Parallel()
			s := storetest.New(t)
			s.SetGroupCommit(store.GroupCommit{
				Off:      off,
				MaxBatch: 8,
			})
			ctx := context.Background()
			at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			for i := range 4 {
				if err := s.InsertMark(ctx, models.Mark{
					ID:    fmt.Sprint("m:stored:", i),
					Actor: "before",
					At:    at,
				}); err != nil {
					t.Fatal(err)
				}
			}
			// 48 requests: ids m:0..m:23 asked for twice each, and the four
			// stored ids asked for again by one request each (52 in all).
			type ask struct{ id, actor string }
			var asks []ask
			for i := range 48 {
				asks = append(asks, ask{fmt.Sprint("m:", i%24), fmt.Sprint("r", i)})
			}
			for i := range 4 {
				asks = append(asks, ask{fmt.Sprint("m:stored:", i), fmt.Sprint("late", i)})
			}
			errs := atonce.Errors(len(asks), func(i int) error {
				return s.InsertMark(ctx, models.Mark{
					ID:    asks[i].id,
					Actor: asks[i].actor,
					At:    at,
				})
			})
			winners := map[string][]string{}
			for i, a := range asks {
				switch err := errs[i]; {
				case err == nil:
					winners[a.id] = append(winners[a.id], a.actor)
				case !errors.Is(err, models.ErrConflict):
					t.Errorf("%s by %s: %v; want stored or models.ErrConflict", a.id, a.actor, err)
				}
			}
			for i := range 24 {
				id := fmt.Sprint("m:", i)
				m, err := s.Mark(ctx, id)
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				if w := winners[id]; len(w) != 1 || m.Actor != w[0] {
					t.Errorf("%s: winners %v, stored by %s; want one winner, stored", id, w, m.Actor)
				}
			}
			for i := range 4 {
				id := fmt.Sprint("m:stored:", i)
				m, err := s.Mark(ctx, id)
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				if w := winners[id]; len(w) != 0 || m.Actor != "before" {
					t.Errorf("%s: winners %v, stored by %s; want the first writer kept", id, w, m.Actor)
				}
			}
			stats := s.InsertStats()
			if stats.Documents < int64(len(asks)+4) || stats.Batches > stats.Documents {
				t.Errorf("insert stats %+v after %d inserts", stats, len(asks)+4)
			}
			if off && stats.Batches != stats.Documents {
				t.Errorf("insert stats %+v with group commit off; want one command per document", stats)
			}
		})
	}
}
