package store

import (
	"context"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// communityDoc is a community as stored in communities.
type communityDoc struct {
	ID       string    `bson:"_id"`
	Name     string    `bson:"name"`
	District string    `bson:"district,omitempty"`
	TimeZone string    `bson:"time_zone"`
	Created  time.Time `bson:"created"`
}

// toCommunityDoc returns community c as stored.
func toCommunityDoc(c models.Community) communityDoc {
	return communityDoc{
		ID:       c.ID,
		Name:     c.Name,
		District: c.District,
		TimeZone: c.TimeZone,
		Created:  c.Created,
	}
}

// model returns the stored community.
func (d communityDoc) model() models.Community {
	return models.Community{
		ID:       d.ID,
		Name:     d.Name,
		District: d.District,
		TimeZone: d.TimeZone,
		Created:  d.Created.UTC(),
	}
}

// InsertCommunity adds c; models.ErrConflict if its id exists.
func (s *Store) InsertCommunity(ctx context.Context, c models.Community) error {
	return s.insert(ctx, colCommunities, toCommunityDoc(c))
}

// Community returns the community with id, or models.ErrNotFound.
func (s *Store) Community(ctx context.Context, id string) (models.Community, error) {
	var d communityDoc
	if err := s.findByID(ctx, colCommunities, id, &d); err != nil {
		return models.Community{}, err
	}
	return d.model(), nil
}

// Communities lists communities by id, after the id after ("" for the
// first page), at most limit.
func (s *Store) Communities(ctx context.Context, after string, limit int) ([]models.Community, error) {
	return pageModels(ctx, s, colCommunities, bson.D{}, after, limit, communityDoc.model)
}

// familyDoc is one family link of a resident as stored inside it.
type familyDoc struct {
	Resident string `bson:"resident"`
	Relation string `bson:"relation"`
	Verified bool   `bson:"verified"`
}

// residentDoc is a resident as stored in residents. Phone, ID number and
// birth year are stored sealed (store/sealed.go); Phone and BirthYear are
// how documents written before sealing hold them, read but never written.
type residentDoc struct {
	ID          string      `bson:"_id"`
	Community   string      `bson:"community"`
	Household   string      `bson:"household,omitempty"`
	Name        string      `bson:"name"`
	Phone       string      `bson:"phone,omitempty"`
	BirthYear   int         `bson:"birth_year,omitempty"`
	PhoneSealed string      `bson:"phone_sealed,omitempty"`
	PhoneIndex  string      `bson:"phone_index,omitempty"`
	BirthSealed string      `bson:"birth_sealed,omitempty"`
	IDSealed    string      `bson:"id_number_sealed,omitempty"`
	Roles       []string    `bson:"roles"`
	Merchant    string      `bson:"merchant,omitempty"`
	Partner     string      `bson:"partner,omitempty"`
	Family      []familyDoc `bson:"family,omitempty"`
	Created     time.Time   `bson:"created"`
	Erased      *time.Time  `bson:"erased,omitempty"`
	DirSlots    []slotRef   `bson:"dir_slots,omitempty"`  // its slots on the plain lists (dir_lists.go)
	RoleSlots   []slotRef   `bson:"role_slots,omitempty"` // its slots on its roles' lists (role_lists.go)
}

// residentDoc returns resident r as stored, its personal fields sealed.
func (s *Store) residentDoc(r models.Resident) (residentDoc, error) {
	d := residentDoc{
		ID:        r.ID,
		Community: r.CommunityID,
		Household: r.HouseholdID,
		Name:      r.Name,
		Merchant:  r.MerchantID,
		Partner:   r.PartnerID,
		Created:   r.Created,
	}
	if !r.Erased.IsZero() {
		at := r.Erased
		d.Erased = &at
	}
	if err := s.sealResident(&d, r.Phone, r.BirthYear, r.IDNumber); err != nil {
		return residentDoc{}, err
	}
	for _, role := range r.Roles {
		d.Roles = append(d.Roles, string(role))
	}
	for _, f := range r.Family {
		d.Family = append(d.Family, familyDoc{
			Resident: f.ResidentID,
			Relation: f.Relation,
			Verified: f.Verified,
		})
	}
	return d, nil
}

// residentModel returns the stored resident d, its personal fields opened.
func (s *Store) residentModel(d residentDoc) (models.Resident, error) {
	r := models.Resident{
		ID:          d.ID,
		CommunityID: d.Community,
		HouseholdID: d.Household,
		Name:        d.Name,
		MerchantID:  d.Merchant,
		PartnerID:   d.Partner,
		Created:     d.Created.UTC(),
	}
	if d.Erased != nil {
		r.Erased = d.Erased.UTC()
	}
	p, err := s.openResident(d)
	if err != nil {
		return models.Resident{}, err
	}
	r.Phone, r.BirthYear, r.IDNumber = p.phone, p.birthYear, p.idNumber
	for _, role := range d.Roles {
		r.Roles = append(r.Roles, models.Role(role))
	}
	for _, f := range d.Family {
		r.Family = append(r.Family, models.FamilyLink{
			ResidentID: f.Resident,
			Relation:   f.Relation,
			Verified:   f.Verified,
		})
	}
	return r, nil
}

// Resident returns the resident with id, or models.ErrNotFound.
func (s *Store) Resident(ctx context.Context, id string) (models.Resident, error) {
	var d residentDoc
	if err := s.findByID(ctx, colResidents, id, &d); err != nil {
		return models.Resident{}, err
	}
	return s.residentModel(d)
}

// InsertResident adds r; models.ErrConflict if its id exists. The phone is
// made unique by the resident's login (InsertLogin), not here. Its slots
// on the search lists (search.go) and on its community's and household's
// lists (dir_lists.go) are written first, in one insert, and the resident
// names the latter.
func (s *Store) InsertResident(ctx context.Context, r models.Resident) error {
	d, err := s.residentDoc(r)
	if err != nil {
		return err
	}
	if r.CommunityID != "" {
		lists := slices.Concat(residentSearchLists(r), residentPlainLists(r), roleLists(r.CommunityID, d.Roles))
		slots, err := s.insertListed(ctx, colDirLists, lists, r.ID, r.Created, nil)
		if err != nil {
			return err
		}
		d.DirSlots, d.RoleSlots = plainSlots(slots), roleSlots(slots)
	}
	return s.insert(ctx, colResidents, d)
}

// DeleteResident removes the resident with id; used only to undo a create
// or an import that could not finish. A missing resident is not an error.
func (s *Store) DeleteResident(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colResidents, id)
}

// Residents lists residents matching f by id, after the id after, at most
// limit (0: all). It filters by community, so it is for staff screens and
// small reconciliations, not hot paths.
func (s *Store) Residents(ctx context.Context, f models.ResidentFilter, after string, limit int) ([]models.Resident, error) {
	filter := bson.D{{Key: "community", Value: f.CommunityID}}
	if f.HouseholdID != "" {
		filter = append(filter, bson.E{Key: "household", Value: f.HouseholdID})
	}
	if f.Role != "" {
		filter = append(filter, bson.E{Key: "roles", Value: string(f.Role)})
	}
	var docs []residentDoc
	if err := s.page(ctx, colResidents, filter, after, limit, &docs); err != nil {
		return nil, err
	}
	out := make([]models.Resident, len(docs))
	for i, d := range docs {
		r, err := s.residentModel(d)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// SetResidentProfile sets a resident's name, birth year and household.
// The birth year is stored sealed, and a birth year stored in clear before
// sealing is removed.
// A new name is put on the search lists of its characters first, and a
// resident moving to another household on that household's list
// (listMoved), the slot named in the same update that moves them.
func (s *Store) SetResidentProfile(ctx context.Context, id, name string, birthYear int, householdID string) error {
	var d residentDoc
	if err := s.findByID(ctx, colResidents, id, &d); err != nil {
		return err
	}
	old, err := s.residentModel(d)
	if err != nil {
		return err
	}
	if old.Name != name {
		renamed := old
		renamed.Name = name
		if err := s.listRenamed(ctx, old, renamed); err != nil {
			return err
		}
	}
	keys, err := s.keys()
	if err != nil {
		return err
	}
	birth, err := keys.seal(colResidents, id, "birth", birthText(birthYear))
	if err != nil {
		return err
	}
	set := bson.D{{Key: "name", Value: name}, {Key: "household", Value: householdID}}
	if old.HouseholdID != householdID {
		slots, err := s.listMoved(ctx, d, householdID)
		if err != nil {
			return err
		}
		set = append(set, bson.E{Key: "dir_slots", Value: slots})
	}
	unset := bson.D{{Key: "birth_year", Value: ""}}
	if birth != "" {
		set = append(set, bson.E{Key: "birth_sealed", Value: birth})
	} else {
		unset = append(unset, bson.E{Key: "birth_sealed", Value: ""})
	}
	return s.updateByID(ctx, colResidents, id, bson.D{{Key: "$set", Value: set}, {Key: "$unset", Value: unset}})
}

// SetResidentRoles sets a resident's roles and the partner a merchant
// clerk or partner login works for. The resident is put on the list of
// each role it gains first, and the update names the slots of the roles
// it holds (role_lists.go).
func (s *Store) SetResidentRoles(ctx context.Context, id string, roles []models.Role, merchantID, partnerID string) error {
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	var d residentDoc
	if err := s.findByID(ctx, colResidents, id, &d); err != nil {
		return err
	}
	slots, err := s.listRoles(ctx, d, rs)
	if err != nil {
		return err
	}
	return s.setByID(ctx, colResidents, id, bson.D{
		{Key: "roles", Value: rs},
		{Key: "merchant", Value: merchantID},
		{Key: "partner", Value: partnerID},
		{Key: "role_slots", Value: slots},
	})
}

// SetResidentFamily replaces a resident's family links. The array is small
// and rewritten whole, because the embedded store gets $pull with a
// condition and positional updates wrong.
func (s *Store) SetResidentFamily(ctx context.Context, id string, family []models.FamilyLink) error {
	docs := make([]familyDoc, len(family))
	for i, f := range family {
		docs[i] = familyDoc{
			Resident: f.ResidentID,
			Relation: f.Relation,
			Verified: f.Verified,
		}
	}
	return s.setByID(ctx, colResidents, id, bson.D{{Key: "family", Value: docs}})
}

// page decodes into out the documents of col matching filter with an _id
// greater than after (all when after is ""), in _id order, at most limit
// (0: no limit). Paging by _id keeps pages stable while documents are added.
func (s *Store) page(ctx context.Context, col string, filter bson.D, after string, limit int, out any) error {
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.c(col).Find(ctx, filter, opts)
	if err != nil {
		return mapErr("list "+col, err)
	}
	return mapErr("list "+col, cur.All(ctx, out))
}

// pageModels is page for a collection of Ds, each converted with model.
func pageModels[D, M any](ctx context.Context, s *Store, col string, filter bson.D, after string, limit int, model func(D) M) ([]M, error) {
	var docs []D
	if err := s.page(ctx, col, filter, after, limit, &docs); err != nil {
		return nil, err
	}
	return modelsOf(docs, model), nil
}
