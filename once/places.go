package once

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
)

// Places are the numbered places of something with a fixed capacity, such
// as an activity's places (docs/ARCHITECTURE.md §4.4): place n generation
// g is taken by inserting the mark ActivityPlace(set, n, g) naming its
// holder, and given back by inserting PlaceRelease of it; a released
// place is taken again as generation g+1. Every step is an insert, so two
// takers of one place cannot both win and a place is released once.
type Places struct {
	marks MarkStore[models.Mark]
	stamp func() time.Time
}

// NewPlaces returns places kept as marks, stamped with stamp's time.
func NewPlaces(marks MarkStore[models.Mark], stamp func() time.Time) *Places {
	return &Places{marks: marks, stamp: stamp}
}

// Take takes the first free place of set (of community, capacity places)
// for holder, or returns the place holder holds already. It returns false
// when every place is held.
func (p *Places) Take(ctx context.Context, set, communityID string, capacity int, holder string) (string, bool, error) {
	for n := 1; n <= capacity; n++ {
		for g := 0; ; g++ {
			id := ActivityPlace(set, n, g)
			m := models.Mark{
				ID:          id,
				Kind:        "slot",
				CommunityID: communityID,
				Ref:         holder,
				At:          p.stamp(),
			}
			winner, won, err := Decide(ctx, p.marks, id, m)
			if err != nil {
				return "", false, err
			}
			if won || winner.Ref == holder {
				return id, true, nil
			}
			_, released, err := Decided(ctx, p.marks, PlaceRelease(id))
			if err != nil {
				return "", false, err
			}
			if !released {
				break // held: try the next place
			}
		}
	}
	return "", false, nil
}

// Held returns the place of set holder holds, reading only; false if it
// holds none.
func (p *Places) Held(ctx context.Context, set string, capacity int, holder string) (string, bool, error) {
	for n := 1; n <= capacity; n++ {
		for g := 0; ; g++ {
			id := ActivityPlace(set, n, g)
			m, err := p.marks.Mark(ctx, id)
			if errors.Is(err, models.ErrNotFound) {
				break
			}
			if err != nil {
				return "", false, err
			}
			if m.Ref == holder {
				return id, true, nil
			}
		}
	}
	return "", false, nil
}

// Release gives place back for holder, once: a second release of the same
// place changes nothing.
func (p *Places) Release(ctx context.Context, place, communityID, holder string) error {
	_, err := Insert(ctx, p.marks, models.Mark{
		ID:          PlaceRelease(place),
		Kind:        "slot.release",
		CommunityID: communityID,
		Ref:         holder,
		At:          p.stamp(),
	})
	return err
}
