package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// confirmation is the event confirming duty d at at.
func confirmation(d models.Duty, at time.Time) models.HonourEvent {
	return models.HonourEvent{
		ID:          once.DutyConfirmed(d.ID),
		CommunityID: d.CommunityID,
		Subject:     d.ID,
		Kind:        "confirmed",
		By:          "staff1",
		At:          at,
	}
}

// claim is the event naming month as the one whose allowance pays duty d.
func claim(d models.Duty, month string, at time.Time) models.HonourEvent {
	return models.HonourEvent{
		ID:          once.AllowanceDuty(d.ID),
		CommunityID: d.CommunityID,
		Subject:     d.ID,
		Kind:        "allowance_duty",
		By:          "system",
		Month:       month,
		At:          at,
	}
}

// confirmationsFloor is the saved floor of c1's confirmations list (0:
// none saved).
func confirmationsFloor(t *testing.T, s *Store) int64 {
	t.Helper()
	var d listHeadDoc
	err := s.findByID(context.Background(), colListHeads, "floor:"+dutyConfirmationList("c1"), &d)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		t.Fatal(err)
	}
	return d.N
}

// The allowance run's lists: the unclaimed confirmations are exactly the
// confirmed duties with no claim, in the order they were confirmed, of
// the community only; the floor passes claimed confirmations and, once
// settled, a repeat's slot, and stops at the first unclaimed one; a
// month's claims are its own. None of it scans.
func TestAllowanceLists_UnclaimedConfirmationsAndTheMonthsClaims(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var ds []models.Duty
	for i := range 6 {
		d := testDuty("c1", "building:b1#1", "h1", "2026-10", fmt.Sprint("巡楼", i), at)
		if err := s.InsertDuty(ctx, d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	other := testDuty("c2", "c2:building:b1#1", "h9", "2026-10", "巡楼", at)
	if err := s.InsertDuty(ctx, other); err != nil {
		t.Fatal(err)
	}
	// d0, d1, a repeat of d1's (its slot names nothing), d2, d3, d4; d5 is
	// never confirmed; c2's duty on c2's list.
	for i, ev := range []models.HonourEvent{
		confirmation(ds[0], at),
		confirmation(ds[1], at),
		confirmation(ds[1], at),
		confirmation(ds[2], at),
		confirmation(ds[3], at),
		confirmation(ds[4], at),
		confirmation(other, at),
	} {
		err := s.InsertHonourEvent(ctx, ev)
		if i == 2 && !errors.Is(err, models.ErrConflict) {
			t.Fatalf("the repeated confirmation: %v; want ErrConflict", err)
		}
		if i != 2 && err != nil {
			t.Fatal(err)
		}
	}
	commands := watchCommands(s)
	unclaimed := func(at time.Time, want ...models.Duty) {
		t.Helper()
		got, err := s.UnclaimedConfirmations(ctx, "c1", at)
		if err != nil {
			t.Fatal(err)
		}
		if w := dutyIDs(want); !slices.Equal(got, w) {
			t.Fatalf("unclaimed confirmations %v; want %v", got, w)
		}
	}
	unclaimed(at, ds[0], ds[1], ds[2], ds[3], ds[4])
	if f := confirmationsFloor(t, s); f != 0 {
		t.Fatalf("floor saved at %d with nothing claimed", f)
	}
	for _, ev := range []models.HonourEvent{claim(ds[0], "2026-10", at), claim(ds[1], "2026-10", at), claim(ds[3], "2026-11", at)} {
		if err := s.InsertHonourEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	unclaimed(at, ds[2], ds[4])
	if f := confirmationsFloor(t, s); f != 3 {
		t.Fatalf("floor at %d; want 3: past d0 and d1, stopped at the repeat's slot, not yet settled", f)
	}
	later := at.Add(confirmationSettle + time.Minute)
	unclaimed(later, ds[2], ds[4])
	if f := confirmationsFloor(t, s); f != 4 {
		t.Fatalf("floor at %d; want 4: past the settled repeat, stopped at d2", f)
	}
	for _, c := range []struct {
		community, month string
		want             []models.Duty
	}{
		{"c1", "2026-10", ds[:2]},
		{"c1", "2026-11", ds[3:4]},
		{"c1", "2026-12", nil},
		{"c2", "2026-10", nil},
	} {
		got, err := s.AllowanceClaims(ctx, c.community, c.month)
		if err != nil || !slices.Equal(dutyIDs(got), dutyIDs(c.want)) {
			t.Fatalf("%s's claims of %s read %v, %v; want %v", c.community, c.month, dutyIDs(got), err, dutyIDs(c.want))
		}
	}
	commands.wantNoScans(t, "reading the allowance lists")
	// Everything claimed: the floor passes the head, and a confirmation
	// stored after that is the one unclaimed.
	for _, d := range []models.Duty{ds[2], ds[4]} {
		if err := s.InsertHonourEvent(ctx, claim(d, "2026-11", later)); err != nil {
			t.Fatal(err)
		}
	}
	unclaimed(later)
	if f := confirmationsFloor(t, s); f != 7 {
		t.Fatalf("floor at %d; want 7, past the list's six slots", f)
	}
	if err := s.InsertHonourEvent(ctx, confirmation(ds[5], later)); err != nil {
		t.Fatal(err)
	}
	unclaimed(later, ds[5])
	got, err := s.UnclaimedConfirmations(ctx, "c2", later)
	if err != nil || !slices.Equal(got, []string{other.ID}) {
		t.Fatalf("c2's unclaimed confirmations %v, %v; want its own duty", got, err)
	}
}

// Runs reading the confirmations (and moving the floor) while staff
// confirm duties and runs claim them never lose an unclaimed one: at every
// read, each duty confirmed before the read began and never claimed is in
// the answer, and afterwards the answer is exactly the confirmed duties
// with no claim and the floor stands at the first of them.
func TestAllowanceLists_FloorNeverPassesAnUnclaimedConfirmation(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	const writers, each, readers = 3, 12, 2
	duties := make([][]models.Duty, writers)
	for w := range writers {
		for i := range each {
			d := testDuty("c1", fmt.Sprint("building:b", w, "#1"), "h1", "2026-10", fmt.Sprint("巡楼", i), at)
			if err := s.InsertDuty(ctx, d); err != nil {
				t.Fatal(err)
			}
			duties[w] = append(duties[w], d)
		}
	}
	// Each writer confirms its duties in turn and claims every other one
	// (the one before), so claimed and unclaimed confirmations interleave.
	var confirmed, claiming sync.Map // duty id → true: stored; about to be claimed
	atonce.Run(writers+readers, func(w int) {
		if w >= writers {
			for range 6 {
				var before []string
				confirmed.Range(func(id, _ any) bool {
					before = append(before, id.(string))
					return true
				})
				got, err := s.UnclaimedConfirmations(ctx, "c1", at)
				if err != nil {
					t.Error(err)
					return
				}
				for _, id := range before {
					if _, claimed := claiming.Load(id); !claimed && !slices.Contains(got, id) {
						t.Errorf("a read during the race missed %s, confirmed before it and never claimed: %v", id, got)
					}
				}
			}
			return
		}
		for i, d := range duties[w] {
			if err := s.InsertHonourEvent(ctx, confirmation(d, at)); err != nil {
				t.Error(err)
			}
			confirmed.Store(d.ID, true)
			if i%2 == 1 {
				claiming.Store(duties[w][i-1].ID, true)
				if err := s.InsertHonourEvent(ctx, claim(duties[w][i-1], "2026-10", at)); err != nil {
					t.Error(err)
				}
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	var want []string
	for w := range writers {
		for i, d := range duties[w] {
			if i%2 == 1 {
				want = append(want, d.ID)
			}
		}
	}
	got, err := s.UnclaimedConfirmations(ctx, "c1", at)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("unclaimed after the race %v; want %v", sorted(got), sorted(want))
	}
	// Every confirmation below the first unclaimed one is claimed, so the
	// last read left the floor exactly there.
	first := int64(0)
	for _, id := range want {
		var ev honourEventDoc
		if err := s.findByID(ctx, colHonourEvents, once.DutyConfirmed(id), &ev); err != nil || len(ev.Slots) != 1 {
			t.Fatalf("confirmation of %s: %+v, %v", id, ev, err)
		}
		if first == 0 || ev.Slots[0].N < first {
			first = ev.Slots[0].N
		}
	}
	if f := confirmationsFloor(t, s); f != first {
		t.Fatalf("floor at %d; want %d, the first unclaimed confirmation's slot", f, first)
	}
}

// Confirmations and claims stored before their lists existed (no slots)
// are put on them once at the next start, in the order they were stored;
// other honour events are not; a second start lists nothing again.
func TestAllowanceLists_StoredBeforeAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var ds []models.Duty
	for i := range 3 {
		d := testDuty("c1", "building:b1#1", "h1", "2026-10", fmt.Sprint("巡楼", i), at)
		if err := s.InsertDuty(ctx, d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	old := func(e models.HonourEvent, at time.Time) honourEventDoc {
		return honourEventDoc{
			ID:        e.ID,
			Community: e.CommunityID,
			Subject:   e.Subject,
			Kind:      e.Kind,
			By:        e.By,
			Month:     e.Month,
			At:        at,
		}
	}
	docs := []honourEventDoc{
		old(confirmation(ds[2], at), at.Add(3*time.Minute)),
		old(confirmation(ds[0], at), at.Add(time.Minute)),
		old(confirmation(ds[1], at), at.Add(2*time.Minute)),
		old(claim(ds[0], "2026-10", at), at.Add(4*time.Minute)),
		{
			ID:        "allowance-closed:c1:2026-09",
			Community: "c1",
			Subject:   "2026-09",
			Kind:      "allowance_closed",
			By:        "system",
			At:        at,
		},
	}
	storeEach(t, len(docs), func(i int) error { return s.insert(ctx, colHonourEvents, docs[i]) })
	forgetBackfills(t, s, "allowance-lists")
	if got, err := s.UnclaimedConfirmations(ctx, "c1", at); err != nil || len(got) != 0 {
		t.Fatalf("before the start: %v, %v", got, err)
	}
	startTwice(t, s.EnsureSchema)
	got, err := s.UnclaimedConfirmations(ctx, "c1", at)
	if err != nil || !slices.Equal(got, []string{ds[1].ID, ds[2].ID}) {
		t.Fatalf("after the start unclaimed %v, %v; want d1 and d2, in the order they were confirmed", got, err)
	}
	claims, err := s.AllowanceClaims(ctx, "c1", "2026-10")
	if err != nil || !slices.Equal(dutyIDs(claims), []string{ds[0].ID}) {
		t.Fatalf("after the start October's claims %v, %v; want d0", dutyIDs(claims), err)
	}
	for list, n := range map[string]int64{
		dutyConfirmationList("c1"):          3,
		allowanceClaimList("c1", "2026-10"): 1,
	} {
		if head, err := s.listHead(ctx, colHonourEvents, list); err != nil || head != n {
			t.Fatalf("%s has %d slots (%v); want %d", list, head, err, n)
		}
	}
}
