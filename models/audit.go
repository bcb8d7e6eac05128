package models

import "time"

// AuditRecord is one entry of the staff audit trail: who did what to whom,
// when and why. Records are only ever added.
type AuditRecord struct {
	ID          string // the operation id, so a repeated request records once
	CommunityID string
	Actor       string
	Action      string // e.g. "points.award", "points.deduct", "entry.reverse"
	Subject     string // the resident or record acted on
	Amount      int64
	Category    string
	Reason      string
	Ref         string // the ledger entry it produced, if any
	At          time.Time
}

// TrailPlace is where a record stands in the audit trail, which reads
// newest first and, among records of one moment, by id from the highest:
// the next page holds the records after it.
type TrailPlace struct {
	At time.Time
	ID string
}

// Before reports whether a record made at at with id comes after p in the
// trail (nil p: every record does).
func (p *TrailPlace) Before(at time.Time, id string) bool {
	return p == nil || at.Before(p.At) || (at.Equal(p.At) && id < p.ID)
}
