package models

import "time"

// PointsExpiry works out, first-in first-out and without lots, how many
// points of one account are due to expire at a cutoff:
//
//	due = max(0, earned before the cutoff − net spent so far − expired so far)
//
// "Earned" counts earning credits only (award, service, allowance, honour,
// transfer in …), not a hold's release or a reversal, which give back what
// was spent; "net spent" is every debit less those releases and reversals.
// Spending always uses the oldest points first, so whatever of the earnings
// before the cutoff is not yet spent or expired is what has outlived its
// lifetime. Feed it every entry of the account, in any order.
type PointsExpiry struct {
	cutoffs []time.Time
	earned  []int64 // earned before cutoffs[i]
	spent   int64
	expired int64
	balance int64
	seq     int64
}

// NewPointsExpiry tallies an account for one or more cutoffs.
func NewPointsExpiry(cutoffs ...time.Time) *PointsExpiry {
	return &PointsExpiry{cutoffs: cutoffs, earned: make([]int64, len(cutoffs))}
}

// Add counts one entry.
func (x *PointsExpiry) Add(e Entry) {
	if e.Seq > x.seq {
		x.seq, x.balance = e.Seq, e.BalanceAfter
	}
	switch {
	case e.Kind == KindExpiry:
		x.expired -= e.Delta
	case e.Delta > 0 && (e.Kind == KindRelease || e.Kind == KindReversal):
		x.spent -= e.Delta // gives back an earlier debit
	case e.Delta > 0:
		for i, c := range x.cutoffs {
			if e.At.Before(c) {
				x.earned[i] += e.Delta
			}
		}
	default:
		x.spent -= e.Delta
	}
}

// Due is what expires at cutoff i, never more than the balance.
func (x *PointsExpiry) Due(i int) int64 {
	due := x.earned[i] - x.spent - x.expired
	return max(0, min(due, x.balance))
}

// ExpiryCutoff is the cutoff of the expiry run made on the first of the
// month that t falls in: points earned before it have outlived lifetime
// months. The monthly job for month M runs with t in M+1.
func ExpiryCutoff(t time.Time, loc *time.Location, lifetimeMonths int) time.Time {
	return MonthOf(t, loc).Start(loc).AddDate(0, -lifetimeMonths, 0)
}
