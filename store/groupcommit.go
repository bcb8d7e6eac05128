package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// GroupCommit is how the store gathers the single-document inserts of
// concurrent requests into one unordered insertMany per collection
// (docs/ARCHITECTURE.md §9, "Group commit"). The embedded store writes an
// insertMany in one SQLite transaction, so one sync covers the whole batch.
type GroupCommit struct {
	// Off sends every insert on its own, as an insertOne.
	Off bool
	// MaxBatch is the most documents one insertMany carries (at least 1).
	MaxBatch int
	// Window is how long a batch that already holds two or more documents
	// waits for more before it is sent, unless it fills first. A batch of
	// one never waits. Zero: a batch is whatever gathered while the
	// previous write held the turn.
	Window time.Duration
}

// DefaultGroupCommit is the store's setting until SetGroupCommit is called.
var DefaultGroupCommit = GroupCommit{
	MaxBatch: 64,
}

// SetGroupCommit changes how inserts are gathered from now on.
func (s *Store) SetGroupCommit(g GroupCommit) {
	if g.MaxBatch < 1 {
		g.MaxBatch = 1
	}
	s.groupCommit.Store(&g)
}

// grouping is the store's current group-commit setting.
func (s *Store) grouping() GroupCommit {
	if g := s.groupCommit.Load(); g != nil {
		return *g
	}
	return DefaultGroupCommit
}

// InsertStats is what the store's inserts have done since it was opened.
type InsertStats struct {
	// Documents is the number of documents sent in single-document inserts
	// (one insertOne each, or gathered into batches).
	Documents int64
	// Batches is the number of insertOne or insertMany commands that
	// carried them.
	Batches int64
}

// InsertStats reports the documents inserted through Store.insert and the
// commands that carried them, for metrics and the benchmark.
func (s *Store) InsertStats() InsertStats {
	return InsertStats{
		Documents: s.inserted.documents.Load(),
		Batches:   s.inserted.batches.Load(),
	}
}

// insertCounters are the running totals behind InsertStats.
type insertCounters struct {
	documents atomic.Int64
	batches   atomic.Int64
}

// pendingInsert is one request's document waiting in a collection's group.
type pendingInsert struct {
	ctx  context.Context
	doc  any
	done chan error // buffered: the writer never waits for the request
}

// insertGroup gathers the inserts into one collection. A writer goroutine
// runs while documents are queued and exits when the queue is empty, so an
// idle store holds none.
type insertGroup struct {
	store *Store
	col   string

	mu      sync.Mutex
	queue   []*pendingInsert
	running bool          // a writer goroutine is serving the queue
	full    chan struct{} // signalled when the queue reaches a full batch
}

// group returns the insert group of collection col, made on first use.
func (s *Store) group(col string) *insertGroup {
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	if s.groups == nil {
		s.groups = map[string]*insertGroup{}
	}
	g, ok := s.groups[col]
	if !ok {
		g = &insertGroup{
			store: s,
			col:   col,
			full:  make(chan struct{}, 1),
		}
		s.groups[col] = g
	}
	return g
}

// insertGrouped hands doc to col's group and waits for the result of the
// batch that carried it: nil once that batch returned, or the document's
// own write error (a duplicate key is a mongo.WriteException, as an
// insertOne's). If ctx ends while the document is still queued it is taken
// out and nothing is written; if it ends after the document went into a
// batch, ctx's error is returned and the document may still be stored, as
// with an insertOne whose request timed out (a repeat with the same
// Idempotency-Key finds it).
func (s *Store) insertGrouped(ctx context.Context, col string, doc any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g := s.group(col)
	p := &pendingInsert{
		ctx:  ctx,
		doc:  doc,
		done: make(chan error, 1),
	}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if len(g.queue) >= s.grouping().MaxBatch {
		select {
		case g.full <- struct{}{}:
		default:
		}
	}
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		go g.serve()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		g.withdraw(p)
		return ctx.Err()
	}
}

// withdraw takes p out of the queue if it is still there.
func (g *insertGroup) withdraw(p *pendingInsert) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.queue {
		if q == p {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return
		}
	}
}

// serve writes batches until the queue is empty. Each batch is taken from
// the queue only once the store's write turn is held, so whatever queued
// while the turn was busy goes into the next batch, and a request that
// ends while waiting for the turn withdraws and writes nothing.
func (g *insertGroup) serve() {
	s := g.store
	ctx := context.Background() // the batch is everyone's: no request's end cuts it short
	for {
		g.wait()
		var batch []*pendingInsert
		err := s.write(ctx, func() error {
			batch = g.take()
			if len(batch) == 0 {
				return nil
			}
			docs := make([]any, len(batch))
			for i, p := range batch {
				docs[i] = p.doc
			}
			_, err := s.c(g.col).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
			return err
		})
		if batch == nil {
			return // take found the queue empty and ended this writer
		}
		s.inserted.documents.Add(int64(len(batch)))
		s.inserted.batches.Add(1)
		for i, p := range batch {
			p.done <- documentError(err, i)
		}
	}
}

// wait holds a batch back for the group's window while it has at least
// two documents and is not full: with one request pending nothing waits.
func (g *insertGroup) wait() {
	window := g.store.grouping().Window
	if window <= 0 {
		return
	}
	g.mu.Lock()
	n := len(g.queue)
	g.mu.Unlock()
	if n < 2 || n >= g.store.grouping().MaxBatch {
		return
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-g.full:
	}
}

// take removes the next batch from the queue, skipping requests that have
// ended. An empty queue ends the writer (under the same lock a new request
// checks, so a request queued after it starts a new writer).
func (g *insertGroup) take() []*pendingInsert {
	g.mu.Lock()
	defer g.mu.Unlock()
	var batch []*pendingInsert
	n, most := 0, g.store.grouping().MaxBatch
	for n < len(g.queue) && len(batch) < most {
		p := g.queue[n]
		n++
		if err := p.ctx.Err(); err != nil {
			p.done <- err // its request is gone; it wrote nothing
			continue
		}
		batch = append(batch, p)
	}
	g.queue = append(g.queue[:0], g.queue[n:]...)
	select { // a stale "full" must not cut the next window short
	case <-g.full:
	default:
	}
	if len(batch) == 0 { // the queue is empty: only then is batch
		g.running = false
		return nil
	}
	return batch
}

// documentError is the result for document i of an unordered insertMany
// that returned err: its own write error as the mongo.WriteException an
// insertOne of it alone would have returned, nil if it has none, or err
// itself when the command as a whole failed.
func documentError(err error, i int) error {
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return err
	}
	for _, we := range bwe.WriteErrors {
		if we.Index == i {
			one := we.WriteError
			one.Index = 0
			return mongo.WriteException{
				WriteErrors: mongo.WriteErrors{one},
				Labels:      bwe.Labels,
			}
		}
	}
	return nil
}
