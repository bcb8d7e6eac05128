package once_test

import (
	"slices"
	"testing"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/store/storetest"
)

// TestIssue12_Counter_ExactlyCapacityUnits: a counter of capacity 3 and 12
// concurrent claimants on two replicas (two Counters, each with its own
// hints, over one store): exactly 3 claimants get a unit, numbered 1, 2, 3
// (docs/ARCHITECTURE.md §4.3).
func TestIssue12_Counter_ExactlyCapacityUnits(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	replicas := []*once.Counter{once.NewCounter(st, stamp), once.NewCounter(st, stamp)}
	const capacity, claimants = 3, 12
	for r := range rounds {
		key := once.TotalStock(roundKey("reward", r))
		units := make([]int, claimants)
		errs := make([]error, claimants)
		atonce.Run(claimants, func(i int) {
			units[i], errs[i] = replicas[i%2].Take(ctx, key, capacity, roundKey("red", i), false)
		})
		var got []int
		for i := range claimants {
			if errs[i] != nil {
				t.Fatalf("round %d claimant %d: %v", r, i, errs[i])
			}
			if units[i] > 0 {
				got = append(got, units[i])
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{1, 2, 3}) {
			t.Fatalf("round %d: units taken %v, want [1 2 3]", r, got)
		}
		taken, err := replicas[0].Taken(ctx, key)
		if err != nil || taken != capacity {
			t.Fatalf("round %d: Taken = %d, %v; want %d", r, taken, err, capacity)
		}
	}
}

// TestIssue12_Counter_GiveBackOncePerHolder: one holder's give-back run
// by 6 callers at once (a cancel racing the expiry job and repeats), and
// once more after, frees exactly one unit, which exactly one of 4 new claimants then takes.
func TestIssue12_Counter_GiveBackOncePerHolder(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	replicas := []*once.Counter{once.NewCounter(st, stamp), once.NewCounter(st, stamp)}
	const capacity = 2
	for r := range rounds {
		key := once.ResidentLimit(roundKey("reward", r), "res1", "2026-03")
		for _, holder := range []string{"red-a", "red-b"} {
			if n, err := replicas[0].Take(ctx, key, capacity, holder, false); err != nil || n == 0 {
				t.Fatalf("round %d: take for %s = %d, %v", r, holder, n, err)
			}
		}
		errs := make([]error, 6)
		atonce.Run(len(errs), func(i int) {
			errs[i] = replicas[i%2].GiveBack(ctx, key, "red-a")
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d give-back %d: %v", r, i, err)
			}
		}
		// A repeat long after (the nightly job following the cancel).
		if err := once.NewCounter(st, stamp).GiveBack(ctx, key, "red-a"); err != nil {
			t.Fatalf("round %d: repeated give-back: %v", r, err)
		}
		backs, err := replicas[1].GivenBack(ctx, key)
		if err != nil || backs != 1 {
			t.Fatalf("round %d: GivenBack = %d, %v; want 1", r, backs, err)
		}
		units := make([]int, 4)
		atonce.Run(len(units), func(i int) {
			units[i], errs[i] = replicas[i%2].Take(ctx, key, capacity, roundKey("red-new", i), false)
		})
		got := 0
		for i, n := range units {
			if errs[i] != nil {
				t.Fatalf("round %d claimant %d: %v", r, i, errs[i])
			}
			if n > 0 {
				got++
				if n != 3 {
					t.Errorf("round %d: the freed unit was taken as unit %d, want 3", r, n)
				}
			}
		}
		if got != 1 {
			t.Fatalf("round %d: %d claimants took the one freed unit", r, got)
		}
	}
}

// TestIssue12_Counter_RepeatFindsItsUnit: a repeat of an interrupted take
// (recheck) returns the unit its holder took, taking no second one.
func TestIssue12_Counter_RepeatFindsItsUnit(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	counter := once.NewCounter(st, stamp)
	key := once.MonthlyStock("reward", "2026-03")
	first, err := counter.Take(ctx, key, 5, "red1", false)
	if err != nil || first != 1 {
		t.Fatalf("take = %d, %v", first, err)
	}
	again, err := once.NewCounter(st, stamp).Take(ctx, key, 5, "red1", true)
	if err != nil || again != first {
		t.Fatalf("repeat take = %d, %v; want unit %d again", again, err, first)
	}
	if taken, err := counter.Taken(ctx, key); err != nil || taken != 1 {
		t.Fatalf("Taken = %d, %v; want 1", taken, err)
	}
	if holder, err := counter.Holder(ctx, key, 1); err != nil || holder != "red1" {
		t.Fatalf("Holder(1) = %q, %v", holder, err)
	}
}
