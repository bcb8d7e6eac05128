package timebank

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// An activity that runs on several local days (a weekend clean-up, a
// five-day summer camp) takes its attendance per day: each day a resident
// checks in and out once, and each day's check-out makes that day's
// service record (docs/ARCHITECTURE.md §4.11). The first day keeps the
// keys of a one-day activity, so a one-day activity is what it always was.

// sessionLimit is the longest activity that is one attendance whatever
// the days it touches: an evening patrol from 20:00 to 02:00 is one
// check-in and one check-out, as it always was.
const sessionLimit = 24 * time.Hour

// attendanceDays are the days activity a takes attendance on: the local
// days it runs on, or only the first for an activity of at most a day.
func attendanceDays(a models.Activity, loc *time.Location) []string {
	days := a.Days(loc)
	if a.End.Sub(a.Start) <= sessionLimit {
		return days[:1]
	}
	return days
}

// attendanceDay is the day of activity a that a check-in or check-out at
// at counts for: at's local day, moved into the activity's attendance
// days (one in the grace before the start counts for the first day, one
// in the grace after the end for the last).
func attendanceDay(a models.Activity, at time.Time, loc *time.Location) string {
	days := attendanceDays(a, loc)
	day := localDay(at, loc)
	switch {
	case day < days[0]:
		return days[0]
	case day > days[len(days)-1]:
		return days[len(days)-1]
	}
	return day
}

// attendanceDayKey is the day part of the attendance keys of day
// (once.CheckInOn): "" for the activity's first day, else the day.
func attendanceDayKey(days []string, day string) string {
	if day == days[0] {
		return ""
	}
	return day
}

// overnight is how long after a check-in a check-out on the next day
// still closes it: a session that runs past midnight (an evening patrol,
// 20:00–02:00) is one attendance, the day of its check-in.
const overnight = 24 * time.Hour

// dayCheckin finds the check-in a check-out at at closes, and its day key:
// the check-in of at's day, or else the previous day's if it was less than
// a day before at. A resident with neither is models.ErrNotCheckedIn.
func (t *Service) dayCheckin(ctx context.Context, a models.Activity, residentID string, at time.Time) (models.Mark, string, error) {
	loc := t.location(ctx, a.CommunityID)
	days := attendanceDays(a, loc)
	day := attendanceDay(a, at, loc)
	key := attendanceDayKey(days, day)
	in, err := t.store.Mark(ctx, once.CheckInOn(a.ID, residentID, key))
	if err == nil || !errors.Is(err, models.ErrNotFound) {
		return in, key, err
	}
	if i := slices.Index(days, day); i > 0 {
		prevKey := attendanceDayKey(days, days[i-1])
		prev, err := t.store.Mark(ctx, once.CheckInOn(a.ID, residentID, prevKey))
		switch {
		case err == nil && at.Sub(prev.At) < overnight:
			return prev, prevKey, nil
		case err != nil && !errors.Is(err, models.ErrNotFound):
			return models.Mark{}, "", err
		}
	}
	return models.Mark{}, "", models.ErrNotCheckedIn
}

// Checkin is one check-in and the day of the activity it counts for.
type Checkin struct {
	models.Mark
	Day string // 2006-01-02, in the community's zone
}

// ActivityCheckins is an activity's check-ins: the days it runs on, the
// community's day now (moved into those days, as a check-in now would
// count), and the check-ins, earliest first.
type ActivityCheckins struct {
	Days     []string
	Today    string
	Checkins []Checkin
}

// Checkins returns who has checked in to activityID so far, earliest
// first, for its organisers (staff, or the team lead who organises it):
// the check-in screen's live count and the attendance list. With day
// (2006-01-02) set, only that day's check-ins; a day the activity does not
// run on has none. A day not written as a date is models.ErrValidation.
func (t *Service) Checkins(ctx context.Context, p models.Principal, activityID, day string) (ActivityCheckins, error) {
	if day != "" {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			return ActivityCheckins{}, models.ErrValidation.Withf("day 的格式应为 2026-11-21", "day must look like 2026-11-21")
		}
	}
	a, err := t.Activity(ctx, p, activityID)
	if err != nil {
		return ActivityCheckins{}, err
	}
	if !organiserOf(p, a) {
		return ActivityCheckins{}, models.ErrForbidden
	}
	ms, err := t.store.CheckinMarks(ctx, a.ID)
	if err != nil {
		return ActivityCheckins{}, fmt.Errorf("check-ins of %s: %w", a.ID, err)
	}
	loc := t.location(ctx, a.CommunityID)
	out := ActivityCheckins{
		Days:     attendanceDays(a, loc),
		Today:    attendanceDay(a, t.now(), loc),
		Checkins: []Checkin{},
	}
	for _, m := range ms {
		// The day is in the mark's key: none for the first day.
		d := out.Days[0]
		if rest, ok := strings.CutPrefix(m.ID, once.CheckIn(a.ID, m.ResidentID)+":"); ok {
			d = rest
		}
		if day == "" || day == d {
			out.Checkins = append(out.Checkins, Checkin{Mark: m, Day: d})
		}
	}
	return out, nil
}
