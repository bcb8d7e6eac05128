package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"
)

// The honour roll's lists (docs/PERFORMANCE.md, "Lists"), slots as in
// lists.go:
//
//   - `ix:he:<community>:n` in honour_entries: every nomination, in the
//     order they were made; slot written with the entry, in one ordered
//     insert.
//   - `ix:hl:<community>:n` in honour_entries: every entry ever listed, in
//     the order they were listed; the listing appends the slot and then
//     names it in the entry's `slots` (ListHonourOnBoard).
//   - `ix:ob:<entry>:n` in honour_objections: an entry's objections.
//
// The nominations in notice and the board are short lists on long ones:
// after ten years nearly every nomination has left its notice and nearly
// every listing has ended. Each of the two is read down to a saved floor
// (`floor:<list>` in list_heads): every slot below it is final for that
// view (the entry left notice, or its listing ended for good, or the slot
// names nothing and is older than a day). The first page of the view
// moves the floor up over at most a page of final slots before it reads,
// so a page costs what is still open plus at most one page of history,
// and that history is read once, not by every request.
//
// Crash points: a board slot appended and not yet named by its entry
// (the process died between the two) is skipped, and the listing, which
// is repeated until its entry's cached status says listed, appends
// another one and names it. Two listings of one entry racing each append
// one; the entry names the last one written, so it is on the board once.

// honourEntryList is the list of a community's nominations.
func honourEntryList(communityID string) string { return "he:" + communityID }

// honourBoardList is the list of a community's listed entries.
func honourBoardList(communityID string) string { return "hl:" + communityID }

// objectionList is the list of an entry's objections.
func objectionList(entryID string) string { return "ob:" + entryID }

// honourSettle is how old a slot that names nothing must be before a
// floor passes it: on MongoDB its record may still be on its way.
const honourSettle = 24 * time.Hour

// ListHonourOnBoard puts the entry on its community's board list once,
// at at (the listing's time): it appends a slot and names it in the
// entry's slots. An entry already named on the list is left as it is.
func (s *Store) ListHonourOnBoard(ctx context.Context, entryID string, at time.Time) error {
	var d honourEntryDoc
	if err := s.findByID(ctx, colHonourEntries, entryID, &d); err != nil {
		return err
	}
	if d.Community == "" {
		return nil
	}
	list := honourBoardList(d.Community)
	for _, sl := range d.Slots {
		if sl.List == list {
			return nil
		}
	}
	slots, err := s.insertListed(ctx, colHonourEntries, []string{list}, entryID, at, nil)
	if err != nil {
		return err
	}
	return s.setByID(ctx, colHonourEntries, entryID, bson.D{{Key: "slots", Value: append(d.Slots, slots...)}})
}

// HonourEntriesPage is one page of one of a community's honour-roll lists,
// newest first: the entries on at most limit slots below cursor ("" for
// the first page) that name their slot, and the next page's cursor (""
// at the end). The notice and board lists end at their floor (above); at
// is now, for the floor. The caller picks from the page what its view
// shows (a status, the board's rule), so a page may hold fewer than limit
// and still have a next.
func (s *Store) HonourEntriesPage(ctx context.Context, communityID string, view models.HonourList, cursor string, limit int, at time.Time) ([]models.HonourEntry, string, error) {
	var list string
	var final func(*honourEntryDoc) bool
	switch view {
	case models.HonourListAll:
		list = honourEntryList(communityID)
	case models.HonourListNotice:
		list = honourEntryList(communityID)
		final = func(d *honourEntryDoc) bool { return d.Status != string(models.HonourNotice) }
	case models.HonourListBoard:
		list = honourBoardList(communityID)
		final = func(d *honourEntryDoc) bool { return listingEnded(d, at) }
	default:
		return nil, "", fmt.Errorf("store: honour list %q: %w", view, models.ErrValidation)
	}
	var before int64
	if cursor != "" {
		c, err := parseCursor(cursor, false)
		if err != nil {
			return nil, "", err
		}
		before = c.before
	}
	floor := int64(1)
	if final != nil {
		head, err := s.listHead(ctx, colHonourEntries, list)
		if err != nil {
			return nil, "", err
		}
		if before > head+1 {
			return nil, "", badCursor(cursor)
		}
		if before == 0 {
			before = head + 1
		}
		if floor, err = s.honourFloor(ctx, list, head, limit, at, cursor == "", final); err != nil {
			return nil, "", err
		}
	}
	count := int64(limit)
	if final != nil {
		count = min(count, before-floor)
	}
	if count <= 0 {
		return []models.HonourEntry{}, "", nil
	}
	run, next, err := s.slotPage(ctx, colHonourEntries, list, before, int(count))
	if err != nil {
		return nil, "", err
	}
	docs, err := listedDocs(ctx, s, colHonourEntries, run.slots, run.refs, func(d *honourEntryDoc) []slotRef { return d.Slots }, func(*honourEntryDoc) bool { return true })
	if err != nil {
		return nil, "", err
	}
	out := make([]models.HonourEntry, len(docs))
	for i, d := range docs {
		out[i] = d.model()
	}
	if next <= floor {
		return out, "", nil
	}
	return out, slotCursor{before: next}.String(), nil
}

// listingEnded reports whether an entry on the board list is off the
// board for good at at: its listing's expiry has passed and its cached
// status says so (a listing the expiry job has not marked yet keeps the
// floor, so staff still find it under "listed"), or it was withdrawn
// after an upheld objection (revoked, never revoked by staff: no appeal
// can restore it). A revoked listing before its expiry is not final: an
// appeal may restore it.
func listingEnded(d *honourEntryDoc, at time.Time) bool {
	if d.Status == string(models.HonourRevoked) && d.Revocations == 0 {
		return true
	}
	expires := utc(d.ExpiresAt)
	return !expires.IsZero() && !at.Before(expires) && d.Status != string(models.HonourListed)
}

// honourFloor returns the floor of list (listFloor), moved up first
// (when move) over at most limit slots that are final, and saved again
// if it moved (saveListFloor). A floor is a hint: one saved too low by a racing reader
// costs reads, and a slot is final only for good, so no floor is ever
// too high. The walk reads one slot first, then two, four …, so a board
// whose floor stays where it is costs two lookups for it, not sixteen.
func (s *Store) honourFloor(ctx context.Context, list string, head int64, limit int, at time.Time, move bool, final func(*honourEntryDoc) bool) (int64, error) {
	floor, saved, err := s.listFloor(ctx, list)
	if err != nil || !move {
		return floor, err
	}
	settled := at.Add(-honourSettle)
	end := min(head, floor+int64(limit)-1)
	for batch := int64(1); floor <= end; batch *= 2 {
		upTo := min(end, floor+batch-1)
		done := make([]bool, upTo-floor+1)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for i := range done {
			sl := slotRef{List: list, N: floor + int64(i)}
			g.Go(func() error {
				var slot listSlotDoc
				if err := s.findByID(gctx, colHonourEntries, slotID(sl.List, sl.N), &slot); err != nil {
					return err // below the head every slot exists
				}
				var d honourEntryDoc
				err := s.findByID(gctx, colHonourEntries, slot.Ref, &d)
				if err != nil && !errors.Is(err, models.ErrNotFound) {
					return err
				}
				if err != nil || !named(d.Slots, sl) {
					done[i] = slot.At.Before(settled)
				} else {
					done[i] = final(&d)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return 0, err
		}
		moved := 0
		for moved < len(done) && done[moved] {
			moved++
		}
		floor += int64(moved)
		if moved < len(done) {
			break
		}
	}
	s.saveListFloor(ctx, list, saved, floor)
	return floor, nil
}

// EntryObjections is one page of an entry's objections, the latest first:
// those on at most limit slots of its list below cursor ("" for the first
// page), and the next page's cursor ("" at the end).
func (s *Store) EntryObjections(ctx context.Context, entryID, cursor string, limit int) ([]models.Objection, string, error) {
	return objectionsRead(entryID).pageAfter(ctx, s, cursor, limit)
}

// objectionsRead is the read of an entry's list of objections.
func objectionsRead(entryID string) listedRead[objectionDoc, models.Objection] {
	return listedRead[objectionDoc, models.Objection]{
		col:     colObjections,
		list:    objectionList(entryID),
		slotsOf: func(d *objectionDoc) []slotRef { return d.Slots },
		model:   (*objectionDoc).model,
	}
}

// Objections is every objection to an entry, read from its list page by
// page (the listing job's): it costs the entry's objections, not every
// objection ever made.
func (s *Store) Objections(ctx context.Context, entryID string) ([]models.Objection, error) {
	return objectionsRead(entryID).all(ctx, s)
}

// listHonourStoredBefore puts the entries and objections stored before
// their lists existed on them, once (listStoredBefore): every entry on its
// community's nominations, one ever listed on its board too, and every
// objection on its entry's list; then every entry on its nominee's list
// (listHonourNominees).
func (s *Store) listHonourStoredBefore(ctx context.Context) error {
	err := s.listStoredBefore(ctx, "honour-lists", colHonourEntries, nil, func(d bson.M) ([]string, time.Time) {
		community, _ := d["community"].(string)
		lists := []string{honourEntryList(community)}
		if listed, ok := d["listed_at"].(bson.DateTime); ok && listed.Time().Unix() > 0 {
			lists = append(lists, honourBoardList(community))
		}
		var at time.Time
		if t, ok := d["nominated"].(bson.DateTime); ok {
			at = t.Time().UTC()
		}
		return lists, at
	})
	if err != nil {
		return err
	}
	err = s.listStoredBefore(ctx, "objection-lists", colObjections, nil, func(d bson.M) ([]string, time.Time) {
		entry, _ := d["entry"].(string)
		if entry == "" {
			return nil, time.Time{}
		}
		var at time.Time
		if t, ok := d["at"].(bson.DateTime); ok {
			at = t.Time().UTC()
		}
		return []string{objectionList(entry)}, at
	})
	if err != nil {
		return err
	}
	return s.listHonourNominees(ctx)
}

// honourNomineeList is the list of the entries of one nominee (once.Nominee's
// key) stored before the nominee's numbered chain existed: entries made
// since are read along the chain, so only the start-up backfill
// (listHonourNominees) writes it.
func honourNomineeList(communityID, nominee string) string {
	return "hn:" + communityID + ":" + nominee
}

// NomineeEntriesStoredBefore is every entry on the nominee's list (nominee
// as once.Nominee gives it) in the community: the entries stored before
// the numbered chains of nominations existed, newest first. It costs the
// nominee's old entries, not the collection.
func (s *Store) NomineeEntriesStoredBefore(ctx context.Context, communityID, nominee string) ([]models.HonourEntry, error) {
	return listedRead[honourEntryDoc, models.HonourEntry]{
		col:     colHonourEntries,
		list:    honourNomineeList(communityID, nominee),
		slotsOf: func(d *honourEntryDoc) []slotRef { return d.Slots },
		model:   (*honourEntryDoc).model,
	}.all(ctx, s)
}

// listHonourNominees puts every entry stored before this start on its
// nominee's list, once (a `done:honour-nominee-lists` mark, insert-once,
// says so; every later start reads the mark and scans nothing). Entries
// made since are on their nominee's chain, so the list needs no writer
// but this one. It runs after listHonourStoredBefore, so every entry has
// slots already; an entry that names a slot on its nominee's list is
// passed over, so a start after a crash part way finishes the rest, and
// the slots the crash left unnamed are skipped by readers. Putting an
// entry that is also on a chain on the list is harmless: the reader takes
// the union.
func (s *Store) listHonourNominees(ctx context.Context) error {
	const mark = "done:honour-nominee-lists"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	var old []honourEntryDoc
	cur, err := s.c(colHonourEntries).Find(ctx, bson.D{{Key: "community", Value: bson.D{{Key: "$exists", Value: true}}}})
	err = eachDoc(ctx, cur, err, "honour entries", func(d honourEntryDoc) error {
		if !isSlot(d.ID) && d.Community != "" {
			old = append(old, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// In the order they were nominated, so the list read newest first
	// reads them newest first too.
	slices.SortStableFunc(old, func(a, b honourEntryDoc) int { return a.Nominated.Compare(b.Nominated) })
	for _, d := range old {
		list := honourNomineeList(d.Community, once.Nominee(d.Resident, d.Household))
		if slices.ContainsFunc(d.Slots, func(sl slotRef) bool { return sl.List == list }) {
			continue
		}
		added, err := s.insertListed(ctx, colHonourEntries, []string{list}, d.ID, d.Nominated, nil)
		if err != nil {
			return err
		}
		if err := s.setByID(ctx, colHonourEntries, d.ID, bson.D{{Key: "slots", Value: append(d.Slots, added...)}}); err != nil {
			return err
		}
	}
	return s.markStepDone(ctx, mark)
}
