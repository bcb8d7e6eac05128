package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
	"github.com/linli-community/linli/store/storetest"
)

// TestIssue16_Reminders_BatchItemLeavesTheQueueWhenAllItsNoticesAreDone:
// a job's ten notices queued as one batch item (queued again: still one)
// wait out quiet hours as that one item; then a pass writes, places and
// sends them, and the one its receiver refused goes back on the queue on
// its own while the batch item leaves; the next pass sends it. Each
// notice is placed once and received once, and the same batch queued
// again after delivery writes and sends nothing new.
func TestIssue16_Reminders_BatchItemLeavesTheQueueWhenAllItsNoticesAreDone(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	st := storetest.New(t)
	b := inbox.New(st, c.now)
	ctx := context.Background()
	var batch []models.Notice
	for i := range 10 {
		batch = append(batch, models.Notice{
			Kind:        models.NoticePointsExpiring30,
			EventID:     "2026-12",
			Recipient:   fmt.Sprintf("r%d", i),
			CommunityID: "c1",
			Args:        map[string]string{"points": "80", "date": "2026-12-31"},
			Link:        "/me/points",
		})
	}
	if err := st.QueueNoticeBatch(ctx, batch, c.now()); err != nil {
		t.Fatal(err)
	}
	if err := st.QueueNoticeBatch(ctx, batch, c.now()); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("the same batch queued again: %v, want a conflict", err)
	}
	queue := func() []outbound.Queued {
		t.Helper()
		q, err := st.QueuedNotifications(ctx, 1000, nil)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	if q := queue(); len(q) != 10 || q[0].Item == q[0].ID || q[0].Item != q[9].Item {
		t.Fatalf("queued %+v: want the ten notices of one batch item", q)
	}
	if counted := counts(t, st); counted["notify_queue"] != 1 {
		t.Fatalf("counts %v: want one queue document", counted)
	}

	refused := models.NotificationID(batch[3].Kind, batch[3].EventID, batch[3].Recipient)
	rc := newReceiver(t)
	var mu sync.Mutex
	refusedOnce := false
	rc.before = func(w http.ResponseWriter, r *http.Request, id string) bool {
		mu.Lock()
		defer mu.Unlock()
		if id == refused && !refusedOnce {
			refusedOnce = true
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return false
		}
		return true
	}
	senders := []outbound.Sender{webhook("webhook", rc, c, 5*time.Second)}

	night := options(3)
	night.Quiet = func(time.Time) bool { return true }
	held, err := outbound.NewDeliverer(st, b, senders, night, c.now, quiet).Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counted := counts(t, st); held.Held != 10 || counted["notify_queue"] != 1 {
		t.Fatalf("quiet hours: pass %+v, counts %v; want all ten held in the one batch item", held, counted)
	}

	d := outbound.NewDeliverer(st, b, senders, options(3), c.now, quiet)
	got, err := d.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := queue()
	if got.Sent != 9 || got.Failed != 1 || len(q) != 1 || q[0].ID != refused || q[0].Item != refused || q[0].Notice == nil {
		t.Fatalf("pass %+v, queue %+v: want nine sent and the refused one queued on its own", got, q)
	}
	c.add(2 * time.Minute) // past its back-off
	drain(t, d, st, c, 3)

	// The job run again after delivery: the same batch, nothing new.
	if err := st.QueueNoticeBatch(ctx, batch, c.now()); err != nil {
		t.Fatal(err)
	}
	drain(t, d, st, c, 3)
	if counted := counts(t, st); counted["notifications"] != 10 || counted["inbox_entries"] != 10 || counted["notify_queue"] != 0 {
		t.Fatalf("counts %v: want ten notifications at ten positions, the queue empty", counted)
	}
	for i, n := range batch {
		id := models.NotificationID(n.Kind, n.EventID, n.Recipient)
		if e, err := st.InboxEntry(ctx, fmt.Sprintf("r%d", i), 1); err != nil || e.ID != id {
			t.Errorf("r%d position 1: %s %v, want %s", i, e.ID, err, id)
		}
	}
	got2, _ := rc.snapshot()
	if len(got2) != 10 {
		t.Fatalf("received %d message ids, want 10", len(got2))
	}
	for id, n := range got2 {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
}

// counts is the number of documents in each collection.
func counts(t *testing.T, st interface {
	Counts(context.Context) (map[string]int64, error)
}) map[string]int64 {
	t.Helper()
	c, err := st.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
