package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
}

// RecordAudit adds r to the audit trail; a record with its ID is kept as it is.
func (s *Store) RecordAudit(ctx context.Context, r models.AuditRecord) error {
	err := s.insert(ctx, colAuditLog, auditDoc{
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
	})
	if errors.Is(err, models.ErrConflict) {
		return nil
	}
	return err
}

// AuditTrail lists a community's audit records, newest first, older than
// before (zero: from the newest), at most limit. It is a staff screen, not a
// hot path, so it may filter by community.
func (s *Store) AuditTrail(ctx context.Context, communityID string, before time.Time, limit int) ([]models.AuditRecord, error) {
	filter := bson.D{{Key: "community", Value: communityID}}
	if !before.IsZero() {
		filter = append(filter, bson.E{Key: "at", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := s.c(colAuditLog).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, mapErr("audit trail", err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr("audit trail", err)
	}
	out := make([]models.AuditRecord, len(docs))
	for i, d := range docs {
		out[i] = models.AuditRecord{
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
		}
	}
	return out, nil
}

// EntriesOfKinds lists a community's ledger entries of the given kinds,
// newest first, older than before (zero: from the newest), at most limit.
// The audit trail reads staff adjustments this way, their entries being
// their records; it is a staff screen, not a hot path, so it may filter.
func (s *Store) EntriesOfKinds(ctx context.Context, communityID string, kinds []models.EntryKind, before time.Time, limit int) ([]models.Entry, error) {
	ks := make([]string, len(kinds))
	for i, k := range kinds {
		ks[i] = string(k)
	}
	filter := bson.D{{Key: "community", Value: communityID}, {Key: "kind", Value: bson.D{{Key: "$in", Value: ks}}}}
	if !before.IsZero() {
		filter = append(filter, bson.E{Key: "at", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := s.c(colEntries).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(int64(limit)))
	return allDocs(ctx, cur, err, "entries of kinds", entryDoc.model)
}
