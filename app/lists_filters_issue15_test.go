package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// claimFor has token's resident claim minutes of service in category,
// starting days ago, and returns the record's id.
func (w *world) claimFor(token, category string, daysAgo int, key string) string {
	w.t.Helper()
	start := time.Now().AddDate(0, 0, -daysAgo).Truncate(time.Minute)
	r := w.call("POST", "/api/v1/service-records", token, map[string]any{
		"category":     category,
		"organisation": "居委会",
		"description":  "筛选测试",
		"start":        start,
		"end":          start.Add(60 * time.Minute),
	}, "Idempotency-Key", key)
	if r.Status != http.StatusCreated {
		w.t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var rec struct{ ID string }
	r.decode(w.t, &rec)
	return rec.ID
}

// Issue 14.1 / 15: GET /service-records filters by status, category,
// resident and the start's days on the server, paged by cursor (one slot
// list per filter, docs/PERFORMANCE.md "Lists"): every matching record on
// exactly one page, nothing else; another community sees none of them;
// a bad filter is a 400 with a stable code.
func TestIssue15_Lists_ServiceRecordsFilteredOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, elder := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneElderA)
	old := w.claimFor(son, "助老", 40, "filter-claim-1")
	mid := w.claimFor(son, "助老", 10, "filter-claim-2")
	env := w.claimFor(son, "环境", 5, "filter-claim-3")
	eld := w.claimFor(elder, "助老", 3, "filter-claim-4")
	if r := w.call("POST", "/api/v1/service-records/"+old+"/approve", staff, map[string]any{}, "Idempotency-Key", "filter-approve-1"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	day := func(daysAgo int) string {
		return time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -daysAgo).Format("2006-01-02")
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"status=approved", []string{old}},
		{"category=" + "%E7%8E%AF%E5%A2%83", []string{env}}, // 环境
		{"resident_id=" + w.ids[phoneSonA], []string{old, mid, env}},
		{"resident_id=" + w.ids[phoneSonA] + "&status=pending", []string{mid, env}},
		{"category=%E5%8A%A9%E8%80%81&status=pending", []string{mid, eld}}, // 助老
		{fmt.Sprintf("from=%s&to=%s", day(12), day(4)), []string{mid, env}},
		{"status=rejected", nil},
	} {
		got, _ := w.walkPages(staff, "/api/v1/service-records?limit=1&"+c.query, "records")
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("?%s read %v over its pages; want each of %v once", c.query, got, want)
		}
	}
	if got, _ := w.walkPages(w.login(phoneStaffB), "/api/v1/service-records?limit=5&resident_id="+w.ids[phoneSonA], "records"); len(got) != 0 {
		t.Fatalf("another community's staff read %v", got)
	}
	for _, c := range []struct{ query, code string }{
		{"status=done", "VALIDATION_FAILED"},
		{"from=2026-13-01", "VALIDATION_FAILED"},
		{fmt.Sprintf("from=%s&to=%s", day(1), day(9)), "VALIDATION_FAILED"},
		{"status=approved&cursor=abc", "INVALID_CURSOR"},
	} {
		r := w.call("GET", "/api/v1/service-records?"+c.query, staff, nil)
		if r.Status != http.StatusBadRequest || r.code() != c.code {
			t.Fatalf("?%s: %d %s; want 400 %s", c.query, r.Status, r.Body, c.code)
		}
	}
}
