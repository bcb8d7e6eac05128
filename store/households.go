package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// householdDoc is a household as stored in households.
type householdDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Building  string    `bson:"building"`
	Room      string    `bson:"room"`
	Plates    []string  `bson:"plates"`
	Created   time.Time `bson:"created"`
	DirSlots  []slotRef `bson:"dir_slots,omitempty"` // its slots on the plain lists (dir_lists.go)
}

// model returns the stored household.
func (d householdDoc) model() models.Household {
	return models.Household{
		ID:          d.ID,
		CommunityID: d.Community,
		BuildingID:  d.Building,
		Room:        d.Room,
		Plates:      d.Plates,
		Created:     d.Created.UTC(),
	}
}

// InsertHousehold adds h; models.ErrConflict if its id, or its room in the
// building, exists. Its slots on its room's search list (search.go) and on
// its building's and community's lists (dir_lists.go) are written first,
// in one insert, and the household names the latter.
func (s *Store) InsertHousehold(ctx context.Context, h models.Household) error {
	plates := h.Plates
	if plates == nil {
		plates = []string{}
	}
	lists := append([]string{householdSearchList(h.CommunityID, h.Room)}, householdPlainLists(h)...)
	slots, err := s.insertListed(ctx, colDirLists, lists, h.ID, h.Created, nil)
	if err != nil {
		return err
	}
	return s.insert(ctx, colHouseholds, householdDoc{
		ID:        h.ID,
		Community: h.CommunityID,
		Building:  h.BuildingID,
		Room:      h.Room,
		Plates:    plates,
		Created:   h.Created,
		DirSlots:  plainSlots(slots),
	})
}

// Household returns the household with id, or models.ErrNotFound.
func (s *Store) Household(ctx context.Context, id string) (models.Household, error) {
	var d householdDoc
	if err := s.findByID(ctx, colHouseholds, id, &d); err != nil {
		return models.Household{}, err
	}
	return d.model(), nil
}

// Households lists a community's households by id, only those of
// buildingID when it is not "", after the id after, at most limit (0: all).
// It filters by community, so it is for staff screens and imports.
func (s *Store) Households(ctx context.Context, communityID, buildingID, after string, limit int) ([]models.Household, error) {
	filter := bson.D{{Key: "community", Value: communityID}}
	if buildingID != "" {
		filter = append(filter, bson.E{Key: "building", Value: buildingID})
	}
	return pageModels(ctx, s, colHouseholds, filter, after, limit, householdDoc.model)
}

// SetHouseholdPlates replaces the household's licence plates. Building and
// room are not editable: they are the household's unique key.
func (s *Store) SetHouseholdPlates(ctx context.Context, id string, plates []string) error {
	if plates == nil {
		plates = []string{}
	}
	return s.setByID(ctx, colHouseholds, id, bson.D{{Key: "plates", Value: plates}})
}

// DeleteHousehold removes the household with id; used only to undo an
// import that could not finish. A missing household is not an error.
func (s *Store) DeleteHousehold(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colHouseholds, id)
}
