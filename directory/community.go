package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"golang.org/x/sync/errgroup"
)

// PasswordHasher turns a password into the form a login stores.
type PasswordHasher interface {
	// Hash returns the encoded hash of password, or models.ErrValidation if
	// the password breaks the policy.
	Hash(password string) (string, error)
}

// Store is the store of communities, their buildings, households,
// residents and partners. Inserts return models.ErrConflict on a duplicate
// _id or unique key; reads by id return models.ErrNotFound; listings take
// the last id of the previous page and a limit (0: all).
type Store interface {
	InsertCommunity(ctx context.Context, c models.Community) error
	Community(ctx context.Context, id string) (models.Community, error)
	Communities(ctx context.Context, after string, limit int) ([]models.Community, error)

	InsertBuilding(ctx context.Context, b models.Building) error
	Building(ctx context.Context, id string) (models.Building, error)
	Buildings(ctx context.Context, communityID, after string, limit int) ([]models.Building, error)
	SetBuildingHead(ctx context.Context, id, headID string) error
	SetBuildingAddress(ctx context.Context, id, address string) error

	InsertHousehold(ctx context.Context, h models.Household) error
	Household(ctx context.Context, id string) (models.Household, error)
	Households(ctx context.Context, communityID, buildingID, after string, limit int) ([]models.Household, error)
	// SearchHouseholds is a page of a community's households in a room,
	// read from the room's list below cursor, and the next page's cursor.
	SearchHouseholds(ctx context.Context, communityID, room, cursor string, limit int) ([]models.Household, string, error)
	// ListedHouseholds is a page of a community's (or one building's)
	// households, read from its list below cursor, and the next page's
	// cursor.
	ListedHouseholds(ctx context.Context, communityID, buildingID, cursor string, limit int) ([]models.Household, string, error)
	SetHouseholdPlates(ctx context.Context, id string, plates []string) error
	// DeleteHousehold removes a household; nil if it is already gone.
	DeleteHousehold(ctx context.Context, id string) error

	InsertResident(ctx context.Context, r models.Resident) error
	Resident(ctx context.Context, id string) (models.Resident, error)
	Residents(ctx context.Context, f models.ResidentFilter, after string, limit int) ([]models.Resident, error)
	// RoleHolders is every resident of a community holding one of roles
	// now, read from the roles' lists.
	RoleHolders(ctx context.Context, communityID string, roles ...models.Role) ([]models.Resident, error)
	// SearchResidents is a page of a community's residents whose name
	// holds q or whose phone ends in its four digits, read from one list
	// below cursor, and the next page's cursor.
	SearchResidents(ctx context.Context, communityID, q, cursor string, limit int) ([]models.Resident, string, error)
	// ListedResidents is a page of a community's (or one household's)
	// residents, read from its list below cursor, and the next page's
	// cursor.
	ListedResidents(ctx context.Context, communityID, householdID, cursor string, limit int) ([]models.Resident, string, error)
	SetResidentProfile(ctx context.Context, id, name string, birthYear int, householdID string) error
	SetResidentRoles(ctx context.Context, id string, roles []models.Role, merchantID, partnerID string) error
	SetResidentFamily(ctx context.Context, id string, family []models.FamilyLink) error
	// DeleteResident removes a resident; nil if it is already gone.
	DeleteResident(ctx context.Context, id string) error

	// InsertLogin returns models.ErrConflict if the phone has a login.
	InsertLogin(ctx context.Context, l models.Login) error
	LoginByPhone(ctx context.Context, phone string) (models.Login, error)
	// DeleteLogin removes a phone's login; nil if it is already gone.
	DeleteLogin(ctx context.Context, phone string) error

	InsertPartner(ctx context.Context, p models.Partner) error
	Partner(ctx context.Context, id string) (models.Partner, error)
	Partners(ctx context.Context, communityID string, kind models.PartnerKind, after string, limit int) ([]models.Partner, error)

	InsertImport(ctx context.Context, im models.Import) error
	Import(ctx context.Context, id string) (models.Import, error)
	FinishImport(ctx context.Context, id string, status models.ImportStatus, written int, problems []models.ImportProblem, at time.Time) error
}

// Service lets admins create communities and staff keep their
// community's buildings, households, residents and partners.
type Service struct {
	store  Store
	hasher PasswordHasher
	newID  func() string
	now    func() time.Time
	terms  HeadTermKeeper
	notify community.Notifier
	// residency and policies: marking residents moved away and erasing
	// them (residency.go); set by TrackResidency.
	residency ResidencyStore
	policies  community.PolicySource
}

// HeadTermKeeper records building heads' terms (the honour service).
type HeadTermKeeper interface {
	// HeadChanged is told that the building's head went from prev to next
	// ("" for none), so the open term follows; it returns nil when the
	// terms agree already.
	HeadChanged(ctx context.Context, p models.Principal, buildingID, prev, next string) error
}

// KeepHeadTerms makes every change of a building's head open and close
// terms through k, so the current head and the open term stay one.
func (s *Service) KeepHeadTerms(k HeadTermKeeper) { s.terms = k }

// New returns the community-structure service. newID returns a
// fresh random id for every new record; notify tells two relatives their
// family link was verified, and is required (community.NoNotifier{} tells
// no one).
func New(s Store, h PasswordHasher, newID func() string, now func() time.Time, notify community.Notifier) *Service {
	community.MustNotify("directory", notify)
	return &Service{
		store:  s,
		hasher: h,
		newID:  newID,
		now:    now,
		notify: notify,
	}
}

// stamp is the time a record is created, to the millisecond the store
// keeps, so what a create returns equals what a read returns later.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// --- communities ---

// NewCommunity is what an admin gives to create a community. FirstStaff,
// if set, is the community's first staff member, so someone can manage it.
type NewCommunity struct {
	Name       string
	District   string
	TimeZone   string // IANA name; default Asia/Shanghai
	FirstStaff *NewResident
}

// CreateCommunity adds a community (admins only) and, if asked, its first
// staff member. The staff member is checked, phone included, before the
// community is written, so a bad request writes nothing.
func (s *Service) CreateCommunity(ctx context.Context, p models.Principal, in NewCommunity, idem community.Idempotency) (models.Community, *models.Resident, error) {
	if !p.Has(models.RoleAdmin) {
		return models.Community{}, nil, models.ErrForbidden
	}
	name, err := models.CleanText("name", in.Name, 60)
	if err != nil {
		return models.Community{}, nil, err
	}
	district := ""
	if in.District != "" {
		if district, err = models.CleanText("district", in.District, 60); err != nil {
			return models.Community{}, nil, err
		}
	}
	tz := in.TimeZone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return models.Community{}, nil, models.ErrValidation.Withf("时区须为 IANA 时区名称，例如 Asia/Shanghai。", "time_zone must be an IANA time zone such as Asia/Shanghai")
	}
	c := models.Community{
		ID:       community.CreatedID(idem, "community", s.newID),
		Name:     name,
		District: district,
		TimeZone: tz,
		Created:  s.stamp(),
	}
	var staff *NewResident
	if in.FirstStaff != nil {
		st := *in.FirstStaff
		st.Roles, st.HouseholdID, st.MerchantID, st.PartnerID = []models.Role{models.RoleStaff}, "", "", ""
		if err := st.check(s.now()); err != nil {
			return models.Community{}, nil, err
		}
		// Refuse a phone that is taken before the community exists (unless
		// this very request took it, and is repeated); a race for the phone
		// after this check leaves a community without staff, which an admin
		// can still give one.
		st.OpID = idem.OpID
		if l, err := s.store.LoginByPhone(ctx, st.phone); err == nil {
			if idem.OpID == "" || l.ResidentID != community.CreatedID(idem, "resident", s.newID) {
				return models.Community{}, nil, phoneTaken()
			}
		} else if !errors.Is(err, models.ErrNotFound) {
			return models.Community{}, nil, fmt.Errorf("create community: %w", err)
		}
		staff = &st
	}
	if err := s.store.InsertCommunity(ctx, c); errors.Is(err, models.ErrConflict) {
		prev, found, err := community.Repeated(ctx, idem, s.store.Community, c.ID)
		if err != nil || !found {
			return models.Community{}, nil, fmt.Errorf("create community: %w", errors.Join(err, models.ErrConflict))
		}
		c = prev
	} else if err != nil {
		return models.Community{}, nil, fmt.Errorf("create community: %w", err)
	}
	if staff == nil {
		return c, nil, nil
	}
	r, err := s.createResident(ctx, c.ID, *staff, staff.OpID)
	if err != nil {
		return c, nil, fmt.Errorf("create community: first staff member: %w", err)
	}
	return c, &r, nil
}

// CurrentCommunity is the caller's own community.
func (s *Service) CurrentCommunity(ctx context.Context, p models.Principal) (models.Community, error) {
	if p.CommunityID == "" {
		return models.Community{}, models.ErrNotFound
	}
	return s.store.Community(ctx, p.CommunityID)
}

// ListCommunities lists every community, for admins.
func (s *Service) ListCommunities(ctx context.Context, p models.Principal, after string, limit int) ([]models.Community, error) {
	if !p.Has(models.RoleAdmin) {
		return nil, models.ErrForbidden
	}
	return s.store.Communities(ctx, after, community.PageLimit(limit))
}

// --- buildings ---

// CreateBuilding adds a building to the caller's community. With idem's
// key a repeat finds the first building and answers with it
// (community.CreatedID).
func (s *Service) CreateBuilding(ctx context.Context, p models.Principal, name, address string, idem community.Idempotency) (models.Building, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Building{}, err
	}
	name, err := models.CleanText("name", name, 40)
	if err != nil {
		return models.Building{}, err
	}
	if address, err = community.OptionalText("address", address, 100); err != nil {
		return models.Building{}, err
	}
	b := models.Building{
		ID:          community.CreatedID(idem, "building", s.newID),
		CommunityID: p.CommunityID,
		Name:        name,
		Address:     address,
		Created:     s.stamp(),
	}
	err = s.store.InsertBuilding(ctx, b)
	if errors.Is(err, models.ErrConflict) {
		if prev, found, err := community.Repeated(ctx, idem, s.store.Building, b.ID); found || err != nil {
			return prev, err
		}
		return models.Building{}, models.ErrAlreadyExists.Withf("已有同名的楼栋。", "a building with this name exists")
	}
	if err != nil {
		return models.Building{}, fmt.Errorf("create building: %w", err)
	}
	return b, nil
}

// building loads a building of p's community; one of another community
// is not found, so ids do not leak across tenants.
func (s *Service) building(ctx context.Context, p models.Principal, id string) (models.Building, error) {
	b, err := s.store.Building(ctx, id)
	if err != nil {
		return models.Building{}, err
	}
	if b.CommunityID != p.CommunityID {
		return models.Building{}, models.ErrNotFound
	}
	return b, nil
}

// ListBuildings lists the caller's community's buildings.
func (s *Service) ListBuildings(ctx context.Context, p models.Principal, after string, limit int) ([]models.Building, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, err
	}
	return s.store.Buildings(ctx, p.CommunityID, after, community.PageLimit(limit))
}

// UpdateBuilding sets a building's address. Its name is its unique key in
// the community and is not editable.
func (s *Service) UpdateBuilding(ctx context.Context, p models.Principal, id, address string) (models.Building, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Building{}, err
	}
	b, err := s.building(ctx, p, id)
	if err != nil {
		return models.Building{}, fmt.Errorf("update building: %w", err)
	}
	if b.Address, err = community.OptionalText("address", address, 100); err != nil {
		return models.Building{}, err
	}
	if err := s.store.SetBuildingAddress(ctx, b.ID, b.Address); err != nil {
		return models.Building{}, fmt.Errorf("update building: %w", err)
	}
	return b, nil
}

// SetBuildingHead makes residentID the building's head (楼组长), or leaves
// it without one when residentID is "". The building_head role follows:
// a resident holds it exactly while heading some building of the
// community. The role is reconciled from the buildings after the head is
// recorded, so repeating the call mends one that stopped half-way.
func (s *Service) SetBuildingHead(ctx context.Context, p models.Principal, buildingID, residentID string) (models.Building, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Building{}, err
	}
	b, err := s.building(ctx, p, buildingID)
	if err != nil {
		return models.Building{}, fmt.Errorf("set building head: %w", err)
	}
	if residentID != "" {
		r, err := s.store.Resident(ctx, residentID)
		if err == nil && r.CommunityID != p.CommunityID {
			err = models.ErrNotFound
		}
		if err != nil {
			return models.Building{}, fmt.Errorf("set building head: resident: %w", err)
		}
	}
	prev := b.HeadID
	if prev != residentID {
		if err := s.store.SetBuildingHead(ctx, b.ID, residentID); err != nil {
			return models.Building{}, fmt.Errorf("set building head: %w", err)
		}
		b.HeadID = residentID
	}
	if err := s.syncHeadRoles(ctx, p.CommunityID, residentID, prev); err != nil {
		return b, fmt.Errorf("set building head: %w", err)
	}
	if s.terms != nil {
		if err := s.terms.HeadChanged(ctx, p, b.ID, prev, residentID); err != nil {
			return b, fmt.Errorf("set building head: term: %w", err)
		}
	}
	return b, nil
}

// syncHeadRoles gives the building_head role to those who head a building
// of the community and takes it from those who do not: the residents named
// and anyone holding the role, read from the community's buildings and the
// role's list (no scan of the residents).
func (s *Service) syncHeadRoles(ctx context.Context, communityID string, residentIDs ...string) error {
	buildings, err := s.store.Buildings(ctx, communityID, "", 0)
	if err != nil {
		return err
	}
	heads := map[string]bool{}
	for _, b := range buildings {
		if b.HeadID != "" {
			heads[b.HeadID] = true
		}
	}
	holders, err := s.store.RoleHolders(ctx, communityID, models.RoleBuildingHead)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, r := range holders {
		seen[r.ID] = true
	}
	for _, id := range residentIDs {
		if id == "" || seen[id] {
			continue
		}
		r, err := s.store.Resident(ctx, id)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		seen[id] = true
		holders = append(holders, r)
	}
	for _, r := range holders {
		has := slices.Contains(r.Roles, models.RoleBuildingHead)
		if has == heads[r.ID] {
			continue
		}
		roles := slices.DeleteFunc(slices.Clone(r.Roles), func(x models.Role) bool { return x == models.RoleBuildingHead })
		if heads[r.ID] {
			roles = append(roles, models.RoleBuildingHead)
		}
		if err := s.store.SetResidentRoles(ctx, r.ID, roles, r.MerchantID, r.PartnerID); err != nil {
			return err
		}
	}
	return nil
}

// --- households ---

// CreateHousehold adds a flat to a building of the caller's community.
//
// With idem's key the household's id is derived from it (community.CreatedID),
// so a repeat of a create that died before its answer was stored finds the
// first household and answers with it.
func (s *Service) CreateHousehold(ctx context.Context, p models.Principal, buildingID, room string, plates []string, idem community.Idempotency) (models.Household, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Household{}, err
	}
	b, err := s.building(ctx, p, buildingID)
	if err != nil {
		return models.Household{}, fmt.Errorf("create household: building: %w", err)
	}
	if room, err = models.CleanText("room", room, 20); err != nil {
		return models.Household{}, err
	}
	if plates, err = cleanPlates(plates); err != nil {
		return models.Household{}, err
	}
	h := models.Household{
		ID:          community.CreatedID(idem, "household", s.newID),
		CommunityID: p.CommunityID,
		BuildingID:  b.ID,
		Room:        room,
		Plates:      plates,
		Created:     s.stamp(),
	}
	err = s.store.InsertHousehold(ctx, h)
	if errors.Is(err, models.ErrConflict) {
		if prev, found, err := community.Repeated(ctx, idem, s.store.Household, h.ID); found || err != nil {
			return prev, err
		}
		return models.Household{}, models.ErrAlreadyExists.Withf("该楼栋的这个房间已登记了住户。", "this room of the building already has a household")
	}
	if err != nil {
		return models.Household{}, fmt.Errorf("create household: %w", err)
	}
	return h, nil
}

// MaxPlates bounds a household's licence plates.
const MaxPlates = 5

// cleanPlates normalises plates and drops repeats.
func cleanPlates(in []string) ([]string, error) {
	out := []string{}
	for _, p := range in {
		n, err := models.NormalizePlate(p)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxPlates {
		return nil, models.ErrValidation.Withf("每户最多登记 %d 个车牌。", "a household has at most %d plates", MaxPlates)
	}
	return out, nil
}

// household returns household id of the caller's community; another community's is
// ErrNotFound.
func (s *Service) household(ctx context.Context, p models.Principal, id string) (models.Household, error) {
	h, err := s.store.Household(ctx, id)
	if err != nil {
		return models.Household{}, err
	}
	if h.CommunityID != p.CommunityID {
		return models.Household{}, models.ErrNotFound
	}
	return h, nil
}

// ListHouseholds is one page of the caller's community's households, only
// those of buildingID when it is not "", the latest listed first, for
// staff, paged by cursor ("" first; the next page's cursor, "" at the
// end). It reads one list, so a page costs its own size however many
// households there are.
func (s *Service) ListHouseholds(ctx context.Context, p models.Principal, buildingID, cursor string, limit int) ([]models.Household, string, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, "", err
	}
	return s.store.ListedHouseholds(ctx, p.CommunityID, strings.TrimSpace(buildingID), cursor, community.PageLimit(limit))
}

// UpdateHousehold replaces a household's licence plates. Building and room
// are its unique key and are not editable.
func (s *Service) UpdateHousehold(ctx context.Context, p models.Principal, id string, plates []string) (models.Household, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Household{}, err
	}
	h, err := s.household(ctx, p, id)
	if err != nil {
		return models.Household{}, fmt.Errorf("update household: %w", err)
	}
	if h.Plates, err = cleanPlates(plates); err != nil {
		return models.Household{}, err
	}
	if err := s.store.SetHouseholdPlates(ctx, h.ID, h.Plates); err != nil {
		return models.Household{}, fmt.Errorf("update household: %w", err)
	}
	return h, nil
}

// --- residents ---

// Password length bounds, in characters, for initial passwords.
const (
	minPasswordLen = 8
	maxPasswordLen = 128
)

// NewResident is what staff give to register a resident with a login.
type NewResident struct {
	Name        string
	Phone       string
	BirthYear   int    // 0 when unknown
	IDNumber    string // 身份证号, optional; stored sealed
	HouseholdID string
	Roles       []models.Role // default resident
	MerchantID  string        // for a merchant clerk
	PartnerID   string        // for a partner login
	Password    string        // initial password
	// PasswordHash, when set, is the initial password hashed already by
	// the service's PasswordHasher, and Password is not read: the demo
	// community's residents share one printed password, hashed once for
	// all of them. No request sets it.
	PasswordHash string
	// OpID, when set, is the scoped idempotency key of the request: the
	// resident's id is derived from it, so a repeat finishes a create that
	// stopped between the login and the resident and creates nothing twice.
	OpID string

	phone string // normalised by check
}

// check validates the fields that need no store, normalising them.
func (n *NewResident) check(now time.Time) error {
	var err error
	if n.Name, err = models.CleanText("name", n.Name, 40); err != nil {
		return err
	}
	if n.phone, err = models.NormalizePhone(n.Phone); err != nil {
		return err
	}
	if err := checkBirthYear(n.BirthYear, now); err != nil {
		return err
	}
	if n.IDNumber != "" {
		if n.IDNumber, err = models.NormalizeIDNumber(n.IDNumber); err != nil {
			return err
		}
	}
	if n.PasswordHash != "" {
		return nil
	}
	return checkPassword(n.Password)
}

// checkBirthYear refuses a birth year (0 for none) before 1900 or after now's year
// (ErrValidation).
func checkBirthYear(y int, now time.Time) error {
	if y != 0 && (y < 1900 || y > now.Year()) {
		return models.ErrValidation.Withf("出生年份须在 1900 到 %d 之间。", "birth_year must be between 1900 and %d", now.Year())
	}
	return nil
}

// checkPassword refuses an initial password whose length is outside the allowed range or
// that is not UTF-8 (ErrValidation).
func checkPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < minPasswordLen || n > maxPasswordLen || !utf8.ValidString(pw) {
		return models.ErrValidation.Withf("初始密码长度须为 %d 到 %d 个字符。", "initial password must be %d to %d characters", minPasswordLen, maxPasswordLen)
	}
	return nil
}

// phoneTaken is the ErrAlreadyExists refusal of a phone number that is registered already.
func phoneTaken() error {
	return models.ErrAlreadyExists.Withf("该手机号已经注册过了。", "this phone number is already registered")
}

// CreateResident registers a resident of the caller's community with a
// login. The phone is claimed first by inserting the login (its _id is the
// phone, so exactly one of many concurrent creates wins); the resident
// follows, and if that fails the login is removed again.
func (s *Service) CreateResident(ctx context.Context, p models.Principal, in NewResident) (models.Resident, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Resident{}, err
	}
	if err := in.check(s.now()); err != nil {
		return models.Resident{}, err
	}
	var err error
	if in.Roles, in.MerchantID, in.PartnerID, err = s.checkRoles(ctx, p, nil, in.Roles, in.MerchantID, in.PartnerID); err != nil {
		return models.Resident{}, err
	}
	if in.HouseholdID != "" {
		if _, err := s.household(ctx, p, in.HouseholdID); err != nil {
			return models.Resident{}, fmt.Errorf("create resident: household: %w", err)
		}
	}
	return s.createResident(ctx, p.CommunityID, in, in.OpID)
}

// createResident writes a checked resident: login, then resident.
func (s *Service) createResident(ctx context.Context, communityID string, in NewResident, opID string) (models.Resident, error) {
	id := community.CreatedID(community.Idempotency{OpID: opID}, "resident", s.newID)
	hash := in.PasswordHash
	if hash == "" {
		h, err := s.hasher.Hash(in.Password)
		if err != nil {
			return models.Resident{}, fmt.Errorf("create resident: %w", err)
		}
		hash = h
	}
	r := models.Resident{
		ID:          id,
		CommunityID: communityID,
		HouseholdID: in.HouseholdID,
		Name:        in.Name,
		Phone:       in.phone,
		BirthYear:   in.BirthYear,
		IDNumber:    in.IDNumber,
		Roles:       in.Roles,
		MerchantID:  in.MerchantID,
		PartnerID:   in.PartnerID,
		Created:     s.stamp(),
	}
	err := s.store.InsertLogin(ctx, models.Login{
		Phone:        r.Phone,
		ResidentID:   r.ID,
		CommunityID:  communityID,
		PasswordHash: hash,
	})
	if errors.Is(err, models.ErrConflict) {
		// A repeat of this very request finds its own login and goes on.
		l, lerr := s.store.LoginByPhone(ctx, r.Phone)
		if lerr != nil || opID == "" || l.ResidentID != r.ID {
			return models.Resident{}, phoneTaken()
		}
		err = nil
	}
	if err != nil {
		return models.Resident{}, fmt.Errorf("create resident: login: %w", err)
	}
	err = s.store.InsertResident(ctx, r)
	if err == nil {
		return r, nil
	}
	if errors.Is(err, models.ErrConflict) && opID != "" {
		if prev, perr := s.store.Resident(ctx, r.ID); perr == nil {
			if prev.Phone == r.Phone && prev.CommunityID == r.CommunityID {
				return prev, nil // a repeat: answer with the first result
			}
			s.dropLogin(ctx, r.Phone, r.ID)
			return models.Resident{}, models.ErrIdempotencyMismatch
		}
	}
	s.dropLogin(ctx, r.Phone, r.ID)
	return models.Resident{}, fmt.Errorf("create resident: %w", err)
}

// dropLogin removes phone's login if it belongs to residentID, undoing a
// create that could not finish. It never removes another resident's login.
func (s *Service) dropLogin(ctx context.Context, phone, residentID string) {
	ctx, cancel := community.UndoCtx(ctx)
	defer cancel()
	if l, err := s.store.LoginByPhone(ctx, phone); err == nil && l.ResidentID == residentID {
		_ = s.store.DeleteLogin(ctx, phone)
	}
}

// checkRoles validates the roles staff give a resident whose roles are
// now current (nil for a new resident). The building_head role is not
// given here but follows the buildings, so it is kept as it is; only an
// admin may give or take the admin role; a merchant clerk needs a merchant
// of the community and a partner login a partner of it.
func (s *Service) checkRoles(ctx context.Context, p models.Principal, current, roles []models.Role, merchantID, partnerID string) ([]models.Role, string, string, error) {
	out := []models.Role{}
	for _, r := range roles {
		if _, err := models.ParseRole(string(r)); err != nil {
			return nil, "", "", err
		}
		switch {
		case r == models.RoleBuildingHead:
			continue
		case r == models.RoleAdmin && !p.Has(models.RoleAdmin) && !slices.Contains(current, models.RoleAdmin):
			return nil, "", "", models.ErrForbidden.Withf("只有管理员才能授予管理员角色。", "only an admin may give the admin role")
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if !p.Has(models.RoleAdmin) && slices.Contains(current, models.RoleAdmin) && !slices.Contains(out, models.RoleAdmin) {
		return nil, "", "", models.ErrForbidden.Withf("只有管理员才能取消管理员角色。", "only an admin may take the admin role")
	}
	if slices.Contains(current, models.RoleBuildingHead) {
		out = append(out, models.RoleBuildingHead)
	}
	if len(out) == 0 {
		out = []models.Role{models.RoleResident}
	}
	if err := s.checkPartnerRole(ctx, p, out, models.RoleMerchantClerk, merchantID, "merchant_id", true); err != nil {
		return nil, "", "", err
	}
	if err := s.checkPartnerRole(ctx, p, out, models.RolePartner, partnerID, "partner_id", false); err != nil {
		return nil, "", "", err
	}
	return out, merchantID, partnerID, nil
}

// checkPartnerRole checks that id is set exactly when roles hold role, and
// names a partner of p's community (a merchant, if merchant).
func (s *Service) checkPartnerRole(ctx context.Context, p models.Principal, roles []models.Role, role models.Role, id, field string, merchant bool) error {
	has := slices.Contains(roles, role)
	switch {
	case has && id == "":
		return models.ErrValidation.Withf("%[3]s角色须填写 %[1]s。", "%[1]s is required for the %[2]s role", field, role, role.Zh())
	case !has && id != "":
		return models.ErrValidation.Withf("%[1]s 只适用于%[3]s角色。", "%[1]s is only for the %[2]s role", field, role, role.Zh())
	case !has:
		return nil
	}
	partner, err := s.store.Partner(ctx, id)
	if errors.Is(err, models.ErrNotFound) || (err == nil && partner.CommunityID != p.CommunityID) {
		return models.ErrNotFound.Withf("%s：没有这个合作方。", "%s: no such partner", field)
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", field, err)
	}
	if merchant && partner.Kind != models.PartnerMerchant {
		return models.ErrValidation.Withf("%s 须为商户。", "%s must name a merchant", field)
	}
	return nil
}

// Resident returns a resident the caller may see: staff see their
// community's residents, a resident sees their own record.
func (s *Service) Resident(ctx context.Context, p models.Principal, id string) (models.Resident, error) {
	return community.VisibleResident(ctx, s.store, p, id)
}

// MaxLookup is the most ids one ResidentsByID or HouseholdsByID takes: a
// screen's page of names.
const MaxLookup = 100

// ResidentsByID returns the caller's community's residents among ids, for
// staff, in the order of ids; an id of no resident, or of another
// community's, is left out. Each is one lookup by _id, so a screen names
// the people on its page at the cost of the page, not of the community.
func (s *Service) ResidentsByID(ctx context.Context, p models.Principal, ids []string) ([]models.Resident, error) {
	return byID(ctx, p, ids, s.store.Resident, func(r models.Resident) bool { return r.CommunityID == p.CommunityID })
}

// HouseholdsByID is ResidentsByID for households.
func (s *Service) HouseholdsByID(ctx context.Context, p models.Principal, ids []string) ([]models.Household, error) {
	return byID(ctx, p, ids, s.store.Household, func(h models.Household) bool { return h.CommunityID == p.CommunityID })
}

// byID looks each of ids up with load (once each, eight at a time), for
// staff, and keeps those found that mine accepts, in the order of ids.
func byID[M any](ctx context.Context, p models.Principal, ids []string, load func(context.Context, string) (M, error), mine func(M) bool) ([]M, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, err
	}
	ids = distinct(ids)
	if len(ids) > MaxLookup {
		return nil, models.ErrValidation.Withf("一次最多查询 %d 个编号（ids）。", "ids holds at most %d ids", MaxLookup)
	}
	found := make([]*M, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range ids {
		g.Go(func() error {
			m, err := load(gctx, id)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err == nil && mine(m) {
				found[i] = &m
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]M, 0, len(ids))
	for _, m := range found {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out, nil
}

// distinct is ids without blanks and repeats, in their first order.
func distinct(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// ResidentQuery narrows ResidentsWithRole.
type ResidentQuery struct {
	HouseholdID string
	Role        models.Role
}

// ListResidents is one page of the caller's community's residents, only
// those of householdID when it is not "", the latest listed first, for
// staff, paged by cursor ("" first; the next page's cursor, "" at the
// end). It reads one list, so a page costs its own size however many
// residents there are; erased residents are left out, and so are
// residents who have since moved out of the household.
func (s *Service) ListResidents(ctx context.Context, p models.Principal, householdID, cursor string, limit int) ([]models.Resident, string, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, "", err
	}
	return s.store.ListedResidents(ctx, p.CommunityID, strings.TrimSpace(householdID), cursor, community.PageLimit(limit))
}

// ResidentsWithRole lists the caller's community's residents with q.Role
// (and of q.HouseholdID when it is not ""), by id after the id after, for
// staff. It filters the community's residents (a scan on the embedded
// store); no screen reads it.
func (s *Service) ResidentsWithRole(ctx context.Context, p models.Principal, q ResidentQuery, after string, limit int) ([]models.Resident, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, err
	}
	return s.store.Residents(ctx, models.ResidentFilter{
		CommunityID: p.CommunityID,
		HouseholdID: q.HouseholdID,
		Role:        q.Role,
	}, after, community.PageLimit(limit))
}

// ResidentUpdate holds the fields to change; nil leaves a field as it is.
// A resident editing their own record may set Name and BirthYear only.
type ResidentUpdate struct {
	Name        *string
	BirthYear   *int
	HouseholdID *string // "" moves the resident out of any household
	Roles       *[]models.Role
	MerchantID  *string
	PartnerID   *string
}

// staffOnly reports whether u changes a field only staff may change: the household, roles,
// merchant or partner.
func (u ResidentUpdate) staffOnly() bool {
	return u.HouseholdID != nil || u.Roles != nil || u.MerchantID != nil || u.PartnerID != nil
}

// UpdateResident changes a resident's profile, household and roles (staff)
// or their own name and birth year (the resident).
func (s *Service) UpdateResident(ctx context.Context, p models.Principal, id string, u ResidentUpdate) (models.Resident, error) {
	if !p.IsStaff() && u.staffOnly() {
		return models.Resident{}, models.ErrForbidden
	}
	r, err := community.VisibleResident(ctx, s.store, p, id)
	if err != nil {
		return models.Resident{}, fmt.Errorf("update resident: %w", err)
	}
	profile := u.Name != nil || u.BirthYear != nil || u.HouseholdID != nil
	if u.Name != nil {
		if r.Name, err = models.CleanText("name", *u.Name, 40); err != nil {
			return models.Resident{}, err
		}
	}
	if u.BirthYear != nil {
		if err := checkBirthYear(*u.BirthYear, s.now()); err != nil {
			return models.Resident{}, err
		}
		r.BirthYear = *u.BirthYear
	}
	if u.HouseholdID != nil && *u.HouseholdID != "" {
		if _, err := s.household(ctx, p, *u.HouseholdID); err != nil {
			return models.Resident{}, fmt.Errorf("update resident: household: %w", err)
		}
	}
	if u.HouseholdID != nil {
		r.HouseholdID = *u.HouseholdID
	}
	rolesChanged := u.Roles != nil || u.MerchantID != nil || u.PartnerID != nil
	if rolesChanged {
		roles, merchant, partner := r.Roles, r.MerchantID, r.PartnerID
		if u.Roles != nil {
			roles = *u.Roles
		}
		if u.MerchantID != nil {
			merchant = *u.MerchantID
		}
		if u.PartnerID != nil {
			partner = *u.PartnerID
		}
		// Dropping the clerk or partner role drops the partner it pointed at.
		if u.Roles != nil && !slices.Contains(roles, models.RoleMerchantClerk) && u.MerchantID == nil {
			merchant = ""
		}
		if u.Roles != nil && !slices.Contains(roles, models.RolePartner) && u.PartnerID == nil {
			partner = ""
		}
		if r.Roles, r.MerchantID, r.PartnerID, err = s.checkRoles(ctx, p, r.Roles, roles, merchant, partner); err != nil {
			return models.Resident{}, err
		}
	}
	if profile {
		if err := s.store.SetResidentProfile(ctx, r.ID, r.Name, r.BirthYear, r.HouseholdID); err != nil {
			return models.Resident{}, fmt.Errorf("update resident: %w", err)
		}
	}
	if rolesChanged {
		if err := s.store.SetResidentRoles(ctx, r.ID, r.Roles, r.MerchantID, r.PartnerID); err != nil {
			return models.Resident{}, fmt.Errorf("update resident: roles: %w", err)
		}
	}
	return r, nil
}

// --- family links ---

// AddFamilyLink records that relativeID is the resident's relation (子女:
// the relative is the resident's child), and the inverse on the relative,
// unverified until staff verify it. Both residents belong to the caller's
// community. Adding a link that exists mends a missing other side.
func (s *Service) AddFamilyLink(ctx context.Context, p models.Principal, residentID, relativeID, relation string) (models.Resident, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Resident{}, err
	}
	rel, inv, err := models.ParseRelation(relation)
	if err != nil {
		return models.Resident{}, err
	}
	if residentID == relativeID {
		return models.Resident{}, models.ErrValidation.Withf("居民不能把自己登记为亲属。", "a resident cannot be their own relative")
	}
	r, err := community.ManagedResident(ctx, s.store, p, residentID)
	if err != nil {
		return models.Resident{}, fmt.Errorf("add family link: %w", err)
	}
	other, err := community.ManagedResident(ctx, s.store, p, relativeID)
	if err != nil {
		return models.Resident{}, fmt.Errorf("add family link: relative: %w", err)
	}
	r, err = s.linkFamily(ctx, r, other.ID, rel, false)
	if err != nil {
		return models.Resident{}, fmt.Errorf("add family link: %w", err)
	}
	if _, err := s.linkFamily(ctx, other, r.ID, inv, false); err != nil {
		return models.Resident{}, fmt.Errorf("add family link: relative: %w", err)
	}
	return r, nil
}

// linkFamily makes r hold a link to relativeID with relation, verified if
// verify (never un-verifying one). A link to the same relative with
// another relation is a conflict.
func (s *Service) linkFamily(ctx context.Context, r models.Resident, relativeID, relation string, verify bool) (models.Resident, error) {
	family := slices.Clone(r.Family)
	i := slices.IndexFunc(family, func(f models.FamilyLink) bool { return f.ResidentID == relativeID })
	switch {
	case i >= 0 && family[i].Relation != relation:
		return models.Resident{}, models.ErrConflict.Withf("这两位居民已登记为亲属关系（%s）。", "these residents are already linked as %s", family[i].Relation)
	case i >= 0 && (family[i].Verified || !verify):
		return r, nil
	case i >= 0:
		family[i].Verified = true
	case len(family) >= models.MaxFamilyLinks:
		return models.Resident{}, models.ErrValidation.Withf("每位居民最多登记 %d 个亲属关系。", "a resident has at most %d family links", models.MaxFamilyLinks)
	default:
		family = append(family, models.FamilyLink{
			ResidentID: relativeID,
			Relation:   relation,
			Verified:   verify,
		})
	}
	if err := s.store.SetResidentFamily(ctx, r.ID, family); err != nil {
		return models.Resident{}, err
	}
	r.Family = family
	return r, nil
}

// VerifyFamilyLink marks the link between two residents of the caller's
// community verified on both sides (after staff have seen, say, the
// household register). models.ErrNotFound if there is no such link.
func (s *Service) VerifyFamilyLink(ctx context.Context, p models.Principal, residentID, relativeID string) (models.Resident, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Resident{}, err
	}
	r, err := community.ManagedResident(ctx, s.store, p, residentID)
	if err != nil {
		return models.Resident{}, fmt.Errorf("verify family link: %w", err)
	}
	i := slices.IndexFunc(r.Family, func(f models.FamilyLink) bool { return f.ResidentID == relativeID })
	if i < 0 {
		return models.Resident{}, models.ErrNotFound.Withf("没有这条亲属关系。", "no such family link")
	}
	other, err := community.ManagedResident(ctx, s.store, p, relativeID)
	if err != nil {
		return models.Resident{}, fmt.Errorf("verify family link: relative: %w", err)
	}
	_, inv, err := models.ParseRelation(r.Family[i].Relation)
	if err != nil {
		return models.Resident{}, fmt.Errorf("verify family link: stored relation: %w", err)
	}
	// The relative's side first: if it fails, the link still reads as
	// unverified where staff look, and a repeat finishes both.
	if _, err := s.linkFamily(ctx, other, r.ID, inv, true); err != nil {
		return models.Resident{}, fmt.Errorf("verify family link: relative: %w", err)
	}
	if r, err = s.linkFamily(ctx, r, other.ID, r.Family[i].Relation, true); err != nil {
		return models.Resident{}, fmt.Errorf("verify family link: %w", err)
	}
	// Each side hears of it once (the link's id names both); a repeat,
	// which finishes a verification cut short, notifies again harmlessly.
	for _, pair := range [][2]models.Resident{{r, other}, {other, r}} {
		s.notify.Notify(ctx, models.Notice{
			Kind:        models.NoticeFamilyLinked,
			EventID:     once.FamilyLinkVerified(r.ID, other.ID),
			Recipient:   pair[0].ID,
			CommunityID: r.CommunityID,
			Args:        map[string]string{"name": models.MaskName(pair[1].Name)},
			Link:        "/family",
		})
	}
	return r, nil
}

// --- partners ---

// CreatePartner adds a property company, parking operator or merchant to
// the caller's community. With idem's key a repeat finds the first
// partner and answers with it (community.CreatedID).
func (s *Service) CreatePartner(ctx context.Context, p models.Principal, kind models.PartnerKind, name string, idem community.Idempotency) (models.Partner, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Partner{}, err
	}
	kind, err := models.ParsePartnerKind(string(kind))
	if err != nil {
		return models.Partner{}, err
	}
	if name, err = models.CleanText("name", name, 60); err != nil {
		return models.Partner{}, err
	}
	partner := models.Partner{
		ID:          community.CreatedID(idem, "partner", s.newID),
		CommunityID: p.CommunityID,
		Kind:        kind,
		Name:        name,
		Created:     s.stamp(),
	}
	err = s.store.InsertPartner(ctx, partner)
	if errors.Is(err, models.ErrConflict) {
		if prev, found, err := community.Repeated(ctx, idem, s.store.Partner, partner.ID); found || err != nil {
			return prev, err
		}
		return models.Partner{}, models.ErrAlreadyExists.Withf("已有同名的合作方。", "a partner with this name exists")
	}
	if err != nil {
		return models.Partner{}, fmt.Errorf("create partner: %w", err)
	}
	return partner, nil
}

// ListPartners lists the caller's community's partners, only those of kind
// when it is not "".
func (s *Service) ListPartners(ctx context.Context, p models.Principal, kind models.PartnerKind, after string, limit int) ([]models.Partner, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, err
	}
	if kind != "" {
		if _, err := models.ParsePartnerKind(string(kind)); err != nil {
			return nil, err
		}
	}
	return s.store.Partners(ctx, p.CommunityID, kind, after, community.PageLimit(limit))
}

// SearchResidents is one page of the caller's community's residents whose
// name holds q, or whose phone ends in q's four digits (q may be the
// masked number 138****1234), for staff, paged by cursor ("" first; the
// next page's cursor, "" at the end). It reads one list of limit places,
// so it costs the same however many residents the community has.
func (s *Service) SearchResidents(ctx context.Context, p models.Principal, q, cursor string, limit int) ([]models.Resident, string, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, "", err
	}
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > 30 {
		return nil, "", models.ErrValidation.Withf("搜索内容须为 1 到 30 个字。", "q must be 1 to 30 characters")
	}
	return s.store.SearchResidents(ctx, p.CommunityID, q, cursor, community.PageLimit(limit))
}

// SearchHouseholds is one page of the caller's community's households in
// room (each building may have one), for staff, paged by cursor like
// SearchResidents.
func (s *Service) SearchHouseholds(ctx context.Context, p models.Principal, room, cursor string, limit int) ([]models.Household, string, error) {
	if err := community.RequireStaff(p); err != nil {
		return nil, "", err
	}
	room = strings.TrimSpace(room)
	if room == "" || utf8.RuneCountInString(room) > 30 {
		return nil, "", models.ErrValidation.Withf("房号须为 1 到 30 个字。", "room must be 1 to 30 characters")
	}
	return s.store.SearchHouseholds(ctx, p.CommunityID, room, cursor, community.PageLimit(limit))
}
