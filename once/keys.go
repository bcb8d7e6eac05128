package once

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/linli-community/linli/models"
)

// The key builders below name every insert-once key the use cases write
// (docs/ARCHITECTURE.md §4.1). Each returns exactly the string the code
// wrote before this package existed, so stored data stays readable;
// keys_test.go pins every format. Keys that feed a primitive have their
// own type (CounterKey, ChainKey); the others are the _id of a document,
// a mark or a ledger op, and are plain strings.

// CounterKey names a counter of limited units (docs/ARCHITECTURE.md §4.3):
// a reward's stock, a resident's or a household's limit, visitor bays.
type CounterKey string

// ChainKey names a chain of numbered links (docs/ARCHITECTURE.md §4.7): a
// resident's day index, day quota, points carry or yearly gifts.
type ChainKey string

// --- rewards: counters ---

// ResidentLimit is the counter of a resident's redemptions of a reward in
// one period ("2026-03", "2026-Q1" or "2026").
func ResidentLimit(rewardID, residentID, period string) CounterKey {
	return CounterKey("lim:" + rewardID + ":" + residentID + ":" + period)
}

// HouseholdYearCap is the counter of a household's redemptions of a reward
// in a year, against its yearly cap in fen.
func HouseholdYearCap(rewardID, householdID, year string) CounterKey {
	return CounterKey("hh:" + rewardID + ":" + householdID + ":" + year)
}

// MonthlyStock is the counter of a reward's stock for one month ("2026-03").
func MonthlyStock(rewardID, month string) CounterKey {
	return CounterKey("stockm:" + rewardID + ":" + month)
}

// TotalStock is the counter of a reward's whole stock.
func TotalStock(rewardID string) CounterKey { return CounterKey("stock:" + rewardID) }

// VisitorBays is the counter of a community's visitor bays on a day
// ("2026-03-01") for filial parking.
func VisitorBays(communityID, day string) CounterKey {
	return CounterKey("bay:" + communityID + ":" + day)
}

// takeRun is the run of counter key's units taken: its slot n (runSlot)
// is unit n taken.
func takeRun(key CounterKey) string { return "take:" + string(key) }

// backRun is the run of counter key's units given back: its slot k is the
// k-th unit given back.
func backRun(key CounterKey) string { return "back:" + string(key) }

// runSlot is the key of slot n of run.
func runSlot(run string, n int) string { return run + ":" + strconv.Itoa(n) }

// gaveTicket is the key of the i-th ticket of holder's give-back of a unit
// of counter key (the first ticket has no number).
func gaveTicket(key CounterKey, holder string, i int) string {
	ticket := "gave:" + string(key) + ":" + holder
	if i > 1 {
		ticket += ":" + strconv.Itoa(i)
	}
	return ticket
}

// ticketNames is what a give-back ticket holds: the back slot it fills.
func ticketNames(k int) string { return "slot:" + strconv.Itoa(k) }

// --- rewards: redemptions ---

// RedemptionHold is the op id of the ledger hold that takes a
// redemption's points.
func RedemptionHold(redemptionID string) string { return "redeem:" + redemptionID }

// RedemptionRelease is the op id of the ledger release that gives a
// cancelled or expired redemption's points back.
func RedemptionRelease(redemptionID string) string { return "release:" + redemptionID }

// RedemptionFinal is the mark deciding generation gen of a redemption:
// fulfilled, cancelled or expired (docs/ARCHITECTURE.md §4.2, §4.4).
func RedemptionFinal(redemptionID string, gen int) string {
	if gen <= 1 {
		return "final:" + redemptionID
	}
	return fmt.Sprintf("final:%s:%d", redemptionID, gen)
}

// RedemptionVoid is the mark voiding the bill generation gen of a
// redemption was applied to (docs/ARCHITECTURE.md §4.4).
func RedemptionVoid(redemptionID string, gen int) string {
	return fmt.Sprintf("void:%s:%d", redemptionID, gen)
}

// RedemptionRefund is the mark of a fulfilled redemption's refund, and the
// op id of the points it gives back.
func RedemptionRefund(redemptionID string) string { return "refund:" + redemptionID }

// RedemptionRefused is the mark recording that opening a redemption was
// refused, naming the counter units to give back.
func RedemptionRefused(redemptionID string) string { return "refused:" + redemptionID }

// FulfilEvent is the id of the settlement event of generation gen of a
// redemption's fulfilment.
func FulfilEvent(redemptionID string, gen int) string {
	if gen <= 1 {
		return "fulfil:" + redemptionID
	}
	return fmt.Sprintf("fulfil:%s:%d", redemptionID, gen)
}

// ReverseEvent is the id of the n-th settlement event reversing a
// redemption's fulfilment (a void or a refund).
func ReverseEvent(redemptionID string, n int) string {
	return fmt.Sprintf("reverse:%s:%d", redemptionID, n)
}

// ScanAttempt is the name of attempt n of a merchant QR token: the token
// id for the first, "<token>:<n>" after. A redemption opened by the attempt
// carries it as its TokenID.
func ScanAttempt(tokenID string, n int) string {
	if n <= 1 {
		return tokenID
	}
	return tokenID + ":" + strconv.Itoa(n)
}

// ScanMark is the mark claiming a scan attempt, which is also the final
// mark of the redemption it opens.
func ScanMark(attempt string) string { return "scan:" + attempt }

// CounterCode is the _id of a merchant QR's short code in a community.
func CounterCode(communityID, code string) string { return communityID + ":" + code }

// FilialBooking is the _id of a filial-parking booking of a plate on a day.
func FilialBooking(communityID, plate, day string) string {
	return communityID + ":" + plate + ":" + day
}

// VisitCancel is the mark cancelling round n of a filial booking.
func VisitCancel(bookingID string, n int) string {
	return fmt.Sprintf("visit-cancel:%s:%d", bookingID, n)
}

// VisitRebook is the mark booking round n (n > 1) of a filial booking again.
func VisitRebook(bookingID string, n int) string {
	return fmt.Sprintf("visit-book:%s:%d", bookingID, n)
}

// VisitUsed is the slot recording which gate event used a booking's free
// time.
func VisitUsed(bookingID string) string { return "visit-used:" + bookingID }

// --- time bank ---

// Signup is the _id of generation gen of a resident's sign-up for an
// activity (docs/ARCHITECTURE.md §4.4).
func Signup(activityID, residentID string, gen int) string {
	return fmt.Sprintf("su:%s:%s:%d", activityID, residentID, gen)
}

// SignupCancel is the mark cancelling a sign-up.
func SignupCancel(signupID string) string { return "cancel:" + signupID }

// ActivityPlace is place n, generation gen, of an activity: the mark that
// takes it for a sign-up (docs/ARCHITECTURE.md §4.4).
func ActivityPlace(activityID string, n, gen int) string {
	return fmt.Sprintf("slot:%s:%d:%d", activityID, n, gen)
}

// PlaceRelease is the mark giving a taken activity place back.
func PlaceRelease(placeID string) string { return "release:" + placeID }

// CheckIn is the mark of a resident's check-in at an activity.
func CheckIn(activityID, residentID string) string { return "in:" + activityID + ":" + residentID }

// CheckOut is the mark of a resident's check-out at an activity.
func CheckOut(activityID, residentID string) string { return "out:" + activityID + ":" + residentID }

// AttendanceRecord is the _id of generation gen (0 for the first) of the
// service record an activity's check-out makes; a voided id moves on to
// the next generation.
func AttendanceRecord(activityID, residentID string, gen int) string {
	if gen <= 0 {
		return "att:" + activityID + ":" + residentID
	}
	return fmt.Sprintf("att:%s:%s:%d", activityID, residentID, gen)
}

// CheckInOn is the mark of a resident's check-in on one day of an activity
// that spans several local days: day is that day as 2006-01-02, or "" for
// the activity's first day, whose key is CheckIn's, so a one-day activity
// and attendance stored before activities had days keep their keys
// (docs/ARCHITECTURE.md §4.11).
func CheckInOn(activityID, residentID, day string) string {
	if day == "" {
		return CheckIn(activityID, residentID)
	}
	return CheckIn(activityID, residentID) + ":" + day
}

// CheckOutOn is the check-out mark of one day of an activity, day as in
// CheckInOn.
func CheckOutOn(activityID, residentID, day string) string {
	if day == "" {
		return CheckOut(activityID, residentID)
	}
	return CheckOut(activityID, residentID) + ":" + day
}

// AttendanceRecordOn is the _id of generation gen of the service record
// one day's check-out makes, day as in CheckInOn ("" is AttendanceRecord's
// id); a date holds dashes, so it never reads as a generation number.
func AttendanceRecordOn(activityID, residentID, day string, gen int) string {
	if day == "" {
		return AttendanceRecord(activityID, residentID, gen)
	}
	if gen <= 0 {
		return "att:" + activityID + ":" + residentID + ":" + day
	}
	return fmt.Sprintf("att:%s:%s:%s:%d", activityID, residentID, day, gen)
}

// ClaimedRecord is the _id of a service record a resident claims, from the
// derived id of the claim request.
func ClaimedRecord(derived string) string { return "claim:" + derived }

// RecordDecision is the mark deciding a service record (approve or reject).
func RecordDecision(recordID string) string { return "decision:" + recordID }

// Correction is the _id of the n-th correction asked of a service record.
func Correction(recordID string, n int) string { return fmt.Sprintf("corr:%s:%d", recordID, n) }

// CorrectionDecision is the mark deciding a correction.
func CorrectionDecision(correctionID string) string { return "corr-decision:" + correctionID }

// RecordCredit is the op ids of the hours and points an approved service
// record posts.
func RecordCredit(recordID string) (hours, points string) {
	return "service:" + recordID + ":hours", "service:" + recordID + ":points"
}

// RecordCreditHash is the request hash the postings of an approved record
// carry.
func RecordCreditHash(recordID string) string { return "service:" + recordID }

// CorrectionCredit is the op ids of the difference the n-th correction of
// a record posts.
func CorrectionCredit(recordID string, n int) (hours, points string) {
	suffix := fmt.Sprintf(":c%d", n)
	return "service:" + recordID + ":hours" + suffix, "service:" + recordID + ":points" + suffix
}

// CorrectionCreditHash is the request hash of the n-th correction's postings.
func CorrectionCreditHash(recordID string, n int) string {
	return fmt.Sprintf("correct:%s:%d", recordID, n)
}

// PostingRetry is the op id of the k-th retry (k ≥ 1) of a decided posting
// the ledger refused.
func PostingRetry(opID string, k int) string { return fmt.Sprintf("%s:t%d", opID, k) }

// DayIndex is the chain of a resident's service records touching a day
// ("2026-03-01" in the community's zone).
func DayIndex(residentID, day string) ChainKey { return ChainKey("day:" + residentID + ":" + day) }

// DayQuota is the chain of minutes credited to a resident for a day.
func DayQuota(residentID, day string) ChainKey { return ChainKey("quota:" + residentID + ":" + day) }

// PointsCarry is the chain carrying a resident's minute-points not yet a
// whole point.
func PointsCarry(residentID string) ChainKey { return ChainKey("carry:" + residentID) }

// YearGifts is the chain of a resident's gifts of hours in a year.
func YearGifts(giverID string, year int) ChainKey {
	return ChainKey("gift:" + giverID + ":" + strconv.Itoa(year))
}

// linkNote is the note of the step a ref takes on a chain.
func linkNote(chain ChainKey, ref string) string { return "lref:" + string(chain) + ":" + ref }

// GiftTransfer is the id of the ledger transfer of a gift.
func GiftTransfer(giftID string) string { return "gift:" + giftID }

// GiftCapRelease is the ref of the link that gives a refused gift's minutes
// back to its giver's yearly cap.
func GiftCapRelease(giftID string) string { return giftID + ":release" }

// AuditApproved is the audit entry of a service record approved: one
// entry per decision, however often the decision is finished.
func AuditApproved(recordID string) string { return "approve:" + recordID }

// AuditRejected is the audit entry of a service record rejected.
func AuditRejected(recordID string) string { return "reject:" + recordID }

// AuditCorrected is the audit entry of a correction decided.
func AuditCorrected(correctionID string) string { return "correct:" + correctionID }

// AidStep is the mark of step n of a mutual-aid post (docs/ARCHITECTURE.md §4.7).
func AidStep(aidID string, n int) string { return fmt.Sprintf("aid:%s:step:%03d", aidID, n) }

// AidHold is the op id of the hold of a mutual-aid post's hold number n.
func AidHold(aidID string, n int) string { return "aidhold:" + aidID + ":" + strconv.Itoa(n) }

// AidRelease is the op id of the release of a post's hold number n.
func AidRelease(aidID string, n int) string { return "aidrelease:" + aidID + ":" + strconv.Itoa(n) }

// AidPay is the op id of a mutual-aid post's pay to the helper.
func AidPay(aidID string) string { return "aidpay:" + aidID }

// Needy is the flag staff set on an elderly resident; unlike a mark it
// may change.
func Needy(residentID string) string { return "needy:" + residentID }

// PointsExpiry is the op id of an account's points expiry at a cutoff
// month (docs/ARCHITECTURE.md §4.9).
func PointsExpiry(acct models.Account, cutoff models.Month) string {
	return "expiry:" + acct.String() + ":" + cutoff.String()
}

// --- settlement ---

// AuditStatement is the audit entry of a statement moved to status
// (confirmed, paid): one per transition, however often it is repeated.
func AuditStatement(statementID, status string) string { return statementID + ":" + status }

// --- honour roll, building heads, star households ---

// AuditHonourEvent is the audit entry of an honour event.
func AuditHonourEvent(eventID string) string { return "honour:" + eventID }

// AuditNominated is the audit entry of a nomination.
func AuditNominated(entryID string) string { return "honour:" + entryID + ":nominated" }

// Nominee is the key of a nominee's chain of honour entries: a resident or
// a household.
func Nominee(residentID, householdID string) string {
	if residentID != "" {
		return "r:" + residentID
	}
	return "h:" + householdID
}

// NominationChain is what the n-th honour entry of a nominee is derived
// from (with the number as the part).
func NominationChain(communityID, nominee string) string {
	return "nomination:" + communityID + ":" + nominee
}

// EntryRevoked is the event of the n-th revocation of an honour entry.
func EntryRevoked(entryID string, n int) string { return fmt.Sprintf("%s:revoked:%d", entryID, n) }

// EntryWithdrawn is the event of an honour entry's listing withdrawn.
func EntryWithdrawn(entryID string) string { return entryID + ":withdrawn" }

// EntryAppeal is the event of the appeal against the n-th revocation.
func EntryAppeal(entryID string, n int) string { return fmt.Sprintf("%s:appeal:%d", entryID, n) }

// EntryAppealRuled is the event ruling the appeal against the n-th
// revocation.
func EntryAppealRuled(entryID string, n int) string {
	return fmt.Sprintf("%s:appeal_ruled:%d", entryID, n)
}

// ListingCredit is the op id of the points a listing gives a resident.
func ListingCredit(entryID, residentID string) string {
	return "honour:" + entryID + ":" + residentID
}

// ListingWithdrawal is the op id taking a withdrawn listing's points back.
func ListingWithdrawal(entryID, residentID string) string {
	return "honour-withdraw:" + entryID + ":" + residentID
}

// BuildingSeat is the seat of a building's head; other 三长 roles have the
// seat "<role>:<resident>".
func BuildingSeat(buildingID string) string { return "building:" + buildingID }

// RoleSeat is the seat of a community-wide 三长 role held by a resident.
func RoleSeat(role, residentID string) string { return role + ":" + residentID }

// TermEnd is the event ending a head's term.
func TermEnd(termID string) string { return "term:" + termID + ":end" }

// DutyConfirmed is the event confirming a head's duty.
func DutyConfirmed(dutyID string) string { return "duty:" + dutyID + ":confirmed" }

// DutyLogged is the event of a head's duty logged with one piece of
// evidence (evidenceID derived from it): the duty-to-confirm notice is
// written once per such event, so new evidence tells staff again.
func DutyLogged(dutyID, evidenceID string) string { return dutyID + ":" + evidenceID }

// AllowanceClosed is the mark closing a community's allowances for a month
// (docs/ARCHITECTURE.md §4.6).
func AllowanceClosed(communityID string, m models.Month) string {
	return "allowance-closed:" + communityID + ":" + m.String()
}

// AllowanceDuty is the mark naming the month that pays a confirmed duty.
func AllowanceDuty(dutyID string) string { return "allowance-duty:" + dutyID }

// AllowancePayment is the op id of the n-th allowance payment of a
// person's month.
func AllowancePayment(residentID string, m models.Month, n int) string {
	return fmt.Sprintf("allowance:%s:%s:%d", residentID, m, n)
}

// AllowanceHash is the request hash of an allowance payment: the amount,
// so a payment whose entry a crash left unposted can be completed from
// its op record (AllowanceAmount).
func AllowanceHash(amount int64) string { return "allowance:" + strconv.FormatInt(amount, 10) }

// AllowanceAmount is the amount an AllowanceHash holds; false if hash is
// not one.
func AllowanceAmount(hash string) (int64, bool) {
	digits, ok := strings.CutPrefix(hash, "allowance:")
	if !ok {
		return 0, false
	}
	amount, err := strconv.ParseInt(digits, 10, 64)
	return amount, err == nil
}

// AllowanceRef is the ledger ref of a month's allowance entries.
func AllowanceRef(m models.Month) string { return "allowance:" + m.String() }

// AllowanceTermPayment is the op id of a term's allowance for a month, as
// earlier versions paid it per term.
func AllowanceTermPayment(termID string, m models.Month) string {
	return "allowance:" + termID + ":" + m.String()
}

// StarRecord is the _id of a household's star record for a year.
func StarRecord(householdID string, year int) string { return householdID + ":" + strconv.Itoa(year) }

// StarAward is the op id of the points a star record gives a resident.
func StarAward(starID, residentID string) string { return "star:" + starID + ":" + residentID }

// StarCut is the op id taking back the points a star level no longer
// gives a resident.
func StarCut(starID, residentID string, level int) string {
	return fmt.Sprintf("star-cut:%s:%s:%d", starID, residentID, level)
}

// StarLowered is the event lowering a star record to level.
func StarLowered(starID string, level int) string {
	return fmt.Sprintf("star:%s:lowered:%d", starID, level)
}

// FamilyLinkVerified names the verification of the family link between
// two residents, the event both of them are told about once.
func FamilyLinkVerified(residentID, relativeID string) string {
	return "family:" + residentID + ":" + relativeID
}

// ResidentMovedAway is the mark recording, once, that a resident moved
// away: the start of their personal information's retention period.
func ResidentMovedAway(residentID string) string { return "moved:" + residentID }

// ResidentErased is the mark deciding, once, that a moved-away resident's
// personal information is erased (docs/ARCHITECTURE.md §11).
func ResidentErased(residentID string) string { return "erased:" + residentID }

// Consent is the _id of a resident's acceptance of a version of the
// privacy notice: one per resident and version.
func Consent(residentID, version string) string { return "consent:" + residentID + ":" + version }
