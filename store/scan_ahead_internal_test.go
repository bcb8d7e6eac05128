package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/linli-community/linli/models"
)

// The audit's scan reads its cursor a batch ahead: every entry of a
// collection longer than three batches reaches fn exactly once, with the
// fields the audit checks, slots are skipped, and an error from fn stops
// the scan and is returned.
func TestEachEntryReadsEveryEntryOnceAcrossBatches(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	const residents, perResident = 25, 100 // 2,500 entries: three batches of 1,000
	var docs []any
	for r := range residents {
		balance := int64(0)
		for seq := int64(1); seq <= perResident; seq++ {
			balance += seq
			e := models.Entry{
				Account:      models.Account{ResidentID: fmt.Sprintf("r%02d", r), Asset: models.AssetPoints},
				CommunityID:  "c1",
				Seq:          seq,
				Delta:        seq,
				BalanceAfter: balance,
				Kind:         models.EntryKind("award"),
				OpID:         fmt.Sprintf("op-%02d-%d", r, seq),
				Actor:        "staff",
			}
			docs = append(docs, toEntryDoc(e))
		}
	}
	docs = append(docs, listSlotDoc{
		ID:  slotID("adj:c1", 1),
		Ref: "r00:points:1",
	})
	if _, err := s.c(colEntries).InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}

	seen := map[string]int{}
	err := s.EachEntry(ctx, func(e models.Entry) error {
		seen[e.ID()]++
		want := e.Seq * (e.Seq + 1) / 2
		if e.Delta != e.Seq || e.BalanceAfter != want || e.OpID != fmt.Sprintf("op-%s-%d", e.Account.ResidentID[1:], e.Seq) {
			t.Errorf("entry %s read as delta %d, balance after %d, op %q", e.ID(), e.Delta, e.BalanceAfter, e.OpID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != residents*perResident {
		t.Errorf("read %d entries, want %d", len(seen), residents*perResident)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("entry %s read %d times", id, n)
		}
	}

	stop := errors.New("stop")
	read := 0
	err = s.EachEntry(ctx, func(models.Entry) error {
		read++
		if read == 1500 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || read != 1500 {
		t.Errorf("a scan stopped at entry 1,500 returned %v after %d entries", err, read)
	}

}
