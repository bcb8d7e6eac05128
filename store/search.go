package store

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"
)

// The directory's search lists (docs/PERFORMANCE.md, "Lists"): a resident
// is on one list per distinct character of their name (`rn:`) and on the
// list of their phone's last four digits (`rp:`); a household on the list
// of its room (`hr:`). The slots live in their own collection (the
// households' unique key would refuse slots beside them on MongoDB) and
// are written before the record, so a record is never missing from its
// lists. A reader looks each listed record up and keeps it only while it
// still matches (a renamed resident's old slots stop matching; a slot
// whose record was never stored points at nothing), so a page may hold
// fewer than its size and still have a next.
const colDirLists = "dir_lists"

// phoneSuffixPattern is a search for a phone: its last four digits, or the
// masked number the screens show (138****1234).
var phoneSuffixPattern = regexp.MustCompile(`^(?:1[0-9]{2}\*{4})?([0-9]{4})$`)

// residentSearchLists are the lists resident r is found on.
func residentSearchLists(r models.Resident) []string {
	var lists []string
	seen := map[rune]bool{}
	for _, ch := range r.Name {
		if ch == ' ' || seen[ch] {
			continue
		}
		seen[ch] = true
		lists = append(lists, "rn:"+r.CommunityID+":"+string(ch))
	}
	if len(r.Phone) >= 4 {
		lists = append(lists, "rp:"+r.CommunityID+":"+r.Phone[len(r.Phone)-4:])
	}
	return lists
}

// householdSearchList is the name of the list of a community's households in room.
func householdSearchList(communityID, room string) string { return "hr:" + communityID + ":" + room }

// listResident puts r on its search lists (slots only, before r is stored).
func (s *Store) listResident(ctx context.Context, r models.Resident, lists []string) error {
	if r.CommunityID == "" || len(lists) == 0 {
		return nil
	}
	_, err := s.insertListed(ctx, colDirLists, lists, r.ID, r.Created, nil)
	return err
}

// SearchResidents is one page of a community's residents whose name holds
// q, or whose phone ends in q's four digits (q may be the masked number
// 138****1234), the latest listed first: at most limit slots of one list
// below cursor ("" for the first page), and the next page's cursor (""
// at the end). The list is the phone suffix's, or that of q's first
// character, so a page costs its own size however many residents there
// are.
func (s *Store) SearchResidents(ctx context.Context, communityID, q string, cursor string, limit int) ([]models.Resident, string, error) {
	q = strings.TrimSpace(q)
	match := func(r models.Resident) bool { return strings.Contains(r.Name, q) }
	var list string
	if m := phoneSuffixPattern.FindStringSubmatch(q); m != nil {
		list = "rp:" + communityID + ":" + m[1]
		match = func(r models.Resident) bool { return strings.HasSuffix(r.Phone, m[1]) }
	} else {
		for _, ch := range q {
			list = "rn:" + communityID + ":" + string(ch)
			break
		}
	}
	if list == "" {
		return []models.Resident{}, "", nil
	}
	refs, next, err := s.pageSearch(ctx, list, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	found := make([]*models.Resident, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, ref := range refs {
		g.Go(func() error {
			var d residentDoc
			err := s.findByID(gctx, colResidents, ref, &d)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err != nil || d.Community != communityID {
				return err
			}
			r, err := s.residentModel(d)
			if err == nil && match(r) {
				found[i] = &r
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	out := []models.Resident{}
	seen := map[string]bool{}
	for _, r := range found {
		if r != nil && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, *r)
		}
	}
	return out, next, nil
}

// SearchHouseholds is one page of a community's households in room, the
// latest listed first, from its room's list below cursor ("" first), and
// the next page's cursor ("" at the end).
func (s *Store) SearchHouseholds(ctx context.Context, communityID, room, cursor string, limit int) ([]models.Household, string, error) {
	room = strings.TrimSpace(room)
	refs, next, err := s.pageSearch(ctx, householdSearchList(communityID, room), cursor, limit)
	if err != nil {
		return nil, "", err
	}
	found := make([]*householdDoc, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, ref := range refs {
		g.Go(func() error {
			var d householdDoc
			err := s.findByID(gctx, colHouseholds, ref, &d)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err == nil && d.Community == communityID && d.Room == room {
				found[i] = &d
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	out := []models.Household{}
	for _, d := range found {
		if d != nil {
			out = append(out, d.model())
		}
	}
	return out, next, nil
}

// pageSearch reads one page of a search list's refs below cursor.
func (s *Store) pageSearch(ctx context.Context, list, cursor string, limit int) ([]string, string, error) {
	var at slotCursor
	if cursor != "" {
		var err error
		if at, err = parseCursor(cursor, false); err != nil {
			return nil, "", err
		}
	}
	_, refs, next, err := s.pageSlots(ctx, colDirLists, list, at.before, limit)
	if err != nil {
		return nil, "", err
	}
	kept := refs[:0]
	for _, r := range refs {
		if r != "" {
			kept = append(kept, r)
		}
	}
	if next == 0 {
		return kept, "", nil
	}
	return kept, slotCursor{before: next}.String(), nil
}

// listDirectoryStoredBefore puts the residents and households stored
// before the search lists existed on them, once (a `done:` mark says so).
// A crash part way lists some twice at the next start; readers drop a
// resident met twice on a page.
func (s *Store) listDirectoryStoredBefore(ctx context.Context) error {
	const mark = "done:dir-search-lists"
	var m listHeadDoc
	err := s.findByID(ctx, colListHeads, mark, &m)
	if err == nil || !errors.Is(err, models.ErrNotFound) {
		return err
	}
	hasCommunity := bson.D{{Key: "community", Value: bson.D{{Key: "$exists", Value: true}}}}
	var residents []residentDoc
	cur, err := s.c(colResidents).Find(ctx, hasCommunity)
	if err := eachDoc(ctx, cur, err, "residents", func(d residentDoc) error { residents = append(residents, d); return nil }); err != nil {
		return err
	}
	for _, d := range residents {
		r, err := s.residentModel(d)
		if err != nil {
			return err
		}
		if err := s.listResident(ctx, r, residentSearchLists(r)); err != nil {
			return err
		}
	}
	var households []householdDoc
	cur, err = s.c(colHouseholds).Find(ctx, hasCommunity)
	if err := eachDoc(ctx, cur, err, "households", func(d householdDoc) error { households = append(households, d); return nil }); err != nil {
		return err
	}
	for _, d := range households {
		if _, err := s.insertListed(ctx, colDirLists, []string{householdSearchList(d.Community, d.Room)}, d.ID, d.Created, nil); err != nil {
			return err
		}
	}
	return s.insert(ctx, colListHeads, listHeadDoc{ID: mark})
}

// listRenamed puts a resident whose name changed from old to r.Name on the
// lists of the new name's characters it was not on.
func (s *Store) listRenamed(ctx context.Context, old, renamed models.Resident) error {
	had := map[string]bool{}
	for _, l := range residentSearchLists(old) {
		had[l] = true
	}
	var lists []string
	for _, l := range residentSearchLists(renamed) {
		if !had[l] {
			lists = append(lists, l)
		}
	}
	if len(lists) == 0 {
		return nil
	}
	_, err := s.insertListed(ctx, colDirLists, lists, renamed.ID, time.Time{}, nil)
	return err
}
