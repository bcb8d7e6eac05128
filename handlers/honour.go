package handlers

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/models"
)

// honourService is what the honour-roll, building-head, star-household and
// ranking routes call.
type honourService interface {
	Nominate(ctx context.Context, p models.Principal, n honour.Nomination) (models.HonourEntry, error)
	Entry(ctx context.Context, p models.Principal, id string) (models.HonourEntry, error)
	// Entries, Objections and Board return a page and the next page's
	// cursor ("" at the end); models.ErrBadCursor for a cursor they did
	// not give out.
	Entries(ctx context.Context, p models.Principal, status models.HonourStatus, cursor string, limit int) ([]models.HonourEntry, string, error)
	MyEntries(ctx context.Context, p models.Principal) ([]models.HonourEntry, error)
	Object(ctx context.Context, p models.Principal, entryID, reason string) (models.Objection, error)
	Objections(ctx context.Context, p models.Principal, entryID, cursor string, limit int) ([]models.Objection, string, error)
	RuleObjection(ctx context.Context, p models.Principal, objectionID string, uphold bool, ruling string) (models.Objection, error)
	Revoke(ctx context.Context, p models.Principal, entryID, reason string) (models.HonourEntry, error)
	Appeal(ctx context.Context, p models.Principal, entryID, reason string) (models.HonourEntry, error)
	DecideAppeal(ctx context.Context, p models.Principal, entryID string, restore bool, note string) (models.HonourEntry, error)
	SetHidden(ctx context.Context, p models.Principal, entryID string, hidden bool) (models.HonourEntry, error)
	Board(ctx context.Context, p models.Principal, cursor string, limit int) ([]honour.BoardRow, string, error)

	Appoint(ctx context.Context, p models.Principal, a honour.Appointment) (models.HeadTerm, error)
	EndTerm(ctx context.Context, p models.Principal, termID, kind, reason string) (models.HeadTerm, error)
	Terms(ctx context.Context, p models.Principal, buildingID string) ([]models.HeadTerm, error)
	MyTerms(ctx context.Context, p models.Principal) ([]models.HeadTerm, error)
	LogDuty(ctx context.Context, p models.Principal, in honour.DutyLog) (models.Duty, error)
	RuleDuty(ctx context.Context, p models.Principal, dutyID string, confirm bool, note string) (models.Duty, error)
	Duties(ctx context.Context, p models.Principal, termID, month string) ([]models.Duty, error)

	Star(ctx context.Context, p models.Principal, householdID string, year int) (models.StarRecord, error)
	LowerStar(ctx context.Context, p models.Principal, householdID string, year, level int, reason string) (models.StarRecord, error)
	RankingsPage(ctx context.Context, p models.Principal, q honour.RankingQuery) (honour.RankingPage, error)
}

// routesHonour registers the honour-roll routes (nominations, objections, revocations, appeals,
// the public board), the building heads' terms and duties, star households and the points
// rankings. Staff rule; residents read, object, appeal and log their duties.
func (h *api) routesHonour(r fiber.Router) {
	any := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Post("/honour/nominations", h.authed(models.RoleStaff, models.RoleAdmin, models.RoleBuildingHead), h.nominate)
	r.Get("/honour/entries", any, h.honourEntries)
	r.Get("/honour/entries/:id", any, h.honourEntry)
	r.Get("/me/honour", any, h.myHonour)
	r.Post("/honour/entries/:id/objections", any, h.object)
	r.Get("/honour/entries/:id/objections", staff, h.objections)
	r.Post("/honour/objections/:id/ruling", staff, h.ruleObjection)
	r.Post("/honour/entries/:id/revocation", staff, h.revoke)
	r.Post("/honour/entries/:id/appeal", any, h.appeal)
	r.Post("/honour/entries/:id/appeal/decision", staff, h.decideAppeal)
	r.Put("/honour/entries/:id/visibility", any, h.setVisibility)
	r.Get("/honour/board", any, h.board)

	r.Post("/head-terms", staff, h.appoint)
	r.Get("/head-terms", staff, h.terms)
	r.Get("/me/head-terms", any, h.myTerms)
	r.Post("/head-terms/:id/end", staff, h.endTerm)
	r.Post("/duties", any, h.logDuty)
	r.Get("/duties", any, h.duties)
	r.Post("/duties/:id/ruling", staff, h.ruleDuty)

	r.Get("/households/:id/star", any, h.star)
	r.Post("/households/:id/star/:year/lowering", staff, h.lowerStar)
	r.Get("/rankings", any, h.rankings)
}

// honourEntryJSON is an honour-roll entry: whom it names, why, its notice and listing dates,
// its status and, once ended, why.
type honourEntryJSON struct {
	ID          string     `json:"id"`
	ResidentID  string     `json:"resident_id,omitempty"`
	HouseholdID string     `json:"household_id,omitempty"`
	BuildingID  string     `json:"building_id,omitempty"`
	Category    string     `json:"category"`
	Reason      string     `json:"reason"`
	NominatedBy string     `json:"nominated_by"`
	Nominated   time.Time  `json:"nominated"`
	NoticeEnds  time.Time  `json:"notice_ends"`
	Status      string     `json:"status"`
	ListedAt    *time.Time `json:"listed_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	EndReason   string     `json:"end_reason,omitempty"`
	AppealOpen  bool       `json:"appeal_open"`
	Hidden      bool       `json:"hidden"`
}

// optTime returns nil for the zero time, so JSON leaves out a time that has not happened.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// toHonourEntryJSON converts an honour-roll entry to its JSON.
func toHonourEntryJSON(e models.HonourEntry) honourEntryJSON {
	return honourEntryJSON{
		ID:          e.ID,
		ResidentID:  e.ResidentID,
		HouseholdID: e.HouseholdID,
		BuildingID:  e.BuildingID,
		Category:    e.Category,
		Reason:      e.Reason,
		NominatedBy: e.NominatedBy,
		Nominated:   e.Nominated,
		NoticeEnds:  e.NoticeEnds,
		Status:      string(e.Status),
		ListedAt:    optTime(e.ListedAt),
		ExpiresAt:   optTime(e.ExpiresAt),
		EndedAt:     optTime(e.EndedAt),
		EndReason:   e.EndReason,
		AppealOpen:  e.AppealOpen,
		Hidden:      e.Hidden,
	}
}

// honourEntriesJSON wraps honour-roll entries as {"entries": [...]}.
func honourEntriesJSON(es []models.HonourEntry) fiber.Map {
	out := mapEach(es, toHonourEntryJSON)
	return fiber.Map{"entries": out}
}

// nominateRequest is the body of POST /honour/nominations: exactly one of resident_id and
// household_id, the category and the reason.
type nominateRequest struct {
	ResidentID  string `json:"resident_id" validate:"max=64"`
	HouseholdID string `json:"household_id" validate:"max=64"`
	Category    string `json:"category" validate:"required,max=20"`
	Reason      string `json:"reason" validate:"required,max=500"`
}

// nominate answers POST /honour/nominations: staff nominate anyone of their community, a building
// head the residents of their building, which starts the public notice; 409 NOMINATION_OPEN
// when one is already open. Takes an Idempotency-Key; a repeat gets the first answer.
func (h *api) nominate(c *fiber.Ctx) error {
	var req nominateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A listing pays points, so a nomination takes a key: its repeat gets
	// the first answer and nominates nobody twice.
	return h.keyed(c, func(idem community.Idempotency) error {
		e, err := h.Honour.Nominate(c.UserContext(), principal(c), honour.Nomination{
			ResidentID:  req.ResidentID,
			HouseholdID: req.HouseholdID,
			Category:    req.Category,
			Reason:      req.Reason,
			OpID:        idem.OpID,
		})
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toHonourEntryJSON(e))
	})
}

// withNext adds the next page's cursor to a paged answer while there is
// more (docs/PERFORMANCE.md, "Lists").
func withNext(out fiber.Map, next string) fiber.Map {
	if next != "" {
		out["next"] = next
	}
	return out
}

// honourEntries answers GET /honour/entries: one page of the community's entries, the latest
// first, paged by cursor (`next`); staff see any status, residents only status=notice. An
// unknown status is 400 VALIDATION_FAILED, a cursor the list did not give out 400 INVALID_CURSOR.
func (h *api) honourEntries(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	status := models.HonourStatus(c.Query("status"))
	switch status {
	case "", models.HonourNotice, models.HonourListed, models.HonourRejected, models.HonourExpired, models.HonourRevoked:
	default:
		return models.ErrValidation.Withf("status 应为 notice、listed、rejected、expired 或 revoked 之一", "status must be notice, listed, rejected, expired or revoked")
	}
	es, next, err := h.Honour.Entries(c.UserContext(), principal(c), status, cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(withNext(honourEntriesJSON(es), next))
}

// honourEntry answers GET /honour/entries/{id} for any resident of the entry's community (404
// otherwise).
func (h *api) honourEntry(c *fiber.Ctx) error {
	e, err := h.Honour.Entry(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toHonourEntryJSON(e))
}

// myHonour answers GET /me/honour: the entries naming the caller or their household.
func (h *api) myHonour(c *fiber.Ctx) error {
	es, err := h.Honour.MyEntries(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(honourEntriesJSON(es))
}

// objectionJSON is an objection to a nomination in notice, with its ruling once made.
type objectionJSON struct {
	ID         string     `json:"id"`
	EntryID    string     `json:"entry_id"`
	ResidentID string     `json:"resident_id"`
	Reason     string     `json:"reason"`
	At         time.Time  `json:"at"`
	Status     string     `json:"status"`
	RuledBy    string     `json:"ruled_by,omitempty"`
	RuledAt    *time.Time `json:"ruled_at,omitempty"`
	Ruling     string     `json:"ruling,omitempty"`
}

// toObjectionJSON converts an objection to its JSON.
func toObjectionJSON(o models.Objection) objectionJSON {
	return objectionJSON{
		ID:         o.ID,
		EntryID:    o.EntryID,
		ResidentID: o.ResidentID,
		Reason:     o.Reason,
		At:         o.At,
		Status:     string(o.Status),
		RuledBy:    o.RuledBy,
		RuledAt:    optTime(o.RuledAt),
		Ruling:     o.Ruling,
	}
}

// object answers POST /honour/entries/{id}/objections: a resident objects to a nomination while
// its notice lasts, once (409 ALREADY_EXISTS for a second, 409 CONFLICT after the notice).
func (h *api) object(c *fiber.Ctx) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	o, err := h.Honour.Object(c.UserContext(), principal(c), param(c, "id"), req.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toObjectionJSON(o))
}

// objections answers GET /honour/entries/{id}/objections for staff: one page of the objections
// to an entry, the latest first, paged by cursor (`next`).
func (h *api) objections(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	entryObjections, next, err := h.Honour.Objections(c.UserContext(), principal(c), param(c, "id"), cursor, limit)
	if err != nil {
		return err
	}
	out := mapEach(entryObjections, toObjectionJSON)
	return c.JSON(withNext(fiber.Map{"objections": out}, next))
}

// rulingRequest is the body of an objection ruling: uphold or dismiss, and why.
type rulingRequest struct {
	Decision string `json:"decision" validate:"required,oneof=uphold dismiss"`
	Ruling   string `json:"ruling" validate:"required,max=500"`
}

// ruleObjection answers POST /honour/objections/{id}/ruling for staff: upholds or dismisses an
// objection once (the same ruling again returns it, another is 409). Takes an
// Idempotency-Key; a repeat gets the first answer.
func (h *api) ruleObjection(c *fiber.Ctx) error {
	var req rulingRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		o, err := h.Honour.RuleObjection(c.UserContext(), principal(c), param(c, "id"), req.Decision == "uphold", req.Ruling)
		if err != nil {
			return err
		}
		return c.JSON(toObjectionJSON(o))
	})
}

// revoke answers POST /honour/entries/{id}/revocation for staff: takes a listing off the roll
// (摘牌) with a reason, ending its reward eligibility. Takes an Idempotency-Key; a repeat gets
// the first answer.
func (h *api) revoke(c *fiber.Ctx) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		e, err := h.Honour.Revoke(c.UserContext(), principal(c), param(c, "id"), req.Reason)
		if err != nil {
			return err
		}
		return c.JSON(toHonourEntryJSON(e))
	})
}

// appeal answers POST /honour/entries/{id}/appeal: the listed person (or a member of the listed
// household) appeals a revocation, once per revocation.
func (h *api) appeal(c *fiber.Ctx) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	e, err := h.Honour.Appeal(c.UserContext(), principal(c), param(c, "id"), req.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toHonourEntryJSON(e))
}

// appealDecisionRequest is the body of an appeal decision: restore or dismiss, with a note.
type appealDecisionRequest struct {
	Decision string `json:"decision" validate:"required,oneof=restore dismiss"`
	Note     string `json:"note" validate:"required,max=500"`
}

// decideAppeal answers POST /honour/entries/{id}/appeal/decision for staff: restore puts the
// listing back until its original expiry, dismiss leaves it revoked. Takes an
// Idempotency-Key; a repeat gets the first answer.
func (h *api) decideAppeal(c *fiber.Ctx) error {
	var req appealDecisionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		e, err := h.Honour.DecideAppeal(c.UserContext(), principal(c), param(c, "id"), req.Decision == "restore", req.Note)
		if err != nil {
			return err
		}
		return c.JSON(toHonourEntryJSON(e))
	})
}

// visibilityRequest is the body of PUT /honour/entries/{id}/visibility.
type visibilityRequest struct {
	Hidden *bool `json:"hidden" validate:"required"`
}

// setVisibility answers PUT /honour/entries/{id}/visibility: the listed person shows or hides
// their listing on the public board; a hidden listing stays listed.
func (h *api) setVisibility(c *fiber.Ctx) error {
	var req visibilityRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	e, err := h.Honour.SetHidden(c.UserContext(), principal(c), param(c, "id"), *req.Hidden)
	if err != nil {
		return err
	}
	return c.JSON(toHonourEntryJSON(e))
}

// boardRowJSON is one row of the public honour board: a masked name, the building, the
// category and since when.
type boardRowJSON struct {
	EntryID     string    `json:"entry_id"`
	Name        string    `json:"name"`
	Building    string    `json:"building"`
	Category    string    `json:"category"`
	ListedSince time.Time `json:"listed_since"`
}

// board answers GET /honour/board for any signed-in caller: one page of the community's current
// roll with masked names, leaving out those who chose not to be shown, the latest listed first,
// paged by cursor (`next`).
func (h *api) board(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	rows, next, err := h.Honour.Board(c.UserContext(), principal(c), cursor, limit)
	if err != nil {
		return err
	}
	out := make([]boardRowJSON, len(rows))
	for i, r := range rows {
		out[i] = boardRowJSON{
			EntryID:     r.EntryID,
			Name:        r.Name,
			Building:    r.BuildingName,
			Category:    r.Category,
			ListedSince: r.ListedSince,
		}
	}
	return c.JSON(withNext(fiber.Map{"board": out}, next))
}

// --- building heads and the other 三长 ---

// headTermJSON is one term of a building head or other 三长: who, where, from when to when,
// how it ended and who appointed them.
type headTermJSON struct {
	ID           string     `json:"id"`
	Role         string     `json:"role"`
	BuildingID   string     `json:"building_id,omitempty"`
	BuildingName string     `json:"building_name,omitempty"` // in the head's own list of terms
	ResidentID   string     `json:"resident_id"`
	Number       int        `json:"number"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end,omitempty"`
	EndKind      string     `json:"end_kind,omitempty"`
	EndReason    string     `json:"end_reason,omitempty"`
	AppointedBy  string     `json:"appointed_by"`
}

// toHeadTermJSON converts a head's term to its JSON.
func toHeadTermJSON(t models.HeadTerm) headTermJSON {
	return headTermJSON{
		ID:           t.ID,
		Role:         string(t.Role),
		BuildingID:   t.BuildingID,
		BuildingName: t.BuildingName,
		ResidentID:   t.ResidentID,
		Number:       t.N,
		Start:        t.Start,
		End:          optTime(t.End),
		EndKind:      t.EndKind,
		EndReason:    t.EndReason,
		AppointedBy:  t.AppointedBy,
	}
}

// headTermsJSON wraps terms as {"terms": [...]}.
func headTermsJSON(ts []models.HeadTerm) fiber.Map {
	out := mapEach(ts, toHeadTermJSON)
	return fiber.Map{"terms": out}
}

// appointRequest is the body of POST /head-terms: the role, the building (for a building
// head) and the resident appointed.
type appointRequest struct {
	Role       string `json:"role" validate:"required,oneof=building_head team_lead party_lead"`
	BuildingID string `json:"building_id" validate:"max=64"`
	ResidentID string `json:"resident_id" validate:"required,max=64"`
}

// appoint answers POST /head-terms for staff: opens a term now, handing the building over when
// it has a head. A repeat under the same Idempotency-Key (optional) gets the first answer.
func (h *api) appoint(c *fiber.Ctx) error {
	var req appointRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(community.Idempotency) error {
		t, err := h.Honour.Appoint(c.UserContext(), principal(c), honour.Appointment{
			Role:       models.HeadRole(req.Role),
			BuildingID: req.BuildingID,
			ResidentID: req.ResidentID,
		})
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toHeadTermJSON(t))
	})
}

// terms answers GET /head-terms for staff: every term of the community, or of one building.
func (h *api) terms(c *fiber.Ctx) error {
	ts, err := h.Honour.Terms(c.UserContext(), principal(c), c.Query("building_id"))
	if err != nil {
		return err
	}
	return c.JSON(headTermsJSON(ts))
}

// myTerms answers GET /me/head-terms: the caller's own terms as a head or other 三长.
func (h *api) myTerms(c *fiber.Ctx) error {
	ts, err := h.Honour.MyTerms(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(headTermsJSON(ts))
}

// endTermRequest is the body of POST /head-terms/{id}/end: retire or handover, and why.
type endTermRequest struct {
	Kind   string `json:"kind" validate:"required,oneof=retire handover"`
	Reason string `json:"reason" validate:"required,max=500"`
}

// endTerm answers POST /head-terms/{id}/end for staff: ends a term once, by retirement or
// handover, with a reason.
func (h *api) endTerm(c *fiber.Ctx) error {
	var req endTermRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	t, err := h.Honour.EndTerm(c.UserContext(), principal(c), param(c, "id"), req.Kind, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(toHeadTermJSON(t))
}

// dutyJSON is a monthly duty (履职) a head logged, with its evidence and ruling.
type dutyJSON struct {
	ID         string     `json:"id"`
	TermID     string     `json:"term_id"`
	ResidentID string     `json:"resident_id"`
	Month      string     `json:"month"`
	Duty       string     `json:"duty"`
	Evidence   string     `json:"evidence"`
	PhotoURL   string     `json:"photo_url,omitempty"`
	Status     string     `json:"status"`
	Logged     time.Time  `json:"logged"`
	RuledBy    string     `json:"ruled_by,omitempty"`
	RuledAt    *time.Time `json:"ruled_at,omitempty"`
	Note       string     `json:"note,omitempty"`
}

// toDutyJSON converts a logged duty to its JSON.
func toDutyJSON(d models.Duty) dutyJSON {
	return dutyJSON{
		ID:         d.ID,
		TermID:     d.TermID,
		ResidentID: d.ResidentID,
		Month:      d.Month,
		Duty:       d.Duty,
		Evidence:   d.Evidence,
		PhotoURL:   d.PhotoURL,
		Status:     string(d.Status),
		Logged:     d.Logged,
		RuledBy:    d.RuledBy,
		RuledAt:    optTime(d.RuledAt),
		Note:       d.Note,
	}
}

// logDutyRequest is the body of POST /duties.
type logDutyRequest struct {
	TermID   string `json:"term_id" validate:"max=64"`
	Month    string `json:"month" validate:"required"`
	Duty     string `json:"duty" validate:"required,max=40"`
	Evidence string `json:"evidence" validate:"required,max=1000"`
	PhotoURL string `json:"photo_url" validate:"max=500"`
}

// logDuty answers POST /duties: a head logs a duty of the policy's checklist for a month of
// their term, with evidence; until confirmed it may be logged again.
func (h *api) logDuty(c *fiber.Ctx) error {
	var req logDutyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, err := h.Honour.LogDuty(c.UserContext(), principal(c), honour.DutyLog{
		TermID:   req.TermID,
		Month:    req.Month,
		Duty:     req.Duty,
		Evidence: req.Evidence,
		PhotoURL: req.PhotoURL,
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toDutyJSON(d))
}

// duties answers GET /duties: staff see the community's duties, a head their own, optionally
// of one term and month.
func (h *api) duties(c *fiber.Ctx) error {
	ds, err := h.Honour.Duties(c.UserContext(), principal(c), c.Query("term_id"), c.Query("month"))
	if err != nil {
		return err
	}
	out := mapEach(ds, toDutyJSON)
	return c.JSON(fiber.Map{"duties": out})
}

// dutyRulingRequest is the body of a duty ruling: confirm or reject, with a note.
type dutyRulingRequest struct {
	Decision string `json:"decision" validate:"required,oneof=confirm reject"`
	Note     string `json:"note" validate:"max=500"`
}

// ruleDuty answers POST /duties/{id}/ruling for staff: confirms a duty (it counts once) or
// rejects it; a confirmed duty cannot be rejected. Takes an Idempotency-Key; a repeat gets
// the first answer.
func (h *api) ruleDuty(c *fiber.Ctx) error {
	var req dutyRulingRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		d, err := h.Honour.RuleDuty(c.UserContext(), principal(c), param(c, "id"), req.Decision == "confirm", req.Note)
		if err != nil {
			return err
		}
		return c.JSON(toDutyJSON(d))
	})
}

// --- star households and rankings ---

// starJSON is a household's star level for a plaque year, the level computed from the points
// and why, and the reason when staff lowered it.
type starJSON struct {
	HouseholdID   string `json:"household_id"`
	Year          int    `json:"year"`
	Level         int    `json:"level"`
	LevelName     string `json:"level_name"`
	Computed      int    `json:"computed_level"`
	Points        int64  `json:"points"`
	Listed        bool   `json:"listed_member"`
	Why           string `json:"why"`
	LoweredReason string `json:"lowered_reason,omitempty"`
}

// toStarJSON converts a household's star record to its JSON, naming its level.
func toStarJSON(r models.StarRecord) starJSON {
	return starJSON{
		HouseholdID:   r.HouseholdID,
		Year:          r.Year,
		Level:         r.Level,
		LevelName:     models.StarNames[r.Level],
		Computed:      r.Computed,
		Points:        int64(r.Points),
		Listed:        r.Listed,
		Why:           r.Why,
		LoweredReason: r.LoweredReason,
	}
}

// yearParam parses a year from 2000 to 9999; anything else is 400 VALIDATION_FAILED.
func yearParam(s string) (int, error) {
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 9999 {
		return 0, models.ErrValidation.Withf("year 的格式应为 2027", "year must look like 2027")
	}
	return y, nil
}

// star answers GET /households/{id}/star for its residents and staff: the household's star
// level and why, for `year` (the current year by default).
func (h *api) star(c *fiber.Ctx) error {
	year := 0 // the service's current year
	if c.Query("year") != "" {
		y, err := yearParam(c.Query("year"))
		if err != nil {
			return err
		}
		year = y
	}
	r, err := h.Honour.Star(c.UserContext(), principal(c), param(c, "id"), year)
	if err != nil {
		return err
	}
	return c.JSON(toStarJSON(r))
}

// lowerStarRequest is the body of a star lowering: the new level (0 to 2) and why.
type lowerStarRequest struct {
	Level  *int   `json:"level" validate:"required,min=0,max=2"`
	Reason string `json:"reason" validate:"required,max=500"`
}

// lowerStar answers POST /households/{id}/star/{year}/lowering for staff: lowers a star or
// removes the plaque, taking back the bonus paid above the new level. Takes an
// Idempotency-Key; a repeat gets the first answer.
func (h *api) lowerStar(c *fiber.Ctx) error {
	p := principal(c)
	var req lowerStarRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	year, err := yearParam(param(c, "year"))
	if err != nil {
		return err
	}
	// Lowering takes back star bonuses: a value-moving request. Its
	// postings are keyed by household, year and level, so a repeat moves
	// nothing again whatever the key.
	return h.keyed(c, func(community.Idempotency) error {
		r, err := h.Honour.LowerStar(c.UserContext(), p, param(c, "id"), year, *req.Level, req.Reason)
		if err != nil {
			return err
		}
		return c.JSON(toStarJSON(r))
	})
}

// rankRowJSON is one row of the points rankings: rank, masked name, points earned and
// deducted, verified minutes and when the total was reached.
type rankRowJSON struct {
	Rank       int       `json:"rank"`
	Name       string    `json:"name"`
	BuildingID string    `json:"building_id,omitempty"`
	Earned     int64     `json:"points_earned"`
	Deducted   int64     `json:"points_deducted"`
	Minutes    int64     `json:"verified_minutes"`
	Reached    time.Time `json:"reached"`
}

// rankings answers GET /rankings for any signed-in caller: the community's (or one building's)
// residents by points earned in a month or a year, names masked, up to `limit` (200 at most).
func (h *api) rankings(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	page, err := h.Honour.RankingsPage(c.UserContext(), principal(c), honour.RankingQuery{
		Period:     c.Query("period"),
		BuildingID: c.Query("building_id"),
		Limit:      limit,
		Cursor:     cursor,
	})
	if err != nil {
		return err
	}
	out := make([]rankRowJSON, len(page.Rows))
	for i, r := range page.Rows {
		out[i] = rankRowJSON{r.Rank, r.Name, r.BuildingID, int64(r.Earned), int64(r.Deducted), int64(r.Minutes), r.Reached}
	}
	body := fiber.Map{"rankings": out, "at": page.At}
	if page.Next != "" {
		body["next"] = page.Next
	}
	return c.JSON(body)
}
