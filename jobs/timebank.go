package jobs

import (
	"context"
	"time"
)

// RecordApprover approves attendance records the organiser left alone.
type RecordApprover interface {
	// AutoApprove approves pending attendance records past the community's
	// AutoApproveDays, lets residents' own claims expire as the policy's
	// ClaimExpiryDays says (never approving them), and returns how many of
	// each; safe to repeat.
	AutoApprove(ctx context.Context) (approved, expired int, err error)
}

// AidConfirmer confirms mutual aid the requester left alone.
type AidConfirmer interface {
	// AutoConfirmAid confirms done help past AutoApproveDays, expires
	// open posts past their time (giving their held minutes back), settles
	// posts a crash left half-done, and returns how many it confirmed;
	// safe to repeat.
	AutoConfirmAid(ctx context.Context) (int, error)
}

// AutoApproveRecords approves, daily, the attendance records pending
// longer than the community's policy allows; residents' own claims wait
// for an organiser, or expire if the policy says so.
func AutoApproveRecords(a RecordApprover, loc *time.Location) Job {
	return Job{
		Name:   "timebank-autoapprove",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, x, err := a.AutoApprove(ctx)
			return Counts{"approved": n, "expired": x}, err
		},
	}
}

// AutoConfirmAid confirms, daily, mutual aid the helper marked done and the
// requester neither confirmed nor disputed in time.
func AutoConfirmAid(a AidConfirmer, loc *time.Location) Job {
	return Job{
		Name:   "mutualaid-autoconfirm",
		Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := a.AutoConfirmAid(ctx)
			return Counts{"confirmed": n}, err
		},
	}
}
