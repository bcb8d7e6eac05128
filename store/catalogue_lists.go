package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A community's buildings and partners are each on a list of the
// community (lists.go), kept in dir_lists as the directory's search lists
// are (search.go: the collections' unique keys on community and name
// would refuse slots beside the records on MongoDB). They are tens per
// community, so a listing reads its community's list whole, sorts by id
// and pages by `after` as before: its cost is the community's buildings
// or partners, not every community's.
//
// Crash points: the slot is written before the record, in a write of its
// own; a slot whose record was never written, or whose insert was refused
// (a repeat, or a name the community has), points at nothing or at the
// record a repeat stored, and readers skip a record that is not there,
// not the community's, or met twice.

// buildingList is the list of a community's buildings.
func buildingList(communityID string) string { return "cb:" + communityID }

// partnerList is the list of a community's partners.
func partnerList(communityID string) string { return "cpa:" + communityID }

// listCatalogued puts the record ref on list (a slot only, before the
// record is stored).
func (s *Store) listCatalogued(ctx context.Context, list, ref string, at time.Time) error {
	_, err := s.insertListed(ctx, colDirLists, []string{list}, ref, at, nil)
	return err
}

// catalogued reads every record on list from col by _id (keep says which
// are the listing's, and gives each one's id), in id order after the id
// after, at most limit (0: all), each converted with model.
func catalogued[D, M any](ctx context.Context, s *Store, col, list, after string, limit int, keep func(D) (string, bool), model func(D) M) ([]M, error) {
	type kept struct {
		id  string
		doc D
	}
	var (
		mu    sync.Mutex
		found []kept
		seen  = map[string]bool{}
	)
	cursor := ""
	for {
		next, err := s.pageSearch(ctx, list, cursor, allPage, func(ctx context.Context, _ int, ref string, _ time.Time) error {
			var d D
			err := s.findByID(ctx, col, ref, &d)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			id, ok := keep(d)
			mu.Lock()
			defer mu.Unlock()
			if ok && id > after && !seen[id] {
				seen[id] = true
				found = append(found, kept{id: id, doc: d})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.SortFunc(found, func(a, b kept) int { return cmp.Compare(a.id, b.id) })
	if limit > 0 && len(found) > limit {
		found = found[:limit]
	}
	out := make([]M, len(found))
	for i, k := range found {
		out[i] = model(k.doc)
	}
	return out, nil
}

// listCatalogueStoredBefore puts the buildings and partners stored before
// their communities' lists existed on them, once (a `done:` mark says so,
// as listDirectoryStoredBefore does). A crash part way, or two replicas
// starting at once, list some twice; readers drop a record met twice.
func (s *Store) listCatalogueStoredBefore(ctx context.Context) error {
	const mark = "done:catalogue-lists"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	hasCommunity := bson.D{{Key: "community", Value: bson.D{{Key: "$exists", Value: true}}}}
	var buildings []buildingDoc
	cur, err := s.c(colBuildings).Find(ctx, hasCommunity)
	if err := eachDoc(ctx, cur, err, "buildings", func(d buildingDoc) error { buildings = append(buildings, d); return nil }); err != nil {
		return err
	}
	for _, d := range buildings {
		if err := s.listCatalogued(ctx, buildingList(d.Community), d.ID, d.Created); err != nil {
			return err
		}
	}
	var partners []partnerDoc
	cur, err = s.c(colPartners).Find(ctx, hasCommunity)
	if err := eachDoc(ctx, cur, err, "partners", func(d partnerDoc) error { partners = append(partners, d); return nil }); err != nil {
		return err
	}
	for _, d := range partners {
		if err := s.listCatalogued(ctx, partnerList(d.Community), d.ID, d.Created); err != nil {
			return err
		}
	}
	return s.markStepDone(ctx, mark)
}
