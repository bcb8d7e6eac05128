package jobs

import (
	"context"
	"strconv"
	"time"

	"github.com/linli-community/linli/models"
)

// HonourWork is what the honour jobs call (honour.Service).
type HonourWork interface {
	ListDue(ctx context.Context, at time.Time) (listed, rejected, blocked int, err error)
	ExpireDue(ctx context.Context, at time.Time) (int, error)
	PayAllowances(ctx context.Context, m models.Month) (paid, skipped int, err error)
	RecordStars(ctx context.Context, year int) (recorded, bonuses int, err error)
}

// HonourListing ends the public notice (公示) of nominations whose notice
// is over: listed without an upheld objection, rejected with one, left
// waiting while one is pending. Daily; safe to repeat.
func HonourListing(w HonourWork, loc *time.Location, now func() time.Time) Job {
	return Job{
		Name:   "honour-listing",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			l, r, b, err := w.ListDue(ctx, now())
			return Counts{
				"listed":   l,
				"rejected": r,
				"blocked":  b,
			}, err
		},
	}
}

// HonourExpiry marks listings past their listing period as expired. Daily.
func HonourExpiry(w HonourWork, loc *time.Location, now func() time.Time) Job {
	return Job{
		Name:   "honour-expiry",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := w.ExpireDue(ctx, now())
			return Counts{"expired": n}, err
		},
	}
}

// Allowances pays building heads and the other 三长 for the month named by
// the period ("2026-10"), after closing the month before and making a last
// pass over it: each pass pays only the difference from what was paid
// (keyed by person, month and number), so duties confirmed after a run
// are paid by the next one, and a duty confirmed after its month closed is
// carried to the next month that closes (one keyed record per duty names
// the month that pays it).
func Allowances(w HonourWork, loc *time.Location) Job {
	return Job{
		Name:   "allowances",
		Period: PreviousMonth(loc),
		Run: func(ctx context.Context, period string) (Counts, error) {
			m, err := models.ParseMonth(period)
			if err != nil {
				return nil, err
			}
			paid, skipped, err := w.PayAllowances(ctx, m)
			return Counts{"paid": paid, "no_duty": skipped}, err
		},
	}
}

// StarLevels records the star households of the plaque year named by the
// period ("2027", from the points of 2026) and pays their bonuses.
func StarLevels(w HonourWork, loc *time.Location) Job {
	return Job{
		Name:   "star-levels",
		Period: func(t time.Time) string { return strconv.Itoa(t.In(loc).Year()) },
		Run: func(ctx context.Context, period string) (Counts, error) {
			y, err := strconv.Atoi(period)
			if err != nil || len(period) != 4 {
				return nil, models.ErrValidation.Withf("期间须为年份，例如 2027。", "period must be a year such as 2027")
			}
			r, b, err := w.RecordStars(ctx, y)
			return Counts{"recorded": r, "bonuses": b}, err
		},
	}
}
