package jobs

import (
	"context"
	"time"
)

// RankingsSummariser brings every community's rankings summary up to date
// with the entries written since its last run.
type RankingsSummariser interface {
	SummariseRankings(ctx context.Context, now time.Time) (int, error)
}

// rankingsEvery is how often the rankings summary is brought up to date,
// and so how old a ranking's figures can be.
const rankingsEvery = 10 * time.Minute

// RankingsSummary returns the rankings job: each run reads only the
// entries written since the last (docs/PERFORMANCE.md, "Rankings summary
// (issue 15)"), so a ranking reads one summary a month instead of every
// entry of its period. Its period is the ten minutes it runs in; a
// repeated run reads nothing new.
func RankingsSummary(s RankingsSummariser, loc *time.Location, now func() time.Time) Job {
	return Job{Name: "rankings",
		Period: func(t time.Time) string { return t.In(loc).Truncate(rankingsEvery).Format("2006-01-02T15:04") },
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := s.SummariseRankings(ctx, now())
			return Counts{"communities": n}, err
		}}
}
