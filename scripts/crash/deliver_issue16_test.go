package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestMain runs the delivery scenario's child when this test binary was
// started as one (deliver.go), and the tests otherwise.
func TestMain(m *testing.M) {
	if child, code := runDeliverChildIfAsked(); child {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestIssue16_Crash_KillNineDuringDeliveryLosesNoneAndPlacesOnce: for
// each crash point of the delivery flow (deliver.go lists them) a child
// process delivering 100 queued notices to a webhook receiver on loopback
// is killed with SIGKILL exactly there; a deliverer started afterwards on
// the same data folder finishes. Every notice is then in its recipient's
// inbox exactly once and nothing else is, the receiver got every message
// id, twice only those whose sending was in flight at the kill, and every
// one has its sent mark.
func TestIssue16_Crash_KillNineDuringDeliveryLosesNoneAndPlacesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per crash point")
	}
	t.Parallel()
	for _, point := range deliverKillPoints {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			res, err := runDeliverRound(ctx, deliverOptions{
				Dir:    t.TempDir(),
				KillAt: point,
				Exe:    os.Args[0],
				Args:   []string{"-test.run=^$"},
			})
			t.Log(res)
			if err != nil {
				t.Fatal(err)
			}
			if res.Placed != deliverNotices || res.Received != deliverNotices {
				t.Fatalf("placed %d, received %d; want %d each", res.Placed, res.Received, deliverNotices)
			}
		})
	}
}
