package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
)

// storeInsertsName names the store-level group-commit figure for a
// setting and a number of clients.
func storeInsertsName(gc string, clients int) string {
	return fmt.Sprintf("store: 6 inserts, %s, %d cl", gc, clients)
}

// measureStoreInserts drives package store itself, without HTTP or the
// ledger's reads: each operation is three rounds of a mark and a keyed
// request (six single-document inserts into two collections, one after
// another, as a request makes them), once per group-commit setting and
// number of clients, alternating, on a fresh embedded store with
// synchronous=FULL. It shows what group commit does to the inserts alone.
func measureStoreInserts(ctx context.Context, dir string, settings []string, clients []int, d time.Duration) ([]result, error) {
	emb, err := store.StartEmbedded(filepath.Join(dir, "store"), false, nil)
	if err != nil {
		return nil, err
	}
	defer emb.Stop()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		return nil, err
	}
	defer st.Close(context.Background())
	if err := st.EnsureSchema(ctx); err != nil {
		return nil, err
	}
	run := randomHex(4)
	var out []result
	for n, gc := range settings {
		for _, c := range clients {
			st.SetGroupCommit(store.GroupCommit{
				Off:      gc == "off",
				MaxBatch: store.DefaultGroupCommit.MaxBatch,
			})
			before := st.InsertStats()
			r := drive(ctx, storeInsertsName(gc, c), c, d, func(ctx context.Context, client, i int) error {
				for j := range 3 {
					id := fmt.Sprintf("g:%s:%d:%d:%d:%d:%d", run, n, c, client, i, j)
					if err := st.InsertMark(ctx, models.Mark{ID: id}); err != nil {
						return err
					}
					if err := st.InsertKeyedRequest(ctx, models.KeyedRequest{ID: id}); err != nil {
						return err
					}
				}
				return nil
			})
			after := st.InsertStats()
			r.inserts, r.commands = after.Documents-before.Documents, after.Batches-before.Batches
			out = append(out, r)
		}
	}
	return out, nil
}
