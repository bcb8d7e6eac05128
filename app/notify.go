package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
)

// senderNames lists the configured senders, checked.
func (c NotifyConfig) senderNames() []string {
	var out []string
	for _, s := range strings.Split(c.Senders, ",") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// check refuses a notification setting that cannot work.
func (c NotifyConfig) check() error {
	for _, s := range c.senderNames() {
		if s != "log" && s != "webhook" {
			return fmt.Errorf("config: LINLI_NOTIFY_SENDERS: unknown sender %q (log, webhook)", s)
		}
		if s == "webhook" {
			u, err := url.Parse(c.WebhookURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("config: LINLI_WEBHOOK_URL must be an http(s) URL when the webhook sender is on")
			}
			if _, _, err := c.webhookKey(); err != nil {
				return err
			}
		}
	}
	switch {
	case c.WebhookTimeout <= 0 || c.WebhookTimeout > time.Minute:
		return errors.New("config: LINLI_WEBHOOK_TIMEOUT must be between 0 and 1m")
	case c.MaxAttempts < 1 || c.MaxAttempts > 50:
		return errors.New("config: LINLI_DELIVERY_MAX_ATTEMPTS must be from 1 to 50")
	case c.Backoff <= 0 || c.Interval <= 0:
		return errors.New("config: LINLI_DELIVERY_BACKOFF and LINLI_DELIVERY_INTERVAL must be positive")
	case c.Workers < 1 || c.Workers > 64:
		return errors.New("config: LINLI_DELIVERY_WORKERS must be from 1 to 64")
	}
	if _, err := parseQuietHours(c.QuietHours); err != nil {
		return err
	}
	return nil
}

// webhookKey is the key that signs webhook requests: LINLI_WEBHOOK_ACTIVE_KID
// (default: the last listed) of LINLI_WEBHOOK_KEYS. The others are listed
// for the receivers' sake while a secret rotates (they accept the current
// and the previous).
func (c NotifyConfig) webhookKey() (outbound.WebhookKey, int, error) {
	keys, last, err := auth.ParseKeys(string(c.WebhookKeys))
	if err != nil {
		return outbound.WebhookKey{}, 0, fmt.Errorf("config: LINLI_WEBHOOK_KEYS: %w", err)
	}
	active := c.WebhookActiveKID
	if active == "" {
		active = last
	}
	secret, ok := keys[active]
	if !ok {
		return outbound.WebhookKey{}, 0, fmt.Errorf("config: LINLI_WEBHOOK_ACTIVE_KID %q is not in LINLI_WEBHOOK_KEYS", active)
	}
	return outbound.WebhookKey{ID: active, Secret: secret}, len(keys), nil
}

// quietHours is a daily window of wall-clock minutes [from, to), which
// may wrap past midnight; from == to is no window.
type quietHours struct{ from, to int }

// parseQuietHours reads "22:00-08:00"; "" is no quiet hours.
func parseQuietHours(s string) (quietHours, error) {
	if s == "" {
		return quietHours{}, nil
	}
	bad := fmt.Errorf("config: LINLI_QUIET_HOURS must be HH:MM-HH:MM, e.g. 22:00-08:00 (got %q)", s)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return quietHours{}, bad
	}
	from, err1 := time.Parse("15:04", strings.TrimSpace(a))
	to, err2 := time.Parse("15:04", strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return quietHours{}, bad
	}
	return quietHours{from: from.Hour()*60 + from.Minute(), to: to.Hour()*60 + to.Minute()}, nil
}

// holds reports whether t, read in loc, falls in the window.
func (q quietHours) holds(t time.Time, loc *time.Location) bool {
	if q.from == q.to {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if q.from < q.to {
		return m >= q.from && m < q.to
	}
	return m >= q.from || m < q.to
}

// wireNotify builds the senders, the deliverer and the reminders over the
// inbox (built first, in build).
func (s *system) wireNotify() error {
	var senders []outbound.Sender
	for _, name := range s.cfg.Notify.senderNames() {
		switch name {
		case "log":
			senders = append(senders, outbound.NewLogSender(s.log.With("component", "notifications")))
		case "webhook":
			key, _, err := s.cfg.Notify.webhookKey()
			if err != nil {
				return err
			}
			senders = append(senders, outbound.NewWebhook("webhook", s.cfg.Notify.WebhookURL, key, s.cfg.Notify.WebhookTimeout, s.now))
		}
	}
	quiet, err := parseQuietHours(s.cfg.Notify.QuietHours)
	if err != nil {
		return err
	}
	s.deliverer = outbound.NewDeliverer(s.store, s.inbox, senders, outbound.Options{
		MaxAttempts: s.cfg.Notify.MaxAttempts,
		Backoff:     s.cfg.Notify.Backoff,
		MaxBackoff:  6 * time.Hour,
		Timeout:     s.cfg.Notify.WebhookTimeout,
		Workers:     s.cfg.Notify.Workers,
		Quiet:       func(t time.Time) bool { return quiet.holds(t, s.loc) },
	}, s.now, s.log)
	s.reminders = inbox.NewReminders(s.inbox, s.store, expiryRules{s})
	s.deps.Inbox = s.inbox
	s.deps.Deliveries = s.deliverer
	return nil
}

// expiryRules gives the reminders a community's zone and points lifetime.
type expiryRules struct{ sys *system }

// ExpiryRules returns the community's time zone and the points lifetime (in months) of the
// policy in force now.
func (r expiryRules) ExpiryRules(ctx context.Context, communityID string) (*time.Location, int, error) {
	c, err := r.sys.store.Community(ctx, communityID)
	if err != nil {
		return nil, 0, err
	}
	pol, err := r.sys.policies.At(ctx, communityID, r.sys.now())
	if err != nil {
		return nil, 0, err
	}
	return c.Location(), pol.PointsLifetimeMonths, nil
}

// notifyJobFailed tells the staff and admins of every community that a
// scheduled job failed for period: once per job and period, however many
// of its hourly retries fail (the notification's id is derived from
// them). They are read from the role lists (store RoleHolders), not by
// filtering each community's residents. A failure to notify is logged and
// changes nothing else.
func (s *system) notifyJobFailed(ctx context.Context, job, period string) {
	event := job + ":" + period
	err := community.Each(ctx, s.store, func(c models.Community) error {
		holders, err := s.store.RoleHolders(ctx, c.ID, models.RoleStaff, models.RoleAdmin)
		if err != nil {
			return err
		}
		for _, r := range holders {
			if _, err := s.inbox.Notify(ctx, models.Notice{
				Kind:        models.NoticeJobFailed,
				EventID:     event,
				Recipient:   r.ID,
				CommunityID: c.ID,
				Args:        map[string]string{"job": job, "period": period},
				Link:        "/console/jobs",
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("notify job failed", "job", job, "period", period, "err", err)
	}
}

// notifier is what the capability packages are given to tell people what
// happened: the inbox's Queue, one insert in the request (the delivery
// loop writes, places and sends the notification), tried up to
// notifyTries times, with a failure logged and swallowed, so a
// notification can never fail or undo the step that caused it. A notice
// lost to a failure or a crash between the step's commit point and the
// queue item is written again by whoever finishes the step (the keyed
// effects of a mark are applied by its followers, a repeat of the request
// or a job) and, for staff awards, by the notices sweep
// (ARCHITECTURE.md §4.10).
type notifier struct {
	inbox *inbox.Inbox
	log   *slog.Logger
}

// notifyTries is how many times a notice's queue item is tried.
const notifyTries = 3

// Notify queues the notification of n, logging a failure.
func (n notifier) Notify(ctx context.Context, notice models.Notice) {
	var err error
	for range notifyTries {
		err = n.inbox.Queue(ctx, notice)
		if err == nil || errors.Is(err, models.ErrValidation) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		n.log.Error("notify", "kind", notice.Kind, "event", notice.EventID, "recipient", notice.Recipient, "err", err)
	}
}

// awardNoticeSweep is the notices sweep (ARCHITECTURE.md §4.10): a staff
// award's request queues its notice after its entry, so a request that
// died between the two leaves an award nobody was told of. Each run walks
// every community's list of adjustments from where the last run stopped
// and queues the notice of each award whose notification does not exist
// (insert-once, so a notice queued meanwhile by the request is not
// queued twice). Its first run in a community only notes where the list
// ends: the awards made before it are not told again.
type awardNoticeSweep struct{ sys *system }

// sweepBatch is how many slots of a list one read of the sweep takes.
const sweepBatch = 200

// SweepAwardNotices implements jobs.AwardNoticeSweeper; it returns how
// many notices it queued.
func (w awardNoticeSweep) SweepAwardNotices(ctx context.Context) (int, error) {
	st, queued := w.sys.store, 0
	err := community.Each(ctx, st, func(c models.Community) error {
		name := "award-notices:" + c.ID
		pos, ran, err := st.SweepPosition(ctx, name)
		if err != nil {
			return err
		}
		if !ran {
			// The first run starts at the list's end: the awards
			// before it were told by the version that wrote the
			// notification in the request, and a store's history
			// must not be told again.
			head, err := st.AdjustmentsHead(ctx, c.ID)
			if err != nil {
				return err
			}
			return st.SetSweepPosition(ctx, name, head)
		}
		for {
			entries, last, err := st.AdjustmentsSince(ctx, c.ID, pos, sweepBatch)
			if err != nil {
				return err
			}
			for _, e := range entries {
				notice, ok := accounts.AwardNotice(e)
				if !ok {
					continue
				}
				_, _, err := st.Notification(ctx, models.NotificationID(notice.Kind, notice.EventID, notice.Recipient))
				if err == nil {
					continue
				}
				if !errors.Is(err, models.ErrNotFound) {
					return err
				}
				if err := w.sys.inbox.QueueAt(ctx, notice, e.At); err != nil {
					return err
				}
				queued++
			}
			if last == pos {
				break
			}
			pos = last
			if err := st.SetSweepPosition(ctx, name, pos); err != nil {
				return err
			}
		}
		return nil
	})
	return queued, err
}

// reminderJob is the reminders as the points-reminders job calls them.
type reminderJob struct{ r *inbox.Reminders }

// RemindExpiring sends the expiring-points reminders of month m at stage, and returns what
// it counted.
func (j reminderJob) RemindExpiring(ctx context.Context, m models.Month, stage string) (jobs.Counts, error) {
	n, err := j.r.RemindExpiring(ctx, m, inbox.ReminderStage(stage))
	return n.Map(), err
}
