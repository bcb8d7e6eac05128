package community

import (
	"context"
	"sync"
	"time"

	"github.com/linli-community/linli/cache"
	"github.com/linli-community/linli/models"
)

// Members remembers which community each resident belongs to, so the
// checks on the hot paths (award, deduct, balances, history of another
// resident) need no store read. A resident never changes community, so
// what is remembered stays true; it is forgotten after membersTTL all the
// same, for the rare resident deleted again (an import undone).
type Members struct {
	people      People
	communities *cache.Cache[string, string] // resident id → community id
}

const (
	membersTTL = time.Minute
	// membersSize bounds how many residents are remembered; past it the
	// least recently used is read from the store again.
	membersSize = 100_000
)

// NewMembers returns the members cache over people; now is its clock.
func NewMembers(people People, now func() time.Time) *Members {
	return &Members{
		people:      people,
		communities: cache.New[string, string](membersTTL, membersSize, now),
	}
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
