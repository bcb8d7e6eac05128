package models

import (
	"fmt"
	"strings"
	"time"
)

// NoticeKind is what happened that a notification tells someone (通知类型).
type NoticeKind string

// The kinds of notification. Each names the event it is about; a
// notification is written once per event and recipient (ARCHITECTURE.md
// §4.1), so the event's own id goes into the notification's id.
const (
	NoticeHoursApproved      NoticeKind = "hours_approved"
	NoticeHoursRejected      NoticeKind = "hours_rejected"
	NoticeHoursCorrected     NoticeKind = "hours_corrected"
	NoticeCorrectionAnswered NoticeKind = "correction_answered"
	NoticePointsAwarded      NoticeKind = "points_awarded"
	NoticePointsReversed     NoticeKind = "points_reversed"
	NoticePointsExpiring30   NoticeKind = "points_expiring_30d"
	NoticePointsExpiring7    NoticeKind = "points_expiring_7d"
	NoticeRedemptionDone     NoticeKind = "redemption_fulfilled"
	NoticeRedemptionRefunded NoticeKind = "redemption_refunded"
	NoticeRedemptionExpired  NoticeKind = "redemption_expired"
	NoticeNominated          NoticeKind = "honour_nominated"
	NoticeNoticeStarted      NoticeKind = "honour_notice_started"
	NoticeObjectionFiled     NoticeKind = "honour_objection_filed"
	NoticeListed             NoticeKind = "honour_listed"
	NoticeRevoked            NoticeKind = "honour_revoked"
	NoticeDutyToConfirm      NoticeKind = "duty_to_confirm"
	NoticeFamilyLinked       NoticeKind = "family_linked"
	NoticeGiftReceived       NoticeKind = "gift_received"
	NoticeStatementReady     NoticeKind = "statement_ready"
	NoticeStatementConfirmed NoticeKind = "statement_confirmed"
	NoticeStatementPaid      NoticeKind = "statement_paid"
	NoticeJobFailed          NoticeKind = "job_failed"
)

// NoticeCategory groups kinds for a resident's preferences (通知分类).
type NoticeCategory string

// The categories. Money (points, rewards, statements) and the honour roll
// cannot be turned off: a resident must hear of value moved on her account
// and of a public notice about her.
const (
	CategoryHours      NoticeCategory = "hours"
	CategoryPoints     NoticeCategory = "points"
	CategoryRewards    NoticeCategory = "rewards"
	CategoryHonour     NoticeCategory = "honour"
	CategoryDuties     NoticeCategory = "duties"
	CategoryFamily     NoticeCategory = "family"
	CategoryStatements NoticeCategory = "statements"
	CategorySystem     NoticeCategory = "system"
)

// NoticeCategories lists every category, in the order screens show them.
var NoticeCategories = []NoticeCategory{CategoryHours, CategoryPoints, CategoryRewards, CategoryHonour,
	CategoryDuties, CategoryFamily, CategoryStatements, CategorySystem}

var categoryZh = map[NoticeCategory]string{
	CategoryHours:      "志愿时长",
	CategoryPoints:     "积分",
	CategoryRewards:    "兑换",
	CategoryHonour:     "诚信红榜",
	CategoryDuties:     "楼组长履职",
	CategoryFamily:     "家庭",
	CategoryStatements: "结算单",
	CategorySystem:     "系统",
}

// Zh returns the category's name in Chinese.
func (c NoticeCategory) Zh() string {
	if n, ok := categoryZh[c]; ok {
		return n
	}
	return string(c)
}

// Locked reports whether residents may not turn c off: money (points,
// rewards, statements) and the honour roll.
func (c NoticeCategory) Locked() bool {
	switch c {
	case CategoryPoints, CategoryRewards, CategoryStatements, CategoryHonour:
		return true
	}
	return false
}

// ParseNoticeCategory returns the category named s.
func ParseNoticeCategory(s string) (NoticeCategory, error) {
	for _, c := range NoticeCategories {
		if string(c) == s {
			return c, nil
		}
	}
	return "", ErrValidation.Withf("未知的通知分类 %q", "unknown notification category %q", s)
}

var kindCategory = map[NoticeKind]NoticeCategory{
	NoticeHoursApproved:      CategoryHours,
	NoticeHoursRejected:      CategoryHours,
	NoticeHoursCorrected:     CategoryHours,
	NoticeCorrectionAnswered: CategoryHours,
	NoticePointsAwarded:      CategoryPoints,
	NoticePointsReversed:     CategoryPoints,
	NoticePointsExpiring30:   CategoryPoints,
	NoticePointsExpiring7:    CategoryPoints,
	NoticeRedemptionDone:     CategoryRewards,
	NoticeRedemptionRefunded: CategoryRewards,
	NoticeRedemptionExpired:  CategoryRewards,
	NoticeNominated:          CategoryHonour,
	NoticeNoticeStarted:      CategoryHonour,
	NoticeObjectionFiled:     CategoryHonour,
	NoticeListed:             CategoryHonour,
	NoticeRevoked:            CategoryHonour,
	NoticeDutyToConfirm:      CategoryDuties,
	NoticeFamilyLinked:       CategoryFamily,
	NoticeGiftReceived:       CategoryFamily,
	NoticeStatementReady:     CategoryStatements,
	NoticeStatementConfirmed: CategoryStatements,
	NoticeStatementPaid:      CategoryStatements,
	NoticeJobFailed:          CategorySystem,
}

// Category returns the category of k, or "" for an unknown kind.
func (k NoticeKind) Category() NoticeCategory { return kindCategory[k] }

// Urgent reports whether a notification of kind k is sent outside the
// community's quiet hours too: a failed job (staff must act) and an
// objection against a nominee (the notice period runs).
func (k NoticeKind) Urgent() bool {
	return k == NoticeJobFailed || k == NoticeObjectionFiled
}

// Language is the language a recipient reads notifications in.
type Language string

// The languages notifications are written in; Chinese by default.
const (
	LangZh Language = "zh-CN"
	LangEn Language = "en"
)

// ParseLanguage returns the language named s ("zh-CN" or "en").
func ParseLanguage(s string) (Language, error) {
	switch Language(s) {
	case LangZh, LangEn:
		return Language(s), nil
	}
	return "", ErrValidation.Withf("language 只能是 zh-CN 或 en", "language must be zh-CN or en")
}

// Notice is an event to tell one recipient about, as the step that caused
// it describes it: Inbox.Notify turns it into a Notification in the
// recipient's language, once per (Kind, EventID, Recipient).
type Notice struct {
	Kind        NoticeKind
	EventID     string // the event's own id, e.g. a service record id, a redemption id, a statement id
	Recipient   string // resident id
	CommunityID string
	// Args fill the kind's text: "points", "reason", "name", "month" …
	Args map[string]string
	// Link is what the apps open, e.g. "/records/ID".
	Link string
}

// NotificationID is the id of the notification of notice n: derived from
// the event, so every repeat of the cause lands on the same id.
func NotificationID(kind NoticeKind, eventID, recipient string) string {
	return fmt.Sprintf("n:%s:%s:%s", recipient, kind, eventID)
}

// Validate checks n names what a notification needs.
func (n Notice) Validate() error {
	switch {
	case n.Kind.Category() == "":
		return ErrValidation.Withf("未知的通知类型 %q", "unknown notification kind %q", n.Kind)
	case strings.TrimSpace(n.EventID) == "":
		return ErrValidation.Withf("通知缺少事件编号", "a notification needs its event's id")
	case strings.TrimSpace(n.Recipient) == "":
		return ErrValidation.Withf("通知缺少接收人", "a notification needs a recipient")
	}
	return nil
}

// Notification is one message in a recipient's inbox (站内通知). It is
// written once and never changed; whether it was read is a separate mark.
type Notification struct {
	ID          string // NotificationID of its notice
	Seq         int64  // its position in the recipient's inbox, 1, 2, 3 …
	Recipient   string
	CommunityID string
	Kind        NoticeKind
	Category    NoticeCategory
	EventID     string
	Language    Language
	Title       string
	Body        string
	Link        string
	Urgent      bool
	Created     time.Time
	Read        bool // from the read marks, when listed
}

// NoticePreferences are one resident's notification settings.
type NoticePreferences struct {
	Language Language
	// Off are the categories turned off; never a locked one.
	Off []NoticeCategory
}

// Enabled reports whether notifications of category c reach the resident.
func (p NoticePreferences) Enabled(c NoticeCategory) bool {
	if c.Locked() {
		return true
	}
	for _, o := range p.Off {
		if o == c {
			return false
		}
	}
	return true
}

// ErrCategoryLocked refuses turning off a category residents must hear
// of: money (points, rewards, statements) and the honour roll.
var ErrCategoryLocked = &Error{Code: "NOTICE_CATEGORY_LOCKED"}
