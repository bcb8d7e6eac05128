package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
)

// Store is a connection to Linli's database.
type Store struct {
	client   *mongo.Client
	db       *mongo.Database
	embedded *Embedded
	writer   chan struct{} // embedded store only: one write at a time
	heads    listHeads     // the last slot of each list, as far as known
	floors   listHeads     // the floor of each list read down to one (listFloor), as far as known
	dirSlots slotCache     // the search lists' slots read (search.go)
	zones    sync.Map      // community id → *time.Location (settlement_months.go); zones never change
	turns    listTurns     // one appender per list at a time in this process (lists.go)
	// blockBuilds joins this process's readers of one missing list block
	// into one build (lists.go).
	blockBuilds singleflight.Group
	// onError is told about every store error that is not a not-found or
	// a duplicate key (those are answers, not failures), for metrics.
	onError func(op string)
	// dataKeys seal residents' personal fields (store/sealed.go).
	dataKeys *DataKeys
	// groupCommit is how single-document inserts are gathered
	// (groupcommit.go); groups holds each collection's queue.
	groupCommit atomic.Pointer[GroupCommit]
	groupsMu    sync.Mutex
	groups      map[string]*insertGroup
	inserted    insertCounters
	commands    *commandCounters // shared with the driver's monitor
}

// OnError sets the function told about store failures (metrics).
func (s *Store) OnError(fn func(op string)) { s.onError = fn }

// Open connects to uri and database name db. Pass the embedded server when
// uri is its address, so the schema step can add its SQLite indexes. Against
// MongoDB, writes are majority-acknowledged and journaled; the embedded
// store ignores write and read concerns and promises neither.
func Open(ctx context.Context, uri, db string, embedded *Embedded) (*Store, error) {
	return OpenWithTimeout(ctx, uri, db, embedded, 30*time.Second)
}

// OpenWithTimeout is Open with another deadline for each operation, for
// operator commands that read whole collections (the audit's sorted scan
// of the ledger on the embedded store, which sorts in memory, takes
// longer than 30 s at 50,000 entries on a busy machine).
func OpenWithTimeout(ctx context.Context, uri, db string, embedded *Embedded, timeout time.Duration) (*Store, error) {
	opts := options.Client().ApplyURI(uri).SetTimeout(timeout)
	if embedded == nil {
		opts.SetWriteConcern(writeconcern.Majority()).
			SetReadConcern(readconcern.Majority())
		opts.WriteConcern.Journal = boolPtr(true)
	}
	commands := new(commandCounters)
	opts.SetMonitor(commands.monitor())
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	s := &Store{
		client:   client,
		db:       client.Database(db),
		embedded: embedded,
		commands: commands,
	}
	if embedded != nil {
		s.writer = embedded.writer(db)
	}
	if err := s.Ping(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// boolPtr returns a pointer to a copy of b, for the driver's options.
func boolPtr(b bool) *bool { return &b }

// Database is the name of the database the store uses.
func (s *Store) Database() string { return s.db.Name() }

// Embedded is the embedded server the store was opened on, or nil on
// MongoDB.
func (s *Store) Embedded() *Embedded { return s.embedded }

// Close disconnects from the database.
func (s *Store) Close(ctx context.Context) error { return s.client.Disconnect(ctx) }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Drop deletes the whole database; tests use it to clean up.
func (s *Store) Drop(ctx context.Context) error { return s.db.Drop(ctx) }

// Empty reports whether no community exists yet.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	err := s.db.Collection(colCommunities).FindOne(ctx, bson.D{}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: empty: %w", err)
	}
	return false, nil
}

// c returns collection name of the store's database.
func (s *Store) c(name string) *mongo.Collection { return s.db.Collection(name) }

// mapErr turns driver errors into the models sentinels the rest of the code
// switches on; anything else is wrapped with the operation.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("store: %s: %w", op, models.ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("store: %s: %w", op, models.ErrConflict)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// eachDoc streams the documents a Find returned (cur, err), decoding each
// as a D, until fn returns an error, which it returns; op names the read in
// errors.
func eachDoc[D any](ctx context.Context, cur *mongo.Cursor, err error, op string, fn func(D) error) error {
	if err != nil {
		return mapErr(op, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d D
		if err := cur.Decode(&d); err != nil {
			return mapErr(op, err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return mapErr(op, cur.Err())
}

// fieldsOnly is the projection of a read that needs only the named fields
// (and _id).
func fieldsOnly(names ...string) bson.D {
	p := make(bson.D, len(names))
	for i, n := range names {
		p[i] = bson.E{Key: n, Value: 1}
	}
	return p
}

// eachDocAhead is eachDoc with the cursor read a batch ahead: while fn
// handles one batch's documents, the next batch is fetched, so the
// store's work for it (on the embedded store, reading and encoding a
// thousand documents) overlaps this process's decoding of the last. For
// the long scans of a whole collection (the audit, the expiry tally).
func eachDocAhead[D any](ctx context.Context, cur *mongo.Cursor, err error, op string, fn func(D) error) error {
	if err != nil {
		return mapErr(op, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []bson.Raw, 1)
	g.Go(func() error {
		defer close(batches)
		var batch []bson.Raw
		for cur.Next(gctx) {
			batch = append(batch, slices.Clone(cur.Current))
			if cur.RemainingBatchLength() > 0 {
				continue
			}
			select {
			case batches <- batch:
			case <-gctx.Done():
				return gctx.Err()
			}
			batch = nil
		}
		// The last document of every batch, the last batch's too, sent
		// its batch above: nothing is left in batch.
		return mapErr(op, cur.Err())
	})
	g.Go(func() error {
		for batch := range batches {
			for _, raw := range batch {
				var d D
				if err := bson.Unmarshal(raw, &d); err != nil {
					return mapErr(op, err)
				}
				if err := fn(d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return g.Wait()
}

// allDocs decodes every document a Find returned (cur, err) as a D and
// converts it with model; op names the read in errors.
func allDocs[D, M any](ctx context.Context, cur *mongo.Cursor, err error, op string, model func(D) M) ([]M, error) {
	if err != nil {
		return nil, mapErr(op, err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr(op, err)
	}
	return modelsOf(docs, model), nil
}

// modelsOf converts each of docs with model, in order.
func modelsOf[D, M any](docs []D, model func(D) M) []M {
	out := make([]M, len(docs))
	for i, d := range docs {
		out[i] = model(d)
	}
	return out
}

// byID is the only filter the embedded store looks up without a scan.
func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// findByID decodes the document with _id id into out, or returns
// models.ErrNotFound.
func (s *Store) findByID(ctx context.Context, col, id string, out any) error {
	return s.count(mapErr("find "+col, s.c(col).FindOne(ctx, byID(id)).Decode(out)), "find "+col)
}

// count reports a failure to onError and returns err unchanged.
func (s *Store) count(err error, op string) error {
	if err != nil && s.onError != nil && !errors.Is(err, models.ErrNotFound) && !errors.Is(err, models.ErrConflict) {
		s.onError(op)
	}
	return err
}

// write runs one write. On the embedded store writes take turns: SQLite
// has a single writer, and writers that collide wait in SQLite's busy
// handler, which sleeps 1, 2, 5, 10 … 100 ms between tries while others
// take the lock, so under load a write could wait seconds. Queued here they
// wait only for the writes ahead of them. MongoDB needs no such turn.
func (s *Store) write(ctx context.Context, fn func() error) error {
	if s.writer == nil {
		return fn()
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	return fn()
}

// insert adds doc, returning models.ErrConflict on a duplicate key. It
// returns once the command that carried doc returned: with group commit on
// (groupcommit.go) that is the batch of concurrent requests' inserts into
// col that doc went into, and the error is doc's own.
func (s *Store) insert(ctx context.Context, col string, doc any) error {
	var err error
	if s.grouping().Off {
		err = s.write(ctx, func() error { _, err := s.c(col).InsertOne(ctx, doc); return err })
		if err == nil || !errors.Is(err, ctx.Err()) {
			s.inserted.documents.Add(1)
			s.inserted.batches.Add(1)
		}
	} else {
		err = s.insertGrouped(ctx, col, doc)
	}
	return s.count(mapErr("insert "+col, err), "insert "+col)
}

// deleteByID removes the document with _id id; a missing one is not an
// error.
func (s *Store) deleteByID(ctx context.Context, col, id string) error {
	err := s.write(ctx, func() error { _, err := s.c(col).DeleteOne(ctx, byID(id)); return err })
	return s.count(mapErr("delete "+col, err), "delete "+col)
}

// setByID sets fields of the document with _id id.
func (s *Store) setByID(ctx context.Context, col, id string, set bson.D) error {
	var res *mongo.UpdateResult
	err := s.write(ctx, func() (err error) {
		res, err = s.c(col).UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}})
		return err
	})
	if err != nil {
		return s.count(mapErr("update "+col, err), "update "+col)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("store: update %s: %w", col, models.ErrNotFound)
	}
	return nil
}

// Counts is the number of documents in each collection; tests use it to
// show a refused request wrote nothing.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, name := range allCollections {
		n, err := s.c(name).CountDocuments(ctx, bson.D{})
		if err != nil {
			return nil, mapErr("count "+name, err)
		}
		out[name] = n
	}
	return out, nil
}

// RecordCounts is Counts without list slots and blocks (ids "ix:…"): a
// repeat of a create takes new slots on its lists before its insert meets
// the first record, and those slots name nothing (docs/ARCHITECTURE.md
// §4), so what a repeat must not change is this count. It scans every
// collection; it is for tests.
func (s *Store) RecordCounts(ctx context.Context) (map[string]int64, error) {
	out, err := s.Counts(ctx)
	if err != nil {
		return nil, err
	}
	slots := bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^" + slotPrefix}}}}
	for _, name := range allCollections {
		n, err := s.c(name).CountDocuments(ctx, slots)
		if err != nil {
			return nil, mapErr("count slots of "+name, err)
		}
		out[name] -= n
	}
	return out, nil
}

// utcOrZero reads back a time that may have been stored unset: a zero
// time.Time goes into BSON as year 1, and an absent field decodes as zero.
func utcOrZero(t time.Time) time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}
