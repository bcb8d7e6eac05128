package inbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linli-community/linli/models"
)

// PointsAccounts lists every points account (the store).
type PointsAccounts interface {
	// EachPointsAccount calls fn for every account of asset POINTS until
	// fn returns an error, which it returns.
	EachPointsAccount(ctx context.Context, fn func(models.Account) error) error
}

// History reads an account's entries (ledger.Ledger.History).
type History interface {
	// History returns up to limit entries of acct, newest first, with seq
	// below before (0: from the newest), and the before of the next page
	// (0 at the end).
	History(ctx context.Context, acct models.Account, before int64, limit int) ([]models.Entry, int64, error)
}

// ExpiryRules gives a community's time zone and points lifetime.
type ExpiryRules interface {
	// ExpiryRules returns the zone and the policy's PointsLifetimeMonths
	// of communityID, or models.ErrNotFound.
	ExpiryRules(ctx context.Context, communityID string) (*time.Location, int, error)
}

// ReminderStage is which reminder of a month's expiry is sent.
type ReminderStage string

// The two reminders: when the month's expiry is within 30 days (made early
// in the month) and again within 7.
const (
	Remind30 ReminderStage = "30d"
	Remind7  ReminderStage = "7d"
)

// Reminders tells residents that points expire soon.
type Reminders struct {
	inbox    *Inbox
	accounts PointsAccounts
	history  History
	rules    ExpiryRules
	workers  int
}

// NewReminders returns the points-expiry reminders, written through b.
func NewReminders(b *Inbox, accounts PointsAccounts, history History, rules ExpiryRules) *Reminders {
	return &Reminders{inbox: b, accounts: accounts, history: history, rules: rules, workers: 8}
}

// ReminderCounts says what a reminder run did.
type ReminderCounts struct {
	Accounts int // points accounts looked at
	Reminded int // residents with points expiring (each notified once, however often the run is repeated)
}

// Map is the counts as a job run records them.
func (n ReminderCounts) Map() map[string]int {
	return map[string]int{"accounts": n.Accounts, "reminded": n.Reminded}
}

// RemindExpiring notifies every resident some of whose points the expiry
// run for month m (made on the first of the next month) will take: stage
// Remind30 or Remind7. The amount is the expiry run's own rule
// (models.PointsExpiry) over the ledger as it stands. Each reminder's
// notification id is derived from the resident, the stage and m, so a
// repeated or overlapping run writes none twice. Accounts are read a few
// at a time and nothing is kept per account after it is done, so memory
// does not grow with the number of residents.
func (r *Reminders) RemindExpiring(ctx context.Context, m models.Month, stage ReminderStage) (ReminderCounts, error) {
	kind := models.NoticePointsExpiring30
	switch stage {
	case Remind30:
	case Remind7:
		kind = models.NoticePointsExpiring7
	default:
		return ReminderCounts{}, models.ErrValidation.Withf("未知的提醒阶段 %q", "unknown reminder stage %q", stage)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	accounts := make(chan models.Account, r.workers)
	var (
		accountsSeen, reminded atomic.Int64
		wg                     sync.WaitGroup
		errMu                  sync.Mutex
		firstErr               error
	)
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	rules := newRulesCache(r.rules)
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker writes its reminders a batch at a time.
			var batch []models.Notice
			flush := func() {
				n, err := r.inbox.NotifyMany(ctx, batch)
				reminded.Add(int64(n))
				batch = batch[:0]
				if err != nil {
					fail(fmt.Errorf("points reminders: %w", err))
				}
			}
			for acct := range accounts {
				notice, ok, err := r.reminder(ctx, rules, acct, m, kind)
				if err != nil {
					fail(fmt.Errorf("remind %s: %w", acct, err))
					continue
				}
				accountsSeen.Add(1)
				if ok {
					if batch = append(batch, notice); len(batch) == batchSize {
						flush()
					}
				}
			}
			if len(batch) > 0 && ctx.Err() == nil {
				flush()
			}
		}()
	}
	err := r.accounts.EachPointsAccount(ctx, func(acct models.Account) error {
		select {
		case accounts <- acct:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(accounts)
	wg.Wait()
	n := ReminderCounts{Accounts: int(accountsSeen.Load()), Reminded: int(reminded.Load())}
	if firstErr != nil {
		return n, firstErr
	}
	if err != nil {
		return n, fmt.Errorf("points reminders: %w", err)
	}
	return n, nil
}

// batchSize is how many reminders one worker writes at once.
const batchSize = 64

// reminder tallies acct for month m's expiry and returns the notice to
// its resident when some points are due.
func (r *Reminders) reminder(ctx context.Context, rules *rulesCache, acct models.Account, m models.Month, kind models.NoticeKind) (models.Notice, bool, error) {
	var (
		tally     *models.PointsExpiry
		community string
		loc       *time.Location
	)
	for before := int64(0); ; {
		page, next, err := r.history.History(ctx, acct, before, 100)
		if err != nil {
			return models.Notice{}, false, err
		}
		for _, e := range page {
			if tally == nil {
				// The newest entry names the account's community.
				community = e.CommunityID
				var lifetime int
				if loc, lifetime, err = rules.get(ctx, community); err != nil {
					return models.Notice{}, false, err
				}
				tally = models.NewPointsExpiry(m.End(loc).AddDate(0, -lifetime, 0))
			}
			tally.Add(e)
		}
		if next == 0 {
			break
		}
		before = next
	}
	if tally == nil {
		return models.Notice{}, false, nil
	}
	due := tally.Due(0)
	if due == 0 {
		return models.Notice{}, false, nil
	}
	return models.Notice{
		Kind:        kind,
		EventID:     m.String(),
		Recipient:   acct.ResidentID,
		CommunityID: community,
		Args:        map[string]string{"points": strconv.FormatInt(due, 10), "date": m.End(loc).Format("2006-01-02")},
		Link:        "/me/points",
	}, true, nil
}

// rulesCache keeps each community's rules for one run.
type rulesCache struct {
	src ExpiryRules
	mu  sync.Mutex
	m   map[string]cachedRules
}

type cachedRules struct {
	loc      *time.Location
	lifetime int
}

func newRulesCache(src ExpiryRules) *rulesCache {
	return &rulesCache{src: src, m: map[string]cachedRules{}}
}

func (c *rulesCache) get(ctx context.Context, community string) (*time.Location, int, error) {
	c.mu.Lock()
	r, ok := c.m[community]
	c.mu.Unlock()
	if ok {
		return r.loc, r.lifetime, nil
	}
	loc, lifetime, err := c.src.ExpiryRules(ctx, community)
	if err != nil {
		return nil, 0, err
	}
	if lifetime <= 0 {
		return nil, 0, errors.New("points lifetime is not positive")
	}
	c.mu.Lock()
	c.m[community] = cachedRules{loc: loc, lifetime: lifetime}
	c.mu.Unlock()
	return loc, lifetime, nil
}
