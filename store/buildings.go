package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// buildingDoc is a building as stored in buildings.
type buildingDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Name      string    `bson:"name"`
	Head      string    `bson:"head,omitempty"`
	Address   string    `bson:"address,omitempty"`
	Created   time.Time `bson:"created"`
}

// model returns the stored building.
func (d buildingDoc) model() models.Building {
	return models.Building{
		ID:          d.ID,
		CommunityID: d.Community,
		Name:        d.Name,
		HeadID:      d.Head,
		Address:     d.Address,
		Created:     d.Created.UTC(),
	}
}

// InsertBuilding adds b, after its slot on its community's list
// (catalogueList); models.ErrConflict if its id, or its name in the
// community, exists.
func (s *Store) InsertBuilding(ctx context.Context, b models.Building) error {
	if err := s.listCatalogued(ctx, buildingList(b.CommunityID), b.ID, b.Created); err != nil {
		return err
	}
	return s.insert(ctx, colBuildings, buildingDoc{
		ID:        b.ID,
		Community: b.CommunityID,
		Name:      b.Name,
		Head:      b.HeadID,
		Address:   b.Address,
		Created:   b.Created,
	})
}

// Building returns the building with id, or models.ErrNotFound.
func (s *Store) Building(ctx context.Context, id string) (models.Building, error) {
	var d buildingDoc
	if err := s.findByID(ctx, colBuildings, id, &d); err != nil {
		return models.Building{}, err
	}
	return d.model(), nil
}

// Buildings lists a community's buildings by id, after the id after, at
// most limit (0: all; a community has tens of buildings, not thousands).
// It reads the community's list whole (catalogued).
func (s *Store) Buildings(ctx context.Context, communityID, after string, limit int) ([]models.Building, error) {
	return catalogued(ctx, s, colBuildings, buildingList(communityID), after, limit, func(d buildingDoc) (string, bool) {
		return d.ID, d.Community == communityID
	}, buildingDoc.model)
}

// SetBuildingHead records headID ("" for none) as the building's head.
func (s *Store) SetBuildingHead(ctx context.Context, id, headID string) error {
	return s.setByID(ctx, colBuildings, id, bson.D{{Key: "head", Value: headID}})
}

// SetBuildingAddress sets the building's address. The name is not
// editable: it is part of a unique index, and the embedded store reports a
// unique violation from an update as an opaque error.
func (s *Store) SetBuildingAddress(ctx context.Context, id, address string) error {
	return s.setByID(ctx, colBuildings, id, bson.D{{Key: "address", Value: address}})
}
