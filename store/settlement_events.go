package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
	err := monthEvents(partnerID, m).each(ctx, s, func(d *settlementEventDoc) error { return fn(d.Fields.event(d.ID)) })
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

// monthEvents is a partner's list of the events of month m, whose full
// blocks the liability job copies (countPartnerMonth) and readers read from
// the copies (slotList).
func monthEvents(partnerID string, m models.Month) slotList[settlementEventDoc] {
	return slotList[settlementEventDoc]{
		col:     colSettlementEvents,
		list:    settlementList(partnerID, m),
		slotsOf: func(d *settlementEventDoc) []slotRef { return d.Slots },
		copies:  jobCopies,
	}
}
