package timebank

import (
	"context"
	"fmt"

	"github.com/linli-community/linli/models"
)

// Checkins returns who has checked in to activityID so far, earliest
// first, for its organisers (staff, or the team lead who organises it):
// the check-in screen's live count and the attendance list.
func (t *Service) Checkins(ctx context.Context, p models.Principal, activityID string) ([]models.Mark, error) {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return nil, err
	}
	if !organiserOf(p, a) {
		return nil, models.ErrForbidden
	}
	ms, err := t.store.CheckinMarks(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("check-ins of %s: %w", a.ID, err)
	}
	return ms, nil
}
