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
