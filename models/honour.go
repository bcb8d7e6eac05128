package models

import "time"

// HonourStatus is where an honour-roll entry (红榜条目) stands. It is a cache
// on the entry: the truth is the keyed events (listed, rejected, expired,
// revoked, restored) recorded once each.
type HonourStatus string

const (
	HonourNotice   HonourStatus = "notice"   // in public notice (公示)
	HonourListed   HonourStatus = "listed"   // on the roll
	HonourRejected HonourStatus = "rejected" // an objection was upheld during notice
	HonourExpired  HonourStatus = "expired"  // the listing period ended
	HonourRevoked  HonourStatus = "revoked"  // staff took it down (摘牌)
)

// HonourCategories are the categories a nomination may name.
var HonourCategories = []string{"诚信", "好人好事", "文明家庭", "垃圾分类", "志愿服务", "邻里互助", "其他"}

// HonourEntry is one nomination of a resident or a household to the honour
// roll: nomination → public notice → listed → expired or revoked.
type HonourEntry struct {
	// ID is derived from the nominee and the nomination's number on the
	// nominee's chain, so a nominee has one open nomination at a time.
	ID          string
	CommunityID string
	ResidentID  string // the nominee, or "" when a household is nominated
	HouseholdID string // the nominee's household (the nominee for a household nomination)
	BuildingID  string
	Category    string
	Reason      string
	NominatedBy string
	Nominated   time.Time
	NoticeEnds  time.Time
	Status      HonourStatus
	ListedAt    time.Time
	ExpiresAt   time.Time
	EndedAt     time.Time // revoked or rejected at
	EndReason   string
	// Revocations counts revocations so far; each revocation and appeal is
	// keyed by its number, so a restored listing can be revoked again.
	Revocations int
	Restored    int
	AppealOpen  bool
	Hidden      bool // the listed person chose not to be shown on the public board
	// OpID is the keyed request that nominated, so its repeat finds this
	// entry rather than a refusal.
	OpID string
}

// ObjectionStatus is where an objection to a nomination stands.
type ObjectionStatus string

const (
	ObjectionPending   ObjectionStatus = "pending"
	ObjectionUpheld    ObjectionStatus = "upheld"
	ObjectionDismissed ObjectionStatus = "dismissed"
)

// Objection is a resident's objection to a nomination in public notice.
type Objection struct {
	ID          string
	EntryID     string
	CommunityID string
	ResidentID  string
	Reason      string
	At          time.Time
	Status      ObjectionStatus
	RuledBy     string
	RuledAt     time.Time
	Ruling      string
}

// HonourEvent is a state change that happens once, keyed by ID (e.g.
// entry+":listed"): the insert is the commit point.
type HonourEvent struct {
	ID          string
	CommunityID string
	Subject     string // the entry, objection, duty or term
	Kind        string
	By          string
	Reason      string
	Month       string // of an allowance_duty record: the month whose allowance pays the duty
	At          time.Time
}

// HonourCurrent is the hot-path document of one resident (or household):
// the listing that makes them eligible for honour-roll rewards.
type HonourCurrent struct {
	Key         string // "r:"+resident or "h:"+household
	CommunityID string
	EntryID     string
	ListedAt    time.Time
	ExpiresAt   time.Time
	EndedAt     time.Time // zero while not revoked
}

// ActiveAt reports whether the listing holds at t.
func (c HonourCurrent) ActiveAt(t time.Time) bool {
	return c.EntryID != "" && !t.Before(c.ListedAt) && t.Before(c.ExpiresAt) &&
		(c.EndedAt.IsZero() || t.Before(c.EndedAt))
}

// HeadRole is a 三长 role paid by the allowance scheme.
type HeadRole string

const (
	HeadBuilding HeadRole = "building_head" // 楼组长
	HeadTeam     HeadRole = "team_lead"     // 志愿者队长
	HeadParty    HeadRole = "party_lead"    // 党小组长
)

// ParseHeadRole returns the role named s.
func ParseHeadRole(s string) (HeadRole, error) {
	switch HeadRole(s) {
	case HeadBuilding, HeadTeam, HeadParty:
		return HeadRole(s), nil
	}
	return "", ErrValidation.Withf("角色须为楼组长（building_head）、团队负责人（team_lead）或党员骨干（party_lead）。", "role must be building_head, team_lead or party_lead")
}

// HeadTerm is one person's term in a 三长 role; a building head's term is
// for one building. End is zero while the term is open.
type HeadTerm struct {
	ID          string
	CommunityID string
	Seat        string // "building:"+id, or role+":"+resident for the other roles
	N           int    // the term's number on its seat
	Role        HeadRole
	BuildingID  string
	ResidentID  string
	Start       time.Time
	End         time.Time
	EndKind     string // "handover" or "retire"
	EndReason   string
	AppointedBy string
	// BuildingName is the building's name, filled in for its head's own
	// list of terms; it is not stored.
	BuildingName string
}

// Open reports whether the term has not ended.
func (t HeadTerm) Open() bool { return t.End.IsZero() }

// HeldAt reports whether the term covers instant at.
func (t HeadTerm) HeldAt(at time.Time) bool {
	return !at.Before(t.Start) && (t.End.IsZero() || at.Before(t.End))
}

// DutyStatus is where a logged duty (履职) stands.
type DutyStatus string

const (
	DutyPending   DutyStatus = "pending"
	DutyConfirmed DutyStatus = "confirmed"
	DutyRejected  DutyStatus = "rejected"
)

// Duty is one checklist duty a head logged for a month, with evidence.
type Duty struct {
	ID          string // term+":"+month+":"+duty
	CommunityID string
	TermID      string
	ResidentID  string
	Month       string
	Duty        string
	Evidence    string
	PhotoURL    string
	Status      DutyStatus
	Logged      time.Time
	RuledBy     string
	RuledAt     time.Time
	Note        string
}

// Allowance is what a head is paid for a month (pure rule).
func Allowance(p Policy, confirmed int, daysServed, daysInMonth int) Points {
	if confirmed <= 0 || daysServed <= 0 {
		return 0
	}
	amount := int64(p.AllowanceBase) + int64(p.AllowancePerDuty)*int64(confirmed)
	if amount > int64(p.AllowanceCap) {
		amount = int64(p.AllowanceCap)
	}
	if p.AllowanceProRata && daysServed < daysInMonth {
		amount = amount * int64(daysServed) / int64(daysInMonth)
	}
	return Points(amount)
}

// MonthAllowance is what one term earns for a whole month before any pro
// rata: the base plus points per confirmed duty, capped; nothing without
// a confirmed duty.
func MonthAllowance(p Policy, confirmed int) Points {
	return Allowance(p, confirmed, 1, 1)
}

// SplitProRata divides whole amounts pro rata and rounds by the largest
// remainder: part i is amounts[i]·shares[i]/of, rounded so that the parts
// add up to the floor of their exact sum (two heads who shared a month
// with the same allowance are paid that allowance, not a point less).
// Ties of remainder go to the earlier part.
func SplitProRata(amounts []Points, shares []int, of int) []Points {
	out := make([]Points, len(amounts))
	if of <= 0 {
		return out
	}
	rem := make([]int64, len(amounts))
	var sum, floors int64
	for i, a := range amounts {
		num := int64(a) * int64(shares[i])
		sum += num
		out[i] = Points(num / int64(of))
		rem[i] = num % int64(of)
		floors += int64(out[i])
	}
	for extra := sum/int64(of) - floors; extra > 0; extra-- {
		best := -1
		for i := range rem {
			if rem[i] > 0 && (best < 0 || rem[i] > rem[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out[best]++
		rem[best] = 0
	}
	return out
}

// KindStar is a star household's yearly bonus (星级户奖励).
const KindStar EntryKind = "star"

// Star levels of a household.
const (
	StarNone  = 0
	StarOne   = 1 // 一星户
	StarTwo   = 2 // 二星户
	StarModel = 3 // 示范户
)

// StarNames are the levels' names.
var StarNames = []string{"无", "一星户", "二星户", "示范户"}

// StarBonus is the points credited to each resident of a household when
// its level for a year is recorded; a lowered star pays the lower bonus
// and claws back the difference if it was paid.
var StarBonus = []Points{0, 20, 50, 100}

// StarLevelFor is the level a household earns with points earned in a year
// and whether a member was on the honour roll: 示范户 needs both the points
// and a listed member; without one it is 二星户 at most.
func StarLevelFor(p Policy, points Points, listed bool) int {
	switch {
	case points >= p.ModelStarPoints && listed:
		return StarModel
	case points >= p.TwoStarPoints:
		return StarTwo
	case points >= p.OneStarPoints:
		return StarOne
	}
	return StarNone
}

// StarRecord is a household's star level for a plaque year: computed at
// the start of the year from the points its residents earned the year
// before, then possibly lowered by staff (降星/摘牌).
type StarRecord struct {
	ID            string // household+":"+year
	CommunityID   string
	HouseholdID   string
	Year          int
	Computed      int
	Level         int // after lowering
	Points        Points
	Listed        bool
	Why           string
	LoweredBy     string
	LoweredReason string
	Recorded      time.Time
}

// IsEarning reports whether an entry kind is points earned (not a release,
// a reversal or a transfer).
func IsEarning(k EntryKind) bool {
	switch k {
	case KindAward, KindService, KindHonour, KindAllowance, KindAdjustment, KindStar:
		return true
	}
	return false
}

// RankRow is one resident's line in a ranking.
type RankRow struct {
	Rank       int // 1 for the first of the whole ranking
	ResidentID string
	Name       string // masked
	BuildingID string
	Earned     Points
	Deducted   Points
	Minutes    Minutes
	Reached    time.Time // when the resident reached their total
}
