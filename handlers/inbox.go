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

// routesInbox: reading and marking one's own notifications needs no
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

type categorySettingJSON struct {
	Category string `json:"category"`
	NameZh   string `json:"name_zh"`
	Enabled  bool   `json:"enabled"`
	Locked   bool   `json:"locked"`
}

type preferencesJSON struct {
	Language   string                `json:"language"`
	Categories []categorySettingJSON `json:"categories"`
}

func toPreferencesJSON(p inbox.Preferences) preferencesJSON {
	return preferencesJSON{Language: string(p.Language), Categories: mapEach(p.Categories, func(s inbox.CategorySetting) categorySettingJSON {
		return categorySettingJSON{Category: string(s.Category), NameZh: s.Category.Zh(), Enabled: s.Enabled, Locked: s.Locked}
	})}
}

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

func (h *api) deadLetters(c *fiber.Ctx) error {
	ds, err := h.Deliveries.DeadLetters(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(struct {
		DeadLetters []deadLetterJSON `json:"dead_letters"`
	}{DeadLetters: mapEach(ds, toDeadLetterJSON)})
}

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
