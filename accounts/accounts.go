package accounts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// Service reads residents' balances and history and lets staff award,
// deduct and correct points.
type Service struct {
	ledger *ledger.Ledger
	// people answers the resident checks from memory (members): Accounts
	// reads no other field of a resident.
	people   community.People
	trail    community.AuditTrail
	policies community.PolicySource
	now      func() time.Time
	notify   community.Notifier
}

// Deps are what the accounts service is built on, by name.
type Deps struct {
	Ledger   *ledger.Ledger
	People   community.People
	Trail    community.AuditTrail
	Policies community.PolicySource
	Now      func() time.Time
	Notify   community.Notifier // tells residents of points awarded or reversed; required (community.NoNotifier{} tells no one)
}

// New returns the accounts service.
func New(d Deps) *Service {
	community.MustNotify("accounts", d.Notify)
	a := &Service{
		ledger:   d.Ledger,
		people:   community.NewMembers(d.People, d.Now),
		trail:    d.Trail,
		policies: d.Policies,
		now:      d.Now,
		notify:   d.Notify,
	}
	return a
}

// pointsNotice tells the account's resident of entry e (an award or a
// reversal of points) with its reason: once per entry, so a keyed repeat,
// which gets the same entry back, notifies again harmlessly.
func pointsNotice(e models.Entry, kind models.NoticeKind) models.Notice {
	points := e.Delta
	if points < 0 {
		points = -points
	}
	return models.Notice{
		Kind:        kind,
		EventID:     e.ID(),
		Recipient:   e.Account.ResidentID,
		CommunityID: e.CommunityID,
		Args:        map[string]string{"points": strconv.FormatInt(points, 10), "reason": e.Reason},
		Link:        "/ledger/POINTS",
	}
}

// AwardNotice is the notice of staff award e, as Adjust sends it, and
// true; false for an entry of another kind. The notices sweep
// (ARCHITECTURE.md §4.10) sends it again for an award whose request died
// between its entry and its notice.
func AwardNotice(e models.Entry) (models.Notice, bool) {
	if e.Kind != models.KindAward || e.Account.Asset != models.AssetPoints {
		return models.Notice{}, false
	}
	return pointsNotice(e, models.NoticePointsAwarded), true
}

// Balances are a resident's two accounts.
type Balances struct {
	Hours, Points models.Balance
}

// accountHolder is the resident whose accounts p may read: p's own need no
// read (the session vouches for p and p's community), anyone else's are
// checked as community.VisibleResident does.
func accountHolder(ctx context.Context, people community.People, p models.Principal, residentID string) (string, error) {
	if residentID == p.ResidentID && p.CommunityID != "" {
		return residentID, nil
	}
	r, err := community.VisibleResident(ctx, people, p, residentID)
	return r.ID, err
}

// Balances returns the resident's hours and points.
func (a *Service) Balances(ctx context.Context, p models.Principal, residentID string) (Balances, error) {
	id, err := accountHolder(ctx, a.people, p, residentID)
	if err != nil {
		return Balances{}, fmt.Errorf("balances: %w", err)
	}
	h, err := a.ledger.Balance(ctx, models.AccountOf(id, models.AssetHours))
	if err != nil {
		return Balances{}, fmt.Errorf("balances: %w", err)
	}
	pts, err := a.ledger.Balance(ctx, models.AccountOf(id, models.AssetPoints))
	if err != nil {
		return Balances{}, fmt.Errorf("balances: %w", err)
	}
	return Balances{Hours: h, Points: pts}, nil
}

// History returns a page of the resident's entries of one asset, newest
// first, and the cursor of the next page (0 at the end).
func (a *Service) History(ctx context.Context, p models.Principal, residentID string, asset models.Asset, before int64, limit int) ([]models.Entry, int64, error) {
	id, err := accountHolder(ctx, a.people, p, residentID)
	if err != nil {
		return nil, 0, fmt.Errorf("history: %w", err)
	}
	return a.ledger.History(ctx, models.AccountOf(id, asset), before, limit)
}

// Adjustment is a staff award (好人好事 …) or deduction (扣分) of points.
type Adjustment struct {
	ResidentID string
	Points     models.Points
	Deduct     bool
	Category   string
	Reason     string
	Idem       community.Idempotency
}

// Clean returns the adjustment with its category and reason trimmed, or
// models.ErrValidation if the points are not a positive amount within
// models.MaxAmount or a text is blank, too long or has control characters.
// Adjust applies it, the one place an adjustment is cleaned, before
// anything is written.
func (adj Adjustment) Clean() (Adjustment, error) {
	var err error
	if adj.Points, err = models.NewPoints(int64(adj.Points)); err != nil {
		return Adjustment{}, err
	}
	if adj.Category, err = models.CleanText("category", adj.Category, 40); err != nil {
		return Adjustment{}, err
	}
	if adj.Reason, err = models.CleanReason(adj.Reason); err != nil {
		return Adjustment{}, err
	}
	return adj, nil
}

// Adjust awards or deducts points within the community's bounds. A
// deduction never takes a balance below zero. Its entry is its record in
// the audit trail (Trail): it names the staff member, the category and the
// reason, and it is written once and never changed, so the record cannot
// be missing where the points moved.
func (a *Service) Adjust(ctx context.Context, p models.Principal, adj Adjustment) (models.Entry, error) {
	adj, err := adj.Clean()
	if err != nil {
		return models.Entry{}, err
	}
	r, err := community.ManagedResident(ctx, a.people, p, adj.ResidentID)
	if err != nil {
		return models.Entry{}, fmt.Errorf("adjust: %w", err)
	}
	policy, err := a.policies.At(ctx, r.CommunityID, a.now())
	if err != nil {
		return models.Entry{}, fmt.Errorf("adjust: %w", err)
	}
	kind, delta, bound := models.KindAward, int64(adj.Points), policy.MaxAward
	if adj.Deduct {
		kind, delta, bound = models.KindDeduct, -delta, policy.MaxDeduct
	}
	if adj.Points > bound {
		return models.Entry{}, models.ErrOutOfBounds.Withf("每次操作最多 %d 积分。", "at most %d points per action", bound)
	}
	e, err := a.ledger.Post(ctx, ledger.Posting{
		OpID:           adj.Idem.OpID,
		Hash:           adj.Idem.Hash,
		Account:        models.AccountOf(r.ID, models.AssetPoints),
		CommunityID:    r.CommunityID,
		Delta:          delta,
		Kind:           kind,
		Ref:            adj.Category,
		Reason:         adj.Reason,
		IdempotencyKey: adj.Idem.Key,
		PolicyVersion:  policy.Version,
		Actor:          p.ResidentID,
	})
	if err != nil {
		return models.Entry{}, fmt.Errorf("adjust: %w", err)
	}
	if notice, ok := AwardNotice(e); ok {
		a.notify.Notify(ctx, notice)
	}
	return e, nil
}

// adjustmentActions names the audit-trail action of each adjustment kind.
var adjustmentActions = map[models.EntryKind]string{models.KindAward: "points.award", models.KindDeduct: "points.deduct"}

// adjustmentRecord is the audit record an adjustment's entry stands for.
func adjustmentRecord(e models.Entry) models.AuditRecord {
	return models.AuditRecord{
		ID:          e.OpID,
		CommunityID: e.CommunityID,
		Actor:       e.Actor,
		Action:      adjustmentActions[e.Kind],
		Subject:     e.Account.ResidentID,
		Amount:      e.Delta,
		Category:    e.Ref,
		Reason:      e.Reason,
		Ref:         e.ID(),
		At:          e.At,
	}
}

// Reverse corrects an entry with a reversing entry, once per entry, with a
// reason and the acting staff member; the original entry stays. key is the
// client's idempotency key of the request: the request that reversed the
// entry (same staff member, same key) gets its reversal back, any other
// request models.ErrAlreadyReversed naming the reversal.
func (a *Service) Reverse(ctx context.Context, p models.Principal, residentID string, asset models.Asset, seq int64, reason, key string) (models.Entry, error) {
	reason, err := models.CleanReason(reason)
	if err != nil {
		return models.Entry{}, err
	}
	r, err := community.ManagedResident(ctx, a.people, p, residentID)
	if err != nil {
		return models.Entry{}, fmt.Errorf("reverse: %w", err)
	}
	acct := models.AccountOf(r.ID, asset)
	orig, err := a.ledger.Entry(ctx, acct, seq)
	if err != nil {
		return models.Entry{}, fmt.Errorf("reverse: %w", err)
	}
	if !reversible[orig.Kind] {
		// Holds, releases, transfers and expiries belong to a redemption, a
		// transfer or a job, which undo them their own way.
		return models.Entry{}, models.ErrConflict.Withf("%s 类记录须通过其自身流程更正", "a %s entry is corrected through its own workflow", orig.Kind)
	}
	e, err := a.ledger.ReverseFor(ctx, acct, seq, reason, p.ResidentID, key)
	if errors.Is(err, models.ErrInsufficientPoints) || errors.Is(err, models.ErrInsufficientHours) {
		return models.Entry{}, fmt.Errorf("reverse: the balance no longer covers this correction: %w", err)
	}
	if err != nil {
		return models.Entry{}, fmt.Errorf("reverse: %w", err)
	}
	// The trail records the reversal as it was made, whoever finishes it.
	err = a.trail.RecordAudit(ctx, models.AuditRecord{
		ID:          e.OpID,
		CommunityID: r.CommunityID,
		Actor:       e.Actor,
		Action:      "entry.reverse",
		Subject:     r.ID,
		Amount:      e.Delta,
		Reason:      e.Reason,
		Ref:         e.Ref,
		At:          e.At,
	})
	if err != nil {
		return e, fmt.Errorf("reverse: audit trail: %w", err)
	}
	if asset == models.AssetPoints {
		a.notify.Notify(ctx, pointsNotice(e, models.NoticePointsReversed))
	}
	if e.Actor != p.ResidentID || e.IdempotencyKey != key {
		return models.Entry{}, models.ErrAlreadyReversed.Withf("记录 %[1]s 已由 %[3]s 于 %[4]s 冲正，冲正记录为 %[5]s（序号 %[2]d）", "entry %[1]s was already reversed by %[3]s at %[4]s: reversal %[5]s (seq %[2]d)", orig.ID(), e.Seq, e.Actor, e.At.UTC().Format(time.RFC3339), e.ID())
	}
	return e, nil
}

var reversible = map[models.EntryKind]bool{
	models.KindAward:      true,
	models.KindDeduct:     true,
	models.KindService:    true,
	models.KindAllowance:  true,
	models.KindHonour:     true,
	models.KindAdjustment: true,
}

// Trail is one page of the audit trail of the caller's community, for
// staff: its records and staff adjustments, each source newest listed
// first and the two merged newest first (by id from the highest between
// two of one moment), from place (the zero place: from the newest), at
// most limit, and the place the next page starts (nil at the end). Each
// source is read on below the last of its items a page showed, so no
// record is skipped or shown twice between pages, whatever their times,
// and a page costs its own size however far back it is. Each source is
// read trailStep items at a time as the merge reaches the end of what was
// read of it, so a page reads of each about what it shows.
func (a *Service) Trail(ctx context.Context, p models.Principal, from models.TrailPlace, limit int) ([]models.AuditRecord, *models.TrailPlace, error) {
	if !p.IsStaff() {
		return nil, nil, models.ErrForbidden
	}
	recs := trailSource[models.AuditRecord]{
		from: from.Records,
		readBelow: func(before int64, n int) (models.Listed[models.AuditRecord], error) {
			return a.trail.AuditTrail(ctx, p.CommunityID, before, from.Before, n)
		},
	}
	adjustments := trailSource[models.Entry]{
		from: from.Adjustments,
		readBelow: func(before int64, n int) (models.Listed[models.Entry], error) {
			return a.trail.EntriesOfKinds(ctx, p.CommunityID, []models.EntryKind{models.KindAward, models.KindDeduct}, before, from.Before, n)
		},
	}
	recorded := map[string]bool{} // the ids of recs.read.Items[:known]
	known := 0
	page := []models.AuditRecord{}
	shownRecs, shownAdjustments := 0, 0
	for len(page) < limit {
		moreRecs, err := recs.has(shownRecs)
		if err != nil {
			return nil, nil, err
		}
		for ; known < len(recs.read.Items); known++ {
			recorded[recs.read.Items[known].ID] = true
		}
		moreAdjustments, err := adjustments.has(shownAdjustments)
		if err != nil {
			return nil, nil, err
		}
		if !moreRecs && !moreAdjustments {
			break
		}
		if moreAdjustments {
			e := adjustments.read.Items[shownAdjustments]
			if recorded[e.OpID] { // data from before adjustments stopped writing a record of their own
				shownAdjustments++
				continue
			}
			if adj := adjustmentRecord(e); !moreRecs || newerInTrail(adj, recs.read.Items[shownRecs]) {
				page = append(page, adj)
				shownAdjustments++
				continue
			}
		}
		page = append(page, recs.read.Items[shownRecs])
		shownRecs++
	}
	next := models.TrailPlace{
		Records:     readOnFrom(recs.read, shownRecs),
		Adjustments: readOnFrom(adjustments.read, shownAdjustments),
		Before:      from.Before,
	}
	if next.Records == 1 && next.Adjustments == 1 {
		return page, nil, nil
	}
	return page, &next, nil
}

// trailStep is how many items the trail reads of a source at a time: a
// block of its list (the store reads on to a block's first slot, and a
// full block is one lookup once copied).
const trailStep = 16

// trailSource is one of the audit trail's two lists as a page reads it:
// what was read so far, from the page's place on.
type trailSource[T any] struct {
	from    int64 // the page's place on the list (models.TrailPlace)
	read    models.Listed[T]
	started bool // the list was read at least once
	ended   bool // read reaches the list's end
	// readBelow reads at least n items below slot before (store.AuditTrail).
	readBelow func(before int64, n int) (models.Listed[T], error)
}

// has reports whether item i of the source is there, reading on from the
// end of what was read, a trailStep at a time, until it is or the list
// ends.
func (s *trailSource[T]) has(i int) (bool, error) {
	for i >= len(s.read.Items) && !s.ended {
		before := s.from
		if s.started {
			before = s.read.Next
		}
		got, err := s.readBelow(before, trailStep)
		if err != nil {
			return false, err
		}
		s.started = true
		s.read.Items = append(s.read.Items, got.Items...)
		s.read.Slots = append(s.read.Slots, got.Slots...)
		s.read.Next = got.Next
		s.ended = got.Next == 0
	}
	return i < len(s.read.Items), nil
}

// newerInTrail reports whether audit record a comes before b in the trail:
// made later, or at the same moment with the higher id.
func newerInTrail(a, b models.AuditRecord) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}

// readOnFrom is the slot a source of the trail is read below on the next
// page, when a page showed the first shown of what was read from it: below
// the last one shown; below all that was read when all of it was shown;
// above the first read when none was (so the next page does not jump to
// records listed since). 1 means the source has nothing more.
func readOnFrom[T any](read models.Listed[T], shown int) int64 {
	switch {
	case shown == len(read.Items) && read.Next == 0:
		return 1
	case shown == len(read.Items):
		return read.Next
	case shown > 0:
		return read.Slots[shown-1]
	default:
		return read.Slots[0] + 1
	}
}

// Audit recomputes every account from its entries.
func (a *Service) Audit(ctx context.Context) (ledger.AuditReport, error) {
	return a.ledger.Audit(ctx)
}
