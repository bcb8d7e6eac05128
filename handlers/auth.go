package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/sessions"
)

// authService is what the login, refresh, logout and /me routes call.
type authService interface {
	// Login returns models.ErrInvalidCredentials for a wrong phone or
	// password alike, models.ErrRateLimited after too many attempts.
	Login(ctx context.Context, phone, password, clientAddr string) (sessions.TokenPair, error)
	// Refresh returns models.ErrUnauthenticated for an unknown, expired or
	// revoked token, models.ErrTokenReused for one already spent.
	Refresh(ctx context.Context, refreshToken string) (sessions.TokenPair, error)
	Logout(ctx context.Context, p models.Principal) error
	Me(ctx context.Context, p models.Principal) (models.Resident, error)
}

// routesAuth registers sign-in and token refresh (no authentication), sign-out and GET /me
// (any signed-in caller).
func (h *api) routesAuth(r fiber.Router) {
	r.Post("/auth/login", h.login)
	r.Post("/auth/refresh", h.refresh)
	r.Post("/auth/logout", h.authed(), h.logout)
	r.Get("/me", h.authed(), h.me)
}

// loginRequest is the body of POST /auth/login.
type loginRequest struct {
	Phone string `json:"phone" validate:"required,max=20"`
	// 128 characters is the longest password that can be set.
	Password string `json:"password" validate:"required,max=128"`
	// Client "web" gets the refresh token as an HttpOnly cookie instead of
	// in the body, so a page's scripts never see it.
	Client string `json:"client" validate:"omitempty,oneof=web"`
}

// refreshRequest is the body of POST /auth/refresh.
type refreshRequest struct {
	// RefreshToken is required unless Client is "web", whose token is the
	// refresh cookie.
	RefreshToken string `json:"refresh_token" validate:"required_without=Client,max=100"`
	Client       string `json:"client" validate:"omitempty,oneof=web"`
}

// refreshCookie holds a web client's refresh token. It is sent only to the
// refresh route, never to scripts (HttpOnly), and never cross-site.
const (
	refreshCookie     = "linli_refresh"
	refreshCookiePath = "/api/v1/auth/refresh"
)

// tokenResponse is a token pair as the client gets it.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"` // absent for web clients: it is the cookie
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"` // seconds until the access token expires
}

// sendTokens answers a token pair, never cached; for a web client the refresh token goes
// into the HttpOnly cookie instead of the body.
func sendTokens(c *fiber.Ctx, p sessions.TokenPair, web bool) error {
	// Tokens must not be kept by a browser or proxy cache (RFC 6749 §5.1).
	c.Set(fiber.HeaderCacheControl, "no-store")
	out := tokenResponse{
		AccessToken:  p.AccessToken,
		RefreshToken: p.RefreshToken,
		TokenType:    "Bearer",
		ExpiresIn:    int64(p.ExpiresIn.Seconds()),
	}
	if web {
		setRefreshCookie(c, p.RefreshToken, p.RefreshExpires)
		out.RefreshToken = ""
	}
	return c.JSON(out)
}

// setRefreshCookie sets (or, with an empty token, clears) a web client's
// refresh cookie.
func setRefreshCookie(c *fiber.Ctx, token string, expires time.Time) {
	cookie := &fiber.Cookie{
		Name:     refreshCookie,
		Value:    token,
		Path:     refreshCookiePath,
		Expires:  expires,
		Secure:   true,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode,
	}
	if token == "" {
		cookie.Expires = time.Unix(0, 0)
		cookie.MaxAge = -1
	}
	c.Cookie(cookie)
}

// login answers POST /auth/login: signs in with phone and password; 401
// INVALID_CREDENTIALS for a wrong phone or password alike, 403 RESIDENT_MOVED_AWAY for a
// resident marked moved away, 429 RATE_LIMITED after too many
// attempts on a phone or from an address.
func (h *api) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	pair, err := h.Auth.Login(c.UserContext(), req.Phone, req.Password, c.IP())
	if err != nil {
		return err
	}
	return sendTokens(c, pair, req.Client == "web")
}

// refresh answers POST /auth/refresh: exchanges a refresh token (a web client's is its
// cookie) for a new pair; 401 UNAUTHENTICATED for an unknown, expired or revoked token,
// 401 REFRESH_TOKEN_REUSED for a spent one, which revokes the session. A refused web
// client's cookie is dropped.
func (h *api) refresh(c *fiber.Ctx) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	web := req.Client == "web"
	token := req.RefreshToken
	if web && token == "" {
		token = c.Cookies(refreshCookie)
		if token == "" {
			return models.ErrUnauthenticated
		}
	}
	pair, err := h.Auth.Refresh(c.UserContext(), token)
	if err != nil {
		if web {
			setRefreshCookie(c, "", time.Time{}) // spent or revoked: drop it
		}
		return err
	}
	return sendTokens(c, pair, web)
}

// logout answers POST /auth/logout: revokes the caller's session and drops the refresh
// cookie, 204.
func (h *api) logout(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	if err := h.Auth.Logout(c.UserContext(), principal(c)); err != nil {
		return err
	}
	setRefreshCookie(c, "", time.Time{})
	return c.SendStatus(fiber.StatusNoContent)
}

// meResponse is the caller's own profile, masked, with the session's roles and the consent
// status.
type meResponse struct {
	ResidentID  string   `json:"resident_id"`
	CommunityID string   `json:"community_id"`
	Roles       []string `json:"roles"`
	Name        string   `json:"name"`  // masked: 张*
	Phone       string   `json:"phone"` // masked: 138****5678
	HouseholdID string   `json:"household_id,omitempty"`
	MerchantID  string   `json:"merchant_id,omitempty"`
	PartnerID   string   `json:"partner_id,omitempty"`
	// Consent says whether the privacy notice in force must be accepted
	// first (POST /me/consents).
	Consent *consentStatusJSON `json:"consent,omitempty"`
}

// me answers GET /me: the caller's profile with name and phone masked, the roles of this
// session's token, and whether the privacy notice must be accepted first.
func (h *api) me(c *fiber.Ctx) error {
	p := principal(c)
	r, err := h.Auth.Me(c.UserContext(), p)
	if err != nil {
		return err
	}
	// The roles are the token's: what this session may do now.
	roles := make([]string, len(p.Roles))
	for i, role := range p.Roles {
		roles[i] = string(role)
	}
	consent, err := h.consentOf(c, p)
	if err != nil {
		return err
	}
	return c.JSON(meResponse{
		Consent:     consent,
		ResidentID:  r.ID,
		CommunityID: r.CommunityID,
		Roles:       roles,
		Name:        models.MaskName(r.Name),
		Phone:       models.MaskPhone(r.Phone),
		HouseholdID: r.HouseholdID,
		MerchantID:  p.MerchantID,
		PartnerID:   p.PartnerID,
	})
}
