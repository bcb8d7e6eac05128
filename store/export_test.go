package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// RawDocument returns the document with _id id in col exactly as stored,
// in relaxed extended JSON, for tests that check what is on disk.
func (s *Store) RawDocument(ctx context.Context, col, id string) (string, error) {
	raw, err := s.c(col).FindOne(ctx, byID(id)).Raw()
	if err != nil {
		return "", mapErr("raw "+col, err)
	}
	out, err := bson.MarshalExtJSON(raw, false, false)
	return string(out), err
}

// InsertRawDocument stores doc in col as it is, for tests that start from
// documents written by an older version.
func (s *Store) InsertRawDocument(ctx context.Context, col string, doc bson.D) error {
	return s.insert(ctx, col, doc)
}

// PhoneIndex is the _id of phone's login under the store's keys.
func (s *Store) PhoneIndex(phone string) string { return s.dataKeys.phoneIndex(phone) }

// CountRefs is how many documents in col point at ref (list slots), for
// tests that check nothing still leads to a record.
func (s *Store) CountRefs(ctx context.Context, col, ref string) (int64, error) {
	return s.c(col).CountDocuments(ctx, bson.D{{Key: "ref", Value: ref}})
}

// sharedDatabase, when set, gives the internal tests a fresh database on
// the test binary's embedded store server (nil when there is none): the
// store server runs in a process of its own under scripts/test.sh, at
// full speed, where a server of their own would run in this process
// under the race detector. The internal tests cannot import storetest (it
// imports this package); TestMain passes its storetest.Database here.
var sharedDatabase func() (*Embedded, string, error)

// UseSharedDatabases has the internal tests open their databases with f.
func UseSharedDatabases(f func() (*Embedded, string, error)) { sharedDatabase = f }
