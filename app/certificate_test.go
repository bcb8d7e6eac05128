package main

import (
	"net/http"
	"testing"
	"time"
)

// Issue 19.11 (certificate part): /me/certificate needs no period (all
// time up to today) and gives the total in hours as well as minutes.
func TestIssue19_11_CertificateDefaultsToAllTimeWithHours(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son := w.login(phoneStaffA), w.login(phoneSonA)
	start := time.Now().AddDate(0, 0, -40).Truncate(time.Minute)
	r := w.call("POST", "/api/v1/service-records", son, map[string]any{
		"category":     "助老",
		"organisation": "居委会",
		"description":  "陪老人就医",
		"start":        start,
		"end":          start.Add(150 * time.Minute),
	}, "Idempotency-Key", "cert-claim-01")
	if r.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var rec struct{ ID string }
	r.decode(t, &rec)
	if r := w.call("POST", "/api/v1/service-records/"+rec.ID+"/approve", staff, map[string]any{}, "Idempotency-Key", "cert-approve-01"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	r = w.call("GET", "/api/v1/me/certificate", son, nil)
	if r.Status != 200 {
		t.Fatalf("certificate without a period: %d %s", r.Status, r.Body)
	}
	var cert struct {
		Total int64  `json:"total_minutes"`
		Hours string `json:"hours"`
		From  time.Time
		Lines []struct {
			Minutes int64
			Hours   string
		}
	}
	r.decode(t, &cert)
	if cert.Total != 150 || cert.Hours != "2小时30分" || len(cert.Lines) != 1 || cert.Lines[0].Hours != "2小时30分" || cert.From.IsZero() {
		t.Fatalf("certificate %s", r.Body)
	}
	if r := w.call("GET", "/api/v1/me/certificate?from=2026-13-01", son, nil); r.Status != 400 {
		t.Fatalf("a bad from: %d %s", r.Status, r.Body)
	}
}
