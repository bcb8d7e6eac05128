package store

import (
	"context"

	"github.com/linli-community/linli/models"
)

// LoadEntries inserts ledger entries in batches of up to 500 (staff
// awards and deductions after their slots on their community's list of
// adjustments, as InsertEntry leaves them) and then
// stores each account's head hint at its last entry. It is for generating
// a large store quickly (scripts/bench); the caller makes the chains dense
// and their balances right, as ledger.Post would.
func (s *Store) LoadEntries(ctx context.Context, entries []models.Entry) error {
	heads := map[models.Account]models.Balance{}
	lists := map[string]int64{}
	for start := 0; start < len(entries); start += 500 {
		batch := make([]any, 0, 1000)
		for _, e := range entries[start:min(start+500, len(entries))] {
			d := toEntryDoc(e)
			for _, list := range adjustmentLists(e) {
				if _, ok := lists[list]; !ok {
					n, err := s.listHead(ctx, colEntries, list)
					if err != nil {
						return err
					}
					lists[list] = n
				}
				lists[list]++
				sl := slotRef{List: list, N: lists[list]}
				d.Slots = append(d.Slots, sl)
				batch = append(batch, listSlotDoc{
					ID:  slotID(sl.List, sl.N),
					Ref: d.ID,
					At:  e.At,
				})
			}
			batch = append(batch, d)
			if e.Seq > heads[e.Account].Seq {
				heads[e.Account] = models.Balance{
					Account: e.Account,
					Seq:     e.Seq,
					Amount:  e.BalanceAfter,
				}
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
	for list, n := range lists {
		s.heads.raise(list, n)
		s.saveListHint(ctx, list, n)
	}
	return nil
}

// LoadRecords inserts decided service records (never pending: they are not
// queued) in batches of 500 records, each after its slots on its lists
// (recordLists), as InsertRecord would leave them. It is for generating a large
// store quickly (scripts/bench), before anything else lists records.
func (s *Store) LoadRecords(ctx context.Context, records []models.ServiceRecord) error {
	heads := map[string]int64{}
	for start := 0; start < len(records); start += 500 {
		batch := make([]any, 0, 1000)
		for _, r := range records[start:min(start+500, len(records))] {
			d := toRecordDoc(r)
			for _, list := range recordLists(r) {
				if _, ok := heads[list]; !ok {
					n, err := s.listHead(ctx, colRecords, list)
					if err != nil {
						return err
					}
					heads[list] = n
				}
				heads[list]++
				sl := slotRef{List: list, N: heads[list]}
				d.Slots = append(d.Slots, sl)
				batch = append(batch, listSlotDoc{
					ID:  slotID(sl.List, sl.N),
					Ref: r.ID,
					At:  r.Created,
				})
			}
			batch = append(batch, d)
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
