package ledger

import (
	"context"
	"fmt"

	"github.com/linli-community/linli/models"
)

// Problem is one thing the audit found wrong with an account.
type Problem struct {
	Account string `json:"account"`
	Seq     int64  `json:"seq"`
	What    string `json:"what"`
}

// AuditReport is what Audit found.
type AuditReport struct {
	Accounts int       `json:"accounts"`
	Entries  int       `json:"entries"`
	Problems []Problem `json:"problems"`
}

// OK reports whether the audit found nothing wrong.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// Audit recomputes every account from its entries and reports each seq gap,
// balance that does not equal the sum of its entries, debit below its floor
// and operation that landed twice.
func (l *Ledger) Audit(ctx context.Context) (AuditReport, error) {
	return l.AuditTelling(ctx, 0, nil)
}

// AuditTelling is Audit that tells progress how far it got, with the
// report so far, after every every entries (never when every is 0 or
// progress is nil), so a long audit can say where it is while it runs.
func (l *Ledger) AuditTelling(ctx context.Context, every int, progress func(AuditReport)) (AuditReport, error) {
	var (
		r       = AuditReport{Problems: []Problem{}}
		current models.Account
		seq     int64
		balance int64
		ops     map[string]bool
	)
	err := l.store.EachEntry(ctx, func(e models.Entry) error {
		if e.Account != current {
			current, seq, balance, ops = e.Account, 0, 0, map[string]bool{}
			r.Accounts++
		}
		r.Entries++
		acct := e.Account.String()
		if e.Seq != seq+1 {
			r.Problems = append(r.Problems, Problem{acct, e.Seq, fmt.Sprintf("seq gap: expected %d", seq+1)})
		}
		seq = e.Seq
		balance += e.Delta
		if e.BalanceAfter != balance {
			r.Problems = append(r.Problems, Problem{acct, e.Seq, fmt.Sprintf("balance_after %d but entries sum to %d", e.BalanceAfter, balance)})
			balance = e.BalanceAfter // report each break once, not every entry after it
		}
		if e.Floor > 0 {
			r.Problems = append(r.Problems, Problem{acct, e.Seq, "positive floor"})
		}
		if e.Delta < 0 && e.BalanceAfter < e.Floor {
			r.Problems = append(r.Problems, Problem{acct, e.Seq, fmt.Sprintf("negative balance %d below floor %d", e.BalanceAfter, e.Floor)})
		}
		if e.OpID != "" {
			if ops[e.OpID] {
				r.Problems = append(r.Problems, Problem{acct, e.Seq, "operation posted twice: " + e.OpID})
			}
			ops[e.OpID] = true
		}
		if every > 0 && progress != nil && r.Entries%every == 0 {
			progress(r)
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("ledger: audit: %w", err)
	}
	return r, nil
}
