package models

import "time"

// Residents' personal information (个人信息保护, docs/ARCHITECTURE.md §11).

// Errors of the privacy routes.
var (
	// ErrConsentRequired: the caller has not accepted the current privacy
	// notice; the resident app shows it and asks again.
	ErrConsentRequired = &Error{Code: "CONSENT_REQUIRED"}
	// ErrConsentVersion: the version accepted is not the notice in force
	// (the app showed an older one).
	ErrConsentVersion = &Error{Code: "CONSENT_VERSION_STALE"}
)

// PrivacyNotice is one version of the privacy notice (隐私政策) residents
// accept; Version names it ("2026-12").
type PrivacyNotice struct {
	Version string
	TitleZh string
	TitleEn string
	TextZh  string
	TextEn  string
}

// Consent is a resident's acceptance of one version of the privacy
// notice, inserted once per resident and version.
type Consent struct {
	ResidentID  string
	CommunityID string
	Version     string
	Language    Language // the language the notice was shown in
	At          time.Time
	// OpID is the scoped Idempotency-Key of the request that accepted,
	// "" for a request without one.
	OpID string
}

// AccessKind says which of a resident's personal data someone else read.
type AccessKind string

// What a reader looked at.
const (
	AccessResidentDetail AccessKind = "resident_detail" // the resident's record: name, phone (masked), birth year, family
	AccessResidentList   AccessKind = "resident_list"   // the resident on a page of the residents list
	AccessBalances       AccessKind = "balances"        // hours and points balances
	AccessLedger         AccessKind = "ledger"          // the ledger history of one asset
	AccessCertificate    AccessKind = "certificate"     // the volunteer-hours certificate
	AccessExport         AccessKind = "export"          // everything kept about the resident (the counter's export)
)

// Zh names k in Chinese for the resident's screen.
func (k AccessKind) Zh() string {
	switch k {
	case AccessResidentDetail:
		return "查看个人资料"
	case AccessResidentList:
		return "居民名单中显示"
	case AccessBalances:
		return "查看时长和积分余额"
	case AccessLedger:
		return "查看账目明细"
	case AccessCertificate:
		return "查看志愿服务证明"
	case AccessExport:
		return "导出全部个人信息"
	}
	return string(k)
}

// AccessRecord is one read of a resident's personal data by someone else
// (who, when, what), inserted once and never changed.
type AccessRecord struct {
	ID          string
	ResidentID  string // whose data
	CommunityID string
	ActorID     string // who read it
	ActorRoles  []Role
	Kind        AccessKind
	Detail      string // e.g. the asset of a ledger read
	At          time.Time
}
