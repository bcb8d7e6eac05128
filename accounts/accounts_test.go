package accounts_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
)

// A staff adjustment's entry is its audit record: the trail shows every
// award and deduction with who, what and why, merged newest first with the
// records of other staff actions and paged by time, and another
// community's staff see none of it.
func TestAdjustmentsAreTheirOwnAuditRecords(t *testing.T) {
	t.Parallel()
	acc, e := newAccounts(t)
	adjust := func(who string, points models.Points, deduct bool, reason string) models.Entry {
		t.Helper()
		e.Clock.Advance(time.Minute)
		return staffAdjusts(t, acc, e, who, points, deduct, reason)
	}
	award := adjust("r1", 10, false, "扶老人过马路")
	deduct := adjust("r1", 3, true, "乱扔垃圾")
	e.Clock.Advance(time.Minute)
	rev, err := acc.Reverse(ctx, e.Staff, "r1", models.AssetPoints, deduct.Seq, "误扣", "")
	if err != nil {
		t.Fatal(err)
	}
	later := adjust("r2", 5, false, "捡到钱包")

	all, next, err := acc.Trail(ctx, e.Staff, models.TrailPlace{}, 50)
	if next != nil {
		t.Fatalf("one page of 50 says there is more after %+v", next)
	}
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ action, subject, reason, ref string }
	var got []row
	for _, r := range all {
		got = append(got, row{r.Action, r.Subject, r.Reason, r.Ref})
	}
	want := []row{
		{"points.award", "r2", "捡到钱包", later.ID()},
		{"entry.reverse", "r1", "误扣", rev.Ref},
		{"points.deduct", "r1", "乱扔垃圾", deduct.ID()},
		{"points.award", "r1", "扶老人过马路", award.ID()},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("trail\n got %v\nwant %v", got, want)
	}
	if all[0].Actor != e.Staff.ResidentID || all[0].Amount != 5 || all[2].Amount != -3 || all[2].Category != "好人好事" {
		t.Fatalf("records %+v", all)
	}
	// Paged across both sources, each page starting after the last shown.
	first, next, err := acc.Trail(ctx, e.Staff, models.TrailPlace{}, 2)
	if err != nil || len(first) != 2 || next == nil {
		t.Fatalf("first page %+v, next %+v, %v", first, next, err)
	}
	rest, end, err := acc.Trail(ctx, e.Staff, *next, 50)
	if err != nil || len(rest) != 2 || rest[0].Action != "points.deduct" || rest[1].Action != "points.award" || end != nil {
		t.Fatalf("pages %+v / %+v (next %+v)", first, rest, end)
	}
	if other, _, err := acc.Trail(ctx, communitytest.Staff("B"), models.TrailPlace{}, 50); err != nil || len(other) != 0 {
		t.Fatalf("B's staff see %v (%v)", other, err)
	}
}

// Records of one moment (a job's run writes many with one time) are
// never split between pages in a way that loses one: for every page size
// the pages hold every record once, in the one page's order (newest
// first, both sources merged), and each page goes on below the last
// record it showed of each source.
func TestTrailPagesMissNoRecordOfOneMoment(t *testing.T) {
	t.Parallel()
	acc, e := newAccounts(t)
	at := e.Clock.Now().UTC().Truncate(time.Millisecond)
	var want []string
	for i := range 7 {
		// Five records at one moment, two a minute later.
		when := at
		if i >= 5 {
			when = at.Add(time.Minute)
		}
		r := models.AuditRecord{
			ID:          fmt.Sprintf("job:listing:%02d", (i*3)%7),
			CommunityID: "A",
			Actor:       "system",
			Action:      "honour.list",
			Subject:     fmt.Sprintf("r%d", i),
			At:          when,
		}
		if err := e.Store.RecordAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r.ID)
	}
	// Two staff awards at the first moment too, from the other source.
	e.Clock.Set(at)
	for i := range 2 {
		en := staffAdjusts(t, acc, e, "r1", 1, false, fmt.Sprintf("同一时刻 %d", i))
		if !en.At.Equal(at) {
			t.Fatalf("the award was made at %s; want %s", en.At, at)
		}
		want = append(want, en.OpID)
	}
	all, _, err := acc.Trail(ctx, e.Staff, models.TrailPlace{}, 50)
	if err != nil || len(all) != len(want) {
		t.Fatalf("one page: %d records, %v; want %d", len(all), err, len(want))
	}
	for i := 1; i < len(all); i++ {
		if all[i].At.After(all[i-1].At) {
			t.Fatalf("not newest first: %s %s after %s %s", all[i].At, all[i].ID, all[i-1].At, all[i-1].ID)
		}
	}
	for _, limit := range []int{1, 2, 3, 4} {
		if got := walkTrail(t, acc, e.Staff, limit, len(want)); !slices.Equal(got, ids(all)) {
			t.Fatalf("pages of %d read %v; want %v in that order", limit, got, ids(all))
		}
	}
}

// A record listed after another but stamped before it (two requests
// stamp their time, then take their slots in the other order) is still on
// a page: each page goes on below the slot of the last record it showed,
// not by time. Paging by the last record's time lost it.
func TestTrailPagesKeepARecordListedOutOfTimeOrder(t *testing.T) {
	t.Parallel()
	acc, e := newAccounts(t)
	at := e.Clock.Now().UTC().Truncate(time.Millisecond)
	for _, r := range []struct {
		id   string
		when time.Time
	}{
		{"stamped-later-listed-first", at.Add(2 * time.Second)},
		{"stamped-first-listed-later", at.Add(time.Second)},
		{"newest", at.Add(time.Minute)},
	} {
		if err := e.Store.RecordAudit(ctx, models.AuditRecord{
			ID:          r.id,
			CommunityID: "A",
			Actor:       "s1",
			Action:      "star.lower",
			At:          r.when,
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 2, 3} {
		got := walkTrail(t, acc, e.Staff, limit, 3)
		slices.Sort(got)
		if want := []string{"newest", "stamped-first-listed-later", "stamped-later-listed-first"}; !slices.Equal(got, want) {
			t.Fatalf("pages of %d read %v; want each of %v once", limit, got, want)
		}
	}
	// A cursor not given out: no list has such a slot.
	if _, _, err := acc.Trail(ctx, e.Staff, models.TrailPlace{Records: 99, Adjustments: 1}, 1); models.CodeOf(err) != models.ErrBadCursor.Code {
		t.Fatalf("a slot past the list's head: %v; want INVALID_CURSOR", err)
	}
}

// walkTrail reads staff's audit trail limit records a page until it ends
// (failing past records+1 pages), and returns the ids read in order.
func walkTrail(t *testing.T, acc *accounts.Service, staff models.Principal, limit, records int) []string {
	t.Helper()
	var got []string
	var from models.TrailPlace
	for pages := 0; ; pages++ {
		if pages > records+1 {
			t.Fatalf("pages of %d never end", limit)
		}
		page, next, err := acc.Trail(ctx, staff, from, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Fatalf("a page of %d holds %d", limit, len(page))
		}
		got = append(got, ids(page)...)
		if next == nil {
			return got
		}
		from = *next
	}
}

// ids are the records' ids, in order.
func ids(recs []models.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// staffAdjusts is e's staff member awarding (or, with deduct, deducting)
// points to who for reason, under a key of its own.
func staffAdjusts(t *testing.T, acc *accounts.Service, e *communitytest.World, who string, points models.Points, deduct bool, reason string) models.Entry {
	t.Helper()
	key := fmt.Sprintf("adj-%s-%s", who, reason)
	en, err := acc.Adjust(ctx, e.Staff, accounts.Adjustment{
		ResidentID: who,
		Points:     points,
		Deduct:     deduct,
		Category:   "好人好事",
		Reason:     reason,
		Idem: community.Idempotency{
			Key:  key,
			OpID: "k:" + e.Staff.ResidentID + ":" + key,
			Hash: "h-" + key,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return en
}
