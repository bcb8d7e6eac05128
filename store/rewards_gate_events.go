package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// gateEventList is the list of a community's gate events of one UTC day
// (day as utcDay writes it, of the event's own time) in gate_events
// (lists.go): a day's events are read from the lists of the UTC days the
// community's day overlaps, so the read costs those days' events, not
// every event every community's gate ever sent.
//
// Crash points (as for every list, lists.go): a slot whose event was never
// written, or whose insert met the event already recorded (the gate's
// repeat), names nothing and is skipped; an event cannot be stored
// without its slot.
func gateEventList(communityID, day string) string { return "ge:" + communityID + ":" + day }

// GateEvents returns a community's gate events at or after from and
// before to, earliest first (then by id), at most limit. It reads the
// lists of the UTC days from's to to's (a community's calendar day
// overlaps two), whole.
func (s *Store) GateEvents(ctx context.Context, communityID string, from, to time.Time, limit int) ([]models.GateEvent, error) {
	var docs []*gateEventDoc
	for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.AddDate(0, 0, 1) {
		read := listedRead[gateEventDoc, *gateEventDoc]{
			col:     colGateEvents,
			list:    gateEventList(communityID, utcDay(day)),
			slotsOf: func(d *gateEventDoc) []slotRef { return d.Slots },
			keep:    func(d *gateEventDoc) bool { return !d.At.Before(from) && d.At.Before(to) },
			model:   func(d *gateEventDoc) *gateEventDoc { return d },
		}
		got, err := read.all(ctx, s)
		if err != nil {
			return nil, err
		}
		docs = append(docs, got...)
	}
	slices.SortFunc(docs, func(a, b *gateEventDoc) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]models.GateEvent, 0, min(len(docs), limit))
	for _, d := range docs[:min(len(docs), limit)] {
		out = append(out, d.model())
	}
	return out, nil
}

// listGateEventsStoredBefore puts the gate events stored before the day
// lists existed on the lists of their days, once (listStoredBefore; the
// cached last entries, which name no community, are not events).
func (s *Store) listGateEventsStoredBefore(ctx context.Context) error {
	return s.listStoredBefore(ctx, "gate-event-lists", colGateEvents, nil, func(d bson.M) ([]string, time.Time) {
		community, _ := d["community"].(string)
		at, ok := d["at"].(bson.DateTime)
		if community == "" || !ok {
			return nil, time.Time{}
		}
		return []string{gateEventList(community, utcDay(at.Time()))}, at.Time().UTC()
	})
}
