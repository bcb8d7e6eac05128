package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// Copies of blocks (docs/ARCHITECTURE.md §9): on a list whose records
// never change once written (a statement's lines, a partner's month of
// settlement events, the audit trail's records and the ledger's
// adjustments), a full block of sixteen slots whose slots are all decided
// is also kept as one document holding a copy of each slot's record,
// `ix:<list>:c<k>`, so a reader gets sixteen records in one lookup instead
// of sixteen. A slot is decided when its record is found and names it
// (the copy holds the record), or is found and names another slot of the
// same list (a repeat's leftover: the copy holds null). A slot whose
// record is not found, or names no slot of the list yet, is not decided:
// on MongoDB the record may still be on its way (a slot and its record are
// two writes there), and a document stored before its lists gets its slots
// at the next start. Records never change and a document's slots never
// change once set (claimListed), so a copy says what its slots say for
// ever, whoever stores it: insert-once, two readers store the same
// document. A block not copied is read slot by slot, as before.

// copiedBlockDoc is the copy of block k of a list: the record on each of
// its sixteen slots, as stored, or null where a slot holds none.
type copiedBlockDoc[D any] struct {
	ID      string `bson:"_id"`
	Records []*D   `bson:"records"`
}

// copiedBlockID is the _id of the copy of block k of list (a slot's
// prefix, so scans of the collection skip it as they skip slots).
func copiedBlockID(list string, k int64) string {
	return slotPrefix + list + ":c" + strconv.FormatInt(k, 10)
}

// slotList names one list for reading: the collection of its records
// (and of its slots, unless slotCol names another, as the directory's
// lists have), the list, how a record names its slots, and whether and by
// whom its full blocks are copied. The pages of listedRead and the audit
// trail (below, newest first) and the streams of eachListed, an export
// and the month's settlement (each, oldest first) read through it.
type slotList[D any] struct {
	col     string
	slotCol string // the collection the slots are in, when not col
	list    string
	slotsOf func(*D) []slotRef
	copies  copyMode
	// wholeBlocks: a page (below) reads on down to the first slot of the
	// block it ends in, so the next page starts on a block and reads
	// whole copies (the audit trail reads its two lists a block at a
	// time as it merges them).
	wholeBlocks bool
}

// copyMode says whether a list's full blocks are copied, and by whom.
type copyMode int

const (
	// noCopies: its records change (a redemption's status, a resident's
	// name), so every record is read where it is.
	noCopies copyMode = iota
	// readersCopy: a reader that read a full block record by record stores
	// its copy once every slot is decided.
	readersCopy
	// jobCopies: a job of the list's own stores the copies (the liability
	// job for a month of settlement events: it also decides a slot whose
	// record never came, which a reader cannot).
	jobCopies
)

// slotsIn is the collection list's slots are in.
func (l slotList[D]) slotsIn() string {
	if l.slotCol != "" {
		return l.slotCol
	}
	return l.col
}

// between returns the records on slots low..high of the list (a list
// whose head is head), oldest slot first: from the copy of each full block
// those slots are in, and, for a block with no copy (every block of a list
// whose records change), read slot by slot (where readers copy, the whole
// block when it is full, so its copy can be stored) and kept if they name
// their slot.
func (l slotList[D]) between(ctx context.Context, s *Store, head, low, high int64) ([]*D, error) {
	first, last := blockOf(low), blockOf(high)
	copies := make([]*copiedBlockDoc[D], last-first+1)
	if l.copies != noCopies {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for k := first; k <= last && blockFull(k, head); k++ {
			g.Go(func() error {
				var b copiedBlockDoc[D]
				err := s.findByID(gctx, l.col, copiedBlockID(l.list, k), &b)
				if errors.Is(err, models.ErrNotFound) {
					return nil
				}
				if err == nil && len(b.Records) == slotBlock {
					copies[k-first] = &b
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	var out []*D
	for n := low; n <= high; {
		k := blockOf(n)
		if b := copies[k-first]; b != nil {
			for ; n <= high && blockOf(n) == k; n++ {
				if d := b.Records[n-blockFirst(k)]; d != nil {
					out = append(out, d)
				}
			}
			continue
		}
		// The run of slots up to the next copied block; where readers
		// copy, a full block is read whole, so its copy can be stored.
		from, to := n, n
		for to < high && copies[blockOf(to+1)-first] == nil {
			to++
		}
		if l.copies == readersCopy && blockFull(blockOf(from), head) {
			from = blockFirst(blockOf(from))
		}
		if l.copies == readersCopy && blockFull(blockOf(to), head) {
			to = blockFirst(blockOf(to)) + slotBlock - 1
		}
		docs, err := l.read(ctx, s, head, from, to)
		if err != nil {
			return nil, err
		}
		if l.copies == readersCopy {
			l.copyDecided(ctx, s, head, from, docs, 0)
		}
		for i, d := range docs {
			sl := slotRef{List: l.list, N: from + int64(i)}
			if sl.N >= low && sl.N <= high && d != nil && named(l.slotsOf(d), sl) {
				out = append(out, d)
			}
		}
		n = to + 1
	}
	return out, nil
}

// read returns the record each of slots from..to (of head) points at (nil
// where the record is not found), in slot order.
func (l slotList[D]) read(ctx context.Context, s *Store, head, from, to int64) ([]*D, error) {
	run, err := s.slotsBetween(ctx, l.slotsIn(), l.list, head, from, to)
	if err != nil {
		return nil, err
	}
	return findEach[D](ctx, s, l.col, run.refs)
}

// copyDecided stores the copy of each full block among slots from… (docs[i]
// the record found for slot from+i) whose slots are all decided: by the
// rule above, or, up to slot through, by the list's job (0: none), which
// also decides a slot whose record never came. A copy already stored is
// the same document; one that could not be stored (the failure is counted
// by insert) costs a later reader its sixteen lookups again, never a
// record, so it fails neither the read nor the job.
func (l slotList[D]) copyDecided(ctx context.Context, s *Store, head, from int64, docs []*D, through int64) {
	// The copies go in together, so with group commit they share commits.
	var wg sync.WaitGroup
	for k := blockOf(from); blockFirst(k) >= from && blockFirst(k)+slotBlock-1 < from+int64(len(docs)) && blockFull(k, head); k++ {
		b := copiedBlockDoc[D]{
			ID:      copiedBlockID(l.list, k),
			Records: make([]*D, slotBlock),
		}
		decided := true
		for x := range slotBlock {
			n := blockFirst(k) + int64(x)
			d := docs[n-from]
			switch on := slotOnList(d, l); {
			case on == n:
				b.Records[x] = d
			case on == 0 && n > through:
				decided = false // not found, or not yet listed: may still come
			}
		}
		if decided {
			wg.Go(func() { _ = s.insert(ctx, l.col, b) })
		}
	}
	wg.Wait()
}

// slotOnList is the slot of l's list that record d names (0: d is nil or
// names none).
func slotOnList[D any](d *D, l slotList[D]) int64 {
	if d == nil {
		return 0
	}
	return slotOn(l.slotsOf(d), l.list)
}

// each streams the records on the list that name their slot, oldest slot
// first, monthPage slots at a time (between), so it holds one page
// whatever the list's length.
func (l slotList[D]) each(ctx context.Context, s *Store, fn func(*D) error) error {
	head, err := s.listHead(ctx, l.slotsIn(), l.list)
	if err != nil {
		return err
	}
	for low := int64(1); low <= head; low += monthPage {
		docs, err := l.between(ctx, s, head, low, min(head, low+monthPage-1))
		if err != nil {
			return err
		}
		for _, d := range docs {
			if err := fn(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// below is the page of the list's records on at most limit slots below
// slot before (0: from the head; more slots with wholeBlocks), newest
// first, and the before of the next page (0: no more), as slotPage reads
// pages.
func (l slotList[D]) below(ctx context.Context, s *Store, before int64, limit int) ([]*D, int64, error) {
	head, err := s.listHead(ctx, l.slotsIn(), l.list)
	if err != nil {
		return nil, 0, err
	}
	low, before, err := pageBounds(head, before, limit)
	if err != nil || before <= low {
		return nil, 0, err
	}
	if l.wholeBlocks {
		low = blockFirst(blockOf(low))
	}
	docs, err := l.between(ctx, s, head, low, before-1)
	if err != nil {
		return nil, 0, err
	}
	slices.Reverse(docs)
	if low <= 1 {
		return docs, 0, nil
	}
	return docs, low, nil
}
