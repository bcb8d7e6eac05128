// Command crash kills the real binary with SIGKILL at random moments while
// it serves awards, deductions, redemptions, merchant scans, credits
// applied to bills and those bills voided, and while the previous month's
// settlement runs beside it; it restarts it on the same data each time
// (each start on the 1st of a new month, LINLI_CLOCK_START), and then checks
// what docs/ARCHITECTURE.md §8 promises: no acknowledged write lost, none duplicated (each
// credit's fulfilments and reversals one for one with its acknowledged
// applies and voids, and acknowledged requests sent again after a restart
// answered as the first time), every account's chain valid (the audit
// command passes), one statement per partner and month, every settlement
// event (fulfilment, refund, void) on exactly one statement (its own
// month's, or a later one's as an adjustment when it was recorded after its
// month was settled), and every statement's header equal to its lines.
//
//	go run ./scripts/crash -rounds 50
//
// The test suite runs a short version (crash_test.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

// main reads the flags, runs the crash test within an hour, prints its counts and exits 1
// when it failed.
func main() {
	var o options
	flag.IntVar(&o.Rounds, "rounds", 50, "kill -9 rounds")
	flag.IntVar(&o.Workers, "workers", 4, "concurrent clients")
	flag.DurationVar(&o.MaxUptime, "max-uptime", 1500*time.Millisecond, "longest a round runs before the kill")
	flag.StringVar(&o.Dir, "dir", "", "data folder to use (default: a new temporary one)")
	flag.Int64Var(&o.Seed, "seed", time.Now().UnixNano(), "random seed")
	flag.Parse()
	o.Log = os.Stdout
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	res, err := run(ctx, o)
	fmt.Println(res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash:", err)
		os.Exit(1)
	}
}
