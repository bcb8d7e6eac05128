package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Issue 19.11: /me names the caller's household, and a login of no
// household (staff) shows none; policy version 0, the built-in defaults,
// shows effective null, not the zero instant.
func TestIssue19_11_MeHasHouseholdAndPolicyZeroHasNoEffectiveDate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var me struct {
		HouseholdID *string `json:"household_id"`
	}
	w.call("GET", "/api/v1/me", w.login(phoneResidentB), nil).decode(t, &me)
	if me.HouseholdID == nil || *me.HouseholdID != w.b.household {
		t.Fatalf("/me household_id = %v; want %s", me.HouseholdID, w.b.household)
	}
	me.HouseholdID = nil
	w.call("GET", "/api/v1/me", w.login(phoneStaffB), nil).decode(t, &me)
	if me.HouseholdID != nil {
		t.Fatalf("staff /me household_id = %q; want none", *me.HouseholdID)
	}

	staffB := w.login(phoneStaffB)
	for _, path := range []string{"/api/v1/policy", "/api/v1/policy/versions"} {
		r := w.call("GET", path, staffB, nil)
		if r.Status != 200 || strings.Contains(string(r.Body), "0001-01-01") {
			t.Fatalf("GET %s: %d %s; want no zero instant", path, r.Status, r.Body)
		}
	}
	var current map[string]json.RawMessage
	w.call("GET", "/api/v1/policy", staffB, nil).decode(t, &current)
	if string(current["version"]) != "0" || string(current["effective"]) != "null" {
		t.Fatalf("community B's policy: version %s effective %s; want version 0, effective null", current["version"], current["effective"])
	}
}
