package models

import "time"

// RankBucket is what one resident's ledger entries of one community and
// month (in the community's zone) add to the rankings, net of reversals
// (a reversal counts against the kind of the entry it reverses).
type RankBucket struct {
	CommunityID string
	Month       string // "2026-05"
	Earned      int64  // points earned (earning kinds)
	Deducted    int64  // points deducted
	Minutes     int64  // verified service minutes, by the month of the entry
	Served      int64  // service-record minutes, by the month the service started
	Reached     time.Time
}

// Zero reports whether the bucket adds nothing to any ranking.
func (b RankBucket) Zero() bool {
	return b.Earned == 0 && b.Deducted == 0 && b.Minutes == 0 && b.Served == 0
}

// RankAccount is the rankings' summary of one resident's points and hours
// accounts as of their entries PointsSeq and HoursSeq (docs/PERFORMANCE.md,
// "Rankings summary (issue 15)"): a job brings it up to date by reading
// only the entries written since.
type RankAccount struct {
	CommunityID string
	ResidentID  string
	PointsSeq   int64
	HoursSeq    int64
	Buckets     []RankBucket
}

// Bucket returns the bucket of community and month, adding it if new.
func (a *RankAccount) Bucket(communityID, month string) *RankBucket {
	for i := range a.Buckets {
		if a.Buckets[i].CommunityID == communityID && a.Buckets[i].Month == month {
			return &a.Buckets[i]
		}
	}
	a.Buckets = append(a.Buckets, RankBucket{CommunityID: communityID, Month: month})
	return &a.Buckets[len(a.Buckets)-1]
}

// RankMonthRow is one resident's figures in a community's month, with the
// building of the resident's household when it was summed.
type RankMonthRow struct {
	ResidentID string
	BuildingID string
	Earned     int64
	Deducted   int64
	Minutes    int64
	Served     int64
	Reached    time.Time
}

// RankMonth is a community's rankings summary of one month: a row per
// resident with anything in it. Digest names its rows, so that a run
// rewrites only the months that changed.
type RankMonth struct {
	CommunityID string
	Month       string
	Digest      string
	Rows        []RankMonthRow
}

// RankState is when a community's rankings were last summed, and the
// months that have a saved summary.
type RankState struct {
	CommunityID string
	At          time.Time
	Months      []string
}
