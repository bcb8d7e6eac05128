package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/linli-community/linli/models"
)

// Job is one kind of scheduled work. Run must be safe to repeat for the
// same period: every exactly-once step inside it is keyed.
type Job struct {
	Name string
	// Period names the unit of work for a scheduled run at now, e.g. the
	// day "2026-11-21" or the month "2026-10".
	Period func(now time.Time) string
	Run    func(ctx context.Context, period string) (Counts, error)
}

// Counts says what a run did, e.g. {"finished": 3}.
type Counts map[string]int

// Lease is one attempt to run a job for a period.
type Lease struct {
	Job, Period string
	Attempt     int
	Holder      string
	Expires     time.Time
}

// Run is the record of one run.
type Run struct {
	ID, Job, Period, Holder string
	Started, Finished       time.Time
	Counts                  Counts
	Error                   string
}

// Store keeps leases and run records.
type Store interface {
	// InsertLease records l; models.ErrConflict if that attempt exists.
	InsertLease(ctx context.Context, l Lease) error
	// LeaseAttempt returns attempt n of job and period, or models.ErrNotFound.
	LeaseAttempt(ctx context.Context, job, period string, n int) (Lease, error)
	// EndLease records that attempt n of job and period is over, at at;
	// a second record is a no-op.
	EndLease(ctx context.Context, job, period string, n int, at time.Time) error
	// LeaseEnded reports whether attempt n of job and period is over.
	LeaseEnded(ctx context.Context, job, period string, n int) (bool, error)
	// MarkDone records that job finished period; a second mark is a no-op.
	MarkDone(ctx context.Context, job, period string, at time.Time) error
	// Done reports whether job finished period.
	Done(ctx context.Context, job, period string) (bool, error)
	// InsertRun and FinishRun keep the run record.
	InsertRun(ctx context.Context, r Run) error
	FinishRun(ctx context.Context, r Run) error
}

// Observer is told how each run ended, for metrics.
type Observer interface {
	// JobRun is called after every run that held the lease; outcome is
	// "ok" or "error".
	JobRun(job, outcome string, d time.Duration)
}

// noObserver is the Observer of a runner nobody observes: it does nothing.
type noObserver struct{}

// JobRun implements Observer by doing nothing.
func (noObserver) JobRun(string, string, time.Duration) {}

// Runner runs jobs under a lease and records each run.
type Runner struct {
	obs    Observer
	store  Store
	holder string // this replica
	ttl    time.Duration
	now    func() time.Time
	newID  func() string
	log    *slog.Logger
}

// NewRunner returns a runner; holder names this replica, ttl is how long a
// lease keeps others off before they may take over a run that died.
func NewRunner(s Store, holder string, ttl time.Duration, now func() time.Time, newID func() string, log *slog.Logger) *Runner {
	return &Runner{
		store:  s,
		holder: holder,
		ttl:    ttl,
		now:    now,
		newID:  newID,
		log:    log,
		obs:    noObserver{},
	}
}

// Observe sends run outcomes to o (metrics).
func (r *Runner) Observe(o Observer) { r.obs = o }

// ErrSkipped is returned when another replica holds the lease, or the
// period is already done. The error returned is a *Skip that says which.
var ErrSkipped = errors.New("jobs: skipped")

// Skip is a run not made: another process holds a live lease on the job
// and period (Holder, until Until), or, for a scheduled run, the period is
// done (Holder empty). errors.Is(skip, ErrSkipped) holds.
type Skip struct {
	Job, Period string
	Holder      string
	Until       time.Time
}

// Error says which run was skipped and, if another replica holds it, who
// and until when.
func (s *Skip) Error() string {
	if s.Holder == "" {
		return fmt.Sprintf("jobs: skipped: %s %s is done", s.Job, s.Period)
	}
	return fmt.Sprintf("jobs: skipped: %s %s is being run by %s (lease until %s)",
		s.Job, s.Period, s.Holder, s.Until.UTC().Format(time.RFC3339))
}

// Is makes a Skip match ErrSkipped.
func (s *Skip) Is(target error) bool { return target == ErrSkipped }

// Scheduled runs j for the period that now falls in, unless it is done or
// another replica holds a live lease on it.
func (r *Runner) Scheduled(ctx context.Context, j Job) error {
	period := j.Period(r.now())
	done, err := r.store.Done(ctx, j.Name, period)
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", j.Name, err)
	}
	if done {
		return &Skip{Job: j.Name, Period: period}
	}
	_, err = r.run(ctx, j, period, true, "")
	return err
}

// Now runs j for period on demand (the CLI) and returns its counts: it
// still takes a lease, so it never overlaps a run of the same job and
// period elsewhere (that is a *Skip), but runs even if the period was done
// before. Jobs are safe to repeat.
func (r *Runner) Now(ctx context.Context, j Job, period string) (Counts, error) {
	rec, err := r.run(ctx, j, period, false, "")
	return rec.Counts, err
}

// nowAs is Now recording the run under id (a new id for ""), and returns
// the run's record. A record under id that a run which died left
// unfinished is finished by this one.
func (r *Runner) nowAs(ctx context.Context, j Job, period, id string) (Run, error) {
	return r.run(ctx, j, period, false, id)
}

// run takes the lease of job j for period, runs it, records the run (under
// id, or a new id for "") and its counts, and ends the lease. With
// markDone a period already done is skipped, and a run that finishes
// marks its period done.
func (r *Runner) run(ctx context.Context, j Job, period string, markDone bool, id string) (Run, error) {
	attempt, err := r.lease(ctx, j.Name, period)
	if err != nil {
		return Run{}, err
	}
	// However the run ends, its lease ends with it, so the next run of the
	// same job and period (a repeat from the CLI, say) need not wait for
	// it to expire. A run that dies leaves its lease to expire.
	defer func() {
		fin, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.store.EndLease(fin, j.Name, period, attempt, r.now().UTC()); err != nil {
			r.log.Error("job lease end", "job", j.Name, "period", period, "err", err)
		}
	}()
	if markDone {
		// The run this one found holding the lease may have finished and
		// marked the period done before its lease ended.
		done, err := r.store.Done(ctx, j.Name, period)
		if err != nil {
			return Run{}, fmt.Errorf("jobs: %s: %w", j.Name, err)
		}
		if done {
			return Run{}, &Skip{Job: j.Name, Period: period}
		}
	}
	given := id != ""
	if !given {
		id = r.newID()
	}
	rec := Run{
		ID:     id,
		Job:    j.Name,
		Period: period,
		Holder: r.holder,
		// As the store keeps it, so a run read back is the run answered.
		Started: r.now().UTC().Truncate(time.Millisecond),
	}
	if err := r.store.InsertRun(ctx, rec); err != nil && !(given && errors.Is(err, models.ErrConflict)) {
		return Run{}, fmt.Errorf("jobs: %s: record run: %w", j.Name, err)
	}
	// With "job done" below, a run that died shows as a start without an end.
	r.log.Info("job started", "job", j.Name, "period", period, "run", rec.ID)
	counts, runErr := j.Run(ctx, period)
	rec.Finished, rec.Counts = r.now().UTC().Truncate(time.Millisecond), counts
	if runErr != nil {
		rec.Error = runErr.Error()
	}
	// The record must be written even if the job's context was cancelled.
	fin, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.store.FinishRun(fin, rec); err != nil {
		r.log.Error("job run record", "job", j.Name, "err", err)
	}
	outcome := "ok"
	if runErr != nil {
		outcome = "error"
	}
	r.obs.JobRun(j.Name, outcome, rec.Finished.Sub(rec.Started))
	if runErr != nil {
		r.log.Error("job failed", "job", j.Name, "period", period, "err", runErr)
		return rec, fmt.Errorf("jobs: %s %s: %w", j.Name, period, runErr)
	}
	r.log.Info("job done", "job", j.Name, "period", period, "counts", counts,
		"ms", rec.Finished.Sub(rec.Started).Milliseconds())
	if markDone {
		return rec, r.store.MarkDone(fin, j.Name, period, rec.Finished)
	}
	return rec, nil
}

// lease takes the next attempt for job and period and returns its number.
// Attempts are inserts (1, 2, 3 …): a replica may take attempt n+1 only
// once attempt n has ended or expired, and two replicas racing for it
// cannot both win, so there is no conditional update to get wrong.
func (r *Runner) lease(ctx context.Context, job, period string) (int, error) {
	now := r.now().UTC()
	for n := 1; ; n++ {
		l, err := r.store.LeaseAttempt(ctx, job, period, n)
		if errors.Is(err, models.ErrNotFound) {
			err = r.store.InsertLease(ctx, Lease{
				Job:     job,
				Period:  period,
				Attempt: n,
				Holder:  r.holder,
				Expires: now.Add(r.ttl),
			})
			if errors.Is(err, models.ErrConflict) {
				// Another replica took it a moment ago.
				if l, err = r.store.LeaseAttempt(ctx, job, period, n); err != nil {
					return 0, fmt.Errorf("jobs: lease %s: %w", job, err)
				}
				return 0, &Skip{
					Job:    job,
					Period: period,
					Holder: l.Holder,
					Until:  l.Expires,
				}
			}
			if err != nil {
				return 0, fmt.Errorf("jobs: lease %s: %w", job, err)
			}
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("jobs: lease %s: %w", job, err)
		}
		if !l.Expires.After(now) {
			continue
		}
		ended, err := r.store.LeaseEnded(ctx, job, period, n)
		if err != nil {
			return 0, fmt.Errorf("jobs: lease %s: %w", job, err)
		}
		if !ended {
			return 0, &Skip{
				Job:    job,
				Period: period,
				Holder: l.Holder,
				Until:  l.Expires,
			}
		}
	}
}
