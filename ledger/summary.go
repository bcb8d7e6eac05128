package ledger

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
)

// Summary is what the liability report needs of one points account as of
// its entry Seq, so that a job can keep it up to date by reading only the
// entries written since (docs/PERFORMANCE.md, "The liability summary"): the
// balance, the credits that count towards expiry by the month they were
// earned in (in the community's time zone), and what was spent and expired,
// in the terms of models.PointsExpiry (§4.9).
type Summary struct {
	Account models.Account
	Seq     int64
	Balance int64
	Spent   int64            // debits less the releases and reversals of them
	Expired int64            // points taken by expiry
	Earned  map[string]int64 // "2026-03": earning credits made that month
}

// Add counts entry e, the one after s.Seq, with months in loc.
func (s *Summary) Add(e models.Entry, loc *time.Location) {
	if e.Seq > s.Seq {
		s.Seq, s.Balance = e.Seq, e.BalanceAfter
	}
	switch {
	case e.Kind == models.KindExpiry:
		s.Expired -= e.Delta
	case e.Delta > 0 && (e.Kind == models.KindRelease || e.Kind == models.KindReversal):
		s.Spent -= e.Delta // gives back an earlier debit
	case e.Delta > 0:
		if s.Earned == nil {
			s.Earned = map[string]int64{}
		}
		s.Earned[models.MonthOf(e.At, loc).String()] += e.Delta
	default:
		s.Spent -= e.Delta
	}
}

// Due is what the expiry run with the cutoff at the start of month cutoff
// would take: the points earned in the months before it less what was
// spent and expired, never below zero nor above the balance. It equals
// models.PointsExpiry's Due for that cutoff over the same entries.
func (s Summary) Due(cutoff models.Month) int64 {
	c := cutoff.String()
	var earned int64
	for m, pts := range s.Earned {
		if m < c {
			earned += pts
		}
	}
	return max(0, min(earned-s.Spent-s.Expired, s.Balance))
}

// summaryBatch is how many entries CatchUp asks for at a time.
const summaryBatch = 32

// CatchUp adds to s the entries of its account written after s.Seq, read
// by exact _id until the first missing one (the chain is dense): first the
// next one alone, so an account with nothing new costs one lookup, then a
// batch at a time. It reports whether it found any. It bypasses the cache
// of recent entries, which is for the hot paths.
func (l *Ledger) CatchUp(ctx context.Context, s Summary, loc *time.Location) (Summary, bool, error) {
	moved := false
	for batch := 1; ; batch = summaryBatch {
		seqs := make([]int64, batch)
		for i := range seqs {
			seqs[i] = s.Seq + 1 + int64(i)
		}
		es, err := l.store.Entries(ctx, s.Account, seqs)
		if err != nil {
			return s, moved, err
		}
		for i, e := range es {
			if e.Seq != seqs[i] {
				return s, moved, nil // a gap: not possible in a dense chain; stop before it
			}
			s.Add(e, loc)
			moved = true
		}
		if len(es) < batch {
			return s, moved, nil
		}
	}
}
