package mutualaid

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// Mutual aid (互助). Every decision on a post is a step: an insert at the
// key aid:<id>:step:<N>, checked against the post as steps 1..N-1 left it
// (models.MutualAid.Apply). The insert is the commit point: of two
// decisions made at once (a cancel and an accept, a dispute and a
// confirmation) exactly one becomes step N and the other is refused with
// AID_STATE saying what came first. The saved post is only a cache of its
// first Steps steps; every reader follows the steps on from there.
//
// The hours: the requester's minutes (or the community fund's, for a
// resident staff flagged) are held when a request is posted or an offer is
// accepted, refused below the policy's floor, so no help is given that
// cannot be paid; a cancelled or expired post gives the hold back, and a
// confirmed one pays the helper. Each of these postings is keyed by the
// post, and settle, which every write, GET and the job run, completes
// whichever is due. Crash points, a process dying between two writes:
//  1. post saved, its hold not taken: it reads open; the next settle takes
//     the hold, or withdraws the post if the floor refuses it.
//  2. an offer's accept step written, its hold not taken: the next settle
//     takes it, or voids the acceptance (the offer is open again).
//  3. the confirm (or staff's pay) step written, the helper not paid: the
//     worst, since the help was given and the minutes held. The post reads
//     confirmed; the next settle posts the payment (keyed aidpay:<id>, so
//     once), and the job finds the post because its cached state is still
//     the one before.
//  4. a cancel or expire step written, the hold not given back: the next
//     settle releases it (keyed, once).
//  5. all posted, the cache not saved: readers follow the steps anyway.

// NewAid is a mutual-aid post.
type NewAid struct {
	Kind        models.AidKind
	Title       string
	Description string
	Minutes     models.Minutes
	When        time.Time
}

// Clean returns the post with its title and description trimmed, or
// models.ErrValidation if the kind is unknown, the title is blank or over
// 80 characters, the description (optional) blank or over 500, a text has
// control characters, or the minutes are not 1 to 1440. PostAid applies
// it, the one place the post is cleaned, before anything is written.
func (in NewAid) Clean() (NewAid, error) {
	if in.Kind != models.AidRequest && in.Kind != models.AidOffer {
		return NewAid{}, models.ErrValidation.Withf("kind 须为 request 或 offer。", "kind must be request or offer")
	}
	var err error
	if in.Title, err = models.CleanText("title", in.Title, 80); err != nil {
		return NewAid{}, err
	}
	if in.Description != "" {
		if in.Description, err = models.CleanText("description", in.Description, 500); err != nil {
			return NewAid{}, err
		}
	}
	if in.Minutes < 1 || in.Minutes > 24*60 {
		return NewAid{}, models.ErrValidation.Withf("时长须在 1 到 1440 分钟之间。", "minutes must be between 1 and 1440")
	}
	return in, nil
}

const aidSystem = "system"

// aidOpenFor is how long an open post without a planned time stays open;
// one with a planned time expires a day after it.
const aidOpenFor = 30 * 24 * time.Hour

// aidHoldOp is the ledger op id of a post's hold: one per holding step (an
// offer voided and accepted again holds anew).
func aidHoldOp(a models.MutualAid) string { return once.AidHold(a.ID, a.Hold) }

// aidReleaseOp is the ledger op id of the release of a post's current hold.
func aidReleaseOp(a models.MutualAid) string {
	return once.AidRelease(a.ID, a.Hold)
}

// aidPayOp is the ledger op id of the helper's pay: one per post.
func aidPayOp(a models.MutualAid) string { return once.AidPay(a.ID) }

// aidStepMark is step s as a mark: Amount carries N, Flag the step's Fund
// (accept) or Pay (resolve).
func aidStepMark(a models.MutualAid, s models.AidStep) models.Mark {
	return models.Mark{
		ID:          once.AidStep(a.ID, s.N),
		Kind:        "aid." + string(s.Kind),
		CommunityID: a.CommunityID,
		Ref:         a.ID,
		ResidentID:  s.Resident,
		Actor:       s.Actor,
		Reason:      s.Reason,
		Amount:      int64(s.N),
		Flag:        s.Fund || s.Pay,
		At:          s.At,
	}
}

// aidStepOf is the step mark m records; the inverse of aidStepMark.
func aidStepOf(m models.Mark) models.AidStep {
	s := models.AidStep{
		N:        int(m.Amount),
		Kind:     models.AidStepKind(strings.TrimPrefix(m.Kind, "aid.")),
		Actor:    m.Actor,
		Resident: m.ResidentID,
		Reason:   m.Reason,
		At:       m.At,
	}
	switch s.Kind {
	case models.AidStepAccept:
		s.Fund = m.Flag
	case models.AidStepResolve:
		s.Pay = m.Flag
	}
	return s
}

// accepter is who took up the post: the helper of a request, the
// requester of an offer.
func accepter(a models.MutualAid) string {
	if a.Kind == models.AidRequest {
		return a.HelperID
	}
	return a.RequesterID
}

// PostAid publishes a request for help or an offer of it. A request holds
// the poster's minutes (or the fund's) at once, and is refused with
// INSUFFICIENT_HOURS, saying why, when the floor does not allow it.
func (t *Service) PostAid(ctx context.Context, p models.Principal, in NewAid, idem community.Idempotency) (models.MutualAid, error) {
	if p.CommunityID == "" || p.ResidentID == "" {
		return models.MutualAid{}, models.ErrForbidden
	}
	in, err := in.Clean()
	if err != nil {
		return models.MutualAid{}, err
	}
	a := models.MutualAid{
		ID:          community.CreatedID(idem, "aid", t.newID),
		CommunityID: p.CommunityID,
		Kind:        in.Kind,
		PosterID:    p.ResidentID,
		Title:       in.Title,
		Description: in.Description,
		Minutes:     in.Minutes,
		When:        in.When.UTC().Truncate(time.Millisecond),
		Created:     t.stamp(),
		State:       models.AidOpen,
	}
	if in.Kind == models.AidRequest {
		a.RequesterID, a.PaidByFund = p.ResidentID, t.needy(ctx, p.ResidentID)
	} else {
		a.HelperID = p.ResidentID
	}
	err = t.store.InsertAid(ctx, a)
	if errors.Is(err, models.ErrConflict) {
		// A repeat of this keyed post: go on from the first one as its
		// steps left it.
		prev, found, lerr := community.Repeated(ctx, idem, t.store.Aid, a.ID)
		if lerr != nil {
			return models.MutualAid{}, lerr
		}
		if found {
			a, err = t.follow(ctx, prev)
		}
	}
	if err != nil {
		return models.MutualAid{}, err
	}
	a, err = t.settle(ctx, a)
	if err != nil {
		return models.MutualAid{}, err
	}
	if err := t.store.SaveAid(ctx, a); err != nil {
		return models.MutualAid{}, err
	}
	if a.State != models.AidOpen {
		return models.MutualAid{}, t.holdRefusal(ctx, a)
	}
	return t.view(ctx, p, a, map[string]string{}), nil
}

// load reads a post of the caller's community as its steps leave it, with
// the ledger settled and the cache saved when it was behind.
func (t *Service) load(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	cached, err := t.store.Aid(ctx, id)
	if err != nil {
		return cached, err
	}
	if cached.CommunityID != p.CommunityID {
		return models.MutualAid{}, models.ErrNotFound
	}
	if cached.State.Final() {
		return cached, nil // cached only once settled
	}
	a, err := t.follow(ctx, cached)
	if err != nil {
		return a, err
	}
	if a, err = t.settle(ctx, a); err != nil {
		return a, err
	}
	if a.Steps != cached.Steps || a.State != cached.State {
		if err := t.store.SaveAid(ctx, a); err != nil {
			return a, err
		}
	}
	return a, nil
}

// follow applies the steps after the first a.Steps.
func (t *Service) follow(ctx context.Context, a models.MutualAid) (models.MutualAid, error) {
	for !a.State.Final() {
		m, err := t.store.Mark(ctx, once.AidStep(a.ID, a.Steps+1))
		if errors.Is(err, models.ErrNotFound) {
			return a, nil
		}
		if err != nil {
			return a, err
		}
		next, err := a.Apply(aidStepOf(m))
		if err != nil {
			return a, fmt.Errorf("aid %s step %d does not follow: %v", a.ID, a.Steps+1, err)
		}
		a = next
	}
	return a, nil
}

// decideAid makes s the post's next step and settles the ledger. It is
// refused (AID_STATE, saying why) when s is not possible in the post's
// state, or when another decision took its place first; a step the same
// actor already took is answered with the post as it stands.
func (t *Service) decideAid(ctx context.Context, a models.MutualAid, s models.AidStep) (models.MutualAid, error) {
	s.N, s.At = a.Steps+1, t.stamp()
	next, refusal := a.Apply(s)
	if refusal == nil && (s.Kind == models.AidStepConfirm || s.Kind == models.AidStepResolve && s.Pay) {
		// Held since posting or acceptance (a replay here); only a post
		// from before holds existed can still be refused, and is refused
		// before anything is written.
		held, err := t.hold(ctx, a)
		if err != nil {
			return a, err
		}
		if !held {
			return a, t.holdRefusal(ctx, a)
		}
	}
	if refusal == nil {
		if t.aidStepHook != nil {
			t.aidStepHook(a.ID, s.Kind)
		}
		err := t.store.InsertMark(ctx, aidStepMark(a, s))
		if err == nil {
			if next, err = t.settle(ctx, next); err != nil {
				return next, err
			}
			return next, t.store.SaveAid(ctx, next)
		}
		if !errors.Is(err, models.ErrConflict) {
			return a, err
		}
		if a, err = t.follow(ctx, a); err != nil {
			return a, err
		}
		refusal = models.AidRaceLost(a.State, s.Kind)
	}
	again, err := t.repeated(ctx, a, s)
	if err != nil {
		return a, err
	}
	if again {
		return t.settle(ctx, a)
	}
	return a, refusal
}

// repeated reports whether the post already has step s by the same actor
// (a repeat whose first answer was lost): for an acceptance, whether the
// actor holds the post now.
func (t *Service) repeated(ctx context.Context, a models.MutualAid, s models.AidStep) (bool, error) {
	if s.Kind == models.AidStepAccept {
		return a.State != models.AidOpen && accepter(a) == s.Resident, nil
	}
	for n := 1; n <= a.Steps; n++ {
		m, err := t.store.Mark(ctx, once.AidStep(a.ID, n))
		if err != nil {
			return false, err
		}
		got := aidStepOf(m)
		if got.Kind == s.Kind && got.Actor == s.Actor && got.Pay == s.Pay && (s.Kind != models.AidStepResolve || got.Reason == s.Reason) {
			return true, nil
		}
	}
	return false, nil
}

// system takes a step on the post's own account (a hold refused, a post
// expired); if another step came first, the post as it now stands is
// returned for the caller to look at again.
func (t *Service) system(ctx context.Context, a models.MutualAid, kind models.AidStepKind, reason string) (models.MutualAid, error) {
	s := models.AidStep{
		N:      a.Steps + 1,
		Kind:   kind,
		Actor:  aidSystem,
		Reason: reason,
		At:     t.stamp(),
	}
	next, err := a.Apply(s)
	if err != nil {
		return a, err
	}
	err = t.store.InsertMark(ctx, aidStepMark(a, s))
	if errors.Is(err, models.ErrConflict) {
		return t.follow(ctx, a)
	}
	if err != nil {
		return a, err
	}
	return next, nil
}

// settle posts what the post's state calls for and has not been posted:
// its hold, the hold given back, the helper's pay. Each posting is keyed,
// so settling again posts nothing.
func (t *Service) settle(ctx context.Context, a models.MutualAid) (models.MutualAid, error) {
	for range 4 { // each round takes at most one step
		switch {
		case a.State == models.AidOpen && a.Kind == models.AidRequest,
			a.State == models.AidAccepted && a.Kind == models.AidOffer:
			held, err := t.hold(ctx, a)
			if err != nil || held {
				return a, err
			}
			kind := models.AidStepVoid
			if a.Kind == models.AidRequest {
				kind = models.AidStepWithdraw
			}
			if a, err = t.system(ctx, a, kind, holdRefusedNote); err != nil {
				return a, err
			}
		case a.State == models.AidConfirmed:
			held, err := t.hold(ctx, a)
			if err != nil {
				return a, err
			}
			if !held {
				// Cannot happen: an acceptance stands only on a hold.
				return a, fmt.Errorf("aid %s: confirmed without a hold", a.ID)
			}
			return a, t.pay(ctx, a)
		case (a.State == models.AidCancelled || a.State == models.AidExpired) && a.Held():
			// Taking a hold that never landed and giving it back at once
			// leaves nothing behind, and meets a hold still in flight at
			// its key instead of missing it.
			held, err := t.hold(ctx, a)
			if err != nil || !held {
				return a, err
			}
			return a, t.release(ctx, a)
		default:
			return a, nil
		}
	}
	return a, nil
}

const holdRefusedNote = "时长不足，未能冻结所需时长"

// payer is the account that pays for the post's help and how low it may go.
func payer(a models.MutualAid, pol models.Policy) (models.Account, int64) {
	if a.PaidByFund {
		return models.FundAccount(a.CommunityID), 0
	}
	return models.AccountOf(a.RequesterID, models.AssetHours), -int64(pol.DebtFloorMinutes)
}

// hold takes the post's minutes from its payer, once; false when the floor
// refuses them (now or the first time).
func (t *Service) hold(ctx context.Context, a models.MutualAid) (bool, error) {
	pol, err := t.policies.At(ctx, a.CommunityID, t.now())
	if err != nil {
		return false, err
	}
	from, floor := payer(a, pol)
	op := aidHoldOp(a)
	_, err = t.ledger.Hold(ctx, ledger.Posting{
		OpID:          op,
		Hash:          op,
		Account:       from,
		CommunityID:   a.CommunityID,
		Delta:         int64(a.Minutes),
		Ref:           a.ID,
		Reason:        "互助冻结: " + a.Title,
		PolicyVersion: pol.Version,
		Floor:         floor,
		Actor:         a.RequesterID,
	})
	if errors.Is(err, models.ErrInsufficientHours) {
		return false, nil
	}
	return err == nil, err
}

// release gives the post's hold back, once.
func (t *Service) release(ctx context.Context, a models.MutualAid) error {
	pol, err := t.policies.At(ctx, a.CommunityID, t.now())
	if err != nil {
		return err
	}
	from, _ := payer(a, pol)
	op := aidReleaseOp(a)
	_, err = t.ledger.Release(ctx, ledger.Posting{
		OpID:          op,
		Hash:          op,
		Account:       from,
		CommunityID:   a.CommunityID,
		Delta:         int64(a.Minutes),
		Ref:           a.ID,
		Reason:        "互助取消退回: " + a.Title,
		PolicyVersion: pol.Version,
		Actor:         aidSystem,
	})
	return err
}

// pay turns the post's hold into the helper's credit, once.
func (t *Service) pay(ctx context.Context, a models.MutualAid) error {
	pol, err := t.policies.At(ctx, a.CommunityID, t.now())
	if err != nil {
		return err
	}
	op := aidPayOp(a)
	_, err = t.ledger.Post(ctx, ledger.Posting{
		OpID:          op,
		Hash:          op,
		Account:       models.AccountOf(a.HelperID, models.AssetHours),
		CommunityID:   a.CommunityID,
		Delta:         int64(a.Minutes),
		Kind:          models.KindTransferIn,
		Ref:           a.ID,
		Reason:        "互助: " + a.Title,
		PolicyVersion: pol.Version,
		Actor:         a.RequesterID,
	})
	return err
}

// holdRefusal says why the post's minutes could not be held.
func (t *Service) holdRefusal(ctx context.Context, a models.MutualAid) error {
	if a.PaidByFund {
		return models.ErrInsufficientHours.Withf("社区时间银行基金余额不足以支付这 %d 分钟的帮助。", "the community's time-bank fund cannot cover these %d minutes of help", a.Minutes)
	}
	pol, err := t.policies.At(ctx, a.CommunityID, t.now())
	if err != nil {
		return err
	}
	return models.ErrInsufficientHours.Withf("需要冻结您 %d 分钟时长，将超出社区允许的最多透支 %d 分钟，请先积累时长。", "holding %d of your minutes would take you past the community's limit of %d minutes below zero", a.Minutes, pol.DebtFloorMinutes)
}

// visible reports whether p may see post a: an open post the whole
// community may, any other only its parties and staff.
func visible(p models.Principal, a models.MutualAid) bool {
	return p.IsStaff() || a.State == models.AidOpen ||
		p.ResidentID == a.PosterID || p.ResidentID == a.RequesterID || p.ResidentID == a.HelperID
}

// view is the post as p may see it: masked names, and resident ids only
// for its parties and staff.
func (t *Service) view(ctx context.Context, p models.Principal, a models.MutualAid, names map[string]string) models.MutualAid {
	a.PosterName = community.MaskedName(ctx, t.people, names, a.PosterID)
	a.RequesterName = community.MaskedName(ctx, t.people, names, a.RequesterID)
	a.HelperName = community.MaskedName(ctx, t.people, names, a.HelperID)
	if !p.IsStaff() && p.ResidentID != a.PosterID && p.ResidentID != a.RequesterID && p.ResidentID != a.HelperID {
		a.PosterID, a.RequesterID, a.HelperID = "", "", ""
	}
	return a
}

// Aid returns a post of the caller's community: an open one to anyone in
// it, any other to its parties and staff (models.ErrNotFound to others).
func (t *Service) Aid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.load(ctx, p, id)
	if err != nil {
		return models.MutualAid{}, err
	}
	if !visible(p, a) {
		return models.MutualAid{}, models.ErrNotFound
	}
	return t.view(ctx, p, a, map[string]string{}), nil
}

// aidScanBatches bounds how many store pages one listing reads looking for
// posts the caller may see; past it the page comes back short, with a
// cursor.
const aidScanBatches = 5

// Aids lists, below the cursor after ("" for the first page) and at most
// limit, the community's open posts and the caller's own (every post, for
// staff), the latest posted first, and returns the cursor of the next
// page ("" at the end). It reads the community's list of posts, at most
// aidScanBatches reads of at most limit slots, so a page costs its own
// size whatever the history; a cursor the list did not give out is
// models.ErrBadCursor.
func (t *Service) Aids(ctx context.Context, p models.Principal, after string, limit int) ([]models.MutualAid, string, error) {
	if p.CommunityID == "" {
		return nil, "", models.ErrForbidden
	}
	limit = community.PageLimit(limit)
	out, names, cursor := []models.MutualAid{}, map[string]string{}, after
	for range aidScanBatches {
		// Only as many slots as the page has room for: a read never
		// finds more posts to show than fit, so its cursor is the page's.
		batch, next, err := t.store.CommunityAids(ctx, p.CommunityID, cursor, limit-len(out))
		if err != nil {
			return nil, "", err
		}
		for _, a := range batch {
			if a, err = t.follow(ctx, a); err != nil {
				return nil, "", err
			}
			if visible(p, a) {
				out = append(out, t.view(ctx, p, a, names))
			}
		}
		cursor = next
		if next == "" || len(out) == limit {
			return out, cursor, nil
		}
	}
	return out, cursor, nil
}

// needy reports whether staff flagged the resident to have help paid by
// the community's fund.
func (t *Service) needy(ctx context.Context, residentID string) bool {
	m, err := t.store.Mark(ctx, once.Needy(residentID))
	return err == nil && m.Flag
}

// loadVisible is load for a post the caller may see.
func (t *Service) loadVisible(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.load(ctx, p, id)
	if err == nil && !visible(p, a) {
		err = models.ErrNotFound
	}
	return a, err
}

// answer is the outcome of a step as the caller may see it.
func (t *Service) answer(ctx context.Context, p models.Principal, a models.MutualAid, err error) (models.MutualAid, error) {
	if err != nil {
		return models.MutualAid{}, err
	}
	return t.view(ctx, p, a, map[string]string{}), nil
}

// AcceptAid takes up an open post: the caller becomes the helper of a
// request, or the requester of an offer, whose minutes it then holds.
// Of an acceptance and a cancellation made at once, exactly one stands.
// A post no longer open is refused with AID_STATE (not hidden behind a 404:
// the caller saw it open), which says only that it has moved on.
func (t *Service) AcceptAid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.load(ctx, p, id)
	if err != nil {
		return models.MutualAid{}, err
	}
	if a.PosterID == p.ResidentID {
		return models.MutualAid{}, models.ErrAidState.Withf("不能接自己发布的互助单。", "you cannot accept your own post")
	}
	s := models.AidStep{
		Kind:     models.AidStepAccept,
		Actor:    p.ResidentID,
		Resident: p.ResidentID,
	}
	if a.Kind == models.AidOffer {
		s.Fund = t.needy(ctx, p.ResidentID)
	}
	got, err := t.decideAid(ctx, a, s)
	if err != nil {
		return models.MutualAid{}, err
	}
	if got.Kind == models.AidOffer && accepter(got) != p.ResidentID {
		// The accepter's hold was refused: the acceptance was voided.
		a.RequesterID, a.PaidByFund = p.ResidentID, s.Fund
		return models.MutualAid{}, t.holdRefusal(ctx, a)
	}
	return t.answer(ctx, p, got, nil)
}

// AidDone is the helper saying the help happened; the requester then
// confirms, or the job confirms it after the policy's AutoApproveDays.
func (t *Service) AidDone(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.loadVisible(ctx, p, id)
	if err != nil {
		return models.MutualAid{}, err
	}
	if a.HelperID != p.ResidentID {
		return models.MutualAid{}, models.ErrForbidden
	}
	a, err = t.decideAid(ctx, a, models.AidStep{Kind: models.AidStepDone, Actor: p.ResidentID})
	return t.answer(ctx, p, a, err)
}

// CancelAid cancels a post before the help is done, by either side; the
// hold is given back.
func (t *Service) CancelAid(ctx context.Context, p models.Principal, id, reason string) (models.MutualAid, error) {
	return t.partyStep(ctx, p, id, reason, models.AidStepCancel)
}

// DisputeAid sends a post to staff: a party says the help did not happen
// as agreed. Nothing is paid until staff rule; a dispute that comes after
// the confirmation is refused.
func (t *Service) DisputeAid(ctx context.Context, p models.Principal, id, reason string) (models.MutualAid, error) {
	return t.partyStep(ctx, p, id, reason, models.AidStepDispute)
}

// partyStep takes step kind, with its reason, on post id for one of its
// two parties (the requester or the helper); anyone else is refused.
func (t *Service) partyStep(ctx context.Context, p models.Principal, id, reason string, kind models.AidStepKind) (models.MutualAid, error) {
	reason, err := models.CleanReason(reason)
	if err != nil {
		return models.MutualAid{}, err
	}
	a, err := t.loadVisible(ctx, p, id)
	if err != nil {
		return models.MutualAid{}, err
	}
	if p.ResidentID != a.RequesterID && p.ResidentID != a.HelperID {
		return models.MutualAid{}, models.ErrForbidden
	}
	a, err = t.decideAid(ctx, a, models.AidStep{
		Kind:   kind,
		Actor:  p.ResidentID,
		Reason: reason,
	})
	return t.answer(ctx, p, a, err)
}

// ConfirmAid is the requester confirming the help: the held minutes go to
// the helper.
func (t *Service) ConfirmAid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error) {
	a, err := t.loadVisible(ctx, p, id)
	if err != nil {
		return models.MutualAid{}, err
	}
	if a.RequesterID != p.ResidentID {
		return models.MutualAid{}, models.ErrForbidden
	}
	a, err = t.decideAid(ctx, a, models.AidStep{Kind: models.AidStepConfirm, Actor: p.ResidentID})
	return t.answer(ctx, p, a, err)
}

// ResolveAid lets staff settle a dispute: pay the helper, or cancel (the
// hold goes back). The same ruling again answers the same.
func (t *Service) ResolveAid(ctx context.Context, p models.Principal, id string, pay bool, reason string) (models.MutualAid, error) {
	reason, err := models.CleanReason(reason)
	if err != nil {
		return models.MutualAid{}, err
	}
	if err := community.RequireStaff(p); err != nil {
		return models.MutualAid{}, err
	}
	a, err := t.load(ctx, p, id)
	if err != nil {
		return models.MutualAid{}, err
	}
	a, err = t.decideAid(ctx, a, models.AidStep{
		Kind:   models.AidStepResolve,
		Actor:  p.ResidentID,
		Pay:    pay,
		Reason: reason,
	})
	return t.answer(ctx, p, a, err)
}

// AutoConfirmAid confirms help the helper marked done and the requester
// left alone for the policy's AutoApproveDays (a dispute made first wins),
// expires open posts nobody took up in time (giving their holds back), and
// settles any post a crash left unsettled. Safe to repeat. It returns how
// many it confirmed.
func (t *Service) AutoConfirmAid(ctx context.Context) (int, error) {
	now := t.now()
	n, after := 0, ""
	for {
		batch, err := t.store.Aids(ctx, "", after, community.MaxPageSize,
			models.AidOpen, models.AidAccepted, models.AidDone, models.AidDisputed)
		if err != nil {
			return n, err
		}
		for _, c := range batch {
			after = c.ID
			a, err := t.follow(ctx, c)
			if err == nil {
				a, err = t.settle(ctx, a)
			}
			if err != nil {
				return n, err
			}
			if a.Steps != c.Steps || a.State != c.State {
				if err := t.store.SaveAid(ctx, a); err != nil {
					return n, err
				}
			}
			switch a.State {
			case models.AidDone:
				pol, err := t.policies.At(ctx, a.CommunityID, now)
				if err != nil {
					return n, err
				}
				if now.Before(a.DoneAt.AddDate(0, 0, pol.AutoApproveDays)) {
					continue
				}
				_, err = t.decideAid(ctx, a, models.AidStep{
					Kind:   models.AidStepConfirm,
					Actor:  aidSystem,
					Reason: fmt.Sprintf("%d 天内未确认，系统自动确认", pol.AutoApproveDays),
				})
				if models.CodeOf(err) != "" {
					continue // a dispute came first: staff rule
				}
				if err != nil {
					return n, err
				}
				n++
			case models.AidOpen:
				due := a.Created.Add(aidOpenFor)
				if !a.When.IsZero() {
					due = a.When.Add(24 * time.Hour)
				}
				if now.Before(due) {
					continue
				}
				if a, err = t.system(ctx, a, models.AidStepExpire, "无人接单，已过期"); err != nil {
					return n, err
				}
				if a, err = t.settle(ctx, a); err != nil {
					return n, err
				}
				if err := t.store.SaveAid(ctx, a); err != nil {
					return n, err
				}
			}
		}
		if len(batch) < community.MaxPageSize {
			return n, nil
		}
	}
}

// SetNeedy lets staff flag an elderly or needy resident, whose help the
// community fund pays for.
func (t *Service) SetNeedy(ctx context.Context, p models.Principal, residentID string, needy bool) error {
	r, err := community.ManagedResident(ctx, t.people, p, residentID)
	if err != nil {
		return err
	}
	return t.store.SetFlag(ctx, models.Mark{
		ID:          once.Needy(r.ID),
		Kind:        "needy",
		CommunityID: r.CommunityID,
		ResidentID:  r.ID,
		Actor:       p.ResidentID,
		Flag:        needy,
		At:          t.stamp(),
	})
}

// CreditFund lets staff add hours to the community's time-bank fund.
func (t *Service) CreditFund(ctx context.Context, p models.Principal, minutes models.Minutes, reason string, idem community.Idempotency) (models.Entry, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Entry{}, err
	}
	minutes, err := models.NewMinutes(int64(minutes))
	if err != nil {
		return models.Entry{}, err
	}
	if reason, err = models.CleanReason(reason); err != nil {
		return models.Entry{}, err
	}
	pol, err := t.policies.At(ctx, p.CommunityID, t.now())
	if err != nil {
		return models.Entry{}, err
	}
	e, err := t.ledger.Post(ctx, ledger.Posting{
		OpID:           idem.OpID,
		Hash:           idem.Hash,
		Account:        models.FundAccount(p.CommunityID),
		CommunityID:    p.CommunityID,
		Delta:          int64(minutes),
		Kind:           models.KindAdjustment,
		Reason:         reason,
		IdempotencyKey: idem.Key,
		PolicyVersion:  pol.Version,
		Actor:          p.ResidentID,
	})
	if err != nil {
		return e, err
	}
	return e, t.trail.RecordAudit(ctx, models.AuditRecord{
		ID:          idem.OpID,
		CommunityID: p.CommunityID,
		Actor:       p.ResidentID,
		Action:      "fund.credit",
		Subject:     "fund:" + p.CommunityID,
		Amount:      int64(minutes),
		Reason:      reason,
		Ref:         e.ID(),
		At:          e.At,
	})
}

// Fund returns the community fund's balance, for staff.
func (t *Service) Fund(ctx context.Context, p models.Principal) (models.Balance, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Balance{}, err
	}
	return t.ledger.Balance(ctx, models.FundAccount(p.CommunityID))
}
