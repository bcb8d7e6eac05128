package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/linli-community/linli/jobs"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// jobRunList is the list of job's runs in job_runs (lists.go), in the
// order they were recorded: the board reads its newest slots, so its
// cost is the runs it shows, not the runs every job ever made (four jobs
// run every one or ten minutes, some 3,000 runs a day per replica).
//
// Crash points (as for every list, lists.go): a slot whose run record was
// never written, or whose insert met a run with the same id, names
// nothing and is skipped; a run record cannot be stored without its slot.
// FinishRun sets fields of the record and leaves its slot alone.
func jobRunList(job string) string { return "jr:" + job }

// JobRuns implements jobs.RunReader: the last limit runs of job, the
// latest start first. It reads the newest slots of the job's list (at
// least limit, more when some name nothing), never the other jobs' runs,
// and orders the runs it found by start then id, as a run's start and
// its slot's order may differ by another replica's clock.
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]jobs.Run, error) {
	if limit <= 0 {
		return []jobs.Run{}, nil
	}
	read := listedRead[runDoc, runDoc]{
		col:     colJobRuns,
		list:    jobRunList(job),
		slotsOf: func(d *runDoc) []slotRef { return d.Slots },
		model:   func(d *runDoc) runDoc { return *d },
	}
	var docs []runDoc
	cursor := ""
	for len(docs) < limit {
		page, next, err := read.pageAfter(ctx, s, cursor, limit-len(docs))
		if err != nil {
			return nil, err
		}
		docs = append(docs, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	slices.SortStableFunc(docs, func(a, b runDoc) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	out := make([]jobs.Run, len(docs))
	for i, d := range docs {
		out[i] = runOf(d)
	}
	return out, nil
}

// JobRun implements jobs.RunReader: the run recorded under id, or
// models.ErrNotFound.
func (s *Store) JobRun(ctx context.Context, id string) (jobs.Run, error) {
	var d runDoc
	if err := s.findByID(ctx, colJobRuns, id, &d); err != nil {
		return jobs.Run{}, err
	}
	return runOf(d), nil
}

// runOf is the run a runDoc stores.
func runOf(d runDoc) jobs.Run {
	out := jobs.Run{
		ID:      d.ID,
		Job:     d.Job,
		Period:  d.Period,
		Holder:  d.Holder,
		Started: d.Started.UTC(),
		Counts:  d.Counts,
		Error:   d.Error,
	}
	if d.Finished != nil {
		out.Finished = d.Finished.UTC()
	}
	return out
}

// jobRunsListedAtStart is how many of each job's runs stored before the
// lists existed listJobRunsStoredBefore puts on its list: the board shows
// five, and a store that ran for a year holds a million runs, which a
// start should not write a slot for each of.
const jobRunsListedAtStart = 100

// listJobRunsStoredBefore puts the newest jobRunsListedAtStart runs of
// each job stored before the job-run lists existed on their lists, once,
// oldest first so the lists read newest first; a mark (done:job-run-lists,
// insert-once) says it is done, and every later start reads the mark and
// scans nothing. It is listStoredBefore's work (same crash points: a crash
// part way leaves slots no run names, which readers skip, and the next
// start lists the rest; two replicas starting at once may both take a slot
// for a run, and only the one the run names is read) for a collection
// whose documents name no community.
func (s *Store) listJobRunsStoredBefore(ctx context.Context) error {
	const mark = "done:job-run-lists"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	// Runs only (a slot names no job), listed or not: every replica
	// starting at once then picks the same newest runs of each job, and
	// lists those not listed yet. Picking among the unlisted ones alone let
	// a replica that started while another was listing reach past the
	// newest. The stream keeps at most twice jobRunsListedAtStart runs of
	// a job in memory, whatever the history.
	newestFirst := func(a, b runDoc) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	}
	newest := map[string][]runDoc{}
	cur, err := s.c(colJobRuns).Find(ctx, bson.D{{Key: "job", Value: bson.D{{Key: "$exists", Value: true}}}})
	err = eachDoc(ctx, cur, err, "job runs", func(d runDoc) error {
		runs := append(newest[d.Job], d)
		if len(runs) >= 2*jobRunsListedAtStart {
			slices.SortStableFunc(runs, newestFirst)
			runs = runs[:jobRunsListedAtStart]
		}
		newest[d.Job] = runs
		return nil
	})
	if err != nil {
		return err
	}
	var todo []runDoc
	for _, runs := range newest {
		slices.SortStableFunc(runs, newestFirst)
		for _, d := range runs[:min(len(runs), jobRunsListedAtStart)] {
			if len(d.Slots) == 0 {
				todo = append(todo, d)
			}
		}
	}
	slices.SortStableFunc(todo, newestFirst)
	slices.Reverse(todo)
	for _, d := range todo {
		taken, err := s.insertListed(ctx, colJobRuns, []string{jobRunList(d.Job)}, d.ID, d.Started, nil)
		if err != nil {
			return err
		}
		slots, err := s.claimListed(ctx, "listed:"+colJobRuns+":"+d.ID, taken)
		if err != nil {
			return err
		}
		if err := s.setByID(ctx, colJobRuns, d.ID, bson.D{{Key: "slots", Value: slots}}); err != nil {
			return err
		}
	}
	// Another replica starting at the same time may have finished first:
	// its mark says the same.
	return s.markStepDone(ctx, mark)
}

var _ jobs.RunReader = (*Store)(nil)
