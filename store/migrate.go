package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Moving the embedded store to MongoDB (docs/ARCHITECTURE.md §10).

// migrateBatch is how many documents one insert carries.
const migrateBatch = 1000

// ErrMigrationMismatch is returned when a document already in the target
// differs from the source's, or when counts or checksums differ after the
// copy.
var ErrMigrationMismatch = errors.New("store: migration mismatch")

// CollectionCopy is what Migrate did with one collection.
type CollectionCopy struct {
	Name      string `json:"name"`
	Documents int64  `json:"documents"` // in the source, and now in the target
	Inserted  int64  `json:"inserted"`  // copied by this run
	Present   int64  `json:"present"`   // there from an earlier run, identical
	// Checksum is the same on both sides: see Checksum.
	Checksum string `json:"checksum"`
}

// Migrate copies every collection of from into to, which should be a
// MongoDB (or any MongoDB-compatible server): it creates Linli's
// collections and indexes there (EnsureSchema), inserts each document by
// its _id, and then checks the count and checksum of each collection on
// both sides. It can be run again: a document already in the target is
// not inserted again but must be identical to the source's, so a run that
// died is resumed and a finished one only verifies. progress, when not
// nil, is told after each batch how many documents of a collection are
// done. Nothing may write to from meanwhile: stop the service first.
func Migrate(ctx context.Context, from, to *Store, progress func(collection string, done int64)) ([]CollectionCopy, error) {
	names, err := from.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("store: migrate: list collections: %w", err)
	}
	sort.Strings(names)
	if err := to.EnsureSchema(ctx); err != nil {
		return nil, fmt.Errorf("store: migrate: target schema: %w", err)
	}
	out := make([]CollectionCopy, 0, len(names))
	for _, name := range names {
		c, err := migrateCollection(ctx, from, to, name, progress)
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

// migrateCollection copies and then verifies one collection.
func migrateCollection(ctx context.Context, from, to *Store, name string, progress func(string, int64)) (CollectionCopy, error) {
	c := CollectionCopy{Name: name}
	if err := to.db.CreateCollection(ctx, name); err != nil {
		var ce mongo.CommandError
		if !(errors.As(err, &ce) && ce.Code == 48) { // 48: NamespaceExists
			return c, fmt.Errorf("store: migrate: create %s: %w", name, err)
		}
	}
	// What an earlier run copied: one read of the target, so a resumed
	// run neither inserts those again nor looks each up.
	there := map[string][32]byte{}
	err := eachRaw(ctx, to.c(name), func(id string, sum [32]byte, _ bson.Raw) error {
		there[id] = sum
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("store: migrate: read target %s: %w", name, err)
	}
	var batch []bson.Raw
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := insertBatch(ctx, to, to.c(name), batch)
		c.Inserted += n
		c.Present += int64(len(batch)) - n
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", name, err)
		}
		if progress != nil {
			progress(name, c.Inserted+c.Present)
		}
		return nil
	}
	var seen digests // the source's checksum, from the same read as the copy
	err = eachRaw(ctx, from.c(name), func(id string, sum [32]byte, doc bson.Raw) error {
		seen.add(id, sum)
		if have, ok := there[id]; ok {
			if have != sum {
				return fmt.Errorf("%w: %s %s is in the target already and differs", ErrMigrationMismatch, name, id)
			}
			c.Present++
			return nil
		}
		batch = append(batch, bytes.Clone(doc))
		if len(batch) < migrateBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return c, err
	}
	if c.Inserted == 0 {
		// The target is as read at the start: verify that read.
		var dst digests
		for id, sum := range there {
			dst.add(id, sum)
		}
		return compareCopy(c, seen, dst)
	}
	return verifyCopy(ctx, to, c, seen)
}

// insertBatch inserts docs unordered and returns how many it inserted. A
// duplicate _id is a document inserted since the target was read (another
// run): accepted only if identical to the source's.
// The insert takes its turn on the target like every other write (write).
func insertBatch(ctx context.Context, to *Store, col *mongo.Collection, docs []bson.Raw) (int64, error) {
	err := to.write(ctx, func() error {
		_, err := col.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		return err
	})
	if err == nil {
		return int64(len(docs)), nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return 0, err
	}
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(docs) || !mongo.IsDuplicateKeyError(we) {
			return 0, err
		}
		doc := docs[we.Index]
		var there bson.Raw
		if ferr := col.FindOne(ctx, bson.D{{Key: "_id", Value: doc.Lookup("_id")}}).Decode(&there); ferr != nil {
			return 0, fmt.Errorf("%w: %s: a unique index refuses a document: %v (%v)", ErrMigrationMismatch, col.Name(), we.Message, ferr)
		}
		if sum, _, serr := docSum(doc); serr != nil {
			return 0, serr
		} else if other, _, serr := docSum(there); serr != nil || other != sum {
			return 0, fmt.Errorf("%w: %s %s is in the target already and differs", ErrMigrationMismatch, col.Name(), doc.Lookup("_id"))
		}
	}
	return int64(len(docs) - len(bwe.WriteErrors)), nil
}

// verifyCopy compares the counts and checksums of collection c.Name on
// both sides, and records them in c. src is what the copy read from the
// source (nothing writes to it meanwhile: the service is stopped); the
// target is read again.
func verifyCopy(ctx context.Context, to *Store, c CollectionCopy, src digests) (CollectionCopy, error) {
	var dst digests
	err := eachRaw(ctx, to.c(c.Name), func(id string, sum [32]byte, _ bson.Raw) error {
		dst.add(id, sum)
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("store: migrate: read target %s: %w", c.Name, err)
	}
	return compareCopy(c, src, dst)
}

// compareCopy compares the counts and checksums of a collection's source
// and target digests, and records them in c.
func compareCopy(c CollectionCopy, src, dst digests) (CollectionCopy, error) {
	if len(src) != len(dst) {
		return c, fmt.Errorf("%w: %s has %d documents in the source and %d in the target", ErrMigrationMismatch, c.Name, len(src), len(dst))
	}
	if a, b := src.sum(), dst.sum(); a != b {
		return c, fmt.Errorf("%w: %s checksum %s in the source and %s in the target", ErrMigrationMismatch, c.Name, a, b)
	}
	c.Documents, c.Checksum = int64(len(src)), src.sum()
	return c, nil
}

// digests are the _id and digest of each document of a collection.
type digests []struct {
	id  string
	sum [32]byte
}

// add records one document.
func (d *digests) add(id string, sum [32]byte) {
	*d = append(*d, struct {
		id  string
		sum [32]byte
	}{id, sum})
}

// sum is the collection's checksum (see Checksum).
func (d digests) sum() string {
	sort.Slice(d, func(i, j int) bool { return d[i].id < d[j].id })
	h := sha256.New()
	for _, l := range d {
		h.Write([]byte(hex.EncodeToString(l.sum[:]) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Checksum is the SHA-256 of collection name, and how many documents it
// holds: over one line per document, in the order of their _id written as
// canonical extended JSON, each line the hex SHA-256 of the document's
// canonical extended JSON. Equal on two servers when they hold the same
// documents with the same fields in the same order and types.
func Checksum(ctx context.Context, s *Store, name string) (string, int64, error) {
	var d digests
	err := eachRaw(ctx, s.c(name), func(id string, sum [32]byte, _ bson.Raw) error {
		d.add(id, sum)
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("store: checksum %s: %w", name, err)
	}
	return d.sum(), int64(len(d)), nil
}

// eachRaw reads every document of col and gives fn its _id and digest
// (see docSum) and the document itself, valid only during the call.
func eachRaw(ctx context.Context, col *mongo.Collection, fn func(id string, sum [32]byte, doc bson.Raw) error) error {
	cur, err := col.Find(ctx, bson.D{}, options.Find().SetBatchSize(migrateBatch))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		sum, id, err := docSum(cur.Current)
		if err != nil {
			return err
		}
		if err := fn(id, sum, cur.Current); err != nil {
			return err
		}
	}
	return cur.Err()
}

// docSum is the SHA-256 of doc's canonical extended JSON, and its _id
// written the same way.
func docSum(doc bson.Raw) ([32]byte, string, error) {
	j, err := bson.MarshalExtJSON(doc, true, false)
	if err != nil {
		return [32]byte{}, "", fmt.Errorf("extended json: %w", err)
	}
	id, err := bson.MarshalExtJSON(bson.D{{Key: "_id", Value: doc.Lookup("_id")}}, true, false)
	if err != nil {
		return [32]byte{}, "", fmt.Errorf("extended json of _id: %w", err)
	}
	return sha256.Sum256(j), string(id), nil
}

// CountDocuments counts the documents of collection name.
func (s *Store) CountDocuments(ctx context.Context, name string) (int64, error) {
	n, err := s.c(name).CountDocuments(ctx, bson.D{})
	return n, mapErr("count "+name, err)
}
