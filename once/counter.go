package once

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/linli-community/linli/models"
)

// SlotStore keeps slots: ids taken once each, naming their holder.
type SlotStore interface {
	// InsertSlot takes slot id for holder; it returns models.ErrConflict
	// if the slot is taken.
	InsertSlot(ctx context.Context, id, holder string, at time.Time) error
	// SlotHolder returns who took slot id, or models.ErrNotFound.
	SlotHolder(ctx context.Context, id string) (string, error)
}

// HintCapacity is how many runs a Counter keeps a hint for; past it the
// least recently used hint is dropped, and that run is counted from 1
// again, which costs reads and changes no answer.
const HintCapacity = 8192

// Counter counts units of something limited with inserts only
// (docs/ARCHITECTURE.md §4.3): unit n of counter key is taken by inserting
// slot "take:<key>:<n>" for n = 1, 2, …, and given back by inserting
// "back:<key>:<k>". Both runs grow without gaps, so taking n is allowed
// only while n ≤ capacity + backs: concurrent takers race for the same n
// and the unique id lets one win. Nothing is ever updated or deleted.
type Counter struct {
	slots SlotStore
	stamp func() time.Time
	// hints is the first slot number not known to exist, per run.
	hints *lru.Cache[string, int]
}

// NewCounter returns a counter over slots that stamps each slot with
// stamp's time and keeps hints for at most HintCapacity runs.
func NewCounter(slots SlotStore, stamp func() time.Time) *Counter {
	hints, err := lru.New[string, int](HintCapacity)
	if err != nil {
		panic(fmt.Sprintf("once: hint cache: %v", err)) // only for a size ≤ 0
	}
	return &Counter{
		slots: slots,
		stamp: stamp,
		hints: hints,
	}
}

// hint is the first slot number of run not known to exist (at least 1).
func (c *Counter) hint(run string) int {
	if n, ok := c.hints.Get(run); ok && n > 0 {
		return n
	}
	return 1
}

// advance raises run's hint to n. Two callers may interleave between the
// read and the add; a lower hint only costs reads.
func (c *Counter) advance(run string, n int) {
	if old, ok := c.hints.Get(run); !ok || old < n {
		c.hints.Add(run, n)
	}
}

// count is how many slots of the gap-free run exist.
func (c *Counter) count(ctx context.Context, run string) (int, error) {
	n := c.hint(run)
	for {
		_, err := c.slots.SlotHolder(ctx, runSlot(run, n))
		if errors.Is(err, models.ErrNotFound) {
			break
		}
		if err != nil {
			return 0, err
		}
		n++
	}
	c.advance(run, n)
	return n - 1, nil
}

// Taken is how many units of key were ever taken.
func (c *Counter) Taken(ctx context.Context, key CounterKey) (int, error) {
	return c.count(ctx, takeRun(key))
}

// GivenBack is how many units of key were ever given back.
func (c *Counter) GivenBack(ctx context.Context, key CounterKey) (int, error) {
	return c.count(ctx, backRun(key))
}

// KnownFull reports whether this process already knows every unit of key
// to be taken: it reads only when its hint says capacity units are taken,
// so the common path costs nothing. False does not promise a unit; Take
// decides.
func (c *Counter) KnownFull(ctx context.Context, key CounterKey, capacity int) (bool, error) {
	taken := c.hint(takeRun(key)) - 1 // at least this many are taken
	if taken < capacity {
		return false, nil
	}
	backs, err := c.GivenBack(ctx, key)
	if err != nil {
		return false, err
	}
	return taken >= capacity+backs, nil
}

// Holder returns who took unit n of key, or models.ErrNotFound.
func (c *Counter) Holder(ctx context.Context, key CounterKey, n int) (string, error) {
	return c.slots.SlotHolder(ctx, runSlot(takeRun(key), n))
}

// GiverBack returns whose give-back filled back slot k of key, or
// models.ErrNotFound.
func (c *Counter) GiverBack(ctx context.Context, key CounterKey, k int) (string, error) {
	return c.slots.SlotHolder(ctx, runSlot(backRun(key), k))
}

// Find returns the number of the unit of key holder took, or 0 if it took
// none, walking the whole take run.
func (c *Counter) Find(ctx context.Context, key CounterKey, holder string) (int, error) {
	run := takeRun(key)
	for n := 1; ; n++ {
		h, err := c.slots.SlotHolder(ctx, runSlot(run, n))
		if errors.Is(err, models.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if h == holder {
			return n, nil
		}
	}
}

// Take takes one unit of key for holder and returns its number, or 0 when
// all capacity units are taken. With recheck it first looks for a unit
// holder took already (a repeat of an interrupted request) and returns it.
func (c *Counter) Take(ctx context.Context, key CounterKey, capacity int, holder string, recheck bool) (int, error) {
	if recheck {
		n, err := c.Find(ctx, key, holder)
		if err != nil || n > 0 {
			return n, err
		}
	}
	run := takeRun(key)
	backs, err := c.GivenBack(ctx, key)
	if err != nil {
		return 0, err
	}
	n := c.hint(run)
	for {
		if n > capacity+backs {
			if backs, err = c.GivenBack(ctx, key); err != nil {
				return 0, err
			}
			if n > capacity+backs {
				return 0, nil
			}
		}
		err := c.slots.InsertSlot(ctx, runSlot(run, n), holder, c.stamp())
		if err == nil {
			c.advance(run, n+1)
			return n, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return 0, err
		}
		n++
		c.advance(run, n)
	}
}

// GiveBack returns holder's unit of key, exactly once per holder, in two
// keyed steps: a ticket "gave:<key>:<holder>" (":<i>" for the i-th) that
// names the back slot k it means to fill ("slot:<k>"), then the slot
// "back:<key>:<k>" itself. The crash points:
//   - before the first ticket: nothing is written; the caller's repeat
//     starts afresh;
//   - after a ticket, before its back slot (the worst: without a repair
//     the unit was lost and the stock undersold): the next caller finds
//     the ticket, reads the slot it names and fills it;
//   - after the back slot: the next caller finds the slot holds holder
//     and stops.
//
// A ticket whose slot another holder filled first is followed by the
// next ticket; every caller for one holder walks the same tickets, so at
// most one back slot ever holds it. A ticket names the first missing
// slot, so the back run stays gap-free. Legacy tickets (holding the
// holder) name no slot and are taken as done.
func (c *Counter) GiveBack(ctx context.Context, key CounterKey, holder string) error {
	run := backRun(key)
	for i := 1; ; i++ {
		ticket := gaveTicket(key, holder, i)
		backs, err := c.count(ctx, run)
		if err != nil {
			return err
		}
		k := backs + 1
		err = c.slots.InsertSlot(ctx, ticket, ticketNames(k), c.stamp())
		if errors.Is(err, models.ErrConflict) {
			named, err := c.slots.SlotHolder(ctx, ticket)
			if err != nil {
				return err
			}
			slot, ok := strings.CutPrefix(named, "slot:")
			if !ok {
				return nil // a legacy ticket: its give-back is done
			}
			if k, err = strconv.Atoi(slot); err != nil {
				return fmt.Errorf("give back: ticket %s names %q", ticket, named)
			}
		} else if err != nil {
			return err
		}
		err = c.slots.InsertSlot(ctx, runSlot(run, k), holder, c.stamp())
		if err == nil {
			c.advance(run, k+1)
			return nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return err
		}
		h, err := c.slots.SlotHolder(ctx, runSlot(run, k))
		if err != nil {
			return err
		}
		if h == holder {
			return nil // filled by an earlier call
		}
		// Another holder filled slot k first: the next ticket names another.
	}
}
