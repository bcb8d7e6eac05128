package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// TestIssue16_3_MoreEventsNotifyOnceUnder32Repeats: hours corrected by
// staff (an accepted correction that changes the minutes), an honour
// nomination's public notice (公示) starting, and the nominee listed each
// write exactly one notification to the person concerned, however many of
// the cause's requests (32 at once, each with its own Idempotency-Key) or
// job runs arrive.
func TestIssue16_3_MoreEventsNotifyOnceUnder32Repeats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	staff, son := w.login(phoneStaffA), w.login(phoneSonA)
	sonID := w.ids[phoneSonA]
	var key atomic.Int64
	keyed := func(method, path, token string, body any) reply {
		t.Helper()
		return w.call(method, path, token, body, "Idempotency-Key", fmt.Sprintf("more-events-key-%04d", key.Add(1)))
	}

	// Hours corrected: 60 minutes approved, corrected to 45 by 32 staff
	// decisions at once.
	from := time.Now().Add(-30 * time.Hour).Truncate(time.Minute)
	r := keyed("POST", "/api/v1/service-records", son, map[string]any{
		"category":     "助老",
		"organisation": "居委会",
		"description":  "陪老人散步",
		"start":        from,
		"end":          from.Add(time.Hour),
	})
	if r.Status/100 != 2 {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	record := jsonField(t, r, "id")
	if r := keyed("POST", "/api/v1/service-records/"+record+"/approve", staff, map[string]any{}); r.Status/100 != 2 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := keyed("POST", "/api/v1/service-records/"+record+"/corrections", son, map[string]any{"minutes": 45, "reason": "提前离开"}); r.Status/100 != 2 {
		t.Fatalf("correction: %d %s", r.Status, r.Body)
	}
	atonce.Run(32, func(int) {
		keyed("POST", "/api/v1/service-records/"+record+"/corrections/1/decision", staff, map[string]any{"accept": true, "answer": "已核实"})
	})
	correction := "corr:" + record + ":1"
	if n := w.notices(sonID, models.NoticeHoursCorrected, correction); n != 1 {
		t.Errorf("hours corrected: %d notifications, want 1", n)
	}

	// A refused correction changes no hours: no hours-corrected notice.
	if r := keyed("POST", "/api/v1/service-records/"+record+"/corrections", son, map[string]any{"minutes": 30, "reason": "再改"}); r.Status/100 != 2 {
		t.Fatalf("second correction: %d %s", r.Status, r.Body)
	}
	if r := keyed("POST", "/api/v1/service-records/"+record+"/corrections/2/decision", staff, map[string]any{"accept": false, "answer": "不符"}); r.Status/100 != 2 {
		t.Fatalf("refusal: %d %s", r.Status, r.Body)
	}
	if n := w.notices(sonID, models.NoticeHoursCorrected, "corr:"+record+":2"); n != 0 {
		t.Errorf("refused correction: %d hours-corrected notifications, want 0", n)
	}

	// A nomination by 32 requests at once (8 keys): its notice period starts
	// with it, told once.
	entry := w.nominateAtOnce(staff, sonID, "more-nominate", 8)
	if n := w.notices(sonID, models.NoticeNoticeStarted, entry+":notice"); n != 1 {
		t.Errorf("notice started: %d notifications, want 1", n)
	}

	// Listed by 32 runs of the listing job at once, after the notice ends.
	e, err := w.sys.honour.Entry(ctx, models.Principal{
		ResidentID:  w.ids[phoneStaffA],
		CommunityID: w.communityA(),
		Roles:       []models.Role{models.RoleStaff},
	}, entry)
	if err != nil {
		t.Fatal(err)
	}
	atonce.Run(32, func(int) { _, _, _, _ = w.sys.honour.ListDue(ctx, e.NoticeEnds.Add(time.Hour)) })
	if n := w.notices(sonID, models.NoticeListed, entry+":listed"); n != 1 {
		t.Errorf("listed: %d notifications, want 1", n)
	}
}
