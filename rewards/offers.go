package rewards

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
)

// Offer is one reward of the catalogue as the calling resident sees
// it: whether they could redeem it now, and if not, why.
type Offer struct {
	Reward models.Reward
	// Refusal is nil when the resident may redeem the reward now; else it
	// is the refusal a redemption would meet first (NOT_ELIGIBLE for the
	// honour roll, star level, age, building heads or, for parking, a
	// household without a registered plate; LIMIT_REACHED;
	// SOLD_OUT; INSUFFICIENT_POINTS), with its detail in both languages.
	Refusal *models.Error
}

// MyOffers lists the active catalogue for the calling resident, each
// reward with the reason they cannot redeem it yet, in the order a
// redemption checks them. It reads the counters (one read per unit taken
// since the replica last looked) and writes nothing; a redemption still
// decides for itself, since a unit may go meanwhile.
func (s *Service) MyOffers(ctx context.Context, p models.Principal) ([]Offer, error) {
	if p.ResidentID == "" {
		return nil, models.ErrForbidden
	}
	res, err := s.people.Resident(ctx, p.ResidentID)
	if err != nil {
		return nil, fmt.Errorf("offers: %w", err)
	}
	loc, err := s.location(ctx, res.CommunityID)
	if err != nil {
		return nil, fmt.Errorf("offers: %w", err)
	}
	rws, err := s.Rewards(ctx, p, false)
	if err != nil {
		return nil, fmt.Errorf("offers: %w", err)
	}
	now := s.now()
	out := make([]Offer, 0, len(rws))
	for _, reward := range rws {
		refusal := s.admit(ctx, reward, res, now, loc)
		if refusal == nil && reward.Kind == models.RewardParking {
			_, refusal = s.householdPlate(ctx, res)
		}
		if refusal == nil {
			refusal = s.usedUp(ctx, reward, res, now, loc)
		}
		if refusal == nil {
			refusal = s.affordable(ctx, res, reward)
		}
		o := Offer{Reward: reward}
		if refusal != nil {
			var me *models.Error
			if !errors.As(refusal, &me) {
				return nil, refusal // a store failure, not a reason
			}
			o.Refusal = me
		}
		out = append(out, o)
	}
	return out, nil
}

// usedUp is the refusal of the first of reward's counters (limits, then stock)
// whose units are all taken now, counting each run from the replica's
// hint.
func (s *Service) usedUp(ctx context.Context, reward models.Reward, res models.Resident, now time.Time, loc *time.Location) error {
	for _, c := range counters(reward, res.ID, res.HouseholdID, now, loc) {
		taken, err := s.counter.Taken(ctx, c.key)
		if err != nil {
			return fmt.Errorf("offers: %w", err)
		}
		backs, err := s.counter.GivenBack(ctx, c.key)
		if err != nil {
			return fmt.Errorf("offers: %w", err)
		}
		if taken-backs >= c.capacity {
			return c.refusal
		}
	}
	return nil
}
