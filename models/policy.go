package models

import (
	"fmt"
	"time"
)

// Policy is a community's rules. Policies are versioned: a version applies
// from its Effective instant on, every ledger entry records the version it
// used, and a version is never changed once written.
type Policy struct {
	CommunityID string
	Version     int // 0 is the built-in default
	Effective   time.Time
	CreatedBy   string

	// Staff awards and deductions (好人好事 / 扣分): most per action.
	MaxAward  Points
	MaxDeduct Points

	// Time bank.
	PointsPerHour        Points  // points per 60 verified minutes
	MaxMinutesPerDay     Minutes // per resident per day, at approval
	AutoApproveDays      int     // pending attendance records (QR check-in and out) approve themselves after this
	CheckinGraceMinutes  int     // check-in allowed this long before the start and after the end
	DebtFloorMinutes     Minutes // how far below zero a mutual-aid requester, or a correction taking back spent hours, may go (a positive number)
	GiftMinAge           int     // a relative receiving gifted hours must be this old
	GiftYearlyCapMinutes Minutes // most hours one giver may gift in a calendar year
	// A resident's own claim (self-reported hours) is never approved by
	// itself: an organiser (team lead or staff) confirms it. With 0, the
	// default, an unconfirmed claim waits however long; with n, it is
	// rejected automatically n days after it was made (the resident may
	// claim again).
	ClaimExpiryDays int

	// Points lifetime and holds.
	PointsLifetimeMonths int // points expire this long after they were earned (FIFO)
	HoldExpiryDays       int // an unfulfilled redemption is released after this
	MerchantRefundDays   int // a clerk may refund this long after a scan

	// Honour roll (诚信红榜).
	NoticeDays    int    // public notice (公示) before listing
	ListingDays   int    // how long a listing lasts
	ListingPoints Points // awarded on listing

	// Building heads (楼组长) and the other 三长.
	AllowanceBase    Points   // monthly, with at least one confirmed duty
	AllowancePerDuty Points   // per confirmed duty
	AllowanceCap     Points   // most per month
	AllowanceProRata bool     // a head who served part of a month is paid for the days served
	DutyChecklist    []string // the duties staff confirm

	// Star households (一星户/二星户/示范户): yearly points of the household.
	OneStarPoints   Points
	TwoStarPoints   Points
	ModelStarPoints Points

	// Filial-visit parking (孝老停车).
	FilialMinAge      int            // the parent must be this old
	FilialFreeMinutes Minutes        // free per visit
	FilialDays        []time.Weekday // days visits are free
	FilialFromMinute  int            // minutes after midnight the window opens
	FilialToMinute    int            // and closes
	FilialVisitorBays int            // bays that can be booked at once

	// Personal information (PIPL): how many years after a resident moved
	// away their name, phone, ID number and birth year are erased. 0, in a
	// policy stored before the rule existed, means the default.
	RetentionYears int
}

// DefaultRetentionYears is how long a moved-away resident's personal
// information is kept when the policy says nothing: three years, as the
// financial records it explains.
const DefaultRetentionYears = 3

// Retention is the policy's retention period in years.
func (p Policy) Retention() int {
	if p.RetentionYears <= 0 {
		return DefaultRetentionYears
	}
	return p.RetentionYears
}

// DefaultPolicy is what a community that has set no policy runs on.
func DefaultPolicy(communityID string) Policy {
	return Policy{
		CommunityID:          communityID,
		Version:              0,
		MaxAward:             200,
		MaxDeduct:            200,
		PointsPerHour:        10,
		MaxMinutesPerDay:     8 * 60,
		AutoApproveDays:      7,
		CheckinGraceMinutes:  15,
		DebtFloorMinutes:     10 * 60,
		GiftMinAge:           60,
		GiftYearlyCapMinutes: 100 * 60,
		PointsLifetimeMonths: 24,
		HoldExpiryDays:       14,
		MerchantRefundDays:   7,
		NoticeDays:           7,
		ListingDays:          365,
		ListingPoints:        100,
		AllowanceBase:        50,
		AllowancePerDuty:     20,
		AllowanceCap:         150,
		AllowanceProRata:     true,
		DutyChecklist:        []string{"月度例会", "通知送达", "问题上报", "楼组活动", "民意收集"},
		OneStarPoints:        200,
		TwoStarPoints:        500,
		ModelStarPoints:      1000,
		FilialMinAge:         70,
		FilialFreeMinutes:    330,
		FilialDays:           []time.Weekday{time.Saturday, time.Sunday},
		FilialFromMinute:     8 * 60,
		FilialToMinute:       19 * 60,
		FilialVisitorBays:    5,
		RetentionYears:       DefaultRetentionYears,
	}
}

// Validate checks every rule is in range.
func (p Policy) Validate() error {
	bad := func(field string, min, max int64, v int64) error {
		if v < min || v > max {
			return ErrValidation.Withf("%s 须在 %d 到 %d 之间。", "%s must be between %d and %d", field, min, max)
		}
		return nil
	}
	checks := []error{
		bad("max_award", 1, MaxAmount, int64(p.MaxAward)),
		bad("max_deduct", 1, MaxAmount, int64(p.MaxDeduct)),
		bad("points_per_hour", 0, 10_000, int64(p.PointsPerHour)),
		bad("max_minutes_per_day", 1, 24*60, int64(p.MaxMinutesPerDay)),
		bad("auto_approve_days", 1, 365, int64(p.AutoApproveDays)),
		bad("claim_expiry_days", 0, 365, int64(p.ClaimExpiryDays)),
		bad("checkin_grace_minutes", 0, 240, int64(p.CheckinGraceMinutes)),
		bad("debt_floor_minutes", 0, 1000*60, int64(p.DebtFloorMinutes)),
		bad("gift_min_age", 0, 120, int64(p.GiftMinAge)),
		bad("gift_yearly_cap_minutes", 0, MaxAmount, int64(p.GiftYearlyCapMinutes)),
		bad("points_lifetime_months", 1, 1200, int64(p.PointsLifetimeMonths)),
		bad("hold_expiry_days", 1, 365, int64(p.HoldExpiryDays)),
		bad("merchant_refund_days", 0, 365, int64(p.MerchantRefundDays)),
		bad("notice_days", 1, 90, int64(p.NoticeDays)),
		bad("listing_days", 1, 3650, int64(p.ListingDays)),
		bad("listing_points", 0, MaxAmount, int64(p.ListingPoints)),
		bad("allowance_base", 0, MaxAmount, int64(p.AllowanceBase)),
		bad("allowance_per_duty", 0, MaxAmount, int64(p.AllowancePerDuty)),
		bad("allowance_cap", 0, MaxAmount, int64(p.AllowanceCap)),
		bad("one_star_points", 1, MaxAmount, int64(p.OneStarPoints)),
		bad("two_star_points", int64(p.OneStarPoints), MaxAmount, int64(p.TwoStarPoints)),
		bad("model_star_points", int64(p.TwoStarPoints), MaxAmount, int64(p.ModelStarPoints)),
		bad("filial_min_age", 0, 120, int64(p.FilialMinAge)),
		bad("filial_free_minutes", 0, 24*60, int64(p.FilialFreeMinutes)),
		bad("filial_from_minute", 0, 24*60, int64(p.FilialFromMinute)),
		bad("filial_to_minute", int64(p.FilialFromMinute), 24*60, int64(p.FilialToMinute)),
		bad("filial_visitor_bays", 0, 10_000, int64(p.FilialVisitorBays)),
		bad("retention_years", 0, 30, int64(p.RetentionYears)),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if len(p.DutyChecklist) > 30 {
		return ErrValidation.Withf("楼组长职责清单（duty_checklist）最多 30 项。", "duty_checklist has at most 30 duties")
	}
	for _, d := range p.DutyChecklist {
		if _, err := CleanText("duty", d, 40); err != nil {
			return err
		}
	}
	for _, d := range p.FilialDays {
		if d < time.Sunday || d > time.Saturday {
			return ErrValidation.Withf("孝老停车日（filial_days）须为 0（周日）到 6（周六）。", "filial_days must be weekdays 0 (Sunday) to 6")
		}
	}
	return nil
}

// PolicyAt picks, from a community's versions, the one in force at t: the
// latest whose Effective is not after t, or the default.
func PolicyAt(communityID string, versions []Policy, t time.Time) Policy {
	best := DefaultPolicy(communityID)
	found := false
	for _, v := range versions {
		if !v.Effective.After(t) && (!found || v.Effective.After(best.Effective) ||
			(v.Effective.Equal(best.Effective) && v.Version > best.Version)) {
			best, found = v, true
		}
	}
	return best
}

// String names the policy by version, community and effective date, for
// logs.
func (p Policy) String() string {
	return fmt.Sprintf("policy v%d of %s from %s", p.Version, p.CommunityID, p.Effective)
}
