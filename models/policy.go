package models

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
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

// policyRange is the range one numeric rule of Policy must lie in: from
// min (or, when minOf names another rule, from that rule's value) to max.
// The rule is named by its Policy field; the name a caller sees is that
// field in snake case, as the API and the store spell it.
type policyRange struct {
	field string
	min   int64
	minOf string
	max   int64
}

// between is a rule that lies from min to max.
func between(field string, min, max int64) policyRange {
	return policyRange{
		field: field,
		min:   min,
		max:   max,
	}
}

// notBelow is a rule that lies from the value of rule minOf to max.
func notBelow(field, minOf string, max int64) policyRange {
	return policyRange{
		field: field,
		minOf: minOf,
		max:   max,
	}
}

// policyRanges is the one table of Policy's numeric rules and their ranges,
// in the order Validate checks them. Every integer field of Policy but
// Version has a row; TestIssue12_5_PolicyRangesCoverEveryRule fails if one
// is missing or names no field.
var policyRanges = []policyRange{
	between("MaxAward", 1, MaxAmount),
	between("MaxDeduct", 1, MaxAmount),
	between("PointsPerHour", 0, 10_000),
	between("MaxMinutesPerDay", 1, 24*60),
	between("AutoApproveDays", 1, 365),
	between("ClaimExpiryDays", 0, 365),
	between("CheckinGraceMinutes", 0, 240),
	between("DebtFloorMinutes", 0, 1000*60),
	between("GiftMinAge", 0, 120),
	between("GiftYearlyCapMinutes", 0, MaxAmount),
	between("PointsLifetimeMonths", 1, 1200),
	between("HoldExpiryDays", 1, 365),
	between("MerchantRefundDays", 0, 365),
	between("NoticeDays", 1, 90),
	between("ListingDays", 1, 3650),
	between("ListingPoints", 0, MaxAmount),
	between("AllowanceBase", 0, MaxAmount),
	between("AllowancePerDuty", 0, MaxAmount),
	between("AllowanceCap", 0, MaxAmount),
	between("OneStarPoints", 1, MaxAmount),
	notBelow("TwoStarPoints", "OneStarPoints", MaxAmount),
	notBelow("ModelStarPoints", "TwoStarPoints", MaxAmount),
	between("FilialMinAge", 0, 120),
	between("FilialFreeMinutes", 0, 24*60),
	between("FilialFromMinute", 0, 24*60),
	notBelow("FilialToMinute", "FilialFromMinute", 24*60),
	between("FilialVisitorBays", 0, 10_000),
	between("RetentionYears", 0, 30),
}

// snakeCase spells a Policy field as the API and the store name it:
// "MaxMinutesPerDay" is "max_minutes_per_day".
func snakeCase(field string) string {
	var b strings.Builder
	for i, r := range field {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Validate checks every rule is in range.
func (p Policy) Validate() error {
	rules := reflect.ValueOf(p)
	for _, r := range policyRanges {
		min := r.min
		if r.minOf != "" {
			min = rules.FieldByName(r.minOf).Int()
		}
		if v := rules.FieldByName(r.field).Int(); v < min || v > r.max {
			return ErrValidation.Withf("%s 须在 %d 到 %d 之间。", "%s must be between %d and %d", snakeCase(r.field), min, r.max)
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
