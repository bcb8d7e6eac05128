package ledger

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

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

// auditEntry is what the audit keeps of one entry until its account is
// checked: a few numbers and the op id, not the whole entry.
type auditEntry struct {
	seq, delta, balanceAfter, floor int64
	op                              string
}

// AuditTelling is Audit that tells progress how far it got, with the
// report so far, after every every entries read (never when every is 0 or
// progress is nil), so a long audit can say where it is while it runs.
//
// It reads the entries in one pass in whatever order the store streams
// them (on the embedded store a sorted read sorts the whole collection in
// memory first), keeps what it checks of each, and then checks each
// account in seq order, accounts in id order.
func (l *Ledger) AuditTelling(ctx context.Context, every int, progress func(AuditReport)) (AuditReport, error) {
	r := AuditReport{Problems: []Problem{}}
	accounts := map[models.Account][]auditEntry{}
	err := l.store.EachEntry(ctx, func(e models.Entry) error {
		accounts[e.Account] = append(accounts[e.Account], auditEntry{
			seq:          e.Seq,
			delta:        e.Delta,
			balanceAfter: e.BalanceAfter,
			floor:        e.Floor,
			op:           e.OpID,
		})
		r.Entries++
		if every > 0 && progress != nil && r.Entries%every == 0 {
			r.Accounts = len(accounts)
			progress(r)
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("ledger: audit: %w", err)
	}
	order := slices.SortedFunc(maps.Keys(accounts), func(a, b models.Account) int { return strings.Compare(a.String(), b.String()) })
	r.Accounts = len(order)
	for _, acct := range order {
		entries := accounts[acct]
		slices.SortFunc(entries, func(a, b auditEntry) int { return cmp.Compare(a.seq, b.seq) })
		r.Problems = append(r.Problems, auditAccount(acct.String(), entries)...)
		delete(accounts, acct)
	}
	return r, nil
}

// auditAccount checks one account's entries, in seq order.
func auditAccount(acct string, entries []auditEntry) []Problem {
	var (
		problems []Problem
		seq      int64
		balance  int64
		ops      = map[string]bool{}
	)
	for _, e := range entries {
		if e.seq != seq+1 {
			problems = append(problems, Problem{acct, e.seq, fmt.Sprintf("seq gap: expected %d", seq+1)})
		}
		seq = e.seq
		balance += e.delta
		if e.balanceAfter != balance {
			problems = append(problems, Problem{acct, e.seq, fmt.Sprintf("balance_after %d but entries sum to %d", e.balanceAfter, balance)})
			balance = e.balanceAfter // report each break once, not every entry after it
		}
		if e.floor > 0 {
			problems = append(problems, Problem{acct, e.seq, "positive floor"})
		}
		if e.delta < 0 && e.balanceAfter < e.floor {
			problems = append(problems, Problem{acct, e.seq, fmt.Sprintf("negative balance %d below floor %d", e.balanceAfter, e.floor)})
		}
		if e.op != "" {
			if ops[e.op] {
				problems = append(problems, Problem{acct, e.seq, "operation posted twice: " + e.op})
			}
			ops[e.op] = true
		}
	}
	return problems
}
