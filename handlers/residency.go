package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// residencyService is what the residency routes call (directory).
type residencyService interface {
	MarkMovedAway(ctx context.Context, p models.Principal, residentID string) (models.Residency, error)
	Residency(ctx context.Context, residentID string) (models.Residency, error)
	// Resident returns a resident p may see, or models.ErrNotFound.
	Resident(ctx context.Context, p models.Principal, id string) (models.Resident, error)
}

// routesResidency registers staff marking a resident moved away, which
// starts the retention period of their personal information.
func (h *api) routesResidency(r fiber.Router) {
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Post("/residents/:id/moved-away", staff, h.markMovedAway)
	r.Get("/residents/:id/residency", staff, h.getResidency)
}

// residencyJSON is what was decided about a resident leaving.
type residencyJSON struct {
	ResidentID string     `json:"resident_id"`
	MovedAway  time.Time  `json:"moved_away_at"`
	MarkedBy   string     `json:"marked_by"`
	Erased     *time.Time `json:"erased_at"`
}

// toResidencyJSON converts a resident's residency marks to their JSON, with erased_at null
// until the erasure.
func toResidencyJSON(r models.Residency) residencyJSON {
	out := residencyJSON{
		ResidentID: r.ResidentID,
		MovedAway:  r.MovedAway,
		MarkedBy:   r.MarkedBy,
	}
	if !r.Erased.IsZero() {
		at := r.Erased
		out.Erased = &at
	}
	return out
}

// markMovedAway answers POST /residents/{id}/moved-away for staff of the resident's
// community: marks the resident moved away once (a repeat, or another staff member's mark,
// gets the first mark), starting the retention period. Takes an Idempotency-Key.
func (h *api) markMovedAway(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		r, err := h.Residency.MarkMovedAway(c.UserContext(), principal(c), c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(toResidencyJSON(r))
	})
}

// getResidency answers GET /residents/{id}/residency for staff who may see the resident:
// when they were marked moved away and erased (404 when never marked).
func (h *api) getResidency(c *fiber.Ctx) error {
	// The resident must be one staff may see; then their marks.
	if _, err := h.Residency.Resident(c.UserContext(), principal(c), c.Params("id")); err != nil {
		return err
	}
	r, err := h.Residency.Residency(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toResidencyJSON(r))
}
