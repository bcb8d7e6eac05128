package settlement

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
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
// month is "" for the current month. The points figures are the liability
// job's last summary (LiabilityReport.At says when; SummariseLiability),
// read in one lookup; a community never summarised (created since the
// job's last run) is summarised first.
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
	sum, err := s.store.LiabilitySummary(ctx, c.ID)
	if errors.Is(err, models.ErrNotFound) {
		// Rare: every community is summed at the first start
		// (FirstLiabilitySummaries) and then every ten minutes, so only a
		// community created since the job's last run gets here, and it
		// has next to nothing to sum. Summed and saved now; two first
		// reports at once each sum it, and both answers are right.
		sum, err = s.summarise(ctx, c, now)
	}
	if err != nil {
		return LiabilityReport{}, fmt.Errorf("liability: %w", err)
	}
	r := LiabilityReport{
		CommunityID: c.ID,
		Month:       m,
		At:          sum.At,
		Residents:   sum.Residents,
		Outstanding: sum.Outstanding,
		Held:        sum.Held,
		Expiring30:  sum.Expiring30,
		Expiring60:  sum.Expiring60,
		Expiring90:  sum.Expiring90,
	}
	partners, err := s.store.Partners(ctx, c.ID, "", "", 0)
	if err != nil {
		return LiabilityReport{}, fmt.Errorf("liability: %w", err)
	}
	for _, partner := range partners {
		redeemed, err := s.redeemed(ctx, partner, m)
		if err != nil {
			return LiabilityReport{}, fmt.Errorf("liability: %w", err)
		}
		r.Partners = append(r.Partners, redeemed)
	}
	return r, nil
}

// SummariseLiability is the liability job: for every community it brings
// each resident's points summary up to date with the entries written since
// (ledger.CatchUp: one lookup for an account with nothing new), sums them
// with the held points, and saves the community's summary as of now. A run
// costs the residents and the new entries, not the history; a run cut
// short leaves each account's summary consistent with the entry it names,
// and the next run goes on from there. It returns the communities summed.
func (s *Service) SummariseLiability(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := community.Each(ctx, s.store, func(c models.Community) error {
		if _, err := s.summarise(ctx, c, now); err != nil {
			return fmt.Errorf("liability summary of %s: %w", c.ID, err)
		}
		n++
		return nil
	})
	return n, err
}

// FirstLiabilitySummaries sums the liability of every community that has
// no summary yet, as of now, and returns how many it summed. The service
// runs it at every start, in the background: on the first start of a
// store (or of a version with summaries) it sums them all, on later
// starts it costs one lookup per community, so the report almost never
// sums on a request.
func (s *Service) FirstLiabilitySummaries(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := community.Each(ctx, s.store, func(c models.Community) error {
		_, err := s.store.LiabilitySummary(ctx, c.ID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("liability summary of %s: %w", c.ID, err)
		}
		if _, err := s.summarise(ctx, c, now); err != nil {
			return fmt.Errorf("liability summary of %s: %w", c.ID, err)
		}
		n++
		return nil
	})
	return n, err
}

// summarise brings community c's liability summary up to date (see
// SummariseLiability), saves it and returns it.
func (s *Service) summarise(ctx context.Context, c models.Community, now time.Time) (models.LiabilitySummary, error) {
	loc := c.Location()
	pol, err := s.policies.At(ctx, c.ID, now)
	if err != nil {
		return models.LiabilitySummary{}, err
	}
	var cutoffs []models.Month
	for _, days := range []int{30, 60, 90} {
		cutoffs = append(cutoffs, models.MonthOf(models.ExpiryCutoff(now.AddDate(0, 0, days), loc, pol.PointsLifetimeMonths), loc))
	}
	saved, err := s.store.LiabilityAccounts(ctx, c.ID)
	if err != nil {
		return models.LiabilitySummary{}, err
	}
	var ids []string
	if err := s.store.EachResident(ctx, c.ID, func(r models.Resident) error { ids = append(ids, r.ID); return nil }); err != nil {
		return models.LiabilitySummary{}, err
	}
	sum := models.LiabilitySummary{CommunityID: c.ID, At: now.UTC()}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, id := range ids {
		g.Go(func() error {
			acct, ok := saved[id]
			if !ok {
				acct = ledger.Summary{Account: models.AccountOf(id, models.AssetPoints)}
			}
			acct, moved, err := s.ledger.CatchUp(gctx, acct, loc)
			if err != nil {
				return err
			}
			if moved {
				if err := s.store.SaveLiabilityAccount(gctx, c.ID, acct); err != nil {
					return err
				}
			}
			mu.Lock()
			defer mu.Unlock()
			sum.Entries += acct.Seq
			if acct.Balance == 0 {
				return nil
			}
			sum.Residents++
			sum.Outstanding += acct.Balance
			sum.Expiring30 += acct.Due(cutoffs[0])
			sum.Expiring60 += acct.Due(cutoffs[1])
			sum.Expiring90 += acct.Due(cutoffs[2])
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return models.LiabilitySummary{}, err
	}
	if sum.Held, err = s.held.HeldPoints(ctx, c.ID, now); err != nil {
		return models.LiabilitySummary{}, fmt.Errorf("held: %w", err)
	}
	if err := s.countPartnerMonths(ctx, c, now); err != nil {
		return models.LiabilitySummary{}, fmt.Errorf("partner months: %w", err)
	}
	if err := s.store.SaveLiabilitySummary(ctx, sum); err != nil {
		return models.LiabilitySummary{}, err
	}
	if err := s.store.SaveLiabilityDay(ctx, sum.At.In(c.Location()).Format("20060102"), sum); err != nil {
		return models.LiabilitySummary{}, err
	}
	return sum, s.closeLiabilityMonths(ctx, c.ID, sum.At.In(c.Location()))
}

// closedMonthsKept is how many months before the current one the job
// keeps closed: as far back as a series goes (maxLiabilityDays).
const closedMonthsKept = 13

// closeLiabilityMonths closes (store.CloseLiabilityMonth) the community's
// months before the one of today (its time), as far back as a series
// goes, each once it has been over for a day: a run that began before
// midnight may still save the month's last day just after it. A process
// closes them all at its first run for the community, then one a month.
func (s *Service) closeLiabilityMonths(ctx context.Context, communityID string, today time.Time) error {
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, today.Location())
	newest := first.AddDate(0, -1, 0)
	if today.Before(first.AddDate(0, 0, 1)) {
		newest = first.AddDate(0, -2, 0) // last month is over for less than a day
	}
	if done, _ := s.closedThrough.Load(communityID); done == newest.Format("200601") {
		return nil
	}
	for back := range closedMonthsKept {
		month := newest.AddDate(0, -back, 0).Format("200601")
		if err := s.store.CloseLiabilityMonth(ctx, communityID, month); err != nil {
			return fmt.Errorf("close liability month %s: %w", month, err)
		}
	}
	s.closedThrough.Store(communityID, newest.Format("200601"))
	return nil
}

// countPartnerMonths brings the liability job's count of each of c's
// partners' settlement events up to date for the month of now and the
// month before (in c's zone), the months the report sums while their
// statements are not yet made: a partner with nothing new costs a few
// lookups a month.
func (s *Service) countPartnerMonths(ctx context.Context, c models.Community, now time.Time) error {
	partners, err := s.store.Partners(ctx, c.ID, "", "", 0)
	if err != nil {
		return err
	}
	m := models.MonthOf(now, c.Location())
	for _, p := range partners {
		for _, month := range []models.Month{m.Previous(), m} {
			if _, err := s.store.CountPartnerMonth(ctx, p.ID, month, now); err != nil {
				return fmt.Errorf("%s %s: %w", p.ID, month, err)
			}
		}
	}
	return nil
}

// LiabilityPoint is the community's points liability as last summed on
// one day (community time).
type LiabilityPoint struct {
	Day string // YYYY-MM-DD
	models.LiabilitySummary
}

// maxLiabilityDays bounds one series: a year and a day.
const maxLiabilityDays = 367

// LiabilitySeries is the points liability of p's community over time, for
// staff: for each day from from to to (YYYY-MM-DD, community time, both
// included; "" for the 90 days up to today) on which the liability job
// ran, its last summary that day, oldest first. It reads one saved
// summary per day, so it costs the days asked for, not the history.
func (s *Service) LiabilitySeries(ctx context.Context, p models.Principal, from, to string) ([]LiabilityPoint, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, err
	}
	c, err := s.people.Community(ctx, p.CommunityID)
	if err != nil {
		return nil, fmt.Errorf("liability series: %w", err)
	}
	loc := c.Location()
	now := s.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	day := func(name, v string, dflt time.Time) (time.Time, error) {
		if v == "" {
			return dflt, nil
		}
		d, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			return time.Time{}, models.ErrValidation.Withf("%[1]s 须为日期（YYYY-MM-DD），收到 %[2]q。", "%[1]s must be a date (YYYY-MM-DD), got %[2]q", name, v)
		}
		return d, nil
	}
	last, err := day("to", to, today)
	if err != nil {
		return nil, err
	}
	first, err := day("from", from, last.AddDate(0, 0, -89))
	if err != nil {
		return nil, err
	}
	if first.After(last) {
		return nil, models.ErrValidation.Withf("开始日期不能晚于结束日期。", "from may not be after to")
	}
	var days []string
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if len(days) == maxLiabilityDays {
			return nil, models.ErrValidation.Withf("一次最多查询 %[1]d 天。", "at most %[1]d days at a time", maxLiabilityDays)
		}
		days = append(days, d.Format("20060102"))
	}
	got, err := s.store.LiabilityDays(ctx, c.ID, days)
	if err != nil {
		return nil, fmt.Errorf("liability series: %w", err)
	}
	out := []LiabilityPoint{}
	for _, d := range days {
		if sum, ok := got[d]; ok {
			out = append(out, LiabilityPoint{Day: d[:4] + "-" + d[4:6] + "-" + d[6:], LiabilitySummary: sum})
		}
	}
	return out, nil
}

// RecomputeLiability sums community c's points liability at now from
// every entry of every resident, as the report did before it had a
// summary: the check that the summary is right (tests, investigations).
func (s *Service) RecomputeLiability(ctx context.Context, communityID string, now time.Time) (models.LiabilitySummary, error) {
	c, err := s.people.Community(ctx, communityID)
	if err != nil {
		return models.LiabilitySummary{}, err
	}
	loc := c.Location()
	pol, err := s.policies.At(ctx, c.ID, now)
	if err != nil {
		return models.LiabilitySummary{}, err
	}
	r := models.LiabilitySummary{CommunityID: c.ID, At: now.UTC()}
	cutoffs := []time.Time{}
	for _, days := range []int{30, 60, 90} {
		cutoffs = append(cutoffs, models.ExpiryCutoff(now.AddDate(0, 0, days), loc, pol.PointsLifetimeMonths))
	}
	err = s.store.EachResident(ctx, c.ID, func(res models.Resident) error {
		acct := models.AccountOf(res.ID, models.AssetPoints)
		b, err := s.ledger.Balance(ctx, acct)
		if err != nil {
			return err
		}
		r.Entries += b.Seq
		if b.Amount == 0 {
			return nil
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
		return models.LiabilitySummary{}, err
	}
	if r.Held, err = s.held.HeldPoints(ctx, c.ID, now); err != nil {
		return models.LiabilitySummary{}, err
	}
	return r, nil
}

// redeemed returns what partner's redemptions came to in month m: from its statement
// once settled, else the liability job's count of the month's settlement
// events and those listed since (store.PartnerMonthTotals): a few lookups
// and the events of the last ten minutes, not every event.
func (s *Service) redeemed(ctx context.Context, partner models.Partner, m models.Month) (PartnerRedeemed, error) {
	redeemed := PartnerRedeemed{
		PartnerID:   partner.ID,
		PartnerName: partner.Name,
		Kind:        partner.Kind,
	}
	st, err := s.store.Statement(ctx, models.StatementID(partner.ID, m))
	if err == nil {
		redeemed.Settled, redeemed.StatementID, redeemed.Status = true, st.ID, st.Status
		redeemed.Lines, redeemed.TotalFen, redeemed.CommunityFen, redeemed.PartnerFen = st.Lines, st.TotalFen, st.CommunityFen, st.PartnerFen
		return redeemed, nil
	}
	if !errors.Is(err, models.ErrNotFound) {
		return redeemed, err
	}
	t, err := s.store.PartnerMonthTotals(ctx, partner.ID, m)
	redeemed.Lines, redeemed.TotalFen, redeemed.CommunityFen, redeemed.PartnerFen = t.Lines, t.Total, t.Community, t.Partner
	return redeemed, err
}
