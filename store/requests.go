package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
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

// keyedAnswerDoc is the first answer of a keyed request, a document of
// its own beside the request: an insert, which group commit gathers with
// the requests' own, where an update of the request cost the embedded
// store 2 to 3 ms of CPU per request (docs/PERFORMANCE.md, "2026-12-06
// (night)"). It names the request it answers by the request's time and
// hash, so an answer left by an earlier request under the same key (one
// forgotten after a refusal while an overtaken first attempt still
// answered) is never taken for a later one's.
type keyedAnswerDoc struct {
	ID     string    `bson:"_id"`
	At     time.Time `bson:"at"`
	Hash   string    `bson:"hash"`
	Status int       `bson:"status"`
	Body   string    `bson:"body"`
}

// keyedAnswerID is the _id of the answer of keyed request id (request ids
// start with "k:", so no request has it).
func keyedAnswerID(id string) string { return "answer:" + id }

// answers reports whether a is the answer of request d.
func (a keyedAnswerDoc) answers(d keyedRequestDoc) bool {
	return a.Hash == d.Hash && a.At.Equal(d.At)
}

// KeyedRequest returns the request with id, with its first answer when one
// is stored (in the request itself for requests answered before answers
// had their own document), or models.ErrNotFound.
func (s *Store) KeyedRequest(ctx context.Context, id string) (models.KeyedRequest, error) {
	var d keyedRequestDoc
	if err := s.findByID(ctx, colKeyedRequests, id, &d); err != nil {
		return models.KeyedRequest{}, err
	}
	if d.Status == 0 {
		var a keyedAnswerDoc
		err := s.findByID(ctx, colKeyedRequests, keyedAnswerID(id), &a)
		switch {
		case err == nil && a.answers(d):
			d.Status, d.Body = a.Status, a.Body
		case err != nil && !errors.Is(err, models.ErrNotFound):
			return models.KeyedRequest{}, err
		}
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

// SetKeyedRequestAnswer stores the first answer of request r, once: a
// second answer of the same request leaves the first. An answer left by
// an earlier request under the same id is replaced (the one rare update).
func (s *Store) SetKeyedRequestAnswer(ctx context.Context, r models.KeyedRequest, status int, body []byte) error {
	doc := keyedAnswerDoc{
		ID:     keyedAnswerID(r.ID),
		At:     r.At.UTC().Truncate(time.Millisecond),
		Hash:   r.Hash,
		Status: status,
		Body:   string(body),
	}
	err := s.insert(ctx, colKeyedRequests, doc)
	if !errors.Is(err, models.ErrConflict) {
		return err
	}
	var prior keyedAnswerDoc
	if err := s.findByID(ctx, colKeyedRequests, doc.ID, &prior); err != nil {
		return err
	}
	if prior.answers(keyedRequestDoc{At: doc.At, Hash: doc.Hash}) {
		return nil
	}
	return s.replaceByID(ctx, colKeyedRequests, doc.ID, doc, false)
}

// DeleteKeyedRequest forgets request id; a missing one is not an error. An
// answer of it stays, unread: it names this request, not the next one
// under the same id.
func (s *Store) DeleteKeyedRequest(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colKeyedRequests, id)
}
