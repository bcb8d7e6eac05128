package jobs

import (
	"context"
	"time"
)

// RotateKeys seals under the current data key every resident's phone, ID
// number and birth year, and every login's phone, that is in clear (from
// before sealing) or sealed under an older key (docs/ARCHITECTURE.md §11).
// reseal is one pass; safe to repeat and to stop anywhere, since each
// document is sealed in one write and every configured key still opens.
func RotateKeys(reseal func(ctx context.Context) (Counts, error), loc *time.Location) Job {
	return Job{
		Name:   "rotate-keys",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			return reseal(ctx)
		},
	}
}

// Erasure erases the personal information of residents who moved away
// longer ago than their community's retention period (name to a
// pseudonym; phone, ID number, birth year and login removed), keeping
// every ledger entry and statement as it is. erase is one pass, safe to
// repeat (its crash points: directory.Service.EraseDue).
func Erasure(erase func(ctx context.Context) (Counts, error), loc *time.Location) Job {
	return Job{
		Name:   "erasure",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			return erase(ctx)
		},
	}
}
