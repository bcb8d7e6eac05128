package main

import (
	"context"
	"testing"
	"time"
)

// TestCrashShort is the test suite's short version of the crash harness:
// ten kill -9 rounds of the real binary under load.
func TestCrashShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := run(ctx, options{Rounds: 10, Workers: 4, MaxUptime: time.Second, Seed: time.Now().UnixNano(), Dir: t.TempDir()})
	t.Log(res)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted == 0 {
		t.Fatalf("no request was accepted: the harness tested nothing (%v)", res)
	}
}
