package once_test

import (
	"context"
	"errors"
	"testing"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

// signups is a sign-up kept as marks, as the time bank numbers them: the
// mark once.Signup(activity, resident, gen) is generation gen, and
// once.SignupCancel of it closes it.
type signups struct {
	st       *store.Store
	activity string
	resident string
}

func (s signups) state(ctx context.Context, gen int) (once.GenState, error) {
	id := once.Signup(s.activity, s.resident, gen)
	if _, found, err := once.Decided(ctx, s.st, id); err != nil || !found {
		return once.GenMissing, err
	}
	_, cancelled, err := once.Decided(ctx, s.st, once.SignupCancel(id))
	if cancelled {
		return once.GenClosed, err
	}
	return once.GenOpen, err
}

func (s signups) insert(ctx context.Context, gen int) error {
	return s.st.InsertMark(ctx, models.Mark{
		ID:         once.Signup(s.activity, s.resident, gen),
		Kind:       "signup",
		ResidentID: s.resident,
		At:         stamp(),
	})
}

func (s signups) claim(ctx context.Context) (int, bool, error) {
	return once.ClaimGeneration(ctx, 0, s.state, s.insert)
}

// TestIssue12_Generation_RetryAfterRefusalClaimsNext: 6 requests of one
// resident claim a sign-up at once and all get the same generation, one
// of them inserting it; after it is cancelled (a refusal: the activity
// was full), 6 retries at once all claim the next generation, again
// inserted once (docs/ARCHITECTURE.md §4.4).
func TestIssue12_Generation_RetryAfterRefusalClaimsNext(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	const requests = 6
	for r := range rounds {
		s := signups{
			st:       st,
			activity: roundKey("act", r),
			resident: "res1",
		}
		for want := range 2 {
			gens := make([]int, requests)
			inserted := make([]bool, requests)
			errs := make([]error, requests)
			atonce.Run(requests, func(i int) {
				gens[i], inserted[i], errs[i] = s.claim(ctx)
			})
			inserts := 0
			for i := range requests {
				if errs[i] != nil {
					t.Fatalf("round %d request %d: %v", r, i, errs[i])
				}
				if gens[i] != want {
					t.Fatalf("round %d: request %d claimed generation %d, want %d", r, i, gens[i], want)
				}
				if inserted[i] {
					inserts++
				}
			}
			if inserts != 1 {
				t.Fatalf("round %d: generation %d inserted %d times, want once", r, want, inserts)
			}
			// The refusal that sends the next request to a new generation.
			cancel := models.Mark{
				ID:   once.SignupCancel(once.Signup(s.activity, s.resident, want)),
				Kind: "signup.cancel",
				At:   stamp(),
			}
			if _, err := once.Insert(ctx, st, cancel); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestIssue12_Generation_FirstOpenOrMissing: Generation walks past closed
// generations to the first missing or open one, and passes a read error
// on.
func TestIssue12_Generation_FirstOpenOrMissing(t *testing.T) {
	t.Parallel()
	states := []once.GenState{once.GenClosed, once.GenClosed, once.GenOpen}
	state := func(_ context.Context, gen int) (once.GenState, error) {
		if gen-1 < len(states) {
			return states[gen-1], nil
		}
		return once.GenMissing, nil
	}
	gen, st, err := once.Generation(context.Background(), 1, state)
	if err != nil || gen != 3 || st != once.GenOpen {
		t.Fatalf("Generation = %d, %v, %v; want 3, open", gen, st, err)
	}
	states[2] = once.GenClosed
	gen, st, err = once.Generation(context.Background(), 1, state)
	if err != nil || gen != 4 || st != once.GenMissing {
		t.Fatalf("Generation = %d, %v, %v; want 4, missing", gen, st, err)
	}
	boom := errors.New("read failed")
	_, _, err = once.Generation(context.Background(), 1, func(context.Context, int) (once.GenState, error) {
		return once.GenMissing, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Generation error = %v, want %v", err, boom)
	}
}

// TestIssue12_Places_CapacityHoldsAndReleaseMovesOn: 8 sign-ups take the
// 3 places of an activity at once: exactly 3 get one, each a different
// place. One place is released twice at once (a cancel and its repeat);
// of 4 new sign-ups exactly one takes it, as its generation 1.
func TestIssue12_Places_CapacityHoldsAndReleaseMovesOn(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st := storetest.New(t)
	places := once.NewPlaces(st, stamp)
	const capacity, takers = 3, 8
	for r := range rounds {
		activity := roundKey("act", r)
		got := make([]string, takers)
		ok := make([]bool, takers)
		errs := make([]error, takers)
		atonce.Run(takers, func(i int) {
			got[i], ok[i], errs[i] = places.Take(ctx, activity, "c1", capacity, roundKey("su", i))
		})
		holders := map[string]int{}
		for i := range takers {
			if errs[i] != nil {
				t.Fatalf("round %d taker %d: %v", r, i, errs[i])
			}
			if ok[i] {
				if other, dup := holders[got[i]]; dup {
					t.Fatalf("round %d: sign-ups %d and %d both hold %s", r, other, i, got[i])
				}
				holders[got[i]] = i
			}
		}
		if len(holders) != capacity {
			t.Fatalf("round %d: %d sign-ups hold a place, want %d", r, len(holders), capacity)
		}
		freed := once.ActivityPlace(activity, 2, 0)
		holder, held := holders[freed]
		if !held {
			t.Fatalf("round %d: nobody holds %s (holders %v)", r, freed, holders)
		}
		if place, found, err := places.Held(ctx, activity, capacity, roundKey("su", holder)); err != nil || !found || place != freed {
			t.Fatalf("round %d: Held = %s, %v, %v; want %s", r, place, found, err, freed)
		}
		atonce.Run(2, func(i int) {
			errs[i] = places.Release(ctx, freed, "c1", roundKey("su", holder))
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: release: %v, %v", r, errs[0], errs[1])
		}
		atonce.Run(4, func(i int) {
			got[i], ok[i], errs[i] = places.Take(ctx, activity, "c1", capacity, roundKey("late", i))
		})
		winners := 0
		for i := range 4 {
			if errs[i] != nil {
				t.Fatalf("round %d late taker %d: %v", r, i, errs[i])
			}
			if ok[i] {
				winners++
				if want := once.ActivityPlace(activity, 2, 1); got[i] != want {
					t.Errorf("round %d: the freed place was taken as %s, want %s", r, got[i], want)
				}
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d late sign-ups took the one freed place", r, winners)
		}
	}
}
