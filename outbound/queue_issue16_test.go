package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
	"github.com/linli-community/linli/store/storetest"
)

// TestIssue16_Perf_QueuedNoticeIsWrittenPlacedAndSentByTheLoop: a request
// tells someone with one insert (32 repeats at once: one queue item, no
// notification yet); a notice queued by a request that then died is not
// dropped however old it gets: the delivery loop's pass writes its
// notification from the item, places it once, sends it once and empties
// the queue. A later repeat of the cause (after delivery) writes nothing
// new and sends nothing again.
func TestIssue16_Perf_QueuedNoticeIsWrittenPlacedAndSentByTheLoop(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	st := storetest.New(t)
	b := inbox.New(st, c.now)
	ctx := context.Background()
	notice := models.Notice{
		Kind:        models.NoticePointsAwarded,
		EventID:     "op-award-1",
		Recipient:   "r1",
		CommunityID: "c1",
		Args:        map[string]string{"points": "30", "reason": "楼道清扫"},
	}
	errs := atonce.Errors(32, func(int) error { return b.Queue(ctx, notice) })
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	counted, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counted["notify_queue"] != 1 || counted["notifications"] != 0 || counted["inbox_entries"] != 0 {
		t.Fatalf("after 32 requests: %v; want one queue item and nothing else", counted)
	}
	// The request died long ago; the item is still all there is.
	c.add(3 * time.Hour)
	rc := newReceiver(t)
	d := outbound.NewDeliverer(st, b, []outbound.Sender{webhook("webhook", rc, c, 5*time.Second)}, options(3), c.now, quiet)
	got, err := d.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dropped != 0 || got.Sent != 1 || got.Done != 1 {
		t.Fatalf("pass %+v: want the notice written and sent, nothing dropped", got)
	}
	id := models.NotificationID(notice.Kind, notice.EventID, notice.Recipient)
	placed, err := st.InboxEntry(ctx, "r1", 1)
	if err != nil || placed.ID != id || placed.Title == "" {
		t.Fatalf("inbox position 1: %+v %v", placed, err)
	}
	if want := c.now().Add(-3 * time.Hour); !placed.Created.Equal(want) {
		t.Errorf("created %s, want when it was queued, %s", placed.Created, want)
	}
	// The cause repeated after delivery: queued again, written and sent
	// nothing new.
	if err := b.Queue(ctx, notice); err != nil {
		t.Fatal(err)
	}
	drain(t, d, st, c, 3)
	counted, err = st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counted["notifications"] != 1 || counted["inbox_entries"] != 1 || counted["notify_queue"] != 0 {
		t.Fatalf("after the repeat: %v; want one notification at one position, the queue empty", counted)
	}
	if sent, _ := rc.snapshot(); sent[id] != 1 || len(sent) != 1 {
		t.Fatalf("sent %v, want %s once", sent, id)
	}
}

// TestIssue16_Perf_TurnedOffNoticeLeavesTheQueue: a queued notice whose
// recipient turned the category off is written nowhere and leaves the
// queue on the next pass.
func TestIssue16_Perf_TurnedOffNoticeLeavesTheQueue(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	st := storetest.New(t)
	b := inbox.New(st, c.now)
	ctx := context.Background()
	me := models.Principal{
		ResidentID:  "r1",
		CommunityID: "c1",
		Roles:       []models.Role{models.RoleResident},
	}
	if _, err := b.SetPreferences(ctx, me, "", map[string]bool{"hours": false}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		err := b.Queue(ctx, models.Notice{
			Kind:        models.NoticeHoursApproved,
			EventID:     fmt.Sprintf("rec%d", i),
			Recipient:   "r1",
			CommunityID: "c1",
			Args: map[string]string{
				"activity": "助老",
				"minutes":  "60",
				"points":   "10",
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	d := outbound.NewDeliverer(st, b, nil, options(3), c.now, quiet)
	got, err := d.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counted, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dropped != 3 || counted["notify_queue"] != 0 || counted["notifications"] != 0 {
		t.Fatalf("pass %+v, counts %v: want three dropped, nothing written", got, counted)
	}
}
