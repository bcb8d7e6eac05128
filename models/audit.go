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

// TrailPlace is where a page of the audit trail starts. The trail reads
// two lists newest listed first, the community's audit records and its
// staff adjustments: Records and Adjustments are the slots a page reads
// below on each (0: from the list's newest; 1: the list is read to its
// end), so a page costs its own size however far back it is. Before, when
// set, keeps only what was made before it (older clients page by time).
type TrailPlace struct {
	Records     int64
	Adjustments int64
	Before      time.Time
}

// Listed is a read of a list newest slot first: the items, the slot each
// is listed at, and the slot the list goes on below (0: its end).
type Listed[T any] struct {
	Items []T
	Slots []int64
	Next  int64
}
