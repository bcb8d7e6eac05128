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
	AddVersion(ctx context.Context, p models.Principal, next models.Policy) (models.Policy, error)
}

func (h *api) routesPolicy(r fiber.Router) {
	r.Get("/policy", h.authed(), h.currentPolicy)
	r.Get("/policy/versions", h.authed(models.RoleStaff, models.RoleAdmin), h.policyVersions)
	r.Post("/policy/versions", h.authed(models.RoleStaff, models.RoleAdmin), h.addPolicyVersion)
}

// timeOrNil is an instant shown as null when there is none.
type timeOrNil = *time.Time

// policyJSON is a policy version as the API shows it, and (with pointers in
// policyChange) as staff change it. Effective is null for version 0, the
// built-in defaults, which have applied since the community began.
type policyJSON struct {
	Version              int       `json:"version"`
	Effective            timeOrNil `json:"effective"`
	CreatedBy            string    `json:"created_by,omitempty"`
	MaxAward             int64     `json:"max_award"`
	MaxDeduct            int64     `json:"max_deduct"`
	PointsPerHour        int64     `json:"points_per_hour"`
	MaxMinutesPerDay     int64     `json:"max_minutes_per_day"`
	AutoApproveDays      int       `json:"auto_approve_days"`
	ClaimExpiryDays      int       `json:"claim_expiry_days"`
	CheckinGraceMinutes  int       `json:"checkin_grace_minutes"`
	DebtFloorMinutes     int64     `json:"debt_floor_minutes"`
	GiftMinAge           int       `json:"gift_min_age"`
	GiftYearlyCapMinutes int64     `json:"gift_yearly_cap_minutes"`
	PointsLifetimeMonths int       `json:"points_lifetime_months"`
	HoldExpiryDays       int       `json:"hold_expiry_days"`
	MerchantRefundDays   int       `json:"merchant_refund_days"`
	NoticeDays           int       `json:"notice_days"`
	ListingDays          int       `json:"listing_days"`
	ListingPoints        int64     `json:"listing_points"`
	AllowanceBase        int64     `json:"allowance_base"`
	AllowancePerDuty     int64     `json:"allowance_per_duty"`
	AllowanceCap         int64     `json:"allowance_cap"`
	AllowanceProRata     bool      `json:"allowance_pro_rata"`
	DutyChecklist        []string  `json:"duty_checklist"`
	OneStarPoints        int64     `json:"one_star_points"`
	TwoStarPoints        int64     `json:"two_star_points"`
	ModelStarPoints      int64     `json:"model_star_points"`
	FilialMinAge         int       `json:"filial_min_age"`
	FilialFreeMinutes    int64     `json:"filial_free_minutes"`
	FilialDays           []int     `json:"filial_days"`
	FilialFromMinute     int       `json:"filial_from_minute"`
	FilialToMinute       int       `json:"filial_to_minute"`
	FilialVisitorBays    int       `json:"filial_visitor_bays"`
}

func toPolicyJSON(p models.Policy) policyJSON {
	out := policyJSON{
		Version:              p.Version,
		Effective:            timePtr(p.Effective),
		CreatedBy:            p.CreatedBy,
		MaxAward:             int64(p.MaxAward),
		MaxDeduct:            int64(p.MaxDeduct),
		PointsPerHour:        int64(p.PointsPerHour),
		MaxMinutesPerDay:     int64(p.MaxMinutesPerDay),
		AutoApproveDays:      p.AutoApproveDays,
		ClaimExpiryDays:      p.ClaimExpiryDays,
		CheckinGraceMinutes:  p.CheckinGraceMinutes,
		DebtFloorMinutes:     int64(p.DebtFloorMinutes),
		GiftMinAge:           p.GiftMinAge,
		GiftYearlyCapMinutes: int64(p.GiftYearlyCapMinutes),
		PointsLifetimeMonths: p.PointsLifetimeMonths,
		HoldExpiryDays:       p.HoldExpiryDays,
		MerchantRefundDays:   p.MerchantRefundDays,
		NoticeDays:           p.NoticeDays,
		ListingDays:          p.ListingDays,
		ListingPoints:        int64(p.ListingPoints),
		AllowanceBase:        int64(p.AllowanceBase),
		AllowancePerDuty:     int64(p.AllowancePerDuty),
		AllowanceCap:         int64(p.AllowanceCap),
		AllowanceProRata:     p.AllowanceProRata,
		DutyChecklist:        p.DutyChecklist,
		OneStarPoints:        int64(p.OneStarPoints),
		TwoStarPoints:        int64(p.TwoStarPoints),
		ModelStarPoints:      int64(p.ModelStarPoints),
		FilialMinAge:         p.FilialMinAge,
		FilialFreeMinutes:    int64(p.FilialFreeMinutes),
		FilialFromMinute:     p.FilialFromMinute,
		FilialToMinute:       p.FilialToMinute,
		FilialVisitorBays:    p.FilialVisitorBays,
		FilialDays:           []int{},
	}
	if out.DutyChecklist == nil {
		out.DutyChecklist = []string{}
	}
	for _, d := range p.FilialDays {
		out.FilialDays = append(out.FilialDays, int(d))
	}
	return out
}

// policyChange is a new version: the fields given change, the others carry
// over from the version in force now.
type policyChange struct {
	Effective            *time.Time `json:"effective"`
	MaxAward             *int64     `json:"max_award"`
	MaxDeduct            *int64     `json:"max_deduct"`
	PointsPerHour        *int64     `json:"points_per_hour"`
	MaxMinutesPerDay     *int64     `json:"max_minutes_per_day"`
	AutoApproveDays      *int       `json:"auto_approve_days"`
	ClaimExpiryDays      *int       `json:"claim_expiry_days"`
	CheckinGraceMinutes  *int       `json:"checkin_grace_minutes"`
	DebtFloorMinutes     *int64     `json:"debt_floor_minutes"`
	GiftMinAge           *int       `json:"gift_min_age"`
	GiftYearlyCapMinutes *int64     `json:"gift_yearly_cap_minutes"`
	PointsLifetimeMonths *int       `json:"points_lifetime_months"`
	HoldExpiryDays       *int       `json:"hold_expiry_days"`
	MerchantRefundDays   *int       `json:"merchant_refund_days"`
	NoticeDays           *int       `json:"notice_days"`
	ListingDays          *int       `json:"listing_days"`
	ListingPoints        *int64     `json:"listing_points"`
	AllowanceBase        *int64     `json:"allowance_base"`
	AllowancePerDuty     *int64     `json:"allowance_per_duty"`
	AllowanceCap         *int64     `json:"allowance_cap"`
	AllowanceProRata     *bool      `json:"allowance_pro_rata"`
	DutyChecklist        []string   `json:"duty_checklist" validate:"omitempty,max=30"`
	OneStarPoints        *int64     `json:"one_star_points"`
	TwoStarPoints        *int64     `json:"two_star_points"`
	ModelStarPoints      *int64     `json:"model_star_points"`
	FilialMinAge         *int       `json:"filial_min_age"`
	FilialFreeMinutes    *int64     `json:"filial_free_minutes"`
	FilialDays           []int      `json:"filial_days" validate:"omitempty,max=7,dive,min=0,max=6"`
	FilialFromMinute     *int       `json:"filial_from_minute"`
	FilialToMinute       *int       `json:"filial_to_minute"`
	FilialVisitorBays    *int       `json:"filial_visitor_bays"`
}

func set[T any, U any](dst *U, src *T, conv func(T) U) {
	if src != nil {
		*dst = conv(*src)
	}
}

func same[T any](v T) T { return v }

func (c policyChange) apply(p models.Policy) models.Policy {
	pts := func(v int64) models.Points { return models.Points(v) }
	mins := func(v int64) models.Minutes { return models.Minutes(v) }
	p.Effective = time.Time{}
	set(&p.Effective, c.Effective, same)
	set(&p.MaxAward, c.MaxAward, pts)
	set(&p.MaxDeduct, c.MaxDeduct, pts)
	set(&p.PointsPerHour, c.PointsPerHour, pts)
	set(&p.MaxMinutesPerDay, c.MaxMinutesPerDay, mins)
	set(&p.AutoApproveDays, c.AutoApproveDays, same)
	set(&p.ClaimExpiryDays, c.ClaimExpiryDays, same)
	set(&p.CheckinGraceMinutes, c.CheckinGraceMinutes, same)
	set(&p.DebtFloorMinutes, c.DebtFloorMinutes, mins)
	set(&p.GiftMinAge, c.GiftMinAge, same)
	set(&p.GiftYearlyCapMinutes, c.GiftYearlyCapMinutes, mins)
	set(&p.PointsLifetimeMonths, c.PointsLifetimeMonths, same)
	set(&p.HoldExpiryDays, c.HoldExpiryDays, same)
	set(&p.MerchantRefundDays, c.MerchantRefundDays, same)
	set(&p.NoticeDays, c.NoticeDays, same)
	set(&p.ListingDays, c.ListingDays, same)
	set(&p.ListingPoints, c.ListingPoints, pts)
	set(&p.AllowanceBase, c.AllowanceBase, pts)
	set(&p.AllowancePerDuty, c.AllowancePerDuty, pts)
	set(&p.AllowanceCap, c.AllowanceCap, pts)
	set(&p.AllowanceProRata, c.AllowanceProRata, same)
	set(&p.OneStarPoints, c.OneStarPoints, pts)
	set(&p.TwoStarPoints, c.TwoStarPoints, pts)
	set(&p.ModelStarPoints, c.ModelStarPoints, pts)
	set(&p.FilialMinAge, c.FilialMinAge, same)
	set(&p.FilialFreeMinutes, c.FilialFreeMinutes, mins)
	set(&p.FilialFromMinute, c.FilialFromMinute, same)
	set(&p.FilialToMinute, c.FilialToMinute, same)
	set(&p.FilialVisitorBays, c.FilialVisitorBays, same)
	if c.DutyChecklist != nil {
		p.DutyChecklist = c.DutyChecklist
	}
	if c.FilialDays != nil {
		p.FilialDays = nil
		for _, d := range c.FilialDays {
			p.FilialDays = append(p.FilialDays, time.Weekday(d))
		}
	}
	return p
}

func (h *api) currentPolicy(c *fiber.Ctx) error {
	p, err := h.Policies.Current(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(toPolicyJSON(p))
}

func (h *api) policyVersions(c *fiber.Ctx) error {
	vs, err := h.Policies.Versions(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := mapEach(vs, toPolicyJSON)
	return c.JSON(fiber.Map{"versions": out})
}

func (h *api) addPolicyVersion(c *fiber.Ctx) error {
	var req policyChange
	if err := decode(c, &req); err != nil {
		return err
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(community.Idempotency) error {
		cur, err := h.Policies.Current(c.UserContext(), principal(c))
		if err != nil {
			return err
		}
		p, err := h.Policies.AddVersion(c.UserContext(), principal(c), req.apply(cur))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toPolicyJSON(p))
	})
}
