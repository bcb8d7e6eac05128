package services

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
)

// Filial-visit parking (孝老停车): children visiting an elderly parent park
// free for part of a visit on the policy's days and hours, in one of a few
// visitor bays booked ahead.

// RegisterFilialPlate registers the plate of a visiting child for an
// elderly parent. The parent (old enough by the policy) registers for
// themselves; staff register for any resident of their community.
func (s *Rewards) RegisterFilialPlate(ctx context.Context, p models.Principal, parentID, plate string) (models.FilialPlate, error) {
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
		return models.FilialPlate{}, models.Errorf(models.ErrNotEligible.Code, "age: the parent must be %d or over", policy.FilialMinAge)
	}
	fp := models.FilialPlate{CommunityID: parent.CommunityID, Plate: plate, ParentID: parent.ID, RegisteredBy: p.ResidentID, Created: now}
	err = s.store.InsertFilialPlate(ctx, fp)
	if errors.Is(err, models.ErrConflict) {
		prior, err := s.store.FilialPlate(ctx, fp.CommunityID, plate)
		if err != nil {
			return models.FilialPlate{}, err
		}
		if prior.ParentID != parent.ID {
			return models.FilialPlate{}, models.Errorf(models.ErrAlreadyExists.Code, "the plate is registered for another resident")
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
// and day. The parent or staff book.
func (s *Rewards) BookFilialVisit(ctx context.Context, p models.Principal, plate, day string) (models.FilialBooking, error) {
	plate, err := models.NormalizePlate(plate)
	if err != nil {
		return models.FilialBooking{}, err
	}
	fp, err := s.store.FilialPlate(ctx, p.CommunityID, plate)
	if err != nil {
		return models.FilialBooking{}, fmt.Errorf("book visit: %w", err)
	}
	if fp.ParentID != p.ResidentID && !p.IsStaff() {
		return models.FilialBooking{}, models.ErrForbidden
	}
	loc, err := s.location(ctx, fp.CommunityID)
	if err != nil {
		return models.FilialBooking{}, err
	}
	d, err := time.ParseInLocation("2006-01-02", day, loc)
	if err != nil {
		return models.FilialBooking{}, models.Errorf(models.ErrValidation.Code, "day must look like 2026-11-21")
	}
	now := s.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if d.Before(today) || d.After(today.AddDate(0, 0, 60)) {
		return models.FilialBooking{}, models.Errorf(models.ErrValidation.Code, "day must be today or within the next 60 days")
	}
	policy, err := s.policies.At(ctx, fp.CommunityID, d)
	if err != nil {
		return models.FilialBooking{}, err
	}
	if !slices.Contains(policy.FilialDays, d.Weekday()) {
		return models.FilialBooking{}, models.Errorf(models.ErrNotEligible.Code, "day: visits are free only on the community's filial-visit days")
	}
	id := fp.CommunityID + ":" + plate + ":" + day
	v, err, _ := s.flight.Do("visit:"+id, func() (any, error) {
		b := models.FilialBooking{ID: id, CommunityID: fp.CommunityID, Plate: plate, ParentID: fp.ParentID, Day: day,
			BookedBy: p.ResidentID, Created: s.stamp()}
		err := s.store.InsertFilialBooking(ctx, b)
		if errors.Is(err, models.ErrConflict) {
			if b, err = s.store.FilialBooking(ctx, id); err != nil {
				return models.FilialBooking{}, err
			}
			if b.Bay > 0 {
				return b, nil
			}
		} else if err != nil {
			return models.FilialBooking{}, err
		}
		bay, err := s.take(ctx, "bay:"+fp.CommunityID+":"+day, policy.FilialVisitorBays, id, true)
		if err != nil {
			return models.FilialBooking{}, err
		}
		if bay == 0 {
			return models.FilialBooking{}, models.Errorf(models.ErrBaysFull.Code, "all %d visitor bays are booked on %s", policy.FilialVisitorBays, day)
		}
		b.Bay = bay
		return b, s.store.SetFilialBookingBay(ctx, id, bay)
	})
	b, _ := v.(models.FilialBooking)
	if err != nil {
		return models.FilialBooking{}, fmt.Errorf("book visit: %w", err)
	}
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
func (s *Rewards) GateEvent(ctx context.Context, p models.Principal, in GateEventIn) (models.GateEvent, error) {
	pt, err := s.partnerOf(ctx, p, models.PartnerParking)
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
		return models.GateEvent{}, models.Errorf(models.ErrValidation.Code, "direction must be in or out")
	}
	if in.At.IsZero() || in.At.After(s.now().Add(time.Hour)) {
		return models.GateEvent{}, models.Errorf(models.ErrValidation.Code, "at must be a time not in the future")
	}
	at := in.At.UTC().Truncate(time.Millisecond)
	c := pt.CommunityID
	if prior, err := s.store.GateEvent(ctx, c, eventID); err == nil {
		return s.sameEvent(prior, plate, in.Direction, at)
	} else if !errors.Is(err, models.ErrNotFound) {
		return models.GateEvent{}, err
	}
	ev := models.GateEvent{CommunityID: c, EventID: eventID, Plate: plate, Direction: in.Direction, At: at}
	if in.Direction == models.GateIn {
		if err := s.store.SetLastEntry(ctx, c, plate, eventID, at); err != nil {
			return models.GateEvent{}, err
		}
		ev.Reason = "entry recorded"
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

func (s *Rewards) sameEvent(prior models.GateEvent, plate string, dir models.GateDirection, at time.Time) (models.GateEvent, error) {
	if prior.Plate != plate || prior.Direction != dir || !prior.At.Equal(at) {
		return models.GateEvent{}, models.Errorf(models.ErrIdempotencyMismatch.Code, "event_id was posted before with another plate, direction or time")
	}
	return prior, nil
}

// freeMinutes works out what an exit earns and claims the visit for it.
func (s *Rewards) freeMinutes(ctx context.Context, ev *models.GateEvent) error {
	none := func(reason string) error { ev.FreeMinutes, ev.Reason = 0, reason; return nil }
	fp, err := s.store.FilialPlate(ctx, ev.CommunityID, ev.Plate)
	if errors.Is(err, models.ErrNotFound) {
		return none("plate not registered for filial visits")
	}
	if err != nil {
		return err
	}
	_, inAt, err := s.store.LastEntry(ctx, ev.CommunityID, ev.Plate)
	if errors.Is(err, models.ErrNotFound) || (err == nil && !inAt.Before(ev.At)) {
		return none("no entry before this exit")
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
	b, err := s.store.FilialBooking(ctx, ev.CommunityID+":"+fp.Plate+":"+day)
	if errors.Is(err, models.ErrNotFound) || (err == nil && b.Bay == 0) {
		return none("no visitor bay booked for " + day)
	}
	if err != nil {
		return err
	}
	policy, err := s.policies.At(ctx, ev.CommunityID, inAt)
	if err != nil {
		return err
	}
	if !slices.Contains(policy.FilialDays, l.Weekday()) {
		return none("not a filial-visit day")
	}
	midnight := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	from := maxTime(inAt, midnight.Add(time.Duration(policy.FilialFromMinute)*time.Minute))
	to := minTime(ev.At, midnight.Add(time.Duration(policy.FilialToMinute)*time.Minute))
	inside := models.Minutes(to.Sub(from) / time.Minute)
	if inside <= 0 {
		return none("visit outside the filial-visit hours")
	}
	free := min(inside, policy.FilialFreeMinutes)
	ev.VisitID = b.ID
	// One free period per visit: the first exit claims it.
	err = s.store.InsertSlot(ctx, "visit-used:"+b.ID, ev.EventID, s.stamp())
	if errors.Is(err, models.ErrConflict) {
		holder, err := s.store.SlotHolder(ctx, "visit-used:"+b.ID)
		if err != nil {
			return err
		}
		if holder != ev.EventID {
			return none("this visit's free time was used by an earlier exit")
		}
	} else if err != nil {
		return err
	}
	ev.FreeMinutes = free
	ev.Reason = fmt.Sprintf("孝老停车 %s: %d minutes inside the window, %d free", day, inside, free)
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
