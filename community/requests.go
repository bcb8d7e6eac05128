package community

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
)

// RequestStore keeps keyed requests (models.KeyedRequest) by their scoped
// idempotency key.
type RequestStore interface {
	// InsertKeyedRequest records r; models.ErrConflict if its ID exists.
	InsertKeyedRequest(ctx context.Context, r models.KeyedRequest) error
	// KeyedRequest returns the request with id, or models.ErrNotFound.
	KeyedRequest(ctx context.Context, id string) (models.KeyedRequest, error)
	// SetKeyedRequestAnswer stores the first answer of request r (as
	// Begin returned it), once.
	SetKeyedRequestAnswer(ctx context.Context, r models.KeyedRequest, status int, body []byte) error
	// DeleteKeyedRequest forgets request id; a missing one is not an error.
	DeleteKeyedRequest(ctx context.Context, id string) error
}

// Requests gives the state-changing requests that do not post through the
// ledger (cancel, credit apply and void, refund, decisions, statement
// confirmation …) what the ledger's op record gives postings: a repeat with
// the same key and body gets the first answer and moves nothing again; the
// same key with another body is refused.
//
// The record is inserted before the request has any effect, so the insert
// is the commit point and two concurrent requests with one key cannot both
// be first. The answer stored after the effect is a cache: a request that
// died between the two leaves a record without an answer, and its repeat
// runs the request again, which is safe because every effect it has is
// keyed (by state, or by the request's op id where state is not enough).
type Requests struct {
	store    RequestStore
	now      func() time.Time
	patience time.Duration
}

// RequestPatience is how long a repeat waits for the first request of its
// key to answer before running the request on its behalf.
const RequestPatience = 2 * time.Second

// NewRequests returns the keyed-request log over s; now is the clock.
func NewRequests(s RequestStore, now func() time.Time) *Requests {
	return &Requests{
		store:    s,
		now:      now,
		patience: RequestPatience,
	}
}

// Begin records the request idem before it has any effect. It returns
// answered=true with the first answer when the key was answered already;
// answered=false when the caller should run the request: it is the first,
// or the first with this key died (or is too slow) before answering. It
// returns models.ErrIdempotencyMismatch if the key was used for another
// request.
func (s *Requests) Begin(ctx context.Context, idem Idempotency) (models.KeyedRequest, bool, error) {
	if idem.OpID == "" || idem.Hash == "" {
		return models.KeyedRequest{}, false, models.ErrIdempotencyKey
	}
	// A first request that was refused is forgotten; its repeats then
	// race to be first again. Three rounds are plenty for that.
	for round := 0; round < 3; round++ {
		rec := models.KeyedRequest{
			ID:   idem.OpID,
			Hash: idem.Hash,
			At:   s.now().UTC().Truncate(time.Millisecond),
		}
		err := s.store.InsertKeyedRequest(ctx, rec)
		if err == nil {
			return rec, false, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return models.KeyedRequest{}, false, fmt.Errorf("keyed request: %w", err)
		}
		prior, err := s.await(ctx, idem)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return models.KeyedRequest{}, false, err
		}
		return prior, prior.Answered(), nil
	}
	return models.KeyedRequest{}, false, models.ErrConflict.Withf("使用该幂等键（Idempotency-Key）的请求正在处理中，请稍后重试。", "a request with this Idempotency-Key is in progress; repeat it shortly")
}

// await reads the prior request of idem's key until it is answered, it is
// forgotten (models.ErrNotFound) or it has had s.patience to answer.
func (s *Requests) await(ctx context.Context, idem Idempotency) (models.KeyedRequest, error) {
	// Bounded by the time waited too, so a clock that stands still (tests)
	// cannot keep a repeat here forever.
	wait, waited := 5*time.Millisecond, time.Duration(0)
	for {
		prior, err := s.store.KeyedRequest(ctx, idem.OpID)
		if err != nil {
			if errors.Is(err, models.ErrNotFound) {
				return prior, err
			}
			return prior, fmt.Errorf("keyed request: %w", err)
		}
		if prior.Hash != idem.Hash {
			return prior, models.ErrIdempotencyMismatch
		}
		if prior.Answered() || s.now().Sub(prior.At) >= s.patience || waited >= s.patience {
			return prior, nil
		}
		select {
		case <-ctx.Done():
			return prior, ctx.Err()
		case <-time.After(wait):
		}
		waited += wait
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// Answer stores the first answer of request r (the record Begin returned),
// for its repeats.
func (s *Requests) Answer(ctx context.Context, r models.KeyedRequest, status int, body []byte) error {
	if err := s.store.SetKeyedRequestAnswer(ctx, r, status, body); err != nil {
		return fmt.Errorf("keyed request answer: %w", err)
	}
	return nil
}

// Forget drops request id after it was refused without effect, so that it
// leaves no write behind and its repeat is judged afresh.
func (s *Requests) Forget(ctx context.Context, id string) error {
	if err := s.store.DeleteKeyedRequest(ctx, id); err != nil {
		return fmt.Errorf("keyed request forget: %w", err)
	}
	return nil
}
