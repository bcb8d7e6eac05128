package main

import (
	"fmt"
	"testing"
	"time"
)

// Unrestricted resource consumption: the staff list of pending service
// records is bounded by a limit of at most 200.
func TestPendingRecordsListIsBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	day := time.Now().AddDate(0, 0, -1).Truncate(24 * time.Hour).Add(9 * time.Hour)
	for i, phone := range []string{phoneElderA, phoneSonA, phoneHeadA} {
		tok := w.login(phone)
		r := w.call("POST", "/api/v1/service-records", tok, map[string]any{
			"category":     "助老",
			"organisation": "居委会",
			"description":  "陪老人散步",
			"start":        day,
			"end":          day.Add(time.Hour),
		}, "Idempotency-Key", fmt.Sprintf("pending-claim-%d", i))
		if r.Status != 201 {
			t.Fatalf("claim: %d %s", r.Status, r.Body)
		}
	}
	staff := w.login(phoneStaffA)
	var page struct {
		Records []struct {
			ID string `json:"id"`
		} `json:"records"`
	}
	w.call("GET", "/api/v1/service-records?limit=2", staff, nil).decode(t, &page)
	if len(page.Records) != 2 {
		t.Fatalf("limit=2 gave %d records", len(page.Records))
	}
	w.call("GET", "/api/v1/service-records", staff, nil).decode(t, &page)
	if len(page.Records) != 3 {
		t.Fatalf("default page gave %d records; want all 3", len(page.Records))
	}
	for _, q := range []string{"limit=201", "limit=-1", "limit=x"} {
		if r := w.call("GET", "/api/v1/service-records?"+q, staff, nil); r.Status != 400 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
	}
}
