package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The directory's plain lists (docs/ARCHITECTURE.md §9): a community's
// residents (`dr:<community>`), a household's residents
// (`rh:<household>`), a building's households (`hb:<building>`) and a
// community's households (`hc:<community>`), kept in dir_lists beside the
// search lists (search.go) and written in the same insert as the record's
// search slots, before the record. Unlike the search lists, a record names
// its slots on these lists (`dir_slots`), so a reader keeps a slot only
// when its record names it (lists.go, named): a slot a repeat of a keyed
// create took, one an attempt that died before its record took, and the
// slot of a household a resident has since left are all skipped, and a
// record is read once on each list however often it was listed. A
// resident who moves (SetResidentProfile) takes a new slot on the new
// household's list and names it in the update that moves them.
//
// Crash points: a slot whose record was never written, or whose record
// names another slot (a move that died before its update, a start-up
// listing that died before its set), is skipped; the record keeps the
// slots it names. An erased resident's slots are tombstones (EraseResident)
// and the resident is skipped on a slot read before too.

// communityResidentsList is the list of a community's residents.
func communityResidentsList(communityID string) string { return "dr:" + communityID }

// householdResidentsList is the list of a household's residents.
func householdResidentsList(householdID string) string { return "rh:" + householdID }

// buildingHouseholdsList is the list of a building's households.
func buildingHouseholdsList(buildingID string) string { return "hb:" + buildingID }

// communityHouseholdsList is the list of a community's households.
func communityHouseholdsList(communityID string) string { return "hc:" + communityID }

// residentPlainLists are the plain lists resident r goes on when created:
// its community's and, when it has one, its household's.
func residentPlainLists(r models.Resident) []string {
	lists := []string{communityResidentsList(r.CommunityID)}
	if r.HouseholdID != "" {
		lists = append(lists, householdResidentsList(r.HouseholdID))
	}
	return lists
}

// householdPlainLists are the plain lists household h goes on: its
// building's and its community's.
func householdPlainLists(h models.Household) []string {
	return []string{buildingHouseholdsList(h.BuildingID), communityHouseholdsList(h.CommunityID)}
}

// isPlainList reports whether slot sl is on one of the plain lists, the
// slots a record names.
func isPlainList(sl slotRef) bool {
	for _, prefix := range []string{"dr:", "rh:", "hb:", "hc:"} {
		if strings.HasPrefix(sl.List, prefix) {
			return true
		}
	}
	return false
}

// plainSlots is the slots of slots that are on plain lists.
func plainSlots(slots []slotRef) []slotRef {
	return slices.DeleteFunc(slices.Clone(slots), func(sl slotRef) bool { return !isPlainList(sl) })
}

// listMoved puts resident d, moving to household householdID ("" for
// none), on that household's list and returns the plain slots d names
// after the move: its community slot (taken now as well when d has none,
// as a resident not yet listed at start-up has not) and the new
// household's slot.
func (s *Store) listMoved(ctx context.Context, d residentDoc, householdID string) ([]slotRef, error) {
	want := []string{communityResidentsList(d.Community)}
	if householdID != "" {
		want = append(want, householdResidentsList(householdID))
	}
	return s.relisted(ctx, d.ID, d.DirSlots, want)
}

// relisted returns the slots record ref is to name on the lists want: the
// slots of named already on one of them, and a new slot on each of the
// others, taken now (in dir_lists). A list left out of want loses its
// slot, so a record that comes back to it takes a new one.
func (s *Store) relisted(ctx context.Context, ref string, named []slotRef, want []string) ([]slotRef, error) {
	kept := slices.DeleteFunc(slices.Clone(named), func(sl slotRef) bool {
		return !slices.Contains(want, sl.List)
	})
	missing := slices.DeleteFunc(slices.Clone(want), func(list string) bool {
		return slices.ContainsFunc(kept, func(sl slotRef) bool { return sl.List == list })
	})
	if len(missing) == 0 {
		return kept, nil
	}
	slots, err := s.insertListed(ctx, colDirLists, missing, ref, time.Time{}, nil)
	if err != nil {
		return nil, err
	}
	return append(kept, slots...), nil
}

// ListedResidents is one page of a community's residents, or (householdID
// not "") of one household's, the latest listed first: at most limit slots
// of the list below cursor ("" for the first page), and the next page's
// cursor ("" at the end). A page costs its own size however many
// residents there are, and may hold fewer than limit with a next; erased
// residents, residents of another community and residents who moved out
// of the household are left out. A cursor the list did not give out is
// models.ErrBadCursor.
func (s *Store) ListedResidents(ctx context.Context, communityID, householdID, cursor string, limit int) ([]models.Resident, string, error) {
	docs, next, err := residentsRead(communityID, householdID).pageAfter(ctx, s, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out, err := s.residentModels(docs)
	return out, next, err
}

// HouseholdResidents is every resident who lives in household householdID
// of community communityID now, the latest listed first, read from the
// household's list (its own size, not the community's).
func (s *Store) HouseholdResidents(ctx context.Context, communityID, householdID string) ([]models.Resident, error) {
	if householdID == "" {
		return nil, nil // the list of "" would be the community's
	}
	docs, err := residentsRead(communityID, householdID).all(ctx, s)
	if err != nil {
		return nil, err
	}
	return s.residentModels(docs)
}

// residentsRead is the read of a community's list of residents, or
// (householdID not "") of one household's, keeping the residents of the
// community who are not erased and live in the household now.
func residentsRead(communityID, householdID string) listedRead[residentDoc, *residentDoc] {
	list := communityResidentsList(communityID)
	if householdID != "" {
		list = householdResidentsList(householdID)
	}
	return residentListRead(list, func(d *residentDoc) []slotRef { return d.DirSlots }, func(d *residentDoc) bool {
		return d.Community == communityID && d.Erased == nil && (householdID == "" || d.Household == householdID)
	})
}

// residentListRead is the read of a list of residents in dir_lists whose
// residents name their slots in slotsOf, keeping those keep accepts.
func residentListRead(list string, slotsOf func(*residentDoc) []slotRef, keep func(*residentDoc) bool) listedRead[residentDoc, *residentDoc] {
	return listedRead[residentDoc, *residentDoc]{
		col:     colResidents,
		slotCol: colDirLists,
		list:    list,
		slotsOf: slotsOf,
		keep:    keep,
		model:   func(d *residentDoc) *residentDoc { return d },
	}
}

// residentModels are the residents of docs, their sealed fields opened.
func (s *Store) residentModels(docs []*residentDoc) ([]models.Resident, error) {
	out := make([]models.Resident, len(docs))
	for i, d := range docs {
		var err error
		if out[i], err = s.residentModel(*d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListedHouseholds is one page of a community's households, or
// (buildingID not "") of one building's, the latest listed first, paged by
// cursor as ListedResidents is.
func (s *Store) ListedHouseholds(ctx context.Context, communityID, buildingID, cursor string, limit int) ([]models.Household, string, error) {
	list := communityHouseholdsList(communityID)
	if buildingID != "" {
		list = buildingHouseholdsList(buildingID)
	}
	read := listedRead[householdDoc, models.Household]{
		col:     colHouseholds,
		slotCol: colDirLists,
		list:    list,
		slotsOf: func(d *householdDoc) []slotRef { return d.DirSlots },
		keep: func(d *householdDoc) bool {
			return d.Community == communityID && (buildingID == "" || d.Building == buildingID)
		},
		model: func(d *householdDoc) models.Household { return d.model() },
	}
	return read.pageAfter(ctx, s, cursor, limit)
}

// listDirectoryOnPlainLists puts the residents and households stored
// before the plain lists existed (those naming no slot of them) on them,
// once (a `done:` mark says so, as listDirectoryStoredBefore does for the
// search lists), oldest first, so the lists read newest first read them
// newest first too. Each record's slots are written first and then named
// in the record; a crash between the two leaves slots no record names,
// skipped by readers, and the next start lists the record again. A record
// that a live replica listed meanwhile (a resident moved while this ran)
// is read again just before and left as it is.
func (s *Store) listDirectoryOnPlainLists(ctx context.Context) error {
	const mark = "done:dir-plain-lists"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	unlisted := bson.D{{Key: "community", Value: bson.D{{Key: "$exists", Value: true}}},
		{Key: "dir_slots", Value: bson.D{{Key: "$exists", Value: false}}}}
	var residents []residentDoc
	cur, err := s.c(colResidents).Find(ctx, unlisted)
	if err := eachDoc(ctx, cur, err, "residents", func(d residentDoc) error { residents = append(residents, d); return nil }); err != nil {
		return err
	}
	slices.SortStableFunc(residents, func(a, b residentDoc) int { return a.Created.Compare(b.Created) })
	for _, d := range residents {
		r := models.Resident{
			ID:          d.ID,
			CommunityID: d.Community,
			HouseholdID: d.Household,
			Created:     d.Created,
		}
		if err := s.listUnlisted(ctx, colResidents, d.ID, residentPlainLists(r), d.Created); err != nil {
			return err
		}
	}
	var households []householdDoc
	cur, err = s.c(colHouseholds).Find(ctx, unlisted)
	if err := eachDoc(ctx, cur, err, "households", func(d householdDoc) error { households = append(households, d); return nil }); err != nil {
		return err
	}
	slices.SortStableFunc(households, func(a, b householdDoc) int { return a.Created.Compare(b.Created) })
	for _, d := range households {
		if err := s.listUnlisted(ctx, colHouseholds, d.ID, householdPlainLists(d.model()), d.Created); err != nil {
			return err
		}
	}
	return s.markStepDone(ctx, mark)
}

// listUnlisted puts record id of col on lists and names the slots in it,
// unless it names plain slots by now (listDirectoryOnPlainLists).
func (s *Store) listUnlisted(ctx context.Context, col, id string, lists []string, at time.Time) error {
	var now struct {
		DirSlots []slotRef `bson:"dir_slots"`
	}
	if err := s.findByID(ctx, col, id, &now); errors.Is(err, models.ErrNotFound) || len(now.DirSlots) > 0 {
		return nil
	} else if err != nil {
		return err
	}
	slots, err := s.insertListed(ctx, colDirLists, lists, id, at, nil)
	if err != nil {
		return err
	}
	return s.setByID(ctx, col, id, bson.D{{Key: "dir_slots", Value: slots}})
}
