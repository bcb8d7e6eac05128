package settlement_test

import (
	"errors"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// TestIssue16_Perf_FirstLiabilitySummariesAtStartThenOnDemandWithoutSingleflight:
// the start's first summaries sum every community that has none, and
// equal the full recomputation; a later start sums nothing. A community
// created after that (no summary yet) answers eight reports at once, each
// equal to the full recomputation, and is then summed like the others.
func TestIssue16_Perf_FirstLiabilitySummariesAtStartThenOnDemandWithoutSingleflight(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2025, 3, 1, 0, 0, 0, 0, sh))
	for id, c := range map[string]string{
		"r-1": "A",
		"r-2": "A",
		"r-b": "B",
		"r-c": "C",
	} {
		w.resident(id, c)
	}
	day := func(m, d int) time.Time { return time.Date(2025, time.Month(m), d, 9, 0, 0, 0, sh) }
	w.post("r-1", "A", day(3, 2), models.KindAward, 50)
	w.post("r-2", "A", day(3, 3), models.KindHonour, 100)
	w.post("r-2", "A", day(3, 4), models.KindDeduct, -15)
	w.post("r-b", "B", day(3, 5), models.KindAward, 1000)
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, sh)
	w.setClock(now)
	if n, err := w.svc.FirstLiabilitySummaries(ctx, now); err != nil || n != 2 {
		t.Fatalf("first start summed %d communities (%v), want 2", n, err)
	}
	for _, id := range []string{"A", "B"} {
		saved, err := w.st.LiabilitySummary(ctx, id)
		if err != nil {
			t.Fatalf("community %s has no summary after the start: %v", id, err)
		}
		full, err := w.svc.RecomputeLiability(ctx, id, now)
		if err != nil {
			t.Fatal(err)
		}
		if saved.Outstanding != full.Outstanding || saved.Residents != full.Residents || saved.Held != full.Held {
			t.Fatalf("community %s: summary %+v, recomputation %+v", id, saved, full)
		}
	}
	if n, err := w.svc.FirstLiabilitySummaries(ctx, now); err != nil || n != 0 {
		t.Fatalf("a later start summed %d communities (%v), want 0", n, err)
	}

	// A community created since: no summary, eight first reports at once.
	c := models.Community{
		ID:       "C",
		Name:     "社区C",
		TimeZone: "Asia/Shanghai",
		Created:  now,
	}
	if err := w.st.InsertCommunity(ctx, c); err != nil {
		t.Fatal(err)
	}
	w.post("r-c", "C", now.Add(time.Minute), models.KindAward, 33)
	later := now.Add(5 * time.Minute)
	w.setClock(later)
	if _, err := w.st.LiabilitySummary(ctx, "C"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("community C has a summary before its first report: %v", err)
	}
	full, err := w.svc.RecomputeLiability(ctx, "C", later)
	if err != nil {
		t.Fatal(err)
	}
	errs := atonce.Errors(8, func(int) error {
		r, err := w.svc.Liability(ctx, staffOf("C"), "")
		if err == nil && (r.Outstanding != full.Outstanding || r.Residents != full.Residents || r.Held != full.Held) {
			err = errors.New("report differs from the recomputation")
		}
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("first reports of C: %v (recomputation %+v)", err, full)
	}
	if n, err := w.svc.FirstLiabilitySummaries(ctx, later); err != nil || n != 0 {
		t.Fatalf("after C's report, a start summed %d (%v), want 0", n, err)
	}
}
