package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

var monthsZone, _ = time.LoadLocation("Asia/Shanghai")

// monthsStore is a store with community c1 (Asia/Shanghai).
func monthsStore(t testing.TB) *Store {
	t.Helper()
	s := listsStore(t)
	c := models.Community{
		ID:       "c1",
		Name:     "社区",
		TimeZone: "Asia/Shanghai",
		Created:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if err := s.InsertCommunity(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return s
}

// monthEvent is fulfilment i of partner shop1 at at, recorded then.
func monthEvent(i int, at time.Time) models.SettlementEvent {
	at = at.UTC().Truncate(time.Millisecond)
	bearer := models.BearerCommunity
	if i%3 == 0 {
		bearer = models.BearerPartner
	}
	return models.SettlementEvent{
		ID:           fmt.Sprintf("fulfil:m%04d", i),
		CommunityID:  "c1",
		PartnerID:    "shop1",
		Kind:         models.EventFulfilled,
		RedemptionID: fmt.Sprintf("m%04d", i),
		Description:  "豆浆",
		ValueFen:     models.Fen(100 + i),
		Bearer:       bearer,
		At:           at,
		Recorded:     at,
	}
}

// filterTotals sums shop1's month m by the business-time filter.
func filterTotals(t testing.TB, s *Store, m models.Month) models.StatementTotals {
	t.Helper()
	var tot models.StatementTotals
	err := s.EachSettlementEvent(context.Background(), "shop1", m.Start(monthsZone), m.End(monthsZone), func(e models.SettlementEvent) error {
		tot.Add(models.StatementLine{Event: e})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

// savedThrough is the position of the job's saved count of shop1's month
// m (0: none saved).
func savedThrough(t testing.TB, s *Store, m models.Month) int64 {
	t.Helper()
	var d partnerMonthDoc
	err := s.findByID(context.Background(), colLiabilitySummaries, partnerMonthID("shop1", m), &d)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		t.Fatal(err)
	}
	return d.Through
}

var nov25 = models.Month{Year: 2025, Month: time.November}

// Issue 15 crash point: a slot written whose event was not (the process
// died between the two, or the event's insert met a repeat) counts
// nothing; the repeat of the fulfilment is counted once; the job's
// position stops before the slot while its event may still be on its way
// and passes it once it is old; and the figures always equal the filter's.
func TestIssue15_LiabilityPartners_SlotWithoutItsEventIsSkippedAndTheRepeatCountedOnce(t *testing.T) {
	t.Parallel()
	s := monthsStore(t)
	ctx := context.Background()
	base := time.Date(2025, 11, 5, 9, 0, 0, 0, monthsZone)
	now := base.Add(time.Hour)
	if err := s.RecordSettlementEvent(ctx, monthEvent(1, base)); err != nil {
		t.Fatal(err)
	}
	crashed := monthEvent(2, now.Add(-time.Minute))
	list := settlementList("shop1", nov25)
	// The crash: the slot written, the event not.
	if _, err := s.insertListed(ctx, colSettlementEvents, []string{list}, crashed.ID, crashed.Recorded, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSettlementEvent(ctx, monthEvent(3, base.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	check := func(when string, through int64) {
		t.Helper()
		got, err := s.PartnerMonthTotals(ctx, "shop1", nov25)
		if err != nil {
			t.Fatal(err)
		}
		if want := filterTotals(t, s, nov25); got != want || want.Lines == 0 {
			t.Fatalf("%s: the month list sums to %+v; the filter to %+v", when, got, want)
		}
		if at := savedThrough(t, s, nov25); at != through {
			t.Fatalf("%s: the job's position is slot %d; want %d", when, at, through)
		}
	}
	check("before a run", 0)
	// The slot is a minute old: its event may still come, so the job's
	// position stops before it (slot 2).
	if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, now); err != nil {
		t.Fatal(err)
	}
	check("a run with the slot young", 1)
	// The repeat of the crashed fulfilment records it on a slot of its own.
	if err := s.RecordSettlementEvent(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSettlementEvent(ctx, crashed); err != nil { // and a second repeat finds it
		t.Fatal(err)
	}
	check("after the repeat", 1)
	if got, _ := s.PartnerMonthTotals(ctx, "shop1", nov25); got.Lines != 3 {
		t.Fatalf("the month counts %d events; want 3, the repeated one once", got.Lines)
	}
	// Slot 2 names an event that names another slot: decided, passed.
	head, err := s.listHead(ctx, colSettlementEvents, list)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, now); err != nil {
		t.Fatal(err)
	}
	check("a run after the repeat", head)

	// A slot whose event never comes is passed once it is old.
	lost := monthEvent(9, now)
	if _, err := s.insertListed(ctx, colSettlementEvents, []string{list}, lost.ID, lost.Recorded, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("the lost slot young", head)
	if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, now.Add(slotSettles+time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("the lost slot old", head+1)
}

// Issue 15 crash point: a job run cut short between reading the events
// and saving its count (or cancelled in the middle of its reads) saves
// nothing, and the next run counts nothing twice; a run repeated with
// nothing new changes nothing.
func TestIssue15_LiabilityPartners_JobCutShortCountsNothingTwice(t *testing.T) {
	t.Parallel()
	s := monthsStore(t)
	ctx := context.Background()
	base := time.Date(2025, 11, 1, 0, 0, 0, 0, monthsZone)
	now := time.Date(2025, 11, 28, 12, 0, 0, 0, monthsZone)
	record := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := s.RecordSettlementEvent(ctx, monthEvent(i, base.Add(time.Duration(i)*time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
	}
	record(0, 10)
	if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, now); err != nil {
		t.Fatal(err)
	}
	record(10, 20)
	// Cut short: the run read and counted, and died before saving.
	if _, _, err := s.countPartnerMonth(ctx, "shop1", nov25, now); err != nil {
		t.Fatal(err)
	}
	// Cancelled in the middle of its reads.
	cut, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.CountPartnerMonth(cut, "shop1", nov25, now); err == nil {
		t.Fatal("a cancelled run reported success")
	}
	if at := savedThrough(t, s, nov25); at != 10 {
		t.Fatalf("after runs cut short the position is %d; want 10, the last saved", at)
	}
	record(20, 25)
	// A run from the saved count, then a repeat with nothing new.
	first, _, err := s.countPartnerMonth(ctx, "shop1", nov25, now)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := s.CountPartnerMonth(ctx, "shop1", nov25, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := filterTotals(t, s, nov25); got != want || want.Lines != 25 {
			t.Fatalf("the job counts %+v; the filter %+v (25 events)", got, want)
		}
	}
	if first.Through != 10 || savedThrough(t, s, nov25) != 25 {
		t.Fatalf("the runs started at %d and saved %d; want 10 and 25", first.Through, savedThrough(t, s, nov25))
	}
	if got, err := s.PartnerMonthTotals(ctx, "shop1", nov25); err != nil || got != filterTotals(t, s, nov25) {
		t.Fatalf("the report reads %+v (%v)", got, err)
	}
}

// Issue 15: settlement events stored before the month lists existed are
// put on them once at the first start, in the month of their business
// time in the community's zone: one at 00:30 on 1 November in Shanghai is
// November's though it is still 31 October in UTC.
func TestIssue15_LiabilityPartners_EventsStoredBeforeListsAreListedAtStart(t *testing.T) {
	t.Parallel()
	s := monthsStore(t)
	ctx := context.Background()
	oct := models.Month{Year: 2025, Month: time.October}
	ats := []time.Time{
		time.Date(2025, 10, 31, 23, 30, 0, 0, monthsZone),
		time.Date(2025, 11, 1, 0, 30, 0, 0, monthsZone),
		time.Date(2025, 11, 15, 9, 0, 0, 0, monthsZone),
		time.Date(2025, 10, 2, 9, 0, 0, 0, monthsZone),
	}
	storeEach(t, len(ats), func(i int) error {
		e := monthEvent(i, ats[i])
		return s.insert(ctx, colSettlementEvents, settlementEventDoc{ID: e.ID, Fields: toEventFields(e)})
	})
	forgetBackfills(t, s, "settlement-month-lists")
	startTwice(t, s.EnsureSchema) // the second start finds the work done
	for _, m := range []models.Month{oct, nov25} {
		got, err := s.CountPartnerMonth(ctx, "shop1", m, time.Date(2025, 11, 20, 0, 0, 0, 0, monthsZone))
		if err != nil {
			t.Fatal(err)
		}
		if want := filterTotals(t, s, m); got != want || want.Lines != 2 {
			t.Fatalf("%s: the list sums to %+v; the filter to %+v (2 events)", m, got, want)
		}
	}
}

// BenchmarkIssue15_LiabilityPartners_Month is the cost of one partner's
// figures in the liability report: this month's 100 events, counted by the
// job, and 10 since, over a history of 500 or 5,000 events in the two
// years before; "list" is the month list after the job's count (what the
// report reads now), "filter" the business-time filter it read before
// (every event of the collection, on the embedded store).
//
//	go test -run '^$' -bench Issue15_LiabilityPartners -benchtime 20x ./store/
func BenchmarkIssue15_LiabilityPartners_Month(b *testing.B) {
	ctx := context.Background()
	for _, history := range []int{500, 5000} {
		b.Run(fmt.Sprint("history=", history), func(b *testing.B) {
			s := monthsStore(b)
			start := nov25.Start(monthsZone)
			for i := range history {
				at := start.Add(-time.Duration(i+1) * 3 * time.Hour)
				if err := s.RecordSettlementEvent(ctx, monthEvent(i, at)); err != nil {
					b.Fatal(err)
				}
			}
			for i := range 110 {
				if i == 100 {
					if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, start.Add(27*24*time.Hour)); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.RecordSettlementEvent(ctx, monthEvent(history+i, start.Add(time.Duration(i)*time.Hour))); err != nil {
					b.Fatal(err)
				}
			}
			want := filterTotals(b, s, nov25)
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					if got, err := s.PartnerMonthTotals(ctx, "shop1", nov25); err != nil || got != want {
						b.Fatalf("%+v, %v; want %+v", got, err, want)
					}
				}
			})
			b.Run("filter", func(b *testing.B) {
				for b.Loop() {
					if got := filterTotals(b, s, nov25); got != want {
						b.Fatalf("%+v; want %+v", got, want)
					}
				}
			})
		})
	}
}
