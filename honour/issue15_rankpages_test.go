package honour_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store"
)

// pagesHidden is the store with the stored ranking pages hidden: a service
// over it sums the month summaries for every ranking, as before the pages
// (the computed ranking the pages must equal).
type pagesHidden struct{ *store.Store }

func (pagesHidden) RankHead(context.Context, string, string, string) (models.RankHead, error) {
	return models.RankHead{}, models.ErrNotFound
}

// monthReads is the store counting the month summaries read with their
// rows: a ranking read from its stored pages reads none.
type monthReads struct {
	*store.Store
	n atomic.Int64
}

func (m *monthReads) RankMonths(ctx context.Context, communityID string, months []string, digestsOnly bool) (map[string]models.RankMonth, error) {
	if !digestsOnly {
		m.n.Add(1)
	}
	return m.Store.RankMonths(ctx, communityID, months, digestsOnly)
}

// cutPages is the store with the rankings job's page and head writes
// failing after a number of them, as a process that dies part way leaves
// them.
type cutPages struct {
	*store.Store
	pages atomic.Int64 // pages still saved
	heads atomic.Int64 // heads still saved
}

func (c *cutPages) SaveRankPage(ctx context.Context, p models.RankPage) error {
	if c.pages.Add(-1) < 0 {
		return errCut
	}
	return c.Store.SaveRankPage(ctx, p)
}

func (c *cutPages) SaveRankHead(ctx context.Context, h models.RankHead) error {
	if c.heads.Add(-1) < 0 {
		return errCut
	}
	return c.Store.SaveRankHead(ctx, h)
}

// over is a service of w's world over st.
func (w *honourWorld) over(st honour.Store) *honour.Service {
	clock := func() time.Time { return w.at }
	return honour.New(honour.Deps{
		Store:    st,
		Ledger:   w.l,
		Policies: policy.New(w.st, clock),
		Heads:    w.cs,
		NewID:    communitytest.NewID,
		Now:      clock,
		Notify:   community.NoNotifier{},
	})
}

// walkRanking reads a ranking a page of limit at a time from cursor to its
// end and returns its rows and the sizes of its pages.
func (w *honourWorld) walkRanking(hs *honour.Service, period, building string, limit int, cursor string) ([]models.RankRow, []int) {
	w.t.Helper()
	var rows []models.RankRow
	var sizes []int
	for range 1000 {
		page, err := hs.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{
			Period:     period,
			BuildingID: building,
			Limit:      limit,
			Cursor:     cursor,
		})
		if err != nil {
			w.t.Fatalf("%s %q limit %d: %v", period, building, limit, err)
		}
		rows = append(rows, page.Rows...)
		sizes = append(sizes, len(page.Rows))
		if page.Next == "" {
			return rows, sizes
		}
		cursor = page.Next
	}
	w.t.Fatal("the walk does not end")
	return nil, nil
}

// sameRows reports whether two rankings are the same rows, field by field.
func sameRows(a, b []models.RankRow) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Rank != y.Rank || x.ResidentID != y.ResidentID || x.Name != y.Name || x.BuildingID != y.BuildingID ||
			x.Earned != y.Earned || x.Deducted != y.Deducted || x.Minutes != y.Minutes || !x.Reached.Equal(y.Reached) {
			return false
		}
	}
	return true
}

// crowd adds n residents to household hh, each awarded points at day of
// June 2026 (ties on points every third).
func (w *honourWorld) crowd(n int, hh, tag string) []models.Resident {
	w.t.Helper()
	var rs []models.Resident
	for i := range n {
		r := w.resident(fmt.Sprintf("%s%d", tag, i), hh)
		w.at = time.Date(2026, 6, 1+i%20, 1+i%7, 0, 0, 0, time.UTC)
		w.postRef(r, models.AssetPoints, models.KindAward, int64(10+(i/3)%40), "crowd:"+r.ID, "")
		rs = append(rs, r)
	}
	return rs
}

// runRankings runs the rankings job at w.at.
func (w *honourWorld) runRankings() {
	w.t.Helper()
	if _, err := w.hs.SummariseRankings(ctx, w.at); err != nil {
		w.t.Fatal(err)
	}
}

// Issue 15: the rankings job stores the ranked, named pages of this month,
// the month before and this year, of the whole community and of each
// building; a ranking of those periods is read from them (no month summary
// read) and equals the ranking summed from the months, page for page,
// after earnings, deductions, reversals and a second run.
func TestIssue15_RankPages_EqualComputedRanking(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	b2 := communitytest.MustBuilding(t, w.cs, w.staff, "2号楼")
	hh3 := communitytest.MustHousehold(t, w.cs, w.staff, b2.ID, "201")
	far := w.resident("钱七", hh3.ID)
	rs := []models.Resident{w.zhang, w.li, w.wang, w.zhao, far}
	w.monthOfWrites(time.April, "apr", rs)
	w.monthOfWrites(time.May, "may", rs)
	w.crowd(70, w.hh2.ID, "孙")
	w.crowd(12, hh3.ID, "周")
	w.at = time.Date(2026, 6, 25, 0, 0, 0, 0, time.UTC)
	w.runRankings()

	reads := &monthReads{Store: w.st}
	reader, computed := w.over(reads), w.over(pagesHidden{w.st})
	check := func(when string) {
		t.Helper()
		for _, period := range []string{"2026-06", "2026-05", "2026"} {
			for _, building := range []string{"", w.bld.ID, b2.ID} {
				for _, limit := range []int{200, 50, 7} {
					before := reads.n.Load()
					got, sizes := w.walkRanking(reader, period, building, limit, "")
					if n := reads.n.Load() - before; n != 0 {
						t.Fatalf("%s: %s %q read %d month summaries, want the stored pages", when, period, building, n)
					}
					want, wantSizes := w.walkRanking(computed, period, building, limit, "")
					if !sameRows(got, want) || fmt.Sprint(sizes) != fmt.Sprint(wantSizes) {
						t.Fatalf("%s: %s %q limit %d: stored pages %v (%d rows), computed %v (%d rows)", when, period, building, limit, sizes, len(got), wantSizes, len(want))
					}
					if period == "2026" && building == "" && len(got) < 80 {
						t.Fatalf("%s: the year ranks %d residents", when, len(got))
					}
				}
			}
		}
		// A period the job does not store is summed from its month, as before.
		before := reads.n.Load()
		got, _ := w.walkRanking(reader, "2026-04", "", 200, "")
		want, _ := w.walkRanking(computed, "2026-04", "", 200, "")
		if reads.n.Load() == before || !sameRows(got, want) || len(got) == 0 {
			t.Fatalf("%s: April (not stored) %d rows, computed %d", when, len(got), len(want))
		}
	}
	check("first run")

	// Reversals, a deduction and new earnings, then the next run.
	w.at = time.Date(2026, 6, 26, 0, 0, 0, 0, time.UTC)
	w.reverse(w.postRef(w.zhao, models.AssetPoints, models.KindAward, 900, "jun:big-reversed", ""))
	w.postRef(w.wang, models.AssetPoints, models.KindAward, 300, "jun:wang", "")
	w.postRef(far, models.AssetPoints, models.KindDeduct, -5, "jun:far-deduct", "")
	w.served(w.li, w.at, 60)
	w.at = time.Date(2026, 6, 27, 0, 0, 0, 0, time.UTC)
	w.runRankings()
	check("second run")
}

// Issue 15: a cursor walk over many stored pages, with pages of sizes that
// do not divide the stored pages, returns every ranked resident once, in
// ranking order, with consecutive ranks; a cursor of an older generation
// still works after the job moved the ranking on (the cursor is a position
// in ranking order), and gives what the summed ranking gives after it.
func TestIssue15_RankPages_CursorWalkOverManyPages(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	rs := w.crowd(130, w.hh2.ID, "孙")
	w.at = time.Date(2026, 6, 25, 0, 0, 0, 0, time.UTC)
	w.runRankings()
	reads := &monthReads{Store: w.st}
	reader, computed := w.over(reads), w.over(pagesHidden{w.st})
	for _, limit := range []int{7, 50, 51, 200} {
		got, sizes := w.walkRanking(reader, "2026-06", "", limit, "")
		if len(got) != len(rs) {
			t.Fatalf("limit %d: walked %d rows in pages %v, want %d", limit, len(got), sizes, len(rs))
		}
		seen := map[string]bool{}
		for i, r := range got {
			if r.Rank != i+1 || seen[r.ResidentID] || r.Name == "" || r.Name == r.ResidentID {
				t.Fatalf("limit %d: row %d is %+v (seen before %v)", limit, i, r, seen[r.ResidentID])
			}
			seen[r.ResidentID] = true
			if i > 0 && (got[i-1].Earned < r.Earned || (got[i-1].Earned == r.Earned && got[i-1].Reached.After(r.Reached))) {
				t.Fatalf("limit %d: row %d %+v after %+v", limit, i, r, got[i-1])
			}
		}
		for i, n := range sizes[:len(sizes)-1] {
			if n != limit {
				t.Fatalf("limit %d: page %d holds %d rows", limit, i, n)
			}
		}
	}
	if n := reads.n.Load(); n != 0 {
		t.Fatalf("the walks read %d month summaries, want the stored pages", n)
	}

	// Three pages into a walk, the job moves the ranking on.
	cursor := ""
	for range 3 {
		page, err := reader.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{
			Period: "2026-06",
			Limit:  20,
			Cursor: cursor,
		})
		if err != nil || page.Next == "" {
			t.Fatalf("page: %v, next %q", err, page.Next)
		}
		cursor = page.Next
	}
	head, err := w.st.RankHead(ctx, "A", "2026-06", "all")
	if err != nil {
		t.Fatal(err)
	}
	w.at = time.Date(2026, 6, 26, 0, 0, 0, 0, time.UTC)
	for i, r := range rs[100:110] {
		w.postRef(r, models.AssetPoints, models.KindAward, int64(100+i), "move:"+r.ID, "")
	}
	w.reverse(w.postRef(rs[5], models.AssetPoints, models.KindAward, 1000, "move:reversed", ""))
	w.runRankings()
	if moved, err := w.st.RankHead(ctx, "A", "2026-06", "all"); err != nil || moved.Gen != head.Gen+1 || moved.Slot == head.Slot {
		t.Fatalf("head after the run: %+v, %v; before gen %d slot %d", moved, err, head.Gen, head.Slot)
	}
	got, _ := w.walkRanking(reader, "2026-06", "", 20, cursor)
	want, _ := w.walkRanking(computed, "2026-06", "", 20, cursor)
	if len(got) == 0 || !sameRows(got, want) {
		t.Fatalf("walk from an older generation's cursor: %d rows, computed %d", len(got), len(want))
	}
	if n := reads.n.Load(); n != 0 {
		t.Fatalf("the walks read %d month summaries, want the stored pages", n)
	}
	for _, bad := range []string{"x", "1.2.3", "!.0.0.0.id"} {
		if _, err := reader.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{Period: "2026-06", Cursor: bad}); !errors.Is(err, models.ErrBadCursor) {
			t.Fatalf("cursor %q: %v, want INVALID_CURSOR", bad, err)
		}
	}
}

// Issue 15, crash points: a rankings run cut short while writing the new
// generation's pages, or after its pages and before its head, leaves
// readers on the old generation, read from its pages (the month summaries
// the dead run saved are newer and are not read); the next whole run moves
// them to the new one.
func TestIssue15_RankPages_RunCutShortKeepsReadersOnTheOldGeneration(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	rs := w.crowd(60, w.hh2.ID, "孙")
	w.at = time.Date(2026, 6, 25, 0, 0, 0, 0, time.UTC)
	w.runRankings()
	reads := &monthReads{Store: w.st}
	reader, computed := w.over(reads), w.over(pagesHidden{w.st})
	old, _ := w.walkRanking(reader, "2026-06", "", 200, "")
	oldBld, _ := w.walkRanking(reader, "2026", w.bld.ID, 200, "")

	cut := &cutPages{Store: w.st}
	dying := w.over(cut)
	for i, c := range []struct{ pages, heads int64 }{
		{0, 0}, {1, 0}, {2, 0}, {1000, 0}, {1000, 1},
	} {
		w.at = time.Date(2026, 6, 26, i, 0, 0, 0, time.UTC)
		w.postRef(rs[50+i], models.AssetPoints, models.KindAward, int64(500+i), fmt.Sprintf("cut:%d", i), "")
		w.reverse(w.postRef(rs[i], models.AssetPoints, models.KindAward, 700, fmt.Sprintf("cut:%d:reversed", i), ""))
		w.postRef(w.zhang, models.AssetPoints, models.KindAward, int64(1+i), fmt.Sprintf("cut:%d:zhang", i), "")
		cut.pages.Store(c.pages)
		cut.heads.Store(c.heads)
		if _, err := dying.SummariseRankings(ctx, w.at); !errors.Is(err, errCut) {
			t.Fatalf("cut after %d pages and %d heads: %v, want the run to die", c.pages, c.heads, err)
		}
		for _, limit := range []int{200, 7} {
			got, _ := w.walkRanking(reader, "2026-06", "", limit, "")
			if !sameRows(got, old) && c.heads == 0 {
				t.Fatalf("cut after %d pages: readers left the old generation (limit %d)", c.pages, limit)
			}
			if c.heads > 0 {
				// One head was written (the month's whole list, a
				// generation complete in its slot): readers see it whole.
				want, _ := w.walkRanking(computed, "2026-06", "", limit, "")
				if !sameRows(got, old) && !sameRows(got, want) {
					t.Fatalf("cut after a head: a ranking of neither generation (limit %d)", limit)
				}
			}
		}
		if got, _ := w.walkRanking(reader, "2026", w.bld.ID, 200, ""); !sameRows(got, oldBld) && c.heads == 0 {
			t.Fatalf("cut after %d pages: the building's readers left the old generation", c.pages)
		}
		if n := reads.n.Load(); n != 0 {
			t.Fatalf("readers read %d month summaries after a cut run, want the stored pages", n)
		}
	}
	w.runRankings()
	got, _ := w.walkRanking(reader, "2026-06", "", 7, "")
	want, _ := w.walkRanking(computed, "2026-06", "", 7, "")
	if sameRows(got, old) || !sameRows(got, want) {
		t.Fatalf("after a whole run: %d rows (the old generation %v), computed %d", len(got), sameRows(got, old), len(want))
	}
	gotBld, _ := w.walkRanking(reader, "2026", w.bld.ID, 200, "")
	wantBld, _ := w.walkRanking(computed, "2026", w.bld.ID, 200, "")
	if !sameRows(gotBld, wantBld) {
		t.Fatal("the building's year after a whole run differs from the computed one")
	}
}

// Issue 15: readers racing a rankings run that moves the ranking on each
// see one generation, whole: every page read equals that page of the
// ranking before the run or of the ranking after it.
func TestIssue15_RankPages_ConcurrentReaderSeesOneGeneration(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	rs := w.crowd(120, w.hh2.ID, "孙")
	w.at = time.Date(2026, 6, 25, 0, 0, 0, 0, time.UTC)
	w.runRankings()
	reads := &monthReads{Store: w.st}
	reader, computed := w.over(reads), w.over(pagesHidden{w.st})
	old, _ := w.walkRanking(reader, "2026-06", "", 200, "")
	first, err := reader.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{Period: "2026-06", Limit: 30})
	if err != nil {
		t.Fatal(err)
	}
	cursor := first.Next // after row 30: the second page, a stored page boundary inside it

	// Writes that move residents from the bottom to the top and the top
	// down, then a run racing the readers.
	w.at = time.Date(2026, 6, 26, 0, 0, 0, 0, time.UTC)
	for i, r := range rs[90:] {
		w.postRef(r, models.AssetPoints, models.KindAward, int64(200+i), "race:"+r.ID, "")
	}
	for _, r := range old[:10] {
		w.postRef(models.Resident{ID: r.ResidentID}, models.AssetPoints, models.KindDeduct, -1, "race:deduct:"+r.ResidentID, "")
	}
	type read struct {
		first, second []models.RankRow
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		seen  []read
		done  = make(chan struct{})
		start = make(chan struct{})
		errs  = make(chan error, 8)
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for n := 0; ; n++ {
				a, err := reader.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{Period: "2026-06", Limit: 30})
				if err != nil {
					errs <- err
					return
				}
				b, err := reader.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{
					Period: "2026-06",
					Limit:  40,
					Cursor: cursor,
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seen = append(seen, read{a.Rows, b.Rows})
				mu.Unlock()
				select {
				case <-done:
					if n > 0 {
						return
					}
				default:
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		<-start
		if _, err := w.hs.SummariseRankings(ctx, w.at); err != nil {
			errs <- err
		}
	}()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	now, _ := w.walkRanking(computed, "2026-06", "", 200, "")
	if sameRows(now, old) {
		t.Fatal("the run did not move the ranking")
	}
	// The second page of each generation: the 40 rows after the cursor's
	// position (the old ranking's row 30) in that generation's order.
	oldSecond := old[30:70]
	newSecond, err := computedAfter(w, computed, cursor)
	if err != nil {
		t.Fatal(err)
	}
	var sawOld, sawNew int
	for i, r := range seen {
		switch {
		case sameRows(r.first, old[:30]):
			sawOld++
		case sameRows(r.first, now[:30]):
			sawNew++
		default:
			t.Fatalf("read %d: a first page of neither generation", i)
		}
		if !sameRows(r.second, oldSecond) && !sameRows(r.second, newSecond) {
			t.Fatalf("read %d: a second page of neither generation", i)
		}
	}
	if sawNew == 0 {
		t.Fatalf("%d reads, none after the run", len(seen))
	}
	// Only one run: a reader never finds its slot rewritten, so every
	// read was of the stored pages.
	if n := reads.n.Load(); n != 0 {
		t.Fatalf("readers read %d month summaries, want the stored pages", n)
	}
	t.Logf("%d reads: %d of the old generation, %d of the new", len(seen), sawOld, sawNew)
}

// computedAfter is the page of 40 after cursor of June's ranking summed
// from the months.
func computedAfter(w *honourWorld, computed *honour.Service, cursor string) ([]models.RankRow, error) {
	page, err := computed.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{
		Period: "2026-06",
		Limit:  40,
		Cursor: cursor,
	})
	return page.Rows, err
}

// Issue 15: the rankings job stores the volunteer-hours ranking of the same
// periods, its buildings ranked and named with their volunteers; a page of
// buildings is read from it (no month summary read) and equals the
// ranking grouped from the summed volunteer minutes, walked a building at
// a time and whole, after corrections and a reversal.
func TestIssue15_RankPages_VolunteersEqualComputed(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	b2 := communitytest.MustBuilding(t, w.cs, w.staff, "2号楼")
	b3 := communitytest.MustBuilding(t, w.cs, w.staff, "3号楼")
	hh3 := communitytest.MustHousehold(t, w.cs, w.staff, b2.ID, "201")
	hh4 := communitytest.MustHousehold(t, w.cs, w.staff, b3.ID, "301")
	homes := []string{w.hh1.ID, w.hh2.ID, hh3.ID, hh4.ID}
	for i := range 70 {
		r := w.resident(fmt.Sprintf("吴%d", i), homes[i%4])
		w.at = time.Date(2026, 6, 2+i%20, 0, 0, 0, 0, time.UTC)
		w.served(r, w.at.Add(-time.Hour), int64(30+i%9*15))
	}
	w.served(w.zhang, time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC), 60, 90) // corrected
	w.reverse(w.served(w.li, time.Date(2026, 6, 4, 0, 0, 0, 0, time.UTC), 45))
	w.at = time.Date(2026, 6, 25, 0, 0, 0, 0, time.UTC)
	w.runRankings()

	reads := &monthReads{Store: w.st}
	reader, computed := w.over(reads), w.over(pagesHidden{w.st})
	for _, period := range []string{"2026-06", "2026"} {
		rows, _, err := computed.VolunteerMinutes(ctx, "A", period)
		if err != nil {
			t.Fatal(err)
		}
		// The ranking as timebank groups it, names as the residents'.
		byBuilding := map[string]*models.RankBuilding{}
		for _, r := range rows {
			b := byBuilding[r.BuildingID]
			if b == nil {
				bld, err := w.st.Building(ctx, r.BuildingID)
				if err != nil {
					t.Fatal(err)
				}
				b = &models.RankBuilding{BuildingID: r.BuildingID, Name: bld.Name}
				byBuilding[r.BuildingID] = b
			}
			res, err := w.st.Resident(ctx, r.ResidentID)
			if err != nil {
				t.Fatal(err)
			}
			b.Minutes += r.Served
			b.Volunteers = append(b.Volunteers, models.RankRow{
				ResidentID: r.ResidentID,
				Name:       models.MaskName(res.Name),
				BuildingID: r.BuildingID,
				Minutes:    models.Minutes(r.Served),
			})
		}
		var want []models.RankBuilding
		for _, b := range byBuilding {
			slices.SortFunc(b.Volunteers, func(x, y models.RankRow) int {
				if x.Minutes != y.Minutes {
					return int(y.Minutes - x.Minutes)
				}
				return strings.Compare(x.ResidentID, y.ResidentID)
			})
			for i := range b.Volunteers {
				b.Volunteers[i].Rank = i + 1
			}
			want = append(want, *b)
		}
		slices.SortFunc(want, func(x, y models.RankBuilding) int {
			if x.Minutes != y.Minutes {
				return int(y.Minutes - x.Minutes)
			}
			return strings.Compare(x.BuildingID, y.BuildingID)
		})
		if len(want) != 3 {
			t.Fatalf("%s: %d buildings with volunteers, want 3", period, len(want))
		}
		for _, limit := range []int{1, 2, 50} {
			var got []models.RankBuilding
			var after *models.RankBuilding
			for range 10 {
				page, more, _, ok, err := reader.StoredVolunteerPage(ctx, "A", period, after, limit)
				if err != nil || !ok {
					t.Fatalf("%s limit %d: stored %v, %v", period, limit, ok, err)
				}
				got = append(got, page...)
				if !more {
					break
				}
				after = &page[len(page)-1]
			}
			if len(got) != len(want) {
				t.Fatalf("%s limit %d: %d buildings, want %d", period, limit, len(got), len(want))
			}
			for i := range want {
				g, x := got[i], want[i]
				if g.BuildingID != x.BuildingID || g.Name != x.Name || g.Minutes != x.Minutes || !sameRows(g.Volunteers, x.Volunteers) {
					t.Fatalf("%s limit %d: building %d stored %+v, computed %+v", period, limit, i, g, x)
				}
			}
		}
	}
	if n := reads.n.Load(); n != 0 {
		t.Fatalf("the stored volunteer pages read %d month summaries", n)
	}
	if _, _, _, ok, err := reader.StoredVolunteerPage(ctx, "A", "2026-03", nil, 50); ok || err != nil {
		t.Fatalf("a period the job does not store: %v, %v", ok, err)
	}
}
