package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/jobs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testRun is run n of job, started n seconds after at.
func testRun(job string, n int, at time.Time) jobs.Run {
	return jobs.Run{
		ID:      fmt.Sprintf("%s-run%03d", job, n),
		Job:     job,
		Period:  "2026-12-07",
		Holder:  "replica-a",
		Started: at.Add(time.Duration(n) * time.Second).UTC().Truncate(time.Millisecond),
	}
}

// runIDs are the ids of runs, in order.
func runIDs(runs []jobs.Run) []string {
	return idsOf(runs, func(r jobs.Run) string { return r.ID })
}

// Issue 15 (GET /jobs scanned job_runs once per job): a job's last runs
// are read from its list, newest first, with their finish and counts,
// while two replicas record runs of that job and another at once; every
// read holds only the job's own runs, once each, newest start first, and
// sends the store no scan. A slot whose run was never written (the crash
// point) and a repeat of a run's id are skipped.
func TestIssue15_JobRuns_ReadFromTheJobsListWhileRunsAreRecorded(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	storeEach(t, 30, func(n int) error {
		r := testRun("ledger-sweep", n, at)
		if err := s.InsertRun(ctx, r); err != nil {
			return err
		}
		r.Finished, r.Counts = r.Started.Add(time.Second), jobs.Counts{"moved": n}
		return s.FinishRun(ctx, r)
	})
	// The crash point: a slot whose run was never written.
	if _, err := s.insertListed(ctx, colJobRuns, []string{jobRunList("ledger-sweep")}, "never-written", at.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	// A repeat of a stored run's id is refused and names nothing.
	if err := other.InsertRun(ctx, testRun("ledger-sweep", 29, at)); err == nil {
		t.Fatal("a run's id recorded twice")
	}
	commands := watchCommands(s)
	errs := atonce.Errors(5, func(i int) error {
		replica := inTurn(i, s, other)
		switch i {
		case 0, 1: // two replicas record runs of the job read
			for n := range 10 {
				if err := replica.InsertRun(ctx, testRun("ledger-sweep", 100+10*i+n, at)); err != nil {
					return err
				}
			}
		case 2: // and of another job
			for n := range 10 {
				if err := replica.InsertRun(ctx, testRun("notices", n, at)); err != nil {
					return err
				}
			}
		default: // while the board reads
			for range 10 {
				got, err := replica.JobRuns(ctx, "ledger-sweep", 5)
				if err != nil {
					return err
				}
				if len(got) != 5 {
					return fmt.Errorf("the last 5 runs read %v", runIDs(got))
				}
				for k, r := range got {
					if r.Job != "ledger-sweep" {
						return fmt.Errorf("the job's runs show %s of %s", r.ID, r.Job)
					}
					if k > 0 && got[k-1].Started.Before(r.Started) {
						return fmt.Errorf("the last runs are not newest first: %v", runIDs(got))
					}
					if k > 0 && got[k-1].ID == r.ID {
						return fmt.Errorf("%s read twice", r.ID)
					}
				}
			}
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	commands.wantNoScans(t, "the runs' reads and writes")
	all, err := s.JobRuns(ctx, "ledger-sweep", 1000)
	if err != nil {
		t.Fatal(err)
	}
	// Newest start first: runs 119 … 100 of the two replicas, then 29 … 0.
	var want []string
	for n := 119; n >= 0; n-- {
		if n < 30 || n >= 100 {
			want = append(want, fmt.Sprintf("ledger-sweep-run%03d", n))
		}
	}
	if got := runIDs(all); !slices.Equal(got, want) {
		t.Fatalf("every run reads %v; want %v", got, want)
	}
	last, err := s.JobRuns(ctx, "ledger-sweep", 49)
	if err != nil {
		t.Fatal(err)
	}
	if got := last[len(last)-1]; got.ID != "ledger-sweep-run001" || got.Counts["moved"] != 1 || !got.Finished.Equal(got.Started.Add(time.Second)) {
		t.Fatalf("the 49th last run reads %+v; want run001 finished with its counts", got)
	}
	if n, err := s.JobRuns(ctx, "notices", 5); err != nil || len(n) != 5 || n[0].ID != "notices-run009" {
		t.Fatalf("the other job's last runs: %v, %v", runIDs(n), err)
	}
	if n, err := s.JobRuns(ctx, "never-ran", 5); err != nil || len(n) != 0 {
		t.Fatalf("a job that never ran: %v, %v", runIDs(n), err)
	}
}

// Issue 15: runs stored before the job-run lists existed are put on them
// once, at the next start, the newest jobRunsListedAtStart of each job,
// even when two replicas start at once; a later start reads the mark and
// lists nothing again.
func TestIssue15_JobRuns_StoredBeforeTheListsAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	old := jobRunsListedAtStart + 5
	storeEach(t, old, func(n int) error {
		r := testRun("ledger-sweep", n, at)
		return s.insert(ctx, colJobRuns, runDoc{
			ID:      r.ID,
			Job:     r.Job,
			Period:  r.Period,
			Holder:  r.Holder,
			Started: r.Started,
		})
	})
	legacy := testRun("notices", 0, at)
	if err := s.insert(ctx, colJobRuns, runDoc{
		ID:      legacy.ID,
		Job:     legacy.Job,
		Period:  legacy.Period,
		Started: legacy.Started,
	}); err != nil {
		t.Fatal(err)
	}
	forgetBackfills(t, s, "job-run-lists")
	if got, err := s.JobRuns(ctx, "ledger-sweep", 5); err != nil || len(got) != 0 {
		t.Fatalf("before the start: %v, %v", runIDs(got), err)
	}
	startAtOnce(t, 2, (*Store).listJobRunsStoredBefore, s, other)
	startTwice(t, s.EnsureSchema) // the next starts find the work done
	// A run stored without its slot after the mark stays unlisted: the
	// starts did not look again.
	late := testRun("notices", 1, at)
	if err := s.insert(ctx, colJobRuns, runDoc{
		ID:      late.ID,
		Job:     late.Job,
		Started: late.Started,
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.JobRuns(ctx, "ledger-sweep", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for n := old - 1; n >= old-jobRunsListedAtStart; n-- {
		want = append(want, fmt.Sprintf("ledger-sweep-run%03d", n))
	}
	if ids := runIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("after the starts the job's runs read %v; want its newest %d once each, newest first", ids, jobRunsListedAtStart)
	}
	if got, err := s.JobRuns(ctx, "notices", 5); err != nil || !slices.Equal(runIDs(got), []string{legacy.ID}) {
		t.Fatalf("the other job's runs read %v, %v; want its one old run", runIDs(got), err)
	}
}

// A replica that starts while another is part way through listing the
// runs stored before the lists (the newest half listed, the rest not)
// picks the same newest jobRunsListedAtStart runs as the other did, not
// the newest of those still unlisted: the list still reads the job's
// newest runs once each, none older.
func TestIssue15_JobRuns_AStartMidwayThroughAnotherListsNoOlderRun(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	old := jobRunsListedAtStart + 5
	var docs []runDoc
	storeEach(t, old, func(n int) error {
		r := testRun("ledger-sweep", n, at)
		d := runDoc{
			ID:      r.ID,
			Job:     r.Job,
			Period:  r.Period,
			Holder:  r.Holder,
			Started: r.Started,
		}
		docs = append(docs, d)
		return s.insert(ctx, colJobRuns, d)
	})
	forgetBackfills(t, s, "job-run-lists")
	// The other replica listed the oldest half of the newest runs, oldest
	// first, as the backfill does, and died.
	slices.SortFunc(docs, func(a, b runDoc) int { return a.Started.Compare(b.Started) })
	for _, d := range docs[old-jobRunsListedAtStart : old-jobRunsListedAtStart/2] {
		slots, err := s.insertListed(ctx, colJobRuns, []string{jobRunList(d.Job)}, d.ID, d.Started, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.setByID(ctx, colJobRuns, d.ID, bson.D{{Key: "slots", Value: slots}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.listJobRunsStoredBefore(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.JobRuns(ctx, "ledger-sweep", 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := runIDs(got)
	slices.Sort(ids)
	var want []string
	for n := old - jobRunsListedAtStart; n < old; n++ {
		want = append(want, fmt.Sprintf("ledger-sweep-run%03d", n))
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("after the second start the job's runs read %d runs %v; want the newest %d once each", len(ids), ids, jobRunsListedAtStart)
	}
}
