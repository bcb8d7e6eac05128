package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// checkBlocks fails unless every block of list stored in col says what
// its slots say, and returns how many are stored.
func checkBlocks(t *testing.T, s *Store, col, list string) int {
	t.Helper()
	ctx := context.Background()
	head, err := s.listHead(ctx, col, list)
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for k := int64(0); blockFull(k, head); k++ {
		var b listBlockDoc
		if err := s.findByID(ctx, col, blockID(list, k), &b); err != nil {
			continue // not read yet
		}
		stored++
		for x := range slotBlock {
			var d listSlotDoc
			if err := s.findByID(ctx, col, slotID(list, blockFirst(k)+int64(x)), &d); err != nil {
				t.Fatal(err)
			}
			if b.Refs[x] != d.Ref || !b.Ats[x].Equal(d.At) {
				t.Fatalf("block %d of %s says slot %d is %s at %s; the slot says %s at %s",
					k, list, blockFirst(k)+int64(x), b.Refs[x], b.Ats[x], d.Ref, d.At)
			}
		}
	}
	return stored
}

// A page read twice gives the same redemptions; the second time each full
// block of sixteen slots costs one lookup (the first read stored them), so
// a page of 50 below a head of 100 costs the head's check, the 4 slots
// above the last full block, 3 blocks and the 50 redemptions: 58 finds,
// not 101.
func TestListBlocks_FullBlocksCostOneLookupAndSayWhatTheirSlotsSay(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 100, func(i int) error {
		return s.InsertRedemption(ctx, testRedemption(fmt.Sprintf("blk%03d", i), "r1", base.Add(time.Duration(i)*time.Second)), "h")
	})
	first, next, err := s.ResidentRedemptions(ctx, "r1", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	commands := watchCommands(s)
	second, next2, err := s.ResidentRedemptions(ctx, "r1", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if finds := commands.finds(); finds > 58 {
		t.Fatalf("the second read of a first page sent %d finds; want at most 58 (3 blocks for 48 slots)", finds)
	}
	redemptionID := func(r models.Redemption) string { return r.ID }
	a, b := idsOf(first, redemptionID), idsOf(second, redemptionID)
	if !slices.Equal(a, b) || next != next2 {
		t.Fatalf("the page read through blocks is %v (next %q); read slot by slot it was %v (next %q)", b, next2, a, next)
	}
	want := make([]string, 0, 100)
	for i := 99; i >= 0; i-- {
		want = append(want, fmt.Sprintf("blk%03d", i))
	}
	if got := walkResident(ctx, t, s, "r1", 50); !slices.Equal(got, want) {
		t.Fatalf("walked through blocks: %v; want %v", got, want)
	}
	if n := checkBlocks(t, s, colRedemptions, "rr:r1"); n != 6 {
		t.Fatalf("%d blocks stored after walking 100 slots; want 6 (slots 1–96)", n)
	}
}

// Readers paging a list while an appender adds to it, all at once, store
// blocks that say what their slots say, and each walk shows every
// redemption that was there when it began, once, newest first.
func TestListBlocks_ReadersRacingAnAppenderStoreTrueBlocks(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 40, func(i int) error {
		return s.InsertRedemption(ctx, testRedemption(fmt.Sprintf("race%03d", i), "r1", base.Add(time.Duration(i)*time.Second)), "h")
	})
	walks := make([][]string, 4)
	errs := atonce.Errors(5, func(i int) error {
		if i == 4 {
			for n := 40; n < 120; n++ {
				if err := s.InsertRedemption(ctx, testRedemption(fmt.Sprintf("race%03d", n), "r1", base.Add(time.Duration(n)*time.Second)), "h"); err != nil {
					return err
				}
			}
			return nil
		}
		walks[i] = walkResident(ctx, t, s, "r1", 7+i*5)
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range walks {
		seen := map[string]bool{}
		for j, id := range w {
			if seen[id] {
				t.Fatalf("walk %d shows %s twice", i, id)
			}
			seen[id] = true
			if j > 0 && id > w[j-1] {
				t.Fatalf("walk %d shows %s after %s: not newest first", i, id, w[j-1])
			}
		}
		for n := range 40 {
			if id := fmt.Sprintf("race%03d", n); !seen[id] {
				t.Fatalf("walk %d misses %s, there before it began", i, id)
			}
		}
	}
	walkResident(ctx, t, s, "r1", 50)
	if n := checkBlocks(t, s, colRedemptions, "rr:r1"); n != 7 {
		t.Fatalf("%d blocks stored after walking 120 slots; want 7 (slots 1–112)", n)
	}
}

// The search lists keep no blocks: an erasure turns their slots into
// tombstones, and a block would keep what a slot said before it.
func TestListBlocks_NoneForTheSearchLists(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 40, func(i int) error {
		_, err := s.insertListed(ctx, colDirLists, []string{"rn:c1:王"}, fmt.Sprintf("res%02d", i), at, nil)
		return err
	})
	run, _, err := s.slotPage(ctx, colDirLists, "rn:c1:王", 0, 40)
	if err != nil {
		t.Fatal(err)
	}
	refs := run.refs
	if len(refs) != 40 || refs[0] != "res39" || refs[39] != "res00" {
		t.Fatalf("the search list's page reads %v", refs)
	}
	for k := range int64(2) {
		var b listBlockDoc
		if err := s.findByID(ctx, colDirLists, blockID("rn:c1:王", k), &b); err == nil {
			t.Fatalf("block %d of a search list was stored: %+v", k, b)
		}
	}
}
