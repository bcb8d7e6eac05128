package once

import (
	"context"
	"errors"

	"github.com/linli-community/linli/models"
)

// MarkStore keeps marks of type M, each under a unique id.
type MarkStore[M any] interface {
	// InsertMark stores m; it returns models.ErrConflict if a mark with
	// m's id exists, and never replaces one.
	InsertMark(ctx context.Context, m M) error
	// Mark returns the mark with id, or models.ErrNotFound.
	Mark(ctx context.Context, id string) (M, error)
}

// Decide inserts m, whose id is id, as the decision every competing
// writer races for (docs/ARCHITECTURE.md §4.2). It returns the mark that
// decided (m, or the one another writer inserted first) and whether m won;
// a loser follows the winner instead of its own intent.
func Decide[M any](ctx context.Context, marks MarkStore[M], id string, m M) (M, bool, error) {
	err := marks.InsertMark(ctx, m)
	if err == nil {
		return m, true, nil
	}
	if !errors.Is(err, models.ErrConflict) {
		var zero M
		return zero, false, err
	}
	winner, err := marks.Mark(ctx, id)
	if err != nil {
		var zero M
		return zero, false, err
	}
	return winner, false, nil
}

// Insert stores m once (docs/ARCHITECTURE.md §4.1): it reports whether
// this call inserted it; a mark already there is not an error, for a step
// whose every writer means the same thing.
func Insert[M any](ctx context.Context, marks MarkStore[M], m M) (bool, error) {
	err := marks.InsertMark(ctx, m)
	if errors.Is(err, models.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// Decided returns the mark with id and whether it exists: the reading
// half of Decide, for readers that follow a decision without making one.
func Decided[M any](ctx context.Context, marks MarkStore[M], id string) (M, bool, error) {
	m, err := marks.Mark(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		var zero M
		return zero, false, nil
	}
	if err != nil {
		var zero M
		return zero, false, err
	}
	return m, true, nil
}
