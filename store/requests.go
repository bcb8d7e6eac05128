package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// keyedRequestDoc is a keyed request; the body is kept as text (every
// answer is JSON), which both stores hold without a binary subtype.
type keyedRequestDoc struct {
	ID     string    `bson:"_id"`
	Hash   string    `bson:"hash"`
	At     time.Time `bson:"at"`
	Status int       `bson:"status,omitempty"`
	Body   string    `bson:"body,omitempty"`
}

// InsertKeyedRequest records r before it has any effect; models.ErrConflict
// if a request with its id exists.
func (s *Store) InsertKeyedRequest(ctx context.Context, r models.KeyedRequest) error {
	return s.insert(ctx, colKeyedRequests, keyedRequestDoc{
		ID:     r.ID,
		Hash:   r.Hash,
		At:     r.At,
		Status: r.Status,
		Body:   string(r.Body),
	})
}

// KeyedRequest returns the request with id, or models.ErrNotFound.
func (s *Store) KeyedRequest(ctx context.Context, id string) (models.KeyedRequest, error) {
	var d keyedRequestDoc
	if err := s.findByID(ctx, colKeyedRequests, id, &d); err != nil {
		return models.KeyedRequest{}, err
	}
	r := models.KeyedRequest{
		ID:     d.ID,
		Hash:   d.Hash,
		At:     d.At.UTC(),
		Status: d.Status,
	}
	if d.Body != "" {
		r.Body = []byte(d.Body)
	}
	return r, nil
}

// SetKeyedRequestAnswer stores the first answer of request id. It is a
// cache of what the request's keyed effects decided, so a plain $set by
// _id will do; models.ErrNotFound if the request is missing.
func (s *Store) SetKeyedRequestAnswer(ctx context.Context, id string, status int, body []byte) error {
	return s.setByID(ctx, colKeyedRequests, id, bson.D{{Key: "status", Value: status}, {Key: "body", Value: string(body)}})
}

// DeleteKeyedRequest forgets request id; a missing one is not an error.
func (s *Store) DeleteKeyedRequest(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colKeyedRequests, id)
}
