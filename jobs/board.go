package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
)

// RunReader reads back run records, newest first.
type RunReader interface {
	// JobRuns returns at most limit runs of job, the latest start first.
	JobRuns(ctx context.Context, job string, limit int) ([]Run, error)
	// JobRun returns the run recorded under id, or models.ErrNotFound.
	JobRun(ctx context.Context, id string) (Run, error)
}

// Scheduled is a job and the cron spec it runs on.
type Scheduled struct {
	Spec string
	Job  Job
}

// Status is a job as the console shows it: its schedule, the period a
// scheduled run would take now, whether it may be run for a period on
// demand, and its last runs.
type Status struct {
	Name     string
	Spec     string
	Period   string // the period a scheduled run takes now
	Runnable bool   // may be run for a named period (day, month or year)
	Runs     []Run
}

// Board lists the scheduled jobs with their last runs and runs one for a
// period on demand, as `linli jobs run` does, for the console.
type Board struct {
	runner *Runner
	runs   RunReader
	jobs   []Scheduled
	now    func() time.Time
}

// NewBoard returns a board over the schedule.
func NewBoard(r *Runner, runs RunReader, schedule []Scheduled, now func() time.Time) *Board {
	return &Board{
		runner: r,
		runs:   runs,
		jobs:   schedule,
		now:    now,
	}
}

// lastRuns is how many runs of each job the board shows.
const lastRuns = 5

// periodLayouts are the periods a job may be run for by hand, by their
// length: a day, a month or a year. The ledger's transfer sweep (one
// period a minute) is not run by hand.
var periodLayouts = map[int]string{
	10: "2006-01-02",
	7:  "2006-01",
	4:  "2006",
}

// List returns every scheduled job with its last runs. Staff and admins
// of a community see it; jobs run for every community.
func (b *Board) List(ctx context.Context, p models.Principal) ([]Status, error) {
	if !p.IsStaff() {
		return nil, models.ErrForbidden
	}
	out := make([]Status, 0, len(b.jobs))
	for _, sj := range b.jobs {
		runs, err := b.runs.JobRuns(ctx, sj.Job.Name, lastRuns)
		if err != nil {
			return nil, fmt.Errorf("jobs: %s runs: %w", sj.Job.Name, err)
		}
		period := sj.Job.Period(b.now())
		_, runnable := periodLayouts[len(period)]
		out = append(out, Status{
			Name:     sj.Job.Name,
			Spec:     sj.Spec,
			Period:   period,
			Runnable: runnable,
			Runs:     runs,
		})
	}
	return out, nil
}

// Run runs job name for period now (an admin's button) under opID, the
// request's scoped Idempotency-Key ("" for none). The period has the job's
// form (a day, a month or a year) and is not later than the one a
// scheduled run would take now: a month is settled after it ends. It runs
// even if the period was done (jobs are safe to repeat); a run of the same
// job and period elsewhere is models.ErrConflict. A repeat of the same
// request answers with its first result: the run recorded under opID,
// once it finished.
func (b *Board) Run(ctx context.Context, p models.Principal, name, period, opID string) (Run, error) {
	if !p.Has(models.RoleAdmin) {
		return Run{}, models.ErrForbidden.Withf("只有管理员可以手动运行任务。", "only an admin may run a job by hand")
	}
	var job *Job
	for i := range b.jobs {
		if b.jobs[i].Job.Name == name {
			job = &b.jobs[i].Job
		}
	}
	if job == nil {
		return Run{}, models.ErrNotFound.Withf("没有名为 %q 的任务。", "no job is named %q", name)
	}
	current := job.Period(b.now())
	layout, ok := periodLayouts[len(current)]
	if !ok {
		return Run{}, models.ErrValidation.Withf("任务 %s 按计划自动运行，不能手动指定期间。", "job %s runs on its schedule only", name)
	}
	if period == "" {
		period = current
	}
	if _, err := time.Parse(layout, period); err != nil || len(period) != len(layout) {
		return Run{}, models.ErrValidation.Withf("期间 %q 的格式应为 %s。", "period %q must look like %s", period, layout)
	}
	if period > current {
		return Run{}, models.ErrValidation.Withf("期间 %s 尚未到运行时间（当前为 %s）。", "period %s is not due yet (now %s)", period, current)
	}
	id := ""
	if opID != "" {
		id = "run:" + opID
		prior, err := b.runs.JobRun(ctx, id)
		if err == nil && prior.Job == name && prior.Period == period && !prior.Finished.IsZero() && prior.Error == "" {
			return prior, nil
		}
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return Run{}, fmt.Errorf("jobs: %s run %s: %w", name, id, err)
		}
	}
	run, err := b.runner.nowAs(ctx, *job, period, id)
	var skip *Skip
	if errors.As(err, &skip) {
		return Run{}, models.ErrConflict.Withf("任务 %s %s 正在运行。", "job %s %s is running", name, period)
	}
	if err != nil {
		return Run{}, err
	}
	return run, nil
}
