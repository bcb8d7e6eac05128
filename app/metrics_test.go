package main

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/linli-community/linli/jobs"
)

func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+]+)$`).FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// /metrics counts requests by route and status, postings by kind,
// idempotent replays and job runs by outcome.
func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	path := "/api/v1/residents/" + w.ids[phoneSonA] + "/points/adjustments"
	before := string(w.call("GET", "/metrics", "", nil).Body)
	for range 2 { // the second is a replay
		if r := w.call("POST", path, staff, award(3, "award"), "Idempotency-Key", "metrics-key-1"); r.Status != 201 {
			t.Fatalf("award: %d %s", r.Status, r.Body)
		}
	}
	w.call("POST", path, staff, award(3, "award")) // no key: a 400
	if _, err := w.sys.runner.Now(context.Background(), jobs.Audit(w.sys.ledger, w.sys.loc), "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	after := string(w.call("GET", "/metrics", "", nil).Body)
	for series, want := range map[string]float64{
		`linli_http_requests_total{method="POST",route="/api/v1/residents/:id/points/adjustments",status="201"}`: 2,
		`linli_http_requests_total{method="POST",route="/api/v1/residents/:id/points/adjustments",status="400"}`: 1,
		`linli_ledger_postings_total{kind="award"}`:                                                              1,
		`linli_idempotent_replays_total`:                                                                         1,
		`linli_job_runs_total{job="audit",outcome="ok"}`:                                                         1,
	} {
		if got := metricValue(t, after, series) - metricValue(t, before, series); got != want {
			t.Errorf("%s grew by %v; want %v", series, got, want)
		}
	}
	// The award sent at least its keyed request, its op, its entry, its
	// answer and its notice's queue item, and the replay read its answer.
	for series, least := range map[string]float64{
		`linli_store_commands_total{command="insert"}`: 5,
		`linli_store_commands_total{command="find"}`:   1,
	} {
		if got := metricValue(t, after, series) - metricValue(t, before, series); got < least {
			t.Errorf("%s grew by %v; want at least %v", series, got, least)
		}
	}
	if metricValue(t, after, `linli_http_request_duration_seconds_count{method="POST",route="/api/v1/residents/:id/points/adjustments"}`) < 3 {
		t.Errorf("latency histogram missing:\n%s", after)
	}
}
