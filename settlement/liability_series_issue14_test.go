package settlement_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// Issue 14.3: the points liability over time is one point per day the
// liability job ran (its last summary that day, community time), oldest
// first, within the days asked for; a community sees only its own; bad
// days are refused.
func TestIssue14_3_LiabilitySeriesOnePointPerDaySummed(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2025, 3, 1, 9, 0, 0, 0, sh))
	for _, id := range []string{"s-1", "s-b"} {
		c := "A"
		if id == "s-b" {
			c = "B"
		}
		w.resident(id, c)
	}
	run := w.summariseAt
	w.post("s-1", "A", time.Date(2025, 3, 1, 10, 0, 0, 0, sh), models.KindAward, 40)
	run(time.Date(2025, 3, 1, 12, 0, 0, 0, sh))
	w.post("s-1", "A", time.Date(2025, 3, 1, 13, 0, 0, 0, sh), models.KindAward, 10)
	run(time.Date(2025, 3, 1, 23, 50, 0, 0, sh)) // the day's last run: 50
	w.post("s-1", "A", time.Date(2025, 3, 3, 8, 0, 0, 0, sh), models.KindAward, 25)
	run(time.Date(2025, 3, 3, 9, 0, 0, 0, sh)) // 75; nothing on the 2nd
	w.post("s-b", "B", time.Date(2025, 3, 3, 9, 30, 0, 0, sh), models.KindAward, 999)
	run(time.Date(2025, 3, 3, 10, 0, 0, 0, sh))

	series, err := w.svc.LiabilitySeries(ctx, staffA(), "2025-02-27", "2025-03-03")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range series {
		got = append(got, p.Day+":"+strconv.FormatInt(p.Outstanding, 10))
	}
	if want := "2025-03-01:50 2025-03-03:75"; strings.Join(got, " ") != want {
		t.Fatalf("series %q; want %q", strings.Join(got, " "), want)
	}
	if series, err := w.svc.LiabilitySeries(ctx, staffA(), "", ""); err != nil || len(series) != 2 {
		t.Fatalf("the default 90 days up to today: %v %v", series, err)
	}
	for _, c := range []struct{ from, to string }{{"2025-03-04", "2025-03-01"}, {"2025-3-1", ""}, {"2023-01-01", "2025-03-01"}} {
		if _, err := w.svc.LiabilitySeries(ctx, staffA(), c.from, c.to); !errors.Is(err, models.ErrValidation) {
			t.Fatalf("from %q to %q: %v; want VALIDATION_FAILED", c.from, c.to, err)
		}
	}
}
