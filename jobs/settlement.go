package jobs

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
)

// MonthlyWork is a monthly job's work for one month, with its counts.
// It is a plain function, not the settlement service, because jobs may not
// import the use-case packages (docs/ARCHITECTURE.md §2, TestLayering):
// app wires the settlement service in.
type MonthlyWork func(ctx context.Context, m models.Month) (Counts, error)

// Monthly is a job named name that runs work for the previous month.
func Monthly(name string, loc *time.Location, work MonthlyWork) Job {
	return Job{
		Name:   name,
		Period: PreviousMonth(loc),
		Run: func(ctx context.Context, period string) (Counts, error) {
			month, err := models.ParseMonth(period)
			if err != nil {
				return nil, err
			}
			return work(ctx, month)
		},
	}
}
