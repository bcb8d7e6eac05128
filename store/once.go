package store

import (
	"context"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// The store is the port of every primitive in package once, over the
// collections the use cases wrote before it existed, so switching to the
// primitives changes no stored document (docs/ARCHITECTURE.md §4):
//   - marks of the time bank, mutual aid and link notes: tb_keys;
//   - counter slots and give-back tickets: reward_slots;
//   - chains: tb_links;
//   - redemption marks (final, void, refund, refused, scan, visit rounds):
//     redemption_marks, through RedemptionMarks.
var (
	_ once.MarkStore[models.Mark]           = (*Store)(nil)
	_ once.SlotStore                        = (*Store)(nil)
	_ once.LinkStore                        = (*Store)(nil)
	_ once.MarkStore[models.RedemptionMark] = redemptionMarks{}
)

// redemptionMarks is the store's redemption marks as a once.MarkStore.
type redemptionMarks struct{ store *Store }

// RedemptionMarks returns the redemption marks as a once.MarkStore.
func (s *Store) RedemptionMarks() once.MarkStore[models.RedemptionMark] {
	return redemptionMarks{store: s}
}

// InsertMark records m; models.ErrConflict if a mark with its id exists.
func (r redemptionMarks) InsertMark(ctx context.Context, m models.RedemptionMark) error {
	return r.store.InsertRedemptionMark(ctx, m)
}

// Mark returns the redemption mark with id, or models.ErrNotFound.
func (r redemptionMarks) Mark(ctx context.Context, id string) (models.RedemptionMark, error) {
	return r.store.RedemptionMark(ctx, id)
}
