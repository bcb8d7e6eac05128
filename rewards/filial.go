package rewards

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// Filial-visit parking (孝老停车): children visiting an elderly parent park
// free for part of a visit on the policy's days and hours, in one of a few
// visitor bays booked ahead.

// weekdayZh names the days of the week in Chinese.
var weekdayZh = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// RegisterFilialPlate registers the plate of a visiting child for an
// elderly parent. The parent (old enough by the policy) registers for
// themselves; staff register for any resident of their community.
func (s *Service) RegisterFilialPlate(ctx context.Context, p models.Principal, parentID, plate string) (models.FilialPlate, error) {
	plate, err := models.NormalizePlate(plate)
	if err != nil {
		return models.FilialPlate{}, err
	}
	if parentID == "" {
		parentID = p.ResidentID
	}
	if parentID != p.ResidentID && !p.IsStaff() {
		return models.FilialPlate{}, models.ErrForbidden
	}
	parent, err := s.people.Resident(ctx, parentID)
	if err != nil {
		return models.FilialPlate{}, fmt.Errorf("filial plate: %w", err)
	}
	if parent.CommunityID != p.CommunityID {
		return models.FilialPlate{}, models.ErrNotFound
	}
	now := s.stamp()
	policy, err := s.policies.At(ctx, parent.CommunityID, now)
	if err != nil {
		return models.FilialPlate{}, err
	}
	loc, err := s.location(ctx, parent.CommunityID)
	if err != nil {
		return models.FilialPlate{}, err
	}
	if parent.BirthYear == 0 || now.In(loc).Year()-parent.BirthYear < policy.FilialMinAge {
		return models.FilialPlate{}, models.ErrNotEligible.Withf("孝老停车仅限年满 %d 岁的老人（age）。", "age: the parent must be %d or over", policy.FilialMinAge)
	}
	fp := models.FilialPlate{
		CommunityID:  parent.CommunityID,
		Plate:        plate,
		ParentID:     parent.ID,
		RegisteredBy: p.ResidentID,
		Created:      now,
	}
	err = s.store.InsertFilialPlate(ctx, fp)
	if errors.Is(err, models.ErrConflict) {
		prior, err := s.store.FilialPlate(ctx, fp.CommunityID, plate)
		if err != nil {
			return models.FilialPlate{}, err
		}
		if prior.ParentID != parent.ID {
			return models.FilialPlate{}, models.ErrAlreadyExists.Withf("该车牌已登记在另一位居民名下。", "the plate is registered for another resident")
		}
		return prior, nil
	}
	if err != nil {
		return models.FilialPlate{}, fmt.Errorf("filial plate: %w", err)
	}
	return fp, nil
}

// BookFilialVisit books a visitor bay for a registered plate on a day
// that visits are free; first come, first served, one booking per plate
// and day. The parent, staff, or a visitor (a resident whose family link
// to the parent as child or grandchild staff have verified) book. A
// booking cancelled may be booked again: its next round.
func (s *Service) BookFilialVisit(ctx context.Context, p models.Principal, plate, day string) (models.FilialBooking, error) {
	plate, err := models.NormalizePlate(plate)
	if err != nil {
		return models.FilialBooking{}, err
	}
	fp, err := s.store.FilialPlate(ctx, p.CommunityID, plate)
	if err != nil {
		return models.FilialBooking{}, fmt.Errorf("book visit: %w", err)
	}
	if err := s.mayBookFor(ctx, p, fp.ParentID); err != nil {
		return models.FilialBooking{}, err
	}
	loc, err := s.location(ctx, fp.CommunityID)
	if err != nil {
		return models.FilialBooking{}, err
	}
	d, err := time.ParseInLocation("2006-01-02", day, loc)
	if err != nil {
		return models.FilialBooking{}, models.ErrValidation.Withf("日期格式须为 2026-11-21。", "day must look like 2026-11-21")
	}
	now := s.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if d.Before(today) || d.After(today.AddDate(0, 0, 60)) {
		return models.FilialBooking{}, models.ErrValidation.Withf("日期须为今天或今后 60 天内。", "day must be today or within the next 60 days")
	}
	policy, err := s.policies.At(ctx, fp.CommunityID, d)
	if err != nil {
		return models.FilialBooking{}, err
	}
	if !slices.Contains(policy.FilialDays, d.Weekday()) {
		names := make([]string, len(policy.FilialDays))
		namesZh := make([]string, len(policy.FilialDays))
		for i, wd := range policy.FilialDays {
			names[i], namesZh[i] = wd.String(), weekdayZh[wd]
		}
		return models.FilialBooking{}, models.ErrNotFilialDay.Withf("孝老停车日为%[4]s；%[2]s是%[5]s，不能预约。",
			"filial-visit days are %[1]s; %[2]s is a %[3]s",
			strings.Join(names, ", "), day, d.Weekday(), strings.Join(namesZh, "、"), weekdayZh[d.Weekday()])
	}
	id := once.FilialBooking(fp.CommunityID, plate, day)
	v, err, _ := s.flight.Do("visit:"+id, func() (any, error) {
		b := models.FilialBooking{
			ID:          id,
			CommunityID: fp.CommunityID,
			Plate:       plate,
			ParentID:    fp.ParentID,
			Day:         day,
			BookedBy:    p.ResidentID,
			Created:     s.stamp(),
			Round:       1,
		}
		err := s.store.InsertFilialBooking(ctx, b)
		if errors.Is(err, models.ErrConflict) {
			if b, err = s.store.FilialBooking(ctx, id); err != nil {
				return models.FilialBooking{}, err
			}
			round, cancelled, err := s.bookingRound(ctx, id)
			if err != nil {
				return models.FilialBooking{}, err
			}
			b.Round = round
			if cancelled {
				// Finish the cancel a crash may have cut short, then book
				// the next round.
				if err := s.finishVisitCancel(ctx, b, round); err != nil {
					return models.FilialBooking{}, err
				}
				b.Round++
				_, err := once.Insert(ctx, redemptionMarks{s.store}, models.RedemptionMark{
					ID:         once.VisitRebook(id, b.Round),
					Redemption: id,
					Outcome:    "booked",
					Actor:      p.ResidentID,
					At:         s.stamp(),
				})
				if err != nil {
					return models.FilialBooking{}, err
				}
				b.BookedBy, b.Bay = p.ResidentID, 0
			} else if b.Bay > 0 && round == 1 {
				return b, nil
			}
		} else if err != nil {
			return models.FilialBooking{}, err
		}
		bay, err := s.counter.Take(ctx, bayKey(b), policy.FilialVisitorBays, visitHolder(id, b.Round), true)
		if err != nil {
			return models.FilialBooking{}, err
		}
		if bay == 0 {
			return models.FilialBooking{}, models.ErrBaysFull.Withf("%[2]s 的 %[1]d 个访客车位都已约满。", "all %d visitor bays are booked on %s", policy.FilialVisitorBays, day)
		}
		// A cancel that ran while the bay was being taken may have found
		// no bay to give back: give it back here (once, whoever does it).
		if round, cancelled, err := s.bookingRound(ctx, id); err != nil {
			return models.FilialBooking{}, err
		} else if cancelled && round == b.Round {
			if err := s.finishVisitCancel(ctx, b, round); err != nil {
				return models.FilialBooking{}, err
			}
			return models.FilialBooking{}, models.ErrVisitClosed.Withf("预约在办理过程中被取消了。", "the booking was cancelled while it was being made")
		}
		if b.Bay, err = s.physicalBay(ctx, bayKey(b), policy.FilialVisitorBays, bay); err != nil {
			return models.FilialBooking{}, err
		}
		return b, s.store.SetFilialBookingBay(ctx, id, b.Bay)
	})
	b, _ := v.(models.FilialBooking)
	if err != nil {
		return models.FilialBooking{}, fmt.Errorf("book visit: %w", err)
	}
	return b, nil
}

// mayBookFor reports whether p may book or cancel a visit to parentID: the
// parent, staff, or a visitor whose link to the parent staff verified.
func (s *Service) mayBookFor(ctx context.Context, p models.Principal, parentID string) error {
	if parentID == p.ResidentID || p.IsStaff() {
		return nil
	}
	if p.ResidentID == "" {
		return models.ErrForbidden
	}
	parent, err := s.people.Resident(ctx, parentID)
	if err != nil {
		return fmt.Errorf("visit: parent: %w", err)
	}
	for _, f := range parent.Family {
		if f.ResidentID == p.ResidentID && (f.Relation == models.RelationChild || f.Relation == models.RelationGrandchild) {
			if !f.Verified {
				return models.ErrFamilyNotVerified.Withf("您与老人的亲属关系尚未经社区工作人员核实。", "your family link to the parent is not verified by staff yet")
			}
			return nil
		}
	}
	return models.ErrForbidden.Withf("只有老人本人、社区工作人员或亲属关系已核实的子女才能预约这个车牌的孝老停车。", "only the parent, staff, or a child whose family link staff have verified may book this plate's visits")
}

// A booking's rounds: round 1 is the booking itself; once.VisitCancel(id, n)
// cancels round n, and once.VisitRebook(id, n) (n > 1) books it again. Each
// round holds its own bay unit (visitHolder), so a cancel gives back
// exactly the unit its round took, once.

// visitHolder is who holds the bay unit of round n of booking id: the booking itself for
// round 1, id#n after.
func visitHolder(id string, n int) string {
	if n <= 1 {
		return id
	}
	return id + "#" + strconv.Itoa(n)
}

// bayKey is the counter of the visitor bays of the booking's community and day.
func bayKey(b models.FilialBooking) once.CounterKey { return once.VisitorBays(b.CommunityID, b.Day) }

// bookingRound is booking id's current round and whether it is cancelled.
func (s *Service) bookingRound(ctx context.Context, id string) (int, bool, error) {
	for n := 1; ; n++ {
		_, err := s.mark(ctx, once.VisitCancel(id, n))
		if errors.Is(err, models.ErrNotFound) {
			return n, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		_, err = s.mark(ctx, once.VisitRebook(id, n+1))
		if errors.Is(err, models.ErrNotFound) {
			return n, true, nil
		}
		if err != nil {
			return 0, false, err
		}
	}
}

// finishVisitCancel gives back the bay round n of b holds, if it took one:
// once per round (once.Counter.GiveBack), and safe to repeat after a crash.
func (s *Service) finishVisitCancel(ctx context.Context, b models.FilialBooking, n int) error {
	holder := visitHolder(b.ID, n)
	k, err := s.counter.Find(ctx, bayKey(b), holder)
	if err != nil || k == 0 {
		return err // k == 0: the round never got a bay, nothing to give back
	}
	return s.counter.GiveBack(ctx, bayKey(b), holder)
}

// physicalBay is the visitor bay (1 … bays) that take slot n of counter
// key stands for. Slots past the bays exist only because bookings were
// cancelled: slot bays+k was freed by the k-th give-back, so it is the bay
// the booking that gave it back held.
func (s *Service) physicalBay(ctx context.Context, key once.CounterKey, bays, n int) (int, error) {
	for hops := 0; n > bays && bays > 0 && hops < 1000; hops++ {
		freedBy, err := s.counter.GiverBack(ctx, key, n-bays)
		if err != nil {
			return 0, err
		}
		m := 0
		for k := 1; m == 0; k++ {
			h, err := s.counter.Holder(ctx, key, k)
			if errors.Is(err, models.ErrNotFound) {
				return n, nil // the books do not say: show the slot
			}
			if err != nil {
				return 0, err
			}
			if h == freedBy {
				m = k
			}
		}
		n = m
	}
	return n, nil
}

// CancelFilialVisit cancels a booked visit before its day is over and
// before its free time is used, giving its visitor bay back exactly once.
// The parent, the visitor who booked, or staff cancel; a repeat (or a
// second cancel) returns the cancelled booking.
func (s *Service) CancelFilialVisit(ctx context.Context, p models.Principal, id string, idem community.Idempotency) (models.FilialBooking, error) {
	b, err := s.store.FilialBooking(ctx, id)
	if err != nil {
		return models.FilialBooking{}, fmt.Errorf("cancel visit: %w", err)
	}
	if b.CommunityID != p.CommunityID {
		return models.FilialBooking{}, models.ErrNotFound
	}
	if b.BookedBy != p.ResidentID {
		if err := s.mayBookFor(ctx, p, b.ParentID); err != nil {
			return models.FilialBooking{}, err
		}
	}
	round, cancelled, err := s.bookingRound(ctx, id)
	if err != nil {
		return models.FilialBooking{}, fmt.Errorf("cancel visit: %w", err)
	}
	b.Round = round
	if !cancelled {
		loc, err := s.location(ctx, b.CommunityID)
		if err != nil {
			return models.FilialBooking{}, err
		}
		day, err := time.ParseInLocation("2006-01-02", b.Day, loc)
		if err != nil {
			return models.FilialBooking{}, fmt.Errorf("cancel visit: stored day: %w", err)
		}
		if !s.now().Before(day.AddDate(0, 0, 1)) {
			return models.FilialBooking{}, models.ErrVisitClosed.Withf("%s 的探访已结束。", "the visit on %s is over", b.Day)
		}
		if _, err := s.store.SlotHolder(ctx, once.VisitUsed(id)); err == nil {
			return models.FilialBooking{}, models.ErrVisitClosed.Withf("这次探访的免费停车时间已在道闸使用。", "the visit's free time was used at the gate")
		} else if !errors.Is(err, models.ErrNotFound) {
			return models.FilialBooking{}, err
		}
		_, err = once.Insert(ctx, redemptionMarks{s.store}, models.RedemptionMark{
			ID:         once.VisitCancel(id, round),
			Redemption: id,
			Outcome:    "cancelled",
			Actor:      p.ResidentID,
			At:         s.stamp(),
			Op:         idem.OpID,
		})
		if err != nil {
			return models.FilialBooking{}, fmt.Errorf("cancel visit: %w", err)
		}
	}
	// The cancel mark decided it; the bay given back follows it, also when
	// a crash cut the first attempt short.
	if err := s.finishVisitCancel(ctx, b, round); err != nil {
		return models.FilialBooking{}, fmt.Errorf("cancel visit: %w", err)
	}
	b.Cancelled, b.Bay = true, 0
	return b, nil
}

// GateEventIn is one pass through the car-park gate as the operator posts it.
type GateEventIn struct {
	EventID   string
	Plate     string
	Direction models.GateDirection
	At        time.Time
}

// GateEvent records a pass through the gate and answers the free minutes
// to apply: on the way out, for a registered plate with a booked visit,
// the part of the stay inside the filial window, up to the policy's free
// minutes, once per visit. An event posted again gets the first answer.
func (s *Service) GateEvent(ctx context.Context, p models.Principal, in GateEventIn) (models.GateEvent, error) {
	partner, err := s.partnerOf(ctx, p, models.PartnerParking)
	if err != nil {
		return models.GateEvent{}, err
	}
	eventID, err := models.CleanText("event_id", in.EventID, 64)
	if err != nil {
		return models.GateEvent{}, err
	}
	plate, err := models.NormalizePlate(in.Plate)
	if err != nil {
		return models.GateEvent{}, err
	}
	if in.Direction != models.GateIn && in.Direction != models.GateOut {
		return models.GateEvent{}, models.ErrValidation.Withf("方向须为进（in）或出（out）。", "direction must be in or out")
	}
	if in.At.IsZero() || in.At.After(s.now().Add(time.Hour)) {
		return models.GateEvent{}, models.ErrValidation.Withf("时间不能晚于现在。", "at must be a time not in the future")
	}
	at := in.At.UTC().Truncate(time.Millisecond)
	c := partner.CommunityID
	if prior, err := s.store.GateEvent(ctx, c, eventID); err == nil {
		return s.sameEvent(prior, plate, in.Direction, at)
	} else if !errors.Is(err, models.ErrNotFound) {
		return models.GateEvent{}, err
	}
	ev := models.GateEvent{
		CommunityID: c,
		EventID:     eventID,
		Plate:       plate,
		Direction:   in.Direction,
		At:          at,
	}
	if in.Direction == models.GateIn {
		if err := s.store.SetLastEntry(ctx, c, plate, eventID, at); err != nil {
			return models.GateEvent{}, err
		}
		ev.ReasonCode, ev.Reason = models.GateEntry, "已记录入场"
	} else if err := s.freeMinutes(ctx, &ev); err != nil {
		return models.GateEvent{}, err
	}
	err = s.store.InsertGateEvent(ctx, ev)
	if errors.Is(err, models.ErrConflict) {
		prior, err := s.store.GateEvent(ctx, c, eventID)
		if err != nil {
			return models.GateEvent{}, err
		}
		return s.sameEvent(prior, plate, in.Direction, at)
	}
	if err != nil {
		return models.GateEvent{}, err
	}
	return ev, nil
}

// sameEvent returns the event recorded under a repeated event id, or 422
// IDEMPOTENCY_KEY_REUSED when its plate, direction or time differ.
func (s *Service) sameEvent(prior models.GateEvent, plate string, dir models.GateDirection, at time.Time) (models.GateEvent, error) {
	if prior.Plate != plate || prior.Direction != dir || !prior.At.Equal(at) {
		return models.GateEvent{}, models.ErrIdempotencyMismatch.Withf("该道闸事件编号（event_id）之前已提交过，车牌、方向或时间不同。", "event_id was posted before with another plate, direction or time")
	}
	return prior, nil
}

// freeMinutes works out what an exit earns and claims the visit for it.
func (s *Service) freeMinutes(ctx context.Context, ev *models.GateEvent) error {
	none := func(code, reason string) error {
		ev.FreeMinutes, ev.ReasonCode, ev.Reason = 0, code, reason
		return nil
	}
	fp, err := s.store.FilialPlate(ctx, ev.CommunityID, ev.Plate)
	if errors.Is(err, models.ErrNotFound) {
		return none(models.GateNotRegistered, "该车牌未登记孝老停车")
	}
	if err != nil {
		return err
	}
	_, inAt, err := s.store.LastEntry(ctx, ev.CommunityID, ev.Plate)
	if errors.Is(err, models.ErrNotFound) || (err == nil && !inAt.Before(ev.At)) {
		return none(models.GateNoEntry, "此次出场前没有入场记录")
	}
	if err != nil {
		return err
	}
	loc, err := s.location(ctx, ev.CommunityID)
	if err != nil {
		return err
	}
	l := inAt.In(loc)
	day := l.Format("2006-01-02")
	b, err := s.store.FilialBooking(ctx, once.FilialBooking(ev.CommunityID, fp.Plate, day))
	if errors.Is(err, models.ErrNotFound) || (err == nil && b.Bay == 0) {
		return none(models.GateNoBooking, day+" 未预约访客车位")
	}
	if err != nil {
		return err
	}
	policy, err := s.policies.At(ctx, ev.CommunityID, inAt)
	if err != nil {
		return err
	}
	if !slices.Contains(policy.FilialDays, l.Weekday()) {
		return none(models.GateNotFilialDay, day+" 不是孝老停车探访日")
	}
	if _, cancelled, err := s.bookingRound(ctx, b.ID); err != nil {
		return err
	} else if cancelled {
		return none(models.GateCancelled, day+" 的访客车位预约已取消")
	}
	midnight := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	from := maxTime(inAt, midnight.Add(time.Duration(policy.FilialFromMinute)*time.Minute))
	to := minTime(ev.At, midnight.Add(time.Duration(policy.FilialToMinute)*time.Minute))
	inside := models.Minutes(to.Sub(from) / time.Minute)
	if inside <= 0 {
		return none(models.GateOutsideHours, "停车时间不在孝老停车免费时段内")
	}
	free := min(inside, policy.FilialFreeMinutes)
	ev.VisitID = b.ID
	// One free period per visit: the first exit claims it.
	err = s.store.InsertSlot(ctx, once.VisitUsed(b.ID), ev.EventID, s.stamp())
	if errors.Is(err, models.ErrConflict) {
		holder, err := s.store.SlotHolder(ctx, once.VisitUsed(b.ID))
		if err != nil {
			return err
		}
		if holder != ev.EventID {
			return none(models.GateAlreadyUsed, "本次探访的免费时长已在先前出场时使用")
		}
	} else if err != nil {
		return err
	}
	ev.FreeMinutes = free
	ev.ReasonCode = models.GateFree
	ev.Reason = fmt.Sprintf("孝老停车 %s：免费时段内停车 %d 分钟，免费 %d 分钟", day, inside, free)
	return nil
}

// maxTime returns the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// FilialVisits is what a parent's filial-visit parking holds: the plates
// registered for their visitors and the bookings from today on.
type FilialVisits struct {
	ParentID string
	Plates   []models.FilialPlate
	Bookings []models.FilialBooking
}

// MyFilialVisits returns parentID's plates and coming bookings (parentID
// "" is the caller), to the parent, staff, or a child whose family link
// staff verified, as booking allows. A booking's Cancelled follows its
// cancel marks, as CancelFilialVisit decides them.
func (s *Service) MyFilialVisits(ctx context.Context, p models.Principal, parentID string) (FilialVisits, error) {
	if parentID == "" {
		parentID = p.ResidentID
	}
	if err := s.mayBookFor(ctx, p, parentID); err != nil {
		return FilialVisits{}, err
	}
	parent, err := s.people.Resident(ctx, parentID)
	if err != nil || parent.CommunityID != p.CommunityID {
		return FilialVisits{}, models.ErrNotFound
	}
	loc, err := s.location(ctx, p.CommunityID)
	if err != nil {
		return FilialVisits{}, err
	}
	out := FilialVisits{ParentID: parentID}
	if out.Plates, err = s.store.FilialPlates(ctx, p.CommunityID, parentID); err != nil {
		return FilialVisits{}, fmt.Errorf("filial visits: %w", err)
	}
	today := s.now().In(loc).Format("2006-01-02")
	if out.Bookings, err = s.store.FilialBookings(ctx, p.CommunityID, parentID, today, 100); err != nil {
		return FilialVisits{}, fmt.Errorf("filial visits: %w", err)
	}
	for i, b := range out.Bookings {
		round, cancelled, err := s.bookingRound(ctx, b.ID)
		if err != nil {
			return FilialVisits{}, fmt.Errorf("filial visits: %w", err)
		}
		out.Bookings[i].Round, out.Bookings[i].Cancelled = round, cancelled
	}
	return out, nil
}
