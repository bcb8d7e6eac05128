package honour

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linli-community/linli/cache"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"golang.org/x/sync/singleflight"
)

// Store is what the honour roll, building heads and star households
// need from the database. Inserts return models.ErrConflict when the key
// exists (that is how a once-only step is decided); reads by id return
// models.ErrNotFound; Save* rewrite cache documents whole.
type Store interface {
	community.People
	community.AuditTrail
	Communities(ctx context.Context, after string, limit int) ([]models.Community, error)
	Building(ctx context.Context, id string) (models.Building, error)
	Household(ctx context.Context, id string) (models.Household, error)
	Households(ctx context.Context, communityID, buildingID, after string, limit int) ([]models.Household, error)
	Residents(ctx context.Context, f models.ResidentFilter, after string, limit int) ([]models.Resident, error)
	// HouseholdResidents is every resident who lives in a household now,
	// read from the household's list.
	HouseholdResidents(ctx context.Context, communityID, householdID string) ([]models.Resident, error)
	// RoleHolders is every resident of a community who holds a role now,
	// read from the role's list.
	RoleHolders(ctx context.Context, communityID string, roles ...models.Role) ([]models.Resident, error)

	InsertHonourEntry(ctx context.Context, e models.HonourEntry) error
	HonourEntry(ctx context.Context, id string) (models.HonourEntry, error)
	SaveHonourEntry(ctx context.Context, e models.HonourEntry) error
	// HonourEntries filters by community ("" for all) and statuses (all when none).
	HonourEntries(ctx context.Context, communityID string, statuses []models.HonourStatus, after string, limit int) ([]models.HonourEntry, error)
	InsertObjection(ctx context.Context, o models.Objection) error
	Objection(ctx context.Context, id string) (models.Objection, error)
	SaveObjection(ctx context.Context, o models.Objection) error
	Objections(ctx context.Context, entryID string) ([]models.Objection, error)
	// HonourEntriesPage is one page of one of a community's lists of
	// entries, newest first, and the next page's cursor ("" at the end);
	// models.ErrBadCursor for a cursor the list did not give out.
	HonourEntriesPage(ctx context.Context, communityID string, list models.HonourList, cursor string, limit int, at time.Time) ([]models.HonourEntry, string, error)
	// ListHonourOnBoard puts a listed entry on its community's board list, once.
	ListHonourOnBoard(ctx context.Context, entryID string, at time.Time) error
	// NomineeEntriesStoredBefore is every entry of the nominee (once.Nominee's
	// key) stored before the numbered chains of nominations existed.
	NomineeEntriesStoredBefore(ctx context.Context, communityID, nominee string) ([]models.HonourEntry, error)
	// EntryObjections is one page of an entry's objections, newest first.
	EntryObjections(ctx context.Context, entryID, cursor string, limit int) ([]models.Objection, string, error)
	InsertHonourEvent(ctx context.Context, e models.HonourEvent) error
	HonourEvent(ctx context.Context, id string) (models.HonourEvent, error)
	HonourCurrent(ctx context.Context, key string) (models.HonourCurrent, error)
	SaveHonourCurrent(ctx context.Context, c models.HonourCurrent) error

	InsertHeadTerm(ctx context.Context, t models.HeadTerm) error
	HeadTerm(ctx context.Context, id string) (models.HeadTerm, error)
	SaveHeadTerm(ctx context.Context, t models.HeadTerm) error
	HeadTerms(ctx context.Context, communityID, seat string) ([]models.HeadTerm, error)
	// HeadCurrent returns no terms (and nil) for a resident who never held one.
	HeadCurrent(ctx context.Context, residentID string) ([]models.HeadTerm, error)
	SaveHeadCurrent(ctx context.Context, residentID string, terms []models.HeadTerm) error
	InsertDuty(ctx context.Context, d models.Duty) error
	Duty(ctx context.Context, id string) (models.Duty, error)
	SaveDuty(ctx context.Context, d models.Duty) error
	Duties(ctx context.Context, communityID, termID, month string) ([]models.Duty, error)
	// ResidentDuties lists the duties a head logged in a community, of
	// month when it is not "".
	ResidentDuties(ctx context.Context, communityID, residentID, month string) ([]models.Duty, error)
	// UnclaimedConfirmations returns the duties of a community whose
	// confirmation no month's allowance has claimed yet, in the order they
	// were confirmed; it costs the months not yet closed, not the history.
	UnclaimedConfirmations(ctx context.Context, communityID string, at time.Time) ([]string, error)
	// AllowanceClaims returns the duties a month's allowance pays (their
	// once.AllowanceDuty claim names the month).
	AllowanceClaims(ctx context.Context, communityID, month string) ([]models.Duty, error)

	InsertStarRecord(ctx context.Context, r models.StarRecord) error
	StarRecord(ctx context.Context, id string) (models.StarRecord, error)
	SaveStarRecord(ctx context.Context, r models.StarRecord) error

	// Op returns the ledger's record of an op id, or models.ErrNotFound.
	Op(ctx context.Context, id string) (ledger.Op, error)
	// EachCommunityEntry streams a community's entries with from <= at < to.
	EachCommunityEntry(ctx context.Context, communityID string, from, to time.Time, fn func(models.Entry) error) error

	RankStore
}

// HeadAppointer keeps Building.HeadID and the building_head role; the
// community service does it.
type HeadAppointer interface {
	SetBuildingHead(ctx context.Context, p models.Principal, buildingID, residentID string) (models.Building, error)
}

// Service runs the honour roll (诚信红榜) with its public notice, the terms,
// duties and allowances of building heads and the other 三长, star
// households and rankings.
type Service struct {
	store    Store
	ledger   *ledger.Ledger
	policies community.PolicySource
	heads    HeadAppointer
	newID    func() string
	now      func() time.Time
	notify   community.Notifier
	zones    *community.Zones // each community's time zone
	// buildingNames remembers the board's building names (buildingName).
	buildingNames *cache.Cache[string, string]

	// firstRanks joins the first rankings summaries of one community that
	// requests start together (rankSummary).
	firstRanks singleflight.Group
}

// New returns the honour service.
func New(d Deps) *Service {
	community.MustNotify("honour", d.Notify)
	s := &Service{
		store:         d.Store,
		ledger:        d.Ledger,
		policies:      d.Policies,
		heads:         d.Heads,
		newID:         d.NewID,
		now:           d.Now,
		notify:        d.Notify,
		zones:         community.NewZones(d.Store),
		buildingNames: cache.New[string, string](buildingNamesTTL, buildingNamesSize, d.Now),
	}
	return s
}

const (
	// buildingNamesTTL is how long the board remembers a building's name
	// (docs/ARCHITECTURE.md §6): a name is set when the building is made
	// and never changed, so this only lets a replica forget the names it
	// stopped showing.
	buildingNamesTTL = time.Hour
	// buildingNamesSize bounds the building names remembered.
	buildingNamesSize = 10_000
)

// buildingName is the name of building id for the board, remembered for
// buildingNamesTTL; "" when it cannot be read (the row shows no building,
// and the next read tries again).
func (s *Service) buildingName(ctx context.Context, id string) string {
	if name, ok := s.buildingNames.Get(id); ok {
		return name
	}
	b, err := s.store.Building(ctx, id)
	if err != nil {
		return ""
	}
	s.buildingNames.Put(id, b.Name)
	return b.Name
}

// location is community id's time zone (community.Zones, remembered: a
// community's zone never changes), or the default zone if the community
// cannot be read.
func (s *Service) location(ctx context.Context, id string) *time.Location {
	loc, err := s.zones.Location(ctx, id)
	if err != nil {
		return models.Community{}.Location()
	}
	return loc
}

// Deps are what the honour service is built on, by name.
type Deps struct {
	Store    Store
	Ledger   *ledger.Ledger
	Policies community.PolicySource
	Heads    HeadAppointer // sets a building's head (package directory)
	NewID    func() string
	Now      func() time.Time
	Notify   community.Notifier // tells nominees of their nomination and of objections; required (community.NoNotifier{} tells no one)
}

// stamp returns the service's time now in UTC, to the millisecond the store keeps.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

const day = 24 * time.Hour

// member loads a resident of p's community (anyone of the community may
// look at the notices and the board).
func (s *Service) member(ctx context.Context, p models.Principal, id string) (models.Resident, error) {
	r, err := s.store.Resident(ctx, id)
	if err == nil && r.CommunityID != p.CommunityID {
		err = models.ErrNotFound
	}
	return r, err
}

// event records a once-only state change. It reports whether this call
// recorded it (false: it was recorded before, and the first one is returned).
func (s *Service) event(ctx context.Context, ev models.HonourEvent) (models.HonourEvent, bool, error) {
	first := true
	err := s.store.InsertHonourEvent(ctx, ev)
	if errors.Is(err, models.ErrConflict) {
		if ev, err = s.store.HonourEvent(ctx, ev.ID); err != nil {
			return ev, false, err
		}
		first = false
	} else if err != nil {
		return models.HonourEvent{}, false, err
	}
	// A person's decision goes into the staff audit trail, also on a
	// repeat, so a crash between the two is mended.
	if ev.By != "" {
		err := s.audit(ctx, once.AuditHonourEvent(ev.ID), ev.CommunityID, ev.By, "honour."+ev.Kind, ev.Subject, ev.Reason, ev.At)
		if err != nil {
			return ev, first, err
		}
	}
	return ev, first, nil
}

// audit records a decision in the staff audit trail; the jobs' and the
// demo seed's ("system") are not staff decisions and are left out.
func (s *Service) audit(ctx context.Context, id, communityID, actor, action, subject, reason string, at time.Time) error {
	if actor == "system" {
		return nil
	}
	return s.store.RecordAudit(ctx, models.AuditRecord{
		ID:          id,
		CommunityID: communityID,
		Actor:       actor,
		Action:      action,
		Subject:     subject,
		Reason:      reason,
		At:          at,
	})
}

// --- the honour roll ---

// Nomination names a resident or a household (exactly one) for the roll.
type Nomination struct {
	ResidentID  string
	HouseholdID string
	Category    string
	Reason      string
	// OpID is the keyed request's op id: a repeat of the request whose
	// answer was lost is answered with the entry it made.
	OpID string
}

// Nominate puts a resident or household into public notice (公示). Staff
// may nominate anyone of their community, a building head the residents of
// the building they head.
func (s *Service) Nominate(ctx context.Context, p models.Principal, n Nomination) (models.HonourEntry, error) {
	if !p.IsStaff() && !p.Has(models.RoleBuildingHead) {
		return models.HonourEntry{}, models.ErrForbidden
	}
	if (n.ResidentID == "") == (n.HouseholdID == "") {
		return models.HonourEntry{}, models.ErrValidation.Withf("居民（resident_id）和住户（household_id）须且只能填写一个。", "name exactly one of resident_id and household_id")
	}
	if !slices.Contains(models.HonourCategories, n.Category) {
		return models.HonourEntry{}, models.ErrValidation.Withf("类别须为以下之一：%v。", "category must be one of %v", models.HonourCategories)
	}
	reason, err := models.CleanText("reason", n.Reason, 500)
	if err != nil {
		return models.HonourEntry{}, err
	}
	e := models.HonourEntry{
		CommunityID: p.CommunityID,
		ResidentID:  n.ResidentID,
		HouseholdID: n.HouseholdID,
		Category:    n.Category,
		Reason:      reason,
		NominatedBy: p.ResidentID,
		Nominated:   s.stamp(),
		Status:      models.HonourNotice,
		OpID:        n.OpID,
	}
	if n.ResidentID != "" {
		r, err := s.member(ctx, p, n.ResidentID)
		if err != nil {
			return models.HonourEntry{}, fmt.Errorf("nominate: %w", err)
		}
		e.HouseholdID = r.HouseholdID
	}
	if e.HouseholdID != "" {
		h, err := s.store.Household(ctx, e.HouseholdID)
		if err == nil && h.CommunityID != p.CommunityID {
			err = models.ErrNotFound
		}
		if err != nil {
			return models.HonourEntry{}, fmt.Errorf("nominate: household: %w", err)
		}
		e.BuildingID = h.BuildingID
	}
	if !p.IsStaff() {
		ok := false
		if e.BuildingID != "" {
			b, err := s.store.Building(ctx, e.BuildingID)
			if err != nil {
				return models.HonourEntry{}, fmt.Errorf("nominate: building: %w", err)
			}
			ok = b.HeadID == p.ResidentID
		}
		if !ok {
			return models.HonourEntry{}, models.ErrForbidden.Withf("楼组长只能提名本楼的居民。", "a building head nominates residents of their own building")
		}
	}
	policy, err := s.policies.At(ctx, p.CommunityID, e.Nominated)
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("nominate: %w", err)
	}
	e.NoticeEnds = e.Nominated.Add(time.Duration(policy.NoticeDays) * day)
	if e, err = s.insertNomination(ctx, e); err != nil {
		return models.HonourEntry{}, err
	}
	// A keyed repeat finds the entry and comes here again: the notice is
	// written once (its id is the entry's).
	if e.ResidentID != "" {
		s.notify.Notify(ctx, models.Notice{
			Kind:        models.NoticeNominated,
			EventID:     e.ID,
			Recipient:   e.ResidentID,
			CommunityID: e.CommunityID,
			Args:        map[string]string{"reason": e.Reason, "date": s.noticeEndDay(ctx, e)},
			Link:        "/honour",
		})
	}
	s.tellNoticeStarted(ctx, e)
	return e, s.audit(ctx, once.AuditNominated(e.ID), e.CommunityID, p.ResidentID, "honour.nominated", e.ID, e.Category+": "+e.Reason, e.Nominated)
}

// tellNoticeStarted tells each nominee of e (the resident, or every
// resident of the household) that its public notice (公示) has started:
// the notice period begins with the nomination. The event is the entry's
// notice, so a keyed repeat of the nomination is told once. Telling never
// fails the nomination: a nominee list that cannot be read tells no one.
func (s *Service) tellNoticeStarted(ctx context.Context, e models.HonourEntry) {
	people, err := s.nominees(ctx, e)
	if err != nil {
		return
	}
	ends := s.noticeEndDay(ctx, e)
	for _, r := range people {
		s.notify.Notify(ctx, models.Notice{
			Kind:        models.NoticeNoticeStarted,
			EventID:     e.ID + ":notice",
			Recipient:   r.ID,
			CommunityID: e.CommunityID,
			Args:        map[string]string{"date": ends},
			Link:        "/honour",
		})
	}
}

// noticeEndDay is the day e's public notice ends, as the community's
// residents count days (its time zone; the default zone if the community
// cannot be read): a nomination made at 03:00 in Shanghai ends, seven days
// on, at 03:00 there, on a day that UTC would name one day earlier.
func (s *Service) noticeEndDay(ctx context.Context, e models.HonourEntry) string {
	return e.NoticeEnds.In(s.location(ctx, e.CommunityID)).Format("2006-01-02")
}

// nominationID is the id of the nth nomination of a resident or household
// (key as currentKey gives it). The nominations of one nominee form a
// chain 1, 2, 3 …, so inserting number n+1 is the insert-once mark that
// opens a nomination: two nominations racing for the same number cannot
// both be inserted.
func nominationID(communityID, key string, n int) string {
	return community.DerivedID(once.NominationChain(communityID, key), strconv.Itoa(n))
}

// insertNomination gives e the next number on its nominee's chain and
// inserts it, unless the last one is still open (in notice or listed):
// then it refuses with models.ErrNominationOpen naming that entry. The
// entry's insert is the only write, so there is no crash point between
// "claimed" and "recorded"; the chain is released when its last entry is
// rejected, expires or is revoked, which are keyed events already.
func (s *Service) insertNomination(ctx context.Context, e models.HonourEntry) (models.HonourEntry, error) {
	key := currentKey(e)
	var prev models.HonourEntry
	n, state, err := once.Generation(ctx, 1, func(ctx context.Context, n int) (once.GenState, error) {
		entry, err := s.store.HonourEntry(ctx, nominationID(e.CommunityID, key, n))
		if errors.Is(err, models.ErrNotFound) {
			return once.GenMissing, nil
		}
		if err != nil {
			return 0, err
		}
		open, err := s.openNomination(ctx, entry, e.Nominated)
		if err != nil || !open {
			return once.GenClosed, err
		}
		prev = entry
		return once.GenOpen, nil
	})
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("nominate: %w", err)
	}
	if state == once.GenOpen {
		if e.OpID != "" && prev.OpID == e.OpID {
			return prev, nil // this request made it: a repeat
		}
		return models.HonourEntry{}, nominationOpen(prev)
	}
	e.ID = nominationID(e.CommunityID, key, n)
	err = s.store.InsertHonourEntry(ctx, e)
	if errors.Is(err, models.ErrConflict) {
		// Another nomination of the same nominee took number n just now,
		// or this request's own first attempt did.
		prev, err := s.store.HonourEntry(ctx, e.ID)
		if err != nil {
			return models.HonourEntry{}, fmt.Errorf("nominate: %w", err)
		}
		if e.OpID != "" && prev.OpID == e.OpID {
			return prev, nil
		}
		return models.HonourEntry{}, nominationOpen(prev)
	}
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("nominate: %w", err)
	}
	return e, nil
}

// otherOpenNomination returns an open nomination on e's nominee's chain
// other than e, or nil.
func (s *Service) otherOpenNomination(ctx context.Context, e models.HonourEntry) (*models.HonourEntry, error) {
	for n := 1; ; n++ {
		x, err := s.store.HonourEntry(ctx, nominationID(e.CommunityID, currentKey(e), n))
		if errors.Is(err, models.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if x.ID == e.ID {
			continue
		}
		open, err := s.openNomination(ctx, x, s.now())
		if err != nil || open {
			return &x, err
		}
	}
}

// objectionRulingZh names an objection's ruling in Chinese.
var objectionRulingZh = map[string]string{string(models.ObjectionUpheld): "被认定成立", string(models.ObjectionDismissed): "被驳回"}

// nominationOpen is the NOMINATION_OPEN refusal naming prev, the nominee's open nomination
// (in notice or listed).
func nominationOpen(prev models.HonourEntry) error {
	state, stateEn := "公示中", "in public notice"
	if prev.Status == models.HonourListed {
		state, stateEn = "已上榜", "listed"
	}
	who, whoEn := "该居民", "this resident"
	if prev.ResidentID == "" {
		who, whoEn = "该户", "this household"
	}
	return models.ErrNominationOpen.Withf("%[1]s已有未结束的红榜提名 %[3]s（%[4]s），不能再提名。",
		"%[2]s has an open nomination %[3]s (%[5]s)", who, whoEn, prev.ID, state, stateEn)
}

// openNomination reports whether entry e still holds its nominee's chain at
// at: in notice (not rejected) or listed (not expired, not revoked). The
// status is a cache, so the keyed events decide.
func (s *Service) openNomination(ctx context.Context, e models.HonourEntry, at time.Time) (bool, error) {
	switch e.Status {
	case models.HonourNotice:
		_, err := s.store.HonourEvent(ctx, e.ID+":rejected")
		if errors.Is(err, models.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		// Rejected; unless it was listed first (then withdrawn): either way closed.
		return false, nil
	case models.HonourListed:
		if !e.ExpiresAt.IsZero() && !at.Before(e.ExpiresAt) {
			return false, nil
		}
		for _, id := range []string{once.EntryRevoked(e.ID, e.Restored+1), once.EntryWithdrawn(e.ID)} {
			_, err := s.store.HonourEvent(ctx, id)
			if err == nil {
				return false, nil
			}
			if !errors.Is(err, models.ErrNotFound) {
				return false, err
			}
		}
		return true, nil
	}
	return false, nil
}

// Entry returns an entry of the caller's community. Every resident may see
// it (nominations are public during notice), except an entry whose
// nominee chose not to be shown: only the nominee (or a member of the
// nominated household), staff and admin see that one; to anyone else it
// does not exist.
func (s *Service) Entry(ctx context.Context, p models.Principal, id string) (models.HonourEntry, error) {
	e, err := s.store.HonourEntry(ctx, id)
	if err == nil && e.CommunityID != p.CommunityID {
		err = models.ErrNotFound
	}
	if err != nil || !e.Hidden || p.IsStaff() {
		return e, err
	}
	r, err := s.member(ctx, p, p.ResidentID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && !s.concerns(e, r)) {
		return models.HonourEntry{}, models.ErrNotFound
	}
	if err != nil {
		return models.HonourEntry{}, err
	}
	return e, nil
}

// Entries is one page of the caller's community's entries, the latest
// first, and the next page's cursor ("" at the end): staff see any status
// (all when status is ""), residents the nominations in notice (公示).
// The nominations in notice are read from the list of nominations down to
// its floor, the listed entries from the board list down to its floor,
// the others from the list of nominations (docs/PERFORMANCE.md, "Lists"),
// so a page may hold fewer than limit and still have a next. An entry
// whose nominee chose not to be shown is on a page only for the nominee
// (or a member of the nominated household), staff and admin, as Entry.
func (s *Service) Entries(ctx context.Context, p models.Principal, status models.HonourStatus, cursor string, limit int) ([]models.HonourEntry, string, error) {
	if p.CommunityID == "" {
		return nil, "", models.ErrForbidden
	}
	if !p.IsStaff() && status != models.HonourNotice {
		return nil, "", models.ErrForbidden.Withf("居民只能查看公示中的提名。", "residents see the nominations in notice")
	}
	list := models.HonourListAll
	switch status {
	case models.HonourNotice:
		list = models.HonourListNotice
	case models.HonourListed:
		list = models.HonourListBoard
	}
	page, next, err := s.store.HonourEntriesPage(ctx, p.CommunityID, list, cursor, community.PageLimit(limit), s.now())
	if err != nil {
		return nil, "", err
	}
	var caller *models.Resident
	out := []models.HonourEntry{}
	for _, e := range page {
		if status != "" && e.Status != status {
			continue
		}
		if e.Hidden && !p.IsStaff() {
			if caller == nil {
				r, err := s.member(ctx, p, p.ResidentID)
				if err != nil && !errors.Is(err, models.ErrNotFound) {
					return nil, "", err
				}
				caller = &r
			}
			if caller.ID == "" || !s.concerns(e, *caller) {
				continue
			}
		}
		out = append(out, e)
	}
	return out, next, nil
}

// MyEntries lists the entries naming the caller or their household, by
// id. It reads the two nominees' chains of numbered entries (the
// caller's and their household's) and the entries each nominee had
// before the chains existed (put on the nominee's list once at start-up),
// so it costs the caller's entries, not the community's history.
func (s *Service) MyEntries(ctx context.Context, p models.Principal) ([]models.HonourEntry, error) {
	r, err := s.member(ctx, p, p.ResidentID)
	if err != nil {
		return nil, err
	}
	keys := []string{once.Nominee(r.ID, "")}
	if r.HouseholdID != "" {
		keys = append(keys, once.Nominee("", r.HouseholdID))
	}
	byID := map[string]models.HonourEntry{}
	for _, key := range keys {
		chain, err := s.chainEntries(ctx, p.CommunityID, key)
		if err != nil {
			return nil, err
		}
		old, err := s.store.NomineeEntriesStoredBefore(ctx, p.CommunityID, key)
		if err != nil {
			return nil, err
		}
		for _, e := range append(chain, old...) {
			if e.CommunityID == p.CommunityID && s.concerns(e, r) {
				byID[e.ID] = e
			}
		}
	}
	out := make([]models.HonourEntry, 0, len(byID))
	for _, e := range byID {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b models.HonourEntry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// chainEntries reads the chain of numbered entries of one nominee (key as
// currentKey gives it) in the community, 1, 2, 3 … up to the first
// number not taken: the chain has no gaps, because a number is taken only
// after the one before it (insertNomination).
func (s *Service) chainEntries(ctx context.Context, communityID, key string) ([]models.HonourEntry, error) {
	var out []models.HonourEntry
	for n := 1; ; n++ {
		e, err := s.store.HonourEntry(ctx, nominationID(communityID, key, n))
		if errors.Is(err, models.ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

// concerns reports whether the entry names r or r's household.
func (s *Service) concerns(e models.HonourEntry, r models.Resident) bool {
	if e.ResidentID != "" {
		return e.ResidentID == r.ID
	}
	return e.HouseholdID != "" && e.HouseholdID == r.HouseholdID
}

// Object lodges the caller's objection to a nomination in notice, one per
// resident and entry.
func (s *Service) Object(ctx context.Context, p models.Principal, entryID, reason string) (models.Objection, error) {
	e, err := s.Entry(ctx, p, entryID)
	if err != nil {
		return models.Objection{}, fmt.Errorf("object: %w", err)
	}
	if reason, err = models.CleanText("reason", reason, 500); err != nil {
		return models.Objection{}, err
	}
	at := s.stamp()
	if e.Status != models.HonourNotice || !at.Before(e.NoticeEnds) {
		return models.Objection{}, models.ErrConflict.Withf("这条提名的公示期已结束。", "the public notice of this nomination has ended")
	}
	o := models.Objection{
		ID:          community.DerivedID(e.ID, p.ResidentID),
		EntryID:     e.ID,
		CommunityID: e.CommunityID,
		ResidentID:  p.ResidentID,
		Reason:      reason,
		At:          at,
		Status:      models.ObjectionPending,
	}
	err = s.store.InsertObjection(ctx, o)
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return models.Objection{}, fmt.Errorf("object: %w", err)
	}
	// The nominee hears of it (urgent: the notice period runs), once per
	// objection; a repeat after a crash before this notifies then.
	if e.ResidentID != "" {
		s.notify.Notify(ctx, models.Notice{
			Kind:        models.NoticeObjectionFiled,
			EventID:     o.ID,
			Recipient:   e.ResidentID,
			CommunityID: e.CommunityID,
			Args:        map[string]string{"reason": reason},
			Link:        "/honour",
		})
	}
	if err != nil {
		return models.Objection{}, models.ErrAlreadyExists.Withf("您已对这条提名提出过异议。", "you have objected to this nomination already")
	}
	return o, nil
}

// Objections is one page of the objections to an entry (staff), the
// latest first, and the next page's cursor ("" at the end).
func (s *Service) Objections(ctx context.Context, p models.Principal, entryID, cursor string, limit int) ([]models.Objection, string, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, "", err
	}
	e, err := s.Entry(ctx, p, entryID)
	if err != nil {
		return nil, "", err
	}
	found, next, err := s.store.EntryObjections(ctx, e.ID, cursor, community.PageLimit(limit))
	if err != nil {
		return nil, "", err
	}
	for i := range found {
		if found[i], err = s.settledObjection(ctx, found[i]); err != nil {
			return nil, "", err
		}
	}
	return found, next, nil
}

// settledObjection mends the cached status from the ruling event, which a
// crash may have left unsaved.
func (s *Service) settledObjection(ctx context.Context, o models.Objection) (models.Objection, error) {
	if o.Status != models.ObjectionPending {
		return o, nil
	}
	ev, err := s.store.HonourEvent(ctx, o.ID+":ruled")
	if errors.Is(err, models.ErrNotFound) {
		return o, nil
	}
	if err != nil {
		return o, err
	}
	o.Status, o.RuledBy, o.RuledAt, o.Ruling = models.ObjectionStatus(ev.Kind), ev.By, ev.At, ev.Reason
	return o, s.store.SaveObjection(ctx, o)
}

// RuleObjection upholds or dismisses an objection (staff), once. An upheld
// objection keeps the nomination off the roll.
func (s *Service) RuleObjection(ctx context.Context, p models.Principal, objectionID string, uphold bool, ruling string) (models.Objection, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Objection{}, err
	}
	o, err := s.store.Objection(ctx, objectionID)
	if err == nil && o.CommunityID != p.CommunityID {
		err = models.ErrNotFound
	}
	if err != nil {
		return models.Objection{}, fmt.Errorf("rule objection: %w", err)
	}
	if ruling, err = models.CleanText("ruling", ruling, 500); err != nil {
		return models.Objection{}, err
	}
	kind := models.ObjectionDismissed
	if uphold {
		kind = models.ObjectionUpheld
	}
	ev, first, err := s.event(ctx, models.HonourEvent{
		ID:          o.ID + ":ruled",
		CommunityID: o.CommunityID,
		Subject:     o.ID,
		Kind:        string(kind),
		By:          p.ResidentID,
		Reason:      ruling,
		At:          s.stamp(),
	})
	if err != nil {
		return models.Objection{}, fmt.Errorf("rule objection: %w", err)
	}
	if !first && ev.Kind != string(kind) {
		return models.Objection{}, models.ErrConflict.Withf("这条异议已经%[2]s。", "this objection was %[1]s already", ev.Kind, objectionRulingZh[ev.Kind])
	}
	o.Status = models.ObjectionPending
	if o, err = s.settledObjection(ctx, o); err != nil {
		return o, fmt.Errorf("rule objection: %w", err)
	}
	if uphold {
		e, err := s.store.HonourEntry(ctx, o.EntryID)
		if err != nil {
			return o, fmt.Errorf("rule objection: %w", err)
		}
		// Also when it was listed in the meantime: reject withdraws it.
		if e.Status == models.HonourNotice || e.Status == models.HonourListed {
			if err := s.reject(ctx, e, ev); err != nil {
				return o, fmt.Errorf("rule objection: %w", err)
			}
		}
	}
	return o, nil
}

// reject keeps a nomination off the roll after an upheld objection. If it
// was listed first (an objection lodged at the end of the notice and
// ruled after the listing), the listing is withdrawn and its points taken
// back. list checks for the rejection after it records the listing, and
// reject checks for the listing after it records the rejection, so
// whichever of the two comes second sees the other.
func (s *Service) reject(ctx context.Context, e models.HonourEntry, because models.HonourEvent) error {
	ev, _, err := s.event(ctx, models.HonourEvent{
		ID:          e.ID + ":rejected",
		CommunityID: e.CommunityID,
		Subject:     e.ID,
		Kind:        "rejected",
		By:          because.By,
		Reason:      because.Reason,
		At:          because.At,
	})
	if err != nil {
		return err
	}
	listed, err := s.store.HonourEvent(ctx, e.ID+":listed")
	if err == nil {
		return s.withdraw(ctx, e, listed, ev)
	}
	if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	e.Status, e.EndedAt, e.EndReason = models.HonourRejected, ev.At, ev.Reason
	return s.store.SaveHonourEntry(ctx, e)
}

// withdraw takes a listing down because an objection to it was upheld:
// the keyed withdrawal event first, then each nominee's listing points are
// taken back once (the listing's own keyed posting is replayed, so a
// listing still at work or one that died before paying is completed
// before it is reversed, never paid afterwards), then the caches. Every
// step is keyed, so a repeat (the ruling sent again, or the expiry job)
// finishes what a crash left.
func (s *Service) withdraw(ctx context.Context, e models.HonourEntry, listed, because models.HonourEvent) error {
	ev, _, err := s.event(ctx, models.HonourEvent{
		ID:          once.EntryWithdrawn(e.ID),
		CommunityID: e.CommunityID,
		Subject:     e.ID,
		Kind:        "withdrawn",
		By:          because.By,
		Reason:      because.Reason,
		At:          because.At,
	})
	if err != nil {
		return err
	}
	policy, err := s.policies.At(ctx, e.CommunityID, listed.At)
	if err != nil {
		return err
	}
	if policy.ListingPoints > 0 {
		people, err := s.nominees(ctx, e)
		if err != nil {
			return err
		}
		for _, r := range people {
			if err := s.takeBackListing(ctx, e, r, policy); err != nil {
				return err
			}
		}
	}
	cur, err := s.store.HonourCurrent(ctx, currentKey(e))
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if cur.EntryID == e.ID && (cur.EndedAt.IsZero() || cur.EndedAt.After(ev.At)) {
		cur.EndedAt = ev.At
		if err := s.store.SaveHonourCurrent(ctx, cur); err != nil {
			return err
		}
	}
	e.Status, e.EndedAt, e.EndReason, e.AppealOpen = models.HonourRevoked, ev.At, "异议成立: "+ev.Reason, false
	if e.ListedAt.IsZero() {
		e.ListedAt = listed.At
	}
	return s.store.SaveHonourEntry(ctx, e)
}

// listingPosting is the keyed credit of r's listing points for e.
func listingPosting(e models.HonourEntry, r models.Resident, policy models.Policy) ledger.Posting {
	return ledger.Posting{
		OpID:          once.ListingCredit(e.ID, r.ID),
		Hash:          "honour-listing",
		Account:       models.AccountOf(r.ID, models.AssetPoints),
		CommunityID:   e.CommunityID,
		Delta:         int64(policy.ListingPoints),
		Kind:          models.KindHonour,
		Ref:           e.ID,
		Reason:        "红榜: " + e.Category,
		PolicyVersion: policy.Version,
		Actor:         "system",
	}
}

// takeBackListing reverses r's listing credit for e, once. Points already
// spent stay spent: what the balance does not cover is not taken.
func (s *Service) takeBackListing(ctx context.Context, e models.HonourEntry, r models.Resident, policy models.Policy) error {
	credit, err := s.ledger.Post(ctx, listingPosting(e, r, policy))
	if err != nil {
		return err
	}
	_, err = s.ledger.Reverse(ctx, credit.Account, credit.Seq, "红榜异议成立, 撤销上榜积分", "system")
	if !errors.Is(err, models.ErrInsufficientPoints) {
		return err
	}
	bal, err := s.ledger.Balance(ctx, credit.Account)
	if err != nil {
		return err
	}
	amount := min(credit.Delta, bal.Amount)
	if amount <= 0 {
		return nil
	}
	_, err = s.ledger.Post(ctx, ledger.Posting{
		OpID:        once.ListingWithdrawal(e.ID, r.ID),
		Hash:        "honour-withdraw",
		Account:     credit.Account,
		CommunityID: e.CommunityID,
		Delta:       -amount,
		Kind:        models.KindReversal,
		Ref:         credit.ID(),
		Reason:      "红榜异议成立, 撤销上榜积分 (余额所及部分)",
		Actor:       "system",
	})
	if errors.Is(err, models.ErrInsufficientPoints) {
		return nil
	}
	return err
}

// ListDue ends the public notice of every nomination whose notice is over
// at at: one with an upheld objection is rejected, one with an objection
// still pending waits for the ruling, any other is listed. Safe to repeat:
// the listing is a keyed event and its points a keyed posting. The
// nominations are read from each community's list of nominations down to
// its floor (openEntries), so a run costs what is in notice, not the
// history; a listing a crash cut short keeps its entry's status in
// notice, so it stays above the floor and the next run finishes it.
func (s *Service) ListDue(ctx context.Context, at time.Time) (listed, rejected, blocked int, err error) {
	due, err := s.openEntries(ctx, models.HonourListNotice, models.HonourNotice, at)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, e := range due {
		if at.Before(e.NoticeEnds) {
			continue
		}
		objections, err := s.store.Objections(ctx, e.ID)
		if err != nil {
			return listed, rejected, blocked, err
		}
		pending, upheld := false, false
		for _, o := range objections {
			if o, err = s.settledObjection(ctx, o); err != nil {
				return listed, rejected, blocked, err
			}
			pending = pending || o.Status == models.ObjectionPending
			upheld = upheld || o.Status == models.ObjectionUpheld
		}
		switch {
		case upheld:
			ev, err := s.store.HonourEvent(ctx, e.ID+":rejected")
			if errors.Is(err, models.ErrNotFound) {
				ev = models.HonourEvent{
					By:     "system",
					Reason: "异议成立",
					At:     s.stamp(),
				}
			} else if err != nil {
				return listed, rejected, blocked, err
			}
			if err := s.reject(ctx, e, ev); err != nil {
				return listed, rejected, blocked, err
			}
			rejected++
		case pending:
			blocked++
		default:
			if err := s.list(ctx, e); err != nil {
				return listed, rejected, blocked, fmt.Errorf("list %s: %w", e.ID, err)
			}
			listed++
		}
	}
	return listed, rejected, blocked, nil
}

// openEntries is every entry of every community in status, read from the
// community's list view (the nominations in notice, or the board) page by
// page down to the list's saved floor, below which no entry can be in
// status any more (store HonourEntriesPage; the first page moves the floor
// up over the entries that left status for good). Its cost is the open
// entries and at most a page of history per community, not every entry.
func (s *Service) openEntries(ctx context.Context, view models.HonourList, status models.HonourStatus, at time.Time) ([]models.HonourEntry, error) {
	const pageSize = 200
	// The floors move by the service's clock, never by a later at: an
	// entry revoked before its expiry may be restored by an appeal until
	// the expiry, so it is final only once the expiry has really passed.
	floorAt := at
	if now := s.now(); now.Before(floorAt) {
		floorAt = now
	}
	var out []models.HonourEntry
	err := community.Each(ctx, s.store, func(c models.Community) error {
		cursor := ""
		for {
			page, next, err := s.store.HonourEntriesPage(ctx, c.ID, view, cursor, pageSize, floorAt)
			if err != nil {
				return err
			}
			for _, e := range page {
				if e.Status == status {
					out = append(out, e)
				}
			}
			if next == "" {
				return nil
			}
			cursor = next
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// nominees are the residents a listing credits: the resident, or every
// resident of the household.
func (s *Service) nominees(ctx context.Context, e models.HonourEntry) ([]models.Resident, error) {
	if e.ResidentID != "" {
		r, err := s.store.Resident(ctx, e.ResidentID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, nil
		}
		return []models.Resident{r}, err
	}
	return s.store.HouseholdResidents(ctx, e.CommunityID, e.HouseholdID)
}

// currentOf is listing e as its key's current listing.
func currentOf(e models.HonourEntry) models.HonourCurrent {
	return models.HonourCurrent{
		Key:         currentKey(e),
		CommunityID: e.CommunityID,
		EntryID:     e.ID,
		ListedAt:    e.ListedAt,
		ExpiresAt:   e.ExpiresAt,
	}
}

// currentKey is the key of entry e's nominee (resident or household) in honour_current.
func currentKey(e models.HonourEntry) string { return once.Nominee(e.ResidentID, e.HouseholdID) }

// list puts e on the roll once: the keyed event decides, the points are a
// keyed posting, and the caches are rewritten on every repeat.
func (s *Service) list(ctx context.Context, e models.HonourEntry) error {
	ev, _, err := s.event(ctx, models.HonourEvent{
		ID:          e.ID + ":listed",
		CommunityID: e.CommunityID,
		Subject:     e.ID,
		Kind:        "listed",
		By:          "system",
		At:          s.stamp(),
	})
	if err != nil {
		return err
	}
	policy, err := s.policies.At(ctx, e.CommunityID, ev.At)
	if err != nil {
		return err
	}
	e.Status, e.ListedAt = models.HonourListed, ev.At
	e.ExpiresAt = ev.At.Add(time.Duration(policy.ListingDays) * day)
	if policy.ListingPoints > 0 {
		people, err := s.nominees(ctx, e)
		if err != nil {
			return err
		}
		for _, r := range people {
			if _, err := s.ledger.Post(ctx, listingPosting(e, r, policy)); err != nil {
				return err
			}
		}
	}
	// An objection upheld while this listing was at work: withdraw it.
	if rejected, err := s.store.HonourEvent(ctx, e.ID+":rejected"); err == nil {
		return s.withdraw(ctx, e, ev, rejected)
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	// Each nominee hears of the listing once (the event's id), whoever
	// finishes it: the listing job resumes a listing a crash cut short.
	people, err := s.nominees(ctx, e)
	if err != nil {
		return err
	}
	for _, r := range people {
		s.notify.Notify(ctx, models.Notice{
			Kind:        models.NoticeListed,
			EventID:     ev.ID,
			Recipient:   r.ID,
			CommunityID: e.CommunityID,
			Args:        map[string]string{"points": strconv.FormatInt(int64(policy.ListingPoints), 10)},
			Link:        "/honour",
		})
	}
	cur, err := s.store.HonourCurrent(ctx, currentKey(e))
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	// Another listing that lasts longer stays the current one.
	if cur.EntryID == "" || cur.EntryID == e.ID || !cur.ActiveAt(ev.At) || cur.ExpiresAt.Before(e.ExpiresAt) {
		err := s.store.SaveHonourCurrent(ctx, currentOf(e))
		if err != nil {
			return err
		}
	}
	// On the board list before the status says listed: a listing cut
	// short before this is repeated by the job (the status is still
	// notice), which lists it then.
	if err := s.store.ListHonourOnBoard(ctx, e.ID, s.stamp()); err != nil {
		return err
	}
	if err := s.store.SaveHonourEntry(ctx, e); err != nil {
		return err
	}
	// A withdrawal that ran between the check above and the caches' save
	// has its caches written again, so the last word is the withdrawal's.
	if withdrawn, err := s.store.HonourEvent(ctx, once.EntryWithdrawn(e.ID)); err == nil {
		return s.withdraw(ctx, e, ev, withdrawn)
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	return nil
}

// ExpireDue marks listings whose period is over at at as expired. The
// eligibility has ended already: HonourListed compares with ExpiresAt.
// The listings are read from each community's board list down to its
// floor (openEntries), so a run costs what is listed, not the history; an
// expiry or withdrawal a crash cut short keeps its entry's status listed,
// so it stays above the floor and the next run finishes it.
func (s *Service) ExpireDue(ctx context.Context, at time.Time) (int, error) {
	listed, err := s.openEntries(ctx, models.HonourListBoard, models.HonourListed, at)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range listed {
		// A withdrawal cut short by a crash is finished here.
		if w, err := s.store.HonourEvent(ctx, once.EntryWithdrawn(e.ID)); err == nil {
			listedEv, err := s.store.HonourEvent(ctx, e.ID+":listed")
			if err != nil {
				return n, err
			}
			if err := s.withdraw(ctx, e, listedEv, w); err != nil {
				return n, err
			}
			continue
		} else if !errors.Is(err, models.ErrNotFound) {
			return n, err
		}
		if e.ExpiresAt.IsZero() || at.Before(e.ExpiresAt) {
			continue
		}
		if _, _, err := s.event(ctx, models.HonourEvent{
			ID:          e.ID + ":expired",
			CommunityID: e.CommunityID,
			Subject:     e.ID,
			Kind:        "expired",
			By:          "system",
			At:          e.ExpiresAt,
		}); err != nil {
			return n, err
		}
		e.Status = models.HonourExpired
		if err := s.store.SaveHonourEntry(ctx, e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Revoke takes a listing down (摘牌, staff) with a reason. Eligibility ends
// at once; the listing points stay with the resident.
func (s *Service) Revoke(ctx context.Context, p models.Principal, entryID, reason string) (models.HonourEntry, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.HonourEntry{}, err
	}
	e, err := s.Entry(ctx, p, entryID)
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("revoke: %w", err)
	}
	if reason, err = models.CleanText("reason", reason, 500); err != nil {
		return models.HonourEntry{}, err
	}
	n := e.Restored + 1
	if e.Status != models.HonourListed && !(e.Status == models.HonourRevoked && e.Revocations == n) {
		return models.HonourEntry{}, models.ErrConflict.Withf("只有已上红榜的条目才能撤销。", "only a listed entry can be revoked")
	}
	ev, _, err := s.event(ctx, models.HonourEvent{
		ID:          once.EntryRevoked(e.ID, n),
		CommunityID: e.CommunityID,
		Subject:     e.ID,
		Kind:        "revoked",
		By:          p.ResidentID,
		Reason:      reason,
		At:          s.stamp(),
	})
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("revoke: %w", err)
	}
	cur, err := s.store.HonourCurrent(ctx, currentKey(e))
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return models.HonourEntry{}, fmt.Errorf("revoke: %w", err)
	}
	if cur.EntryID == e.ID {
		cur.EndedAt = ev.At
		if err := s.store.SaveHonourCurrent(ctx, cur); err != nil {
			return models.HonourEntry{}, fmt.Errorf("revoke: %w", err)
		}
	}
	e.Status, e.EndedAt, e.EndReason, e.Revocations, e.AppealOpen = models.HonourRevoked, ev.At, ev.Reason, n, false
	if err := s.store.SaveHonourEntry(ctx, e); err != nil {
		return models.HonourEntry{}, fmt.Errorf("revoke: %w", err)
	}
	if e.ResidentID != "" {
		s.notify.Notify(ctx, models.Notice{
			Kind:        models.NoticeRevoked,
			EventID:     ev.ID,
			Recipient:   e.ResidentID,
			CommunityID: e.CommunityID,
			Args:        map[string]string{"reason": ev.Reason},
			Link:        "/honour",
		})
	}
	return e, nil
}

// Appeal lets the listed person (or a member of the listed household)
// appeal the latest revocation, once per revocation.
func (s *Service) Appeal(ctx context.Context, p models.Principal, entryID, reason string) (models.HonourEntry, error) {
	e, err := s.Entry(ctx, p, entryID)
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("appeal: %w", err)
	}
	r, err := s.member(ctx, p, p.ResidentID)
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("appeal: %w", err)
	}
	if !s.concerns(e, r) {
		return models.HonourEntry{}, models.ErrForbidden
	}
	if reason, err = models.CleanText("reason", reason, 500); err != nil {
		return models.HonourEntry{}, err
	}
	if e.Status != models.HonourRevoked {
		return models.HonourEntry{}, models.ErrConflict.Withf("只有被撤销的上榜才能申诉。", "only a revoked listing can be appealed")
	}
	if e.Revocations == 0 {
		// Withdrawn after an upheld objection: the ruling is the decision.
		return models.HonourEntry{}, models.ErrConflict.Withf("异议成立后撤下的上榜不能申诉。", "a listing withdrawn after an upheld objection cannot be appealed")
	}
	_, first, err := s.event(ctx, models.HonourEvent{
		ID:          once.EntryAppeal(e.ID, e.Revocations),
		CommunityID: e.CommunityID,
		Subject:     e.ID,
		Kind:        "appeal",
		By:          p.ResidentID,
		Reason:      reason,
		At:          s.stamp(),
	})
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("appeal: %w", err)
	}
	if !first {
		return models.HonourEntry{}, models.ErrAlreadyExists.Withf("这次撤销已经申诉过了。", "this revocation has been appealed already")
	}
	e.AppealOpen = true
	return e, s.store.SaveHonourEntry(ctx, e)
}

// DecideAppeal rules on the open appeal (staff). In the appellant's favour
// the listing is restored until its original expiry, and with it the
// eligibility for honour-roll rewards.
func (s *Service) DecideAppeal(ctx context.Context, p models.Principal, entryID string, restore bool, note string) (models.HonourEntry, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.HonourEntry{}, err
	}
	e, err := s.Entry(ctx, p, entryID)
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("decide appeal: %w", err)
	}
	if note, err = models.CleanText("note", note, 500); err != nil {
		return models.HonourEntry{}, err
	}
	n := e.Revocations
	if _, err := s.store.HonourEvent(ctx, once.EntryAppeal(e.ID, n)); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return models.HonourEntry{}, models.ErrConflict.Withf("没有待处理的申诉。", "there is no appeal to decide")
		}
		return models.HonourEntry{}, fmt.Errorf("decide appeal: %w", err)
	}
	kind := "appeal_dismissed"
	if restore {
		kind = "appeal_upheld"
		// A nominee nominated again since the revocation holds that open
		// nomination: restoring this one would give them two.
		if other, err := s.otherOpenNomination(ctx, e); err != nil {
			return models.HonourEntry{}, fmt.Errorf("decide appeal: %w", err)
		} else if other != nil {
			return models.HonourEntry{}, nominationOpen(*other)
		}
	}
	ev, first, err := s.event(ctx, models.HonourEvent{
		ID:          once.EntryAppealRuled(e.ID, n),
		CommunityID: e.CommunityID,
		Subject:     e.ID,
		Kind:        kind,
		By:          p.ResidentID,
		Reason:      note,
		At:          s.stamp(),
	})
	if err != nil {
		return models.HonourEntry{}, fmt.Errorf("decide appeal: %w", err)
	}
	if !first && ev.Kind != kind {
		return models.HonourEntry{}, models.ErrConflict.Withf("这条申诉已经处理过了。", "this appeal was decided already")
	}
	e.AppealOpen = false
	if restore && e.Restored < n {
		cur, err := s.store.HonourCurrent(ctx, currentKey(e))
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return models.HonourEntry{}, fmt.Errorf("decide appeal: %w", err)
		}
		if cur.EntryID == "" || cur.EntryID == e.ID || !cur.ActiveAt(ev.At) {
			err := s.store.SaveHonourCurrent(ctx, currentOf(e))
			if err != nil {
				return models.HonourEntry{}, fmt.Errorf("decide appeal: %w", err)
			}
		}
		e.Restored, e.EndedAt, e.EndReason = n, time.Time{}, ""
		e.Status = models.HonourListed
		if !ev.At.Before(e.ExpiresAt) {
			e.Status = models.HonourExpired
		}
	}
	return e, s.store.SaveHonourEntry(ctx, e)
}

// SetHidden lets the listed person choose whether the public board shows
// them; they stay listed either way.
func (s *Service) SetHidden(ctx context.Context, p models.Principal, entryID string, hidden bool) (models.HonourEntry, error) {
	e, err := s.Entry(ctx, p, entryID)
	if err != nil {
		return models.HonourEntry{}, err
	}
	r, err := s.member(ctx, p, p.ResidentID)
	if err != nil {
		return models.HonourEntry{}, err
	}
	if !s.concerns(e, r) {
		return models.HonourEntry{}, models.ErrForbidden
	}
	e.Hidden = hidden
	return e, s.store.SaveHonourEntry(ctx, e)
}

// BoardRow is one line of the public board.
type BoardRow struct {
	EntryID      string
	Name         string // masked: 张*
	BuildingName string
	Category     string
	ListedSince  time.Time
}

// Board is one page of the community's current honour roll with masked
// names, leaving out whoever chose not to be shown, the latest listed
// first, and the next page's cursor ("" at the end). It reads the board
// list down to its floor, below which every listing has ended
// (docs/PERFORMANCE.md, "Lists"), so a page may hold fewer than limit
// rows and still have a next.
func (s *Service) Board(ctx context.Context, p models.Principal, cursor string, limit int) ([]BoardRow, string, error) {
	if p.CommunityID == "" {
		return nil, "", models.ErrForbidden
	}
	at := s.now()
	entries, next, err := s.store.HonourEntriesPage(ctx, p.CommunityID, models.HonourListBoard, cursor, community.PageLimit(limit), at)
	if err != nil {
		return nil, "", err
	}
	out := []BoardRow{}
	for _, e := range entries {
		if e.Status != models.HonourListed || e.Hidden || !at.Before(e.ExpiresAt) {
			continue
		}
		row := BoardRow{
			EntryID:     e.ID,
			Category:    e.Category,
			ListedSince: e.ListedAt,
		}
		people, err := s.nominees(ctx, e)
		if err != nil {
			return nil, "", err
		}
		if len(people) > 0 {
			row.Name = models.MaskName(people[0].Name)
		}
		if e.ResidentID == "" {
			row.Name += "家"
		}
		if e.BuildingID != "" {
			row.BuildingName = s.buildingName(ctx, e.BuildingID)
		}
		out = append(out, row)
	}
	return out, next, nil
}

// HonourListed reports whether the resident is on the honour roll at t
// (listed, not expired, not revoked), in person or through a listed
// household. At most three _id reads.
func (s *Service) HonourListed(ctx context.Context, communityID, residentID string, at time.Time) (bool, error) {
	cur, err := s.store.HonourCurrent(ctx, once.Nominee(residentID, ""))
	switch {
	case err == nil && cur.CommunityID == communityID && cur.ActiveAt(at):
		return true, nil
	case err != nil && !errors.Is(err, models.ErrNotFound):
		return false, err
	}
	r, err := s.store.Resident(ctx, residentID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if r.CommunityID != communityID || r.HouseholdID == "" {
		return false, nil
	}
	cur, err = s.store.HonourCurrent(ctx, once.Nominee("", r.HouseholdID))
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return cur.CommunityID == communityID && cur.ActiveAt(at), nil
}
