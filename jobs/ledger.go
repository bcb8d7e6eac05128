package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/linli-community/linli/ledger"
)

// FinishTransfers completes transfers between residents whose credit did not
// land (the process died between debit and credit).
func FinishTransfers(l *ledger.Ledger) Job {
	return Job{
		Name:   "transfers",
		Period: func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") },
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := l.FinishTransfers(ctx, time.Minute)
			return Counts{"finished": n}, err
		},
	}
}

// Audit recomputes every account from its entries and fails the run if
// anything is wrong, so a broken chain shows in the job records and logs.
func Audit(l *ledger.Ledger, loc *time.Location) Job {
	return Job{
		Name:   "audit",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			r, err := l.Audit(ctx)
			c := Counts{
				"accounts": r.Accounts,
				"entries":  r.Entries,
				"problems": len(r.Problems),
			}
			if err != nil {
				return c, err
			}
			if !r.OK() {
				return c, fmt.Errorf("ledger audit found %d problems, first: %+v", len(r.Problems), r.Problems[0])
			}
			return c, nil
		},
	}
}
