package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// setFieldsByID saves doc (a flat document struct, as its Save… would
// have replaced it whole) over the document with id in col, field by
// field: the fields doc has are set and those it leaves out (omitempty)
// are unset, as a replace would leave them, but the document's _id and
// its slots on its lists (lists.go, written once with the record) stay as
// they are. models.ErrNotFound if there is no such document.
func (s *Store) setFieldsByID(ctx context.Context, col, id string, doc any) error {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("store: save %s %s: %w", col, id, err)
	}
	var fields bson.D
	if err := bson.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("store: save %s %s: %w", col, id, err)
	}
	kept := func(key string) bool { return key == "_id" || key == "slots" }
	fields = slices.DeleteFunc(fields, func(e bson.E) bool { return kept(e.Key) })
	unset := bson.D{}
	for _, key := range bsonKeys(reflect.TypeOf(doc)) {
		if !kept(key) && !slices.ContainsFunc(fields, func(e bson.E) bool { return e.Key == key }) {
			unset = append(unset, bson.E{Key: key, Value: ""})
		}
	}
	update := bson.D{{Key: "$set", Value: fields}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	var matched int64
	err = s.write(ctx, func() error {
		res, err := s.c(col).UpdateOne(ctx, byID(id), update)
		if err == nil {
			matched = res.MatchedCount
		}
		return err
	})
	if err != nil {
		return s.count(mapErr("update "+col, err), "update "+col)
	}
	if matched == 0 {
		return fmt.Errorf("store: update %s: %w", col, models.ErrNotFound)
	}
	return nil
}

// bsonKeys are the keys a flat document struct type is stored under.
func bsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("bson"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}
