package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
)

// mutualAidService is what the mutual-aid and fund routes call.
type mutualAidService interface {
	PostAid(ctx context.Context, p models.Principal, in mutualaid.NewAid, idem community.Idempotency) (models.MutualAid, error)
	Aid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error)
	Aids(ctx context.Context, p models.Principal, after string, limit int) ([]models.MutualAid, string, error)
	AcceptAid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error)
	AidDone(ctx context.Context, p models.Principal, id string) (models.MutualAid, error)
	CancelAid(ctx context.Context, p models.Principal, id, reason string) (models.MutualAid, error)
	DisputeAid(ctx context.Context, p models.Principal, id, reason string) (models.MutualAid, error)
	ConfirmAid(ctx context.Context, p models.Principal, id string) (models.MutualAid, error)
	ResolveAid(ctx context.Context, p models.Principal, id string, pay bool, reason string) (models.MutualAid, error)
	SetNeedy(ctx context.Context, p models.Principal, residentID string, needy bool) error
	CreditFund(ctx context.Context, p models.Principal, minutes models.Minutes, reason string, idem community.Idempotency) (models.Entry, error)
	Fund(ctx context.Context, p models.Principal) (models.Balance, error)
}

// routesMutualAid registers the mutual-aid (互助) routes, which any signed-in resident may
// use, and the staff routes that settle disputes, flag residents the fund pays for, and
// read and credit the community time-bank fund.
func (h *api) routesMutualAid(r fiber.Router) {
	anyone := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Post("/mutual-aid", anyone, h.postAid)
	r.Get("/mutual-aid", anyone, h.listAids)
	r.Get("/mutual-aid/:id", anyone, h.getAid)
	r.Post("/mutual-aid/:id/accept", anyone, h.acceptAid)
	r.Post("/mutual-aid/:id/done", anyone, h.aidDone)
	r.Post("/mutual-aid/:id/confirm", anyone, h.confirmAid)
	r.Post("/mutual-aid/:id/cancel", anyone, h.cancelAid)
	r.Post("/mutual-aid/:id/dispute", anyone, h.disputeAid)
	r.Post("/mutual-aid/:id/resolve", staff, h.resolveAid)
	r.Post("/residents/:id/needy", staff, h.setNeedy)
	r.Get("/timebank/fund", staff, h.fund)
	r.Post("/timebank/fund/credits", staff, h.creditFund)
}

// aidJSON is a mutual-aid post. Resident ids are given to its parties and staff only; the
// names are masked.
type aidJSON struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	PosterID      string     `json:"poster_id,omitempty"`
	PosterName    string     `json:"poster_name,omitempty"`
	RequesterID   string     `json:"requester_id,omitempty"`
	RequesterName string     `json:"requester_name,omitempty"`
	HelperID      string     `json:"helper_id,omitempty"`
	HelperName    string     `json:"helper_name,omitempty"`
	Title         string     `json:"title"`
	Description   string     `json:"description,omitempty"`
	Minutes       int64      `json:"minutes"`
	When          *time.Time `json:"when,omitempty"`
	Created       time.Time  `json:"created"`
	State         string     `json:"state"`
	PaidByFund    bool       `json:"paid_by_fund"`
	Note          string     `json:"note,omitempty"`
}

// toAidJSON converts a mutual-aid post to its JSON, with no time when the post names none.
func toAidJSON(a models.MutualAid) aidJSON {
	out := aidJSON{
		ID:            a.ID,
		Kind:          string(a.Kind),
		PosterID:      a.PosterID,
		PosterName:    a.PosterName,
		RequesterID:   a.RequesterID,
		RequesterName: a.RequesterName,
		HelperID:      a.HelperID,
		HelperName:    a.HelperName,
		Title:         a.Title,
		Description:   a.Description,
		Minutes:       int64(a.Minutes),
		Created:       a.Created,
		State:         string(a.State),
		PaidByFund:    a.PaidByFund,
		Note:          a.Note,
	}
	if !a.When.IsZero() {
		w := a.When
		out.When = &w
	}
	return out
}

// --- mutual aid ---

// postAidRequest is the body of POST /mutual-aid: a request or an offer, its title,
// description, minutes and when.
type postAidRequest struct {
	Kind        string     `json:"kind" validate:"required,oneof=request offer"`
	Title       string     `json:"title" validate:"required,min=1,max=80"`
	Description string     `json:"description" validate:"max=500"`
	Minutes     int64      `json:"minutes" validate:"required,min=1,max=1440"`
	When        *time.Time `json:"when"`
}

// postAid answers POST /mutual-aid: a resident posts a request for help or an offer; the
// service cleans it (400 VALIDATION_FAILED), and a request holds the poster's minutes (409
// INSUFFICIENT_HOURS past the debt floor). A repeat under the same Idempotency-Key
// (optional) gets the first answer.
func (h *api) postAid(c *fiber.Ctx) error {
	var req postAidRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	in := mutualaid.NewAid{
		Kind:        models.AidKind(req.Kind),
		Title:       req.Title,
		Description: req.Description,
		Minutes:     models.Minutes(req.Minutes),
	}
	if req.When != nil {
		in.When = *req.When
	}
	// The service cleans the post. A repeat with the same Idempotency-Key
	// (optional here) gets the first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		a, err := h.MutualAid.PostAid(c.UserContext(), principal(c), in, idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toAidJSON(a))
	})
}

// aidsJSON is one page of posts; NextAfter, when present, is the `after`
// of the next page.
type aidsJSON struct {
	Posts     []aidJSON `json:"posts"`
	NextAfter string    `json:"next_after,omitempty"`
}

// listAids answers GET /mutual-aid: a page of posts, the latest posted first, paged by
// `after` (the next_after of the page before); staff see every post of the community, a
// resident the open posts and their own.
func (h *api) listAids(c *fiber.Ctx) error {
	after, limit, err := paging(c)
	if err != nil {
		return err
	}
	as, next, err := h.MutualAid.Aids(c.UserContext(), principal(c), after, limit)
	if err != nil {
		return err
	}
	return c.JSON(aidsJSON{Posts: mapEach(as, toAidJSON), NextAfter: next})
}

// aidReply answers a post, or the error of the step that refused it.
func (h *api) aidReply(c *fiber.Ctx, a models.MutualAid, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(toAidJSON(a))
}

// getAid answers GET /mutual-aid/{id}: an open post for the whole community, an accepted
// or closed one only for its two parties and staff (404 to others).
func (h *api) getAid(c *fiber.Ctx) error {
	a, err := h.MutualAid.Aid(c.UserContext(), principal(c), param(c, "id"))
	return h.aidReply(c, a, err)
}

// acceptAid answers POST /mutual-aid/{id}/accept for anyone but the poster: accepting an
// offer holds the accepter's minutes (409 INSUFFICIENT_HOURS); 409 AID_STATE when a
// cancellation came first.
func (h *api) acceptAid(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	a, err := h.MutualAid.AcceptAid(c.UserContext(), principal(c), param(c, "id"))
	return h.aidReply(c, a, err)
}

// aidDone answers POST /mutual-aid/{id}/done for the post's helper (403 for anyone else):
// the helper says the help happened; the requester then confirms, or the job confirms it
// after the policy's days.
func (h *api) aidDone(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	a, err := h.MutualAid.AidDone(c.UserContext(), principal(c), param(c, "id"))
	return h.aidReply(c, a, err)
}

// confirmAid answers POST /mutual-aid/{id}/confirm for the requester: the held minutes are
// paid to the helper, once; 409 AID_STATE when a dispute or cancellation came first. Takes
// an Idempotency-Key.
func (h *api) confirmAid(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		a, err := h.MutualAid.ConfirmAid(c.UserContext(), principal(c), param(c, "id"))
		return h.aidReply(c, a, err)
	})
}

// cancelAid answers POST /mutual-aid/{id}/cancel for the requester or helper before the
// help is done: the held minutes go back; 409 AID_STATE when the post has moved on.
func (h *api) cancelAid(c *fiber.Ctx) error {
	reason, err := decodeReason(c)
	if err != nil {
		return err
	}
	a, err := h.MutualAid.CancelAid(c.UserContext(), principal(c), param(c, "id"), reason)
	return h.aidReply(c, a, err)
}

// disputeAid answers POST /mutual-aid/{id}/dispute for the requester or helper before
// confirmation: sends the post to staff, and nothing is paid until they rule (409
// AID_STATE after confirmation).
func (h *api) disputeAid(c *fiber.Ctx) error {
	reason, err := decodeReason(c)
	if err != nil {
		return err
	}
	a, err := h.MutualAid.DisputeAid(c.UserContext(), principal(c), param(c, "id"), reason)
	return h.aidReply(c, a, err)
}

// resolveRequest is the body of a dispute ruling: pay the helper or not, and why.
type resolveRequest struct {
	Pay    *bool  `json:"pay" validate:"required"`
	Reason string `json:"reason" validate:"required,min=1,max=500"`
}

// resolveAid answers POST /mutual-aid/{id}/resolve for staff: settles a dispute by paying
// the helper or cancelling; a blank reason is 400 VALIDATION_FAILED. Takes an
// Idempotency-Key.
func (h *api) resolveAid(c *fiber.Ctx) error {
	p := principal(c)
	var req resolveRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	reason, err := models.CleanReason(req.Reason)
	if err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		a, err := h.MutualAid.ResolveAid(c.UserContext(), p, param(c, "id"), *req.Pay, reason)
		return h.aidReply(c, a, err)
	})
}

// needyRequest is the body of POST /residents/{id}/needy.
type needyRequest struct {
	Needy *bool `json:"needy" validate:"required"`
}

// setNeedy answers POST /residents/{id}/needy for staff: flags or unflags a resident whose
// requests the community fund pays for.
func (h *api) setNeedy(c *fiber.Ctx) error {
	var req needyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := h.MutualAid.SetNeedy(c.UserContext(), principal(c), param(c, "id"), *req.Needy); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"resident_id": param(c, "id"), "needy": *req.Needy})
}

// minutesRequest is the body of a fund credit: the minutes and why.
type minutesRequest struct {
	Minutes int64  `json:"minutes" validate:"required,min=1,max=1000000000"`
	Reason  string `json:"reason" validate:"required,min=1,max=500"`
}

// creditFund answers POST /timebank/fund/credits for staff: credits the community
// time-bank fund, 201 with the ledger entry; a blank reason is 400 VALIDATION_FAILED.
// Takes an Idempotency-Key; a repeat gets the first answer.
func (h *api) creditFund(c *fiber.Ctx) error {
	p := principal(c)
	var req minutesRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	reason, err := models.CleanReason(req.Reason)
	if err != nil {
		return err
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		e, err := h.MutualAid.CreditFund(c.UserContext(), p, models.Minutes(req.Minutes), reason, idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toEntryJSON(e))
	})
}

// fund answers GET /timebank/fund for staff: the community time-bank fund's balance in
// minutes.
func (h *api) fund(c *fiber.Ctx) error {
	b, err := h.MutualAid.Fund(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(balanceJSON{
		Asset:  string(models.AssetHours),
		Amount: b.Amount,
		Seq:    b.Seq,
	})
}
