package community_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

// eachCommunities is how many communities the Each tests store: more than
// two of Each's pages, so the walk crosses pages.
const eachCommunities = 230

// newEachStore returns a store holding eachCommunities communities and
// their ids in order.
func newEachStore(t *testing.T) (community.Lister, []string) {
	t.Helper()
	st := storetest.New(t)
	ids := make([]string, eachCommunities)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%04d", i)
		c := models.Community{
			ID:       ids[i],
			Name:     "春申 " + ids[i],
			TimeZone: "Asia/Shanghai",
			Created:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		if err := st.InsertCommunity(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return st, ids
}

// TestIssue12_EachVisitsEveryCommunityOnceInIDOrder walks a store of
// several pages and sees each community once, in id order.
func TestIssue12_EachVisitsEveryCommunityOnceInIDOrder(t *testing.T) {
	t.Parallel()
	st, ids := newEachStore(t)
	var seen []string
	err := community.Each(ctx, st, func(c models.Community) error {
		seen = append(seen, c.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("visited %d communities %v, want %d in id order", len(seen), seen, len(ids))
	}
}

// TestIssue12_EachStopsAtFnsErrorAndReturnsIt fails fn on a community of
// the second page: Each returns that error and visits nothing after it.
func TestIssue12_EachStopsAtFnsErrorAndReturnsIt(t *testing.T) {
	t.Parallel()
	st, ids := newEachStore(t)
	stop := errors.New("stop")
	// The failing community is on the second page: the walk must not go
	// on past it, on that page or the next.
	failAt := ids[150]
	var seen []string
	err := community.Each(ctx, st, func(c models.Community) error {
		seen = append(seen, c.ID)
		if c.ID == failAt {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err %v, want fn's error", err)
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids[:151]) {
		t.Fatalf("visited %d communities, want the %d up to %s", len(seen), 151, failAt)
	}
}
