package main

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// corrections walks GET /corrections?status= page by page (limit 1) and
// returns the record id and acceptance of each correction read.
func (w *world) corrections(token, status string) ([]string, map[string]bool) {
	w.t.Helper()
	var records []string
	accepted := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 50; pages++ {
		path := "/api/v1/corrections?limit=1&status=" + status
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := w.call("GET", path, token, nil)
		if r.Status != 200 {
			w.t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		var page struct {
			Corrections []struct {
				RecordID   string `json:"record_id"`
				ResidentID string `json:"resident_id"`
				Accepted   bool   `json:"accepted"`
			}
			Next string
		}
		r.decode(w.t, &page)
		for _, c := range page.Corrections {
			records = append(records, c.RecordID)
			accepted[c.RecordID] = c.Accepted
		}
		if page.Next == "" {
			slices.Sort(records)
			return records, accepted
		}
		cursor = page.Next
	}
	w.t.Fatal("GET /corrections never ends")
	return nil, nil
}

// Issue 14.2: staff see every correction residents asked for across the
// community (waiting ones by default), each once over its pages, and once
// one is decided it moves from pending to decided; residents cannot read
// the list, and a bad status is a 400.
func TestIssue14_2_CommunityCorrectionsPendingThenDecided(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, elder := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneElderA)
	first := w.claimFor(son, "助老", 20, "corr-claim-1")
	second := w.claimFor(elder, "环境", 15, "corr-claim-2")
	for i, id := range []string{first, second} {
		if r := w.call("POST", "/api/v1/service-records/"+id+"/approve", staff, map[string]any{}, "Idempotency-Key", "corr-approve-"+string(rune('a'+i))); r.Status != 200 {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
	}
	for _, c := range []struct{ token, id string }{{son, first}, {elder, second}} {
		if r := w.call("POST", "/api/v1/service-records/"+c.id+"/corrections", c.token, map[string]any{"minutes": 75, "reason": "签退晚了"}); r.Status/100 != 2 {
			t.Fatalf("correction: %d %s", r.Status, r.Body)
		}
	}
	both := []string{first, second}
	slices.Sort(both)
	if got, _ := w.corrections(staff, "pending"); !slices.Equal(got, both) {
		t.Fatalf("pending: %v; want each of %v once", got, both)
	}
	r := w.call("POST", "/api/v1/service-records/"+first+"/corrections/1/decision", staff,
		map[string]any{"accept": true, "answer": "已核实"}, "Idempotency-Key", "corr-decide-1")
	if r.Status != 200 {
		t.Fatalf("decide: %d %s", r.Status, r.Body)
	}
	if got, _ := w.corrections(staff, "pending"); !slices.Equal(got, []string{second}) {
		t.Fatalf("pending after a decision: %v; want %s", got, second)
	}
	if got, accepted := w.corrections(staff, "decided"); !slices.Equal(got, []string{first}) || !accepted[first] {
		t.Fatalf("decided: %v %v; want %s accepted", got, accepted, first)
	}
	if got, _ := w.corrections(staff, "all"); !slices.Equal(got, both) {
		t.Fatalf("all: %v; want %v", got, both)
	}
	if got, _ := w.corrections(w.login(phoneStaffB), "all"); len(got) != 0 {
		t.Fatalf("another community's staff read %v", got)
	}
	if r := w.call("GET", "/api/v1/corrections", son, nil); r.Status != http.StatusForbidden {
		t.Fatalf("a resident read the list: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/corrections?status=open", staff, nil); r.Status != http.StatusBadRequest || r.code() != "VALIDATION_FAILED" {
		t.Fatalf("status=open: %d %s", r.Status, r.Body)
	}
}
