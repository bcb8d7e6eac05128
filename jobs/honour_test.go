package jobs

import (
	"testing"
	"time"
)

// The allowance job settles the month before the one it runs in, in the
// community's zone: 1 November 00:30 in Shanghai is still 31 October UTC.
func TestPreviousMonth(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[time.Time]string{
		time.Date(2026, 10, 31, 16, 30, 0, 0, time.UTC): "2026-10",
		time.Date(2026, 10, 31, 15, 30, 0, 0, time.UTC): "2026-09",
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC):     "2026-12",
	}
	for at, want := range cases {
		if got := PreviousMonth(loc)(at); got != want {
			t.Errorf("PreviousMonth(%v) = %s, want %s", at, got, want)
		}
	}
}
