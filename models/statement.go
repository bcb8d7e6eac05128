package models

import "time"

// StatementStatus is where a partner's monthly statement (结算单) stands.
type StatementStatus string

const (
	StatementDraft     StatementStatus = "draft"     // produced by the settlement job
	StatementConfirmed StatementStatus = "confirmed" // the partner agrees with it
	StatementPaid      StatementStatus = "paid"      // staff paid (or collected) it
)

// StatementID is the key of one partner's statement for one month. The
// statement header is inserted under it once its lines are written, so the
// first complete statement is the only one.
func StatementID(partnerID string, m Month) string { return "settle:" + partnerID + ":" + m.String() }

// StatementLineID is the key of the line an event makes in a statement. It
// names the event only, so the line is also the event's insert-once claim
// on a statement: an event is on one statement at most, and a re-run of a
// settlement writes the same keys, so nothing is doubled.
func StatementLineID(eventID string) string { return "stmtline:" + eventID }

// Statement is one partner's monthly settlement: what it honoured that
// month, in fen, and who bears it.
type Statement struct {
	ID          string
	CommunityID string
	PartnerID   string
	PartnerName string
	Month       Month
	Lines       int // every line, adjustments included
	Adjustments int // lines about an earlier month (see StatementLine)
	TotalFen    Fen
	// CommunityFen and PartnerFen split TotalFen by Bearer.
	CommunityFen Fen
	PartnerFen   Fen
	Status       StatementStatus
	Created      time.Time
	ConfirmedBy  string
	ConfirmedAt  time.Time
	PaidBy       string
	PaidAt       time.Time
}

// StatementLine is one settlement event as it stands in a statement.
// Adjustment marks a line about an earlier, already closed month: a refund
// or correction of a redemption fulfilled then, or an event of that month
// recorded after it was settled (its Event.At names its business date).
type StatementLine struct {
	ID          string
	StatementID string
	Event       SettlementEvent
	Adjustment  bool
}

// StatementTotals adds up a statement's lines as they are written, so a
// month of any size is settled with constant memory.
type StatementTotals struct {
	Lines, Adjustments        int
	Total, Community, Partner Fen
}

// Add counts one line.
func (t *StatementTotals) Add(l StatementLine) {
	t.Lines++
	if l.Adjustment {
		t.Adjustments++
	}
	t.Total += l.Event.ValueFen
	if l.Event.Bearer == BearerPartner {
		t.Partner += l.Event.ValueFen
	} else {
		t.Community += l.Event.ValueFen
	}
}

// StatementTransition is a keyed record of a status change: inserted once
// per statement and status, so two confirmations cannot both happen.
type StatementTransition struct {
	StatementID string
	Status      StatementStatus
	By          string
	At          time.Time
}
