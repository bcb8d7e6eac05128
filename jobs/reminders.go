package jobs

import (
	"context"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
)

// ExpiryReminder notifies residents whose points expire at the end of a
// month (package inbox's Reminders, through app).
type ExpiryReminder interface {
	// RemindExpiring notifies, for stage "30d" or "7d", every resident
	// some of whose points month m's expiry will take.
	RemindExpiring(ctx context.Context, m models.Month, stage string) (Counts, error)
}

// ReminderPeriod names the points reminder due at t, in loc: "2026-12/30d"
// while the end of t's month is more than 7 days away, "2026-12/7d" after.
// A scheduled run marks its period done, so each resident hears of a
// month's expiry twice at most: once per period.
func ReminderPeriod(loc *time.Location) func(time.Time) string {
	return func(t time.Time) string {
		m := models.MonthOf(t, loc)
		stage := "30d"
		if m.End(loc).Sub(t) <= 7*24*time.Hour {
			stage = "7d"
		}
		return m.String() + "/" + stage
	}
}

// PointsReminders tells residents, early in the month and again 7 days
// before its end, how many points the month's expiry run will take. Its
// period is ReminderPeriod's; each reminder is written once per resident,
// month and stage, so a repeated run writes nothing twice.
func PointsReminders(r ExpiryReminder, loc *time.Location) Job {
	return Job{
		Name:   "points-reminders",
		Period: ReminderPeriod(loc),
		Run: func(ctx context.Context, period string) (Counts, error) {
			month, stage, ok := strings.Cut(period, "/")
			m, err := models.ParseMonth(month)
			if err != nil || !ok {
				return nil, models.ErrValidation.Withf("提醒周期须为 YYYY-MM/30d 或 YYYY-MM/7d", "the period must be YYYY-MM/30d or YYYY-MM/7d")
			}
			return r.RemindExpiring(ctx, m, stage)
		},
	}
}
