package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
)

// inboxService is what the inbox routes call (inbox.Inbox).
type inboxService interface {
	List(ctx context.Context, p models.Principal, after string, limit int) (inbox.Page, error)
	UnreadCount(ctx context.Context, p models.Principal) (inbox.Unread, error)
	MarkRead(ctx context.Context, p models.Principal, id string) (models.Notification, error)
	MarkAllRead(ctx context.Context, p models.Principal) (int64, error)
	Preferences(ctx context.Context, p models.Principal) (inbox.Preferences, error)
	SetPreferences(ctx context.Context, p models.Principal, lang string, enabled map[string]bool) (inbox.Preferences, error)
}

// deliveryService is what the dead-letter routes call (outbound.Deliverer).
type deliveryService interface {
	DeadLetters(ctx context.Context, p models.Principal) ([]outbound.DeadLetter, error)
	Retry(ctx context.Context, p models.Principal, id string) (outbound.DeadLetter, error)
}

// routesInbox registers the inbox routes (the caller's own notifications
// and preferences) and the dead-letter routes (staff). None needs an
// Idempotency-Key: a read mark, an "all read" and a preference save leave
// the same state when repeated, and a dead letter's retry is decided by
// an insert-once mark per generation (ARCHITECTURE.md §4.2).
func (h *api) routesInbox(r fiber.Router) {
	anyone := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Get("/me/notifications", anyone, h.listNotifications)
	r.Get("/me/notifications/unread-count", anyone, h.unreadCount)
	r.Post("/me/notifications/read-all", anyone, h.markAllRead)
	r.Post("/me/notifications/:id/read", anyone, h.markRead)
	r.Get("/me/notification-preferences", anyone, h.notificationPreferences)
	r.Put("/me/notification-preferences", anyone, h.setNotificationPreferences)
	r.Get("/deliveries/dead-letters", staff, h.deadLetters)
	r.Post("/deliveries/dead-letters/:id/retry", staff, h.retryDeadLetter)
}

// notificationJSON is one notification in a resident's inbox, with whether it was read.
type notificationJSON struct {
	ID       string    `json:"id"`
	Seq      int64     `json:"seq"`
	Kind     string    `json:"kind"`
	Category string    `json:"category"`
	EventID  string    `json:"event_id"`
	Language string    `json:"language"`
	Title    string    `json:"title"`
	Body     string    `json:"body"`
	Link     string    `json:"link,omitempty"`
	Urgent   bool      `json:"urgent"`
	Read     bool      `json:"read"`
	Created  time.Time `json:"created_at"`
}

// toNotificationJSON converts a notification to its JSON.
func toNotificationJSON(n models.Notification) notificationJSON {
	return notificationJSON{
		ID:       n.ID,
		Seq:      n.Seq,
		Kind:     string(n.Kind),
		Category: string(n.Category),
		EventID:  n.EventID,
		Language: string(n.Language),
		Title:    n.Title,
		Body:     n.Body,
		Link:     n.Link,
		Urgent:   n.Urgent,
		Read:     n.Read,
		Created:  n.Created,
	}
}

// listNotifications answers GET /me/notifications: a page of the caller's own notifications,
// unread first, each part newest first; limit is at most 100 and an `after` too long to be a
// cursor is 400 VALIDATION_FAILED.
func (h *api) listNotifications(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 20, 100)
	if err != nil {
		return err
	}
	after := c.Query("after")
	if len(after) > 32 {
		return models.ErrValidation.Withf("after 不是有效的翻页游标", "after is not a cursor this listing gave")
	}
	page, err := h.Inbox.List(c.UserContext(), principal(c), after, int(limit))
	if err != nil {
		return err
	}
	return c.JSON(struct {
		Notifications []notificationJSON `json:"notifications"`
		Next          string             `json:"next,omitempty"`
	}{Notifications: mapEach(page.Notifications, toNotificationJSON), Next: page.Next})
}

// unreadCount answers GET /me/notifications/unread-count: how many of the caller's newest
// notifications are unread, with at_least when there may be more.
func (h *api) unreadCount(c *fiber.Ctx) error {
	u, err := h.Inbox.UnreadCount(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(struct {
		Unread  int  `json:"unread"`
		AtLeast bool `json:"at_least"`
	}{Unread: u.Count, AtLeast: u.AtLeast})
}

// markRead answers POST /me/notifications/{id}/read: marks one of the caller's notifications
// read (another's is 404); marking again changes nothing.
func (h *api) markRead(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	n, err := h.Inbox.MarkRead(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toNotificationJSON(n))
}

// markAllRead answers POST /me/notifications/read-all: marks every notification the caller has
// now read, and answers the inbox position read up to.
func (h *api) markAllRead(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	upto, err := h.Inbox.MarkAllRead(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(struct {
		ReadUpTo int64 `json:"read_up_to"`
	}{ReadUpTo: upto})
}

// categorySettingJSON is one notification category: its Chinese name, whether it is on, and
// whether it is locked on (money and the honour roll).
type categorySettingJSON struct {
	Category string `json:"category"`
	NameZh   string `json:"name_zh"`
	Enabled  bool   `json:"enabled"`
	Locked   bool   `json:"locked"`
}

// preferencesJSON is a resident's notification preferences: the language and every category.
type preferencesJSON struct {
	Language   string                `json:"language"`
	Categories []categorySettingJSON `json:"categories"`
}

// toPreferencesJSON converts notification preferences to their JSON.
func toPreferencesJSON(p inbox.Preferences) preferencesJSON {
	return preferencesJSON{Language: string(p.Language), Categories: mapEach(p.Categories, func(s inbox.CategorySetting) categorySettingJSON {
		return categorySettingJSON{Category: string(s.Category), NameZh: s.Category.Zh(), Enabled: s.Enabled, Locked: s.Locked}
	})}
}

// notificationPreferences answers GET /me/notification-preferences: the caller's language and
// every category with whether it is on and whether it may be turned off.
func (h *api) notificationPreferences(c *fiber.Ctx) error {
	p, err := h.Inbox.Preferences(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(toPreferencesJSON(p))
}

// preferencesRequest replaces the caller's settings: categories not named
// are on.
type preferencesRequest struct {
	Language   string          `json:"language" validate:"omitempty,oneof=zh-CN en"`
	Categories map[string]bool `json:"categories" validate:"max=20"`
}

// setNotificationPreferences answers PUT /me/notification-preferences: replaces the caller's
// settings; turning off a locked category is 422 NOTICE_CATEGORY_LOCKED and saves nothing, an
// unknown category is 400 VALIDATION_FAILED.
func (h *api) setNotificationPreferences(c *fiber.Ctx) error {
	var req preferencesRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := h.Inbox.SetPreferences(c.UserContext(), principal(c), req.Language, req.Categories)
	if err != nil {
		return err
	}
	return c.JSON(toPreferencesJSON(p))
}

// deadLetterJSON is a message an outbound sender gave up on after all its attempts.
type deadLetterJSON struct {
	ID          string    `json:"id"`
	Sender      string    `json:"sender"`
	MessageID   string    `json:"message_id"`
	RecipientID string    `json:"recipient_id"`
	Kind        string    `json:"kind"`
	Generation  int       `json:"generation"`
	Attempts    int       `json:"attempts"`
	Error       string    `json:"error,omitempty"`
	At          time.Time `json:"at"`
}

// toDeadLetterJSON converts a dead letter to its JSON.
func toDeadLetterJSON(d outbound.DeadLetter) deadLetterJSON {
	return deadLetterJSON{
		ID:          d.ID,
		Sender:      d.Sender,
		MessageID:   d.MessageID,
		RecipientID: d.Recipient,
		Kind:        d.Kind,
		Generation:  d.Generation,
		Attempts:    d.Attempts,
		Error:       d.Error,
		At:          d.At,
	}
}

// deadLetters answers GET /deliveries/dead-letters for staff: the dead letters of their
// community.
func (h *api) deadLetters(c *fiber.Ctx) error {
	ds, err := h.Deliveries.DeadLetters(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(struct {
		DeadLetters []deadLetterJSON `json:"dead_letters"`
	}{DeadLetters: mapEach(ds, toDeadLetterJSON)})
}

// retryDeadLetter answers POST /deliveries/dead-letters/{id}/retry for staff: starts a new round
// of attempts under the same message id, 202; a letter already retried is 404.
func (h *api) retryDeadLetter(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	d, err := h.Deliveries.Retry(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(toDeadLetterJSON(d))
}
