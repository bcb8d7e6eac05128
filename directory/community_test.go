package directory_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// Invariant 7 (docs/ARCHITECTURE.md §8): staff see only their own community, and an id of another
// community is reported as not found, whatever the action.
func TestStaffCannotReachAnotherCommunity(t *testing.T) {
	t.Parallel()
	s, _ := communitytest.NewDirectory(t)
	a, b := communitytest.Staff("A"), communitytest.Staff("B")
	bBuilding := communitytest.MustBuilding(t, s, b, "1号楼")
	bHousehold := communitytest.MustHousehold(t, s, b, bBuilding.ID, "101")
	bResident := communitytest.MustResident(t, s, b, "李四", "13800000002", bHousehold.ID)
	bMerchant, err := s.CreatePartner(ctx, b, models.PartnerMerchant, "老王面馆", community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	aBuilding := communitytest.MustBuilding(t, s, a, "1号楼") // the same name is fine in another community
	aResident := communitytest.MustResident(t, s, a, "张三", "13800000001", "")

	name := "改名"
	hh := bHousehold.ID
	cases := map[string]func() error{
		"update building": func() error { _, err := s.UpdateBuilding(ctx, a, bBuilding.ID, "某路1号"); return err },
		"set head":        func() error { _, err := s.SetBuildingHead(ctx, a, bBuilding.ID, aResident.ID); return err },
		"head from B":     func() error { _, err := s.SetBuildingHead(ctx, a, aBuilding.ID, bResident.ID); return err },
		"household in B": func() error {
			_, err := s.CreateHousehold(ctx, a, bBuilding.ID, "102", nil, community.Idempotency{})
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
			_, err := s.CreateResident(ctx, a, directory.NewResident{
				Name:        "王五",
				Phone:       "13800000003",
				HouseholdID: bHousehold.ID,
				Password:    "initial-pw",
			})
			return err
		},
		"clerk of B's merchant": func() error {
			_, err := s.CreateResident(ctx, a, directory.NewResident{
				Name:       "王五",
				Phone:      "13800000003",
				Password:   "initial-pw",
				Roles:      []models.Role{models.RoleMerchantClerk},
				MerchantID: bMerchant.ID,
			})
			return err
		},
		"family link to B":   func() error { _, err := s.AddFamilyLink(ctx, a, aResident.ID, bResident.ID, "子女"); return err },
		"family link from B": func() error { _, err := s.AddFamilyLink(ctx, a, bResident.ID, aResident.ID, "父母"); return err },
		"verify in B":        func() error { _, err := s.VerifyFamilyLink(ctx, a, bResident.ID, aResident.ID); return err },
	}
	for what, call := range cases {
		communitytest.WantCode(t, what, call(), models.ErrNotFound)
	}

	// Listings hold only the caller's community.
	rs, _, err := s.ListResidents(ctx, a, "", "", 0)
	if err != nil || len(rs) != 1 || rs[0].ID != aResident.ID {
		t.Errorf("A's residents: %v, %v", rs, err)
	}
	bs, err := s.ListBuildings(ctx, a, "", 0)
	if err != nil || len(bs) != 1 || bs[0].ID != aBuilding.ID {
		t.Errorf("A's buildings: %v, %v", bs, err)
	}
	hs, _, err := s.ListHouseholds(ctx, a, "", "", 0)
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
	s, st := communitytest.NewDirectory(t)
	staff := communitytest.Staff("A")
	bld := communitytest.MustBuilding(t, s, staff, "1号楼")
	hh := communitytest.MustHousehold(t, s, staff, bld.ID, "101")
	me := communitytest.MustResident(t, s, staff, "张三", "13800000001", hh.ID)
	other := communitytest.MustResident(t, s, staff, "李四", "13800000002", hh.ID)
	p := communitytest.Resident("A", me.ID)
	name := "张小三"
	roles := []models.Role{models.RoleStaff}
	empty := ""

	cases := map[string]func() error{
		"create community": func() error {
			_, _, err := s.CreateCommunity(ctx, p, directory.NewCommunity{Name: "新社区"}, community.Idempotency{})
			return err
		},
		"create building": func() error { _, err := s.CreateBuilding(ctx, p, "2号楼", "", community.Idempotency{}); return err },
		"update building": func() error { _, err := s.UpdateBuilding(ctx, p, bld.ID, "x"); return err },
		"set head":        func() error { _, err := s.SetBuildingHead(ctx, p, bld.ID, me.ID); return err },
		"create household": func() error {
			_, err := s.CreateHousehold(ctx, p, bld.ID, "102", nil, community.Idempotency{})
			return err
		},
		"update household": func() error { _, err := s.UpdateHousehold(ctx, p, hh.ID, nil); return err },
		"create resident": func() error {
			_, err := s.CreateResident(ctx, p, directory.NewResident{
				Name:     "王五",
				Phone:    "13800000003",
				Password: "initial-pw",
			})
			return err
		},
		"list residents": func() error { _, _, err := s.ListResidents(ctx, p, "", "", 0); return err },
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
		"family link": func() error { _, err := s.AddFamilyLink(ctx, p, me.ID, other.ID, "配偶"); return err },
		"create partner": func() error {
			_, err := s.CreatePartner(ctx, p, models.PartnerMerchant, "店", community.Idempotency{})
			return err
		},
		"import households": func() error {
			_, err := s.ImportHouseholds(ctx, p, importReq("k-forbidden", "building,room,plates\n1号楼,102,\n"))
			return err
		},
		"staff new community": func() error {
			_, _, err := s.CreateCommunity(ctx, staff, directory.NewCommunity{Name: "新社区"}, community.Idempotency{})
			return err
		},
	}
	for what, call := range cases {
		communitytest.WantCode(t, what, call(), models.ErrForbidden)
	}

	// What a resident may do: read and rename themselves.
	if _, err := s.Resident(ctx, p, me.ID); err != nil {
		t.Errorf("read own record: %v", err)
	}
	if _, err := s.UpdateResident(ctx, p, me.ID, directory.ResidentUpdate{Name: &name}); err != nil {
		t.Errorf("rename self: %v", err)
	}
	got := communitytest.MustResidentByID(t, st, me.ID)
	if got.Name != name || got.HouseholdID != hh.ID || len(got.Roles) != 1 || got.Roles[0] != models.RoleResident {
		t.Errorf("after self edit: %+v", got)
	}
}

func TestStaffCannotGrantAdminOrBuildingHead(t *testing.T) {
	t.Parallel()
	s, _ := communitytest.NewDirectory(t)
	staff := communitytest.Staff("A")
	_, err := s.CreateResident(ctx, staff, directory.NewResident{
		Name:     "王五",
		Phone:    "13800000003",
		Password: "initial-pw",
		Roles:    []models.Role{models.RoleAdmin},
	})
	communitytest.WantCode(t, "admin by staff", err, models.ErrForbidden)
	r, err := s.CreateResident(ctx, staff, directory.NewResident{
		Name:     "王五",
		Phone:    "13800000003",
		Password: "initial-pw",
		Roles:    []models.Role{models.RoleBuildingHead, models.RoleTeamLead},
	})
	if err != nil {
		t.Fatal(err)
	}
	if communitytest.HasRole(r, models.RoleBuildingHead) || !communitytest.HasRole(r, models.RoleTeamLead) {
		t.Errorf("roles %v: building_head follows the buildings only", r.Roles)
	}
	_, err = s.CreateResident(ctx, staff, directory.NewResident{
		Name:     "赵六",
		Phone:    "13800000004",
		Password: "initial-pw",
		Roles:    []models.Role{models.RoleMerchantClerk},
	})
	communitytest.WantCode(t, "clerk without merchant", err, models.ErrValidation)
}

// A phone has one login, whatever the concurrency: of 16 creates with the
// same phone exactly one wins, and the rest leave nothing behind.
func TestPhoneIsUniqueUnderConcurrentCreates(t *testing.T) {
	t.Parallel()
	s, st := communitytest.NewDirectory(t)
	const n = 16
	var ok, taken atomic.Int64
	var winner atomic.Value
	atonce.Run(n, func(i int) {
		community := []string{"A", "B"}[i%2]
		r, err := s.CreateResident(ctx, communitytest.Staff(community), directory.NewResident{
			Name:     fmt.Sprintf("居民%d", i),
			Phone:    "13912345678",
			Password: "initial-pw",
		})
		switch {
		case err == nil:
			ok.Add(1)
			winner.Store(r.ID)
		case errors.Is(err, models.ErrAlreadyExists):
			taken.Add(1)
		default:
			t.Errorf("create %d: %v", i, err)
		}
	})
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
	if err := st.InsertCommunity(ctx, models.Community{
		ID:      "A",
		Name:    "A",
		Created: communitytest.Epoch,
	}); err != nil {
		t.Fatal(err)
	}
	broken := directory.New(failingResidents{st}, communitytest.FakeHasher{}, communitytest.NewID, communitytest.Now, community.NoNotifier{})
	if _, err := broken.CreateResident(ctx, communitytest.Staff("A"), directory.NewResident{
		Name:     "张三",
		Phone:    "13800000001",
		Password: "initial-pw",
	}); err == nil {
		t.Fatal("create succeeded over a failing store")
	}
	if _, err := st.LoginByPhone(ctx, "13800000001"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("login left behind: %v", err)
	}
	s := directory.New(st, communitytest.FakeHasher{}, communitytest.NewID, communitytest.Now, community.NoNotifier{})
	communitytest.MustResident(t, s, communitytest.Staff("A"), "张三", "13800000001", "")
}

func TestCreateResidentWithKeyFinishesOnRepeat(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	if err := st.InsertCommunity(ctx, models.Community{
		ID:      "A",
		Name:    "A",
		Created: communitytest.Epoch,
	}); err != nil {
		t.Fatal(err)
	}
	in := directory.NewResident{
		Name:     "张三",
		Phone:    "13800000001",
		Password: "initial-pw",
		OpID:     "k:staff-A:create-1",
	}
	// A crash between the login and the resident: the login stays.
	crashed := directory.New(&crashingStore{Store: st}, communitytest.FakeHasher{}, communitytest.NewID, communitytest.Now, community.NoNotifier{})
	if _, err := crashed.CreateResident(ctx, communitytest.Staff("A"), in); err == nil {
		t.Fatal("create succeeded over a crashing store")
	}
	if _, err := st.LoginByPhone(ctx, "13800000001"); err != nil {
		t.Fatalf("the crash should have left the login: %v", err)
	}
	s := directory.New(st, communitytest.FakeHasher{}, communitytest.NewID, communitytest.Now, community.NoNotifier{})
	r1, err := s.CreateResident(ctx, communitytest.Staff("A"), in)
	if err != nil {
		t.Fatalf("repeat: %v", err)
	}
	r2, err := s.CreateResident(ctx, communitytest.Staff("A"), in)
	if err != nil || r2.ID != r1.ID {
		t.Fatalf("second repeat: %+v, %v; want %s", r2, err, r1.ID)
	}
	other := in
	other.Phone = "13800000009"
	_, err = s.CreateResident(ctx, communitytest.Staff("A"), other)
	communitytest.WantCode(t, "same key, other phone", err, models.ErrIdempotencyMismatch)
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
	s, st := communitytest.NewDirectory(t)
	staff := communitytest.Staff("A")
	b1 := communitytest.MustBuilding(t, s, staff, "1号楼")
	b2 := communitytest.MustBuilding(t, s, staff, "2号楼")
	r1 := communitytest.MustResident(t, s, staff, "张三", "13800000001", "")
	r2 := communitytest.MustResident(t, s, staff, "李四", "13800000002", "")

	setHead := func(b models.Building, r string) {
		t.Helper()
		got, err := s.SetBuildingHead(ctx, staff, b.ID, r)
		if err != nil || got.HeadID != r {
			t.Fatalf("set head of %s to %q: %+v, %v", b.Name, r, got, err)
		}
	}
	wantHead := func(id string, want bool) {
		t.Helper()
		if got := communitytest.HasRole(communitytest.MustResidentByID(t, st, id), models.RoleBuildingHead); got != want {
			t.Errorf("%s building_head = %v, want %v", id, got, want)
		}
	}

	setHead(b1, r1.ID)
	wantHead(r1.ID, true)
	wantHead(r2.ID, false)

	// The role's holders are read from its list, not by filtering the
	// community's residents.
	scans := st.CommandCounts().Scans
	setHead(b1, r2.ID)
	if n := st.CommandCounts().Scans - scans; n != 0 {
		t.Errorf("a change of head sent %d scans", n)
	}
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
	if r := communitytest.MustResidentByID(t, st, r2.ID); !communitytest.HasRole(r, models.RoleResident) {
		t.Errorf("other roles lost: %v", r.Roles)
	}

	// Staff cannot take the role away through the resident's roles.
	roles := []models.Role{models.RoleResident, models.RoleTeamLead}
	r, err := s.UpdateResident(ctx, staff, r1.ID, directory.ResidentUpdate{Roles: &roles})
	if err != nil || !communitytest.HasRole(r, models.RoleBuildingHead) || !communitytest.HasRole(r, models.RoleTeamLead) {
		t.Errorf("roles after update: %v, %v", r.Roles, err)
	}
}

func TestFamilyLinks(t *testing.T) {
	t.Parallel()
	s, st := communitytest.NewDirectory(t)
	staff := communitytest.Staff("A")
	parent := communitytest.MustResident(t, s, staff, "张老伯", "13800000001", "")
	child := communitytest.MustResident(t, s, staff, "张小明", "13800000002", "")

	if _, err := s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "子女"); err != nil {
		t.Fatal(err)
	}
	// Repeating it is harmless; another relation for the same pair is not.
	if _, err := s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "子女"); err != nil {
		t.Errorf("repeat: %v", err)
	}
	_, err := s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "配偶")
	communitytest.WantCode(t, "other relation", err, models.ErrConflict)
	_, err = s.AddFamilyLink(ctx, staff, parent.ID, child.ID, "朋友")
	communitytest.WantCode(t, "unknown relation", err, models.ErrValidation)
	_, err = s.VerifyFamilyLink(ctx, staff, parent.ID, "nobody")
	communitytest.WantCode(t, "verify missing link", err, models.ErrNotFound)

	if _, err := s.VerifyFamilyLink(ctx, staff, parent.ID, child.ID); err != nil {
		t.Fatal(err)
	}
	p, c := communitytest.MustResidentByID(t, st, parent.ID), communitytest.MustResidentByID(t, st, child.ID)
	want := func(r models.Resident, other, relation string) {
		t.Helper()
		if len(r.Family) != 1 || r.Family[0] != (models.FamilyLink{
			ResidentID: other,
			Relation:   relation,
			Verified:   true,
		}) {
			t.Errorf("%s family: %+v", r.Name, r.Family)
		}
	}
	want(p, child.ID, "子女")
	want(c, parent.ID, "父母")
}

func TestPartners(t *testing.T) {
	t.Parallel()
	s, _ := communitytest.NewDirectory(t)
	staff := communitytest.Staff("A")
	m, err := s.CreatePartner(ctx, staff, models.PartnerMerchant, "老王面馆", community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreatePartner(ctx, staff, models.PartnerParking, "老王面馆", community.Idempotency{})
	communitytest.WantCode(t, "same name", err, models.ErrAlreadyExists)
	park, err := s.CreatePartner(ctx, staff, models.PartnerParking, "捷停车", community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.ListPartners(ctx, staff, models.PartnerMerchant, "", 0)
	if err != nil || len(ps) != 1 || ps[0].ID != m.ID {
		t.Errorf("merchants: %+v, %v", ps, err)
	}
	// A merchant clerk needs a merchant; a partner login any partner.
	_, err = s.CreateResident(ctx, staff, directory.NewResident{
		Name:       "收银员",
		Phone:      "13800000005",
		Password:   "initial-pw",
		Roles:      []models.Role{models.RoleMerchantClerk},
		MerchantID: park.ID,
	})
	communitytest.WantCode(t, "clerk of a car park", err, models.ErrValidation)
	clerk, err := s.CreateResident(ctx, staff, directory.NewResident{
		Name:       "收银员",
		Phone:      "13800000005",
		Password:   "initial-pw",
		Roles:      []models.Role{models.RoleMerchantClerk},
		MerchantID: m.ID,
	})
	if err != nil || clerk.MerchantID != m.ID {
		t.Errorf("clerk: %+v, %v", clerk, err)
	}
}

func TestAdminCreatesCommunityWithFirstStaff(t *testing.T) {
	t.Parallel()
	s, st := communitytest.NewDirectory(t)
	admin := models.Principal{
		ResidentID:  "root",
		CommunityID: "A",
		Roles:       []models.Role{models.RoleAdmin},
	}
	c, staff, err := s.CreateCommunity(ctx, admin, directory.NewCommunity{
		Name:     "莲花社区",
		District: "闵行区",
		FirstStaff: &directory.NewResident{
			Name:     "王社工",
			Phone:    "13800000007",
			Password: "initial-pw",
		},
	}, community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	if c.TimeZone != "Asia/Shanghai" {
		t.Errorf("defaults: %+v", c)
	}
	if staff == nil || staff.CommunityID != c.ID || len(staff.Roles) != 1 || staff.Roles[0] != models.RoleStaff {
		t.Fatalf("first staff: %+v", staff)
	}
	got := communitytest.MustResidentByID(t, st, staff.ID)
	if got.CommunityID != c.ID {
		t.Errorf("stored staff: %+v", got)
	}
	// The phone is taken now: a second community with it writes nothing.
	before, _ := st.Communities(ctx, "", 0)
	_, _, err = s.CreateCommunity(ctx, admin, directory.NewCommunity{Name: "另一个社区",
		FirstStaff: &directory.NewResident{
			Name:     "王社工",
			Phone:    "13800000007",
			Password: "initial-pw",
		}}, community.Idempotency{})
	communitytest.WantCode(t, "taken phone", err, models.ErrAlreadyExists)
	after, _ := st.Communities(ctx, "", 0)
	if len(after) != len(before) {
		t.Errorf("communities %d → %d", len(before), len(after))
	}
}
