package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// monthCandidates is what the settlement of shop1's month m reads from
// its month list (EachStatementCandidate with no late window), in order,
// and the finds it sent.
func monthCandidates(t *testing.T, s *Store, m models.Month) ([]string, int64) {
	t.Helper()
	commands := watchCommands(s)
	var ids []string
	err := s.EachStatementCandidate(context.Background(), "shop1", m, monthsZone, m.Start(monthsZone), m.Start(monthsZone), func(e models.SettlementEvent) error {
		ids = append(ids, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	commands.wantNoScans(t, "reading the month")
	return ids, commands.finds()
}

// filterIDs is the ids of shop1's events in month m by the business-time
// filter, in time order (the order they were recorded in these tests).
func filterIDs(t *testing.T, s *Store, m models.Month) []string {
	t.Helper()
	var ids []string
	err := s.EachSettlementEvent(context.Background(), "shop1", m.Start(monthsZone), m.End(monthsZone), func(e models.SettlementEvent) error {
		ids = append(ids, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// monthCopy is the copy of block k of shop1's list of month m,
// and whether it is stored.
func monthCopy(t *testing.T, s *Store, m models.Month, k int64) (copiedBlockDoc[settlementEventDoc], bool) {
	t.Helper()
	var b copiedBlockDoc[settlementEventDoc]
	err := s.findByID(context.Background(), colSettlementEvents, copiedBlockID(settlementList("shop1", m), k), &b)
	if errors.Is(err, models.ErrNotFound) {
		return b, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

// Issue 15: the liability job copies the events of each full block of a
// partner's month list into one document once all its slots are decided,
// and the month's settlement then reads sixteen events a lookup. A slot
// whose event has not come yet (on MongoDB the slot and its event are two
// writes) keeps its block from being copied until the event comes or the
// slot is old; a run that dies between its copies and its saved count
// counts nothing twice when the next run reads the half-counted block
// again to copy it; and what the settlement reads is, in order, exactly
// what the filter over every event finds.
func TestIssue15_Settlement_MonthCopiesSayWhatTheirSlotsSay(t *testing.T) {
	t.Parallel()
	s := monthsStore(t)
	ctx := context.Background()
	base := time.Date(2025, 11, 2, 8, 0, 0, 0, monthsZone)
	now := time.Date(2025, 11, 28, 12, 0, 0, 0, monthsZone)
	list := settlementList("shop1", nov25)
	i := 0
	record := func(n int) {
		t.Helper()
		for range n {
			if err := s.RecordSettlementEvent(ctx, monthEvent(i, base.Add(time.Duration(i)*time.Minute))); err != nil {
				t.Fatal(err)
			}
			i++
		}
	}
	// Slots 1–5 hold events 0–4; slot 6 is the first try of event 5,
	// whose repeat (slot 7) wins: slot 6 names an event that names slot 7.
	record(5)
	repeated := monthEvent(i, base.Add(time.Duration(i)*time.Minute))
	if _, err := s.insertListed(ctx, colSettlementEvents, []string{list}, repeated.ID, repeated.Recorded, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSettlementEvent(ctx, repeated); err != nil {
		t.Fatal(err)
	}
	i++
	record(12) // slots 8–19
	// Slot 20: a fulfilment whose slot is written and whose event is still
	// on its way (taken a minute before the job's run).
	late := monthEvent(i, base.Add(time.Duration(i)*time.Minute))
	i++
	lateSlots, err := s.insertListed(ctx, colSettlementEvents, []string{list}, late.ID, now.Add(-time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	record(20) // slots 21–40

	// The first run decides slots 1–19 and copies block 0 (slots 1–16);
	// block 1 (17–32) holds the young slot 20 and is not copied.
	if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, now); err != nil {
		t.Fatal(err)
	}
	if at := savedThrough(t, s, nov25); at != 19 {
		t.Fatalf("the first run saved position %d; want 19, before the young slot", at)
	}
	b0, ok := monthCopy(t, s, nov25, 0)
	if !ok {
		t.Fatal("block 0, every slot decided, was not copied")
	}
	if _, ok := monthCopy(t, s, nov25, 1); ok {
		t.Fatal("block 1 was copied while its slot 20 waited for its event")
	}
	for x, d := range b0.Records {
		n := int64(x + 1)
		switch {
		case n == 6 && d != nil:
			t.Fatalf("the copy holds %s on slot 6, the repeat's leftover", d.ID)
		case n != 6 && (d == nil || !named(d.Slots, slotRef{List: list, N: n})):
			t.Fatalf("the copy's slot %d holds %+v; want the event that names it", n, d)
		}
	}
	ids, _ := monthCandidates(t, s, nov25)
	if want := filterIDs(t, s, nov25); !slices.Equal(ids, want) {
		t.Fatalf("with block 0 copied the month reads %v; the filter finds %v", ids, want)
	}

	// The event lands on slot 20 (the second of its two writes).
	err = s.insert(ctx, colSettlementEvents, settlementEventDoc{
		ID:     late.ID,
		Fields: toEventFields(late),
		Slots:  lateSlots,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A run that copies and dies before saving its count: it read slots
	// 17–19 again (counted already) to copy block 1.
	if _, _, err := s.countPartnerMonth(ctx, "shop1", nov25, now); err != nil {
		t.Fatal(err)
	}
	if at := savedThrough(t, s, nov25); at != 19 {
		t.Fatalf("a run cut short moved the saved position to %d", at)
	}
	b1, ok := monthCopy(t, s, nov25, 1)
	if !ok {
		t.Fatal("block 1, decided now that slot 20's event came, was not copied")
	}
	if d := b1.Records[20-17]; d == nil || d.ID != late.ID {
		t.Fatalf("block 1's slot 20 holds %+v; want %s", d, late.ID)
	}
	// The next run copies nothing new (its inserts find the blocks) and
	// counts each event once.
	got, err := s.CountPartnerMonth(ctx, "shop1", nov25, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := filterTotals(t, s, nov25); got != want || want.Lines != i {
		t.Fatalf("the job counts %+v; the filter %+v (%d events)", got, want, i)
	}
	if at := savedThrough(t, s, nov25); at != 40 {
		t.Fatalf("the run saved position %d; want 40, the head", at)
	}
	if _, ok := monthCopy(t, s, nov25, 2); ok {
		t.Fatal("block 2 (slots 33–48) was copied with only 40 slots taken")
	}

	// The settlement reads both copies as one lookup each: 32
	// events from the two lookups for the copies, which a read without them
	// sends too (and misses), and then reads two blocks of slots and 32
	// events: 34 finds more.
	ids, copiedFinds := monthCandidates(t, s, nov25)
	if want := filterIDs(t, s, nov25); !slices.Equal(ids, want) || len(want) != i {
		t.Fatalf("the month reads %v; the filter finds %v (%d events)", ids, want, i)
	}
	for k := range int64(2) {
		if _, err := s.c(colSettlementEvents).DeleteOne(ctx, byID(copiedBlockID(list, k))); err != nil {
			t.Fatal(err)
		}
	}
	ids, finds := monthCandidates(t, s, nov25)
	if want := filterIDs(t, s, nov25); !slices.Equal(ids, want) {
		t.Fatalf("without the copies the month reads %v; the filter finds %v", ids, want)
	}
	if finds-copiedFinds != 34 {
		t.Fatalf("the month cost %d finds with its two copies and %d without; want 34 fewer with them", copiedFinds, finds)
	}
}

// Issue 15 crash point: a backfill that died after claiming a slot for an
// event stored before the month lists, and before saving it on the event,
// leaves a slot whose event is stored and names no slot. However old, the
// job does not pass it as dead (its position stops, its block is not
// copied); the next start's backfill saves the claimed slot, and then the
// event is counted and read by the month's settlement like any other.
func TestIssue15_Settlement_ASlotClaimedForAStoredEventIsNeverDead(t *testing.T) {
	t.Parallel()
	s := monthsStore(t)
	ctx := context.Background()
	base := time.Date(2025, 11, 2, 8, 0, 0, 0, monthsZone)
	now := time.Date(2025, 11, 28, 12, 0, 0, 0, monthsZone)
	list := settlementList("shop1", nov25)
	for i := range 3 {
		if err := s.RecordSettlementEvent(ctx, monthEvent(i, base.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	// Event 3 was stored before the lists; the backfill took slot 4 for
	// it, claimed it, and died before saving it on the event.
	legacy := monthEvent(3, base.Add(3*time.Minute))
	if err := s.insert(ctx, colSettlementEvents, settlementEventDoc{ID: legacy.ID, Fields: toEventFields(legacy)}); err != nil {
		t.Fatal(err)
	}
	taken, err := s.insertListed(ctx, colSettlementEvents, []string{list}, legacy.ID, now.Add(-time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.claimListed(ctx, "listed:"+colSettlementEvents+":"+legacy.ID, taken); err != nil {
		t.Fatal(err)
	}
	for i := 4; i < 20; i++ { // slots 5–20: block 0 is full
		if err := s.RecordSettlementEvent(ctx, monthEvent(i, base.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CountPartnerMonth(ctx, "shop1", nov25, now); err != nil {
		t.Fatal(err)
	}
	if at := savedThrough(t, s, nov25); at != 3 {
		t.Fatalf("the job's position is %d; want 3, before the slot claimed for the stored event", at)
	}
	if _, ok := monthCopy(t, s, nov25, 0); ok {
		t.Fatal("block 0 was copied with slot 4 undecided")
	}
	// The next start's backfill saves the claimed slot on the event.
	forgetBackfills(t, s, "settlement-month-lists")
	if err := s.listSettlementEventsStoredBefore(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.CountPartnerMonth(ctx, "shop1", nov25, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := filterTotals(t, s, nov25); got != want || want.Lines != 20 {
		t.Fatalf("the job counts %+v; the filter %+v (20 events)", got, want)
	}
	ids, _ := monthCandidates(t, s, nov25)
	if want := filterIDs(t, s, nov25); !slices.Equal(ids, want) {
		t.Fatalf("the month reads %v; the filter finds %v", ids, want)
	}
	if _, ok := monthCopy(t, s, nov25, 0); !ok {
		t.Fatal("block 0, decided once the event names its slot, was not copied")
	}
}
