package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// walkAfter reads every page of a listing paged by `after` (the last
// item's id, as the API's next_after), limit a page, and returns the ids
// in the order read: walkPages, with a page shorter than limit the last.
func walkAfter(t *testing.T, limit int, page func(after string) ([]string, error)) []string {
	t.Helper()
	return walkPages(t, func(after string) ([]string, string, error) {
		got, err := page(after)
		if err != nil || len(got) < limit {
			return got, "", err
		}
		return got, got[len(got)-1], nil
	})
}

// Issue 15 (GET /buildings and /partners, and the liability report's
// partners, scanned every community's): a community's buildings and
// partners are read from its lists, in id order after `after` as before,
// while two replicas add buildings and partners to it and to another
// community at once; no read or write sends a scan, a repeat of an
// insert and a name the community has are refused and listed once or not
// at all, and the kind filter keeps its partners.
func TestIssue15_Catalogue_BuildingsAndPartnersReadFromTheCommunitysListsWhileAdded(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	building := func(community string, n int) models.Building {
		// Ids out of insertion order: the listing's order is the ids'.
		return models.Building{
			ID:          fmt.Sprintf("b%02d-%s", (n*7)%40, community),
			CommunityID: community,
			Name:        fmt.Sprintf("%d号楼", n),
			Created:     at,
		}
	}
	partner := func(community string, n int) models.Partner {
		kind := models.PartnerMerchant
		if n%3 == 0 {
			kind = models.PartnerProperty
		}
		return models.Partner{
			ID:          fmt.Sprintf("p%02d-%s", (n*7)%40, community),
			CommunityID: community,
			Kind:        kind,
			Name:        fmt.Sprintf("商户%d", n),
			Created:     at,
		}
	}
	storeEach(t, 20, func(n int) error {
		if err := s.InsertBuilding(ctx, building("c1", n)); err != nil {
			return err
		}
		return s.InsertPartner(ctx, partner("c1", n))
	})
	// A repeat is refused and listed once; another id with a name the
	// community has is refused and not listed.
	if err := other.InsertBuilding(ctx, building("c1", 3)); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a building added twice: %v", err)
	}
	clash := partner("c1", 4)
	clash.ID = "p99-c1"
	if err := other.InsertPartner(ctx, clash); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a partner's name taken twice: %v", err)
	}
	buildingIDs := func(st *Store, community, after string, limit int) ([]string, error) {
		bs, err := st.Buildings(ctx, community, after, limit)
		ids := make([]string, len(bs))
		for i, b := range bs {
			if b.CommunityID != community {
				return nil, fmt.Errorf("%s's buildings show %s of %s", community, b.ID, b.CommunityID)
			}
			ids[i] = b.ID
		}
		return ids, err
	}
	partnerIDs := func(st *Store, community string, kind models.PartnerKind, after string, limit int) ([]string, error) {
		ps, err := st.Partners(ctx, community, kind, after, limit)
		ids := make([]string, len(ps))
		for i, p := range ps {
			if p.CommunityID != community || (kind != "" && p.Kind != kind) {
				return nil, fmt.Errorf("%s's %q partners show %s of %s, a %s", community, kind, p.ID, p.CommunityID, p.Kind)
			}
			ids[i] = p.ID
		}
		return ids, err
	}
	commands := watchCommands(s, other)
	errs := atonce.Errors(5, func(i int) error {
		replica := inTurn(i, s, other)
		switch i {
		case 0, 1: // two replicas add c1's next buildings and partners
			for n := 20 + i; n < 40; n += 2 {
				if err := replica.InsertBuilding(ctx, building("c1", n)); err != nil {
					return err
				}
				if err := replica.InsertPartner(ctx, partner("c1", n)); err != nil {
					return err
				}
			}
		case 2: // and another community's
			for n := range 10 {
				if err := replica.InsertBuilding(ctx, building("c2", n)); err != nil {
					return err
				}
				if err := replica.InsertPartner(ctx, partner("c2", n)); err != nil {
					return err
				}
			}
		default: // while the console pages them
			for range 5 {
				for _, read := range []func(after string) ([]string, error){
					func(after string) ([]string, error) { return buildingIDs(replica, "c1", after, 7) },
					func(after string) ([]string, error) { return partnerIDs(replica, "c1", "", after, 7) },
				} {
					var all []string
					after := ""
					for {
						ids, err := read(after)
						if err != nil {
							return err
						}
						if !slices.IsSorted(ids) || (len(all) > 0 && len(ids) > 0 && ids[0] <= all[len(all)-1]) {
							return fmt.Errorf("pages not in id order: %v then %v", all, ids)
						}
						all = append(all, ids...)
						if len(ids) < 7 {
							break
						}
						after = ids[len(ids)-1]
					}
					if len(all) < 20 {
						return fmt.Errorf("the pages read %d of the first 20: %v", len(all), all)
					}
				}
			}
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	commands.wantNoScans(t, "the catalogue's reads and writes")
	var wantBuildings, wantPartners, wantProperty []string
	for n := range 40 {
		wantBuildings = append(wantBuildings, building("c1", n).ID)
		p := partner("c1", n)
		wantPartners = append(wantPartners, p.ID)
		if p.Kind == models.PartnerProperty {
			wantProperty = append(wantProperty, p.ID)
		}
	}
	slices.Sort(wantBuildings)
	slices.Sort(wantPartners)
	slices.Sort(wantProperty)
	if got := walkAfter(t, 7, func(after string) ([]string, error) { return buildingIDs(s, "c1", after, 7) }); !slices.Equal(got, wantBuildings) {
		t.Fatalf("c1's buildings read %v; want %v", got, wantBuildings)
	}
	if got := walkAfter(t, 7, func(after string) ([]string, error) { return partnerIDs(s, "c1", "", after, 7) }); !slices.Equal(got, wantPartners) {
		t.Fatalf("c1's partners read %v; want %v", got, wantPartners)
	}
	if got, err := partnerIDs(s, "c1", models.PartnerProperty, "", 0); err != nil || !slices.Equal(got, wantProperty) {
		t.Fatalf("c1's property partners read %v, %v; want %v", got, err, wantProperty)
	}
	if got, err := buildingIDs(s, "c2", "", 0); err != nil || len(got) != 10 {
		t.Fatalf("c2's buildings read %v, %v; want 10", got, err)
	}
	if got, err := partnerIDs(s, "c3", "", "", 0); err != nil || len(got) != 0 {
		t.Fatalf("a community without partners reads %v, %v", got, err)
	}
}

// Issue 15: buildings and partners stored before the communities' lists
// existed are put on them once, at the next start, even when two
// replicas start at once.
func TestIssue15_Catalogue_StoredBeforeTheListsAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	storeEach(t, 3, func(n int) error {
		if err := s.insert(ctx, colBuildings, buildingDoc{
			ID:        fmt.Sprint("old-b", n),
			Community: "c1",
			Name:      fmt.Sprint(n, "号楼"),
			Created:   at,
		}); err != nil {
			return err
		}
		return s.insert(ctx, colPartners, partnerDoc{
			ID:        fmt.Sprint("old-p", n),
			Community: "c1",
			Kind:      string(models.PartnerMerchant),
			Name:      fmt.Sprint("商户", n),
			Created:   at,
		})
	})
	forgetBackfills(t, s, "catalogue-lists")
	if got, err := s.Buildings(ctx, "c1", "", 0); err != nil || len(got) != 0 {
		t.Fatalf("before the start: %v, %v", got, err)
	}
	startAtOnce(t, 2, (*Store).listCatalogueStoredBefore, s, other)
	if err := s.EnsureSchema(ctx); err != nil { // the next start finds the work done
		t.Fatal(err)
	}
	bs, err := s.Buildings(ctx, "c1", "", 0)
	if err != nil || len(bs) != 3 || bs[0].ID != "old-b0" || bs[2].ID != "old-b2" {
		t.Fatalf("after the start the buildings read %+v, %v; want the 3 old ones once each", bs, err)
	}
	ps, err := s.Partners(ctx, "c1", "", "old-p0", 0)
	if err != nil || len(ps) != 2 || ps[0].ID != "old-p1" {
		t.Fatalf("after the start the partners after old-p0 read %+v, %v; want old-p1 and old-p2", ps, err)
	}
}
