package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// creditList is the list of a partner's credits (its property-fee or
// parking redemptions) in redemptions (lists.go), in the order they were
// made: the partner's screen of credits waiting for a bill reads it from
// the newest back to the oldest redemption of the community that may
// still be open (OpenRedemptionsSince, which the hold-expiry job keeps),
// so it costs the partner's credits of the open period, not every
// redemption every partner ever had. A credit is written with its slots
// in one ordered insert (InsertRedemption), with the crash points of
// every redemption list.
func creditList(communityID, partnerID string) string { return "pcr:" + communityID + ":" + partnerID }

// isCredit reports whether a redemption of kind is a partner's credit.
func isCredit(kind models.RewardKind) bool {
	return kind == models.RewardPropertyFee || kind == models.RewardParking
}

// openCreditsOnly reports whether f asks for a partner's open redemptions
// only (held or opening), which openCredits reads from the partner's
// credits list.
func openCreditsOnly(f models.RedemptionFilter) bool {
	if f.PartnerID == "" || f.ResidentID != "" || !f.From.IsZero() || !f.To.IsZero() || len(f.Statuses) == 0 {
		return false
	}
	for _, st := range f.Statuses {
		if st != models.RedemptionHeld && st != models.RedemptionOpening {
			return false
		}
	}
	return true
}

// creditSlack is how far before the community's oldest open redemption a
// read of a partner's credits goes on: slots taken by two processes at
// once may be a moment out of their creation order.
const creditSlack = time.Hour

// openCredits is Redemptions for openCreditsOnly's f: the partner's
// redemptions whose saved status is one of f's, newest first (then by
// id), at most limit (0: all). It reads the partner's credits list newest
// first and stops at the first slot made creditSlack before the saved
// time of the community's oldest redemption that may still be open:
// every redemption made before it is decided. A store whose hold-expiry
// job never ran reads the whole list.
func (s *Store) openCredits(ctx context.Context, f models.RedemptionFilter, limit int) ([]models.Redemption, error) {
	since, ok, err := s.OpenRedemptionsSince(ctx, f.CommunityID)
	if err != nil {
		return nil, err
	}
	var oldest time.Time
	if ok {
		oldest = since.Add(-creditSlack)
	}
	list := creditList(f.CommunityID, f.PartnerID)
	out := []models.Redemption{}
	before := int64(0)
	for {
		slots, refs, ats, next, err := s.pageSlotsAt(ctx, colRedemptions, list, before, listHintEvery)
		if err != nil {
			return nil, err
		}
		end := next == 0
		for i, at := range ats {
			if refs[i] != "" && at.Before(oldest) {
				slots, refs, end = slots[:i], refs[:i], true
				break
			}
		}
		rs, err := s.listedRedemptions(ctx, slots, refs, func(r models.Redemption) bool {
			return r.CommunityID == f.CommunityID && r.PartnerID == f.PartnerID && slices.Contains(f.Statuses, r.Status)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if end {
			break
		}
		before = next
	}
	slices.SortStableFunc(out, func(a, b models.Redemption) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// listCreditsOnNewLists puts the credits stored before the partners'
// credits lists existed on them, once (a `done:` mark says so, as
// listRecordsOnNewLists does for records): each credit on its lists
// already gets a slot on its partner's credits list, oldest first, and
// names it beside its other slots. A crash part way, or two replicas
// starting at once, leave slots no credit names, which readers skip.
func (s *Store) listCreditsOnNewLists(ctx context.Context) error {
	const mark = "done:credit-lists"
	var m listHeadDoc
	err := s.findByID(ctx, colListHeads, mark, &m)
	if err == nil || !errors.Is(err, models.ErrNotFound) {
		return err
	}
	kinds := bson.A{string(models.RewardPropertyFee), string(models.RewardParking)}
	filter := bson.D{{Key: "kind", Value: bson.D{{Key: "$in", Value: kinds}}}, {Key: "slots", Value: bson.D{{Key: "$exists", Value: true}}}}
	var old []redemptionDoc
	cur, err := s.c(colRedemptions).Find(ctx, filter)
	if err := eachDoc(ctx, cur, err, "credits", func(d redemptionDoc) error { old = append(old, d); return nil }); err != nil {
		return err
	}
	slices.SortStableFunc(old, func(a, b redemptionDoc) int { return a.Created.Compare(b.Created) })
	for _, d := range old {
		list := creditList(d.Community, d.Partner)
		if slices.ContainsFunc(d.Slots, func(sl slotRef) bool { return sl.List == list }) {
			continue
		}
		added, err := s.insertListed(ctx, colRedemptions, []string{list}, d.ID, d.Created, nil)
		if err != nil {
			return err
		}
		if err := s.setByID(ctx, colRedemptions, d.ID, bson.D{{Key: "slots", Value: append(d.Slots, added...)}}); err != nil {
			return err
		}
	}
	if err := s.insert(ctx, colListHeads, listHeadDoc{ID: mark}); err != nil && !errors.Is(err, models.ErrConflict) {
		return err
	}
	return nil
}
