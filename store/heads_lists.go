package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// headTermLists are the lists a head's term is on: its community's
// (`htc:`, the staff's history of heads) and its seat's (`hts:`, what an
// appointment and a building's head read).
func headTermLists(communityID, seat string) []string {
	return []string{"htc:" + communityID, "hts:" + communityID + ":" + seat}
}

// dutyLists are the lists a logged duty is on: its community's (`hdc:`,
// the allowance job), its term's (`hdt:`), its community's month's
// (`hdm:`, the staff's month) and its head's (`hdr:`, a head's own
// duties).
func dutyLists(communityID, termID, month, residentID string) []string {
	return []string{"hdc:" + communityID, "hdt:" + termID, "hdm:" + communityID + ":" + month, "hdr:" + residentID}
}

// listHeadsStoredBefore puts the heads' terms and duties stored before
// their lists existed on them, once each (listStoredBefore, its own done:
// mark per kind): each term on its community's and its seat's lists
// (headTermLists) in the order they started, each duty on its
// community's, term's, month's and head's lists (dutyLists) in the order they were
// logged. Crash points are listStoredBefore's: a crash part way leaves
// slots no document names, which readers skip, and the next start lists
// the rest.
func (s *Store) listHeadsStoredBefore(ctx context.Context) error {
	str := func(d bson.M, k string) string { v, _ := d[k].(string); return v }
	at := func(d bson.M, k string) time.Time {
		if t, ok := d[k].(bson.DateTime); ok {
			return t.Time().UTC()
		}
		return time.Time{}
	}
	err := s.listStoredBefore(ctx, "head-term-lists", colHeadTerms, nil, func(d bson.M) ([]string, time.Time) {
		if str(d, "community") == "" || str(d, "seat") == "" {
			return nil, time.Time{}
		}
		return headTermLists(str(d, "community"), str(d, "seat")), at(d, "start")
	})
	if err != nil {
		return err
	}
	return s.listStoredBefore(ctx, "duty-lists", colDuties, nil, func(d bson.M) ([]string, time.Time) {
		if str(d, "community") == "" || str(d, "term") == "" || str(d, "month") == "" || str(d, "resident") == "" {
			return nil, time.Time{}
		}
		return dutyLists(str(d, "community"), str(d, "term"), str(d, "month"), str(d, "resident")), at(d, "logged")
	})
}
