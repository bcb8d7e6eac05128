package jobs

import (
	"context"
	"time"
)

// LiabilitySummariser brings every community's points liability summary up
// to date with the entries written since its last run.
type LiabilitySummariser interface {
	SummariseLiability(ctx context.Context, now time.Time) (int, error)
}

// liabilityEvery is how often the liability summary is brought up to date,
// and so how old the report's points figures can be.
const liabilityEvery = 10 * time.Minute

// LiabilitySummary returns the liability job: each run reads only the
// entries written since the last (docs/PERFORMANCE.md, "The liability summary"),
// so the report reads one summary instead of every entry. Its period is
// the ten minutes it runs in; a repeated run reads nothing new.
func LiabilitySummary(s LiabilitySummariser, loc *time.Location, now func() time.Time) Job {
	return Job{Name: "liability",
		Period: func(t time.Time) string { return t.In(loc).Truncate(liabilityEvery).Format("2006-01-02T15:04") },
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := s.SummariseLiability(ctx, now())
			return Counts{"communities": n}, err
		}}
}
