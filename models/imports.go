package models

import "time"

// ImportStatus is where a CSV import stands. An import is recorded as
// pending before its first row is written, so a repeat with the same key
// knows to finish it.
type ImportStatus string

const (
	ImportPending  ImportStatus = "pending"
	ImportDone     ImportStatus = "done"
	ImportRejected ImportStatus = "rejected"
)

// Import is the record of one CSV import of households or residents, keyed
// by its scoped idempotency key, holding what a repeat of the same request
// must answer.
type Import struct {
	ID          string
	CommunityID string
	Kind        string // households or residents
	Hash        string // of the request
	Actor       string
	Status      ImportStatus
	Rows        int // data rows in the file
	Written     int // rows written, when done
	Problems    []ImportProblem
	Started     time.Time
	Finished    time.Time
}
