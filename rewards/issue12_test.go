package rewards_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
)

// badPartnerTexts are bill numbers and reasons the HTTP routes refuse with
// VALIDATION once decoded.
var badPartnerTexts = map[string]string{
	"too long":    strings.Repeat("x", 201),
	"with a nul":  "B\u00001",
	"with an RLO": "B-1\u202e",
	"zero-width":  "B\u200b1",
	"byte-order":  "\ufeffB-1",
	"tab inside":  "B\t1",
}

// Issue 12.5: a credit's bill number and a void's or refund's reason are
// cleaned by the service, as the HTTP routes clean them: a caller that is
// not the handler gets the route's VALIDATION, nothing moves, and what is
// accepted is trimmed.
func TestIssue12_5_BillNumbersAndPartnerReasonsAreCleanedByTheService(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	fee := w.reward(models.Reward{
		Kind:                models.RewardPropertyFee,
		Title:               "物业费优惠",
		Points:              50,
		ValueFen:            2000,
		HouseholdYearCapFen: 4000,
	})
	p := w.resident("钱", 1970, 500)
	redemption := w.mustRedeem(p, fee.ID, idemOf(p, "fee-1"))
	pm := w.partnerLogin("pm", w.property)
	bills := map[string]string{
		"blank":       "  ",
		"over 40":     strings.Repeat("B", 41),
		"empty":       "",
		"newline":     "B-1\n2",
		"with a nul":  "B\u00001",
		"with an RLO": "B-1\u202e",
	}
	for name, bill := range bills {
		_, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, bill, "2026-12-01", idemOf(pm, "apply-"+name))
		communitytest.WantCode(t, "bill number "+name, err, models.ErrValidation)
	}
	if pending, _, err := w.rs.PendingCredits(ctx, pm, "", 0); err != nil || len(pending) != 1 {
		t.Fatalf("after refused bills: %d pending %v, want the credit still pending", len(pending), err)
	}
	applied, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, " WY-1 ", "2026-12-01", idemOf(pm, "apply-1"))
	if err != nil || applied.BillNo != "WY-1" {
		t.Fatalf("apply with a padded bill number: %q %v, want WY-1", applied.BillNo, err)
	}
	for name, reason := range badPartnerTexts {
		_, err := w.rs.VoidCredit(ctx, pm, redemption.ID, reason, idemOf(pm, "void-"+name))
		communitytest.WantCode(t, "void reason "+name, err, models.ErrValidation)
	}
	if got, err := w.rs.Redemption(ctx, p, redemption.ID); err != nil || got.Status != models.RedemptionFulfilled || got.Generation != 1 {
		t.Fatalf("after refused voids: %+v %v, want the credit still applied", got, err)
	}
	if _, err := w.rs.VoidCredit(ctx, pm, redemption.ID, " \t", idemOf(pm, "void-blank")); err != nil {
		t.Fatalf("void with a blank reason, which is none: %v", err)
	}

	haircut := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Title:    "理发",
		Points:   30,
		ValueFen: 1500,
		Bearer:   models.BearerPartner,
	})
	clerk := w.clerk("clerk", w.shop)
	scanned := w.mustScan(clerk, w.scanToken(p, haircut), idemOf(clerk, "scan-1"))
	before := w.balance(p)
	for name, reason := range badPartnerTexts {
		_, err := w.rs.Refund(ctx, clerk, scanned.Redemption.ID, reason)
		communitytest.WantCode(t, "refund reason "+name, err, models.ErrValidation)
	}
	if after := w.balance(p); after != before {
		t.Fatalf("refused refunds moved points: %d → %d", before, after)
	}
	refunded, err := w.rs.Refund(ctx, clerk, scanned.Redemption.ID, fmt.Sprintf(" %s ", "顾客不满意"))
	if err != nil || refunded.Status != models.RedemptionRefunded {
		t.Fatalf("refund with a padded reason: %+v %v", refunded, err)
	}
	w.mustAudit()
}
