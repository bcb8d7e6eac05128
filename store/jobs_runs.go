package store

import (
	"context"

	"github.com/linli-community/linli/jobs"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// JobRuns implements jobs.RunReader: the last limit runs of job, the
// latest start first.
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]jobs.Run, error) {
	opts := options.Find().SetSort(bson.D{{Key: "started", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit))
	cur, err := s.c(colJobRuns).Find(ctx, bson.D{{Key: "job", Value: job}}, opts)
	if err != nil {
		return nil, mapErr("list job runs", err)
	}
	var docs []runDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr("list job runs", err)
	}
	out := make([]jobs.Run, len(docs))
	for i, d := range docs {
		out[i] = jobs.Run{ID: d.ID, Job: d.Job, Period: d.Period, Holder: d.Holder, Started: d.Started.UTC(),
			Counts: d.Counts, Error: d.Error}
		if d.Finished != nil {
			out[i].Finished = d.Finished.UTC()
		}
	}
	return out, nil
}

var _ jobs.RunReader = (*Store)(nil)
