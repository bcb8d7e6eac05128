package main

import (
	"context"
	"testing"
	"time"
)

// TestCrashShort is the test suite's short version of the crash harness:
// ten kill -9 rounds of the real binary under a mixed load of awards,
// deductions, redemptions, merchant scans, credits applied to bills and
// those bills voided, with the previous month's settlement running beside
// it, then every statement recomputed from its events.
func TestCrashShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := run(ctx, options{
		Rounds:    10,
		Workers:   4,
		MaxUptime: time.Second,
		Seed:      time.Now().UnixNano(),
		Dir:       t.TempDir(),
	})
	t.Log(res)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted == 0 || res.Redemptions == 0 {
		t.Fatalf("no award or no redemption was accepted: the harness tested too little (%v)", res)
	}
	if res.Applied == 0 || res.Voided == 0 || res.Replayed == 0 {
		t.Fatalf("no credit was applied, voided or replayed: the harness tested too little (%v)", res)
	}
	if res.Months != res.Rounds+1 || res.Checked.Statements == 0 || res.Settle.Runs < res.Rounds {
		t.Fatalf("the settlement was exercised too little (%v)", res)
	}
}
