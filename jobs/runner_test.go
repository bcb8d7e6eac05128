package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// Issue 11.9: two replicas' scheduled runs of one job and period race, 40
// rounds under -race. The run that wins gives its lease back when it
// finishes, yet the other never runs the period again: it either finds the
// live lease or, having taken the next one, the period done. Then a run
// from the CLI at once is not skipped.
func TestIssue11_9_GivenBackLeaseNeverRunsADonePeriodTwice(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var ids atomic.Int64
	newID := func() string { return fmt.Sprintf("run-%d", ids.Add(1)) }
	runners := []*jobs.Runner{
		jobs.NewRunner(st, "replica-a", time.Hour, time.Now, newID, quiet),
		jobs.NewRunner(st, "replica-b", time.Hour, time.Now, newID, quiet),
	}
	for round := 0; round < 40; round++ {
		var runs atomic.Int64
		period := fmt.Sprintf("round-%02d", round)
		job := jobs.Job{
			Name:   "count",
			Period: func(time.Time) string { return period },
			Run: func(context.Context, string) (jobs.Counts, error) {
				return jobs.Counts{"runs": int(runs.Add(1))}, nil
			},
		}
		errs := atonce.Errors(len(runners), func(i int) error {
			return runners[i].Scheduled(context.Background(), job)
		})
		for _, err := range errs {
			var skip *jobs.Skip
			if err != nil && (!errors.Is(err, jobs.ErrSkipped) || !errors.As(err, &skip) || skip.Job != "count" || skip.Period != period) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("round %d: the period ran %d times, want once (errors %v)", round, n, errs)
		}
		// A scheduled run later skips the done period; one from the CLI runs.
		if err := runners[1].Scheduled(context.Background(), job); !errors.Is(err, jobs.ErrSkipped) {
			t.Fatalf("round %d: scheduled run of a done period: %v", round, err)
		}
		if c, err := runners[1].Now(context.Background(), job, period); err != nil || c["runs"] != 2 {
			t.Fatalf("round %d: run on demand: %v %v; want it run at once", round, c, err)
		}
	}
}

// staleDone answers its first Done "not done", as a replica that read it
// just before another finished the period does.
type staleDone struct {
	jobs.Store
	read atomic.Bool
}

func (s *staleDone) Done(ctx context.Context, job, period string) (bool, error) {
	if !s.read.Swap(true) {
		return false, nil
	}
	return s.Store.Done(ctx, job, period)
}

// Issue 11.9: the interleaving the race above can only hit now and then,
// made certain: a replica reads the period not done, the other finishes it
// and gives its lease back, and the first then takes the next lease. It
// finds the period done and skips; it does not run it again.
func TestIssue11_9_RunTakingAGivenBackLeaseChecksThePeriodAgain(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var ids atomic.Int64
	newID := func() string { return fmt.Sprintf("run-%d", ids.Add(1)) }
	var runs atomic.Int64
	job := jobs.Job{
		Name:   "count",
		Period: func(time.Time) string { return "2026-11" },
		Run:    func(context.Context, string) (jobs.Counts, error) { return jobs.Counts{"runs": int(runs.Add(1))}, nil },
	}
	if err := jobs.NewRunner(st, "replica-a", time.Hour, time.Now, newID, quiet).Scheduled(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	late := jobs.NewRunner(&staleDone{Store: st}, "replica-b", time.Hour, time.Now, newID, quiet)
	err := late.Scheduled(context.Background(), job)
	var skip *jobs.Skip
	if !errors.As(err, &skip) || skip.Holder != "" || runs.Load() != 1 {
		t.Fatalf("late replica: %v, %d runs; want skipped as done, one run", err, runs.Load())
	}
}
