package accounts_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
)

// trailWorld fills community A's audit trail: records audit records, one
// a minute from start+offset, and adjustments staff awards (ledger
// entries of r1), one a minute from start+offset too.
func trailWorld(t *testing.T, records, recordsFrom, adjustments, adjustmentsFrom int) (*accounts.Service, *communitytest.World) {
	t.Helper()
	acc, e := newAccounts(t)
	at := e.Clock.Now().UTC().Truncate(time.Millisecond)
	for i := range records {
		err := e.Store.RecordAudit(ctx, models.AuditRecord{
			ID:          fmt.Sprintf("rec-%03d", i),
			CommunityID: "A",
			Actor:       e.Staff.ResidentID,
			Action:      "star.lower",
			At:          at.Add(time.Duration(recordsFrom+i) * time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range adjustments {
		err := e.Store.InsertEntry(ctx, models.Entry{
			Account:      models.AccountOf("r1", models.AssetPoints),
			CommunityID:  "A",
			Seq:          int64(i + 1),
			Delta:        1,
			BalanceAfter: int64(i + 1),
			Kind:         models.KindAward,
			OpID:         fmt.Sprintf("adj-%03d", i),
			Actor:        e.Staff.ResidentID,
			At:           at.Add(time.Duration(adjustmentsFrom+i) * time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return acc, e
}

// The trail reads each of its two lists a block at a time as its merge
// reaches the end of what it read, so a page reads of each about what it
// shows: a page of 50 of the 64 newest records reads the same of the 64
// older adjustments as of 16, one block. It read 50 of each before.
// Walked at any page size the pages hold every record and adjustment
// once, in the order of one page that holds them all.
func TestIssue15_TrailReadsEachListAsFarAsItsPageShows(t *testing.T) {
	t.Parallel()
	firstPage := func(t *testing.T, adjustments int) int64 {
		t.Helper()
		acc, e := trailWorld(t, 64, 100, adjustments, 0)
		if _, _, err := acc.Trail(ctx, e.Staff, models.TrailPlace{}, 50); err != nil { // stores the blocks' copies
			t.Fatal(err)
		}
		before := e.Store.CommandCounts().Finds
		page, _, err := acc.Trail(ctx, e.Staff, models.TrailPlace{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		finds := e.Store.CommandCounts().Finds - before
		if len(page) != 50 || page[0].ID != "rec-063" || page[49].ID != "rec-014" {
			t.Fatalf("the first page holds %d, %s … %s; want the 50 newest records", len(page), page[0].ID, page[len(page)-1].ID)
		}
		return finds
	}
	one, four := firstPage(t, 16), firstPage(t, 64)
	if four != one {
		t.Fatalf("the page cost %d finds with 64 older adjustments and %d with 16; want the same, one block of them read", four, one)
	}
	// A read goes on to the first slot of its block (blocks are slots
	// 1–16, 17–32 …), so the next read starts on a block and reads whole
	// copies: 16 from the newest of 70 reads on to slot 49.
	_, e70 := trailWorld(t, 70, 0, 0, 0)
	read, err := e70.Store.AuditTrail(ctx, "A", 0, time.Time{}, 16)
	if err != nil || len(read.Items) < 16 || read.Next%16 != 1 || read.Slots[len(read.Slots)-1] != read.Next {
		t.Fatalf("16 of 70 read %d records down to slot %v, next %d (%v); want a block's first slot", len(read.Items), read.Slots, read.Next, err)
	}

	// Interleaved: a record and an adjustment every minute, 40 of each.
	acc, e := trailWorld(t, 40, 0, 40, 0)
	all, next, err := acc.Trail(ctx, e.Staff, models.TrailPlace{}, 200)
	if err != nil || next != nil || len(all) != 80 {
		t.Fatalf("one page of 200: %d records, next %+v, %v; want all 80 and no next", len(all), next, err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].At.After(all[i-1].At) {
			t.Fatalf("not newest first: %s after %s", all[i].ID, all[i-1].ID)
		}
	}
	for _, limit := range []int{1, 7, 16, 17, 50} {
		if got := walkTrail(t, acc, e.Staff, limit, len(all)); !slices.Equal(got, ids(all)) {
			t.Fatalf("pages of %d read %v; want %v", limit, got, ids(all))
		}
	}
}
