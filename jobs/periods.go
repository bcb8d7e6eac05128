package jobs

import (
	"time"

	"github.com/linli-community/linli/models"
)

// Daily names a day in loc, the period of a daily job.
func Daily(loc *time.Location) func(time.Time) string {
	return func(t time.Time) string { return t.In(loc).Format("2006-01-02") }
}

// PreviousMonth names the month before the one t falls in, in loc: the
// period of a monthly job that runs on the 1st and settles the month gone.
func PreviousMonth(loc *time.Location) func(time.Time) string {
	return func(t time.Time) string { return models.MonthOf(t, loc).Previous().String() }
}
