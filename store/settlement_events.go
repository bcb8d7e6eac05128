package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// eventFields are a settlement event's fields as stored, shared by the
// event itself and by the statement line made from it.
type eventFields struct {
	Community   string    `bson:"community"`
	Partner     string    `bson:"partner"`
	Kind        string    `bson:"kind"`
	Redemption  string    `bson:"redemption,omitempty"`
	Reward      string    `bson:"reward,omitempty"`
	Resident    string    `bson:"resident,omitempty"`
	Description string    `bson:"description"`
	ValueFen    int64     `bson:"value_fen"`
	Bearer      string    `bson:"bearer"`
	At          time.Time `bson:"at"`
	Recorded    time.Time `bson:"recorded"`
	Undoes      string    `bson:"undoes,omitempty"`
}

// toEventFields returns event e's fields as stored.
func toEventFields(e models.SettlementEvent) eventFields {
	return eventFields{
		Community:   e.CommunityID,
		Partner:     e.PartnerID,
		Kind:        string(e.Kind),
		Redemption:  e.RedemptionID,
		Reward:      e.RewardID,
		Resident:    e.ResidentID,
		Description: e.Description,
		ValueFen:    int64(e.ValueFen),
		Bearer:      string(e.Bearer),
		At:          e.At,
		Recorded:    e.Recorded,
		Undoes:      e.Undoes,
	}
}

// event is the settlement event with id these fields describe.
func (f eventFields) event(id string) models.SettlementEvent {
	return models.SettlementEvent{
		ID:           id,
		CommunityID:  f.Community,
		PartnerID:    f.Partner,
		Kind:         models.SettlementEventKind(f.Kind),
		RedemptionID: f.Redemption,
		RewardID:     f.Reward,
		ResidentID:   f.Resident,
		Description:  f.Description,
		ValueFen:     models.Fen(f.ValueFen),
		Bearer:       models.Bearer(f.Bearer),
		At:           f.At.UTC(),
		Recorded:     recordedUTC(f.Recorded),
		Undoes:       f.Undoes,
	}
}

// settlementEventDoc is a settlement event as stored in settlement_events.
type settlementEventDoc struct {
	ID     string      `bson:"_id"`
	Fields eventFields `bson:",inline"` // the driver skips unexported embedded structs
	// Slots is the event's slot on its partner's month list
	// (settlement_months.go); none for an event stored before the lists
	// until the first start lists it.
	Slots []slotRef `bson:"slots,omitempty"`
}

// RecordSettlementEvent adds e after its slot on its partner's list of
// the month of e.At in its community's zone (settlementList) and, if it
// was recorded late (models.SettlementEvent.RecordedLate), on the
// partner's list of late events of the month it was recorded in
// (settlementLateList), in one ordered insert; an event with its ID
// already recorded is kept as it is and nil is returned, so recording is
// safe to repeat (the repeat's slots name an event that names other
// slots, and readers skip them).
func (s *Store) RecordSettlementEvent(ctx context.Context, e models.SettlementEvent) error {
	loc, err := s.communityZone(ctx, e.CommunityID)
	if err != nil {
		return err
	}
	taken := e.Recorded
	if taken.IsZero() {
		taken = e.At
	}
	_, err = s.insertListed(ctx, colSettlementEvents, settlementEventLists(e, loc), e.ID, taken, func(slots []slotRef) any {
		return settlementEventDoc{
			ID:     e.ID,
			Fields: toEventFields(e),
			Slots:  slots,
		}
	})
	if errors.Is(err, models.ErrConflict) {
		return nil
	}
	return err
}

// settlementEventLists are the lists event e goes on (RecordSettlementEvent).
func settlementEventLists(e models.SettlementEvent, loc *time.Location) []string {
	lists := []string{settlementList(e.PartnerID, models.MonthOf(e.At, loc))}
	if e.RecordedLate(loc) {
		lists = append(lists, settlementLateList(e.PartnerID, models.MonthOf(e.Recorded, loc)))
	}
	return lists
}

// SettlementEvent returns the event with id, or models.ErrNotFound.
func (s *Store) SettlementEvent(ctx context.Context, id string) (models.SettlementEvent, error) {
	var d settlementEventDoc
	if err := s.findByID(ctx, colSettlementEvents, id, &d); err != nil {
		return models.SettlementEvent{}, err
	}
	return d.Fields.event(d.ID), nil
}

// EachSettlementEvent streams a partner's events with from <= At < to in
// time order, holding one at a time, so a month's settlement takes the same
// memory whatever the number of events.
func (s *Store) EachSettlementEvent(ctx context.Context, partnerID string, from, to time.Time, fn func(models.SettlementEvent) error) error {
	filter := bson.D{{Key: "partner", Value: partnerID}, {Key: "at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}
	cur, err := s.c(colSettlementEvents).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	return eachDoc(ctx, cur, err, "settlement events", func(d settlementEventDoc) error { return fn(d.Fields.event(d.ID)) })
}

// recordedUTC is t in UTC, or zero when the event did not keep it.
func recordedUTC(t time.Time) time.Time {
	if t.IsZero() || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

// EachStatementCandidate streams the events a partner's statement of
// month m (in loc) may take: every event on the partner's list of m (At in
// m), in slot order, then the events recorded late with At before m and
// lateFrom <= Recorded <= lateTo, from the partner's late lists of the
// months from lateFrom's to lateTo's (settlementLateList). It reads those
// lists a page at a time by exact _id, so a month costs its own events and
// the late ones, whatever the history, and holds one page at a time. An
// event is given once per list it is on; the statement's claims keep each
// on one line.
func (s *Store) EachStatementCandidate(ctx context.Context, partnerID string, m models.Month, loc *time.Location, lateFrom, lateTo time.Time, fn func(models.SettlementEvent) error) error {
	err := s.eachMonthEvent(ctx, settlementList(partnerID, m), fn)
	if err != nil {
		return err
	}
	start := m.Start(loc)
	last := models.MonthOf(lateTo, loc)
	for late := models.MonthOf(lateFrom, loc); late.String() <= last.String(); late = late.Next() {
		err := s.eachListedEvent(ctx, settlementLateList(partnerID, late), func(e models.SettlementEvent) error {
			if !e.At.Before(start) || e.Recorded.Before(lateFrom) || e.Recorded.After(lateTo) {
				return nil
			}
			return fn(e)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachListedEvent streams the settlement events on list, oldest slot
// first (eachListed).
func (s *Store) eachListedEvent(ctx context.Context, list string, fn func(models.SettlementEvent) error) error {
	return eachListed(ctx, s, colSettlementEvents, list,
		func(d *settlementEventDoc) []slotRef { return d.Slots },
		func(*settlementEventDoc) bool { return true },
		func(d *settlementEventDoc) error { return fn(d.Fields.event(d.ID)) })
}

// eachMonthEvent streams the settlement events on a partner's month list,
// oldest slot first, as eachListedEvent does, but reads each full block
// the liability job copied into an event block (eventBlockDoc) as one
// lookup for its sixteen events; the blocks not copied, and the slots above the last full block,
// are read as eachListed reads them.
func (s *Store) eachMonthEvent(ctx context.Context, list string, fn func(models.SettlementEvent) error) error {
	head, err := s.listHead(ctx, colSettlementEvents, list)
	if err != nil {
		return err
	}
	for low := int64(1); low <= head; low += monthPage {
		docs, err := s.monthEventsIn(ctx, list, head, low, min(head, low+monthPage-1))
		if err != nil {
			return err
		}
		for _, d := range docs {
			if err := fn(d.Fields.event(d.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// monthEventsIn returns the events on slots low..high of list (low a
// block's first slot; head the list's head), in slot order: the event
// copies of the full blocks there, looked up together, and the other
// slots' events read one by one (listedDocs).
func (s *Store) monthEventsIn(ctx context.Context, list string, head, low, high int64) ([]*settlementEventDoc, error) {
	first := blockOf(low)
	blocks := make([]*eventBlockDoc, blockOf(high)-first+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for k := first; k <= blockOf(high); k++ {
		if !blockFull(k, head) {
			break
		}
		g.Go(func() error {
			var b eventBlockDoc
			err := s.findByID(gctx, colSettlementEvents, eventBlockID(list, k), &b)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err == nil && len(b.Events) == slotBlock {
				blocks[k-first] = &b
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	copied := func(n int64) bool { return blocks[blockOf(n)-first] != nil }
	var out []*settlementEventDoc
	for n := low; n <= high; {
		if copied(n) {
			for _, d := range blocks[blockOf(n)-first].Events {
				if d != nil {
					out = append(out, d)
				}
			}
			n = blockFirst(blockOf(n)) + slotBlock
			continue
		}
		end := n // the run of slots up to the next event block
		for end < high && !copied(end+1) {
			end++
		}
		slots, refs, _, err := s.slotsUp(ctx, colSettlementEvents, list, n, end)
		if err != nil {
			return nil, err
		}
		docs, err := listedDocs(ctx, s, colSettlementEvents, slots, refs,
			func(d *settlementEventDoc) []slotRef { return d.Slots },
			func(*settlementEventDoc) bool { return true })
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
		n = end + 1
	}
	return out, nil
}
