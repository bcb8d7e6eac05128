package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
)

// auditDoc is an audit-log entry as stored in audit_log.
type auditDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Actor     string    `bson:"actor"`
	Action    string    `bson:"action"`
	Subject   string    `bson:"subject"`
	Amount    int64     `bson:"amount"`
	Category  string    `bson:"category,omitempty"`
	Reason    string    `bson:"reason,omitempty"`
	Ref       string    `bson:"ref,omitempty"`
	At        time.Time `bson:"at"`
	Slots     []slotRef `bson:"slots,omitempty"` // its place on its community's list
}

// RecordAudit adds r to the audit trail, on its community's list
// (lists.go); a record with its ID is kept as it is.
func (s *Store) RecordAudit(ctx context.Context, r models.AuditRecord) error {
	d := auditDoc{
		ID:        r.ID,
		Community: r.CommunityID,
		Actor:     r.Actor,
		Action:    r.Action,
		Subject:   r.Subject,
		Amount:    r.Amount,
		Category:  r.Category,
		Reason:    r.Reason,
		Ref:       r.Ref,
		At:        r.At,
	}
	_, err := s.insertListed(ctx, colAuditLog, []string{"audit:" + r.CommunityID}, r.ID, r.At, func(slots []slotRef) any {
		d.Slots = slots
		return d
	})
	if errors.Is(err, models.ErrConflict) {
		return nil
	}
	return err
}

// newestListed reads list in col newest slot first, a page of limit
// slots at a time (listedDocs: one lookup each, a record that does not
// name its slot skipped), and returns the records keep accepts: limit of
// them (fewer at the list's end), and past limit every further one made
// at the same moment as the last (at), so that a page of the audit trail
// never ends inside a group of records of one moment and the next page,
// which starts after the last record shown (models.TrailPlace), misses
// none of them. Items made at or after where the page starts are skipped
// by keep, so the first page costs its own size, and a page further back
// the slots above it.
func newestListed[D any](ctx context.Context, s *Store, col, list string, limit int, slotsOf func(*D) []slotRef, keep func(*D) bool, at func(*D) time.Time) ([]*D, error) {
	var out []*D
	before := int64(0)
	for {
		slots, refs, next, err := s.pageSlots(ctx, col, list, before, limit)
		if err != nil {
			return nil, err
		}
		docs, err := listedDocs(ctx, s, col, slots, refs, slotsOf, keep)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if len(out) >= limit && !at(d).Equal(at(out[len(out)-1])) {
				return out, nil
			}
			out = append(out, d)
		}
		if next == 0 {
			return out, nil
		}
		before = next
	}
}

// AuditTrail lists a community's audit records, newest first, after
// place (nil: from the newest), limit of them and the rest of the last
// one's moment (newestListed). It walks the community's list of audit
// records from the newest.
func (s *Store) AuditTrail(ctx context.Context, communityID string, after *models.TrailPlace, limit int) ([]models.AuditRecord, error) {
	docs, err := newestListed(ctx, s, colAuditLog, "audit:"+communityID, limit,
		func(d *auditDoc) []slotRef { return d.Slots },
		func(d *auditDoc) bool { return after.Before(d.At, d.ID) },
		func(d *auditDoc) time.Time { return d.At })
	out := make([]models.AuditRecord, 0, len(docs))
	for _, d := range docs {
		out = append(out, models.AuditRecord{
			ID:          d.ID,
			CommunityID: d.Community,
			Actor:       d.Actor,
			Action:      d.Action,
			Subject:     d.Subject,
			Amount:      d.Amount,
			Category:    d.Category,
			Reason:      d.Reason,
			Ref:         d.Ref,
			At:          d.At.UTC(),
		})
	}
	return out, err
}

// EntriesOfKinds lists a community's ledger entries of the given kinds
// (staff awards and deductions: the audit trail reads adjustments this
// way, their entries being their records, named by their op id), newest
// first, after place (nil: from the newest), limit of them and the rest
// of the last one's moment (newestListed). It walks the community's list
// of adjustments from the newest.
func (s *Store) EntriesOfKinds(ctx context.Context, communityID string, kinds []models.EntryKind, after *models.TrailPlace, limit int) ([]models.Entry, error) {
	want := map[models.EntryKind]bool{}
	for _, k := range kinds {
		if !adjustmentKinds[k] {
			return nil, fmt.Errorf("store: entries of kind %s are not listed", k)
		}
		want[k] = true
	}
	docs, err := newestListed(ctx, s, colEntries, "adj:"+communityID, limit,
		func(d *entryDoc) []slotRef { return d.Slots },
		func(d *entryDoc) bool { return want[models.EntryKind(d.Kind)] && after.Before(d.At, d.Op) },
		func(d *entryDoc) time.Time { return d.At })
	out := make([]models.Entry, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.model())
	}
	return out, err
}
