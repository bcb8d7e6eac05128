package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestIssue16_Perf_BackfillOnceEvenWhenTwoStartsRace: on an old store
// (redemptions stored before their lists, no done marks), two replicas
// starting at once both start up, and the redemptions are listed once
// each; a later start reads the done mark and scans nothing (a redemption
// stored without its slots after the mark stays unlisted).
func TestIssue16_Perf_BackfillOnceEvenWhenTwoStartsRace(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 20, func(i int) error {
		return s.insert(ctx, colRedemptions, toRedemptionDoc(testRedemption(fmt.Sprint("legacy", i), "r1", at), "h"))
	})
	forgetBackfills(t, s, "redemption-lists", "record-lists", "queue-lists", "audit-lists", "adjustment-lists")
	startAtOnce(t, 4, (*Store).listEverythingStoredBefore, s, other)
	got := walkResident(ctx, t, s, "r1", 7)
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s listed twice: %v", id, got)
		}
		seen[id] = true
	}
	if len(got) != 20 {
		t.Fatalf("listed %d of the 20 legacy redemptions", len(got))
	}
	// After the marks, a start scans nothing: a redemption without slots
	// stored now is not picked up.
	if err := s.insert(ctx, colRedemptions, toRedemptionDoc(testRedemption("late", "r1", at), "h")); err != nil {
		t.Fatal(err)
	}
	if err := other.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if got := walkResident(ctx, t, other, "r1", 50); len(got) != 20 {
		t.Fatalf("a later start listed again: %d redemptions", len(got))
	}
}
