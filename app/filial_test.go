package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// nextWeekday is the first day after today (Asia/Shanghai) that is wd.
func nextWeekday(wd time.Weekday) string {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	d := time.Now().In(loc).AddDate(0, 0, 1)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d.Format("2006-01-02")
}

// The son of the seed, whose family link to his mother staff verified,
// books her visit, cancels it over HTTP with the booking id percent-encoded
// (it holds the plate and colons), and the repeat gets the same answer; a
// weekday is refused with its own reason.
func TestIssue11_19_FilialVisitCancelOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	son := w.login(phoneSonA)
	sat := nextWeekday(time.Saturday)
	r := w.call("POST", "/api/v1/filial/bookings", son, map[string]any{"plate": "沪B66688", "day": sat})
	if r.Status != http.StatusCreated {
		t.Fatalf("the visitor's booking: %d %s", r.Status, r.Body)
	}
	var b struct {
		ID, Status string
		Bay        int
	}
	r.decode(t, &b)
	if b.Bay == 0 || b.Status != "booked" || !strings.Contains(b.ID, ":") {
		t.Fatalf("booking %+v", b)
	}
	path := "/api/v1/filial/bookings/" + url.PathEscape(b.ID) + "/cancel"
	first := w.call("POST", path, son, nil, "Idempotency-Key", "visit-cancel-1")
	if first.Status != http.StatusOK || !strings.Contains(string(first.Body), `"status":"cancelled"`) {
		t.Fatalf("cancel: %d %s", first.Status, first.Body)
	}
	if again := w.call("POST", path, son, nil, "Idempotency-Key", "visit-cancel-1"); again.Status != first.Status || string(again.Body) != string(first.Body) {
		t.Fatalf("repeat: %d %s", again.Status, again.Body)
	}
	if withBody := w.call("POST", path, son, `{"x":1}`, "Idempotency-Key", "visit-cancel-2"); withBody.Status != http.StatusBadRequest {
		t.Fatalf("a body on a route that takes none: %d %s", withBody.Status, withBody.Body)
	}

	mon := nextWeekday(time.Monday)
	refused := w.call("POST", "/api/v1/filial/bookings", son, map[string]any{"plate": "沪B66688", "day": mon})
	if refused.Status != http.StatusConflict || refused.code() != "NOT_FILIAL_DAY" || !strings.Contains(string(refused.Body), "孝老停车仅限") {
		t.Fatalf("a Monday: %d %s", refused.Status, refused.Body)
	}
}
