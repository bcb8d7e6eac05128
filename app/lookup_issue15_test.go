package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Issue 15 (screens): a console page names the residents and households
// on its page by looking them up by id (GET /residents?ids=…,
// /households?ids=…) instead of loading the whole directory: the ones of
// the caller's community come back in the order asked, one lookup each
// and no scan; another community's and unknown ids are left out; each
// resident shown is on their access log; and a lookup with a filter, too
// many ids, or by a resident is refused.
func TestIssue15_LookupByIDNamesAPageWithoutAScan(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, elder := w.login(phoneStaffA), w.login(phoneElderA)
	elderID, sonID, otherID := w.ids[phoneElderA], w.ids[phoneSonA], w.ids[phoneResidentB]
	ids := func(r reply, key string) []string {
		t.Helper()
		var page map[string][]map[string]any
		r.decode(t, &page)
		var out []string
		for _, item := range page[key] {
			out = append(out, item["id"].(string))
		}
		return out
	}

	logged := len(w.accessLog(elder, 50).Items)
	scans := w.sys.store.CommandCounts().Scans
	r := w.call("GET", "/api/v1/residents?ids="+strings.Join([]string{sonID, otherID, "no-such-id", elderID, sonID}, ","), staff, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("residents by id: %d %s", r.Status, r.Body)
	}
	if got := ids(r, "items"); !slices.Equal(got, []string{sonID, elderID}) {
		t.Fatalf("residents by id: %v; want the son and the elder, in that order, once each", got)
	}
	var households struct {
		Items []struct {
			ID          string `json:"id"`
			HouseholdID string `json:"household_id"`
		}
	}
	w.call("GET", "/api/v1/residents?ids="+elderID, staff, nil).decode(t, &households)
	home := households.Items[0].HouseholdID
	if home == "" {
		t.Fatal("the elder has no household")
	}
	r = w.call("GET", "/api/v1/households?ids=nope,"+home, staff, nil)
	if got := ids(r, "items"); r.Status != http.StatusOK || !slices.Equal(got, []string{home}) {
		t.Fatalf("households by id: %d %s; want %s", r.Status, r.Body, home)
	}
	if n := w.sys.store.CommandCounts().Scans - scans; n != 0 {
		t.Fatalf("the lookups sent %d scans; want none", n)
	}
	// The elder sees on their access log that staff listed them, once per
	// lookup that showed them.
	log := w.accessLog(elder, 50).Items
	if len(log)-logged != 2 || log[0].Kind != "resident_list" || log[1].Kind != "resident_list" {
		t.Fatalf("the elder's access log after two lookups: %+v (had %d)", log, logged)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = "id" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for _, bad := range []struct{ path, token string }{
		{"/api/v1/residents?ids=" + elderID + "&q=" + "王", staff},
		{"/api/v1/residents?ids=" + elderID + "&after=" + sonID, staff},
		{"/api/v1/households?ids=" + home + "&room=101", staff},
		{"/api/v1/residents?ids=" + strings.Join(many, ","), staff},
		{"/api/v1/households?ids=" + strings.Join(many, ","), staff},
	} {
		if r := w.call("GET", bad.path, bad.token, nil); r.Status != http.StatusBadRequest || r.code() != "VALIDATION_FAILED" {
			t.Errorf("GET %s: %d %s; want 400 VALIDATION_FAILED", bad.path[:min(len(bad.path), 80)], r.Status, r.Body)
		}
	}
	for _, path := range []string{"/api/v1/residents?ids=" + elderID, "/api/v1/households?ids=" + home} {
		if r := w.call("GET", path, elder, nil); r.Status != http.StatusForbidden {
			t.Errorf("a resident's GET %s: %d %s; want 403", path, r.Status, r.Body)
		}
	}
}
