package jobs

import (
	"context"
	"time"
)

// RecordApprover approves service records the organiser left alone.
type RecordApprover interface {
	// AutoApprove approves pending records past the community's
	// AutoApproveDays and returns how many it approved; safe to repeat.
	AutoApprove(ctx context.Context) (int, error)
}

// AidConfirmer confirms mutual aid the requester left alone.
type AidConfirmer interface {
	// AutoConfirmAid confirms done help past AutoApproveDays, expires
	// open posts past their time (giving their held minutes back), settles
	// posts a crash left half-done, and returns how many it confirmed;
	// safe to repeat.
	AutoConfirmAid(ctx context.Context) (int, error)
}

// AutoApproveRecords approves, daily, the service records pending longer
// than the community's policy allows.
func AutoApproveRecords(a RecordApprover, loc *time.Location) Job {
	return Job{Name: "timebank-autoapprove", Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := a.AutoApprove(ctx)
			return Counts{"approved": n}, err
		}}
}

// AutoConfirmAid confirms, daily, mutual aid the helper marked done and the
// requester neither confirmed nor disputed in time.
func AutoConfirmAid(a AidConfirmer, loc *time.Location) Job {
	return Job{Name: "mutualaid-autoconfirm", Period: Daily(loc),
		Run: func(ctx context.Context, _ string) (Counts, error) {
			n, err := a.AutoConfirmAid(ctx)
			return Counts{"confirmed": n}, err
		}}
}
