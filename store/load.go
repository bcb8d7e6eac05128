package store

import (
	"context"

	"github.com/linli-community/linli/models"
)

// LoadEntries inserts ledger entries in batches of up to 1,000 and then
// stores each account's head hint at its last entry. It is for generating
// a large store quickly (scripts/bench); the caller makes the chains dense
// and their balances right, as ledger.Post would.
func (s *Store) LoadEntries(ctx context.Context, entries []models.Entry) error {
	heads := map[models.Account]models.Balance{}
	for start := 0; start < len(entries); start += 1000 {
		batch := make([]any, 0, 1000)
		for _, e := range entries[start:min(start+1000, len(entries))] {
			batch = append(batch, toEntryDoc(e))
			if e.Seq > heads[e.Account].Seq {
				heads[e.Account] = models.Balance{Account: e.Account, Seq: e.Seq, Amount: e.BalanceAfter}
			}
		}
		err := s.write(ctx, func() error { _, err := s.c(colEntries).InsertMany(ctx, batch); return err })
		if err != nil {
			return mapErr("load entries", err)
		}
	}
	for _, b := range heads {
		if err := s.SaveHeadHint(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
