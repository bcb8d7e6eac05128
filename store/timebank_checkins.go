package store

import (
	"context"
	"slices"
	"strings"

	"github.com/linli-community/linli/models"
)

// checkinKind is the kind of the mark a check-in to an activity is.
const checkinKind = "checkin"

// checkinList is the name of an activity's list of check-ins, in tb_keys.
func checkinList(activityID string) string { return "tbci:" + activityID }

// insertCheckinMark inserts check-in d after its slot on its activity's
// list of check-ins (checkinList), in one ordered insert (lists.go);
// models.ErrConflict if the check-in exists (the new slot then names
// nothing and is skipped). Crash points as in lists.go: a slot whose mark
// was never written points at nothing and is skipped; the check-in's
// repeat takes a new slot.
func (s *Store) insertCheckinMark(ctx context.Context, d markDoc) error {
	_, err := s.insertListed(ctx, colTBKeys, []string{checkinList(d.Ref)}, d.ID, d.At, func(slots []slotRef) any {
		d.Slots = slots
		return d
	})
	return err
}

// CheckinMarks implements timebank.Store: the check-in marks of an
// activity, earliest first (by time, then id). It reads the activity's
// list of check-ins, so it costs the activity's check-ins, not tb_keys.
func (s *Store) CheckinMarks(ctx context.Context, activityID string) ([]models.Mark, error) {
	out, err := listedRead[markDoc, models.Mark]{
		col:     colTBKeys,
		list:    checkinList(activityID),
		slotsOf: func(d *markDoc) []slotRef { return d.Slots },
		keep:    func(d *markDoc) bool { return d.Kind == checkinKind && d.Ref == activityID },
		model:   (*markDoc).model,
	}.all(ctx, s)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b models.Mark) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
