package jobs

import (
	"context"
	"time"
)

// HoldExpirer expires redemptions held past their hold period.
type HoldExpirer interface {
	ExpireHolds(ctx context.Context, now time.Time) (int, error)
}

// HoldExpiry returns the points of redemptions not fulfilled within the
// policy's HoldExpiryDays (daily). Each expiry is a keyed insert and a
// keyed release, so a repeated or overlapping run expires nothing twice.
func HoldExpiry(r HoldExpirer, loc *time.Location, now func() time.Time) Job {
	return Job{
		Name:   "hold-expiry",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := r.ExpireHolds(ctx, now())
			return Counts{"expired": n}, err
		},
	}
}
