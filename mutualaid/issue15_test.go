package mutualaid_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
)

// walkAids reads every page of the posts p may see, limit a page, and
// returns their ids in the order read.
func (e *tbEnv) walkAids(t *testing.T, p models.Principal, limit int) []string {
	t.Helper()
	var ids []string
	for _, a := range communitytest.WalkPages(t, limit, func(cursor string) ([]models.MutualAid, string, error) {
		return e.aid.Aids(ctx, p, cursor, limit)
	}) {
		ids = append(ids, a.ID)
	}
	return ids
}

// Issue 15 (GET /mutual-aid reads the community's list of posts, not the
// collection): every caller's pages show the posts they may see (a
// neighbour the open ones, a party and staff theirs too) each once, the
// latest posted first, at every page size, however many posts between
// them the caller may not see; an after the list did not give out (such
// as a post id) is INVALID_CURSOR.
func TestIssue15_MutualAid_PagesLatestFirstShowingWhatTheCallerMaySee(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 1000)
	var all, open, accepted []string // latest first
	for i := range 9 {
		a := e.mustPost(t, "r1", models.AidRequest, 10)
		all = append([]string{a.ID}, all...)
		if i%3 == 0 {
			open = append([]string{a.ID}, open...)
			continue
		}
		if _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, a.ID)
	}
	// Another resident's open post, the latest of all.
	e.seedHours(t, "r4", 100)
	latest := e.mustPost(t, "r4", models.AidRequest, 10)
	all, open = append([]string{latest.ID}, all...), append([]string{latest.ID}, open...)
	// The helper sees the open posts and those they took up.
	helper := slices.DeleteFunc(slices.Clone(all), func(id string) bool {
		return !slices.Contains(open, id) && !slices.Contains(accepted, id)
	})
	for _, limit := range []int{1, 2, 3, 50} {
		if got := e.walkAids(t, res("r3"), limit); !slices.Equal(got, open) {
			t.Fatalf("a neighbour's pages of %d read %v; want the open posts %v", limit, got, open)
		}
		if got := e.walkAids(t, res("r2"), limit); !slices.Equal(got, helper) {
			t.Fatalf("the helper's pages of %d read %v; want %v", limit, got, helper)
		}
		if got := e.walkAids(t, res("r1"), limit); !slices.Equal(got, all) {
			t.Fatalf("the poster's pages of %d read %v; want %v", limit, got, all)
		}
		if got := e.walkAids(t, e.Staff, limit); !slices.Equal(got, all) {
			t.Fatalf("staff's pages of %d read %v; want %v", limit, got, all)
		}
	}
	for _, after := range []string{latest.ID, "x", "1", "999"} {
		if _, _, err := e.aid.Aids(ctx, res("r3"), after, 2); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("after %q: %v; want ErrBadCursor", after, err)
		}
	}
}
