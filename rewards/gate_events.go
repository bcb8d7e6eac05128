package rewards

import (
	"context"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// GateEvents lists a day's passes through the car-park gate (the
// community's calendar day; today when day is empty) with what each got:
// the filial-visit sessions are the exits that got free minutes, or the
// reason they did not. The parking operator and staff read them.
func (s *Service) GateEvents(ctx context.Context, p models.Principal, day string) ([]models.GateEvent, error) {
	if !p.IsStaff() {
		if _, err := s.partnerOf(ctx, p, models.PartnerParking); err != nil {
			return nil, err
		}
	}
	loc, err := s.location(ctx, p.CommunityID)
	if err != nil {
		return nil, err
	}
	var from time.Time
	if day == "" {
		n := s.now().In(loc)
		from = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	} else if from, err = time.ParseInLocation("2006-01-02", day, loc); err != nil {
		return nil, models.ErrValidation.Withf("日期格式须为 2026-11-21。", "day must look like 2026-11-21")
	}
	return s.store.GateEvents(ctx, p.CommunityID, from.UTC(), from.AddDate(0, 0, 1).UTC(), community.MaxPageSize)
}
