package models

import "time"

// Bearer is who pays for a reward's money value.
type Bearer string

const (
	BearerCommunity Bearer = "community" // the community fund
	BearerPartner   Bearer = "partner"   // the partner itself
)

// SettlementEventKind is what happened that a partner's statement counts.
type SettlementEventKind string

const (
	// EventFulfilled: a redemption was honoured by the partner (a merchant
	// scan, a property-fee credit applied to a bill, a parking reduction
	// applied).
	EventFulfilled SettlementEventKind = "fulfilled"
	// EventReversed: an honoured redemption was undone (a merchant refund,
	// a voided bill); its value is negative.
	EventReversed SettlementEventKind = "reversed"
)

// SettlementEvent is one line-to-be of a partner's monthly statement. It is
// written once, keyed by ID (e.g. "fulfil:" + redemption id), and never
// changed. At is its business time (when the partner honoured or undid the
// redemption); Recorded is when the event was written, which is later when
// a crash left it to a catch-up. A statement for month M counts the events
// whose At falls in M and that were recorded before M's settlement began,
// and, as adjustment lines, events of earlier months recorded too late for
// their own month's statement; each event is on exactly one statement (its
// line is keyed by the event alone, StatementLineID).
type SettlementEvent struct {
	ID           string
	CommunityID  string
	PartnerID    string
	Kind         SettlementEventKind
	RedemptionID string
	RewardID     string
	ResidentID   string
	Description  string // what was redeemed, e.g. "早餐套餐"
	ValueFen     Fen    // negative for EventReversed
	Bearer       Bearer
	At           time.Time
	// Recorded is when the event was written; zero (events written before
	// it was kept) counts as recorded in time for its own month.
	Recorded time.Time
	// Undoes is, for EventReversed, the id of the fulfilment event the
	// reversal undoes; settlement judges the reversal by it.
	Undoes string
}

// SettlementLateMargin is how far before the end of an event's month its
// recording may fall and still be looked at by the next month's
// settlement: a write stamped just before a settlement began may land just
// after the settlement read the month, and replicas' clocks differ a little.
const SettlementLateMargin = time.Hour

// RecordedLate reports whether e was recorded in the last
// SettlementLateMargin of its own month (in loc) or after it: such an
// event may have missed that month's statement, so the settlements of
// later months look at it (as an adjustment line, if no statement has it
// yet). An event that kept no Recorded time never is.
func (e SettlementEvent) RecordedLate(loc *time.Location) bool {
	if e.Recorded.IsZero() {
		return false
	}
	return !e.Recorded.Before(MonthOf(e.At, loc).End(loc).Add(-SettlementLateMargin))
}
