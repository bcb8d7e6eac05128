package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// Lists (docs/PERFORMANCE.md, "Lists"): a listing that a screen pages
// through is a dense sequence of slots, slot n of list L stored as the
// document `ix:L:n` in the collection of the records it lists, pointing at
// one record. The embedded store looks each slot up by exact _id, so a page
// costs its own size whatever the history; on MongoDB these are _id index
// lookups too. A record is written in one ordered insert after its slots,
// naming them (`slots`); on the embedded store that insert is one SQLite
// transaction, so it costs one commit, not one per slot.
//
// Crash points: a slot whose record was never written (the process died
// between the two on MongoDB, or the record's insert found a repeat) points
// at nothing, or at a record that names another slot of the same list;
// readers skip it. A record without its slot cannot exist: the slots are
// written first. Two repeats of one request racing each take a slot; only
// the record insert that wins names its slot, so the record is listed once.

// colListHeads holds a hint of each list's last slot; _id is the list.
const colListHeads = "list_heads"

// listHintEvery is how often (in slots) an appender stores the head hint.
const listHintEvery = 16

// slotRef names one slot of one list, as a record stores it.
type slotRef struct {
	List string `bson:"l"`
	N    int64  `bson:"n"`
}

// listSlotDoc is slot n of a list, stored as `ix:L:n` in the collection of the records it
// lists: the id of the record it points at and when it was taken.
type listSlotDoc struct {
	ID  string    `bson:"_id"`
	Ref string    `bson:"ref"`
	At  time.Time `bson:"at"`
}

// listHeadDoc is a number kept under an _id in list_heads: a list's head hint, a sweep's
// position, or (with no number) a mark that a one-off step was done.
type listHeadDoc struct {
	ID string `bson:"_id"`
	N  int64  `bson:"n"`
}

// slotPrefix starts the _id of every slot; record ids never start with it.
const slotPrefix = "ix:"

// isSlot reports whether _id id is a slot's: scans of a collection that
// holds slots skip them.
func isSlot(id string) bool { return strings.HasPrefix(id, slotPrefix) }

// slotID is the _id of slot n of list.
func slotID(list string, n int64) string { return slotPrefix + list + ":" + strconv.FormatInt(n, 10) }

// listHeads is the last slot each list is known to have, per process.
type listHeads struct{ m sync.Map }

// get returns the last slot list is known to have in this process, and false when none is
// known.
func (h *listHeads) get(list string) (int64, bool) {
	v, ok := h.m.Load(list)
	if !ok {
		return 0, false
	}
	return v.(int64), true
}

// raise records that list has slot n, keeping the highest known.
func (h *listHeads) raise(list string, n int64) {
	for {
		v, loaded := h.m.LoadOrStore(list, n)
		if !loaded || v.(int64) >= n {
			return
		}
		if h.m.CompareAndSwap(list, v, n) {
			return
		}
	}
}

// listHead returns list's last slot in col: from this process's memory or
// the stored hint, then searched forward by exact _id (steps of 1, 2, 4 …
// until a slot is missing, then halving back): slots are dense, so "slot n
// exists" holds up to the head and never after, and a hint far behind
// costs a few lookups, not one per slot.
func (s *Store) listHead(ctx context.Context, col, list string) (int64, error) {
	return s.listHeadAbove(ctx, col, list, 0)
}

// listHeadAbove is listHead when slot floor is known to exist (0: none
// known): the search starts there if it is past what memory or the hint
// says.
func (s *Store) listHeadAbove(ctx context.Context, col, list string, floor int64) (int64, error) {
	n, ok := s.heads.get(list)
	if !ok {
		var d listHeadDoc
		err := s.findByID(ctx, colListHeads, list, &d)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return 0, err
		}
		n = d.N
	}
	n = max(n, floor)
	exists := func(k int64) (bool, error) {
		var d listSlotDoc
		err := s.findByID(ctx, col, slotID(list, k), &d)
		if errors.Is(err, models.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	// lo exists (or is 0), hi does not.
	lo, step := n, int64(1)
	hi := lo + step
	for {
		ok, err := exists(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, step = hi, step*2
		hi = lo + step
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	s.heads.raise(list, lo)
	return lo, nil
}

// listFloor returns the floor of list (the first slot not known to be
// settled for good, at least 1), a hint saved under `floor:<list>` in
// list_heads: the higher of the saved one and the one this process last
// moved it to, so readers racing to save it (one may save a lower floor
// after another saved a higher) never send this process back. It also
// returns what was saved, for saveListFloor.
func (s *Store) listFloor(ctx context.Context, list string) (floor, saved int64, err error) {
	var d listHeadDoc
	if err := s.findByID(ctx, colListHeads, "floor:"+list, &d); err != nil && !errors.Is(err, models.ErrNotFound) {
		return 0, 0, err
	}
	floor = max(1, d.N)
	if known, ok := s.floors.get(list); ok {
		floor = max(floor, known)
	}
	return floor, d.N, nil
}

// saveListFloor records that list's floor is floor: in this process, and
// in list_heads when it is above what was saved there. A floor moves only
// over slots settled for good, so a saved floor is never too high; one
// saved too low only costs readers a walk.
func (s *Store) saveListFloor(ctx context.Context, list string, saved, floor int64) {
	s.floors.raise(list, floor)
	if floor > max(1, saved) {
		key := "floor:" + list
		_ = s.count(s.replaceByID(ctx, colListHeads, key, listHeadDoc{ID: key, N: floor}, true), "list floor")
	}
}

// listTurnStripes is how many turns the lists of one process share.
const listTurnStripes = 256

// listTurns gives the appenders of one list in this process one turn at a
// time, so they never collide on a slot number: without turns, concurrent
// appenders of a busy list (a community's adjustments, a partner's month
// of settlement events) all try the same next number, and every loser
// pays a failed write for it, while the embedded store writes one at a
// time anyway. A collision is then another process's, and the appender
// reads on to that process's head. Lists share a fixed number of turns
// by hash, so the memory is bounded whatever the number of lists; two
// lists that share a turn only wait for each other's writes, which the
// embedded store would have made them do anyway.
type listTurns [listTurnStripes]sync.Mutex

// take locks the turns of lists (each once, in stripe order, so two
// callers never wait on each other's) and returns the unlock.
func (t *listTurns) take(lists []string) func() {
	stripes := make([]int, 0, len(lists))
	for _, l := range lists {
		h := fnv.New32a()
		_, _ = h.Write([]byte(l))
		if i := int(h.Sum32() % listTurnStripes); !slices.Contains(stripes, i) {
			stripes = append(stripes, i)
		}
	}
	slices.Sort(stripes)
	for _, i := range stripes {
		t[i].Lock()
	}
	return func() {
		for _, i := range stripes {
			t[i].Unlock()
		}
	}
}

// nextSlot is where an appender tries first: one past the head this
// process knows, or past the stored hint. A collision moves it on.
func (s *Store) nextSlot(ctx context.Context, col, list string) (int64, error) {
	if n, ok := s.heads.get(list); ok {
		return n + 1, nil
	}
	n, err := s.listHead(ctx, col, list)
	return n + 1, err
}

// listedRecord is one record for insertListedMany: the lists it goes on,
// the id its slots point at (ref), when it was stored, and the record
// itself, built from its slots (nil: only the slots are appended, for a
// record stored before its lists existed).
type listedRecord struct {
	lists []string
	ref   string
	at    time.Time
	doc   func([]slotRef) any
}

// insertListed inserts record (built by doc from its slots) into col after
// one new slot on each of lists, as insertListedMany does for one record.
// The record's own duplicate key is models.ErrConflict, as for insert. It
// returns the slots.
func (s *Store) insertListed(ctx context.Context, col string, lists []string, ref string, at time.Time, doc func([]slotRef) any) ([]slotRef, error) {
	record := listedRecord{
		lists: lists,
		ref:   ref,
		at:    at,
		doc:   doc,
	}
	slots, inserted, err := s.insertListedMany(ctx, col, []listedRecord{record}, listHintEvery)
	if err != nil {
		return nil, err
	}
	if inserted == 0 {
		return nil, fmt.Errorf("store: insert %s: %w", col, models.ErrConflict)
	}
	return slots[0], nil
}

// insertListedMany is the one way records go on lists: it inserts records
// into col in order, each after one new slot on each of its lists, in
// ordered inserts of at most maxOrderedInsert documents (on the embedded
// store one SQLite transaction each, so a batch costs one commit per
// hundred documents), in the lists' turns (listTurns). It stops at a
// record whose id is taken (a repeat: the slots taken for it name nothing,
// and readers skip them) and returns the slots of the records before it
// and how many those are (len(records) when every record went in). A slot
// that another process took moves that list on past its head, and the
// insert goes on from there. A list's head hint is saved once for the call
// when the inserted records' slots passed a multiple of hintEvery.
func (s *Store) insertListedMany(ctx context.Context, col string, records []listedRecord, hintEvery int64) ([][]slotRef, int, error) {
	var lists []string
	for _, r := range records {
		for _, l := range r.lists {
			if !slices.Contains(lists, l) {
				lists = append(lists, l)
			}
		}
	}
	// The heads this process has not met are found before the turns, eight
	// at a time (a page of residents appends to fifty lists at once).
	if err := s.knowHeads(ctx, col, lists); err != nil {
		return nil, 0, err
	}
	slots, inserted, err := func() ([][]slotRef, int, error) {
		defer s.turns.take(lists)()
		return s.insertListedInTurn(ctx, col, records)
	}()
	// Hints are saved out of the turns, for the inserted records' slots: a
	// hint lost or not saved costs a reader a few steps forward, and the
	// next appender need not wait for it.
	type span struct{ low, high int64 }
	spans := map[string]span{}
	for _, sl := range slices.Concat(slots...) {
		sp, ok := spans[sl.List]
		if !ok {
			sp = span{low: sl.N, high: sl.N}
		}
		spans[sl.List] = span{low: min(sp.low, sl.N), high: max(sp.high, sl.N)}
	}
	for list, sp := range spans {
		if sp.high/hintEvery > (sp.low-1)/hintEvery {
			s.saveListHint(ctx, list, sp.high)
		}
	}
	return slots, inserted, err
}

// maxOrderedInsert is the most documents insertListedInTurn sends in one
// ordered insert. The embedded FerretDB inserts a command's documents in
// chunks of 100, one SQLite transaction each, and after a duplicate key in
// one chunk it still inserts the next chunk, ordered or not (its
// internal/handler/msg_insert.go breaks out of the chunk only): a longer
// batch that stopped at a repeat would leave slots stored past a gap,
// which a reader's search for the head could jump to or stop before. A
// batch of at most one chunk stops where it failed, on both stores.
const maxOrderedInsert = 100

// insertListedInTurn is insertListedMany once its turns are held.
func (s *Store) insertListedInTurn(ctx context.Context, col string, records []listedRecord) ([][]slotRef, int, error) {
	// A batch entry: slot j of record rec, or (slot < 0) the record itself.
	type entry struct{ rec, slot int }
	slots := make([][]slotRef, len(records))
	for i, r := range records {
		slots[i] = make([]slotRef, len(r.lists))
	}
	kept := make([]int, len(records)) // slots[i][:kept[i]] are stored
	from := 0                         // records[:from] are inserted
	for {
		next := map[string]int64{}
		var batch []any
		var entries []entry
		upTo := from // records[from:upTo] are in this batch
		for i := from; i < len(records); i++ {
			r := records[i]
			if docs := len(r.lists) - kept[i] + 1; i > from && len(batch)+docs > maxOrderedInsert {
				break
			}
			upTo = i + 1
			for j := kept[i]; j < len(r.lists); j++ {
				l := r.lists[j]
				n, ok := next[l]
				if !ok {
					var err error
					if n, err = s.nextSlot(ctx, col, l); err != nil {
						return nil, 0, err
					}
				}
				next[l] = n + 1
				slots[i][j] = slotRef{List: l, N: n}
				batch = append(batch, listSlotDoc{
					ID:  slotID(l, n),
					Ref: r.ref,
					At:  r.at,
				})
				entries = append(entries, entry{rec: i, slot: j})
			}
			if r.doc != nil {
				batch = append(batch, r.doc(slots[i]))
				entries = append(entries, entry{rec: i, slot: -1})
			}
		}
		err := s.write(ctx, func() error {
			_, err := s.c(col).InsertMany(ctx, batch, options.InsertMany().SetOrdered(true))
			return err
		})
		failed := failedIndex(err)
		landed := len(batch)
		if err != nil {
			landed = max(failed, 0) // not a duplicate key (failed < 0): nothing is known stored
		}
		for _, e := range entries[:landed] {
			if e.slot >= 0 {
				sl := slots[e.rec][e.slot]
				kept[e.rec]++
				s.heads.raise(sl.List, sl.N)
			}
		}
		switch {
		case err == nil && upTo == len(records):
			return slots, len(records), nil
		case err == nil:
			from = upTo
			continue
		case failed < 0:
			return nil, 0, s.count(mapErr("insert "+col, err), "insert "+col)
		}
		at := entries[failed]
		if at.slot < 0 { // the record itself: a repeat
			return slots[:at.rec], at.rec, nil
		}
		from = at.rec
		s.inserted.slotCollisions.Add(1)
		// Taken by another process: read on to its head, which exists
		// (slots are dense); the next round numbers past it.
		sl := slots[at.rec][at.slot]
		if _, err := s.listHeadAbove(ctx, col, sl.List, sl.N); err != nil {
			return nil, 0, err
		}
	}
}

// knowHeads makes sure this process knows the heads of lists in col,
// finding the unknown ones eight at a time.
func (s *Store) knowHeads(ctx context.Context, col string, lists []string) error {
	unknown := slices.DeleteFunc(slices.Clone(lists), func(l string) bool {
		_, ok := s.heads.get(l)
		return ok
	})
	if len(unknown) == 0 { // the hot paths' usual case: nothing to start
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, list := range unknown {
		g.Go(func() error {
			_, err := s.listHead(gctx, col, list)
			return err
		})
	}
	return g.Wait()
}

// failedIndex is the index in an ordered insert of the document that was a
// duplicate key, or -1 if err is nil or another failure.
func failedIndex(err error) int {
	var bwe mongo.BulkWriteException
	if err == nil || !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || bwe.WriteConcernError != nil {
		return -1
	}
	if we := bwe.WriteErrors[0]; we.Code == 11000 || we.Code == 11001 || we.Code == 12582 {
		return we.Index
	}
	return -1
}

// saveListHint stores n as list's head hint. A hint that is lost or
// behind costs a reader a few steps forward, so a failure is not the
// caller's: it is counted (onError) and forgotten.
func (s *Store) saveListHint(ctx context.Context, list string, n int64) {
	_ = s.count(s.replaceByID(ctx, colListHeads, list, listHeadDoc{ID: list, N: n}, true), "list hint")
}

// slotRun is what consecutive slots of a list hold, in the order they
// were read: each slot, the ref it holds ("" for a slot not found: none
// is missing below a list's head) and when it was taken.
type slotRun struct {
	slots []slotRef
	refs  []string
	ats   []time.Time
}

// newestFirst puts the run in reverse slot order, newest first, as a page
// shows it, and returns it: the run's slices are reversed where they are.
func (r slotRun) newestFirst() slotRun {
	slices.Reverse(r.slots)
	slices.Reverse(r.refs)
	slices.Reverse(r.ats)
	return r
}

// slotPage reads a page of at most limit slots of list in col below slot
// before (0: from the head), newest first, as slotsBetween reads them, and
// the before of the next page (0: no more). A before past the head's next
// slot was never given out: models.ErrBadCursor.
func (s *Store) slotPage(ctx context.Context, col, list string, before int64, limit int) (slotRun, int64, error) {
	head, err := s.listHead(ctx, col, list)
	if err != nil {
		return slotRun{}, 0, err
	}
	low, before, err := pageBounds(head, before, limit)
	if err != nil {
		return slotRun{}, 0, err
	}
	run, err := s.slotsBetween(ctx, col, list, head, low, before-1)
	if err != nil {
		return slotRun{}, 0, err
	}
	next := low
	if low <= 1 {
		next = 0
	}
	return run.newestFirst(), next, nil
}

// slotsBetween reads slots low..high of list in col (a list whose head is
// head, or was: a list only grows), oldest first: the slots of a full
// block (slotBlock) as the block, one lookup for sixteen, the others one
// by one, eight lookups at a time. The residents' search lists have no
// blocks (blocked).
func (s *Store) slotsBetween(ctx context.Context, col, list string, head, low, high int64) (slotRun, error) {
	count := max(0, high+1-low)
	run := slotRun{
		slots: make([]slotRef, count),
		refs:  make([]string, count),
		ats:   make([]time.Time, count),
	}
	slots, refs, ats := run.slots, run.refs, run.ats
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range slots {
		slots[i] = slotRef{List: list, N: low + int64(i)}
	}
	for i := 0; i < len(slots); {
		n := slots[i].N
		k := blockOf(n)
		if blocked(col, list) && blockFull(k, head) {
			// slots[i:j] are the run's slots of block k.
			j := i
			for j < len(slots) && blockOf(slots[j].N) == k {
				j++
			}
			from, to := i, j // i moves on below; the closure keeps these
			g.Go(func() error {
				b, err := s.slotBlockAt(gctx, col, list, k)
				if err != nil {
					return err
				}
				for x := from; x < to; x++ {
					at := slots[x].N - blockFirst(k)
					refs[x], ats[x] = b.Refs[at], b.Ats[at].UTC()
				}
				return nil
			})
			i = j
			continue
		}
		x := i // i moves on below; the closure keeps x
		g.Go(func() error {
			var d listSlotDoc
			err := s.findByID(gctx, col, slotID(list, n), &d)
			if errors.Is(err, models.ErrNotFound) {
				return nil // not possible below the head; read as empty
			}
			refs[x], ats[x] = d.Ref, d.At.UTC()
			return err
		})
		i++
	}
	if err := g.Wait(); err != nil {
		return slotRun{}, err
	}
	return run, nil
}

// pageBounds returns the slots a page of at most limit slots below slot
// before (0: from the head) of a list whose head is head takes: low up to
// before−1 (none when before <= low). A before past the head's next slot
// was never given out: models.ErrBadCursor.
func pageBounds(head, before int64, limit int) (low, below int64, err error) {
	switch {
	case before <= 0:
		before = head + 1
	case before > head+1:
		return 0, 0, badCursor(slotCursor{before: before}.String())
	}
	return max(1, before-int64(limit)), before, nil
}

// slotBlock is how many consecutive slots of a list one block holds.
const slotBlock = 16

// listBlockDoc is block k of a list: what its slots k*slotBlock+1 …
// (k+1)*slotBlock say (the record each points at, and when it was taken),
// stored as `ix:L:b<k>` beside them once all of them exist, so a reader
// looks up one document for sixteen slots. Slots are never changed or
// removed, so a block says what its slots say for ever, whoever wrote it:
// the first reader that finds a full block missing reads its slots and
// inserts it (insert-once; another reader's insert of the same block is
// the same document). A crash before the insert leaves no block, and the
// next reader inserts it.
type listBlockDoc struct {
	ID   string      `bson:"_id"`
	Refs []string    `bson:"refs"`
	Ats  []time.Time `bson:"ats"`
}

// blockID is the _id of block k of list (a slot's prefix, so scans of the
// collection skip it as they skip slots).
func blockID(list string, k int64) string {
	return slotPrefix + list + ":b" + strconv.FormatInt(k, 10)
}

// blockOf is the block that slot n (from 1) is in.
func blockOf(n int64) int64 { return (n - 1) / slotBlock }

// blockFirst is the first slot of block k.
func blockFirst(k int64) int64 { return k*slotBlock + 1 }

// blocked reports whether list in col is read by blocks: every list but
// the residents' search lists, whose slots an erasure empties
// (EraseResident) because the slot's _id says a character of the name or
// the phone's last digits; a block would keep saying whose they were. On
// the other lists in dir_lists (the directory's plain lists, the role
// lists, the catalogues) an erasure empties a resident's slots too, but
// there a slot's _id says nothing of the resident, and a block that still
// names an erased resident costs a reader one lookup: the resident is
// read and skipped as erased.
func blocked(col, list string) bool {
	return col != colDirLists || !residentSearchList(list)
}

// blockFull reports whether every slot of block k exists in a list whose
// head is head: slots are dense up to the head.
func blockFull(k, head int64) bool { return blockFirst(k)+slotBlock-1 <= head }

// slotBlockAt returns full block k of list in col: the stored block, or,
// the first time, its slots read one by one and stored as the block.
// Readers of one missing block in this process share one build, which
// runs to its end (within blockBuildTimeout) even if the request that
// started it ends first (sixteen lookups and an insert), so readers under
// load do not each pay for a block that none of them gets to store.
func (s *Store) slotBlockAt(ctx context.Context, col, list string, k int64) (listBlockDoc, error) {
	var b listBlockDoc
	err := s.findByID(ctx, col, blockID(list, k), &b)
	if err == nil && len(b.Refs) == slotBlock && len(b.Ats) == slotBlock {
		return b, nil
	}
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return b, err
	}
	id := col + "\x00" + blockID(list, k)
	ch := s.blockBuilds.DoChan(id, func() (any, error) {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), blockBuildTimeout)
		defer cancel()
		return s.buildBlock(bctx, col, list, k)
	})
	select {
	case <-ctx.Done():
		return b, ctx.Err()
	case r := <-ch:
		b, _ = r.Val.(listBlockDoc)
		return b, r.Err
	}
}

// blockBuildTimeout bounds a block's build, which outlives its request.
const blockBuildTimeout = 30 * time.Second

// buildBlock reads full block k's slots one by one and stores them as the
// block; a block that could not be stored is still returned.
func (s *Store) buildBlock(ctx context.Context, col, list string, k int64) (listBlockDoc, error) {
	b := listBlockDoc{
		ID:   blockID(list, k),
		Refs: make([]string, slotBlock),
		Ats:  make([]time.Time, slotBlock),
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	var missing atomic.Bool
	for x := range slotBlock {
		g.Go(func() error {
			var d listSlotDoc
			err := s.findByID(gctx, col, slotID(list, blockFirst(k)+int64(x)), &d)
			if errors.Is(err, models.ErrNotFound) {
				missing.Store(true)
				return nil
			}
			b.Refs[x], b.Ats[x] = d.Ref, d.At.UTC()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return b, err
	}
	if missing.Load() {
		return b, nil // not full after all: read as it is, stored by no one
	}
	// A block not stored (a failure is counted by insert) costs a later
	// reader its sixteen lookups again, nothing else: not the caller's.
	_ = s.insert(ctx, col, b)
	return b, nil
}

// named reports whether a record's stored slots include sl: a slot the
// record does not name is a leftover of a repeat or a crash.
func named(slots []slotRef, sl slotRef) bool {
	for _, s := range slots {
		if s == sl {
			return true
		}
	}
	return false
}

// slotCursor is a position in a list read newest first: the list's day
// (for lists kept per day; "" otherwise) and the slot to read below.
type slotCursor struct {
	day    string // "20261121", a UTC day
	before int64
}

// String is the cursor as clients see it: "<before>" or "<day>.<before>".
func (c slotCursor) String() string {
	if c.day == "" {
		return strconv.FormatInt(c.before, 10)
	}
	return c.day + "." + strconv.FormatInt(c.before, 10)
}

// parseCursor reads a cursor written by slotCursor.String; withDay says
// which of its two forms is expected. Anything else is
// models.ErrBadCursor.
func parseCursor(s string, withDay bool) (slotCursor, error) {
	var c slotCursor
	num := s
	if withDay {
		day, rest, ok := strings.Cut(s, ".")
		if _, err := time.Parse("20060102", day); !ok || err != nil {
			return c, badCursor(s)
		}
		c.day, num = day, rest
	}
	n, err := strconv.ParseInt(num, 10, 64)
	// A day's cursor may start at that day's head (0); otherwise a cursor
	// below 2 would read nothing and is never given out.
	if err != nil || (n < 2 && !(withDay && n == 0)) || strconv.FormatInt(n, 10) != num {
		return c, badCursor(s)
	}
	c.before = n
	return c, nil
}

// badCursor is the INVALID_CURSOR refusal of cursor s, quoting at most its first 40 bytes.
func badCursor(s string) error {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return models.ErrBadCursor.Withf("翻页位置 %[1]q 无效：请从第一页重新读取。", "cursor %[1]q is not one this list gave out; read from the first page again", s)
}

// utcDay names t's UTC day as lists kept per day do.
func utcDay(t time.Time) string { return t.UTC().Format("20060102") }

// stepDone reports whether the one-off step marked mark (a `done:` _id in
// list_heads, such as a backfill's) has run.
func (s *Store) stepDone(ctx context.Context, mark string) (bool, error) {
	var m listHeadDoc
	err := s.findByID(ctx, colListHeads, mark, &m)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// markStepDone records that the one-off step marked mark has run; a mark
// already there (another replica finished first) says the same.
func (s *Store) markStepDone(ctx context.Context, mark string) error {
	if err := s.insert(ctx, colListHeads, listHeadDoc{ID: mark}); err != nil && !errors.Is(err, models.ErrConflict) {
		return err
	}
	return nil
}

// listedClaimDoc decides which slots a backfill gives a document stored
// before its lists existed (listStoredBefore): `listed:<col>:<id>` in
// list_heads, inserted once, naming the slots of the first backfill to
// claim it.
type listedClaimDoc struct {
	ID    string    `bson:"_id"`
	Slots []slotRef `bson:"slots"`
}

// claimListed returns the slots the document claim names (for example
// `listed:<col>:<id>`) is to name: taken, if this claim is the first, or
// the first claim's. Two replicas starting at once both backfill every
// document; each takes slots, and the first claim decides which of them
// the document names, so both set the same slots and a document's slots,
// once set, never change. What a reader has seen a slot say, it says for
// ever (the copies of blocks rely on it, copiedBlockDoc).
func (s *Store) claimListed(ctx context.Context, claim string, taken []slotRef) ([]slotRef, error) {
	err := s.insert(ctx, colListHeads, listedClaimDoc{ID: claim, Slots: taken})
	if !errors.Is(err, models.ErrConflict) {
		return taken, err
	}
	var first listedClaimDoc
	if err := s.findByID(ctx, colListHeads, claim, &first); err != nil {
		return nil, err
	}
	return first.Slots, nil
}

// listStoredBefore puts the documents of col that were stored before their
// lists existed on their lists, once: a store that has them does it at the
// first start with lists, and a mark (done:<what>, insert-once) says it is
// done, so every later start reads the mark and scans nothing. A crash
// part way leaves some documents with slots and no document naming them
// (the next start gives them new ones; readers skip the old). Two
// replicas starting at once both list every document, and the first claim
// of each (claimListed) decides which slots it names: the others' slots
// name a document that does not name them, and readers skip them; the
// second mark's insert finds the first.
func (s *Store) listStoredBefore(ctx context.Context, what, col string, only bson.D, lists func(bson.M) ([]string, time.Time)) error {
	mark := "done:" + what
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	filter := bson.D{{Key: "community", Value: bson.D{{Key: "$exists", Value: true}}},
		{Key: "slots", Value: bson.D{{Key: "$exists", Value: false}}}}
	cur, err := s.c(col).Find(ctx, append(filter, only...))
	if err != nil {
		return mapErr("unlisted "+col, err)
	}
	var old []bson.M
	if err := cur.All(ctx, &old); err != nil {
		return mapErr("unlisted "+col, err)
	}
	// In the order they were stored, so a list read newest first reads
	// them newest first too.
	type unlisted struct {
		id    string
		lists []string
		at    time.Time
	}
	todo := make([]unlisted, 0, len(old))
	for _, d := range old {
		id, _ := d["_id"].(string)
		ls, at := lists(d)
		if len(ls) > 0 {
			todo = append(todo, unlisted{
				id:    id,
				lists: ls,
				at:    at,
			})
		}
	}
	slices.SortStableFunc(todo, func(a, b unlisted) int { return a.at.Compare(b.at) })
	for _, u := range todo {
		id, ls, at := u.id, u.lists, u.at
		taken, err := s.insertListed(ctx, col, ls, id, at, nil)
		if err != nil {
			return err
		}
		slots, err := s.claimListed(ctx, "listed:"+col+":"+id, taken)
		if err != nil {
			return err
		}
		if err := s.setByID(ctx, col, id, bson.D{{Key: "slots", Value: slots}}); err != nil {
			return err
		}
	}
	// Another replica starting at the same time may have finished first:
	// its mark says the same.
	return s.markStepDone(ctx, mark)
}

// listEverythingStoredBefore runs listStoredBefore for every listed
// collection.
func (s *Store) listEverythingStoredBefore(ctx context.Context) error {
	str := func(d bson.M, k string) string { v, _ := d[k].(string); return v }
	at := func(d bson.M, k string) time.Time {
		if t, ok := d[k].(bson.DateTime); ok {
			return t.Time().UTC()
		}
		return time.Time{}
	}
	err := s.listStoredBefore(ctx, "redemption-lists", colRedemptions, nil, func(d bson.M) ([]string, time.Time) {
		r := models.Redemption{
			ResidentID:  str(d, "resident"),
			CommunityID: str(d, "community"),
			PartnerID:   str(d, "partner"),
			Created:     at(d, "created"),
		}
		return redemptionLists(r), r.Created
	})
	if err != nil {
		return err
	}
	err = s.listStoredBefore(ctx, "record-lists", colRecords, nil, func(d bson.M) ([]string, time.Time) {
		if str(d, "state") == string(models.RecordVoid) || str(d, "resident") == "" {
			return nil, time.Time{}
		}
		return []string{"sr:" + str(d, "resident")}, at(d, "created")
	})
	if err != nil {
		return err
	}
	err = s.listStoredBefore(ctx, "queue-lists", colRecordQueue, nil, func(d bson.M) ([]string, time.Time) {
		return []string{queueList(str(d, "community"))}, at(d, "created")
	})
	if err != nil {
		return err
	}
	err = s.listStoredBefore(ctx, "audit-lists", colAuditLog, nil, func(d bson.M) ([]string, time.Time) {
		return []string{"audit:" + str(d, "community")}, at(d, "at")
	})
	if err != nil {
		return err
	}
	if err := s.listHonourStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listRecordsOnNewLists(ctx); err != nil {
		return err
	}
	if err := s.listDirectoryStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listDirectoryOnPlainLists(ctx); err != nil {
		return err
	}
	if err := s.listResidentsOnRoleLists(ctx); err != nil {
		return err
	}
	if err := s.listActivitiesStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listStatementsStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listSettlementEventsStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listLateSettlementEventsStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listJobRunsStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listGateEventsStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listFilialStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listCatalogueStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listTimebankStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listHeadsStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listAllowanceStoredBefore(ctx); err != nil {
		return err
	}
	if err := s.listRewardsStoredBefore(ctx); err != nil {
		return err
	}
	kinds := bson.A{}
	for k := range adjustmentKinds {
		kinds = append(kinds, string(k))
	}
	return s.listStoredBefore(ctx, "adjustment-lists", colEntries, bson.D{{Key: "kind", Value: bson.D{{Key: "$in", Value: kinds}}}},
		func(d bson.M) ([]string, time.Time) {
			return adjustmentLists(models.Entry{Kind: models.EntryKind(str(d, "kind")), CommunityID: str(d, "community")}), at(d, "at")
		})
}

// eachListed streams the records on list in col, oldest slot first,
// monthPage slots at a time (full blocks as one lookup each, slotsBetween), so
// it holds one page whatever the list's length; a slot whose record does
// not name it (slotsOf: a repeat's, or one a crash left) or that keep
// refuses is skipped.
func eachListed[D any](ctx context.Context, s *Store, col, list string, slotsOf func(*D) []slotRef, keep func(*D) bool, fn func(*D) error) error {
	l := slotList[D]{
		col:     col,
		list:    list,
		slotsOf: slotsOf,
	}
	return l.each(ctx, s, func(d *D) error {
		if !keep(d) {
			return nil
		}
		return fn(d)
	})
}

// listedDocs reads the records of the given slots (refs[i] is slot i's
// record; "" skips it) from col by _id, eight at a time, and keeps, in
// slot order, those that name their slot (slotsOf) and that keep accepts.
// A slot whose record was never written is skipped (crash points above).
func listedDocs[D any](ctx context.Context, s *Store, col string, slots []slotRef, refs []string, slotsOf func(*D) []slotRef, keep func(*D) bool) ([]*D, error) {
	docs, err := findEach[D](ctx, s, col, refs)
	if err != nil {
		return nil, err
	}
	out := make([]*D, 0, len(docs))
	for i, d := range docs {
		if d != nil && named(slotsOf(d), slots[i]) && keep(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// findEach looks each of ids up in col by _id, eight at a time: docs[i]
// is ids[i]'s document, nil where ids[i] is "" or not found.
func findEach[D any](ctx context.Context, s *Store, col string, ids []string) ([]*D, error) {
	docs := make([]*D, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range ids {
		if id == "" {
			continue
		}
		g.Go(func() error {
			d := new(D)
			err := s.findByID(gctx, col, id, d)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err == nil {
				docs[i] = d
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return docs, nil
}

// listedRead names one list read newest first a page at a time: the
// collection and the list (and the collection of its slots when they are
// kept apart, as the directory's are), how a record names its slots, which records a
// page shows (keep; nil shows every record on the list) and the model of
// each. The readers whose page is exactly "slots below the cursor, the
// records on them, the next cursor" are one listedRead each.
type listedRead[D, M any] struct {
	col     string
	slotCol string // the collection the slots are in, when not col (dir_lists)
	list    string
	slotsOf func(*D) []slotRef
	keep    func(*D) bool
	model   func(*D) M
	copies  copyMode // whether and by whom its full blocks are copied (slotList)
}

// pageAfter is the page below cursor, a cursor without a day ("" for the
// first page); a cursor never given out is models.ErrBadCursor.
func (r listedRead[D, M]) pageAfter(ctx context.Context, s *Store, cursor string, limit int) ([]M, string, error) {
	var at slotCursor
	if cursor != "" {
		var err error
		if at, err = parseCursor(cursor, false); err != nil {
			return nil, "", err
		}
	}
	return r.page(ctx, s, at, limit)
}

// allPage is how many slots of a list one read of listedRead.all takes.
const allPage = 200

// all is every record of r's list, newest first, read allPage slots at a
// time until the list ends: it costs the list, not the collection.
func (r listedRead[D, M]) all(ctx context.Context, s *Store) ([]M, error) {
	var out []M
	cursor := ""
	for {
		page, next, err := r.pageAfter(ctx, s, cursor, allPage)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// page reads at most limit slots of r's list below at.before (0: from
// the head) and returns the models of the records kept, in slot order,
// and the cursor of the next page on at's day ("" at the end).
func (r listedRead[D, M]) page(ctx context.Context, s *Store, at slotCursor, limit int) ([]M, string, error) {
	keep := r.keep
	if keep == nil {
		keep = func(*D) bool { return true }
	}
	l := slotList[D]{
		col:     r.col,
		slotCol: r.slotCol,
		list:    r.list,
		slotsOf: r.slotsOf,
		copies:  r.copies,
	}
	docs, next, err := l.below(ctx, s, at.before, limit)
	if err != nil {
		return nil, "", err
	}
	docs = slices.DeleteFunc(docs, func(d *D) bool { return !keep(d) })
	out := make([]M, len(docs))
	for i, d := range docs {
		out[i] = r.model(d)
	}
	if next == 0 {
		return out, "", nil
	}
	return out, slotCursor{day: at.day, before: next}.String(), nil
}
