package models

import (
	"time"
)

// Activity is a 志愿活动: a volunteer event with a place, a time window, a
// capacity and the most minutes one person may be credited for it.
type Activity struct {
	ID           string
	CommunityID  string
	Title        string
	Category     string // 助老, 环境, 垃圾分类, 文明劝导, 治安巡逻 …
	Place        string
	Organisation string // who vouches for the hours on a certificate
	Start, End   time.Time
	Capacity     int
	MaxMinutes   Minutes // most minutes one person is credited for it
	SelfCheckin  bool    // residents may scan the QR code themselves
	CreatedBy    string
	Created      time.Time
}

// Signup is one resident's place at an activity. Gen counts the resident's
// sign-ups at the activity, so one cancelled may be followed by another.
type Signup struct {
	ID          string
	ActivityID  string
	CommunityID string
	ResidentID  string
	Gen         int
	Slot        string // the capacity slot it holds; empty until taken
	Cancelled   bool
	At          time.Time
}

// RecordState is where a service record stands.
type RecordState string

const (
	RecordPending  RecordState = "pending"
	RecordApproved RecordState = "approved"
	RecordRejected RecordState = "rejected"
	// RecordVoid holds the id of a record that was refused (it overlapped
	// another) or whose request died before storing it, so that its links
	// on the per-day index stop counting and it can never be stored later.
	// Nobody sees a void record: reads treat it as missing.
	RecordVoid RecordState = "void"
)

// RecordSource says how a service record came about.
type RecordSource string

const (
	SourceAttendance RecordSource = "attendance" // check-in and check-out
	SourceClaim      RecordSource = "claim"      // the resident's own claim
)

// ServiceRecord is a 志愿服务记录: one resident's service, pending until the
// organiser or staff verify it. State, Credited and the decision fields are
// a cache of the keyed decision; the decision itself is never rewritten.
type ServiceRecord struct {
	ID           string
	CommunityID  string
	ResidentID   string
	ActivityID   string // empty for a claim
	Category     string
	Organisation string
	Description  string
	Start, End   time.Time
	Minutes      Minutes // as attended or claimed
	Source       RecordSource
	Created      time.Time

	State         RecordState
	Credited      Minutes // hours credited after caps and corrections
	Points        Points
	PolicyVersion int
	DecidedBy     string
	DecidedAt     time.Time
	Reason        string
}

// Decision is the one verdict on a service record, written once.
type Decision struct {
	RecordID string
	Approve  bool
	Minutes  Minutes // asked to credit, before the daily cap; 0 when rejected
	Reason   string
	Actor    string
	At       time.Time
}

// Correction is a volunteer's request to change a record (民政部令第67号
// gives volunteers that right) and, once decided, staff's answer.
type Correction struct {
	ID         string
	RecordID   string
	ResidentID string
	N          int
	Minutes    Minutes // what the volunteer asks for
	Reason     string
	At         time.Time

	Decided  bool
	Accepted bool
	Answer   string
	Actor    string
	Before   Minutes // credited before
	After    Minutes // credited after
	DecideAt time.Time
}

// Link is one step of a keyed chain: a per-resident sequence (day quota,
// points carry, day index, yearly gifts) whose next step is an insert at
// N+1, so concurrent writers cannot both take it.
type Link struct {
	Chain     string
	N         int64
	Ref       string // what wrote it (a record, a gift)
	Amount    int64
	Total     int64 // running sum of Amount
	Remainder int64 // points carry: minute-points not yet a whole point
	Before    int64 // carry before this link
	Start     time.Time
	End       time.Time
	At        time.Time
}

// ID is the link's key.
func (l Link) ID() string { return LinkID(l.Chain, l.N) }

// LinkID is the key of step n of a chain.
func LinkID(chain string, n int64) string {
	return chain + ":" + itoa12(n)
}

func itoa12(n int64) string {
	b := []byte("000000000000")
	for i := len(b) - 1; i >= 0 && n > 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

// PointsFor turns minutes into points at pph points per hour, with carry
// the minute-points left over from earlier records (0..59): three 40-minute
// records earn what one 2-hour record does. Minutes taken back (m < 0, a
// correction down) give negative points, rounded down, so rest stays in
// 0..59 and the points of all records always add up to what all their
// minutes earn.
func PointsFor(carry int64, m Minutes, pph Points) (points Points, rest int64) {
	total := carry + int64(m)*int64(pph)
	points, rest = Points(total/60), total%60
	if rest < 0 {
		points, rest = points-1, rest+60
	}
	return points, rest
}

// AidKind says whether a mutual-aid post asks for help or offers it.
type AidKind string

const (
	AidRequest AidKind = "request"
	AidOffer   AidKind = "offer"
)

// AidState is where a mutual-aid post stands.
type AidState string

const (
	AidOpen      AidState = "open"
	AidAccepted  AidState = "accepted"
	AidDone      AidState = "done" // the helper says the help happened
	AidDisputed  AidState = "disputed"
	AidConfirmed AidState = "confirmed" // hours moved
	AidCancelled AidState = "cancelled"
)

// MutualAid is a 互助 post: a request for help or an offer of it. Hours
// move from the requester (or the community fund) to the helper once the
// requester confirms.
type MutualAid struct {
	ID          string
	CommunityID string
	Kind        AidKind
	PosterID    string
	RequesterID string // the poster of a request, the accepter of an offer
	HelperID    string // the accepter of a request, the poster of an offer
	Title       string
	Description string
	Minutes     Minutes
	When        time.Time // when the help is planned
	Created     time.Time
	State       AidState
	PaidByFund  bool
	AcceptedAt  time.Time
	DoneAt      time.Time
	FinalAt     time.Time
	Note        string
}

// FundAccount is a community's time-bank fund (时间银行基金), which pays for
// help that flagged elderly or needy residents receive.
func FundAccount(communityID string) Account {
	return AccountOf("fund:"+communityID, AssetHours)
}

// Gift is hours given to a verified relative (转赠).
type Gift struct {
	ID          string
	CommunityID string
	FromID      string
	ToID        string
	Minutes     Minutes
	At          time.Time
}

// Age is how old someone born in birthYear is in the year of t (by year,
// which is how communities count 60周岁 for these schemes).
func Age(birthYear int, t time.Time) int {
	if birthYear <= 0 {
		return 0
	}
	return t.Year() - birthYear
}

// Mark is a keyed once-only step: a capacity slot taken or released, a
// check-in, a check-out, a decision, a mutual-aid step. Its insert is the
// commit point; a second insert of the same ID is refused.
type Mark struct {
	ID          string
	Kind        string
	CommunityID string
	Ref         string
	ResidentID  string
	Actor       string
	Reason      string
	Amount      int64
	Flag        bool
	At          time.Time
}

// QueuedRecord is a service record waiting for a decision, as the queue of
// such records holds it.
type QueuedRecord struct {
	ID          string // the record's
	CommunityID string
	Created     time.Time
}

// RecordFilter selects service records; empty fields match all.
type RecordFilter struct {
	CommunityID string
	ResidentID  string
	State       RecordState
	From, To    time.Time // on Start; zero is open
}
