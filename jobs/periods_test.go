package jobs

import (
	"testing"
	"time"
)

func TestPreviousMonthInLocation(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	period := PreviousMonth(sh)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		// 02:00 on 1 November in Shanghai is still 31 October in UTC.
		{time.Date(2026, 11, 1, 2, 0, 0, 0, sh), "2026-10"},
		{time.Date(2026, 10, 31, 23, 0, 0, 0, sh), "2026-09"},
		{time.Date(2027, 1, 1, 2, 0, 0, 0, sh), "2026-12"},
	} {
		if got := period(tc.at); got != tc.want {
			t.Errorf("period at %s = %s, want %s", tc.at, got, tc.want)
		}
	}
}
