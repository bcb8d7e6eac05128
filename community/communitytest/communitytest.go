// Package communitytest is what the capabilities' tests share, so each
// package's tests need no copy of it: fresh ids, a fixed instant and a
// settable clock, the principals of staff and residents, a start barrier
// for concurrent calls, and communities with their residents or their
// buildings and households on a real store (package store/storetest).
// Only tests import it.
package communitytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
	"github.com/linli-community/linli/timebank"
)

// FakeHasher stands in for Argon2id, which would only slow the tests.
type FakeHasher struct{}

// Hash returns the password marked as hashed.
func (FakeHasher) Hash(pw string) (string, error) { return "fake$" + pw, nil }

// ids numbers the ids NewID gives, once per test binary.
var ids atomic.Int64

// NewID returns an id no other call in the test binary returns.
func NewID() string { return fmt.Sprintf("id%08d", ids.Add(1)) }

// Epoch is the instant of tests that need no clock of their own:
// 14 March 2026, 09:00 UTC.
var Epoch = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// Now returns Epoch.
func Now() time.Time { return Epoch }

// Staff returns the principal of community's staff member.
func Staff(community string) models.Principal {
	return models.Principal{
		ResidentID:  "staff-" + community,
		CommunityID: community,
		Roles:       []models.Role{models.RoleStaff},
	}
}

// Resident returns the principal of resident id of community.
func Resident(community, id string) models.Principal {
	return models.Principal{
		ResidentID:  id,
		CommunityID: community,
		Roles:       []models.Role{models.RoleResident},
	}
}

// Clock is a settable time, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	at time.Time
}

// NewClock returns a clock showing at.
func NewClock(at time.Time) *Clock { return &Clock{at: at} }

// Now returns the time the clock shows.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// Set sets the clock to at.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = at
}

// WantCode marks the test failed, and goes on, unless err is want.
func WantCode(t testing.TB, what string, err error, want *models.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %s", what, err, want.Code)
	}
}

// MustCode stops the test unless err is want.
func MustCode(t testing.TB, err error, want *models.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %s", err, want.Code)
	}
}

// MustCommunity adds community id (in Shanghai's zone, created at) to st.
func MustCommunity(t testing.TB, st *store.Store, id, name string, at time.Time) {
	t.Helper()
	c := models.Community{
		ID:       id,
		Name:     name,
		TimeZone: "Asia/Shanghai",
		Created:  at,
	}
	if err := st.InsertCommunity(context.Background(), c); err != nil {
		t.Fatalf("insert community %s: %v", id, err)
	}
}

// SeededResidents is how many residents SeedResidents adds.
const SeededResidents = 30

// ElderID is the one seeded resident born in 1950; the others were born
// in 1990.
const ElderID = "r9"

// SeedResidents adds community A (春申) to st with residents r1 … r30,
// born in 1990 but for ElderID, born in 1950, all created at.
func SeedResidents(t testing.TB, st *store.Store, at time.Time) {
	t.Helper()
	MustCommunity(t, st, "A", "春申", at)
	for i := 1; i <= SeededResidents; i++ {
		r := models.Resident{
			ID:          fmt.Sprintf("r%d", i),
			CommunityID: "A",
			Name:        fmt.Sprintf("居民%d", i),
			Phone:       fmt.Sprintf("139%08d", i),
			BirthYear:   1990,
			Roles:       []models.Role{models.RoleResident},
			Created:     at,
		}
		if r.ID == ElderID {
			r.BirthYear = 1950
		}
		if err := st.InsertResident(context.Background(), r); err != nil {
			t.Fatalf("insert resident %s: %v", r.ID, err)
		}
	}
}

// World is community A with its seeded residents (SeedResidents) on a
// fresh store, its staff member, the ledger, the policies and the time
// bank, all on one clock the test moves.
type World struct {
	Store    *store.Store
	Clock    *Clock
	Ledger   *ledger.Ledger
	Policies *policy.Service
	Timebank *timebank.Service
	Staff    models.Principal
}

// NewWorld returns a World whose clock shows start.
func NewWorld(t testing.TB, start time.Time) *World {
	t.Helper()
	st := storetest.New(t)
	SeedResidents(t, st, start)
	clock := NewClock(start)
	w := &World{
		Store:    st,
		Clock:    clock,
		Ledger:   ledger.New(st, clock.Now),
		Policies: policy.New(st, clock.Now),
		Staff:    Staff("A"),
	}
	w.Timebank = timebank.New(timebank.Deps{
		Store:    st,
		People:   st,
		Ledger:   w.Ledger,
		Policies: w.Policies,
		Trail:    st,
		QRSecret: []byte("test-secret-0123456789"),
		Now:      clock.Now,
		NewID:    NewID,
		Notify:   community.NoNotifier{},
	})
	return w
}

// Balance returns the balance of resident id's account in asset.
func (w *World) Balance(t testing.TB, id string, asset models.Asset) int64 {
	t.Helper()
	b, err := w.Ledger.Balance(context.Background(), models.AccountOf(id, asset))
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
}

// NewDirectory returns the community-structure service over a fresh store
// with communities A and B, created at Epoch, telling no one.
func NewDirectory(t testing.TB) (*directory.Service, *store.Store) {
	t.Helper()
	st := storetest.New(t)
	for _, id := range []string{"A", "B"} {
		MustCommunity(t, st, id, "社区"+id, Epoch)
	}
	return directory.New(st, FakeHasher{}, NewID, Now, community.NoNotifier{}), st
}

// MustBuilding creates building name as p.
func MustBuilding(t testing.TB, s *directory.Service, p models.Principal, name string) models.Building {
	t.Helper()
	b, err := s.CreateBuilding(context.Background(), p, name, "", community.Idempotency{})
	if err != nil {
		t.Fatalf("create building %s: %v", name, err)
	}
	return b
}

// MustHousehold creates household room in building buildingID as p.
func MustHousehold(t testing.TB, s *directory.Service, p models.Principal, buildingID, room string) models.Household {
	t.Helper()
	h, err := s.CreateHousehold(context.Background(), p, buildingID, room, nil, community.Idempotency{})
	if err != nil {
		t.Fatalf("create household %s: %v", room, err)
	}
	return h
}

// MustResident creates resident name, with phone, in householdID ("" for
// none), as p.
func MustResident(t testing.TB, s *directory.Service, p models.Principal, name, phone, householdID string) models.Resident {
	t.Helper()
	in := directory.NewResident{
		Name:        name,
		Phone:       phone,
		HouseholdID: householdID,
		Password:    "initial-pw",
	}
	r, err := s.CreateResident(context.Background(), p, in)
	if err != nil {
		t.Fatalf("create resident %s: %v", name, err)
	}
	return r
}

// MustResidentByID reads resident id from st.
func MustResidentByID(t testing.TB, st *store.Store, id string) models.Resident {
	t.Helper()
	r, err := st.Resident(context.Background(), id)
	if err != nil {
		t.Fatalf("read resident %s: %v", id, err)
	}
	return r
}

// HasRole reports whether r holds role.
func HasRole(r models.Resident, role models.Role) bool {
	for _, held := range r.Roles {
		if held == role {
			return true
		}
	}
	return false
}

// WalkPages reads every page of a list paged by cursor (page returns a
// page, at most limit items, and the next page's cursor, "" at the end)
// and returns the items in the order read, failing the test on an error,
// an over-full page or pages that never end.
func WalkPages[T any](t testing.TB, limit int, page func(cursor string) ([]T, string, error)) []T {
	t.Helper()
	var items []T
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the cursor does not move on")
		}
		got, next, err := page(cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > limit {
			t.Fatalf("a page of %d holds %d", limit, len(got))
		}
		items = append(items, got...)
		if next == "" {
			return items
		}
		cursor = next
	}
}
