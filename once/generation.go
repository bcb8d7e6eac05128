package once

import (
	"context"
	"errors"

	"github.com/linli-community/linli/models"
)

// GenState is where one generation of a numbered record stands.
type GenState int

const (
	// GenMissing is a generation not written yet: the next to claim.
	GenMissing GenState = iota
	// GenOpen is a generation written and still in force.
	GenOpen
	// GenClosed is a generation written and since cancelled, refused or
	// voided: its record's life goes on in the next generation.
	GenClosed
)

// maxGenerations bounds a walk over generations, so a state function that
// never stops answering GenClosed cannot spin forever.
const maxGenerations = 1 << 20

// Generation returns the first generation, counting from first, that is
// missing or open, with its state (docs/ARCHITECTURE.md §4.4): a record
// that can be made again after it was cancelled or refused takes the next
// number, and every reader walks past the closed ones to the same
// generation.
func Generation(ctx context.Context, first int, state func(ctx context.Context, gen int) (GenState, error)) (int, GenState, error) {
	for gen := first; gen < first+maxGenerations; gen++ {
		st, err := state(ctx, gen)
		if err != nil {
			return 0, 0, err
		}
		if st != GenClosed {
			return gen, st, nil
		}
	}
	return 0, 0, errors.New("once: no open generation")
}

// ClaimGeneration returns the generation in force, inserting the first
// missing one when none is: of two writers claiming the same generation
// exactly one inserts it (insert returns models.ErrConflict to the other,
// which reads that generation again and finds it open, or closed already
// and walks on). It reports whether this call inserted it.
func ClaimGeneration(ctx context.Context, first int, state func(ctx context.Context, gen int) (GenState, error),
	insert func(ctx context.Context, gen int) error) (int, bool, error) {
	from := first
	for {
		gen, st, err := Generation(ctx, from, state)
		if err != nil {
			return 0, false, err
		}
		if st == GenOpen {
			return gen, false, nil
		}
		err = insert(ctx, gen)
		if err == nil {
			return gen, true, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return 0, false, err
		}
		from = gen // another writer inserted it: read it again
	}
}
