package services

import (
	"context"
	"fmt"

	"github.com/linli-community/linli/models"
)

// CheckinLister reads an activity's check-in marks (the store).
type CheckinLister interface {
	// CheckinMarks returns the check-ins of activityID, earliest first.
	CheckinMarks(ctx context.Context, activityID string) ([]models.Mark, error)
}

// Checkins reads back who has checked in to an activity, for its
// organisers: the check-in screen's live count and the attendance list.
type Checkins struct {
	timebank *Timebank
	marks    CheckinLister
}

// NewCheckins returns the check-in reader over the time bank's activities.
func NewCheckins(t *Timebank, marks CheckinLister) *Checkins {
	return &Checkins{timebank: t, marks: marks}
}

// List returns the check-ins of activityID; staff and the team lead who
// organises it may read them.
func (c *Checkins) List(ctx context.Context, p models.Principal, activityID string) ([]models.Mark, error) {
	a, err := c.timebank.Activity(ctx, p, activityID)
	if err != nil {
		return nil, err
	}
	if !organiserOf(p, a) {
		return nil, models.ErrForbidden
	}
	ms, err := c.marks.CheckinMarks(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("check-ins of %s: %w", a.ID, err)
	}
	return ms, nil
}
