package handlers

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/settlement"
)

// settlementService is what the statement and liability routes call.
type settlementService interface {
	Statements(ctx context.Context, p models.Principal, partnerID, month, cursor string, limit int) ([]models.Statement, string, error)
	Statement(ctx context.Context, p models.Principal, id, cursor string, limit int) (models.Statement, []models.StatementLine, string, error)
	Export(ctx context.Context, p models.Principal, id string, f settlement.ExportFormat, w io.Writer) error
	Confirm(ctx context.Context, p models.Principal, id string) (models.Statement, error)
	MarkPaid(ctx context.Context, p models.Principal, id string) (models.Statement, error)
	Liability(ctx context.Context, p models.Principal, month string) (settlement.LiabilityReport, error)
	LiabilitySeries(ctx context.Context, p models.Principal, from, to string) ([]settlement.LiabilityPoint, error)
	MyExpiringPoints(ctx context.Context, p models.Principal) (settlement.PointsExpiring, error)
}

// routesSettlement registers the settlement routes: monthly partner statements and their
// exports (staff, the partner's login and merchant clerks), confirming (the partner) and
// marking paid (staff), the points-liability reports (staff) and a resident's expiring
// points.
func (h *api) routesSettlement(r fiber.Router) {
	readers := h.authed(models.RoleStaff, models.RoleAdmin, models.RolePartner, models.RoleMerchantClerk)
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Get("/statements", readers, h.listStatements)
	r.Get("/statements/:id", readers, h.getStatement)
	r.Get("/statements/:id/export.csv", readers, h.exportStatement(settlement.ExportCSV, "text/csv; charset=utf-8"))
	r.Get("/statements/:id/export.xlsx", readers, h.exportStatement(settlement.ExportXLSX,
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
	r.Post("/statements/:id/confirm", h.authed(models.RolePartner, models.RoleMerchantClerk), h.confirmStatement)
	r.Post("/statements/:id/paid", staff, h.markStatementPaid)
	r.Get("/reports/liability", staff, h.liabilityReport)
	r.Get("/reports/liability/series", staff, h.liabilitySeries)
	r.Get("/me/points/expiring", h.authed(), h.myExpiringPoints)
}

// expiringJSON is how many of a resident's points the next monthly expiry takes, when it
// runs, and the earning date before which points expire.
type expiringJSON struct {
	Points       int64     `json:"points"`
	At           time.Time `json:"at"`
	EarnedBefore time.Time `json:"earned_before"`
}

// myExpiringPoints says how many of the caller's points the next monthly
// expiry run takes, and when.
func (h *api) myExpiringPoints(c *fiber.Ctx) error {
	expiring, err := h.Settlement.MyExpiringPoints(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(expiringJSON{
		Points:       int64(expiring.Points),
		At:           expiring.At,
		EarnedBefore: expiring.EarnedBefore,
	})
}

// statementJSON is a monthly partner statement: its totals in fen, who bears them, and who
// confirmed and paid it when.
type statementJSON struct {
	ID           string     `json:"id"`
	CommunityID  string     `json:"community_id"`
	PartnerID    string     `json:"partner_id"`
	PartnerName  string     `json:"partner_name"`
	Month        string     `json:"month"`
	Status       string     `json:"status"`
	Lines        int        `json:"lines"`
	Adjustments  int        `json:"adjustments"`
	TotalFen     int64      `json:"total_fen"`
	CommunityFen int64      `json:"community_fen"` // borne by the community fund
	PartnerFen   int64      `json:"partner_fen"`   // borne by the partner
	Created      time.Time  `json:"created"`
	ConfirmedBy  string     `json:"confirmed_by,omitempty"`
	ConfirmedAt  *time.Time `json:"confirmed_at,omitempty"`
	PaidBy       string     `json:"paid_by,omitempty"`
	PaidAt       *time.Time `json:"paid_at,omitempty"`
}

// toStatementJSON converts a statement to its JSON.
func toStatementJSON(statement models.Statement) statementJSON {
	return statementJSON{
		ID:           statement.ID,
		CommunityID:  statement.CommunityID,
		PartnerID:    statement.PartnerID,
		PartnerName:  statement.PartnerName,
		Month:        statement.Month.String(),
		Status:       string(statement.Status),
		Lines:        statement.Lines,
		Adjustments:  statement.Adjustments,
		TotalFen:     int64(statement.TotalFen),
		CommunityFen: int64(statement.CommunityFen),
		PartnerFen:   int64(statement.PartnerFen),
		Created:      statement.Created,
		ConfirmedBy:  statement.ConfirmedBy,
		ConfirmedAt:  timePtr(statement.ConfirmedAt),
		PaidBy:       statement.PaidBy,
		PaidAt:       timePtr(statement.PaidAt),
	}
}

// statementLineJSON is one line of a statement: the settlement event it records, or an
// adjustment.
type statementLineJSON struct {
	ID           string    `json:"id"`
	EventID      string    `json:"event_id"`
	Kind         string    `json:"kind"`
	Adjustment   bool      `json:"adjustment"`
	RedemptionID string    `json:"redemption_id,omitempty"`
	RewardID     string    `json:"reward_id,omitempty"`
	ResidentID   string    `json:"resident_id,omitempty"`
	Description  string    `json:"description"`
	ValueFen     int64     `json:"value_fen"`
	Bearer       string    `json:"bearer"`
	At           time.Time `json:"at"`
}

// statementResponse is a statement and one page of its lines.
type statementResponse struct {
	Statement statementJSON       `json:"statement"`
	Lines     []statementLineJSON `json:"lines"`
	// Next is the cursor of the next page of lines; absent at the end.
	Next string `json:"next,omitempty"`
}

// listStatements answers GET /statements: staff see their community's statements
// (optionally one partner's), a partner login or clerk its own partner's, optionally of
// one month; newest first, a page of `limit` (50 by default, 200 at most) from `cursor`,
// with `next` while there is more.
func (h *api) listStatements(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	statements, next, err := h.Settlement.Statements(c.UserContext(), principal(c), c.Query("partner_id"), c.Query("month"), cursor, limit)
	if err != nil {
		return err
	}
	out := struct {
		Statements []statementJSON `json:"statements"`
		Next       string          `json:"next,omitempty"`
	}{Statements: mapEach(statements, toStatementJSON), Next: next}
	return c.JSON(out)
}

// getStatement answers GET /statements/{id} for the statement's community staff or its
// partner (403 for another partner's): the statement and a page of its lines, newest
// first, from `cursor`, up to `limit` (100 by default, 500 at most), with `next` while
// there is more.
func (h *api) getStatement(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 100, 500)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	cursor := c.Query("cursor")
	if len(cursor) > 64 {
		return models.ErrBadCursor.Withf("翻页位置过长：请从第一页重新读取。", "cursor is too long; read from the first page again")
	}
	statement, lines, next, err := h.Settlement.Statement(c.UserContext(), principal(c), param(c, "id"), cursor, int(limit))
	if err != nil {
		return err
	}
	out := statementResponse{
		Statement: toStatementJSON(statement),
		Lines:     make([]statementLineJSON, len(lines)),
		Next:      next,
	}
	for i, line := range lines {
		event := line.Event
		out.Lines[i] = statementLineJSON{
			ID:           line.ID,
			EventID:      event.ID,
			Kind:         string(event.Kind),
			Adjustment:   line.Adjustment,
			RedemptionID: event.RedemptionID,
			RewardID:     event.RewardID,
			ResidentID:   event.ResidentID,
			Description:  event.Description,
			ValueFen:     int64(event.ValueFen),
			Bearer:       string(event.Bearer),
			At:           event.At,
		}
	}
	return c.JSON(out)
}

// exportStatement answers with the whole file once it is complete, so a
// failure half way is an error response, not a truncated download. It
// has exportTimeout, not the request deadline: a busy shop's month is tens
// of thousands of lines.
func (h *api) exportStatement(f settlement.ExportFormat, contentType string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var buf bytes.Buffer
		id := param(c, "id")
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), exportTimeout)
		defer cancel()
		if err := h.Settlement.Export(ctx, principal(c), id, f, &buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, contentType)
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="statement.`+string(f)+`"`)
		return c.Send(buf.Bytes())
	}
}

// confirmStatement answers POST /statements/{id}/confirm for the
// statement's partner (its login or a merchant clerk; another partner's is
// 403). Confirming and marking paid happen once per statement (keyed by
// its status), and take an Idempotency-Key like every value-affecting
// POST: confirming again returns the statement as it stands.
func (h *api) confirmStatement(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		st, err := h.Settlement.Confirm(c.UserContext(), principal(c), param(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(toStatementJSON(st))
	})
}

// markStatementPaid answers POST /statements/{id}/paid for staff: marks a confirmed
// statement paid, once (409 CONFLICT before the partner confirmed). Takes an
// Idempotency-Key; a repeat gets the first answer.
func (h *api) markStatementPaid(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		st, err := h.Settlement.MarkPaid(c.UserContext(), principal(c), param(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(toStatementJSON(st))
	})
}

// partnerRedeemedJSON is what one partner's redemptions came to in the month, from its
// statement once settled.
type partnerRedeemedJSON struct {
	PartnerID    string `json:"partner_id"`
	PartnerName  string `json:"partner_name"`
	Kind         string `json:"kind"`
	Settled      bool   `json:"settled"`
	StatementID  string `json:"statement_id,omitempty"`
	Status       string `json:"status,omitempty"`
	Lines        int    `json:"lines"`
	TotalFen     int64  `json:"total_fen"`
	CommunityFen int64  `json:"community_fen"`
	PartnerFen   int64  `json:"partner_fen"`
}

// liabilityJSON is the community's points liability: outstanding, held and expiring points
// as of the liability job's last sum, and the month's redemptions by partner.
type liabilityJSON struct {
	CommunityID string                `json:"community_id"`
	Month       string                `json:"month"`
	At          time.Time             `json:"at"`
	Residents   int                   `json:"residents"`
	Outstanding int64                 `json:"outstanding_points"`
	Held        int64                 `json:"held_points"`
	Expiring30  int64                 `json:"expiring_30_days"`
	Expiring60  int64                 `json:"expiring_60_days"`
	Expiring90  int64                 `json:"expiring_90_days"`
	Partners    []partnerRedeemedJSON `json:"redeemed_by_partner"`
}

// liabilityPointJSON is the points liability as last summed on one day.
type liabilityPointJSON struct {
	Day         string    `json:"day"`
	At          time.Time `json:"at"`
	Residents   int       `json:"residents"`
	Outstanding int64     `json:"outstanding_points"`
	Held        int64     `json:"held_points"`
	Expiring30  int64     `json:"expiring_30_days"`
	Expiring60  int64     `json:"expiring_60_days"`
	Expiring90  int64     `json:"expiring_90_days"`
}

// liabilitySeries is the points liability over time, one point per day
// the liability job ran.
func (h *api) liabilitySeries(c *fiber.Ctx) error {
	points, err := h.Settlement.LiabilitySeries(c.UserContext(), principal(c), c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	out := make([]liabilityPointJSON, len(points))
	for i, p := range points {
		out[i] = liabilityPointJSON{
			Day:         p.Day,
			At:          p.At,
			Residents:   p.Residents,
			Outstanding: p.Outstanding,
			Held:        p.Held,
			Expiring30:  p.Expiring30,
			Expiring60:  p.Expiring60,
			Expiring90:  p.Expiring90,
		}
	}
	return c.JSON(fiber.Map{"points": out})
}

// liabilityReport answers GET /reports/liability for staff: the community's points
// liability, with the redemptions by partner of `month` (the current month by default).
func (h *api) liabilityReport(c *fiber.Ctx) error {
	r, err := h.Settlement.Liability(c.UserContext(), principal(c), c.Query("month"))
	if err != nil {
		return err
	}
	out := liabilityJSON{
		CommunityID: r.CommunityID,
		Month:       r.Month.String(),
		At:          r.At,
		Residents:   r.Residents,
		Outstanding: r.Outstanding,
		Held:        r.Held,
		Expiring30:  r.Expiring30,
		Expiring60:  r.Expiring60,
		Expiring90:  r.Expiring90,
		Partners:    make([]partnerRedeemedJSON, len(r.Partners)),
	}
	for i, p := range r.Partners {
		out.Partners[i] = partnerRedeemedJSON{
			PartnerID:    p.PartnerID,
			PartnerName:  p.PartnerName,
			Kind:         string(p.Kind),
			Settled:      p.Settled,
			StatementID:  p.StatementID,
			Status:       string(p.Status),
			Lines:        p.Lines,
			TotalFen:     int64(p.TotalFen),
			CommunityFen: int64(p.CommunityFen),
			PartnerFen:   int64(p.PartnerFen),
		}
	}
	return c.JSON(out)
}
