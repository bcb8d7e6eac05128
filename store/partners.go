package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
)

// partnerDoc is a partner as stored in partners.
type partnerDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Kind      string    `bson:"kind"`
	Name      string    `bson:"name"`
	Created   time.Time `bson:"created"`
}

// model returns the stored partner.
func (d partnerDoc) model() models.Partner {
	return models.Partner{
		ID:          d.ID,
		CommunityID: d.Community,
		Kind:        models.PartnerKind(d.Kind),
		Name:        d.Name,
		Created:     d.Created.UTC(),
	}
}

// InsertPartner adds p, after its slot on its community's list
// (catalogueList); models.ErrConflict if its id, or its name in the
// community, exists.
func (s *Store) InsertPartner(ctx context.Context, p models.Partner) error {
	if err := s.listCatalogued(ctx, partnerList(p.CommunityID), p.ID, p.Created); err != nil {
		return err
	}
	return s.insert(ctx, colPartners, partnerDoc{
		ID:        p.ID,
		Community: p.CommunityID,
		Kind:      string(p.Kind),
		Name:      p.Name,
		Created:   p.Created,
	})
}

// Partner returns the partner with id, or models.ErrNotFound.
func (s *Store) Partner(ctx context.Context, id string) (models.Partner, error) {
	var d partnerDoc
	if err := s.findByID(ctx, colPartners, id, &d); err != nil {
		return models.Partner{}, err
	}
	return d.model(), nil
}

// Partners lists a community's partners, only those of kind when it is not
// "", by id, after the id after, at most limit (0: all). It reads the
// community's list whole (catalogued): a community has tens of partners.
func (s *Store) Partners(ctx context.Context, communityID string, kind models.PartnerKind, after string, limit int) ([]models.Partner, error) {
	return catalogued(ctx, s, colPartners, partnerList(communityID), after, limit, func(d partnerDoc) (string, bool) {
		return d.ID, d.Community == communityID && (kind == "" || d.Kind == string(kind))
	}, partnerDoc.model)
}
