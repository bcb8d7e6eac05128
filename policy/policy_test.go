package policy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store/storetest"
)

// A new policy version applies from its effective date only: before it the
// old rules hold, after it the new ones, and the past is never rewritten.
func TestPolicyVersionAppliesFromItsDate(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	now := time.Date(2026, 10, 10, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pol := policy.New(st, clock)
	staff := models.Principal{
		ResidentID:  "s1",
		CommunityID: "c1",
		Roles:       []models.Role{models.RoleStaff},
	}

	p0, err := pol.At(ctx, "c1", now)
	if err != nil || p0.Version != 0 || p0.PointsPerHour != 10 {
		t.Fatalf("default policy: %+v %v", p0, err)
	}
	mid := time.Date(2026, 10, 16, 0, 0, 0, 0, time.UTC)
	next := p0
	next.Effective, next.PointsPerHour = mid, 12
	v1, err := pol.AddVersion(ctx, staff, next, community.Idempotency{})
	if err != nil || v1.Version != 1 {
		t.Fatalf("add version: %+v %v", v1, err)
	}
	for _, tc := range []struct {
		at      time.Time
		version int
		perHour models.Points
	}{
		{mid.Add(-time.Second), 0, 10},
		{mid, 1, 12},
		{mid.Add(30 * 24 * time.Hour), 1, 12},
	} {
		p, err := pol.At(ctx, "c1", tc.at)
		if err != nil || p.Version != tc.version || p.PointsPerHour != tc.perHour {
			t.Errorf("at %s: v%d %d/h (%v); want v%d %d/h", tc.at, p.Version, p.PointsPerHour, err, tc.version, tc.perHour)
		}
	}
	// Back-dating is refused: history is never rewritten.
	past := p0
	past.Effective = now.Add(-48 * time.Hour)
	if _, err := pol.AddVersion(ctx, staff, past, community.Idempotency{}); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("back-dated version: %v", err)
	}
	// Other communities and non-staff are unaffected / refused.
	if p, _ := pol.At(ctx, "c2", mid.Add(time.Hour)); p.Version != 0 {
		t.Fatalf("c2 sees c1's version: %+v", p)
	}
	resident := models.Principal{
		ResidentID:  "r1",
		CommunityID: "c1",
		Roles:       []models.Role{models.RoleResident},
	}
	if _, err := pol.AddVersion(ctx, resident, next, community.Idempotency{}); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("resident adds policy: %v", err)
	}
	bad := p0
	bad.TwoStarPoints = 1 // below one star
	if _, err := pol.AddVersion(ctx, staff, bad, community.Idempotency{}); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("invalid policy: %v", err)
	}
}
