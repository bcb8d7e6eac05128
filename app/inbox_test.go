package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
)

type inboxPage struct {
	Notifications []struct {
		ID      string `json:"id"`
		EventID string `json:"event_id"`
		Read    bool   `json:"read"`
		Title   string `json:"title"`
		Link    string `json:"link"`
	} `json:"notifications"`
	Next string `json:"next"`
}

// TestIssue16_2_InboxOverHTTP: a resident pages through her inbox (unread
// first, with next), counts and marks what she read, and cannot reach
// another's notification; her preferences refuse turning money off.
func TestIssue16_2_InboxOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	elderID := w.ids[phoneElderA]
	elder, son := w.login(phoneElderA), w.login(phoneSonA)
	// What the demo's seeding told her is read: only this test's are new.
	if r := w.call("POST", "/api/v1/me/notifications/read-all", elder, nil); r.Status != 200 {
		t.Fatalf("read all: %d %s", r.Status, r.Body)
	}
	var ids []string
	for i := range 5 {
		n, err := w.sys.inbox.Notify(ctx, models.Notice{
			Kind:        models.NoticeRedemptionDone,
			EventID:     fmt.Sprintf("red%d", i),
			Recipient:   elderID,
			CommunityID: w.communityA(),
			Args:        map[string]string{"reward": "停车减免", "points": "50"},
			Link:        fmt.Sprintf("/redemptions/red%d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	if r := w.call("POST", "/api/v1/me/notifications/"+url.PathEscape(ids[0])+"/read", elder, nil); r.Status != 200 {
		t.Fatalf("read: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/me/notifications/"+url.PathEscape(ids[1])+"/read", son, nil); r.Status != 404 || r.code() != "NOT_FOUND" {
		t.Fatalf("another's notification: %d %s", r.Status, r.Body)
	}
	var count struct {
		Unread int `json:"unread"`
	}
	w.call("GET", "/api/v1/me/notifications/unread-count", elder, nil).decode(t, &count)
	if count.Unread != 4 {
		t.Fatalf("unread %d, want 4", count.Unread)
	}
	var seen []string
	for after, pages := "", 0; ; pages++ {
		var page inboxPage
		r := w.call("GET", "/api/v1/me/notifications?limit=2&after="+after, elder, nil)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		r.decode(t, &page)
		for _, n := range page.Notifications {
			if strings.HasPrefix(n.EventID, "red") {
				seen = append(seen, fmt.Sprintf("%s/%v", n.EventID, n.Read))
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if want := "[red4/false red3/false red2/false red1/false red0/true]"; fmt.Sprint(seen) != want {
		t.Fatalf("listing %v, want %s", seen, want)
	}
	if r := w.call("GET", "/api/v1/me/notifications?after=zz", elder, nil); r.Status != 400 {
		t.Fatalf("bad cursor: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/me/notifications/read-all", elder, nil); r.Status != 200 {
		t.Fatalf("read all: %d %s", r.Status, r.Body)
	}
	w.call("GET", "/api/v1/me/notifications/unread-count", elder, nil).decode(t, &count)
	if count.Unread != 0 {
		t.Fatalf("unread after all read %d", count.Unread)
	}

	r := w.call("PUT", "/api/v1/me/notification-preferences", elder, map[string]any{"categories": map[string]bool{"rewards": false}})
	if r.Status != 422 || r.code() != "NOTICE_CATEGORY_LOCKED" || !strings.Contains(string(r.Body), "不能关闭：兑换") {
		t.Fatalf("turning rewards off: %d %s", r.Status, r.Body)
	}
	r = w.call("PUT", "/api/v1/me/notification-preferences", elder, map[string]any{"categories": map[string]bool{"honour": false}},
		"Accept-Language", "en")
	if r.Status != 422 || !strings.Contains(string(r.Body), "cannot be turned off: honour") {
		t.Fatalf("turning honour off, in English: %d %s", r.Status, r.Body)
	}
	r = w.call("PUT", "/api/v1/me/notification-preferences", elder, map[string]any{"language": "en", "categories": map[string]bool{"family": false}})
	if r.Status != 200 {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	var prefs struct {
		Language   string `json:"language"`
		Categories []struct {
			Category string `json:"category"`
			Enabled  bool   `json:"enabled"`
			Locked   bool   `json:"locked"`
		} `json:"categories"`
	}
	w.call("GET", "/api/v1/me/notification-preferences", elder, nil).decode(t, &prefs)
	off := map[string]bool{}
	for _, c := range prefs.Categories {
		off[c.Category] = !c.Enabled
	}
	if prefs.Language != "en" || !off["family"] || off["hours"] || len(prefs.Categories) != len(models.NoticeCategories) {
		t.Fatalf("preferences %+v", prefs)
	}
	n, err := w.sys.inbox.Notify(ctx, models.Notice{
		Kind:      models.NoticeListed,
		EventID:   "entry1",
		Recipient: elderID,
		Args:      map[string]string{"points": "100"},
	})
	if err != nil || n.Title != "You are on the honour roll" {
		t.Fatalf("after choosing English: %q %v", n.Title, err)
	}
}

// TestIssue16_5_DeadLettersOverHTTP: staff see their community's dead
// letters and retry one (queued again, once); another community's staff
// and residents cannot.
func TestIssue16_5_DeadLettersOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	elderID := w.ids[phoneElderA]
	n, err := w.sys.inbox.Notify(ctx, models.Notice{
		Kind:        models.NoticeStatementReady,
		EventID:     "st1",
		Recipient:   elderID,
		CommunityID: w.communityA(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.sys.store.DequeueNotification(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	dl := outbound.DeadLetter{
		ID:          outbound.DeadLetterID("webhook", n.ID, 1),
		Sender:      "webhook",
		MessageID:   n.ID,
		CommunityID: w.communityA(),
		Recipient:   elderID,
		Kind:        string(n.Kind),
		Generation:  1,
		Attempts:    8,
		Error:       "status 500",
		At:          time.Now().UTC(),
	}
	if err := w.sys.store.InsertDeadLetter(ctx, dl); err != nil {
		t.Fatal(err)
	}
	staff, staffB, elder := w.login(phoneStaffA), w.login(phoneStaffB), w.login(phoneElderA)
	var list struct {
		DeadLetters []struct {
			ID        string `json:"id"`
			MessageID string `json:"message_id"`
		} `json:"dead_letters"`
	}
	w.call("GET", "/api/v1/deliveries/dead-letters", staff, nil).decode(t, &list)
	if len(list.DeadLetters) != 1 || list.DeadLetters[0].MessageID != n.ID {
		t.Fatalf("dead letters %+v", list)
	}
	w.call("GET", "/api/v1/deliveries/dead-letters", staffB, nil).decode(t, &list)
	if len(list.DeadLetters) != 0 {
		t.Fatalf("another community's staff see %+v", list)
	}
	if r := w.call("GET", "/api/v1/deliveries/dead-letters", elder, nil); r.Status != 403 {
		t.Fatalf("resident: %d", r.Status)
	}
	if r := w.call("POST", "/api/v1/deliveries/dead-letters/"+dl.ID+"/retry", staffB, nil); r.Status != 404 {
		t.Fatalf("another community's staff retry: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/deliveries/dead-letters/"+dl.ID+"/retry", staff, nil); r.Status != 202 {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/deliveries/dead-letters/"+dl.ID+"/retry", staff, nil); r.Status != 404 {
		t.Fatalf("second retry: %d %s", r.Status, r.Body)
	}
	q, err := w.sys.store.QueuedNotifications(ctx, 1000, nil)
	queued := false
	for _, it := range q {
		queued = queued || it.ID == n.ID
	}
	if err != nil || !queued {
		t.Fatalf("not queued again after retry: %+v %v", q, err)
	}
	if ok, _ := w.sys.store.Revived(ctx, "webhook", n.ID, 1); !ok {
		t.Fatal("no revival mark")
	}
}

// TestIssue16_3_FailedJobTellsStaffOnce: a scheduled job's failure is told
// to the staff and admins of every community, once per job and period
// however many of its retries fail; residents are not told.
func TestIssue16_3_FailedJobTellsStaffOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	before := w.sys.store.CommandCounts().Scans
	atonce.Run(4, func(int) { w.sys.notifyJobFailed(ctx, "settlement", "2026-10") })
	// The staff and admins are read from the role lists; listing the
	// communities (a small collection: a page and the empty page after it)
	// is the only scan, two a run. Filtering each community's residents
	// made it four a run here.
	if scans := w.sys.store.CommandCounts().Scans - before; scans > 8 {
		t.Fatalf("four runs sent %d scans; want at most two each, listing the communities", scans)
	}
	for _, phone := range []string{phoneStaffA, phoneAdminA, phoneStaffB} {
		n, _, err := w.sys.store.Notification(ctx, models.NotificationID(models.NoticeJobFailed, "settlement:2026-10", w.ids[phone]))
		if err != nil || !n.Urgent {
			t.Fatalf("%s: %+v %v", phone, n, err)
		}
	}
	if _, _, err := w.sys.store.Notification(ctx, models.NotificationID(models.NoticeJobFailed, "settlement:2026-10", w.ids[phoneElderA])); err == nil {
		t.Fatal("a resident was told of a failed job")
	}
	var count struct {
		Unread int `json:"unread"`
	}
	w.call("GET", "/api/v1/me/notifications/unread-count", w.login(phoneStaffA), nil).decode(t, &count)
	if count.Unread != 1 {
		t.Fatalf("staff unread %d, want 1", count.Unread)
	}
}
