package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// filialPlateList is the list of the plates registered for a parent's
// filial visits in filial_plates (lists.go), and filialBookingList the
// list of the visits booked for a parent in filial_bookings, each in the
// order they were stored: the parent's page reads its own lists, not
// every community's plates and bookings.
//
// Crash points (as for every list, lists.go): a slot whose plate or
// booking was never written, or whose insert met the one already stored
// (a repeat, or a cancelled booking booked again, which keeps its
// record), names nothing and is skipped; a plate or booking cannot be
// stored without its slot.
func filialPlateList(communityID, parentID string) string {
	return "fp:" + communityID + ":" + parentID
}

// filialBookingList is the name of a parent's list of filial bookings
// (crash points as for filialPlateList).
func filialBookingList(communityID, parentID string) string {
	return "fb:" + communityID + ":" + parentID
}

// maxFilialPlates is how many of a parent's plates FilialPlates returns.
const maxFilialPlates = 50

// FilialPlates returns the plates registered for parentID's visits, in the
// order they were registered (a few per parent), at most maxFilialPlates:
// the parent's whole list.
func (s *Store) FilialPlates(ctx context.Context, communityID, parentID string) ([]models.FilialPlate, error) {
	docs, err := listedRead[filialPlateDoc, filialPlateDoc]{
		col:     colFilialPlates,
		list:    filialPlateList(communityID, parentID),
		slotsOf: func(d *filialPlateDoc) []slotRef { return d.Slots },
		model:   func(d *filialPlateDoc) filialPlateDoc { return *d },
	}.all(ctx, s)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(docs, func(a, b filialPlateDoc) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return modelsOf(docs[:min(len(docs), maxFilialPlates)], filialPlateDoc.model), nil
}

// filialBookedAhead bounds how long before its day a visit is booked: the
// service books a day from today to 60 days on (rewards.BookFilialVisit),
// and two more days cover a community's zone against UTC and the time
// between the booking's stamp and its check.
const filialBookedAhead = 62 * 24 * time.Hour

// FilialBookings returns parentID's visit bookings for fromDay
// ("2026-11-21") and later, soonest first (then by id), at most limit. It
// reads the parent's list newest first and stops at the first booking
// stored more than filialBookedAhead before fromDay: none stored earlier
// can be for fromDay or later, so the read costs the parent's bookings of
// the last two months, not every booking they ever had.
func (s *Store) FilialBookings(ctx context.Context, communityID, parentID, fromDay string, limit int) ([]models.FilialBooking, error) {
	var oldest time.Time // a fromDay that is not a day bounds nothing: the whole list is read
	if from, err := time.Parse("2006-01-02", fromDay); err == nil {
		oldest = from.Add(-filialBookedAhead)
	}
	list := filialBookingList(communityID, parentID)
	var docs []*filialBookingDoc
	before := int64(0)
	for {
		run, next, err := s.slotPage(ctx, colFilialBookings, list, before, listHintEvery)
		if err != nil {
			return nil, err
		}
		slots, refs, ats := run.slots, run.refs, run.ats
		end := next == 0
		for i, at := range ats {
			if !at.IsZero() && at.Before(oldest) {
				slots, refs, end = slots[:i], refs[:i], true
				break
			}
		}
		got, err := listedDocs(ctx, s, colFilialBookings, slots, refs, func(d *filialBookingDoc) []slotRef { return d.Slots },
			func(d *filialBookingDoc) bool { return d.Day >= fromDay })
		if err != nil {
			return nil, err
		}
		docs = append(docs, got...)
		if end {
			break
		}
		before = next
	}
	slices.SortFunc(docs, func(a, b *filialBookingDoc) int {
		if c := cmp.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]models.FilialBooking, 0, min(len(docs), limit))
	for _, d := range docs[:min(len(docs), limit)] {
		out = append(out, d.model())
	}
	return out, nil
}

// listFilialStoredBefore puts the plates and bookings stored before their
// parents' lists existed on them, once (listStoredBefore).
func (s *Store) listFilialStoredBefore(ctx context.Context) error {
	parentList := func(list func(string, string) string) func(bson.M) ([]string, time.Time) {
		return func(d bson.M) ([]string, time.Time) {
			community, _ := d["community"].(string)
			parent, _ := d["parent"].(string)
			created, _ := d["created"].(bson.DateTime)
			if community == "" || parent == "" {
				return nil, time.Time{}
			}
			return []string{list(community, parent)}, created.Time().UTC()
		}
	}
	if err := s.listStoredBefore(ctx, "filial-plate-lists", colFilialPlates, nil, parentList(filialPlateList)); err != nil {
		return err
	}
	return s.listStoredBefore(ctx, "filial-booking-lists", colFilialBookings, nil, parentList(filialBookingList))
}
