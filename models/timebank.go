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
	MaxMinutes   Minutes // most minutes one person is credited for it (each day, for an activity of several days)
	SelfCheckin  bool    // residents may scan the QR code themselves
	CreatedBy    string
	Created      time.Time
}

// Days are the local days (2006-01-02) the activity runs on in loc, first
// to last: the day of its start to the day of its last moment (one ending
// at midnight does not run on the next day). An activity that runs on
// several days and lasts more than a day takes its attendance per day
// (docs/ARCHITECTURE.md §4.11).
func (a Activity) Days(loc *time.Location) []string {
	first, last := a.Start.In(loc), a.End.Add(-time.Millisecond).In(loc)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	stop := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC)
	days := []string{day.Format(time.DateOnly)}
	for day.Before(stop) {
		day = day.AddDate(0, 0, 1)
		days = append(days, day.Format(time.DateOnly))
	}
	return days
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
	// ResidentName is the resident's masked name (王**), filled in for
	// the activity's organisers; it is not stored.
	ResidentName string
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
	ID          string
	RecordID    string
	ResidentID  string
	CommunityID string // puts it on its community's list of corrections
	N           int
	Minutes     Minutes // what the volunteer asks for
	Reason      string
	At          time.Time

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

// itoa12 returns n (not negative) as 12 decimal digits with leading zeros,
// so keys sort in the order of their numbers.
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
	AidExpired   AidState = "expired" // nobody took it up before its time passed
)

// Final reports whether nothing more can happen to a post in state s.
func (s AidState) Final() bool {
	return s == AidConfirmed || s == AidCancelled || s == AidExpired
}

// MutualAid is a 互助 post: a request for help or an offer of it. The
// requester's minutes (or the community fund's) are held while the help is
// pending and move to the helper once the requester confirms. Everything
// below Created is derived from the post's steps (AidStep); the saved copy
// is a cache of the first Steps of them.
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
	Steps       int // how many steps this state follows
	// Hold is the step whose hold pays for the help: 0 for a request (held
	// when posted), the acceptance for an offer (0 while it has none).
	Hold int

	// Masked names, filled in for display; never stored.
	PosterName, RequesterName, HelperName string
}

// AidStepKind names a decision on a mutual-aid post.
type AidStepKind string

const (
	AidStepAccept   AidStepKind = "accept"   // someone takes up an open post
	AidStepVoid     AidStepKind = "void"     // an offer's acceptance whose hold was refused: open again
	AidStepWithdraw AidStepKind = "withdraw" // a request whose hold was refused: closed
	AidStepCancel   AidStepKind = "cancel"   // a party calls it off before the help is done
	AidStepExpire   AidStepKind = "expire"   // an open post whose time has passed
	AidStepDone     AidStepKind = "done"     // the helper says the help happened
	AidStepConfirm  AidStepKind = "confirm"  // the requester (or the job) confirms: the helper is paid
	AidStepDispute  AidStepKind = "dispute"  // a party says it did not happen as agreed
	AidStepResolve  AidStepKind = "resolve"  // staff rule on a dispute: Pay or not
)

// AidStep is decision N on a post. Step N is an insert at a key of its
// own, validated against the post as steps 1..N-1 left it, so of two
// decisions made at once exactly one is step N.
type AidStep struct {
	N        int
	Kind     AidStepKind
	Actor    string // a resident, staff, or "system"
	Resident string // accept: who took it up
	Fund     bool   // accept: the community fund pays for the accepter
	Pay      bool   // resolve: pay the helper (else cancel)
	Reason   string
	At       time.Time
}

var aidStateZh = map[AidState]string{
	AidOpen:      "尚无人接单",
	AidAccepted:  "已有人接单",
	AidDone:      "已标记完成",
	AidDisputed:  "有异议待社工处理",
	AidConfirmed: "已确认并支付",
	AidCancelled: "已取消",
	AidExpired:   "已过期",
}

var aidStepZh = map[AidStepKind]string{
	AidStepAccept:   "接单",
	AidStepVoid:     "撤销接单",
	AidStepWithdraw: "撤回",
	AidStepCancel:   "取消",
	AidStepExpire:   "过期",
	AidStepDone:     "标记完成",
	AidStepConfirm:  "确认",
	AidStepDispute:  "提出异议",
	AidStepResolve:  "裁定",
}

// AidRefusal says, in Chinese and English, why step kind is not possible on
// a post in state s.
func AidRefusal(s AidState, kind AidStepKind) *Error {
	return ErrAidState.Withf("该互助单%[3]s，不能%[4]s。", "this post is %[1]s; it cannot take the step %[2]q",
		s, kind, aidStateZh[s], aidStepZh[kind])
}

// Held reports whether minutes are (to be) held for the post: always for
// a request, for an offer once accepted.
func (a MutualAid) Held() bool { return a.Kind == AidRequest || a.Hold > 0 }

// AidRaceLost says, in Chinese and English, that another decision on the
// post came first and left it in state s.
func AidRaceLost(s AidState, kind AidStepKind) *Error {
	return ErrAidState.Withf("另一项操作刚刚先完成：该互助单%[3]s，不能%[4]s。",
		"another decision came first: this post is now %[1]s; it cannot take the step %[2]q",
		s, kind, aidStateZh[s], aidStepZh[kind])
}

// Apply returns the post after step s, or an AidRefusal when s is not
// possible in the post's state. Who may take a step is the caller's
// business; Apply knows only the states.
func (a MutualAid) Apply(s AidStep) (MutualAid, error) {
	ok := false
	switch s.Kind {
	case AidStepAccept:
		if ok = a.State == AidOpen; ok {
			if a.Kind == AidRequest {
				a.HelperID = s.Resident
			} else {
				a.RequesterID, a.PaidByFund, a.Hold = s.Resident, s.Fund, s.N
			}
			a.State, a.AcceptedAt = AidAccepted, s.At
		}
	case AidStepVoid:
		if ok = a.State == AidAccepted && a.Kind == AidOffer; ok {
			a.RequesterID, a.PaidByFund, a.Hold, a.AcceptedAt = "", false, 0, time.Time{}
			a.State, a.Note = AidOpen, s.Reason
		}
	case AidStepWithdraw:
		if ok = a.State == AidOpen && a.Kind == AidRequest; ok {
			a.State, a.FinalAt, a.Note = AidCancelled, s.At, s.Reason
		}
	case AidStepCancel:
		if ok = a.State == AidOpen || a.State == AidAccepted; ok {
			a.State, a.FinalAt, a.Note = AidCancelled, s.At, s.Reason
		}
	case AidStepExpire:
		if ok = a.State == AidOpen; ok {
			a.State, a.FinalAt, a.Note = AidExpired, s.At, s.Reason
		}
	case AidStepDone:
		if ok = a.State == AidAccepted; ok {
			a.State, a.DoneAt = AidDone, s.At
		}
	case AidStepConfirm:
		if ok = a.State == AidAccepted || a.State == AidDone; ok {
			a.State, a.FinalAt, a.Note = AidConfirmed, s.At, s.Reason
		}
	case AidStepDispute:
		if ok = a.State == AidAccepted || a.State == AidDone; ok {
			a.State, a.Note = AidDisputed, s.Reason
		}
	case AidStepResolve:
		if ok = a.State == AidDisputed; ok {
			a.State, a.FinalAt, a.Note = AidCancelled, s.At, s.Reason
			if s.Pay {
				a.State = AidConfirmed
			}
		}
	}
	if !ok {
		return a, AidRefusal(a.State, s.Kind)
	}
	a.Steps = s.N
	return a, nil
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

	// Masked names, filled in for display; never stored.
	FromName, ToName string
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
	ActivityID  string
	Category    string
}
