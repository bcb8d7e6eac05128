package models

import (
	"fmt"
	"testing"
	"time"
)

// Issue 14 (activities of several days): the days an activity runs on, in
// its community's zone: one for an activity within a day, both for one
// past midnight, none more for one ending at midnight, each for three.
func TestIssue14_ActivityDays_DaysInTheZone(t *testing.T) {
	sh := time.FixedZone("CST", 8*60*60)
	at := func(day, hour int) time.Time { return time.Date(2026, 7, day, hour, 0, 0, 0, sh) }
	for _, c := range []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"morning", at(1, 9), at(1, 11), []string{"2026-07-01"}},
		{"evening patrol", at(1, 20), at(2, 2), []string{"2026-07-01", "2026-07-02"}},
		{"ends at midnight", at(1, 20), at(2, 0), []string{"2026-07-01"}},
		{"three days", at(1, 9), at(3, 17), []string{"2026-07-01", "2026-07-02", "2026-07-03"}},
		{"UTC evening is the next morning", time.Date(2026, 6, 30, 23, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 1, 0, 0, 0, time.UTC), []string{"2026-07-01"}},
		{"across a month", at(0, 9), at(1, 9), []string{"2026-06-30", "2026-07-01"}},
	} {
		a := Activity{Start: c.start, End: c.end}
		if got := a.Days(sh); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
