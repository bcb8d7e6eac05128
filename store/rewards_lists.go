package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// catalogue is Rewards: the rewards on the community's catalogue list
// (rewardList) by id, after the id after, at most limit (0: all).
func (s *Store) catalogue(ctx context.Context, communityID, after string, limit int) ([]models.Reward, error) {
	out, err := listedRead[rewardDoc, models.Reward]{
		col:     colRewards,
		list:    rewardList(communityID),
		slotsOf: func(d *rewardDoc) []slotRef { return d.Slots },
		keep:    func(d *rewardDoc) bool { return d.Community == communityID && d.ID > after },
		model:   (*rewardDoc).model,
	}.all(ctx, s)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b models.Reward) int { return strings.Compare(a.ID, b.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// rewardList is the name of a community's catalogue of rewards.
func rewardList(communityID string) string { return "rwc:" + communityID }

// listRewardsStoredBefore puts the rewards stored before the catalogue
// lists existed on their community's, once (listStoredBefore, its done:
// mark), in the order they were created; crash points are
// listStoredBefore's.
func (s *Store) listRewardsStoredBefore(ctx context.Context) error {
	return s.listStoredBefore(ctx, "reward-lists", colRewards, nil, func(d bson.M) ([]string, time.Time) {
		community, _ := d["community"].(string)
		created, _ := d["created"].(bson.DateTime)
		if community == "" {
			return nil, time.Time{}
		}
		return []string{rewardList(community)}, created.Time().UTC()
	})
}
