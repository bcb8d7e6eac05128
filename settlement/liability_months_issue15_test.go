package settlement_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// Issue 15: the liability job keeps a month's saved days as one document
// once the month has been over for a day, and a series reads it in one
// lookup instead of one a day, with the same points. A run that began
// before midnight on a month's last day and saves after it is still seen:
// the month is not closed on the next month's first day.
func TestIssue15_LiabilitySeriesReadsClosedMonthsAsOneDocument(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2025, 3, 1, 9, 0, 0, 0, sh))
	w.resident("s-1", "A")
	run := w.summariseAt
	// One point on each of March's first 30 days.
	for d := 1; d <= 30; d++ {
		w.post("s-1", "A", time.Date(2025, 3, d, 8, 0, 0, 0, sh), models.KindAward, 1)
		run(time.Date(2025, 3, d, 12, 0, 0, 0, sh))
	}
	w.post("s-1", "A", time.Date(2025, 3, 31, 8, 0, 0, 0, sh), models.KindAward, 10)
	run(time.Date(2025, 3, 31, 23, 50, 0, 0, sh)) // 40
	w.post("s-1", "A", time.Date(2025, 3, 31, 23, 55, 0, 0, sh), models.KindAward, 5)
	run(time.Date(2025, 4, 1, 0, 0, 30, 0, sh)) // 1 April: 45; March over for less than a day
	// A run that began at 23:59:50 on 31 March saves March's last day now.
	run(time.Date(2025, 3, 31, 23, 59, 50, 0, sh)) // 45 on 31 March
	series := func() (string, int64) {
		t.Helper()
		before := w.st.CommandCounts().Finds
		got, err := w.svc.LiabilitySeries(ctx, staffA(), "2025-03-01", "2025-04-02")
		if err != nil {
			t.Fatal(err)
		}
		var points []string
		for _, p := range got {
			points = append(points, p.Day[5:]+":"+strconv.FormatInt(p.Outstanding, 10))
		}
		return strings.Join(points, " "), w.st.CommandCounts().Finds - before
	}
	open, openFinds := series()
	if !strings.HasSuffix(open, "03-30:30 03-31:45 04-01:45") || !strings.HasPrefix(open, "03-01:1 03-02:2 ") {
		t.Fatalf("the series before March is closed: %s", open)
	}
	run(time.Date(2025, 4, 2, 0, 30, 0, 0, sh)) // March over for a day: closed
	closed, closedFinds := series()
	if closed != open+" 04-02:45" {
		t.Fatalf("with March closed the series is %s; before it was %s (and 04-02:45 since)", closed, open)
	}
	// Both read a document for each month (March's missing while open)
	// and April's days; March's 31 days cost 31 lookups while it is open.
	if openFinds-closedFinds != 31 {
		t.Fatalf("the series sent %d finds with March open and %d with it closed; want 31 fewer closed", openFinds, closedFinds)
	}
}
