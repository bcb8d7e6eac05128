package handlers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/linli-community/linli/models"
)

// TokenVerifier checks an access token. It returns models.ErrUnauthenticated
// for any token that is not valid now.
type TokenVerifier interface {
	VerifyAccess(ctx context.Context, token string) (models.Principal, error)
}

// Pinger reports whether the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// RequestObserver is told about every request, for metrics.
type RequestObserver interface {
	Request(route, method string, status int, d time.Duration)
	// Replayed is called when a repeated keyed request got its first
	// answer back.
	Replayed()
}

// Deps are the services the API calls, by name. Each service field's type is
// the interface of exactly the methods its handler file calls, declared in
// that file (accountsService in accounts.go, timebankService in timebank.go …).
type Deps struct {
	Log        *slog.Logger
	Metrics    RequestObserver // optional
	Tokens     TokenVerifier
	Store      Pinger
	Auth       authService
	Community  communityService
	Accounts   accountsService
	Policies   policyService
	Settlement settlementService
	Rewards    rewardsService
	Offers     offersService
	Honour     honourService
	Timebank   timebankService
	MutualAid  mutualAidService
	Jobs       jobsService
	Inbox      inboxService
	Deliveries deliveryService
	Requests   requestLog
	Residency  residencyService
	// Privacy is the notice, consents, access log and export; optional:
	// without it there is no consent gate.
	Privacy privacyService
	// Now is the service's clock, for what an answer shows as of now (a
	// reward's active flag, the default day and month of a listing).
	// Unset, it is the wall clock.
	Now func() time.Time
}

// Options tune the HTTP server.
type Options struct {
	BodyLimit      int           // bytes
	RequestTimeout time.Duration // deadline of every request's context
}

// api is the HTTP API: the services it calls, its options, and the OpenAPI document it
// serves.
type api struct {
	Deps
	opts    Options
	openapi []byte // the merged OpenAPI document
}

// New builds the Fiber app with every route.
func New(deps Deps, opts Options) *fiber.App {
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = 1 << 20
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	doc, err := buildOpenAPI()
	if err != nil {
		panic(err) // the embedded document is broken: a build error, caught by the tests
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	h := &api{
		Deps:    deps,
		opts:    opts,
		openapi: doc,
	}
	app := fiber.New(fiber.Config{
		AppName:               "linli",
		BodyLimit:             opts.BodyLimit,
		ErrorHandler:          errorHandler(deps.Log),
		DisableStartupMessage: true,
		// By default Fiber's strings (method, params, headers) point into
		// buffers reused by the next request; anything that keeps one (a
		// metric label, a cache key, a goroutine) would see it change.
		// Immutable copies them, for a few allocations per request.
		Immutable:    true,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
	})
	app.Use(requestid.New(requestid.Config{Header: "X-Request-ID"}))
	app.Use(h.accessLog)
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		deps.Log.Error("panic", "request_id", requestID(c), "panic", e)
	}}))
	app.Use(h.deadline)

	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", h.ready)

	v1 := app.Group("/api/v1")
	v1.Get("/openapi.json", h.serveOpenAPI)
	h.routesAuth(v1)
	h.routesCommunity(v1)
	h.routesAccounts(v1)
	h.routesPolicy(v1)
	h.routesSettlement(v1)
	h.routesRewards(v1)
	h.routesOffers(v1)
	h.routesHonour(v1)
	h.routesTimebank(v1)
	h.routesMutualAid(v1)
	h.routesConsole(v1)
	h.routesInbox(v1)
	h.routesResidency(v1)
	h.routesPrivacy(v1)
	return app
}

// requestID returns the request's id given by the requestid middleware, or "" before it
// ran.
func requestID(c *fiber.Ctx) string {
	if id, ok := c.Locals("requestid").(string); ok {
		return id
	}
	return ""
}

// deadline gives every request a context that ends after RequestTimeout,
// on the wall clock: a deadline, not a business time.
func (h *api) deadline(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// isTimeout reports whether err is a request's deadline passing.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded)
}

// accessLog measures how long a request took on the wall clock, not on the
// service's clock (which tests may set): a duration, not a business time.
func (h *api) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response now so the status logged
		// is the one the client gets.
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	route := ""
	if r := c.Route(); r != nil {
		route = r.Path
	}
	if route == "" || route == "/" {
		route = "unmatched" // keeps unknown paths from becoming metric labels
	}
	elapsed := time.Since(start)
	status := c.Response().StatusCode()
	if h.Metrics != nil {
		h.Metrics.Request(route, c.Method(), status, elapsed)
	}
	h.Log.Info("request", "request_id", requestID(c), "method", c.Method(), "route", route,
		"status", status, "ms", elapsed.Milliseconds())
	return nil
}

// ready answers GET /readyz: 200 when the store answers, 503 UNAVAILABLE otherwise.
func (h *api) ready(c *fiber.Ctx) error {
	if err := h.Store.Ping(c.UserContext()); err != nil {
		h.Log.Warn("not ready", "err", err)
		return models.ErrUnavailable
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// authed admits a request with a valid bearer token whose principal holds
// one of roles (any role when none are given).
func (h *api) authed(roles ...models.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// RFC 6750: "Bearer" 1*SP token, the scheme in any case (RFC 9110).
		scheme, token, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		token = strings.TrimLeft(token, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return models.ErrUnauthenticated
		}
		p, err := h.Tokens.VerifyAccess(c.UserContext(), token)
		if err != nil {
			return err
		}
		if len(roles) > 0 && !p.Has(roles...) {
			return models.ErrForbidden
		}
		c.Locals(principalKey{}, p)
		if err := h.consentGate(c, p); err != nil {
			return err
		}
		return c.Next()
	}
}

// principalKey is the key under which authed keeps the caller in the request's locals.
type principalKey struct{}

// principal is the caller admitted by authed.
func principal(c *fiber.Ctx) models.Principal {
	p, _ := c.Locals(principalKey{}).(models.Principal)
	return p
}
