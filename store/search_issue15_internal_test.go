package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// searchResident is resident i of community c1, named name, phone ending 0042.
func searchResident(i int, name string) models.Resident {
	return models.Resident{
		ID:          fmt.Sprintf("sr%03d", i),
		CommunityID: "c1",
		Name:        name,
		Phone:       "13900000042",
		BirthYear:   1950,
		Created:     time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC),
	}
}

// sealedListsStore is listsStore with personal fields sealed (storetest's keys).
func sealedListsStore(t *testing.T) *Store {
	t.Helper()
	s := listsStore(t)
	s.UseDataKeys(searchTestKeys(t))
	return s
}

// searchTestKeys are storetest's data keys.
func searchTestKeys(t *testing.T) *DataKeys {
	t.Helper()
	keys, err := ParseDataKeys("test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// A page of a residents search holds at most SearchPageMax residents,
// whatever limit asks, and its cursor leads to the rest.
func TestIssue15_Search_PageIsAtMostSearchPageMax(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	for i := range 25 {
		if err := s.InsertResident(ctx, searchResident(i, fmt.Sprintf("居民%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"居民", "0042"} {
		first, next, err := s.SearchResidents(ctx, "c1", q, "", 50)
		if err != nil || len(first) != SearchPageMax || next == "" {
			t.Fatalf("q=%s: first page of %d, next %q, %v; want %d and a next", q, len(first), next, err, SearchPageMax)
		}
		rest, next, err := s.SearchResidents(ctx, "c1", q, next, 50)
		if err != nil || len(rest) != 25-SearchPageMax || next != "" {
			t.Fatalf("q=%s: second page of %d, next %q, %v", q, len(rest), next, err)
		}
		seen := map[string]bool{}
		for _, r := range append(first, rest...) {
			seen[r.ID] = true
		}
		if len(seen) != 25 {
			t.Fatalf("q=%s: the two pages hold %d residents; want 25", q, len(seen))
		}
	}
}

// A process that read a search list before another process erased a
// resident holds the slot pointing at them (slotCache); the search still
// skips the erased resident, even when their pseudonym holds the query.
func TestIssue15_Search_ErasedResidentSkippedOnASlotReadBefore(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	for i, name := range []string{"居民甲", "居民乙"} {
		if err := s.InsertResident(ctx, searchResident(i, name)); err != nil {
			t.Fatal(err)
		}
	}
	if found, _, err := s.SearchResidents(ctx, "c1", "居民", "", 20); err != nil || len(found) != 2 {
		t.Fatalf("before erasure: %d found, %v", len(found), err)
	}
	other := openReplica(t, s)
	other.UseDataKeys(searchTestKeys(t))
	if err := other.EraseResident(ctx, "sr000", "居民已注销", time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	found, _, err := s.SearchResidents(ctx, "c1", "居民", "", 20)
	if err != nil || len(found) != 1 || found[0].ID != "sr001" {
		t.Fatalf("after another process erased sr000 the search found %+v, %v; want sr001 alone", found, err)
	}
}

// Eight staff pages recording reads of the same residents at once each
// put one record per resident on that resident's access list: every
// record listed once, the lists dense.
func TestIssue15_Search_ConcurrentPagesRecordEveryReadOnce(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	const pages, residents = 8, 12
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	batches := make([][]models.AccessRecord, pages)
	for p := range batches {
		batches[p] = make([]models.AccessRecord, residents)
		for i := range batches[p] {
			batches[p][i] = models.AccessRecord{
				ID:          fmt.Sprintf("a%d-%d", p, i),
				ResidentID:  fmt.Sprintf("r%d", i),
				CommunityID: "c1",
				ActorID:     "staff1",
				ActorRoles:  []models.Role{models.RoleStaff},
				Kind:        models.AccessResidentList,
				At:          at,
			}
		}
	}
	errs := atonce.Errors(pages, func(p int) error { return s.InsertAccessRecords(ctx, batches[p]) })
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range residents {
		id := fmt.Sprintf("r%d", i)
		recs, next, err := s.AccessLog(ctx, id, "", 50)
		if err != nil || next != "" || len(recs) != pages {
			t.Fatalf("%s's access log: %d records, next %q, %v; want %d", id, len(recs), next, err, pages)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.ID] = true
		}
		if len(seen) != pages {
			t.Fatalf("%s's access log lists %d distinct records of %d", id, len(seen), len(recs))
		}
		if head, err := s.listHead(ctx, colAccessLog, accessList(id)); err != nil || head != pages {
			t.Fatalf("%s's access list ends at slot %d (%v); want %d", id, head, err, pages)
		}
	}
}

// A keyed create's repeat (the same id, community.CreatedID) takes a new
// slot on the record's search lists before its insert meets the first
// record, and an attempt that died after its slot left one naming a record
// stored only by its repeat: each record is still found once, on pages of
// any size, because only the slot listed with the record's created time
// (or a rename's, with none) is its own (listedAsCreated).
func TestIssue15_Search_RepeatedCreateFoundOnce(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	later := func(at time.Time) time.Time { return at.Add(3 * time.Second) }
	// Resident sr000: created, then its repeat. Resident sr001: an
	// attempt died after its slots; its repeat stored it.
	first := searchResident(0, "居民甲")
	if err := s.InsertResident(ctx, first); err != nil {
		t.Fatal(err)
	}
	repeat := first
	repeat.Created = later(first.Created)
	if err := s.InsertResident(ctx, repeat); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("the repeat's insert: %v; want a conflict", err)
	}
	died := searchResident(1, "居民乙")
	if err := s.listResident(ctx, died, residentSearchLists(died)); err != nil {
		t.Fatal(err)
	}
	died.Created = later(died.Created)
	if err := s.InsertResident(ctx, died); err != nil {
		t.Fatal(err)
	}
	// Household h1 of room 101, the same two ways.
	h := models.Household{
		ID:          "h1",
		CommunityID: "c1",
		BuildingID:  "b1",
		Room:        "101",
		Created:     first.Created,
	}
	if _, err := s.insertListed(ctx, colDirLists, []string{householdSearchList(h.CommunityID, h.Room)}, h.ID, h.Created, nil); err != nil {
		t.Fatal(err)
	}
	h.Created = later(h.Created)
	if err := s.InsertHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	h.Created = later(h.Created)
	if err := s.InsertHousehold(ctx, h); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("the household's repeat: %v; want a conflict", err)
	}
	for _, limit := range []int{1, 2, 3, 20} {
		for _, q := range []string{"居民", "0042"} {
			var ids []string
			for _, r := range walkPages(t, func(cursor string) ([]models.Resident, string, error) {
				return s.SearchResidents(ctx, "c1", q, cursor, limit)
			}) {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, []string{"sr001", "sr000"}) {
				t.Fatalf("q=%s in pages of %d found %v; want sr001 and sr000 once each", q, limit, ids)
			}
		}
		var ids []string
		for _, x := range walkPages(t, func(cursor string) ([]models.Household, string, error) {
			return s.SearchHouseholds(ctx, "c1", "101", cursor, limit)
		}) {
			ids = append(ids, x.ID)
		}
		if !slices.Equal(ids, []string{"h1"}) {
			t.Fatalf("room 101 in pages of %d found %v; want h1 once", limit, ids)
		}
	}
}
