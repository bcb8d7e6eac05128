package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// gcDoc is a document of the group-commit tests: who wrote it.
type gcDoc struct {
	ID    string `bson:"_id"`
	Owner string `bson:"owner"`
}

// openScratch opens a store with its schema on a scratch embedded server
// of the test's own.
func openScratch(t *testing.T, g GroupCommit) *Store {
	t.Helper()
	emb, err := StartScratch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Stop)
	ctx := context.Background()
	s, err := Open(ctx, emb.URI(), "gc", emb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetGroupCommit(g)
	return s
}

// queued is the number of documents waiting in col's group: those queued
// for a leader and the leader's own while it waits for the turn.
func (s *Store) queued(col string) int {
	g := s.group(col)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		return len(g.queue) + 1
	}
	return len(g.queue)
}

// waitQueued returns once n documents wait in col's group.
func waitQueued(s *Store, col string, n int) {
	for s.queued(col) < n {
		runtime.Gosched()
	}
}

// ownerOf is who wrote the stored document with id ("" if none).
func ownerOf(t *testing.T, s *Store, id string) string {
	t.Helper()
	var d gcDoc
	err := s.c(colTBKeys).FindOne(context.Background(), byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Owner
}

// Twenty-four requests queue while another write holds the turn: fourteen
// fresh ids, four ids asked for twice and two that are stored already. They
// go out as one batch, and each request gets its own document's answer: the
// fresh ones are stored, one of each pair is stored and the other is told
// "duplicate key" exactly as an insertOne would be, and the two already
// stored are duplicates too, without failing anyone else in the batch.
func TestIssue18_OneBatchGivesEachRequestItsOwnOutcome(t *testing.T) {
	t.Parallel()
	s := openScratch(t, GroupCommit{MaxBatch: 64})
	ctx := context.Background()
	for _, id := range []string{"old-1", "old-2"} {
		if err := s.insert(ctx, colTBKeys, gcDoc{ID: id, Owner: "before"}); err != nil {
			t.Fatal(err)
		}
	}
	type ask struct{ id, owner string }
	var asks []ask
	for i := range 14 {
		asks = append(asks, ask{fmt.Sprintf("fresh-%d", i), fmt.Sprintf("f%d", i)})
	}
	for i := range 4 {
		asks = append(asks, ask{fmt.Sprintf("pair-%d", i), fmt.Sprintf("a%d", i)}, ask{fmt.Sprintf("pair-%d", i), fmt.Sprintf("b%d", i)})
	}
	asks = append(asks, ask{"old-1", "late-1"}, ask{"old-2", "late-2"})
	before := s.InsertStats()

	s.writer <- struct{}{} // another write holds the turn
	errs := make([]error, len(asks))
	var wg sync.WaitGroup
	for i, a := range asks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.insertGrouped(ctx, colTBKeys, gcDoc{ID: a.id, Owner: a.owner})
		}()
	}
	waitQueued(s, colTBKeys, len(asks))
	<-s.writer
	wg.Wait()

	after := s.InsertStats()
	if got := (InsertStats{Documents: after.Documents - before.Documents, Batches: after.Batches - before.Batches}); got != (InsertStats{Documents: int64(len(asks)), Batches: 1}) {
		t.Fatalf("inserts = %+v; want all %d documents in one batch", got, len(asks))
	}
	won := map[string][]string{}
	for i, a := range asks {
		switch err := errs[i]; {
		case err == nil:
			won[a.id] = append(won[a.id], a.owner)
		case mongo.IsDuplicateKeyError(err):
		default:
			t.Errorf("%s by %s: %v; want stored or a duplicate key", a.id, a.owner, err)
		}
	}
	for i := range 14 {
		id := fmt.Sprintf("fresh-%d", i)
		if w := won[id]; len(w) != 1 || ownerOf(t, s, id) != w[0] {
			t.Errorf("%s: winners %v, stored by %q; want its one request, stored", id, w, ownerOf(t, s, id))
		}
	}
	for i := range 4 {
		id := fmt.Sprintf("pair-%d", i)
		if w := won[id]; len(w) != 1 || ownerOf(t, s, id) != w[0] {
			t.Errorf("%s: winners %v, stored by %q; want exactly one of the two, stored", id, w, ownerOf(t, s, id))
		}
	}
	for _, id := range []string{"old-1", "old-2"} {
		if w := won[id]; len(w) != 0 || ownerOf(t, s, id) != "before" {
			t.Errorf("%s: winners %v, stored by %q; want the first writer kept", id, w, ownerOf(t, s, id))
		}
	}
	// Through insert the duplicate is the conflict callers switch on.
	if err := s.insert(ctx, colTBKeys, gcDoc{ID: "pair-0", Owner: "again"}); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("insert of a stored id: %v; want models.ErrConflict", err)
	}
}

// A request that ends while its document is still queued (the turn is
// taken) withdraws it: nothing of it is written, and the request queued
// behind it is stored when the turn comes.
func TestIssue18_EndedWhileQueuedWritesNothing(t *testing.T) {
	t.Parallel()
	s := openScratch(t, GroupCommit{MaxBatch: 64})
	ctx := context.Background()
	s.writer <- struct{}{}
	short, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- s.insert(short, colTBKeys, gcDoc{ID: "gone", Owner: "x"}) }()
	waitQueued(s, colTBKeys, 1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("ended request: %v; want context.Canceled", err)
	}
	kept := make(chan error, 1)
	go func() { kept <- s.insert(ctx, colTBKeys, gcDoc{ID: "kept", Owner: "y"}) }()
	waitQueued(s, colTBKeys, 1)
	<-s.writer
	if err := <-kept; err != nil {
		t.Fatal(err)
	}
	if ownerOf(t, s, "gone") != "" || ownerOf(t, s, "kept") != "y" {
		t.Fatalf("gone stored by %q, kept by %q; want only kept", ownerOf(t, s, "gone"), ownerOf(t, s, "kept"))
	}
}

// A lone request never waits for the window: with an hour's window its
// insert still returns (the test would time out otherwise).
func TestIssue18_LoneInsertDoesNotWaitForTheWindow(t *testing.T) {
	t.Parallel()
	s := openScratch(t, GroupCommit{
		MaxBatch: 64,
		Window:   time.Hour,
	})
	for i := range 3 {
		if err := s.insert(context.Background(), colTBKeys, gcDoc{ID: fmt.Sprint("lone-", i), Owner: "z"}); err != nil {
			t.Fatal(err)
		}
	}
}

// With group commit off every insert is an insertOne of its own, as
// before: N concurrent inserts are N commands, each told its own outcome.
func TestIssue18_OffSendsEachInsertAlone(t *testing.T) {
	t.Parallel()
	s := openScratch(t, GroupCommit{Off: true})
	ctx := context.Background()
	const n = 16
	before := s.InsertStats()
	errs := atonce.Errors(n, func(i int) error {
		return s.insert(ctx, colTBKeys, gcDoc{ID: fmt.Sprint("off-", i%8), Owner: fmt.Sprint(i)})
	})
	after := s.InsertStats()
	if d, b := after.Documents-before.Documents, after.Batches-before.Batches; d != n || b != n {
		t.Fatalf("inserts: %d documents in %d commands; want %d in %d", d, b, n, n)
	}
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, models.ErrConflict):
			t.Fatal(err)
		}
	}
	n8, err := s.c(colTBKeys).CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if won != 8 || n8 != 8 {
		t.Fatalf("%d stored, %d documents; want 8 and 8", won, n8)
	}
}

// requestStack is the stack of the goroutine running fn (matched by its
// name in the dump) once that goroutine is parked in a select, and
// whether it was found.
func requestStack(fn string) (string, bool) {
	buf := make([]byte, 1<<20)
	for {
		dump := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(dump, "\n\n") {
			if !strings.Contains(g, fn) {
				continue
			}
			if strings.Contains(strings.SplitN(g, "\n", 2)[0], "[select") {
				return g, true
			}
		}
		runtime.Gosched()
	}
}

// A lone insert (no leader, nothing queued) is sent by its own request:
// it is that request's goroutine that waits for the store's write turn,
// not a writer goroutine it handed the document to, and the document goes
// out as one command of its own.
func TestIssue18_LoneInsertIsSentByItsOwnRequest(t *testing.T) {
	t.Parallel()
	s := openScratch(t, GroupCommit{MaxBatch: 64})
	ctx := context.Background()
	before := s.InsertStats()
	s.writer <- struct{}{} // another write holds the turn
	done := make(chan error, 1)
	go loneInsertRequest(ctx, s, done)
	waitQueued(s, colTBKeys, 1)
	stack, _ := requestStack("store.loneInsertRequest")
	<-s.writer
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stack, "store.(*Store).write(") {
		t.Fatalf("the request is not the one waiting for the turn:\n%s", stack)
	}
	after := s.InsertStats()
	if d, b := after.Documents-before.Documents, after.Batches-before.Batches; d != 1 || b != 1 {
		t.Fatalf("inserts: %d documents in %d commands; want 1 in 1", d, b)
	}
	if ownerOf(t, s, "lone") != "me" {
		t.Fatal("the lone document is not stored")
	}
}

// loneInsertRequest is the request of TestIssue18_LoneInsertIsSentByItsOwnRequest,
// a named function so its goroutine can be found in a stack dump.
func loneInsertRequest(ctx context.Context, s *Store, done chan<- error) {
	done <- s.insert(ctx, colTBKeys, gcDoc{ID: "lone", Owner: "me"})
}

// Ten requests queue behind a leader whose request then ends while it
// waits for the turn: its document is not written, the lead passes from
// request to request, and the other nine are stored in batches of at most
// MaxBatch (4, 4, 1), each request told its own success.
func TestIssue18_LeadPassesAlongTheQueue(t *testing.T) {
	t.Parallel()
	s := openScratch(t, GroupCommit{MaxBatch: 4})
	ctx := context.Background()
	before := s.InsertStats()
	s.writer <- struct{}{} // another write holds the turn
	short, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- s.insert(short, colTBKeys, gcDoc{ID: "leader", Owner: "x"}) }()
	waitQueued(s, colTBKeys, 1)
	const n = 9
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.insert(ctx, colTBKeys, gcDoc{ID: fmt.Sprint("q-", i), Owner: fmt.Sprint(i)})
		}()
	}
	waitQueued(s, colTBKeys, n+1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("ended leader: %v; want context.Canceled", err)
	}
	<-s.writer
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("q-%d: %v", i, err)
		}
		if ownerOf(t, s, fmt.Sprint("q-", i)) != fmt.Sprint(i) {
			t.Errorf("q-%d not stored", i)
		}
	}
	if ownerOf(t, s, "leader") != "" {
		t.Error("the ended leader's document was written")
	}
	after := s.InsertStats()
	if d, b := after.Documents-before.Documents, after.Batches-before.Batches; d != n || b != 3 {
		t.Fatalf("inserts: %d documents in %d commands; want %d in 3", d, b, n)
	}
}
