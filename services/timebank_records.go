package services

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// --- check-in and check-out ---

func (t *Timebank) inWindow(ctx context.Context, a models.Activity, at time.Time) error {
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
func (t *Timebank) ScanIn(ctx context.Context, p models.Principal, activityID, token string) (Attendance, error) {
	a, err := t.scannable(ctx, p, activityID, token)
	if err != nil {
		return Attendance{}, err
	}
	return t.checkIn(ctx, a, p.ResidentID, p.ResidentID, t.stamp())
}

// ScanOut checks the caller out with the token on the organiser's screen,
// which makes the pending service record.
func (t *Timebank) ScanOut(ctx context.Context, p models.Principal, activityID, token string) (Attendance, error) {
	a, err := t.scannable(ctx, p, activityID, token)
	if err != nil {
		return Attendance{}, err
	}
	return t.checkOut(ctx, a, p.ResidentID, p.ResidentID, t.stamp())
}

func (t *Timebank) scannable(ctx context.Context, p models.Principal, activityID, token string) (models.Activity, error) {
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return a, err
	}
	if !a.SelfCheckin {
		return a, models.ErrSelfCheckinOff
	}
	if err := t.verifyQR(token, a.ID, t.now()); err != nil {
		return a, err
	}
	return a, nil
}

// RecordAttendance lets the organiser check a resident without a phone in
// or out; at is when (zero: now), and may not be in the future.
func (t *Timebank) RecordAttendance(ctx context.Context, p models.Principal, activityID, residentID string, out bool, at time.Time) (Attendance, error) {
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
		return Attendance{}, models.Errorf(models.ErrValidation.Code, "at may not be in the future")
	}
	at = at.UTC().Truncate(time.Millisecond)
	if out {
		return t.checkOut(ctx, a, r.ID, p.ResidentID, at)
	}
	return t.checkIn(ctx, a, r.ID, p.ResidentID, at)
}

func checkinID(activityID, residentID string) string { return "in:" + activityID + ":" + residentID }

func (t *Timebank) checkIn(ctx context.Context, a models.Activity, residentID, actor string, at time.Time) (Attendance, error) {
	if err := t.inWindow(ctx, a, at); err != nil {
		return Attendance{}, err
	}
	// Refused early when the resident already has a record covering this
	// moment; the check-out checks the whole interval again.
	day := "day:" + residentID + ":" + localDay(at, t.location(ctx, a.CommunityID))
	loc := t.location(ctx, a.CommunityID)
	_, err := t.walkChain(ctx, day, 1, func(l models.Link) error {
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
	err = t.store.InsertMark(ctx, models.Mark{ID: checkinID(a.ID, residentID), Kind: "checkin", CommunityID: a.CommunityID,
		Ref: a.ID, ResidentID: residentID, Actor: actor, At: at})
	if errors.Is(err, models.ErrConflict) {
		return Attendance{}, models.ErrAlreadyCheckedIn
	}
	if err != nil {
		return Attendance{}, err
	}
	return Attendance{ActivityID: a.ID, ResidentID: residentID, CheckedIn: at}, nil
}

func attendanceRecordID(activityID, residentID string) string {
	return "att:" + activityID + ":" + residentID
}

func (t *Timebank) checkOut(ctx context.Context, a models.Activity, residentID, actor string, at time.Time) (Attendance, error) {
	if err := t.inWindow(ctx, a, at); err != nil {
		return Attendance{}, err
	}
	in, err := t.store.Mark(ctx, checkinID(a.ID, residentID))
	if errors.Is(err, models.ErrNotFound) {
		return Attendance{}, models.ErrNotCheckedIn
	}
	if err != nil {
		return Attendance{}, err
	}
	outID := "out:" + a.ID + ":" + residentID
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
		return Attendance{}, models.Errorf(models.ErrOutsideWindow.Code, "no time was spent within the activity")
	}
	// A check-out refused for an overlap voided its record's id; the next
	// try (once the other record is rejected, say) takes the next one.
	id := attendanceRecordID(a.ID, residentID)
	for g := 1; ; g++ {
		prior, err := t.store.Record(ctx, id)
		if errors.Is(err, models.ErrNotFound) || (err == nil && prior.State != models.RecordVoid) {
			break
		}
		if err != nil {
			return Attendance{}, err
		}
		id = fmt.Sprintf("%s:%d", attendanceRecordID(a.ID, residentID), g)
	}
	rec := models.ServiceRecord{ID: id, CommunityID: a.CommunityID, ResidentID: residentID,
		ActivityID: a.ID, Category: a.Category, Organisation: a.Organisation, Description: a.Title,
		Start: start, End: end, Minutes: minutes, Source: models.SourceAttendance, Created: t.stamp(), State: models.RecordPending}
	rec, err = t.addRecord(ctx, rec)
	if err != nil {
		return Attendance{}, err
	}
	err = t.store.InsertMark(ctx, models.Mark{ID: outID, Kind: "checkout", CommunityID: a.CommunityID, Ref: rec.ID,
		ResidentID: residentID, Actor: actor, At: at})
	if errors.Is(err, models.ErrConflict) {
		return Attendance{}, models.ErrAlreadyCheckedOut
	}
	if err != nil {
		return Attendance{}, err
	}
	return Attendance{ActivityID: a.ID, ResidentID: residentID, CheckedIn: in.At, Record: &rec}, nil
}

// --- records ---

// walkChain visits the steps of chain from step from (at least 1) until the
// next is missing, and returns the last step that exists (the zero Link
// for an empty chain).
func (t *Timebank) walkChain(ctx context.Context, chain string, from int64, fn func(models.Link) error) (models.Link, error) {
	var last models.Link
	if from < 1 {
		from = 1
	}
	if from > 1 {
		l, err := t.store.Link(ctx, chain, from-1)
		if err != nil {
			return t.walkChain(ctx, chain, 1, fn) // a stale hint: start over
		}
		last = l
	}
	for n := from; ; n++ {
		l, err := t.store.Link(ctx, chain, n)
		if errors.Is(err, models.ErrNotFound) {
			break
		}
		if err != nil {
			return last, err
		}
		if fn != nil {
			if err := fn(l); err != nil {
				return last, err
			}
		}
		last = l
	}
	t.mu.Lock()
	if t.heads[chain] < last.N {
		t.heads[chain] = last.N
	}
	t.mu.Unlock()
	return last, nil
}

// appendLink adds the step that next(last) builds, once per ref: a step
// already written for ref is returned instead. A keyed note of the step
// number a ref is about to take lets a repeat (after a crash, or a job run
// twice) find its step without walking the whole chain. Racing writers
// meet at the same N; the loser reads on and decides again. With check,
// the whole chain is visited (the day index checks every interval).
func (t *Timebank) appendLink(ctx context.Context, chain, ref string, check func(models.Link) error,
	next func(last models.Link) (models.Link, error)) (models.Link, error) {
	noteID := "lref:" + chain + ":" + ref
	from := int64(1)
	if note, err := t.store.Mark(ctx, noteID); err == nil && note.Amount > 0 {
		from = note.Amount
	} else if err != nil && !errors.Is(err, models.ErrNotFound) {
		return models.Link{}, err
	}
	if check == nil && from == 1 {
		t.mu.Lock()
		from = max(t.heads[chain], 1)
		t.mu.Unlock()
	}
	if check != nil {
		from = 1
	}
	var found *models.Link
	visit := func(l models.Link) error {
		if l.Ref == ref {
			found = &l
			return nil
		}
		if check != nil {
			return check(l)
		}
		return nil
	}
	for attempt := 0; attempt < 100; attempt++ {
		last, err := t.walkChain(ctx, chain, from, visit)
		if err != nil {
			return models.Link{}, err
		}
		if found != nil {
			return *found, nil
		}
		l, err := next(last)
		if err != nil {
			return models.Link{}, err
		}
		l.Chain, l.N, l.Ref, l.At = chain, last.N+1, ref, t.stamp()
		if err := t.store.SetFlag(ctx, models.Mark{ID: noteID, Kind: "link.ref", Ref: ref, Amount: l.N, At: l.At}); err != nil {
			return models.Link{}, err
		}
		err = t.store.InsertLink(ctx, l)
		if err == nil {
			t.mu.Lock()
			if t.heads[chain] < l.N {
				t.heads[chain] = l.N
			}
			t.mu.Unlock()
			return l, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return models.Link{}, err
		}
		if check == nil {
			from = l.N // read on from the step we lost
		}
	}
	return models.Link{}, models.Errorf(models.ErrConflict.Code, "too much contention; try again")
}

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
func (t *Timebank) addRecord(ctx context.Context, rec models.ServiceRecord) (models.ServiceRecord, error) {
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
		_, err := t.appendLink(ctx, "day:"+rec.ResidentID+":"+day, rec.ID, overlap, func(last models.Link) (models.Link, error) {
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
func (t *Timebank) storedRecord(ctx context.Context, prior models.ServiceRecord, loc *time.Location) (models.ServiceRecord, error) {
	if prior.State != models.RecordVoid {
		return prior, nil
	}
	// Voided by a record that overlaps it (named in Reason), or refused.
	if other, err := t.store.Record(ctx, prior.Reason); err == nil && other.State != models.RecordVoid {
		return models.ServiceRecord{}, overlapError(other, loc)
	}
	return models.ServiceRecord{}, models.Errorf(models.ErrRecordOverlap.Code,
		"该服务记录与您的其他服务记录时间重叠，未能保存。This record overlaps another of your service records and was not stored.")
}

// settleLink says whether the record behind a day-index link l counts
// against rec: it counts when it is stored and pending or approved. A
// missing record is voided in rec's name (see addRecord); live is false
// then.
func (t *Timebank) settleLink(ctx context.Context, l models.Link, rec models.ServiceRecord) (other models.ServiceRecord, live bool, err error) {
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
	return other, false, models.Errorf(models.ErrConflict.Code, "too much contention; try again")
}

// voidRecord is the placeholder that takes id for good; why names the
// record that voided it, or the refusal.
func voidRecord(id string, like models.ServiceRecord, why string) models.ServiceRecord {
	return models.ServiceRecord{ID: id, CommunityID: like.CommunityID, ResidentID: like.ResidentID,
		Start: like.Start, End: like.End, Created: like.Created, State: models.RecordVoid, Reason: why}
}

// overlapError names the record a new one overlaps and its time, in
// Chinese first, then English.
func overlapError(other models.ServiceRecord, loc *time.Location) error {
	const layout = "2006-01-02 15:04"
	from, to := other.Start.In(loc).Format(layout), other.End.In(loc).Format(layout)
	return models.Errorf(models.ErrRecordOverlap.Code, "与服务记录 %s（%s 至 %s）时间重叠。Overlaps service record %s (%s to %s).",
		other.ID, from, to, other.ID, from, to)
}

// Claim is a resident's own claim of service outside an activity.
type Claim struct {
	Category, Organisation, Description string
	Start, End                          time.Time
	Idem                                Idempotency
}

// ClaimRecord records service the caller did, pending verification.
func (t *Timebank) ClaimRecord(ctx context.Context, p models.Principal, c Claim) (models.ServiceRecord, error) {
	if p.CommunityID == "" || p.ResidentID == "" {
		return models.ServiceRecord{}, models.ErrForbidden
	}
	now := t.now()
	if !c.End.After(c.Start) || c.End.Sub(c.Start) > 24*time.Hour {
		return models.ServiceRecord{}, models.Errorf(models.ErrValidation.Code, "end must be after start, within 24 hours")
	}
	if c.End.After(now.Add(time.Minute)) || c.Start.Before(now.AddDate(0, 0, -90)) {
		return models.ServiceRecord{}, models.Errorf(models.ErrValidation.Code, "a claim must be for service done in the last 90 days")
	}
	minutes := models.Minutes(c.End.Sub(c.Start) / time.Minute)
	if minutes < 1 {
		return models.ServiceRecord{}, models.Errorf(models.ErrValidation.Code, "a claim must be at least one minute")
	}
	rec := models.ServiceRecord{ID: "claim:" + derivedID(c.Idem.OpID, "claim"), CommunityID: p.CommunityID, ResidentID: p.ResidentID,
		Category: c.Category, Organisation: c.Organisation, Description: c.Description,
		Start: c.Start.UTC().Truncate(time.Millisecond), End: c.End.UTC().Truncate(time.Millisecond), Minutes: minutes,
		Source: models.SourceClaim, Created: t.stamp(), State: models.RecordPending}
	return t.addRecord(ctx, rec)
}

// Record returns a record the caller may see: their own, or any of their
// community for staff and team leads.
func (t *Timebank) Record(ctx context.Context, p models.Principal, id string) (models.ServiceRecord, error) {
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
func (t *Timebank) liveRecord(ctx context.Context, id string) (models.ServiceRecord, error) {
	rec, err := t.store.Record(ctx, id)
	if err == nil && rec.State == models.RecordVoid {
		return models.ServiceRecord{}, models.ErrNotFound
	}
	return rec, err
}

// MyRecords lists the caller's records, newest first.
func (t *Timebank) MyRecords(ctx context.Context, p models.Principal) ([]models.ServiceRecord, error) {
	out := []models.ServiceRecord{}
	err := t.store.EachRecord(ctx, models.RecordFilter{ResidentID: p.ResidentID}, func(r models.ServiceRecord) error {
		if r.CommunityID == p.CommunityID && r.State != models.RecordVoid {
			out = append(out, r)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out, err
}

// PendingRecords lists the community's records waiting for a decision,
// for staff and team leads.
//
// At most limit records are returned, so a community with a large backlog
// cannot make one request read and send all of it.
func (t *Timebank) PendingRecords(ctx context.Context, p models.Principal, limit int) ([]models.ServiceRecord, error) {
	if !canOrganise(p) {
		return nil, models.ErrForbidden
	}
	if limit <= 0 || limit > 200 {
		return nil, models.Errorf(models.ErrValidation.Code, "limit must be between 1 and 200")
	}
	out := []models.ServiceRecord{}
	err := t.store.EachQueuedRecord(ctx, func(q models.QueuedRecord) error {
		if q.CommunityID != p.CommunityID {
			return nil
		}
		r, err := t.store.Record(ctx, q.ID)
		if errors.Is(err, models.ErrNotFound) {
			return nil // its request died before storing it
		}
		if err != nil {
			return err
		}
		if r.State != models.RecordPending {
			return nil // decided; its decision is still being completed
		}
		out = append(out, r)
		if len(out) == limit {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// errEnough stops a stream once a page is full.
var errEnough = errors.New("enough")

// canDecide: staff, or the organiser of the record's activity; claims are
// for staff.
func (t *Timebank) canDecide(ctx context.Context, p models.Principal, rec models.ServiceRecord) error {
	if rec.CommunityID != p.CommunityID {
		return models.ErrNotFound
	}
	if p.IsStaff() {
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
// recorded (with a reason). Caps apply: per activity per person, then per
// day per person.
func (t *Timebank) Approve(ctx context.Context, p models.Principal, id string, minutes models.Minutes, reason string) (models.ServiceRecord, error) {
	rec, err := t.liveRecord(ctx, id)
	if err != nil {
		return rec, err
	}
	if err := t.canDecide(ctx, p, rec); err != nil {
		return models.ServiceRecord{}, err
	}
	if minutes != 0 && reason == "" {
		return models.ServiceRecord{}, models.Errorf(models.ErrValidation.Code, "a reason is required when the minutes are corrected")
	}
	if p.ResidentID == rec.ResidentID && !p.IsStaff() {
		return models.ServiceRecord{}, models.Errorf(models.ErrForbidden.Code, "nobody verifies their own service")
	}
	rec, _, err = t.decide(ctx, rec, true, minutes, reason, p.ResidentID)
	return rec, err
}

// Reject turns a record down with a reason.
func (t *Timebank) Reject(ctx context.Context, p models.Principal, id, reason string) (models.ServiceRecord, error) {
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
func (t *Timebank) requested(ctx context.Context, rec models.ServiceRecord, minutes models.Minutes) (models.Minutes, error) {
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
func (t *Timebank) decide(ctx context.Context, rec models.ServiceRecord, approve bool, minutes models.Minutes, reason, actor string) (models.ServiceRecord, bool, error) {
	want, err := t.requested(ctx, rec, minutes)
	if err != nil {
		return models.ServiceRecord{}, false, err
	}
	if !approve {
		want = 0
	}
	d := models.Mark{ID: "decision:" + rec.ID, Kind: "record.decision", CommunityID: rec.CommunityID, Ref: rec.ID,
		ResidentID: rec.ResidentID, Actor: actor, Reason: reason, Amount: int64(want), Flag: approve, At: t.stamp()}
	err = t.store.InsertMark(ctx, d)
	won, mine := err == nil, true
	if errors.Is(err, models.ErrConflict) {
		prior, err := t.store.Mark(ctx, d.ID)
		if err != nil {
			return models.ServiceRecord{}, false, err
		}
		mine = prior.Actor == actor && prior.Flag == approve && prior.Amount == d.Amount
		d = prior
	} else if err != nil {
		return models.ServiceRecord{}, false, err
	}
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
func (t *Timebank) complete(ctx context.Context, rec models.ServiceRecord, d models.Mark) (models.ServiceRecord, error) {
	rec.DecidedBy, rec.DecidedAt, rec.Reason = d.Actor, d.At, d.Reason
	if !d.Flag {
		rec.State, rec.Credited, rec.Points = models.RecordRejected, 0, 0
		if err := t.store.SaveRecordState(ctx, rec); err != nil {
			return rec, err
		}
		if err := t.audit(ctx, rec, "record.reject", 0, d.Reason, d.Actor, d.At, "reject:"+rec.ID); err != nil {
			return rec, err
		}
		return rec, t.store.UnqueueRecord(ctx, rec.ID)
	}
	pol, err := t.policies.At(ctx, rec.CommunityID, rec.Start)
	if err != nil {
		return rec, err
	}
	loc := t.location(ctx, rec.CommunityID)
	quota, err := t.appendLink(ctx, "quota:"+rec.ResidentID+":"+localDay(rec.Start, loc), rec.ID, nil, func(last models.Link) (models.Link, error) {
		left := max(int64(pol.MaxMinutesPerDay)-last.Total, 0)
		grant := min(d.Amount, left)
		return models.Link{Amount: grant, Total: last.Total + grant}, nil
	})
	if err != nil {
		return rec, err
	}
	granted := models.Minutes(quota.Amount)
	if granted > 0 {
		_, err = t.ledger.Post(ctx, ledger.Posting{OpID: "service:" + rec.ID + ":hours", Hash: "service:" + rec.ID,
			Account: models.AccountOf(rec.ResidentID, models.AssetHours), CommunityID: rec.CommunityID, Delta: int64(granted),
			Kind: models.KindService, Ref: rec.ID, Reason: rec.Category, PolicyVersion: pol.Version, Actor: d.Actor})
		if err != nil {
			return rec, fmt.Errorf("approve: hours: %w", err)
		}
	}
	carry, err := t.appendLink(ctx, "carry:"+rec.ResidentID, rec.ID, nil, func(last models.Link) (models.Link, error) {
		pts, rest := models.PointsFor(last.Remainder, granted, pol.PointsPerHour)
		return models.Link{Amount: int64(pts), Remainder: rest, Before: last.Remainder, Total: int64(granted)}, nil
	})
	if err != nil {
		return rec, err
	}
	if carry.Amount > 0 {
		_, err = t.ledger.Post(ctx, ledger.Posting{OpID: "service:" + rec.ID + ":points", Hash: "service:" + rec.ID,
			Account: models.AccountOf(rec.ResidentID, models.AssetPoints), CommunityID: rec.CommunityID, Delta: carry.Amount,
			Kind: models.KindService, Ref: rec.ID, Reason: rec.Category, PolicyVersion: pol.Version, Actor: d.Actor})
		if err != nil {
			return rec, fmt.Errorf("approve: points: %w", err)
		}
	}
	rec.State, rec.Credited, rec.Points, rec.PolicyVersion = models.RecordApproved, granted, models.Points(carry.Amount), pol.Version
	if err := t.store.SaveRecordState(ctx, rec); err != nil {
		return rec, err
	}
	err = t.audit(ctx, rec, "record.approve", int64(granted),
		fmt.Sprintf("recorded %d min, credited %d min, %d points; %s", rec.Minutes, granted, carry.Amount, d.Reason), d.Actor, d.At, "approve:"+rec.ID)
	if err != nil {
		return rec, err
	}
	// Last: until here the auto-approval job finds the record in the queue
	// and finishes what a crash left undone.
	return rec, t.store.UnqueueRecord(ctx, rec.ID)
}

func (t *Timebank) audit(ctx context.Context, rec models.ServiceRecord, action string, amount int64, reason, actor string, at time.Time, id string) error {
	return t.trail.RecordAudit(ctx, models.AuditRecord{ID: id, CommunityID: rec.CommunityID, Actor: actor, Action: action,
		Subject: rec.ResidentID, Amount: amount, Category: rec.Category, Reason: reason, Ref: rec.ID, At: at})
}

// AutoApprove approves every pending record older than its community's
// AutoApproveDays, and finishes any decision a crash left half-done. Safe
// to repeat: the decision is keyed per record. It returns how many records
// it approved now.
func (t *Timebank) AutoApprove(ctx context.Context) (int, error) {
	var queued []models.QueuedRecord
	err := t.store.EachQueuedRecord(ctx, func(q models.QueuedRecord) error {
		queued = append(queued, q)
		return nil
	})
	if err != nil {
		return 0, err
	}
	now := t.now()
	n := 0
	for _, q := range queued {
		rec, err := t.store.Record(ctx, q.ID)
		if errors.Is(err, models.ErrNotFound) {
			if now.Sub(q.Created) > 24*time.Hour {
				// Its request died between queueing and storing it, and no
				// retry came in a day.
				if err := t.store.UnqueueRecord(ctx, q.ID); err != nil {
					return n, err
				}
			}
			continue
		}
		if err != nil {
			return n, err
		}
		if rec.State == models.RecordVoid {
			// Refused for an overlap, or voided after its request died.
			if err := t.store.UnqueueRecord(ctx, q.ID); err != nil {
				return n, err
			}
			continue
		}
		if d, err := t.store.Mark(ctx, "decision:"+rec.ID); err == nil {
			if _, err := t.complete(ctx, rec, d); err != nil {
				return n, err
			}
			continue
		}
		pol, err := t.policies.At(ctx, rec.CommunityID, now)
		if err != nil {
			return n, err
		}
		if now.Before(rec.Created.AddDate(0, 0, pol.AutoApproveDays)) {
			continue
		}
		_, won, err := t.decide(ctx, rec, true, 0, fmt.Sprintf("approved automatically after %d days", pol.AutoApproveDays), "system")
		if errors.Is(err, models.ErrRecordDecided) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("auto-approve %s: %w", rec.ID, err)
		}
		if won {
			n++
		}
	}
	return n, nil
}

// --- corrections ---

func correctionID(recordID string, n int) string { return fmt.Sprintf("corr:%s:%d", recordID, n) }

// RequestCorrection records the volunteer's request to correct an
// approved record. One request may be open at a time.
func (t *Timebank) RequestCorrection(ctx context.Context, p models.Principal, recordID string, minutes models.Minutes, reason string) (models.Correction, error) {
	rec, err := t.Record(ctx, p, recordID)
	if err != nil {
		return models.Correction{}, err
	}
	if rec.ResidentID != p.ResidentID {
		return models.Correction{}, models.ErrForbidden
	}
	if rec.State != models.RecordApproved {
		return models.Correction{}, models.Errorf(models.ErrConflict.Code, "only an approved record can be corrected")
	}
	for n := 1; ; n++ {
		c, err := t.store.Correction(ctx, correctionID(rec.ID, n))
		if errors.Is(err, models.ErrNotFound) {
			c = models.Correction{ID: correctionID(rec.ID, n), RecordID: rec.ID, ResidentID: rec.ResidentID, N: n,
				Minutes: minutes, Reason: reason, At: t.stamp()}
			if err := t.store.InsertCorrection(ctx, c); errors.Is(err, models.ErrConflict) {
				return models.Correction{}, models.Errorf(models.ErrConflict.Code, "a correction of this record is already open")
			} else if err != nil {
				return models.Correction{}, err
			}
			return c, nil
		}
		if err != nil {
			return models.Correction{}, err
		}
		if !c.Decided {
			return models.Correction{}, models.Errorf(models.ErrConflict.Code, "a correction of this record is already open")
		}
	}
}

// Corrections lists a record's correction requests.
func (t *Timebank) Corrections(ctx context.Context, p models.Principal, recordID string) ([]models.Correction, error) {
	rec, err := t.Record(ctx, p, recordID)
	if err != nil {
		return nil, err
	}
	out := []models.Correction{}
	for n := 1; ; n++ {
		c, err := t.store.Correction(ctx, correctionID(rec.ID, n))
		if errors.Is(err, models.ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// DecideCorrection lets staff accept or refuse a correction. Accepting
// moves value only by reversing the record's current hours and points
// entries and posting new ones; the trail keeps who, when, before, after
// and why. Points of the new credit are computed from the carry the record
// started with; the carry after it is not rewritten.
func (t *Timebank) DecideCorrection(ctx context.Context, p models.Principal, recordID string, n int, accept bool, answer string) (models.Correction, error) {
	if err := requireStaff(p); err != nil {
		return models.Correction{}, err
	}
	rec, err := t.Record(ctx, p, recordID)
	if err != nil {
		return models.Correction{}, err
	}
	c, err := t.store.Correction(ctx, correctionID(rec.ID, n))
	if err != nil {
		return models.Correction{}, err
	}
	before := rec.Credited
	after := before
	if accept {
		after, err = t.requested(ctx, rec, c.Minutes)
		if err != nil {
			return models.Correction{}, err
		}
	}
	mark := models.Mark{ID: "corr-decision:" + c.ID, Kind: "correction.decision", CommunityID: rec.CommunityID, Ref: c.ID,
		ResidentID: rec.ResidentID, Actor: p.ResidentID, Reason: answer, Amount: int64(after), Flag: accept, At: t.stamp()}
	if err := t.store.InsertMark(ctx, mark); errors.Is(err, models.ErrConflict) {
		prior, err := t.store.Mark(ctx, mark.ID)
		if err != nil {
			return models.Correction{}, err
		}
		if prior.Actor != mark.Actor || prior.Flag != accept {
			return c, models.Errorf(models.ErrRecordDecided.Code, "this correction has been decided")
		}
		mark = prior
		after = models.Minutes(prior.Amount)
	} else if err != nil {
		return models.Correction{}, err
	}
	if c.Decided {
		return c, nil
	}
	if accept && after != before {
		pts, err := t.recredit(ctx, rec, n, after, p.ResidentID, answer)
		if err != nil {
			return models.Correction{}, err
		}
		rec.Credited, rec.Points = after, pts
		if err := t.store.SaveRecordState(ctx, rec); err != nil {
			return models.Correction{}, err
		}
	}
	c.Decided, c.Accepted, c.Answer, c.Actor, c.Before, c.After, c.DecideAt = true, accept, answer, p.ResidentID, before, after, mark.At
	if err := t.store.SaveCorrection(ctx, c); err != nil {
		return models.Correction{}, err
	}
	err = t.audit(ctx, rec, "record.correct", int64(after-before),
		fmt.Sprintf("correction %d %s: before %d min, after %d min; asked: %s; answer: %s", n, map[bool]string{true: "accepted", false: "refused"}[accept], before, after, c.Reason, answer),
		p.ResidentID, mark.At, "correct:"+c.ID)
	return c, err
}

// creditOps are the op ids of a record's credit after correction n (0:
// the approval itself).
func creditOps(recordID string, n int) (hours, points string) {
	if n == 0 {
		return "service:" + recordID + ":hours", "service:" + recordID + ":points"
	}
	suffix := fmt.Sprintf(":c%d", n)
	return "service:" + recordID + ":hours" + suffix, "service:" + recordID + ":points" + suffix
}

// recredit reverses the current credit of rec (the approval, or the last
// accepted correction before n) and posts the credit for minutes.
func (t *Timebank) recredit(ctx context.Context, rec models.ServiceRecord, n int, minutes models.Minutes, actor, why string) (models.Points, error) {
	pol, err := t.policies.At(ctx, rec.CommunityID, rec.Start)
	if err != nil {
		return 0, err
	}
	// The current credit: the last accepted correction before n, else the approval.
	cur := 0
	for k := n - 1; k >= 1; k-- {
		if m, err := t.store.Mark(ctx, "corr-decision:"+correctionID(rec.ID, k)); err == nil && m.Flag {
			cur = k
			break
		}
	}
	carry, err := t.appendLink(ctx, "carry:"+rec.ResidentID, rec.ID, nil, func(models.Link) (models.Link, error) {
		return models.Link{}, models.ErrNotFound
	})
	if err != nil {
		return 0, err
	}
	oldPts, _ := models.PointsFor(carry.Before, rec.Credited, pol.PointsPerHour)
	newPts, _ := models.PointsFor(carry.Before, minutes, pol.PointsPerHour)
	hOld, pOld := creditOps(rec.ID, cur)
	hNew, pNew := creditOps(rec.ID, n)
	for _, x := range []struct {
		asset    models.Asset
		old, new string
		was, now int64
	}{{models.AssetHours, hOld, hNew, int64(rec.Credited), int64(minutes)}, {models.AssetPoints, pOld, pNew, int64(oldPts), int64(newPts)}} {
		acct := models.AccountOf(rec.ResidentID, x.asset)
		if x.was > 0 {
			// Replaying the credit's own posting returns its entry, whose seq
			// the reversal needs.
			hash := "service:" + rec.ID
			if cur > 0 {
				hash = fmt.Sprintf("correct:%s:%d", rec.ID, cur)
			}
			orig, err := t.ledger.Post(ctx, ledger.Posting{OpID: x.old, Hash: hash, Account: acct, CommunityID: rec.CommunityID,
				Delta: x.was, Kind: models.KindService, Ref: rec.ID, Reason: rec.Category, PolicyVersion: pol.Version, Actor: actor})
			if err != nil {
				return 0, fmt.Errorf("correct: find credit: %w", err)
			}
			if _, err := t.ledger.Reverse(ctx, acct, orig.Seq, "correction: "+why, actor); err != nil {
				return 0, fmt.Errorf("correct: reverse: %w", err)
			}
		}
		if x.now > 0 {
			_, err := t.ledger.Post(ctx, ledger.Posting{OpID: x.new, Hash: fmt.Sprintf("correct:%s:%d", rec.ID, n), Account: acct,
				CommunityID: rec.CommunityID, Delta: x.now, Kind: models.KindService, Ref: rec.ID,
				Reason: "correction: " + why, PolicyVersion: pol.Version, Actor: actor})
			if err != nil {
				return 0, fmt.Errorf("correct: credit: %w", err)
			}
		}
	}
	return newPts, nil
}
