package handlers

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// accountsService is what the balance, history and points routes call.
type accountsService interface {
	Balances(ctx context.Context, p models.Principal, residentID string) (accounts.Balances, error)
	History(ctx context.Context, p models.Principal, residentID string, asset models.Asset, before int64, limit int) ([]models.Entry, int64, error)
	Adjust(ctx context.Context, p models.Principal, adj accounts.Adjustment) (models.Entry, error)
	// Reverse returns models.ErrAlreadyReversed when the entry was reversed
	// by another request than the one with key.
	Reverse(ctx context.Context, p models.Principal, residentID string, asset models.Asset, seq int64, reason, key string) (models.Entry, error)
	Trail(ctx context.Context, p models.Principal, from models.TrailPlace, limit int) ([]models.AuditRecord, *models.TrailPlace, error)
}

// routesAccounts registers the ledger routes: balances and entries (a resident their own,
// staff their community's), and for staff points adjustments, reversals and the audit
// trail.
func (h *api) routesAccounts(r fiber.Router) {
	anyone := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Get("/me/balances", anyone, h.myBalances)
	r.Get("/me/ledger/:asset", anyone, h.myLedger)
	r.Get("/residents/:id/balances", anyone, h.residentBalances)
	r.Get("/residents/:id/ledger/:asset", anyone, h.residentLedger)
	r.Post("/residents/:id/points/adjustments", staff, h.adjustPoints)
	r.Post("/residents/:id/ledger/:asset/entries/:seq/reversal", staff, h.reverseEntry)
	r.Get("/audit-trail", staff, h.auditTrail)
}

// balanceJSON is one balance: the asset, the amount and the sequence number of the last
// entry.
type balanceJSON struct {
	Asset  string `json:"asset"`
	Amount int64  `json:"amount"`
	Seq    int64  `json:"seq"`
}

// balancesResponse is a resident's hours (in minutes) and points balances.
type balancesResponse struct {
	ResidentID string      `json:"resident_id"`
	Hours      balanceJSON `json:"hours"`  // amount in minutes
	Points     balanceJSON `json:"points"` // amount in points
}

// toBalances converts a resident's balances to their JSON.
func toBalances(id string, b accounts.Balances) balancesResponse {
	return balancesResponse{
		ResidentID: id,
		Hours: balanceJSON{
			Asset:  string(models.AssetHours),
			Amount: b.Hours.Amount,
			Seq:    b.Hours.Seq,
		},
		Points: balanceJSON{
			Asset:  string(models.AssetPoints),
			Amount: b.Points.Amount,
			Seq:    b.Points.Seq,
		},
	}
}

// entryJSON is one ledger entry: its change, the balance after it, its kind and why, under
// which policy version and by whom.
type entryJSON struct {
	ID             string    `json:"id"`
	ResidentID     string    `json:"resident_id"`
	Asset          string    `json:"asset"`
	Seq            int64     `json:"seq"`
	Delta          int64     `json:"delta"`
	BalanceAfter   int64     `json:"balance_after"`
	Kind           string    `json:"kind"`
	Ref            string    `json:"ref,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	PolicyVersion  int       `json:"policy_version"`
	Actor          string    `json:"actor"`
	At             time.Time `json:"at"`
}

// toEntryJSON converts a ledger entry to its JSON.
func toEntryJSON(e models.Entry) entryJSON {
	return entryJSON{
		ID:             e.ID(),
		ResidentID:     e.Account.ResidentID,
		Asset:          string(e.Account.Asset),
		Seq:            e.Seq,
		Delta:          e.Delta,
		BalanceAfter:   e.BalanceAfter,
		Kind:           string(e.Kind),
		Ref:            e.Ref,
		Reason:         e.Reason,
		IdempotencyKey: e.IdempotencyKey,
		PolicyVersion:  e.PolicyVersion,
		Actor:          e.Actor,
		At:             e.At,
	}
}

// historyResponse is one page of ledger entries, newest first, and the cursor of the older
// page.
type historyResponse struct {
	Entries []entryJSON `json:"entries"`
	// NextBefore is the cursor of the next (older) page; absent at the end.
	NextBefore int64 `json:"next_before,omitempty"`
}

// myBalances answers GET /me/balances: the caller's hours and points balances.
func (h *api) myBalances(c *fiber.Ctx) error {
	return h.balances(c, principal(c).ResidentID)
}

// residentBalances answers GET /residents/{id}/balances: a resident's balances, for
// themselves or their community's staff (403 otherwise).
func (h *api) residentBalances(c *fiber.Ctx) error { return h.balances(c, param(c, "id")) }

// balances answers a resident's hours and points balances, as far as the caller may see
// them.
func (h *api) balances(c *fiber.Ctx, residentID string) error {
	b, err := h.Accounts.Balances(c.UserContext(), principal(c), residentID)
	if err != nil {
		return err
	}
	return c.JSON(toBalances(residentID, b))
}

// myLedger answers GET /me/ledger/{asset}: the caller's ledger entries of one asset.
func (h *api) myLedger(c *fiber.Ctx) error { return h.ledgerPage(c, principal(c).ResidentID) }

// residentLedger answers GET /residents/{id}/ledger/{asset}: a resident's ledger entries,
// for themselves or their community's staff (403 otherwise).
func (h *api) residentLedger(c *fiber.Ctx) error { return h.ledgerPage(c, param(c, "id")) }

// ledgerPage answers one page of a resident's entries of the asset in the path, older than
// `before` (the newest when absent), up to `limit` (20 by default, 100 at most); an
// unknown asset is 400 VALIDATION_FAILED.
func (h *api) ledgerPage(c *fiber.Ctx, residentID string) error {
	asset, err := models.ParseAsset(param(c, "asset"))
	if err != nil {
		return err
	}
	before, err := queryInt(c, "before", 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 20, 100)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 20
	}
	entries, next, err := h.Accounts.History(c.UserContext(), principal(c), residentID, asset, before, int(limit))
	if err != nil {
		return err
	}
	out := historyResponse{Entries: mapEach(entries, toEntryJSON), NextBefore: next}
	return c.JSON(out)
}

// adjustRequest is the body of a points adjustment: how many, award or deduct, the
// category and why.
type adjustRequest struct {
	Points    int64  `json:"points" validate:"required,min=1,max=1000000000"`
	Direction string `json:"direction" validate:"required,oneof=award deduct"`
	Category  string `json:"category" validate:"required,min=1,max=40"`
	Reason    string `json:"reason" validate:"required,min=1,max=500"`
}

// adjustPoints answers POST /residents/{id}/points/adjustments for staff: awards or
// deducts points, recorded in the audit trail; 409 INSUFFICIENT_POINTS below zero, 422
// AMOUNT_OUT_OF_BOUNDS past the community's bound. Takes an Idempotency-Key; a repeat gets
// the first answer.
func (h *api) adjustPoints(c *fiber.Ctx) error {
	p := principal(c)
	var req adjustRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// The service cleans the adjustment; the request log's fingerprint is
	// of the body as sent.
	adjustment := accounts.Adjustment{
		ResidentID: param(c, "id"),
		Points:     models.Points(req.Points),
		Deduct:     req.Direction == "deduct",
		Category:   req.Category,
		Reason:     req.Reason,
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		adjustment.Idem = idem
		e, err := h.Accounts.Adjust(c.UserContext(), p, adjustment)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toEntryJSON(e))
	})
}

// reverseRequest is the body of a reversal: why.
type reverseRequest struct {
	Reason string `json:"reason" validate:"required,min=1,max=500"`
}

// reverseEntry answers POST /residents/{id}/ledger/{asset}/entries/{seq}/reversal for
// staff: posts the opposite of an entry, once per entry; 409 CONFLICT for an entry that
// may not be reversed, 409 INSUFFICIENT_POINTS or INSUFFICIENT_HOURS when the balance no
// longer covers it. Takes an Idempotency-Key.
func (h *api) reverseEntry(c *fiber.Ctx) error {
	p := principal(c)
	var req reverseRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	asset, err := models.ParseAsset(param(c, "asset"))
	if err != nil {
		return err
	}
	seq, err := strconv.ParseInt(param(c, "seq"), 10, 64)
	if err != nil || seq <= 0 {
		return models.ErrValidation.Withf("seq 必须是正整数", "seq must be a positive whole number")
	}
	reason, err := models.CleanReason(req.Reason)
	if err != nil {
		return err
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		// The reversal is keyed by the entry it reverses; the key tells
		// this request's repeat from another staff member's reversal.
		e, err := h.Accounts.Reverse(c.UserContext(), p, param(c, "id"), asset, seq, reason, idem.Key)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toEntryJSON(e))
	})
}

// auditRecordJSON is one record of the audit trail: who did what to whom, how much and
// why.
type auditRecordJSON struct {
	ID       string    `json:"id"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Subject  string    `json:"subject"`
	Amount   int64     `json:"amount"`
	Category string    `json:"category,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Ref      string    `json:"ref,omitempty"`
	At       time.Time `json:"at"`
}

// auditTrail answers GET /audit-trail for staff: a page of the community's audit records,
// newest first, up to `limit`, with `next` while there may be more; pass it back as
// `cursor` (400 INVALID_CURSOR for one it did not give out). `before` (an RFC 3339 time;
// 400 VALIDATION_FAILED otherwise) starts a page before a time, as older clients ask.
func (h *api) auditTrail(c *fiber.Ctx) error {
	from, err := trailPlace(c)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50, 200)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 50
	}
	recs, next, err := h.Accounts.Trail(c.UserContext(), principal(c), from, int(limit))
	if err != nil {
		return err
	}
	out := make([]auditRecordJSON, len(recs))
	for i, r := range recs {
		out[i] = auditRecordJSON{
			ID:       r.ID,
			Actor:    r.Actor,
			Action:   r.Action,
			Subject:  r.Subject,
			Amount:   r.Amount,
			Category: r.Category,
			Reason:   r.Reason,
			Ref:      r.Ref,
			At:       r.At,
		}
	}
	page := struct {
		Records []auditRecordJSON `json:"records"`
		Next    string            `json:"next,omitempty"`
	}{Records: out}
	if next != nil {
		page.Next = strconv.FormatInt(next.Records, 10) + "." + strconv.FormatInt(next.Adjustments, 10)
	}
	return c.JSON(page)
}

// trailPlace reads where a page of the audit trail starts: where the
// `cursor` says (a `next` the trail gave out: the slots its two lists are
// read below, as "records.adjustments"), keeping only what was made
// before `before` (RFC 3339) when given, as older clients page; the
// newest records without either.
func trailPlace(c *fiber.Ctx) (models.TrailPlace, error) {
	var from models.TrailPlace
	if cursor := c.Query("cursor"); cursor != "" {
		records, adjustments, ok := strings.Cut(cursor, ".")
		var err error
		if from.Records, err = strconv.ParseInt(records, 10, 64); !ok || err != nil || from.Records < 1 {
			return from, models.ErrBadCursor
		}
		if from.Adjustments, err = strconv.ParseInt(adjustments, 10, 64); err != nil || from.Adjustments < 1 {
			return from, models.ErrBadCursor
		}
	}
	if s := c.Query("before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return from, models.ErrValidation.Withf("before 必须是 RFC 3339 时间", "before must be an RFC 3339 time")
		}
		from.Before = t
	}
	return from, nil
}
