package honour_test

import (
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// Issue 15: the monthly allowance run costs the months not yet closed, not
// the community's history. Zhang logs three duties a month for two years
// and the run pays each month at its end; one duty is confirmed only five
// months after its month closed and is carried once. The last run sends no
// more finds than the sixth, give or take the thirty its lists' blocks and
// hints vary by (the old run read every duty ever logged, and
// each one's claim, twice: about 340 more finds by the last run) and no
// more scans, and every confirmed duty is paid exactly once.
func TestIssue15_AllowanceRunCostsTheOpenMonthsNotTheHistory(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustHeadFromSeptember()
	month, err := models.ParseMonth("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	const months = 24
	var late models.Duty
	var finds, scans []int64
	var duties []models.Duty
	for r := range months {
		w.at = month.Start(time.UTC).Add(14 * 24 * time.Hour)
		for i, name := range []string{"月度例会", "通知送达", "问题上报"} {
			d := w.duty(w.zhang, month.String(), name, r != 2 || i != 2)
			duties = append(duties, d)
			if r == 2 && i == 2 {
				late = d
			}
		}
		if r == 8 {
			if _, err := w.hs.RuleDuty(ctx, w.staff, late.ID, true, "补充材料后属实"); err != nil {
				t.Fatal(err)
			}
		}
		w.at = month.End(time.UTC).Add(-time.Hour)
		before := w.st.CommandCounts()
		w.payAllowances(month.String())
		after := w.st.CommandCounts()
		finds = append(finds, after.Finds-before.Finds)
		scans = append(scans, after.Scans-before.Scans)
		month = month.Next()
	}
	t.Logf("finds per run: %v; scans per run: %v", finds, scans)
	// A run's finds vary by a dozen with the lists' blocks and hints.
	if last := finds[months-1]; last > finds[5]+30 {
		t.Fatalf("the run after %d months sent %d finds, after 6 months %d: it grows with history", months, last, finds[5])
	}
	if last := scans[months-1]; last > scans[5] {
		t.Fatalf("the run after %d months sent %d scans, after 6 months %d", months, last, scans[5])
	}
	for _, d := range duties {
		ev, err := w.st.HonourEvent(ctx, "allowance-duty:"+d.ID)
		if err != nil {
			t.Fatalf("duty %s of %s paid in no month: %v", d.Duty, d.Month, err)
		}
		if want := d.Month; d.ID == late.ID {
			if ev.Month <= late.Month || ev.Month > "2027-06" {
				t.Fatalf("the late duty paid in %s; want a month after its own, once it was confirmed", ev.Month)
			}
		} else if ev.Month != want {
			t.Fatalf("duty %s of %s paid in %s", d.Duty, d.Month, ev.Month)
		}
	}
	// The closing pass of the last month is the next run's: 23 months paid
	// in full (base 50 and 20 a duty), the last one's open pass too.
	want := int64(months*50 + len(duties)*20)
	if got := w.points(w.zhang.ID); got != want {
		t.Fatalf("paid %d over %d months, want %d", got, months, want)
	}
}
