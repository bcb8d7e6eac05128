package models

import (
	"testing"
	"time"
)

func TestPointsExpiryFIFO(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	day := func(m time.Month, d int) time.Time { return time.Date(2024, m, d, 10, 0, 0, 0, sh) }
	afterJan := Month{2024, time.January}.End(sh)
	afterMar := Month{2024, time.March}.End(sh)
	type e struct {
		kind  EntryKind
		delta int64
		at    time.Time
	}
	tests := []struct {
		name    string
		entries []e
		cutoff  time.Time
		want    int64
	}{
		{"worked example, cutoff after January", []e{{KindAward, 50, day(1, 5)}, {KindService, 30, day(3, 5)}, {KindHold, -60, day(3, 20)}}, afterJan, 0},
		{"worked example, cutoff after March", []e{{KindAward, 50, day(1, 5)}, {KindService, 30, day(3, 5)}, {KindHold, -60, day(3, 20)}}, afterMar, 20},
		{"nothing spent", []e{{KindAward, 50, day(1, 5)}, {KindAward, 30, day(3, 5)}}, afterJan, 50},
		{"a released hold is not spent", []e{{KindAward, 50, day(1, 5)}, {KindHold, -40, day(2, 1)}, {KindRelease, 40, day(2, 3)}}, afterJan, 50},
		{"a late release gives the old points back", []e{{KindAward, 100, day(1, 5)}, {KindHold, -40, day(1, 6)}, {KindRelease, 40, day(4, 1)}}, afterJan, 100},
		{"expired before counts", []e{{KindAward, 50, day(1, 5)}, {KindExpiry, -30, day(2, 1)}}, afterMar, 20},
		{"a reversed award is spent", []e{{KindAward, 50, day(1, 5)}, {KindReversal, -50, day(1, 6)}, {KindAward, 10, day(3, 1)}}, afterJan, 0},
		{"a reversed deduction gives back", []e{{KindAward, 100, day(1, 5)}, {KindDeduct, -30, day(1, 6)}, {KindReversal, 30, day(1, 7)}}, afterJan, 100},
		{"transfer in is earned, transfer out spent", []e{{KindTransferIn, 70, day(1, 5)}, {KindTransferOut, -20, day(4, 1)}}, afterJan, 50},
		{"earned on the cutoff instant is not yet due", []e{{KindAward, 50, afterJan}}, afterJan, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := NewPointsExpiry(tc.cutoff)
			bal := int64(0)
			var es []Entry
			for i, in := range tc.entries {
				bal += in.delta
				es = append(es, Entry{
					Seq:          int64(i + 1),
					Kind:         in.kind,
					Delta:        in.delta,
					BalanceAfter: bal,
					At:           in.at,
				})
			}
			// Newest first, as the ledger's history gives them.
			for i := len(es) - 1; i >= 0; i-- {
				x.Add(es[i])
			}
			if got := x.Due(0); got != tc.want {
				t.Fatalf("due = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestExpiryCutoff(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	// The run on 1 Nov 2026 (for October) expires what was earned before
	// 1 Nov 2024 with a 24-month lifetime.
	got := ExpiryCutoff(time.Date(2026, 11, 1, 3, 0, 0, 0, sh), sh, 24)
	if want := time.Date(2024, 11, 1, 0, 0, 0, 0, sh); !got.Equal(want) {
		t.Fatalf("cutoff = %s, want %s", got, want)
	}
}
