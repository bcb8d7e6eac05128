package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func newInbox(t *testing.T) (*inbox.Inbox, *store.Store) {
	t.Helper()
	st := storetest.New(t)
	return inbox.New(st, func() time.Time { return t0 }), st
}

func approved(recipient, record string) models.Notice {
	return models.Notice{
		Kind:        models.NoticeHoursApproved,
		EventID:     record,
		Recipient:   recipient,
		CommunityID: "c1",
		Args: map[string]string{
			"activity": "垃圾分类宣传",
			"minutes":  "90",
			"points":   "15",
		},
		Link: "/records/" + record,
	}
}

func resident(id string) models.Principal {
	return models.Principal{
		ResidentID:  id,
		CommunityID: "c1",
		Roles:       []models.Role{models.RoleResident},
	}
}

// holdsEachOnce fails t unless recipient's inbox holds n notifications at
// positions 1 to n, each once, and nothing after.
func holdsEachOnce(t *testing.T, st *store.Store, recipient string, n int64) {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	for seq := int64(1); seq <= n; seq++ {
		note, err := st.InboxEntry(ctx, recipient, seq)
		if err != nil {
			t.Fatalf("position %d: %v", seq, err)
		}
		if seen[note.ID] {
			t.Fatalf("%s placed twice", note.ID)
		}
		seen[note.ID] = true
	}
	if _, err := st.InboxEntry(ctx, recipient, n+1); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("position %d: %v, want none", n+1, err)
	}
}

func counts(t *testing.T, st *store.Store) map[string]int64 {
	t.Helper()
	c, err := st.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIssue16_1_ThirtyTwoRepeatsWriteOneNotification: 32 concurrent
// repeats of one cause write one notification, at one inbox position, and
// queue it once.
func TestIssue16_1_ThirtyTwoRepeatsWriteOneNotification(t *testing.T) {
	t.Parallel()
	b, st := newInbox(t)
	ctx := context.Background()
	got := make([]models.Notification, 32)
	errs := make([]error, 32)
	atonce.Run(32, func(i int) { got[i], errs[i] = b.Notify(ctx, approved("r1", "rec1")) })
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("repeat %d: %v", i, errs[i])
		}
		if got[i].ID != got[0].ID || got[i].Seq != 1 {
			t.Fatalf("repeat %d: %s at %d, want %s at 1", i, got[i].ID, got[i].Seq, got[0].ID)
		}
	}
	c := counts(t, st)
	if c["notifications"] != 1 || c["inbox_entries"] != 1 || c["notify_queue"] != 1 {
		t.Fatalf("notifications %d, inbox entries %d, queued %d; want 1, 1, 1", c["notifications"], c["inbox_entries"], c["notify_queue"])
	}
	if got[0].ID != models.NotificationID(models.NoticeHoursApproved, "rec1", "r1") {
		t.Errorf("id %s is not derived from the event", got[0].ID)
	}
	if got[0].Title != "志愿时长已通过" || got[0].Link != "/records/rec1" || got[0].Category != models.CategoryHours {
		t.Errorf("notification %+v", got[0])
	}
}

// TestIssue16_1_ManyEventsAtOnceFillTheInboxWithoutGaps: 32 different
// events for one recipient at once, each repeated twice, take positions
// 1..32, each exactly once.
func TestIssue16_1_ManyEventsAtOnceFillTheInboxWithoutGaps(t *testing.T) {
	t.Parallel()
	b, st := newInbox(t)
	ctx := context.Background()
	errs := make([]error, 64)
	atonce.Run(64, func(i int) { _, errs[i] = b.Notify(ctx, approved("r1", fmt.Sprintf("rec%d", i%32))) })
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	holdsEachOnce(t, st, "r1", 32)
	if c := counts(t, st); c["notifications"] != 32 {
		t.Fatalf("%d notifications, want 32", c["notifications"])
	}
}

// TestIssue16_1_WriterDiedBeforePlacingIsPlacedOnce: a notification
// written by a request that died before placing it is placed by the next
// finisher (the delivery loop's Place, or a repeat of the cause), once.
func TestIssue16_1_WriterDiedBeforePlacingIsPlacedOnce(t *testing.T) {
	t.Parallel()
	b, st := newInbox(t)
	ctx := context.Background()
	n := models.Notification{
		ID:        models.NotificationID(models.NoticeListed, "e1", "r1"),
		Recipient: "r1",
		Kind:      models.NoticeListed,
		Category:  models.CategoryHonour,
		EventID:   "e1",
		Created:   t0,
	}
	if err := st.InsertNotification(ctx, n, 0); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 8)
	atonce.Run(8, func(i int) {
		if i%2 == 0 {
			_, errs[i] = b.Place(ctx, n.ID)
		} else {
			_, errs[i] = b.Notify(ctx, models.Notice{
				Kind:      models.NoticeListed,
				EventID:   "e1",
				Recipient: "r1",
			})
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, st); c["inbox_entries"] != 1 {
		t.Fatalf("%d inbox entries, want 1", c["inbox_entries"])
	}
}

// TestIssue16_1_RecipientsLanguage: a resident who reads English gets
// the notification in English; Chinese is the default.
func TestIssue16_1_RecipientsLanguage(t *testing.T) {
	t.Parallel()
	b, _ := newInbox(t)
	ctx := context.Background()
	if _, err := b.SetPreferences(ctx, resident("r2"), "en", nil); err != nil {
		t.Fatal(err)
	}
	zh, err := b.Notify(ctx, approved("r1", "rec1"))
	if err != nil {
		t.Fatal(err)
	}
	en, err := b.Notify(ctx, approved("r2", "rec2"))
	if err != nil {
		t.Fatal(err)
	}
	if zh.Language != models.LangZh || zh.Body != "您在“垃圾分类宣传”的 90 分钟志愿服务已审核通过，获得 15 积分。" {
		t.Errorf("zh: %s %q", zh.Language, zh.Body)
	}
	if en.Language != models.LangEn || en.Title != "Volunteer hours approved" {
		t.Errorf("en: %s %q", en.Language, en.Title)
	}
}

// TestIssue16_2_TurnedOffCategoryIsNotWrittenAndLockedOnesStayOn: hours
// may be turned off (then nothing is written); points and the honour roll
// may not (422 NOTICE_CATEGORY_LOCKED, nothing saved).
func TestIssue16_2_TurnedOffCategoryIsNotWrittenAndLockedOnesStayOn(t *testing.T) {
	t.Parallel()
	b, st := newInbox(t)
	ctx := context.Background()
	p := resident("r1")
	_, err := b.SetPreferences(ctx, p, "", map[string]bool{
		"points": false,
		"honour": false,
		"family": false,
	})
	if !errors.Is(err, models.ErrCategoryLocked) {
		t.Fatalf("turning points off: %v, want NOTICE_CATEGORY_LOCKED", err)
	}
	var me *models.Error
	if !errors.As(err, &me) || me.LocalDetail(true) != "涉及积分、兑换、结算（钱款）和诚信红榜的通知不能关闭：积分、诚信红榜。" {
		t.Errorf("detail %q", me.LocalDetail(true))
	}
	if prefs, _ := b.Preferences(ctx, p); !prefs.Categories[5].Enabled {
		t.Fatalf("a refused save turned family off: %+v", prefs)
	}
	if _, err := b.SetPreferences(ctx, p, "", map[string]bool{"hours": false, "points": true}); err != nil {
		t.Fatal(err)
	}
	n, err := b.Notify(ctx, approved("r1", "rec1"))
	if err != nil || n.ID != "" {
		t.Fatalf("hours turned off: %+v %v, want nothing", n, err)
	}
	if _, err := b.Notify(ctx, models.Notice{
		Kind:      models.NoticePointsAwarded,
		EventID:   "op1",
		Recipient: "r1",
	}); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, st); c["notifications"] != 1 {
		t.Fatalf("%d notifications, want only the points one", c["notifications"])
	}
	if _, err := b.SetPreferences(ctx, p, "", map[string]bool{"weather": false}); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("unknown category: %v", err)
	}
}

// TestIssue16_2_ReadMarksNeverChangeTheNotification: reading one, then
// all, is marks beside the notifications; the unread count and the
// listing (unread first) follow them.
func TestIssue16_2_ReadMarksNeverChangeTheNotification(t *testing.T) {
	t.Parallel()
	b, st := newInbox(t)
	ctx := context.Background()
	p := resident("r1")
	var ids []string
	for i := range 5 {
		n, err := b.Notify(ctx, approved("r1", fmt.Sprintf("rec%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	before, _, err := st.Notification(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 8)
	atonce.Run(8, func(i int) { _, errs[i] = b.MarkRead(ctx, p, ids[1]) })
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	after, _, _ := st.Notification(ctx, ids[1])
	if before != after {
		t.Fatalf("the notification changed when read: %+v → %+v", before, after)
	}
	if u, _ := b.UnreadCount(ctx, p); u.Count != 4 || u.AtLeast {
		t.Fatalf("unread %+v, want 4", u)
	}
	page, err := b.List(ctx, p, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for {
		for _, n := range page.Notifications {
			order = append(order, fmt.Sprintf("%s/%v", n.EventID, n.Read))
		}
		if page.Next == "" {
			break
		}
		if page, err = b.List(ctx, p, page.Next, 3); err != nil {
			t.Fatal(err)
		}
	}
	want := "[rec4/false rec3/false rec2/false rec0/false rec1/true]"
	if fmt.Sprint(order) != want {
		t.Fatalf("listing %v, want %s", order, want)
	}
	if _, err := b.MarkRead(ctx, resident("r2"), ids[2]); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another's notification: %v, want NOT_FOUND", err)
	}
	if _, err := b.MarkAllRead(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Notify(ctx, approved("r1", "rec9")); err != nil {
		t.Fatal(err)
	}
	if u, _ := b.UnreadCount(ctx, p); u.Count != 1 {
		t.Fatalf("unread after all read and one more: %+v, want 1", u)
	}
	if _, err := b.List(ctx, p, "x12", 3); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// TestIssue16_4_BatchedNotificationsOnceUnderRepeats: eight batches of
// the same 40 notices (two per recipient) written at once, beside single
// notifications, give each notice one notification at one position.
func TestIssue16_4_BatchedNotificationsOnceUnderRepeats(t *testing.T) {
	t.Parallel()
	b, st := newInbox(t)
	ctx := context.Background()
	var batch []models.Notice
	for i := range 40 {
		batch = append(batch, approved(fmt.Sprintf("r%d", i%20), fmt.Sprintf("rec%d", i)))
	}
	errs := make([]error, 12)
	atonce.Run(12, func(i int) {
		if i < 8 {
			_, errs[i] = b.NotifyMany(ctx, batch)
			return
		}
		_, errs[i] = b.Notify(ctx, batch[i])
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for r := range 20 {
		seen := map[string]bool{}
		for seq := int64(1); seq <= 2; seq++ {
			n, err := st.InboxEntry(ctx, fmt.Sprintf("r%d", r), seq)
			if err != nil || seen[n.ID] {
				t.Fatalf("r%d position %d: %s %v", r, seq, n.ID, err)
			}
			seen[n.ID] = true
		}
	}
	if c := counts(t, st); c["notifications"] != 40 || c["inbox_entries"] != 40 || c["notify_queue"] != 40 {
		t.Fatalf("counts %v: want 40 notifications, positions and queue items", c)
	}
}

// Two replicas (two Inboxes over one store) writing to one inbox at once,
// each starting from the length it last saw (a hint that the other's
// writes leave short), place every notification once, at positions 1 to
// n without a gap; a writer that has seen the inbox sends no read of its
// positions or its hint for the next notification.
func TestLengthHintsOfTwoReplicasPlaceEachNotificationOnce(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	replicas := []*inbox.Inbox{
		inbox.New(st, func() time.Time { return t0 }),
		inbox.New(st, func() time.Time { return t0 }),
	}
	write := func(replica int, record string) {
		t.Helper()
		if _, err := replicas[replica].Notify(ctx, approved("r1", record)); err != nil {
			t.Fatal(err)
		}
	}
	// Each replica learns the inbox, then the other writes past what it
	// saw.
	write(0, "a1")
	write(1, "b1")
	write(0, "a2")
	write(1, "b2")
	// A replica that saw the inbox reads only the notification (is it
	// written already?) and the recipient's preferences.
	before := st.CommandCounts().Finds
	write(1, "b3")
	if finds := st.CommandCounts().Finds - before; finds > 2 {
		t.Fatalf("a writer that saw the inbox sent %d finds; want 2 (the notification, the preferences), no position or hint", finds)
	}
	errs := make([]error, 32)
	atonce.Run(32, func(i int) {
		_, errs[i] = replicas[i%2].Notify(ctx, approved("r1", fmt.Sprintf("c%d", i)))
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	const want = 5 + 32
	holdsEachOnce(t, st, "r1", want)
	// Each replica's reader sees every notification, whatever its hint.
	for i, b := range replicas {
		unread, err := b.UnreadCount(ctx, resident("r1"))
		if err != nil || unread.Count != want {
			t.Fatalf("replica %d counts %+v unread (%v); want %d", i, unread, err, want)
		}
	}
}
