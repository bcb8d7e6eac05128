package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// dirResident is resident id of community in household (none for ""),
// created minute i of the day.
func dirResident(id, community, household string, i int) models.Resident {
	return models.Resident{
		ID:          id,
		CommunityID: community,
		HouseholdID: household,
		Name:        "居民" + id,
		Phone:       fmt.Sprintf("139%08d", i),
		BirthYear:   1960,
		Created:     time.Date(2026, 12, 7, 8, i, 0, 0, time.UTC),
	}
}

// dirHousehold is household id of community in building, room room,
// created minute i of the day.
func dirHousehold(id, community, building, room string, i int) models.Household {
	return models.Household{
		ID:          id,
		CommunityID: community,
		BuildingID:  building,
		Room:        room,
		Created:     time.Date(2026, 12, 7, 8, i, 0, 0, time.UTC),
	}
}

// walkListed reads every page of a plain list in pages of limit, failing
// the test on a page holding more than limit, and returns the ids read.
func walkListed[T any](t *testing.T, limit int, id func(T) string, page func(cursor string, limit int) ([]T, string, error)) []string {
	t.Helper()
	return walkIDs(t, id, func(cursor string) ([]T, string, error) {
		got, next, err := page(cursor, limit)
		if len(got) > limit {
			t.Fatalf("a page of %d holds %d", limit, len(got))
		}
		return got, next, err
	})
}

// wantEachOnce fails the test unless got holds exactly the ids of want,
// each once, in any order.
func wantEachOnce(t *testing.T, what string, got, want []string) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(got))
	wanted := slices.Sorted(slices.Values(want))
	if !slices.Equal(sorted, wanted) {
		t.Fatalf("%s read %v; want %v, each once", what, got, wanted)
	}
}

// Issue 15: a community's residents, a household's residents, a
// building's and a community's households are read from their lists, in
// pages of any size, each record once: a keyed create's repeat and an
// attempt that died after its slots list nothing twice, an erased
// resident is left out, a resident who moved is on the new household's
// list only (once, even after moving back), and another community's
// records never appear.
func TestIssue15_DirLists_EveryPageFindsEachRecordOnce(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	later := func(at time.Time) time.Time { return at.Add(3 * time.Second) }
	households := []models.Household{
		dirHousehold("h1", "c1", "b1", "101", 0),
		dirHousehold("h2", "c1", "b1", "102", 1),
		dirHousehold("h3", "c1", "b2", "101", 2),
		dirHousehold("x1", "c2", "bx", "101", 3),
	}
	for _, h := range households {
		if err := s.InsertHousehold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	// h2's keyed create repeated: a new slot on each list, then a conflict.
	repeatH := households[1]
	repeatH.Created = later(repeatH.Created)
	if err := s.InsertHousehold(ctx, repeatH); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("the household's repeat: %v; want a conflict", err)
	}
	residents := []models.Resident{
		dirResident("r1", "c1", "h1", 10),
		dirResident("r2", "c1", "h1", 11),
		dirResident("r3", "c1", "h2", 12),
		dirResident("r4", "c1", "", 13),
		dirResident("r5", "c1", "h1", 14), // erased below
		dirResident("r6", "c1", "h1", 15), // moves to h2
		dirResident("r7", "c1", "h1", 16), // moves to h2 and back
		dirResident("x1", "c2", "x1", 17),
	}
	for _, r := range residents {
		if err := s.InsertResident(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// r1's keyed create repeated; r8's first attempt died after its slots.
	repeat := residents[0]
	repeat.Created = later(repeat.Created)
	if err := s.InsertResident(ctx, repeat); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("the resident's repeat: %v; want a conflict", err)
	}
	died := dirResident("r8", "c1", "h2", 18)
	if _, err := s.insertListed(ctx, colDirLists, slices.Concat(residentSearchLists(died), residentPlainLists(died)), died.ID, died.Created, nil); err != nil {
		t.Fatal(err)
	}
	died.Created = later(died.Created)
	if err := s.InsertResident(ctx, died); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseResident(ctx, "r5", "居民已注销", time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for _, move := range []struct{ id, to string }{{"r6", "h2"}, {"r7", "h2"}, {"r7", "h1"}} {
		if err := s.SetResidentProfile(ctx, move.id, "居民"+move.id, 1960, move.to); err != nil {
			t.Fatal(err)
		}
	}
	residentID := func(r models.Resident) string { return r.ID }
	householdID := func(h models.Household) string { return h.ID }
	for _, limit := range []int{1, 2, 3, 50} {
		residentsOf := func(household string) []string {
			return walkListed(t, limit, residentID, func(cursor string, limit int) ([]models.Resident, string, error) {
				return s.ListedResidents(ctx, "c1", household, cursor, limit)
			})
		}
		wantEachOnce(t, fmt.Sprintf("c1's residents in pages of %d", limit), residentsOf(""), []string{"r1", "r2", "r3", "r4", "r6", "r7", "r8"})
		wantEachOnce(t, fmt.Sprintf("h1's residents in pages of %d", limit), residentsOf("h1"), []string{"r1", "r2", "r7"})
		wantEachOnce(t, fmt.Sprintf("h2's residents in pages of %d", limit), residentsOf("h2"), []string{"r3", "r6", "r8"})
		wantEachOnce(t, fmt.Sprintf("c2's household x1 read as c1's in pages of %d", limit), residentsOf("x1"), nil)
		householdsOf := func(building string) []string {
			return walkListed(t, limit, householdID, func(cursor string, limit int) ([]models.Household, string, error) {
				return s.ListedHouseholds(ctx, "c1", building, cursor, limit)
			})
		}
		wantEachOnce(t, fmt.Sprintf("c1's households in pages of %d", limit), householdsOf(""), []string{"h1", "h2", "h3"})
		wantEachOnce(t, fmt.Sprintf("b1's households in pages of %d", limit), householdsOf("b1"), []string{"h1", "h2"})
		wantEachOnce(t, fmt.Sprintf("c2's building bx read as c1's in pages of %d", limit), householdsOf("bx"), nil)
	}
	// Newest listed first: r8 was created last of c1's residents.
	if first, _, err := s.ListedResidents(ctx, "c1", "", "", 1); err != nil || len(first) != 1 || first[0].ID != "r8" {
		t.Fatalf("the first page of one is %+v, %v; want r8", first, err)
	}
	for _, cursor := range []string{"abc", "1", "0", "999", "02"} {
		if _, _, err := s.ListedResidents(ctx, "c1", "", cursor, 2); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("residents at cursor %q: %v; want ErrBadCursor", cursor, err)
		}
		if _, _, err := s.ListedHouseholds(ctx, "c1", "b1", cursor, 2); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("households at cursor %q: %v; want ErrBadCursor", cursor, err)
		}
	}
}

// A page of the plain lists sends the store no scan.
func TestIssue15_DirLists_PageSendsNoScan(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	storeEach(t, 5, func(i int) error {
		if err := s.InsertHousehold(ctx, dirHousehold(fmt.Sprint("h", i), "c1", "b1", fmt.Sprint(100+i), i)); err != nil {
			return err
		}
		return s.InsertResident(ctx, dirResident(fmt.Sprint("r", i), "c1", "h0", 10+i))
	})
	watch := watchCommands(s)
	rs, next, err := s.ListedResidents(ctx, "c1", "h0", "", 3)
	if err != nil || len(rs) != 3 || next == "" {
		t.Fatalf("h0's first page: %d, %q, %v", len(rs), next, err)
	}
	if _, _, err := s.ListedResidents(ctx, "c1", "", next, 3); err != nil {
		t.Fatal(err)
	}
	if hs, _, err := s.ListedHouseholds(ctx, "c1", "b1", "", 3); err != nil || len(hs) != 3 {
		t.Fatalf("b1's first page: %d, %v", len(hs), err)
	}
	watch.wantNoScans(t, "pages of the plain lists")
}

// Issue 15: residents and households stored before the plain lists
// existed are put on them once, at the next start, even when two replicas
// start at once; a resident listed since (created by this version) is not
// listed again.
func TestIssue15_DirLists_StoredBeforeTheListsAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	other.UseDataKeys(searchTestKeys(t))
	storeEach(t, 3, func(i int) error {
		if err := s.insert(ctx, colHouseholds, householdDoc{
			ID:        fmt.Sprint("old-h", i),
			Community: "c1",
			Building:  "b1",
			Room:      fmt.Sprint(100 + i),
			Plates:    []string{},
			Created:   time.Date(2026, 12, 7, 8, i, 0, 0, time.UTC),
		}); err != nil {
			return err
		}
		d, err := s.residentDoc(dirResident(fmt.Sprint("old-r", i), "c1", "old-h0", 10+i))
		if err != nil {
			return err
		}
		return s.insert(ctx, colResidents, d)
	})
	if err := s.InsertResident(ctx, dirResident("new-r", "c1", "old-h0", 20)); err != nil {
		t.Fatal(err)
	}
	forgetBackfills(t, s, "dir-plain-lists")
	if got, _, err := s.ListedResidents(ctx, "c1", "", "", 50); err != nil || len(got) != 1 {
		t.Fatalf("before the start c1's residents read %+v, %v; want new-r alone", got, err)
	}
	startAtOnce(t, 2, (*Store).listDirectoryOnPlainLists, s, other)
	if err := s.EnsureSchema(ctx); err != nil { // the next start finds the work done
		t.Fatal(err)
	}
	residentID := func(r models.Resident) string { return r.ID }
	for _, household := range []string{"", "old-h0"} {
		for _, limit := range []int{1, 2, 50} {
			got := walkListed(t, limit, residentID, func(cursor string, limit int) ([]models.Resident, string, error) {
				return s.ListedResidents(ctx, "c1", household, cursor, limit)
			})
			wantEachOnce(t, fmt.Sprintf("after the start the residents of %q in pages of %d", household, limit), got, []string{"new-r", "old-r2", "old-r1", "old-r0"})
		}
	}
	householdID := func(h models.Household) string { return h.ID }
	for _, building := range []string{"", "b1"} {
		got := walkListed(t, 1, householdID, func(cursor string, limit int) ([]models.Household, string, error) {
			return s.ListedHouseholds(ctx, "c1", building, cursor, limit)
		})
		wantEachOnce(t, fmt.Sprintf("after the start the households of %q", building), got, []string{"old-h2", "old-h1", "old-h0"})
	}
}

// The plain lists are read by blocks of sixteen slots, like the other
// lists, and a resident erased before or after a block was stored is
// still left out: the block keeps the erased resident's id (an erasure
// empties the slots, not the blocks), and the reader skips them as
// erased.
func TestIssue15_DirLists_BlocksAndErasedResidents(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	if err := s.InsertHousehold(ctx, dirHousehold("h1", "c1", "b1", "101", 0)); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 40 {
		id := fmt.Sprintf("r%02d", i)
		if err := s.InsertResident(ctx, dirResident(id, "c1", "h1", i)); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	erase := func(id string) {
		t.Helper()
		if err := s.EraseResident(ctx, id, "居民已注销", time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		want = slices.DeleteFunc(want, func(w string) bool { return w == id })
	}
	residentID := func(r models.Resident) string { return r.ID }
	walk := func(what, household string) {
		t.Helper()
		for _, limit := range []int{7, 50} {
			got := walkListed(t, limit, residentID, func(cursor string, limit int) ([]models.Resident, string, error) {
				return s.ListedResidents(ctx, "c1", household, cursor, limit)
			})
			wantEachOnce(t, fmt.Sprintf("%s in pages of %d", what, limit), got, want)
		}
	}
	erase("r20") // in block 1, before any block is stored
	walk("c1's residents", "")
	walk("h1's residents", "h1")
	for _, list := range []string{communityResidentsList("c1"), householdResidentsList("h1")} {
		for k := range int64(2) {
			var b listBlockDoc
			if err := s.findByID(ctx, colDirLists, blockID(list, k), &b); err != nil {
				t.Fatalf("block %d of %s after reading it: %v", k, list, err)
			}
			if k == 1 && b.Refs[20-16] != "" {
				t.Errorf("block 1 of %s, stored after r20's erasure, names %q at its slot", list, b.Refs[20-16])
			}
		}
	}
	erase("r03") // in block 0, stored while r03 was listed
	walk("c1's residents after an erasure", "")
	walk("h1's residents after an erasure", "h1")
}
