package honour_test

import (
	"context"
	"fmt"
	"github.com/linli-community/linli/community"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/models"
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
	return directory.New(st, fakeHasher{}, newID, now, community.NoNotifier{}), st
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

func hasRole(r models.Resident, role models.Role) bool {
	for _, x := range r.Roles {
		if x == role {
			return true
		}
	}
	return false
}

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }
