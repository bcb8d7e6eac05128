package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/timebank"
)

const (
	benchPassword = "bench-password-1"
	households    = 3000
	residentCount = 8000
	buildings     = 30
	records       = 15000
	redemptions   = 5000
)

type fixture struct {
	staffPhone     string
	clerkPhone     string
	rewardID       string // a merchant reward, redeemed by QR scan
	feeRewardID    string // a property-fee discount, redeemed in the app
	lastMonth      models.Month
	residentPhones []string // the first ones, with the deepest histories
	residentIDs    []string
	summary        string
}

// sameHash hashes the bench password once: generating 8,000 residents must
// not spend minutes in Argon2id.
type sameHash struct{ hash string }

func (h sameHash) Hash(string) (string, error) { return h.hash, nil }

// generate writes a community-year through the services into a new embedded
// store in dir: buildings, households, residents and ledger entries.
func generate(ctx context.Context, dir string, entries int) (fixture, error) {
	var fx fixture
	emb, err := store.StartEmbedded(dir, false, nil)
	if err != nil {
		return fx, err
	}
	defer emb.Stop()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		return fx, err
	}
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
	cs := directory.New(st, sameHash{hash}, randomHex8, now)
	root := models.Principal{ResidentID: "bench", Roles: []models.Role{models.RoleAdmin}}
	fx.staffPhone = "13800000002"
	c, staff, err := cs.CreateCommunity(ctx, root, directory.NewCommunity{Name: "基准居民区",
		FirstStaff: &directory.NewResident{
			Name:     "基准社工",
			Phone:    fx.staffPhone,
			Password: benchPassword,
		}})
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
		bld, err := cs.CreateBuilding(ctx, sp, fmt.Sprintf("%d号楼", b+1), "")
		if err != nil {
			return fx, err
		}
		bids = append(bids, bld.ID)
	}
	hids := make([]string, households)
	if err := parallel(households, func(i int) error {
		k := i / buildings // the k-th flat of its building: floor k/4+1, unit k%4+1
		h, err := cs.CreateHousehold(ctx, sp, bids[i%buildings], fmt.Sprintf("%d%02d", k/4+1, k%4+1), nil)
		if err != nil {
			return err
		}
		hids[i] = h.ID
		return nil
	}); err != nil {
		return fx, fmt.Errorf("households: %w", err)
	}
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
	// of history is a full page; the rest are spread over everyone.
	deep := min(64, residentCount)
	if err := parallel(entries, func(i int) error {
		// The residents the bench logs in as must not run out of points
		// while redeeming and scanning as fast as they can.
		who, delta := i%deep, int64(50)
		if i >= deep*60 {
			who, delta = mrand.IntN(residentCount), int64(1+i%20)
		}
		_, err := l.Post(ctx, ledger.Posting{
			OpID:        fmt.Sprintf("gen:%d", i),
			Hash:        "gen",
			Account:     models.AccountOf(ids[who], models.AssetPoints),
			CommunityID: c.ID,
			Delta:       delta,
			Kind:        models.KindAward,
			Reason:      "generated",
			Actor:       staff.ID,
		})
		return err
	}); err != nil {
		return fx, fmt.Errorf("entries: %w", err)
	}
	fx.residentPhones, fx.residentIDs = phones[:deep], ids

	// A merchant, its clerk and a reward to redeem and scan.
	shop, err := cs.CreatePartner(ctx, sp, models.PartnerMerchant, "基准早餐店")
	if err != nil {
		return fx, err
	}
	fx.clerkPhone = "13800000007"
	if _, err := cs.CreateResident(ctx, sp, directory.NewResident{
		Name:       "店员",
		Phone:      fx.clerkPhone,
		Password:   benchPassword,
		Roles:      []models.Role{models.RoleMerchantClerk},
		MerchantID: shop.ID,
	}); err != nil {
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
	})
	reward, err := rewardService.CreateReward(ctx, sp, models.Reward{
		Kind:      models.RewardMerchant,
		Title:     "豆浆油条",
		PartnerID: shop.ID,
		Points:    1,
		ValueFen:  500,
		Bearer:    models.BearerPartner,
	})
	if err != nil {
		return fx, err
	}
	fx.rewardID = reward.ID
	property, err := cs.CreatePartner(ctx, sp, models.PartnerProperty, "基准物业")
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
	})
	if err != nil {
		return fx, err
	}
	fx.feeRewardID = fee.ID
	// 5,000 redemptions, held by the residents with points.
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
	// The nightly hold-expiry job has saved what their holds decided.
	if _, err := rewardService.ExpireHolds(ctx, now()); err != nil {
		return fx, fmt.Errorf("hold-expiry: %w", err)
	}
	// 15,000 service records, pending verification, spread over the year.
	tb := timebank.New(timebank.Deps{
		Store:    st,
		People:   st,
		Ledger:   l,
		Policies: policies,
		Trail:    st,
		QRSecret: []byte("bench-generation-only"),
		Now:      now,
		NewID:    randomHex8,
	})
	day := time.Now().AddDate(0, 0, -1).Truncate(24 * time.Hour)
	if err := parallel(records, func(i int) error {
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
	// Last month's fulfilments at the merchant, for the settlement run.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	fx.lastMonth = models.MonthOf(time.Now(), loc).Previous()
	from := fx.lastMonth.Start(loc)
	if err := parallel(redemptions, func(i int) error {
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
	fx.summary = fmt.Sprintf("%d buildings, %d households, %d residents, %d ledger entries, %d service records, %d redemptions, %d fulfilments in %s",
		buildings, households, residentCount, entries, records, redemptions, redemptions, fx.lastMonth)
	return fx, nil
}

// anyoneEligible lets every resident redeem during generation.
type anyoneEligible struct{}

func (anyoneEligible) HonourListed(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}
func (anyoneEligible) StarLevel(context.Context, string, string, time.Time) (int, error) {
	return 3, nil
}
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

func randomHex8() string { return randomHex(8) }
