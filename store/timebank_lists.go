package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// listTimebankStoredBefore puts the time bank's documents stored before
// their lists existed on them, once each (listStoredBefore, its own done:
// mark per list kind): each check-in on its activity's list
// (checkinList), each sign-up on its activity's and its resident's lists
// (signupLists), each gift on its giver's and its receiver's lists
// (giftLists), each mutual-aid post on its community's list (aidList),
// in the order they were stored. Crash points are
// listStoredBefore's: a crash part way leaves slots no document names,
// which readers skip, and the next start lists the rest.
func (s *Store) listTimebankStoredBefore(ctx context.Context) error {
	str := func(d bson.M, k string) string { v, _ := d[k].(string); return v }
	at := func(d bson.M, k string) time.Time {
		if t, ok := d[k].(bson.DateTime); ok {
			return t.Time().UTC()
		}
		return time.Time{}
	}
	onlyCheckins := bson.D{{Key: "kind", Value: checkinKind}}
	err := s.listStoredBefore(ctx, "checkin-lists", colTBKeys, onlyCheckins, func(d bson.M) ([]string, time.Time) {
		if str(d, "ref") == "" {
			return nil, time.Time{}
		}
		return []string{checkinList(str(d, "ref"))}, at(d, "at")
	})
	if err != nil {
		return err
	}
	err = s.listStoredBefore(ctx, "signup-lists", colSignups, nil, func(d bson.M) ([]string, time.Time) {
		if str(d, "activity") == "" || str(d, "resident") == "" {
			return nil, time.Time{}
		}
		return signupLists(str(d, "activity"), str(d, "resident")), at(d, "at")
	})
	if err != nil {
		return err
	}
	err = s.listStoredBefore(ctx, "gift-lists", colGifts, nil, func(d bson.M) ([]string, time.Time) {
		if str(d, "from") == "" || str(d, "to") == "" {
			return nil, time.Time{}
		}
		return giftLists(str(d, "from"), str(d, "to")), at(d, "at")
	})
	if err != nil {
		return err
	}
	return s.listStoredBefore(ctx, "aid-lists", colAid, nil, func(d bson.M) ([]string, time.Time) {
		if str(d, "community") == "" {
			return nil, time.Time{}
		}
		return []string{aidList(str(d, "community"))}, at(d, "created")
	})
}
