package timebank

import (
	"context"
	"errors"
	"strconv"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// --- gifts ---

// GiftHours gives the caller's hours to a relative staff verified, aged
// at least the policy's GiftMinAge, within the giver's yearly cap. The cap
// is kept on a per-giver per-year chain whose steps are keyed inserts, so
// concurrent gifts cannot pass it together.
func (t *Service) GiftHours(ctx context.Context, p models.Principal, toID string, minutes models.Minutes, idem community.Idempotency) (models.Gift, error) {
	giver, err := t.people.Resident(ctx, p.ResidentID)
	if err != nil || giver.CommunityID != p.CommunityID {
		return models.Gift{}, models.ErrForbidden
	}
	verified := false
	for _, f := range giver.Family {
		if f.ResidentID == toID && f.Verified {
			verified = true
		}
	}
	if !verified {
		return models.Gift{}, models.ErrFamilyNotVerified
	}
	to, err := t.people.Resident(ctx, toID)
	if err != nil || to.CommunityID != giver.CommunityID {
		return models.Gift{}, models.ErrFamilyNotVerified
	}
	now := t.now()
	pol, err := t.policies.At(ctx, giver.CommunityID, now)
	if err != nil {
		return models.Gift{}, err
	}
	if models.Age(to.BirthYear, now) < pol.GiftMinAge {
		return models.Gift{}, models.ErrGiftAge.Withf("受赠亲属须年满 %d 岁。", "the relative must be at least %d", pol.GiftMinAge)
	}
	from := models.AccountOf(giver.ID, models.AssetHours)
	if b, err := t.ledger.Balance(ctx, from); err != nil {
		return models.Gift{}, err
	} else if b.Amount < int64(minutes) {
		return models.Gift{}, models.ErrInsufficientHours
	}
	id := community.DerivedID(idem.OpID, "gift")
	loc := t.location(ctx, giver.CommunityID)
	chain := once.YearGifts(giver.ID, now.In(loc).Year())
	_, err = t.chains.Append(ctx, chain, id, nil, func(last models.Link) (models.Link, error) {
		if last.Total+int64(minutes) > int64(pol.GiftYearlyCapMinutes) {
			return models.Link{}, models.ErrGiftYearlyCap.Withf("今年已赠送 %d 分钟时长，年度上限为 %d 分钟。", "%d of %d minutes gifted this year", last.Total, pol.GiftYearlyCapMinutes)
		}
		return models.Link{Amount: int64(minutes), Total: last.Total + int64(minutes)}, nil
	})
	if err != nil {
		return models.Gift{}, err
	}
	_, _, err = t.ledger.Transfer(ctx, ledger.Transfer{
		ID:          once.GiftTransfer(id),
		Hash:        idem.Hash,
		Key:         idem.Key,
		From:        from,
		To:          models.AccountOf(to.ID, models.AssetHours),
		CommunityID: giver.CommunityID,
		Amount:      int64(minutes),
		Reason:      "转赠: " + to.Name,
		Policy:      pol.Version,
		Actor:       giver.ID,
	})
	if errors.Is(err, models.ErrInsufficientHours) {
		// Give the cap back with a keyed release step.
		_, _ = t.chains.Append(ctx, chain, once.GiftCapRelease(id), nil, func(last models.Link) (models.Link, error) {
			return models.Link{Amount: -int64(minutes), Total: last.Total - int64(minutes)}, nil
		})
		return models.Gift{}, err
	}
	if err != nil {
		return models.Gift{}, err
	}
	g := models.Gift{
		ID:          id,
		CommunityID: giver.CommunityID,
		FromID:      giver.ID,
		ToID:        to.ID,
		Minutes:     minutes,
		At:          t.stamp(),
	}
	if err := t.store.InsertGift(ctx, g); err != nil && !errors.Is(err, models.ErrConflict) {
		return models.Gift{}, err
	}
	g.FromName, g.ToName = models.MaskName(giver.Name), models.MaskName(to.Name)
	// A keyed repeat lands on the same gift and notifies again: once.
	t.notify.Notify(ctx, models.Notice{
		Kind:        models.NoticeGiftReceived,
		EventID:     g.ID,
		Recipient:   to.ID,
		CommunityID: g.CommunityID,
		Args:        map[string]string{"name": giver.Name, "minutes": strconv.FormatInt(int64(minutes), 10)},
		Link:        "/gifts/" + g.ID,
	})
	return g, nil
}

// Gifts lists the gifts the caller gave or received, with both sides'
// masked names.
func (t *Service) Gifts(ctx context.Context, p models.Principal) ([]models.Gift, error) {
	gs, err := t.store.Gifts(ctx, p.ResidentID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for i := range gs {
		gs[i].FromName, gs[i].ToName = community.MaskedName(ctx, t.people, names, gs[i].FromID), community.MaskedName(ctx, t.people, names, gs[i].ToID)
	}
	return gs, nil
}
