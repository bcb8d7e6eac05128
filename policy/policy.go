package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/cache"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// Store keeps policy versions.
type Store interface {
	// InsertPolicy adds a version written by the keyed request request
	// ("" for none); models.ErrConflict if it exists.
	InsertPolicy(ctx context.Context, p models.Policy, request string) error
	// PolicyVersionWrittenFor returns the version the keyed request
	// request wrote, or models.ErrNotFound.
	PolicyVersionWrittenFor(ctx context.Context, communityID, request string) (models.Policy, error)
	// PolicyVersions lists a community's versions (any order).
	PolicyVersions(ctx context.Context, communityID string) ([]models.Policy, error)
}

// Service serves each community's versioned policy.
type Service struct {
	store Store
	now   func() time.Time

	recent *cache.Cache[string, []models.Policy] // community id → its versions
}

// policyCacheTTL bounds how long a replica may miss a version another
// replica has just added. Versions take effect from a date staff choose,
// usually a future one, and are never changed, so a short cache is safe and
// keeps a listing query off every award.
const policyCacheTTL = 10 * time.Second

// policyCacheSize bounds how many communities' versions are remembered;
// past it the least recently used community's are read again.
const policyCacheSize = 10_000

// New returns the policy service over s on clock now.
func New(s Store, now func() time.Time) *Service {
	return &Service{
		store:  s,
		now:    now,
		recent: cache.New[string, []models.Policy](policyCacheTTL, policyCacheSize, now),
	}
}

// versions returns every version of community communityID: remembered for
// policyCacheTTL, or, with fresh, read from the store (and remembered).
func (p *Service) versions(ctx context.Context, communityID string, fresh bool) ([]models.Policy, error) {
	if !fresh {
		if versions, ok := p.recent.Get(communityID); ok {
			return versions, nil
		}
	}
	versions, err := p.store.PolicyVersions(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p.recent.Put(communityID, versions)
	return versions, nil
}

// At returns the policy in force in a community at t.
func (p *Service) At(ctx context.Context, communityID string, t time.Time) (models.Policy, error) {
	vs, err := p.versions(ctx, communityID, false)
	if err != nil {
		return models.Policy{}, err
	}
	return models.PolicyAt(communityID, vs, t), nil
}

// Current is the policy in force now in the caller's community.
func (p *Service) Current(ctx context.Context, pr models.Principal) (models.Policy, error) {
	return p.At(ctx, pr.CommunityID, p.now())
}

// Versions lists every version of the caller's community, for staff.
func (p *Service) Versions(ctx context.Context, pr models.Principal) ([]models.Policy, error) {
	if err := community.RequireStaff(pr); err != nil {
		return nil, err
	}
	return p.versions(ctx, pr.CommunityID, true)
}

// AddVersion writes the next version of the caller's community's policy.
// It takes effect at next.Effective, which may not be in the past: history
// is never rewritten. With idem's key, a repeat of a request that wrote
// its version (and died before its answer was stored) answers with that
// version instead of writing the next.
func (p *Service) AddVersion(ctx context.Context, pr models.Principal, next models.Policy, idem community.Idempotency) (models.Policy, error) {
	if err := community.RequireStaff(pr); err != nil {
		return models.Policy{}, err
	}
	now := p.now().UTC().Truncate(time.Millisecond)
	if next.Effective.IsZero() {
		next.Effective = now
	}
	if next.Effective.Before(now.Add(-time.Minute)) {
		return models.Policy{}, models.ErrValidation.Withf("生效日期不能早于今天：政策只从生效日起适用。", "effective may not be in the past: a policy applies from its date only")
	}
	if err := next.Validate(); err != nil {
		return models.Policy{}, err
	}
	next.CommunityID, next.CreatedBy = pr.CommunityID, pr.ResidentID
	next.Effective = next.Effective.UTC().Truncate(time.Millisecond)
	for attempt := 0; attempt < 5; attempt++ {
		if idem.OpID != "" {
			written, err := p.store.PolicyVersionWrittenFor(ctx, pr.CommunityID, idem.OpID)
			if err == nil {
				return written, nil
			}
			if !errors.Is(err, models.ErrNotFound) {
				return models.Policy{}, fmt.Errorf("policy: %w", err)
			}
		}
		vs, err := p.versions(ctx, pr.CommunityID, true)
		if err != nil {
			return models.Policy{}, err
		}
		next.Version = 1
		for _, v := range vs {
			if v.Version >= next.Version {
				next.Version = v.Version + 1
			}
		}
		err = p.store.InsertPolicy(ctx, next, idem.OpID)
		if errors.Is(err, models.ErrConflict) {
			continue // another staff member wrote this version number first
		}
		if err != nil {
			return models.Policy{}, fmt.Errorf("policy: %w", err)
		}
		_, _ = p.versions(ctx, pr.CommunityID, true)
		return next, nil
	}
	return models.Policy{}, models.ErrConflict.Withf("政策正在被他人修改，请稍后再试。", "policy is being changed by someone else; try again")
}
