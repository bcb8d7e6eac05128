package services

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// NewAid is a mutual-aid post.
type NewAid struct {
	Kind        models.AidKind
	Title       string
	Description string
	Minutes     models.Minutes
	When        time.Time
}

// PostAid publishes a request for help or an offer of it.
func (t *Timebank) PostAid(ctx context.Context, p models.Principal, in NewAid) (models.MutualAid, error) {
	if p.CommunityID == "" || p.ResidentID == "" {
		return models.MutualAid{}, models.ErrForbidden
	}
	if in.Minutes < 1 || in.Minutes > 24*60 {
		return models.MutualAid{}, models.Errorf(models.ErrValidation.Code, "minutes must be between 1 and 1440")
	}
	a := models.MutualAid{ID: t.newID(), CommunityID: p.CommunityID, Kind: in.Kind, PosterID: p.ResidentID,
		Title: in.Title, Description: in.Description, Minutes: in.Minutes, When: in.When.UTC().Truncate(time.Millisecond),
		Created: t.stamp(), State: models.AidOpen}
	if in.Kind == models.AidRequest {
		a.RequesterID = p.ResidentID
	} else {
		a.HelperID = p.ResidentID
	}
	if err := t.store.InsertAid(ctx, a); err != nil {
		return models.MutualAid{}, err
	}
	return a, nil
}

// Aid returns a post of the caller's community.
func (t *Timebank) Aid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.store.Aid(ctx, id)
	if err != nil {
		return a, err
	}
	if a.CommunityID != p.CommunityID {
		return models.MutualAid{}, models.ErrNotFound
	}
	return a, nil
}

// Aids lists the community's open posts and the caller's own.
func (t *Timebank) Aids(ctx context.Context, p models.Principal) ([]models.MutualAid, error) {
	if p.CommunityID == "" {
		return nil, models.ErrForbidden
	}
	all, err := t.store.Aids(ctx, p.CommunityID)
	if err != nil {
		return nil, err
	}
	out := []models.MutualAid{}
	for _, a := range all {
		if a.State == models.AidOpen || a.RequesterID == p.ResidentID || a.HelperID == p.ResidentID || p.IsStaff() {
			out = append(out, a)
		}
	}
	return out, nil
}

func aidMark(id, step string) string { return "aid:" + id + ":" + step }

// needy reports whether staff flagged the resident to have help paid by
// the community's fund.
func (t *Timebank) needy(ctx context.Context, residentID string) bool {
	m, err := t.store.Mark(ctx, "needy:"+residentID)
	return err == nil && m.Flag
}

// AcceptAid takes up an open post: the caller becomes the helper of a
// request, or the requester of an offer. The first to accept wins.
func (t *Timebank) AcceptAid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.Aid(ctx, p, id)
	if err != nil {
		return a, err
	}
	if a.PosterID == p.ResidentID {
		return a, models.Errorf(models.ErrAidState.Code, "you cannot accept your own post")
	}
	err = t.store.InsertMark(ctx, models.Mark{ID: aidMark(a.ID, "accept"), Kind: "aid.accept", CommunityID: a.CommunityID,
		Ref: a.ID, ResidentID: p.ResidentID, Actor: p.ResidentID, At: t.stamp()})
	if errors.Is(err, models.ErrConflict) {
		if m, err := t.store.Mark(ctx, aidMark(a.ID, "accept")); err == nil && m.ResidentID == p.ResidentID {
			return t.Aid(ctx, p, id)
		}
		return a, models.Errorf(models.ErrAidState.Code, "someone has accepted this already")
	}
	if err != nil {
		return a, err
	}
	if _, err := t.store.Mark(ctx, aidMark(a.ID, "final")); err == nil {
		_ = t.store.DeleteMark(ctx, aidMark(a.ID, "accept"))
		return a, models.Errorf(models.ErrAidState.Code, "this post is closed")
	}
	if a.Kind == models.AidRequest {
		a.HelperID = p.ResidentID
	} else {
		a.RequesterID = p.ResidentID
	}
	a.State, a.AcceptedAt, a.PaidByFund = models.AidAccepted, t.stamp(), t.needy(ctx, a.RequesterID)
	return a, t.store.SaveAid(ctx, a)
}

// AidDone is the helper saying the help happened; the requester then
// confirms, or the job confirms it after the policy's AutoApproveDays.
func (t *Timebank) AidDone(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.Aid(ctx, p, id)
	if err != nil {
		return a, err
	}
	if a.HelperID != p.ResidentID {
		return a, models.ErrForbidden
	}
	if a.State != models.AidAccepted && a.State != models.AidDone {
		return a, models.ErrAidState
	}
	err = t.store.InsertMark(ctx, models.Mark{ID: aidMark(a.ID, "done"), Kind: "aid.done", CommunityID: a.CommunityID, Ref: a.ID, Actor: p.ResidentID, At: t.stamp()})
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return a, err
	}
	m, err := t.store.Mark(ctx, aidMark(a.ID, "done"))
	if err != nil {
		return a, err
	}
	a.State, a.DoneAt = models.AidDone, m.At
	return a, t.store.SaveAid(ctx, a)
}

// CancelAid: either side may cancel before the help is done.
func (t *Timebank) CancelAid(ctx context.Context, p models.Principal, id, reason string) (models.MutualAid, error) {
	a, err := t.Aid(ctx, p, id)
	if err != nil {
		return a, err
	}
	if p.ResidentID != a.RequesterID && p.ResidentID != a.HelperID {
		return a, models.ErrForbidden
	}
	if a.State != models.AidOpen && a.State != models.AidAccepted {
		return a, models.Errorf(models.ErrAidState.Code, "only help not yet given can be cancelled")
	}
	return t.finalise(ctx, a, false, p.ResidentID, reason)
}

// DisputeAid sends a post to staff: the requester says the help did not
// happen as agreed.
func (t *Timebank) DisputeAid(ctx context.Context, p models.Principal, id, reason string) (models.MutualAid, error) {
	a, err := t.Aid(ctx, p, id)
	if err != nil {
		return a, err
	}
	if p.ResidentID != a.RequesterID && p.ResidentID != a.HelperID {
		return a, models.ErrForbidden
	}
	if a.State != models.AidAccepted && a.State != models.AidDone {
		return a, models.ErrAidState
	}
	err = t.store.InsertMark(ctx, models.Mark{ID: aidMark(a.ID, "dispute"), Kind: "aid.dispute", CommunityID: a.CommunityID,
		Ref: a.ID, Actor: p.ResidentID, Reason: reason, At: t.stamp()})
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return a, err
	}
	a.State, a.Note = models.AidDisputed, reason
	return a, t.store.SaveAid(ctx, a)
}

// ConfirmAid is the requester confirming the help: hours move from the
// requester (down to the policy's debt floor at most) or, for a resident
// staff flagged, from the community fund (down to zero), to the helper.
func (t *Timebank) ConfirmAid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.Aid(ctx, p, id)
	if err != nil {
		return a, err
	}
	if a.RequesterID != p.ResidentID {
		return a, models.ErrForbidden
	}
	if a.State != models.AidAccepted && a.State != models.AidDone && a.State != models.AidConfirmed {
		return a, models.ErrAidState
	}
	return t.finalise(ctx, a, true, p.ResidentID, "")
}

// ResolveAid lets staff settle a dispute: pay the helper, or cancel.
func (t *Timebank) ResolveAid(ctx context.Context, p models.Principal, id string, pay bool, reason string) (models.MutualAid, error) {
	if err := requireStaff(p); err != nil {
		return models.MutualAid{}, err
	}
	a, err := t.Aid(ctx, p, id)
	if err != nil {
		return a, err
	}
	if a.State != models.AidDisputed {
		// The same resolution again (a repeat whose first answer was lost)
		// finishes it: finalise is keyed by the post.
		prior, err := t.store.Mark(ctx, aidMark(a.ID, "final"))
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return a, err
		}
		if err != nil || prior.Flag != pay || prior.Actor != p.ResidentID || prior.Reason != reason {
			return a, models.Errorf(models.ErrAidState.Code, "only a disputed post is resolved by staff")
		}
	}
	return t.finalise(ctx, a, pay, p.ResidentID, reason)
}

// finalise writes the one final step of a post (its insert decides between
// a confirmation and a cancellation) and, for a confirmation, moves the
// hours. A transfer the floor refuses undoes the final step, so the
// requester may confirm again once they have the hours.
func (t *Timebank) finalise(ctx context.Context, a models.MutualAid, confirm bool, actor, reason string) (models.MutualAid, error) {
	if confirm && a.HelperID == "" {
		return a, models.ErrAidState
	}
	m := models.Mark{ID: aidMark(a.ID, "final"), Kind: "aid.final", CommunityID: a.CommunityID, Ref: a.ID,
		Actor: actor, Reason: reason, Flag: confirm, At: t.stamp()}
	err := t.store.InsertMark(ctx, m)
	if errors.Is(err, models.ErrConflict) {
		prior, err := t.store.Mark(ctx, m.ID)
		if err != nil {
			return a, err
		}
		if prior.Flag != confirm {
			return a, models.Errorf(models.ErrAidState.Code, "this post is already closed")
		}
		m = prior
	} else if err != nil {
		return a, err
	}
	if !confirm {
		a.State, a.FinalAt, a.Note = models.AidCancelled, m.At, reason
		return a, t.store.SaveAid(ctx, a)
	}
	pol, err := t.policies.At(ctx, a.CommunityID, t.now())
	if err != nil {
		return a, err
	}
	from, floor := models.AccountOf(a.RequesterID, models.AssetHours), -int64(pol.DebtFloorMinutes)
	if a.PaidByFund {
		from, floor = models.FundAccount(a.CommunityID), 0
	}
	// Keyed by this final step, so a repeat moves the hours once and a new
	// confirmation after a refusal is a new transfer.
	tid := "aid:" + a.ID + ":" + strconv.FormatInt(m.At.UnixMilli(), 10)
	_, _, err = t.ledger.Transfer(ctx, ledger.Transfer{ID: tid, Hash: tid, From: from,
		To: models.AccountOf(a.HelperID, models.AssetHours), CommunityID: a.CommunityID, Amount: int64(a.Minutes),
		Reason: "互助: " + a.Title, Policy: pol.Version, Floor: floor, Actor: actor})
	if errors.Is(err, models.ErrInsufficientHours) {
		ctx2, cancel := undoCtx(ctx)
		defer cancel()
		_ = t.store.DeleteMark(ctx2, m.ID)
		if a.PaidByFund {
			return a, fmt.Errorf("the community fund does not cover this help: %w", err)
		}
		return a, fmt.Errorf("this would take your hours below the community's floor: %w", err)
	}
	if err != nil {
		return a, err
	}
	a.State, a.FinalAt, a.Note = models.AidConfirmed, m.At, reason
	return a, t.store.SaveAid(ctx, a)
}

// AutoConfirmAid confirms help the helper marked done and the requester
// left alone for the policy's AutoApproveDays (and not disputed). Safe to
// repeat. It returns how many it confirmed.
func (t *Timebank) AutoConfirmAid(ctx context.Context) (int, error) {
	all, err := t.store.Aids(ctx, "", models.AidDone)
	if err != nil {
		return 0, err
	}
	now := t.now()
	n := 0
	for _, a := range all {
		pol, err := t.policies.At(ctx, a.CommunityID, now)
		if err != nil {
			return n, err
		}
		if a.DoneAt.IsZero() || now.Before(a.DoneAt.AddDate(0, 0, pol.AutoApproveDays)) {
			continue
		}
		if _, err := t.store.Mark(ctx, aidMark(a.ID, "dispute")); err == nil {
			continue
		}
		_, err = t.finalise(ctx, a, true, "system", fmt.Sprintf("confirmed automatically after %d days", pol.AutoApproveDays))
		if models.CodeOf(err) != "" {
			continue // refused (floor, closed): left for people to sort out
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// SetNeedy lets staff flag an elderly or needy resident, whose help the
// community fund pays for.
func (t *Timebank) SetNeedy(ctx context.Context, p models.Principal, residentID string, needy bool) error {
	r, err := managedResident(ctx, t.people, p, residentID)
	if err != nil {
		return err
	}
	return t.store.SetFlag(ctx, models.Mark{ID: "needy:" + r.ID, Kind: "needy", CommunityID: r.CommunityID,
		ResidentID: r.ID, Actor: p.ResidentID, Flag: needy, At: t.stamp()})
}

// CreditFund lets staff add hours to the community's time-bank fund.
func (t *Timebank) CreditFund(ctx context.Context, p models.Principal, minutes models.Minutes, reason string, idem Idempotency) (models.Entry, error) {
	if err := requireStaff(p); err != nil {
		return models.Entry{}, err
	}
	pol, err := t.policies.At(ctx, p.CommunityID, t.now())
	if err != nil {
		return models.Entry{}, err
	}
	e, err := t.ledger.Post(ctx, ledger.Posting{OpID: idem.OpID, Hash: idem.Hash, Account: models.FundAccount(p.CommunityID),
		CommunityID: p.CommunityID, Delta: int64(minutes), Kind: models.KindAdjustment, Reason: reason,
		IdempotencyKey: idem.Key, PolicyVersion: pol.Version, Actor: p.ResidentID})
	if err != nil {
		return e, err
	}
	return e, t.trail.RecordAudit(ctx, models.AuditRecord{ID: idem.OpID, CommunityID: p.CommunityID, Actor: p.ResidentID,
		Action: "fund.credit", Subject: "fund:" + p.CommunityID, Amount: int64(minutes), Reason: reason, Ref: e.ID(), At: e.At})
}

// Fund returns the community fund's balance, for staff.
func (t *Timebank) Fund(ctx context.Context, p models.Principal) (models.Balance, error) {
	if err := requireStaff(p); err != nil {
		return models.Balance{}, err
	}
	return t.ledger.Balance(ctx, models.FundAccount(p.CommunityID))
}

// --- gifts ---

// GiftHours gives the caller's hours to a relative staff verified, aged
// at least the policy's GiftMinAge, within the giver's yearly cap. The cap
// is kept on a per-giver per-year chain whose steps are keyed inserts, so
// concurrent gifts cannot pass it together.
func (t *Timebank) GiftHours(ctx context.Context, p models.Principal, toID string, minutes models.Minutes, idem Idempotency) (models.Gift, error) {
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
		return models.Gift{}, models.Errorf(models.ErrGiftAge.Code, "the relative must be at least %d", pol.GiftMinAge)
	}
	from := models.AccountOf(giver.ID, models.AssetHours)
	if b, err := t.ledger.Balance(ctx, from); err != nil {
		return models.Gift{}, err
	} else if b.Amount < int64(minutes) {
		return models.Gift{}, models.ErrInsufficientHours
	}
	id := derivedID(idem.OpID, "gift")
	loc := t.location(ctx, giver.CommunityID)
	chain := "gift:" + giver.ID + ":" + strconv.Itoa(now.In(loc).Year())
	_, err = t.appendLink(ctx, chain, id, nil, func(last models.Link) (models.Link, error) {
		if last.Total+int64(minutes) > int64(pol.GiftYearlyCapMinutes) {
			return models.Link{}, models.Errorf(models.ErrGiftYearlyCap.Code, "%d of %d minutes gifted this year",
				last.Total, pol.GiftYearlyCapMinutes)
		}
		return models.Link{Amount: int64(minutes), Total: last.Total + int64(minutes)}, nil
	})
	if err != nil {
		return models.Gift{}, err
	}
	_, _, err = t.ledger.Transfer(ctx, ledger.Transfer{ID: "gift:" + id, Hash: idem.Hash, Key: idem.Key, From: from,
		To: models.AccountOf(to.ID, models.AssetHours), CommunityID: giver.CommunityID, Amount: int64(minutes),
		Reason: "转赠: " + to.Name, Policy: pol.Version, Actor: giver.ID})
	if errors.Is(err, models.ErrInsufficientHours) {
		// Give the cap back with a keyed release step.
		_, _ = t.appendLink(ctx, chain, id+":release", nil, func(last models.Link) (models.Link, error) {
			return models.Link{Amount: -int64(minutes), Total: last.Total - int64(minutes)}, nil
		})
		return models.Gift{}, err
	}
	if err != nil {
		return models.Gift{}, err
	}
	g := models.Gift{ID: id, CommunityID: giver.CommunityID, FromID: giver.ID, ToID: to.ID, Minutes: minutes, At: t.stamp()}
	if err := t.store.InsertGift(ctx, g); err != nil && !errors.Is(err, models.ErrConflict) {
		return models.Gift{}, err
	}
	return g, nil
}

// Gifts lists the gifts the caller gave or received.
func (t *Timebank) Gifts(ctx context.Context, p models.Principal) ([]models.Gift, error) {
	return t.store.Gifts(ctx, p.ResidentID)
}
