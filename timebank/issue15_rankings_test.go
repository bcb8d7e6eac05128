package timebank_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/timebank"
)

// Issue 15: the volunteer-hours ranking reads the rankings summary and
// pages its buildings by cursor: a walk of pages of one building gives
// every building once, in order, as the records' own sum does; a cursor
// the ranking did not give out is INVALID_CURSOR.
func TestIssue15_Rankings_VolunteerBuildingsCursorWalk(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	cs := directory.New(e.Store, communitytest.FakeHasher{}, communitytest.NewID, e.Clock.Now, community.NoNotifier{})
	start := tbStart.Add(-5 * time.Hour)
	for i, id := range []string{"r1", "r2", "r3", "r4"} {
		b, err := cs.CreateBuilding(ctx, e.Staff, fmt.Sprintf("%d号楼", i+1), "", community.Idempotency{})
		if err != nil {
			t.Fatal(err)
		}
		h, err := cs.CreateHousehold(ctx, e.Staff, b.ID, "101", nil, community.Idempotency{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Store.SetResidentProfile(ctx, id, "居民"+id, 1990, h.ID); err != nil {
			t.Fatal(err)
		}
		rec := e.claim(t, id, start.Add(-time.Duration(i)*2*time.Hour), time.Duration(30*(1+i%3))*time.Minute) // r1 and r4 tie
		if _, err := e.Timebank.Approve(ctx, e.Staff, rec.ID, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	scanned, err := e.Timebank.Ranking(ctx, res("r2"), "2026-11")
	if err != nil || len(scanned) != 4 {
		t.Fatalf("ranking summed from the records: %+v %v", scanned, err)
	}
	hs := honour.New(honour.Deps{
		Store:    e.Store,
		Ledger:   e.Ledger,
		Policies: e.Policies,
		Heads:    cs,
		NewID:    communitytest.NewID,
		Now:      e.Clock.Now,
		Notify:   community.NoNotifier{},
	})
	e.Timebank.RankFrom(hs)
	var walked []timebank.BuildingRank
	pages := 0
	for cursor := ""; ; {
		page, err := e.Timebank.RankingPage(ctx, res("r2"), "2026-11", cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if page.At.IsZero() || len(page.Buildings) > 1 {
			t.Fatalf("page %d: %+v", pages, page)
		}
		walked = append(walked, page.Buildings...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if pages != 4 || fmt.Sprint(walked) != fmt.Sprint(scanned) {
		t.Fatalf("walked %d pages:\n%+v\nsummed from the records:\n%+v", pages, walked, scanned)
	}
	for _, bad := range []string{"x", "zz", ".b1", "!.b1"} {
		if _, err := e.Timebank.RankingPage(ctx, res("r2"), "2026-11", bad, 1); !errors.Is(err, models.ErrBadCursor) {
			t.Fatalf("cursor %q: %v, want INVALID_CURSOR", bad, err)
		}
	}
}
