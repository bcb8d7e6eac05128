package directory_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/linli-community/linli/community"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }

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

// Invariant 7 (docs/ARCHITECTURE.md §8): staff see only their own community, and an id of another
// community is reported as not found, whatever the action.
func TestStaffCannotReachAnotherCommunity(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	a, b := staffOf("A"), staffOf("B")
	bBuilding := mustBuilding(t, s, b, "1号楼")
	bHousehold := mustHousehold(t, s, b, bBuilding.ID, "101")
	bResident := mustResident(t, s, b, "李四", "13800000002", bHousehold.ID)
	bMerchant, err := s.CreatePartner(ctx, b, models.PartnerMerchant, "老王面馆")
	if err != nil {
		t.Fatal(err)
	}
	aBuilding := mustBuilding(t, s, a, "1号楼") // the same name is fine in another community
	aResident := mustResident(t, s, a, "张三", "13800000001", "")

	name := "改名"
	hh := bHousehold.ID
	cases := map[string]func() error{
		"update building": func() error { _, err := s.UpdateBuilding(ctx, a, bBuilding.ID, "某路1号"); return err },
		"set head":        func() error { _, err := s.SetBuildingHead(ctx, a, bBuilding.ID, aResident.ID); return err },
		"head from B":     func() error { _, err := s.SetBuildingHead(ctx, a, aBuilding.ID, bResident.ID); return err },
		"household in B": func() error {
			_, err := s.CreateHousehold(ctx, a, bBuilding.ID, "102", nil)
			return err
		},
		"update household": func() error { _, err := s.UpdateHousehold(ctx, a, bHousehold.ID, []string{"沪A12345"}); return err },
		"read resident":    func() error { _, err := s.Resident(ctx, a, bResident.ID); return err },
		"update resident": func() error {
			_, err := s.UpdateResident(ctx, a, bResident.ID, directory.ResidentUpdate{Name: &name})
			return err
		},
		"move into B's household": func() error {
			_, err := s.UpdateResident(ctx, a, aResident.ID, directory.ResidentUpdate{HouseholdID: &hh})
			return err
		},
		"create in B's household": func() error {
			_, err := s.CreateResident(ctx, a, directory.NewResident{Name: "王五", Phone: "13800000003", HouseholdID: bHousehold.ID, Password: "initial-pw"})
			return err
		},
		"clerk of B's merchant": func() error {
			_, err := s.CreateResident(ctx, a, directory.NewResident{Name: "王五", Phone: "13800000003", Password: "initial-pw",
				Roles: []models.Role{models.RoleMerchantClerk}, MerchantID: bMerchant.ID})
			return err
		},
		"family link to B":   func() error { _, err := s.AddFamilyLink(ctx, a, aResident.ID, bResident.ID, "子女"); return err },
		"family link from B": func() error { _, err := s.AddFamilyLink(ctx, a, bResident.ID, aResident.ID, "父母"); return err },
		"verify in B":        func() error { _, err := s.VerifyFamilyLink(ctx, a, bResident.ID, aResident.ID); return err },
	}
	for what, call := range cases {
		wantCode(t, what, call(), models.ErrNotFound)
	}

	// Listings hold only the caller's community.
	rs, err := s.ListResidents(ctx, a, directory.ResidentQuery{}, "", 0)
	if err != nil || len(rs) != 1 || rs[0].ID != aResident.ID {
		t.Errorf("A's residents: %v, %v", rs, err)
	}
	bs, err := s.ListBuildings(ctx, a, "", 0)
	if err != nil || len(bs) != 1 || bs[0].ID != aBuilding.ID {
		t.Errorf("A's buildings: %v, %v", bs, err)
	}
	hs, err := s.ListHouseholds(ctx, a, "", "", 0)
	if err != nil || len(hs) != 0 {
		t.Errorf("A's households: %v, %v", hs, err)
	}
	ps, err := s.ListPartners(ctx, a, "", "", 0)
	if err != nil || len(ps) != 0 {
		t.Errorf("A's partners: %v, %v", ps, err)
	}
	// And nothing of B changed.
	got, err := s.Resident(ctx, b, bResident.ID)
	if err != nil || got.Name != "李四" || got.HouseholdID != bHousehold.ID || len(got.Family) != 0 {
		t.Errorf("B's resident changed: %+v, %v", got, err)
	}
}

func TestResidentCannotCreateOrEdit(t *testing.T) {
	t.Parallel()
	s, st := newService(t)
	staff := staffOf("A")
	bld := mustBuilding(t, s, staff, "1号楼")
	hh := mustHousehold(t, s, staff, bld.ID, "101")
	me := mustResident(t, s, staff, "张三", "13800000001", hh.ID)
	other := mustResident(t, s, staff, "李四", "13800000002", hh.ID)
	p := residentOf("A", me.ID)
	name := "张小三"
	roles := []models.Role{models.RoleStaff}
	empty := ""

	cases := map[string]func() error{
		"create community": func() error {
			_, _, err := s.CreateCommunity(ctx, p, directory.NewCommunity{Name: "新社区"})
			return err
		},
		"create building":  func() error { _, err := s.CreateBuilding(ctx, p, "2号楼", ""); return err },
		"update building":  func() error { _, err := s.UpdateBuilding(ctx, p, bld.ID, "x"); return err },
		"set head":         func() error { _, err := s.SetBuildingHead(ctx, p, bld.ID, me.ID); return err },
		"create household": func() error { _, err := s.CreateHousehold(ctx, p, bld.ID, "102", nil); return err },
		"update household": func() error { _, err := s.UpdateHousehold(ctx, p, hh.ID, nil); return err },
		"create resident": func() error {
			_, err := s.CreateResident(ctx, p, directory.NewResident{Name: "王五", Phone: "13800000003", Password: "initial-pw"})
			return err
		},
		"list residents": func() error { _, err := s.ListResidents(ctx, p, directory.ResidentQuery{}, "", 0); return err },
		"read another":   func() error { _, err := s.Resident(ctx, p, other.ID); return err },
		"edit another": func() error {
			_, err := s.UpdateResident(ctx, p, other.ID, directory.ResidentUpdate{Name: &name})
			return err
		},
		"own roles": func() error {
			_, err := s.UpdateResident(ctx, p, me.ID, directory.ResidentUpdate{Roles: &roles})
			return err
		},
		"own household": func() error {
			_, err := s.UpdateResident(ctx, p, me.ID, directory.ResidentUpdate{HouseholdID: &empty})
			return err
		},
		"family link":    func() error { _, err := s.AddFamilyLink(ctx, p, me.ID, other.ID, "配偶"); return err },
		"create partner": func() error { _, err := s.CreatePartner(ctx, p, models.PartnerMerchant, "店"); return err },
		"import households": func() error {
			_, err := s.ImportHouseholds(ctx, p, importReq("k-forbidden", "building,room,plates\n1号楼,102,\n"))
			return err
		},
		"staff new community": func() error {
			_, _, err := s.CreateCommunity(ctx, staff, directory.NewCommunity{Name: "新社区"})
			return err
		},
	}
	for what, call := range cases {
		wantCode(t, what, call(), models.ErrForbidden)
	}

	// What a resident may do: read and rename themselves.
	if _, err := s.Resident(ctx, p, me.ID); err != nil {
		t.Errorf("read own record: %v", err)
	}
	if _, err := s.UpdateResident(ctx, p, me.ID, directory.ResidentUpdate{Name: &name}); err != nil {
		t.Errorf("rename self: %v", err)
	}
	got := mustResidentByID(t, st, me.ID)
	if got.Name != name || got.HouseholdID != hh.ID || len(got.Roles) != 1 || got.Roles[0] != models.RoleResident {
		t.Errorf("after self edit: %+v", got)
	}
}

func TestStaffCannotGrantAdminOrBuildingHead(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	staff := staffOf("A")
	_, err := s.CreateResident(ctx, staff, directory.NewResident{Name: "王五", Phone: "13800000003", Password: "initial-pw", Roles: []models.Role{models.RoleAdmin}})
	wantCode(t, "admin by staff", err, models.ErrForbidden)
	r, err := s.CreateResident(ctx, staff, directory.NewResident{Name: "王五", Phone: "13800000003", Password: "initial-pw",
		Roles: []models.Role{models.RoleBuildingHead, models.RoleTeamLead}})
	if err != nil {
		t.Fatal(err)
	}
	if hasRole(r, models.RoleBuildingHead) || !hasRole(r, models.RoleTeamLead) {
		t.Errorf("roles %v: building_head follows the buildings only", r.Roles)
	}
	_, err = s.CreateResident(ctx, staff, directory.NewResident{Name: "赵六", Phone: "13800000004", Password: "initial-pw", Roles: []models.Role{models.RoleMerchantClerk}})
	wantCode(t, "clerk without merchant", err, models.ErrValidation)
}

// A phone has one login, whatever the concurrency: of 16 creates with the
// same phone exactly one wins, and the rest leave nothing behind.
func TestPhoneIsUniqueUnderConcurrentCreates(t *testing.T) {
	t.Parallel()
	s, st := newService(t)
	const n = 16
	var ok, taken atomic.Int64
	var winner atomic.Value
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			community := []string{"A", "B"}[i%2]
			r, err := s.CreateResident(ctx, staffOf(community), directory.NewResident{
				Name: fmt.Sprintf("居民%d", i), Phone: "13912345678", Password: "initial-pw"})
			switch {
			case err == nil:
				ok.Add(1)
				winner.Store(r.ID)
			case errors.Is(err, models.ErrAlreadyExists):
				taken.Add(1)
			default:
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 || taken.Load() != n-1 {
		t.Fatalf("%d created, %d refused; want 1 and %d", ok.Load(), taken.Load(), n-1)
	}
	total := 0
	for _, c := range []string{"A", "B"} {
		rs, err := st.Residents(ctx, models.ResidentFilter{CommunityID: c}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		total += len(rs)
	}
	if total != 1 {
		t.Errorf("%d residents stored, want 1", total)
	}
	l, err := st.LoginByPhone(ctx, "13912345678")
	if err != nil || l.ResidentID != winner.Load().(string) {
		t.Errorf("login %+v, %v; want the winner's", l, err)
	}
}

// failingResidents fails every resident insert, as a lost connection would.
type failingResidents struct{ *store.Store }

func (failingResidents) InsertResident(context.Context, models.Resident) error {
	return errors.New("connection reset")
}

func TestCreateResidentGivesThePhoneBackWhenItFails(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	if err := st.InsertCommunity(ctx, models.Community{ID: "A", Name: "A", Created: testNow}); err != nil {
		t.Fatal(err)
	}
	broken := directory.New(failingResidents{st}, fakeHasher{}, newID, now, community.NoNotifier{})
	if _, err := broken.CreateResident(ctx, staffOf("A"), directory.NewResident{Name: "张三", Phone: "13800000001", Password: "initial-pw"}); err == nil {
		t.Fatal("create succeeded over a failing store")
	}
	if _, err := st.LoginByPhone(ctx, "13800000001"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("login left behind: %v", err)
	}
	s := directory.New(st, fakeHasher{}, newID, now, community.NoNotifier{})
	mustResident(t, s, staffOf("A"), "张三", "13800000001", "")
}

func TestCreateResidentWithKeyFinishesOnRepeat(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	if err := st.InsertCommunity(ctx, models.Community{ID: "A", Name: "A", Created: testNow}); err != nil {
		t.Fatal(err)
	}
	in := directory.NewResident{Name: "张三", Phone: "13800000001", Password: "initial-pw", OpID: "k:staff-A:create-1"}
	// A crash between the login and the resident: the login stays.
	crashed := directory.New(&crashingStore{Store: st}, fakeHasher{}, newID, now, community.NoNotifier{})
	if _, err := crashed.CreateResident(ctx, staffOf("A"), in); err == nil {
		t.Fatal("create succeeded over a crashing store")
	}
	if _, err := st.LoginByPhone(ctx, "13800000001"); err != nil {
		t.Fatalf("the crash should have left the login: %v", err)
	}
	s := directory.New(st, fakeHasher{}, newID, now, community.NoNotifier{})
	r1, err := s.CreateResident(ctx, staffOf("A"), in)
	if err != nil {
		t.Fatalf("repeat: %v", err)
	}
	r2, err := s.CreateResident(ctx, staffOf("A"), in)
	if err != nil || r2.ID != r1.ID {
		t.Fatalf("second repeat: %+v, %v; want %s", r2, err, r1.ID)
	}
	other := in
	other.Phone = "13800000009"
	_, err = s.CreateResident(ctx, staffOf("A"), other)
	wantCode(t, "same key, other phone", err, models.ErrIdempotencyMismatch)
	if _, err := st.LoginByPhone(ctx, "13800000009"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("the mismatched create left a login: %v", err)
	}
	rs, _ := st.Residents(ctx, models.ResidentFilter{CommunityID: "A"}, "", 0)
	if len(rs) != 1 {
		t.Errorf("%d residents, want 1", len(rs))
	}
}

func TestBuildingHeadChangeMovesTheRole(t *testing.T) {
	t.Parallel()
	s, st := newService(t)
	staff := staffOf("A")
	b1 := mustBuilding(t, s, staff, "1号楼")
	b2 := mustBuilding(t, s, staff, "2号楼")
	r1 := mustResident(t, s, staff, "张三", "13800000001", "")
	r2 := mustResident(t, s, staff, "李四", "13800000002", "")

	setHead := func(b models.Building, r string) {
		t.Helper()
		got, err := s.SetBuildingHead(ctx, staff, b.ID, r)
		if err != nil || got.HeadID != r {
			t.Fatalf("set head of %s to %q: %+v, %v", b.Name, r, got, err)
		}
	}
	wantHead := func(id string, want bool) {
		t.Helper()
		if got := hasRole(mustResidentByID(t, st, id), models.RoleBuildingHead); got != want {
			t.Errorf("%s building_head = %v, want %v", id, got, want)
		}
	}

	setHead(b1, r1.ID)
	wantHead(r1.ID, true)
	wantHead(r2.ID, false)

	setHead(b1, r2.ID)
	wantHead(r1.ID, false)
	wantHead(r2.ID, true)
	if b, _ := st.Building(ctx, b1.ID); b.HeadID != r2.ID {
		t.Errorf("building head %q, want %q", b.HeadID, r2.ID)
	}

	// Someone who still heads another building keeps the role.
	setHead(b2, r2.ID)
	setHead(b1, r1.ID)
	wantHead(r1.ID, true)
	wantHead(r2.ID, true)
	setHead(b2, "")
	wantHead(r2.ID, false)
	wantHead(r1.ID, true)
	if r := mustResidentByID(t, st, r2.ID); !hasRole(r, models.RoleResident) {
		t.Errorf("other roles lost: %v", r.Roles)
	}

	// Staff cannot take the role away through the resident's roles.
	roles := []models.Role{models.RoleResident, models.RoleTeamLead}
	r, err := s.UpdateResident(ctx, staff, r1.ID, directory.ResidentUpdate{Roles: &roles})
	if err != nil || !hasRole(r, models.RoleBuildingHead) || !hasRole(r, models.RoleTeamLead) {
		t.Errorf("roles after update: %v, %v", r.Roles, err)
	}
}

func TestFamilyLinks(t *testing.T) {
	t.Parallel()
	s, st := newService(t)
	staff := staffOf("A")
	parent := mustResident(t, s, staff, "张老伯", "13800000001", "")
	child := mustResident(t, s, staff, "张小明", "13800000002", "")

	if _, err := s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "子女"); err != nil {
		t.Fatal(err)
	}
	// Repeating it is harmless; another relation for the same pair is not.
	if _, err := s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "子女"); err != nil {
		t.Errorf("repeat: %v", err)
	}
	_, err := s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "配偶")
	wantCode(t, "other relation", err, models.ErrConflict)
	_, err = s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "朋友")
	wantCode(t, "unknown relation", err, models.ErrValidation)
	_, err = s.VerifyFamilyLink(ctx, staff, parent.ID, "nobody")
	wantCode(t, "verify missing link", err, models.ErrNotFound)

	if _, err := s.VerifyFamilyLink(ctx, staff, parent.ID, child.ID); err != nil {
		t.Fatal(err)
	}
	p, c := mustResidentByID(t, st, parent.ID), mustResidentByID(t, st, child.ID)
	want := func(r models.Resident, other, relation string) {
		t.Helper()
		if len(r.Family) != 1 || r.Family[0] != (models.FamilyLink{ResidentID: other, Relation: relation, Verified: true}) {
			t.Errorf("%s family: %+v", r.Name, r.Family)
		}
	}
	want(p, child.ID, "子女")
	want(c, parent.ID, "父母")
}

func TestPartners(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	staff := staffOf("A")
	m, err := s.CreatePartner(ctx, staff, models.PartnerMerchant, "老王面馆")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreatePartner(ctx, staff, models.PartnerParking, "老王面馆")
	wantCode(t, "same name", err, models.ErrAlreadyExists)
	park, err := s.CreatePartner(ctx, staff, models.PartnerParking, "捷停车")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.ListPartners(ctx, staff, models.PartnerMerchant, "", 0)
	if err != nil || len(ps) != 1 || ps[0].ID != m.ID {
		t.Errorf("merchants: %+v, %v", ps, err)
	}
	// A merchant clerk needs a merchant; a partner login any partner.
	_, err = s.CreateResident(ctx, staff, directory.NewResident{Name: "收银员", Phone: "13800000005", Password: "initial-pw",
		Roles: []models.Role{models.RoleMerchantClerk}, MerchantID: park.ID})
	wantCode(t, "clerk of a car park", err, models.ErrValidation)
	clerk, err := s.CreateResident(ctx, staff, directory.NewResident{Name: "收银员", Phone: "13800000005", Password: "initial-pw",
		Roles: []models.Role{models.RoleMerchantClerk}, MerchantID: m.ID})
	if err != nil || clerk.MerchantID != m.ID {
		t.Errorf("clerk: %+v, %v", clerk, err)
	}
}

func TestAdminCreatesCommunityWithFirstStaff(t *testing.T) {
	t.Parallel()
	s, st := newService(t)
	admin := models.Principal{ResidentID: "root", CommunityID: "A", Roles: []models.Role{models.RoleAdmin}}
	c, staff, err := s.CreateCommunity(ctx, admin, directory.NewCommunity{Name: "莲花社区", District: "闵行区",
		FirstStaff: &directory.NewResident{Name: "王社工", Phone: "13800000007", Password: "initial-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.TimeZone != "Asia/Shanghai" {
		t.Errorf("defaults: %+v", c)
	}
	if staff == nil || staff.CommunityID != c.ID || len(staff.Roles) != 1 || staff.Roles[0] != models.RoleStaff {
		t.Fatalf("first staff: %+v", staff)
	}
	got := mustResidentByID(t, st, staff.ID)
	if got.CommunityID != c.ID {
		t.Errorf("stored staff: %+v", got)
	}
	// The phone is taken now: a second community with it writes nothing.
	before, _ := st.Communities(ctx, "", 0)
	_, _, err = s.CreateCommunity(ctx, admin, directory.NewCommunity{Name: "另一个社区",
		FirstStaff: &directory.NewResident{Name: "王社工", Phone: "13800000007", Password: "initial-pw"}})
	wantCode(t, "taken phone", err, models.ErrAlreadyExists)
	after, _ := st.Communities(ctx, "", 0)
	if len(after) != len(before) {
		t.Errorf("communities %d → %d", len(before), len(after))
	}
}
