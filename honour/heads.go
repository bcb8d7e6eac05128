package honour

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// Appointment puts a resident in a 三长 role for a term. A building head
// (楼组长) is for one building; the other roles are community-wide.
type Appointment struct {
	Role       models.HeadRole
	BuildingID string
	ResidentID string
}

// seatOf is the seat an appointment fills: the building's seat for a building head, else
// the role's seat of the resident.
func seatOf(a Appointment) string {
	if a.Role == models.HeadBuilding {
		return once.BuildingSeat(a.BuildingID)
	}
	return once.RoleSeat(string(a.Role), a.ResidentID)
}

// Appoint opens a term (staff). A building that has a head already is
// handed over: the open term closes now and the new one opens. Terms are
// numbered per seat and inserted by (seat, number), so two appointments
// racing for one building cannot both win. The building's HeadID and the
// building_head role follow the open term.
func (s *Service) Appoint(ctx context.Context, p models.Principal, a Appointment) (models.HeadTerm, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.HeadTerm{}, err
	}
	if _, err := models.ParseHeadRole(string(a.Role)); err != nil {
		return models.HeadTerm{}, err
	}
	if _, err := s.member(ctx, p, a.ResidentID); err != nil {
		return models.HeadTerm{}, fmt.Errorf("appoint: resident: %w", err)
	}
	switch {
	case a.Role == models.HeadBuilding && a.BuildingID == "":
		return models.HeadTerm{}, models.ErrValidation.Withf("任命楼组长须填写楼栋（building_id）。", "building_id is required for a building head")
	case a.Role != models.HeadBuilding && a.BuildingID != "":
		return models.HeadTerm{}, models.ErrValidation.Withf("只有任命楼组长时才填写楼栋（building_id）。", "building_id is only for a building head")
	}
	if a.BuildingID != "" {
		b, err := s.store.Building(ctx, a.BuildingID)
		if err == nil && b.CommunityID != p.CommunityID {
			err = models.ErrNotFound
		}
		if err != nil {
			return models.HeadTerm{}, fmt.Errorf("appoint: building: %w", err)
		}
	}
	seat := seatOf(a)
	terms, err := s.store.HeadTerms(ctx, p.CommunityID, seat)
	if err != nil {
		return models.HeadTerm{}, fmt.Errorf("appoint: %w", err)
	}
	last := 0
	at := s.stamp()
	for _, t := range terms {
		last = max(last, t.N)
		if !t.Open() {
			continue
		}
		if t.ResidentID == a.ResidentID {
			// Already in office: a repeat mends the building and role.
			return t, s.syncHead(ctx, p, t)
		}
		if _, err := s.endTerm(ctx, p, t, "handover", "交接给新任", at); err != nil {
			return models.HeadTerm{}, fmt.Errorf("appoint: hand over: %w", err)
		}
	}
	t := models.HeadTerm{
		ID:          community.DerivedID(seat, fmt.Sprint(last+1)),
		CommunityID: p.CommunityID,
		Seat:        seat,
		N:           last + 1,
		Role:        a.Role,
		BuildingID:  a.BuildingID,
		ResidentID:  a.ResidentID,
		Start:       at,
		AppointedBy: p.ResidentID,
	}
	if err := s.store.InsertHeadTerm(ctx, t); err != nil {
		if errors.Is(err, models.ErrConflict) {
			return models.HeadTerm{}, models.ErrConflict.Withf("这个岗位刚刚有了另一项任命，请刷新后再试。", "another appointment to this seat was just made")
		}
		return models.HeadTerm{}, fmt.Errorf("appoint: %w", err)
	}
	return t, s.syncHead(ctx, p, t)
}

// syncHead makes the resident's term list and the building's head agree
// with term t and its seat.
func (s *Service) syncHead(ctx context.Context, p models.Principal, t models.HeadTerm) error {
	held, err := s.store.HeadCurrent(ctx, t.ResidentID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(held, func(x models.HeadTerm) bool { return x.ID == t.ID })
	if i >= 0 {
		held[i] = t
	} else {
		held = append(held, t)
	}
	if err := s.store.SaveHeadCurrent(ctx, t.ResidentID, held); err != nil {
		return err
	}
	if t.Role != models.HeadBuilding {
		return nil
	}
	return s.syncBuilding(ctx, p, t)
}

// syncBuilding sets the building's head from the truth of its seat: the
// term with no end event, the one with the highest number if a race left
// two. Every appointment and ending calls it last, so the last writer
// leaves the building agreeing with the open term.
func (s *Service) syncBuilding(ctx context.Context, p models.Principal, t models.HeadTerm) error {
	terms, err := s.store.HeadTerms(ctx, t.CommunityID, t.Seat)
	if err != nil {
		return err
	}
	var open *models.HeadTerm
	for i, x := range terms {
		_, err := s.store.HonourEvent(ctx, once.TermEnd(x.ID))
		if err == nil {
			continue
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if open == nil || x.N > open.N {
			open = &terms[i]
		}
	}
	want := ""
	if open != nil {
		want = open.ResidentID
	}
	b, err := s.store.Building(ctx, t.BuildingID)
	if err != nil {
		return err
	}
	if b.HeadID == want {
		return nil
	}
	_, err = s.heads.SetBuildingHead(ctx, p, t.BuildingID, want)
	return err
}

// EndTerm closes a term by retirement (退出) or handover, with a reason (staff).
func (s *Service) EndTerm(ctx context.Context, p models.Principal, termID, kind, reason string) (models.HeadTerm, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.HeadTerm{}, err
	}
	if kind != "retire" && kind != "handover" {
		return models.HeadTerm{}, models.ErrValidation.Withf("结束方式须为卸任（retire）或交接（handover）。", "kind must be retire or handover")
	}
	reason, err := models.CleanText("reason", reason, 500)
	if err != nil {
		return models.HeadTerm{}, err
	}
	t, err := s.store.HeadTerm(ctx, termID)
	if err == nil && t.CommunityID != p.CommunityID {
		err = models.ErrNotFound
	}
	if err != nil {
		return models.HeadTerm{}, fmt.Errorf("end term: %w", err)
	}
	return s.endTerm(ctx, p, t, kind, reason, s.stamp())
}

// endTerm ends term t at at, once (the first end's kind and reason stand), saves it and
// brings the building's head and the head role in line.
func (s *Service) endTerm(ctx context.Context, p models.Principal, t models.HeadTerm, kind, reason string, at time.Time) (models.HeadTerm, error) {
	ev, _, err := s.event(ctx, models.HonourEvent{
		ID:          once.TermEnd(t.ID),
		CommunityID: t.CommunityID,
		Subject:     t.ID,
		Kind:        kind,
		By:          p.ResidentID,
		Reason:      reason,
		At:          at,
	})
	if err != nil {
		return t, err
	}
	t.End, t.EndKind, t.EndReason = ev.At, ev.Kind, ev.Reason
	if err := s.store.SaveHeadTerm(ctx, t); err != nil {
		return t, err
	}
	return t, s.syncHead(ctx, p, t)
}

// Terms lists the terms of the caller's community, of one building when
// buildingID is set: the history of heads (staff).
func (s *Service) Terms(ctx context.Context, p models.Principal, buildingID string) ([]models.HeadTerm, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, err
	}
	seat := ""
	if buildingID != "" {
		seat = once.BuildingSeat(buildingID)
	}
	return s.store.HeadTerms(ctx, p.CommunityID, seat)
}

// MyTerms lists the caller's own terms.
func (s *Service) MyTerms(ctx context.Context, p models.Principal) ([]models.HeadTerm, error) {
	held, err := s.store.HeadCurrent(ctx, p.ResidentID)
	if err != nil {
		return nil, err
	}
	held = slices.DeleteFunc(held, func(t models.HeadTerm) bool { return t.CommunityID != p.CommunityID })
	for i, t := range held {
		if t.BuildingID == "" {
			continue
		}
		b, err := s.store.Building(ctx, t.BuildingID)
		if err != nil {
			return nil, fmt.Errorf("my terms: building: %w", err)
		}
		held[i].BuildingName = b.Name
	}
	return held, nil
}

// ActiveHead reports whether the resident holds a building-head (or other
// 三长 allowance) term at t: one _id read.
func (s *Service) ActiveHead(ctx context.Context, communityID, residentID string, at time.Time) (bool, error) {
	held, err := s.store.HeadCurrent(ctx, residentID)
	if err != nil {
		return false, err
	}
	for _, t := range held {
		if t.CommunityID == communityID && t.HeldAt(at) {
			return true, nil
		}
	}
	return false, nil
}

// DutyLog is a head's report of one checklist duty for a month.
type DutyLog struct {
	TermID   string // optional when the caller holds one term that month
	Month    string
	Duty     string
	Evidence string
	PhotoURL string
}

// LogDuty records a duty (履职) with its evidence, for staff to confirm.
// A duty not yet confirmed may be logged again with new evidence.
func (s *Service) LogDuty(ctx context.Context, p models.Principal, in DutyLog) (models.Duty, error) {
	m, err := models.ParseMonth(in.Month)
	if err != nil {
		return models.Duty{}, err
	}
	c, err := s.store.Community(ctx, p.CommunityID)
	if err != nil {
		return models.Duty{}, fmt.Errorf("log duty: %w", err)
	}
	loc := c.Location()
	from, to := m.Start(loc), m.End(loc)
	if !from.Before(s.now()) {
		return models.Duty{}, models.ErrValidation.Withf("只能登记本月或以前月份的职责。", "duties are logged for this month or an earlier one")
	}
	held, err := s.store.HeadCurrent(ctx, p.ResidentID)
	if err != nil {
		return models.Duty{}, fmt.Errorf("log duty: %w", err)
	}
	var term *models.HeadTerm
	for i, t := range held {
		if t.CommunityID == p.CommunityID && t.Start.Before(to) && (t.Open() || t.End.After(from)) && (in.TermID == "" || in.TermID == t.ID) {
			term = &held[i]
			break
		}
	}
	if term == nil {
		return models.Duty{}, models.ErrForbidden.Withf("您在 %s 没有担任楼组长。", "you held no term in %s", m)
	}
	policy, err := s.policies.At(ctx, p.CommunityID, s.now())
	if err != nil {
		return models.Duty{}, fmt.Errorf("log duty: %w", err)
	}
	if !slices.Contains(policy.DutyChecklist, in.Duty) {
		return models.Duty{}, models.ErrValidation.Withf("职责须为以下之一：%s。", "duty must be one of %s", strings.Join(policy.DutyChecklist, ", "))
	}
	evidence, err := models.CleanText("evidence", in.Evidence, 1000)
	if err != nil {
		return models.Duty{}, err
	}
	photo, err := community.OptionalText("photo_url", in.PhotoURL, 500)
	if err != nil {
		return models.Duty{}, err
	}
	if photo != "" && !strings.HasPrefix(photo, "https://") && !strings.HasPrefix(photo, "http://") {
		return models.Duty{}, models.ErrValidation.Withf("照片地址（photo_url）须为 http(s) 地址。", "photo_url must be an http(s) address")
	}
	d := models.Duty{
		ID:          community.DerivedID(term.ID, m.String()+"\x00"+in.Duty),
		CommunityID: p.CommunityID,
		TermID:      term.ID,
		ResidentID:  p.ResidentID,
		Month:       m.String(),
		Duty:        in.Duty,
		Evidence:    evidence,
		PhotoURL:    photo,
		Status:      models.DutyPending,
		Logged:      s.stamp(),
	}
	err = s.store.InsertDuty(ctx, d)
	if errors.Is(err, models.ErrConflict) {
		prev, err := s.settledDuty(ctx, d.ID)
		if err != nil {
			return models.Duty{}, fmt.Errorf("log duty: %w", err)
		}
		if prev.Status == models.DutyConfirmed {
			return models.Duty{}, models.ErrConflict.Withf("这项职责已经确认过了。", "this duty is confirmed already")
		}
		if err := s.store.SaveDuty(ctx, d); err != nil {
			return models.Duty{}, err
		}
		s.tellDutyToConfirm(ctx, d)
		return d, nil
	}
	if err != nil {
		return models.Duty{}, fmt.Errorf("log duty: %w", err)
	}
	s.tellDutyToConfirm(ctx, d)
	return d, nil
}

// tellDutyToConfirm tells the community's staff and admins, who confirm
// duties, that building head d.ResidentID logged duty d. The event is the
// duty with its evidence, so a repeat of the same log is told once and a
// log with new evidence (after a rejection) is told again. Telling never
// fails the log (the notifier logs and swallows its failures).
func (s *Service) tellDutyToConfirm(ctx context.Context, d models.Duty) {
	head, err := s.store.Resident(ctx, d.ResidentID)
	if err != nil {
		return
	}
	event := once.DutyLogged(d.ID, community.DerivedID(d.ID, d.Evidence+"\x00"+d.PhotoURL))
	confirmers, err := s.store.RoleHolders(ctx, d.CommunityID, models.RoleStaff, models.RoleAdmin)
	if err != nil {
		return
	}
	for _, r := range confirmers {
		if r.ID == d.ResidentID {
			continue
		}
		s.notify.Notify(ctx, models.Notice{
			Kind:        models.NoticeDutyToConfirm,
			EventID:     event,
			Recipient:   r.ID,
			CommunityID: d.CommunityID,
			Args: map[string]string{
				"name":  head.Name,
				"month": d.Month,
				"duty":  d.Duty,
			},
			Link: "/console/heads",
		})
	}
}

// settledDuty reads a duty, mending its cached status from the keyed
// confirmation.
func (s *Service) settledDuty(ctx context.Context, id string) (models.Duty, error) {
	d, err := s.store.Duty(ctx, id)
	if err != nil || d.Status == models.DutyConfirmed {
		return d, err
	}
	ev, err := s.store.HonourEvent(ctx, once.DutyConfirmed(id))
	if errors.Is(err, models.ErrNotFound) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.Status, d.RuledBy, d.RuledAt, d.Note = models.DutyConfirmed, ev.By, ev.At, ev.Reason
	return d, s.store.SaveDuty(ctx, d)
}

// RuleDuty confirms or rejects a logged duty (staff). A confirmation is a
// keyed event, so it counts once however often it is sent; a confirmed
// duty cannot be rejected.
func (s *Service) RuleDuty(ctx context.Context, p models.Principal, dutyID string, confirm bool, note string) (models.Duty, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Duty{}, err
	}
	d, err := s.settledDuty(ctx, dutyID)
	if err == nil && d.CommunityID != p.CommunityID {
		err = models.ErrNotFound
	}
	if err != nil {
		return models.Duty{}, fmt.Errorf("rule duty: %w", err)
	}
	if note, err = community.OptionalText("note", note, 500); err != nil {
		return models.Duty{}, err
	}
	if !confirm {
		if d.Status == models.DutyConfirmed {
			return models.Duty{}, models.ErrConflict.Withf("这项职责已经确认过了。", "this duty is confirmed already")
		}
		d.Status, d.RuledBy, d.RuledAt, d.Note = models.DutyRejected, p.ResidentID, s.stamp(), note
		return d, s.store.SaveDuty(ctx, d)
	}
	if _, _, err := s.event(ctx, models.HonourEvent{
		ID:          once.DutyConfirmed(d.ID),
		CommunityID: d.CommunityID,
		Subject:     d.ID,
		Kind:        "confirmed",
		By:          p.ResidentID,
		Reason:      note,
		At:          s.stamp(),
	}); err != nil {
		return models.Duty{}, fmt.Errorf("rule duty: %w", err)
	}
	return s.settledDuty(ctx, d.ID)
}

// Duties lists duties of the caller's community for a term and month,
// by id: staff see all, a head their own, read from the head's own list
// (store ResidentDuties) unless a term is asked for.
func (s *Service) Duties(ctx context.Context, p models.Principal, termID, month string) ([]models.Duty, error) {
	if month != "" {
		if _, err := models.ParseMonth(month); err != nil {
			return nil, err
		}
	}
	if !p.IsStaff() && termID == "" {
		return s.store.ResidentDuties(ctx, p.CommunityID, p.ResidentID, month)
	}
	ds, err := s.store.Duties(ctx, p.CommunityID, termID, month)
	if err != nil {
		return nil, err
	}
	if !p.IsStaff() {
		ds = slices.DeleteFunc(ds, func(d models.Duty) bool { return d.ResidentID != p.ResidentID })
	}
	return ds, nil
}

// daysServed counts the days of month m (in loc) whose first instant the
// term covers, so a handover during a day gives that day to the outgoing
// head and two heads of one month never share a day.
func daysServed(t models.HeadTerm, m models.Month, loc *time.Location) (served, total int) {
	for d := m.Start(loc); d.Before(m.End(loc)); d = d.AddDate(0, 0, 1) {
		total++
		if t.HeldAt(d) {
			served++
		}
	}
	return served, total
}

// PayAllowances pays the heads of month m (their allowance: the base plus
// points per confirmed duty of each term, pro rata for part of a month if
// the policy says so, capped per person per month) and first closes the
// month before, with a last pass over it.
//
// A month stays open until the run of the month after it: every pass
// recomputes what each person is due for the month and pays only the
// difference from what was paid, as a keyed posting numbered on the
// person's month ("allowance:<person>:<month>:<n>"), so a duty confirmed
// after a run is paid by the next run and a repeat pays nothing.
//
// Which month pays a confirmed duty is one insert-once record per duty,
// "allowance-duty:<duty id>", naming that month; a pass counts only the
// duties whose record names its month. A pass over an open month (or the
// closing pass) claims for itself the confirmed duties of the month that
// have no record yet, and those of months already closed (carried, paid
// with a note).
//
// What a run reads: the confirmations no month has claimed yet, from the
// community's list of confirmations above its floor (the store's
// UnclaimedConfirmations; the floor passes only claimed confirmations), and
// each month's claims from that month's list (AllowanceClaims). So a run
// costs the months not yet closed, not every duty ever logged
// (docs/ARCHITECTURE.md §9).
//
// Why a confirmed duty is never lost: the close mark of month P
// ("allowance-closed:<community>:<P>") is inserted BEFORE the closing pass
// reads the confirmations. A confirmation stored before the mark (its slot
// on the list first, in the same ordered insert) is on the list below the
// head that pass reads, and above the floor while unclaimed, so it is
// read by every closing pass of P, which claims it for P. One stored after the
// mark may be missed by that pass (its stamp does not matter), but P is
// closed by then, so the closing pass of the next month to close, whose
// mark and reading come later still, claims it as carried. Why never
// twice: the per-duty record is inserted once and every pass follows it.
// Two passes over one month at once may each see part of its duties; each
// reads the records again after its own claims, so the pass that starts
// that second reading last sees every claim for the month and pays up to
// the full amount (the others' smaller sums pay nothing more).
//
// Crash points: after the close mark, before or during the pass: the run
// is repeated (the lease gives the period back) and passes over the month
// again; after a duty's record, before the posting: the repeated run, or
// the run of the month after (which passes over this one again), counts it;
// a posting whose op was recorded but whose entry was not is completed by
// the next pass (its hash holds its amount); after a confirmation's event,
// before its cached status: settledDuty mends the cache, and the passes
// read the event.
func (s *Service) PayAllowances(ctx context.Context, m models.Month) (paid, skipped int, err error) {
	err = community.Each(ctx, s.store, func(c models.Community) error {
		prev := m.Previous()
		if _, _, err := s.event(ctx, models.HonourEvent{
			ID:          once.AllowanceClosed(c.ID, prev),
			CommunityID: c.ID,
			Subject:     prev.String(),
			Kind:        "allowance_closed",
			By:          "system",
			At:          s.stamp(),
		}); err != nil {
			return err
		}
		// A run for a month closed already (a re-run of an old month) only
		// pays what the per-duty records name; it claims nothing.
		closed, err := s.allowanceClosed(ctx, c.ID, m)
		if err != nil {
			return err
		}
		for _, month := range []models.Month{prev, m} {
			p, k, err := s.payMonth(ctx, c, month, !closed)
			paid, skipped = paid+p, skipped+k
			if err != nil {
				return err
			}
		}
		return nil
	})
	return paid, skipped, err
}

// allowanceClosed reports whether month m's allowances are closed.
func (s *Service) allowanceClosed(ctx context.Context, communityID string, m models.Month) (bool, error) {
	_, err := s.store.HonourEvent(ctx, once.AllowanceClosed(communityID, m))
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// allowanceDue is what one person is due for a month, with its why.
type allowanceDue struct {
	parts     models.Points // the terms' pro-rata parts
	confirmed int
	served    []string
	carried   int // duties of closed months paid in this one
	termIDs   []string
}

// claimDuties gives month m the confirmed duties that no month has
// claimed yet (store UnclaimedConfirmations): those of m, and those of
// months already closed (carried). A duty of a later month, or of an
// earlier month still open, is left to its own month's passes.
func (s *Service) claimDuties(ctx context.Context, c models.Community, m models.Month) error {
	ids, err := s.store.UnclaimedConfirmations(ctx, c.ID, s.stamp())
	if err != nil {
		return err
	}
	closed := map[string]bool{}
	for _, id := range ids {
		d, err := s.store.Duty(ctx, id)
		if errors.Is(err, models.ErrNotFound) {
			continue // duties are never removed; a confirmation of none pays nothing
		}
		if err != nil {
			return err
		}
		if d.Month > m.String() {
			continue
		}
		if d.Month != m.String() {
			ok, seen := closed[d.Month]
			if !seen {
				dm, err := models.ParseMonth(d.Month)
				if err != nil {
					continue
				}
				if ok, err = s.allowanceClosed(ctx, c.ID, dm); err != nil {
					return err
				}
				closed[d.Month] = ok
			}
			if !ok {
				continue // its own month is open: its passes claim it
			}
		}
		if _, _, err := s.event(ctx, models.HonourEvent{
			ID:          once.AllowanceDuty(d.ID),
			CommunityID: c.ID,
			Subject:     d.ID,
			Kind:        "allowance_duty",
			By:          "system",
			Month:       m.String(),
			At:          s.stamp(),
		}); err != nil {
			return err
		}
	}
	return nil
}

// payMonth recomputes month m of community c and pays each person the
// difference from what was paid for it. With claim it first claims the
// duties no month has claimed (see PayAllowances); it then reads the
// month's claims, so it counts every claim made before that reading, its
// own and other passes'.
func (s *Service) payMonth(ctx context.Context, c models.Community, m models.Month, claim bool) (paid, skipped int, err error) {
	loc := c.Location()
	policy, err := s.policies.At(ctx, c.ID, m.End(loc).Add(-time.Millisecond))
	if err != nil {
		return 0, 0, err
	}
	if claim {
		if err := s.claimDuties(ctx, c, m); err != nil {
			return 0, 0, err
		}
	}
	terms, err := s.store.HeadTerms(ctx, c.ID, "")
	if err != nil {
		return 0, 0, err
	}
	claimed, err := s.store.AllowanceClaims(ctx, c.ID, m.String())
	if err != nil {
		return 0, 0, err
	}
	confirmed := map[string]int{} // term → confirmed duties of m paid in m
	due := map[string]*allowanceDue{}
	person := func(id string) *allowanceDue {
		if due[id] == nil {
			due[id] = &allowanceDue{}
		}
		return due[id]
	}
	for _, d := range claimed {
		switch {
		case d.Month > m.String():
		case d.Month == m.String():
			confirmed[d.TermID]++
		default:
			person(d.ResidentID).carried++
		}
	}
	// Pro-rata parts of one seat (a building handed over in the month) add
	// up to the whole, rounded by the largest remainder.
	seats := map[string][]models.HeadTerm{}
	var order []string
	for _, t := range terms {
		if served, _ := daysServed(t, m, loc); served > 0 {
			if seats[t.Seat] == nil {
				order = append(order, t.Seat)
			}
			seats[t.Seat] = append(seats[t.Seat], t)
		}
	}
	for _, seat := range order {
		ts := seats[seat]
		amounts, shares := make([]models.Points, len(ts)), make([]int, len(ts))
		total := 0
		for i, t := range ts {
			served, days := daysServed(t, m, loc)
			total = days
			amounts[i], shares[i] = models.MonthAllowance(policy, confirmed[t.ID]), served
			if !policy.AllowanceProRata {
				shares[i] = days
			}
		}
		parts := models.SplitProRata(amounts, shares, total)
		for i, t := range ts {
			served, days := daysServed(t, m, loc)
			a := person(t.ResidentID)
			a.parts += parts[i]
			a.confirmed += confirmed[t.ID]
			a.served = append(a.served, fmt.Sprintf("%d/%d 天", served, days))
			a.termIDs = append(a.termIDs, t.ID)
		}
	}
	people := make([]string, 0, len(due))
	for id := range due {
		people = append(people, id)
	}
	slices.Sort(people)
	for _, id := range people {
		a := due[id]
		amount := a.parts + models.Points(a.carried)*policy.AllowancePerDuty
		if amount > policy.AllowanceCap {
			amount = policy.AllowanceCap // per person per month, whatever they head
		}
		if amount <= 0 {
			skipped++
			continue
		}
		why := fmt.Sprintf("%s 履职补贴: %d 项已确认, %s", m, a.confirmed, strings.Join(a.served, ", "))
		if a.carried > 0 {
			why += fmt.Sprintf("; 含往月结算后确认的履职 %d 项", a.carried)
		}
		n, err := s.payAllowanceDifference(ctx, c.ID, id, m, a.termIDs, amount, policy.Version, why)
		if err != nil {
			return paid, skipped, fmt.Errorf("allowance %s: %w", id, err)
		}
		paid += n
	}
	return paid, skipped, nil
}

// payAllowanceDifference pays what is due beyond what the person's month
// has been paid, as posting number n+1 of the month. Two runs at once that
// computed the same amount post the same op once; if they computed
// different amounts the loser reads again and posts the rest.
func (s *Service) payAllowanceDifference(ctx context.Context, communityID, residentID string, m models.Month, termIDs []string, due models.Points, policyVersion int, why string) (int, error) {
	acct := models.AccountOf(residentID, models.AssetPoints)
	for attempt := 0; attempt < 5; attempt++ {
		paid, next, err := s.allowancePaid(ctx, communityID, residentID, m, termIDs)
		if err != nil {
			return 0, err
		}
		diff := int64(due) - paid
		if diff <= 0 {
			return 0, nil // paid in full; a smaller sum due is not taken back
		}
		reason := why
		if paid > 0 {
			reason = fmt.Sprintf("%s (补发差额, 已发 %d)", why, paid)
		}
		_, err = s.ledger.Post(ctx, ledger.Posting{
			OpID:          once.AllowancePayment(residentID, m, next),
			Hash:          once.AllowanceHash(diff),
			Account:       acct,
			CommunityID:   communityID,
			Delta:         diff,
			Kind:          models.KindAllowance,
			Ref:           once.AllowanceRef(m),
			Reason:        reason,
			PolicyVersion: policyVersion,
			Actor:         "system",
		})
		if errors.Is(err, models.ErrIdempotencyMismatch) {
			continue // another run took number next with another amount
		}
		if err != nil {
			return 0, err
		}
		return 1, nil
	}
	return 0, models.ErrConflict.Withf("%s 的津贴计算正在被同时执行，请稍后再试。", "allowance runs keep racing for %s", m)
}

// allowancePaid sums the allowance postings of a person's month and
// returns the next posting number. A posting whose op is recorded but
// whose entry is missing (a crash between the two) is completed first,
// with the amount its hash holds. The per-term postings of earlier
// versions count too.
func (s *Service) allowancePaid(ctx context.Context, communityID, residentID string, m models.Month, termIDs []string) (paid int64, next int, err error) {
	acct := models.AccountOf(residentID, models.AssetPoints)
	for _, t := range termIDs {
		e, err := s.ledger.Outcome(ctx, once.AllowanceTermPayment(t, m))
		if err == nil {
			paid += e.Delta
		} else if !errors.Is(err, models.ErrNotFound) {
			return 0, 0, err
		}
	}
	for n := 1; ; n++ {
		opID := once.AllowancePayment(residentID, m, n)
		op, err := s.store.Op(ctx, opID)
		if errors.Is(err, models.ErrNotFound) {
			return paid, n, nil
		}
		if err != nil {
			return 0, 0, err
		}
		if op.Rejected != "" {
			continue
		}
		e, err := s.ledger.Outcome(ctx, opID)
		if errors.Is(err, models.ErrNotFound) {
			amount, ok := once.AllowanceAmount(op.Hash)
			if !ok || amount <= 0 {
				return 0, 0, fmt.Errorf("allowance op %s: hash %q", opID, op.Hash)
			}
			e, err = s.ledger.Post(ctx, ledger.Posting{
				OpID:        opID,
				Hash:        op.Hash,
				Account:     acct,
				CommunityID: communityID,
				Delta:       amount,
				Kind:        models.KindAllowance,
				Ref:         once.AllowanceRef(m),
				Reason:      "allowance",
				Actor:       "system",
			})
		}
		if err != nil {
			return 0, 0, err
		}
		paid += e.Delta
	}
}

// HeadChanged keeps terms in step when a building's head is set directly
// (PUT /buildings/{id}/head): a new head without an open term on the
// building is appointed (handing over from the previous one), and a
// building left without a head retires its open term. When the change
// came from Appoint or EndTerm the terms agree already and nothing is done.
func (s *Service) HeadChanged(ctx context.Context, p models.Principal, buildingID, prev, next string) error {
	terms, err := s.store.HeadTerms(ctx, p.CommunityID, once.BuildingSeat(buildingID))
	if err != nil {
		return err
	}
	var open []models.HeadTerm
	for _, t := range terms {
		_, err := s.store.HonourEvent(ctx, once.TermEnd(t.ID))
		if errors.Is(err, models.ErrNotFound) {
			open = append(open, t)
		} else if err != nil {
			return err
		}
	}
	if next != "" {
		if slices.ContainsFunc(open, func(t models.HeadTerm) bool { return t.ResidentID == next }) {
			return nil
		}
		_, err := s.Appoint(ctx, p, Appointment{
			Role:       models.HeadBuilding,
			BuildingID: buildingID,
			ResidentID: next,
		})
		return err
	}
	for _, t := range open {
		if _, err := s.endTerm(ctx, p, t, "retire", "楼组长已撤销", s.stamp()); err != nil {
			return err
		}
	}
	return nil
}
