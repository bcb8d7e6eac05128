package main

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/linli-community/linli/models"
)

// Issue 15 ("lists that stay fast as history grows"): the directory's
// plain listings (GET /residents, /residents?household_id=,
// /households?building_id=, /households) are paged by cursor and next,
// every resident or household on exactly one page, nothing of another
// community; a resident moved to another flat is listed under the new one
// only, even after moving back; `after` is 400 INVALID_CURSOR on them,
// while `role=` still pages by `after`.
func TestIssue15_DirectoryListsPageByCursorOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	staff := w.login(phoneStaffA)
	community := w.communityA()
	everyone, err := w.sys.store.Residents(ctx, models.ResidentFilter{CommunityID: community}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	flats, err := w.sys.store.Households(ctx, community, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	residentIDs := idsOf(everyone, func(r models.Resident) string { return r.ID })
	householdIDs := idsOf(flats, func(h models.Household) string { return h.ID })
	walk := func(token, path string) []string {
		t.Helper()
		got, _ := w.walkPages(token, path, "items")
		slices.Sort(got)
		return got
	}
	for _, limit := range []string{"1", "2", "3", "50"} {
		if got := walk(staff, "/api/v1/residents?limit="+limit); !slices.Equal(got, residentIDs) {
			t.Fatalf("the residents in pages of %s: %v; want each of %v once", limit, got, residentIDs)
		}
		if got := walk(staff, "/api/v1/households?limit="+limit); !slices.Equal(got, householdIDs) {
			t.Fatalf("the households in pages of %s: %v; want each of %v once", limit, got, householdIDs)
		}
	}
	building := flats[0].BuildingID
	var inBuilding []string
	for _, h := range flats {
		if h.BuildingID == building {
			inBuilding = append(inBuilding, h.ID)
		}
	}
	slices.Sort(inBuilding)
	if got := walk(staff, "/api/v1/households?limit=3&building_id="+building); !slices.Equal(got, inBuilding) {
		t.Fatalf("building %s's households: %v; want %v", building, got, inBuilding)
	}
	// The son moves to his mother's flat, back to his own, and to hers
	// again: he is listed once, under hers.
	son, elder := w.ids[phoneSonA], w.ids[phoneElderA]
	mother, err := w.sys.store.Resident(ctx, elder)
	if err != nil {
		t.Fatal(err)
	}
	own, err := w.sys.store.Resident(ctx, son)
	if err != nil {
		t.Fatal(err)
	}
	for _, flat := range []string{mother.HouseholdID, own.HouseholdID, mother.HouseholdID} {
		if r := w.call("PATCH", "/api/v1/residents/"+son, staff, map[string]any{"household_id": flat}); r.Status != http.StatusOK {
			t.Fatalf("move: %d %s", r.Status, r.Body)
		}
	}
	residentsOf := func(household string) []string {
		t.Helper()
		return walk(staff, "/api/v1/residents?limit=1&household_id="+household)
	}
	for _, flat := range []string{mother.HouseholdID, own.HouseholdID} {
		living, err := w.sys.store.Residents(ctx, models.ResidentFilter{CommunityID: community, HouseholdID: flat}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		want := idsOf(living, func(r models.Resident) string { return r.ID })
		mothers := flat == mother.HouseholdID
		if slices.Contains(want, son) != mothers || slices.Contains(want, elder) != mothers {
			t.Fatalf("flat %s holds %v after the moves", flat, want)
		}
		if got := residentsOf(flat); !slices.Equal(got, want) {
			t.Fatalf("flat %s lists %v; want each of %v once (the son under his mother's flat only)", flat, got, want)
		}
	}
	// Another community's staff see none of A's, and A's flat reads empty
	// for them.
	staffB := w.login(phoneStaffB)
	for _, path := range []string{"/api/v1/residents?limit=2", "/api/v1/households?limit=2", "/api/v1/residents?limit=2&household_id=" + mother.HouseholdID} {
		for _, id := range walk(staffB, path) {
			if slices.Contains(residentIDs, id) || slices.Contains(householdIDs, id) {
				t.Fatalf("community B's %s lists A's %s", path, id)
			}
		}
	}
	for _, path := range []string{
		"/api/v1/residents?after=" + son,
		"/api/v1/residents?household_id=" + mother.HouseholdID + "&after=" + son,
		"/api/v1/households?after=" + householdIDs[0],
		"/api/v1/households?building_id=" + building + "&after=" + householdIDs[0],
		"/api/v1/residents?cursor=abc",
		"/api/v1/households?building_id=" + building + "&cursor=999999",
		"/api/v1/residents?role=staff&cursor=2",
	} {
		if r := w.call("GET", path, staff, nil); r.Status != http.StatusBadRequest || r.code() != "INVALID_CURSOR" {
			t.Fatalf("GET %s: %d %s; want 400 INVALID_CURSOR", path, r.Status, r.Body)
		}
	}
	var staffPage struct {
		Items     []struct{ ID string }
		NextAfter string `json:"next_after"`
	}
	if r := w.call("GET", "/api/v1/residents?role=resident&limit=1", staff, nil); r.Status != http.StatusOK {
		t.Fatalf("role=resident: %d %s", r.Status, r.Body)
	} else {
		r.decode(t, &staffPage)
	}
	if len(staffPage.Items) != 1 || staffPage.NextAfter == "" {
		t.Fatalf("role=resident's first page: %+v; want one resident and a next_after", staffPage)
	}
	if r := w.call("GET", "/api/v1/residents?role=resident&limit=1&after="+staffPage.NextAfter, staff, nil); r.Status != http.StatusOK {
		t.Fatalf("role=resident's second page by after: %d %s", r.Status, r.Body)
	}
}

// idsOf is the id of each of items, sorted.
func idsOf[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = id(item)
	}
	slices.Sort(out)
	return out
}
