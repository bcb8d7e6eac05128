package store

import (
	"context"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// policyDoc is one version of a community's policy as stored in policies.
type policyDoc struct {
	ID                   string    `bson:"_id"` // community:version, so a version is written once
	Community            string    `bson:"community"`
	Version              int       `bson:"version"`
	Effective            time.Time `bson:"effective"`
	CreatedBy            string    `bson:"created_by"`
	MaxAward             int64     `bson:"max_award"`
	MaxDeduct            int64     `bson:"max_deduct"`
	PointsPerHour        int64     `bson:"points_per_hour"`
	MaxMinutesPerDay     int64     `bson:"max_minutes_per_day"`
	AutoApproveDays      int       `bson:"auto_approve_days"`
	ClaimExpiryDays      int       `bson:"claim_expiry_days"`
	CheckinGraceMinutes  int       `bson:"checkin_grace_minutes"`
	DebtFloorMinutes     int64     `bson:"debt_floor_minutes"`
	GiftMinAge           int       `bson:"gift_min_age"`
	GiftYearlyCapMinutes int64     `bson:"gift_yearly_cap_minutes"`
	PointsLifetimeMonths int       `bson:"points_lifetime_months"`
	HoldExpiryDays       int       `bson:"hold_expiry_days"`
	MerchantRefundDays   int       `bson:"merchant_refund_days"`
	NoticeDays           int       `bson:"notice_days"`
	ListingDays          int       `bson:"listing_days"`
	ListingPoints        int64     `bson:"listing_points"`
	AllowanceBase        int64     `bson:"allowance_base"`
	AllowancePerDuty     int64     `bson:"allowance_per_duty"`
	AllowanceCap         int64     `bson:"allowance_cap"`
	AllowanceProRata     bool      `bson:"allowance_pro_rata"`
	DutyChecklist        []string  `bson:"duty_checklist"`
	OneStarPoints        int64     `bson:"one_star_points"`
	TwoStarPoints        int64     `bson:"two_star_points"`
	ModelStarPoints      int64     `bson:"model_star_points"`
	FilialMinAge         int       `bson:"filial_min_age"`
	FilialFreeMinutes    int64     `bson:"filial_free_minutes"`
	FilialDays           []int     `bson:"filial_days"`
	FilialFromMinute     int       `bson:"filial_from_minute"`
	FilialToMinute       int       `bson:"filial_to_minute"`
	FilialVisitorBays    int       `bson:"filial_visitor_bays"`
}

// toPolicyDoc returns policy p as stored.
func toPolicyDoc(p models.Policy) policyDoc {
	d := policyDoc{
		ID:                   fmt.Sprintf("%s:%06d", p.CommunityID, p.Version),
		Community:            p.CommunityID,
		Version:              p.Version,
		Effective:            p.Effective,
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
	}
	for _, w := range p.FilialDays {
		d.FilialDays = append(d.FilialDays, int(w))
	}
	return d
}

// model returns the stored policy.
func (d policyDoc) model() models.Policy {
	p := models.Policy{
		CommunityID:          d.Community,
		Version:              d.Version,
		Effective:            d.Effective.UTC(),
		CreatedBy:            d.CreatedBy,
		MaxAward:             models.Points(d.MaxAward),
		MaxDeduct:            models.Points(d.MaxDeduct),
		PointsPerHour:        models.Points(d.PointsPerHour),
		MaxMinutesPerDay:     models.Minutes(d.MaxMinutesPerDay),
		AutoApproveDays:      d.AutoApproveDays,
		ClaimExpiryDays:      d.ClaimExpiryDays,
		CheckinGraceMinutes:  d.CheckinGraceMinutes,
		DebtFloorMinutes:     models.Minutes(d.DebtFloorMinutes),
		GiftMinAge:           d.GiftMinAge,
		GiftYearlyCapMinutes: models.Minutes(d.GiftYearlyCapMinutes),
		PointsLifetimeMonths: d.PointsLifetimeMonths,
		HoldExpiryDays:       d.HoldExpiryDays,
		MerchantRefundDays:   d.MerchantRefundDays,
		NoticeDays:           d.NoticeDays,
		ListingDays:          d.ListingDays,
		ListingPoints:        models.Points(d.ListingPoints),
		AllowanceBase:        models.Points(d.AllowanceBase),
		AllowancePerDuty:     models.Points(d.AllowancePerDuty),
		AllowanceCap:         models.Points(d.AllowanceCap),
		AllowanceProRata:     d.AllowanceProRata,
		DutyChecklist:        d.DutyChecklist,
		OneStarPoints:        models.Points(d.OneStarPoints),
		TwoStarPoints:        models.Points(d.TwoStarPoints),
		ModelStarPoints:      models.Points(d.ModelStarPoints),
		FilialMinAge:         d.FilialMinAge,
		FilialFreeMinutes:    models.Minutes(d.FilialFreeMinutes),
		FilialFromMinute:     d.FilialFromMinute,
		FilialToMinute:       d.FilialToMinute,
		FilialVisitorBays:    d.FilialVisitorBays,
	}
	for _, w := range d.FilialDays {
		p.FilialDays = append(p.FilialDays, time.Weekday(w))
	}
	return p
}

// InsertPolicy adds a policy version; models.ErrConflict if that version of
// the community exists.
func (s *Store) InsertPolicy(ctx context.Context, p models.Policy) error {
	return s.insert(ctx, colPolicies, toPolicyDoc(p))
}

// PolicyVersions lists every version of a community's policy, oldest first.
// The collection holds a handful of versions per community.
func (s *Store) PolicyVersions(ctx context.Context, communityID string) ([]models.Policy, error) {
	cur, err := s.c(colPolicies).Find(ctx, bson.D{{Key: "community", Value: communityID}})
	return allDocs(ctx, cur, err, "policies", policyDoc.model)
}
