package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/privacy"
)

// privacyService is what the privacy routes and the consent gate call
// (privacy.Service).
type privacyService interface {
	Notice() models.PrivacyNotice
	// Status says whether p has accepted the notice in force.
	Status(ctx context.Context, p models.Principal) (privacy.ConsentStatus, error)
	// ConsentMissing returns models.ErrConsentRequired while p must
	// accept the notice in force first.
	ConsentMissing(ctx context.Context, p models.Principal) error
	// Accept returns models.ErrConsentVersion for a version not in force.
	// A repeat of the request opID reports created as its first did.
	Accept(ctx context.Context, p models.Principal, version string, lang models.Language, opID string) (models.Consent, bool, error)
	// AccessLog returns models.ErrBadCursor for a cursor it did not give.
	AccessLog(ctx context.Context, p models.Principal, cursor string, limit int) ([]privacy.Access, string, error)
	// PrepareExport returns models.ErrNotFound for a resident of another
	// community and models.ErrForbidden for a caller who is not staff.
	PrepareExport(ctx context.Context, p models.Principal, residentID string) (*privacy.Export, error)
}

// exportTimeout bounds writing one export: a resident's (whose body is
// written after the handler returns, so it cannot use the request's
// deadline) or a statement's (a shop's busy month is tens of thousands of
// lines, more than the request deadline allows).
const exportTimeout = 5 * time.Minute

// routesPrivacy registers the privacy routes: the notice (public), the
// caller's consent, access log and export, and a resident's export for
// staff. Accepting the notice is insert-once per resident and version (a
// repeat answers with the first acceptance), and takes an optional
// Idempotency-Key.
func (h *api) routesPrivacy(r fiber.Router) {
	anyone := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Get("/privacy/notice", h.privacyNotice)
	r.Post("/me/consents", anyone, h.acceptNotice)
	r.Get("/me/access-log", anyone, h.myAccessLog)
	r.Get("/me/export", anyone, h.myExport)
	r.Get("/residents/:id/export", staff, h.residentExport)
}

// consentFree are the routes a resident may call before accepting the
// notice in force: who am I (it says a consent is needed), the notice's
// acceptance, signing out, and the resident's own rights to see what is
// kept and who looked, which never wait for a consent.
var consentFree = map[string]bool{
	"/api/v1/me":             true,
	"/api/v1/auth/logout":    true,
	"/api/v1/me/consents":    true,
	"/api/v1/me/export":      true,
	"/api/v1/me/access-log":  true,
	"/api/v1/privacy/notice": true,
}

// consentGate refuses a resident who has not accepted the notice in force
// with 403 CONSENT_REQUIRED on every route but consentFree's
// (docs/ARCHITECTURE.md §11).
func (h *api) consentGate(c *fiber.Ctx, p models.Principal) error {
	if h.Privacy == nil {
		return nil
	}
	if r := c.Route(); r != nil && consentFree[r.Path] {
		return nil
	}
	return h.Privacy.ConsentMissing(c.UserContext(), p)
}

// consentStatusJSON is the consent part of GET /me: the notice version in force, whether
// the caller must still accept it, and when they did.
type consentStatusJSON struct {
	Version    string     `json:"version"`
	Required   bool       `json:"required"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
}

// consentOf is the consent part of /me, or nil without a privacy service.
func (h *api) consentOf(c *fiber.Ctx, p models.Principal) (*consentStatusJSON, error) {
	if h.Privacy == nil {
		return nil, nil
	}
	status, err := h.Privacy.Status(c.UserContext(), p)
	if err != nil {
		return nil, err
	}
	return &consentStatusJSON{
		Version:    status.Version,
		Required:   status.Required,
		AcceptedAt: optTime(status.Accepted),
	}, nil
}

// noticeTextJSON is the privacy notice's title and text in one language.
type noticeTextJSON struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// noticeJSON is the privacy notice in force, in Chinese and English.
type noticeJSON struct {
	Version string         `json:"version"`
	ZhCN    noticeTextJSON `json:"zh_cn"`
	En      noticeTextJSON `json:"en"`
}

// privacyNotice answers GET /privacy/notice without sign-in: the notice in force in both
// languages.
func (h *api) privacyNotice(c *fiber.Ctx) error {
	n := h.Privacy.Notice()
	return c.JSON(noticeJSON{
		Version: n.Version,
		ZhCN:    noticeTextJSON{n.TitleZh, n.TextZh},
		En:      noticeTextJSON{n.TitleEn, n.TextEn},
	})
}

// acceptRequest is the body of POST /me/consents: the notice version read and the language
// it was read in.
type acceptRequest struct {
	Version  string `json:"version" validate:"required,max=40"`
	Language string `json:"language" validate:"omitempty,oneof=zh-CN en"`
}

// consentJSON is a resident's acceptance of a notice version.
type consentJSON struct {
	Version    string    `json:"version"`
	Language   string    `json:"language"`
	AcceptedAt time.Time `json:"accepted_at"`
}

// acceptNotice answers POST /me/consents: the caller accepts the notice in force, 201 the
// first time and 200 with the first acceptance after; 409 CONSENT_VERSION_STALE for
// another version. A repeat under the same Idempotency-Key (optional) gets the first
// answer.
func (h *api) acceptNotice(c *fiber.Ctx) error {
	var req acceptRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	lang := models.LangZh
	if req.Language == string(models.LangEn) {
		lang = models.LangEn
	}
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		consent, created, err := h.Privacy.Accept(c.UserContext(), principal(c), req.Version, lang, idem.OpID)
		if err != nil {
			return err
		}
		status := fiber.StatusOK
		if created {
			status = fiber.StatusCreated
		}
		return c.Status(status).JSON(consentJSON{
			Version:    consent.Version,
			Language:   string(consent.Language),
			AcceptedAt: consent.At,
		})
	})
}

// accessJSON is one read of a resident's personal data by someone else: when, what, and
// who (name masked) in which roles.
type accessJSON struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	KindZh     string    `json:"kind_zh"`
	Detail     string    `json:"detail,omitempty"`
	ActorName  string    `json:"actor_name"` // masked: 孙**
	ActorRoles []string  `json:"actor_roles"`
}

// toAccessJSON converts an access-log record to its JSON.
func toAccessJSON(a privacy.Access) accessJSON {
	roles := make([]string, len(a.ActorRoles))
	for i, r := range a.ActorRoles {
		roles[i] = string(r)
	}
	return accessJSON{
		ID:         a.ID,
		At:         a.At,
		Kind:       string(a.Kind),
		KindZh:     a.Kind.Zh(),
		Detail:     a.Detail,
		ActorName:  a.ActorName,
		ActorRoles: roles,
	}
}

// myAccessLog answers GET /me/access-log: who read the caller's personal data, newest
// first, paged by cursor.
func (h *api) myAccessLog(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	as, next, err := h.Privacy.AccessLog(c.UserContext(), principal(c), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(struct {
		Items []accessJSON `json:"items"`
		Next  string       `json:"next,omitempty"`
	}{Items: mapEach(as, toAccessJSON), Next: next})
}

// myExport answers GET /me/export: everything kept about the caller, streamed as JSON.
func (h *api) myExport(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.export(c, principal(c).ResidentID)
}

// residentExport answers GET /residents/{id}/export for staff: everything kept about a
// resident of their community, for the resident at the counter; it is put on the
// resident's access log first.
func (h *api) residentExport(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	return h.export(c, param(c, "id"))
}

// export allows and records the export before answering, then streams it
// a page at a time: the answer is never held whole in memory. A failure
// part way ends the document with "complete": false.
func (h *api) export(c *fiber.Ctx, residentID string) error {
	prepared, err := h.Privacy.PrepareExport(c.UserContext(), principal(c), residentID)
	if err != nil {
		return err
	}
	now := h.Now().UTC()
	name := "linli-export-" + prepared.Resident().ID + "-" + now.Format("20060102") + ".json"
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	reqID, log, version := requestID(c), h.Log, h.Privacy.Notice().Version
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		out := &exportWriter{w: w, enc: json.NewEncoder(w)}
		out.header(prepared.Resident().ID, now, version)
		err := prepared.Write(ctx, out)
		if err == nil {
			err = out.err
		}
		if err != nil {
			log.Error("export", "request_id", reqID, "err", err)
		}
		out.finish(err == nil)
		_ = w.Flush()
	})
	return nil
}

// exportSections are the export's lists, in the order they are written.
var exportSections = []string{"service_records", "hours_entries", "points_entries", "redemptions", "honour_entries", "notifications", "access_log"}

// exportWriter writes an export as one JSON object, list by list, and
// flushes after each page. It implements privacy.Visitor; after its first
// write error it writes nothing more.
type exportWriter struct {
	w       *bufio.Writer
	enc     *json.Encoder
	next    int  // exportSections[next] is the first list not opened yet
	open    bool // a list is open
	started bool // the open list has an item
	err     error
}

// exportProfileJSON is a resident's profile as their export gives it, with the phone in
// full.
type exportProfileJSON struct {
	ID          string       `json:"id"`
	CommunityID string       `json:"community_id"`
	Name        string       `json:"name"`
	Phone       string       `json:"phone"` // in full: it is the resident's own copy
	BirthYear   int          `json:"birth_year,omitempty"`
	Roles       []string     `json:"roles"`
	HouseholdID string       `json:"household_id,omitempty"`
	Family      []familyJSON `json:"family"`
	Created     time.Time    `json:"created"`
}

// raw writes s as it is, unless an earlier write failed.
func (x *exportWriter) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

// value writes v as JSON, unless an earlier write failed.
func (x *exportWriter) value(v any) {
	if x.err == nil {
		x.err = x.enc.Encode(v) // Encode adds a newline, which JSON allows
	}
}

// key writes the next member's name of the export object.
func (x *exportWriter) key(k string) {
	x.raw(",")
	x.value(k)
	x.raw(":")
}

// header opens the export object with its format, resident, time and notice version.
func (x *exportWriter) header(residentID string, at time.Time, version string) {
	x.raw(`{"format":"linli-export/1","resident_id":`)
	x.value(residentID)
	x.key("generated_at")
	x.value(at)
	x.key("notice_version")
	x.value(version)
}

// section opens list name, closing the open one and writing the lists
// between them empty.
func (x *exportWriter) section(name string) {
	if x.open && exportSections[x.next-1] == name {
		return
	}
	for x.next < len(exportSections) {
		if x.open {
			x.raw("]")
		}
		s := exportSections[x.next]
		x.next++
		x.key(s)
		x.raw("[")
		x.open, x.started = true, false
		if s == name {
			return
		}
	}
}

// items writes a page of n items into list name, opening it when it is not the open list,
// and flushes; it returns the first write error.
func (x *exportWriter) items(name string, n int, item func(i int) any) error {
	x.section(name)
	for i := range n {
		if x.started {
			x.raw(",")
		}
		x.started = true
		x.value(item(i))
	}
	if x.err == nil {
		x.err = x.w.Flush()
	}
	return x.err
}

// finish writes the lists not written yet (empty) and closes the object;
// complete says whether everything was written.
func (x *exportWriter) finish(complete bool) {
	if complete {
		x.section("")
	}
	if x.open {
		x.raw("]")
	}
	x.key("complete")
	x.value(complete)
	x.raw("}")
}

// Profile writes the resident's profile, household and consent (null when there is none).
func (x *exportWriter) Profile(r models.Resident, household *models.Household, consent *models.Consent) error {
	roles := make([]string, len(r.Roles))
	for i, role := range r.Roles {
		roles[i] = string(role)
	}
	family := make([]familyJSON, len(r.Family))
	for i, f := range r.Family {
		family[i] = familyJSON{
			ResidentID: f.ResidentID,
			Relation:   f.Relation,
			Verified:   f.Verified,
		}
	}
	x.key("profile")
	x.value(exportProfileJSON{
		ID:          r.ID,
		CommunityID: r.CommunityID,
		Name:        r.Name,
		Phone:       r.Phone,
		BirthYear:   r.BirthYear,
		Roles:       roles,
		HouseholdID: r.HouseholdID,
		Family:      family,
		Created:     r.Created,
	})
	x.key("household")
	if household != nil {
		x.value(toHouseholdJSON(*household))
	} else {
		x.raw("null")
	}
	x.key("consent")
	if consent != nil {
		x.value(consentJSON{
			Version:    consent.Version,
			Language:   string(consent.Language),
			AcceptedAt: consent.At,
		})
	} else {
		x.raw("null")
	}
	return x.err
}

// Records writes a page of the resident's service records.
func (x *exportWriter) Records(rs []models.ServiceRecord) error {
	return x.items("service_records", len(rs), func(i int) any { return toRecordJSON(rs[i]) })
}

// Entries writes a page of the resident's ledger entries of asset.
func (x *exportWriter) Entries(asset models.Asset, es []models.Entry) error {
	name := "hours_entries"
	if asset == models.AssetPoints {
		name = "points_entries"
	}
	return x.items(name, len(es), func(i int) any { return toEntryJSON(es[i]) })
}

// Redemptions writes a page of the resident's redemptions.
func (x *exportWriter) Redemptions(rs []models.Redemption) error {
	return x.items("redemptions", len(rs), func(i int) any { return toRedemptionJSON(rs[i]) })
}

// Honour writes a page of the honour-roll entries naming the resident.
func (x *exportWriter) Honour(es []models.HonourEntry) error {
	return x.items("honour_entries", len(es), func(i int) any { return toHonourEntryJSON(es[i]) })
}

// Notifications writes a page of the resident's notifications.
func (x *exportWriter) Notifications(ns []models.Notification) error {
	return x.items("notifications", len(ns), func(i int) any { return toNotificationJSON(ns[i]) })
}

// Accesses writes a page of the resident's access log.
func (x *exportWriter) Accesses(as []privacy.Access) error {
	return x.items("access_log", len(as), func(i int) any { return toAccessJSON(as[i]) })
}
