package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// roleHolderIDs is RoleHolders' ids, failing the test on an error.
func roleHolderIDs(t *testing.T, s *Store, community string, role models.Role) []string {
	t.Helper()
	got, err := s.RoleHolders(context.Background(), community, role)
	if err != nil {
		t.Fatal(err)
	}
	return idsOf(got, func(r models.Resident) string { return r.ID })
}

// sealedReplicas is a sealed lists store and a second replica on its
// database, with the same keys.
func sealedReplicas(t *testing.T) (*Store, *Store) {
	t.Helper()
	s := sealedListsStore(t)
	other := openReplica(t, s)
	other.UseDataKeys(searchTestKeys(t))
	return s, other
}

// withRoles is dirResident holding roles besides resident.
func withRoles(id, community string, i int, roles ...models.Role) models.Resident {
	r := dirResident(id, community, "", i)
	r.Roles = append([]models.Role{models.RoleResident}, roles...)
	return r
}

// Whom to tell of a building head's duty (the staff and admins) is read
// from the roles' lists: each holder once, whatever roles they gained,
// lost and regained; not an erased resident, not another community's;
// and the read costs the holders, not the community's residents.
func TestRoleHoldersFollowEveryRoleChangeAndCostTheHolders(t *testing.T) {
	t.Parallel()
	s := sealedListsStore(t)
	ctx := context.Background()
	storeEach(t, 40, func(i int) error { // residents holding no role
		return s.InsertResident(ctx, withRoles(fmt.Sprint("r", i), "c1", i))
	})
	storeEach(t, 1, func(int) error {
		return s.InsertResident(ctx, withRoles("staff1", "c1", 40, models.RoleStaff))
	})
	storeEach(t, 1, func(int) error {
		return s.InsertResident(ctx, withRoles("both", "c1", 41, models.RoleStaff, models.RoleAdmin))
	})
	storeEach(t, 1, func(int) error {
		return s.InsertResident(ctx, withRoles("elsewhere", "c2", 42, models.RoleStaff))
	})
	wantEachOnce(t, "c1's staff", roleHolderIDs(t, s, "c1", models.RoleStaff), []string{"staff1", "both"})
	wantEachOnce(t, "c1's admins", roleHolderIDs(t, s, "c1", models.RoleAdmin), []string{"both"})

	// r0 becomes staff, staff1 loses it, then r0 loses it and gains it
	// back, twice: each change is the roles it sets.
	changes := []struct {
		id    string
		roles []models.Role
	}{
		{"r0", []models.Role{models.RoleResident, models.RoleStaff}},
		{"staff1", []models.Role{models.RoleResident}},
		{"r0", []models.Role{models.RoleResident}},
		{"r0", []models.Role{models.RoleResident, models.RoleStaff}},
		{"r0", []models.Role{models.RoleResident, models.RoleStaff, models.RoleAdmin}},
		{"r0", []models.Role{models.RoleResident, models.RoleStaff}},
	}
	for _, c := range changes {
		if err := s.SetResidentRoles(ctx, c.id, c.roles, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	wantEachOnce(t, "c1's staff after the changes", roleHolderIDs(t, s, "c1", models.RoleStaff), []string{"r0", "both"})
	wantEachOnce(t, "c1's admins after the changes", roleHolderIDs(t, s, "c1", models.RoleAdmin), []string{"both"})

	if err := s.EraseResident(ctx, "both", "居民甲", time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	wantEachOnce(t, "c1's staff after an erasure", roleHolderIDs(t, s, "c1", models.RoleStaff), []string{"r0"})

	w := watchCommands(s)
	roleHolderIDs(t, s, "c1", models.RoleStaff)
	w.wantNoScans(t, "reading the staff")
	// The list's slots in one read, each slot's resident (three slots: r0
	// twice, both once), and the list's end: far fewer than the 43
	// residents.
	if finds := w.finds(); finds > 10 {
		t.Fatalf("reading c1's staff sent %d finds; want at most 10 (the holders' slots, not the community)", finds)
	}
}

// Two replicas granting roles at once each put their resident on the
// list: every grant is read, once.
func TestRoleGrantsAtOnceAreEachListedOnce(t *testing.T) {
	t.Parallel()
	s, other := sealedReplicas(t)
	ctx := context.Background()
	const n = 16
	storeEach(t, n, func(i int) error {
		return s.InsertResident(ctx, withRoles(fmt.Sprint("r", i), "c1", i))
	})
	atonce.Run(n, func(i int) {
		if err := inTurn(i, s, other).SetResidentRoles(ctx, fmt.Sprint("r", i), []models.Role{models.RoleResident, models.RoleStaff}, "", ""); err != nil {
			t.Error(err)
		}
	})
	var want []string
	for i := range n {
		want = append(want, fmt.Sprint("r", i))
	}
	wantEachOnce(t, "the staff granted at once", roleHolderIDs(t, s, "c1", models.RoleStaff), want)
}

// Residents stored before the role lists are put on them once at start,
// by two replicas starting at once; a resident holding no role but
// resident goes on none.
func TestRoleHoldersStoredBeforeTheListsAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s, other := sealedReplicas(t)
	ctx := context.Background()
	storeEach(t, 3, func(i int) error {
		roles := []models.Role{models.RoleStaff}
		if i == 2 {
			roles = nil
		}
		d, err := s.residentDoc(withRoles(fmt.Sprint("old", i), "c1", i, roles...))
		if err != nil {
			return err
		}
		return s.insert(ctx, colResidents, d) // as an older version stored it: no role slots
	})
	forgetBackfills(t, s, "dir-role-lists")
	if got := roleHolderIDs(t, s, "c1", models.RoleStaff); len(got) != 0 {
		t.Fatalf("before the start c1's staff read %v; want none", got)
	}
	startAtOnce(t, 2, (*Store).listResidentsOnRoleLists, s, other)
	if err := s.EnsureSchema(ctx); err != nil { // the next start finds the work done
		t.Fatal(err)
	}
	wantEachOnce(t, "c1's staff after the start", roleHolderIDs(t, s, "c1", models.RoleStaff), []string{"old0", "old1"})
}
