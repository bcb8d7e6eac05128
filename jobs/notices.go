package jobs

import (
	"context"
	"time"
)

// AwardNoticeSweeper queues the notice of every staff award whose request
// died between its entry and its notice.
type AwardNoticeSweeper interface {
	SweepAwardNotices(ctx context.Context) (int, error)
}

// AwardNotices returns the notices sweep: each run reads the staff awards
// listed since the last run and queues the notice of any that has no
// notification yet (ARCHITECTURE.md §4.10). Its period is the UTC minute;
// a repeated run reads nothing new.
func AwardNotices(s AwardNoticeSweeper) Job {
	return Job{
		Name:   "award-notices",
		Period: func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") },
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := s.SweepAwardNotices(ctx)
			return Counts{"queued": n}, err
		},
	}
}
