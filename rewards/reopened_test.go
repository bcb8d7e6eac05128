package rewards_test

import (
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// A credit applied to a bill and made pending again by the bill's void,
// after the hold-expiry job has moved its start past the day the credit
// was redeemed, is still found by the job: it expires when its new hold
// period ends and its points come back, and until then the liability
// report's held points count it and the partner's pending credits list it.
func TestVoidedCreditReheldAfterTheExpiryJobMovedOnStillExpires(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Points:   40,
		ValueFen: 500,
	})
	p := w.resident("退", 1970, 100)
	redemption := w.mustRedeem(p, reward.ID, idemOf(p, "reheld-1"))
	pm := w.partnerLogin("pm", w.property)
	w.rewardClock.Advance(24 * time.Hour)
	if _, err := w.rs.ApplyCredit(ctx, pm, redemption.ID, "B-1", "2026-11-22", idemOf(pm, "reheld-apply")); err != nil {
		t.Fatal(err)
	}
	// Three weeks on, the job finds nothing open and starts its next walk
	// from now.
	w.rewardClock.Advance(20 * 24 * time.Hour)
	if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 0 {
		t.Fatalf("before the void: expired %d %v", n, err)
	}
	if pending, _, err := w.rs.PendingCredits(ctx, pm, "", 10); err != nil || len(pending) != 0 {
		t.Fatalf("pending credits before the void: %+v %v; want none (applied)", pending, err)
	}
	if _, err := w.rs.VoidCredit(ctx, pm, redemption.ID, "账单作废", idemOf(pm, "reheld-void")); err != nil {
		t.Fatal(err)
	}
	w.rewardClock.Advance(time.Hour)
	if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 0 {
		t.Fatalf("just after the void: expired %d %v", n, err)
	}
	// The partner's pending credits list it again, though it was made
	// three weeks before the walk's saved start: the credits' list reads
	// what the job walks, the voids since included.
	if pending, next, err := w.rs.PendingCredits(ctx, pm, "", 10); err != nil || len(pending) != 1 || pending[0].ID != redemption.ID || next != "" {
		t.Fatalf("pending credits after the void: %+v next %q %v; want the re-held credit alone", pending, next, err)
	}
	held, err := w.rs.HeldPoints(ctx, w.staff.CommunityID, w.rewardClock.Now())
	if err != nil || held != 40 {
		t.Fatalf("held points after the void: %d %v; want the re-held credit's 40", held, err)
	}
	w.rewardClock.Advance(15 * 24 * time.Hour)
	if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 1 {
		t.Fatalf("after the new hold period: expired %d %v; want the re-held credit", n, err)
	}
	if pending, _, err := w.rs.PendingCredits(ctx, pm, "", 10); err != nil || len(pending) != 0 {
		t.Fatalf("pending credits after it expired: %+v %v; want none", pending, err)
	}
	got, err := w.rs.Redemption(ctx, p, redemption.ID)
	if err != nil || got.Status != models.RedemptionExpired {
		t.Fatalf("the re-held credit is %+v %v; want expired", got, err)
	}
	if b := w.balance(p); b != 100 {
		t.Fatalf("balance %d; want 100, the credit's points back", b)
	}
	w.mustAudit()
}
