package accounts_test

import (
	"fmt"
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
	award := adjust("r1", 10, false, "扶老人过马路")
	deduct := adjust("r1", 3, true, "乱扔垃圾")
	e.Clock.Advance(time.Minute)
	rev, err := acc.Reverse(ctx, e.Staff, "r1", models.AssetPoints, deduct.Seq, "误扣", "")
	if err != nil {
		t.Fatal(err)
	}
	later := adjust("r2", 5, false, "捡到钱包")

	all, err := acc.Trail(ctx, e.Staff, time.Time{}, 50)
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
	// Paged by time across both sources.
	first, err := acc.Trail(ctx, e.Staff, time.Time{}, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first page %+v, %v", first, err)
	}
	rest, err := acc.Trail(ctx, e.Staff, first[len(first)-1].At, 50)
	if err != nil || len(first) != 2 || len(rest) != 2 || rest[0].Action != "points.deduct" || rest[1].Action != "points.award" {
		t.Fatalf("pages %+v / %+v", first, rest)
	}
	if other, err := acc.Trail(ctx, communitytest.Staff("B"), time.Time{}, 50); err != nil || len(other) != 0 {
		t.Fatalf("B's staff see %v (%v)", other, err)
	}
}
