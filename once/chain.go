package once

import (
	"context"
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/linli-community/linli/models"
)

// LinkStore keeps the links of chains and the notes that find a ref's link.
type LinkStore interface {
	// InsertLink adds link l.N of chain l.Chain; it returns
	// models.ErrConflict if that number is taken.
	InsertLink(ctx context.Context, l models.Link) error
	// Link returns link n of chain, or models.ErrNotFound.
	Link(ctx context.Context, chain string, n int64) (models.Link, error)
	// SetFlag writes (or overwrites) the note m.
	SetFlag(ctx context.Context, m models.Mark) error
	// Mark returns the note with id, or models.ErrNotFound.
	Mark(ctx context.Context, id string) (models.Mark, error)
}

// appendAttempts bounds how often Append loses the race for the next
// number before it gives up with models.ErrConflict.
const appendAttempts = 100

// Chains appends numbered links to chains (docs/ARCHITECTURE.md §4.7): link
// N of a chain is an insert at "<chain>:<N, 12 digits>", built from link
// N−1, so of two writers racing for N exactly one wins and the other
// reads on. A chain is a running total (a day's quota, the points carry)
// or an index (a resident's records of a day) with no document to update.
type Chains struct {
	links LinkStore
	stamp func() time.Time
	// heads is the last link number known per chain, a hint only.
	heads *lru.Cache[string, int64]
}

// NewChains returns chains over links, stamping each link with stamp's
// time and keeping a head hint for at most HintCapacity chains.
func NewChains(links LinkStore, stamp func() time.Time) *Chains {
	heads, err := lru.New[string, int64](HintCapacity)
	if err != nil {
		panic(fmt.Sprintf("once: head cache: %v", err)) // only for a size ≤ 0
	}
	return &Chains{
		links: links,
		stamp: stamp,
		heads: heads,
	}
}

// head returns the last link number of chain this process knows of (0
// when it knows none): a hint where a walk may start.
func (c *Chains) head(chain ChainKey) int64 {
	n, _ := c.heads.Get(string(chain))
	return n
}

// advance records that chain has link n, keeping the highest number known.
func (c *Chains) advance(chain ChainKey, n int64) {
	if old, ok := c.heads.Get(string(chain)); !ok || old < n {
		c.heads.Add(string(chain), n)
	}
}

// Walk visits the links of chain from number from (at least 1) until the
// next is missing, and returns the last link that exists (the zero Link
// for an empty chain). An error from visit stops the walk and is
// returned.
func (c *Chains) Walk(ctx context.Context, chain ChainKey, from int64, visit func(models.Link) error) (models.Link, error) {
	var last models.Link
	if from < 1 {
		from = 1
	}
	if from > 1 {
		l, err := c.links.Link(ctx, string(chain), from-1)
		if err != nil {
			return c.Walk(ctx, chain, 1, visit) // a stale hint: start over
		}
		last = l
	}
	for n := from; ; n++ {
		l, err := c.links.Link(ctx, string(chain), n)
		if errors.Is(err, models.ErrNotFound) {
			break
		}
		if err != nil {
			return last, err
		}
		if visit != nil {
			if err := visit(l); err != nil {
				return last, err
			}
		}
		last = l
	}
	c.advance(chain, last.N)
	return last, nil
}

// Last returns the last link of chain (the zero Link for an empty chain).
func (c *Chains) Last(ctx context.Context, chain ChainKey) (models.Link, error) {
	return c.Walk(ctx, chain, 1, nil)
}

// Append adds the link that next(last) builds, once per ref: a link
// already written for ref is returned instead. A keyed note of the number
// a ref is about to take lets a repeat (after a crash, or a job run twice)
// find its link without walking the whole chain. Racing writers meet at
// the same number; the loser reads on and decides again. With check, the
// whole chain is visited and check may refuse (the day index checks every
// interval). After appendAttempts lost races it returns
// models.ErrConflict.
func (c *Chains) Append(ctx context.Context, chain ChainKey, ref string, check func(models.Link) error,
	next func(last models.Link) (models.Link, error)) (models.Link, error) {
	noteID := linkNote(chain, ref)
	from, noted := int64(1), false
	if note, err := c.links.Mark(ctx, noteID); err == nil && note.Amount > 0 {
		from, noted = note.Amount, true
	} else if err != nil && !errors.Is(err, models.ErrNotFound) {
		return models.Link{}, err
	}
	if check == nil && !noted {
		// A ref with no note has no link yet: start from the known head
		// (a note at number 1 must not be taken for "none").
		from = max(c.head(chain), 1)
	}
	if check != nil {
		from = 1
	}
	var found *models.Link
	visit := func(l models.Link) error {
		if l.Ref == ref {
			found = &l
			return nil
		}
		if check != nil {
			return check(l)
		}
		return nil
	}
	for attempt := 0; attempt < appendAttempts; attempt++ {
		last, err := c.Walk(ctx, chain, from, visit)
		if err != nil {
			return models.Link{}, err
		}
		if found != nil {
			return *found, nil
		}
		l, err := next(last)
		if err != nil {
			return models.Link{}, err
		}
		l.Chain, l.N, l.Ref, l.At = string(chain), last.N+1, ref, c.stamp()
		note := models.Mark{
			ID:     noteID,
			Kind:   "link.ref",
			Ref:    ref,
			Amount: l.N,
			At:     l.At,
		}
		if err := c.links.SetFlag(ctx, note); err != nil {
			return models.Link{}, err
		}
		err = c.links.InsertLink(ctx, l)
		if err == nil {
			c.advance(chain, l.N)
			return l, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return models.Link{}, err
		}
		if check == nil {
			from = l.N // read on from the number we lost
		}
	}
	return models.Link{}, models.ErrConflict.Withf("同时操作的人太多，请稍后再试。", "too much contention; try again")
}
