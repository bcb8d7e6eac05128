package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// The routes the console needed and did not find (issue 14): the import's
// dry run, an activity's check-ins, and the jobs board.

type previewReply struct {
	Kind     string `json:"kind"`
	Rows     int    `json:"rows"`
	OK       bool   `json:"ok"`
	BadRows  int    `json:"bad_rows"`
	Problems []struct {
		Row   int    `json:"row"`
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"problems"`
}

// The preview reports each bad row as the import would, and writes
// nothing, for a bad file or a good one; the good file then imports.
func TestIssue14_ImportPreviewWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	csvHeader := "姓名,手机号,楼栋,房号,出生年份,角色,初始密码\n"
	bad := csvHeader + "孔居民,13912340001,1号楼,101,1951,resident,chunshen-2026\n" +
		"曹居民,1391234,2号楼,102,1949,resident,chunshen-2026\n" +
		"严居民,13912340003,9号楼,101,1950,resident,chunshen-2026\n"
	before := w.counts()
	r := w.call("POST", "/api/v1/imports/residents/preview", staff, bad, "Content-Type", "text/csv")
	if r.Status != 200 {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	var pv previewReply
	r.decode(t, &pv)
	if pv.OK || pv.Rows != 3 || pv.BadRows != 2 {
		t.Fatalf("preview of a file with two bad rows: %+v", pv)
	}
	rows := map[int]string{}
	for _, p := range pv.Problems {
		rows[p.Row] = p.Field + ":" + p.Code
	}
	if rows[3] != "phone:INVALID" || rows[4] != "building:NOT_FOUND" || rows[2] != "" {
		t.Fatalf("problems by row: %v", rows)
	}

	good := csvHeader + "孔居民,13912340001,1号楼,101,1951,resident,chunshen-2026\n" +
		"曹居民,13912340002,2号楼,102,1949,resident,chunshen-2026\n"
	r = w.call("POST", "/api/v1/imports/residents/preview", staff, good, "Content-Type", "text/csv; charset=utf-8")
	pv = previewReply{}
	r.decode(t, &pv)
	if r.Status != 200 || !pv.OK || pv.Rows != 2 || len(pv.Problems) != 0 {
		t.Fatalf("preview of a good file: %d %+v", r.Status, pv)
	}
	if after := w.counts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the previews wrote: %v → %v", before, after)
	}
	if _, err := w.sys.store.LoginByPhone(context.Background(), "13912340001"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a previewed row is in the store: %v", err)
	}
	r = w.call("POST", "/api/v1/imports/residents", staff, good, "Content-Type", "text/csv", "Idempotency-Key", "issue14-import")
	if r.Status != 201 {
		t.Fatalf("import after the preview: %d %s", r.Status, r.Body)
	}
	// The same file again: every row is now registered.
	r = w.call("POST", "/api/v1/imports/residents/preview", staff, good, "Content-Type", "text/csv")
	pv = previewReply{}
	r.decode(t, &pv)
	if pv.OK || pv.BadRows != 2 || pv.Problems[0].Code != "ALREADY_EXISTS" {
		t.Fatalf("preview of an imported file: %+v", pv)
	}

	households := "楼栋,房号,车牌\n1号楼,501,\n1号楼,501,\n"
	r = w.call("POST", "/api/v1/imports/households/preview", staff, households, "Content-Type", "text/csv")
	pv = previewReply{}
	r.decode(t, &pv)
	if r.Status != 200 || pv.Kind != "households" || pv.BadRows != 1 || pv.Problems[0].Code != "DUPLICATE_IN_FILE" {
		t.Fatalf("households preview: %d %+v", r.Status, pv)
	}

	for _, c := range []struct {
		token, ct string
		status    int
	}{
		{w.login(phoneElderA), "text/csv", 403},
		{w.login(phonePartnerA), "text/csv", 403},
		{staff, "application/json", 415},
		{staff, "text/csv; charset=gbk", 415},
	} {
		if r := w.call("POST", "/api/v1/imports/residents/preview", c.token, good, "Content-Type", c.ct); r.Status != c.status {
			t.Errorf("preview as %s with %s: %d %s; want %d", c.token[:8], c.ct, r.Status, r.Body, c.status)
		}
	}
}

type jobsReply struct {
	Jobs []struct {
		Name     string `json:"name"`
		Period   string `json:"period"`
		Runnable bool   `json:"runnable"`
		Runs     []struct {
			Period   string         `json:"period"`
			Finished string         `json:"finished"`
			Counts   map[string]int `json:"counts"`
		} `json:"runs"`
	} `json:"jobs"`
}

// Staff see the jobs and their last runs; only an admin runs one, for a
// period of the job's form that is due, and the run is listed.
func TestIssue14_JobsBoardListsAndRunsForAPeriod(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, admin := w.login(phoneStaffA), w.login(phoneAdminA)
	r := w.call("GET", "/api/v1/jobs", staff, nil)
	if r.Status != 200 {
		t.Fatalf("jobs: %d %s", r.Status, r.Body)
	}
	var jr jobsReply
	r.decode(t, &jr)
	byName := map[string]int{}
	for i, j := range jr.Jobs {
		byName[j.Name] = i
	}
	listing, ok := byName["honour-listing"]
	if !ok || !jr.Jobs[listing].Runnable || len(jr.Jobs[listing].Runs) != 0 {
		t.Fatalf("honour-listing on the board: %+v", jr.Jobs)
	}
	if tr, ok := byName["transfers"]; !ok || jr.Jobs[tr].Runnable {
		t.Fatalf("the transfer sweep is runnable by hand: %+v", jr.Jobs)
	}
	today := jr.Jobs[listing].Period
	settleMonth := jr.Jobs[byName["settlement"]].Period

	for _, c := range []struct {
		token, job, period string
		status             int
		code               string
	}{
		{staff, "honour-listing", today, 403, "FORBIDDEN"},
		{w.login(phoneElderA), "honour-listing", today, 403, "FORBIDDEN"},
		{admin, "no-such-job", today, 404, "NOT_FOUND"},
		{admin, "honour-listing", "2026-13-45", 400, "VALIDATION_FAILED"},
		{admin, "honour-listing", "2999-01-01", 400, "VALIDATION_FAILED"},
		{admin, "settlement", today, 400, "VALIDATION_FAILED"},                                           // a day for a monthly job
		{admin, "settlement", models.MonthOf(w.sys.now(), w.sys.loc).String(), 400, "VALIDATION_FAILED"}, // not over yet
		{admin, "transfers", "", 400, "VALIDATION_FAILED"},
	} {
		r := w.call("POST", "/api/v1/jobs/"+c.job+"/runs", c.token, map[string]string{"period": c.period})
		if r.Status != c.status || r.code() != c.code {
			t.Errorf("run %s %q: %d %s; want %d %s", c.job, c.period, r.Status, r.Body, c.status, c.code)
		}
	}

	r = w.call("POST", "/api/v1/jobs/honour-listing/runs", admin, map[string]string{"period": today})
	if r.Status != 200 {
		t.Fatalf("run: %d %s", r.Status, r.Body)
	}
	var run struct {
		Job    string         `json:"job"`
		Period string         `json:"period"`
		Counts map[string]int `json:"counts"`
	}
	r.decode(t, &run)
	if run.Job != "honour-listing" || run.Period != today || run.Counts == nil {
		t.Fatalf("the run: %+v", run)
	}
	// The empty period is the current one; the settlement of last month.
	if r := w.call("POST", "/api/v1/jobs/settlement/runs", admin, map[string]string{}); r.Status != 200 {
		t.Fatalf("settlement of the month gone: %d %s", r.Status, r.Body)
	}

	r = w.call("GET", "/api/v1/jobs", staff, nil)
	jr = jobsReply{}
	r.decode(t, &jr)
	runs := jr.Jobs[listing].Runs
	if len(runs) != 1 || runs[0].Period != today || runs[0].Finished == "" {
		t.Fatalf("honour-listing's runs after one: %+v", runs)
	}
	if s := jr.Jobs[byName["settlement"]].Runs; len(s) != 1 || s[0].Period != settleMonth {
		t.Fatalf("settlement's runs: %+v", s)
	}
}

// An activity's check-ins are read back by its organisers, not by
// residents.
func TestIssue14_CheckinsListed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	r := w.call("GET", "/api/v1/activities?date="+w.sys.now().In(w.sys.loc).Format("2006-01-02"), staff, nil)
	var list struct {
		Activities []struct {
			ID          string `json:"id"`
			SelfCheckin bool   `json:"self_checkin"`
		} `json:"activities"`
	}
	r.decode(t, &list)
	if len(list.Activities) == 0 {
		t.Fatalf("no activity today: %s", r.Body)
	}
	id := list.Activities[0].ID
	path := "/api/v1/activities/" + id + "/checkins"
	count := func() int {
		r := w.call("GET", path, staff, nil)
		if r.Status != 200 {
			t.Fatalf("check-ins: %d %s", r.Status, r.Body)
		}
		var out struct {
			Checkins []struct {
				ResidentID string `json:"resident_id"`
				By         string `json:"by"`
			} `json:"checkins"`
		}
		r.decode(t, &out)
		for _, c := range out.Checkins {
			if c.ResidentID != w.ids[phoneElderA] || c.By != w.ids[phoneStaffA] {
				t.Fatalf("check-in %+v", c)
			}
		}
		return len(out.Checkins)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d check-ins before any", n)
	}
	if r := w.call("POST", "/api/v1/activities/"+id+"/attendance", staff, map[string]string{"resident_id": w.ids[phoneElderA], "action": "checkin"}); r.Status/100 != 2 {
		t.Fatalf("attendance: %d %s", r.Status, r.Body)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d check-ins after one", n)
	}
	if r := w.call("GET", path, w.login(phoneElderA), nil); r.Status != 403 {
		t.Fatalf("a resident reads the check-ins: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/activities/nope/checkins", staff, nil); r.Status != 404 {
		t.Fatalf("check-ins of no activity: %d %s", r.Status, r.Body)
	}
}

// The console is served at /console/: any path under it is its page (the
// router's), with the same CSP as the other screens; the other apps keep
// their own pages.
func TestIssue14_ConsoleServedAtItsPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for path, title := range map[string]string{
		"/console/":                     "居委会工作台",
		"/console/honour/notice":        "居委会工作台",
		"/console/activities/x/checkin": "居委会工作台",
		"/merchant/":                    "商户核销",
		"/me/records":                   "时间银行",
	} {
		r := w.call("GET", path, "", nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), "<title>邻里 · ") || !strings.Contains(string(r.Body), title) {
			t.Errorf("GET %s: %d %.200s; want the page titled %s", path, r.Status, r.Body, title)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	for _, name := range []string{"/console/residents-template.csv", "/console/households-template.csv"} {
		r := w.call("GET", name, "", nil)
		if r.Status != 200 || !strings.HasPrefix(string(r.Body), "楼栋") && !strings.HasPrefix(string(r.Body), "姓名") {
			t.Errorf("GET %s: %d %.100s", name, r.Status, r.Body)
		}
	}
}

// The parking operator reads back a day's gate events with what each got;
// other partners may not, and a bad day is refused.
func TestIssue14_ParkingOperatorReadsGateEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	parking := w.login("13800000009")
	// In at 01:00 and out at 01:30 of a day in the community's zone that
	// has begun at least two hours ago: both in the past, on one day,
	// whatever the time of the run.
	begun := w.sys.now().Add(-2 * time.Hour).In(w.sys.loc)
	at := time.Date(begun.Year(), begun.Month(), begun.Day(), 1, 0, 0, 0, w.sys.loc)
	for i, dir := range []string{"in", "out"} {
		r := w.call("POST", "/api/v1/parking/gate-events", parking, map[string]any{
			"event_id":  fmt.Sprintf("gate-%d", i),
			"plate":     "沪B66688",
			"direction": dir,
			"at":        at.Add(time.Duration(i) * 30 * time.Minute),
		})
		if r.Status != 200 {
			t.Fatalf("gate event %s: %d %s", dir, r.Status, r.Body)
		}
	}
	day := at.In(w.sys.loc).Format("2006-01-02")
	var out struct {
		Events []struct {
			EventID   string `json:"event_id"`
			Direction string `json:"direction"`
			Reason    string `json:"reason"`
		} `json:"events"`
	}
	r := w.call("GET", "/api/v1/parking/gate-events?day="+day, parking, nil)
	r.decode(t, &out)
	if r.Status != 200 || len(out.Events) != 2 || out.Events[0].EventID != "gate-0" || out.Events[1].Direction != "out" || out.Events[1].Reason == "" {
		t.Fatalf("the day's events: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/parking/gate-events?day="+day, w.login(phoneStaffA), nil); r.Status != 200 {
		t.Fatalf("staff read the gate: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		token, day string
		status     int
	}{
		{w.login(phonePartnerA), day, 403}, // the property company
		{w.login(phoneElderA), day, 403},
		{parking, "21-11-2026", 400},
	} {
		if r := w.call("GET", "/api/v1/parking/gate-events?day="+c.day, c.token, nil); r.Status != c.status {
			t.Errorf("gate events %s: %d %s; want %d", c.day, r.Status, r.Body, c.status)
		}
	}
	// Another day has none of them.
	r = w.call("GET", "/api/v1/parking/gate-events?day="+at.In(w.sys.loc).AddDate(0, 0, -3).Format("2006-01-02"), parking, nil)
	out.Events = nil
	r.decode(t, &out)
	if len(out.Events) != 0 {
		t.Fatalf("events of another day: %s", r.Body)
	}
}
