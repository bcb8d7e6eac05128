package jobs

import (
	"context"
	"fmt"
	"time"
)

// Backups takes the embedded store's nightly backups and removes old ones
// (docs/ARCHITECTURE.md §10).
type Backups interface {
	// Take backs the store up as the backup of day (YYYY-MM-DD), unless
	// that day's backup exists; it says whether it took one and how many
	// files the day's backup holds.
	Take(ctx context.Context, day string) (taken bool, files int, err error)
	// Prune removes the backups of days before keepFrom (YYYY-MM-DD) and
	// says how many it removed.
	Prune(keepFrom string) (int, error)
}

// NightlyBackup backs the embedded store up once a day (the day in loc)
// and keeps the backups of the last keepDays days, that day's included.
// Safe to repeat: a day's backup is taken once.
func NightlyBackup(b Backups, loc *time.Location, keepDays int) Job {
	return Job{
		Name:   "backup",
		Period: Daily(loc),
		Run: func(ctx context.Context, day string) (Counts, error) {
			d, err := time.ParseInLocation(time.DateOnly, day, loc)
			if err != nil {
				return nil, fmt.Errorf("backup: period %q is not a day: %w", day, err)
			}
			taken, files, err := b.Take(ctx, day)
			c := Counts{"taken": 0, "files": files}
			if taken {
				c["taken"] = 1
			}
			if err != nil {
				return c, err
			}
			removed, err := b.Prune(d.AddDate(0, 0, 1-keepDays).Format(time.DateOnly))
			c["removed"] = removed
			return c, err
		},
	}
}
