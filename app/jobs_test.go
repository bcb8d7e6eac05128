package main

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// Issue 11.12: the nightly catch-up, which records the settlement events a
// crash left unwritten, fires before the monthly settlement on the 1st, so
// those events are on their own month's statement.
func TestIssue11_12_CatchUpRunsBeforeSettlement(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	s := &system{loc: loc, now: time.Now}
	next := map[string]time.Time{}
	midnight := time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	for _, sj := range s.schedule() {
		spec, err := cron.ParseStandard(sj.spec)
		if err != nil {
			t.Fatalf("%s: %v", sj.job.Name, err)
		}
		next[sj.job.Name] = spec.Next(midnight.Add(-time.Nanosecond))
	}
	catchUp, settle := next["hold-expiry"], next["settlement"]
	if catchUp.IsZero() || settle.IsZero() || !catchUp.Before(settle) {
		t.Fatalf("on the 1st hold-expiry fires at %v and settlement at %v; want the catch-up first", catchUp, settle)
	}
}
