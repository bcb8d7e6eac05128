package settlement

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// LiabilityReport is what a community owes in points and what its partners
// honoured in a month: outstanding, held and expiring points are as of now,
// the redemptions are those of Month.
type LiabilityReport struct {
	CommunityID string
	Month       models.Month
	At          time.Time
	Residents   int   // with a points balance
	Outstanding int64 // sum of residents' points balances
	Held        int64 // in redemptions neither fulfilled nor given back
	// Expiring is what the monthly expiry would take by now + 30, 60 and 90
	// days (what is already due included).
	Expiring30, Expiring60, Expiring90 int64
	Partners                           []PartnerRedeemed
}

// PartnerRedeemed is one partner's redemptions in the report's month:
// from its statement once the month is settled, else summed from the
// month's settlement events so far.
type PartnerRedeemed struct {
	PartnerID, PartnerName string
	Kind                   models.PartnerKind
	Settled                bool
	StatementID            string
	Status                 models.StatementStatus
	Lines                  int
	TotalFen               models.Fen
	CommunityFen           models.Fen
	PartnerFen             models.Fen
}

// Liability reports the points liability of p's community, for staff;
// month is "" for the current month.
func (s *Service) Liability(ctx context.Context, p models.Principal, month string) (LiabilityReport, error) {
	if err := community.RequireStaff(p); err != nil {
		return LiabilityReport{}, err
	}
	c, err := s.people.Community(ctx, p.CommunityID)
	if err != nil {
		return LiabilityReport{}, fmt.Errorf("liability: %w", err)
	}
	loc, now := c.Location(), s.now()
	m := models.MonthOf(now, loc)
	if month != "" {
		if m, err = models.ParseMonth(month); err != nil {
			return LiabilityReport{}, err
		}
	}
	pol, err := s.policies.At(ctx, c.ID, now)
	if err != nil {
		return LiabilityReport{}, fmt.Errorf("liability: %w", err)
	}
	r := LiabilityReport{CommunityID: c.ID, Month: m, At: now.UTC()}
	cutoffs := []time.Time{}
	for _, days := range []int{30, 60, 90} {
		cutoffs = append(cutoffs, models.ExpiryCutoff(now.AddDate(0, 0, days), loc, pol.PointsLifetimeMonths))
	}
	err = s.store.EachResident(ctx, c.ID, func(res models.Resident) error {
		acct := models.AccountOf(res.ID, models.AssetPoints)
		b, err := s.ledger.Balance(ctx, acct)
		if err != nil || b.Amount == 0 {
			return err
		}
		r.Residents++
		r.Outstanding += b.Amount
		tally := models.NewPointsExpiry(cutoffs...)
		if err := s.eachEntry(ctx, acct, func(e models.Entry) error { tally.Add(e); return nil }); err != nil {
			return err
		}
		r.Expiring30 += tally.Due(0)
		r.Expiring60 += tally.Due(1)
		r.Expiring90 += tally.Due(2)
		return nil
	})
	if err != nil {
		return LiabilityReport{}, fmt.Errorf("liability: %w", err)
	}
	if r.Held, err = s.held.HeldPoints(ctx, c.ID); err != nil {
		return LiabilityReport{}, fmt.Errorf("liability: held: %w", err)
	}
	partners, err := s.store.Partners(ctx, c.ID, "", "", 0)
	if err != nil {
		return LiabilityReport{}, fmt.Errorf("liability: %w", err)
	}
	for _, pt := range partners {
		pr, err := s.redeemed(ctx, pt, m, loc)
		if err != nil {
			return LiabilityReport{}, fmt.Errorf("liability: %w", err)
		}
		r.Partners = append(r.Partners, pr)
	}
	return r, nil
}

func (s *Service) redeemed(ctx context.Context, pt models.Partner, m models.Month, loc *time.Location) (PartnerRedeemed, error) {
	pr := PartnerRedeemed{PartnerID: pt.ID, PartnerName: pt.Name, Kind: pt.Kind}
	st, err := s.store.Statement(ctx, models.StatementID(pt.ID, m))
	if err == nil {
		pr.Settled, pr.StatementID, pr.Status = true, st.ID, st.Status
		pr.Lines, pr.TotalFen, pr.CommunityFen, pr.PartnerFen = st.Lines, st.TotalFen, st.CommunityFen, st.PartnerFen
		return pr, nil
	}
	if !errors.Is(err, models.ErrNotFound) {
		return pr, err
	}
	var t models.StatementTotals
	err = s.store.EachSettlementEvent(ctx, pt.ID, m.Start(loc), m.End(loc), func(e models.SettlementEvent) error {
		t.Add(models.StatementLine{Event: e})
		return nil
	})
	pr.Lines, pr.TotalFen, pr.CommunityFen, pr.PartnerFen = t.Lines, t.Total, t.Community, t.Partner
	return pr, err
}
