package handlers

import (
	"context"
	"strconv"
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
	Trail(ctx context.Context, p models.Principal, before time.Time, limit int) ([]models.AuditRecord, error)
}

func (h *api) routesAccounts(r fiber.Router) {
	any := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Get("/me/balances", any, h.myBalances)
	r.Get("/me/ledger/:asset", any, h.myLedger)
	r.Get("/residents/:id/balances", any, h.residentBalances)
	r.Get("/residents/:id/ledger/:asset", any, h.residentLedger)
	r.Post("/residents/:id/points/adjustments", staff, h.adjustPoints)
	r.Post("/residents/:id/ledger/:asset/entries/:seq/reversal", staff, h.reverseEntry)
	r.Get("/audit-trail", staff, h.auditTrail)
}

type balanceJSON struct {
	Asset  string `json:"asset"`
	Amount int64  `json:"amount"`
	Seq    int64  `json:"seq"`
}

type balancesResponse struct {
	ResidentID string      `json:"resident_id"`
	Hours      balanceJSON `json:"hours"`  // amount in minutes
	Points     balanceJSON `json:"points"` // amount in points
}

func toBalances(id string, b accounts.Balances) balancesResponse {
	return balancesResponse{ResidentID: id,
		Hours:  balanceJSON{string(models.AssetHours), b.Hours.Amount, b.Hours.Seq},
		Points: balanceJSON{string(models.AssetPoints), b.Points.Amount, b.Points.Seq}}
}

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

type historyResponse struct {
	Entries []entryJSON `json:"entries"`
	// NextBefore is the cursor of the next (older) page; absent at the end.
	NextBefore int64 `json:"next_before,omitempty"`
}

func (h *api) myBalances(c *fiber.Ctx) error {
	return h.balances(c, principal(c).ResidentID)
}

func (h *api) residentBalances(c *fiber.Ctx) error { return h.balances(c, param(c, "id")) }

func (h *api) balances(c *fiber.Ctx, residentID string) error {
	b, err := h.Accounts.Balances(c.UserContext(), principal(c), residentID)
	if err != nil {
		return err
	}
	return c.JSON(toBalances(residentID, b))
}

func (h *api) myLedger(c *fiber.Ctx) error { return h.ledgerPage(c, principal(c).ResidentID) }

func (h *api) residentLedger(c *fiber.Ctx) error { return h.ledgerPage(c, param(c, "id")) }

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

type adjustRequest struct {
	Points    int64  `json:"points" validate:"required,min=1,max=1000000000"`
	Direction string `json:"direction" validate:"required,oneof=award deduct"`
	Category  string `json:"category" validate:"required,min=1,max=40"`
	Reason    string `json:"reason" validate:"required,min=1,max=500"`
}

func (h *api) adjustPoints(c *fiber.Ctx) error {
	p := principal(c)
	var req adjustRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// The service cleans the adjustment; the request log's fingerprint is
	// of the body as sent.
	adj := accounts.Adjustment{
		ResidentID: param(c, "id"),
		Points:     models.Points(req.Points),
		Deduct:     req.Direction == "deduct",
		Category:   req.Category,
		Reason:     req.Reason,
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		adj.Idem = idem
		e, err := h.Accounts.Adjust(c.UserContext(), p, adj)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toEntryJSON(e))
	})
}

type reverseRequest struct {
	Reason string `json:"reason" validate:"required,min=1,max=500"`
}

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

func (h *api) auditTrail(c *fiber.Ctx) error {
	var before time.Time
	if s := c.Query("before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return models.ErrValidation.Withf("before 必须是 RFC 3339 时间", "before must be an RFC 3339 time")
		}
		before = t
	}
	limit, err := queryInt(c, "limit", 50, 200)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 50
	}
	recs, err := h.Accounts.Trail(c.UserContext(), principal(c), before, int(limit))
	if err != nil {
		return err
	}
	out := make([]auditRecordJSON, len(recs))
	for i, r := range recs {
		out[i] = auditRecordJSON{r.ID, r.Actor, r.Action, r.Subject, r.Amount, r.Category, r.Reason, r.Ref, r.At}
	}
	return c.JSON(fiber.Map{"records": out})
}
