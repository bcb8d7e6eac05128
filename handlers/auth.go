package handlers

import "github.com/gofiber/fiber/v2"

// AuthService is what the login, refresh and logout routes call.
// (Filled in with the auth work.)
type AuthService interface{}

func (h *api) routesAuth(r fiber.Router) {}
