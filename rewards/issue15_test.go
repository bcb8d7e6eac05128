package rewards_test

import (
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// Issue 15: the hold-expiry job reads the community's redemptions from the
// oldest that may still be open, and saves the oldest still open: a
// redemption held for two weeks keeps the saved time at its own however
// many later ones are decided, so it is expired when its hold ends; once
// nothing is open the saved time moves up to ten minutes before the run.
func TestIssue15_HoldExpiryStartsAtTheOldestOpenRedemption(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardPropertyFee,
		Points:   10,
		ValueFen: 100,
	})
	p := w.resident("早", 1970, 100)
	first := w.mustRedeem(p, reward.ID, idemOf(p, "open-1"))
	since := func() time.Time {
		t.Helper()
		at, ok, err := w.st.OpenRedemptionsSince(ctx, first.CommunityID)
		if err != nil || !ok {
			t.Fatalf("open-since: %v %v", ok, err)
		}
		return at
	}
	for day := range 3 {
		w.rewardClock.Advance(24 * time.Hour)
		later := w.mustRedeem(p, reward.ID, idemOf(p, "later-"+string(rune('a'+day))))
		if _, err := w.rs.Cancel(ctx, p, later.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil {
			t.Fatal(err)
		}
		if got := since(); !got.Equal(first.Created) {
			t.Fatalf("day %d: the job saved %v; want the first redemption's %v, still held", day, got, first.Created)
		}
	}
	w.rewardClock.Advance(12 * 24 * time.Hour) // past its 14-day hold
	if n, err := w.rs.ExpireHolds(ctx, w.rewardClock.Now()); err != nil || n != 1 {
		t.Fatalf("after the hold: expired %d, %v; want the first redemption", n, err)
	}
	if got, want := since(), w.rewardClock.Now().Add(-10*time.Minute); !got.Equal(want) {
		t.Fatalf("with nothing open the job saved %v; want %v", got, want)
	}
	if w.balance(p) != 100 {
		t.Fatalf("balance %d; want every point back", w.balance(p))
	}
}
