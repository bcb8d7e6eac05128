package once_test

import (
	"testing"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/store/storetest"
)

// TestIssue12_Marks_OneWinnerEveryReaderFollows: 16 writers decide one
// mark at once; exactly one wins and every writer, and a reader after
// them, sees the same winner (docs/ARCHITECTURE.md §4.2).
func TestIssue12_Marks_OneWinnerEveryReaderFollows(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	const writers = 16
	for r := range rounds {
		id := once.RecordDecision(roundKey("rec", r))
		winners := make([]models.Mark, writers)
		won := make([]bool, writers)
		errs := make([]error, writers)
		atonce.Run(writers, func(i int) {
			m := models.Mark{
				ID:     id,
				Kind:   "record.decision",
				Actor:  roundKey("staff", i),
				Amount: int64(i),
				At:     stamp(),
			}
			winners[i], won[i], errs[i] = once.Decide(ctx, st, id, m)
		})
		wins := 0
		for i := range writers {
			if errs[i] != nil {
				t.Fatalf("round %d writer %d: %v", r, i, errs[i])
			}
			if won[i] {
				wins++
				if winners[i].Actor != roundKey("staff", i) {
					t.Errorf("round %d: writer %d won but was given %s's mark", r, i, winners[i].Actor)
				}
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d writers won the mark, want exactly 1", r, wins)
		}
		read, found, err := once.Decided(ctx, st, id)
		if err != nil || !found {
			t.Fatalf("round %d: reading the mark: found %v, %v", r, found, err)
		}
		for i := range writers {
			if winners[i].Actor != read.Actor || winners[i].Amount != read.Amount {
				t.Errorf("round %d: writer %d follows %s, the store holds %s", r, i, winners[i].Actor, read.Actor)
			}
		}
	}
}

// TestIssue12_Marks_RedemptionMarksOneOutcome: a clerk's fulfilment and
// the expiry job's expiry race for a redemption's final mark through the
// store's redemption marks; one outcome wins and both report it.
func TestIssue12_Marks_RedemptionMarksOneOutcome(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	marks := storetest.New(t).RedemptionMarks()
	outcomes := []models.RedemptionStatus{models.RedemptionFulfilled, models.RedemptionExpired}
	for r := range rounds {
		redemption := roundKey("red", r)
		id := once.RedemptionFinal(redemption, 1)
		got := make([]models.RedemptionMark, len(outcomes))
		won := make([]bool, len(outcomes))
		errs := make([]error, len(outcomes))
		atonce.Run(len(outcomes), func(i int) {
			m := models.RedemptionMark{
				ID:         id,
				Redemption: redemption,
				Outcome:    string(outcomes[i]),
				At:         stamp(),
			}
			got[i], won[i], errs[i] = once.Decide(ctx, marks, id, m)
		})
		for i := range outcomes {
			if errs[i] != nil {
				t.Fatalf("round %d: %v", r, errs[i])
			}
		}
		if won[0] == won[1] {
			t.Fatalf("round %d: won = %v, want exactly one winner", r, won)
		}
		if got[0].Outcome != got[1].Outcome {
			t.Fatalf("round %d: the two writers follow %q and %q", r, got[0].Outcome, got[1].Outcome)
		}
	}
}

// TestIssue12_Marks_InsertOnce: 16 writers of the same step at once; one
// reports the insert, the others find it done, and none fails.
func TestIssue12_Marks_InsertOnce(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	const writers = 16
	for r := range rounds {
		id := once.CheckIn(roundKey("act", r), "res1")
		inserted := make([]bool, writers)
		errs := make([]error, writers)
		atonce.Run(writers, func(i int) {
			inserted[i], errs[i] = once.Insert(ctx, st, models.Mark{
				ID:   id,
				Kind: "checkin",
				At:   stamp(),
			})
		})
		count := 0
		for i := range writers {
			if errs[i] != nil {
				t.Fatalf("round %d writer %d: %v", r, i, errs[i])
			}
			if inserted[i] {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("round %d: %d writers inserted the step, want 1", r, count)
		}
	}
}
