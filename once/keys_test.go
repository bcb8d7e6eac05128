package once

import (
	"testing"

	"github.com/linli-community/linli/models"
)

// TestIssue12_Keys_SameStringsAsStored pins every key builder to the
// string the code wrote before the builders existed: a builder that
// changed its output would orphan the stored steps it names.
func TestIssue12_Keys_SameStringsAsStored(t *testing.T) {
	t.Parallel()
	month := models.Month{Year: 2026, Month: 3}
	acct := models.AccountOf("res1", models.AssetPoints)
	hours, points := RecordCredit("rec1")
	corrHours, corrPoints := CorrectionCredit("rec1", 2)
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"ResidentLimit", string(ResidentLimit("rw1", "res1", "2026-Q1")), "lim:rw1:res1:2026-Q1"},
		{"HouseholdYearCap", string(HouseholdYearCap("rw1", "hh1", "2026")), "hh:rw1:hh1:2026"},
		{"MonthlyStock", string(MonthlyStock("rw1", "2026-03")), "stockm:rw1:2026-03"},
		{"TotalStock", string(TotalStock("rw1")), "stock:rw1"},
		{"VisitorBays", string(VisitorBays("c1", "2026-03-01")), "bay:c1:2026-03-01"},
		{"takeRun", runSlot(takeRun(TotalStock("rw1")), 7), "take:stock:rw1:7"},
		{"backRun", runSlot(backRun(TotalStock("rw1")), 2), "back:stock:rw1:2"},
		{"gaveTicket first", gaveTicket(TotalStock("rw1"), "red1", 1), "gave:stock:rw1:red1"},
		{"gaveTicket second", gaveTicket(TotalStock("rw1"), "red1", 2), "gave:stock:rw1:red1:2"},
		{"ticketNames", ticketNames(3), "slot:3"},
		{"RedemptionHold", RedemptionHold("red1"), "redeem:red1"},
		{"RedemptionRelease", RedemptionRelease("red1"), "release:red1"},
		{"RedemptionFinal gen 1", RedemptionFinal("red1", 1), "final:red1"},
		{"RedemptionFinal gen 0", RedemptionFinal("red1", 0), "final:red1"},
		{"RedemptionFinal gen 2", RedemptionFinal("red1", 2), "final:red1:2"},
		{"RedemptionVoid", RedemptionVoid("red1", 1), "void:red1:1"},
		{"RedemptionRefund", RedemptionRefund("red1"), "refund:red1"},
		{"FamilyLinkVerified", FamilyLinkVerified("r1", "r2"), "family:r1:r2"},
		{"Consent", Consent("r1", "2026-12"), "consent:r1:2026-12"},
		{"RedemptionRefused", RedemptionRefused("red1"), "refused:red1"},
		{"FulfilEvent gen 1", FulfilEvent("red1", 1), "fulfil:red1"},
		{"FulfilEvent gen 3", FulfilEvent("red1", 3), "fulfil:red1:3"},
		{"ReverseEvent", ReverseEvent("red1", 2), "reverse:red1:2"},
		{"ScanAttempt first", ScanAttempt("tok1", 1), "tok1"},
		{"ScanAttempt third", ScanAttempt("tok1", 3), "tok1:3"},
		{"ScanMark", ScanMark("tok1:3"), "scan:tok1:3"},
		{"CounterCode", CounterCode("c1", "AB23CD45"), "c1:AB23CD45"},
		{"FilialBooking", FilialBooking("c1", "沪A12345", "2026-03-01"), "c1:沪A12345:2026-03-01"},
		{"VisitCancel", VisitCancel("b1", 1), "visit-cancel:b1:1"},
		{"VisitRebook", VisitRebook("b1", 2), "visit-book:b1:2"},
		{"VisitUsed", VisitUsed("b1"), "visit-used:b1"},
		{"Signup", Signup("a1", "res1", 0), "su:a1:res1:0"},
		{"SignupCancel", SignupCancel("su:a1:res1:0"), "cancel:su:a1:res1:0"},
		{"ActivityPlace", ActivityPlace("a1", 2, 1), "slot:a1:2:1"},
		{"PlaceRelease", PlaceRelease("slot:a1:2:1"), "release:slot:a1:2:1"},
		{"CheckIn", CheckIn("a1", "res1"), "in:a1:res1"},
		{"CheckOut", CheckOut("a1", "res1"), "out:a1:res1"},
		{"AttendanceRecord gen 0", AttendanceRecord("a1", "res1", 0), "att:a1:res1"},
		{"AttendanceRecord gen 2", AttendanceRecord("a1", "res1", 2), "att:a1:res1:2"},
		{"CheckInOn first day", CheckInOn("a1", "res1", ""), "in:a1:res1"},
		{"CheckInOn later day", CheckInOn("a1", "res1", "2026-07-02"), "in:a1:res1:2026-07-02"},
		{"CheckOutOn first day", CheckOutOn("a1", "res1", ""), "out:a1:res1"},
		{"CheckOutOn later day", CheckOutOn("a1", "res1", "2026-07-02"), "out:a1:res1:2026-07-02"},
		{"AttendanceRecordOn first day gen 2", AttendanceRecordOn("a1", "res1", "", 2), "att:a1:res1:2"},
		{"AttendanceRecordOn later day gen 0", AttendanceRecordOn("a1", "res1", "2026-07-02", 0), "att:a1:res1:2026-07-02"},
		{"AttendanceRecordOn later day gen 1", AttendanceRecordOn("a1", "res1", "2026-07-02", 1), "att:a1:res1:2026-07-02:1"},
		{"ClaimedRecord", ClaimedRecord("0123abcd"), "claim:0123abcd"},
		{"RecordDecision", RecordDecision("rec1"), "decision:rec1"},
		{"Correction", Correction("rec1", 2), "corr:rec1:2"},
		{"CorrectionDecision", CorrectionDecision("corr:rec1:2"), "corr-decision:corr:rec1:2"},
		{"RecordCredit hours", hours, "service:rec1:hours"},
		{"RecordCredit points", points, "service:rec1:points"},
		{"RecordCreditHash", RecordCreditHash("rec1"), "service:rec1"},
		{"CorrectionCredit hours", corrHours, "service:rec1:hours:c2"},
		{"CorrectionCredit points", corrPoints, "service:rec1:points:c2"},
		{"CorrectionCreditHash", CorrectionCreditHash("rec1", 2), "correct:rec1:2"},
		{"PostingRetry", PostingRetry("service:rec1:hours", 3), "service:rec1:hours:t3"},
		{"DayIndex", string(DayIndex("res1", "2026-03-01")), "day:res1:2026-03-01"},
		{"DayQuota", string(DayQuota("res1", "2026-03-01")), "quota:res1:2026-03-01"},
		{"PointsCarry", string(PointsCarry("res1")), "carry:res1"},
		{"YearGifts", string(YearGifts("res1", 2026)), "gift:res1:2026"},
		{"linkNote", linkNote(PointsCarry("res1"), "rec1"), "lref:carry:res1:rec1"},
		{"link id", models.LinkID(string(PointsCarry("res1")), 12), "carry:res1:000000000012"},
		{"GiftTransfer", GiftTransfer("g1"), "gift:g1"},
		{"GiftCapRelease", GiftCapRelease("g1"), "g1:release"},
		{"AuditApproved", AuditApproved("rec1"), "approve:rec1"},
		{"AuditRejected", AuditRejected("rec1"), "reject:rec1"},
		{"AuditCorrected", AuditCorrected("corr:rec1:1"), "correct:corr:rec1:1"},
		{"AuditStatement", AuditStatement("settle:p1:2026-03", "paid"), "settle:p1:2026-03:paid"},
		{"AuditHonourEvent", AuditHonourEvent("e1:revoked:1"), "honour:e1:revoked:1"},
		{"AuditNominated", AuditNominated("e1"), "honour:e1:nominated"},
		{"AidStep", AidStep("aid1", 2), "aid:aid1:step:002"},
		{"AidStep wide", AidStep("aid1", 1234), "aid:aid1:step:1234"},
		{"AidHold", AidHold("aid1", 1), "aidhold:aid1:1"},
		{"AidRelease", AidRelease("aid1", 1), "aidrelease:aid1:1"},
		{"AidPay", AidPay("aid1"), "aidpay:aid1"},
		{"Needy", Needy("res1"), "needy:res1"},
		{"PointsExpiry", PointsExpiry(acct, month), "expiry:acct:res1:POINTS:2026-03"},
		{"Nominee resident", Nominee("res1", "hh1"), "r:res1"},
		{"Nominee household", Nominee("", "hh1"), "h:hh1"},
		{"NominationChain", NominationChain("c1", "r:res1"), "nomination:c1:r:res1"},
		{"EntryRevoked", EntryRevoked("e1", 2), "e1:revoked:2"},
		{"EntryWithdrawn", EntryWithdrawn("e1"), "e1:withdrawn"},
		{"EntryAppeal", EntryAppeal("e1", 1), "e1:appeal:1"},
		{"EntryAppealRuled", EntryAppealRuled("e1", 1), "e1:appeal_ruled:1"},
		{"ListingCredit", ListingCredit("e1", "res1"), "honour:e1:res1"},
		{"ListingWithdrawal", ListingWithdrawal("e1", "res1"), "honour-withdraw:e1:res1"},
		{"BuildingSeat", BuildingSeat("b1"), "building:b1"},
		{"RoleSeat", RoleSeat("resident_lead", "res1"), "resident_lead:res1"},
		{"TermEnd", TermEnd("t1"), "term:t1:end"},
		{"DutyConfirmed", DutyConfirmed("d1"), "duty:d1:confirmed"},
		{"DutyLogged", DutyLogged("d1", "e1"), "d1:e1"},
		{"AllowanceClosed", AllowanceClosed("c1", month), "allowance-closed:c1:2026-03"},
		{"AllowanceDuty", AllowanceDuty("d1"), "allowance-duty:d1"},
		{"AllowancePayment", AllowancePayment("res1", month, 2), "allowance:res1:2026-03:2"},
		{"AllowanceHash", AllowanceHash(120), "allowance:120"},
		{"AllowanceRef", AllowanceRef(month), "allowance:2026-03"},
		{"AllowanceTermPayment", AllowanceTermPayment("t1", month), "allowance:t1:2026-03"},
		{"StarRecord", StarRecord("hh1", 2026), "hh1:2026"},
		{"StarAward", StarAward("hh1:2026", "res1"), "star:hh1:2026:res1"},
		{"StarCut", StarCut("hh1:2026", "res1", 1), "star-cut:hh1:2026:res1:1"},
		{"StarLowered", StarLowered("hh1:2026", 1), "star:hh1:2026:lowered:1"},
	}
	if amount, ok := AllowanceAmount(AllowanceHash(120)); !ok || amount != 120 {
		t.Errorf("AllowanceAmount(AllowanceHash(120)) = %d, %v", amount, ok)
	}
	if _, ok := AllowanceAmount("star"); ok {
		t.Errorf("AllowanceAmount(%q) took it for an allowance hash", "star")
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}
