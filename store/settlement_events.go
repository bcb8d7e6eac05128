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
// the month of e.At in its community's zone (settlementList), in one
// ordered insert; an event with its ID already recorded is kept as it is
// and nil is returned, so recording is safe to repeat (the repeat's slot
// names an event that names another slot, and readers skip it).
func (s *Store) RecordSettlementEvent(ctx context.Context, e models.SettlementEvent) error {
	loc, err := s.communityZone(ctx, e.CommunityID)
	if err != nil {
		return err
	}
	taken := e.Recorded
	if taken.IsZero() {
		taken = e.At
	}
	lists := []string{settlementList(e.PartnerID, models.MonthOf(e.At, loc))}
	_, err = s.insertListed(ctx, colSettlementEvents, lists, e.ID, taken, func(slots []slotRef) any {
		return settlementEventDoc{ID: e.ID, Fields: toEventFields(e), Slots: slots}
	})
	if errors.Is(err, models.ErrConflict) {
		return nil
	}
	return err
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

// EachStatementCandidate streams, in time order, the events a partner's
// statement of the month [from, to) may take: those with from <= At < to,
// and those with At < from recorded at lateFrom <= Recorded <= lateTo (an
// earlier month's events recorded late). One query, so the settlement reads
// the collection once per partner. Events that kept no Recorded time are
// never among the late ones.
func (s *Store) EachStatementCandidate(ctx context.Context, partnerID string, from, to, lateFrom, lateTo time.Time, fn func(models.SettlementEvent) error) error {
	filter := bson.D{{Key: "partner", Value: partnerID}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}},
		bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: from}}},
			{Key: "recorded", Value: bson.D{{Key: "$gte", Value: lateFrom}, {Key: "$lte", Value: lateTo}}}},
	}}}
	cur, err := s.c(colSettlementEvents).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	return eachDoc(ctx, cur, err, "statement candidates", func(d settlementEventDoc) error { return fn(d.Fields.event(d.ID)) })
}
