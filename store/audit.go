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

// walkNewest reads list in col newest slot first, a page of limit slots at
// a time, and calls keep with each slot and its ref until keep has taken
// limit items or the list ends; keep reports whether it took one. A slot
// whose item was made at or after before is skipped by keep; so the first
// page costs its own size, and a page further back the slots above it.
func (s *Store) walkNewest(ctx context.Context, col, list string, limit int, keep func(slotRef, string) (bool, error)) error {
	before, taken := int64(0), 0
	for {
		slots, refs, next, err := s.pageSlots(ctx, col, list, before, limit)
		if err != nil {
			return err
		}
		for i, ref := range refs {
			if ref == "" {
				continue
			}
			ok, err := keep(slots[i], ref)
			if err != nil {
				return err
			}
			if ok {
				if taken++; taken == limit {
					return nil
				}
			}
		}
		if next == 0 {
			return nil
		}
		before = next
	}
}

// AuditTrail lists a community's audit records, newest first, older than
// before (zero: from the newest), at most limit. It walks the community's
// list of audit records from the newest.
func (s *Store) AuditTrail(ctx context.Context, communityID string, before time.Time, limit int) ([]models.AuditRecord, error) {
	out := []models.AuditRecord{}
	err := s.walkNewest(ctx, colAuditLog, "audit:"+communityID, limit, func(sl slotRef, ref string) (bool, error) {
		var d auditDoc
		err := s.findByID(ctx, colAuditLog, ref, &d)
		if errors.Is(err, models.ErrNotFound) || (err == nil && (!named(d.Slots, sl) || (!before.IsZero() && !d.At.Before(before)))) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
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
		return true, nil
	})
	return out, err
}

// EntriesOfKinds lists a community's ledger entries of the given kinds
// (staff awards and deductions: the audit trail reads adjustments this
// way, their entries being their records), newest first, older than before
// (zero: from the newest), at most limit. It walks the community's list of
// adjustments from the newest.
func (s *Store) EntriesOfKinds(ctx context.Context, communityID string, kinds []models.EntryKind, before time.Time, limit int) ([]models.Entry, error) {
	want := map[models.EntryKind]bool{}
	for _, k := range kinds {
		if !adjustmentKinds[k] {
			return nil, fmt.Errorf("store: entries of kind %s are not listed", k)
		}
		want[k] = true
	}
	out := []models.Entry{}
	err := s.walkNewest(ctx, colEntries, "adj:"+communityID, limit, func(sl slotRef, ref string) (bool, error) {
		var d entryDoc
		err := s.findByID(ctx, colEntries, ref, &d)
		if errors.Is(err, models.ErrNotFound) || (err == nil && (!named(d.Slots, sl) || !want[models.EntryKind(d.Kind)] ||
			(!before.IsZero() && !d.At.Before(before)))) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		out = append(out, d.model())
		return true, nil
	})
	return out, err
}
