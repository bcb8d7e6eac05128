package rewards_test

import (
	"fmt"
	"testing"

	"github.com/linli-community/linli/models"
)

// Listing redemptions whose saved status the hot paths left behind
// follows their marks; a second listing asks the store only for the marks
// that may still come (a fulfilled one's refund and void, a held one's
// final mark), not for the hold's outcome or a final mark found before. A
// mark that was missing is asked again: a refund made after the first
// listing shows in the next.
func TestIssue15_ListingAgainAsksOnlyForMarksThatMayStillCome(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	breakfast := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Points:   1,
		ValueFen: 500,
		Bearer:   models.BearerPartner,
	})
	fee := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Points:   1,
		ValueFen: 100,
	})
	p := w.resident("孙", 1960, 100)
	c := w.clerk("clerk", w.shop)
	const fulfilled, held = 5, 3
	var scanned []string
	for i := range fulfilled {
		res := w.mustScan(c, w.scanToken(p, breakfast), idemOf(c, fmt.Sprintf("marks-scan-%d", i)))
		scanned = append(scanned, res.Redemption.ID)
	}
	for i := range held {
		w.mustRedeem(p, fee.ID, idemOf(p, fmt.Sprintf("marks-hold-%d", i)))
	}
	list := func() (map[string]models.RedemptionStatus, int64) {
		t.Helper()
		before := w.st.CommandCounts().Finds
		mine, _, err := w.rs.MyRedemptions(ctx, p, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]models.RedemptionStatus{}
		for _, r := range mine {
			got[r.ID] = r.Status
		}
		if len(got) != fulfilled+held {
			t.Fatalf("listed %d redemptions; want %d", len(got), fulfilled+held)
		}
		return got, w.st.CommandCounts().Finds - before
	}
	first, firstFinds := list()
	second, secondFinds := list()
	for id, st := range first {
		if second[id] != st {
			t.Fatalf("%s listed %s, then %s", id, st, second[id])
		}
	}
	for _, id := range scanned {
		if first[id] != models.RedemptionFulfilled {
			t.Fatalf("scanned %s listed %s", id, first[id])
		}
	}
	// Each fulfilled redemption spares its hold's op and its final mark,
	// each held one its hold's op.
	if spared := firstFinds - secondFinds; spared < 2*fulfilled+held {
		t.Fatalf("the second listing sent %d finds, the first %d: %d spared; want at least %d", secondFinds, firstFinds, spared, 2*fulfilled+held)
	}
	if _, err := w.rs.Refund(ctx, c, scanned[0], "不要了"); err != nil {
		t.Fatal(err)
	}
	if third, _ := list(); third[scanned[0]] != models.RedemptionRefunded {
		t.Fatalf("refunded %s is listed %s after the refund", scanned[0], third[scanned[0]])
	}
}
