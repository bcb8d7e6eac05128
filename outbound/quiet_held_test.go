package outbound_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
	"github.com/linli-community/linli/store/storetest"
)

// In quiet hours a pass holds what is not urgent, and the next passes
// read past what it held: more than a thousand held notices (one pass's
// worth) no longer keep the notices queued behind them out of the
// residents' inboxes until the morning, and a held item is not written
// and placed again every pass. When the quiet hours end, every one of
// them is sent, once.
func TestQuietHoursHeldItemsDoNotHoldUpTheNoticesBehindThem(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)} // 23:00 in Shanghai
	st := storetest.New(t)
	b := inbox.New(st, c.now)
	ctx := context.Background()
	notice := func(event string) models.Notice {
		return models.Notice{
			Kind:        models.NoticePointsAwarded,
			EventID:     event,
			Recipient:   "r-" + event,
			CommunityID: "c1",
			Args:        map[string]string{"points": "30", "reason": "楼道清扫"},
		}
	}
	const evening = 1005
	for i := range evening {
		if err := b.Queue(ctx, notice(fmt.Sprintf("op-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	rc := newReceiver(t)
	d := outbound.NewDeliverer(st, b, []outbound.Sender{webhook("webhook", rc, c, 30*time.Second)}, nightOptions(), c.now, quiet)
	pass := func() outbound.Counts {
		t.Helper()
		n, err := d.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.add(time.Minute)
		return n
	}
	if n := pass(); n.Queued != 1000 || n.Held != 1000 {
		t.Fatalf("first pass: %+v; want 1000 written and held", n)
	}
	if n := pass(); n.Queued != evening-1000 || n.Held != evening-1000 {
		t.Fatalf("second pass: %+v; want the %d behind the first thousand, not the first thousand again", n, evening-1000)
	}
	late := notice("op-late")
	if err := b.Queue(ctx, late); err != nil {
		t.Fatal(err)
	}
	if n := pass(); n.Queued != 1 || n.Held != 1 {
		t.Fatalf("third pass: %+v; want only the late notice", n)
	}
	for _, event := range []string{"op-0000", "op-1004", "op-late"} {
		n := notice(event)
		page, err := b.List(ctx, models.Principal{
			ResidentID:  n.Recipient,
			CommunityID: "c1",
			Roles:       []models.Role{models.RoleResident},
		}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Notifications) != 1 || page.Notifications[0].EventID != event {
			t.Fatalf("%s's inbox in quiet hours: %+v; want its notification", n.Recipient, page.Notifications)
		}
	}
	if got, _ := rc.snapshot(); len(got) != 0 {
		t.Fatalf("%d sent in quiet hours; want none", len(got))
	}
	c.add(9 * time.Hour) // past 08:00
	drain(t, d, st, c, 5)
	got, _ := rc.snapshot()
	if len(got) != evening+1 {
		t.Fatalf("%d notifications sent after the quiet hours; want %d", len(got), evening+1)
	}
	for id, times := range got {
		if times != 1 {
			t.Fatalf("%s sent %d times", id, times)
		}
	}
}
