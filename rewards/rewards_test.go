package rewards_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

// fakeEligibility answers the honour-roll questions as a test sets them.
type fakeEligibility struct {
	mu     sync.Mutex
	listed map[string]bool
	stars  map[string]int
	heads  map[string]bool
}

func (f *fakeEligibility) HonourListed(_ context.Context, _, residentID string, _ time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listed[residentID], nil
}

func (f *fakeEligibility) StarLevel(_ context.Context, _, householdID string, _ time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stars[householdID], nil
}

func (f *fakeEligibility) ActiveHead(_ context.Context, _, residentID string, _ time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.heads[residentID], nil
}

type rewardsWorld struct {
	t           *testing.T
	st          *store.Store
	ledger      *ledger.Ledger
	policies    *policy.Service
	cs          *directory.Service
	rs          *rewards.Service
	elig        *fakeEligibility
	rewardClock *communitytest.Clock
	staff       models.Principal
	property    models.Partner
	parking     models.Partner
	shop        models.Partner
	shop2       models.Partner
	building    models.Building
}

// Saturday 2026-11-21 10:00 in Shanghai.
var rewardsStart = time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)

func newRewardsWorld(t *testing.T) *rewardsWorld {
	t.Helper()
	st := storetest.New(t)
	communitytest.MustCommunity(t, st, "A", "社区A", rewardsStart)
	ck := communitytest.NewClock(rewardsStart)
	w := &rewardsWorld{
		t:           t,
		st:          st,
		rewardClock: ck,
		staff:       communitytest.Staff("A"),
		elig: &fakeEligibility{
			listed: map[string]bool{},
			stars:  map[string]int{},
			heads:  map[string]bool{},
		},
	}
	w.ledger = ledger.New(st, ck.Now)
	w.policies = policy.New(st, ck.Now)
	w.cs = directory.New(st, communitytest.FakeHasher{}, communitytest.NewID, ck.Now, community.NoNotifier{})
	w.rs = w.rewardsOver(st)
	var err error
	for _, p := range []struct {
		dst  *models.Partner
		kind models.PartnerKind
		name string
	}{{&w.property, models.PartnerProperty, "物业"}, {&w.parking, models.PartnerParking, "停车"},
		{&w.shop, models.PartnerMerchant, "早餐店"}, {&w.shop2, models.PartnerMerchant, "理发店"}} {
		if *p.dst, err = w.cs.CreatePartner(ctx, w.staff, p.kind, p.name, community.Idempotency{}); err != nil {
			t.Fatal(err)
		}
	}
	w.building = communitytest.MustBuilding(t, w.cs, w.staff, "1号楼")
	return w
}

// rewardsOver returns a rewards service on the world's ledger, people,
// policies, eligibility and clock, over st: the world's store, or one
// wrapping it to count, fail or lose writes.
func (w *rewardsWorld) rewardsOver(st rewards.Store) *rewards.Service {
	return rewards.New(rewards.Deps{
		Store:       st,
		Ledger:      w.ledger,
		People:      w.st,
		Policies:    w.policies,
		Eligibility: w.elig,
		QRSecret:    []byte("test-qr-secret-0123456789abcdef"),
		NewID:       communitytest.NewID,
		Now:         w.rewardClock.Now,
		Notify:      community.NoNotifier{},
	})
}

var phoneSeq sync.Mutex
var phoneN = 0

// resident creates a resident in a household of their own with points.
func (w *rewardsWorld) resident(name string, birthYear int, points int64) models.Principal {
	w.t.Helper()
	phoneSeq.Lock()
	phoneN++
	n := phoneN
	phoneSeq.Unlock()
	h, err := w.cs.CreateHousehold(ctx, w.staff, w.building.ID, fmt.Sprintf("%d", 1000+n), []string{fmt.Sprintf("沪E%05d", n)}, community.Idempotency{})
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := w.cs.CreateResident(ctx, w.staff, directory.NewResident{
		Name:        name,
		Phone:       fmt.Sprintf("135%08d", n),
		BirthYear:   birthYear,
		HouseholdID: h.ID,
		Password:    "initial-pw",
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if points > 0 {
		if _, err := w.ledger.Post(ctx, ledger.Posting{
			OpID:        "seed:" + r.ID,
			Hash:        "x",
			Account:     models.AccountOf(r.ID, models.AssetPoints),
			CommunityID: "A",
			Delta:       points,
			Kind:        models.KindAward,
			Actor:       "test",
		}); err != nil {
			w.t.Fatal(err)
		}
	}
	return communitytest.Resident("A", r.ID)
}

func (w *rewardsWorld) clerk(id string, merchant models.Partner) models.Principal {
	return models.Principal{
		ResidentID:  id,
		CommunityID: "A",
		Roles:       []models.Role{models.RoleMerchantClerk},
		MerchantID:  merchant.ID,
	}
}

func (w *rewardsWorld) partnerLogin(id string, pt models.Partner) models.Principal {
	return models.Principal{
		ResidentID:  id,
		CommunityID: "A",
		Roles:       []models.Role{models.RolePartner},
		PartnerID:   pt.ID,
	}
}

func (w *rewardsWorld) reward(r models.Reward) models.Reward {
	w.t.Helper()
	if r.Bearer == "" {
		r.Bearer = models.BearerCommunity
	}
	if r.Title == "" {
		r.Title = "测试项目"
	}
	if r.PartnerID == "" {
		switch r.Kind {
		case models.RewardParking:
			r.PartnerID = w.parking.ID
		case models.RewardPropertyFee:
			r.PartnerID = w.property.ID
		default:
			r.PartnerID = w.shop.ID
		}
	}
	out, err := w.rs.CreateReward(ctx, w.staff, r, community.Idempotency{})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *rewardsWorld) balance(p models.Principal) int64 {
	w.t.Helper()
	b, err := w.ledger.Balance(ctx, models.AccountOf(p.ResidentID, models.AssetPoints))
	if err != nil {
		w.t.Fatal(err)
	}
	return b.Amount
}

func (w *rewardsWorld) events(partnerID string) []models.SettlementEvent {
	w.t.Helper()
	var out []models.SettlementEvent
	err := w.st.EachSettlementEvent(ctx, partnerID, rewardsStart.AddDate(-1, 0, 0), rewardsStart.AddDate(1, 0, 0), func(e models.SettlementEvent) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *rewardsWorld) mustAudit() {
	w.t.Helper()
	r, err := w.ledger.Audit(ctx)
	if err != nil || !r.OK() {
		w.t.Fatalf("audit: %v %+v", err, r.Problems)
	}
}

func idemOf(p models.Principal, key string) community.Idempotency {
	return community.Idempotency{
		Key:  key,
		OpID: "k:" + p.ResidentID + ":" + key,
		Hash: "h:" + key,
	}
}

func TestFiftyRedemptionsAgainstStockOfTen(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardParking,
		Points:     10,
		ValueFen:   500,
		StockTotal: 10,
	})
	var people []models.Principal
	for i := range 10 {
		people = append(people, w.resident(fmt.Sprintf("居民%d", i), 1980, 1000))
	}
	var mu sync.Mutex
	codes := map[models.Code]int{}
	atonce.Run(50, func(i int) {
		p := people[i%10]
		_, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, fmt.Sprintf("stock-%02d", i)))
		mu.Lock()
		codes[models.CodeOf(err)]++
		mu.Unlock()
		if err != nil && models.CodeOf(err) == "" {
			t.Error(err)
		}
	})
	if codes[""] != 10 || codes[models.ErrSoldOut.Code] != 40 {
		t.Fatalf("outcomes %v; want 10 redeemed and 40 SOLD_OUT", codes)
	}
	var spent int64
	for _, p := range people {
		spent += 1000 - w.balance(p)
	}
	if spent != 100 {
		t.Fatalf("points held %d; want 100", spent)
	}
	// Cancelling one gives its unit back: exactly one more can be had.
	var held models.Redemption
	var holder models.Principal
	for _, p := range people {
		mine, _, err := w.rs.MyRedemptions(ctx, p, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range mine {
			if r.Status == models.RedemptionHeld {
				held, holder = r, p
			}
		}
	}
	if _, err := w.rs.Cancel(ctx, holder, held.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.Redeem(ctx, people[1], reward.ID, idemOf(people[1], "after-cancel-1")); err != nil {
		t.Fatalf("after a cancel one unit is free: %v", err)
	}
	_, err := w.rs.Redeem(ctx, people[1], reward.ID, idemOf(people[1], "after-cancel-2"))
	communitytest.WantCode(t, "eleventh unit", err, models.ErrSoldOut)
	w.mustAudit()
}

func TestMonthlyLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     20,
		ValueFen:   1000,
		LimitMonth: 3,
	})
	p := w.resident("王阿姨", 1960, 1000)
	var mu sync.Mutex
	codes := map[models.Code]int{}
	atonce.Run(20, func(i int) {
		_, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, fmt.Sprintf("limit-%02d", i)))
		mu.Lock()
		codes[models.CodeOf(err)]++
		mu.Unlock()
	})
	if codes[""] != 3 || codes[models.ErrLimitReached.Code] != 17 {
		t.Fatalf("outcomes %v; want 3 redeemed and 17 LIMIT_REACHED", codes)
	}
	if got := w.balance(p); got != 1000-3*20 {
		t.Fatalf("balance %d; want %d", got, 1000-60)
	}
	// Next month the limit starts again.
	w.rewardClock.Advance(15 * 24 * time.Hour)
	if _, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "limit-next-month")); err != nil {
		t.Fatalf("next month: %v", err)
	}
	w.mustAudit()
}

func TestRedeemRepeatWithSameKeyHoldsOnce(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardParking,
		Points:     30,
		ValueFen:   500,
		StockTotal: 5,
	})
	p := w.resident("李", 1970, 100)
	var mu sync.Mutex
	seen := map[string]int{}
	atonce.Run(10, func(int) {
		r, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "same-key-1"))
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		seen[r.ID+"/"+r.Code]++
		mu.Unlock()
	})
	if len(seen) != 1 || w.balance(p) != 70 {
		t.Fatalf("redemptions %v, balance %d; want one redemption and 70", seen, w.balance(p))
	}
	other := idemOf(p, "same-key-1")
	other.Hash = "another body"
	_, err := w.rs.Redeem(ctx, p, reward.ID, other)
	communitytest.WantCode(t, "same key, other body", err, models.ErrIdempotencyMismatch)
}

// A step that fails after earlier ones succeeded gives back what they
// took: a resident without the points does not use up the last unit.
func TestFailedHoldGivesBackTheUnit(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardParking,
		Points:     50,
		ValueFen:   500,
		StockTotal: 1,
		LimitMonth: 1,
	})
	poor := w.resident("穷", 1970, 10)
	_, err := w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, "poor-1"))
	communitytest.WantCode(t, "without points", err, models.ErrInsufficientPoints)
	// The repeat replays the refusal; it does not take the unit again.
	_, err = w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, "poor-1"))
	communitytest.WantCode(t, "repeat", err, models.ErrInsufficientPoints)
	rich := w.resident("富", 1970, 100)
	if _, err := w.rs.Redeem(ctx, rich, reward.ID, idemOf(rich, "rich-1")); err != nil {
		t.Fatalf("the unit should be free: %v", err)
	}
	if _, err := w.ledger.Post(ctx, ledger.Posting{
		OpID:        "topup",
		Hash:        "x",
		Account:     models.AccountOf(poor.ResidentID, models.AssetPoints),
		CommunityID: "A",
		Delta:       100,
		Kind:        models.KindAward,
		Actor:       "test",
	}); err != nil {
		t.Fatal(err)
	}
	_, err = w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, "poor-2"))
	communitytest.WantCode(t, "sold out now", err, models.ErrSoldOut)
}

func TestIneligibleResidentsAreRefused(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	young := w.resident("小张", 2000, 1000)
	old := w.resident("老张", 1950, 1000)
	cases := []struct {
		name   string
		reward models.Reward
		who    models.Principal
		rule   string
		setup  func()
	}{
		{"not listed", models.Reward{HonourOnly: true}, young, "honour_roll", nil},
		{"wrong star", models.Reward{MinStar: 2}, young, "star_level", func() {
			r := communitytest.MustResidentByID(t, w.st, young.ResidentID)
			w.elig.mu.Lock()
			w.elig.stars[r.HouseholdID] = 1
			w.elig.mu.Unlock()
		}},
		{"too young", models.Reward{MinAge: 70}, young, "age", nil},
		{"not a head", models.Reward{HeadsOnly: true}, young, "building_head", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			c.reward.Kind, c.reward.Points, c.reward.ValueFen = models.RewardParking, 10, 100
			reward := w.reward(c.reward)
			_, err := w.rs.Redeem(ctx, c.who, reward.ID, idemOf(c.who, "elig-"+reward.ID))
			communitytest.WantCode(t, c.name, err, models.ErrNotEligible)
			if !strings.Contains(err.Error(), c.rule) {
				t.Fatalf("%s: %v does not name the rule %s", c.name, err, c.rule)
			}
			if w.balance(c.who) != 1000 {
				t.Fatalf("%s: points moved", c.name)
			}
		})
	}
	// A parking reduction needs a registered plate.
	noCar := communitytest.MustHousehold(t, w.cs, w.staff, w.building.ID, "无车户")
	walker, err := w.cs.CreateResident(ctx, w.staff, directory.NewResident{
		Name:        "步行",
		Phone:       "13612345678",
		BirthYear:   1980,
		HouseholdID: noCar.ID,
		Password:    "initial-pw",
	})
	if err != nil {
		t.Fatal(err)
	}
	park := w.reward(models.Reward{
		Kind:     models.RewardParking,
		Points:   10,
		ValueFen: 100,
	})
	wp := communitytest.Resident("A", walker.ID)
	_, err = w.rs.Redeem(ctx, wp, park.ID, idemOf(wp, "no-plate"))
	communitytest.WantCode(t, "no plate", err, models.ErrNotEligible)
	if err == nil || !strings.Contains(err.Error(), "plate") {
		t.Fatalf("no plate: %v", err)
	}
	// The same rules let the right residents through.
	w.elig.mu.Lock()
	w.elig.listed[old.ResidentID] = true
	w.elig.heads[old.ResidentID] = true
	w.elig.stars[communitytest.MustResidentByID(t, w.st, old.ResidentID).HouseholdID] = 3
	w.elig.mu.Unlock()
	reward := w.reward(models.Reward{
		Kind:       models.RewardParking,
		Points:     10,
		ValueFen:   100,
		HonourOnly: true,
		MinStar:    2,
		MinAge:     70,
		HeadsOnly:  true,
	})
	redemption, err := w.rs.Redeem(ctx, old, reward.ID, idemOf(old, "elig-ok"))
	if err != nil {
		t.Fatalf("eligible resident refused: %v", err)
	}
	if !strings.HasPrefix(redemption.Plate, "沪E") {
		t.Fatalf("parking reduction without the household's plate: %+v", redemption)
	}
	// The liability report sees the held redemption with its points: it is
	// the only one held, and its saved status is still opening.
	if held, err := w.rs.HeldPoints(ctx, "A", w.rewardClock.Now()); err != nil || held != 10 {
		t.Fatalf("held points %d, %v; want the redemption's 10", held, err)
	}
}

func TestCancelAndExpiryRaceReturnPointsOnce(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardParking,
		Points:   40,
		ValueFen: 500,
	})
	for round := range 3 {
		p := w.resident(fmt.Sprintf("竞%d", round), 1970, 100)
		redemption := w.mustRedeem(p, reward.ID, idemOf(p, "race-1"))
		if w.balance(p) != 60 {
			t.Fatalf("held: %d", w.balance(p))
		}
		w.rewardClock.Advance(15 * 24 * time.Hour) // past the 14-day hold
		var mu sync.Mutex
		outcomes := map[models.Code]int{}
		atonce.Run(12, func(i int) {
			var err error
			if i%2 == 0 {
				_, err = w.rs.Cancel(ctx, p, redemption.ID)
			} else {
				_, err = w.rs.ExpireHolds(ctx, w.rewardClock.Now())
			}
			mu.Lock()
			outcomes[models.CodeOf(err)]++
			mu.Unlock()
			if err != nil && models.CodeOf(err) == "" {
				t.Error(err)
			}
		})
		if w.balance(p) != 100 {
			t.Fatalf("round %d: balance %d after cancel/expiry race; want 100 (outcomes %v)", round, w.balance(p), outcomes)
		}
		got, err := w.rs.Redemption(ctx, p, redemption.ID)
		if err != nil || (got.Status != models.RedemptionCancelled && got.Status != models.RedemptionExpired) {
			t.Fatalf("status %v %v", got.Status, err)
		}
		// Cancelling again later changes nothing.
		_, _ = w.rs.Cancel(ctx, p, redemption.ID)
		if n, _ := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); n != 0 || w.balance(p) != 100 {
			t.Fatalf("a second pass expired %d, balance %d", n, w.balance(p))
		}
	}
	w.mustAudit()
}

func TestHoldExpiresAfterPolicyDays(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Points:   40,
		ValueFen: 500,
	})
	p := w.resident("期", 1970, 100)
	redemption := w.mustRedeem(p, reward.ID, idemOf(p, "exp-1"))
	w.rewardClock.Advance(13 * 24 * time.Hour)
	if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 0 {
		t.Fatalf("day 13: expired %d %v", n, err)
	}
	w.rewardClock.Advance(2 * 24 * time.Hour)
	if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 1 {
		t.Fatalf("day 15: expired %d %v", n, err)
	}
	if w.balance(p) != 100 {
		t.Fatalf("balance %d", w.balance(p))
	}
	pm := w.partnerLogin("pm", w.property)
	_, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-1", "2026-12-01", idemOf(pm, "apply-late"))
	communitytest.WantCode(t, "apply after expiry", err, models.ErrRedemptionClosed)
}

// mustRedeem redeems reward rewardID for p under idem, or stops the test.
func (w *rewardsWorld) mustRedeem(p models.Principal, rewardID string, idem community.Idempotency) models.Redemption {
	w.t.Helper()
	redemption, err := w.rs.Redeem(ctx, p, rewardID, idem)
	if err != nil {
		w.t.Fatalf("redeem %s: %v", rewardID, err)
	}
	return redemption
}

// mustScan has clerk scan token under idem, or stops the test.
func (w *rewardsWorld) mustScan(clerk models.Principal, token string, idem community.Idempotency) rewards.ScanResult {
	w.t.Helper()
	res, err := w.rs.Scan(ctx, clerk, token, idem)
	if err != nil {
		w.t.Fatalf("scan: %v", err)
	}
	return res
}

func (w *rewardsWorld) scanToken(p models.Principal, reward models.Reward) string {
	w.t.Helper()
	tok, err := w.rs.IssueQR(ctx, p, reward.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return tok.Token
}

func TestQRTokenScannedByTwoClerksRedeemsOnce(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Title:    "早餐套餐",
		Points:   20,
		ValueFen: 800,
		Bearer:   models.BearerPartner,
	})
	p := w.resident("王小明", 1980, 100)
	tok := w.scanToken(p, reward)
	var mu sync.Mutex
	codes := map[models.Code]int{}
	var winner rewards.ScanResult
	atonce.Run(8, func(i int) {
		c := w.clerk(fmt.Sprintf("clerk-%d", i), w.shop)
		res, err := w.rs.Scan(ctx, c, tok, idemOf(c, "scan-key-1"))
		mu.Lock()
		defer mu.Unlock()
		codes[models.CodeOf(err)]++
		if err == nil {
			winner = res
		} else if models.CodeOf(err) == "" {
			t.Error(err)
		}
	})
	if codes[""] != 1 || codes[models.ErrAlreadyRedeemed.Code] != 7 {
		t.Fatalf("outcomes %v; want one redemption and 7 ALREADY_REDEEMED", codes)
	}
	if winner.MaskedName != "王**" || winner.Redemption.Title != "早餐套餐" || winner.Redemption.Status != models.RedemptionFulfilled {
		t.Fatalf("scan result %+v", winner)
	}
	if w.balance(p) != 80 {
		t.Fatalf("balance %d; want 80", w.balance(p))
	}
	ev := w.events(w.shop.ID)
	if len(ev) != 1 || ev[0].ID != "fulfil:"+winner.Redemption.ID || ev[0].ValueFen != 800 || ev[0].Bearer != models.BearerPartner {
		t.Fatalf("settlement events %+v", ev)
	}

	// Another merchant's clerk may not use a token, and does not burn it.
	tok2 := w.scanToken(p, reward)
	_, err := w.rs.Scan(ctx, w.clerk("other", w.shop2), tok2, idemOf(w.clerk("other", w.shop2), "scan-other"))
	communitytest.WantCode(t, "other merchant", err, models.ErrForbidden)
	// A forged or mangled token is invalid.
	for _, bad := range []string{"", "abc", tok2 + "x", "x" + tok2, strings.Replace(tok2, ".", "..", 1), strings.SplitN(tok2, ".", 2)[0] + ".AAAA"} {
		_, err := w.rs.Scan(ctx, w.clerk("c", w.shop), bad, idemOf(w.clerk("c", w.shop), "scan-bad"))
		communitytest.WantCode(t, "forged "+bad, err, models.ErrTokenInvalid)
	}
	// An expired token is refused.
	w.rewardClock.Advance(rewards.QRLifetime + time.Second)
	_, err = w.rs.Scan(ctx, w.clerk("c", w.shop), tok2, idemOf(w.clerk("c", w.shop), "scan-late"))
	communitytest.WantCode(t, "expired", err, models.ErrTokenExpired)
	w.mustAudit()
}

func TestQRIssuanceIsRateLimited(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Points:   20,
		ValueFen: 800,
	})
	p := w.resident("快", 1980, 100)
	for i := range rewards.QRPerMinute {
		if _, err := w.rs.IssueQR(ctx, p, reward.ID); err != nil {
			t.Fatalf("issue %d: %v", i, err)
		}
	}
	_, err := w.rs.IssueQR(ctx, p, reward.ID)
	communitytest.WantCode(t, "eleventh in a minute", err, models.ErrRateLimited)
	w.rewardClock.Advance(time.Minute)
	if _, err := w.rs.IssueQR(ctx, p, reward.ID); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}

func TestMerchantRefundWithinWindow(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Title:    "理发",
		Points:   30,
		ValueFen: 1500,
		Bearer:   models.BearerPartner,
	})
	p := w.resident("赵", 1980, 100)
	c := w.clerk("clerk", w.shop)
	res := w.mustScan(c, w.scanToken(p, reward), idemOf(c, "refund-scan-1"))
	w.rewardClock.Advance(6 * 24 * time.Hour)
	_, err := w.rs.Refund(ctx, w.clerk("x", w.shop2), res.Redemption.ID, "")
	communitytest.WantCode(t, "other merchant's refund", err, models.ErrForbidden)
	atonce.Run(6, func(int) {
		if _, err := w.rs.Refund(ctx, c, res.Redemption.ID, "顾客不满意"); err != nil {
			t.Error(err)
		}
	})
	if w.balance(p) != 100 {
		t.Fatalf("balance %d after refund; want 100", w.balance(p))
	}
	ev := w.events(w.shop.ID)
	if len(ev) != 2 || ev[1].ID != "reverse:"+res.Redemption.ID+":1" || ev[1].ValueFen != -1500 || ev[1].Kind != models.EventReversed ||
		ev[1].Undoes != ev[0].ID {
		t.Fatalf("settlement events %+v", ev)
	}
	// After the window, no refund.
	res2 := w.mustScan(c, w.scanToken(p, reward), idemOf(c, "refund-scan-2"))
	w.rewardClock.Advance(8 * 24 * time.Hour)
	_, err = w.rs.Refund(ctx, c, res2.Redemption.ID, "")
	communitytest.WantCode(t, "after the window", err, models.ErrRefundWindowEnded)
	if w.balance(p) != 70 {
		t.Fatalf("balance %d; want 70", w.balance(p))
	}
	day := rewardsStart.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	list, _, err := w.rs.MerchantDay(ctx, c, day, "", 0)
	if err != nil || len(list) != 1 || list[0].ID != res.Redemption.ID {
		t.Fatalf("clerk's day %s: %v %+v", day, err, list)
	}
	w.mustAudit()
}

func TestVoidedBillReturnsTheCreditOnce(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:                models.RewardPropertyFee,
		Title:               "物业费优惠",
		Points:              50,
		ValueFen:            2000,
		HouseholdYearCapFen: 4000,
	})
	p := w.resident("钱", 1970, 500)
	redemption := w.mustRedeem(p, reward.ID, idemOf(p, "fee-1"))
	pm := w.partnerLogin("pm", w.property)
	_, err := w.rs.ApplyCredit(ctx, w.partnerLogin("pk", w.parking), redemption.ID, "B-1", "2026-12-01", idemOf(pm, "apply-pk"))
	communitytest.WantCode(t, "parking operator applying a fee credit", err, models.ErrForbidden)
	pending, _, err := w.rs.PendingCredits(ctx, pm, "", 0)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %v %d", err, len(pending))
	}
	if _, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-1", "2026-12-01", idemOf(pm, "apply-1")); err != nil {
		t.Fatal(err)
	}
	atonce.Run(8, func(i int) {
		if _, err := w.rs.VoidCredit(ctx, pm, redemption.ID, "账单作废", idemOf(pm, fmt.Sprintf("void-%d", i))); err != nil && models.CodeOf(err) != models.ErrRedemptionClosed.Code {
			t.Error(err)
		}
	})
	got, err := w.rs.Redemption(ctx, p, redemption.ID)
	if err != nil || got.Status != models.RedemptionHeld || got.Generation != 2 {
		t.Fatalf("after void: %+v %v", got, err)
	}
	ev := w.events(w.property.ID)
	if len(ev) != 2 || ev[1].ID != "reverse:"+redemption.ID+":1" || ev[1].ValueFen != -2000 {
		t.Fatalf("events %+v", ev)
	}
	if _, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-2", "2026-12-05", idemOf(pm, "apply-2")); err != nil {
		t.Fatal(err)
	}
	ev = w.events(w.property.ID)
	byID := map[string]models.Fen{}
	for _, e := range ev {
		byID[e.ID] = e.ValueFen
	}
	if len(ev) != 3 || byID["fulfil:"+redemption.ID] != 2000 || byID["reverse:"+redemption.ID+":1"] != -2000 || byID["fulfil:"+redemption.ID+":2"] != 2000 {
		t.Fatalf("events %+v", ev)
	}
	if w.balance(p) != 450 {
		t.Fatalf("balance %d; the points stay spent", w.balance(p))
	}
	// The household cap (4000 fen a year = two credits) holds.
	if _, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "fee-2")); err != nil {
		t.Fatal(err)
	}
	_, err = w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "fee-3"))
	communitytest.WantCode(t, "over the household cap", err, models.ErrLimitReached)
	w.mustAudit()
}

func TestGateEventReplayedCountsOnce(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	elder := w.resident("王奶奶", 1950, 0)
	young := w.resident("小王", 1990, 0)
	_, err := w.rs.RegisterFilialPlate(ctx, young, "", "沪B12345")
	communitytest.WantCode(t, "too young to register", err, models.ErrNotEligible)
	if _, err := w.rs.RegisterFilialPlate(ctx, elder, "", "沪b 66688"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.RegisterFilialPlate(ctx, w.staff, elder.ResidentID, "沪C11111"); err != nil {
		t.Fatal(err)
	}
	b, err := w.rs.BookFilialVisit(ctx, elder, "沪B66688", "2026-11-21")
	if err != nil || b.Bay != 1 {
		t.Fatalf("booking %+v %v", b, err)
	}
	_, err = w.rs.BookFilialVisit(ctx, elder, "沪B66688", "2026-11-23")
	communitytest.WantCode(t, "a Monday", err, models.ErrNotFilialDay)

	op := w.partnerLogin("gate", w.parking)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 21, h, m, 0, 0, time.FixedZone("CST", 8*3600)) }
	if _, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "e1",
		Plate:     "沪B66688",
		Direction: models.GateIn,
		At:        at(9, 0),
	}); err != nil {
		t.Fatal(err)
	}
	w.rewardClock.Advance(12 * time.Hour)
	out := rewards.GateEventIn{
		EventID:   "e2",
		Plate:     "沪B66688",
		Direction: models.GateOut,
		At:        at(17, 0),
	}
	var mu sync.Mutex
	free := map[models.Minutes]int{}
	atonce.Run(10, func(int) {
		ev, err := w.rs.GateEvent(ctx, op, out)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		free[ev.FreeMinutes]++
		mu.Unlock()
	})
	if len(free) != 1 || free[330] != 10 {
		t.Fatalf("free minutes over 10 replays: %v; want 330 every time", free)
	}
	// A second exit of the same visit gets nothing more.
	if _, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "e3",
		Plate:     "沪B66688",
		Direction: models.GateIn,
		At:        at(17, 30),
	}); err != nil {
		t.Fatal(err)
	}
	ev, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "e4",
		Plate:     "沪B66688",
		Direction: models.GateOut,
		At:        at(18, 30),
	})
	if err != nil || ev.FreeMinutes != 0 {
		t.Fatalf("second exit: %+v %v", ev, err)
	}
	// An unregistered plate, and a registered one without a booking, get none.
	for i, plate := range []string{"沪D99999", "沪C11111"} {
		in := rewards.GateEventIn{
			EventID:   fmt.Sprintf("u%d-in", i),
			Plate:     plate,
			Direction: models.GateIn,
			At:        at(9, 0),
		}
		if _, err := w.rs.GateEvent(ctx, op, in); err != nil {
			t.Fatal(err)
		}
		ev, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
			EventID:   fmt.Sprintf("u%d-out", i),
			Plate:     plate,
			Direction: models.GateOut,
			At:        at(12, 0),
		})
		if err != nil || ev.FreeMinutes != 0 {
			t.Fatalf("%s: %+v %v", plate, ev, err)
		}
	}
	// A visit outside the hours gets none.
	if _, err := w.rs.BookFilialVisit(ctx, w.staff, "沪C11111", "2026-11-22"); err != nil {
		t.Fatal(err)
	}
	day2 := func(h int) time.Time { return time.Date(2026, 11, 22, h, 0, 0, 0, time.FixedZone("CST", 8*3600)) }
	w.rewardClock.Advance(24 * time.Hour)
	if _, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "n-in",
		Plate:     "沪C11111",
		Direction: models.GateIn,
		At:        day2(19),
	}); err != nil {
		t.Fatal(err)
	}
	ev, err = w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "n-out",
		Plate:     "沪C11111",
		Direction: models.GateOut,
		At:        day2(22),
	})
	if err != nil || ev.FreeMinutes != 0 {
		t.Fatalf("evening visit: %+v %v", ev, err)
	}
	// The same event id with another plate is refused.
	_, err = w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "e2",
		Plate:     "沪C11111",
		Direction: models.GateOut,
		At:        at(17, 0),
	})
	communitytest.WantCode(t, "event id reused", err, models.ErrIdempotencyMismatch)
	// Only the parking operator posts gate events.
	_, err = w.rs.GateEvent(ctx, w.partnerLogin("pm", w.property), out)
	communitytest.WantCode(t, "property company", err, models.ErrForbidden)
}

func TestVisitorBaysFirstComeFirstServed(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	elder := w.resident("老李", 1945, 0)
	plates := []string{}
	for i := range 12 {
		pl := fmt.Sprintf("沪A%05d", 10000+i)
		if _, err := w.rs.RegisterFilialPlate(ctx, elder, "", pl); err != nil {
			t.Fatal(err)
		}
		plates = append(plates, pl)
	}
	var mu sync.Mutex
	codes := map[models.Code]int{}
	bays := map[int]bool{}
	atonce.Run(12, func(i int) {
		b, err := w.rs.BookFilialVisit(ctx, elder, plates[i], "2026-11-28")
		mu.Lock()
		defer mu.Unlock()
		codes[models.CodeOf(err)]++
		if err == nil {
			bays[b.Bay] = true
		}
	})
	if codes[""] != 5 || codes[models.ErrBaysFull.Code] != 7 || len(bays) != 5 {
		t.Fatalf("outcomes %v bays %v; want 5 distinct bays and 7 BAYS_FULL", codes, bays)
	}
}

func TestRewardsAuthorization(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	p := w.resident("甲", 1980, 100)
	_, err := w.rs.CreateReward(ctx, p, models.Reward{
		Kind:      models.RewardParking,
		Title:     "x",
		PartnerID: w.parking.ID,
		Points:    1,
		Bearer:    models.BearerCommunity,
	}, community.Idempotency{})
	communitytest.WantCode(t, "resident creating a reward", err, models.ErrForbidden)
	_, err = w.rs.CreateReward(ctx, w.staff, models.Reward{
		Kind:      models.RewardParking,
		Title:     "x",
		PartnerID: w.shop.ID,
		Points:    1,
		Bearer:    models.BearerCommunity,
	}, community.Idempotency{})
	communitytest.WantCode(t, "parking reward honoured by a shop", err, models.ErrValidation)
	reward := w.reward(models.Reward{
		Kind:     models.RewardParking,
		Points:   10,
		ValueFen: 100,
	})
	redemption := w.mustRedeem(p, reward.ID, idemOf(p, "auth-1"))
	// Staff withdraw the reward: residents no longer see or redeem it.
	reward.Disabled = true
	if _, err := w.rs.UpdateReward(ctx, w.staff, reward.ID, reward); err != nil {
		t.Fatal(err)
	}
	_, err = w.rs.UpdateReward(ctx, p, reward.ID, reward)
	communitytest.WantCode(t, "resident updating a reward", err, models.ErrForbidden)
	list, err := w.rs.Rewards(ctx, p, false)
	if err != nil || len(list) != 0 {
		t.Fatalf("withdrawn reward still listed: %v %+v", err, list)
	}
	if all, err := w.rs.Rewards(ctx, w.staff, true); err != nil || len(all) != 1 || !all[0].Disabled {
		t.Fatalf("staff listing: %v %+v", err, all)
	}
	_, err = w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "auth-2"))
	communitytest.WantCode(t, "withdrawn reward", err, models.ErrRewardInactive)
	q := w.resident("乙", 1980, 100)
	_, err = w.rs.Cancel(ctx, q, redemption.ID)
	communitytest.WantCode(t, "someone else's cancel", err, models.ErrForbidden)
	_, err = w.rs.Redemption(ctx, models.Principal{
		ResidentID:  "b1",
		CommunityID: "B",
		Roles:       []models.Role{models.RoleStaff},
	}, redemption.ID)
	communitytest.WantCode(t, "another community's staff", err, models.ErrNotFound)
	if errors.Is(err, models.ErrForbidden) {
		t.Fatal("leaks existence")
	}
}

// flakyRewardStore fails chosen writes once, as a crash or a lost
// connection between two steps would.
type flakyRewardStore struct {
	*store.Store
	mu       sync.Mutex
	failSlot string // the first InsertSlot whose id starts with this fails
}

var errLost = errors.New("connection lost")

func (f *flakyRewardStore) InsertSlot(ctx context.Context, id, holder string, at time.Time) error {
	f.mu.Lock()
	fail := f.failSlot != "" && strings.HasPrefix(id, f.failSlot)
	if fail {
		f.failSlot = ""
	}
	f.mu.Unlock()
	if fail {
		return errLost
	}
	return f.Store.InsertSlot(ctx, id, holder, at)
}

// A redemption interrupted between its steps is finished by the client's
// repeat, or by the hold-expiry job, without taking anything twice.
func TestInterruptedRedemptionIsFinishedNotDoubled(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	flaky := &flakyRewardStore{Store: w.st}
	w.rs = w.rewardsOver(flaky)
	reward := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     10,
		ValueFen:   100,
		StockTotal: 2,
		LimitMonth: 1,
	})
	p := w.resident("断线", 1970, 100)

	// Lost after the limit slot, before the stock slot.
	flaky.failSlot = "take:stock:"
	if _, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "flaky-1")); !errors.Is(err, errLost) {
		t.Fatalf("first attempt: %v", err)
	}
	redemption, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "flaky-1"))
	if err != nil || redemption.Status != models.RedemptionHeld {
		t.Fatalf("repeat: %+v %v", redemption, err)
	}
	if w.balance(p) != 90 {
		t.Fatalf("balance %d; want one hold", w.balance(p))
	}
	_, err = w.rs.Redeem(ctx, p, reward.ID, idemOf(p, "flaky-2"))
	communitytest.WantCode(t, "the limit was used once, not twice", err, models.ErrLimitReached)

	// Lost in the same place and never repeated: the job finishes it, and
	// saves the status the hold decided.
	q := w.resident("断线2", 1970, 100)
	flaky.failSlot = "take:stock:"
	if _, err := w.rs.Redeem(ctx, q, reward.ID, idemOf(q, "flaky-3")); !errors.Is(err, errLost) {
		t.Fatalf("first attempt: %v", err)
	}
	if _, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil {
		t.Fatal(err)
	}
	mine, _, err := w.rs.MyRedemptions(ctx, q, "", 0)
	if err != nil || len(mine) != 1 || mine[0].Status != models.RedemptionOpening || w.balance(q) != 100 {
		t.Fatalf("a job before ten minutes must leave it to its request: %v %+v balance %d", err, mine, w.balance(q))
	}
	w.rewardClock.Advance(11 * time.Minute)
	if _, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil {
		t.Fatal(err)
	}
	mine, _, err = w.rs.MyRedemptions(ctx, q, "", 0)
	if err != nil || len(mine) != 1 || mine[0].Status != models.RedemptionHeld || w.balance(q) != 90 {
		t.Fatalf("after the job: %v %+v balance %d", err, mine, w.balance(q))
	}
	if saved, _, err := w.st.Redemption(ctx, mine[0].ID); err != nil || saved.Status != models.RedemptionHeld {
		t.Fatalf("saved %+v, %v; want the job to save held", saved, err)
	}
	// Both units of stock are taken, once each.
	r := w.resident("第三", 1970, 100)
	_, err = w.rs.Redeem(ctx, r, reward.ID, idemOf(r, "flaky-4"))
	communitytest.WantCode(t, "third unit", err, models.ErrSoldOut)
	w.mustAudit()
}

// countedStore is the store, counting redemption status saves and reward
// reads.
type countedStore struct {
	*store.Store
	saves, rewardReads atomic.Int64
}

func (c *countedStore) SaveRedemptionState(ctx context.Context, r models.Redemption) error {
	c.saves.Add(1)
	return c.Store.SaveRedemptionState(ctx, r)
}

func (c *countedStore) Reward(ctx context.Context, id string) (models.Reward, error) {
	c.rewardReads.Add(1)
	return c.Store.Reward(ctx, id)
}

// A replica reads a reward once and then redeems from what it read; a
// change it makes itself applies to its next redemption at once.
func TestCatalogueSparesRewardReadsAndSeesItsOwnChanges(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	counted := &countedStore{Store: w.st}
	replica := func() *rewards.Service {
		return w.rewardsOver(counted)
	}
	w.rs = replica()
	fee := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Points:   10,
		ValueFen: 100,
	})
	p := w.resident("周", 1970, 200)
	for i := range 2 {
		if _, err := w.rs.Redeem(ctx, p, fee.ID, idemOf(p, fmt.Sprintf("cat-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := counted.rewardReads.Load(); n != 0 {
		t.Fatalf("the replica that created the reward read it %d times; want none", n)
	}
	fee.Points = 30
	if _, err := w.rs.UpdateReward(ctx, w.staff, fee.ID, fee); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.Redeem(ctx, p, fee.ID, idemOf(p, "cat-2")); err != nil {
		t.Fatal(err)
	}
	if b := w.balance(p); b != 200-10-10-30 {
		t.Fatalf("balance %d; want the new price held at once", b)
	}
	other := replica()
	for i := range 2 {
		if _, err := other.Redeem(ctx, p, fee.ID, idemOf(p, fmt.Sprintf("cat-other-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := counted.rewardReads.Load(); n != 1 {
		t.Fatalf("another replica read the reward %d times for two redemptions; want once", n)
	}
	if b := w.balance(p); b != 200-10-10-30-60 {
		t.Fatalf("balance %d; want the other replica to hold the new price", b)
	}
}

// Redeem and scan, the hot paths, save no status: the hold and the scan's
// mark decide the redemption. Every reader follows them, so none sees the
// saved "opening", and the hold-expiry job saves what they decided.
func TestHotPathsSaveNoStatusYetEveryReaderSeesIt(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	counted := &countedStore{Store: w.st}
	w.rs = w.rewardsOver(counted)
	fee := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     10,
		ValueFen:   100,
		StockTotal: 5,
	})
	breakfast := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Points:   20,
		ValueFen: 800,
		Bearer:   models.BearerPartner,
	})
	p := w.resident("钱", 1970, 100)
	c := w.clerk("clerk", w.shop)
	credit, err := w.rs.Redeem(ctx, p, fee.ID, idemOf(p, "hot-1"))
	if err != nil || credit.Status != models.RedemptionHeld {
		t.Fatalf("redeem: %+v %v", credit, err)
	}
	scan, err := w.rs.Scan(ctx, c, w.scanToken(p, breakfast), idemOf(c, "hot-2"))
	if err != nil || scan.Redemption.Status != models.RedemptionFulfilled {
		t.Fatalf("scan: %+v %v", scan, err)
	}
	if n := counted.saves.Load(); n != 0 {
		t.Fatalf("redeem and scan saved a status %d times; want none", n)
	}
	want := map[string]models.RedemptionStatus{credit.ID: models.RedemptionHeld, scan.Redemption.ID: models.RedemptionFulfilled}
	for id, status := range want {
		if saved, _, err := w.st.Redemption(ctx, id); err != nil || saved.Status != models.RedemptionOpening {
			t.Fatalf("saved %+v, %v; want it left opening", saved, err)
		}
		if got, err := w.rs.Redemption(ctx, p, id); err != nil || got.Status != status {
			t.Fatalf("redemption %s: %+v %v; want %s", id, got, err, status)
		}
	}
	mine, _, err := w.rs.MyRedemptions(ctx, p, "", 0)
	if err != nil || len(mine) != 2 {
		t.Fatalf("my redemptions: %+v %v", mine, err)
	}
	for _, r := range mine {
		if r.Status != want[r.ID] {
			t.Fatalf("my redemption %s is listed %s; want %s", r.ID, r.Status, want[r.ID])
		}
	}
	pending, _, err := w.rs.PendingCredits(ctx, w.partnerLogin("pm", w.property), "", 0)
	if err != nil || len(pending) != 1 || pending[0].ID != credit.ID || pending[0].Status != models.RedemptionHeld {
		t.Fatalf("pending credits: %+v %v", pending, err)
	}
	day, _, err := w.rs.MerchantDay(ctx, c, "", "", 0)
	if err != nil || len(day) != 1 || day[0].Status != models.RedemptionFulfilled {
		t.Fatalf("clerk's day: %+v %v", day, err)
	}
	if held, err := w.rs.HeldPoints(ctx, "A", w.rewardClock.Now()); err != nil || held != 10 {
		t.Fatalf("held points %d, %v; want the credit's 10", held, err)
	}
	// The scan's mark is the merchant redemption's final mark: no other is
	// written, and a cancel finds it decided.
	if _, err := w.st.RedemptionMark(ctx, "final:"+scan.Redemption.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("final mark of a scan: %v; want none", err)
	}
	if ev := w.events(w.shop.ID); len(ev) != 1 || ev[0].Kind != models.EventFulfilled {
		t.Fatalf("merchant's events %+v; want the fulfilment", ev)
	}
	_, err = w.rs.Cancel(ctx, p, scan.Redemption.ID)
	communitytest.WantCode(t, "cancel of a scanned redemption", err, models.ErrRedemptionClosed)
	if saves := counted.saves.Load(); saves != 0 {
		t.Fatalf("readers saved a status %d times; want none", saves)
	}

	// The job saves what the records decided, once.
	for range 2 {
		if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 0 {
			t.Fatalf("job: %d expired, %v", n, err)
		}
	}
	if n := counted.saves.Load(); n != 2 {
		t.Fatalf("two runs of the job saved %d statuses; want the two once", n)
	}
	for id, status := range want {
		if saved, _, err := w.st.Redemption(ctx, id); err != nil || saved.Status != status {
			t.Fatalf("saved %+v, %v; want %s", saved, err, status)
		}
	}

	// Past its hold period the credit expires and its points come back.
	w.rewardClock.Advance(credit.Expires.Sub(w.rewardClock.Now()) + time.Minute)
	if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 1 {
		t.Fatalf("job past the hold period: %d expired, %v", n, err)
	}
	if got, err := w.rs.Redemption(ctx, p, credit.ID); err != nil || got.Status != models.RedemptionExpired || w.balance(p) != 80 {
		t.Fatalf("after expiry: %+v %v balance %d; want expired and 80", got, err, w.balance(p))
	}
	w.mustAudit()
}

// Invariants 4 and 5 (docs/ARCHITECTURE.md §8) for partner credits: a request that applied a credit
// and lost its answer, repeated after the bill was voided and the credit is
// pending again, returns what it did and applies nothing again; a void
// repeated after the credit moved on does the same.
func TestCreditRepeatAfterVoidDoesNotApplyAgain(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Title:    "物业费优惠",
		Points:   50,
		ValueFen: 2000,
	})
	p := w.resident("孙", 1970, 500)
	redemption := w.mustRedeem(p, reward.ID, idemOf(p, "fee-1"))
	pm := w.partnerLogin("pm", w.property)
	apply1, void1 := idemOf(pm, "apply-1"), idemOf(pm, "void-1")
	applied, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-1", "2026-12-01", apply1)
	if err != nil {
		t.Fatal(err)
	}
	w.rewardClock.Advance(time.Hour)
	voided, err := w.rs.VoidCredit(ctx, pm, redemption.ID, "账单作废", void1)
	if err != nil || voided.Status != models.RedemptionHeld || voided.Generation != 2 {
		t.Fatalf("void: %+v %v", voided, err)
	}
	w.rewardClock.Advance(time.Hour)
	// Concurrent repeats of the first apply: none applies generation 2.
	atonce.Run(6, func(int) {
		again, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-1", "2026-12-01", apply1)
		if err != nil || !reflect.DeepEqual(again, applied) {
			t.Errorf("repeated apply: %v\n got  %+v\n want %+v", err, again, applied)
		}
	})
	if again, err := w.rs.VoidCredit(ctx, pm, redemption.ID, "账单作废", void1); err != nil || !reflect.DeepEqual(again, voided) {
		t.Fatalf("repeated void: %v\n got  %+v\n want %+v", err, again, voided)
	}
	if got, err := w.rs.Redemption(ctx, p, redemption.ID); err != nil || got.Status != models.RedemptionHeld || got.Generation != 2 {
		t.Fatalf("after the repeats: %+v %v", got, err)
	}
	if ev := w.events(w.property.ID); len(ev) != 2 {
		t.Fatalf("events %+v: want one fulfilment and one reversal", ev)
	}
	// A new request applies generation 2; the old void, repeated, still
	// answers as it first did and reverses nothing.
	if _, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-2", "2026-12-05", idemOf(pm, "apply-2")); err != nil {
		t.Fatal(err)
	}
	if again, err := w.rs.VoidCredit(ctx, pm, redemption.ID, "账单作废", void1); err != nil || !reflect.DeepEqual(again, voided) {
		t.Fatalf("void repeated after a new apply: %v\n got  %+v\n want %+v", err, again, voided)
	}
	if again, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-1", "2026-12-01", apply1); err != nil || !reflect.DeepEqual(again, applied) {
		t.Fatalf("apply repeated after a new apply: %v\n got  %+v\n want %+v", err, again, applied)
	}
	ev := w.events(w.property.ID)
	if len(ev) != 3 {
		t.Fatalf("events %+v: want two fulfilments and one reversal", ev)
	}
	// The reversal names the fulfilment it undoes: the first bill's.
	if ev[1].Kind != models.EventReversed || ev[1].Undoes != ev[0].ID || ev[2].ID == ev[0].ID {
		t.Fatalf("events %+v: want the reversal to undo %s", ev, ev[0].ID)
	}
	w.mustAudit()
}

// A partner's credits waiting for a bill come a page at a time, newest
// first, with the next page's cursor while there may be more: every
// pending credit once over the pages, whatever the page size (credits
// made at the same moment are ordered by id), none cut, and no other
// partner's redemption of the same days; an applied one
// leaves the pages; a cursor not given out is INVALID_CURSOR.
func TestPendingCreditsComeAPageAtATimeWithNothingCut(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:                models.RewardPropertyFee,
		Title:               "物业费优惠",
		Points:              50,
		ValueFen:            2000,
		HouseholdYearCapFen: 4000,
	})
	parking := w.reward(models.Reward{
		Kind:     models.RewardParking,
		Title:    "停车费减免",
		Points:   10,
		ValueFen: 500,
	})
	var made []string
	for i, name := range []string{"钱", "孙", "李", "周"} {
		p := w.resident(name, 1960+i, 500)
		made = append(made, w.mustRedeem(p, reward.ID, idemOf(p, "fee-"+name)).ID)
		// The parking operator's credit of the same day is not the
		// property company's.
		w.mustRedeem(p, parking.ID, idemOf(p, "parking-"+name))
	}
	pm := w.partnerLogin("pm", w.property)
	walk := func(limit int) []string {
		t.Helper()
		var ids []string
		for _, r := range communitytest.WalkPages(t, limit, func(cursor string) ([]models.Redemption, string, error) {
			return w.rs.PendingCredits(ctx, pm, cursor, limit)
		}) {
			ids = append(ids, r.ID)
		}
		return ids
	}
	all := walk(50)
	if len(all) != len(made) {
		t.Fatalf("one page of 50 holds %v; want the %d credits", all, len(made))
	}
	for _, limit := range []int{1, 2, 3} {
		if got := walk(limit); !slices.Equal(got, all) {
			t.Fatalf("pages of %d read %v; want %v", limit, got, all)
		}
	}
	if _, err := w.rs.ApplyCredit(ctx, pm, made[0], "B-1", "2026-12-01", idemOf(pm, "apply-1")); err != nil {
		t.Fatal(err)
	}
	if got := walk(1); len(got) != len(made)-1 || slices.Contains(got, made[0]) {
		t.Fatalf("after one was applied the pages read %v", got)
	}
	for _, bad := range []string{"x", "12", "12.", "-5.abc"} {
		if _, _, err := w.rs.PendingCredits(ctx, pm, bad, 1); models.CodeOf(err) != models.ErrBadCursor.Code {
			t.Errorf("cursor %q: %v; want INVALID_CURSOR", bad, err)
		}
	}
}

// A page of the partner's credits costs its own size: the store finds a
// first page of 2 sends are the same with 4 credits waiting as with 16
// (reading every waiting credit, as a filter or a walk of the whole open
// period does, grows by a few finds a credit).
func TestPendingCreditsPageCostsItsOwnSize(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Title:    "物业费优惠",
		Points:   10,
		ValueFen: 100,
	})
	pm := w.partnerLogin("pm", w.property)
	redeem := func(from, to int) {
		for i := from; i < to; i++ {
			p := w.resident(fmt.Sprintf("住户%02d", i), 1960, 100)
			w.mustRedeem(p, reward.ID, idemOf(p, fmt.Sprintf("own-size-%02d", i)))
		}
	}
	firstPage := func() int64 {
		t.Helper()
		// Read once first, so both counts are of a reader that has seen
		// the credits' marks (they are remembered per replica).
		if _, _, err := w.rs.PendingCredits(ctx, pm, "", 2); err != nil {
			t.Fatal(err)
		}
		before := w.st.CommandCounts().Finds
		page, next, err := w.rs.PendingCredits(ctx, pm, "", 2)
		if err != nil || len(page) != 2 || next == "" {
			t.Fatalf("first page of 2: %d credits, next %q, %v", len(page), next, err)
		}
		return w.st.CommandCounts().Finds - before
	}
	redeem(0, 4)
	few := firstPage()
	redeem(4, 16)
	if many := firstPage(); many > few+2 {
		t.Fatalf("a first page of 2 sent %d finds with 4 credits waiting and %d with 16; want the same", few, many)
	}
}
