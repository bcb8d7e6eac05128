package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// testGateEvent is event n of community's gate, at at.
func testGateEvent(community string, n int, at time.Time) models.GateEvent {
	return models.GateEvent{
		CommunityID: community,
		EventID:     fmt.Sprintf("gate%03d", n),
		Plate:       "沪B66688",
		Direction:   models.GateIn,
		At:          at.UTC().Truncate(time.Millisecond),
		Reason:      "入场",
	}
}

// gateEventIDs are the event ids of events, in order.
func gateEventIDs(events []models.GateEvent) []string {
	return idsOf(events, func(e models.GateEvent) string { return e.EventID })
}

// Issue 15 (GET /parking/gate-events?day scanned every community's gate
// events): a community's day in Shanghai (two UTC days) is read from the
// lists of those UTC days while two replicas record events of that day,
// the days around it and another community's at once; every read holds
// only the day's events of the community, once each, earliest first, and
// no read or write sends a scan. A gate's repeat of an event is refused
// and listed once; a slot whose event was never written is skipped.
func TestIssue15_GateEvents_ReadFromTheDaysListsWhileEventsAreRecorded(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	shanghai := time.FixedZone("CST", 8*3600)
	from := time.Date(2026, 12, 7, 0, 0, 0, 0, shanghai) // 2026-12-06 16:00 UTC
	to := from.AddDate(0, 0, 1)
	// Events every 50 minutes from a day before to a day after the day
	// read: 29 of the 87 fall in it, across the UTC midnight.
	var events []models.GateEvent
	var want []string
	for n := range 87 {
		e := testGateEvent("c1", n, from.Add(-24*time.Hour+time.Duration(n)*50*time.Minute))
		events = append(events, e)
		if !e.At.Before(from) && e.At.Before(to) {
			want = append(want, e.EventID)
		}
	}
	if len(want) != 29 {
		t.Fatalf("the test's day holds %d events; want 29", len(want))
	}
	if err := s.InsertGateEvent(ctx, events[40]); err != nil {
		t.Fatal(err)
	}
	// The crash point: a slot of the day whose event was never written.
	if _, err := s.insertListed(ctx, colGateEvents, []string{gateEventList("c1", utcDay(from.Add(time.Hour)))}, "c1:never-written", from.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	commands := watchCommands(s, other)
	errs := atonce.Errors(4, func(i int) error {
		replica := inTurn(i, s, other)
		switch i {
		case 0, 1: // two replicas record the events, each every other one, and the gate repeats event 40
			for n := i; n < len(events); n += 2 {
				err := replica.InsertGateEvent(ctx, events[n])
				if n == 40 && errors.Is(err, models.ErrConflict) {
					continue
				}
				if err != nil {
					return err
				}
			}
		case 2: // another community's gate
			for n := range 20 {
				if err := replica.InsertGateEvent(ctx, testGateEvent("c2", n, from.Add(time.Duration(n)*time.Hour))); err != nil {
					return err
				}
			}
		default: // while the operator reads the day
			for range 10 {
				got, err := replica.GateEvents(ctx, "c1", from.UTC(), to.UTC(), 200)
				if err != nil {
					return err
				}
				ids := gateEventIDs(got)
				for k, e := range got {
					if e.CommunityID != "c1" || e.At.Before(from) || !e.At.Before(to) {
						return fmt.Errorf("the day reads %s of %s at %s", e.EventID, e.CommunityID, e.At)
					}
					if k > 0 && !got[k-1].At.Before(e.At) {
						return fmt.Errorf("the day is not earliest first, once each: %v", ids)
					}
				}
			}
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	commands.wantNoScans(t, "the events' reads and writes")
	got, err := s.GateEvents(ctx, "c1", from.UTC(), to.UTC(), 200)
	if err != nil {
		t.Fatal(err)
	}
	if ids := gateEventIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("the day reads %v; want %v", ids, want)
	}
	if got[0].Reason != "入场" || got[0].Plate != "沪B66688" || got[0].Direction != models.GateIn {
		t.Fatalf("an event reads back as %+v", got[0])
	}
	first, err := s.GateEvents(ctx, "c1", from.UTC(), to.UTC(), 5)
	if err != nil || !slices.Equal(gateEventIDs(first), want[:5]) {
		t.Fatalf("the day's first 5 read %v, %v; want %v", gateEventIDs(first), err, want[:5])
	}
	if c2, err := s.GateEvents(ctx, "c2", from.UTC(), to.UTC(), 200); err != nil || len(c2) != 20 {
		t.Fatalf("the other community's day reads %d events, %v; want 20", len(c2), err)
	}
}

// Issue 15: gate events stored before the day lists existed are put on
// them once, at the next start, and the day reads them; the cached last
// entries in the same collection are not events and stay off.
func TestIssue15_GateEvents_StoredBeforeTheListsAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC)
	storeEach(t, 4, func(n int) error {
		e := testGateEvent("c1", n, at.Add(time.Duration(n)*time.Hour))
		return s.insert(ctx, colGateEvents, toGateEventDoc(e))
	})
	if err := s.SetLastEntry(ctx, "c1", "沪B66688", "gate003", at); err != nil {
		t.Fatal(err)
	}
	forgetBackfills(t, s, "gate-event-lists")
	if got, err := s.GateEvents(ctx, "c1", at.Add(-time.Hour), at.Add(24*time.Hour), 200); err != nil || len(got) != 0 {
		t.Fatalf("before the start: %v, %v", gateEventIDs(got), err)
	}
	startTwice(t, s.EnsureSchema) // the second start finds the work done
	got, err := s.GateEvents(ctx, "c1", at.Add(-time.Hour), at.Add(24*time.Hour), 200)
	if err != nil {
		t.Fatal(err)
	}
	if ids := gateEventIDs(got); !slices.Equal(ids, []string{"gate000", "gate001", "gate002", "gate003"}) {
		t.Fatalf("after the start the events read %v; want the 4 old ones once each", ids)
	}
}
