package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
	"github.com/linli-community/linli/timebank"
)

// demoPassword is the password of every demo login; the demo is for a
// developer's machine and is never loaded into a MongoDB unless asked for.
const demoPassword = "linli-demo-2026"

// demoLogin is one demo login `linli seed` prints: phone, name, role and a note.
type demoLogin struct {
	phone, name, role, note string
}

// seedIfEmpty loads the demo community into an empty store and prints its
// logins; a store that has any community is left alone.
func (s *system) seedIfEmpty(ctx context.Context, w io.Writer) error {
	empty, err := s.store.Empty(ctx)
	if err != nil {
		return err
	}
	if !empty {
		fmt.Fprintln(w, "The store has data already: no demo loaded.")
		return nil
	}
	logins, err := s.seedDemo(ctx)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	fmt.Fprintf(w, "Loaded the demo community 春申居民区 (梅陇镇, 闵行区). Every demo login's password is %q:\n", demoPassword)
	for _, l := range logins {
		fmt.Fprintf(w, "  %-12s %-14s %s %s\n", l.phone, l.role, l.name, l.note)
	}
	return nil
}

// seedDemo builds a Shanghai-style 居民区 through the same services the API
// uses, so the demo obeys every rule real data does.
func (s *system) seedDemo(ctx context.Context) ([]demoLogin, error) {
	cs := s.communities
	// Every demo login has the one printed password: hashed once (a
	// deployment's Argon2id cost is tens of milliseconds a hash), not once
	// per resident.
	passwordHash, err := s.passwords.Hash(demoPassword)
	if err != nil {
		return nil, err
	}
	root := models.Principal{ResidentID: "system", Roles: []models.Role{models.RoleAdmin}}
	c, staff, err := cs.CreateCommunity(ctx, root, directory.NewCommunity{
		Name:     "春申居民区",
		District: "闵行区梅陇镇",
		TimeZone: "Asia/Shanghai",
		FirstStaff: &directory.NewResident{
			Name:         "陈社工",
			Phone:        "13800000002",
			BirthYear:    1988,
			PasswordHash: passwordHash,
		},
	}, community.Idempotency{})
	if err != nil {
		return nil, err
	}
	admin := models.Principal{
		ResidentID:  "system",
		CommunityID: c.ID,
		Roles:       []models.Role{models.RoleAdmin},
	}
	sp := models.Principal{
		ResidentID:  staff.ID,
		CommunityID: c.ID,
		Roles:       []models.Role{models.RoleStaff},
	}

	partners := map[string]models.Partner{}
	for _, p := range []struct {
		kind models.PartnerKind
		name string
	}{
		{models.PartnerProperty, "春申物业服务有限公司"}, {models.PartnerParking, "春申停车管理有限公司"},
		{models.PartnerMerchant, "老王早餐店"}, {models.PartnerMerchant, "美美理发店"}, {models.PartnerMerchant, "邻里便利店"},
	} {
		partner, err := cs.CreatePartner(ctx, sp, p.kind, p.name, community.Idempotency{})
		if err != nil {
			return nil, err
		}
		partners[p.name] = partner
	}

	var households []models.Household
	buildings := []models.Building{}
	for b := 1; b <= 3; b++ {
		bld, err := cs.CreateBuilding(ctx, sp, fmt.Sprintf("%d号楼", b), fmt.Sprintf("春申路%d弄%d号", 1200, b), community.Idempotency{})
		if err != nil {
			return nil, err
		}
		buildings = append(buildings, bld)
		for floor := 1; floor <= 4; floor++ {
			for unit := 1; unit <= 2; unit++ {
				var plates []string
				if unit == 1 {
					plates = []string{fmt.Sprintf("沪A%d%d%03d", b, floor, unit*100+floor)}
				}
				h, err := cs.CreateHousehold(ctx, sp, bld.ID, fmt.Sprintf("%d0%d", floor, unit), plates, community.Idempotency{})
				if err != nil {
					return nil, err
				}
				households = append(households, h)
			}
		}
	}

	logins := []demoLogin{{"13800000002", "陈社工", "staff", "(居委会社工)"}}
	people := []struct {
		login     demoLogin
		household int
		birth     int
		roles     []models.Role
		merchant  string
		partner   string
		by        models.Principal
	}{
		{demoLogin{"13800000001", "林主任", "admin", "(居委会主任)"}, -1, 1975, []models.Role{models.RoleAdmin, models.RoleStaff}, "", "", admin},
		{demoLogin{"13800000003", "张阿姨", "building_head", "(1号楼楼组长)"}, 0, 1958, nil, "", "", sp},
		{demoLogin{"13800000004", "李师傅", "team_lead", "(志愿者队长)"}, 9, 1966, []models.Role{models.RoleResident, models.RoleTeamLead}, "", "", sp},
		{demoLogin{"13800000005", "王奶奶", "resident", "(1950年生, 独居老人)"}, 3, 1950, nil, "", "", sp},
		{demoLogin{"13800000006", "王小明", "resident", "(王奶奶之子, 住3号楼)"}, 17, 1980, nil, "", "", sp},
		{demoLogin{"13800000007", "王老板", "merchant_clerk", "(老王早餐店)"}, -1, 1972, []models.Role{models.RoleMerchantClerk}, "老王早餐店", "", sp},
		{demoLogin{"13800000008", "赵经理", "partner", "(春申物业)"}, -1, 1979, []models.Role{models.RolePartner}, "", "春申物业服务有限公司", sp},
		{demoLogin{"13800000009", "钱经理", "partner", "(春申停车)"}, -1, 1983, []models.Role{models.RolePartner}, "", "春申停车管理有限公司", sp},
	}
	ids := map[string]string{}
	for _, p := range people {
		in := directory.NewResident{
			Name:         p.login.name,
			Phone:        p.login.phone,
			BirthYear:    p.birth,
			Roles:        p.roles,
			PasswordHash: passwordHash,
		}
		if p.household >= 0 {
			in.HouseholdID = households[p.household].ID
		}
		if p.merchant != "" {
			in.MerchantID = partners[p.merchant].ID
		}
		if p.partner != "" {
			in.PartnerID = partners[p.partner].ID
		}
		r, err := cs.CreateResident(ctx, p.by, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.login.name, err)
		}
		ids[p.login.phone] = r.ID
		logins = append(logins, p.login)
	}
	if _, err := cs.SetBuildingHead(ctx, sp, buildings[0].ID, ids["13800000003"]); err != nil {
		return nil, err
	}
	if _, err := cs.AddFamilyLink(ctx, sp, ids["13800000006"], ids["13800000005"], "父母"); err != nil {
		return nil, err
	}
	if _, err := cs.VerifyFamilyLink(ctx, sp, ids["13800000006"], ids["13800000005"]); err != nil {
		return nil, err
	}
	// Twenty more residents, one or two per flat, without printed logins.
	surnames := []rune("赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何")
	for i := 0; i < 20; i++ {
		r, err := cs.CreateResident(ctx, sp, directory.NewResident{
			Name:         string(surnames[i]) + "居民",
			Phone:        fmt.Sprintf("139000000%02d", i+10),
			BirthYear:    1940 + i*3,
			HouseholdID:  households[(i*5)%len(households)].ID,
			PasswordHash: passwordHash,
		})
		if err != nil {
			return nil, err
		}
		ids[r.Phone] = r.ID
	}
	// Some points and hours so the screens are not empty.
	for phone, id := range ids {
		for _, a := range []struct {
			asset  models.Asset
			amount int64
			kind   models.EntryKind
			reason string
		}{{models.AssetPoints, 50, models.KindAward, "好人好事: 开学季护学岗"}, {models.AssetHours, 120, models.KindService, "助老: 陪同就医"}} {
			_, err := s.ledger.Post(ctx, ledger.Posting{
				OpID:        "seed:" + phone + ":" + string(a.asset),
				Hash:        "seed",
				Account:     models.AccountOf(id, a.asset),
				CommunityID: c.ID,
				Delta:       a.amount,
				Kind:        a.kind,
				Reason:      a.reason,
				Actor:       staff.ID,
			})
			if err != nil {
				return nil, err
			}
		}
	}
	// Rewards (兑换项目) and a filial-visit plate (孝老停车) for 王小明 visiting 王奶奶.
	for _, reward := range []models.Reward{
		{
			Kind:       models.RewardParking,
			Title:      "停车费减免 10元/月",
			PartnerID:  partners["春申停车管理有限公司"].ID,
			Points:     100,
			ValueFen:   1000,
			Bearer:     models.BearerCommunity,
			LimitMonth: 1,
		},
		{
			Kind:                models.RewardPropertyFee,
			Title:               "物业费优惠 20元",
			PartnerID:           partners["春申物业服务有限公司"].ID,
			Points:              200,
			ValueFen:            2000,
			Bearer:              models.BearerCommunity,
			LimitYear:           6,
			HouseholdYearCapFen: 12000,
		},
		{
			Kind:          models.RewardMerchant,
			Title:         "早餐套餐 (豆浆+油条)",
			PartnerID:     partners["老王早餐店"].ID,
			Points:        20,
			ValueFen:      800,
			Bearer:        models.BearerPartner,
			StockPerMonth: 100,
			LimitMonth:    4,
		},
	} {
		if _, err := s.rewards.CreateReward(ctx, sp, reward, community.Idempotency{}); err != nil {
			return nil, fmt.Errorf("reward %s: %w", reward.Title, err)
		}
	}
	if _, err := s.rewards.RegisterFilialPlate(ctx, sp, ids["13800000005"], "沪B66688"); err != nil {
		return nil, fmt.Errorf("filial plate: %w", err)
	}
	if err := s.seedHonour(ctx, sp, buildings[0], ids); err != nil {
		return nil, fmt.Errorf("honour: %w", err)
	}
	if err := s.seedTimebank(ctx, c.ID, sp, models.Principal{
		ResidentID:  ids["13800000005"],
		CommunityID: c.ID,
		Roles:       []models.Role{models.RoleResident},
	}); err != nil {
		return nil, fmt.Errorf("time bank: %w", err)
	}
	return logins, nil
}

// seedHonour adds a listed resident (赵居民), a nomination in public notice
// (李师傅) and the demo building head's (张阿姨) term and duties this month.
func (s *system) seedHonour(ctx context.Context, staff models.Principal, building models.Building, ids map[string]string) error {
	hs := s.honour
	// The demo's honour decisions are made by "system", so they stay out of
	// the staff audit trail.
	sp := models.Principal{
		ResidentID:  "system",
		CommunityID: staff.CommunityID,
		Roles:       []models.Role{models.RoleStaff},
	}
	listed, err := hs.Nominate(ctx, sp, honour.Nomination{
		ResidentID: ids["13900000010"],
		Category:   "好人好事",
		Reason:     "常年义务照看楼道花草",
	})
	if err != nil {
		return err
	}
	// The demo skips the week of notice: list everything due a day after it.
	if _, _, _, err := hs.ListDue(ctx, listed.NoticeEnds.Add(24*time.Hour)); err != nil {
		return err
	}
	if _, err := hs.Nominate(ctx, sp, honour.Nomination{
		ResidentID: ids["13800000004"],
		Category:   "志愿服务",
		Reason:     "带领志愿者队开展助老服务",
	}); err != nil {
		return err
	}
	head := ids["13800000003"]
	if _, err := hs.Appoint(ctx, sp, honour.Appointment{
		Role:       models.HeadBuilding,
		BuildingID: building.ID,
		ResidentID: head,
	}); err != nil {
		return err
	}
	month := models.MonthOf(s.now(), s.loc).String()
	hp := models.Principal{
		ResidentID:  head,
		CommunityID: sp.CommunityID,
		Roles:       []models.Role{models.RoleResident, models.RoleBuildingHead},
	}
	for i, d := range []struct{ duty, evidence string }{
		{"月度例会", "参加居委会月度楼组长例会, 签到表第3行"},
		{"通知送达", "电梯维修通知已逐户送达 1号楼 8 户"},
	} {
		duty, err := hs.LogDuty(ctx, hp, honour.DutyLog{
			Month:    month,
			Duty:     d.duty,
			Evidence: d.evidence,
		})
		if err != nil {
			return err
		}
		if i == 0 {
			if _, err := hs.RuleDuty(ctx, sp, duty.ID, true, "已核实"); err != nil {
				return err
			}
		}
	}
	return nil
}

// seedTimebank adds volunteer activities (one running today with self
// check-in), a funded community time-bank fund and a mutual-aid request
// from 王奶奶, whom staff flag for the fund to pay her help.
func (s *system) seedTimebank(ctx context.Context, communityID string, sp, elder models.Principal) error {
	now := s.now().In(s.loc)
	today := now.Truncate(time.Hour).Add(-time.Hour)
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 9, 0, 0, 0, s.loc)
	for _, a := range []timebank.NewActivity{
		{
			Title:       "垃圾分类桶边督导",
			Category:    "垃圾分类",
			Place:       "1号楼垃圾厢房",
			Start:       today,
			End:         today.Add(4 * time.Hour),
			Capacity:    6,
			MaxMinutes:  180,
			SelfCheckin: true,
		},
		{
			Title:      "独居老人探访",
			Category:   "助老",
			Place:      "居委会活动室",
			Start:      tomorrow,
			End:        tomorrow.Add(3 * time.Hour),
			Capacity:   10,
			MaxMinutes: 120,
		},
		{
			Title:       "小区环境清洁",
			Category:    "环境",
			Place:       "中心花园",
			Start:       tomorrow.AddDate(0, 0, 6),
			End:         tomorrow.AddDate(0, 0, 6).Add(2 * time.Hour),
			Capacity:    20,
			MaxMinutes:  120,
			SelfCheckin: true,
		},
		{
			Title:      "夜间治安巡逻",
			Category:   "治安巡逻",
			Place:      "小区东门",
			Start:      tomorrow.Add(10 * time.Hour),
			End:        tomorrow.Add(12 * time.Hour),
			Capacity:   4,
			MaxMinutes: 120,
		},
	} {
		if _, err := s.timebank.CreateActivity(ctx, sp, a, community.Idempotency{}); err != nil {
			return err
		}
	}
	if err := s.mutualAid.SetNeedy(ctx, sp, elder.ResidentID, true); err != nil {
		return err
	}
	// Posted directly, like the other demo balances, so the demo's audit
	// trail starts empty.
	if _, err := s.ledger.Post(ctx, ledger.Posting{
		OpID:        "seed:fund:" + communityID,
		Hash:        "seed",
		Account:     models.FundAccount(communityID),
		CommunityID: communityID,
		Delta:       600,
		Kind:        models.KindAdjustment,
		Reason:      "街道拨付时间银行基金",
		Actor:       sp.ResidentID,
	}); err != nil {
		return err
	}
	_, err := s.mutualAid.PostAid(ctx, elder, mutualaid.NewAid{
		Kind:        models.AidRequest,
		Title:       "陪同去医院复诊",
		Description: "周三上午去第五人民医院, 需要有人陪同挂号取药",
		Minutes:     120,
		When:        tomorrow.AddDate(0, 0, 2),
	}, community.Idempotency{})
	return err
}
