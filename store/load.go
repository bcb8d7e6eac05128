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

// LoadRecords inserts decided service records (never pending: they are not
// queued) in batches of up to 1,000, each after its slot on its resident's
// list, as InsertRecord would leave them. It is for generating a large
// store quickly (scripts/bench), before anything else lists records.
func (s *Store) LoadRecords(ctx context.Context, records []models.ServiceRecord) error {
	heads := map[string]int64{}
	for start := 0; start < len(records); start += 500 {
		batch := make([]any, 0, 1000)
		for _, r := range records[start:min(start+500, len(records))] {
			list := "sr:" + r.ResidentID
			if _, ok := heads[list]; !ok {
				n, err := s.listHead(ctx, colRecords, list)
				if err != nil {
					return err
				}
				heads[list] = n
			}
			heads[list]++
			sl := slotRef{List: list, N: heads[list]}
			d := toRecordDoc(r)
			d.Slots = []slotRef{sl}
			batch = append(batch, listSlotDoc{ID: slotID(sl.List, sl.N), Ref: r.ID, At: r.Created}, d)
		}
		err := s.write(ctx, func() error { _, err := s.c(colRecords).InsertMany(ctx, batch); return err })
		if err != nil {
			return mapErr("load records", err)
		}
	}
	for list, n := range heads {
		s.heads.raise(list, n)
		s.saveListHint(ctx, list, n)
	}
	return nil
}
