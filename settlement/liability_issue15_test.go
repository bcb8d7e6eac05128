package settlement_test

import (
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// Issue 15: the liability report's points figures come from a summary the
// liability job keeps up to date by reading only new entries; after mixed
// writes (earnings over two years, holds, releases, reversals, deductions,
// expiry, writes racing the job) the summary equals the full recomputation
// from every entry, and the report shows it with the time it was summed.
func TestIssue15_Liability_SummaryEqualsFullRecomputationAfterMixedWrites(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2024, 1, 1, 0, 0, 0, 0, sh))
	residents := []string{"r-1", "r-2", "r-3", "r-4", "r-5"}
	for _, id := range append(residents, "r-b") {
		c := "A"
		if id == "r-b" {
			c = "B"
		}
		w.resident(id, c)
	}
	day := func(m, d int) time.Time { return time.Date(2024, time.Month(m), d, 9, 0, 0, 0, sh) }
	w.post("r-1", "A", day(1, 10), models.KindAward, 50)
	w.post("r-1", "A", day(3, 10), models.KindService, 30)
	w.post("r-1", "A", day(3, 20), models.KindHold, -60)
	w.post("r-1", "A", day(3, 21), models.KindRelease, 20)
	w.post("r-2", "A", day(2, 1), models.KindHonour, 100)
	w.post("r-2", "A", day(2, 2), models.KindDeduct, -15)
	w.post("r-3", "A", day(5, 5), models.KindAward, 7)
	w.post("r-b", "B", day(1, 20), models.KindAward, 1000)
	if _, err := w.l.Reverse(ctx, models.AccountOf("r-2", models.AssetPoints), 2, "扣错了", "staff"); err != nil {
		t.Fatal(err)
	}
	check := func(when string, now time.Time) {
		t.Helper()
		w.setClock(now)
		if n, err := w.svc.SummariseLiability(ctx, now); err != nil || n != 2 {
			t.Fatalf("%s: the job summed %d communities: %v", when, n, err)
		}
		report, err := w.svc.Liability(ctx, staffA(), "")
		if err != nil {
			t.Fatal(err)
		}
		full, err := w.svc.RecomputeLiability(ctx, "A", now)
		if err != nil {
			t.Fatal(err)
		}
		got := models.LiabilitySummary{
			CommunityID: report.CommunityID,
			At:          report.At,
			Residents:   report.Residents,
			Outstanding: report.Outstanding,
			Held:        report.Held,
			Expiring30:  report.Expiring30,
			Expiring60:  report.Expiring60,
			Expiring90:  report.Expiring90,
			Entries:     full.Entries,
		}
		if got != full {
			t.Fatalf("%s: the report shows %+v; the full recomputation is %+v", when, got, full)
		}
		if full.Outstanding == 0 || full.Expiring90 == 0 {
			t.Fatalf("%s: the recomputation has nothing to compare: %+v", when, full)
		}
	}
	// Cutoffs fall in 2024: January's and March's earnings expire by then.
	check("first run", time.Date(2025, 12, 15, 12, 0, 0, 0, sh))

	// Writes race the next run: each resident earns, spends and has an
	// entry reversed while the job sums.
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range residents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := range 6 {
				w.post(id, "A", day(6+k, 1+i), models.KindAward, int64(10+k))
			}
			w.post(id, "A", day(12, 1+i), models.KindHold, -5)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		if _, err := w.svc.SummariseLiability(ctx, w.clock.now()); err != nil {
			t.Error(err)
		}
	}()
	close(start)
	wg.Wait()
	if _, err := w.l.Reverse(ctx, models.AccountOf("r-4", models.AssetPoints), 3, "录错了", "staff"); err != nil {
		t.Fatal(err)
	}
	w.setClock(time.Date(2025, 12, 20, 12, 0, 0, 0, sh))
	w.post("r-1", "A", day(12, 20), models.KindExpiry, -10)
	check("after the racing writes", time.Date(2026, 1, 10, 12, 0, 0, 0, sh))

	// Between runs the report is the last summary, saying when it was summed.
	w.post("r-5", "A", day(12, 30), models.KindAward, 1)
	later := time.Date(2026, 1, 10, 12, 5, 0, 0, sh)
	w.setClock(later)
	r, err := w.svc.Liability(ctx, staffA(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !r.At.Equal(time.Date(2026, 1, 10, 12, 0, 0, 0, sh)) {
		t.Fatalf("the report says it was summed at %v", r.At)
	}
	check("after one more entry", later)
	if b, err := w.svc.RecomputeLiability(ctx, "B", later); err != nil || b.Outstanding != 1000 {
		t.Fatalf("community B: %+v, %v", b, err)
	}
}
