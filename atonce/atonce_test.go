package atonce_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
)

// guard is how long a test waits for calls that should all be running
// before it fails instead of hanging; the calls never need it when Run
// overlaps them.
const guard = time.Minute

// All n calls are inside f at the same time: each waits until the count of
// calls that have entered reaches n, so calls made one after another would
// wait for ever (and fail at the guard) instead of returning.
func TestRunOverlapsAllCalls(t *testing.T) {
	t.Parallel()
	const n = 16
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	var entered, left atomic.Int32
	all := make(chan struct{})
	var stranded atomic.Int32
	atonce.Run(n, func(int) {
		if entered.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-ctx.Done():
			stranded.Add(1)
		}
		left.Add(1)
	})
	if s := stranded.Load(); s != 0 {
		t.Fatalf("%d of %d calls did not meet all the others inside f", s, n)
	}
	if got := left.Load(); got != n {
		t.Fatalf("%d calls returned, want %d", got, n)
	}
}

// Each index is called exactly once, and Run returns only after the last.
func TestRunCallsEachIndexOnce(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 64} {
		calls := make([]atomic.Int32, n)
		atonce.Run(n, func(i int) { calls[i].Add(1) })
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("n=%d: f(%d) called %d times, want once", n, i, c)
			}
		}
	}
}

// Errors returns f(i)'s error at index i, nil where the call succeeded.
func TestErrorsInIndexOrder(t *testing.T) {
	t.Parallel()
	const n = 10
	errs := atonce.Errors(n, func(i int) error {
		if i%3 == 0 {
			return nil
		}
		return fmt.Errorf("call %d", i)
	})
	if len(errs) != n {
		t.Fatalf("%d errors, want %d", len(errs), n)
	}
	for i, err := range errs {
		switch {
		case i%3 == 0 && err != nil:
			t.Fatalf("errs[%d] = %v, want nil", i, err)
		case i%3 != 0 && (err == nil || err.Error() != fmt.Sprintf("call %d", i)):
			t.Fatalf("errs[%d] = %v, want call %d", i, err, i)
		}
	}
	if err := errors.Join(atonce.Errors(0, func(int) error { return errors.New("never") })...); err != nil {
		t.Fatalf("no calls gave %v", err)
	}
}
