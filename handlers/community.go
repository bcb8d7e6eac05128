package handlers

import "github.com/gofiber/fiber/v2"

// CommunityService is what the community-structure routes call.
// (Filled in with the community work.)
type CommunityService interface{}

func (h *api) routesCommunity(r fiber.Router) {}
