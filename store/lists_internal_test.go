package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// testRedemption is resident's held redemption id of a soya milk at shop1
// in c1, made at created.
func testRedemption(id, resident string, created time.Time) models.Redemption {
	return models.Redemption{
		ID:          id,
		CommunityID: "c1",
		RewardID:    "rw1",
		Kind:        models.RewardMerchant,
		Title:       "豆浆",
		PartnerID:   "shop1",
		ResidentID:  resident,
		Points:      1,
		Status:      models.RedemptionHeld,
		Created:     created.UTC().Truncate(time.Millisecond),
	}
}

// walkResident reads every page of a resident's redemptions, limit slots a
// page, and returns the ids in the order read.
func walkResident(ctx context.Context, t *testing.T, s *Store, resident string, limit int) []string {
	t.Helper()
	return walkIDs(t, func(r models.Redemption) string {
		if r.ResidentID != resident {
			t.Fatalf("%s's list shows %s of %s", resident, r.ID, r.ResidentID)
		}
		return r.ID
	}, func(cursor string) ([]models.Redemption, string, error) {
		return s.ResidentRedemptions(ctx, resident, cursor, limit)
	})
}

// Paging a resident's redemptions by cursor while others are redeeming
// shows every redemption that was there when paging began exactly once,
// newest first, and never one twice; a new redemption lands above the
// cursor and does not move the pages below it.
func TestIssue15_Lists_PagesWalkEveryRedemptionOnceWhileOthersAreInserted(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 45, func(i int) error {
		return s.InsertRedemption(ctx, testRedemption(fmt.Sprintf("old%02d", i), "r1", base.Add(time.Duration(i)*time.Second)), "h")
	})
	// A failed (refused) redemption is on the list but never shown.
	failed := testRedemption("refused", "r1", base.Add(time.Hour))
	failed.Status = models.RedemptionFailed
	if err := s.InsertRedemption(ctx, failed, "h"); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 10 {
				r := testRedemption(fmt.Sprintf("new%d-%d", w, i), "r1", base.Add(2*time.Hour))
				if err := s.InsertRedemption(ctx, r, "h"); err != nil {
					errs <- err
				}
				// Another resident's redemptions share nothing with r1's list.
				if err := s.InsertRedemption(ctx, testRedemption(fmt.Sprintf("other%d-%d", w, i), "r2", base), "h"); err != nil {
					errs <- err
				}
			}
		}()
	}
	close(start)
	seen := walkResident(ctx, t, s, "r1", 7)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, id := range seen {
		count[id]++
		if count[id] > 1 {
			t.Fatalf("%s shown twice while paging: %v", id, seen)
		}
	}
	for i := range 45 {
		if id := fmt.Sprintf("old%02d", i); count[id] != 1 {
			t.Fatalf("%s shown %d times while paging; want once", id, count[id])
		}
	}
	if count["refused"] != 0 {
		t.Fatal("a refused redemption is listed")
	}
	// Once the writers are done, a walk from the top shows all 85, newest
	// slot first.
	all := walkResident(ctx, t, s, "r1", 10)
	if len(all) != 85 {
		t.Fatalf("after the inserts the list has %d redemptions; want 85", len(all))
	}
	if all[len(all)-1] != "old00" || all[len(all)-45] != "old44" {
		t.Fatalf("the list is not newest first: ends %v", all[len(all)-45:])
	}
	if n := len(walkResident(ctx, t, s, "r2", 50)); n != 40 {
		t.Fatalf("r2's list has %d; want 40", n)
	}
}

// The worst crash point of a listed insert: its slots are stored and the
// process dies before the record (on MongoDB, where the ordered insert is
// not one transaction). The slot points at nothing and is skipped; the
// request's repeat takes a new slot and stores the record naming it, so
// the record is listed once; a repeat that meets the stored record
// (models.ErrConflict) leaves a slot naming it that readers skip too.
func TestIssue15_Lists_SlotWithoutItsRecordIsSkippedAndTheRepeatListedOnce(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	r := testRedemption("crashed", "r1", at)
	if err := s.InsertRedemption(ctx, testRedemption("before", "r1", at), "h"); err != nil {
		t.Fatal(err)
	}
	// The crash: slots written, record not.
	if _, err := s.insertListed(ctx, colRedemptions, redemptionLists(r), r.ID, r.Created, nil); err != nil {
		t.Fatal(err)
	}
	// Another process, which never saw those slots, lists the next one.
	other := openReplica(t, s)
	if err := other.InsertRedemption(ctx, testRedemption("after", "r1", at), "h"); err != nil {
		t.Fatal(err)
	}
	if got := walkResident(ctx, t, s, "r1", 2); fmt.Sprint(got) != "[after before]" {
		t.Fatalf("with a slot pointing at nothing the list reads %v; want [after before]", got)
	}
	// The repeat of the crashed request stores its record.
	if err := s.InsertRedemption(ctx, r, "h"); err != nil {
		t.Fatal(err)
	}
	// A second repeat finds it.
	if err := other.InsertRedemption(ctx, r, "h"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a repeat of a stored redemption: %v; want ErrConflict", err)
	}
	for _, limit := range []int{1, 2, 3, 50} {
		if got := walkResident(ctx, t, s, "r1", limit); fmt.Sprint(got) != "[crashed after before]" {
			t.Fatalf("pages of %d read %v; want [crashed after before], each once", limit, got)
		}
	}
	day, next, err := s.DayRedemptions(ctx, "c1", "shop1", at.Add(-time.Hour), at.Add(time.Hour), "", 50)
	if err != nil || next != "" || len(day) != 3 {
		t.Fatalf("the merchant's day reads %v (next %q, %v); want the 3 redemptions", day, next, err)
	}
}

// A merchant's local day (Asia/Shanghai) spans two UTC days: its pages read
// both days' lists, latest first, and show only the redemptions made in
// the day, each once, with a cursor from page to page.
func TestIssue15_Lists_MerchantDayAcrossUTCDaysByCursor(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	from := time.Date(2026, 11, 21, 0, 0, 0, 0, loc) // 2026-11-20 16:00 UTC
	to := from.AddDate(0, 0, 1)
	want := map[string]bool{}
	for i := range 30 {
		at := from.Add(time.Duration(i) * 47 * time.Minute) // over both UTC days
		id := fmt.Sprintf("in%02d", i)
		want[id] = true
		if err := s.InsertRedemption(ctx, testRedemption(id, fmt.Sprintf("r%d", i%3), at), "h"); err != nil {
			t.Fatal(err)
		}
	}
	for _, at := range []time.Time{from.Add(-time.Minute), to, to.Add(time.Hour)} { // outside the day
		if err := s.InsertRedemption(ctx, testRedemption("out"+at.Format("150405"), "r1", at), "h"); err != nil {
			t.Fatal(err)
		}
	}
	other := testRedemption("othershop", "r1", from.Add(time.Hour))
	other.PartnerID = "shop2"
	if err := s.InsertRedemption(ctx, other, "h"); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 4, 200} {
		got := map[string]bool{}
		last := to
		for _, r := range walkPages(t, func(cursor string) ([]models.Redemption, string, error) {
			return s.DayRedemptions(ctx, "c1", "shop1", from, to, cursor, limit)
		}) {
			if got[r.ID] || !want[r.ID] {
				t.Fatalf("pages of %d show %s (again or not of the day)", limit, r.ID)
			}
			if r.Created.After(last) {
				t.Fatalf("pages of %d are not newest first at %s", limit, r.ID)
			}
			got[r.ID], last = true, r.Created
		}
		if len(got) != len(want) {
			t.Fatalf("pages of %d show %d of the day's %d redemptions", limit, len(got), len(want))
		}
	}
}

// A cursor the list did not give out is refused with INVALID_CURSOR, never
// read as the first page or as an empty one.
func TestIssue15_Lists_BadCursorIsRefused(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 3, func(i int) error {
		return s.InsertRedemption(ctx, testRedemption(fmt.Sprint("r", i), "r1", at), "h")
	})
	for _, c := range []string{"x", "-5", "1", "0", "04", "3.5", "99", "20261121.2"} {
		if _, _, err := s.ResidentRedemptions(ctx, "r1", c, 10); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("resident cursor %q: %v; want INVALID_CURSOR", c, err)
		}
	}
	for _, c := range []string{"2", "20261121", "20261121.x", "20261301.2", "20261119.2", "20261122.0"} {
		if _, _, err := s.DayRedemptions(ctx, "c1", "shop1", at.Add(-time.Hour), at.Add(time.Hour), c, 10); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("day cursor %q: %v; want INVALID_CURSOR", c, err)
		}
	}
	var e *models.Error
	_, _, err := s.ResidentRedemptions(ctx, "r1", "x", 10)
	if !errors.As(err, &e) || e.DetailZh == "" {
		t.Fatalf("the refusal %v says nothing in Chinese", err)
	}
}

// Redemptions stored before their lists existed are put on them once, at
// the next start, and are listed like the others.
func TestIssue15_Lists_RedemptionsStoredBeforeListsAreListedAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 5, func(i int) error {
		return s.insert(ctx, colRedemptions, toRedemptionDoc(testRedemption(fmt.Sprint("legacy", i), "r1", at), "h"))
	})
	forgetBackfills(t, s, "redemption-lists")
	if got := walkResident(ctx, t, s, "r1", 10); len(got) != 0 {
		t.Fatalf("before the start: %v", got)
	}
	startTwice(t, s.EnsureSchema) // the second start finds the work done
	if got := walkResident(ctx, t, s, "r1", 2); len(got) != 5 {
		t.Fatalf("after the start the list reads %v; want the 5 legacy redemptions", got)
	}
}

// The queue of records waiting for a decision pages oldest first by
// cursor; decided records (taken off the queue) are skipped, and once the
// oldest are decided the first page starts above them (the saved start),
// while a record queued again after its decision is listed once.
func TestIssue15_Lists_PendingQueuePagesOldestFirstAndSkipsDecided(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	rec := func(i int) models.ServiceRecord {
		return models.ServiceRecord{
			ID:          fmt.Sprintf("rec%02d", i),
			CommunityID: "c1",
			ResidentID:  "r1",
			Created:     at.Add(time.Duration(i) * time.Minute),
		}
	}
	storeEach(t, 30, func(i int) error { return s.QueueRecord(ctx, rec(i)) })
	if err := s.QueueRecord(ctx, rec(3)); err != nil { // queued twice: once on the list
		t.Fatal(err)
	}
	if err := s.QueueRecord(ctx, models.ServiceRecord{
		ID:          "elsewhere",
		CommunityID: "c2",
		Created:     at,
	}); err != nil {
		t.Fatal(err)
	}
	storeEach(t, 12, func(i int) error { return s.UnqueueRecord(ctx, rec(i).ID) }) // the 12 oldest are decided
	if err := s.UnqueueRecord(ctx, rec(20).ID); err != nil {
		t.Fatal(err)
	}
	walk := func(limit int) []string {
		return walkIDs(t, func(q models.QueuedRecord) string { return q.ID }, func(cursor string) ([]models.QueuedRecord, string, error) {
			return s.QueuedRecords(ctx, "c1", cursor, limit, at.Add(time.Hour))
		})
	}
	for _, limit := range []int{1, 5, 50} {
		got := walk(limit)
		if len(got) != 17 || got[0] != "rec12" || got[16] != "rec29" || fmt.Sprint(got) != fmt.Sprint(walk(50)) {
			t.Fatalf("pages of %d: %v; want rec12 … rec29 without rec20, oldest first", limit, got)
		}
	}
	var start listHeadDoc
	if err := s.findByID(ctx, colListHeads, "start:"+queueList("c1"), &start); err != nil || start.N != 13 {
		t.Fatalf("the queue's saved start is %d (%v); want 13, above the 12 decided", start.N, err)
	}
	// Decided and queued again (a correction): listed once, at its new slot.
	if err := s.QueueRecord(ctx, rec(5)); err != nil {
		t.Fatal(err)
	}
	if got := walk(4); len(got) != 18 || got[17] != "rec05" {
		t.Fatalf("after queueing rec05 again: %v", got)
	}
	if _, _, err := s.QueuedRecords(ctx, "c1", "999", 5, at); !errors.Is(err, models.ErrBadCursor) {
		t.Fatalf("a cursor past the queue's end: %v; want INVALID_CURSOR", err)
	}
}

// A resident's service records page newest first by cursor; a void record
// (the id of a refused claim) is never listed.
func TestIssue15_Lists_ResidentRecordsByCursor(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 9, func(i int) error {
		r := models.ServiceRecord{
			ID:          fmt.Sprint("sr", i),
			CommunityID: "c1",
			ResidentID:  "r1",
			State:       models.RecordPending,
			Created:     at,
		}
		if i == 4 {
			r.State = models.RecordVoid
		}
		return s.InsertRecord(ctx, r)
	})
	got := walkIDs(t, func(r models.ServiceRecord) string { return r.ID }, func(cursor string) ([]models.ServiceRecord, string, error) {
		return s.ResidentRecords(ctx, "r1", cursor, 2)
	})
	if fmt.Sprint(got) != "[sr8 sr7 sr6 sr5 sr3 sr2 sr1 sr0]" {
		t.Fatalf("the resident's records read %v", got)
	}
}

// The audit trail's two reads, staff adjustments (award and deduction
// entries) and audit records, walk their community's lists from the
// newest instead of filtering every entry: newest first, older than
// before, at most limit; an entry that lost its seq to another writer
// leaves a slot that is skipped, and other kinds and communities are not
// on the list. The ledger's own scan (audit) never sees a slot.
func TestIssue15_Lists_AuditTrailReadsItsLists(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	acct := models.AccountOf("r1", models.AssetPoints)
	kinds := []models.EntryKind{models.KindAward, models.KindService, models.KindDeduct, models.KindAward, models.KindHold, models.KindAward}
	for i, k := range kinds {
		e := models.Entry{
			Account:     acct,
			CommunityID: "c1",
			Seq:         int64(i + 1),
			Delta:       1,
			Kind:        k,
			At:          at.Add(time.Duration(i) * time.Minute),
		}
		if err := s.InsertEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	lost := models.Entry{
		Account:     acct,
		CommunityID: "c1",
		Seq:         6,
		Delta:       99,
		Kind:        models.KindAward,
		At:          at.Add(time.Hour),
	}
	if err := s.InsertEntry(ctx, lost); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("an entry on a taken seq: %v; want ErrConflict", err)
	}
	other := models.Entry{
		Account:     models.AccountOf("r9", models.AssetPoints),
		CommunityID: "c2",
		Seq:         1,
		Delta:       1,
		Kind:        models.KindAward,
		At:          at,
	}
	if err := s.InsertEntry(ctx, other); err != nil {
		t.Fatal(err)
	}
	adj := []models.EntryKind{models.KindAward, models.KindDeduct}
	read, err := s.EntriesOfKinds(ctx, "c1", adj, 0, time.Time{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// At least 3 unless the list ends: pages of 3 slots are read until 3
	// adjustments are, and all of the last page's are kept.
	es := read.Items
	if len(es) < 3 || es[0].Seq != 6 || es[1].Seq != 4 || es[2].Seq != 3 || es[0].Delta != 1 || len(read.Slots) != len(es) {
		t.Fatalf("the newest 3 adjustments: %+v", read)
	}
	if before, err := s.EntriesOfKinds(ctx, "c1", adj, 0, es[2].At, 3); err != nil || len(before.Items) != 1 || before.Items[0].Seq != 1 {
		t.Fatalf("the adjustments made before the third: %+v, %v", before, err)
	}
	below, err := s.EntriesOfKinds(ctx, "c1", adj, read.Slots[2], time.Time{}, 3)
	if err != nil || len(below.Items) != 1 || below.Items[0].Seq != 1 || below.Next != 0 {
		t.Fatalf("the adjustments listed below the third: %+v, %v; want the first, at the list's end", below, err)
	}
	for i := range 4 {
		r := models.AuditRecord{
			ID:          fmt.Sprint("a", i),
			CommunityID: "c1",
			Actor:       "s1",
			Action:      "star.lower",
			At:          at.Add(time.Duration(i) * time.Minute),
		}
		if err := s.RecordAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAudit(ctx, r); err != nil { // kept as it is, listed once
			t.Fatal(err)
		}
	}
	// A read of 2 reads on to the first slot of its block: here the whole
	// list, so a0 too and no next.
	trail, err := s.AuditTrail(ctx, "c1", 0, at.Add(3*time.Minute), 2)
	if err != nil || len(trail.Items) != 3 || trail.Items[0].ID != "a2" || trail.Items[1].ID != "a1" || trail.Items[2].ID != "a0" || trail.Next != 0 {
		t.Fatalf("the trail before a3: %+v, %v; want a2, a1 and a0, to the list's end", trail, err)
	}
	if trail, err := s.AuditTrail(ctx, "c2", 0, time.Time{}, 10); err != nil || len(trail.Items) != 0 || trail.Next != 0 {
		t.Fatalf("c2's trail: %+v, %v", trail, err)
	}
	n := 0
	if err := s.EachEntry(ctx, func(models.Entry) error { n++; return nil }); err != nil || n != 7 {
		t.Fatalf("the ledger's scan read %d entries (%v); want the 7 entries and no slot", n, err)
	}
}
