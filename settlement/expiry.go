package settlement

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// ExpiryCounts says what an expiry run did.
type ExpiryCounts struct {
	Accounts int   // points accounts looked at
	Expired  int   // accounts with points expired by this run
	Points   int64 // points expired
	Refused  int   // expiries refused because the balance moved meanwhile; next month catches up
}

// Map is the counts as a job run records them.
func (n ExpiryCounts) Map() map[string]int {
	return map[string]int{
		"accounts": n.Accounts,
		"expired":  n.Expired,
		"points":   int(n.Points),
		"refused":  n.Refused,
	}
}

// communityRules is a community's time zone and points lifetime, looked up
// once per run.
type communityRules struct {
	loc    *time.Location
	policy models.Policy
}

// rules returns a community's time zone and policy in force now, looking each community up
// once per run (cache).
func (s *Service) rules(ctx context.Context, cache map[string]communityRules, communityID string) (communityRules, error) {
	if r, ok := cache[communityID]; ok {
		return r, nil
	}
	c, err := s.people.Community(ctx, communityID)
	if err != nil {
		return communityRules{}, err
	}
	pol, err := s.policies.At(ctx, communityID, s.now())
	if err != nil {
		return communityRules{}, err
	}
	r := communityRules{loc: c.Location(), policy: pol}
	cache[communityID] = r
	return r, nil
}

// ExpirePoints expires, for the run of month m (made on the first of the
// next month), the points that have outlived the community's lifetime
// (policy.PointsLifetimeMonths): those earned before the end of m less
// the lifetime, first in first out (models.PointsExpiry). Each account's
// expiry is one ledger posting keyed once.PointsExpiry(account, cutoff month),
// so a re-run expires nothing twice; and since the amount counts what
// expired before, a later run never expires the same points again either.
//
// A month that has not ended in every community's time zone is refused
// before anything is expired, as settlement refuses it: its cutoff would
// take points earned since.
func (s *Service) ExpirePoints(ctx context.Context, m models.Month) (ExpiryCounts, error) {
	var n ExpiryCounts
	if err := s.refuseOpenMonth(ctx, m); err != nil {
		return n, fmt.Errorf("expiry: %w", err)
	}
	cache := map[string]communityRules{}
	err := s.store.EachPointsAccount(ctx, func(acct models.Account) error {
		n.Accounts++
		var (
			rules  communityRules
			cutoff time.Time
			tally  *models.PointsExpiry
			commID string
		)
		// The cutoff depends on the account's community, known from its
		// first entry read (the newest).
		err := s.eachEntry(ctx, acct, func(e models.Entry) error {
			if tally == nil {
				commID = e.CommunityID
				var err error
				if rules, err = s.rules(ctx, cache, commID); err != nil {
					return err
				}
				cutoff = m.End(rules.loc).AddDate(0, -rules.policy.PointsLifetimeMonths, 0)
				tally = models.NewPointsExpiry(cutoff)
			}
			tally.Add(e)
			return nil
		})
		if err != nil {
			return fmt.Errorf("expiry %s: %w", acct, err)
		}
		if tally == nil {
			return nil
		}
		cutoffMonth := models.MonthOf(cutoff.Add(-time.Nanosecond), rules.loc)
		opID := once.PointsExpiry(acct, cutoffMonth)
		due := tally.Due(0)
		if due == 0 {
			return nil
		}
		e, err := s.ledger.Post(ctx, ledger.Posting{
			OpID:          opID,
			Hash:          opID,
			Account:       acct,
			CommunityID:   commID,
			Delta:         -due,
			Kind:          models.KindExpiry,
			Ref:           cutoffMonth.String(),
			Reason:        fmt.Sprintf("points earned up to %s expire after %d months", cutoffMonth, rules.policy.PointsLifetimeMonths),
			PolicyVersion: rules.policy.Version,
			Actor:         "system",
		})
		switch {
		case errors.Is(err, models.ErrInsufficientPoints):
			// Spent between the tally and the posting: the formula counts
			// it next month.
			n.Refused++
			return nil
		case err != nil:
			return fmt.Errorf("expiry %s: %w", acct, err)
		}
		n.Expired++
		n.Points -= e.Delta
		return nil
	})
	return n, err
}

// eachEntry calls fn for every entry of acct, newest first, a page at a
// time.
func (s *Service) eachEntry(ctx context.Context, acct models.Account, fn func(models.Entry) error) error {
	for before := int64(0); ; {
		page, next, err := s.ledger.History(ctx, acct, before, 100)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		before = next
	}
}

// refuseOpenMonth is a validation error if month m has not ended in some
// community's time zone.
func (s *Service) refuseOpenMonth(ctx context.Context, m models.Month) error {
	return community.Each(ctx, s.store, func(c models.Community) error {
		if s.now().Before(m.End(c.Location())) {
			return models.ErrValidation.Withf("%s 月份还没有结束，不能处理。", "month %s is not over yet", m)
		}
		return nil
	})
}

// PointsExpiring is what the next monthly expiry run will take from one
// resident, as the ledger stands now.
type PointsExpiring struct {
	Points models.Points
	// At is when the run is made: the first of next month in the
	// community's zone (the job runs early that morning).
	At time.Time
	// EarnedBefore is the cutoff: points earned before it have outlived
	// the community's lifetime by then.
	EarnedBefore time.Time
}

// MyExpiringPoints tells the calling resident how many of their points the
// next monthly run expires, by the same FIFO rule as ExpirePoints; spending
// them first saves them. It reads the resident's entries and writes nothing.
func (s *Service) MyExpiringPoints(ctx context.Context, p models.Principal) (PointsExpiring, error) {
	if p.ResidentID == "" {
		return PointsExpiring{}, models.ErrForbidden
	}
	rules, err := s.rules(ctx, map[string]communityRules{}, p.CommunityID)
	if err != nil {
		return PointsExpiring{}, fmt.Errorf("expiring points: %w", err)
	}
	next := models.MonthOf(s.now(), rules.loc).End(rules.loc)
	out := PointsExpiring{At: next.UTC(), EarnedBefore: models.ExpiryCutoff(next, rules.loc, rules.policy.PointsLifetimeMonths).UTC()}
	tally := models.NewPointsExpiry(out.EarnedBefore)
	acct := models.AccountOf(p.ResidentID, models.AssetPoints)
	if err := s.eachEntry(ctx, acct, func(e models.Entry) error { tally.Add(e); return nil }); err != nil {
		return PointsExpiring{}, fmt.Errorf("expiring points: %w", err)
	}
	out.Points = models.Points(tally.Due(0))
	return out, nil
}
