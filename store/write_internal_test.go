package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// On the embedded store writes to one database take turns (Store.write):
// every Store opened on the same database shares the turn, a write waits
// for it, and a write whose request ends while it waits writes nothing.
func TestEmbeddedWritesTakeTurns(t *testing.T) {
	t.Parallel()
	emb, err := StartEmbedded(t.TempDir(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Stop)
	ctx := context.Background()
	open := func(db string) *Store {
		s, err := Open(ctx, emb.URI(), db, emb)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	}
	a, b, other := open("turns"), open("turns"), open("turns_other")
	if a.writer == nil || a.writer != b.writer || a.writer == other.writer {
		t.Fatal("stores on one database must share one turn, and only they")
	}
	if err := a.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}

	a.writer <- struct{}{} // someone is writing
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = b.insert(short, colAuditLog, auditDoc{ID: "waited"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("insert while the turn is taken: %v; want the deadline", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.insert(ctx, colAuditLog, auditDoc{ID: "queued"}) }()
	select {
	case err := <-done:
		t.Fatalf("insert finished while the turn was taken: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	<-a.writer // the turn is free
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n, err := a.c(colAuditLog).CountDocuments(ctx, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("audit records = %d, want 1 (only the queued insert)", n)
	}
	// MongoDB has no turn to take.
	if (&Store{}).write(ctx, func() error { return nil }) != nil {
		t.Fatal("write without a turn failed")
	}
}

// Data from before the queue of pending records existed gets its pending
// records queued when the schema is ensured.
func TestSchemaQueuesPendingRecordsOfOlderData(t *testing.T) {
	t.Parallel()
	emb, err := StartEmbedded(t.TempDir(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Stop)
	ctx := context.Background()
	s, err := Open(ctx, emb.URI(), "queue", emb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for id, state := range map[string]models.RecordState{
		"p1": models.RecordPending,
		"p2": models.RecordPending,
		"a1": models.RecordApproved,
	} {
		if err := s.InsertRecord(ctx, models.ServiceRecord{
			ID:          id,
			CommunityID: "A",
			ResidentID:  "r1",
			State:       state,
			Start:       at,
			End:         at.Add(time.Hour),
			Created:     at,
		}); err != nil {
			t.Fatal(err)
		}
	}
	queued := func() []string {
		var out []string
		if err := s.EachQueuedRecord(ctx, func(q models.QueuedRecord) error { out = append(out, q.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	if q := queued(); len(q) != 0 {
		t.Fatalf("queue = %v before any backfill", q)
	}
	if err := s.c(colRecordQueue).Drop(ctx); err != nil { // as before the queue existed
		t.Fatal(err)
	}
	for range 2 {
		if err := s.EnsureSchema(ctx); err != nil {
			t.Fatal(err)
		}
		if q := queued(); !slices.Equal(q, []string{"p1", "p2"}) {
			t.Fatalf("queue = %v; want the two pending records", q)
		}
	}
}
