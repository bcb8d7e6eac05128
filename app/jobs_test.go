package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/jobs"
	"github.com/robfig/cron/v3"
)

// Issue 11.12: the nightly catch-up, which records the settlement events a
// crash left unwritten, fires before the monthly settlement on the 1st, so
// those events are on their own month's statement.
func TestIssue11_12_CatchUpRunsBeforeSettlement(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	s := &system{loc: loc, now: time.Now}
	next := map[string]time.Time{}
	midnight := time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	for _, sj := range s.schedule() {
		spec, err := cron.ParseStandard(sj.spec)
		if err != nil {
			t.Fatalf("%s: %v", sj.job.Name, err)
		}
		next[sj.job.Name] = spec.Next(midnight.Add(-time.Nanosecond))
	}
	catchUp, settle := next["hold-expiry"], next["settlement"]
	if catchUp.IsZero() || settle.IsZero() || !catchUp.Before(settle) {
		t.Fatalf("on the 1st hold-expiry fires at %v and settlement at %v; want the catch-up first", catchUp, settle)
	}
}

// Issue 11.9: a job run from the CLI and run again at once runs again
// (the first run gave its lease back) and prints its counts each time.
func TestIssue11_9_JobRunAgainAtOnceRunsAndPrintsCounts(t *testing.T) {
	t.Parallel()
	env := []string{"LINLI_DATA_DIR=" + t.TempDir(), "LINLI_LOG_LEVEL=error", "SEED_DEMO=false"}
	for i := 0; i < 2; i++ {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"jobs", "run", "audit", "--period", "2026-11-01"}, env, &out, &errOut)
		if err != nil || !strings.Contains(out.String(), "audit 2026-11-01: done") || !strings.Contains(out.String(), "accounts=0") ||
			!strings.Contains(out.String(), "problems=0") {
			t.Fatalf("run %d: %v; stdout %q stderr %q; want done with its counts", i+1, err, out.String(), errOut.String())
		}
	}
}

// Issue 11.9: a run that fails gives its lease back too, so the next one
// runs (and fails for its own reason, not as skipped).
func TestIssue11_9_FailedRunEndsItsLease(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	failing := jobs.Job{
		Name:   "failing",
		Period: jobs.Daily(w.sys.loc),
		Run: func(context.Context, string) (jobs.Counts, error) {
			return jobs.Counts{"tried": 1}, errors.New("broken on purpose")
		},
	}
	for i := 0; i < 2; i++ {
		counts, err := w.sys.runner.Now(context.Background(), failing, "2026-11-01")
		if err == nil || errors.Is(err, jobs.ErrSkipped) || !strings.Contains(err.Error(), "broken on purpose") || counts["tried"] != 1 {
			t.Fatalf("run %d: %v %v; want the job's own failure and counts", i+1, counts, err)
		}
	}
}

// Issue 11.9: a run skipped because another process holds a live lease on
// the job and period says which job, period, holder and until when, and
// exits with exitSkipped (3), not 1.
func TestIssue11_9_SkipSaysWhoRunsItAndExitsThree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"LINLI_DATA_DIR=" + dir, "LINLI_LOG_LEVEL=error", "SEED_DEMO=false"}
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	err = sys.store.InsertLease(context.Background(), jobs.Lease{
		Job:     "audit",
		Period:  "2026-11-01",
		Attempt: 1,
		Holder:  "replica-b/4242/x",
		Expires: until,
	})
	sys.close()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"jobs", "run", "audit", "--period", "2026-11-01"}, env, &out, &errOut)
	var code exitCode
	if !errors.As(err, &code) || int(code) != exitSkipped || exitSkipped != 3 {
		t.Fatalf("skipped run: %v; want exit code 3", err)
	}
	msg := errOut.String()
	for _, want := range []string{"audit", "2026-11-01", "replica-b/4242/x", until.Format(time.RFC3339)} {
		if !strings.Contains(msg, want) {
			t.Fatalf("skip message %q does not name %q", msg, want)
		}
	}
	if strings.Contains(out.String(), "done") {
		t.Fatalf("a skipped run printed %q", out.String())
	}
}

// Issue 11.14: `jobs run points-expiry --month M` for a month that is not
// over on the service's clock fails as settlement does, and says why.
func TestIssue11_14_PointsExpiryCommandRefusesAMonthNotOver(t *testing.T) {
	t.Parallel()
	env := []string{"LINLI_DATA_DIR=" + t.TempDir(), "LINLI_LOG_LEVEL=error", "SEED_DEMO=true",
		"LINLI_CLOCK_START=2027-03-15T10:00:00+08:00", "LINLI_SCHEDULER=false"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, month := range []string{"2027-03", "2029-03"} {
		out.Reset()
		err := run(context.Background(), []string{"jobs", "run", "points-expiry", "--month", month}, env, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "not over") || strings.Contains(out.String(), "done") {
			t.Fatalf("points-expiry %s on 2027-03-15: %v %q; want refused, the month is not over", month, err, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"jobs", "run", "points-expiry", "--month", "2027-02"}, env, &out, &out); err != nil ||
		!strings.Contains(out.String(), "points-expiry 2027-02: done") {
		t.Fatalf("points-expiry of a month gone: %v %q", err, out.String())
	}
}
