package store

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
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

// The residents' search lists: by a character of the name, and by the
// phone's last four digits.
const (
	residentNamePrefix  = "rn:"
	residentPhonePrefix = "rp:"
)

// residentNameList is the list of a community's residents whose name holds ch.
func residentNameList(communityID string, ch rune) string {
	return residentNamePrefix + communityID + ":" + string(ch)
}

// residentPhoneList is the list of a community's residents whose phone ends in last4.
func residentPhoneList(communityID, last4 string) string {
	return residentPhonePrefix + communityID + ":" + last4
}

// residentSearchLists are the lists resident r is found on.
func residentSearchLists(r models.Resident) []string {
	var lists []string
	seen := map[rune]bool{}
	for _, ch := range r.Name {
		if ch == ' ' || seen[ch] {
			continue
		}
		seen[ch] = true
		lists = append(lists, residentNameList(r.CommunityID, ch))
	}
	if len(r.Phone) >= 4 {
		lists = append(lists, residentPhoneList(r.CommunityID, r.Phone[len(r.Phone)-4:]))
	}
	return lists
}

// residentSearchList reports whether list is one of the lists residents
// are found on (residentSearchLists).
func residentSearchList(list string) bool {
	return strings.HasPrefix(list, residentNamePrefix) || strings.HasPrefix(list, residentPhonePrefix)
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

// SearchPageMax is the most residents a page of a search holds, whatever
// limit asks: each one shown costs its slot, its record and an access
// record (docs/PERFORMANCE.md, "Residents search"); the page says where the
// next starts.
const SearchPageMax = 20

// SearchResidents is one page of a community's residents whose name holds
// q, or whose phone ends in q's four digits (q may be the masked number
// 138****1234), the latest listed first: at most limit slots of one list
// below cursor ("" for the first page), and the next page's cursor (""
// at the end). The list is the phone suffix's, or that of q's first
// character, so a page costs its own size however many residents there
// are.
func (s *Store) SearchResidents(ctx context.Context, communityID, q string, cursor string, limit int) ([]models.Resident, string, error) {
	q = strings.TrimSpace(q)
	limit = min(limit, SearchPageMax)
	match := func(r models.Resident) bool { return strings.Contains(r.Name, q) }
	var list string
	if m := phoneSuffixPattern.FindStringSubmatch(q); m != nil {
		list = residentPhoneList(communityID, m[1])
		match = func(r models.Resident) bool { return strings.HasSuffix(r.Phone, m[1]) }
	} else {
		for _, ch := range q {
			list = residentNameList(communityID, ch)
			break
		}
	}
	if list == "" {
		return []models.Resident{}, "", nil
	}
	found := make([]*models.Resident, max(limit, 0))
	next, err := s.pageSearch(ctx, list, cursor, limit, func(ctx context.Context, i int, ref string, at time.Time) error {
		var d residentDoc
		err := s.findByID(ctx, colResidents, ref, &d)
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		// An erased resident is skipped even on a slot read before its
		// erasure made it a tombstone; so is a slot a repeat of the
		// resident's create took (listedAsCreated).
		if err != nil || d.Community != communityID || d.Erased != nil || !listedAsCreated(at, d.Created) {
			return err
		}
		r, err := s.residentModel(d)
		if err == nil && match(r) {
			found[i] = &r
		}
		return err
	})
	if err != nil {
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

// listedAsCreated reports whether a search list's slot listed with time at
// is its record's own: one listed with the record's created time (a
// create, or the start-up listing of records stored before the lists), or
// with none (a rename's listing, listRenamed). A slot with another time
// was taken by a repeat of a keyed create that met the record the first
// attempt stored (community.CreatedID), or by an attempt that died before
// its record: skipped, so a record is found once.
func listedAsCreated(at, created time.Time) bool {
	return at.IsZero() || at.Equal(created)
}

// SearchHouseholds is one page of a community's households in room, the
// latest listed first, from its room's list below cursor ("" first), and
// the next page's cursor ("" at the end).
func (s *Store) SearchHouseholds(ctx context.Context, communityID, room, cursor string, limit int) ([]models.Household, string, error) {
	room = strings.TrimSpace(room)
	found := make([]*householdDoc, max(limit, 0))
	next, err := s.pageSearch(ctx, householdSearchList(communityID, room), cursor, limit, func(ctx context.Context, i int, ref string, at time.Time) error {
		var d householdDoc
		err := s.findByID(ctx, colHouseholds, ref, &d)
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		if err == nil && d.Community == communityID && d.Room == room && listedAsCreated(at, d.Created) {
			found[i] = &d
		}
		return err
	})
	if err != nil {
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

// pageSearch reads one page of a search list below cursor ("" first):
// at most limit slots, newest first, eight at a time, each slot's record
// read by read (given the slot's place on the page and its ref) as soon as
// the slot is known; a tombstone is skipped. It returns the next page's
// cursor ("" at the end). A slot is never changed but by an erasure, which
// makes it a tombstone, so the slots read are kept in this process
// (slotCache): a page read again costs the list's head and its records.
func (s *Store) pageSearch(ctx context.Context, list, cursor string, limit int, read func(ctx context.Context, i int, ref string, at time.Time) error) (string, error) {
	var at slotCursor
	if cursor != "" {
		var err error
		if at, err = parseCursor(cursor, false); err != nil {
			return "", err
		}
	}
	head, err := s.listHead(ctx, colDirLists, list)
	if err != nil {
		return "", err
	}
	before := at.before
	switch {
	case before <= 0:
		before = head + 1
	case before > head+1:
		return "", badCursor(cursor)
	}
	low := max(1, before-int64(limit))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range int(before - low) {
		id := slotID(list, before-1-int64(i))
		g.Go(func() error {
			slot, ok := s.dirSlots.get(id)
			if !ok {
				var d listSlotDoc
				err := s.findByID(gctx, colDirLists, id, &d)
				if errors.Is(err, models.ErrNotFound) {
					return nil // not possible below the head; read as empty
				}
				if err != nil {
					return err
				}
				slot = dirSlot{ref: d.Ref, at: d.At.UTC()}
				s.dirSlots.put(id, slot)
			}
			if slot.ref == "" {
				return nil
			}
			return read(gctx, i, slot.ref, slot.at)
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	if low <= 1 {
		return "", nil
	}
	return slotCursor{before: low}.String(), nil
}

// slotCacheSize bounds slotCache: past it the cache starts again empty.
const slotCacheSize = 1 << 16

// slotCache is the search lists' slots this process has read, by slot
// _id. Slots are inserted once and changed only by an erasure (to a
// tombstone), which empties the cache; a reader in another process is
// covered by the resident's own erased mark.
type slotCache struct {
	mu    sync.Mutex
	slots map[string]dirSlot
}

// dirSlot is what a search list's slot says: the record it points at and
// the time it was listed with.
type dirSlot struct {
	ref string
	at  time.Time
}

// get returns slot id, and whether it is known.
func (c *slotCache) get(id string) (dirSlot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	slot, ok := c.slots[id]
	return slot, ok
}

// put records what slot id says.
func (c *slotCache) put(id string, slot dirSlot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil || len(c.slots) >= slotCacheSize {
		c.slots = make(map[string]dirSlot)
	}
	c.slots[id] = slot
}

// forget empties the cache.
func (c *slotCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slots = nil
}

// listDirectoryStoredBefore puts the residents and households stored
// before the search lists existed on them, once (a `done:` mark says so).
// A crash part way lists some twice at the next start; readers drop a
// resident met twice on a page.
func (s *Store) listDirectoryStoredBefore(ctx context.Context) error {
	const mark = "done:dir-search-lists"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
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
	return s.markStepDone(ctx, mark)
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
