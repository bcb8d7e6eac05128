package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/handlers"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
	"github.com/linli-community/linli/outbound"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/privacy"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/timebank"
	"github.com/linli-community/linli/web"
)

// system is the wired service: the store and everything built on it.
type system struct {
	cfg      Config
	log      *slog.Logger
	loc      *time.Location
	now      func() time.Time
	embedded *store.Embedded
	store    *store.Store
	ledger   *ledger.Ledger
	runner   *jobs.Runner

	accounts    *accounts.Service
	communities *directory.Service
	policies    *policy.Service
	settlement  *settlement.Service
	rewards     *rewards.Service
	honour      *honour.Service
	timebank    *timebank.Service
	mutualAid   *mutualaid.Service
	inbox       *inbox.Inbox
	privacy     *privacy.Service
	deliverer   *outbound.Deliverer
	reminders   *inbox.Reminders
	passwords   *auth.Passwords
	qrSecret    []byte // signs QR tokens; derived from the active JWT key
	metrics     *metrics
	deps        handlers.Deps
}

// open starts the embedded store when no MONGODB_URI is set, connects,
// makes sure every collection and index exists, and wires the services
// (one per capability package).
func open(ctx context.Context, cfg Config, log *slog.Logger) (*system, error) {
	var (
		emb *store.Embedded
		uri = string(cfg.MongoURI)
		err error
	)
	if cfg.embedded() {
		quiet := log.With("component", "embedded-store")
		// FerretDB logs every error reply (a duplicate key is one, and the
		// ledger expects those) as a warning: keep its errors only.
		quiet = slog.New(levelFloor{handler: quiet.Handler(), min: slog.LevelError})
		emb, err = store.StartEmbedded(cfg.DataDir, cfg.SQLiteSync == "normal", quiet)
		if err != nil {
			return nil, err
		}
		uri = emb.URI()
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := store.Open(ctx, uri, cfg.DB, emb)
	if err != nil {
		if emb != nil {
			emb.Stop()
		}
		return nil, err
	}
	if err := st.EnsureSchema(ctx); err != nil {
		_ = st.Close(context.Background())
		if emb != nil {
			emb.Stop()
		}
		return nil, err
	}
	sys, err := build(cfg, log, st, cfg.clock())
	if err != nil {
		_ = st.Close(context.Background())
		if emb != nil {
			emb.Stop()
		}
		return nil, err
	}
	sys.embedded = emb
	return sys, nil
}

// build wires the services over an open store; tests call it directly.
func build(cfg Config, log *slog.Logger, st *store.Store, now func() time.Time) (*system, error) {
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time zone: %w", err)
	}
	host, _ := os.Hostname()
	sys := &system{
		cfg:     cfg,
		log:     log,
		loc:     loc,
		now:     now,
		store:   st,
		metrics: newMetrics(),
	}
	st.OnError(sys.metrics.storeError)
	st.SetGroupCommit(cfg.groupCommit())
	sys.metrics.countInserts(st.InsertStats)
	sys.metrics.countCommands(st.CommandCounts)
	sys.ledger = ledger.New(st, now)
	sys.ledger.Observe(sys.metrics)
	sys.runner = jobs.NewRunner(st, fmt.Sprintf("%s/%d/%s", host, os.Getpid(), newID()), cfg.LeaseTTL, now, newID, log)
	sys.runner.Observe(sys.metrics)
	sys.policies = policy.New(st, now)
	// Before the capabilities: each is given it to tell people what happened.
	sys.inbox = inbox.New(st, now)
	sys.accounts = accounts.New(accounts.Deps{
		Ledger:   sys.ledger,
		People:   st,
		Trail:    st,
		Policies: sys.policies,
		Now:      now,
		Notify:   notifier{sys.inbox, log},
	})
	sys.deps = handlers.Deps{
		Log:      log,
		Metrics:  sys.metrics,
		Store:    st,
		Accounts: sys.accounts,
		Policies: sys.policies,
		Requests: community.NewRequests(st, now),
		Now:      now,
	}
	if err := sys.wireDataKeys(); err != nil {
		return nil, err
	}
	if err := sys.wireAuth(); err != nil {
		return nil, err
	}
	if err := sys.wireNotify(); err != nil {
		return nil, err
	}
	sys.communities = directory.New(st, sys.passwords, newID, now, notifier{sys.inbox, log})
	sys.deps.Community = sys.communities
	sys.honour = honour.New(honour.Deps{
		Store:    st,
		Ledger:   sys.ledger,
		Policies: sys.policies,
		Heads:    sys.communities,
		NewID:    newID,
		Now:      now,
		Notify:   notifier{sys.inbox, log},
	})
	sys.deps.Honour = sys.honour
	sys.communities.KeepHeadTerms(sys.honour)
	sys.communities.TrackResidency(st, sys.policies)
	sys.deps.Residency = sys.communities
	// The honour roll, star levels and head terms decide who may redeem
	// honour-only, star-gated and heads' rewards.
	sys.rewards = rewards.New(rewards.Deps{
		Store:       st,
		Ledger:      sys.ledger,
		People:      st,
		Policies:    sys.policies,
		Eligibility: sys.honour,
		QRSecret:    sys.qrSecret,
		NewID:       newID,
		Now:         now,
		Notify:      notifier{sys.inbox, log},
	})
	sys.rewards.LimitQR(cfg.QRPerMinute)
	sys.deps.Rewards = sys.rewards
	sys.deps.Offers = sys.rewards
	sys.settlement = settlement.New(settlement.Deps{
		Store:    st,
		Ledger:   sys.ledger,
		People:   st,
		Policies: sys.policies,
		Trail:    st,
		Held:     sys.rewards,
		Now:      now,
		Notify:   notifier{sys.inbox, log},
	})
	sys.deps.Settlement = sys.settlement
	sys.timebank = timebank.New(timebank.Deps{
		Store:    st,
		People:   st,
		Ledger:   sys.ledger,
		Policies: sys.policies,
		Trail:    st,
		QRSecret: sys.qrSecret,
		Now:      now,
		Notify:   notifier{sys.inbox, log},
		NewID:    newID,
	})
	sys.deps.Timebank = sys.timebank
	sys.timebank.RankFrom(sys.honour) // the volunteer-hours ranking reads the rankings summary
	sys.mutualAid = mutualaid.New(mutualaid.Deps{
		Store:    st,
		People:   st,
		Ledger:   sys.ledger,
		Policies: sys.policies,
		Trail:    st,
		Now:      now,
		NewID:    newID,
	})
	sys.deps.MutualAid = sys.mutualAid
	sys.deps.Jobs = sys.jobBoard()
	if err := sys.wirePrivacy(); err != nil {
		return nil, err
	}
	return sys, nil
}

// close disconnects before stopping the embedded store, or its shutdown
// waits for the driver's idle connections.
func (s *system) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.store.Close(ctx); err != nil {
		s.log.Error("close store", "err", err)
	}
	if s.embedded != nil {
		s.embedded.Stop()
	}
}

// httpApp builds the HTTP server: the API, /metrics, and the web screens for every other
// GET.
func (s *system) httpApp() *fiber.App {
	app := handlers.New(s.deps, handlers.Options{BodyLimit: s.cfg.BodyLimit, RequestTimeout: s.cfg.RequestTimeout})
	// Prometheus scrapes this; it says nothing about residents. Behind a
	// load balancer, expose it on the internal network only.
	app.Get("/metrics", s.metrics.handler())
	handlers.Web(app, web.Dist()) // last: it answers every other GET
	return app
}

// scheduledJob is a job and its cron schedule.
type scheduledJob struct {
	spec string // cron, in the configured time zone
	job  jobs.Job
}

// schedule is every scheduled job and when it runs.
func (s *system) schedule() []scheduledJob {
	sched := []scheduledJob{
		{"@every 1m", jobs.FinishTransfers(s.ledger)},
		// Notices of staff awards whose request died before queuing them.
		{"@every 1m", jobs.AwardNotices(awardNoticeSweep{s})},
		{"30 3 * * *", jobs.Audit(s.ledger, s.loc)},
		// The nightly catch-up (hold expiry, which also records what a
		// crash left unwritten of a redemption, its settlement event
		// included) runs before the monthly settlement at 02:00, so an
		// event of the month gone lands on that month's statement rather
		// than as an adjustment on the next.
		{"45 1 * * *", jobs.HoldExpiry(s.rewards, s.loc, s.now)},
		// The liability report's points figures: each run reads only the
		// entries written since the last.
		{"*/10 * * * *", jobs.LiabilitySummary(s.settlement, s.loc, s.now)},
		// The rankings' figures: each run reads only the entries written
		// since the last (docs/PERFORMANCE.md, "Rankings summary (issue 15)").
		{"5-55/10 * * * *", jobs.RankingsSummary(s.honour, s.loc, s.now)},
		// Monthly jobs start on the 1st at 02:00 and are tried again every
		// hour for three days: the first success marks the month done and
		// the later ticks skip, while a run that died is resumed by the next.
		{"0 2-23 1-3 * *", jobs.Monthly("settlement", s.loc, func(ctx context.Context, m models.Month) (jobs.Counts, error) {
			n, err := s.settlement.SettleMonth(ctx, m)
			return n.Map(), err
		})},
		{"30 3-23 1-3 * *", jobs.Monthly("points-expiry", s.loc, func(ctx context.Context, m models.Month) (jobs.Counts, error) {
			n, err := s.settlement.ExpirePoints(ctx, m)
			return n.Map(), err
		})},

		{"10 0 * * *", jobs.HonourListing(s.honour, s.loc, s.now)},
		{"20 0 * * *", jobs.HonourExpiry(s.honour, s.loc, s.now)},
		{"40 2-23 1-3 * *", jobs.Allowances(s.honour, s.loc)}, // retried hourly like the other monthly jobs
		{"50 1-23 1-3 1 *", jobs.StarLevels(s.honour, s.loc)}, // 1-3 January, hourly until done
		{"10 2 * * *", jobs.AutoApproveRecords(s.timebank, s.loc)},
		{"20 2 * * *", jobs.AutoConfirmAid(s.mutualAid, s.loc)},
		// Points reminders: from the 4th (after the month's expiry run on
		// the 1st-3rd) the "within 30 days" one, from 7 days before the
		// month's end the second; hourly until each is done.
		{"0 9-20 4-31 * *", jobs.PointsReminders(reminderJob{s.reminders}, s.loc)},
		// A nightly pass seals under the current data key whatever a
		// replica still on the old keys wrote; `linli rotate-keys` runs it
		// at once after a rotation.
		{"50 3 * * *", jobs.RotateKeys(s.resealPersonalData, s.loc)},
		// Residents who moved away longer ago than the retention period
		// have their personal information erased (docs/ARCHITECTURE.md §11).
		{"55 3 * * *", jobs.Erasure(s.eraseDue, s.loc)},
	}
	if s.cfg.embedded() && s.cfg.BackupKeepDays > 0 {
		// After the night's settlement tick, catch-up and audit, so the
		// backup holds what they wrote.
		sched = append(sched, scheduledJob{"0 4 * * *", jobs.NightlyBackup(store.Nightly{
			Root:    s.cfg.BackupDir,
			DataDir: s.cfg.DataDir,
			Version: buildVersion(),
			Now:     s.now,
		}, s.loc, s.cfg.BackupKeepDays)})
	}
	return sched
}

// jobBoard is the console's view of the schedule: each job's last runs,
// and an admin's run for a period.
func (s *system) jobBoard() *jobs.Board {
	var list []jobs.Scheduled
	for _, sj := range s.schedule() {
		list = append(list, jobs.Scheduled{Spec: sj.spec, Job: sj.job})
	}
	return jobs.NewBoard(s.runner, s.store, list, s.now)
}

// newID returns a random 16-hex-digit id.
func newID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("random: %v", err)) // the OS has no randomness: nothing can work
	}
	return hex.EncodeToString(b)
}

// levelFloor drops records below min. The attributes and groups added to
// it reach the wrapped handler only when a record passes the floor: the
// embedded FerretDB adds a logger's attributes for every command it
// serves, and a JSON handler formats them (masking phones, maskAttr) as
// they are added, which cost about a tenth of a month's settlement CPU for
// records that were then dropped (docs/PERFORMANCE.md, "The embedded
// store's loggers").
type levelFloor struct {
	handler slog.Handler
	min     slog.Level
	// with are the WithAttrs and WithGroup calls made on this handler, in
	// order, applied to handler by Handle.
	with []func(slog.Handler) slog.Handler
}

// Enabled reports whether l is at least the floor and the wrapped handler takes it.
func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.handler.Enabled(ctx, l)
}

// Handle applies the attributes and groups added so far to the wrapped
// handler, then hands it r.
func (h levelFloor) Handle(ctx context.Context, r slog.Record) error {
	inner := h.handler
	for _, w := range h.with {
		inner = w(inner)
	}
	return inner.Handle(ctx, r)
}

// WithAttrs returns the handler with attributes as added, under the same floor.
func (h levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return h.adding(func(inner slog.Handler) slog.Handler { return inner.WithAttrs(as) })
}

// WithGroup returns the handler with group name opened, under the same floor.
func (h levelFloor) WithGroup(name string) slog.Handler {
	return h.adding(func(inner slog.Handler) slog.Handler { return inner.WithGroup(name) })
}

// adding returns h with w after its other additions; h's own list is
// left as it is (a handler is shared by the loggers made from it).
func (h levelFloor) adding(w func(slog.Handler) slog.Handler) levelFloor {
	return levelFloor{
		handler: h.handler,
		min:     h.min,
		with:    append(slices.Clip(h.with), w),
	}
}
