package main

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// Issue 14.1 / 15: staff find residents by part of the name or by the
// phone's last four digits (also as the masked 139****4321), and
// households by room, on the server, paged by cursor from one search list
// each: every match on exactly one page, nothing else, and nothing of
// another community; a renamed resident is found by the new name only.
func TestIssue15_Lists_ResidentAndHouseholdSearchOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	create := func(name, phone string) string {
		r := w.call("POST", "/api/v1/residents", staff, map[string]any{
			"name":             name,
			"phone":            phone,
			"initial_password": "passw0rd-123",
		})
		if r.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
		}
		var res struct{ ID string }
		r.decode(t, &res)
		return res.ID
	}
	yanqiu := create("翟砚秋", "13911114321")
	yunzhou := create("翟云舟", "13911110002")
	yanchi := create("霍砚池", "13911110003")
	search := func(token, query string) []string {
		t.Helper()
		got, _ := w.walkPages(token, "/api/v1/residents?limit=1&"+query, "items")
		slices.Sort(got)
		return got
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"砚", []string{yanqiu, yanchi}},
		{"翟", []string{yanqiu, yunzhou}},
		{"翟砚秋", []string{yanqiu}},
		{"4321", []string{yanqiu}},
		{"139****4321", []string{yanqiu}},
		{"鑫", nil},
	} {
		want := slices.Clone(c.want)
		slices.Sort(want)
		if got := search(staff, "q="+url.QueryEscape(c.q)); !slices.Equal(got, want) {
			t.Fatalf("q=%s found %v; want each of %v once", c.q, got, want)
		}
	}
	if got := search(w.login(phoneStaffB), "q="+url.QueryEscape("翟")); len(got) != 0 {
		t.Fatalf("another community's staff found %v", got)
	}
	if r := w.call("PATCH", "/api/v1/residents/"+yunzhou, staff, map[string]any{"name": "鲍新宇"}); r.Status != 200 {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	if got := search(staff, "q="+url.QueryEscape("新宇")); !slices.Equal(got, []string{yunzhou}) {
		t.Fatalf("the new name found %v; want %s", got, yunzhou)
	}
	if got := search(staff, "q="+url.QueryEscape("云舟")); len(got) != 0 {
		t.Fatalf("the old name still finds %v", got)
	}

	var buildings struct {
		Items []struct{ ID string }
	}
	w.call("GET", "/api/v1/buildings", staff, nil).decode(t, &buildings)
	if len(buildings.Items) == 0 {
		t.Fatal("no building to add a household to")
	}
	r := w.call("POST", "/api/v1/households", staff, map[string]any{"building_id": buildings.Items[0].ID, "room": "1702"})
	if r.Status != http.StatusCreated {
		t.Fatalf("household: %d %s", r.Status, r.Body)
	}
	var hh struct{ ID string }
	r.decode(t, &hh)
	if got, _ := w.walkPages(staff, "/api/v1/households?limit=1&room=1702", "items"); !slices.Equal(got, []string{hh.ID}) {
		t.Fatalf("room=1702 found %v; want %s", got, hh.ID)
	}
	for _, path := range []string{"/api/v1/residents?q=" + url.QueryEscape("翟") + "&cursor=x1", "/api/v1/households?room=1702&cursor=999999"} {
		if r := w.call("GET", path, staff, nil); r.Status != http.StatusBadRequest || r.code() != "INVALID_CURSOR" {
			t.Fatalf("GET %s: %d %s; want 400 INVALID_CURSOR", path, r.Status, r.Body)
		}
	}
}
