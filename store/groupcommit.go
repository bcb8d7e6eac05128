package store

import (
	"context"
	"errors"
	"slices"
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
	// SlotCollisions is the number of list slots an appender found taken
	// and had to move past: another process's appends to the same list
	// (this process's appenders of one list take turns).
	SlotCollisions int64
}

// InsertStats reports the documents inserted through Store.insert and the
// commands that carried them, for metrics and the benchmark.
func (s *Store) InsertStats() InsertStats {
	return InsertStats{
		Documents:      s.inserted.documents.Load(),
		Batches:        s.inserted.batches.Load(),
		SlotCollisions: s.inserted.slotCollisions.Load(),
	}
}

// insertCounters are the running totals behind InsertStats.
type insertCounters struct {
	documents      atomic.Int64
	batches        atomic.Int64
	slotCollisions atomic.Int64
}

// pendingInsert is a queued request's document, waiting for the group's
// leader to carry it.
type pendingInsert struct {
	ctx   context.Context
	doc   any
	state pendingState // guarded by the group's mu
	done  chan handoff // buffered: the leader never waits for the request
}

// pendingState is where a queued request's document stands.
type pendingState int

const (
	// pendingQueued: waiting in the queue; the request may still take it back.
	pendingQueued pendingState = iota
	// pendingAnswered: out of the queue, its outcome is (or will be) on done.
	pendingAnswered
	// pendingPromoted: out of the queue, made the group's leader; done
	// carries the lead.
	pendingPromoted
)

// handoff is what a queued request is told: its document's outcome, or
// that it now leads the group.
type handoff struct {
	err  error
	lead bool
}

// insertGroup gathers the inserts into one collection. There is no writer
// goroutine: the request that finds no leader leads, sends its own
// document with whatever queued behind it, answers those requests and
// makes the first request still queued the next leader.
type insertGroup struct {
	store *Store
	col   string

	mu      sync.Mutex
	queue   []*pendingInsert // waiting for a leader; the leader's own document is never here
	leading bool             // a request leads the group: new documents queue for it
	held    bool             // the leader's own document is not yet in a batch
	full    chan struct{}    // signalled when a full batch is waiting
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

// insertGrouped inserts doc into col together with the documents that
// concurrent requests insert into col, and returns doc's own outcome once
// the command that carried it returned: nil, or its own write error (a
// duplicate key is a mongo.WriteException, as an insertOne's). The request
// that finds no leader leads (lead): with nothing queued it sends doc as an
// insertOne from its own goroutine, nothing handed anywhere. Otherwise doc
// queues for the leader. If ctx ends while doc is still queued it is taken
// out and nothing is written; if it ends after doc went into a batch, ctx's
// error is returned and doc may still be stored, as with an insertOne whose
// request timed out (a repeat with the same Idempotency-Key finds it).
func (s *Store) insertGrouped(ctx context.Context, col string, doc any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g := s.group(col)
	g.mu.Lock()
	if !g.leading {
		g.leading = true
		g.held = true
		g.mu.Unlock()
		return g.lead(ctx, doc)
	}
	p := &pendingInsert{
		ctx:  ctx,
		doc:  doc,
		done: make(chan handoff, 1),
	}
	g.queue = append(g.queue, p)
	if len(g.queue)+1 >= s.grouping().MaxBatch {
		select {
		case g.full <- struct{}{}:
		default:
		}
	}
	g.mu.Unlock()
	var h handoff
	select {
	case h = <-p.done:
	case <-ctx.Done():
		switch g.withdraw(p) {
		case pendingQueued, pendingAnswered:
			return ctx.Err()
		case pendingPromoted:
			<-p.done // the lead is sent with the promotion
			_ = g.lead(ctx, nil)
			return ctx.Err()
		}
	}
	if h.lead {
		return g.lead(ctx, doc)
	}
	return h.err
}

// withdraw takes p out of the queue if it is still there and returns
// where p stood before.
func (g *insertGroup) withdraw(p *pendingInsert) pendingState {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := p.state
	if was == pendingQueued {
		g.queue = slices.DeleteFunc(g.queue, func(q *pendingInsert) bool { return q == p })
		p.state = pendingAnswered
	}
	return was
}

// lead serves the group as its leader, with the leader's own document doc
// (nil when its request ended before it was promoted). It takes the
// store's write turn, takes the queued documents under it (so whatever
// queued while the turn was busy goes along), sends doc alone as an
// insertOne or all of them as one unordered insertMany, gives each queued
// request its own document's outcome, and passes the lead to the first
// request still queued. It returns doc's outcome.
func (g *insertGroup) lead(ctx context.Context, doc any) error {
	s := g.store
	g.wait(ctx, doc != nil)
	var (
		batch  []*pendingInsert
		ran    bool
		own    = doc != nil
		ownErr error
	)
	err := s.write(ctx, func() error {
		ran = true
		if own && ctx.Err() != nil { // ended while waiting for the turn: write nothing of it
			own, ownErr = false, ctx.Err()
		}
		batch = g.take(own)
		docs := make([]any, 0, len(batch)+1)
		if own {
			docs = append(docs, doc)
		}
		for _, p := range batch {
			docs = append(docs, p.doc)
		}
		if len(docs) == 0 {
			return nil
		}
		s.inserted.documents.Add(int64(len(docs)))
		s.inserted.batches.Add(1)
		if own && len(docs) == 1 {
			_, err := s.c(g.col).InsertOne(ctx, doc)
			return err
		}
		// The batch is everyone's: no one request's end cuts it short.
		_, err := s.c(g.col).InsertMany(context.WithoutCancel(ctx), docs, options.InsertMany().SetOrdered(false))
		return err
	})
	first := 0
	switch {
	case !ran: // the request ended while waiting for the turn
		ownErr = err
	case own && len(batch) == 0:
		ownErr = err // an insertOne: its error is the document's own
	case own:
		ownErr = documentError(err, 0)
		first = 1
	}
	for i, p := range batch {
		p.done <- handoff{err: documentError(err, first+i)}
	}
	g.passLead()
	return ownErr
}

// passLead makes the first request still queued the group's leader, or
// leaves the group without one when none is. Requests that ended while
// queued are told so on the way.
func (g *insertGroup) passLead() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	for len(g.queue) > 0 {
		p := g.queue[0]
		g.queue = g.queue[1:]
		if err := p.ctx.Err(); err != nil {
			p.state = pendingAnswered
			p.done <- handoff{err: err}
			continue
		}
		p.state = pendingPromoted
		g.held = true
		p.done <- handoff{lead: true}
		return
	}
	g.leading = false
}

// wait holds the leader back for the group's window while the batch it
// would send has at least two documents and is not full: with one request
// pending nothing waits.
func (g *insertGroup) wait(ctx context.Context, own bool) {
	window := g.store.grouping().Window
	if window <= 0 {
		return
	}
	g.mu.Lock()
	n := len(g.queue)
	g.mu.Unlock()
	if own {
		n++
	}
	if n < 2 || n >= g.store.grouping().MaxBatch {
		return
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-g.full:
	case <-ctx.Done():
	}
}

// take removes the queued documents that go into the leader's batch (up
// to MaxBatch with the leader's own, when own), skipping requests that
// have ended: they are told so and write nothing.
func (g *insertGroup) take(own bool) []*pendingInsert {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	most := g.store.grouping().MaxBatch
	if own {
		most--
	}
	var batch []*pendingInsert
	n := 0
	for n < len(g.queue) && len(batch) < most {
		p := g.queue[n]
		n++
		p.state = pendingAnswered
		if err := p.ctx.Err(); err != nil {
			p.done <- handoff{err: err} // its request is gone; it wrote nothing
			continue
		}
		batch = append(batch, p)
	}
	g.queue = append(g.queue[:0], g.queue[n:]...)
	select { // a stale "full" must not cut the next window short
	case <-g.full:
	default:
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
