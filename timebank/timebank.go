package timebank

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/qrtoken"
	"github.com/linli-community/linli/ratelimit"
)

// Store keeps activities, sign-ups, service records, chains,
// mutual aid and gifts. Inserts return models.ErrConflict when the id is
// taken (that is how every once-only step is decided); reads by id return
// models.ErrNotFound.
type Store interface {
	// InsertActivity adds a on the list of each of days (its community's
	// local days it runs on).
	InsertActivity(ctx context.Context, a models.Activity, days []string) error
	// CheckinMarks returns the check-ins of an activity, earliest first.
	CheckinMarks(ctx context.Context, activityID string) ([]models.Mark, error)
	Activity(ctx context.Context, id string) (models.Activity, error)
	// ActivitiesOn is a page of a community's activities running on day
	// (2006-01-02), the latest published first, below cursor ("" first),
	// and the next page's cursor ("" at the end); a cursor the list did
	// not give out is models.ErrBadCursor.
	ActivitiesOn(ctx context.Context, communityID, day, cursor string, limit int) ([]models.Activity, string, error)

	InsertSignup(ctx context.Context, su models.Signup) error
	Signup(ctx context.Context, id string) (models.Signup, error)
	SetSignupState(ctx context.Context, id, slot string, cancelled bool) error
	Signups(ctx context.Context, activityID, residentID string) ([]models.Signup, error)

	InsertMark(ctx context.Context, m models.Mark) error
	Mark(ctx context.Context, id string) (models.Mark, error)
	// DeleteMark undoes a mark whose step was then refused; nil if gone.
	DeleteMark(ctx context.Context, id string) error
	SetFlag(ctx context.Context, m models.Mark) error

	InsertRecord(ctx context.Context, r models.ServiceRecord) error
	Record(ctx context.Context, id string) (models.ServiceRecord, error)
	SaveRecordState(ctx context.Context, r models.ServiceRecord) error
	EachRecord(ctx context.Context, f models.RecordFilter, fn func(models.ServiceRecord) error) error
	// The queue of records waiting for a decision: a record is queued
	// before it is stored and leaves once its decision is complete.
	QueueRecord(ctx context.Context, r models.ServiceRecord) error
	UnqueueRecord(ctx context.Context, id string) error
	EachQueuedRecord(ctx context.Context, fn func(models.QueuedRecord) error) error
	// QueuedRecords is a page of a community's queue, oldest first, from
	// cursor ("" first), and the next page's cursor ("" at the end); slots
	// older than settled whose item is gone are decided for good.
	QueuedRecords(ctx context.Context, communityID, cursor string, limit int, settled time.Time) ([]models.QueuedRecord, string, error)
	// ResidentRecords is a page of a resident's records, the latest stored
	// first, below cursor ("" first), and the next page's cursor.
	ResidentRecords(ctx context.Context, residentID, cursor string, limit int) ([]models.ServiceRecord, string, error)
	// FilteredRecords is a page of a community's records matching f, the
	// latest stored first, below cursor ("" first), read from one list (a
	// page may hold fewer than limit), and the next page's cursor.
	FilteredRecords(ctx context.Context, f models.RecordFilter, cursor string, limit int) ([]models.ServiceRecord, string, error)

	InsertLink(ctx context.Context, l models.Link) error
	Link(ctx context.Context, chain string, n int64) (models.Link, error)

	InsertCorrection(ctx context.Context, c models.Correction) error
	Correction(ctx context.Context, id string) (models.Correction, error)
	SaveCorrection(ctx context.Context, c models.Correction) error
	// CommunityCorrections is a page of a community's corrections, the
	// latest first, below cursor ("" first), and the next page's cursor.
	CommunityCorrections(ctx context.Context, communityID, cursor string, limit int) ([]models.Correction, string, error)

	InsertGift(ctx context.Context, g models.Gift) error
	Gifts(ctx context.Context, residentID string) ([]models.Gift, error)
}

// People reads residents, communities and households.
type People interface {
	community.People
	// Household returns the household with id, or models.ErrNotFound.
	Household(ctx context.Context, id string) (models.Household, error)
	// Building returns the building with id, or models.ErrNotFound.
	Building(ctx context.Context, id string) (models.Building, error)
}

// Service runs the volunteer time bank: activities and sign-ups, QR
// check-in, service records and their verification, and gifts of hours.
type Service struct {
	store    Store
	people   People
	zones    *community.Zones
	ledger   *ledger.Ledger
	policies community.PolicySource
	trail    community.AuditTrail
	checkin  qrtoken.Checkin // signs and checks activity check-in tokens
	// codeTries bounds the typed check-in codes one resident may try a
	// minute: six digits are few, so guessing must be slow.
	codeTries *ratelimit.Limiter
	now       func() time.Time
	newID     func() string
	notify    community.Notifier

	// chains appends to the per-resident chains; places are the
	// activities' places.
	chains *once.Chains
	places *once.Places

	// volunteers is the rankings summary the volunteer-hours ranking
	// reads (RankFrom); nil sums the records.
	volunteers VolunteerSource
}

// DefaultQRSlot is how long one QR token is shown; the current and the
// previous slot are accepted, so a token scanned as it rotates still works.
const DefaultQRSlot = qrtoken.DefaultCheckinSlot

// CodeTriesPerMinute is how many typed check-in codes one resident may try
// a minute; codeResidents bounds how many residents the limit remembers.
const (
	CodeTriesPerMinute = 10
	codeResidents      = 100_000
)

// New returns the time-bank service.
func New(d Deps) *Service {
	community.MustNotify("timebank", d.Notify)
	svc := &Service{
		store:     d.Store,
		people:    d.People,
		zones:     community.NewZones(d.People),
		ledger:    d.Ledger,
		policies:  d.Policies,
		trail:     d.Trail,
		checkin:   qrtoken.NewCheckin(d.QRSecret, DefaultQRSlot),
		codeTries: ratelimit.New(CodeTriesPerMinute, time.Minute, codeResidents, d.Now),
		now:       d.Now,
		newID:     d.NewID,
		notify:    d.Notify,
	}
	svc.chains = once.NewChains(d.Store, svc.stamp)
	svc.places = once.NewPlaces(d.Store, svc.stamp)
	return svc
}

// Deps are what the time-bank service is built on, by name.
type Deps struct {
	Store    Store
	People   People
	Ledger   *ledger.Ledger
	Policies community.PolicySource
	Trail    community.AuditTrail
	QRSecret []byte // signs check-in QR tokens
	Now      func() time.Time
	NewID    func() string
	Notify   community.Notifier // tells residents their hours were decided; required (community.NoNotifier{} tells no one)
}

// stamp returns the service's time now in UTC, to the millisecond the store keeps.
func (t *Service) stamp() time.Time { return t.now().UTC().Truncate(time.Millisecond) }

// location returns a community's time zone, or the default zone when it cannot be read.
func (t *Service) location(ctx context.Context, communityID string) *time.Location {
	loc, err := t.zones.Location(ctx, communityID)
	if err != nil {
		return models.Community{}.Location()
	}
	return loc
}

// canOrganise reports whether p organises activities of their community:
// staff, or a team lead.
func canOrganise(p models.Principal) bool {
	return p.CommunityID != "" && (p.IsStaff() || p.Has(models.RoleTeamLead))
}

// organiserOf reports whether p organises activity a: staff of its
// community, or the team lead who created it.
func organiserOf(p models.Principal, a models.Activity) bool {
	return p.CommunityID == a.CommunityID && (p.IsStaff() || (p.Has(models.RoleTeamLead) && p.ResidentID == a.CreatedBy))
}

// --- activities ---

// NewActivity is what an organiser fills in.
type NewActivity struct {
	Title, Category, Place, Organisation string
	Start, End                           time.Time
	Capacity                             int
	MaxMinutes                           models.Minutes
	SelfCheckin                          bool
}

// Clean returns the activity with its texts trimmed, or
// models.ErrValidation if the title, category or place is blank or too
// long (80, 20, 80 characters), the organisation (optional: the
// community's residents' committee by default) is blank or over 80, or a
// text has control characters. CreateActivity applies it, the one place
// an activity is cleaned, before anything is written.
func (in NewActivity) Clean() (NewActivity, error) {
	var err error
	if in.Title, err = models.CleanText("title", in.Title, 80); err != nil {
		return NewActivity{}, err
	}
	if in.Category, err = models.CleanText("category", in.Category, 20); err != nil {
		return NewActivity{}, err
	}
	if in.Place, err = models.CleanText("place", in.Place, 80); err != nil {
		return NewActivity{}, err
	}
	if in.Organisation != "" {
		if in.Organisation, err = models.CleanText("organisation", in.Organisation, 80); err != nil {
			return NewActivity{}, err
		}
	}
	return in, nil
}

// CreateActivity adds an activity of the caller's community.
func (t *Service) CreateActivity(ctx context.Context, p models.Principal, in NewActivity, idem community.Idempotency) (models.Activity, error) {
	if !canOrganise(p) {
		return models.Activity{}, models.ErrForbidden
	}
	in, err := in.Clean()
	if err != nil {
		return models.Activity{}, err
	}
	if !in.End.After(in.Start) || in.End.Sub(in.Start) > 7*24*time.Hour {
		return models.Activity{}, models.ErrValidation.Withf("结束时间须晚于开始时间，且在 7 天之内。", "end must be after start, within 7 days")
	}
	if in.Capacity < 1 || in.Capacity > 1000 {
		return models.Activity{}, models.ErrValidation.Withf("名额须在 1 到 1000 之间。", "capacity must be between 1 and 1000")
	}
	if in.MaxMinutes < 1 || in.MaxMinutes > 24*60 {
		return models.Activity{}, models.ErrValidation.Withf("最长时长（max_minutes）须在 1 到 1440 分钟之间。", "max_minutes must be between 1 and 1440")
	}
	if in.Organisation == "" {
		c, err := t.people.Community(ctx, p.CommunityID)
		if err != nil {
			return models.Activity{}, fmt.Errorf("activity: %w", err)
		}
		in.Organisation = c.Name + "居委会"
	}
	a := models.Activity{
		ID:           community.CreatedID(idem, "activity", t.newID),
		CommunityID:  p.CommunityID,
		Title:        in.Title,
		Category:     in.Category,
		Place:        in.Place,
		Organisation: in.Organisation,
		Start:        in.Start.UTC().Truncate(time.Millisecond),
		End:          in.End.UTC().Truncate(time.Millisecond),
		Capacity:     in.Capacity,
		MaxMinutes:   in.MaxMinutes,
		SelfCheckin:  in.SelfCheckin,
		CreatedBy:    p.ResidentID,
		Created:      t.stamp(),
	}
	err = t.store.InsertActivity(ctx, a, a.Days(t.location(ctx, a.CommunityID)))
	if errors.Is(err, models.ErrConflict) {
		if prev, found, err := community.Repeated(ctx, idem, t.store.Activity, a.ID); found || err != nil {
			return prev, err
		}
	}
	if err != nil {
		return models.Activity{}, fmt.Errorf("activity: %w", err)
	}
	return a, nil
}

// Activity returns an activity of the caller's community.
func (t *Service) Activity(ctx context.Context, p models.Principal, id string) (models.Activity, error) {
	a, err := t.store.Activity(ctx, id)
	if err != nil {
		return models.Activity{}, err
	}
	if a.CommunityID != p.CommunityID {
		return models.Activity{}, models.ErrNotFound
	}
	return a, nil
}

// Activities lists every activity of the caller's community running on a
// day (in the community's time zone), optionally of one category, reading
// the day's list page by page to its end.
func (t *Service) Activities(ctx context.Context, p models.Principal, day time.Time, category string) ([]models.Activity, error) {
	out := []models.Activity{}
	q := ActivityQuery{
		Day:      day,
		Category: category,
		Limit:    200,
	}
	for {
		page, next, err := t.ActivitiesPage(ctx, p, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		q.Cursor = next
	}
}

// ActivityQuery selects a page of GET /activities: the activities running
// on Day (read in the community's zone), of Category if set, from Cursor
// ("" first; what the last page gave as next), Limit at most (0: 50).
type ActivityQuery struct {
	Day      time.Time
	Category string
	Cursor   string
	Limit    int
}

// ActivitiesPage is one page of the caller's community's activities
// running on q.Day (an activity of several days is on each of them), the
// latest published first, and the cursor of the next page ("" at the
// end). The page reads q.Limit places of the day's list and keeps those of
// q.Category, so it may hold fewer and still have a next: nothing is cut
// off without a cursor. A cursor the list did not give out is
// models.ErrBadCursor.
func (t *Service) ActivitiesPage(ctx context.Context, p models.Principal, q ActivityQuery) ([]models.Activity, string, error) {
	if p.CommunityID == "" {
		return nil, "", models.ErrForbidden
	}
	if q.Limit < 1 {
		q.Limit = 50
	}
	day := localDay(q.Day, t.location(ctx, p.CommunityID))
	all, next, err := t.store.ActivitiesOn(ctx, p.CommunityID, day, q.Cursor, q.Limit)
	if err != nil {
		return nil, "", err
	}
	out := []models.Activity{}
	for _, a := range all {
		if q.Category == "" || a.Category == q.Category {
			out = append(out, a)
		}
	}
	return out, next, nil
}

// --- sign-ups ---

// SignUp gives the caller a place at an activity. Capacity holds under
// concurrency: each place is a slot taken by an insert; a cancelled place
// is given back by a release mark and taken again under a new generation.
// Signing up twice returns the first sign-up.
func (t *Service) SignUp(ctx context.Context, p models.Principal, activityID string) (models.Signup, error) {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return models.Signup{}, err
	}
	if !t.now().Before(a.Start) {
		return models.Signup{}, models.ErrSignupClosed.Withf("活动已经开始，不能再报名。", "the activity has started")
	}
	// The resident's sign-ups are numbered: a cancelled one (or one refused
	// for a full activity) is followed by the next generation
	// (docs/ARCHITECTURE.md §4.4).
	var su models.Signup
	state := func(ctx context.Context, gen int) (once.GenState, error) {
		cur, err := t.store.Signup(ctx, once.Signup(a.ID, p.ResidentID, gen))
		if errors.Is(err, models.ErrNotFound) {
			return once.GenMissing, nil
		}
		if err != nil {
			return 0, err
		}
		cancelled, err := t.signupCancelled(ctx, cur)
		if err != nil || cancelled {
			return once.GenClosed, err
		}
		su = cur
		return once.GenOpen, nil
	}
	insert := func(ctx context.Context, gen int) error {
		su = models.Signup{
			ID:          once.Signup(a.ID, p.ResidentID, gen),
			ActivityID:  a.ID,
			CommunityID: a.CommunityID,
			ResidentID:  p.ResidentID,
			Gen:         gen,
			At:          t.stamp(),
		}
		return t.store.InsertSignup(ctx, su)
	}
	if _, _, err := once.ClaimGeneration(ctx, 0, state, insert); err != nil {
		return models.Signup{}, err
	}
	if su.Slot != "" {
		return su, nil
	}
	slot, err := t.takeSlot(ctx, a, su.ID)
	if errors.Is(err, models.ErrActivityFull) {
		// Give the sign-up up, so a later try starts a new generation.
		_ = t.store.InsertMark(ctx, models.Mark{
			ID:          once.SignupCancel(su.ID),
			Kind:        "signup.cancel",
			CommunityID: a.CommunityID,
			Ref:         su.ID,
			ResidentID:  p.ResidentID,
			Reason:      "full",
			At:          t.stamp(),
		})
		_ = t.store.SetSignupState(ctx, su.ID, "", true)
		return models.Signup{}, err
	}
	if err != nil {
		return models.Signup{}, err
	}
	su.Slot = slot
	if err := t.store.SetSignupState(ctx, su.ID, slot, false); err != nil {
		return models.Signup{}, err
	}
	return su, nil
}

// signupCancelled reports whether sign-up su was cancelled: its cached flag, or its cancel
// mark.
func (t *Service) signupCancelled(ctx context.Context, su models.Signup) (bool, error) {
	if su.Cancelled {
		return true, nil
	}
	_, err := t.store.Mark(ctx, once.SignupCancel(su.ID))
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// takeSlot takes the first free place of the activity for signup, or
// returns the one it already holds (once.Places).
func (t *Service) takeSlot(ctx context.Context, a models.Activity, signup string) (string, error) {
	place, ok, err := t.places.Take(ctx, a.ID, a.CommunityID, a.Capacity, signup)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", models.ErrActivityFull
	}
	return place, nil
}

// CancelSignup gives the caller's place back, before the start.
func (t *Service) CancelSignup(ctx context.Context, p models.Principal, activityID string) error {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return err
	}
	if !t.now().Before(a.Start) {
		return models.ErrSignupClosed.Withf("活动已经开始；报名只能在开始前取消。", "the activity has started; a sign-up can be cancelled only before")
	}
	su, err := t.currentSignup(ctx, a.ID, p.ResidentID)
	if err != nil {
		return err
	}
	_, err = once.Insert(ctx, t.store, models.Mark{
		ID:          once.SignupCancel(su.ID),
		Kind:        "signup.cancel",
		CommunityID: a.CommunityID,
		Ref:         su.ID,
		ResidentID:  p.ResidentID,
		Actor:       p.ResidentID,
		At:          t.stamp(),
	})
	if err != nil {
		return err
	}
	if su.Slot == "" {
		// The slot may have been taken by a request that died before noting it.
		if slot, err := t.heldSlot(ctx, a, su.ID); err == nil {
			su.Slot = slot
		}
	}
	if su.Slot != "" {
		if err := t.places.Release(ctx, su.Slot, a.CommunityID, su.ID); err != nil {
			return err
		}
	}
	return t.store.SetSignupState(ctx, su.ID, su.Slot, true)
}

// heldSlot is the place of the activity signup holds, or
// models.ErrNotFound.
func (t *Service) heldSlot(ctx context.Context, a models.Activity, signup string) (string, error) {
	place, ok, err := t.places.Held(ctx, a.ID, a.Capacity, signup)
	if err == nil && !ok {
		err = models.ErrNotFound
	}
	return place, err
}

// currentSignup is the resident's live sign-up at the activity, or
// models.ErrNotFound.
func (t *Service) currentSignup(ctx context.Context, activityID, residentID string) (models.Signup, error) {
	var last *models.Signup
	for gen := 0; ; gen++ {
		su, err := t.store.Signup(ctx, once.Signup(activityID, residentID, gen))
		if errors.Is(err, models.ErrNotFound) {
			break
		}
		if err != nil {
			return models.Signup{}, err
		}
		last = &su
	}
	if last == nil {
		return models.Signup{}, models.ErrNotFound
	}
	cancelled, err := t.signupCancelled(ctx, *last)
	if err != nil {
		return models.Signup{}, err
	}
	if cancelled {
		return models.Signup{}, models.ErrNotFound
	}
	return *last, nil
}

// Signups lists who holds a place at an activity, for its organiser.
func (t *Service) Signups(ctx context.Context, p models.Principal, activityID string) ([]models.Signup, error) {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return nil, err
	}
	if !organiserOf(p, a) {
		return nil, models.ErrForbidden
	}
	all, err := t.store.Signups(ctx, a.ID, "")
	if err != nil {
		return nil, err
	}
	out := []models.Signup{}
	names := map[string]string{}
	for _, su := range all {
		if c, err := t.signupCancelled(ctx, su); err == nil && !c && su.Slot != "" {
			su.ResidentName = community.MaskedName(ctx, t.people, names, su.ResidentID)
			out = append(out, su)
		}
	}
	return out, nil
}

// MyActivity is an activity the caller signed up for.
type MyActivity struct {
	Activity models.Activity
	Signup   models.Signup
}

// MyActivities lists the activities the caller holds a place at.
func (t *Service) MyActivities(ctx context.Context, p models.Principal) ([]MyActivity, error) {
	all, err := t.store.Signups(ctx, "", p.ResidentID)
	if err != nil {
		return nil, err
	}
	out := []MyActivity{}
	for _, su := range all {
		if c, err := t.signupCancelled(ctx, su); err != nil || c || su.Slot == "" {
			continue
		}
		a, err := t.store.Activity(ctx, su.ActivityID)
		if err != nil {
			continue
		}
		out = append(out, MyActivity{Activity: a, Signup: su})
	}
	return out, nil
}

// --- QR tokens ---

// QRCode is the six-digit check-in code shown under qr, for residents who
// type it instead of scanning.
func (t *Service) QRCode(activityID string, qr CheckinQR) string {
	return t.checkin.Code(activityID, qr.Slot)
}

// CheckinQR is what the organiser's screen shows: the token, its slot and
// when it stops being accepted.
type CheckinQR = qrtoken.CheckinToken

// QR returns the current check-in token of an activity, for its organiser.
func (t *Service) QR(ctx context.Context, p models.Principal, activityID string) (CheckinQR, error) {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return CheckinQR{}, err
	}
	if !organiserOf(p, a) {
		return CheckinQR{}, models.ErrForbidden
	}
	return t.checkin.Issue(a.ID, t.now()), nil
}
