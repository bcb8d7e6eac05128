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
