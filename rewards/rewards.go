package rewards

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/linli-community/linli/cache"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/qrtoken"
	"github.com/linli-community/linli/ratelimit"
	"golang.org/x/sync/singleflight"
)

// Eligibility answers the honour-roll, star-household and building-head
// questions a reward may ask. The honour feature provides it.
type Eligibility interface {
	HonourListed(ctx context.Context, communityID, residentID string, at time.Time) (bool, error)
	StarLevel(ctx context.Context, communityID, householdID string, at time.Time) (int, error) // 0 none, 1 一星户, 2 二星户, 3 示范户
	ActiveHead(ctx context.Context, communityID, residentID string, at time.Time) (bool, error)
}

// Store keeps the catalogue, redemptions and the keyed records that
// decide them. Inserts return models.ErrConflict on a duplicate _id; reads
// by id return models.ErrNotFound.
type Store interface {
	InsertReward(ctx context.Context, r models.Reward) error
	Reward(ctx context.Context, id string) (models.Reward, error)
	// ReplaceReward returns models.ErrNotFound if the reward is missing.
	ReplaceReward(ctx context.Context, r models.Reward) error
	Rewards(ctx context.Context, communityID, after string, limit int) ([]models.Reward, error)

	// InsertRedemption stores r with the hash of the request that opened it.
	InsertRedemption(ctx context.Context, r models.Redemption, hash string) error
	Redemption(ctx context.Context, id string) (models.Redemption, string, error)
	// SaveRedemptionState caches the status; models.ErrNotFound if missing.
	SaveRedemptionState(ctx context.Context, r models.Redemption) error
	// ResidentRedemptions is a page of a resident's redemptions, newest
	// first, below cursor ("" first), and the next page's cursor ("" at
	// the end); models.ErrBadCursor for a cursor it did not give out.
	ResidentRedemptions(ctx context.Context, residentID, cursor string, limit int) ([]models.Redemption, string, error)
	// DayRedemptions is a page of the redemptions made in [from, to) of a
	// partner (or of the community, partnerID ""), newest first, as
	// ResidentRedemptions pages.
	DayRedemptions(ctx context.Context, communityID, partnerID string, from, to time.Time, cursor string, limit int) ([]models.Redemption, string, error)
	// EachDayRedemption streams the community's redemptions made in
	// [from, to).
	EachDayRedemption(ctx context.Context, communityID string, from, to time.Time, fn func(models.Redemption) error) error
	// OpenRedemptionsSince is when the oldest redemption that may still be
	// open was made, as saved by SaveOpenRedemptionsSince (ok false: never).
	OpenRedemptionsSince(ctx context.Context, communityID string) (time.Time, bool, error)
	SaveOpenRedemptionsSince(ctx context.Context, communityID string, since time.Time) error

	// InsertSlot returns models.ErrConflict if the slot is taken.
	InsertSlot(ctx context.Context, id, holder string, at time.Time) error
	SlotHolder(ctx context.Context, id string) (string, error)
	// InsertCounterCode records a merchant QR token's short code (id is
	// community:code); models.ErrConflict if the code is taken.
	InsertCounterCode(ctx context.Context, id, token string, expires time.Time) error
	// CounterCode returns the token of short code id, or models.ErrNotFound.
	CounterCode(ctx context.Context, id string) (string, error)
	// InsertRedemptionMark returns models.ErrConflict if the mark exists.
	InsertRedemptionMark(ctx context.Context, m models.RedemptionMark) error
	// InsertReopeningMark is InsertRedemptionMark for a mark that makes a
	// decided redemption of the community open again (a void), which
	// EachReopened then finds.
	InsertReopeningMark(ctx context.Context, communityID string, m models.RedemptionMark) error
	// EachReopened streams the community's marks that made a decided
	// redemption open again at from <= At < to.
	EachReopened(ctx context.Context, communityID string, from, to time.Time, fn func(models.RedemptionMark) error) error
	RedemptionMark(ctx context.Context, id string) (models.RedemptionMark, error)

	// RecordSettlementEvent is safe to repeat: an existing ID is kept.
	RecordSettlementEvent(ctx context.Context, e models.SettlementEvent) error

	Partner(ctx context.Context, id string) (models.Partner, error)
	Household(ctx context.Context, id string) (models.Household, error)
	Communities(ctx context.Context, after string, limit int) ([]models.Community, error)
	Community(ctx context.Context, id string) (models.Community, error)

	InsertFilialPlate(ctx context.Context, p models.FilialPlate) error
	FilialPlate(ctx context.Context, communityID, plate string) (models.FilialPlate, error)
	InsertFilialBooking(ctx context.Context, b models.FilialBooking) error
	FilialBooking(ctx context.Context, id string) (models.FilialBooking, error)
	SetFilialBookingBay(ctx context.Context, id string, bay int) error
	// FilialPlates lists the plates registered for a parent's visits.
	FilialPlates(ctx context.Context, communityID, parentID string) ([]models.FilialPlate, error)
	// FilialBookings lists a parent's bookings from day fromDay on.
	FilialBookings(ctx context.Context, communityID, parentID, fromDay string, limit int) ([]models.FilialBooking, error)
	InsertGateEvent(ctx context.Context, e models.GateEvent) error
	GateEvent(ctx context.Context, communityID, eventID string) (models.GateEvent, error)
	// GateEvents returns a community's gate events in [from, to), earliest first.
	GateEvents(ctx context.Context, communityID string, from, to time.Time, limit int) ([]models.GateEvent, error)
	SetLastEntry(ctx context.Context, communityID, plate, eventID string, at time.Time) error
	LastEntry(ctx context.Context, communityID, plate string) (string, time.Time, error)
}

// Service runs the catalogue, redemptions, partner credits, the merchant
// QR scan and filial-visit parking.
type Service struct {
	store    Store
	ledger   *ledger.Ledger
	people   community.People
	zones    *community.Zones
	policies community.PolicySource
	elig     Eligibility
	qrTokens qrtoken.Counter // signs and reads merchant QR tokens
	newID    func() string
	now      func() time.Time
	notify   community.Notifier

	qrLimiter *ratelimit.Limiter // QR tokens issued per resident per minute

	flight singleflight.Group

	// counter takes and gives back the units of stock and limits.
	counter *once.Counter

	// catalogue is the rewards this replica read or wrote lately, so
	// redeem and scan need no read of their reward.
	catalogue *cache.Cache[string, models.Reward]

	// marks are the redemption marks this replica found. A mark is
	// inserted once and never changed, so a remembered one is always
	// right; only "there is no such mark" is asked of the store every
	// time. Listing redemptions whose saved status the hot paths left
	// behind follows their marks on every read; remembered, a mark costs
	// one lookup per replica.
	marks *lru.Cache[string, models.RedemptionMark]
}

// rememberedMarks bounds the marks remembered: a few MiB, more than the
// redemptions the screens of a busy day list.
const rememberedMarks = 20_000

// catalogueTTL is how long a reward read is trusted. A reward changed on
// another replica is redeemed on its old terms for at most this long, as a
// changed policy is (Policies); the replica that changes it knows at once.
const catalogueTTL = 10 * time.Second

// catalogueSize bounds how many rewards are remembered, more than a
// community's catalogue; past it the least recently used is read again.
const catalogueSize = 1000

// New returns the rewards service. d.QRSecret signs merchant QR
// tokens; d.Eligibility answers honour-roll, star and building-head questions.
func New(d Deps) *Service {
	community.MustNotify("rewards", d.Notify)
	svc := &Service{
		store:     d.Store,
		ledger:    d.Ledger,
		people:    d.People,
		zones:     community.NewZones(d.People),
		policies:  d.Policies,
		elig:      d.Eligibility,
		qrTokens:  qrtoken.NewCounter(d.QRSecret),
		newID:     d.NewID,
		now:       d.Now,
		qrLimiter: ratelimit.New(QRPerMinute, time.Minute, qrResidents, d.Now),
		catalogue: cache.New[string, models.Reward](catalogueTTL, catalogueSize, d.Now),
		notify:    d.Notify,
	}
	svc.marks, _ = lru.New[string, models.RedemptionMark](rememberedMarks) // fails only for a size below 1
	svc.counter = once.NewCounter(d.Store, svc.stamp)
	return svc
}

// Deps are what the rewards service is built on, by name.
type Deps struct {
	Store       Store
	Ledger      *ledger.Ledger
	People      community.People
	Policies    community.PolicySource
	Eligibility Eligibility // honour roll, star level, building head (package honour)
	QRSecret    []byte      // signs merchant QR tokens
	NewID       func() string
	Now         func() time.Time
	Notify      community.Notifier // tells residents their redemptions were fulfilled; required (community.NoNotifier{} tells no one)
}

// rewardByID is reward id, from the catalogue or the store.
func (s *Service) rewardByID(ctx context.Context, id string) (models.Reward, error) {
	if r, ok := s.catalogue.Get(id); ok {
		return r, nil
	}
	r, err := s.store.Reward(ctx, id)
	if err == nil {
		s.catalogue.Put(id, r)
	}
	return r, err
}

// mark is redemption mark id, remembered or from the store
// (models.ErrNotFound while there is none).
func (s *Service) mark(ctx context.Context, id string) (models.RedemptionMark, error) {
	if m, ok := s.marks.Get(id); ok {
		return m, nil
	}
	m, err := s.store.RedemptionMark(ctx, id)
	if err == nil {
		s.marks.Add(id, m)
	}
	return m, err
}

// stamp returns the service's time now in UTC, to the millisecond the store keeps.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// location returns a community's time zone.
func (s *Service) location(ctx context.Context, communityID string) (*time.Location, error) {
	return s.zones.Location(ctx, communityID)
}

// --- the catalogue ---

// CreateReward adds an item to the caller's community's catalogue (staff).
// The honouring partner must be of the community and of the reward's kind.
func (s *Service) CreateReward(ctx context.Context, p models.Principal, in models.Reward, idem community.Idempotency) (models.Reward, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Reward{}, err
	}
	in.ID, in.CommunityID, in.CreatedBy, in.Created = community.CreatedID(idem, "reward", s.newID), p.CommunityID, p.ResidentID, s.stamp()
	if err := s.checkReward(ctx, in); err != nil {
		return models.Reward{}, err
	}
	err := s.store.InsertReward(ctx, in)
	if errors.Is(err, models.ErrConflict) {
		if prev, found, err := community.Repeated(ctx, idem, s.store.Reward, in.ID); found || err != nil {
			return prev, err
		}
	}
	if err != nil {
		return models.Reward{}, fmt.Errorf("create reward: %w", err)
	}
	s.catalogue.Put(in.ID, in)
	return in, nil
}

// UpdateReward replaces the terms of a reward (staff). Redemptions made
// already keep the terms they were made on.
func (s *Service) UpdateReward(ctx context.Context, p models.Principal, id string, in models.Reward) (models.Reward, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Reward{}, err
	}
	cur, err := s.reward(ctx, p, id)
	if err != nil {
		return models.Reward{}, err
	}
	in.ID, in.CommunityID, in.CreatedBy, in.Created = cur.ID, cur.CommunityID, cur.CreatedBy, cur.Created
	if err := s.checkReward(ctx, in); err != nil {
		return models.Reward{}, err
	}
	if err := s.store.ReplaceReward(ctx, in); err != nil {
		s.catalogue.Forget(in.ID) // it may have changed or not: read it next time
		return models.Reward{}, fmt.Errorf("update reward: %w", err)
	}
	s.catalogue.Put(in.ID, in)
	return in, nil
}

// checkReward refuses a reward whose terms are not valid, or whose partner is not of its
// community or not of its kind (ErrValidation).
func (s *Service) checkReward(ctx context.Context, r models.Reward) error {
	if err := r.Validate(); err != nil {
		return err
	}
	partner, err := s.store.Partner(ctx, r.PartnerID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && partner.CommunityID != r.CommunityID) {
		return models.ErrValidation.Withf("所填合作方（partner_id）不是本社区的合作方。", "partner_id is not a partner of this community")
	}
	if err != nil {
		return err
	}
	if partner.Kind != r.Kind.PartnerKind() {
		return models.ErrValidation.Withf("%[3]s类兑换须由%[4]s兑付，所选合作方类型不符。", "a %[1]s reward is honoured by a %[2]s partner",
			r.Kind, r.Kind.PartnerKind(), r.Kind.Zh(), r.Kind.PartnerKind().Zh())
	}
	return nil
}

// reward loads a reward of p's community; another community's is not found.
func (s *Service) reward(ctx context.Context, p models.Principal, id string) (models.Reward, error) {
	r, err := s.rewardByID(ctx, id)
	if err != nil {
		return models.Reward{}, err
	}
	if r.CommunityID != p.CommunityID {
		return models.Reward{}, models.ErrNotFound
	}
	return r, nil
}

// Reward returns one reward; residents see only active ones.
func (s *Service) Reward(ctx context.Context, p models.Principal, id string) (models.Reward, error) {
	r, err := s.reward(ctx, p, id)
	if err != nil {
		return models.Reward{}, err
	}
	if !p.IsStaff() && !r.ActiveAt(s.now()) {
		return models.Reward{}, models.ErrNotFound
	}
	return r, nil
}

// Rewards lists the catalogue: what is active now, or everything for staff
// who ask for all.
func (s *Service) Rewards(ctx context.Context, p models.Principal, all bool) ([]models.Reward, error) {
	if all && !p.IsStaff() {
		return nil, models.ErrForbidden
	}
	rs, err := s.store.Rewards(ctx, p.CommunityID, "", 0)
	if err != nil {
		return nil, err
	}
	out := []models.Reward{}
	now := s.now()
	for _, r := range rs {
		if all || r.ActiveAt(now) {
			out = append(out, r)
		}
	}
	return out, nil
}

// --- eligibility ---

// householdPlate is the car a parking reduction is for: the first plate
// res's household registered, or NOT_ELIGIBLE when it has none.
func (s *Service) householdPlate(ctx context.Context, res models.Resident) (string, error) {
	h, err := s.store.Household(ctx, res.HouseholdID)
	switch {
	case err != nil:
		return "", fmt.Errorf("redeem: %w", err)
	case len(h.Plates) == 0:
		return "", models.ErrNotEligible.Withf("本户没有登记车牌，不能兑换停车（plate）。", "plate: the household has no registered plate")
	}
	return h.Plates[0], nil
}

// admit checks the reward is on offer and the resident may have it.
func (s *Service) admit(ctx context.Context, reward models.Reward, res models.Resident, at time.Time, loc *time.Location) error {
	if !reward.ActiveAt(at) {
		return models.ErrRewardInactive.Withf("这项兑换目前不在兑换期内。", "this reward is not offered now")
	}
	if res.HouseholdID == "" && (reward.Kind != models.RewardMerchant || reward.MinStar > 0 || reward.HouseholdYearCapFen > 0) {
		return models.ErrNotEligible.Withf("这项兑换仅限已登记住户的居民（household）。", "household: only a resident of a household may redeem this")
	}
	if reward.MinAge > 0 && (res.BirthYear == 0 || at.In(loc).Year()-res.BirthYear < reward.MinAge) {
		return models.ErrNotEligible.Withf("这项兑换仅限 %d 岁及以上的居民（age）。", "age: residents aged %d or over only", reward.MinAge)
	}
	if reward.HonourOnly {
		ok, err := s.elig.HonourListed(ctx, res.CommunityID, res.ID, at)
		if err != nil {
			return err
		}
		if !ok {
			return models.ErrNotEligible.Withf("这项兑换仅限上过红榜的居民（honour_roll）。", "honour_roll: residents listed on the honour roll only")
		}
	}
	if reward.MinStar > 0 {
		lvl, err := s.elig.StarLevel(ctx, res.CommunityID, res.HouseholdID, at)
		if err != nil {
			return err
		}
		if lvl < reward.MinStar {
			return models.ErrNotEligible.Withf("这项兑换仅限 %d 星级及以上的家庭（star_level）。", "star_level: households of star level %d or above only", reward.MinStar)
		}
	}
	if reward.HeadsOnly {
		ok, err := s.elig.ActiveHead(ctx, res.CommunityID, res.ID, at)
		if err != nil {
			return err
		}
		if !ok {
			return models.ErrNotEligible.Withf("这项兑换仅限在任的楼组长（building_head）。", "building_head: active building heads only")
		}
	}
	return nil
}

// redemptionMarks is the store's redemption marks as a once.MarkStore.
// It goes through Store, not a port of its own, so whatever wraps Store
// (a test that cuts a write short) sees every insert.
type redemptionMarks struct{ store Store }

// InsertMark records m; models.ErrConflict if a mark with its id exists.
func (r redemptionMarks) InsertMark(ctx context.Context, m models.RedemptionMark) error {
	return r.store.InsertRedemptionMark(ctx, m)
}

// Mark returns the redemption mark with id, or models.ErrNotFound.
func (r redemptionMarks) Mark(ctx context.Context, id string) (models.RedemptionMark, error) {
	return r.store.RedemptionMark(ctx, id)
}

// --- counters ---

// A redemption takes one unit of each of its counters (stock, limits) and
// gives them back when it is cancelled, expires or is refused: see
// once.Counter (docs/ARCHITECTURE.md §4.3).

// counterSpec is one counter a redemption takes a unit of.
type counterSpec struct {
	key      once.CounterKey
	capacity int
	refusal  error
}

// counters are the counters a redemption of reward by res made at t takes, in
// the order they are taken.
func counters(reward models.Reward, residentID, householdID string, t time.Time, loc *time.Location) []counterSpec {
	l := t.In(loc)
	month := l.Format("2006-01")
	quarter := fmt.Sprintf("%d-Q%d", l.Year(), (int(l.Month())+2)/3)
	year := strconv.Itoa(l.Year())
	var cs []counterSpec
	add := func(capacity int, key once.CounterKey, refusal error) {
		if capacity > 0 {
			cs = append(cs, counterSpec{key, capacity, refusal})
		}
	}
	sold := models.ErrSoldOut.Withf("这项兑换已兑完。", "this reward is sold out")
	add(reward.LimitMonth, once.ResidentLimit(reward.ID, residentID, month), models.ErrLimitReached.Withf("每月最多兑换 %d 次。", "at most %d per month", reward.LimitMonth))
	add(reward.LimitQuarter, once.ResidentLimit(reward.ID, residentID, quarter), models.ErrLimitReached.Withf("每季度最多兑换 %d 次。", "at most %d per quarter", reward.LimitQuarter))
	add(reward.LimitYear, once.ResidentLimit(reward.ID, residentID, year), models.ErrLimitReached.Withf("每年最多兑换 %d 次。", "at most %d per year", reward.LimitYear))
	if reward.HouseholdYearCapFen > 0 && reward.ValueFen > 0 {
		add(int(reward.HouseholdYearCapFen/reward.ValueFen), once.HouseholdYearCap(reward.ID, householdID, year),
			models.ErrLimitReached.Withf("本户今年已达到 %s 元的年度上限。", "the household's yearly cap of %s yuan is reached", reward.HouseholdYearCapFen))
		if reward.HouseholdYearCapFen < reward.ValueFen {
			cs = append(cs, counterSpec{once.HouseholdYearCap(reward.ID, householdID, year), 0,
				models.ErrLimitReached.Withf("本户今年已达到 %s 元的年度上限。", "the household's yearly cap of %s yuan is reached", reward.HouseholdYearCapFen)})
		}
	}
	add(reward.StockPerMonth, once.MonthlyStock(reward.ID, month), sold)
	add(reward.StockTotal, once.TotalStock(reward.ID), sold)
	return cs
}

// unlimited is the capacity of a counter a redemption took when it
// opened but its reward no longer has: taking it still counts the unit,
// so giving it back later cannot make one out of nothing.
const unlimited = 1 << 30

// unitsOf are the counter keys a redemption opened on reward takes.
func unitsOf(cs []counterSpec) []string {
	units := make([]string, 0, len(cs))
	for _, c := range cs {
		units = append(units, string(c.key))
	}
	return units
}

// unitSpecs are the counters redemption takes: the keys fixed when it opened,
// with the capacities reward has now. A redemption opened before keys were
// recorded takes what reward asks now.
func unitSpecs(reward models.Reward, redemption models.Redemption, loc *time.Location) []counterSpec {
	now := counters(reward, redemption.ResidentID, redemption.HouseholdID, redemption.Created, loc)
	if redemption.Units == nil {
		return now
	}
	out := make([]counterSpec, 0, len(redemption.Units))
	for _, k := range redemption.Units {
		c := counterSpec{key: once.CounterKey(k), capacity: unlimited}
		for _, n := range now {
			if string(n.key) == k {
				c = n
			}
		}
		out = append(out, c)
	}
	return out
}

// --- redeeming ---

// Redeem holds the reward's points for the calling resident and opens a
// redemption with a code. A repeat with the same Idempotency-Key finishes
// an interrupted first attempt or replays its answer.
func (s *Service) Redeem(ctx context.Context, p models.Principal, rewardID string, idem community.Idempotency) (models.Redemption, error) {
	if p.ResidentID == "" {
		return models.Redemption{}, models.ErrForbidden
	}
	reward, err := s.reward(ctx, p, rewardID)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	if reward.Kind == models.RewardMerchant {
		return models.Redemption{}, models.ErrValidation.Withf("商户兑换须在柜台出示兑换码。", "a merchant reward is redeemed by showing its QR code at the counter")
	}
	res, err := s.people.Resident(ctx, p.ResidentID)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	id := community.DerivedID(idem.OpID, "redemption")
	return s.open(ctx, reward, res, id, idem.Hash, idem.Key, "")
}

// affordable refuses a redemption of reward the resident's balance cannot pay
// for, before anything is written: the common refusal leaves no record
// at all, so retrying with new keys stores nothing. The hold decides; this
// only spares the records of a refusal known in advance (one that races a
// spend is refused by the hold and kept as a failed redemption no listing
// shows).
func (s *Service) affordable(ctx context.Context, res models.Resident, reward models.Reward) error {
	b, err := s.ledger.Balance(ctx, models.AccountOf(res.ID, models.AssetPoints))
	if err != nil {
		return fmt.Errorf("redeem: %w", err)
	}
	if b.Amount < int64(reward.Points) {
		return models.ErrInsufficientPoints.Withf("积分余额为 %d，这项兑换需要 %d 积分。", "the balance is %d points; this reward needs %d", b.Amount, reward.Points)
	}
	return nil
}

// available refuses a redemption of reward whose stock or limit this process
// already knows to be used up, before anything is written, as affordable
// does for points. It reads only for a counter the process has seen full
// (its count of backs), so the common path costs nothing; a counter that
// fills meanwhile is refused by once.Counter.Take.
func (s *Service) available(ctx context.Context, reward models.Reward, res models.Resident, now time.Time, loc *time.Location) error {
	for _, c := range counters(reward, res.ID, res.HouseholdID, now, loc) {
		full, err := s.counter.KnownFull(ctx, c.key, c.capacity)
		if err != nil {
			return fmt.Errorf("redeem: %w", err)
		}
		if full {
			return c.refusal
		}
	}
	return nil
}

// open creates redemption id of reward for res, or finishes or replays it.
// Concurrent repeats in this process join one execution.
func (s *Service) open(ctx context.Context, reward models.Reward, res models.Resident, id, hash, key, tokenID string) (models.Redemption, error) {
	v, err, _ := s.flight.Do("open:"+id, func() (any, error) {
		return s.openOnce(ctx, reward, res, id, hash, key, tokenID)
	})
	redemption, _ := v.(models.Redemption)
	return redemption, err
}

// openOnce opens redemption id of reward for resident res once per request: a repeat
// (same id and hash) resumes and answers what the first did, another request under the
// same key is ErrIdempotencyMismatch, and a redemption that would be refused now is
// refused before anything is written.
func (s *Service) openOnce(ctx context.Context, reward models.Reward, res models.Resident, id, hash, key, tokenID string) (models.Redemption, error) {
	// The redemption's insert below finds a repeat of this request (its id
	// is derived from the request's key), so a new request reads nothing
	// first; a repeat that would be refused now is answered as it was then.
	repeat := func() (models.Redemption, bool, error) {
		redemption, prior, err := s.store.Redemption(ctx, id)
		switch {
		case errors.Is(err, models.ErrNotFound):
			return redemption, false, nil
		case err != nil:
			return redemption, false, fmt.Errorf("redeem: %w", err)
		case prior != hash:
			return redemption, false, models.ErrIdempotencyMismatch
		}
		redemption, err = s.resume(ctx, redemption, key, true)
		return redemption, true, err
	}
	now := s.stamp()
	loc, err := s.location(ctx, reward.CommunityID)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	policy, err := s.policies.At(ctx, reward.CommunityID, now)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	plate, refusal := "", s.admit(ctx, reward, res, now, loc)
	if refusal == nil && reward.Kind == models.RewardParking {
		plate, refusal = s.householdPlate(ctx, res)
	}
	if refusal == nil && tokenID == "" {
		// A scan checked its points before it claimed its token (Scan).
		if refusal = s.affordable(ctx, res, reward); refusal == nil {
			refusal = s.available(ctx, reward, res, now, loc)
		}
	}
	if refusal != nil {
		if redemption, ok, err := repeat(); ok || err != nil {
			return redemption, err
		}
		return models.Redemption{}, refusal
	}
	redemption := models.Redemption{
		ID:          id,
		CommunityID: reward.CommunityID,
		RewardID:    reward.ID,
		Kind:        reward.Kind,
		Title:       reward.Title,
		PartnerID:   reward.PartnerID,
		ResidentID:  res.ID,
		HouseholdID: res.HouseholdID,
		Plate:       plate,
		Points:      reward.Points,
		ValueFen:    reward.ValueFen,
		Bearer:      reward.Bearer,
		Code:        strings.ToUpper(community.DerivedID(id, "code")[:8]),
		Status:      models.RedemptionOpening,
		Created:     now,
		Expires:     now.AddDate(0, 0, policy.HoldExpiryDays),
		Generation:  1,
		TokenID:     tokenID,
		Units:       unitsOf(counters(reward, res.ID, res.HouseholdID, now, loc)),
	}
	err = s.store.InsertRedemption(ctx, redemption, hash)
	if errors.Is(err, models.ErrConflict) {
		// A repeat, or another replica running the same request: continue
		// from what the first wrote.
		redemption, ok, err := repeat()
		if !ok && err == nil {
			err = fmt.Errorf("redeem: %w", models.ErrConflict)
		}
		return redemption, err
	}
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	return s.resumeWith(ctx, redemption, &reward, key, false)
}

// resume takes an opening redemption's units and its hold; a redemption
// past opening is replayed as it stands.
func (s *Service) resume(ctx context.Context, redemption models.Redemption, key string, repeat bool) (models.Redemption, error) {
	return s.resumeWith(ctx, redemption, nil, key, repeat)
}

// resumeWith is resume with the reward when the caller has just read it
// (nil: read it).
func (s *Service) resumeWith(ctx context.Context, redemption models.Redemption, reward *models.Reward, key string, repeat bool) (models.Redemption, error) {
	saved := redemption.Status
	if repeat {
		// Its hold may have landed (the saved status stays opening), and it
		// may have been decided or refused since.
		var err error
		if redemption, err = s.reconcile(ctx, redemption); err != nil {
			return models.Redemption{}, fmt.Errorf("redeem: %w", err)
		}
	}
	if redemption.Status == models.RedemptionFailed {
		if saved != models.RedemptionFailed {
			if err := s.store.SaveRedemptionState(ctx, redemption); err != nil {
				return models.Redemption{}, fmt.Errorf("redeem: %w", err)
			}
		}
		return models.Redemption{}, refusedAgain(redemption)
	}
	if redemption.Status != models.RedemptionOpening {
		return redemption, nil
	}
	if reward == nil {
		read, err := s.rewardByID(ctx, redemption.RewardID)
		if err != nil {
			return models.Redemption{}, fmt.Errorf("redeem: %w", err)
		}
		reward = &read
	}
	loc, err := s.location(ctx, redemption.CommunityID)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	policy, err := s.policies.At(ctx, redemption.CommunityID, redemption.Created)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	var taken []string
	fail := func(cause error) (models.Redemption, error) {
		uctx, cancel := community.UndoCtx(ctx)
		defer cancel()
		out, err := s.refuse(uctx, redemption, taken, models.CodeOf(cause))
		if err != nil {
			return models.Redemption{}, fmt.Errorf("redeem: %w", err)
		}
		if err := s.store.SaveRedemptionState(uctx, out); err != nil {
			return models.Redemption{}, fmt.Errorf("redeem: %w", err)
		}
		if out.FailCode != models.CodeOf(cause) {
			return models.Redemption{}, refusedAgain(out) // refused already, by a repeat that ran at the same time
		}
		return models.Redemption{}, cause
	}
	for _, c := range unitSpecs(*reward, redemption, loc) {
		n, err := s.counter.Take(ctx, c.key, c.capacity, redemption.ID, repeat)
		if err != nil {
			return models.Redemption{}, fmt.Errorf("redeem: %w", err)
		}
		if n == 0 {
			return fail(c.refusal)
		}
		taken = append(taken, string(c.key))
	}
	_, err = s.ledger.Hold(ctx, ledger.Posting{
		OpID:           once.RedemptionHold(redemption.ID),
		Hash:           redemption.ID,
		Account:        models.AccountOf(redemption.ResidentID, models.AssetPoints),
		CommunityID:    redemption.CommunityID,
		Delta:          int64(redemption.Points),
		Ref:            redemption.ID,
		Reason:         "兑换: " + redemption.Title,
		IdempotencyKey: key,
		PolicyVersion:  policy.Version,
		Actor:          redemption.ResidentID,
	})
	if errors.Is(err, models.ErrInsufficientPoints) {
		return fail(err)
	}
	if err != nil {
		return models.Redemption{}, fmt.Errorf("redeem: %w", err)
	}
	// The saved status stays opening: the hold itself says the redemption
	// is held (follow), so the hot path writes no update.
	redemption.Status = models.RedemptionHeld
	if repeat {
		// It may have been decided since the first attempt.
		return s.reconcile(ctx, redemption)
	}
	return redemption, nil
}

// refusedAgain is the answer to a repeat of a refused request.
func refusedAgain(redemption models.Redemption) error {
	code := redemption.FailCode
	if code == "" {
		code = models.ErrConflict.Code
	}
	return (&models.Error{Code: code}).Withf("这项请求第一次提交时已被拒绝，重复提交的结果相同。", "the first attempt of this request was refused")
}

// refuse records that opening redemption was refused with code, after it took
// the counter units taken, and gives those back: the refusal mark is
// inserted first, so a crash in the give-back is finished by the next
// reader (follow) from the units the mark names. A refusal recorded
// already (a repeat, or the hold-expiry job) wins; its units are given
// back. The redemption is failed: no listing shows it, and a repeat of
// its request is answered with the refusal.
func (s *Service) refuse(ctx context.Context, redemption models.Redemption, taken []string, code models.Code) (models.Redemption, error) {
	if code == "" {
		code = models.ErrConflict.Code
	}
	m := models.RedemptionMark{
		ID:         once.RedemptionRefused(redemption.ID),
		Redemption: redemption.ID,
		Outcome:    string(models.RedemptionFailed),
		Actor:      redemption.ResidentID,
		At:         s.stamp(),
		Reason:     string(code),
		Units:      taken,
	}
	m, _, err := once.Decide(ctx, redemptionMarks{s.store}, m.ID, m)
	if err != nil {
		return redemption, fmt.Errorf("refuse: %w", err)
	}
	return s.refused(ctx, redemption, m, true)
}

// refused is redemption refused by mark m; its effect is the units m names given
// back.
func (s *Service) refused(ctx context.Context, redemption models.Redemption, m models.RedemptionMark, apply bool) (models.Redemption, error) {
	if apply {
		for _, k := range m.Units {
			if err := s.counter.GiveBack(ctx, once.CounterKey(k), redemption.ID); err != nil {
				return redemption, fmt.Errorf("give back %s: %w", k, err)
			}
		}
	}
	redemption.Status, redemption.FailCode, redemption.Closed = models.RedemptionFailed, models.Code(m.Reason), m.At
	return redemption, nil
}

// --- deciding the outcome ---

// finalMark is the id of the mark that decides redemption's current generation. A
// merchant redemption is decided when its token is scanned, so the scan's
// mark is its final mark.
func finalMark(redemption models.Redemption) string {
	if redemption.TokenID != "" {
		return once.ScanMark(redemption.TokenID)
	}
	return once.RedemptionFinal(redemption.ID, redemption.Generation)
}

// The saved status of a redemption is a cache of the keyed records that
// decide it. A request that writes a final mark, a void, a refund or a
// failure saves the status it leads to; redeem and scan, the hot paths,
// save none and leave the status opening: their hold and scan mark say
// where the redemption stands, readers follow them, and the hold-expiry
// job saves what it finds.

// follow walks redemption forward from its status through the records that decide
// it: its hold (opening → held), the final mark of its generation (held →
// fulfilled, cancelled or expired), a void of the bill it was applied to
// (fulfilled → held again, as the next generation) and a refund (fulfilled
// → refunded). With apply it also applies each step's effects (settlement
// events, points and units given back), every one keyed, so applying one
// again changes nothing; without, it only reads.
func (s *Service) follow(ctx context.Context, redemption models.Redemption, apply bool) (models.Redemption, error) {
	for {
		var err error
		switch redemption.Status {
		case models.RedemptionOpening:
			_, err = s.ledger.Outcome(ctx, once.RedemptionHold(redemption.ID))
			if errors.Is(err, models.ErrNotFound) {
				return s.followRefusal(ctx, redemption, "", apply)
			}
			if models.CodeOf(err) != "" {
				return s.followRefusal(ctx, redemption, models.CodeOf(err), apply)
			}
			if err != nil {
				return redemption, err
			}
			redemption.Status = models.RedemptionHeld
		case models.RedemptionHeld:
			var m models.RedemptionMark
			m, err = s.mark(ctx, finalMark(redemption))
			if errors.Is(err, models.ErrNotFound) {
				return redemption, nil
			}
			if err != nil {
				return redemption, err
			}
			switch models.RedemptionStatus(m.Outcome) {
			case models.RedemptionFulfilled:
				redemption, err = s.fulfilled(ctx, redemption, m, apply)
			case models.RedemptionCancelled, models.RedemptionExpired:
				redemption, err = s.closed(ctx, redemption, m, apply)
			default:
				err = fmt.Errorf("redemption %s: mark %s has outcome %q", redemption.ID, m.ID, m.Outcome)
			}
		case models.RedemptionFulfilled:
			vm, err := s.mark(ctx, once.RedemptionVoid(redemption.ID, redemption.Generation))
			if err == nil {
				if redemption, err = s.voided(ctx, redemption, vm, apply); err != nil {
					return redemption, err
				}
				continue
			}
			if !errors.Is(err, models.ErrNotFound) {
				return redemption, err
			}
			rm, err := s.mark(ctx, once.RedemptionRefund(redemption.ID))
			if errors.Is(err, models.ErrNotFound) {
				return redemption, nil
			}
			if err != nil {
				return redemption, err
			}
			return s.refunded(ctx, redemption, rm, apply)
		default: // failed, cancelled, expired, refunded: nothing follows
			return redemption, nil
		}
		if err != nil {
			return redemption, err
		}
	}
}

// followRefusal is opening redemption whose hold is missing (holdCode "") or was
// refused (holdCode): failed if a refusal is recorded, or if its hold was
// refused (a crash between the refusal and its mark: with apply the mark
// is written and every unit given back, since a hold is posted only once
// all were taken); else still being opened.
func (s *Service) followRefusal(ctx context.Context, redemption models.Redemption, holdCode models.Code, apply bool) (models.Redemption, error) {
	m, err := s.mark(ctx, once.RedemptionRefused(redemption.ID))
	switch {
	case err == nil:
		return s.refused(ctx, redemption, m, apply)
	case !errors.Is(err, models.ErrNotFound):
		return redemption, err
	case holdCode == "":
		return redemption, nil // still being opened
	case !apply:
		redemption.Status, redemption.FailCode = models.RedemptionFailed, holdCode
		return redemption, nil
	}
	units := redemption.Units
	if units == nil { // opened before units were recorded
		reward, err := s.rewardByID(ctx, redemption.RewardID)
		if err != nil {
			return redemption, err
		}
		loc, err := s.location(ctx, redemption.CommunityID)
		if err != nil {
			return redemption, err
		}
		for _, c := range counters(reward, redemption.ResidentID, redemption.HouseholdID, redemption.Created, loc) {
			if c.capacity > 0 {
				units = append(units, string(c.key))
			}
		}
	}
	return s.refuse(ctx, redemption, units, holdCode)
}

// reconcile is redemption as its records decide it, with every effect a crash may
// have left undone applied.
func (s *Service) reconcile(ctx context.Context, redemption models.Redemption) (models.Redemption, error) {
	return s.follow(ctx, redemption, true)
}

// current is rs with each redemption whose saved status is still opening
// followed to where its records put it, reading only: for listings.
func (s *Service) current(ctx context.Context, rs []models.Redemption) ([]models.Redemption, error) {
	out := rs[:0]
	for _, r := range rs {
		if r.Status == models.RedemptionOpening {
			var err error
			if r, err = s.follow(ctx, r, false); err != nil {
				return nil, err
			}
		}
		// A refusal is an answer, not a record: a crash may have left one
		// saved as opening.
		if r.Status != models.RedemptionFailed {
			out = append(out, r)
		}
	}
	return out, nil
}

// decide records outcome as the redemption's terminal state for its
// current generation and saves it. Cancel, expiry and fulfilment race for
// the same key: exactly one wins; the others are told what happened.
func (s *Service) decide(ctx context.Context, redemption models.Redemption, outcome models.RedemptionStatus, actor string, bill models.RedemptionMark) (models.Redemption, error) {
	redemption, err := s.reconcile(ctx, redemption)
	if err != nil {
		return redemption, err
	}
	if redemption.Status != models.RedemptionHeld {
		if redemption.Status == outcome {
			return redemption, nil // a repeat
		}
		return redemption, models.ErrRedemptionClosed.Withf("该兑换单%[2]s，不能再操作。", "the redemption is %[1]s", redemption.Status, redemption.Status.Zh())
	}
	m := bill
	m.ID, m.Redemption, m.Outcome, m.Actor, m.At = finalMark(redemption), redemption.ID, string(outcome), actor, s.stamp()
	err = s.store.InsertRedemptionMark(ctx, m)
	if errors.Is(err, models.ErrConflict) {
		redemption, err := s.reconcile(ctx, redemption)
		if err != nil {
			return redemption, err
		}
		if redemption.Status == outcome {
			return redemption, nil
		}
		return redemption, models.ErrRedemptionClosed.Withf("该兑换单%[2]s，不能再操作。", "the redemption is %[1]s", redemption.Status, redemption.Status.Zh())
	}
	if err != nil {
		return redemption, fmt.Errorf("redemption: %w", err)
	}
	return s.reconcileAndSave(ctx, redemption)
}

// reconcileAndSave is reconcile, then the status it arrives at saved: for
// the request that has just written one of redemption's deciding records.
func (s *Service) reconcileAndSave(ctx context.Context, redemption models.Redemption) (models.Redemption, error) {
	redemption, err := s.reconcile(ctx, redemption)
	if err != nil {
		return redemption, err
	}
	if err := s.store.SaveRedemptionState(ctx, redemption); err != nil {
		return redemption, fmt.Errorf("redemption: %w", err)
	}
	return redemption, nil
}

// settlementLine is the event with id that puts redemption's current generation
// on its partner's statement: its value for a fulfilment; minus its value
// for a reversal, which names the fulfilment it undoes.
func settlementLine(redemption models.Redemption, id string, kind models.SettlementEventKind, description string, at time.Time) models.SettlementEvent {
	e := models.SettlementEvent{
		ID:           id,
		CommunityID:  redemption.CommunityID,
		PartnerID:    redemption.PartnerID,
		Kind:         kind,
		RedemptionID: redemption.ID,
		RewardID:     redemption.RewardID,
		ResidentID:   redemption.ResidentID,
		Description:  description,
		ValueFen:     redemption.ValueFen,
		Bearer:       redemption.Bearer,
		At:           at,
	}
	if kind == models.EventReversed {
		e.ValueFen, e.Undoes = -redemption.ValueFen, once.FulfilEvent(redemption.ID, redemption.Generation)
	}
	return e
}

// recordEvent records settlement event e, stamped with when it is written:
// a catch-up after a crash writes it later than its business time, and
// settlement puts an event recorded after its month was settled on the next
// statement (Settlement.SettlePartner).
func (s *Service) recordEvent(ctx context.Context, e models.SettlementEvent) error {
	e.Recorded = s.stamp()
	return s.store.RecordSettlementEvent(ctx, e)
}

// fulfilled is redemption fulfilled by mark m; its effect is the partner's
// settlement line.
func (s *Service) fulfilled(ctx context.Context, redemption models.Redemption, m models.RedemptionMark, apply bool) (models.Redemption, error) {
	if apply {
		err := s.recordEvent(ctx, settlementLine(redemption, once.FulfilEvent(redemption.ID, redemption.Generation), models.EventFulfilled, redemption.Title, m.At))
		if err != nil {
			return redemption, fmt.Errorf("fulfil: %w", err)
		}
		// One of the mark's keyed effects, so whoever follows the mark
		// after a crash notifies too; the fulfilment's event id makes it
		// one notification per generation.
		s.notify.Notify(ctx, redemptionNotice(redemption, models.NoticeRedemptionDone, once.FulfilEvent(redemption.ID, redemption.Generation)))
	}
	redemption.Status, redemption.Fulfilled, redemption.BillNo, redemption.BillDate = models.RedemptionFulfilled, m.At, m.BillNo, m.BillDate
	return redemption, nil
}

// voided is a credit given back after its bill was voided: the partner's
// statement gets a negative line and the credit is pending again, with a
// fresh hold period, as generation n+1.
func (s *Service) voided(ctx context.Context, redemption models.Redemption, m models.RedemptionMark, apply bool) (models.Redemption, error) {
	if apply {
		err := s.recordEvent(ctx, settlementLine(redemption, once.ReverseEvent(redemption.ID, redemption.Generation), models.EventReversed,
			redemption.Title+" (账单作废 "+m.BillNo+")", m.At))
		if err != nil {
			return redemption, fmt.Errorf("void: %w", err)
		}
	}
	policy, err := s.policies.At(ctx, redemption.CommunityID, m.At)
	if err != nil {
		return redemption, fmt.Errorf("void: %w", err)
	}
	redemption.Generation++
	redemption.Status, redemption.Fulfilled, redemption.BillNo, redemption.BillDate = models.RedemptionHeld, time.Time{}, "", ""
	redemption.Expires = m.At.AddDate(0, 0, policy.HoldExpiryDays)
	return redemption, nil
}

// closed is a cancelled or expired redemption; its effect is its points
// and units given back.
func (s *Service) closed(ctx context.Context, redemption models.Redemption, m models.RedemptionMark, apply bool) (models.Redemption, error) {
	if apply {
		if err := s.giveBackAll(ctx, redemption); err != nil {
			return redemption, err
		}
		policy, err := s.policies.At(ctx, redemption.CommunityID, m.At)
		if err != nil {
			return redemption, err
		}
		_, err = s.ledger.Release(ctx, ledger.Posting{
			OpID:          once.RedemptionRelease(redemption.ID),
			Hash:          redemption.ID,
			Account:       models.AccountOf(redemption.ResidentID, models.AssetPoints),
			CommunityID:   redemption.CommunityID,
			Delta:         int64(redemption.Points),
			Ref:           redemption.ID,
			Reason:        closeReason[models.RedemptionStatus(m.Outcome)] + ": " + redemption.Title,
			PolicyVersion: policy.Version,
			Actor:         m.Actor,
		})
		if err != nil {
			return redemption, fmt.Errorf("release: %w", err)
		}
		if models.RedemptionStatus(m.Outcome) == models.RedemptionExpired {
			s.notify.Notify(ctx, redemptionNotice(redemption, models.NoticeRedemptionExpired, "expired:"+redemption.ID))
		}
	}
	redemption.Status, redemption.Closed = models.RedemptionStatus(m.Outcome), m.At
	return redemption, nil
}

// redemptionNotice tells redemption's resident of event (kind), with the reward
// and its points; event names the mark, decided once.
func redemptionNotice(redemption models.Redemption, kind models.NoticeKind, event string) models.Notice {
	return models.Notice{
		Kind:        kind,
		EventID:     event,
		Recipient:   redemption.ResidentID,
		CommunityID: redemption.CommunityID,
		Args:        map[string]string{"reward": redemption.Title, "points": strconv.FormatInt(int64(redemption.Points), 10)},
		Link:        "/redemptions/" + redemption.ID,
	}
}

var closeReason = map[models.RedemptionStatus]string{
	models.RedemptionCancelled: "兑换取消", models.RedemptionExpired: "兑换逾期未核销",
}

// giveBackAll gives back every counter unit (stock, limits) the redemption took when it
// opened, whatever the reward asks now.
func (s *Service) giveBackAll(ctx context.Context, redemption models.Redemption) error {
	reward, err := s.rewardByID(ctx, redemption.RewardID)
	if err != nil {
		return err
	}
	loc, err := s.location(ctx, redemption.CommunityID)
	if err != nil {
		return err
	}
	// What it took when it opened, whatever the reward asks now; a held
	// redemption took every one of its units.
	for _, c := range unitSpecs(reward, redemption, loc) {
		if redemption.Units == nil && c.capacity == 0 {
			continue
		}
		if err := s.counter.GiveBack(ctx, c.key, redemption.ID); err != nil {
			return fmt.Errorf("give back %s: %w", c.key, err)
		}
	}
	return nil
}

// visibleRedemption loads a redemption the resident owns or staff of its
// community manage; another community's is not found.
func (s *Service) visibleRedemption(ctx context.Context, p models.Principal, id string) (models.Redemption, error) {
	redemption, _, err := s.store.Redemption(ctx, id)
	if err != nil {
		return models.Redemption{}, err
	}
	if redemption.CommunityID != p.CommunityID {
		return models.Redemption{}, models.ErrNotFound
	}
	if redemption.ResidentID != p.ResidentID && !p.IsStaff() {
		return models.Redemption{}, models.ErrForbidden
	}
	return s.listed(ctx, redemption)
}

// listed is redemption reconciled, or models.ErrNotFound if it was refused: a
// refusal is an answer, not a redemption anyone can look up.
func (s *Service) listed(ctx context.Context, redemption models.Redemption) (models.Redemption, error) {
	redemption, err := s.reconcile(ctx, redemption)
	if err == nil && redemption.Status == models.RedemptionFailed {
		return models.Redemption{}, models.ErrNotFound
	}
	return redemption, err
}

// Redemption returns one redemption to its resident or staff.
func (s *Service) Redemption(ctx context.Context, p models.Principal, id string) (models.Redemption, error) {
	return s.visibleRedemption(ctx, p, id)
}

// MyRedemptions is one page of the caller's redemptions, newest first,
// from cursor ("" for the first page), and the cursor of the next page (""
// at the end). A page reads limit places of the caller's list by _id, so
// it costs the same however many redemptions the community has made.
func (s *Service) MyRedemptions(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.Redemption, string, error) {
	rs, next, err := s.store.ResidentRedemptions(ctx, p.ResidentID, cursor, community.PageLimit(limit))
	if err != nil {
		return nil, "", err
	}
	mine := rs[:0]
	for _, r := range rs {
		if r.CommunityID == p.CommunityID {
			mine = append(mine, r)
		}
	}
	rs, err = s.current(ctx, mine)
	return rs, next, err
}

// Cancel gives a held redemption up before it is fulfilled; its points
// come back once, however often cancel is repeated or races expiry.
func (s *Service) Cancel(ctx context.Context, p models.Principal, id string) (models.Redemption, error) {
	redemption, err := s.visibleRedemption(ctx, p, id)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("cancel: %w", err)
	}
	return s.decide(ctx, redemption, models.RedemptionCancelled, p.ResidentID, models.RedemptionMark{})
}

// ExpireHolds expires the held redemptions of every community whose hold
// period has passed at now, saves the status of redemptions the hot paths
// left opening, and finishes those a crash left opening or half-decided.
// Safe to repeat: every step is keyed.
//
// It reads each community's redemptions by its day lists from the saved
// time of the oldest one that may still be open (OpenRedemptionsSince),
// and then saves the time of the oldest still open, so a run costs the
// redemptions of the open period, not every redemption ever made.
func (s *Service) ExpireHolds(ctx context.Context, now time.Time) (expired int, err error) {
	err = community.Each(ctx, s.store, func(c models.Community) error {
		// Every open redemption is looked at, not only those due: a
		// cancel or refund cut short by a crash after its mark is
		// finished here (its units and points given back), not at the
		// end of the hold period.
		oldest, err := s.eachOpen(ctx, c, now, func(r models.Redemption) (bool, error) {
			n, stillOpen, err := s.expireOrCatchUp(ctx, r, now)
			expired += n
			return stillOpen, err
		})
		if err != nil {
			return err
		}
		return s.store.SaveOpenRedemptionsSince(ctx, c.ID, oldest)
	})
	return expired, err
}

// openMargin is how far before a walk over the open redemptions the next
// walk starts when none is open: a redemption whose request began then
// may be stored only now.
const openMargin = 10 * time.Minute

// eachOpen calls fn, oldest day first, for each redemption of community c
// that is saved as held or opening and was made since the oldest that may
// still be open (openSince), and then for each made open again by a void
// since then (eachReopened); fn says whether it is open still. It returns
// the time the next walk must start from: the oldest still open (a
// reopened one by the time of its void), and never later than now less
// openMargin.
func (s *Service) eachOpen(ctx context.Context, c models.Community, now time.Time, fn func(models.Redemption) (bool, error)) (time.Time, error) {
	since, err := s.openSince(ctx, c)
	if err != nil {
		return time.Time{}, err
	}
	oldest := now.Add(-openMargin)
	var open []models.Redemption
	err = s.store.EachDayRedemption(ctx, c.ID, since, now.Add(openMargin), func(r models.Redemption) error {
		if r.Status == models.RedemptionHeld || r.Status == models.RedemptionOpening {
			open = append(open, r)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	for i := len(open) - 1; i >= 0; i-- { // oldest first
		r := open[i]
		stillOpen, err := fn(r)
		if err != nil {
			return time.Time{}, err
		}
		if stillOpen && r.Created.Before(oldest) {
			oldest = r.Created
		}
	}
	// A credit a voided bill made pending again may have been made before
	// since: it is found by its void, and keeps the next walk's start no
	// later than the void while it is open.
	walked := map[string]bool{}
	for _, r := range open {
		walked[r.ID] = true
	}
	err = s.eachReopened(ctx, c.ID, since, now.Add(openMargin), func(r models.Redemption, voided time.Time) error {
		if walked[r.ID] {
			return nil
		}
		stillOpen, err := fn(r)
		if err != nil {
			return err
		}
		if stillOpen && voided.Before(oldest) {
			oldest = voided
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return oldest, nil
}

// openSince is when the oldest redemption of community c that may still
// be open was made, as the hold-expiry job last saved it; before the job
// first ran, the community's start.
func (s *Service) openSince(ctx context.Context, c models.Community) (time.Time, error) {
	since, ok, err := s.store.OpenRedemptionsSince(ctx, c.ID)
	if err != nil || ok {
		return since, err
	}
	return c.Created.Add(-openMargin), nil // never walked: from the start
}

// eachReopened calls fn once for each redemption of the community that a
// void at from <= At < to made open again and that is open still (held,
// or opening), with the time of its latest such void read.
func (s *Service) eachReopened(ctx context.Context, communityID string, from, to time.Time, fn func(r models.Redemption, voided time.Time) error) error {
	seen := map[string]bool{}
	return s.store.EachReopened(ctx, communityID, from, to, func(m models.RedemptionMark) error {
		if seen[m.Redemption] {
			return nil
		}
		seen[m.Redemption] = true
		r, _, err := s.store.Redemption(ctx, m.Redemption)
		if err != nil {
			return err
		}
		if r.Status != models.RedemptionHeld && r.Status != models.RedemptionOpening {
			// Saved as it was before the void (a void cut short before its
			// save): what its marks say now.
			if r, err = s.follow(ctx, r, false); err != nil {
				return err
			}
		}
		if r.Status != models.RedemptionHeld && r.Status != models.RedemptionOpening {
			return nil // decided again since: applied to another bill, expired …
		}
		return fn(r, m.At)
	})
}

// expireOrCatchUp brings saved redemption r up to date (finishing it when a
// crash left it opening for over ten minutes), saves its status if that
// moved, and expires it if it is held past its hold period: 1 if it did.
// It reports whether r may still be open (held, or opening).
func (s *Service) expireOrCatchUp(ctx context.Context, r models.Redemption, now time.Time) (int, bool, error) {
	cur, err := s.reconcile(ctx, r)
	if err != nil {
		return 0, true, err
	}
	if cur.Status == models.RedemptionOpening {
		if now.Sub(r.Created) <= 10*time.Minute {
			return 0, true, nil // its request may still be at work
		}
		// A refusal is saved as the redemption's failure by resume.
		if cur, err = s.resume(ctx, r, "", true); err != nil {
			if models.CodeOf(err) != "" {
				return 0, false, nil
			}
			return 0, true, err
		}
	}
	if cur.Status == models.RedemptionHeld && !now.Before(cur.Expires) {
		out, err := s.decide(ctx, cur, models.RedemptionExpired, "system", models.RedemptionMark{})
		if models.CodeOf(err) == models.ErrRedemptionClosed.Code {
			return 0, false, nil // decided otherwise at the same time, and saved by that request
		}
		if err != nil {
			return 0, true, err
		}
		if out.Status == models.RedemptionExpired {
			return 1, false, nil
		}
		return 0, stillOpen(out), nil
	}
	if cur.Status != r.Status || cur.Generation != r.Generation {
		if err := s.store.SaveRedemptionState(ctx, cur); err != nil {
			return 0, true, err
		}
	}
	return 0, stillOpen(cur), nil
}

// stillOpen reports whether r is held or opening: the hold-expiry job must
// look at it again.
func stillOpen(r models.Redemption) bool {
	return r.Status == models.RedemptionHeld || r.Status == models.RedemptionOpening
}

// --- partner credits: property-fee discounts and parking reductions ---

// partnerOf returns the partner the caller logs in for, of one of kinds.
func (s *Service) partnerOf(ctx context.Context, p models.Principal, kinds ...models.PartnerKind) (models.Partner, error) {
	if !p.Has(models.RolePartner) || p.PartnerID == "" {
		return models.Partner{}, models.ErrForbidden
	}
	partner, err := s.store.Partner(ctx, p.PartnerID)
	if err != nil {
		return models.Partner{}, err
	}
	if partner.CommunityID != p.CommunityID {
		return models.Partner{}, models.ErrForbidden
	}
	for _, k := range kinds {
		if partner.Kind == k {
			return partner, nil
		}
	}
	return models.Partner{}, models.ErrForbidden
}

// PendingCredits is one page of the partner's credits waiting for a bill,
// newest first, from cursor ("" for the first page), and the cursor of the
// next page ("" at the end). It reads the partner's day lists of
// redemptions (DayRedemptions), a page's worth of slots at a time, from
// now back to the oldest redemption that may still be open (openSince,
// fixed in the cursor for the pages that follow), and after them the
// older credits a voided bill made pending again since; so a page costs
// its own size, however many credits were ever made, and sends no scan.
// Each credit read is followed to what its marks say, and only the held
// ones are shown, so a page may hold fewer than limit and still have a
// next. A cursor it did not give out is models.ErrBadCursor.
func (s *Service) PendingCredits(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.Redemption, string, error) {
	partner, err := s.partnerOf(ctx, p, models.PartnerProperty, models.PartnerParking)
	if err != nil {
		return nil, "", err
	}
	c, err := s.store.Community(ctx, partner.CommunityID)
	if err != nil {
		return nil, "", err
	}
	since, listCursor, err := s.parseCreditCursor(ctx, c, cursor)
	if err != nil {
		return nil, "", err
	}
	limit = community.PageLimit(limit)
	to := s.now().Add(openMargin)
	rs, next, err := s.store.DayRedemptions(ctx, c.ID, partner.ID, since, to, listCursor, limit)
	if err != nil {
		return nil, "", err
	}
	if next == "" {
		// The day lists end at since; a credit made before it that a void
		// made pending again is found by its void.
		err = s.eachReopened(ctx, c.ID, since, to, func(r models.Redemption, _ time.Time) error {
			if r.PartnerID == partner.ID && r.Created.Before(since) {
				rs = append(rs, r)
			}
			return nil
		})
		if err != nil {
			return nil, "", err
		}
	}
	// A credit redeemed since the hold-expiry job last ran is saved as
	// opening; its hold says whether it is pending.
	if rs, err = s.current(ctx, rs); err != nil {
		return nil, "", err
	}
	pending := rs[:0]
	for _, r := range rs {
		if r.Status == models.RedemptionHeld {
			pending = append(pending, r)
		}
	}
	if next != "" {
		next = strconv.FormatInt(since.UnixMilli(), 10) + "." + next
	}
	return pending, next, nil
}

// parseCreditCursor reads a cursor PendingCredits gave out: the time its
// first page read back to, in Unix milliseconds, and the cursor of the
// partner's day lists, as "ms.list cursor". The first page ("") reads back
// to openSince, and its list cursor is "". A cursor not given out is
// models.ErrBadCursor.
func (s *Service) parseCreditCursor(ctx context.Context, c models.Community, cursor string) (time.Time, string, error) {
	if cursor == "" {
		since, err := s.openSince(ctx, c)
		return since, "", err
	}
	ms, listCursor, ok := strings.Cut(cursor, ".")
	at, err := strconv.ParseInt(ms, 10, 64)
	since := time.UnixMilli(at).UTC()
	// A time before the community (or after now) was not given out, and
	// would have the day lists read for days that cannot hold a credit.
	if !ok || err != nil || listCursor == "" || strconv.FormatInt(at, 10) != ms ||
		since.Before(c.Created.Add(-openMargin)) || since.After(s.now()) {
		return time.Time{}, "", models.ErrBadCursor
	}
	return since, listCursor, nil
}

// partnerCredit loads a credit for the partner login of the property company or parking
// operator it is for: ErrForbidden for another partner's, ErrNotFound for another
// community's or a refused one.
func (s *Service) partnerCredit(ctx context.Context, p models.Principal, id string) (models.Redemption, error) {
	partner, err := s.partnerOf(ctx, p, models.PartnerProperty, models.PartnerParking)
	if err != nil {
		return models.Redemption{}, err
	}
	redemption, _, err := s.store.Redemption(ctx, id)
	if err != nil {
		return models.Redemption{}, err
	}
	if redemption.CommunityID != partner.CommunityID {
		return models.Redemption{}, models.ErrNotFound
	}
	if redemption.PartnerID != partner.ID {
		return models.Redemption{}, models.ErrForbidden
	}
	return s.listed(ctx, redemption)
}

// MaxBillNo bounds the number of the bill a credit is applied to.
const MaxBillNo = 40

// MaxPartnerReason bounds the reason a partner or a merchant gives for
// voiding a bill or refunding a redemption.
const MaxPartnerReason = 200

// ApplyCredit records that a pending credit was taken off a bill: the
// credit's fulfilment. The bill number is trimmed (models.CleanText): a
// blank one, one over MaxBillNo characters or with control characters is
// ErrValidation. A repeat for the same bill returns the same result.
// The fulfilment is marked with the request's op id, so a repeat of a
// request that applied an earlier generation (the bill was voided since
// and the credit is pending again) returns what that request did and
// applies nothing again.
func (s *Service) ApplyCredit(ctx context.Context, p models.Principal, id, billNo, billDate string, idem community.Idempotency) (models.Redemption, error) {
	// A blank bill number names no bill, and " WY-1" is the bill WY-1.
	billNo, err := models.CleanText("bill_no", billNo, MaxBillNo)
	if err != nil {
		return models.Redemption{}, err
	}
	redemption, err := s.partnerCredit(ctx, p, id)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("apply credit: %w", err)
	}
	if g, m, err := s.earlierStep(ctx, redemption, once.RedemptionFinal, idem.OpID); err != nil || g > 0 {
		if err != nil {
			return redemption, fmt.Errorf("apply credit: %w", err)
		}
		return s.asOfGeneration(ctx, redemption, g, m)
	}
	if redemption.Status == models.RedemptionFulfilled && redemption.BillNo != billNo {
		return redemption, models.ErrRedemptionClosed.Withf("这笔抵扣已用于账单 %s。", "the credit is applied to bill %s already", redemption.BillNo)
	}
	return s.decide(ctx, redemption, models.RedemptionFulfilled, p.ResidentID, models.RedemptionMark{
		BillNo:   billNo,
		BillDate: billDate,
		Op:       idem.OpID,
	})
}

// earlierStep finds the generation before redemption's current one whose mark
// (once.RedemptionFinal or once.RedemptionVoid) was written by request op: 0 if there is none.
// Generations are few, and each look is one read by _id.
func (s *Service) earlierStep(ctx context.Context, redemption models.Redemption, key func(string, int) string, op string) (int, models.RedemptionMark, error) {
	if op == "" {
		return 0, models.RedemptionMark{}, nil
	}
	for g := redemption.Generation - 1; g >= 1; g-- {
		m, err := s.mark(ctx, key(redemption.ID, g))
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, m, err
		}
		if m.Op == op {
			return g, m, nil
		}
	}
	return 0, models.RedemptionMark{}, nil
}

// asOfGeneration is redemption as the request that wrote mark m of generation g
// left it: applied to m's bill, or (for a void) pending again as
// generation g+1. The marks hold everything needed, so a repeat whose
// first answer was lost gets that answer back.
func (s *Service) asOfGeneration(ctx context.Context, redemption models.Redemption, g int, m models.RedemptionMark) (models.Redemption, error) {
	out := redemption
	out.Closed = time.Time{}
	if m.Outcome == "voided" {
		g++
		out.Status, out.Fulfilled, out.BillNo, out.BillDate = models.RedemptionHeld, time.Time{}, "", ""
	} else {
		out.Status, out.Fulfilled, out.BillNo, out.BillDate = models.RedemptionFulfilled, m.At, m.BillNo, m.BillDate
	}
	out.Generation = g
	// A generation's hold period starts when it began: at opening, or at
	// the void that began it (voided).
	from := redemption.Created
	if g > 1 {
		vm, err := s.mark(ctx, once.RedemptionVoid(redemption.ID, g-1))
		if err != nil {
			return redemption, fmt.Errorf("generation %d: %w", g, err)
		}
		from = vm.At
	}
	policy, err := s.policies.At(ctx, redemption.CommunityID, from)
	if err != nil {
		return redemption, fmt.Errorf("generation %d: %w", g, err)
	}
	out.Expires = from.AddDate(0, 0, policy.HoldExpiryDays)
	return out, nil
}

// VoidCredit records that the bill a credit was applied to was voided: the
// credit is pending again, once per voided bill. The reason may be blank
// (none); a given one is cleaned (models.CleanOptionalText). A repeat of the request
// returns what it did, even after the credit has moved on.
func (s *Service) VoidCredit(ctx context.Context, p models.Principal, id, reason string, idem community.Idempotency) (models.Redemption, error) {
	reason, err := models.CleanOptionalText("reason", reason, MaxPartnerReason)
	if err != nil {
		return models.Redemption{}, err
	}
	redemption, err := s.partnerCredit(ctx, p, id)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("void credit: %w", err)
	}
	if g, m, err := s.earlierStep(ctx, redemption, once.RedemptionVoid, idem.OpID); err != nil || g > 0 {
		if err != nil {
			return redemption, fmt.Errorf("void credit: %w", err)
		}
		return s.asOfGeneration(ctx, redemption, g, m)
	}
	if redemption.Status != models.RedemptionFulfilled {
		return redemption, models.ErrRedemptionClosed.Withf("这笔抵扣%[2]s，尚未用于账单。", "the credit is %[1]s, not applied to a bill", redemption.Status, redemption.Status.Zh())
	}
	err = s.store.InsertReopeningMark(ctx, redemption.CommunityID, models.RedemptionMark{
		ID:         once.RedemptionVoid(redemption.ID, redemption.Generation),
		Redemption: redemption.ID,
		Outcome:    "voided",
		Actor:      p.ResidentID,
		At:         s.stamp(),
		BillNo:     redemption.BillNo,
		BillDate:   redemption.BillDate,
		Reason:     reason,
		Op:         idem.OpID,
	})
	if errors.Is(err, models.ErrConflict) {
		return s.reconcile(ctx, redemption) // a void that ran at the same time
	}
	if err != nil {
		return redemption, fmt.Errorf("void credit: %w", err)
	}
	return s.reconcileAndSave(ctx, redemption)
}

// HeldPoints is how many points of a community are held by redemptions not
// yet fulfilled, cancelled or expired: the "held" line of the liability
// report (settlement.HeldPoints). It reads the redemptions made since the
// oldest that may be open (as ExpireHolds does) and saves nothing.
func (s *Service) HeldPoints(ctx context.Context, communityID string, now time.Time) (int64, error) {
	c, err := s.store.Community(ctx, communityID)
	if err != nil {
		return 0, fmt.Errorf("held points: %w", err)
	}
	var held int64
	_, err = s.eachOpen(ctx, c, now, func(r models.Redemption) (bool, error) {
		if r.Status == models.RedemptionOpening {
			cur, err := s.follow(ctx, r, false)
			if err != nil {
				return true, err
			}
			r = cur
		}
		if r.Status == models.RedemptionHeld {
			held += int64(r.Points)
		}
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("held points: %w", err)
	}
	return held, nil
}
