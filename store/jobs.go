package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// leaseDoc is one attempt's lease on a job's period, as stored in
// job_leases.
type leaseDoc struct {
	ID      string    `bson:"_id"`
	Job     string    `bson:"job"`
	Period  string    `bson:"period"`
	Attempt int       `bson:"attempt"`
	Holder  string    `bson:"holder"`
	Expires time.Time `bson:"expires"`
}

// leaseID is the _id of attempt n's lease on job's period.
func leaseID(job, period string, n int) string { return fmt.Sprintf("lease:%s:%s:%d", job, period, n) }

// InsertLease implements jobs.Store.
func (s *Store) InsertLease(ctx context.Context, l jobs.Lease) error {
	return s.insert(ctx, colLeases, leaseDoc{
		ID:      leaseID(l.Job, l.Period, l.Attempt),
		Job:     l.Job,
		Period:  l.Period,
		Attempt: l.Attempt,
		Holder:  l.Holder,
		Expires: l.Expires,
	})
}

// LeaseAttempt implements jobs.Store.
func (s *Store) LeaseAttempt(ctx context.Context, job, period string, n int) (jobs.Lease, error) {
	var d leaseDoc
	if err := s.findByID(ctx, colLeases, leaseID(job, period, n), &d); err != nil {
		return jobs.Lease{}, err
	}
	return jobs.Lease{
		Job:     d.Job,
		Period:  d.Period,
		Attempt: d.Attempt,
		Holder:  d.Holder,
		Expires: d.Expires.UTC(),
	}, nil
}

// leaseEndID is the _id of the mark that ends attempt n's lease.
func leaseEndID(job, period string, n int) string { return "end:" + leaseID(job, period, n) }

// EndLease implements jobs.Store: an insert-once mark beside the attempt,
// which only its holder writes.
func (s *Store) EndLease(ctx context.Context, job, period string, n int, at time.Time) error {
	err := s.insert(ctx, colLeases, bson.D{{Key: "_id", Value: leaseEndID(job, period, n)}, {Key: "at", Value: at}})
	if errors.Is(err, models.ErrConflict) {
		return nil
	}
	return err
}

// LeaseEnded implements jobs.Store.
func (s *Store) LeaseEnded(ctx context.Context, job, period string, n int) (bool, error) {
	var d bson.M
	err := s.findByID(ctx, colLeases, leaseEndID(job, period, n), &d)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// MarkDone implements jobs.Store.
func (s *Store) MarkDone(ctx context.Context, job, period string, at time.Time) error {
	err := s.insert(ctx, colLeases, bson.D{{Key: "_id", Value: "done:" + job + ":" + period}, {Key: "at", Value: at}})
	if errors.Is(err, models.ErrConflict) {
		return nil
	}
	return err
}

// Done implements jobs.Store.
func (s *Store) Done(ctx context.Context, job, period string) (bool, error) {
	var d bson.M
	err := s.findByID(ctx, colLeases, "done:"+job+":"+period, &d)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// runDoc is one run of a job as stored in job_runs.
type runDoc struct {
	ID       string         `bson:"_id"`
	Job      string         `bson:"job"`
	Period   string         `bson:"period"`
	Holder   string         `bson:"holder"`
	Started  time.Time      `bson:"started"`
	Finished *time.Time     `bson:"finished,omitempty"`
	Counts   map[string]int `bson:"counts,omitempty"`
	Error    string         `bson:"error,omitempty"`
	Slots    []slotRef      `bson:"slots,omitempty"` // its place on its job's list (jobs_runs.go)
}

// InsertRun implements jobs.Store: the run record after its slot on its
// job's list (jobRunList), in one ordered insert.
func (s *Store) InsertRun(ctx context.Context, r jobs.Run) error {
	_, err := s.insertListed(ctx, colJobRuns, []string{jobRunList(r.Job)}, r.ID, r.Started, func(slots []slotRef) any {
		return runDoc{
			ID:      r.ID,
			Job:     r.Job,
			Period:  r.Period,
			Holder:  r.Holder,
			Started: r.Started,
			Slots:   slots,
		}
	})
	return err
}

// FinishRun implements jobs.Store.
func (s *Store) FinishRun(ctx context.Context, r jobs.Run) error {
	return s.setByID(ctx, colJobRuns, r.ID, bson.D{
		{Key: "finished", Value: r.Finished}, {Key: "counts", Value: map[string]int(r.Counts)}, {Key: "error", Value: r.Error}})
}

var _ jobs.Store = (*Store)(nil)
