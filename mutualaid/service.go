package mutualaid

import (
	"context"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// Store keeps the mutual-aid posts and the marks their steps and the
// needy flags are.
type Store interface {
	InsertAid(ctx context.Context, a models.MutualAid) error
	Aid(ctx context.Context, id string) (models.MutualAid, error)
	SaveAid(ctx context.Context, a models.MutualAid) error
	// Aids lists posts by id after after, at most limit (0: all), whose
	// cached state is one of states (all when none): the jobs' sweep.
	Aids(ctx context.Context, communityID, after string, limit int, states ...models.AidState) ([]models.MutualAid, error)
	// CommunityAids is one page of a community's posts, the latest
	// posted first: those on at most limit slots of its list below
	// cursor ("" first), and the next page's cursor ("" at the end);
	// a cursor the list did not give out is models.ErrBadCursor.
	CommunityAids(ctx context.Context, communityID, cursor string, limit int) ([]models.MutualAid, string, error)

	InsertMark(ctx context.Context, m models.Mark) error
	Mark(ctx context.Context, id string) (models.Mark, error)
	SetFlag(ctx context.Context, m models.Mark) error
}

// Service runs mutual aid (互助): requests and offers of help paid in
// hours, their steps from post to payment, and the community fund that
// pays for residents staff flagged as needy.
type Service struct {
	store    Store
	people   community.People
	ledger   *ledger.Ledger
	policies community.PolicySource
	trail    community.AuditTrail
	now      func() time.Time
	newID    func() string

	// aidStepHook, when set (tests only), runs just before a mutual-aid
	// step is inserted.
	aidStepHook func(postID string, kind models.AidStepKind)
}

// Deps are what the mutual-aid service is built on, by name.
type Deps struct {
	Store    Store
	People   community.People
	Ledger   *ledger.Ledger
	Policies community.PolicySource
	Trail    community.AuditTrail
	Now      func() time.Time
	NewID    func() string
}

// New returns the mutual-aid service.
func New(d Deps) *Service {
	return &Service{
		store:    d.Store,
		people:   d.People,
		ledger:   d.Ledger,
		policies: d.Policies,
		trail:    d.Trail,
		now:      d.Now,
		newID:    d.NewID,
	}
}

// stamp is the time a record is created, to the millisecond the store
// keeps, so what a create returns equals what a read returns later.
func (t *Service) stamp() time.Time { return t.now().UTC().Truncate(time.Millisecond) }
