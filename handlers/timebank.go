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
	CreateActivity(ctx context.Context, p models.Principal, in timebank.NewActivity) (models.Activity, error)
	Activity(ctx context.Context, p models.Principal, id string) (models.Activity, error)
	Activities(ctx context.Context, p models.Principal, day time.Time, category string) ([]models.Activity, error)
	// Checkins lists an activity's check-ins, for its organisers.
	Checkins(ctx context.Context, p models.Principal, activityID string) ([]models.Mark, error)
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

func toActivityJSON(a models.Activity) activityJSON {
	return activityJSON{a.ID, a.Title, a.Category, a.Place, a.Organisation, a.Start, a.End, a.Capacity, int64(a.MaxMinutes), a.SelfCheckin, a.CreatedBy}
}

type signupJSON struct {
	ID           string    `json:"id"`
	ActivityID   string    `json:"activity_id"`
	ResidentID   string    `json:"resident_id"`
	ResidentName string    `json:"resident_name,omitempty"` // masked, for the organisers' list
	At           time.Time `json:"at"`
}

func toSignupJSON(s models.Signup) signupJSON {
	return signupJSON{
		ID:           s.ID,
		ActivityID:   s.ActivityID,
		ResidentID:   s.ResidentID,
		ResidentName: s.ResidentName,
		At:           s.At,
	}
}

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

func toRecordsJSON(rs []models.ServiceRecord) fiber.Map {
	out := mapEach(rs, toRecordJSON)
	return fiber.Map{"records": out}
}

type attendanceJSON struct {
	ActivityID string      `json:"activity_id"`
	ResidentID string      `json:"resident_id"`
	CheckedIn  time.Time   `json:"checked_in"`
	Record     *recordJSON `json:"record,omitempty"`
}

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

// aidJSON is a mutual-aid post. Resident ids are given to its parties and
// staff only; the names are masked.
type giftJSON struct {
	ID       string    `json:"id"`
	FromID   string    `json:"from_id"`
	FromName string    `json:"from_name,omitempty"` // masked
	ToID     string    `json:"to_id"`
	ToName   string    `json:"to_name,omitempty"` // masked
	Minutes  int64     `json:"minutes"`
	At       time.Time `json:"at"`
}

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
	return h.keyedIfKey(c, func(community.Idempotency) error {
		a, err := h.Timebank.CreateActivity(c.UserContext(), principal(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toActivityJSON(a))
	})
}

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
	as, err := h.Timebank.Activities(c.UserContext(), principal(c), day, category)
	if err != nil {
		return err
	}
	out := mapEach(as, toActivityJSON)
	return c.JSON(fiber.Map{"activities": out})
}

func (h *api) getActivity(c *fiber.Ctx) error {
	a, err := h.Timebank.Activity(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toActivityJSON(a))
}

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

func (h *api) cancelSignup(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	if err := h.Timebank.CancelSignup(c.UserContext(), principal(c), param(c, "id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "cancelled"})
}

func (h *api) listSignups(c *fiber.Ctx) error {
	ss, err := h.Timebank.Signups(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	out := mapEach(ss, toSignupJSON)
	return c.JSON(fiber.Map{"signups": out})
}

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

type checkinScanRequest struct {
	Token string `json:"token" validate:"required,max=256"`
}

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

type attendanceRequest struct {
	ResidentID string     `json:"resident_id" validate:"required,max=64"`
	Action     string     `json:"action" validate:"required,oneof=checkin checkout"`
	At         *time.Time `json:"at"`
}

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

type claimRequest struct {
	Category     string    `json:"category" validate:"required,min=1,max=20"`
	Organisation string    `json:"organisation" validate:"required,min=1,max=80"`
	Description  string    `json:"description" validate:"required,min=1,max=500"`
	Start        time.Time `json:"start" validate:"required"`
	End          time.Time `json:"end" validate:"required"`
}

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

func (h *api) getRecord(c *fiber.Ctx) error {
	r, err := h.Timebank.Record(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toRecordJSON(r))
}

type approveRequest struct {
	Minutes int64  `json:"minutes" validate:"min=0,max=1440"`
	Reason  string `json:"reason" validate:"max=500"`
}

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

func decodeReason(c *fiber.Ctx) (string, error) {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return "", err
	}
	// The service cleans the reason.
	return req.Reason, nil
}

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

type correctionRequest struct {
	Minutes int64  `json:"minutes" validate:"required,min=1,max=1440"`
	Reason  string `json:"reason" validate:"required,min=1,max=500"`
}

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

type correctionDecisionRequest struct {
	Accept *bool  `json:"accept" validate:"required"`
	Answer string `json:"answer" validate:"required,min=1,max=500"`
}

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

func (h *api) myCertificate(c *fiber.Ctx) error { return h.certificate(c, principal(c).ResidentID) }

func (h *api) residentCertificate(c *fiber.Ctx) error { return h.certificate(c, param(c, "id")) }

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
		lines[i] = line{l.Category, int64(l.Minutes), hoursText(l.Minutes), l.Records, l.Organisations}
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
	body := fiber.Map{"period": period, "buildings": out, "at": page.At}
	if page.Next != "" {
		body["next"] = page.Next
	}
	return c.JSON(body)
}

// --- gifts ---

type giftRequest struct {
	ToID    string `json:"to_resident_id" validate:"required,max=64"`
	Minutes int64  `json:"minutes" validate:"required,min=1,max=1000000000"`
}

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

func (h *api) myGifts(c *fiber.Ctx) error {
	gs, err := h.Timebank.Gifts(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"gifts": mapEach(gs, toGiftJSON)})
}
