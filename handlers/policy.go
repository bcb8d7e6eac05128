package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// policyService is what the policy routes call.
type policyService interface {
	Current(ctx context.Context, p models.Principal) (models.Policy, error)
	Versions(ctx context.Context, p models.Principal) ([]models.Policy, error)
	AddVersion(ctx context.Context, p models.Principal, next models.Policy, idem community.Idempotency) (models.Policy, error)
}

// routesPolicy registers the policy routes: the policy in force (any signed-in caller),
// and the versions and writing the next one (staff, admin).
func (h *api) routesPolicy(r fiber.Router) {
	r.Get("/policy", h.authed(), h.currentPolicy)
	r.Get("/policy/versions", h.authed(models.RoleStaff, models.RoleAdmin), h.policyVersions)
	r.Post("/policy/versions", h.authed(models.RoleStaff, models.RoleAdmin), h.addPolicyVersion)
}

// timeOrNil is an instant shown as null when there is none.
type timeOrNil = *time.Time

// policySettings are a policy's rules as the API names them, written once
// for both directions: with plain values (N int64, I int, B bool) in
// policyJSON, the version as shown; with pointers in policyChange, where a
// missing or null rule carries over. linkPolicySettings pairs each with its
// field of models.Policy; TestPolicyMappingCoversEveryField fails if one is
// missing.
type policySettings[N, I, B any] struct {
	MaxAward             N        `json:"max_award"`
	MaxDeduct            N        `json:"max_deduct"`
	PointsPerHour        N        `json:"points_per_hour"`
	MaxMinutesPerDay     N        `json:"max_minutes_per_day"`
	AutoApproveDays      I        `json:"auto_approve_days"`
	ClaimExpiryDays      I        `json:"claim_expiry_days"`
	CheckinGraceMinutes  I        `json:"checkin_grace_minutes"`
	DebtFloorMinutes     N        `json:"debt_floor_minutes"`
	GiftMinAge           I        `json:"gift_min_age"`
	GiftYearlyCapMinutes N        `json:"gift_yearly_cap_minutes"`
	PointsLifetimeMonths I        `json:"points_lifetime_months"`
	HoldExpiryDays       I        `json:"hold_expiry_days"`
	MerchantRefundDays   I        `json:"merchant_refund_days"`
	NoticeDays           I        `json:"notice_days"`
	ListingDays          I        `json:"listing_days"`
	ListingPoints        N        `json:"listing_points"`
	AllowanceBase        N        `json:"allowance_base"`
	AllowancePerDuty     N        `json:"allowance_per_duty"`
	AllowanceCap         N        `json:"allowance_cap"`
	AllowanceProRata     B        `json:"allowance_pro_rata"`
	DutyChecklist        []string `json:"duty_checklist" validate:"omitempty,max=30"`
	OneStarPoints        N        `json:"one_star_points"`
	TwoStarPoints        N        `json:"two_star_points"`
	ModelStarPoints      N        `json:"model_star_points"`
	FilialMinAge         I        `json:"filial_min_age"`
	FilialFreeMinutes    N        `json:"filial_free_minutes"`
	FilialDays           []int    `json:"filial_days" validate:"omitempty,max=7,dive,min=0,max=6"`
	FilialFromMinute     I        `json:"filial_from_minute"`
	FilialToMinute       I        `json:"filial_to_minute"`
	FilialVisitorBays    I        `json:"filial_visitor_bays"`
	RetentionYears       I        `json:"retention_years"`
}

// settingLinks say how one direction moves a rule between a field of
// models.Policy and its field in policySettings.
type settingLinks[N, I, B any] struct {
	points  func(field *models.Points, value *N)
	minutes func(field *models.Minutes, value *N)
	whole   func(field *int, value *I)
	flag    func(field *bool, value *B)
	texts   func(field *[]string, value *[]string)
	days    func(field *[]time.Weekday, value *[]int)
}

// linkPolicySettings is the one list pairing each rule of p with its field
// in s; links moves each pair in the direction wanted.
func linkPolicySettings[N, I, B any](p *models.Policy, s *policySettings[N, I, B], links settingLinks[N, I, B]) {
	links.points(&p.MaxAward, &s.MaxAward)
	links.points(&p.MaxDeduct, &s.MaxDeduct)
	links.points(&p.PointsPerHour, &s.PointsPerHour)
	links.minutes(&p.MaxMinutesPerDay, &s.MaxMinutesPerDay)
	links.whole(&p.AutoApproveDays, &s.AutoApproveDays)
	links.whole(&p.ClaimExpiryDays, &s.ClaimExpiryDays)
	links.whole(&p.CheckinGraceMinutes, &s.CheckinGraceMinutes)
	links.minutes(&p.DebtFloorMinutes, &s.DebtFloorMinutes)
	links.whole(&p.GiftMinAge, &s.GiftMinAge)
	links.minutes(&p.GiftYearlyCapMinutes, &s.GiftYearlyCapMinutes)
	links.whole(&p.PointsLifetimeMonths, &s.PointsLifetimeMonths)
	links.whole(&p.HoldExpiryDays, &s.HoldExpiryDays)
	links.whole(&p.MerchantRefundDays, &s.MerchantRefundDays)
	links.whole(&p.NoticeDays, &s.NoticeDays)
	links.whole(&p.ListingDays, &s.ListingDays)
	links.points(&p.ListingPoints, &s.ListingPoints)
	links.points(&p.AllowanceBase, &s.AllowanceBase)
	links.points(&p.AllowancePerDuty, &s.AllowancePerDuty)
	links.points(&p.AllowanceCap, &s.AllowanceCap)
	links.flag(&p.AllowanceProRata, &s.AllowanceProRata)
	links.texts(&p.DutyChecklist, &s.DutyChecklist)
	links.points(&p.OneStarPoints, &s.OneStarPoints)
	links.points(&p.TwoStarPoints, &s.TwoStarPoints)
	links.points(&p.ModelStarPoints, &s.ModelStarPoints)
	links.whole(&p.FilialMinAge, &s.FilialMinAge)
	links.minutes(&p.FilialFreeMinutes, &s.FilialFreeMinutes)
	links.days(&p.FilialDays, &s.FilialDays)
	links.whole(&p.FilialFromMinute, &s.FilialFromMinute)
	links.whole(&p.FilialToMinute, &s.FilialToMinute)
	links.whole(&p.FilialVisitorBays, &s.FilialVisitorBays)
	links.whole(&p.RetentionYears, &s.RetentionYears)
}

// policyJSON is a policy version as the API shows it. Effective is null for
// version 0, the built-in defaults, which have applied since the community
// began.
type policyJSON struct {
	Version   int       `json:"version"`
	Effective timeOrNil `json:"effective"`
	CreatedBy string    `json:"created_by,omitempty"`
	policySettings[int64, int, bool]
}

// toPolicyJSON returns p as the API shows it; empty lists are [], not null.
func toPolicyJSON(p models.Policy) policyJSON {
	out := policyJSON{
		Version:   p.Version,
		Effective: timePtr(p.Effective),
		CreatedBy: p.CreatedBy,
	}
	linkPolicySettings(&p, &out.policySettings, settingLinks[int64, int, bool]{
		points:  func(field *models.Points, value *int64) { *value = int64(*field) },
		minutes: func(field *models.Minutes, value *int64) { *value = int64(*field) },
		whole:   func(field *int, value *int) { *value = *field },
		flag:    func(field *bool, value *bool) { *value = *field },
		texts: func(field *[]string, value *[]string) {
			*value = append([]string{}, *field...)
		},
		days: func(field *[]time.Weekday, value *[]int) {
			*value = []int{}
			for _, day := range *field {
				*value = append(*value, int(day))
			}
		},
	})
	return out
}

// policyChange is a new version: the rules given change, the others carry
// over from the version in force now. Effective absent means now.
type policyChange struct {
	Effective *time.Time `json:"effective"`
	policySettings[*int64, *int, *bool]
}

// changeIf sets *field to convert(*value) when the change gives a value.
func changeIf[T, U any](field *U, value *T, convert func(T) U) {
	if value != nil {
		*field = convert(*value)
	}
}

// apply returns p with the change's rules set and its effective instant.
func (c policyChange) apply(p models.Policy) models.Policy {
	p.Effective = time.Time{}
	if c.Effective != nil {
		p.Effective = *c.Effective
	}
	linkPolicySettings(&p, &c.policySettings, settingLinks[*int64, *int, *bool]{
		points: func(field *models.Points, value **int64) {
			changeIf(field, *value, func(v int64) models.Points { return models.Points(v) })
		},
		minutes: func(field *models.Minutes, value **int64) {
			changeIf(field, *value, func(v int64) models.Minutes { return models.Minutes(v) })
		},
		whole: func(field *int, value **int) { changeIf(field, *value, func(v int) int { return v }) },
		flag:  func(field *bool, value **bool) { changeIf(field, *value, func(v bool) bool { return v }) },
		texts: func(field *[]string, value *[]string) {
			if *value != nil {
				*field = *value
			}
		},
		days: func(field *[]time.Weekday, value *[]int) {
			if *value == nil {
				return
			}
			*field = nil
			for _, day := range *value {
				*field = append(*field, time.Weekday(day))
			}
		},
	})
	return p
}

// currentPolicy answers GET /policy: the policy in force now in the caller's community.
func (h *api) currentPolicy(c *fiber.Ctx) error {
	p, err := h.Policies.Current(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(toPolicyJSON(p))
}

// policyVersions answers GET /policy/versions for staff: every policy version of the
// community.
func (h *api) policyVersions(c *fiber.Ctx) error {
	vs, err := h.Policies.Versions(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := mapEach(vs, toPolicyJSON)
	return c.JSON(fiber.Map{"versions": out})
}

// addPolicyVersion answers POST /policy/versions for staff: writes the next version, the
// change applied to the policy in force, effective at `effective` (now when absent); 400
// VALIDATION_FAILED when a rule is out of range, 409 CONFLICT when others keep changing
// the policy at the same moment. A repeat under the same Idempotency-Key (optional) gets
// the first answer.
func (h *api) addPolicyVersion(c *fiber.Ctx) error {
	var req policyChange
	if err := decode(c, &req); err != nil {
		return err
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		cur, err := h.Policies.Current(c.UserContext(), principal(c))
		if err != nil {
			return err
		}
		p, err := h.Policies.AddVersion(c.UserContext(), principal(c), req.apply(cur), idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toPolicyJSON(p))
	})
}
