package handlers

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/timebank"
	qrcode "github.com/skip2/go-qrcode"
)

// timebankService is what the time-bank routes call.
type timebankService interface {
	CreateActivity(ctx context.Context, p models.Principal, in timebank.NewActivity, idem community.Idempotency) (models.Activity, error)
	Activity(ctx context.Context, p models.Principal, id string) (models.Activity, error)
	ActivitiesPage(ctx context.Context, p models.Principal, q timebank.ActivityQuery) ([]models.Activity, string, error)
	// Checkins lists an activity's check-ins (of one day, if day is set),
	// for its organisers.
	Checkins(ctx context.Context, p models.Principal, activityID, day string) (timebank.ActivityCheckins, error)
	SignUp(ctx context.Context, p models.Principal, activityID string) (models.Signup, error)
	CancelSignup(ctx context.Context, p models.Principal, activityID string) error
	Signups(ctx context.Context, p models.Principal, activityID string) ([]models.Signup, error)
	MyActivities(ctx context.Context, p models.Principal) ([]timebank.MyActivity, error)
	QR(ctx context.Context, p models.Principal, activityID string) (timebank.CheckinQR, error)
	QRCode(activityID string, qr timebank.CheckinQR) string
	ScanIn(ctx context.Context, p models.Principal, activityID, token string) (timebank.Attendance, error)
	ScanOut(ctx context.Context, p models.Principal, activityID, token string) (timebank.Attendance, error)
	RecordAttendance(ctx context.Context, p models.Principal, activityID, residentID string, out bool, at time.Time) (timebank.Attendance, error)

	ClaimRecord(ctx context.Context, p models.Principal, c timebank.Claim) (models.ServiceRecord, error)
	Record(ctx context.Context, p models.Principal, id string) (models.ServiceRecord, error)
	MyRecords(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.ServiceRecord, string, error)
	PendingRecords(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.ServiceRecord, string, error)
	FilteredRecords(ctx context.Context, p models.Principal, q timebank.RecordQuery, cursor string, limit int) ([]models.ServiceRecord, string, error)
	Approve(ctx context.Context, p models.Principal, id string, minutes models.Minutes, reason string) (models.ServiceRecord, error)
	Reject(ctx context.Context, p models.Principal, id, reason string) (models.ServiceRecord, error)
	RequestCorrection(ctx context.Context, p models.Principal, recordID string, minutes models.Minutes, reason string) (models.Correction, error)
	Corrections(ctx context.Context, p models.Principal, recordID string) ([]models.Correction, error)
	CorrectionsToDecide(ctx context.Context, p models.Principal, status, cursor string, limit int) ([]models.Correction, string, error)
	DecideCorrection(ctx context.Context, p models.Principal, recordID string, n int, accept bool, answer string) (models.Correction, error)
	Certificate(ctx context.Context, p models.Principal, residentID string, from, to time.Time) (timebank.Certificate, error)
	RankingPage(ctx context.Context, p models.Principal, period, cursor string, limit int) (timebank.BuildingRankPage, error)
	RankingPeriod(ctx context.Context, p models.Principal, period string) string

	GiftHours(ctx context.Context, p models.Principal, toID string, minutes models.Minutes, idem community.Idempotency) (models.Gift, error)
	Gifts(ctx context.Context, p models.Principal) ([]models.Gift, error)
}

// routesTimebank registers the time-bank routes: activities, check-in and check-out, service
// records and their corrections, certificates, the volunteer-hours ranking and gifts of hours.
// Any resident may take part; organisers (staff, admin, team leads) run
// activities and decide records.
func (h *api) routesTimebank(r fiber.Router) {
	any := h.authed()
	organiser := h.authed(models.RoleStaff, models.RoleAdmin, models.RoleTeamLead)
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Post("/activities", organiser, h.createActivity)
	r.Get("/activities", any, h.listActivities)
	r.Get("/activities/:id", any, h.getActivity)
	r.Post("/activities/:id/signup", any, h.signUp)
	r.Post("/activities/:id/signup/cancel", any, h.cancelSignup)
	r.Get("/activities/:id/signups", organiser, h.listSignups)
	r.Get("/activities/:id/qr", organiser, h.activityQR)
	r.Get("/activities/:id/qr.png", organiser, h.activityQRPNG)
	r.Post("/activities/:id/checkin", any, h.scanIn)
	r.Post("/activities/:id/checkout", any, h.scanOut)
	r.Post("/activities/:id/attendance", organiser, h.recordAttendance)

	r.Post("/service-records", any, h.claimRecord)
	r.Get("/service-records", organiser, h.pendingRecords)
	r.Get("/service-records/:id", any, h.getRecord)
	r.Post("/service-records/:id/approve", organiser, h.approveRecord)
	r.Post("/service-records/:id/reject", organiser, h.rejectRecord)
	r.Post("/service-records/:id/corrections", any, h.requestCorrection)
	r.Get("/service-records/:id/corrections", any, h.listCorrections)
	r.Post("/service-records/:id/corrections/:n/decision", staff, h.decideCorrection)
	r.Get("/corrections", staff, h.communityCorrections)
	r.Get("/me/service-records", any, h.myRecords)
	r.Get("/me/activities", any, h.myActivities)
	r.Get("/me/certificate", any, h.myCertificate)
	r.Get("/residents/:id/certificate", staff, h.residentCertificate)
	r.Get("/rankings/volunteer-hours", any, h.ranking)

	r.Post("/gifts", any, h.giftHours)
	r.Get("/me/gifts", any, h.myGifts)
}

// shanghai is the communities' zone (UTC+8, no daylight saving), for the
// defaults a handler fills in before the service reads them in the
// community's own zone.
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// --- JSON shapes ---

// activityJSON is a volunteer activity as the API shows it.
type activityJSON struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	Category     string    `json:"category"`
	Place        string    `json:"place"`
	Organisation string    `json:"organisation"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Capacity     int       `json:"capacity"`
	MaxMinutes   int64     `json:"max_minutes"`
	SelfCheckin  bool      `json:"self_checkin"`
	CreatedBy    string    `json:"created_by"`
}

// toActivityJSON converts an activity to its JSON.
func toActivityJSON(a models.Activity) activityJSON {
	return activityJSON{
		ID:           a.ID,
		Title:        a.Title,
		Category:     a.Category,
		Place:        a.Place,
		Organisation: a.Organisation,
		Start:        a.Start,
		End:          a.End,
		Capacity:     a.Capacity,
		MaxMinutes:   int64(a.MaxMinutes),
		SelfCheckin:  a.SelfCheckin,
		CreatedBy:    a.CreatedBy,
	}
}

// signupJSON is one resident's place at an activity.
type signupJSON struct {
	ID           string    `json:"id"`
	ActivityID   string    `json:"activity_id"`
	ResidentID   string    `json:"resident_id"`
	ResidentName string    `json:"resident_name,omitempty"` // masked, for the organisers' list
	At           time.Time `json:"at"`
}

// toSignupJSON converts a sign-up to its JSON.
func toSignupJSON(s models.Signup) signupJSON {
	return signupJSON{
		ID:           s.ID,
		ActivityID:   s.ActivityID,
		ResidentID:   s.ResidentID,
		ResidentName: s.ResidentName,
		At:           s.At,
	}
}

// recordJSON is a service record with its state, the minutes and points it credited
// and, once decided, who decided it, when and why.
type recordJSON struct {
	ID            string     `json:"id"`
	ResidentID    string     `json:"resident_id"`
	ActivityID    string     `json:"activity_id,omitempty"`
	Category      string     `json:"category"`
	Organisation  string     `json:"organisation"`
	Description   string     `json:"description,omitempty"`
	Start         time.Time  `json:"start"`
	End           time.Time  `json:"end"`
	Minutes       int64      `json:"minutes"`
	Source        string     `json:"source"`
	State         string     `json:"state"`
	Credited      int64      `json:"credited_minutes"`
	Points        int64      `json:"points"`
	PolicyVersion int        `json:"policy_version"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	Reason        string     `json:"reason,omitempty"`
}

// toRecordJSON converts a service record to its JSON; decided_at is absent until
// the record is decided.
func toRecordJSON(r models.ServiceRecord) recordJSON {
	out := recordJSON{
		ID:            r.ID,
		ResidentID:    r.ResidentID,
		ActivityID:    r.ActivityID,
		Category:      r.Category,
		Organisation:  r.Organisation,
		Description:   r.Description,
		Start:         r.Start,
		End:           r.End,
		Minutes:       int64(r.Minutes),
		Source:        string(r.Source),
		State:         string(r.State),
		Credited:      int64(r.Credited),
		Points:        int64(r.Points),
		PolicyVersion: r.PolicyVersion,
		DecidedBy:     r.DecidedBy,
		Reason:        r.Reason,
	}
	if !r.DecidedAt.IsZero() {
		at := r.DecidedAt
		out.DecidedAt = &at
	}
	return out
}

// toRecordsJSON wraps service records as {"records": [...]}.
func toRecordsJSON(rs []models.ServiceRecord) fiber.Map {
	out := mapEach(rs, toRecordJSON)
	return fiber.Map{"records": out}
}

// attendanceJSON is a resident's attendance at an activity: the check-in and, after
// check-out, the pending service record it made.
type attendanceJSON struct {
	ActivityID string      `json:"activity_id"`
	ResidentID string      `json:"resident_id"`
	CheckedIn  time.Time   `json:"checked_in"`
	Record     *recordJSON `json:"record,omitempty"`
}

// toAttendanceJSON converts an attendance to its JSON, with the record only after
// check-out.
func toAttendanceJSON(a timebank.Attendance) attendanceJSON {
	out := attendanceJSON{
		ActivityID: a.ActivityID,
		ResidentID: a.ResidentID,
		CheckedIn:  a.CheckedIn,
	}
	if a.Record != nil {
		r := toRecordJSON(*a.Record)
		out.Record = &r
	}
	return out
}

// correctionJSON is a correction request on an approved record: the minutes asked for
// and why, and once decided the answer, who gave it and the minutes before and after.
type correctionJSON struct {
	N          int        `json:"n"`
	RecordID   string     `json:"record_id"`
	ResidentID string     `json:"resident_id,omitempty"`
	Minutes    int64      `json:"minutes"`
	Reason     string     `json:"reason"`
	At         time.Time  `json:"at"`
	Decided    bool       `json:"decided"`
	Accepted   bool       `json:"accepted"`
	Answer     string     `json:"answer,omitempty"`
	DecidedBy  string     `json:"decided_by,omitempty"`
	Before     int64      `json:"before_minutes"`
	After      int64      `json:"after_minutes"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
}

// toCorrectionJSON converts a correction request to its JSON; decided_at is absent
// until it is decided.
func toCorrectionJSON(c models.Correction) correctionJSON {
	out := correctionJSON{
		N:          c.N,
		RecordID:   c.RecordID,
		ResidentID: c.ResidentID,
		Minutes:    int64(c.Minutes),
		Reason:     c.Reason,
		At:         c.At,
		Decided:    c.Decided,
		Accepted:   c.Accepted,
		Answer:     c.Answer,
		DecidedBy:  c.Actor,
		Before:     int64(c.Before),
		After:      int64(c.After),
	}
	if !c.DecideAt.IsZero() {
		at := c.DecideAt
		out.DecidedAt = &at
	}
	return out
}

// giftJSON is a gift of hours between relatives; the names are masked.
type giftJSON struct {
	ID       string    `json:"id"`
	FromID   string    `json:"from_id"`
	FromName string    `json:"from_name,omitempty"` // masked
	ToID     string    `json:"to_id"`
	ToName   string    `json:"to_name,omitempty"` // masked
	Minutes  int64     `json:"minutes"`
	At       time.Time `json:"at"`
}

// toGiftJSON converts a gift of hours to its JSON.
func toGiftJSON(g models.Gift) giftJSON {
	return giftJSON{
		ID:       g.ID,
		FromID:   g.FromID,
		FromName: g.FromName,
		ToID:     g.ToID,
		ToName:   g.ToName,
		Minutes:  int64(g.Minutes),
		At:       g.At,
	}
}

// --- activities ---

// createActivityRequest is the body of POST /activities.
type createActivityRequest struct {
	Title        string    `json:"title" validate:"required,min=1,max=80"`
	Category     string    `json:"category" validate:"required,min=1,max=20"`
	Place        string    `json:"place" validate:"required,min=1,max=80"`
	Organisation string    `json:"organisation" validate:"max=80"`
	Start        time.Time `json:"start" validate:"required"`
	End          time.Time `json:"end" validate:"required"`
	Capacity     int       `json:"capacity" validate:"required,min=1,max=1000"`
	MaxMinutes   int64     `json:"max_minutes" validate:"required,min=1,max=1440"`
	SelfCheckin  bool      `json:"self_checkin"`
}

// createActivity answers POST /activities: an organiser (staff, admin, team lead) creates a
// volunteer activity, which the service cleans (400 VALIDATION_FAILED). A repeat under the same
// Idempotency-Key (optional) gets the first answer.
func (h *api) createActivity(c *fiber.Ctx) error {
	var req createActivityRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// The service cleans the activity.
	in := timebank.NewActivity{
		Title:        req.Title,
		Category:     req.Category,
		Place:        req.Place,
		Organisation: req.Organisation,
		Start:        req.Start,
		End:          req.End,
		Capacity:     req.Capacity,
		MaxMinutes:   models.Minutes(req.MaxMinutes),
		SelfCheckin:  req.SelfCheckin,
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		a, err := h.Timebank.CreateActivity(c.UserContext(), principal(c), in, idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toActivityJSON(a))
	})
}

// listActivities answers GET /activities for any signed-in caller: a page of the community's
// activities running on `date` (today by default), optionally of one category, paged by
// `cursor` (`next` in the answer while there is more); a malformed date or an overlong
// category is 400 VALIDATION_FAILED, a cursor the list did not give out 400 INVALID_CURSOR.
func (h *api) listActivities(c *fiber.Ctx) error {
	day := h.Now()
	if s := c.Query("date"); s != "" {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return models.ErrValidation.Withf("date 的格式应为 2026-11-21", "date must look like 2026-11-21")
		}
		// 04:00 UTC is noon in Shanghai (the communities' zone), so the
		// service, which reads the day in the community's zone, gets that day.
		day = d.Add(4 * time.Hour)
	}
	category := c.Query("category")
	if len(category) > 80 {
		return models.ErrValidation.Withf("category 过长", "category is too long")
	}
	// Paged by cursor (docs/ARCHITECTURE.md §9, lists): `next` is the
	// cursor of the next page, absent on the last.
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	as, next, err := h.Timebank.ActivitiesPage(c.UserContext(), principal(c), timebank.ActivityQuery{
		Day:      day,
		Category: category,
		Cursor:   cursor,
		Limit:    limit,
	})
	if err != nil {
		return err
	}
	out := fiber.Map{"activities": mapEach(as, toActivityJSON)}
	if next != "" {
		out["next"] = next
	}
	return c.JSON(out)
}

// getActivity answers GET /activities/{id} for any signed-in caller: one activity of their
// community (404 when there is none).
func (h *api) getActivity(c *fiber.Ctx) error {
	a, err := h.Timebank.Activity(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toActivityJSON(a))
}

// signUp answers POST /activities/{id}/signup: the caller takes a place at the activity, 201
// with the sign-up (the first one again when signing up twice); 409 ACTIVITY_FULL when
// it is full, 409 SIGNUP_CLOSED after the start.
func (h *api) signUp(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	s, err := h.Timebank.SignUp(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toSignupJSON(s))
}

// cancelSignup answers POST /activities/{id}/signup/cancel: the caller gives up their place
// before the activity starts.
func (h *api) cancelSignup(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	if err := h.Timebank.CancelSignup(c.UserContext(), principal(c), param(c, "id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "cancelled"})
}

// listSignups answers GET /activities/{id}/signups for the activity's organisers: who holds a
// place, with masked names.
func (h *api) listSignups(c *fiber.Ctx) error {
	ss, err := h.Timebank.Signups(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	out := mapEach(ss, toSignupJSON)
	return c.JSON(fiber.Map{"signups": out})
}

// myActivities answers GET /me/activities: the activities the caller signed up for, each
// with their sign-up.
func (h *api) myActivities(c *fiber.Ctx) error {
	as, err := h.Timebank.MyActivities(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	type item struct {
		Activity activityJSON `json:"activity"`
		Signup   signupJSON   `json:"signup"`
	}
	out := make([]item, len(as))
	for i, a := range as {
		out[i] = item{toActivityJSON(a.Activity), toSignupJSON(a.Signup)}
	}
	return c.JSON(fiber.Map{"activities": out})
}

// activityQR answers GET /activities/{id}/qr for the activity's organisers: the current
// check-in token, its slot, when it expires and the six-digit code; never cached.
func (h *api) activityQR(c *fiber.Ctx) error {
	q, err := h.Timebank.QR(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{
		"token":      q.Token,
		"slot":       q.Slot,
		"expires_at": q.Expires,
		"code":       h.Timebank.QRCode(param(c, "id"), q),
	})
}

// activityQRPNG answers GET /activities/{id}/qr.png for the activity's organisers: the same
// token as /qr rendered as a PNG, with its expiry in X-QR-Expires and the six-digit code
// in X-QR-Code; never cached.
func (h *api) activityQRPNG(c *fiber.Ctx) error {
	q, err := h.Timebank.QR(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(q.Token, qrcode.Medium, 320)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-QR-Expires", q.Expires.Format(time.RFC3339))
	c.Set("X-QR-Code", h.Timebank.QRCode(param(c, "id"), q))
	return c.SendStream(bytes.NewReader(png), len(png))
}

// checkinScanRequest is the body of a check-in or check-out scan: the QR token read.
type checkinScanRequest struct {
	Token string `json:"token" validate:"required,max=256"`
}

// scanIn answers POST /activities/{id}/checkin: the caller checks in with the organiser's QR
// token; 422 QR_INVALID, QR_EXPIRED or QR_WRONG_ACTIVITY for a bad token, 409 OUTSIDE_WINDOW
// or ALREADY_CHECKED_IN, 403 SELF_CHECKIN_DISABLED.
func (h *api) scanIn(c *fiber.Ctx) error {
	var req checkinScanRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a, err := h.Timebank.ScanIn(c.UserContext(), principal(c), param(c, "id"), req.Token)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toAttendanceJSON(a))
}

// scanOut answers POST /activities/{id}/checkout: the caller checks out with the organiser's
// QR token, which makes the pending service record; 409 NOT_CHECKED_IN, ALREADY_CHECKED_OUT
// or RECORD_OVERLAP, and the QR refusals of scanIn.
func (h *api) scanOut(c *fiber.Ctx) error {
	var req checkinScanRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a, err := h.Timebank.ScanOut(c.UserContext(), principal(c), param(c, "id"), req.Token)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toAttendanceJSON(a))
}

// attendanceRequest is the body of POST /activities/{id}/attendance: whom, check-in or
// check-out, and when (now when absent).
type attendanceRequest struct {
	ResidentID string     `json:"resident_id" validate:"required,max=64"`
	Action     string     `json:"action" validate:"required,oneof=checkin checkout"`
	At         *time.Time `json:"at"`
}

// recordAttendance answers POST /activities/{id}/attendance: an organiser records a check-in
// or check-out for a resident without a phone, with the same refusals as a scan.
func (h *api) recordAttendance(c *fiber.Ctx) error {
	var req attendanceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var at time.Time
	if req.At != nil {
		at = *req.At
	}
	a, err := h.Timebank.RecordAttendance(c.UserContext(), principal(c), param(c, "id"), req.ResidentID, req.Action == "checkout", at)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toAttendanceJSON(a))
}

// --- records ---

// claimRequest is the body of POST /service-records: service done outside an activity.
type claimRequest struct {
	Category     string    `json:"category" validate:"required,min=1,max=20"`
	Organisation string    `json:"organisation" validate:"required,min=1,max=80"`
	Description  string    `json:"description" validate:"required,min=1,max=500"`
	Start        time.Time `json:"start" validate:"required"`
	End          time.Time `json:"end" validate:"required"`
}

// claimRecord answers POST /service-records: a resident claims service done outside an
// activity, pending until staff verify it; 409 RECORD_OVERLAP when it overlaps another of
// their records. Takes an Idempotency-Key; a repeat gets the first answer.
func (h *api) claimRecord(c *fiber.Ctx) error {
	p := principal(c)
	var req claimRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// The service cleans the claim; the request log's fingerprint is of
	// the body as sent.
	cl := timebank.Claim{
		Category:     req.Category,
		Organisation: req.Organisation,
		Description:  req.Description,
		Start:        req.Start,
		End:          req.End,
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		cl.Idem = idem
		r, err := h.Timebank.ClaimRecord(c.UserContext(), p, cl)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toRecordJSON(r))
	})
}

// pendingRecords answers GET /service-records for organisers: without a filter (or with only
// status=pending) the records waiting for a decision, oldest first; with any other filter the
// matching records, latest first. Paged by cursor.
func (h *api) pendingRecords(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	if q := recordQuery(c); !q.Empty() && q != (timebank.RecordQuery{Status: string(models.RecordPending)}) {
		rs, next, err := h.Timebank.FilteredRecords(c.UserContext(), principal(c), q, cursor, limit)
		if err != nil {
			return err
		}
		return c.JSON(toRecordsPage(rs, next))
	}
	rs, next, err := h.Timebank.PendingRecords(c.UserContext(), principal(c), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(toRecordsPage(rs, next))
}

// recordQuery is the filter of GET /service-records as sent; the service
// checks it. With none (or only status=pending) the answer is the queue
// of records waiting for a decision, oldest first.
func recordQuery(c *fiber.Ctx) timebank.RecordQuery {
	return timebank.RecordQuery{
		Status:     c.Query("status"),
		Category:   c.Query("category"),
		ResidentID: c.Query("resident_id"),
		ActivityID: c.Query("activity_id"),
		From:       c.Query("from"),
		To:         c.Query("to"),
	}
}

// myRecords answers GET /me/service-records: the caller's own service records, the latest claimed
// first, paged by cursor.
func (h *api) myRecords(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	rs, next, err := h.Timebank.MyRecords(c.UserContext(), principal(c), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(toRecordsPage(rs, next))
}

// toRecordsPage is one page of records and the cursor of the next ("" at
// the end: no `next`).
func toRecordsPage(rs []models.ServiceRecord, next string) fiber.Map {
	out := toRecordsJSON(rs)
	if next != "" {
		out["next"] = next
	}
	return out
}

// getRecord answers GET /service-records/{id}: a resident's own record, or any record of the
// community for staff and team leads (403 otherwise).
func (h *api) getRecord(c *fiber.Ctx) error {
	r, err := h.Timebank.Record(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toRecordJSON(r))
}

// approveRequest is the body of POST /service-records/{id}/approve: corrected minutes (0 keeps
// the claimed ones) and the reason a correction needs.
type approveRequest struct {
	Minutes int64  `json:"minutes" validate:"min=0,max=1440"`
	Reason  string `json:"reason" validate:"max=500"`
}

// approveRecord answers POST /service-records/{id}/approve for organisers: credits the
// record's hours and points under the caps (409 RECORD_DECIDED once decided). Takes an
// Idempotency-Key; a repeat gets the first answer.
func (h *api) approveRecord(c *fiber.Ctx) error {
	p := principal(c)
	var req approveRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// The service cleans the reason.
	return h.keyed(c, func(community.Idempotency) error {
		r, err := h.Timebank.Approve(c.UserContext(), p, param(c, "id"), models.Minutes(req.Minutes), req.Reason)
		if err != nil {
			return err
		}
		return c.JSON(toRecordJSON(r))
	})
}

// decodeReason reads a {"reason": …} body and returns the reason as sent; the service
// cleans it.
func decodeReason(c *fiber.Ctx) (string, error) {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return "", err
	}
	// The service cleans the reason.
	return req.Reason, nil
}

// rejectRecord answers POST /service-records/{id}/reject for organisers: rejects a pending
// record with a reason (409 RECORD_DECIDED once decided). Takes an Idempotency-Key; a
// repeat gets the first answer.
func (h *api) rejectRecord(c *fiber.Ctx) error {
	reason, err := decodeReason(c)
	if err != nil {
		return err
	}
	// A staff ruling, keyed like approval: its repeat gets the first answer.
	return h.keyed(c, func(community.Idempotency) error {
		r, err := h.Timebank.Reject(c.UserContext(), principal(c), param(c, "id"), reason)
		if err != nil {
			return err
		}
		return c.JSON(toRecordJSON(r))
	})
}

// correctionRequest is the body of a correction request: the minutes the resident says are
// right, and why.
type correctionRequest struct {
	Minutes int64  `json:"minutes" validate:"required,min=1,max=1440"`
	Reason  string `json:"reason" validate:"required,min=1,max=500"`
}

// requestCorrection answers POST /service-records/{id}/corrections: the volunteer asks for a
// correction of an approved record, one open request at a time (409 otherwise).
func (h *api) requestCorrection(c *fiber.Ctx) error {
	var req correctionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cr, err := h.Timebank.RequestCorrection(c.UserContext(), principal(c), param(c, "id"), models.Minutes(req.Minutes), req.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toCorrectionJSON(cr))
}

// listCorrections answers GET /service-records/{id}/corrections: the record's correction
// requests and their answers, for the resident and staff.
func (h *api) listCorrections(c *fiber.Ctx) error {
	cs, err := h.Timebank.Corrections(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	out := mapEach(cs, toCorrectionJSON)
	return c.JSON(fiber.Map{"corrections": out})
}

// communityCorrections is the community's correction requests for staff,
// those waiting first (status=pending is the default), paged by cursor.
func (h *api) communityCorrections(c *fiber.Ctx) error {
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	cs, next, err := h.Timebank.CorrectionsToDecide(c.UserContext(), principal(c), c.Query("status"), cursor, limit)
	if err != nil {
		return err
	}
	out := fiber.Map{"corrections": mapEach(cs, toCorrectionJSON)}
	if next != "" {
		out["next"] = next
	}
	return c.JSON(out)
}

// correctionDecisionRequest is the body of a correction decision: accept or refuse, and the
// answer given to the resident.
type correctionDecisionRequest struct {
	Accept *bool  `json:"accept" validate:"required"`
	Answer string `json:"answer" validate:"required,min=1,max=500"`
}

// decideCorrection answers POST /service-records/{id}/corrections/{n}/decision for staff:
// accepting reverses the record's entries and posts new ones; n not a positive whole number
// or an empty answer is 400 VALIDATION_FAILED. Takes an Idempotency-Key; a repeat gets the
// first answer.
func (h *api) decideCorrection(c *fiber.Ctx) error {
	p := principal(c)
	var req correctionDecisionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	n, err := strconv.Atoi(param(c, "n"))
	if err != nil || n < 1 || n > 1000 {
		return models.ErrValidation.Withf("n 必须是正整数", "n must be a positive whole number")
	}
	answer, err := models.CleanText("answer", req.Answer, 500)
	if err != nil {
		return err
	}
	return h.keyed(c, func(community.Idempotency) error {
		cr, err := h.Timebank.DecideCorrection(c.UserContext(), p, param(c, "id"), n, *req.Accept, answer)
		if err != nil {
			return err
		}
		return c.JSON(toCorrectionJSON(cr))
	})
}

// --- certificate and ranking ---

// myCertificate answers GET /me/certificate: the caller's certificate data for a period.
func (h *api) myCertificate(c *fiber.Ctx) error { return h.certificate(c, principal(c).ResidentID) }

// residentCertificate answers GET /residents/{id}/certificate for staff: a resident's
// certificate data for a period.
func (h *api) residentCertificate(c *fiber.Ctx) error { return h.certificate(c, param(c, "id")) }

// certificate answers a resident's certificate data (志愿服务记录证明) between `from` and `to`
// (either may be absent): verified hours by category with the organisations that vouch for
// them. A malformed date is 400 VALIDATION_FAILED.
func (h *api) certificate(c *fiber.Ctx, residentID string) error {
	// Either bound may be left out: from, since the first record; to, up
	// to today.
	var from, to time.Time
	var err error
	if q := c.Query("from"); q != "" {
		if from, err = time.Parse("2006-01-02", q); err != nil {
			return models.ErrValidation.Withf("from 的格式应为 2026-01-01", "from must look like 2026-01-01")
		}
	}
	if q := c.Query("to"); q != "" {
		if to, err = time.Parse("2006-01-02", q); err != nil {
			return models.ErrValidation.Withf("to 的格式应为 2026-12-31（含当天）", "to must look like 2026-12-31 (inclusive)")
		}
	}
	cert, err := h.Timebank.Certificate(c.UserContext(), principal(c), residentID, from, to)
	if err != nil {
		return err
	}
	type line struct {
		Category      string   `json:"category"`
		Minutes       int64    `json:"minutes"`
		Hours         string   `json:"hours"`
		Records       int      `json:"records"`
		Organisations []string `json:"organisations"`
	}
	lines := make([]line, len(cert.Lines))
	for i, l := range cert.Lines {
		lines[i] = line{
			Category:      l.Category,
			Minutes:       int64(l.Minutes),
			Hours:         hoursText(l.Minutes),
			Records:       l.Records,
			Organisations: l.Organisations,
		}
	}
	return c.JSON(fiber.Map{
		"resident_id":   cert.Resident.ID,
		"name":          cert.Resident.Name,
		"community":     cert.Community.Name,
		"from":          cert.From,
		"to":            cert.To,
		"total_minutes": int64(cert.Total),
		"hours":         hoursText(cert.Total),
		"lines":         lines,
		"record_ids":    cert.RecordsIDs,
		"issued_at":     cert.IssuedAt,
	})
}

// hoursText is minutes as a certificate says them: "2小时30分", "3小时".
func hoursText(m models.Minutes) string {
	h, rest := int64(m)/60, int64(m)%60
	if rest == 0 {
		return strconv.FormatInt(h, 10) + "小时"
	}
	return strconv.FormatInt(h, 10) + "小时" + strconv.FormatInt(rest, 10) + "分"
}

// ranking answers GET /rankings/volunteer-hours for any signed-in caller: volunteer minutes
// per building and per volunteer for a month or a year, names masked and resident ids for
// staff only; a period that is neither is 400 VALIDATION_FAILED.
func (h *api) ranking(c *fiber.Ctx) error {
	p := principal(c)
	period := h.Timebank.RankingPeriod(c.UserContext(), p, c.Query("period"))
	if len(period) > 7 {
		return models.ErrValidation.Withf("period 应为年份（2026）或月份（2026-11）", "period must be a year (2026) or a month (2026-11)")
	}
	cursor, limit, err := cursorPage(c)
	if err != nil {
		return err
	}
	page, err := h.Timebank.RankingPage(c.UserContext(), p, period, cursor, limit)
	if err != nil {
		return err
	}
	rs := page.Buildings
	// The board is public: residents see masked names; only staff see ids.
	type vol struct {
		ResidentID string `json:"resident_id,omitempty"`
		Name       string `json:"name"`
		Minutes    int64  `json:"minutes"`
		Stars      int    `json:"stars"`
	}
	type bld struct {
		BuildingID string `json:"building_id"`
		Name       string `json:"name"`
		Minutes    int64  `json:"minutes"`
		Volunteers []vol  `json:"volunteers"`
	}
	out := make([]bld, len(rs))
	for i, b := range rs {
		vs := make([]vol, len(b.Volunteers))
		for j, v := range b.Volunteers {
			vs[j] = vol{"", v.Name, int64(v.Minutes), v.Stars}
			if p.IsStaff() {
				vs[j].ResidentID = v.ResidentID
			}
		}
		out[i] = bld{b.BuildingID, b.Name, int64(b.Minutes), vs}
	}
	body := fiber.Map{
		"period":    period,
		"buildings": out,
		"at":        page.At,
	}
	if page.Next != "" {
		body["next"] = page.Next
	}
	return c.JSON(body)
}

// --- gifts ---

// giftRequest is the body of POST /gifts: the relative and the minutes given.
type giftRequest struct {
	ToID    string `json:"to_resident_id" validate:"required,max=64"`
	Minutes int64  `json:"minutes" validate:"required,min=1,max=1000000000"`
}

// giftHours answers POST /gifts: the caller gives hours to a verified relative; 422
// FAMILY_NOT_VERIFIED, GIFT_AGE or GIFT_YEARLY_CAP, 409 INSUFFICIENT_HOURS. Takes an
// Idempotency-Key; a repeat gets the first answer.
func (h *api) giftHours(c *fiber.Ctx) error {
	p := principal(c)
	var req giftRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		g, err := h.Timebank.GiftHours(c.UserContext(), p, req.ToID, models.Minutes(req.Minutes), idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toGiftJSON(g))
	})
}

// myGifts answers GET /me/gifts: the gifts of hours the caller gave or received.
func (h *api) myGifts(c *fiber.Ctx) error {
	gs, err := h.Timebank.Gifts(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"gifts": mapEach(gs, toGiftJSON)})
}
