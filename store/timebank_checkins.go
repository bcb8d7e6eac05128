package store

import (
	"context"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// CheckinMarks implements timebank.Store: the check-in marks of
// an activity, earliest first.
func (s *Store) CheckinMarks(ctx context.Context, activityID string) ([]models.Mark, error) {
	opts := options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}})
	cur, err := s.c(colTBKeys).Find(ctx, bson.D{{Key: "kind", Value: "checkin"}, {Key: "ref", Value: activityID}}, opts)
	if err != nil {
		return nil, mapErr("list check-ins", err)
	}
	var docs []markDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr("list check-ins", err)
	}
	out := make([]models.Mark, len(docs))
	for i, d := range docs {
		out[i] = models.Mark{ID: d.ID, Kind: d.Kind, CommunityID: d.Community, Ref: d.Ref, ResidentID: d.Resident,
			Actor: d.Actor, At: d.At.UTC()}
	}
	return out, nil
}
