package community

import (
	"context"
	"sync"
	"time"

	"github.com/linli-community/linli/models"
)

// Remembered keeps what was read from the store for ttl, by key, on the
// service's clock. Past limit entries, the expired ones are dropped as new
// ones come in. Only what a read returned is put in: a miss is asked again.
type Remembered[K comparable, V any] struct {
	ttl   time.Duration
	limit int
	now   func() time.Time

	mu sync.Mutex
	m  map[K]rememberedValue[V]
}

type rememberedValue[V any] struct {
	v     V
	until time.Time
}

// NewRemembered returns an empty cache keeping values for ttl on now.
func NewRemembered[K comparable, V any](ttl time.Duration, limit int, now func() time.Time) *Remembered[K, V] {
	return &Remembered[K, V]{ttl: ttl, limit: limit, now: now, m: map[K]rememberedValue[V]{}}
}

// Get returns k's value if it was put in less than ttl ago.
func (r *Remembered[K, V]) Get(k K) (V, bool) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	hit, ok := r.m[k]
	if !ok || !now.Before(hit.until) {
		var zero V
		return zero, false
	}
	return hit.v, true
}

// Put remembers v for k from now.
func (r *Remembered[K, V]) Put(k K, v V) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= r.limit {
		for key, old := range r.m {
			if !now.Before(old.until) {
				delete(r.m, key)
			}
		}
	}
	r.m[k] = rememberedValue[V]{v: v, until: now.Add(r.ttl)}
}

// Forget drops k, so the next get misses.
func (r *Remembered[K, V]) Forget(k K) {
	r.mu.Lock()
	delete(r.m, k)
	r.mu.Unlock()
}

// Members remembers which community each resident belongs to, so the
// checks on the hot paths (award, deduct, balances, history of another
// resident) need no store read. A resident never changes community, so
// what is remembered stays true; it is forgotten after membersTTL all the
// same, for the rare resident deleted again (an import undone).
type Members struct {
	people      People
	communities *Remembered[string, string] // resident id → community id
}

const (
	membersTTL = time.Minute
	// membersSweep is the size past which forgotten residents are dropped.
	membersSweep = 100_000
)

// NewMembers returns the members cache over people; now is its clock.
func NewMembers(people People, now func() time.Time) *Members {
	return &Members{people: people, communities: NewRemembered[string, string](membersTTL, membersSweep, now)}
}

// resident is the resident with id as far as the checks need it: its id
// and community (models.ErrNotFound if there is none).
func (ms *Members) resident(ctx context.Context, id string) (models.Resident, error) {
	if community, ok := ms.communities.Get(id); ok {
		return models.Resident{ID: id, CommunityID: community}, nil
	}
	r, err := ms.people.Resident(ctx, id)
	if err != nil {
		return r, err
	}
	ms.communities.Put(id, r.CommunityID)
	return models.Resident{ID: r.ID, CommunityID: r.CommunityID}, nil
}

// Resident implements People for the checks: only ID and CommunityID are
// filled in.
func (ms *Members) Resident(ctx context.Context, id string) (models.Resident, error) {
	return ms.resident(ctx, id)
}

// Community implements People.
func (ms *Members) Community(ctx context.Context, id string) (models.Community, error) {
	return ms.people.Community(ctx, id)
}

// NewZones returns the time-zone cache over people.
func NewZones(people People) *Zones { return &Zones{people: people} }

// Zones remembers each community's time zone. Communities are written once
// and never changed, so what is remembered stays true.
type Zones struct {
	people interface {
		Community(ctx context.Context, id string) (models.Community, error)
	}
	m sync.Map // community id → *time.Location
}

// Location is the time zone of community id.
func (z *Zones) Location(ctx context.Context, id string) (*time.Location, error) {
	if loc, ok := z.m.Load(id); ok {
		return loc.(*time.Location), nil
	}
	c, err := z.people.Community(ctx, id)
	if err != nil {
		return nil, err
	}
	loc := c.Location()
	z.m.Store(id, loc)
	return loc, nil
}
