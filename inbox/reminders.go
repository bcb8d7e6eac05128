package inbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/linli-community/linli/models"
)

// PointsEntries streams the ledger's points entries (the store).
type PointsEntries interface {
	// EachPointsEntry calls fn for every entry of asset POINTS, in any
	// order, with at least its account, community, seq, delta, balance
	// after, kind and time, until fn returns an error, which it returns.
	EachPointsEntry(ctx context.Context, fn func(models.Entry) error) error
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
	inbox   *Inbox
	entries PointsEntries
	rules   ExpiryRules
}

// NewReminders returns the points-expiry reminders, queued through b.
func NewReminders(b *Inbox, entries PointsEntries, rules ExpiryRules) *Reminders {
	return &Reminders{
		inbox:   b,
		entries: entries,
		rules:   rules,
	}
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

// RemindExpiring tells every resident some of whose points the expiry
// run for month m (made on the first of the next month) will take: stage
// Remind30 or Remind7. The amount is the expiry run's own rule
// (models.PointsExpiry) over the ledger as it stands, read in one
// streamed pass over the points entries (no read per resident): each
// account's tally is a few integers, kept until the pass ends. The
// reminders are queued in batches (one queue item of batchSize notices
// each, QueueNoticeBatch; the same run again queues the same items), and
// the delivery loop writes, places and sends them (Queue), and takes each
// batch off the queue with one delete when all its notices are done. Each
// reminder's id is derived from the resident, the stage and m, so a
// repeated or overlapping run writes no notification twice. An entry
// written while the pass runs may be missed; its resident's amount is then
// the one before it (the expiry run itself reads the chain).
func (r *Reminders) RemindExpiring(ctx context.Context, m models.Month, stage ReminderStage) (ReminderCounts, error) {
	kind := models.NoticePointsExpiring30
	switch stage {
	case Remind30:
	case Remind7:
		kind = models.NoticePointsExpiring7
	default:
		return ReminderCounts{}, models.ErrValidation.Withf("未知的提醒阶段 %q", "unknown reminder stage %q", stage)
	}
	rules := newRulesCache(r.rules)
	tallies := map[string]*accountTally{}
	err := r.entries.EachPointsEntry(ctx, func(e models.Entry) error {
		t := tallies[e.Account.ResidentID]
		if t == nil {
			loc, lifetime, err := rules.get(ctx, e.CommunityID)
			if err != nil {
				return fmt.Errorf("remind %s: %w", e.Account, err)
			}
			t = &accountTally{
				community: e.CommunityID,
				loc:       loc,
				expiry:    models.NewPointsExpiry(m.End(loc).AddDate(0, -lifetime, 0)),
			}
			tallies[e.Account.ResidentID] = t
		}
		t.expiry.Add(e)
		return nil
	})
	n := ReminderCounts{Accounts: len(tallies)}
	if err != nil {
		return n, fmt.Errorf("points reminders: %w", err)
	}
	residents := make([]string, 0, len(tallies))
	for id, t := range tallies {
		if t.expiry.Due(0) > 0 {
			residents = append(residents, id)
		}
	}
	sort.Strings(residents)
	at := r.inbox.now().UTC().Truncate(time.Millisecond)
	batch := make([]models.Notice, 0, batchSize)
	flush := func() error {
		err := r.inbox.store.QueueNoticeBatch(ctx, batch, at)
		if err != nil && !errors.Is(err, models.ErrConflict) {
			return fmt.Errorf("points reminders: %w", err)
		}
		n.Reminded += len(batch)
		batch = batch[:0]
		return nil
	}
	for _, id := range residents {
		t := tallies[id]
		batch = append(batch, models.Notice{
			Kind:        kind,
			EventID:     m.String(),
			Recipient:   id,
			CommunityID: t.community,
			Args:        map[string]string{"points": strconv.FormatInt(t.expiry.Due(0), 10), "date": lastUsableDay(m, t.loc)},
			Link:        "/me/points",
		})
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// lastUsableDay is the last day (2006-01-02, in loc) on which the points the
// expiry run for month m takes can still be spent: the last day of m. The run
// is made at 00:00 on the first of the next month in loc (m.End), so the day
// the reminders name is the one before it there, never the run's own day
// (docs/ARCHITECTURE.md §4.9).
func lastUsableDay(m models.Month, loc *time.Location) string {
	return m.End(loc).Add(-time.Nanosecond).In(loc).Format("2006-01-02")
}

// batchSize is how many reminders one insert queues.
const batchSize = 500

// accountTally is one account's expiry tally during a reminder run.
type accountTally struct {
	community string
	loc       *time.Location
	expiry    *models.PointsExpiry
}

// rulesCache keeps each community's rules for one run.
type rulesCache struct {
	src ExpiryRules
	mu  sync.Mutex
	m   map[string]cachedRules
}

// cachedRules is a community's time zone and points lifetime in months, as rulesCache
// keeps them.
type cachedRules struct {
	loc      *time.Location
	lifetime int
}

// newRulesCache returns an empty cache of the rules src gives.
func newRulesCache(src ExpiryRules) *rulesCache {
	return &rulesCache{src: src, m: map[string]cachedRules{}}
}

// get returns a community's time zone and points lifetime, asking src
// only for a community it has not kept yet; a lifetime that is not
// positive is an error.
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
