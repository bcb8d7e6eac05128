package store

import (
	"context"
	"slices"
	"strings"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The lists of a community's holders of each role but resident
// (`ro:<community>:<role>`, in dir_lists beside the plain lists): whom to
// tell that a building head logged a duty (the community's staff and
// admins) is read from them, at the cost of the role's holders, instead of
// by filtering every resident of the community. A resident names its
// slots on these lists (`role_slots`), one for each role it holds now:
// InsertResident takes them with its other slots, and SetResidentRoles
// takes a slot on the list of each role gained and names, in the update
// that sets the roles, the slots of the roles kept and gained. A role
// taken away is dropped from the names, so a reader (RoleHolders) keeps a
// slot only when its record names it and holds the role; a role given back
// takes a new slot.
//
// Crash points: a slot whose record or update was never written is named
// by no record and skipped. The residents stored before these lists are
// listed once at start (`done:dir-role-lists`); a role change that a live
// replica makes while that listing runs may be overwritten by it, as for
// the plain lists (the listing reads each resident again just before).

// roleList is the list of communityID's holders of role.
func roleList(communityID string, role models.Role) string {
	return "ro:" + communityID + ":" + string(role)
}

// roleLists are the lists a resident of communityID holding roles goes on:
// one per role but resident, which everyone holds.
func roleLists(communityID string, roles []string) []string {
	var lists []string
	for _, r := range roles {
		if r != string(models.RoleResident) {
			lists = append(lists, roleList(communityID, models.Role(r)))
		}
	}
	return lists
}

// isRoleList reports whether slot sl is on a role list.
func isRoleList(sl slotRef) bool { return strings.HasPrefix(sl.List, "ro:") }

// roleSlots is the slots of slots that are on role lists.
func roleSlots(slots []slotRef) []slotRef {
	return slices.DeleteFunc(slices.Clone(slots), func(sl slotRef) bool { return !isRoleList(sl) })
}

// listRoles puts resident d, about to hold roles, on the list of each role
// it does not name a slot for yet, and returns the role slots it names
// after: those of roles it keeps, and the new ones.
func (s *Store) listRoles(ctx context.Context, d residentDoc, roles []string) ([]slotRef, error) {
	return s.relisted(ctx, d.ID, d.RoleSlots, roleLists(d.Community, roles))
}

// RoleHolders is every resident of communityID who holds one of roles now
// and is not erased, each once (a holder of two of them is listed under
// the first), read from the roles' lists: it costs the roles' holders,
// not the community's residents. No role may be resident (everyone holds
// it).
func (s *Store) RoleHolders(ctx context.Context, communityID string, roles ...models.Role) ([]models.Resident, error) {
	var docs []*residentDoc
	seen := map[string]bool{}
	for _, role := range roles {
		held, err := residentListRead(roleList(communityID, role), func(d *residentDoc) []slotRef { return d.RoleSlots }, func(d *residentDoc) bool {
			return d.Community == communityID && d.Erased == nil && slices.Contains(d.Roles, string(role))
		}).all(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, d := range held {
			if !seen[d.ID] {
				seen[d.ID] = true
				docs = append(docs, d)
			}
		}
	}
	return s.residentModels(docs)
}

// listResidentsOnRoleLists puts each resident stored before the role lists
// and holding a role but resident on its roles' lists, and names the slots
// in it (RoleHolders), once (`done:dir-role-lists`). It reads every
// resident once, at the first start of a version with these lists.
func (s *Store) listResidentsOnRoleLists(ctx context.Context) error {
	const mark = "done:dir-role-lists"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	unlisted := bson.D{
		{Key: "community", Value: bson.D{{Key: "$exists", Value: true}}},
		{Key: "role_slots", Value: bson.D{{Key: "$exists", Value: false}}},
	}
	var ids []string
	cur, err := s.c(colResidents).Find(ctx, unlisted)
	err = eachDoc(ctx, cur, err, "residents", func(d residentDoc) error {
		if len(roleLists(d.Community, d.Roles)) > 0 {
			ids = append(ids, d.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		var d residentDoc
		if err := s.findByID(ctx, colResidents, id, &d); err != nil {
			return err
		}
		if len(d.RoleSlots) > 0 {
			continue // listed meanwhile
		}
		slots, err := s.listRoles(ctx, d, d.Roles)
		if err != nil {
			return err
		}
		if err := s.setByID(ctx, colResidents, id, bson.D{{Key: "role_slots", Value: slots}}); err != nil {
			return err
		}
	}
	return s.markStepDone(ctx, mark)
}
