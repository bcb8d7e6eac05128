package honour_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store"
)

// rankFigures is one resident's figures in one month, as a ranking shows
// them.
type rankFigures struct {
	Earned, Deducted, Minutes, Served int64
	Reached                           time.Time
}

// recomputeRankings sums, from every entry of every account of residents
// read through the ledger's history, each resident's figures by month (in
// community A's zone): earnings, deductions and service minutes by the
// month of the entry, a reversal against the kind of the entry it
// reverses, and service minutes again by the month their record started.
func (w *honourWorld) recomputeRankings(residents []models.Resident) map[string]map[string]*rankFigures {
	w.t.Helper()
	c, err := w.st.Community(ctx, "A")
	if err != nil {
		w.t.Fatal(err)
	}
	loc := c.Location()
	out := map[string]map[string]*rankFigures{}
	fig := func(month, id string) *rankFigures {
		if out[month] == nil {
			out[month] = map[string]*rankFigures{}
		}
		if out[month][id] == nil {
			out[month][id] = &rankFigures{}
		}
		return out[month][id]
	}
	for _, r := range residents {
		for _, asset := range []models.Asset{models.AssetPoints, models.AssetHours} {
			acct := models.AccountOf(r.ID, asset)
			var all []models.Entry
			for before := int64(0); ; {
				page, next, err := w.l.History(ctx, acct, before, 100)
				if err != nil {
					w.t.Fatal(err)
				}
				all = append(all, page...)
				if next == 0 {
					break
				}
				before = next
			}
			byID := map[string]models.Entry{}
			for _, e := range all {
				byID[e.ID()] = e
			}
			for _, e := range all {
				kind, ref := e.Kind, e.Ref
				if e.Kind == models.KindReversal {
					orig, ok := byID[e.Ref]
					if !ok {
						continue
					}
					kind, ref = orig.Kind, orig.Ref
				}
				f := fig(models.MonthOf(e.At, loc).String(), r.ID)
				switch {
				case asset == models.AssetPoints && models.IsEarning(kind):
					f.Earned += e.Delta
					if e.Delta > 0 && e.At.After(f.Reached) {
						f.Reached = e.At
					}
				case asset == models.AssetPoints && kind == models.KindDeduct:
					f.Deducted -= e.Delta
				case asset == models.AssetHours && kind == models.KindService:
					f.Minutes += e.Delta
					if rec, err := w.st.Record(ctx, ref); err == nil {
						fig(models.MonthOf(rec.Start, loc).String(), r.ID).Served += e.Delta
					}
				}
			}
		}
	}
	return out
}

// checkRankings compares the rankings of each month and of the year 2026
// (points ranking and volunteer minutes) with the recomputation.
func (w *honourWorld) checkRankings(residents []models.Resident, months []string) {
	w.t.Helper()
	want := w.recomputeRankings(residents)
	year := map[string]*rankFigures{}
	for m, rows := range want {
		if m[:4] != "2026" {
			continue
		}
		for id, f := range rows {
			y := year[id]
			if y == nil {
				y = &rankFigures{}
				year[id] = y
			}
			y.Earned, y.Deducted, y.Minutes, y.Served = y.Earned+f.Earned, y.Deducted+f.Deducted, y.Minutes+f.Minutes, y.Served+f.Served
			if f.Reached.After(y.Reached) {
				y.Reached = f.Reached
			}
		}
	}
	for _, period := range append(months, "2026") {
		expect := want[period]
		if period == "2026" {
			expect = year
		}
		page, err := w.hs.RankingsPage(ctx, w.as(w.zhang), honour.RankingQuery{Period: period, Limit: 200})
		if err != nil {
			w.t.Fatal(err)
		}
		got := map[string]rankFigures{}
		for _, r := range page.Rows {
			got[r.ResidentID] = rankFigures{
				Earned:   int64(r.Earned),
				Deducted: int64(r.Deducted),
				Minutes:  int64(r.Minutes),
				Reached:  r.Reached,
			}
		}
		for id, f := range expect {
			g, ok := got[id]
			if f.Earned <= 0 {
				if ok {
					w.t.Errorf("%s: %s ranked with %+v, earned nothing net", period, id, g)
				}
				continue
			}
			if !ok || g.Earned != f.Earned || g.Deducted != f.Deducted || g.Minutes != f.Minutes || !g.Reached.Equal(f.Reached) {
				w.t.Errorf("%s: %s ranked %+v (present %v), recomputed %+v", period, id, g, ok, *f)
			}
			delete(got, id)
		}
		for id, g := range got {
			w.t.Errorf("%s: %s ranked %+v, not in the recomputation", period, id, g)
		}
		vols, _, err := w.hs.VolunteerMinutes(ctx, "A", period)
		if err != nil {
			w.t.Fatal(err)
		}
		served := map[string]int64{}
		for _, v := range vols {
			served[v.ResidentID] = v.Served
		}
		for id, f := range expect {
			if f.Served > 0 && served[id] != f.Served {
				w.t.Errorf("%s: %s volunteered %d minutes, recomputed %d", period, id, served[id], f.Served)
			}
			if f.Served <= 0 && served[id] != 0 {
				w.t.Errorf("%s: %s volunteered %d minutes, recomputed none", period, id, served[id])
			}
			delete(served, id)
		}
		if len(served) != 0 {
			w.t.Errorf("%s: volunteers not in the recomputation: %v", period, served)
		}
	}
}

// postRef posts an entry for r at w.at with ref.
func (w *honourWorld) postRef(r models.Resident, asset models.Asset, kind models.EntryKind, delta int64, op, ref string) models.Entry {
	w.t.Helper()
	e, err := w.l.Post(ctx, ledger.Posting{
		OpID:        op,
		Hash:        op,
		Account:     models.AccountOf(r.ID, asset),
		CommunityID: "A",
		Delta:       delta,
		Kind:        kind,
		Ref:         ref,
		Actor:       "staff",
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// served stores an approved service record of r that started at start and
// posts its credit and corrections as the time bank does: the first amount,
// then each later one as the difference from the one before. It returns
// the last entry posted.
func (w *honourWorld) served(r models.Resident, start time.Time, amounts ...int64) models.Entry {
	w.t.Helper()
	rec := models.ServiceRecord{
		ID:          communitytest.NewID(),
		CommunityID: "A",
		ResidentID:  r.ID,
		Category:    "助老",
		Start:       start,
		End:         start.Add(time.Hour),
		Minutes:     models.Minutes(amounts[0]),
		Source:      models.SourceClaim,
		Created:     start,
		State:       models.RecordApproved,
		Credited:    models.Minutes(amounts[len(amounts)-1]),
	}
	if err := w.st.InsertRecord(ctx, rec); err != nil {
		w.t.Fatal(err)
	}
	var last models.Entry
	before := int64(0)
	for i, a := range amounts {
		last = w.postRef(r, models.AssetHours, models.KindService, a-before, fmt.Sprintf("svc:%s:%d", rec.ID, i), rec.ID)
		before = a
	}
	return last
}

// monthOfWrites writes a month's worth of mixed entries at day d of month
// m (UTC): awards, a deduction and its reversal, a reversed award, and
// service records, one of which started the day before the month.
func (w *honourWorld) monthOfWrites(m time.Month, tag string, rs []models.Resident) {
	w.t.Helper()
	at := func(d int) time.Time { return time.Date(2026, m, d, 3, 0, 0, 0, time.UTC) }
	for i, r := range rs {
		w.at = at(2 + i)
		w.postRef(r, models.AssetPoints, models.KindAward, int64(10*(i+1)), tag+":award:"+r.ID, "")
	}
	w.at = at(10)
	w.reverse(w.postRef(rs[0], models.AssetPoints, models.KindAward, 500, tag+":award-reversed", ""))
	w.reverse(w.postRef(rs[1], models.AssetPoints, models.KindDeduct, -7, tag+":deduct-reversed", ""))
	w.postRef(rs[2], models.AssetPoints, models.KindDeduct, -3, tag+":deduct", "")
	w.correctedService(rs[3], models.AssetPoints, 20, 25)
	w.served(rs[0], at(9), 60, 90)
	// Started on the evening of the month before (community time), approved now.
	w.served(rs[1], time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC).Add(-10*time.Hour), 45)
	w.reverse(w.served(rs[2], at(11), 30)) // a credit reversed by staff: the record counts nothing
}

// Issue 15: the rankings summary, kept by a job that reads only the
// entries written since its last run, equals a full recomputation from
// every entry: earnings over several months, deductions, reversals of
// both, corrected service records, and writes racing a run.
func TestIssue15_Rankings_SummaryEqualsFullRecomputation(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	b2 := communitytest.MustBuilding(t, w.cs, w.staff, "2号楼")
	far := w.resident("钱七", communitytest.MustHousehold(t, w.cs, w.staff, b2.ID, "201").ID)
	rs := []models.Resident{w.zhang, w.li, w.wang, w.zhao, far}
	months := []string{"2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"}

	w.monthOfWrites(time.January, "jan", rs)
	w.monthOfWrites(time.February, "feb", rs)
	if _, err := w.hs.SummariseRankings(ctx, w.at); err != nil {
		t.Fatal(err)
	}
	w.checkRankings(rs, months)
	w.monthOfWrites(time.March, "mar", rs)
	w.at = time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	w.reverse(w.postRef(far, models.AssetPoints, models.KindAward, 40, "mar:late", "")) // a reversal in the month after a run
	w.monthOfWrites(time.April, "apr", rs[1:])
	if _, err := w.hs.SummariseRankings(ctx, w.at); err != nil {
		t.Fatal(err)
	}
	w.checkRankings(rs, months)

	// Writes racing two runs: each writer awards and reverses; a run sees
	// any part of them, and the run after sees the rest, once.
	w.at = time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC)
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for n := range 4 {
				op := fmt.Sprintf("may:%d:%d", i, n)
				e, err := w.l.Post(ctx, ledger.Posting{
					OpID:        op,
					Hash:        op,
					Account:     models.AccountOf(r.ID, models.AssetPoints),
					CommunityID: "A",
					Delta:       int64(5 + n),
					Kind:        models.KindAward,
					Actor:       "staff",
				})
				if err != nil {
					errs <- err
					return
				}
				if n%2 == 1 {
					if _, err := w.l.Reverse(ctx, e.Account, e.Seq, "更正", "staff"); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := w.hs.SummariseRankings(ctx, w.at); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := w.hs.SummariseRankings(ctx, w.at); err != nil {
		t.Fatal(err)
	}
	w.checkRankings(rs, months)
}

// cutStore is the store with the rankings job's saves failing after a
// number of them, as a process that dies part way leaves them.
type cutStore struct {
	*store.Store
	accounts atomic.Int64 // account summaries still saved
	months   atomic.Int64 // month summaries still saved
}

var errCut = errors.New("the process died here")

func (c *cutStore) SaveRankAccount(ctx context.Context, a models.RankAccount) error {
	if c.accounts.Add(-1) < 0 {
		return errCut
	}
	return c.Store.SaveRankAccount(ctx, a)
}

func (c *cutStore) SaveRankMonth(ctx context.Context, m models.RankMonth) error {
	if c.months.Add(-1) < 0 {
		return errCut
	}
	return c.Store.SaveRankMonth(ctx, m)
}

// Issue 15: a rankings run cut short (after some residents' summaries, or
// after some months) and run again counts nothing twice and leaves no
// month behind.
func TestIssue15_Rankings_RunCutShortCountsNothingTwice(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	cut := &cutStore{Store: w.st}
	clock := func() time.Time { return w.at }
	dying := honour.New(honour.Deps{
		Store:    cut,
		Ledger:   w.l,
		Policies: policy.New(w.st, clock),
		Heads:    w.cs,
		NewID:    communitytest.NewID,
		Now:      clock,
		Notify:   community.NoNotifier{},
	})
	rs := []models.Resident{w.zhang, w.li, w.wang, w.zhao}
	months := []string{"2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"}
	for i, c := range []struct{ accounts, months int64 }{
		{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {4, 1},
	} {
		m := time.Month(1 + i%6)
		w.monthOfWrites(m, fmt.Sprintf("cut%d", i), rs)
		cut.accounts.Store(c.accounts)
		cut.months.Store(c.months)
		if _, err := dying.SummariseRankings(ctx, w.at); !errors.Is(err, errCut) {
			t.Fatalf("cut after %d accounts and %d months: %v, want the run to die", c.accounts, c.months, err)
		}
		if i%2 == 1 {
			// More entries between the run that died and the next.
			w.reverse(w.postRef(w.li, models.AssetPoints, models.KindAward, 9, fmt.Sprintf("cut%d:between", i), ""))
			w.postRef(w.wang, models.AssetPoints, models.KindAward, 4, fmt.Sprintf("cut%d:between2", i), "")
		}
		if _, err := w.hs.SummariseRankings(ctx, w.at); err != nil {
			t.Fatal(err)
		}
		w.checkRankings(rs, months)
	}
}

// Issue 15: the points ranking is paged by cursor: a walk of pages of two
// gives the whole ranking once, in order, with its ranks; a cursor the
// ranking did not give out is INVALID_CURSOR.
func TestIssue15_Rankings_CursorWalk(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	rs := []models.Resident{w.zhang, w.li, w.wang, w.zhao}
	for i := range 5 {
		rs = append(rs, w.resident(fmt.Sprintf("孙%d", i), w.hh2.ID))
	}
	for i, r := range rs {
		w.at = time.Date(2026, 6, 1+i, 0, 0, 0, 0, time.UTC)
		w.postRef(r, models.AssetPoints, models.KindAward, int64(10*(1+i%3)), "walk:"+r.ID, "") // ties on points
	}
	whole, err := w.hs.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{Period: "2026-06", Limit: 200})
	if err != nil || whole.Next != "" || len(whole.Rows) != len(rs) {
		t.Fatalf("whole ranking: %d rows, next %q, %v", len(whole.Rows), whole.Next, err)
	}
	var walked []models.RankRow
	pages := 0
	for cursor := ""; ; pages++ {
		page, err := w.hs.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{
			Period: "2026-06",
			Limit:  2,
			Cursor: cursor,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Rows) > 2 {
			t.Fatalf("page of %d rows", len(page.Rows))
		}
		walked = append(walked, page.Rows...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if pages != 4 || len(walked) != len(whole.Rows) {
		t.Fatalf("walked %d rows in %d pages, want %d in 5", len(walked), pages+1, len(whole.Rows))
	}
	for i, r := range walked {
		if r.Rank != i+1 || r.ResidentID != whole.Rows[i].ResidentID || r.Name != whole.Rows[i].Name {
			t.Fatalf("row %d walked %+v, whole %+v", i, r, whole.Rows[i])
		}
	}
	for _, bad := range []string{"x", "1.2.3", "1.2.3.4.", "!.0.0.0.id"} {
		if _, err := w.hs.RankingsPage(ctx, w.as(w.li), honour.RankingQuery{Period: "2026-06", Cursor: bad}); !errors.Is(err, models.ErrBadCursor) {
			t.Fatalf("cursor %q: %v, want INVALID_CURSOR", bad, err)
		}
	}
}
