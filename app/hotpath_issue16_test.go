package main

import (
	"context"
	"testing"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// TestIssue16_Perf_AwardQueuesOneDocumentAndTheSweepTellsAfterACrash: a
// staff award writes one document for its notice (the queue item), none
// of the notification, its inbox position or its delivery records; the
// delivery loop's pass writes and places it. An award whose request died
// after its entry and before its notice (its entry posted, nothing
// queued) is told by the notices sweep, once: a second sweep queues
// nothing, and neither re-queues an award already told.
func TestIssue16_Perf_AwardQueuesOneDocumentAndTheSweepTellsAfterACrash(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	staff := w.login(phoneStaffA)
	sonID := w.ids[phoneSonA]
	// What the demo's seeding queued is written and sent first.
	if _, err := w.sys.deliverer.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	// Its first run notes where each list ends: the seeded history is
	// not told again.
	sweep := awardNoticeSweep{w.sys}
	if queued, err := sweep.SweepAwardNotices(ctx); err != nil || queued != 0 {
		t.Fatalf("first sweep queued %d (%v), want 0", queued, err)
	}
	if _, err := w.sys.deliverer.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := w.sys.store.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(25, "award"), "Idempotency-Key", "hot-award-1")
	if r.Status != 201 && r.Status != 200 {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	after, err := w.sys.store.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for col, want := range map[string]int64{
		"notify_queue":  1,
		"notifications": 0,
		"inbox_entries": 0,
		"deliveries":    0,
	} {
		if got := after[col] - before[col]; got != want {
			t.Errorf("the award wrote %d documents to %s, want %d", got, col, want)
		}
	}
	_, seq := w.points(sonID)
	awarded := models.AccountOf(sonID, models.AssetPoints).EntryID(seq)
	if n := w.notices(sonID, models.NoticePointsAwarded, awarded); n != 1 {
		t.Fatalf("after the pass: %d notifications of the award, want 1", n)
	}

	// The crash: the award's entry is posted as the request posts it, and
	// the process dies before the notice is queued.
	e, err := w.sys.ledger.Post(ctx, ledger.Posting{
		OpID:           "adj:crashed-award",
		Hash:           "crashed-award",
		Account:        models.AccountOf(sonID, models.AssetPoints),
		CommunityID:    w.communityA(),
		Delta:          40,
		Kind:           models.KindAward,
		Ref:            "志愿服务",
		Reason:         "楼道清扫",
		IdempotencyKey: "crashed-award",
		PolicyVersion:  1,
		Actor:          w.ids[phoneStaffA],
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := w.notices(sonID, models.NoticePointsAwarded, e.ID()); n != 0 {
		t.Fatalf("before the sweep: %d notifications of the crashed award", n)
	}
	queued, err := sweep.SweepAwardNotices(ctx)
	if err != nil || queued != 1 {
		t.Fatalf("sweep queued %d (%v), want only the crashed award's notice", queued, err)
	}
	if n := w.notices(sonID, models.NoticePointsAwarded, e.ID()); n != 1 {
		t.Fatalf("after the sweep: %d notifications of the crashed award, want 1", n)
	}
	if queued, err := sweep.SweepAwardNotices(ctx); err != nil || queued != 0 {
		t.Fatalf("second sweep queued %d (%v), want 0", queued, err)
	}
	if n := w.notices(sonID, models.NoticePointsAwarded, awarded); n != 1 {
		t.Fatalf("the first award: %d notifications, want 1", n)
	}
}
