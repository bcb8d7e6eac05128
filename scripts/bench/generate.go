package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/timebank"
)

const (
	benchPassword = "bench-password-1"
	households    = 3000
	residentCount = 8000
	buildings     = 30
	minRecords    = 15000
	minRedeemed   = 5000
)

// recordsFor scales a community's service records with its ledger: a
// community-decade of 1,000,000 entries has 150,000 records; smaller sizes
// keep the community-year's 15,000.
func recordsFor(entries int) int { return max(minRecords, entries*3/20) }

// redemptionsFor scales a community's redemptions with its ledger: 50,000
// for 1,000,000 entries; smaller sizes keep the community-year's 5,000.
func redemptionsFor(entries int) int { return max(minRedeemed, entries/20) }

// fulfilmentsFor is how many fulfilments the generator puts in last month
// for the settlement run: -fulfilments when set, else one per redemption.
func fulfilmentsFor(entries int) int {
	if monthFulfilments > 0 {
		return monthFulfilments
	}
	return redemptionsFor(entries)
}

// fixture is what generate made that the operations need: the logins, rewards and
// residents to drive, the month settled, and how long the liability job took over the
// data.
type fixture struct {
	staffPhone     string
	clerkPhone     string
	partnerPhone   string // the property company's login, which reads its credits
	buildingID     string // the first building, whose households a list reads
	householdID    string // the first household, whose residents a list reads
	statementID    string // the shop's statement of the month before last, whose lines a list reads
	rewardID       string // a merchant reward, redeemed by QR scan
	feeRewardID    string // a property-fee discount, redeemed in the app
	lastMonth      models.Month
	residentPhones []string // the first ones, with the deepest histories
	residentIDs    []string
	summary        string
	redemptions    int // generated
	fulfilments    int // fulfilled last month, the month settled
	// firstSummary and nextSummary are how long the liability job took
	// over the generated ledger the first time and again with nothing new.
	firstSummary, nextSummary time.Duration
	// firstRankings and nextRankings are the same for the rankings job.
	firstRankings, nextRankings time.Duration
}

// sameHash hashes the bench password once: generating 8,000 residents must
// not spend minutes in Argon2id.
type sameHash struct{ hash string }

// Hash returns the one precomputed hash, whatever the password.
func (h sameHash) Hash(string) (string, error) { return h.hash, nil }

// generate writes a community-year through the services into a new embedded
// store in dir: buildings, households, residents and ledger entries, and
// withHistory the ten years of the rest (writeHistory).
func generate(ctx context.Context, dir string, entries int, withHistory bool) (fixture, error) {
	var fx fixture
	start := time.Now()
	// progress says on stderr which step starts, and when: a
	// community-decade takes a while to write.
	progress := func(step string) {
		fmt.Fprintf(os.Stderr, "generate %d: %s (%s in)\n", entries, step, time.Since(start).Round(time.Second))
	}
	// Loading may use synchronous=NORMAL (no fsync per commit); the server
	// the bench measures opens the files again with the default, FULL.
	emb, err := store.StartEmbedded(dir, true, nil)
	if err != nil {
		return fx, err
	}
	defer emb.Stop()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		return fx, err
	}
	// The service keeps its data keys in the data folder (store/sealed_local.go).
	keys, err := store.LocalDataKeys(dir)
	if err != nil {
		return fx, err
	}
	st.UseDataKeys(keys)
	defer st.Close(context.Background())
	if err := st.EnsureSchema(ctx); err != nil {
		return fx, err
	}
	pw, err := auth.NewPasswords(auth.PasswordParams{})
	if err != nil {
		return fx, err
	}
	hash, err := pw.Hash(benchPassword)
	if err != nil {
		return fx, err
	}
	now := time.Now
	cs := directory.New(st, sameHash{hash}, randomHex8, now, community.NoNotifier{})
	root := models.Principal{ResidentID: "bench", Roles: []models.Role{models.RoleAdmin}}
	fx.staffPhone = "13800000002"
	c, staff, err := cs.CreateCommunity(ctx, root, directory.NewCommunity{Name: "基准居民区",
		FirstStaff: &directory.NewResident{
			Name:     "基准社工",
			Phone:    fx.staffPhone,
			Password: benchPassword,
		}}, community.Idempotency{})
	if err != nil {
		return fx, err
	}
	sp := models.Principal{
		ResidentID:  staff.ID,
		CommunityID: c.ID,
		Roles:       []models.Role{models.RoleStaff},
	}
	var bids []string
	for b := 0; b < buildings; b++ {
		bld, err := cs.CreateBuilding(ctx, sp, fmt.Sprintf("%d号楼", b+1), "", community.Idempotency{})
		if err != nil {
			return fx, err
		}
		bids = append(bids, bld.ID)
	}
	progress("households")
	hids := make([]string, households)
	if err := parallel(households, func(i int) error {
		k := i / buildings // the k-th flat of its building: floor k/4+1, unit k%4+1
		h, err := cs.CreateHousehold(ctx, sp, bids[i%buildings], fmt.Sprintf("%d%02d", k/4+1, k%4+1), nil, community.Idempotency{})
		if err != nil {
			return err
		}
		hids[i] = h.ID
		return nil
	}); err != nil {
		return fx, fmt.Errorf("households: %w", err)
	}
	progress("residents")
	ids := make([]string, residentCount)
	phones := make([]string, residentCount)
	if err := parallel(residentCount, func(i int) error {
		phones[i] = fmt.Sprintf("150%08d", i)
		r, err := cs.CreateResident(ctx, sp, directory.NewResident{
			Name:        "居民",
			Phone:       phones[i],
			BirthYear:   1940 + i%70,
			HouseholdID: hids[i%households],
			Password:    benchPassword,
		})
		if err != nil {
			return err
		}
		ids[i] = r.ID
		return nil
	}); err != nil {
		return fx, fmt.Errorf("residents: %w", err)
	}
	l := ledger.New(st, now)
	// The residents the bench logs in as get 60 entries each, so a first page
	// of history is a full page, and enough points to redeem and scan as
	// fast as they can; the rest are spread over everyone and over the ten
	// years before now. They are bulk-inserted as dense chains with their
	// head hints, as ledger.Post would leave them.
	deep := min(64, residentCount)
	progress("ledger entries")
	if err := st.LoadEntries(ctx, generatedEntries(ids, c.ID, staff.ID, entries, deep, now())); err != nil {
		return fx, fmt.Errorf("entries: %w", err)
	}
	fx.residentPhones, fx.residentIDs = phones[:deep], ids
	fx.buildingID, fx.householdID = bids[0], hids[0]

	// A merchant, its clerk and a reward to redeem and scan.
	shop, err := cs.CreatePartner(ctx, sp, models.PartnerMerchant, "基准早餐店", community.Idempotency{})
	if err != nil {
		return fx, err
	}
	policies := policy.New(st, now)
	rewardService := rewards.New(rewards.Deps{
		Store:       st,
		Ledger:      l,
		People:      st,
		Policies:    policies,
		Eligibility: anyoneEligible{},
		QRSecret:    []byte("bench-generation-only"),
		NewID:       randomHex8,
		Now:         now,
		Notify:      community.NoNotifier{},
	})
	reward, err := rewardService.CreateReward(ctx, sp, models.Reward{
		Kind:      models.RewardMerchant,
		Title:     "豆浆油条",
		PartnerID: shop.ID,
		Points:    1,
		ValueFen:  500,
		Bearer:    models.BearerPartner,
	}, community.Idempotency{})
	if err != nil {
		return fx, err
	}
	fx.rewardID = reward.ID
	property, err := cs.CreatePartner(ctx, sp, models.PartnerProperty, "基准物业", community.Idempotency{})
	if err != nil {
		return fx, err
	}
	fee, err := rewardService.CreateReward(ctx, sp, models.Reward{
		Kind:      models.RewardPropertyFee,
		Title:     "物业费优惠 1元",
		PartnerID: property.ID,
		Points:    1,
		ValueFen:  100,
		Bearer:    models.BearerCommunity,
	}, community.Idempotency{})
	if err != nil {
		return fx, err
	}
	fx.feeRewardID = fee.ID
	// The logins besides the residents: the clerk who scans, the
	// community's admin, the property company that reads its credits.
	fx.clerkPhone, fx.partnerPhone = "13800000007", "13800000008"
	admin := sp
	admin.Roles = []models.Role{models.RoleStaff, models.RoleAdmin}
	var clerk models.Principal
	for _, login := range []directory.NewResident{
		{
			Name:       "店员",
			Phone:      fx.clerkPhone,
			Roles:      []models.Role{models.RoleMerchantClerk},
			MerchantID: shop.ID,
		},
		{
			Name:  "基准主任",
			Phone: "13800000001",
			Roles: admin.Roles,
		},
		{
			Name:      "物业",
			Phone:     fx.partnerPhone,
			Roles:     []models.Role{models.RolePartner},
			PartnerID: property.ID,
		},
	} {
		login.Password = benchPassword
		r, err := cs.CreateResident(ctx, admin, login)
		if err != nil {
			return fx, err
		}
		if login.Phone == fx.clerkPhone {
			clerk = models.Principal{
				ResidentID:  r.ID,
				CommunityID: r.CommunityID,
				Roles:       r.Roles,
				MerchantID:  shop.ID,
			}
		}
	}
	progress("redemptions")
	redemptions, records := redemptionsFor(entries), recordsFor(entries)
	// The redemptions, held by the residents with points.
	if err := parallel(redemptions, func(i int) error {
		who := i % deep
		_, err := rewardService.Redeem(ctx, models.Principal{
			ResidentID:  ids[who],
			CommunityID: c.ID,
			Roles:       []models.Role{models.RoleResident},
		},
			fee.ID, community.Idempotency{
				Key:  fmt.Sprintf("gen-redeem-%d", i),
				OpID: fmt.Sprintf("gen:redeem:%d", i),
				Hash: "gen",
			})
		return err
	}); err != nil {
		return fx, fmt.Errorf("redemptions: %w", err)
	}
	progress("hold-expiry job")
	// The nightly hold-expiry job has saved what their holds decided.
	if _, err := rewardService.ExpireHolds(ctx, now()); err != nil {
		return fx, fmt.Errorf("hold-expiry: %w", err)
	}
	progress("decided service records")
	// The service records: those beyond the community-year's 15,000
	// decided long ago, bulk-inserted as the store would keep them, then
	// 15,000 pending verification, claimed through the service, over the
	// last days.
	pending := min(records, minRecords)
	var decided []models.ServiceRecord
	span := 10 * 365 * 24 * time.Hour
	for i := range records - pending {
		start := time.Now().Add(-span + time.Duration(int64(span)/int64(records)*int64(i))).Truncate(time.Millisecond).UTC()
		decided = append(decided, models.ServiceRecord{
			ID:            fmt.Sprintf("genrec%07d", i),
			CommunityID:   c.ID,
			ResidentID:    ids[i%residentCount],
			Category:      "助老",
			Organisation:  "居委会",
			Description:   "generated",
			Start:         start,
			End:           start.Add(90 * time.Minute),
			Minutes:       90,
			Source:        models.SourceClaim,
			Created:       start.Add(2 * time.Hour),
			State:         models.RecordApproved,
			Credited:      90,
			PolicyVersion: 1,
			DecidedBy:     staff.ID,
			DecidedAt:     start.Add(26 * time.Hour),
		})
	}
	if err := st.LoadRecords(ctx, decided); err != nil {
		return fx, fmt.Errorf("decided service records: %w", err)
	}
	progress("pending service records")
	tb := timebank.New(timebank.Deps{
		Store:    st,
		People:   st,
		Ledger:   l,
		Policies: policies,
		Trail:    st,
		QRSecret: []byte("bench-generation-only"),
		Now:      now,
		NewID:    randomHex8,
		Notify:   community.NoNotifier{},
	})
	day := time.Now().AddDate(0, 0, -1).Truncate(24 * time.Hour)
	if err := parallel(pending, func(i int) error {
		who := i % residentCount
		start := day.AddDate(0, 0, -(i / residentCount)).Add(9 * time.Hour)
		_, err := tb.ClaimRecord(ctx, models.Principal{
			ResidentID:  ids[who],
			CommunityID: c.ID,
			Roles:       []models.Role{models.RoleResident},
		},
			timebank.Claim{
				Category:     "助老",
				Organisation: "居委会",
				Description:  "generated",
				Start:        start,
				End:          start.Add(90 * time.Minute),
				Idem: community.Idempotency{
					Key:  fmt.Sprintf("gen-claim-%d", i),
					OpID: fmt.Sprintf("gen:claim:%d", i),
					Hash: "gen",
				},
			})
		return err
	}); err != nil {
		return fx, fmt.Errorf("service records: %w", err)
	}
	progress("settlement events")
	// Last month's fulfilments at the merchant, for the settlement run.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	fx.lastMonth = models.MonthOf(time.Now(), loc).Previous()
	from := fx.lastMonth.Start(loc)
	fulfilments := fulfilmentsFor(entries)
	if err := parallel(fulfilments, func(i int) error {
		return st.RecordSettlementEvent(ctx, models.SettlementEvent{
			ID:           fmt.Sprintf("fulfil:gen%d", i),
			CommunityID:  c.ID,
			PartnerID:    shop.ID,
			Kind:         models.EventFulfilled,
			RedemptionID: fmt.Sprintf("gen%d", i),
			RewardID:     reward.ID,
			ResidentID:   ids[i%residentCount],
			Description:  "豆浆油条",
			ValueFen:     500,
			Bearer:       models.BearerPartner,
			At:           from.Add(time.Duration(i) * time.Minute),
		})
	}); err != nil {
		return fx, fmt.Errorf("settlement events: %w", err)
	}
	var past historyCounts
	if withHistory {
		past, err = writeHistory(ctx, historyDeps{
			st:        st,
			ledger:    l,
			policies:  policies,
			heads:     cs,
			staff:     sp,
			clerk:     clerk,
			shopID:    shop.ID,
			rewardID:  reward.ID,
			residents: ids,
			buildings: bids,
			lastMonth: fx.lastMonth,
			loc:       loc,
		}, progress)
		if err != nil {
			return fx, fmt.Errorf("history: %w", err)
		}
	}
	fx.statementID = past.statementID
	progress("liability job")
	// The liability job's first run reads every entry; later runs read only
	// the new ones. A community in service has had its first run.
	t0 := time.Now()
	liability := settlement.New(settlement.Deps{
		Store:    st,
		Ledger:   l,
		People:   st,
		Policies: policies,
		Trail:    st,
		Held:     rewardService,
		Now:      now,
		Notify:   community.NoNotifier{},
	})
	if _, err := liability.SummariseLiability(ctx, now()); err != nil {
		return fx, fmt.Errorf("liability summary: %w", err)
	}
	fx.firstSummary = time.Since(t0)
	t0 = time.Now()
	if _, err := liability.SummariseLiability(ctx, now()); err != nil {
		return fx, fmt.Errorf("liability summary: %w", err)
	}
	fx.nextSummary = time.Since(t0)
	progress("rankings job")
	// The rankings job likewise (docs/PERFORMANCE.md, "Rankings summary
	// (issue 15)").
	ranks := honour.New(honour.Deps{
		Store:    st,
		Ledger:   l,
		Policies: policies,
		NewID:    randomHex8,
		Now:      now,
		Notify:   community.NoNotifier{},
	})
	for _, d := range []*time.Duration{&fx.firstRankings, &fx.nextRankings} {
		t0 = time.Now()
		if _, err := ranks.SummariseRankings(ctx, now()); err != nil {
			return fx, fmt.Errorf("rankings summary: %w", err)
		}
		*d = time.Since(t0)
	}
	fx.redemptions = redemptions
	fx.fulfilments = fulfilments
	fx.summary = fmt.Sprintf("%d buildings, %d households, %d residents, %d ledger entries, %d service records, %d redemptions, %d fulfilments in %s",
		buildings, households, residentCount, entries, records, redemptions, fulfilments, fx.lastMonth)
	if withHistory {
		fx.summary += fmt.Sprintf("; %d statements of earlier months, %d honour entries listed over %d years, %d duties confirmed and paid over %d months (the last month's allowance run: %s)",
			past.statements, past.honourEntries, honourYears, past.duties, historyMonths-1, past.lastAllowances.Round(time.Millisecond))
	}
	return fx, nil
}

// generatedEntries is entries ledger entries (POINTS awards) for the
// residents ids: 1 to 20 points to random residents, dated evenly over the
// ten years before now, then 60 of 50 points for each of the first deep in
// the last hour or so; each account's chain dense from seq 1.
func generatedEntries(ids []string, communityID, actor string, entries, deep int, now time.Time) []models.Entry {
	span := 10 * 365 * 24 * time.Hour
	heads := map[string]models.Balance{}
	out := make([]models.Entry, 0, entries)
	spread := max(0, entries-deep*60) // the rest: the deep residents' 60 come last, in the last hours
	for i := 0; i < entries; i++ {
		who, delta := mrand.IntN(len(ids)), int64(1+i%20)
		at := now.Add(-span + time.Duration(int64(span)/int64(max(spread, 1))*int64(i)))
		if i >= spread {
			who, delta = (i-spread)%deep, int64(50)
			at = now.Add(-time.Duration(entries-i) * time.Second)
		}
		acct := models.AccountOf(ids[who], models.AssetPoints)
		h := heads[ids[who]]
		h.Seq++
		h.Amount += delta
		heads[ids[who]] = h
		out = append(out, models.Entry{
			Account:      acct,
			CommunityID:  communityID,
			Seq:          h.Seq,
			Delta:        delta,
			BalanceAfter: h.Amount,
			Kind:         models.KindAward,
			Reason:       "generated",
			OpID:         fmt.Sprintf("gen:%d", i),
			Actor:        actor,
			At:           at.UTC(),
		})
	}
	return out
}

// anyoneEligible lets every resident redeem during generation.
type anyoneEligible struct{}

// HonourListed reports every resident listed on the honour roll.
func (anyoneEligible) HonourListed(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}

// StarLevel reports every household at three stars.
func (anyoneEligible) StarLevel(context.Context, string, string, time.Time) (int, error) {
	return 3, nil
}

// ActiveHead reports every resident an active building head.
func (anyoneEligible) ActiveHead(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}

// parallel runs fn(0..n-1) on 8 goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// randomHex8 returns 8 random bytes as hex.
func randomHex8() string { return randomHex(8) }
