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

// RankPageSize is how many rows a stored ranking page holds
// (docs/PERFORMANCE.md, "Rankings summary (issue 15)").
const RankPageSize = 50

// RankHead names the current generation of one stored ranking: the ranked,
// named pages of a community's points ranking of one period (a month
// "2026-11" or a year "2026"), of the whole community (List "all") or of
// one building (List the building's id). The pages of a generation are in
// one of two slots; a run writes the slot the head does not name and then
// the head, so a reader that reads the head and then its pages never mixes
// two generations.
type RankHead struct {
	CommunityID string
	Period      string
	List        string
	Slot        int    // 0 or 1: the slot the pages are in
	Gen         int64  // counts the heads written
	Digest      string // names the whole ranking: unchanged, nothing is written
	At          time.Time
	Rows        int
	Pages       []RankHeadPage
	// Groups are the buildings of the volunteer-hours ranking (List
	// "volunteers"), in ranking order, each with where its rows start in
	// the pages; empty for a points ranking.
	Groups []RankGroup
}

// RankGroup is one building of a stored volunteer-hours ranking: its
// name and minutes, and its volunteers' rows: Count rows from row Start
// of the ranking's pages.
type RankGroup struct {
	BuildingID string
	Name       string
	Minutes    int64
	Start      int
	Count      int
}

// RankBuilding is one building of a volunteer-hours ranking with its
// volunteers in order (Minutes their minutes, Name masked).
type RankBuilding struct {
	BuildingID string
	Name       string
	Minutes    int64
	Volunteers []RankRow
}

// RankHeadPage is what a head says of one of its pages: the digest of its
// rows (a page read must carry it, or it belongs to another generation)
// and the position of its first row (a cursor), so that a cursor finds its
// page.
type RankHeadPage struct {
	Digest string
	First  string
}

// RankPage is one stored page of a ranking: its rows, ranked and named
// (masked), and the digest of the rows.
type RankPage struct {
	CommunityID string
	Period      string
	List        string
	Slot        int
	N           int
	Digest      string
	Rows        []RankRow
}
