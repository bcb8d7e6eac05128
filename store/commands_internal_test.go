package store

import (
	"context"
	"errors"
	"testing"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A read or write by one exact _id is not a scan; a filter on any other
// field, an operator on _id, a count and an aggregation are, each once.
func TestCommandCounts_ScansAreWhatTheEmbeddedStoreCannotPushDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := listsStore(t)
	if err := s.insert(ctx, colListHeads, listHeadDoc{ID: "scan-probe"}); err != nil {
		t.Fatal(err)
	}
	scans := func(what string, want int64, run func() error) {
		t.Helper()
		before := s.CommandCounts().Scans
		if err := run(); err != nil && !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("%s: %v", what, err)
		}
		if got := s.CommandCounts().Scans - before; got != want {
			t.Fatalf("%s counted %d scans; want %d", what, got, want)
		}
	}
	var d listHeadDoc
	scans("a find by _id", 0, func() error { return s.findByID(ctx, colListHeads, "scan-probe", &d) })
	scans("an update by _id", 0, func() error {
		return s.setByID(ctx, colListHeads, "scan-probe", bson.D{{Key: "n", Value: 1}})
	})
	scans("a delete by _id", 0, func() error { return s.deleteByID(ctx, colListHeads, "nothing") })
	scans("a find by another field", 1, func() error {
		return s.c(colListHeads).FindOne(ctx, bson.D{{Key: "n", Value: 1}}).Err()
	})
	scans("a find by _id with $in", 1, func() error {
		return s.c(colListHeads).FindOne(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"scan-probe"}}}}}).Err()
	})
	scans("a find with an empty filter", 1, func() error { return s.c(colListHeads).FindOne(ctx, bson.D{}).Err() })
	scans("a count", 1, func() error {
		_, err := s.c(colListHeads).CountDocuments(ctx, bson.D{{Key: "_id", Value: "scan-probe"}})
		return err
	})
	scans("a delete by another field", 1, func() error {
		_, err := s.c(colListHeads).DeleteMany(ctx, bson.D{{Key: "n", Value: 2}})
		return err
	})
}
