package once_test

import (
	"testing"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/store/storetest"
)

// TestIssue12_Chain_ConcurrentAppendsConsecutive: 5 writers append to one
// running-total chain at once, on two replicas; they get the distinct
// consecutive numbers 1..5, each ref once, and the running total is the
// sum (docs/ARCHITECTURE.md §4.7).
func TestIssue12_Chain_ConcurrentAppendsConsecutive(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	replicas := []*once.Chains{once.NewChains(st, stamp), once.NewChains(st, stamp)}
	const writers = 5
	for r := range rounds {
		chain := once.DayQuota(roundKey("res", r), "2026-03-01")
		links := make([]models.Link, writers)
		errs := make([]error, writers)
		atonce.Run(writers, func(i int) {
			links[i], errs[i] = replicas[i%2].Append(ctx, chain, roundKey("rec", i), nil, func(last models.Link) (models.Link, error) {
				amount := int64(i + 1)
				return models.Link{Amount: amount, Total: last.Total + amount}, nil
			})
		})
		seen := map[int64]string{}
		for i := range writers {
			if errs[i] != nil {
				t.Fatalf("round %d writer %d: %v", r, i, errs[i])
			}
			if other, ok := seen[links[i].N]; ok {
				t.Fatalf("round %d: %s and %s both got link %d", r, other, links[i].Ref, links[i].N)
			}
			seen[links[i].N] = links[i].Ref
		}
		var total int64
		last, err := replicas[0].Walk(ctx, chain, 1, func(l models.Link) error {
			total += l.Amount
			if l.Total != total {
				t.Errorf("round %d: link %d has running total %d, want %d", r, l.N, l.Total, total)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if last.N != writers || total != writers*(writers+1)/2 {
			t.Fatalf("round %d: the chain ends at %d with total %d, want %d and %d", r, last.N, total, writers, writers*(writers+1)/2)
		}
	}
}

// TestIssue12_Chain_RepeatedRefOneLink: the same ref appended by 4
// callers at once (a request and its repeats) makes one link, which all of
// them return.
func TestIssue12_Chain_RepeatedRefOneLink(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	replicas := []*once.Chains{once.NewChains(st, stamp), once.NewChains(st, stamp)}
	const callers = 4
	for r := range rounds {
		chain := once.PointsCarry(roundKey("res", r))
		links := make([]models.Link, callers)
		errs := make([]error, callers)
		atonce.Run(callers, func(i int) {
			links[i], errs[i] = replicas[i%2].Append(ctx, chain, "rec1", nil, func(last models.Link) (models.Link, error) {
				return models.Link{Amount: 5, Total: last.Total + 5}, nil
			})
		})
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("round %d caller %d: %v", r, i, errs[i])
			}
			if links[i].N != 1 {
				t.Errorf("round %d: caller %d got link %d, want 1", r, i, links[i].N)
			}
		}
		last, err := replicas[0].Last(ctx, chain)
		if err != nil || last.N != 1 {
			t.Fatalf("round %d: the chain ends at %d (%v), want one link", r, last.N, err)
		}
	}
}
