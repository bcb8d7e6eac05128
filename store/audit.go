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

// listedBelow reads list in col newest slot first from below slot before
// (0: from the newest), a page of limit slots at a time, each down to the
// first slot of its last block (slotList: its records never change, so a
// full block is one lookup once copied, a record that does not name its
// slot skipped), until limit records that keep accepts are read or the
// list ends: those records, the slot each is listed at, and the slot the
// list goes on below (0 at its end, else a block's first slot). A reader
// that shows some of them goes on below the last one shown.
func listedBelow[D any](ctx context.Context, s *Store, col, list string, before int64, limit int, slotsOf func(*D) []slotRef, keep func(*D) bool) ([]*D, []int64, int64, error) {
	var docs []*D
	var at []int64
	copies := slotList[D]{
		col:         col,
		list:        list,
		slotsOf:     slotsOf,
		copies:      readersCopy,
		wholeBlocks: true,
	}
	for {
		page, next, err := copies.below(ctx, s, before, limit)
		if err != nil {
			return nil, nil, 0, err
		}
		for _, d := range page {
			if !keep(d) {
				continue
			}
			docs = append(docs, d)
			at = append(at, slotOn(slotsOf(d), list))
		}
		if next == 0 || len(docs) >= limit {
			return docs, at, next, nil
		}
		before = next
	}
}

// slotOn is the number of the slot on list among slots (listedDocs keeps
// only a record that names the slot it was read by).
func slotOn(slots []slotRef, list string) int64 {
	for _, sl := range slots {
		if sl.List == list {
			return sl.N
		}
	}
	return 0
}

// AuditTrail reads a community's audit records newest listed first, below
// slot before (0: from the newest), made before until (zero: any), as
// listedBelow reads: at least limit of them unless the list ends first.
func (s *Store) AuditTrail(ctx context.Context, communityID string, before int64, until time.Time, limit int) (models.Listed[models.AuditRecord], error) {
	docs, at, next, err := listedBelow(ctx, s, colAuditLog, "audit:"+communityID, before, limit,
		func(d *auditDoc) []slotRef { return d.Slots },
		func(d *auditDoc) bool { return until.IsZero() || d.At.Before(until) })
	if err != nil {
		return models.Listed[models.AuditRecord]{}, err
	}
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
	return models.Listed[models.AuditRecord]{
		Items: out,
		Slots: at,
		Next:  next,
	}, nil
}

// EntriesOfKinds reads a community's ledger entries of the given kinds
// (staff awards and deductions: the audit trail reads adjustments this
// way, their entries being their records, named by their op id) as
// AuditTrail reads records, from the community's list of adjustments.
func (s *Store) EntriesOfKinds(ctx context.Context, communityID string, kinds []models.EntryKind, before int64, until time.Time, limit int) (models.Listed[models.Entry], error) {
	want := map[models.EntryKind]bool{}
	for _, k := range kinds {
		if !adjustmentKinds[k] {
			return models.Listed[models.Entry]{}, fmt.Errorf("store: entries of kind %s are not listed", k)
		}
		want[k] = true
	}
	docs, at, next, err := listedBelow(ctx, s, colEntries, "adj:"+communityID, before, limit,
		func(d *entryDoc) []slotRef { return d.Slots },
		func(d *entryDoc) bool {
			return want[models.EntryKind(d.Kind)] && (until.IsZero() || d.At.Before(until))
		})
	if err != nil {
		return models.Listed[models.Entry]{}, err
	}
	out := make([]models.Entry, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.model())
	}
	return models.Listed[models.Entry]{
		Items: out,
		Slots: at,
		Next:  next,
	}, nil
}
