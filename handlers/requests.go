package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// requestLog remembers keyed requests and their first answers
// (community.Requests).
type requestLog interface {
	// Begin records the request before it has any effect. It returns the
	// first answer with answered=true for a repeat of an answered request,
	// answered=false when the request is to run, and
	// models.ErrIdempotencyMismatch if the key was used for another request.
	Begin(ctx context.Context, idem community.Idempotency) (prior models.KeyedRequest, answered bool, err error)
	// Answer stores the first answer of request r, the record Begin
	// returned for the run.
	Answer(ctx context.Context, r models.KeyedRequest, status int, body []byte) error
	// Forget drops request id after it was refused.
	Forget(ctx context.Context, id string) error
}

// keyed runs a state-changing request once per Idempotency-Key: run (the
// service call and the encoding of its answer) gets the request's scoped
// key; a repeat with the same key and body gets the first answer byte for
// byte without running again; the same key with another body, or on
// another route, is a 422. Every route that takes a key goes through here,
// the ones whose service keys its ledger postings by the same scoped key
// too, so one record per caller and key holds the request it was first
// used for. Bad input leaves nothing: decode before calling keyed, and a
// refusal from run (the service cleaning its input) forgets the request.
func (h *api) keyed(c *fiber.Ctx, run func(idem community.Idempotency) error) error {
	key, op, hash, err := idempotency(c, principal(c))
	if err != nil {
		return err
	}
	idem := community.Idempotency{
		Key:  key,
		OpID: op,
		Hash: hash,
	}
	ctx := c.UserContext()
	prior, answered, err := h.Requests.Begin(ctx, idem)
	if err != nil {
		return err
	}
	if answered {
		if h.Metrics != nil {
			h.Metrics.Replayed()
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(prior.Status).Send(prior.Body)
	}
	if err := run(idem); err != nil {
		if info, ok := errorTable[models.CodeOf(err)]; ok && info.status < fiber.StatusInternalServerError {
			// Refused, so nothing moved: leave nothing behind, and let a
			// repeat be judged afresh. An internal error keeps the record,
			// and its repeat runs the keyed effects again.
			if ferr := h.Requests.Forget(ctx, op); ferr != nil {
				h.Log.WarnContext(ctx, "forget refused request", "request_id", requestID(c), "err", ferr)
			}
		}
		return err
	}
	resp := c.Response()
	if resp.StatusCode() >= fiber.StatusBadRequest {
		// A refusal run answered itself (an import's row report).
		if ferr := h.Requests.Forget(ctx, op); ferr != nil {
			h.Log.WarnContext(ctx, "forget refused request", "request_id", requestID(c), "err", ferr)
		}
		return nil
	}
	if err := h.Requests.Answer(ctx, prior, resp.StatusCode(), append([]byte(nil), resp.Body()...)); err != nil {
		// The effect is done and is the answer; a repeat finds no stored
		// answer and runs the keyed effects again, which moves nothing.
		h.Log.WarnContext(ctx, "store first answer", "request_id", requestID(c), "err", err)
	}
	return nil
}

// keyedIfKey is keyed for a route whose key is optional: without an
// Idempotency-Key header run gets no key and nothing is remembered.
func (h *api) keyedIfKey(c *fiber.Ctx, run func(idem community.Idempotency) error) error {
	if c.Get("Idempotency-Key") == "" {
		return run(community.Idempotency{})
	}
	return h.keyed(c, run)
}
