package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// AdjustmentsSince returns the staff awards and deductions on a
// community's list of adjustments from slot after+1 on, in slot order, at
// most limit slots, and the last slot it read (after when there is none).
// A slot no entry names (a repeat's or a crash's leftover) is passed over.
func (s *Store) AdjustmentsSince(ctx context.Context, communityID string, after int64, limit int) ([]models.Entry, int64, error) {
	list := "adj:" + communityID
	head, err := s.listHead(ctx, colEntries, list)
	if err != nil {
		return nil, after, err
	}
	var out []models.Entry
	last := after
	for n := after + 1; n <= head && n <= after+int64(limit); n++ {
		var sl listSlotDoc
		err := s.findByID(ctx, colEntries, slotID(list, n), &sl)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return out, last, err
		}
		if err == nil {
			var d entryDoc
			err = s.findByID(ctx, colEntries, sl.Ref, &d)
			switch {
			case err == nil && named(d.Slots, slotRef{List: list, N: n}):
				out = append(out, d.model())
			case err != nil && !errors.Is(err, models.ErrNotFound):
				return out, last, err
			}
		}
		last = n
	}
	return out, last, nil
}

// sweepID is the _id in list_heads of the position of sweep name.
func sweepID(name string) string { return "sweep:" + name }

// AdjustmentsHead returns the last slot of a community's list of
// adjustments (0 when it has none).
func (s *Store) AdjustmentsHead(ctx context.Context, communityID string) (int64, error) {
	return s.listHead(ctx, colEntries, "adj:"+communityID)
}

// SweepPosition returns how far the sweep name has gone, and false if it
// never ran.
func (s *Store) SweepPosition(ctx context.Context, name string) (int64, bool, error) {
	var d listHeadDoc
	err := s.findByID(ctx, colListHeads, sweepID(name), &d)
	if errors.Is(err, models.ErrNotFound) {
		return 0, false, nil
	}
	return d.N, err == nil, err
}

// SetSweepPosition records how far the sweep name has gone. It is a hint:
// a position saved too early by a slower replica costs the next run a few
// reads again, never a step missed.
func (s *Store) SetSweepPosition(ctx context.Context, name string, n int64) error {
	return s.replaceByID(ctx, colListHeads, sweepID(name), listHeadDoc{ID: sweepID(name), N: n}, true)
}

// pointsEntryDoc is an entry projected to what an expiry tally reads.
type pointsEntryDoc struct {
	Resident     string    `bson:"resident"`
	Community    string    `bson:"community"`
	Seq          int64     `bson:"seq"`
	Delta        int64     `bson:"delta"`
	BalanceAfter int64     `bson:"balance_after"`
	Kind         string    `bson:"kind"`
	At           time.Time `bson:"at"`
}

// EachPointsEntry implements inbox.PointsEntries: every points entry, in
// one streamed read of the ledger (no sort, so the store keeps nothing
// but the cursor's batch; read a batch ahead, eachDocAhead), projected to
// its resident, community, seq, delta, balance, kind and time.
func (s *Store) EachPointsEntry(ctx context.Context, fn func(models.Entry) error) error {
	cur, err := s.c(colEntries).Find(ctx, bson.D{{Key: "asset", Value: string(models.AssetPoints)}},
		options.Find().SetBatchSize(1000).SetProjection(fieldsOnly("resident", "community", "seq", "delta", "balance_after", "kind", "at")))
	return eachDocAhead(ctx, cur, err, "points entries", func(d pointsEntryDoc) error {
		return fn(models.Entry{
			Account:      models.AccountOf(d.Resident, models.AssetPoints),
			CommunityID:  d.Community,
			Seq:          d.Seq,
			Delta:        d.Delta,
			BalanceAfter: d.BalanceAfter,
			Kind:         models.EntryKind(d.Kind),
			At:           d.At.UTC(),
		})
	})
}
