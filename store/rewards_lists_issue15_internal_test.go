package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// testReward is reward id of community's catalogue, created at at.
func testReward(id, community string, at time.Time) models.Reward {
	return models.Reward{
		ID:          id,
		CommunityID: community,
		Kind:        models.RewardMerchant,
		Title:       "豆浆",
		PartnerID:   "shop1",
		Points:      10,
		ValueFen:    300,
		Bearer:      models.BearerCommunity,
		StockTotal:  100,
		CreatedBy:   "staff1",
		Created:     at.UTC().Truncate(time.Millisecond),
	}
}

// rewardIDs are the ids of rewards, in order.
func rewardIDs(rs []models.Reward) []string {
	return idsOf(rs, func(r models.Reward) string { return r.ID })
}

// Issue 15 (a community's catalogue is a list of its own): while rewards
// are added to this catalogue and another and old ones are edited
// (ReplaceReward), readers of the catalogue see every reward there before
// they began exactly once, by id, and none of the other community's;
// afterwards it reads all of them once with no scan, edits stand, and
// after and limit page it by id as before.
func TestIssue15_RewardLists_ReadWhileInsertedAndEdited(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	var old []string
	for i := range 12 {
		r := testReward(fmt.Sprintf("old%02d", i), "c1", base.Add(time.Duration(i)*time.Minute))
		if err := s.InsertReward(ctx, r); err != nil {
			t.Fatal(err)
		}
		old = append(old, r.ID)
	}
	const writers, readers, each = 3, 2, 8
	reads := make([][][]string, readers)
	atonce.Run(writers+readers, func(w int) {
		if w >= writers {
			for range 4 {
				rs, err := s.Rewards(ctx, "c1", "", 0)
				if err != nil {
					t.Error(err)
					return
				}
				reads[w-writers] = append(reads[w-writers], rewardIDs(rs))
			}
			return
		}
		for i := range each {
			at := base.Add(time.Hour)
			if err := s.InsertReward(ctx, testReward(fmt.Sprintf("new%d-%d", w, i), "c1", at)); err != nil {
				t.Error(err)
			}
			if err := s.InsertReward(ctx, testReward(fmt.Sprintf("other%d-%d", w, i), "c2", at)); err != nil {
				t.Error(err)
			}
			edited := testReward(old[(w*each+i)%len(old)], "c1", base)
			edited.Disabled, edited.Title = true, "豆浆（停售）"
			if err := s.ReplaceReward(ctx, edited); err != nil {
				t.Error(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	for _, rs := range reads {
		for _, ids := range rs {
			seen := map[string]int{}
			for _, id := range ids {
				if seen[id]++; seen[id] > 1 || strings.HasPrefix(id, "other") {
					t.Fatalf("the catalogue, read while writing, shows %s again or of c2: %v", id, ids)
				}
			}
			for _, id := range old {
				if seen[id] != 1 {
					t.Fatalf("the catalogue, read while writing, misses %s: %v", id, ids)
				}
			}
			if !slices.IsSorted(ids) {
				t.Fatalf("the catalogue is not by id: %v", ids)
			}
		}
	}
	want := slices.Clone(old)
	for w := range writers {
		for i := range each {
			want = append(want, fmt.Sprintf("new%d-%d", w, i))
		}
	}
	slices.Sort(want)
	commands := watchCommands(s)
	all, err := s.Rewards(ctx, "c1", "", 0)
	if err != nil || !slices.Equal(rewardIDs(all), want) {
		t.Fatalf("the catalogue reads %v (%v); want %v", rewardIDs(all), err, want)
	}
	commands.wantNoScans(t, "reading the catalogue")
	if page, err := s.Rewards(ctx, "c1", want[3], 2); err != nil || !slices.Equal(rewardIDs(page), want[4:6]) {
		t.Fatalf("after %s, 2 read %v (%v); want %v", want[3], rewardIDs(page), err, want[4:6])
	}
	if other, err := s.Rewards(ctx, "c2", "", 0); err != nil || len(other) != writers*each {
		t.Fatalf("c2's catalogue reads %d (%v); want %d", len(other), err, writers*each)
	}
	r, err := s.Reward(ctx, old[0])
	if err != nil || !r.Disabled || r.Title != "豆浆（停售）" {
		t.Fatalf("an edited reward reads %+v, %v", r, err)
	}
}

// Rewards stored before the catalogue lists existed (no slots) are put on
// their community's list once at the next start; a second start finds its
// mark and lists nothing again.
func TestIssue15_RewardLists_StoredBeforeAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	storeEach(t, 4, func(i int) error {
		return s.insert(ctx, colRewards, toRewardDoc(testReward(fmt.Sprint("rw", i), "c1", at.Add(time.Duration(i)*time.Minute))))
	})
	forgetBackfills(t, s, "reward-lists")
	if rs, err := s.Rewards(ctx, "c1", "", 0); err != nil || len(rs) != 0 {
		t.Fatalf("before the start: %v, %v", rewardIDs(rs), err)
	}
	startTwice(t, s.EnsureSchema)
	if rs, err := s.Rewards(ctx, "c1", "", 0); err != nil || fmt.Sprint(rewardIDs(rs)) != "[rw0 rw1 rw2 rw3]" {
		t.Fatalf("after the start: %v, %v", rewardIDs(rs), err)
	}
	if head, err := s.listHead(ctx, colRewards, rewardList("c1")); err != nil || head != 4 {
		t.Fatalf("c1's catalogue has %d slots (%v); want 4", head, err)
	}
}
