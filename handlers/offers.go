package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/rewards"
)

// offersService is what GET /me/rewards calls (rewards.Service).
type offersService interface {
	// MyOffers returns models.ErrForbidden for a principal without a
	// resident.
	MyOffers(ctx context.Context, p models.Principal) ([]rewards.Offer, error)
}

// routesOffers registers GET /me/rewards for any signed-in resident.
func (h *api) routesOffers(r fiber.Router) {
	r.Get("/me/rewards", h.authed(), h.myOffers)
}

// refusalJSON says why a reward cannot be redeemed now, as an error would.
type refusalJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
}

// offerJSON is a reward as the caller sees it: whether they may redeem it now and, when
// not, the refusal a redemption would meet first.
type offerJSON struct {
	rewardJSON
	Available bool         `json:"available"`
	Refusal   *refusalJSON `json:"refusal,omitempty"`
}

// myOffers lists the active catalogue for the caller, each reward with
// whether they may redeem it now and, if not, why, in the caller's
// language.
func (h *api) myOffers(c *fiber.Ctx) error {
	offers, err := h.Offers.MyOffers(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	zh, now := wantsChinese(c), h.Now()
	out := make([]offerJSON, len(offers))
	for i, offer := range offers {
		out[i] = offerJSON{rewardJSON: toRewardJSON(offer.Reward, now), Available: offer.Refusal == nil}
		if offer.Refusal != nil {
			info := errorTable[offer.Refusal.Code]
			msg := info.en
			if zh {
				msg = info.zh
			}
			out[i].Refusal = &refusalJSON{
				Code:    string(offer.Refusal.Code),
				Message: msg,
				Detail:  offer.Refusal.LocalDetail(zh),
			}
		}
	}
	return c.JSON(fiber.Map{"rewards": out})
}
