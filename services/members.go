package services

import (
	"context"
	"sync"
	"time"

	"github.com/linli-community/linli/models"
)

// members remembers which community each resident belongs to, so the
// checks on the hot paths (award, deduct, balances, history of another
// resident) need no store read. A resident never changes community, so
// what is remembered stays true; it is forgotten after membersTTL all the
// same, for the rare resident deleted again (an import undone).
type members struct {
	people People
	now    func() time.Time

	mu sync.Mutex
	m  map[string]member
}

type member struct {
	community string
	until     time.Time
}

const (
	membersTTL = time.Minute
	// membersSweep is the size past which forgotten residents are dropped.
	membersSweep = 100_000
)

func newMembers(people People, now func() time.Time) *members {
	return &members{people: people, now: now, m: map[string]member{}}
}

// resident is the resident with id as far as the checks need it: its id
// and community (models.ErrNotFound if there is none).
func (ms *members) resident(ctx context.Context, id string) (models.Resident, error) {
	now := ms.now()
	ms.mu.Lock()
	hit, ok := ms.m[id]
	ms.mu.Unlock()
	if ok && now.Before(hit.until) {
		return models.Resident{ID: id, CommunityID: hit.community}, nil
	}
	r, err := ms.people.Resident(ctx, id)
	if err != nil {
		return r, err
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if len(ms.m) >= membersSweep {
		for k, v := range ms.m {
			if !now.Before(v.until) {
				delete(ms.m, k)
			}
		}
	}
	ms.m[id] = member{community: r.CommunityID, until: now.Add(membersTTL)}
	return models.Resident{ID: r.ID, CommunityID: r.CommunityID}, nil
}

// Resident implements People for the checks: only ID and CommunityID are
// filled in.
func (ms *members) Resident(ctx context.Context, id string) (models.Resident, error) {
	return ms.resident(ctx, id)
}

// Community implements People.
func (ms *members) Community(ctx context.Context, id string) (models.Community, error) {
	return ms.people.Community(ctx, id)
}

// zones remembers each community's time zone. Communities are written once
// and never changed, so what is remembered stays true.
type zones struct {
	people interface {
		Community(ctx context.Context, id string) (models.Community, error)
	}
	m sync.Map // community id → *time.Location
}

// location is the time zone of community id.
func (z *zones) location(ctx context.Context, id string) (*time.Location, error) {
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
