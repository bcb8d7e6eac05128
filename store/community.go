package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
)

type communityDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	District  string    `bson:"district,omitempty"`
	TimeZone  string    `bson:"time_zone"`
	MaxAward  int64     `bson:"max_award"`
	MaxDeduct int64     `bson:"max_deduct"`
	Created   time.Time `bson:"created"`
}

func toCommunityDoc(c models.Community) communityDoc {
	return communityDoc{ID: c.ID, Name: c.Name, District: c.District, TimeZone: c.TimeZone,
		MaxAward: int64(c.Policy.MaxAward), MaxDeduct: int64(c.Policy.MaxDeduct), Created: c.Created}
}

func (d communityDoc) model() models.Community {
	return models.Community{ID: d.ID, Name: d.Name, District: d.District, TimeZone: d.TimeZone,
		Policy:  models.PointsPolicy{MaxAward: models.Points(d.MaxAward), MaxDeduct: models.Points(d.MaxDeduct)},
		Created: d.Created.UTC()}
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

type familyDoc struct {
	Resident string `bson:"resident"`
	Relation string `bson:"relation"`
	Verified bool   `bson:"verified"`
}

type residentDoc struct {
	ID        string      `bson:"_id"`
	Community string      `bson:"community"`
	Household string      `bson:"household,omitempty"`
	Name      string      `bson:"name"`
	Phone     string      `bson:"phone"`
	BirthYear int         `bson:"birth_year,omitempty"`
	Roles     []string    `bson:"roles"`
	Merchant  string      `bson:"merchant,omitempty"`
	Partner   string      `bson:"partner,omitempty"`
	Family    []familyDoc `bson:"family,omitempty"`
	Created   time.Time   `bson:"created"`
}

func toResidentDoc(r models.Resident) residentDoc {
	d := residentDoc{ID: r.ID, Community: r.CommunityID, Household: r.HouseholdID, Name: r.Name,
		Phone: r.Phone, BirthYear: r.BirthYear, Merchant: r.MerchantID, Partner: r.PartnerID, Created: r.Created}
	for _, role := range r.Roles {
		d.Roles = append(d.Roles, string(role))
	}
	for _, f := range r.Family {
		d.Family = append(d.Family, familyDoc{Resident: f.ResidentID, Relation: f.Relation, Verified: f.Verified})
	}
	return d
}

func (d residentDoc) model() models.Resident {
	r := models.Resident{ID: d.ID, CommunityID: d.Community, HouseholdID: d.Household, Name: d.Name,
		Phone: d.Phone, BirthYear: d.BirthYear, MerchantID: d.Merchant, PartnerID: d.Partner, Created: d.Created.UTC()}
	for _, role := range d.Roles {
		r.Roles = append(r.Roles, models.Role(role))
	}
	for _, f := range d.Family {
		r.Family = append(r.Family, models.FamilyLink{ResidentID: f.Resident, Relation: f.Relation, Verified: f.Verified})
	}
	return r
}

// Resident returns the resident with id, or models.ErrNotFound.
func (s *Store) Resident(ctx context.Context, id string) (models.Resident, error) {
	var d residentDoc
	if err := s.findByID(ctx, colResidents, id, &d); err != nil {
		return models.Resident{}, err
	}
	return d.model(), nil
}
