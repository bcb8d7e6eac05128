package services_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/services"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

// The helpers below are the directory package's test helpers, copied so
// these tests need no exported test code.

// fakeHasher stands in for Argon2id, which would only slow the tests.
type fakeHasher struct{}

func (fakeHasher) Hash(pw string) (string, error) { return "fake$" + pw, nil }

var ids atomic.Int64

func newID() string { return fmt.Sprintf("id%08d", ids.Add(1)) }

var testNow = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func now() time.Time { return testNow }

func staffOf(community string) models.Principal {
	return models.Principal{ResidentID: "staff-" + community, CommunityID: community, Roles: []models.Role{models.RoleStaff}}
}

func residentOf(community, id string) models.Principal {
	return models.Principal{ResidentID: id, CommunityID: community, Roles: []models.Role{models.RoleResident}}
}

var ctx = context.Background()

// newService returns the service over a fresh store with communities A and B.
func newService(t *testing.T) (*directory.Service, *store.Store) {
	t.Helper()
	st := storetest.New(t)
	for _, id := range []string{"A", "B"} {
		if err := st.InsertCommunity(ctx, models.Community{ID: id, Name: "社区" + id, TimeZone: "Asia/Shanghai", Created: testNow}); err != nil {
			t.Fatalf("insert community %s: %v", id, err)
		}
	}
	return directory.New(st, fakeHasher{}, newID, now), st
}

func mustBuilding(t *testing.T, s *directory.Service, p models.Principal, name string) models.Building {
	t.Helper()
	b, err := s.CreateBuilding(ctx, p, name, "")
	if err != nil {
		t.Fatalf("create building %s: %v", name, err)
	}
	return b
}

func mustHousehold(t *testing.T, s *directory.Service, p models.Principal, buildingID, room string) models.Household {
	t.Helper()
	h, err := s.CreateHousehold(ctx, p, buildingID, room, nil)
	if err != nil {
		t.Fatalf("create household %s: %v", room, err)
	}
	return h
}

func mustResident(t *testing.T, s *directory.Service, p models.Principal, name, phone, householdID string) models.Resident {
	t.Helper()
	r, err := s.CreateResident(ctx, p, directory.NewResident{Name: name, Phone: phone, HouseholdID: householdID, Password: "initial-pw"})
	if err != nil {
		t.Fatalf("create resident %s: %v", name, err)
	}
	return r
}

func mustResidentByID(t *testing.T, st *store.Store, id string) models.Resident {
	t.Helper()
	r, err := st.Resident(ctx, id)
	if err != nil {
		t.Fatalf("read resident %s: %v", id, err)
	}
	return r
}

func wantCode(t *testing.T, what string, err error, want *models.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %s", what, err, want.Code)
	}
}

func hasRole(r models.Resident, role models.Role) bool {
	for _, x := range r.Roles {
		if x == role {
			return true
		}
	}
	return false
}

// accountsEnv is a store with community A and residents r1…r30, a ledger
// and the policies, for the accounts tests.
type accountsEnv struct {
	st    *store.Store
	clock *clock
	led   *ledger.Ledger
	pol   *services.Policies
	staff models.Principal
}

var accountsStart = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) // 16:00 in Shanghai

func newAccountsEnv(t *testing.T) *accountsEnv {
	t.Helper()
	st := storetest.New(t)
	c := &clock{t: accountsStart}
	if err := st.InsertCommunity(ctx, models.Community{ID: "A", Name: "春申", TimeZone: "Asia/Shanghai", Created: accountsStart}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		birth := 1990
		if i == 9 {
			birth = 1950
		}
		r := models.Resident{ID: fmt.Sprintf("r%d", i), CommunityID: "A", Name: fmt.Sprintf("居民%d", i),
			Phone: fmt.Sprintf("139%08d", i), BirthYear: birth, Roles: []models.Role{models.RoleResident}, Created: accountsStart}
		if err := st.InsertResident(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	led := ledger.New(st, c.now)
	pol := services.NewPolicies(st, c.now)
	return &accountsEnv{st: st, clock: c, led: led, pol: pol, staff: staffOf("A")}
}
