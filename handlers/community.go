package handlers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/models"
)

// communityService is what the community-structure routes call. It
// returns models.ErrForbidden for a caller without the role, and
// models.ErrNotFound for an id of another community.
type communityService interface {
	CreateCommunity(ctx context.Context, p models.Principal, in directory.NewCommunity, idem community.Idempotency) (models.Community, *models.Resident, error)
	CurrentCommunity(ctx context.Context, p models.Principal) (models.Community, error)
	ListCommunities(ctx context.Context, p models.Principal, after string, limit int) ([]models.Community, error)

	CreateBuilding(ctx context.Context, p models.Principal, name, address string, idem community.Idempotency) (models.Building, error)
	ListBuildings(ctx context.Context, p models.Principal, after string, limit int) ([]models.Building, error)
	UpdateBuilding(ctx context.Context, p models.Principal, id, address string) (models.Building, error)
	SetBuildingHead(ctx context.Context, p models.Principal, buildingID, residentID string) (models.Building, error)

	CreateHousehold(ctx context.Context, p models.Principal, buildingID, room string, plates []string, idem community.Idempotency) (models.Household, error)
	ListHouseholds(ctx context.Context, p models.Principal, buildingID, cursor string, limit int) ([]models.Household, string, error)
	UpdateHousehold(ctx context.Context, p models.Principal, id string, plates []string) (models.Household, error)

	CreateResident(ctx context.Context, p models.Principal, in directory.NewResident) (models.Resident, error)
	Resident(ctx context.Context, p models.Principal, id string) (models.Resident, error)
	ListResidents(ctx context.Context, p models.Principal, householdID, cursor string, limit int) ([]models.Resident, string, error)
	ResidentsWithRole(ctx context.Context, p models.Principal, q directory.ResidentQuery, after string, limit int) ([]models.Resident, error)
	ResidentsByID(ctx context.Context, p models.Principal, ids []string) ([]models.Resident, error)
	HouseholdsByID(ctx context.Context, p models.Principal, ids []string) ([]models.Household, error)
	SearchResidents(ctx context.Context, p models.Principal, q, cursor string, limit int) ([]models.Resident, string, error)
	SearchHouseholds(ctx context.Context, p models.Principal, room, cursor string, limit int) ([]models.Household, string, error)
	UpdateResident(ctx context.Context, p models.Principal, id string, u directory.ResidentUpdate) (models.Resident, error)
	AddFamilyLink(ctx context.Context, p models.Principal, residentID, relativeID, relation string) (models.Resident, error)
	VerifyFamilyLink(ctx context.Context, p models.Principal, residentID, relativeID string) (models.Resident, error)

	CreatePartner(ctx context.Context, p models.Principal, kind models.PartnerKind, name string, idem community.Idempotency) (models.Partner, error)
	ListPartners(ctx context.Context, p models.Principal, kind models.PartnerKind, after string, limit int) ([]models.Partner, error)

	// The imports return a *directory.ImportRejection when rows are wrong.
	ImportHouseholds(ctx context.Context, p models.Principal, req directory.ImportRequest) (directory.ImportResult, error)
	ImportResidents(ctx context.Context, p models.Principal, req directory.ImportRequest) (directory.ImportResult, error)
	// PreviewImport checks a file as the import does and writes nothing.
	PreviewImport(ctx context.Context, p models.Principal, kind string, data []byte) (directory.ImportPreview, error)
}

// importTimeout replaces the request deadline for CSV imports: a file of
// thousands of residents hashes thousands of passwords.
const importTimeout = 5 * time.Minute

// routesCommunity registers the directory routes: communities (admin), buildings,
// households, residents, family links, partners and CSV imports (staff, admin), and a
// resident's own record and the caller's community (anyone signed in).
func (h *api) routesCommunity(r fiber.Router) {
	anyone := h.authed()
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	admin := h.authed(models.RoleAdmin)
	r.Post("/communities", admin, h.createCommunity)
	r.Get("/communities", admin, h.listCommunities)
	r.Get("/communities/current", anyone, h.currentCommunity)
	r.Post("/buildings", staff, h.createBuilding)
	r.Get("/buildings", staff, h.listBuildings)
	r.Patch("/buildings/:id", staff, h.updateBuilding)
	r.Put("/buildings/:id/head", staff, h.setBuildingHead)
	r.Post("/households", staff, h.createHousehold)
	r.Get("/households", staff, h.listHouseholds)
	r.Patch("/households/:id", staff, h.updateHousehold)
	r.Post("/residents", staff, h.createResident)
	r.Get("/residents", staff, h.listResidents)
	r.Get("/residents/:id", anyone, h.getResident)
	r.Patch("/residents/:id", anyone, h.updateResident)
	r.Post("/residents/:id/family", staff, h.addFamilyLink)
	r.Post("/residents/:id/family/:relative/verify", staff, h.verifyFamilyLink)
	r.Post("/partners", staff, h.createPartner)
	r.Get("/partners", staff, h.listPartners)
	r.Post("/imports/households", staff, h.importHouseholds)
	r.Post("/imports/residents", staff, h.importResidents)
}

// --- response shapes ---

// communityJSON is a community as the API shows it.
type communityJSON struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	District string    `json:"district,omitempty"`
	TimeZone string    `json:"time_zone"`
	Created  time.Time `json:"created"`
}

// toCommunityJSON converts a community to its JSON.
func toCommunityJSON(c models.Community) communityJSON {
	return communityJSON{
		ID:       c.ID,
		Name:     c.Name,
		District: c.District,
		TimeZone: c.TimeZone,
		Created:  c.Created,
	}
}

// buildingJSON is a building with its address and head.
type buildingJSON struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Address string    `json:"address,omitempty"`
	HeadID  string    `json:"head_id,omitempty"`
	Created time.Time `json:"created"`
}

// toBuildingJSON converts a building to its JSON.
func toBuildingJSON(b models.Building) buildingJSON {
	return buildingJSON{
		ID:      b.ID,
		Name:    b.Name,
		Address: b.Address,
		HeadID:  b.HeadID,
		Created: b.Created,
	}
}

// householdJSON is a household: a room of a building and its licence plates.
type householdJSON struct {
	ID         string    `json:"id"`
	BuildingID string    `json:"building_id"`
	Room       string    `json:"room"`
	Plates     []string  `json:"plates"`
	Created    time.Time `json:"created"`
}

// toHouseholdJSON converts a household to its JSON, with no plates as [].
func toHouseholdJSON(h models.Household) householdJSON {
	plates := h.Plates
	if plates == nil {
		plates = []string{}
	}
	return householdJSON{
		ID:         h.ID,
		BuildingID: h.BuildingID,
		Room:       h.Room,
		Plates:     plates,
		Created:    h.Created,
	}
}

// familyJSON is a resident's link to a relative and whether it was verified.
type familyJSON struct {
	ResidentID string `json:"resident_id"`
	Relation   string `json:"relation"`
	Verified   bool   `json:"verified"`
}

// residentJSON never carries the full phone or anything of the login.
type residentJSON struct {
	ID          string       `json:"id"`
	HouseholdID string       `json:"household_id,omitempty"`
	Name        string       `json:"name"`
	Phone       string       `json:"phone"` // masked: 138****5678
	BirthYear   int          `json:"birth_year,omitempty"`
	Roles       []string     `json:"roles"`
	MerchantID  string       `json:"merchant_id,omitempty"`
	PartnerID   string       `json:"partner_id,omitempty"`
	Family      []familyJSON `json:"family"`
	Created     time.Time    `json:"created"`
}

// toResidentJSON converts a resident to its JSON with the phone masked, and no roles or
// relatives as [].
func toResidentJSON(r models.Resident) residentJSON {
	out := residentJSON{
		ID:          r.ID,
		HouseholdID: r.HouseholdID,
		Name:        r.Name,
		Phone:       models.MaskPhone(r.Phone),
		BirthYear:   r.BirthYear,
		Roles:       []string{},
		MerchantID:  r.MerchantID,
		PartnerID:   r.PartnerID,
		Family:      []familyJSON{},
		Created:     r.Created,
	}
	for _, role := range r.Roles {
		out.Roles = append(out.Roles, string(role))
	}
	for _, f := range r.Family {
		out.Family = append(out.Family, familyJSON{
			ResidentID: f.ResidentID,
			Relation:   f.Relation,
			Verified:   f.Verified,
		})
	}
	return out
}

// partnerJSON is a partner: a property company, parking operator or merchant.
type partnerJSON struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// toPartnerJSON converts a partner to its JSON.
func toPartnerJSON(p models.Partner) partnerJSON {
	return partnerJSON{
		ID:      p.ID,
		Kind:    string(p.Kind),
		Name:    p.Name,
		Created: p.Created,
	}
}

// pageJSON is one page of a listing; NextAfter, when present, is the
// `after` of the next page.
type pageJSON[T any] struct {
	Items     []T    `json:"items"`
	NextAfter string `json:"next_after,omitempty"`
}

// toPage converts one page of items paged by `after`; next_after is the last item's id
// when the page is full, so a full last page is followed by an empty one.
func toPage[M, T any](items []M, limit int, conv func(M) T, id func(M) string) pageJSON[T] {
	out := pageJSON[T]{Items: make([]T, len(items))}
	for i, m := range items {
		out.Items[i] = conv(m)
	}
	if len(items) > 0 && len(items) == limit {
		out.NextAfter = id(items[len(items)-1])
	}
	return out
}

// cursorPageJSON is one page of a list paged by cursor; Next, when
// present, is the `cursor` of the next page.
type cursorPageJSON[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// toCursorPage is one page of items and the cursor of the next ("" at the
// end: no `next`).
func toCursorPage[M, T any](items []M, next string, conv func(M) T) cursorPageJSON[T] {
	out := cursorPageJSON[T]{Items: make([]T, len(items)), Next: next}
	for i, m := range items {
		out.Items[i] = conv(m)
	}
	return out
}

// lookupIDs reads the `ids` query parameter (comma-separated) of a listing
// that names the records on a screen's page: ok is false without it. It
// is 400 VALIDATION_FAILED together with any of others, the listing's
// filters and paging, which a lookup by id has no use for.
func lookupIDs(c *fiber.Ctx, others ...string) ([]string, bool, error) {
	raw := c.Query("ids")
	if raw == "" {
		return nil, false, nil
	}
	for _, o := range others {
		if c.Query(o) != "" {
			return nil, true, models.ErrValidation.Withf("ids 不能与 %[2]s 同时使用。", "ids cannot be combined with %[1]s", o, o)
		}
	}
	return strings.Split(raw, ","), true, nil
}

// answerLookup answers a lookup by ids (lookupIDs, whose err it takes):
// the records find returns, as one page with no next.
func answerLookup[M, T any](c *fiber.Ctx, ids []string, err error, find func(context.Context, models.Principal, []string) ([]M, error), conv func(M) T) error {
	if err != nil {
		return err
	}
	found, err := find(c.UserContext(), principal(c), ids)
	if err != nil {
		return err
	}
	return c.JSON(toCursorPage(found, "", conv))
}

// paging reads the `after` and `limit` query parameters.
func paging(c *fiber.Ctx) (string, int, error) {
	limit, err := queryInt(c, "limit", 50, community.MaxPageSize)
	if err != nil {
		return "", 0, err
	}
	if limit == 0 {
		limit = 50
	}
	after := c.Query("after")
	if len(after) > 128 {
		return "", 0, models.ErrValidation.Withf("after 过长", "after is too long")
	}
	return after, int(limit), nil
}

// listCursorPage is cursorPage for a listing that took `after` before it read a list:
// `after` is 400 INVALID_CURSOR saying to pass the last page's `next` as `cursor`.
func listCursorPage(c *fiber.Ctx) (string, int, error) {
	if c.Query("after") != "" {
		return "", 0, models.ErrBadCursor.Withf("此列表按 cursor 翻页：请把上一页的 next 作为 cursor 传入（不再接受 after）。", "this list pages by cursor: pass the previous page's next as cursor (after is no longer accepted)")
	}
	return cursorPage(c)
}

// --- communities ---

// firstStaffRequest is the first staff member a new community may be created with.
type firstStaffRequest struct {
	Name            string `json:"name" validate:"required,max=40"`
	Phone           string `json:"phone" validate:"required,max=20"`
	BirthYear       int    `json:"birth_year" validate:"omitempty,min=1900,max=3000"`
	InitialPassword string `json:"initial_password" validate:"required,min=8,max=512"`
}

// createCommunityRequest is the body of POST /communities.
type createCommunityRequest struct {
	Name       string             `json:"name" validate:"required,max=60"`
	District   string             `json:"district" validate:"max=60"`
	TimeZone   string             `json:"time_zone" validate:"max=60"`
	FirstStaff *firstStaffRequest `json:"first_staff"`
}

// createCommunityResponse is the new community and, when one was asked for, its first
// staff member.
type createCommunityResponse struct {
	communityJSON
	FirstStaff *residentJSON `json:"first_staff,omitempty"`
}

// createCommunity answers POST /communities for admins: creates a community, optionally
// with its first staff member (409 ALREADY_EXISTS when that phone is registered). A repeat
// under the same Idempotency-Key (optional) gets the first answer.
func (h *api) createCommunity(c *fiber.Ctx) error {
	var req createCommunityRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	in := directory.NewCommunity{
		Name:     req.Name,
		District: req.District,
		TimeZone: req.TimeZone,
	}
	if first := req.FirstStaff; first != nil {
		in.FirstStaff = &directory.NewResident{
			Name:      first.Name,
			Phone:     first.Phone,
			BirthYear: first.BirthYear,
			Password:  first.InitialPassword,
		}
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		created, staff, err := h.Community.CreateCommunity(c.UserContext(), principal(c), in, idem)
		if err != nil {
			return err
		}
		out := createCommunityResponse{communityJSON: toCommunityJSON(created)}
		if staff != nil {
			r := toResidentJSON(*staff)
			out.FirstStaff = &r
		}
		return c.Status(fiber.StatusCreated).JSON(out)
	})
}

// listCommunities answers GET /communities for admins: a page of communities, paged by
// `after`.
func (h *api) listCommunities(c *fiber.Ctx) error {
	after, limit, err := paging(c)
	if err != nil {
		return err
	}
	cs, err := h.Community.ListCommunities(c.UserContext(), principal(c), after, limit)
	if err != nil {
		return err
	}
	return c.JSON(toPage(cs, limit, toCommunityJSON, func(x models.Community) string { return x.ID }))
}

// currentCommunity answers GET /communities/current: the caller's own community.
func (h *api) currentCommunity(c *fiber.Ctx) error {
	com, err := h.Community.CurrentCommunity(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(toCommunityJSON(com))
}

// --- buildings ---

// createBuildingRequest is the body of POST /buildings.
type createBuildingRequest struct {
	Name    string `json:"name" validate:"required,max=40"`
	Address string `json:"address" validate:"max=100"`
}

// createBuilding answers POST /buildings for staff: creates a building in their community
// (409 ALREADY_EXISTS for a name it has). A repeat under the same Idempotency-Key
// (optional) gets the first answer.
func (h *api) createBuilding(c *fiber.Ctx) error {
	var req createBuildingRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		b, err := h.Community.CreateBuilding(c.UserContext(), principal(c), req.Name, req.Address, idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toBuildingJSON(b))
	})
}

// listBuildings answers GET /buildings for staff: a page of the community's buildings,
// paged by `after`.
func (h *api) listBuildings(c *fiber.Ctx) error {
	after, limit, err := paging(c)
	if err != nil {
		return err
	}
	bs, err := h.Community.ListBuildings(c.UserContext(), principal(c), after, limit)
	if err != nil {
		return err
	}
	return c.JSON(toPage(bs, limit, toBuildingJSON, func(x models.Building) string { return x.ID }))
}

// updateBuildingRequest has no name: a building's name is its unique key.
type updateBuildingRequest struct {
	Address string `json:"address" validate:"max=100"`
}

// updateBuilding answers PATCH /buildings/{id} for staff: changes a building's address.
func (h *api) updateBuilding(c *fiber.Ctx) error {
	var req updateBuildingRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	b, err := h.Community.UpdateBuilding(c.UserContext(), principal(c), param(c, "id"), req.Address)
	if err != nil {
		return err
	}
	return c.JSON(toBuildingJSON(b))
}

// setHeadRequest names the new head; "" leaves the building without one.
type setHeadRequest struct {
	ResidentID string `json:"resident_id" validate:"max=64"`
}

// setBuildingHead answers PUT /buildings/{id}/head for staff: sets or clears a building's
// head (楼长); the building_head role follows.
func (h *api) setBuildingHead(c *fiber.Ctx) error {
	var req setHeadRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	b, err := h.Community.SetBuildingHead(c.UserContext(), principal(c), param(c, "id"), req.ResidentID)
	if err != nil {
		return err
	}
	return c.JSON(toBuildingJSON(b))
}

// --- households ---

// createHouseholdRequest is the body of POST /households.
type createHouseholdRequest struct {
	BuildingID string   `json:"building_id" validate:"required,max=64"`
	Room       string   `json:"room" validate:"required,max=20"`
	Plates     []string `json:"plates" validate:"max=5,dive,max=20"`
}

// createHousehold answers POST /households for staff: creates a household in a room of a
// building (404 for an unknown building, 409 ALREADY_EXISTS when the room has one). A
// repeat under the same Idempotency-Key (optional) gets the first answer.
func (h *api) createHousehold(c *fiber.Ctx) error {
	var req createHouseholdRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		hh, err := h.Community.CreateHousehold(c.UserContext(), principal(c), req.BuildingID, req.Room, req.Plates, idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toHouseholdJSON(hh))
	})
}

// listHouseholds answers GET /households for staff: with `room`, the households in that
// room; otherwise a page of the community's (or one building's) households, the latest
// listed first. Both are paged by cursor; `after` is 400 INVALID_CURSOR (listCursorPage).
func (h *api) listHouseholds(c *fiber.Ctx) error {
	if ids, ok, err := lookupIDs(c, "room", "after", "cursor", "building_id"); ok || err != nil {
		return answerLookup(c, ids, err, h.Community.HouseholdsByID, toHouseholdJSON)
	}
	cursor, limit, err := listCursorPage(c)
	if err != nil {
		return err
	}
	var hs []models.Household
	var next string
	if room := c.Query("room"); room != "" {
		hs, next, err = h.Community.SearchHouseholds(c.UserContext(), principal(c), room, cursor, limit)
	} else {
		hs, next, err = h.Community.ListHouseholds(c.UserContext(), principal(c), c.Query("building_id"), cursor, limit)
	}
	if err != nil {
		return err
	}
	return c.JSON(toCursorPage(hs, next, toHouseholdJSON))
}

// updateHouseholdRequest has no building or room: they are the
// household's unique key.
type updateHouseholdRequest struct {
	Plates []string `json:"plates" validate:"required,max=5,dive,max=20"`
}

// updateHousehold answers PATCH /households/{id} for staff: replaces a household's licence
// plates.
func (h *api) updateHousehold(c *fiber.Ctx) error {
	var req updateHouseholdRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	hh, err := h.Community.UpdateHousehold(c.UserContext(), principal(c), param(c, "id"), req.Plates)
	if err != nil {
		return err
	}
	return c.JSON(toHouseholdJSON(hh))
}

// --- residents ---

// createResidentRequest is the body of POST /residents.
type createResidentRequest struct {
	Name            string   `json:"name" validate:"required,max=40"`
	Phone           string   `json:"phone" validate:"required,max=20"`
	BirthYear       int      `json:"birth_year" validate:"omitempty,min=1900,max=3000"`
	IDNumber        string   `json:"id_number" validate:"max=18"`
	HouseholdID     string   `json:"household_id" validate:"max=64"`
	Roles           []string `json:"roles" validate:"max=7,dive,max=20"`
	MerchantID      string   `json:"merchant_id" validate:"max=64"`
	PartnerID       string   `json:"partner_id" validate:"max=64"`
	InitialPassword string   `json:"initial_password" validate:"required,min=8,max=512"`
}

// parseRoles parses role names; an unknown one is 400 VALIDATION_FAILED.
func parseRoles(names []string) ([]models.Role, error) {
	roles := make([]models.Role, 0, len(names))
	for _, n := range names {
		r, err := models.ParseRole(n)
		if err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	return roles, nil
}

// createResident takes an optional Idempotency-Key: with one, a repeat
// finishes a create that was cut off and creates nothing twice.
func (h *api) createResident(c *fiber.Ctx) error {
	p := principal(c)
	var req createResidentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	roles, err := parseRoles(req.Roles)
	if err != nil {
		return err
	}
	in := directory.NewResident{
		Name:        req.Name,
		Phone:       req.Phone,
		BirthYear:   req.BirthYear,
		IDNumber:    req.IDNumber,
		HouseholdID: req.HouseholdID,
		Roles:       roles,
		MerchantID:  req.MerchantID,
		PartnerID:   req.PartnerID,
		Password:    req.InitialPassword,
	}
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		in.OpID = idem.OpID
		r, err := h.Community.CreateResident(c.UserContext(), p, in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toResidentJSON(r))
	})
}

// listResidents answers GET /residents for staff: with `q`, a search by name or phone;
// otherwise a page of the community's (or one household's) residents, the latest listed
// first. Both are paged by cursor, and `after` is 400 INVALID_CURSOR (listCursorPage),
// except with `role`, which filters the community's residents and pages by `after` as
// before (no screen reads it).
func (h *api) listResidents(c *fiber.Ctx) error {
	if ids, ok, err := lookupIDs(c, "q", "after", "cursor", "household_id", "role"); ok || err != nil {
		return answerLookup(c, ids, err, h.Community.ResidentsByID, toResidentJSON)
	}
	if q := c.Query("q"); q != "" {
		cursor, limit, err := cursorPage(c)
		if err != nil {
			return err
		}
		rs, next, err := h.Community.SearchResidents(c.UserContext(), principal(c), q, cursor, limit)
		if err != nil {
			return err
		}
		return c.JSON(toCursorPage(rs, next, toResidentJSON))
	}
	if role := c.Query("role"); role != "" {
		return h.residentsWithRole(c, role)
	}
	cursor, limit, err := listCursorPage(c)
	if err != nil {
		return err
	}
	rs, next, err := h.Community.ListResidents(c.UserContext(), principal(c), c.Query("household_id"), cursor, limit)
	if err != nil {
		return err
	}
	return c.JSON(toCursorPage(rs, next, toResidentJSON))
}

// residentsWithRole answers GET /residents?role= for staff: the community's residents with
// that role (and of `household_id` when given), paged by `after` and `next_after`; a
// `cursor` is 400 INVALID_CURSOR, as this filter does not read a list.
func (h *api) residentsWithRole(c *fiber.Ctx, role string) error {
	if c.Query("cursor") != "" {
		return models.ErrBadCursor.Withf("按角色筛选时按 after 翻页：请把上一页的 next_after 作为 after 传入。", "the role filter pages by after: pass the previous page's next_after as after")
	}
	after, limit, err := paging(c)
	if err != nil {
		return err
	}
	q := directory.ResidentQuery{HouseholdID: c.Query("household_id")}
	if q.Role, err = models.ParseRole(role); err != nil {
		return err
	}
	rs, err := h.Community.ResidentsWithRole(c.UserContext(), principal(c), q, after, limit)
	if err != nil {
		return err
	}
	return c.JSON(toPage(rs, limit, toResidentJSON, func(x models.Resident) string { return x.ID }))
}

// getResident answers GET /residents/{id}: a resident sees only their own record, staff
// their community's (403 otherwise).
func (h *api) getResident(c *fiber.Ctx) error {
	r, err := h.Community.Resident(c.UserContext(), principal(c), param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(toResidentJSON(r))
}

// selfResidentPatch is all a resident may change of their own record: no
// role, community, household or balance, and decode refuses any field
// not listed.
type selfResidentPatch struct {
	Name      *string `json:"name" validate:"omitempty,max=40"`
	BirthYear *int    `json:"birth_year" validate:"omitempty,min=1900,max=3000"`
}

// staffResidentPatch is what staff may change of a resident of their
// community. The community is never in a body; building heads are set on
// the building.
type staffResidentPatch struct {
	Name        *string   `json:"name" validate:"omitempty,max=40"`
	BirthYear   *int      `json:"birth_year" validate:"omitempty,min=0,max=3000"`
	HouseholdID *string   `json:"household_id" validate:"omitempty,max=64"`
	Roles       *[]string `json:"roles" validate:"omitempty,max=7,dive,max=20"`
	MerchantID  *string   `json:"merchant_id" validate:"omitempty,max=64"`
	PartnerID   *string   `json:"partner_id" validate:"omitempty,max=64"`
}

// updateResident answers PATCH /residents/{id}: staff may change any field of their
// community's residents, a resident only their own name and birth year (a body with other
// fields is 400).
func (h *api) updateResident(c *fiber.Ctx) error {
	p := principal(c)
	var update directory.ResidentUpdate
	if p.IsStaff() {
		var req staffResidentPatch
		if err := decode(c, &req); err != nil {
			return err
		}
		update = directory.ResidentUpdate{
			Name:        req.Name,
			BirthYear:   req.BirthYear,
			HouseholdID: req.HouseholdID,
			MerchantID:  req.MerchantID,
			PartnerID:   req.PartnerID,
		}
		if req.Roles != nil {
			roles, err := parseRoles(*req.Roles)
			if err != nil {
				return err
			}
			update.Roles = &roles
		}
	} else {
		var req selfResidentPatch
		if err := decode(c, &req); err != nil {
			return err
		}
		update = directory.ResidentUpdate{Name: req.Name, BirthYear: req.BirthYear}
	}
	r, err := h.Community.UpdateResident(c.UserContext(), p, param(c, "id"), update)
	if err != nil {
		return err
	}
	return c.JSON(toResidentJSON(r))
}

// familyLinkRequest is the body of POST /residents/{id}/family: the relative and the
// relation.
type familyLinkRequest struct {
	ResidentID string `json:"resident_id" validate:"required,max=64"`
	Relation   string `json:"relation" validate:"required,max=20"`
}

// addFamilyLink answers POST /residents/{id}/family for staff: links a relative to a
// resident, unverified (409 CONFLICT when they are linked under another relation).
func (h *api) addFamilyLink(c *fiber.Ctx) error {
	var req familyLinkRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := h.Community.AddFamilyLink(c.UserContext(), principal(c), param(c, "id"), req.ResidentID, req.Relation)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toResidentJSON(r))
}

// verifyFamilyLink answers POST /residents/{id}/family/{relative}/verify for staff: marks
// a family link verified, checked against the household register.
func (h *api) verifyFamilyLink(c *fiber.Ctx) error {
	if err := noBody(c); err != nil {
		return err
	}
	r, err := h.Community.VerifyFamilyLink(c.UserContext(), principal(c), param(c, "id"), param(c, "relative"))
	if err != nil {
		return err
	}
	return c.JSON(toResidentJSON(r))
}

// --- partners ---

// createPartnerRequest is the body of POST /partners.
type createPartnerRequest struct {
	Kind string `json:"kind" validate:"required,oneof=property parking merchant"`
	Name string `json:"name" validate:"required,max=60"`
}

// createPartner answers POST /partners for staff: creates a property company, parking
// operator or merchant (409 ALREADY_EXISTS for a name the community has). A repeat under
// the same Idempotency-Key (optional) gets the first answer.
func (h *api) createPartner(c *fiber.Ctx) error {
	var req createPartnerRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A repeat with the same Idempotency-Key (optional here) gets the
	// first answer and creates nothing twice.
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		partner, err := h.Community.CreatePartner(c.UserContext(), principal(c), models.PartnerKind(req.Kind), req.Name, idem)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(toPartnerJSON(partner))
	})
}

// listPartners answers GET /partners for staff: a page of the community's partners,
// optionally of one kind, paged by `after`.
func (h *api) listPartners(c *fiber.Ctx) error {
	after, limit, err := paging(c)
	if err != nil {
		return err
	}
	ps, err := h.Community.ListPartners(c.UserContext(), principal(c), models.PartnerKind(c.Query("kind")), after, limit)
	if err != nil {
		return err
	}
	return c.JSON(toPage(ps, limit, toPartnerJSON, func(x models.Partner) string { return x.ID }))
}

// --- imports ---

// importResponse is the answer of an import: its key, how many rows it had and wrote, and
// whether it was a repeat.
type importResponse struct {
	Key      string `json:"idempotency_key"`
	Kind     string `json:"kind"`
	Rows     int    `json:"rows"`
	Written  int    `json:"written"`
	Replayed bool   `json:"replayed"`
}

// problemJSON is one problem of an import file: its row, field, code and message.
type problemJSON struct {
	Row     int    `json:"row"`
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// importRejectedBody is the error envelope plus the per-row report.
type importRejectedBody struct {
	Error errorDetail   `json:"error"`
	Rows  []problemJSON `json:"rows"`
}

// importHouseholds answers POST /imports/households for staff: imports households from a
// CSV file, all rows or none.
func (h *api) importHouseholds(c *fiber.Ctx) error {
	return h.importCSV(c, h.Community.ImportHouseholds)
}

// importResidents answers POST /imports/residents for staff: imports residents with logins
// from a CSV file, all rows or none.
func (h *api) importResidents(c *fiber.Ctx) error {
	return h.importCSV(c, h.Community.ImportResidents)
}

// importCSV runs an import of a UTF-8 text/csv body (415 otherwise) under an
// Idempotency-Key, past the request deadline; a rejected file is 422 IMPORT_REJECTED with
// every row's problems, and repeating with the same key finishes an import that was cut
// off.
func (h *api) importCSV(c *fiber.Ctx, run func(context.Context, models.Principal, directory.ImportRequest) (directory.ImportResult, error)) error {
	p := principal(c)
	contentType := strings.ToLower(c.Get(fiber.HeaderContentType))
	if !strings.HasPrefix(contentType, "text/csv") {
		return models.ErrUnsupportedMedia.Withf("Content-Type 必须为 text/csv", "Content-Type must be text/csv")
	}
	if strings.Contains(contentType, "charset=") && !strings.Contains(contentType, "charset=utf-8") {
		return models.ErrUnsupportedMedia.Withf("文件必须为 UTF-8 编码", "the file must be UTF-8")
	}
	return h.keyed(c, func(idem community.Idempotency) error {
		// The request deadline is too short for thousands of rows; an
		// import cut off anyway is finished by repeating it with the same key.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), importTimeout)
		defer cancel()
		// Fiber reuses the body's buffer after the handler returns.
		body := append([]byte(nil), c.Body()...)
		res, err := run(ctx, p, directory.ImportRequest{CSV: body, Idem: idem})
		var rejection *directory.ImportRejection
		if errors.As(err, &rejection) {
			return importRejected(c, rejection)
		}
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(importResponse{
			Key:      res.Key,
			Kind:     res.Kind,
			Rows:     res.Rows,
			Written:  res.Written,
			Replayed: res.Replayed,
		})
	})
}

// importRejected answers 422 with the usual error envelope and the
// problems of each row, so staff can fix the file and send it again.
func importRejected(c *fiber.Ctx, rejection *directory.ImportRejection) error {
	info := errorTable[models.ErrImportRejected.Code]
	zh := wantsChinese(c)
	msg := info.en
	if zh {
		msg = info.zh
	}
	var detail string
	var modelErr *models.Error
	if errors.As(rejection.Unwrap(), &modelErr) {
		detail = modelErr.LocalDetail(zh)
	}
	out := importRejectedBody{
		Error: errorDetail{
			Code:      string(models.ErrImportRejected.Code),
			Message:   msg,
			Detail:    detail,
			RequestID: ensureRequestID(c),
		},
		Rows: make([]problemJSON, len(rejection.Problems)),
	}
	for i, problem := range rejection.Problems {
		out.Rows[i] = problemJSON{
			Row:     problem.Row,
			Field:   problem.Field,
			Code:    problem.Code,
			Message: problem.Local(zh),
		}
	}
	return c.Status(info.status).JSON(out)
}
