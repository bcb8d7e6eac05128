package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// policyDoc is a policy version as it is stored.
type policyDoc struct {
	ID                   string    `bson:"_id"` // community:version, so a version is written once
	Community            string    `bson:"community"`
	Version              int       `bson:"version"`
	Effective            time.Time `bson:"effective"`
	CreatedBy            string    `bson:"created_by"`
	Request              string    `bson:"request,omitempty"` // the scoped key of the request that wrote it
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
	RetentionYears       int       `bson:"retention_years,omitempty"`
}

// policyMoves say how one direction moves a field between models.Policy
// and policyDoc.
type policyMoves struct {
	points  func(field *models.Points, stored *int64)
	minutes func(field *models.Minutes, stored *int64)
	whole   func(field *int, stored *int)
	flag    func(field *bool, stored *bool)
	text    func(field *string, stored *string)
	instant func(field *time.Time, stored *time.Time)
	texts   func(field *[]string, stored *[]string)
	days    func(field *[]time.Weekday, stored *[]int)
}

// linkPolicy is the one list pairing each field of p with its field in d;
// moves moves each pair in the direction wanted. The policy tests fail if
// a field of models.Policy is missing.
func linkPolicy(p *models.Policy, d *policyDoc, moves policyMoves) {
	moves.text(&p.CommunityID, &d.Community)
	moves.whole(&p.Version, &d.Version)
	moves.instant(&p.Effective, &d.Effective)
	moves.text(&p.CreatedBy, &d.CreatedBy)
	moves.points(&p.MaxAward, &d.MaxAward)
	moves.points(&p.MaxDeduct, &d.MaxDeduct)
	moves.points(&p.PointsPerHour, &d.PointsPerHour)
	moves.minutes(&p.MaxMinutesPerDay, &d.MaxMinutesPerDay)
	moves.whole(&p.AutoApproveDays, &d.AutoApproveDays)
	moves.whole(&p.ClaimExpiryDays, &d.ClaimExpiryDays)
	moves.whole(&p.CheckinGraceMinutes, &d.CheckinGraceMinutes)
	moves.minutes(&p.DebtFloorMinutes, &d.DebtFloorMinutes)
	moves.whole(&p.GiftMinAge, &d.GiftMinAge)
	moves.minutes(&p.GiftYearlyCapMinutes, &d.GiftYearlyCapMinutes)
	moves.whole(&p.PointsLifetimeMonths, &d.PointsLifetimeMonths)
	moves.whole(&p.HoldExpiryDays, &d.HoldExpiryDays)
	moves.whole(&p.MerchantRefundDays, &d.MerchantRefundDays)
	moves.whole(&p.NoticeDays, &d.NoticeDays)
	moves.whole(&p.ListingDays, &d.ListingDays)
	moves.points(&p.ListingPoints, &d.ListingPoints)
	moves.points(&p.AllowanceBase, &d.AllowanceBase)
	moves.points(&p.AllowancePerDuty, &d.AllowancePerDuty)
	moves.points(&p.AllowanceCap, &d.AllowanceCap)
	moves.flag(&p.AllowanceProRata, &d.AllowanceProRata)
	moves.texts(&p.DutyChecklist, &d.DutyChecklist)
	moves.points(&p.OneStarPoints, &d.OneStarPoints)
	moves.points(&p.TwoStarPoints, &d.TwoStarPoints)
	moves.points(&p.ModelStarPoints, &d.ModelStarPoints)
	moves.whole(&p.FilialMinAge, &d.FilialMinAge)
	moves.minutes(&p.FilialFreeMinutes, &d.FilialFreeMinutes)
	moves.days(&p.FilialDays, &d.FilialDays)
	moves.whole(&p.FilialFromMinute, &d.FilialFromMinute)
	moves.whole(&p.FilialToMinute, &d.FilialToMinute)
	moves.whole(&p.RetentionYears, &d.RetentionYears)
	moves.whole(&p.FilialVisitorBays, &d.FilialVisitorBays)
}

// saveAs returns a move that stores a field as convert gives it.
func saveAs[F, D any](convert func(F) D) func(field *F, stored *D) {
	return func(field *F, stored *D) { *stored = convert(*field) }
}

// loadAs returns a move that reads a field back as convert gives it.
func loadAs[F, D any](convert func(D) F) func(field *F, stored *D) {
	return func(field *F, stored *D) { *field = convert(*stored) }
}

// same returns v: a field stored as it is.
func same[T any](v T) T { return v }

// toPolicyDoc returns p as it is stored; its id is community:version, so a
// version is written once.
func toPolicyDoc(p models.Policy) policyDoc {
	d := policyDoc{ID: policyDocID(p.CommunityID, p.Version)}
	linkPolicy(&p, &d, policyMoves{
		points:  saveAs(func(v models.Points) int64 { return int64(v) }),
		minutes: saveAs(func(v models.Minutes) int64 { return int64(v) }),
		whole:   saveAs(same[int]),
		flag:    saveAs(same[bool]),
		text:    saveAs(same[string]),
		instant: saveAs(same[time.Time]),
		texts:   saveAs(same[[]string]),
		days: saveAs(func(days []time.Weekday) []int {
			var out []int
			for _, day := range days {
				out = append(out, int(day))
			}
			return out
		}),
	})
	return d
}

// model returns the stored policy version d.
func (d policyDoc) model() models.Policy {
	var p models.Policy
	linkPolicy(&p, &d, policyMoves{
		points:  loadAs(func(v int64) models.Points { return models.Points(v) }),
		minutes: loadAs(func(v int64) models.Minutes { return models.Minutes(v) }),
		whole:   loadAs(same[int]),
		flag:    loadAs(same[bool]),
		text:    loadAs(same[string]),
		instant: loadAs(func(t time.Time) time.Time { return t.UTC() }),
		texts:   loadAs(same[[]string]),
		days: loadAs(func(days []int) []time.Weekday {
			var out []time.Weekday
			for _, day := range days {
				out = append(out, time.Weekday(day))
			}
			return out
		}),
	})
	return p
}

// InsertPolicy adds a policy version, written by the keyed request request
// ("" for none); models.ErrConflict if that version of the community
// exists.
func (s *Store) InsertPolicy(ctx context.Context, p models.Policy, request string) error {
	d := toPolicyDoc(p)
	d.Request = request
	return s.insert(ctx, colPolicies, d)
}

// policyDocID is the _id of version of a community's policy.
func policyDocID(communityID string, version int) string {
	return fmt.Sprintf("%s:%06d", communityID, version)
}

// policyBatch is how many versions PolicyVersions looks up at once.
const policyBatch = 8

// PolicyVersions lists every version of a community's policy, oldest first.
// A community's versions are numbered 1, 2, 3 … with no gap (the policy
// service writes one past the highest it reads, insert-once on the
// version's _id `community:version`), so they are looked up by exact _id,
// eight at a time, up to the first number that does not exist: the cost
// is the community's own versions, never every community's
// (docs/ARCHITECTURE.md §9).
func (s *Store) PolicyVersions(ctx context.Context, communityID string) ([]models.Policy, error) {
	docs, err := s.policyDocs(ctx, communityID)
	if err != nil {
		return nil, err
	}
	out := make([]models.Policy, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.model())
	}
	return out, nil
}

// PolicyVersionWrittenFor returns the version of a community's policy that
// the keyed request request (its scoped key) wrote, or models.ErrNotFound:
// a repeat of a request that wrote a version answers with it instead of
// writing the next one.
func (s *Store) PolicyVersionWrittenFor(ctx context.Context, communityID, request string) (models.Policy, error) {
	docs, err := s.policyDocs(ctx, communityID)
	if err != nil {
		return models.Policy{}, err
	}
	for _, d := range docs {
		if request != "" && d.Request == request {
			return d.model(), nil
		}
	}
	return models.Policy{}, models.ErrNotFound
}

// policyDocs reads every version of a community's policy, oldest first,
// along their gap-free numbers (PolicyVersions).
func (s *Store) policyDocs(ctx context.Context, communityID string) ([]policyDoc, error) {
	out := []policyDoc{}
	for first := 1; ; first += policyBatch {
		docs := make([]*policyDoc, policyBatch)
		g, gctx := errgroup.WithContext(ctx)
		for i := range docs {
			g.Go(func() error {
				var d policyDoc
				err := s.findByID(gctx, colPolicies, policyDocID(communityID, first+i), &d)
				if errors.Is(err, models.ErrNotFound) {
					return nil
				}
				docs[i] = &d
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d == nil {
				return out, nil
			}
			out = append(out, *d)
		}
	}
}
