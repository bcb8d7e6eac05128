package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// testBooking is parent's booking of plate for day, stored at created.
func testBooking(parent, plate string, day, created time.Time) models.FilialBooking {
	d := day.Format("2006-01-02")
	return models.FilialBooking{
		ID:          "c1:" + plate + ":" + d,
		CommunityID: "c1",
		Plate:       plate,
		ParentID:    parent,
		Day:         d,
		BookedBy:    parent,
		Created:     created.UTC().Truncate(time.Millisecond),
		Round:       1,
	}
}

// bookingIDs are the ids of bookings, in order.
func bookingIDs(bookings []models.FilialBooking) []string {
	return idsOf(bookings, func(b models.FilialBooking) string { return b.ID })
}

// Issue 15 (GET /filial/visits scanned every community's plates and
// bookings): a parent's plates and coming bookings are read from the
// parent's lists while two replicas register plates and book visits for
// that parent and another at once; every read holds only the parent's,
// the bookings from the day on, soonest first, once each, and no read or
// write sends a scan. The bookings of past months are not read at all:
// the read stops at the first booking stored more than two months before
// the day, so its lookups stay under the parent's history of 120 past
// visits.
func TestIssue15_FilialVisits_ReadFromTheParentsListsWhileVisitsAreBooked(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	fromDay := today.Format("2006-01-02")
	// History: 120 visits of past days, each booked a week ahead.
	storeEach(t, 120, func(n int) error {
		day := today.AddDate(0, 0, -400+3*n)
		return s.InsertFilialBooking(ctx, testBooking("p1", "沪A00001", day, day.AddDate(0, 0, -7)))
	})
	// Coming visits booked before the reads: yesterday's (past) and the
	// next days'.
	var want []string
	for n := -1; n < 10; n++ {
		day := today.AddDate(0, 0, n)
		b := testBooking("p1", "沪A00002", day, today.Add(-time.Duration(12-n)*time.Hour))
		if err := s.InsertFilialBooking(ctx, b); err != nil {
			t.Fatal(err)
		}
		if n >= 0 {
			want = append(want, b.ID)
		}
	}
	// The crash point: a slot whose booking was never written.
	if _, err := s.insertListed(ctx, colFilialBookings, []string{filialBookingList("c1", "p1")}, "c1:never-written", today, nil); err != nil {
		t.Fatal(err)
	}
	commands := watchCommands(s, other)
	errs := atonce.Errors(5, func(i int) error {
		replica := inTurn(i, s, other)
		switch i {
		case 0, 1: // two replicas book the parent's visits of two more plates, up to 60 days on
			for n := range 10 {
				day := today.AddDate(0, 0, 6*n+i)
				if err := replica.InsertFilialBooking(ctx, testBooking("p1", fmt.Sprintf("沪B0000%d", i), day, today.Add(time.Hour))); err != nil {
					return err
				}
			}
			return replica.InsertFilialPlate(ctx, models.FilialPlate{
				CommunityID:  "c1",
				Plate:        fmt.Sprintf("沪B0000%d", i),
				ParentID:     "p1",
				RegisteredBy: "p1",
				Created:      today.Add(time.Duration(i) * time.Minute),
			})
		case 2: // and another parent's
			for n := range 10 {
				if err := replica.InsertFilialBooking(ctx, testBooking("p2", "沪C00001", today.AddDate(0, 0, n), today)); err != nil {
					return err
				}
			}
			return replica.InsertFilialPlate(ctx, models.FilialPlate{
				CommunityID: "c1",
				Plate:       "沪C00001",
				ParentID:    "p2",
				Created:     today,
			})
		default: // while the parent's page is read
			for range 10 {
				got, err := replica.FilialBookings(ctx, "c1", "p1", fromDay, 100)
				if err != nil {
					return err
				}
				for k, b := range got {
					if b.ParentID != "p1" || b.Day < fromDay {
						return fmt.Errorf("the parent's coming visits read %s of %s", b.ID, b.ParentID)
					}
					if k > 0 && (got[k-1].Day > b.Day || got[k-1].ID == b.ID) {
						return fmt.Errorf("the coming visits are not soonest first, once each: %v", bookingIDs(got))
					}
				}
				if _, err := replica.FilialPlates(ctx, "c1", "p1"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	commands.wantNoScans(t, "the visits' reads and writes")
	for i := range 2 {
		for n := range 10 {
			want = append(want, testBooking("p1", fmt.Sprintf("沪B0000%d", i), today.AddDate(0, 0, 6*n+i), today).ID)
		}
	}
	slices.SortFunc(want, func(a, b string) int {
		if c := strings.Compare(a[len(a)-10:], b[len(b)-10:]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	read := watchCommands(s)
	got, err := s.FilialBookings(ctx, "c1", "p1", fromDay, 100)
	if err != nil {
		t.Fatal(err)
	}
	if ids := bookingIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("the coming visits read %v; want %v", ids, want)
	}
	if n := read.finds(); n >= 120 {
		t.Fatalf("reading the coming visits took %d lookups; want fewer than the 120 past visits", n)
	}
	if first, err := s.FilialBookings(ctx, "c1", "p1", fromDay, 3); err != nil || !slices.Equal(bookingIDs(first), want[:3]) {
		t.Fatalf("the first 3 coming visits read %v, %v; want %v", bookingIDs(first), err, want[:3])
	}
	plates, err := s.FilialPlates(ctx, "c1", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(plates) != 2 || plates[0].Plate != "沪B00000" || plates[1].Plate != "沪B00001" || plates[0].ParentID != "p1" {
		t.Fatalf("the parent's plates read %+v; want 沪B00000 then 沪B00001", plates)
	}
	if p2, err := s.FilialBookings(ctx, "c1", "p2", fromDay, 100); err != nil || len(p2) != 10 {
		t.Fatalf("the other parent's visits read %v, %v; want 10", bookingIDs(p2), err)
	}
}

// Issue 15: plates and bookings stored before the parents' lists existed
// are put on them once, at the next start, and the parent's page reads
// them.
func TestIssue15_FilialVisits_StoredBeforeTheListsAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	plate := filialPlateDoc{
		ID:        "c1:沪A00001",
		Community: "c1",
		Plate:     "沪A00001",
		Parent:    "p1",
		Created:   today.AddDate(0, 0, -30),
	}
	if err := s.insert(ctx, colFilialPlates, plate); err != nil {
		t.Fatal(err)
	}
	var want []string
	for n := range 3 {
		b := testBooking("p1", "沪A00001", today.AddDate(0, 0, 7*n), today.AddDate(0, 0, -1))
		doc := filialBookingDoc{
			ID:        b.ID,
			Community: b.CommunityID,
			Plate:     b.Plate,
			Parent:    b.ParentID,
			Day:       b.Day,
			Created:   b.Created,
		}
		if err := s.insert(ctx, colFilialBookings, doc); err != nil {
			t.Fatal(err)
		}
		want = append(want, b.ID)
	}
	forgetBackfills(t, s, "filial-plate-lists", "filial-booking-lists")
	startTwice(t, s.EnsureSchema) // the second start finds the work done
	got, err := s.FilialBookings(ctx, "c1", "p1", today.Format("2006-01-02"), 100)
	if err != nil || !slices.Equal(bookingIDs(got), want) {
		t.Fatalf("after the start the visits read %v, %v; want %v once each", bookingIDs(got), err, want)
	}
	plates, err := s.FilialPlates(ctx, "c1", "p1")
	if err != nil || len(plates) != 1 || plates[0].Plate != "沪A00001" {
		t.Fatalf("after the start the plates read %+v, %v; want the old one once", plates, err)
	}
}
