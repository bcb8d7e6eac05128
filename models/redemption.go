package models

import (
	"time"
)

// RewardKind is what a reward (兑换项目) gives: a parking-fee reduction
// (停车费减免), a property-fee discount (物业费优惠) or a service at a
// street-front shop (沿街商铺).
type RewardKind string

const (
	RewardParking     RewardKind = "parking"
	RewardPropertyFee RewardKind = "property_fee"
	RewardMerchant    RewardKind = "merchant"
)

// ParseRewardKind returns the reward kind named s.
func ParseRewardKind(s string) (RewardKind, error) {
	switch k := RewardKind(s); k {
	case RewardParking, RewardPropertyFee, RewardMerchant:
		return k, nil
	}
	return "", ErrValidation.Withf("类型须为停车（parking）、物业费（property_fee）或商户（merchant）。", "kind must be parking, property_fee or merchant")
}

var rewardKindZh = map[RewardKind]string{
	RewardParking:     "停车",
	RewardPropertyFee: "物业费",
	RewardMerchant:    "商户",
}

// Zh returns the reward kind in Chinese (停车, 物业费, 商户).
func (k RewardKind) Zh() string {
	if n, ok := rewardKindZh[k]; ok {
		return n
	}
	return string(k)
}

// PartnerKind is the kind of partner that honours rewards of kind k.
func (k RewardKind) PartnerKind() PartnerKind {
	switch k {
	case RewardParking:
		return PartnerParking
	case RewardPropertyFee:
		return PartnerProperty
	}
	return PartnerMerchant
}

// Reward is one item of a community's catalogue. Zero limits and stocks
// mean "no limit".
type Reward struct {
	ID          string
	CommunityID string
	Kind        RewardKind
	Title       string
	PartnerID   string // the partner that honours it
	Points      Points // what a redemption holds
	ValueFen    Fen    // its money value, settled with the partner
	Bearer      Bearer // who pays ValueFen

	StockTotal    int // units ever (0: unlimited)
	StockPerMonth int // units per calendar month (0: unlimited)
	LimitMonth    int // per resident per calendar month
	LimitQuarter  int // per resident per calendar quarter
	LimitYear     int // per resident per calendar year
	// HouseholdYearCapFen bounds the value one household may receive from
	// this reward in a calendar year (property-fee credits); 0: no cap.
	HouseholdYearCapFen Fen

	// Eligibility.
	HonourOnly bool // only residents listed on the honour roll (诚信红榜)
	MinStar    int  // the household's star level at least (1 一星户, 2 二星户, 3 示范户)
	MinAge     int  // the resident at least this old
	HeadsOnly  bool // only active building heads (楼组长)

	ActiveFrom  time.Time // zero: from creation
	ActiveUntil time.Time // zero: open-ended (exclusive)
	Disabled    bool      // withdrawn by staff
	CreatedBy   string
	Created     time.Time
}

// ActiveAt reports whether the reward may be redeemed at t.
func (r Reward) ActiveAt(t time.Time) bool {
	if r.Disabled {
		return false
	}
	if !r.ActiveFrom.IsZero() && t.Before(r.ActiveFrom) {
		return false
	}
	return r.ActiveUntil.IsZero() || t.Before(r.ActiveUntil)
}

// Validate checks a reward's fields are in range.
func (r Reward) Validate() error {
	if _, err := ParseRewardKind(string(r.Kind)); err != nil {
		return err
	}
	if _, err := CleanText("title", r.Title, 60); err != nil {
		return err
	}
	if r.Points <= 0 || r.Points > MaxAmount {
		return ErrValidation.Withf("所需积分须在 1 到 %d 之间。", "points must be between 1 and %d", MaxAmount)
	}
	if r.ValueFen < 0 || r.ValueFen > MaxAmount {
		return ErrValidation.Withf("价值（value_fen，单位：分）须在 0 到 %d 之间。", "value_fen must be between 0 and %d", MaxAmount)
	}
	if r.Bearer != BearerCommunity && r.Bearer != BearerPartner {
		return ErrValidation.Withf("费用承担方须为社区（community）或合作方（partner）。", "bearer must be community or partner")
	}
	for name, v := range map[string]int{
		"stock_total":     r.StockTotal,
		"stock_per_month": r.StockPerMonth,
		"limit_month":     r.LimitMonth,
		"limit_quarter":   r.LimitQuarter,
		"limit_year":      r.LimitYear,
	} {
		if v < 0 || v > 100_000 {
			return ErrValidation.Withf("%s 须在 0 到 100000 之间。", "%s must be between 0 and 100000", name)
		}
	}
	if r.HouseholdYearCapFen < 0 || r.HouseholdYearCapFen > MaxAmount {
		return ErrValidation.Withf("每户年度上限（household_year_cap_fen，单位：分）须在 0 到 %d 之间。", "household_year_cap_fen must be between 0 and %d", MaxAmount)
	}
	if r.HouseholdYearCapFen > 0 && (r.ValueFen == 0 || r.HouseholdYearCapFen/r.ValueFen > 100_000) {
		return ErrValidation.Withf("设置每户年度上限时，价值（value_fen）至少为上限的十万分之一。", "household_year_cap_fen needs a value_fen of at least cap/100000")
	}
	if r.MinStar < 0 || r.MinStar > 3 {
		return ErrValidation.Withf("最低星级（min_star）须为 0 到 3。", "min_star must be 0 to 3")
	}
	if r.MinAge < 0 || r.MinAge > 120 {
		return ErrValidation.Withf("最低年龄（min_age）须为 0 到 120。", "min_age must be 0 to 120")
	}
	if !r.ActiveFrom.IsZero() && !r.ActiveUntil.IsZero() && !r.ActiveUntil.After(r.ActiveFrom) {
		return ErrValidation.Withf("结束时间（active_until）须晚于开始时间（active_from）。", "active_until must be after active_from")
	}
	return nil
}

// RedemptionStatus is where a redemption (兑换单) stands.
type RedemptionStatus string

const (
	// RedemptionOpening: being created; its slots and hold are being taken.
	RedemptionOpening RedemptionStatus = "opening"
	// RedemptionHeld: the points are held; waiting for the partner (a
	// pending property-fee or parking credit).
	RedemptionHeld      RedemptionStatus = "held"
	RedemptionFulfilled RedemptionStatus = "fulfilled"
	RedemptionCancelled RedemptionStatus = "cancelled"
	RedemptionExpired   RedemptionStatus = "expired"
	// RedemptionRefunded: a merchant refunded a fulfilled redemption.
	RedemptionRefunded RedemptionStatus = "refunded"
	// RedemptionFailed: it could not be opened (sold out, over a limit,
	// not enough points); nothing is held.
	RedemptionFailed RedemptionStatus = "failed"
)

var redemptionStatusZh = map[RedemptionStatus]string{
	RedemptionOpening:   "正在办理",
	RedemptionHeld:      "已冻结积分、等待合作方",
	RedemptionFulfilled: "已兑换",
	RedemptionCancelled: "已取消",
	RedemptionExpired:   "已过期",
	RedemptionRefunded:  "已退回",
	RedemptionFailed:    "未成功",
}

// Zh returns the status in Chinese, for a resident's message; the code
// itself for a status without a name.
func (s RedemptionStatus) Zh() string {
	if n, ok := redemptionStatusZh[s]; ok {
		return n
	}
	return string(s)
}

// Redemption is one resident's redemption of one reward. Its status is a
// cache of the keyed records that decide it (its ledger hold, "final:"+ID
// or the scan of its QR token, a refund and, for credits, the voids of
// earlier bills); redeem and scan leave it opening (rewards.Service).
type Redemption struct {
	ID          string
	CommunityID string
	RewardID    string
	Kind        RewardKind
	Title       string
	PartnerID   string
	ResidentID  string
	HouseholdID string
	// Plate is the household's registered plate a parking reduction is
	// for, as it was when redeemed.
	Plate    string
	Points   Points
	ValueFen Fen
	Bearer   Bearer
	Code     string // shown to the partner
	Status   RedemptionStatus
	FailCode Code // why it failed, for a replay
	Created  time.Time
	Expires  time.Time // a held redemption not fulfilled by then expires
	// Generation counts fulfilments of a credit: a voided bill gives the
	// credit back, and the next application is generation 2.
	Generation int
	Fulfilled  time.Time
	Closed     time.Time // cancelled, expired or refunded at
	BillNo     string
	BillDate   string
	// TokenID names the scan attempt of a merchant QR token: the token's
	// id for its first attempt, id:n for the n-th after n-1 refusals.
	TokenID string
	// Units are the keys of the counters (stock, limits) the redemption
	// takes a unit of, fixed when it opens, so what it gives back is what
	// it took even if staff change the reward's stock or limits meanwhile.
	// Nil for a redemption opened before they were recorded.
	Units []string
}

// FilialPlate is a car of a visiting child registered for an elderly
// resident's filial-visit parking (孝老停车).
type FilialPlate struct {
	CommunityID  string
	Plate        string
	ParentID     string
	RegisteredBy string
	Created      time.Time
}

// FilialBooking reserves one visitor bay for a registered plate on a day.
type FilialBooking struct {
	ID          string
	CommunityID string
	Plate       string
	ParentID    string
	Day         string // "2026-11-21" in the community's time zone
	Bay         int    // 0 while the bays were full
	BookedBy    string
	Created     time.Time
	// Round counts the times the plate was booked for the day: a
	// cancelled booking booked again is round 2 (rewards.Service).
	Round     int
	Cancelled bool
}

// GateDirection is a car entering or leaving.
type GateDirection string

const (
	GateIn  GateDirection = "in"
	GateOut GateDirection = "out"
)

// GateEvent is one pass of a car through the parking gate, posted by the
// parking operator, with the free minutes Linli answered.
type GateEvent struct {
	CommunityID string
	EventID     string
	Plate       string
	Direction   GateDirection
	At          time.Time
	FreeMinutes Minutes
	ReasonCode  string // one of the Gate* reason codes, stable for machines
	Reason      string // why it got what it got, in Chinese for the operator's screen
	VisitID     string
}

// Reason codes of a gate event's answer.
const (
	GateEntry         = "entry"          // an entry, recorded
	GateFree          = "free"           // free minutes granted
	GateNotRegistered = "not_registered" // the plate is not registered for filial visits
	GateNoEntry       = "no_entry"       // no entry before this exit
	GateNoBooking     = "no_booking"     // no visitor bay booked that day
	GateNotFilialDay  = "not_filial_day" // the day is not a filial-visit day
	GateCancelled     = "cancelled"      // the booking was cancelled
	GateOutsideHours  = "outside_hours"  // the stay is outside the free hours
	GateAlreadyUsed   = "already_used"   // an earlier exit used the visit's free time
)

// RedemptionMark is one keyed step of a redemption or a visit: "final:"+id decides a
// redemption's outcome, "void:"+id+":"+n a voided bill, "scan:"+token (or
// "scan:"+token+":"+n) an attempt to redeem a QR token, "refused:"+id a
// redemption refused while opening. Written once, never changed.
type RedemptionMark struct {
	ID         string
	Redemption string
	Outcome    string
	Actor      string
	At         time.Time
	BillNo     string
	BillDate   string
	Reason     string
	// Op is the scoped idempotency key of the request that wrote the mark,
	// where the redemption's state alone cannot tell its repeat from a new
	// request (a credit applied, voided and pending again).
	Op string
	// Units, on a refusal ("refused:"+id), are the counter units taken
	// before it, which the refusal gives back.
	Units []string
}

// RedemptionFilter selects redemptions of one community; the community is
// required, the other fields match all when empty.
type RedemptionFilter struct {
	CommunityID string
	ResidentID  string
	PartnerID   string
	Statuses    []RedemptionStatus // saved status one of these, when set; else any but failed
	From, To    time.Time          // Created in [From, To) when set
}
