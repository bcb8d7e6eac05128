package rewards_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/store"
)

// crashStore is the store with one chosen write failing once, as a crash
// (or a lost connection) right before it would.
type crashStore struct {
	*store.Store
	mu       sync.Mutex
	failSlot string // the next InsertSlot whose id starts with this fails
	failMark string // the next InsertRedemptionMark whose id starts with this fails
	// opened runs once after the next redemption is inserted: a spend
	// racing the redemption between its check of the balance and its hold.
	opened func()
}

func (c *crashStore) onOpen(f func()) {
	c.mu.Lock()
	c.opened = f
	c.mu.Unlock()
}

func (c *crashStore) InsertRedemption(ctx context.Context, r models.Redemption, hash string) error {
	err := c.Store.InsertRedemption(ctx, r, hash)
	c.mu.Lock()
	f := c.opened
	c.opened = nil
	c.mu.Unlock()
	if f != nil {
		f()
	}
	return err
}

func (c *crashStore) arm(slot, mark string) {
	c.mu.Lock()
	c.failSlot, c.failMark = slot, mark
	c.mu.Unlock()
}

func (c *crashStore) trip(field *string, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *field != "" && strings.HasPrefix(id, *field) {
		*field = ""
		return true
	}
	return false
}

func (c *crashStore) InsertSlot(ctx context.Context, id, holder string, at time.Time) error {
	if c.trip(&c.failSlot, id) {
		return errLost
	}
	return c.Store.InsertSlot(ctx, id, holder, at)
}

func (c *crashStore) InsertRedemptionMark(ctx context.Context, m models.RedemptionMark) error {
	if c.trip(&c.failMark, m.ID) {
		return errLost
	}
	return c.Store.InsertRedemptionMark(ctx, m)
}

// crashWorld is a rewards world whose service writes through a crashStore.
func crashWorld(t *testing.T) (*rewardsWorld, *crashStore) {
	w := newRewardsWorld(t)
	cs := &crashStore{Store: w.st}
	w.rs = w.rewardsOver(cs)
	return w, cs
}

func (w *rewardsWorld) topUp(p models.Principal, op string, points int64) {
	w.t.Helper()
	if _, err := w.ledger.Post(ctx, ledger.Posting{
		OpID:        op,
		Hash:        "x",
		Account:     models.AccountOf(p.ResidentID, models.AssetPoints),
		CommunityID: "A",
		Delta:       points,
		Kind:        models.KindAward,
		Actor:       "test",
	}); err != nil {
		w.t.Fatal(err)
	}
}

// spend takes points from p as a concurrent request would.
func (w *rewardsWorld) spend(p models.Principal, op string, points int64) {
	w.t.Helper()
	if _, err := w.ledger.Post(ctx, ledger.Posting{
		OpID:        op,
		Hash:        "x",
		Account:     models.AccountOf(p.ResidentID, models.AssetPoints),
		CommunityID: "A",
		Delta:       -points,
		Kind:        models.KindDeduct,
		Actor:       "test",
	}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *rewardsWorld) mine(p models.Principal) []models.Redemption {
	w.t.Helper()
	rs, _, err := w.rs.MyRedemptions(ctx, p, "", 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

// A scan refused for lack of points or stock leaves the code usable: the
// retry after a top-up (or after the stock came back) succeeds with the
// same code, the other clerk is told the same refusal, not
// ALREADY_REDEEMED, and no refused scan is listed.
func TestIssue11_3_RefusedScanLeavesTheCodeUsable(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Title:    "早餐套餐",
		Points:   50,
		ValueFen: 800,
	})
	p := w.resident("王小明", 1980, 10)
	c1, c2 := w.clerk("clerk-1", w.shop), w.clerk("clerk-2", w.shop)
	tok := w.scanToken(p, reward)

	_, err := w.rs.Scan(ctx, c1, tok, idemOf(c1, "scan-poor-1"))
	communitytest.WantCode(t, "first scan without points", err, models.ErrInsufficientPoints)
	_, err = w.rs.Scan(ctx, c2, tok, idemOf(c2, "scan-poor-2"))
	communitytest.WantCode(t, "the other clerk, still without points", err, models.ErrInsufficientPoints)
	// The clerk's own repeat replays its answer.
	_, err = w.rs.Scan(ctx, c1, tok, idemOf(c1, "scan-poor-1"))
	communitytest.WantCode(t, "repeat of the refused scan", err, models.ErrInsufficientPoints)
	if day, _, err := w.rs.MerchantDay(ctx, c1, "", "", 0); err != nil || len(day) != 0 {
		t.Fatalf("merchant's day after refusals: %+v %v; want nothing", day, err)
	}

	w.topUp(p, "topup-scan", 100)
	res, err := w.rs.Scan(ctx, c1, tok, idemOf(c1, "scan-after-topup"))
	if err != nil || res.Redemption.Status != models.RedemptionFulfilled {
		t.Fatalf("same code after a top-up: %+v %v", res, err)
	}
	if b := w.balance(p); b != 110-50 {
		t.Fatalf("balance %d; want 60", b)
	}
	_, err = w.rs.Scan(ctx, c2, tok, idemOf(c2, "scan-again"))
	communitytest.WantCode(t, "the code once redeemed", err, models.ErrAlreadyRedeemed)
	day, _, err := w.rs.MerchantDay(ctx, c1, "", "", 0)
	if err != nil || len(day) != 1 || day[0].ID != res.Redemption.ID || day[0].Status != models.RedemptionFulfilled {
		t.Fatalf("merchant's day: %+v %v; want the one fulfilled redemption", day, err)
	}
	if ev := w.events(w.shop.ID); len(ev) != 1 || ev[0].RedemptionID != res.Redemption.ID {
		t.Fatalf("settlement events %+v; want one", ev)
	}

	// Sold out: the code waits until a unit comes back.
	one := w.reward(models.Reward{
		Kind:       models.RewardMerchant,
		Title:      "理发",
		Points:     10,
		ValueFen:   300,
		StockTotal: 1,
	})
	first := w.resident("先到", 1980, 100)
	won := w.mustScan(c1, w.scanToken(first, one), idemOf(c1, "scan-stock-1"))
	q := w.resident("后到", 1980, 100)
	tokQ := w.scanToken(q, one)
	_, err = w.rs.Scan(ctx, c1, tokQ, idemOf(c1, "scan-stock-2"))
	communitytest.WantCode(t, "sold out", err, models.ErrSoldOut)
	if _, err := w.rs.Refund(ctx, c1, won.Redemption.ID, "不要了"); err != nil {
		t.Fatal(err)
	}
	if res, err := w.rs.Scan(ctx, c2, tokQ, idemOf(c2, "scan-stock-3")); err != nil || res.Redemption.Status != models.RedemptionFulfilled {
		t.Fatalf("same code once the unit is back: %+v %v", res, err)
	}
	if got := w.mine(q); len(got) != 1 || got[0].Status != models.RedemptionFulfilled {
		t.Fatalf("resident's list %+v; want only the fulfilled one", got)
	}
	w.mustAudit()
}

// A scan refused for points whose refusal a crash kept from being recorded
// does not block the code: the next scan finds the refused hold, records
// the refusal and redeems.
func TestIssue11_3_RefusalCutShortDoesNotBlockTheCode(t *testing.T) {
	t.Parallel()
	w, cs := crashWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardMerchant,
		Points:     50,
		ValueFen:   800,
		StockTotal: 1,
	})
	p := w.resident("断电", 1980, 10)
	c1, c2 := w.clerk("clerk-1", w.shop), w.clerk("clerk-2", w.shop)
	w.topUp(p, "topup-before", 40)
	tok := w.scanToken(p, reward)
	cs.onOpen(func() { w.spend(p, "racing-spend", 40) }) // it passes the balance check, then the hold refuses
	cs.arm("", "refused:")
	if _, err := w.rs.Scan(ctx, c1, tok, idemOf(c1, "cut-1")); err == nil || models.CodeOf(err) != "" {
		t.Fatalf("the scan should have been cut short: %v", err)
	}
	w.topUp(p, "topup-cut", 100)
	res, err := w.rs.Scan(ctx, c2, tok, idemOf(c2, "cut-2"))
	if err != nil || res.Redemption.Status != models.RedemptionFulfilled {
		t.Fatalf("the other clerk: %+v %v", res, err)
	}
	if b := w.balance(p); b != 60 {
		t.Fatalf("balance %d; want 60", b)
	}
	// The cut-short attempt gave its unit of stock back: the stock of one
	// went to the redemption.
	if got := w.mine(p); len(got) != 1 || got[0].ID != res.Redemption.ID {
		t.Fatalf("listed %+v; want the one redemption", got)
	}
	w.mustAudit()
}

// Two clerks scanning one code at once after a refusal: exactly one
// redemption, the other ALREADY_REDEEMED, the points held once.
func TestIssue11_3_TwoClerksAfterRefusalRedeemOnce(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Points:   30,
		ValueFen: 500,
	})
	for round := range 40 {
		p := w.resident(fmt.Sprintf("并发%d", round), 1980, 10)
		tok := w.scanToken(p, reward)
		c0 := w.clerk("clerk-0", w.shop)
		_, err := w.rs.Scan(ctx, c0, tok, idemOf(c0, fmt.Sprintf("r%d-refused", round)))
		communitytest.WantCode(t, "without points", err, models.ErrInsufficientPoints)
		w.topUp(p, fmt.Sprintf("topup-%d", round), 100)
		var mu sync.Mutex
		codes := map[models.Code]int{}
		atonce.Run(2, func(i int) {
			c := w.clerk(fmt.Sprintf("clerk-%d", i+1), w.shop)
			_, err := w.rs.Scan(ctx, c, tok, idemOf(c, fmt.Sprintf("r%d-c%d", round, i)))
			mu.Lock()
			defer mu.Unlock()
			codes[models.CodeOf(err)]++
			if err != nil && models.CodeOf(err) == "" {
				t.Error(err)
			}
		})
		if codes[""] != 1 || codes[models.ErrAlreadyRedeemed.Code] != 1 {
			t.Fatalf("round %d: outcomes %v; want one redemption and one ALREADY_REDEEMED", round, codes)
		}
		if b := w.balance(p); b != 110-30 {
			t.Fatalf("round %d: balance %d; want 80", round, b)
		}
		if got := w.mine(p); len(got) != 1 || got[0].Status != models.RedemptionFulfilled {
			t.Fatalf("round %d: listed %+v; want one fulfilled", round, got)
		}
	}
	if ev := w.events(w.shop.ID); len(ev) != 40 {
		t.Fatalf("%d settlement events; want 40", len(ev))
	}
	w.mustAudit()
}

// A refused redemption is an answer, not a record: however often a
// resident without points tries, nothing is listed, not even after the
// hold-expiry job; a repeat replays the refusal; the units it took are back.
func TestIssue11_4_RefusedRedemptionIsNotListed(t *testing.T) {
	t.Parallel()
	w, cs := crashWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     50,
		ValueFen:   500,
		StockTotal: 1,
		LimitMonth: 1,
	})
	poor := w.resident("穷", 1970, 10)
	for i := range 20 {
		_, err := w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, fmt.Sprintf("poor-%02d", i)))
		communitytest.WantCode(t, "without points", err, models.ErrInsufficientPoints)
	}
	// A refusal known in advance stores nothing at all.
	stored, err := w.st.Redemptions(ctx, models.RedemptionFilter{
		CommunityID: "A",
		ResidentID:  poor.ResidentID,
		Statuses:    []models.RedemptionStatus{models.RedemptionFailed, models.RedemptionOpening},
	}, 0)
	if err != nil || len(stored) != 0 {
		t.Fatalf("refusals stored %d redemptions (%v); want none", len(stored), err)
	}
	// A spend races the redemption: the hold refuses it after its units
	// were taken; a refusal cut short by a crash before it was recorded is
	// saved as opening, yet no listing shows it.
	w.topUp(poor, "topup-race-1", 90)
	for i, crash := range []bool{false, true} {
		cs.onOpen(func() { w.spend(poor, fmt.Sprintf("race-spend-%d", i), 60) })
		if crash {
			cs.arm("", "refused:")
		}
		_, err := w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, fmt.Sprintf("poor-race-%d", i)))
		if !crash {
			communitytest.WantCode(t, "refused by the hold", err, models.ErrInsufficientPoints)
		} else if err == nil || models.CodeOf(err) != "" {
			t.Fatalf("the refusal should have been cut short: %v", err)
		}
		w.topUp(poor, fmt.Sprintf("topup-race-%d", i+2), 60)
	}
	w.spend(poor, "race-spend-end", 90)
	if got := w.mine(poor); len(got) != 0 {
		t.Fatalf("listed after refusals: %+v", got)
	}
	w.rewardClock.Advance(11 * time.Minute)
	if _, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := w.mine(poor); len(got) != 0 {
		t.Fatalf("listed after the hold-expiry job: %+v", got)
	}
	// Kept only to answer a repeat: not to be looked up either.
	refused, err := w.st.Redemptions(ctx, models.RedemptionFilter{
		CommunityID: "A",
		ResidentID:  poor.ResidentID,
		Statuses:    []models.RedemptionStatus{models.RedemptionFailed},
	}, 0)
	if err != nil || len(refused) != 2 {
		t.Fatalf("refusals kept: %+v %v; want the two that raced a spend", refused, err)
	}
	for _, r := range refused {
		_, err := w.rs.Redemption(ctx, poor, r.ID)
		communitytest.WantCode(t, "a refused redemption looked up", err, models.ErrNotFound)
	}
	_, err = w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, "poor-03"))
	communitytest.WantCode(t, "repeat", err, models.ErrInsufficientPoints)
	_, err = w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, "poor-race-1"))
	communitytest.WantCode(t, "repeat of the interrupted one", err, models.ErrInsufficientPoints)
	// Every refusal gave its units back: the one unit of stock, and the
	// resident's monthly limit, are free.
	rich := w.resident("富", 1970, 100)
	richRed, err := w.rs.Redeem(ctx, rich, reward.ID, idemOf(rich, "rich-1"))
	if err != nil {
		t.Fatalf("the unit should be free: %v", err)
	}
	if _, err := w.rs.Cancel(ctx, rich, richRed.ID); err != nil {
		t.Fatal(err)
	}
	w.topUp(poor, "topup-poor", 100)
	if _, err = w.rs.Redeem(ctx, poor, reward.ID, idemOf(poor, "poor-after-topup")); err != nil {
		t.Fatalf("the resident's monthly limit should be free: %v", err)
	}
	if got := w.mine(poor); len(got) != 1 || got[0].Status != models.RedemptionHeld {
		t.Fatalf("listed %+v; want the one held redemption", got)
	}
	w.mustAudit()
}

// A crash between the give-back's guard and the give-back itself must not
// lose the unit: the next reader finds the guard, which names its slot,
// and fills it, once however many readers do so at the same time.
func TestIssue11_18_GiveBackInterruptedAfterGuardIsRepaired(t *testing.T) {
	t.Parallel()
	w, cs := crashWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardParking,
		Points:     10,
		ValueFen:   500,
		StockTotal: 1,
	})
	a := w.resident("甲", 1970, 100)
	redemption := w.mustRedeem(a, reward.ID, idemOf(a, "a-1"))
	cs.arm("back:stock:", "") // the guard lands, the give-back does not
	if _, err := w.rs.Cancel(ctx, a, redemption.ID); err == nil {
		t.Fatal("cancel should have been interrupted")
	}
	// Readers apply the cancel again, all at once.
	atonce.Run(8, func(int) {
		if got, err := w.rs.Redemption(ctx, a, redemption.ID); err != nil || got.Status != models.RedemptionCancelled {
			t.Errorf("reader: %+v %v", got, err)
		}
	})
	if b := w.balance(a); b != 100 {
		t.Fatalf("balance %d; want the points back once", b)
	}
	b := w.resident("乙", 1970, 100)
	if _, err := w.rs.Redeem(ctx, b, reward.ID, idemOf(b, "b-1")); err != nil {
		t.Fatalf("the unit given back should be free: %v", err)
	}
	c := w.resident("丙", 1970, 100)
	_, err := w.rs.Redeem(ctx, c, reward.ID, idemOf(c, "c-1"))
	communitytest.WantCode(t, "one unit was given back, not two", err, models.ErrSoldOut)

	// Nobody reads it again: the nightly job finishes it, long before the
	// hold period ends.
	one := w.reward(models.Reward{
		Kind:       models.RewardParking,
		Points:     10,
		ValueFen:   500,
		StockTotal: 1,
	})
	d := w.resident("丁", 1970, 100)
	redemption, err = w.rs.Redeem(ctx, d, one.ID, idemOf(d, "d-1"))
	if err != nil {
		t.Fatal(err)
	}
	w.rewardClock.Advance(11 * time.Minute)
	if _, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil { // saves it held
		t.Fatal(err)
	}
	cs.arm("back:stock:", "")
	if _, err := w.rs.Cancel(ctx, d, redemption.ID); err == nil {
		t.Fatal("cancel should have been interrupted")
	}
	if _, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil {
		t.Fatal(err)
	}
	if saved, _, err := w.st.Redemption(ctx, redemption.ID); err != nil || saved.Status != models.RedemptionCancelled || w.balance(d) != 100 {
		t.Fatalf("after the job: %+v %v balance %d", saved, err, w.balance(d))
	}
	if _, err := w.rs.Redeem(ctx, c, one.ID, idemOf(c, "c-2")); err != nil {
		t.Fatalf("the job gave the unit back: %v", err)
	}
	w.mustAudit()
}

// A redemption gives back what it took when it opened, whatever staff
// changed since: a limit added after it opened gets no unit it never took,
// and a limit removed and put back gets its unit back.
func TestIssue11_17_ChangingLimitsKeepsSlotAccounting(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	p := w.resident("甲", 1970, 1000)

	added := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Points:   10,
		ValueFen: 100,
	})
	r1 := w.mustRedeem(p, added.ID, idemOf(p, "added-1"))
	added.LimitMonth = 1
	if _, err := w.rs.UpdateReward(ctx, w.staff, added.ID, added); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.Cancel(ctx, p, r1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.Redeem(ctx, p, added.ID, idemOf(p, "added-2")); err != nil {
		t.Fatal(err)
	}
	_, err := w.rs.Redeem(ctx, p, added.ID, idemOf(p, "added-3"))
	communitytest.WantCode(t, "second in the month after a limit of one was added", err, models.ErrLimitReached)

	removed := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     10,
		ValueFen:   100,
		LimitMonth: 1,
	})
	r2 := w.mustRedeem(p, removed.ID, idemOf(p, "removed-1"))
	removed.LimitMonth = 0
	if _, err := w.rs.UpdateReward(ctx, w.staff, removed.ID, removed); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.Cancel(ctx, p, r2.ID); err != nil {
		t.Fatal(err)
	}
	removed.LimitMonth = 1
	if _, err := w.rs.UpdateReward(ctx, w.staff, removed.ID, removed); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.Redeem(ctx, p, removed.ID, idemOf(p, "removed-2")); err != nil {
		t.Fatalf("the unit given back under a removed limit is lost: %v", err)
	}
	w.mustAudit()
}

// Redemptions and cancels run while staff switch the stock on and off and
// change it: whatever the order, once every redemption is cancelled
// exactly the stock is available, and what is held under the stock never
// exceeds it.
func TestIssue11_17_StockChangedWhileRedemptionsAreOpen(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     10,
		ValueFen:   100,
		StockTotal: 4,
	})
	var people []models.Principal
	for i := range 12 {
		people = append(people, w.resident(fmt.Sprintf("居民%d", i), 1970, 1000))
	}
	stocks := []int{0, 4, 2, 0, 4, 3, 0, 4}
	var mu sync.Mutex
	var open []models.Redemption
	atonce.Run(len(people)+1, func(i int) {
		if i == len(people) { // staff
			for _, n := range stocks {
				cur := reward
				cur.StockTotal = n
				if _, err := w.rs.UpdateReward(ctx, w.staff, reward.ID, cur); err != nil {
					t.Error(err)
				}
			}
			return
		}
		p := people[i]
		for k := range 4 {
			redemption, err := w.rs.Redeem(ctx, p, reward.ID, idemOf(p, fmt.Sprintf("s-%d-%d", i, k)))
			if models.CodeOf(err) == models.ErrSoldOut.Code {
				continue
			}
			if err != nil {
				t.Error(err)
				return
			}
			if k%2 == 0 {
				if _, err := w.rs.Cancel(ctx, p, redemption.ID); err != nil {
					t.Error(err)
				}
				continue
			}
			mu.Lock()
			open = append(open, redemption)
			mu.Unlock()
		}
	})
	// The last change set the stock to 4: what holds a stock unit now is
	// at most 4.
	under := 0
	for _, r := range open {
		if len(r.Units) > 0 {
			under++
		}
	}
	if under > 4 {
		t.Fatalf("%d redemptions hold a unit of a stock of 4", under)
	}
	for _, r := range open {
		if _, err := w.rs.Cancel(ctx, communitytest.Resident("A", r.ResidentID), r.ID); err != nil {
			t.Fatal(err)
		}
	}
	late := w.resident("后来", 1970, 1000)
	got := 0
	for k := range 10 {
		_, err := w.rs.Redeem(ctx, late, reward.ID, idemOf(late, fmt.Sprintf("late-%d", k)))
		if models.CodeOf(err) == models.ErrSoldOut.Code {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != 4 {
		t.Fatalf("after every cancel %d units are available; want exactly the stock of 4", got)
	}
	w.mustAudit()
}

// A visitor whose family link to the parent staff verified books the
// parent's visit; the parent, the visitor or staff cancel it, and its bay
// comes back exactly once however often and however concurrently the
// cancel is sent; the plate may then be booked again.
func TestIssue11_19_VisitorBooksAndCancelsVisitOnce(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	elder := w.resident("老李", 1945, 0)
	son := w.resident("小李", 1980, 0)
	stranger := w.resident("路人", 1980, 0)
	const day = "2026-11-28" // a Saturday
	plates := []string{"沪A10000", "沪A10001", "沪A10002", "沪A10003", "沪A10004", "沪A10005", "沪A10006"}
	for _, pl := range plates {
		if _, err := w.rs.RegisterFilialPlate(ctx, elder, "", pl); err != nil {
			t.Fatal(err)
		}
	}
	_, err := w.rs.BookFilialVisit(ctx, son, plates[0], day)
	communitytest.WantCode(t, "visitor without a family link", err, models.ErrForbidden)
	if _, err := w.cs.AddFamilyLink(ctx, w.staff, elder.ResidentID, son.ResidentID, models.RelationChild); err != nil {
		t.Fatal(err)
	}
	_, err = w.rs.BookFilialVisit(ctx, son, plates[0], day)
	communitytest.WantCode(t, "visitor with an unverified link", err, models.ErrFamilyNotVerified)
	if _, err := w.cs.VerifyFamilyLink(ctx, w.staff, elder.ResidentID, son.ResidentID); err != nil {
		t.Fatal(err)
	}
	mine, err := w.rs.BookFilialVisit(ctx, son, plates[0], day)
	if err != nil || mine.Bay == 0 || mine.BookedBy != son.ResidentID {
		t.Fatalf("the verified visitor's booking: %+v %v", mine, err)
	}
	// The parent books the other four bays; the sixth plate finds none.
	for _, pl := range plates[1:5] {
		if _, err := w.rs.BookFilialVisit(ctx, elder, pl, day); err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.rs.BookFilialVisit(ctx, elder, plates[5], day)
	communitytest.WantCode(t, "sixth plate", err, models.ErrBaysFull)

	_, err = w.rs.CancelFilialVisit(ctx, stranger, mine.ID, idemOf(stranger, "cancel-stranger"))
	communitytest.WantCode(t, "a stranger cancelling", err, models.ErrForbidden)
	var mu sync.Mutex
	cancelled := 0
	atonce.Run(8, func(i int) {
		b, err := w.rs.CancelFilialVisit(ctx, son, mine.ID, idemOf(son, fmt.Sprintf("cancel-%d", i%2)))
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if b.Cancelled {
			cancelled++
		}
	})
	if cancelled != 8 {
		t.Fatalf("%d of 8 cancels answered a cancelled booking", cancelled)
	}
	// Exactly one bay came back: the sixth plate gets the visitor's bay.
	if b, err := w.rs.BookFilialVisit(ctx, elder, plates[5], day); err != nil || b.Bay != mine.Bay {
		t.Fatalf("the bay given back should be free: %+v %v; want bay %d", b, err, mine.Bay)
	}
	_, err = w.rs.BookFilialVisit(ctx, elder, plates[6], day)
	communitytest.WantCode(t, "one bay came back, not two", err, models.ErrBaysFull)
	// The parent cancels another; the visitor books his plate again.
	other, err := w.rs.CancelFilialVisit(ctx, elder, plates[1]+"", idemOf(elder, "cancel-parent"))
	if err == nil || models.CodeOf(err) != models.ErrNotFound.Code {
		t.Fatalf("cancel by plate, not booking id: %+v %v", other, err)
	}
	if _, err := w.rs.CancelFilialVisit(ctx, elder, "A:"+plates[1]+":"+day, idemOf(elder, "cancel-parent")); err != nil {
		t.Fatal(err)
	}
	again, err := w.rs.BookFilialVisit(ctx, son, plates[0], day)
	if err != nil || again.Bay < 1 || again.Bay > 5 || again.Cancelled {
		t.Fatalf("booked again after a cancel: %+v %v", again, err)
	}
	_, err = w.rs.BookFilialVisit(ctx, elder, plates[6], day)
	communitytest.WantCode(t, "the rebooking took the bay", err, models.ErrBaysFull)

	// The rebooked visit earns its free time at the gate; then it cannot
	// be cancelled any more.
	op := w.partnerLogin("gate", w.parking)
	at := func(h int) time.Time { return time.Date(2026, 11, 28, h, 0, 0, 0, time.FixedZone("CST", 8*3600)) }
	w.rewardClock.Advance(7 * 24 * time.Hour)
	if _, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "v-in",
		Plate:     plates[0],
		Direction: models.GateIn,
		At:        at(10),
	}); err != nil {
		t.Fatal(err)
	}
	w.rewardClock.Advance(4 * time.Hour)
	ev, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
		EventID:   "v-out",
		Plate:     plates[0],
		Direction: models.GateOut,
		At:        at(12),
	})
	if err != nil || ev.FreeMinutes != 120 || ev.ReasonCode != models.GateFree {
		t.Fatalf("exit of the rebooked visit: %+v %v", ev, err)
	}
	_, err = w.rs.CancelFilialVisit(ctx, son, mine.ID, idemOf(son, "cancel-late"))
	communitytest.WantCode(t, "cancel after the free time was used", err, models.ErrVisitClosed)
}

// The refused weekday booking names the rule it breaks, and the gate's
// answers are in Chinese with a stable reason code.
func TestIssue11_23_FilialRefusalsNameTheirReason(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	elder := w.resident("王奶奶", 1950, 0)
	if _, err := w.rs.RegisterFilialPlate(ctx, elder, "", "沪B66688"); err != nil {
		t.Fatal(err)
	}
	_, err := w.rs.BookFilialVisit(ctx, elder, "沪B66688", "2026-11-23")
	communitytest.WantCode(t, "a Monday", err, models.ErrNotFilialDay)
	if !strings.Contains(err.Error(), "Saturday") || !strings.Contains(err.Error(), "2026-11-23 is a Monday") {
		t.Fatalf("the refusal does not name the days: %v", err)
	}
	if _, err := w.rs.BookFilialVisit(ctx, elder, "沪B66688", "2026-11-21"); err != nil {
		t.Fatal(err)
	}
	op := w.partnerLogin("gate", w.parking)
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.FixedZone("CST", 8*3600)) }
	post := func(id, plate string, dir models.GateDirection, t0 time.Time) models.GateEvent {
		t.Helper()
		ev, err := w.rs.GateEvent(ctx, op, rewards.GateEventIn{
			EventID:   id,
			Plate:     plate,
			Direction: dir,
			At:        t0,
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	w.rewardClock.Advance(3 * 24 * time.Hour)
	got := map[string]models.GateEvent{
		models.GateEntry:         post("in-1", "沪B66688", models.GateIn, at(21, 9)),
		models.GateNotRegistered: post("out-x", "沪D99999", models.GateOut, at(21, 9)),
		models.GateNoEntry:       post("out-0", "沪B66688", models.GateOut, at(21, 8)),
		models.GateFree:          post("out-1", "沪B66688", models.GateOut, at(21, 11)),
	}
	post("in-2", "沪B66688", models.GateIn, at(21, 12))
	got[models.GateAlreadyUsed] = post("out-2", "沪B66688", models.GateOut, at(21, 13))
	post("in-3", "沪B66688", models.GateIn, at(22, 10))
	got[models.GateNoBooking] = post("out-3", "沪B66688", models.GateOut, at(22, 11))
	for code, ev := range got {
		if ev.ReasonCode != code {
			t.Errorf("event %s: reason code %q; want %q", ev.EventID, ev.ReasonCode, code)
		}
		if !hasHan(ev.Reason) || strings.ContainsAny(ev.Reason, "abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("event %s: reason %q is not Chinese", ev.EventID, ev.Reason)
		}
	}
	// A cancelled booking earns nothing, and says so.
	b2, err := w.rs.BookFilialVisit(ctx, elder, "沪B66688", "2026-11-28")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.CancelFilialVisit(ctx, elder, b2.ID, idemOf(elder, "c-1")); err != nil {
		t.Fatal(err)
	}
	w.rewardClock.Advance(7 * 24 * time.Hour)
	post("in-5", "沪B66688", models.GateIn, at(28, 10))
	if ev := post("out-5", "沪B66688", models.GateOut, at(28, 11)); ev.ReasonCode != models.GateCancelled || ev.FreeMinutes != 0 {
		t.Fatalf("exit on a cancelled booking: %+v", ev)
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// Sold out or over a limit, a resident retrying with new keys stores
// nothing either; once a unit comes back the next attempt succeeds.
func TestIssue11_4_SoldOutRetriesStoreNothing(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     10,
		ValueFen:   100,
		StockTotal: 1,
	})
	limited := w.reward(models.Reward{
		Kind:       models.RewardPropertyFee,
		Points:     10,
		ValueFen:   100,
		LimitMonth: 1,
	})
	first := w.resident("先", 1970, 100)
	later := w.resident("后", 1970, 100)
	held := w.mustRedeem(first, reward.ID, idemOf(first, "first-1"))
	if _, err := w.rs.Redeem(ctx, later, limited.ID, idemOf(later, "limited-0")); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		_, err := w.rs.Redeem(ctx, later, reward.ID, idemOf(later, fmt.Sprintf("sold-%02d", i)))
		communitytest.WantCode(t, "sold out", err, models.ErrSoldOut)
		_, err = w.rs.Redeem(ctx, later, limited.ID, idemOf(later, fmt.Sprintf("limited-%02d", i+1)))
		communitytest.WantCode(t, "over the limit", err, models.ErrLimitReached)
	}
	stored, err := w.st.Redemptions(ctx, models.RedemptionFilter{
		CommunityID: "A",
		ResidentID:  later.ResidentID,
		Statuses:    []models.RedemptionStatus{models.RedemptionFailed, models.RedemptionOpening},
	}, 0)
	if err != nil || len(stored) != 1 { // the one redemption of limited, saved opening
		t.Fatalf("refusals stored %d redemptions (%v); want none beyond the one made", len(stored)-1, err)
	}
	if _, err := w.rs.Cancel(ctx, first, held.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.Redeem(ctx, later, reward.ID, idemOf(later, "sold-after-cancel")); err != nil {
		t.Fatalf("the unit given back should be free: %v", err)
	}
	w.mustAudit()
}

// eventLosingStore loses the settlement events written while lose is set,
// as a kill -9 between a scan's mark and its event does.
type eventLosingStore struct {
	*store.Store
	mu   sync.Mutex
	lose bool
}

func (s *eventLosingStore) RecordSettlementEvent(ctx context.Context, e models.SettlementEvent) error {
	s.mu.Lock()
	lose := s.lose
	s.mu.Unlock()
	if lose {
		return errLost
	}
	return s.Store.RecordSettlementEvent(ctx, e)
}

// Issue 11.12, end to end: a breakfast scanned at 23:59 on the last
// evening of November, the process killed before the scan's settlement
// event; November is settled at 02:00 on 1 December without it; the 02:15
// catch-up records it with the scan's time. December's statement carries
// it as an adjustment dated 30 November, and no other statement does.
func TestIssue11_12_ScanKilledBeforeItsEventIsOnTheNextStatement(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	losing := &eventLosingStore{Store: w.st}
	w.rs = w.rewardsOver(losing)
	settle := settlement.New(settlement.Deps{
		Store:    w.st,
		Ledger:   w.ledger,
		People:   w.st,
		Policies: w.policies,
		Trail:    w.st,
		Held:     w.rs,
		Now:      w.rewardClock.Now,
		Notify:   community.NoNotifier{},
	})
	to := func(at time.Time) { w.rewardClock.Advance(at.Sub(w.rewardClock.Now())) }
	community, err := w.st.Community(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	reward := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Title:    "早餐套餐",
		Points:   5,
		ValueFen: 800,
	})
	p := w.resident("早起", 1980, 100)
	c := w.clerk("clerk", w.shop)

	scanned := time.Date(2026, 11, 30, 23, 59, 30, 0, shanghai)
	to(scanned)
	losing.mu.Lock()
	losing.lose = true
	losing.mu.Unlock()
	if _, err := w.rs.Scan(ctx, c, w.scanToken(p, reward), idemOf(c, "breakfast-1")); !errors.Is(err, errLost) {
		t.Fatalf("scan: %v; want its event lost", err)
	}
	losing.mu.Lock()
	losing.lose = false
	losing.mu.Unlock()

	nov, dec := models.Month{Year: 2026, Month: time.November}, models.Month{Year: 2026, Month: time.December}
	to(time.Date(2026, 12, 1, 2, 0, 0, 0, shanghai))
	if st, _, err := settle.SettlePartner(ctx, community, w.shop, nov); err != nil || st.ID != "" {
		t.Fatalf("November: %+v, %v; want nothing to settle yet", st, err)
	}
	to(time.Date(2026, 12, 1, 2, 15, 0, 0, shanghai))
	if _, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil {
		t.Fatal(err)
	}
	ev := w.events(w.shop.ID)
	if len(ev) != 1 || !ev[0].At.Equal(scanned) || !ev[0].Recorded.Equal(w.rewardClock.Now()) {
		t.Fatalf("events after the catch-up %+v; want the fulfilment at %v, recorded now", ev, scanned)
	}

	to(time.Date(2027, 1, 1, 2, 0, 0, 0, shanghai))
	for i := 0; i < 2; i++ { // settled, then settled again
		if st, _, err := settle.SettlePartner(ctx, community, w.shop, nov); err != nil || st.ID != "" {
			t.Fatalf("November again: %+v, %v; want it as it was", st, err)
		}
		st, _, err := settle.SettlePartner(ctx, community, w.shop, dec)
		if err != nil || st.Lines != 1 || st.Adjustments != 1 || st.TotalFen != 800 {
			t.Fatalf("December: %+v, %v; want the breakfast as one adjustment line", st, err)
		}
		var lines []models.StatementLine
		if err := w.st.EachStatementLine(ctx, st.ID, func(l models.StatementLine) error { lines = append(lines, l); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(lines) != 1 || !lines[0].Adjustment || !lines[0].Event.At.Equal(scanned) || lines[0].Event.ID != ev[0].ID {
			t.Fatalf("December's lines %+v; want the breakfast dated %v", lines, scanned)
		}
	}
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")
