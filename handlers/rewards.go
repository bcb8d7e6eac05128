package handlers

import (
	"context"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/rewards"
	qrcode "github.com/skip2/go-qrcode"
)

// rewardsService is what the catalogue, redemption, partner, merchant and
// filial-parking routes call.
type rewardsService interface {
	CreateReward(ctx context.Context, p models.Principal, in models.Reward, idem community.Idempotency) (models.Reward, error)
	UpdateReward(ctx context.Context, p models.Principal, id string, in models.Reward) (models.Reward, error)
	Reward(ctx context.Context, p models.Principal, id string) (models.Reward, error)
	Rewards(ctx context.Context, p models.Principal, all bool) ([]models.Reward, error)

	Redeem(ctx context.Context, p models.Principal, rewardID string, idem community.Idempotency) (models.Redemption, error)
	Redemption(ctx context.Context, p models.Principal, id string) (models.Redemption, error)
	MyRedemptions(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.Redemption, string, error)
	Cancel(ctx context.Context, p models.Principal, id string) (models.Redemption, error)

	PendingCredits(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.Redemption, string, error)
	ApplyCredit(ctx context.Context, p models.Principal, id, billNo, billDate string, idem community.Idempotency) (models.Redemption, error)
	VoidCredit(ctx context.Context, p models.Principal, id, reason string, idem community.Idempotency) (models.Redemption, error)

	IssueQR(ctx context.Context, p models.Principal, rewardID string) (rewards.CounterQR, error)
	Scan(ctx context.Context, p models.Principal, token string, idem community.Idempotency) (rewards.ScanResult, error)
	// ScanCode is Scan for the short code a clerk typed.
	ScanCode(ctx context.Context, p models.Principal, code string, idem community.Idempotency) (rewards.ScanResult, error)
	Refund(ctx context.Context, p models.Principal, id, reason string) (models.Redemption, error)
	MerchantDay(ctx context.Context, p models.Principal, day, cursor string, limit int) ([]models.Redemption, string, error)

	RegisterFilialPlate(ctx context.Context, p models.Principal, parentID, plate string) (models.FilialPlate, error)
	BookFilialVisit(ctx context.Context, p models.Principal, plate, day string) (models.FilialBooking, error)
	CancelFilialVisit(ctx context.Context, p models.Principal, id string, idem community.Idempotency) (models.FilialBooking, error)
	MyFilialVisits(ctx context.Context, p models.Principal, parentID string) (rewards.FilialVisits, error)
	GateEvent(ctx context.Context, p models.Principal, in rewards.GateEventIn) (models.GateEvent, error)
	GateEvents(ctx context.Context, p models.Principal, day string) ([]models.GateEvent, error)
}

// routesRewards registers the rewards routes: the catalogue (staff edit it), redemptions
// and merchant QR tokens (residents), credits (partners), scans and refunds (merchant
// clerks), filial-visit parking and the car-park gate.
func (h *api) routesRewards(r fiber.Router) {
	anyone := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	partner := h.authed(models.RolePartner)
	clerk := h.authed(models.RoleMerchantClerk)
	r.Get("/rewards", anyone, h.listRewards)
	r.Post("/rewards", staff, h.createReward)
	r.Get("/rewards/:id", anyone, h.getReward)
	r.Put("/rewards/:id", staff, h.updateReward)
	r.Post("/rewards/:id/redemptions", anyone, h.redeem)
	r.Post("/rewards/:id/qr", anyone, h.issueQR)
	r.Get("/rewards/:id/qr.png", anyone, h.issueQRPNG)
	r.Get("/me/redemptions", anyone, h.myRedemptions)
	r.Get("/redemptions/:id", anyone, h.getRedemption)
	r.Post("/redemptions/:id/cancel", anyone, h.cancelRedemption)
	r.Get("/partner/credits", partner, h.pendingCredits)
	r.Post("/partner/credits/:id/apply", partner, h.applyCredit)
	r.Post("/partner/credits/:id/void", partner, h.voidCredit)
	r.Post("/merchant/scans", clerk, h.scan)
	r.Get("/merchant/redemptions", clerk, h.merchantDay)
	r.Post("/merchant/redemptions/:id/refund", clerk, h.refund)
	r.Post("/filial/plates", anyone, h.registerFilialPlate)
	r.Get("/filial/visits", anyone, h.filialVisits)
	r.Post("/filial/bookings", anyone, h.bookFilialVisit)
	r.Post("/filial/bookings/:id/cancel", anyone, h.cancelFilialVisit)
	r.Post("/parking/gate-events", partner, h.gateEvent)
	r.Get("/parking/gate-events", h.authed(models.RolePartner, models.RoleStaff, models.RoleAdmin), h.gateEvents)
}

// rewardRequest is a catalogue item as staff create or replace it.
type rewardRequest struct {
	Kind                string     `json:"kind" validate:"required"`
	Title               string     `json:"title" validate:"required"`
	PartnerID           string     `json:"partner_id" validate:"required,max=64"`
	Points              int64      `json:"points"`
	ValueFen            int64      `json:"value_fen"`
	Bearer              string     `json:"bearer" validate:"required"`
	StockTotal          int        `json:"stock_total"`
	StockPerMonth       int        `json:"stock_per_month"`
	LimitMonth          int        `json:"limit_month"`
	LimitQuarter        int        `json:"limit_quarter"`
	LimitYear           int        `json:"limit_year"`
	HouseholdYearCapFen int64      `json:"household_year_cap_fen"`
	HonourOnly          bool       `json:"honour_only"`
	MinStar             int        `json:"min_star"`
	MinAge              int        `json:"min_age"`
	HeadsOnly           bool       `json:"heads_only"`
	ActiveFrom          *time.Time `json:"active_from"`
	ActiveUntil         *time.Time `json:"active_until"`
	Disabled            bool       `json:"disabled"`
}

// model converts the request to the reward it describes, with the active window in UTC.
func (r rewardRequest) model() models.Reward {
	out := models.Reward{
		Kind:                models.RewardKind(r.Kind),
		Title:               r.Title,
		PartnerID:           r.PartnerID,
		Points:              models.Points(r.Points),
		ValueFen:            models.Fen(r.ValueFen),
		Bearer:              models.Bearer(r.Bearer),
		StockTotal:          r.StockTotal,
		StockPerMonth:       r.StockPerMonth,
		LimitMonth:          r.LimitMonth,
		LimitQuarter:        r.LimitQuarter,
		LimitYear:           r.LimitYear,
		HouseholdYearCapFen: models.Fen(r.HouseholdYearCapFen),
		HonourOnly:          r.HonourOnly,
		MinStar:             r.MinStar,
		MinAge:              r.MinAge,
		HeadsOnly:           r.HeadsOnly,
		Disabled:            r.Disabled,
	}
	if r.ActiveFrom != nil {
		out.ActiveFrom = r.ActiveFrom.UTC()
	}
	if r.ActiveUntil != nil {
		out.ActiveUntil = r.ActiveUntil.UTC()
	}
	return out
}

// rewardJSON is a reward as the catalogue shows it: its terms, whether it is offered now,
// and when it was created.
type rewardJSON struct {
	ID string `json:"id"`
	rewardRequest
	Active  bool      `json:"active"`
	Created time.Time `json:"created"`
}

// toRewardJSON shows r as it is at now (the service's clock): active or not.
func toRewardJSON(r models.Reward, now time.Time) rewardJSON {
	out := rewardJSON{
		ID:      r.ID,
		Active:  r.ActiveAt(now),
		Created: r.Created,
		rewardRequest: rewardRequest{
			Kind:                string(r.Kind),
			Title:               r.Title,
			PartnerID:           r.PartnerID,
			Points:              int64(r.Points),
			ValueFen:            int64(r.ValueFen),
			Bearer:              string(r.Bearer),
			StockTotal:          r.StockTotal,
			StockPerMonth:       r.StockPerMonth,
			LimitMonth:          r.LimitMonth,
			LimitQuarter:        r.LimitQuarter,
			LimitYear:           r.LimitYear,
			HouseholdYearCapFen: int64(r.HouseholdYearCapFen),
			HonourOnly:          r.HonourOnly,
			MinStar:             r.MinStar,
			MinAge:              r.MinAge,
			HeadsOnly:           r.HeadsOnly,
			Disabled:            r.Disabled,
		},
	}
	if !r.ActiveFrom.IsZero() {
		t := r.ActiveFrom
		out.ActiveFrom = &t
	}
	if !r.ActiveUntil.IsZero() {
		t := r.ActiveUntil
		out.ActiveUntil = &t
	}
	return out
}

// redemptionJSON is a redemption: what was redeemed by whom, its code and status, and the
// bill a credit was applied to.
type redemptionJSON struct {
	ID         string     `json:"id"`
	RewardID   string     `json:"reward_id"`
	Kind       string     `json:"kind"`
	Title      string     `json:"title"`
	PartnerID  string     `json:"partner_id"`
	ResidentID string     `json:"resident_id"`
	Household  string     `json:"household_id,omitempty"`
	Plate      string     `json:"plate,omitempty"`
	Points     int64      `json:"points"`
	ValueFen   int64      `json:"value_fen"`
	Bearer     string     `json:"bearer"`
	Code       string     `json:"code"`
	Status     string     `json:"status"`
	Created    time.Time  `json:"created"`
	Expires    time.Time  `json:"expires"`
	Generation int        `json:"generation"`
	Fulfilled  *time.Time `json:"fulfilled,omitempty"`
	Closed     *time.Time `json:"closed,omitempty"`
	BillNo     string     `json:"bill_no,omitempty"`
	BillDate   string     `json:"bill_date,omitempty"`
}

// timePtr returns nil for the zero time, so JSON leaves out a time that has not happened.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// toRedemptionJSON converts a redemption to its JSON.
func toRedemptionJSON(r models.Redemption) redemptionJSON {
	return redemptionJSON{
		ID:         r.ID,
		RewardID:   r.RewardID,
		Kind:       string(r.Kind),
		Title:      r.Title,
		PartnerID:  r.PartnerID,
		ResidentID: r.ResidentID,
		Household:  r.HouseholdID,
		Plate:      r.Plate,
		Points:     int64(r.Points),
		ValueFen:   int64(r.ValueFen),
		Bearer:     string(r.Bearer),
		Code:       r.Code,
		Status:     string(r.Status),
		Created:    r.Created,
		Expires:    r.Expires,
		Generation: r.Generation,
		Fulfilled:  timePtr(r.Fulfilled),
		Closed:     timePtr(r.Closed),
		BillNo:     r.BillNo,
		BillDate:   r.BillDate,
	}
}

// redemptionsResponse is a list of redemptions and, for a paged list, the cursor of the
// next page.
type redemptionsResponse struct {
	Redemptions []redemptionJSON `json:"redemptions"`
	// Next is the cursor of the next page; absent at the end.
	Next string `json:"next,omitempty"`
}

// toRedemptions wraps redemptions in a redemptionsResponse with no next page.
func toRedemptions(rs []models.Redemption) redemptionsResponse {
	out := redemptionsResponse{Redemptions: mapEach(rs, toRedemptionJSON)}
	return out
}

// rewardsResponse is the catalogue: a list of rewards.
type rewardsResponse struct {
	Rewards []rewardJSON `json:"rewards"`
}

// listRewards answers GET /rewards for any signed-in caller: the community's active
// rewards; staff may pass all=true for withdrawn and future ones too.
func (h *api) listRewards(c *fiber.Ctx) error {
	rs, err := h.Rewards.Rewards(c.UserContext(), principal(c), c.Query("all") == "true")
	if err != nil {
		return err
	}
	now := h.Now()
	out := rewardsResponse{Rewards: mapEach(rs, func(r models.Reward) rewardJSON { return toRewardJSON(r, now) })}
	return c.JSON(out)
}

// createReward answers POST /rewards for staff: adds a reward whose partner is of the
// community and of the reward's kind. A repeat under the same Idempotency-Key (optional)
// gets the first answer.
func (h *api) createReward(c *fiber.Ctx) error {
	var req rewardRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		r, err := h.Rewards.CreateReward(c.UserContext(), principal(c), req.model(), idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toRewardJSON(r, h.Now()))
	})
}

// getReward answers GET /rewards/{id}: one reward; residents see only active ones.
func (h *api) getReward(c *fiber.Ctx) error {
	r, err := h.Rewards.Reward(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toRewardJSON(r, h.Now()))
}

// updateReward answers PUT /rewards/{id} for staff: replaces a reward's terms; redemptions
// made already keep theirs.
func (h *api) updateReward(c *fiber.Ctx) error {
	var req rewardRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := h.Rewards.UpdateReward(c.UserContext(), principal(c), param(c, "id"), req.model())
	if err != nil {
		return err
	}
	return c.JSON(toRewardJSON(r, h.Now()))
}

// redeem answers POST /rewards/{id}/redemptions: a resident redeems a parking or
// property-fee reward, holding the points; 403 NOT_ELIGIBLE, 409 SOLD_OUT, LIMIT_REACHED,
// INSUFFICIENT_POINTS or REWARD_INACTIVE. Takes an Idempotency-Key; a repeat returns the
// same redemption.
func (h *api) redeem(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		r, err := h.Rewards.Redeem(c.UserContext(), principal(c), param(c, "id"), idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toRedemptionJSON(r))
	})
}

// qrResponse is a merchant QR token, its typeable code, the reward and when it expires.
type qrResponse struct {
	Token    string    `json:"token"`
	Code     string    `json:"code"` // 8 characters a clerk can type instead of scanning
	RewardID string    `json:"reward_id"`
	Expires  time.Time `json:"expires"`
}

// issueQR answers POST /rewards/{id}/qr: a resident gets a single-use token for a merchant
// reward, valid five minutes; 403 NOT_ELIGIBLE, 429 RATE_LIMITED beyond the per-minute
// limit.
func (h *api) issueQR(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	token, err := h.Rewards.IssueQR(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(qrResponse{
		Token:    token.Token,
		Code:     token.Code,
		RewardID: token.RewardID,
		Expires:  token.Expires,
	})
}

// issueQRPNG answers GET /rewards/{id}/qr.png: the token of POST /rewards/{id}/qr drawn as
// a PNG, with its expiry in X-QR-Expires and its code in X-QR-Code; never cached.
func (h *api) issueQRPNG(c *fiber.Ctx) error {
	token, err := h.Rewards.IssueQR(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(token.Token, qrcode.Medium, 320)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-QR-Expires", token.Expires.Format(time.RFC3339))
	c.Set("X-QR-Code", token.Code)
	return c.Send(png)
}

// myRedemptions answers GET /me/redemptions: the caller's redemptions, newest first, paged
// by cursor.
func (h *api) myRedemptions(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	rs, next, err := h.Rewards.MyRedemptions(c.UserContext(), principal(c), cursor, limit)
	if err != nil {
		return err
	}
	out := toRedemptions(rs)
	out.Next = next
	return c.JSON(out)
}

// MaxListLimit bounds the limit query parameter of redemption listings.
const MaxListLimit = 200

// getRedemption answers GET /redemptions/{id} for its resident and the community's staff.
func (h *api) getRedemption(c *fiber.Ctx) error {
	r, err := h.Rewards.Redemption(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toRedemptionJSON(r))
}

// cancelRedemption answers POST /redemptions/{id}/cancel: cancels a held redemption before
// fulfilment and gives the points back once (409 REDEMPTION_CLOSED when it was fulfilled
// or expired first). Takes an Idempotency-Key.
func (h *api) cancelRedemption(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		// Cancelling is final, so the state keys it.
		r, err := h.Rewards.Cancel(c.UserContext(), principal(c), param(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(toRedemptionJSON(r))
	})
}

// pendingCredits answers GET /partner/credits for a partner: a page of their property-fee
// and parking credits waiting for a bill, newest first, paged by `cursor` and `next`.
func (h *api) pendingCredits(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	rs, next, err := h.Rewards.PendingCredits(c.UserContext(), principal(c), cursor, limit)
	if err != nil {
		return err
	}
	out := toRedemptions(rs)
	out.Next = next
	return c.JSON(out)
}

// applyCreditRequest is the bill a partner applied a credit to.
type applyCreditRequest struct {
	BillNo   string `json:"bill_no" validate:"required,max=40,printascii"`
	BillDate string `json:"bill_date" validate:"required,datetime=2006-01-02"`
}

// applyCredit answers POST /partner/credits/{id}/apply for a partner: fulfils a credit
// against a bill, for the monthly settlement (409 REDEMPTION_CLOSED when cancelled,
// expired or applied to another bill). Takes an Idempotency-Key; a repeat gets the first
// answer.
func (h *api) applyCredit(c *fiber.Ctx) error {
	var req applyCreditRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// The service cleans the bill number.
	return h.keyed(c, func(idem community.Idempotency) error {
		r, err := h.Rewards.ApplyCredit(c.UserContext(), principal(c), param(c, "id"), req.BillNo, req.BillDate, idem)
		if err != nil {
			return err
		}
		return c.JSON(toRedemptionJSON(r))
	})
}

// optionalReason is a body whose reason may be left out.
type optionalReason struct {
	Reason string `json:"reason" validate:"max=200"`
}

// decodeOptionalReason reads an optionalReason; the service cleans the
// reason, and a blank one is none.
func decodeOptionalReason(c *fiber.Ctx) (string, error) {
	var req optionalReason
	if err := decode(c, &req); err != nil {
		return "", err
	}
	return req.Reason, nil
}

// voidCredit answers POST /partner/credits/{id}/void for a partner: the bill a credit was
// applied to was voided, so the credit is pending again, once per voided bill. Takes an
// Idempotency-Key; a repeat gets the first answer.
func (h *api) voidCredit(c *fiber.Ctx) error {
	reason, err := decodeOptionalReason(c)
	if err != nil {
		return err
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		r, err := h.Rewards.VoidCredit(c.UserContext(), principal(c), param(c, "id"), reason, idem)
		if err != nil {
			return err
		}
		return c.JSON(toRedemptionJSON(r))
	})
}

// counterScanRequest names the QR's token (scanned) or its short code
// (typed), exactly one.
type counterScanRequest struct {
	Token string `json:"token" validate:"required_without=Code,excluded_with=Code,max=1024"`
	Code  string `json:"code" validate:"max=20"`
}

// scanResponse is what a clerk sees after a scan: the redemption, the resident's masked
// name and what was redeemed.
type scanResponse struct {
	RedemptionID string    `json:"redemption_id"`
	Code         string    `json:"code"`
	Resident     string    `json:"resident"` // masked, e.g. 王**
	Title        string    `json:"title"`
	Points       int64     `json:"points"`
	ValueFen     int64     `json:"value_fen"`
	Status       string    `json:"status"`
	At           time.Time `json:"at"`
}

// scan answers POST /merchant/scans for a merchant clerk: redeems a scanned token, or the
// code typed instead, exactly once (409 ALREADY_REDEEMED, 410 TOKEN_EXPIRED, 400
// TOKEN_INVALID, 403 for another merchant's clerk). Takes an Idempotency-Key; a repeat
// gets the first answer.
func (h *api) scan(c *fiber.Ctx) error {
	var req counterScanRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		var res rewards.ScanResult
		var err error
		if req.Code != "" {
			res, err = h.Rewards.ScanCode(c.UserContext(), principal(c), req.Code, idem)
		} else {
			res, err = h.Rewards.Scan(c.UserContext(), principal(c), req.Token, idem)
		}
		if err != nil {
			return err
		}
		r := res.Redemption
		return c.Status(fiber.StatusCreated).JSON(scanResponse{
			RedemptionID: r.ID,
			Code:         r.Code,
			Resident:     res.MaskedName,
			Title:        r.Title,
			Points:       int64(r.Points),
			ValueFen:     int64(r.ValueFen),
			Status:       string(r.Status),
			At:           r.Fulfilled,
		})
	})
}

// merchantRedemptionJSON is what a clerk sees of a redemption: no resident
// id, no household.
type merchantRedemptionJSON struct {
	ID       string     `json:"id"`
	Code     string     `json:"code"`
	Title    string     `json:"title"`
	Points   int64      `json:"points"`
	ValueFen int64      `json:"value_fen"`
	Status   string     `json:"status"`
	Created  time.Time  `json:"created"`
	Closed   *time.Time `json:"closed,omitempty"`
}

// toMerchantJSON converts a redemption to what its merchant may see of it.
func toMerchantJSON(r models.Redemption) merchantRedemptionJSON {
	return merchantRedemptionJSON{
		ID:       r.ID,
		Code:     r.Code,
		Title:    r.Title,
		Points:   int64(r.Points),
		ValueFen: int64(r.ValueFen),
		Status:   string(r.Status),
		Created:  r.Created,
		Closed:   timePtr(r.Closed),
	}
}

// merchantDayResponse is one page of a merchant's redemptions and the cursor of the next.
type merchantDayResponse struct {
	Redemptions []merchantRedemptionJSON `json:"redemptions"`
	// Next is the cursor of the next page; absent at the end.
	Next string `json:"next,omitempty"`
}

// merchantDay answers GET /merchant/redemptions for a merchant clerk: the day's
// redemptions at their merchant, newest first, paged by cursor.
func (h *api) merchantDay(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	rs, next, err := h.Rewards.MerchantDay(c.UserContext(), principal(c), c.Query("day"), cursor, limit)
	if err != nil {
		return err
	}
	out := merchantDayResponse{Redemptions: mapEach(rs, toMerchantJSON), Next: next}
	return c.JSON(out)
}

// refund answers POST /merchant/redemptions/{id}/refund for a merchant clerk: refunds a
// redemption within the policy's refund days, once (409 REFUND_WINDOW_ENDED after). Takes
// an Idempotency-Key.
func (h *api) refund(c *fiber.Ctx) error {
	reason, err := decodeOptionalReason(c)
	if err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		// A redemption is refunded at most once, so the state keys it.
		r, err := h.Rewards.Refund(c.UserContext(), principal(c), param(c, "id"), reason)
		if err != nil {
			return err
		}
		return c.JSON(toMerchantJSON(r))
	})
}

// filialPlateRequest is the body of POST /filial/plates: the visiting child's plate and,
// for staff, the parent.
type filialPlateRequest struct {
	Plate    string `json:"plate" validate:"required,max=20"`
	ParentID string `json:"parent_id" validate:"max=64"`
}

// filialPlateJSON is a plate registered for filial-visit parking.
type filialPlateJSON struct {
	Plate        string    `json:"plate"`
	ParentID     string    `json:"parent_id"`
	RegisteredBy string    `json:"registered_by"`
	Created      time.Time `json:"created"`
}

// registerFilialPlate answers POST /filial/plates: an elderly parent registers a visiting
// child's plate, or staff for any resident; 403 NOT_ELIGIBLE when the parent is too young,
// 409 ALREADY_EXISTS when the plate is another resident's.
func (h *api) registerFilialPlate(c *fiber.Ctx) error {
	var req filialPlateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	plate, err := h.Rewards.RegisterFilialPlate(c.UserContext(), principal(c), req.ParentID, req.Plate)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toFilialPlateJSON(plate))
}

// toFilialPlateJSON converts a filial-visit plate to its JSON.
func toFilialPlateJSON(plate models.FilialPlate) filialPlateJSON {
	return filialPlateJSON{
		Plate:        plate.Plate,
		ParentID:     plate.ParentID,
		RegisteredBy: plate.RegisteredBy,
		Created:      plate.Created,
	}
}

// filialVisits lists a parent's plates and coming bookings (?parent_id,
// default the caller) to the parent, staff or a verified child.
func (h *api) filialVisits(c *fiber.Ctx) error {
	visits, err := h.Rewards.MyFilialVisits(c.UserContext(), principal(c), c.Query("parent_id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"parent_id": visits.ParentID,
		"plates":    mapEach(visits.Plates, toFilialPlateJSON),
		"bookings":  mapEach(visits.Bookings, toFilialBookingJSON),
	})
}

// filialBookingRequest is the body of POST /filial/bookings: the plate and the day.
type filialBookingRequest struct {
	Plate string `json:"plate" validate:"required,max=20"`
	Day   string `json:"day" validate:"required,datetime=2006-01-02"`
}

// filialBookingJSON is a visitor-bay booking for a filial visit.
type filialBookingJSON struct {
	ID       string `json:"id"`
	Plate    string `json:"plate"`
	ParentID string `json:"parent_id"`
	Day      string `json:"day"`
	Bay      int    `json:"bay"`
	Status   string `json:"status"` // booked or cancelled
}

// toFilialBookingJSON converts a booking to its JSON, with its status booked or cancelled.
func toFilialBookingJSON(b models.FilialBooking) filialBookingJSON {
	status := "booked"
	if b.Cancelled {
		status = "cancelled"
	}
	return filialBookingJSON{
		ID:       b.ID,
		Plate:    b.Plate,
		ParentID: b.ParentID,
		Day:      b.Day,
		Bay:      b.Bay,
		Status:   status,
	}
}

// bookFilialVisit answers POST /filial/bookings: the parent, staff or a verified child
// books a visitor bay on a filial-visit day; 409 BAYS_FULL or NOT_FILIAL_DAY, 422
// FAMILY_NOT_VERIFIED. A repeat returns the same booking.
func (h *api) bookFilialVisit(c *fiber.Ctx) error {
	var req filialBookingRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	b, err := h.Rewards.BookFilialVisit(c.UserContext(), principal(c), req.Plate, req.Day)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toFilialBookingJSON(b))
}

// cancelFilialVisit answers POST /filial/bookings/{id}/cancel: the parent, the visitor who
// booked or staff cancel a visit before it is used (409 VISIT_CLOSED), giving the bay back
// once; the id arrives percent-encoded and a body is 400. Takes an Idempotency-Key.
func (h *api) cancelFilialVisit(c *fiber.Ctx) error {
	// A booking id holds the plate (沪A12345) and colons: clients send it
	// percent-encoded.
	id, err := url.PathUnescape(c.Params("id"))
	if err != nil {
		return models.ErrValidation.Withf("预约编号格式不正确，无法识别。", "the booking id is not a valid path segment")
	}
	if len(c.Body()) > 0 {
		return models.ErrValidation.Withf("此操作不需要请求内容，请不要附带请求体。", "this route takes no body")
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		b, err := h.Rewards.CancelFilialVisit(c.UserContext(), principal(c), id, idem)
		if err != nil {
			return err
		}
		return c.JSON(toFilialBookingJSON(b))
	})
}

// gateEventRequest is one pass through the car-park gate, as the parking operator posts
// it.
type gateEventRequest struct {
	EventID   string    `json:"event_id" validate:"required,max=64"`
	Plate     string    `json:"plate" validate:"required,max=20"`
	Direction string    `json:"direction" validate:"required,oneof=in out"`
	At        time.Time `json:"at" validate:"required"`
}

// gateEventJSON is a gate event with the free minutes it got and why.
type gateEventJSON struct {
	EventID     string    `json:"event_id"`
	Plate       string    `json:"plate"`
	Direction   string    `json:"direction"`
	At          time.Time `json:"at"`
	FreeMinutes int64     `json:"free_minutes"`
	ReasonCode  string    `json:"reason_code"`
	Reason      string    `json:"reason"`
}

// gateEvents answers a day's gate events, for the parking operator's page.
func (h *api) gateEvents(c *fiber.Ctx) error {
	events, err := h.Rewards.GateEvents(c.UserContext(), principal(c), c.Query("day"))
	if err != nil {
		return err
	}
	out := make([]gateEventJSON, len(events))
	for i, event := range events {
		out[i] = gateEventJSON{
			EventID:     event.EventID,
			Plate:       event.Plate,
			Direction:   string(event.Direction),
			At:          event.At,
			FreeMinutes: int64(event.FreeMinutes),
			ReasonCode:  event.ReasonCode,
			Reason:      event.Reason,
		}
	}
	return c.JSON(fiber.Map{"events": out})
}

// gateEvent answers POST /parking/gate-events for the parking operator: records a pass; an
// exit answers the free minutes of a filial visit. The same event_id posted again gets the
// same answer.
func (h *api) gateEvent(c *fiber.Ctx) error {
	var req gateEventRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	event, err := h.Rewards.GateEvent(c.UserContext(), principal(c), rewards.GateEventIn{
		EventID:   req.EventID,
		Plate:     req.Plate,
		Direction: models.GateDirection(req.Direction),
		At:        req.At,
	})
	if err != nil {
		return err
	}
	return c.JSON(gateEventJSON{
		EventID:     event.EventID,
		Plate:       event.Plate,
		Direction:   string(event.Direction),
		At:          event.At,
		FreeMinutes: int64(event.FreeMinutes),
		ReasonCode:  event.ReasonCode,
		Reason:      event.Reason,
	})
}
