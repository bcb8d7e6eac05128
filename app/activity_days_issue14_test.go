package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// --- issue 14: attendance per day for an activity of several days, and
// the activities list paged by cursor ---

// to moves the clock to at (the real clock runs on from there).
func (c *shiftedClock) to(at time.Time) { c.offset.Store(int64(time.Until(at))) }

// dayClock gives hh:mm on the local day that is days after the day the
// test began, in the world's zone: fixed, however the clock moves.
func dayClock(w *world) func(days, hour, minute int) time.Time {
	d := w.sys.now().In(w.sys.loc)
	return func(days, hour, minute int) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day()+days, hour, minute, 0, 0, w.sys.loc)
	}
}

// mustActivity creates an activity over HTTP as token and returns its id.
func mustActivity(t *testing.T, w *world, token, title string, start, end time.Time, maxMinutes int) string {
	t.Helper()
	r := w.call("POST", "/api/v1/activities", token, map[string]any{
		"title":        title,
		"category":     "环境",
		"place":        "小区中心花园",
		"start":        start,
		"end":          end,
		"capacity":     50,
		"max_minutes":  maxMinutes,
		"self_checkin": true,
	})
	if r.Status != 201 {
		t.Fatalf("create %s: %d %s", title, r.Status, r.Body)
	}
	var a struct{ ID string }
	r.decode(t, &a)
	return a.ID
}

// attendRecord is the service record a check-out answered with.
type attendRecord struct {
	Record struct {
		ID      string `json:"id"`
		Minutes int64  `json:"minutes"`
		State   string `json:"state"`
	} `json:"record"`
}

// attend records a check-in or check-out of resident at at, by the
// organiser token.
func attend(w *world, token, activity, resident, action string, at time.Time) reply {
	w.t.Helper()
	return w.call("POST", "/api/v1/activities/"+activity+"/attendance", token, map[string]any{
		"resident_id": resident,
		"action":      action,
		"at":          at,
	})
}

// checkinsJSON is the answer of GET /activities/{id}/checkins.
type checkinsJSON struct {
	Checkins []struct {
		ResidentID string `json:"resident_id"`
		Day        string `json:"day"`
	} `json:"checkins"`
	Days  []string `json:"days"`
	Today string   `json:"today"`
}

// hoursOf is resident's balance of hours (minutes).
func hoursOf(t *testing.T, w *world, resident string) int64 {
	t.Helper()
	b, err := w.sys.ledger.Balance(context.Background(), models.AccountOf(resident, models.AssetHours))
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
}

// Issue 14 (activities of several days): a three-day clean-up takes a
// check-in and a check-out from 王奶奶 on day 1 and on day 2, each its own
// service record under its own day's key, each credited once when
// approved; day 1's check-in and check-out cannot be repeated; the
// check-ins list says each one's day and filters by day. Without
// attendance per day the second day's check-in is ALREADY_CHECKED_IN.
func TestIssue14_ActivityDays_EachDayCheckedInAndCreditedOnce(t *testing.T) {
	t.Parallel()
	clock := &shiftedClock{}
	w := newWorldClock(t, testConfig(t), clock.now)
	localAt := dayClock(w)
	elder := w.ids[phoneElderA]
	day1 := localAt(3, 0, 0)
	id := mustActivity(t, w, w.login(phoneStaffA), "周末大扫除", localAt(3, 9, 0), localAt(5, 17, 0), 240)
	d1, d2, d3 := day1.Format(time.DateOnly), day1.AddDate(0, 0, 1).Format(time.DateOnly), day1.AddDate(0, 0, 2).Format(time.DateOnly)

	before := hoursOf(t, w, elder)
	records := []attendRecord{}
	for i, day := range []struct {
		in, out time.Time
	}{
		{localAt(3, 9, 0), localAt(3, 12, 0)},  // day 1: 180 minutes
		{localAt(4, 13, 0), localAt(4, 15, 0)}, // day 2: 120 minutes
	} {
		clock.to(day.out.Add(time.Hour))
		staff := w.login(phoneStaffA)
		if r := attend(w, staff, id, elder, "checkin", day.in); r.Status != 201 {
			t.Fatalf("day %d check-in: %d %s", i+1, r.Status, r.Body)
		}
		if r := attend(w, staff, id, elder, "checkin", day.in.Add(time.Minute)); r.code() != "ALREADY_CHECKED_IN" {
			t.Fatalf("day %d second check-in: %d %s", i+1, r.Status, r.Body)
		}
		r := attend(w, staff, id, elder, "checkout", day.out)
		if r.Status != 201 {
			t.Fatalf("day %d check-out: %d %s", i+1, r.Status, r.Body)
		}
		var rec attendRecord
		r.decode(t, &rec)
		records = append(records, rec)
		if r := attend(w, staff, id, elder, "checkout", day.out); r.code() != "ALREADY_CHECKED_OUT" {
			t.Fatalf("day %d second check-out: %d %s", i+1, r.Status, r.Body)
		}
	}
	if records[0].Record.ID != once.AttendanceRecord(id, elder, 0) || records[1].Record.ID != once.AttendanceRecordOn(id, elder, d2, 0) {
		t.Fatalf("records %q and %q: want day 1's single-day id and day 2's dated id", records[0].Record.ID, records[1].Record.ID)
	}
	if records[0].Record.Minutes != 180 || records[1].Record.Minutes != 120 {
		t.Fatalf("minutes %d and %d, want 180 and 120", records[0].Record.Minutes, records[1].Record.Minutes)
	}

	// 张阿姨 keeps the night watch of day 1, 20:00 to 01:00: her check-out
	// after midnight closes day 1's check-in, under day 1's key.
	staff := w.login(phoneStaffA)
	head := w.ids[phoneHeadA]
	if r := attend(w, staff, id, head, "checkin", localAt(3, 20, 0)); r.Status != 201 {
		t.Fatalf("night check-in: %d %s", r.Status, r.Body)
	}
	r := attend(w, staff, id, head, "checkout", localAt(4, 1, 0))
	var night attendRecord
	r.decode(t, &night)
	if r.Status != 201 || night.Record.ID != once.AttendanceRecord(id, head, 0) || night.Record.Minutes != 300 {
		t.Fatalf("night check-out: %d %s, want day 1's record of 300 minutes", r.Status, r.Body)
	}
	var all checkinsJSON
	w.call("GET", "/api/v1/activities/"+id+"/checkins", staff, nil).decode(t, &all)
	perDay := map[string]int{}
	for _, c := range all.Checkins {
		perDay[c.Day]++
	}
	if len(all.Checkins) != 3 || perDay[d1] != 2 || perDay[d2] != 1 {
		t.Fatalf("check-ins: %+v, want two on %s and one on %s", all.Checkins, d1, d2)
	}
	if fmt.Sprint(all.Days) != fmt.Sprint([]string{d1, d2, d3}) || all.Today != d2 {
		t.Fatalf("days %v, today %s: want [%s %s %s] and %s", all.Days, all.Today, d1, d2, d3, d2)
	}
	var second checkinsJSON
	w.call("GET", "/api/v1/activities/"+id+"/checkins?day="+d2, staff, nil).decode(t, &second)
	if len(second.Checkins) != 1 || second.Checkins[0].Day != d2 || second.Checkins[0].ResidentID != elder {
		t.Fatalf("day 2's check-ins: %+v", second.Checkins)
	}
	if r := w.call("GET", "/api/v1/activities/"+id+"/checkins?day=2026-13-01", staff, nil); r.Status != 400 {
		t.Fatalf("a day that is not a date: %d %s", r.Status, r.Body)
	}

	for i, rec := range records {
		for range 2 { // the approval repeated with its key credits once
			r := w.call("POST", "/api/v1/service-records/"+rec.Record.ID+"/approve", staff, map[string]any{}, "Idempotency-Key", fmt.Sprintf("days-approve-%d", i))
			if r.Status != 200 {
				t.Fatalf("approve day %d: %d %s", i+1, r.Status, r.Body)
			}
		}
	}
	if got := hoursOf(t, w, elder) - before; got != 300 {
		t.Fatalf("credited %d minutes for two days, want 180 + 120", got)
	}
	w.mustAudit()
}

// Issue 14 (activities of several days): on day 2 of a clean-up, 32
// repeats of one resident's scan check-in at once check her in once, 32
// check-outs at once make one record for the day, and approving it
// credits its minutes once: never two records, or two credits, for one
// day.
func TestIssue14_ActivityDays_ConcurrentRepeatsOfADayCreditOnce(t *testing.T) {
	t.Parallel()
	clock := &shiftedClock{}
	w := newWorldClock(t, testConfig(t), clock.now)
	localAt := dayClock(w)
	son := w.ids[phoneSonA]
	id := mustActivity(t, w, w.login(phoneStaffA), "暑期夏令营", localAt(2, 8, 0), localAt(6, 18, 0), 600)
	day2 := localAt(3, 0, 0).Format(time.DateOnly)

	clock.to(localAt(3, 9, 0))
	staff, resident := w.login(phoneStaffA), w.login(phoneSonA)
	qr := func() string {
		r := w.call("GET", "/api/v1/activities/"+id+"/qr", staff, nil)
		var q struct{ Token string }
		r.decode(t, &q)
		return q.Token
	}
	const n = 32
	scan := func(way string) map[int]int {
		token := qr()
		statuses := make([]reply, n)
		atonce.Run(n, func(i int) {
			statuses[i] = w.call("POST", "/api/v1/activities/"+id+"/"+way, resident, map[string]string{"token": token})
		})
		got := map[int]int{}
		for _, r := range statuses {
			got[r.Status]++
			if r.Status != 201 && r.code() != "ALREADY_CHECKED_IN" && r.code() != "ALREADY_CHECKED_OUT" && r.code() != "CONFLICT" {
				t.Errorf("%s: %d %s", way, r.Status, r.Body)
			}
		}
		return got
	}
	if got := scan("checkin"); got[201] != 1 {
		t.Fatalf("32 check-ins at once: %v, want exactly one 201", got)
	}
	clock.to(localAt(3, 11, 30))
	staff, resident = w.login(phoneStaffA), w.login(phoneSonA)
	if got := scan("checkout"); got[201] != 1 {
		t.Fatalf("32 check-outs at once: %v, want exactly one 201", got)
	}

	var list struct {
		Records []struct {
			ID         string `json:"id"`
			ResidentID string `json:"resident_id"`
			Minutes    int64  `json:"minutes"`
		} `json:"records"`
	}
	w.call("GET", "/api/v1/service-records?activity_id="+url.QueryEscape(id)+"&status=pending", staff, nil).decode(t, &list)
	if len(list.Records) != 1 || list.Records[0].ID != once.AttendanceRecordOn(id, son, day2, 0) || list.Records[0].Minutes < 149 {
		t.Fatalf("records of the day: %+v, want one, %s, of about 150 minutes", list.Records, once.AttendanceRecordOn(id, son, day2, 0))
	}
	if _, err := w.sys.store.Record(context.Background(), once.AttendanceRecordOn(id, son, day2, 1)); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a second generation of the day's record exists: %v", err)
	}
	before := hoursOf(t, w, son)
	rec := list.Records[0]
	atonce.Run(n, func(i int) {
		w.call("POST", "/api/v1/service-records/"+rec.ID+"/approve", staff, map[string]any{}, "Idempotency-Key", fmt.Sprintf("camp-approve-%02d", i))
	})
	if got := hoursOf(t, w, son) - before; got != rec.Minutes {
		t.Fatalf("32 approvals at once credited %d minutes, want the record's %d once", got, rec.Minutes)
	}
	var counted checkinsJSON
	w.call("GET", "/api/v1/activities/"+id+"/checkins?day="+day2, staff, nil).decode(t, &counted)
	if len(counted.Checkins) != 1 || counted.Today != day2 {
		t.Fatalf("day 2's check-ins: %+v (today %s)", counted.Checkins, counted.Today)
	}
	w.mustAudit()
}

// Issue 14 (activities of several days): an activity within one day keeps
// its keys (in:, out:, att: with no day), its one check-in and one
// check-out; an evening patrol that runs past midnight is still one
// attendance: checked in at 22:00, out at 01:00 the next day, one record
// of 180 minutes under the first day's key.
func TestIssue14_ActivityDays_SingleDayUnchanged(t *testing.T) {
	t.Parallel()
	clock := &shiftedClock{}
	w := newWorldClock(t, testConfig(t), clock.now)
	localAt := dayClock(w)
	ctx := context.Background()
	head := w.ids[phoneHeadA]
	oneDay := mustActivity(t, w, w.login(phoneStaffA), "助老探访", localAt(2, 9, 0), localAt(2, 11, 0), 120)
	patrol := mustActivity(t, w, w.login(phoneStaffA), "夜间巡逻", localAt(2, 20, 0), localAt(3, 2, 0), 360)

	clock.to(localAt(3, 3, 0))
	staff := w.login(phoneStaffA)
	for _, step := range []struct {
		activity, action string
		at               time.Time
		code             string
	}{
		{oneDay, "checkin", localAt(2, 9, 0), ""},
		{oneDay, "checkin", localAt(2, 9, 30), "ALREADY_CHECKED_IN"},
		{oneDay, "checkout", localAt(2, 11, 0), ""},
		{oneDay, "checkout", localAt(2, 11, 0), "ALREADY_CHECKED_OUT"},
		{patrol, "checkin", localAt(2, 22, 0), ""},
		{patrol, "checkout", localAt(3, 1, 0), ""},
		{patrol, "checkin", localAt(3, 1, 30), "ALREADY_CHECKED_IN"}, // the night is one attendance
		{patrol, "checkout", localAt(3, 1, 30), "ALREADY_CHECKED_OUT"},
	} {
		r := attend(w, staff, step.activity, head, step.action, step.at)
		if (step.code == "" && r.Status != 201) || (step.code != "" && r.code() != step.code) {
			t.Fatalf("%s %s at %s: %d %s, want %q", step.activity, step.action, step.at, r.Status, r.Body, step.code)
		}
	}
	for _, a := range []string{oneDay, patrol} {
		for _, key := range []string{once.CheckIn(a, head), once.CheckOut(a, head)} {
			if _, err := w.sys.store.Mark(ctx, key); err != nil {
				t.Fatalf("mark %s: %v", key, err)
			}
		}
	}
	want := map[string]int64{
		once.AttendanceRecord(oneDay, head, 0): 120,
		once.AttendanceRecord(patrol, head, 0): 180,
	}
	for id, minutes := range want {
		rec, err := w.sys.store.Record(ctx, id)
		if err != nil || int64(rec.Minutes) != minutes {
			t.Fatalf("record %s: %+v %v, want %d minutes", id, rec, err, minutes)
		}
	}
	var list checkinsJSON
	w.call("GET", "/api/v1/activities/"+oneDay+"/checkins", staff, nil).decode(t, &list)
	day := localAt(2, 0, 0).Format(time.DateOnly)
	if len(list.Checkins) != 1 || list.Checkins[0].Day != day || len(list.Days) != 1 || list.Today != day {
		t.Fatalf("one-day check-ins: %+v", list)
	}
}

// Issue 14 (activities list by cursor): eleven activities run on one day
// (one of them began the day before and lasts three days), one runs only
// on the next: pages of four walk all eleven, each once, the latest
// published first, and end without `next`; a cursor the list did not give
// out, or one given out for another day, is 400 INVALID_CURSOR; another
// community's staff see none of them. Without the cursor the list is one
// page of everything, or cut silently.
func TestIssue14_ActivitiesCursor_WalksEveryPageOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	localAt := dayClock(w)
	staff := w.login(phoneStaffA)
	day := localAt(10, 0, 0).Format(time.DateOnly)
	want := []string{mustActivity(t, w, staff, "三天义诊", localAt(9, 9, 0), localAt(11, 17, 0), 240)}
	for i := range 10 {
		want = append(want, mustActivity(t, w, staff, fmt.Sprintf("垃圾分类督导 %d", i+1), localAt(10, 8+i, 0), localAt(10, 9+i, 0), 60))
	}
	mustActivity(t, w, staff, "次日活动", localAt(11, 9, 0), localAt(11, 10, 0), 60)

	type page struct {
		Activities []struct {
			ID string `json:"id"`
		} `json:"activities"`
		Next string `json:"next"`
	}
	seen := map[string]int{}
	var order []string
	cursor, pages, firstNext := "", 0, ""
	for {
		path := "/api/v1/activities?limit=4&date=" + day
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := w.call("GET", path, staff, nil)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", pages+1, r.Status, r.Body)
		}
		var p page
		r.decode(t, &p)
		pages++
		for _, a := range p.Activities {
			seen[a.ID]++
			order = append(order, a.ID)
		}
		if pages == 1 {
			firstNext = p.Next
		}
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the list does not end")
		}
		cursor = p.Next
	}
	if pages != 3 || len(order) != len(want) {
		t.Fatalf("%d pages holding %d activities, want 3 pages of %d", pages, len(order), len(want))
	}
	for i, id := range want {
		if seen[id] != 1 || order[len(want)-1-i] != id {
			t.Fatalf("activity %d (%s) listed %d times at %d; want once, the latest published first: %v", i, id, seen[id], i, order)
		}
	}
	next := localAt(11, 0, 0).Format(time.DateOnly)
	for _, bad := range []string{"garbage", "0", "1", "99999", firstNext + "0", "20200101.5"} {
		if r := w.call("GET", "/api/v1/activities?date="+day+"&cursor="+url.QueryEscape(bad), staff, nil); r.Status != 400 || r.code() != "INVALID_CURSOR" {
			t.Errorf("cursor %q: %d %s, want 400 INVALID_CURSOR", bad, r.Status, r.Body)
		}
	}
	if r := w.call("GET", "/api/v1/activities?date="+next+"&cursor="+url.QueryEscape(firstNext), staff, nil); r.Status != 400 || r.code() != "INVALID_CURSOR" {
		t.Errorf("a cursor of %s on %s: %d %s, want 400 INVALID_CURSOR", day, next, r.Status, r.Body)
	}
	var other page
	w.call("GET", "/api/v1/activities?date="+day, w.login(phoneStaffB), nil).decode(t, &other)
	if len(other.Activities) != 0 {
		t.Fatalf("community B sees %d of A's activities", len(other.Activities))
	}
	var following page
	w.call("GET", "/api/v1/activities?date="+next, staff, nil).decode(t, &following)
	if len(following.Activities) != 2 || following.Next != "" {
		t.Fatalf("the next day lists %d activities (next %q), want the three-day one and its own", len(following.Activities), following.Next)
	}
}

// Issue 14 (activities of several days), in the browser: the check-in
// screen of a three-day clean-up on its second day says which day it is
// (第 2 天（共 3 天）and the date) and counts that day's check-ins only: two
// today, not the four of both days. The activities page lists it on
// that day with its first and last day. Screenshots at 1280×800.
func TestScreensIssue14_ActivityDays_CheckinScreenShowsDayAndCount(t *testing.T) {
	clock := &shiftedClock{}
	w := newWorldClock(t, testConfig(t), clock.now)
	localAt := dayClock(w)
	clock.to(localAt(0, 12, 0))
	staff := w.login(phoneStaffA)
	id := mustActivity(t, w, staff, "三天社区大扫除", localAt(-1, 9, 0), localAt(1, 17, 0), 240)
	for _, c := range []struct {
		phone string
		at    time.Time
	}{
		{phoneElderA, localAt(-1, 9, 30)},
		{phoneHeadA, localAt(-1, 10, 0)},
		{phoneElderA, localAt(0, 9, 0)},
		{phoneSonA, localAt(0, 10, 0)},
	} {
		if r := attend(w, staff, id, w.ids[c.phone], "checkin", c.at); r.Status != 201 {
			t.Fatalf("check-in of %s at %s: %d %s", c.phone, c.at, r.Status, r.Body)
		}
	}
	today := localAt(0, 0, 0)
	wantDay := fmt.Sprintf("第 2 天（共 3 天）· %d月%d日", int(today.Month()), today.Day())

	s := newScreens(t, w)
	desk := s.desk()
	s.consoleLogin(desk, phoneStaffA)
	s.try(desk, "signed in", waitText("服务时长审核"))
	s.try(desk, "the activities page lists the clean-up today", chromedp.Navigate(s.base+"/console/activities"), waitText("三天社区大扫除"), waitText(" 至 "))
	s.shot(desk, "console-activities-days")
	s.try(desk, "the check-in screen", chromedp.Navigate(s.base+"/console/activities/"+id+"/checkin"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=qr]`)), waitText("今日已签到"), waitText(wantDay),
		pollJS(`document.querySelector('[data-test=count]').innerText.trim() === '2'`))
	if got := s.text(desk, `[data-test=day]`); got != wantDay {
		t.Fatalf("the screen says the day is %q; want %q", got, wantDay)
	}
	s.shot(desk, "console-checkin-days")
}
