package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// GateEvents returns a community's gate events at or after from and
// before to, earliest first, at most limit.
func (s *Store) GateEvents(ctx context.Context, communityID string, from, to time.Time, limit int) ([]models.GateEvent, error) {
	filter := bson.D{{Key: "community", Value: communityID}, {Key: "at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}
	opts := options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit))
	cur, err := s.c(colGateEvents).Find(ctx, filter, opts)
	if err != nil {
		return nil, mapErr("list gate events", err)
	}
	var docs []gateEventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr("list gate events", err)
	}
	out := make([]models.GateEvent, len(docs))
	for i, d := range docs {
		out[i] = models.GateEvent{CommunityID: d.Community, EventID: d.EventID, Plate: d.Plate,
			Direction: models.GateDirection(d.Direction), At: d.At.UTC(), FreeMinutes: models.Minutes(d.FreeMinutes),
			ReasonCode: d.ReasonCode, Reason: d.Reason, VisitID: d.Visit}
	}
	return out, nil
}
