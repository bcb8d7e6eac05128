package timebank

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/qrtoken"
	"golang.org/x/sync/errgroup"
)

// --- check-in and check-out ---

// inWindow refuses (ErrOutsideWindow) a check-in or check-out at a time outside the
// activity, give or take the policy's grace minutes.
func (t *Service) inWindow(ctx context.Context, a models.Activity, at time.Time) error {
	pol, err := t.policies.At(ctx, a.CommunityID, a.Start)
	if err != nil {
		return err
	}
	grace := time.Duration(pol.CheckinGraceMinutes) * time.Minute
	if at.Before(a.Start.Add(-grace)) || at.After(a.End.Add(grace)) {
		return models.ErrOutsideWindow
	}
	return nil
}

// Attendance is one check-in or check-out.
type Attendance struct {
	ActivityID string
	ResidentID string
	CheckedIn  time.Time
	Record     *models.ServiceRecord // set by a check-out
}

// ScanIn checks the caller in with the token on the organiser's screen.
func (t *Service) ScanIn(ctx context.Context, p models.Principal, activityID, token string) (Attendance, error) {
	a, err := t.scannable(ctx, p, activityID, token)
	if err != nil {
		return Attendance{}, err
	}
	return t.checkIn(ctx, a, p.ResidentID, p.ResidentID, t.stamp())
}

// ScanOut checks the caller out with the token on the organiser's screen,
// which makes the pending service record.
func (t *Service) ScanOut(ctx context.Context, p models.Principal, activityID, token string) (Attendance, error) {
	a, err := t.scannable(ctx, p, activityID, token)
	if err != nil {
		return Attendance{}, err
	}
	return t.checkOut(ctx, a, p.ResidentID, p.ResidentID, t.stamp())
}

// scannable returns the activity a resident scans for, after checking it allows self
// check-in (ErrSelfCheckinOff) and the token or six-digit code is the activity's current
// one; typed codes are rate-limited per resident.
func (t *Service) scannable(ctx context.Context, p models.Principal, activityID, token string) (models.Activity, error) {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return a, err
	}
	if !a.SelfCheckin {
		return a, models.ErrSelfCheckinOff
	}
	if qrtoken.IsCheckinCode(token) {
		// The six digits under the QR, typed by a resident who cannot scan.
		if !t.codeTries.Allow(p.ResidentID) {
			return a, models.ErrRateLimited.Withf("签到码输错次数过多，请一分钟后再试，或请组织者帮您签到。", "too many check-in codes tried; wait a minute or ask the organiser to check you in")
		}
		return a, t.checkin.VerifyCode(token, a.ID, t.now())
	}
	if err := t.checkin.Verify(token, a.ID, t.now()); err != nil {
		return a, err
	}
	return a, nil
}

// RecordAttendance lets the organiser check a resident without a phone in
// or out; at is when (zero: now), and may not be in the future.
func (t *Service) RecordAttendance(ctx context.Context, p models.Principal, activityID, residentID string, out bool, at time.Time) (Attendance, error) {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return Attendance{}, err
	}
	if !organiserOf(p, a) {
		return Attendance{}, models.ErrForbidden
	}
	r, err := t.people.Resident(ctx, residentID)
	if err != nil || r.CommunityID != a.CommunityID {
		return Attendance{}, models.ErrNotFound
	}
	now := t.stamp()
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) {
		return Attendance{}, models.ErrValidation.Withf("时间不能晚于现在。", "at may not be in the future")
	}
	at = at.UTC().Truncate(time.Millisecond)
	if out {
		return t.checkOut(ctx, a, r.ID, p.ResidentID, at)
	}
	return t.checkIn(ctx, a, r.ID, p.ResidentID, at)
}

// checkIn records residentID's check-in to activity a at at, once (once a day for an
// activity of several days, docs/ARCHITECTURE.md §4.11; ErrAlreadyCheckedIn);
// it refuses a time outside the activity or covered by another of the resident's pending
// or approved records.
func (t *Service) checkIn(ctx context.Context, a models.Activity, residentID, actor string, at time.Time) (Attendance, error) {
	if err := t.inWindow(ctx, a, at); err != nil {
		return Attendance{}, err
	}
	// Refused early when the resident already has a record covering this
	// moment; the check-out checks the whole interval again.
	loc := t.location(ctx, a.CommunityID)
	_, err := t.chains.Walk(ctx, once.DayIndex(residentID, localDay(at, loc)), 1, func(l models.Link) error {
		if !at.Before(l.Start) && at.Before(l.End) {
			other, err := t.store.Record(ctx, l.Ref)
			if err == nil && (other.State == models.RecordPending || other.State == models.RecordApproved) {
				return overlapError(other, loc)
			}
		}
		return nil
	})
	if err != nil {
		return Attendance{}, err
	}
	// An activity of several days takes one check-in per day
	// (docs/ARCHITECTURE.md §4.11); a one-day activity's key is as it was.
	dayKey := attendanceDayKey(attendanceDays(a, loc), attendanceDay(a, at, loc))
	err = t.store.InsertMark(ctx, models.Mark{
		ID:          once.CheckInOn(a.ID, residentID, dayKey),
		Kind:        "checkin",
		CommunityID: a.CommunityID,
		Ref:         a.ID,
		ResidentID:  residentID,
		Actor:       actor,
		At:          at,
	})
	if errors.Is(err, models.ErrConflict) {
		return Attendance{}, models.ErrAlreadyCheckedIn
	}
	if err != nil {
		return Attendance{}, err
	}
	return Attendance{
		ActivityID: a.ID,
		ResidentID: residentID,
		CheckedIn:  at,
	}, nil
}

// checkOut records residentID's check-out of activity a at at and makes the pending
// service record for the time spent within the activity (ErrNotCheckedIn,
// ErrAlreadyCheckedOut, ErrOutsideWindow).
func (t *Service) checkOut(ctx context.Context, a models.Activity, residentID, actor string, at time.Time) (Attendance, error) {
	if err := t.inWindow(ctx, a, at); err != nil {
		return Attendance{}, err
	}
	// The day's check-in, or the night's: one of the day before that is
	// still within a day of this check-out (docs/ARCHITECTURE.md §4.11).
	in, dayKey, err := t.dayCheckin(ctx, a, residentID, at)
	if err != nil {
		return Attendance{}, err
	}
	outID := once.CheckOutOn(a.ID, residentID, dayKey)
	if _, err := t.store.Mark(ctx, outID); err == nil {
		return Attendance{}, models.ErrAlreadyCheckedOut
	}
	// Only the activity's own window counts: arriving early within the
	// grace earns nothing extra.
	start, end := in.At, at
	if start.Before(a.Start) {
		start = a.Start
	}
	if end.After(a.End) {
		end = a.End
	}
	minutes := models.Minutes(end.Sub(start) / time.Minute)
	if minutes < 1 {
		return Attendance{}, models.ErrOutsideWindow.Withf("签到签退时间不在活动时段内，没有可计入的时长。", "no time was spent within the activity")
	}
	// A check-out refused for an overlap voided its record's id; the next
	// try (once the other record is rejected, say) takes the next one.
	gen, _, err := once.Generation(ctx, 0, func(ctx context.Context, gen int) (once.GenState, error) {
		prior, err := t.store.Record(ctx, once.AttendanceRecordOn(a.ID, residentID, dayKey, gen))
		switch {
		case errors.Is(err, models.ErrNotFound):
			return once.GenMissing, nil
		case err != nil:
			return 0, err
		case prior.State == models.RecordVoid:
			return once.GenClosed, nil
		}
		return once.GenOpen, nil
	})
	if err != nil {
		return Attendance{}, err
	}
	id := once.AttendanceRecordOn(a.ID, residentID, dayKey, gen)
	rec := models.ServiceRecord{
		ID:           id,
		CommunityID:  a.CommunityID,
		ResidentID:   residentID,
		ActivityID:   a.ID,
		Category:     a.Category,
		Organisation: a.Organisation,
		Description:  a.Title,
		Start:        start,
		End:          end,
		Minutes:      minutes,
		Source:       models.SourceAttendance,
		Created:      t.stamp(),
		State:        models.RecordPending,
	}
	rec, err = t.addRecord(ctx, rec)
	if err != nil {
		return Attendance{}, err
	}
	err = t.store.InsertMark(ctx, models.Mark{
		ID:          outID,
		Kind:        "checkout",
		CommunityID: a.CommunityID,
		Ref:         rec.ID,
		ResidentID:  residentID,
		Actor:       actor,
		At:          at,
	})
	if errors.Is(err, models.ErrConflict) {
		return Attendance{}, models.ErrAlreadyCheckedOut
	}
	if err != nil {
		return Attendance{}, err
	}
	return Attendance{
		ActivityID: a.ID,
		ResidentID: residentID,
		CheckedIn:  in.At,
		Record:     &rec,
	}, nil
}

// --- records ---

// localDay names at's day in loc, as 2006-01-02.
func localDay(at time.Time, loc *time.Location) string { return at.In(loc).Format("2006-01-02") }

// addRecord stores a new pending record after checking, on the per-resident
// per-day index, that it overlaps none of the resident's other records that
// are not rejected. Adding the same record again returns it.
//
// A link on the index counts while its record exists and is pending or
// approved. A link whose record is missing (its request is still at work,
// or died) is settled by storing a void record under that id: the insert
// decides between the two, so the slow request can no longer store its
// record over this one, and a dead request's link stops counting. Only
// writers that come later on a day's chain check the earlier links, so of
// two overlapping records at most one is stored and at least one of them
// is. A refused record voids its own id, so the links it wrote on other
// days stop counting at once.
func (t *Service) addRecord(ctx context.Context, rec models.ServiceRecord) (models.ServiceRecord, error) {
	loc := t.location(ctx, rec.CommunityID)
	if prior, err := t.store.Record(ctx, rec.ID); err == nil {
		return t.storedRecord(ctx, prior, loc)
	} else if !errors.Is(err, models.ErrNotFound) {
		return models.ServiceRecord{}, err
	}
	days := []string{localDay(rec.Start, loc)}
	if d := localDay(rec.End.Add(-time.Millisecond), loc); d != days[0] {
		days = append(days, d)
	}
	blocker := ""
	overlap := func(l models.Link) error {
		if !(l.Start.Before(rec.End) && rec.Start.Before(l.End)) {
			return nil
		}
		other, live, err := t.settleLink(ctx, l, rec)
		if err != nil || !live {
			return err
		}
		blocker = other.ID
		return overlapError(other, loc)
	}
	for _, day := range days {
		_, err := t.chains.Append(ctx, once.DayIndex(rec.ResidentID, day), rec.ID, overlap, func(last models.Link) (models.Link, error) {
			return models.Link{Start: rec.Start, End: rec.End}, nil
		})
		if errors.Is(err, models.ErrRecordOverlap) {
			// The links already written (an earlier day's) stop counting.
			if verr := t.store.InsertRecord(ctx, voidRecord(rec.ID, rec, blocker)); verr != nil && !errors.Is(verr, models.ErrConflict) {
				return models.ServiceRecord{}, verr
			}
		}
		if err != nil {
			return models.ServiceRecord{}, err
		}
	}
	// Queued first, so no pending record is ever missing from the queue;
	// an item whose record never arrives (the request died) is skipped.
	if err := t.store.QueueRecord(ctx, rec); err != nil {
		return models.ServiceRecord{}, err
	}
	err := t.store.InsertRecord(ctx, rec)
	if errors.Is(err, models.ErrConflict) {
		prior, err := t.store.Record(ctx, rec.ID)
		if err != nil {
			return models.ServiceRecord{}, err
		}
		return t.storedRecord(ctx, prior, loc)
	}
	if err != nil {
		return models.ServiceRecord{}, err
	}
	return rec, nil
}

// storedRecord answers a repeat of addRecord with what is stored under its
// id: the record, or the refusal when it was voided.
func (t *Service) storedRecord(ctx context.Context, prior models.ServiceRecord, loc *time.Location) (models.ServiceRecord, error) {
	if prior.State != models.RecordVoid {
		return prior, nil
	}
	// Voided by a record that overlaps it (named in Reason), or refused.
	if other, err := t.store.Record(ctx, prior.Reason); err == nil && other.State != models.RecordVoid {
		return models.ServiceRecord{}, overlapError(other, loc)
	}
	return models.ServiceRecord{}, models.ErrRecordOverlap.Withf("该服务记录与您的其他服务记录时间重叠，未能保存。",
		"This record overlaps another of your service records and was not stored.")
}

// settleLink says whether the record behind a day-index link l counts
// against rec: it counts when it is stored and pending or approved. A
// missing record is voided in rec's name (see addRecord); live is false
// then.
func (t *Service) settleLink(ctx context.Context, l models.Link, rec models.ServiceRecord) (other models.ServiceRecord, live bool, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		other, err = t.store.Record(ctx, l.Ref)
		if err == nil {
			return other, other.State == models.RecordPending || other.State == models.RecordApproved, nil
		}
		if !errors.Is(err, models.ErrNotFound) {
			return other, false, err
		}
		v := voidRecord(l.Ref, rec, rec.ID)
		v.Start, v.End = l.Start, l.End
		err = t.store.InsertRecord(ctx, v)
		if err == nil {
			return v, false, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return other, false, err
		}
		// Stored meanwhile, by its request or another voider: read it.
	}
	return other, false, models.ErrConflict.Withf("同时操作的人太多，请稍后再试。", "too much contention; try again")
}

// voidRecord is the placeholder that takes id for good; why names the
// record that voided it, or the refusal.
func voidRecord(id string, like models.ServiceRecord, why string) models.ServiceRecord {
	return models.ServiceRecord{
		ID:          id,
		CommunityID: like.CommunityID,
		ResidentID:  like.ResidentID,
		Start:       like.Start,
		End:         like.End,
		Created:     like.Created,
		State:       models.RecordVoid,
		Reason:      why,
	}
}

// overlapError names the record a new one overlaps and its time, in
// Chinese first, then English.
func overlapError(other models.ServiceRecord, loc *time.Location) error {
	const layout = "2006-01-02 15:04"
	from, to := other.Start.In(loc).Format(layout), other.End.In(loc).Format(layout)
	return models.ErrRecordOverlap.Withf("与服务记录 %s（%s 至 %s）时间重叠。", "Overlaps service record %s (%s to %s).",
		other.ID, from, to)
}

// Claim is a resident's own claim of service outside an activity.
type Claim struct {
	Category, Organisation, Description string
	Start, End                          time.Time
	Idem                                community.Idempotency
}

// Clean returns the claim with its texts trimmed, or models.ErrValidation
// if the category, organisation or description is blank or too long (20,
// 80, 500 characters) or has control characters. ClaimRecord applies it,
// the one place a claim is cleaned, before anything is written.
func (c Claim) Clean() (Claim, error) {
	var err error
	if c.Category, err = models.CleanText("category", c.Category, 20); err != nil {
		return Claim{}, err
	}
	if c.Organisation, err = models.CleanText("organisation", c.Organisation, 80); err != nil {
		return Claim{}, err
	}
	if c.Description, err = models.CleanText("description", c.Description, 500); err != nil {
		return Claim{}, err
	}
	return c, nil
}

// ClaimRecord records service the caller did, pending verification.
func (t *Service) ClaimRecord(ctx context.Context, p models.Principal, c Claim) (models.ServiceRecord, error) {
	if p.CommunityID == "" || p.ResidentID == "" {
		return models.ServiceRecord{}, models.ErrForbidden
	}
	c, err := c.Clean()
	if err != nil {
		return models.ServiceRecord{}, err
	}
	now := t.now()
	if !c.End.After(c.Start) || c.End.Sub(c.Start) > 24*time.Hour {
		return models.ServiceRecord{}, models.ErrValidation.Withf("结束时间须晚于开始时间，且在 24 小时之内。", "end must be after start, within 24 hours")
	}
	if c.End.After(now.Add(time.Minute)) || c.Start.Before(now.AddDate(0, 0, -90)) {
		return models.ServiceRecord{}, models.ErrValidation.Withf("只能申报最近 90 天内的服务。", "a claim must be for service done in the last 90 days")
	}
	minutes := models.Minutes(c.End.Sub(c.Start) / time.Minute)
	if minutes < 1 {
		return models.ServiceRecord{}, models.ErrValidation.Withf("申报的时长至少 1 分钟。", "a claim must be at least one minute")
	}
	rec := models.ServiceRecord{
		ID:           once.ClaimedRecord(community.DerivedID(c.Idem.OpID, "claim")),
		CommunityID:  p.CommunityID,
		ResidentID:   p.ResidentID,
		Category:     c.Category,
		Organisation: c.Organisation,
		Description:  c.Description,
		Start:        c.Start.UTC().Truncate(time.Millisecond),
		End:          c.End.UTC().Truncate(time.Millisecond),
		Minutes:      minutes,
		Source:       models.SourceClaim,
		Created:      t.stamp(),
		State:        models.RecordPending,
	}
	return t.addRecord(ctx, rec)
}

// Record returns a record the caller may see: their own, or any of their
// community for staff and team leads.
func (t *Service) Record(ctx context.Context, p models.Principal, id string) (models.ServiceRecord, error) {
	rec, err := t.liveRecord(ctx, id)
	if err != nil {
		return rec, err
	}
	if rec.CommunityID != p.CommunityID {
		return models.ServiceRecord{}, models.ErrNotFound
	}
	if rec.ResidentID != p.ResidentID && !canOrganise(p) {
		return models.ServiceRecord{}, models.ErrForbidden
	}
	return rec, nil
}

// liveRecord is the stored record with id; models.ErrNotFound for a void
// one.
func (t *Service) liveRecord(ctx context.Context, id string) (models.ServiceRecord, error) {
	rec, err := t.store.Record(ctx, id)
	if err == nil && rec.State == models.RecordVoid {
		return models.ServiceRecord{}, models.ErrNotFound
	}
	return rec, err
}

// MyRecords is one page of the caller's records, the latest claimed
// first, from cursor ("" for the first page), and the cursor of the next
// page ("" at the end); a page reads limit places of the caller's list.
func (t *Service) MyRecords(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.ServiceRecord, string, error) {
	rs, next, err := t.store.ResidentRecords(ctx, p.ResidentID, cursor, community.PageLimit(limit))
	if err != nil {
		return nil, "", err
	}
	mine := rs[:0]
	for _, r := range rs {
		if r.CommunityID == p.CommunityID {
			mine = append(mine, r)
		}
	}
	return mine, next, nil
}

// PendingRecords is one page of the community's records waiting for a
// decision, oldest first, for staff and team leads, from cursor ("" for
// the first page), and the cursor of the next page ("" at the end). A page
// reads limit places of the community's queue list; a page may hold fewer
// (records decided meanwhile) and still have a next.
func (t *Service) PendingRecords(ctx context.Context, p models.Principal, cursor string, limit int) ([]models.ServiceRecord, string, error) {
	if !canOrganise(p) {
		return nil, "", models.ErrForbidden
	}
	if limit <= 0 || limit > 200 {
		return nil, "", models.ErrValidation.Withf("每页条数须在 1 到 200 之间。", "limit must be between 1 and 200")
	}
	// A queued item with no record after a day is its request's that died
	// (see AutoApprove); older slots with no item are decided for good.
	qs, next, err := t.store.QueuedRecords(ctx, p.CommunityID, cursor, limit, t.now().Add(-24*time.Hour))
	if err != nil {
		return nil, "", err
	}
	recs := make([]*models.ServiceRecord, len(qs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, q := range qs {
		g.Go(func() error {
			r, err := t.store.Record(gctx, q.ID)
			if errors.Is(err, models.ErrNotFound) {
				return nil // its request died before storing it
			}
			if err == nil && r.State == models.RecordPending {
				recs[i] = &r // else decided; its decision is still being completed
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	out := []models.ServiceRecord{}
	for _, r := range recs {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, next, nil
}

// errEnough stops a stream once a page is full.
var errEnough = errors.New("enough")

// canDecide refuses (ErrForbidden) anyone but those who may decide rec:
// staff, or the organiser of the record's activity; a claim (self-reported
// hours) staff or any team lead of the community, who confirm it as
// organisers.
func (t *Service) canDecide(ctx context.Context, p models.Principal, rec models.ServiceRecord) error {
	if rec.CommunityID != p.CommunityID {
		return models.ErrNotFound
	}
	if p.IsStaff() {
		return nil
	}
	if rec.ActivityID == "" && canOrganise(p) {
		return nil
	}
	if rec.ActivityID != "" {
		if a, err := t.store.Activity(ctx, rec.ActivityID); err == nil && organiserOf(p, a) {
			return nil
		}
	}
	return models.ErrForbidden
}

// Approve verifies a record, optionally crediting other minutes than those
// recorded (with a reason, cleaned by models.CleanReason when given). Caps
// apply: per activity per person, then per day per person.
func (t *Service) Approve(ctx context.Context, p models.Principal, id string, minutes models.Minutes, reason string) (models.ServiceRecord, error) {
	if reason != "" {
		var err error
		if reason, err = models.CleanReason(reason); err != nil {
			return models.ServiceRecord{}, err
		}
	}
	rec, err := t.liveRecord(ctx, id)
	if err != nil {
		return rec, err
	}
	if err := t.canDecide(ctx, p, rec); err != nil {
		return models.ServiceRecord{}, err
	}
	if minutes != 0 && reason == "" {
		return models.ServiceRecord{}, models.ErrValidation.Withf("更正时长时须填写原因。", "a reason is required when the minutes are corrected")
	}
	if p.ResidentID == rec.ResidentID && !p.IsStaff() {
		return models.ServiceRecord{}, models.ErrForbidden.Withf("不能审核自己的服务记录。", "nobody verifies their own service")
	}
	rec, _, err = t.decide(ctx, rec, true, minutes, reason, p.ResidentID)
	return rec, err
}

// Reject turns a record down with a reason (models.CleanReason: a blank
// one is ErrValidation).
func (t *Service) Reject(ctx context.Context, p models.Principal, id, reason string) (models.ServiceRecord, error) {
	reason, err := models.CleanReason(reason)
	if err != nil {
		return models.ServiceRecord{}, err
	}
	rec, err := t.liveRecord(ctx, id)
	if err != nil {
		return rec, err
	}
	if err := t.canDecide(ctx, p, rec); err != nil {
		return models.ServiceRecord{}, err
	}
	rec, _, err = t.decide(ctx, rec, false, 0, reason, p.ResidentID)
	return rec, err
}

// requested is what a record may be credited before the daily cap: the
// minutes given (or recorded), at most the activity's cap.
func (t *Service) requested(ctx context.Context, rec models.ServiceRecord, minutes models.Minutes) (models.Minutes, error) {
	if minutes == 0 {
		minutes = rec.Minutes
	}
	if rec.ActivityID != "" {
		a, err := t.store.Activity(ctx, rec.ActivityID)
		if err != nil {
			return 0, err
		}
		minutes = min(minutes, a.MaxMinutes)
	}
	return minutes, nil
}

// decide writes the one decision on a record (its insert decides between
// racing approvers and the auto-approval job) and then completes it: each
// later step is keyed, so a repeat, or the job after a crash, finishes what
// is missing and doubles nothing. It returns models.ErrRecordDecided when
// another decision won, and whether this call's insert decided.
func (t *Service) decide(ctx context.Context, rec models.ServiceRecord, approve bool, minutes models.Minutes, reason, actor string) (models.ServiceRecord, bool, error) {
	want, err := t.requested(ctx, rec, minutes)
	if err != nil {
		return models.ServiceRecord{}, false, err
	}
	if !approve {
		want = 0
	}
	d := models.Mark{
		ID:          once.RecordDecision(rec.ID),
		Kind:        "record.decision",
		CommunityID: rec.CommunityID,
		Ref:         rec.ID,
		ResidentID:  rec.ResidentID,
		Actor:       actor,
		Reason:      reason,
		Amount:      int64(want),
		Flag:        approve,
		At:          t.stamp(),
	}
	winner, won, err := once.Decide(ctx, t.store, d.ID, d)
	if err != nil {
		return models.ServiceRecord{}, false, err
	}
	mine := won || (winner.Actor == actor && winner.Flag == approve && winner.Amount == d.Amount)
	d = winner
	done, err := t.complete(ctx, rec, d)
	if err != nil {
		return models.ServiceRecord{}, won, err
	}
	if !mine {
		return done, won, models.ErrRecordDecided
	}
	return done, won, nil
}

// complete applies decision d to rec: for an approval, the daily cap, the
// hours entry, the points (with the carried minute-points) and the cache;
// for a rejection, the cache. The policy is the one in force when the
// service was done, so a policy change applies to service from its
// effective date only, however late it is approved.
func (t *Service) complete(ctx context.Context, rec models.ServiceRecord, d models.Mark) (models.ServiceRecord, error) {
	rec.DecidedBy, rec.DecidedAt, rec.Reason = d.Actor, d.At, d.Reason
	if !d.Flag {
		rec.State, rec.Credited, rec.Points = models.RecordRejected, 0, 0
		if err := t.store.SaveRecordState(ctx, rec); err != nil {
			return rec, err
		}
		if err := t.audit(ctx, rec, "record.reject", 0, d.Reason, d.Actor, d.At, once.AuditRejected(rec.ID)); err != nil {
			return rec, err
		}
		t.notify.Notify(ctx, recordNotice(rec, models.NoticeHoursRejected, 0, 0, d.Reason))
		return rec, t.store.UnqueueRecord(ctx, rec.ID)
	}
	pol, err := t.policies.At(ctx, rec.CommunityID, rec.Start)
	if err != nil {
		return rec, err
	}
	loc := t.location(ctx, rec.CommunityID)
	quota, err := t.chains.Append(ctx, once.DayQuota(rec.ResidentID, localDay(rec.Start, loc)), rec.ID, nil, func(last models.Link) (models.Link, error) {
		left := max(int64(pol.MaxMinutesPerDay)-last.Total, 0)
		grant := min(d.Amount, left)
		return models.Link{Amount: grant, Total: last.Total + grant}, nil
	})
	if err != nil {
		return rec, err
	}
	granted := models.Minutes(quota.Amount)
	hoursOp, pointsOp := once.RecordCredit(rec.ID)
	if granted > 0 {
		_, err = t.ledger.Post(ctx, ledger.Posting{
			OpID:          hoursOp,
			Hash:          once.RecordCreditHash(rec.ID),
			Account:       models.AccountOf(rec.ResidentID, models.AssetHours),
			CommunityID:   rec.CommunityID,
			Delta:         int64(granted),
			Kind:          models.KindService,
			Ref:           rec.ID,
			Reason:        rec.Category,
			PolicyVersion: pol.Version,
			Actor:         d.Actor,
		})
		if err != nil {
			return rec, fmt.Errorf("approve: hours: %w", err)
		}
	}
	carry, err := t.chains.Append(ctx, once.PointsCarry(rec.ResidentID), rec.ID, nil, func(last models.Link) (models.Link, error) {
		pts, rest := models.PointsFor(last.Remainder, granted, pol.PointsPerHour)
		return models.Link{
			Amount:    int64(pts),
			Remainder: rest,
			Before:    last.Remainder,
			Total:     int64(granted),
		}, nil
	})
	if err != nil {
		return rec, err
	}
	if carry.Amount > 0 {
		_, err = t.ledger.Post(ctx, ledger.Posting{
			OpID:          pointsOp,
			Hash:          once.RecordCreditHash(rec.ID),
			Account:       models.AccountOf(rec.ResidentID, models.AssetPoints),
			CommunityID:   rec.CommunityID,
			Delta:         carry.Amount,
			Kind:          models.KindService,
			Ref:           rec.ID,
			Reason:        rec.Category,
			PolicyVersion: pol.Version,
			Actor:         d.Actor,
		})
		if err != nil {
			return rec, fmt.Errorf("approve: points: %w", err)
		}
	}
	// The decided corrections follow the approval, each from the credit
	// the one before left, so the cache is rebuilt from the marks and
	// links, never added to. A correction decided while this ran may have
	// saved its cache first: counted again after the save, and redone if
	// one was missed, so the last save always includes every decision.
	var decided []correctionOutcome
	for {
		var credited models.Minutes
		var points models.Points
		credited, points, decided, err = t.applyCorrections(ctx, rec, pol, granted, models.Points(carry.Amount))
		if err != nil {
			return rec, err
		}
		rec.State, rec.Credited, rec.Points, rec.PolicyVersion = models.RecordApproved, credited, points, pol.Version
		if err := t.store.SaveRecordState(ctx, rec); err != nil {
			return rec, err
		}
		n, err := t.decidedCorrections(ctx, rec)
		if err != nil {
			return rec, err
		}
		if n == len(decided) {
			break
		}
	}
	err = t.audit(ctx, rec, "record.approve", int64(granted),
		fmt.Sprintf("recorded %d min, credited %d min, %d points; %s", rec.Minutes, granted, carry.Amount, d.Reason), d.Actor, d.At, once.AuditApproved(rec.ID))
	if err != nil {
		return rec, err
	}
	for _, o := range decided {
		if err := t.closeCorrection(ctx, rec, o); err != nil {
			return rec, err
		}
	}
	// Before the record leaves the queue, so a crash before the notice is
	// finished (and the notice written, once) by the auto-approval job.
	t.notify.Notify(ctx, recordNotice(rec, models.NoticeHoursApproved, granted, models.Points(carry.Amount), d.Reason))
	// Last: until here the auto-approval job finds the record in the queue
	// and finishes what a crash left undone.
	return rec, t.store.UnqueueRecord(ctx, rec.ID)
}

// recordNotice tells rec's resident of its decision (kind): the minutes
// and points it credited, or why it was rejected. Its event is the
// record, decided once.
func recordNotice(rec models.ServiceRecord, kind models.NoticeKind, minutes models.Minutes, points models.Points, reason string) models.Notice {
	what := rec.Description
	if what == "" {
		what = rec.Category
	}
	return models.Notice{
		Kind:        kind,
		EventID:     rec.ID,
		Recipient:   rec.ResidentID,
		CommunityID: rec.CommunityID,
		Args: map[string]string{
			"activity": what,
			"minutes":  strconv.FormatInt(int64(minutes), 10),
			"points":   strconv.FormatInt(int64(points), 10),
			"reason":   reason,
		},
		Link: "/records/" + rec.ID,
	}
}

// applyCorrections applies, in order, the decided corrections of rec
// after its approval credited granted minutes and points points, and
// returns the credit after them all.
func (t *Service) applyCorrections(ctx context.Context, rec models.ServiceRecord, pol models.Policy, granted models.Minutes,
	points models.Points) (models.Minutes, models.Points, []correctionOutcome, error) {
	credited := granted
	var decided []correctionOutcome
	for n := 1; ; n++ {
		c, err := t.store.Correction(ctx, once.Correction(rec.ID, n))
		if errors.Is(err, models.ErrNotFound) {
			return credited, points, decided, nil
		}
		if err != nil {
			return 0, 0, nil, err
		}
		m, err := t.store.Mark(ctx, once.CorrectionDecision(c.ID))
		if errors.Is(err, models.ErrNotFound) {
			continue // still open
		}
		if err != nil {
			return 0, 0, nil, err
		}
		o := correctionOutcome{
			c:      c,
			m:      m,
			before: credited,
		}
		if m.Flag {
			dh, dp, err := t.applyCorrection(ctx, rec, pol, c, m, credited)
			if err != nil {
				return 0, 0, nil, err
			}
			credited, points = credited+dh, points+dp
		}
		o.after = credited
		decided = append(decided, o)
	}
}

// decidedCorrections counts the corrections of rec that have a decision.
func (t *Service) decidedCorrections(ctx context.Context, rec models.ServiceRecord) (int, error) {
	count := 0
	for n := 1; ; n++ {
		c, err := t.store.Correction(ctx, once.Correction(rec.ID, n))
		if errors.Is(err, models.ErrNotFound) {
			return count, nil
		}
		if err != nil {
			return 0, err
		}
		if _, err := t.store.Mark(ctx, once.CorrectionDecision(c.ID)); err == nil {
			count++
		} else if !errors.Is(err, models.ErrNotFound) {
			return 0, err
		}
	}
}

// audit writes an audit record of action on rec under id.
func (t *Service) audit(ctx context.Context, rec models.ServiceRecord, action string, amount int64, reason, actor string, at time.Time, id string) error {
	return t.trail.RecordAudit(ctx, models.AuditRecord{
		ID:          id,
		CommunityID: rec.CommunityID,
		Actor:       actor,
		Action:      action,
		Subject:     rec.ResidentID,
		Amount:      amount,
		Category:    rec.Category,
		Reason:      reason,
		Ref:         rec.ID,
		At:          at,
	})
}

// AutoApprove approves every pending attendance record (QR check-in and
// out) older than its community's AutoApproveDays, and finishes any
// decision a crash left half-done. A resident's own claim is never
// approved here: it waits for an organiser, or, when the policy's
// ClaimExpiryDays is set, is rejected once that many days old. Safe to
// repeat: the decision is keyed per record. It returns how many records it
// approved and how many claims it let expire now.
func (t *Service) AutoApprove(ctx context.Context) (approved, expired int, err error) {
	var queued []models.QueuedRecord
	err = t.store.EachQueuedRecord(ctx, func(q models.QueuedRecord) error {
		queued = append(queued, q)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	now := t.now()
	for _, q := range queued {
		rec, err := t.store.Record(ctx, q.ID)
		if errors.Is(err, models.ErrNotFound) {
			if now.Sub(q.Created) > 24*time.Hour {
				// Its request died between queueing and storing it, and no
				// retry came in a day.
				if err := t.store.UnqueueRecord(ctx, q.ID); err != nil {
					return approved, expired, err
				}
			}
			continue
		}
		if err != nil {
			return approved, expired, err
		}
		if rec.State == models.RecordVoid {
			// Refused for an overlap, or voided after its request died.
			if err := t.store.UnqueueRecord(ctx, q.ID); err != nil {
				return approved, expired, err
			}
			continue
		}
		if d, err := t.store.Mark(ctx, once.RecordDecision(rec.ID)); err == nil {
			if _, err := t.complete(ctx, rec, d); err != nil && models.CodeOf(err) == "" {
				return approved, expired, err
			}
			// A refusal (a correction's debit the balance does not cover
			// yet) is tried again on the next run; the others go on.
			continue
		}
		pol, err := t.policies.At(ctx, rec.CommunityID, now)
		if err != nil {
			return approved, expired, err
		}
		approve, reason := true, fmt.Sprintf("approved automatically after %d days", pol.AutoApproveDays)
		if rec.Source == models.SourceAttendance {
			if now.Before(rec.Created.AddDate(0, 0, pol.AutoApproveDays)) {
				continue
			}
		} else {
			if pol.ClaimExpiryDays == 0 || now.Before(rec.Created.AddDate(0, 0, pol.ClaimExpiryDays)) {
				continue // waits for an organiser
			}
			approve, reason = false, fmt.Sprintf("无组织者确认，%d 天后自动失效。Not confirmed by an organiser; expired after %d days.",
				pol.ClaimExpiryDays, pol.ClaimExpiryDays)
		}
		_, won, err := t.decide(ctx, rec, approve, 0, reason, "system")
		if errors.Is(err, models.ErrRecordDecided) {
			continue
		}
		if err != nil {
			return approved, expired, fmt.Errorf("auto-approve %s: %w", rec.ID, err)
		}
		if won && approve {
			approved++
		} else if won {
			expired++
		}
	}
	return approved, expired, nil
}

// --- corrections ---

// RequestCorrection records the volunteer's request to correct an
// approved record, with a reason (models.CleanReason). One request may be
// open at a time.
func (t *Service) RequestCorrection(ctx context.Context, p models.Principal, recordID string, minutes models.Minutes, reason string) (models.Correction, error) {
	reason, err := models.CleanReason(reason)
	if err != nil {
		return models.Correction{}, err
	}
	rec, err := t.Record(ctx, p, recordID)
	if err != nil {
		return models.Correction{}, err
	}
	if rec.ResidentID != p.ResidentID {
		return models.Correction{}, models.ErrForbidden
	}
	if rec.State != models.RecordApproved {
		return models.Correction{}, models.ErrConflict.Withf("只有已通过的服务记录才能更正。", "only an approved record can be corrected")
	}
	for n := 1; ; n++ {
		c, err := t.store.Correction(ctx, once.Correction(rec.ID, n))
		if errors.Is(err, models.ErrNotFound) {
			c = models.Correction{
				ID:          once.Correction(rec.ID, n),
				RecordID:    rec.ID,
				ResidentID:  rec.ResidentID,
				N:           n,
				Minutes:     minutes,
				Reason:      reason,
				At:          t.stamp(),
				CommunityID: rec.CommunityID,
			}
			if err := t.store.InsertCorrection(ctx, c); errors.Is(err, models.ErrConflict) {
				return models.Correction{}, models.ErrConflict.Withf("这条服务记录已有一项待处理的更正。", "a correction of this record is already open")
			} else if err != nil {
				return models.Correction{}, err
			}
			return c, nil
		}
		if err != nil {
			return models.Correction{}, err
		}
		if !c.Decided {
			// Decided, but a crash cut its completion short: finish it, so it
			// is not taken for an open one.
			if c, err = t.finishCorrection(ctx, rec, c); err != nil {
				return models.Correction{}, err
			}
		}
		if !c.Decided {
			return models.Correction{}, models.ErrConflict.Withf("这条服务记录已有一项待处理的更正。", "a correction of this record is already open")
		}
	}
}

// finishCorrection completes c when it has a decision its cache does not
// show yet, and returns it as it then stands.
func (t *Service) finishCorrection(ctx context.Context, rec models.ServiceRecord, c models.Correction) (models.Correction, error) {
	if c.Decided {
		return c, nil
	}
	if _, err := t.store.Mark(ctx, once.CorrectionDecision(c.ID)); errors.Is(err, models.ErrNotFound) {
		return c, nil // open
	} else if err != nil {
		return c, err
	}
	if _, err := t.finishRecord(ctx, rec); err != nil {
		return c, err
	}
	return t.store.Correction(ctx, c.ID)
}

// Corrections lists a record's correction requests.
func (t *Service) Corrections(ctx context.Context, p models.Principal, recordID string) ([]models.Correction, error) {
	rec, err := t.Record(ctx, p, recordID)
	if err != nil {
		return nil, err
	}
	out := []models.Correction{}
	for n := 1; ; n++ {
		c, err := t.store.Correction(ctx, once.Correction(rec.ID, n))
		if errors.Is(err, models.ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if c, err = t.finishCorrection(ctx, rec, c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// DecideCorrection lets staff accept or refuse a correction.
//
// Accepting credits only the difference between what the record has and
// what the correction gives (+30 minutes for 60 → 90), under the same caps
// as the approval: the activity's, then the day's (the correction takes
// its share of the day's quota, or gives it back). Its points continue the
// resident's carry of minute-points, so the points of every record, the
// corrected one and those after it, add up to what all the credited
// minutes earn. A correction that takes back more hours or points than
// the resident has left (below the policy's debt floor for hours, below
// zero for points) is refused before anything is written.
//
// The decision is one insert-once mark; the record is queued before and
// after it, so the auto-approval job finds it. Crash points, each finished
// by the next decision of the same correction, a new correction request, a
// read of the corrections or the job, which all run complete: after the
// queueing and before the mark nothing is decided (the job takes the
// record out of the queue); after the mark, the quota link, the hours
// entry, the carry link, the points entry, the record's cache, the
// correction's cache and the trail are each keyed, so what is missing is
// written once. The worst is a crash between the hours and the points: the
// next completion posts the points. A debit that a spend raced past the
// check (see postDecided) waits, decided, until the balance covers it.
func (t *Service) DecideCorrection(ctx context.Context, p models.Principal, recordID string, n int, accept bool, answer string) (models.Correction, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Correction{}, err
	}
	rec, err := t.Record(ctx, p, recordID)
	if err != nil {
		return models.Correction{}, err
	}
	c, err := t.store.Correction(ctx, once.Correction(rec.ID, n))
	if err != nil {
		return models.Correction{}, err
	}
	// The record's cache is brought up to date first: a correction before
	// this one may have been left half-done.
	if rec, err = t.finishRecord(ctx, rec); err != nil {
		return models.Correction{}, err
	}
	mark, err := t.store.Mark(ctx, once.CorrectionDecision(c.ID))
	if errors.Is(err, models.ErrNotFound) {
		mark = models.Mark{
			ID:          once.CorrectionDecision(c.ID),
			Kind:        "correction.decision",
			CommunityID: rec.CommunityID,
			Ref:         c.ID,
			ResidentID:  rec.ResidentID,
			Actor:       p.ResidentID,
			Reason:      answer,
			Amount:      int64(rec.Credited),
			Flag:        accept,
			At:          t.stamp(),
		}
		if accept {
			want, err := t.requested(ctx, rec, c.Minutes)
			if err != nil {
				return models.Correction{}, err
			}
			if err := t.canTakeBack(ctx, rec, want); err != nil {
				return models.Correction{}, err
			}
			mark.Amount = int64(want)
		}
		if err := t.store.QueueRecord(ctx, rec); err != nil {
			return models.Correction{}, err
		}
		if mark, _, err = once.Decide(ctx, t.store, mark.ID, mark); err != nil {
			return models.Correction{}, err
		}
		// Again: a job run between the first queueing and the mark may have
		// finished the record and taken it out of the queue.
		if err := t.store.QueueRecord(ctx, rec); err != nil {
			return models.Correction{}, err
		}
	} else if err != nil {
		return models.Correction{}, err
	}
	if _, err := t.finishRecord(ctx, rec); err != nil {
		return models.Correction{}, err
	}
	c, err = t.store.Correction(ctx, c.ID)
	if err != nil {
		return models.Correction{}, err
	}
	if mark.Actor != p.ResidentID || mark.Flag != accept {
		return c, models.ErrRecordDecided.Withf("这项更正已经处理过了。", "this correction has been decided")
	}
	return c, nil
}

// canTakeBack refuses a correction down to want minutes when the hours or
// points it takes back are no longer there: hours may go below zero only
// down to the policy's debt floor, points not at all.
func (t *Service) canTakeBack(ctx context.Context, rec models.ServiceRecord, want models.Minutes) error {
	dh := want - rec.Credited
	if dh >= 0 {
		return nil
	}
	pol, err := t.policies.At(ctx, rec.CommunityID, rec.Start)
	if err != nil {
		return err
	}
	// The points as the carry stands now; a concurrent approval may move
	// them by one, which the completion then takes when the balance allows.
	last, err := t.chains.Last(ctx, once.PointsCarry(rec.ResidentID))
	if err != nil {
		return err
	}
	dp, _ := models.PointsFor(last.Remainder, dh, pol.PointsPerHour)
	hours, err := t.ledger.Balance(ctx, models.AccountOf(rec.ResidentID, models.AssetHours))
	if err != nil {
		return err
	}
	if hours.Amount+int64(dh) < -int64(pol.DebtFloorMinutes) {
		return models.ErrInsufficientHours.Withf("更正将收回 %d 分钟时长，但您的余额只有 %d 分钟（最多可欠 %d 分钟）。",
			"The correction takes back %d minutes; the balance is %d (debt allowed: %d).",
			-dh, hours.Amount, pol.DebtFloorMinutes)
	}
	pts, err := t.ledger.Balance(ctx, models.AccountOf(rec.ResidentID, models.AssetPoints))
	if err != nil {
		return err
	}
	if pts.Amount+int64(dp) < 0 {
		return models.ErrInsufficientPoints.Withf("更正将收回 %d 积分，但积分余额只有 %d。",
			"The correction takes back %d points; the balance is %d.", -dp, pts.Amount)
	}
	return nil
}

// finishRecord completes the record's decision and every decided
// correction of it.
func (t *Service) finishRecord(ctx context.Context, rec models.ServiceRecord) (models.ServiceRecord, error) {
	d, err := t.store.Mark(ctx, once.RecordDecision(rec.ID))
	if err != nil {
		return rec, err
	}
	return t.complete(ctx, rec, d)
}

// correctionOutcome is a decided correction and the credit around it.
type correctionOutcome struct {
	c             models.Correction
	m             models.Mark
	before, after models.Minutes
}

// applyCorrection writes, once each, the steps of accepted correction c
// of rec, whose credit is before: the day's quota link, the hours entry of
// the difference, the carry link and the points entry. It returns the
// minutes and points the correction changed.
func (t *Service) applyCorrection(ctx context.Context, rec models.ServiceRecord, pol models.Policy, c models.Correction, m models.Mark,
	before models.Minutes) (models.Minutes, models.Points, error) {
	diff := int64(m.Amount) - int64(before)
	if diff == 0 {
		return 0, 0, nil
	}
	loc := t.location(ctx, rec.CommunityID)
	quota, err := t.chains.Append(ctx, once.DayQuota(rec.ResidentID, localDay(rec.Start, loc)), c.ID, nil, func(last models.Link) (models.Link, error) {
		grant := diff
		if grant > 0 {
			grant = min(grant, max(int64(pol.MaxMinutesPerDay)-last.Total, 0))
		}
		return models.Link{Amount: grant, Total: last.Total + grant}, nil
	})
	if err != nil {
		return 0, 0, err
	}
	dh := models.Minutes(quota.Amount)
	hash := once.CorrectionCreditHash(rec.ID, c.N)
	hOp, pOp := once.CorrectionCredit(rec.ID, c.N)
	if dh != 0 {
		err := t.postDecided(ctx, ledger.Posting{
			OpID:          hOp,
			Hash:          hash,
			Account:       models.AccountOf(rec.ResidentID, models.AssetHours),
			CommunityID:   rec.CommunityID,
			Delta:         int64(dh),
			Kind:          models.KindService,
			Ref:           rec.ID,
			Reason:        "correction: " + m.Reason,
			PolicyVersion: pol.Version,
			Floor:         -int64(pol.DebtFloorMinutes),
			Actor:         m.Actor,
		})
		if err != nil {
			return 0, 0, fmt.Errorf("correct: hours: %w", err)
		}
	}
	carry, err := t.chains.Append(ctx, once.PointsCarry(rec.ResidentID), c.ID, nil, func(last models.Link) (models.Link, error) {
		pts, rest := models.PointsFor(last.Remainder, dh, pol.PointsPerHour)
		return models.Link{
			Amount:    int64(pts),
			Remainder: rest,
			Before:    last.Remainder,
			Total:     int64(dh),
		}, nil
	})
	if err != nil {
		return 0, 0, err
	}
	if carry.Amount != 0 {
		err := t.postDecided(ctx, ledger.Posting{
			OpID:          pOp,
			Hash:          hash,
			Account:       models.AccountOf(rec.ResidentID, models.AssetPoints),
			CommunityID:   rec.CommunityID,
			Delta:         carry.Amount,
			Kind:          models.KindService,
			Ref:           rec.ID,
			Reason:        "correction: " + m.Reason,
			PolicyVersion: pol.Version,
			Actor:         m.Actor,
		})
		if err != nil {
			return 0, 0, fmt.Errorf("correct: points: %w", err)
		}
	}
	return dh, models.Points(carry.Amount), nil
}

// postDecided posts a step a decision already committed to, once. A debit
// refused by the ledger (a spend raced the check made before the
// decision) is tried again under the next op id by a later completion, once
// the balance allows; until then the refusal is returned and nothing is
// written.
func (t *Service) postDecided(ctx context.Context, p ledger.Posting) error {
	base := p.OpID
	for k := 0; k < 1000; k++ {
		if k > 0 {
			p.OpID = once.PostingRetry(base, k)
		}
		_, err := t.ledger.Outcome(ctx, p.OpID)
		if err == nil {
			return nil // posted
		}
		if models.CodeOf(err) != "" && !errors.Is(err, models.ErrNotFound) {
			continue // this try was refused
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if p.Delta < 0 {
			b, err := t.ledger.Balance(ctx, p.Account)
			if err != nil {
				return err
			}
			if b.Amount+p.Delta < p.Floor {
				return insufficient(p.Account.Asset).Withf("余额暂时不足以完成这项更正。", "the balance does not cover the correction yet")
			}
		}
		_, err = t.ledger.Post(ctx, p)
		return err
	}
	return models.ErrConflict.Withf("被拒绝的尝试次数过多，请稍后再试。", "too many refused tries")
}

// insufficient is the refusal of a balance of asset a that does not cover a step:
// ErrInsufficientHours or ErrInsufficientPoints.
func insufficient(a models.Asset) *models.Error {
	if a == models.AssetHours {
		return models.ErrInsufficientHours
	}
	return models.ErrInsufficientPoints
}

// closeCorrection caches a decided correction's outcome and writes its
// trail, once.
func (t *Service) closeCorrection(ctx context.Context, rec models.ServiceRecord, o correctionOutcome) error {
	c := o.c
	if !c.Decided {
		c.Decided, c.Accepted, c.Answer, c.Actor, c.Before, c.After, c.DecideAt = true, o.m.Flag, o.m.Reason, o.m.Actor, o.before, o.after, o.m.At
		if err := t.store.SaveCorrection(ctx, c); err != nil {
			return err
		}
	}
	verdict := map[bool]string{true: "accepted", false: "refused"}[o.m.Flag]
	err := t.audit(ctx, rec, "record.correct", int64(o.after-o.before),
		fmt.Sprintf("correction %d %s: before %d min, after %d min; asked: %s; answer: %s", c.N, verdict, o.before, o.after, c.Reason, o.m.Reason),
		o.m.Actor, o.m.At, once.AuditCorrected(c.ID))
	if err != nil {
		return err
	}
	// The resident who asked hears the answer, once per correction; the
	// record stays queued until here, so a crash before it is finished
	// (and the notice written) by the auto-approval job.
	decision := map[bool]string{true: "通过", false: "驳回"}[o.m.Flag]
	n := recordNotice(rec, models.NoticeCorrectionAnswered, o.after, 0, o.m.Reason)
	n.EventID = c.ID
	n.Args["decision"] = decision
	t.notify.Notify(ctx, n)
	// An accepted correction that changed the record's hours is also told
	// as the hours corrected, once per correction (the event is the
	// correction, the kind differs).
	if o.m.Flag && o.after != o.before {
		reason := o.m.Reason
		if reason == "" {
			reason = c.Reason
		}
		corrected := recordNotice(rec, models.NoticeHoursCorrected, o.after, 0, reason)
		corrected.EventID = c.ID
		t.notify.Notify(ctx, corrected)
	}
	return nil
}

// RecordQuery is what staff filter service records by, as sent: every
// field may be empty. Status is pending, approved or rejected; From and To
// are days (YYYY-MM-DD) in the community's zone, both included, on the
// record's start.
type RecordQuery struct {
	Status     string
	Category   string
	ResidentID string
	ActivityID string
	From       string
	To         string
}

// Empty reports whether q filters nothing.
func (q RecordQuery) Empty() bool { return q == RecordQuery{} }

// FilteredRecords is one page of the community's service records that
// match q, the latest stored first, for staff and team leads, from cursor
// ("" for the first page), and the cursor of the next page ("" at the
// end). It reads one list (the resident's, the activity's, the category's
// or the community's), limit places of it, so a page may hold fewer than
// limit records and still have a next, and it costs the same however long
// the history (docs/PERFORMANCE.md, "Lists").
func (t *Service) FilteredRecords(ctx context.Context, p models.Principal, q RecordQuery, cursor string, limit int) ([]models.ServiceRecord, string, error) {
	if !canOrganise(p) {
		return nil, "", models.ErrForbidden
	}
	if limit <= 0 || limit > 200 {
		return nil, "", models.ErrValidation.Withf("每页条数须在 1 到 200 之间。", "limit must be between 1 and 200")
	}
	f := models.RecordFilter{
		CommunityID: p.CommunityID,
		ResidentID:  strings.TrimSpace(q.ResidentID),
		ActivityID:  strings.TrimSpace(q.ActivityID),
		Category:    strings.TrimSpace(q.Category),
	}
	switch models.RecordState(q.Status) {
	case "":
	case models.RecordPending, models.RecordApproved, models.RecordRejected:
		f.State = models.RecordState(q.Status)
	default:
		return nil, "", models.ErrValidation.Withf("状态 %[1]q 无效：可选 pending、approved、rejected。", "status %[1]q is not one of pending, approved, rejected", q.Status)
	}
	if len(f.ResidentID) > 100 || len(f.ActivityID) > 100 || len(f.Category) > 100 {
		return nil, "", models.ErrValidation.Withf("筛选条件过长。", "a filter is too long")
	}
	loc, err := t.zones.Location(ctx, p.CommunityID)
	if err != nil {
		return nil, "", err
	}
	day := func(name, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		d, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return time.Time{}, models.ErrValidation.Withf("%[1]s 须为日期（YYYY-MM-DD），收到 %[2]q。", "%[1]s must be a date (YYYY-MM-DD), got %[2]q", name, s)
		}
		return d, nil
	}
	if f.From, err = day("from", q.From); err != nil {
		return nil, "", err
	}
	to, err := day("to", q.To)
	if err != nil {
		return nil, "", err
	}
	if !to.IsZero() {
		f.To = to.AddDate(0, 0, 1)
		if !f.From.IsZero() && !f.From.Before(f.To) {
			return nil, "", models.ErrValidation.Withf("开始日期不能晚于结束日期。", "from may not be after to")
		}
	}
	f.From, f.To = f.From.UTC(), f.To.UTC()
	return t.store.FilteredRecords(ctx, f, cursor, limit)
}

// CorrectionsToDecide is one page of the caller's community's correction
// requests, for staff, the latest first, from cursor ("" for the first
// page), and the next page's cursor ("" at the end). status is pending
// (the default: those waiting for staff), decided, or all. A page reads
// limit places of the community's list of corrections, so it may hold
// fewer and still have a next; each open one is followed to its decision
// mark first, so one decided a moment ago is not shown as waiting.
func (t *Service) CorrectionsToDecide(ctx context.Context, p models.Principal, status, cursor string, limit int) ([]models.Correction, string, error) {
	if !p.IsStaff() {
		return nil, "", models.ErrForbidden
	}
	if limit <= 0 || limit > 200 {
		return nil, "", models.ErrValidation.Withf("每页条数须在 1 到 200 之间。", "limit must be between 1 and 200")
	}
	switch status {
	case "":
		status = "pending"
	case "pending", "decided", "all":
	default:
		return nil, "", models.ErrValidation.Withf("状态 %[1]q 无效：可选 pending、decided、all。", "status %[1]q is not one of pending, decided, all", status)
	}
	cs, next, err := t.store.CommunityCorrections(ctx, p.CommunityID, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := []models.Correction{}
	for _, c := range cs {
		if !c.Decided {
			rec, err := t.store.Record(ctx, c.RecordID)
			if err != nil {
				return nil, "", err
			}
			if c, err = t.finishCorrection(ctx, rec, c); err != nil {
				return nil, "", err
			}
		}
		if status == "all" || (status == "pending") != c.Decided {
			out = append(out, c)
		}
	}
	return out, next, nil
}
