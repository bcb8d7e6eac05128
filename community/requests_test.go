package community_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestKeyedRequestIsFirstOnceAndReplaysItsAnswer(t *testing.T) {
	t.Parallel()
	_, _, rq, idem := newRequestLog(t, "key-00001")

	first, answered, err := rq.Begin(ctx, idem)
	if err != nil || answered {
		t.Fatalf("first: answered %v err %v", answered, err)
	}
	// Concurrent repeats wait for the first answer instead of running.
	type result struct {
		rec      models.KeyedRequest
		answered bool
		err      error
	}
	out := make([]result, 6)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, answered, err := rq.Begin(ctx, idem)
			out[i] = result{rec, answered, err}
		}()
	}
	body := []byte(`{"status":"cancelled"}`)
	if err := rq.Answer(ctx, first, 200, body); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, r := range out {
		if r.err != nil || !r.answered || r.rec.Status != 200 || string(r.rec.Body) != string(body) {
			t.Fatalf("repeat %d: %+v", i, r)
		}
	}

	other := idem
	other.Hash = "h2"
	if _, _, err := rq.Begin(ctx, other); !errors.Is(err, models.ErrIdempotencyMismatch) {
		t.Fatalf("another body: %v", err)
	}
}

func TestKeyedRequestRefusedIsForgottenAndDeadIsRunAgain(t *testing.T) {
	t.Parallel()
	_, ck, rq, idem := newRequestLog(t, "key-00002")
	first, _, err := rq.Begin(ctx, idem)
	if err != nil {
		t.Fatal(err)
	}
	// Refused: forgotten, so the repeat is first again.
	if err := rq.Forget(ctx, idem.OpID); err != nil {
		t.Fatal(err)
	}
	if _, answered, err := rq.Begin(ctx, idem); err != nil || answered {
		t.Fatalf("after forget: answered %v err %v", answered, err)
	}
	// The first died without answering: once its patience is over, a
	// repeat is told to run the (keyed) request itself.
	ck.add(community.RequestPatience)
	prior, answered, err := rq.Begin(ctx, idem)
	if err != nil || answered {
		t.Fatalf("after the first died: answered %v err %v", answered, err)
	}
	if prior.Hash != first.Hash || prior.ID != idem.OpID {
		t.Fatalf("prior %+v", prior)
	}
	if prior.Answered() || len(prior.Body) != 0 {
		t.Fatalf("no answer expected, got %d %q", prior.Status, prior.Body)
	}
}

// The first answer of a request stands: a second answer of the same
// request (a slow first attempt answering after a repeat ran it) leaves
// it, and concurrent answers store one.
func TestKeyedRequestFirstAnswerStands(t *testing.T) {
	t.Parallel()
	_, _, rq, idem := newRequestLog(t, "key-00003")
	first, _, err := rq.Begin(ctx, idem)
	if err != nil {
		t.Fatal(err)
	}
	errs := atonce.Errors(8, func(i int) error {
		return rq.Answer(ctx, first, 201, []byte(fmt.Sprintf(`{"n":%d}`, i)))
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	rec, answered, err := rq.Begin(ctx, idem)
	if err != nil || !answered || rec.Status != 201 {
		t.Fatalf("repeat: %+v answered %v err %v", rec, answered, err)
	}
	if err := rq.Answer(ctx, first, 201, []byte(`{"n":"late"}`)); err != nil {
		t.Fatal(err)
	}
	again, _, err := rq.Begin(ctx, idem)
	if err != nil || string(again.Body) != string(rec.Body) {
		t.Fatalf("after a late answer the repeat got %q; the first answer was %q (%v)", again.Body, rec.Body, err)
	}
}

// An answer left by an earlier request under the same key is not taken
// for a later one's: the first attempt was overtaken by a repeat, the
// repeat was refused and forgotten, and then the first attempt answered.
// The next request under the key runs, and its own answer is the one
// replayed.
func TestKeyedRequestAnswerOfAForgottenRequestIsNotReplayed(t *testing.T) {
	t.Parallel()
	_, ck, rq, idem := newRequestLog(t, "key-00004")
	first, _, err := rq.Begin(ctx, idem)
	if err != nil {
		t.Fatal(err)
	}
	if err := rq.Forget(ctx, idem.OpID); err != nil {
		t.Fatal(err)
	}
	if err := rq.Answer(ctx, first, 201, []byte(`{"from":"forgotten"}`)); err != nil {
		t.Fatal(err)
	}
	ck.add(time.Second)
	next, answered, err := rq.Begin(ctx, idem)
	if err != nil || answered {
		t.Fatalf("the next request under the key: answered %v (%d %q) err %v; want it to run", answered, next.Status, next.Body, err)
	}
	if err := rq.Answer(ctx, next, 201, []byte(`{"from":"next"}`)); err != nil {
		t.Fatal(err)
	}
	rec, answered, err := rq.Begin(ctx, idem)
	if err != nil || !answered || string(rec.Body) != `{"from":"next"}` {
		t.Fatalf("repeat: answered %v %d %q err %v; want the next request's answer", answered, rec.Status, rec.Body, err)
	}
}

// A request answered before answers had a document of their own (status
// and body in the request) is still replayed.
func TestKeyedRequestAnsweredInItselfIsReplayed(t *testing.T) {
	t.Parallel()
	st, _, rq, idem := newRequestLog(t, "key-00005")
	old := models.KeyedRequest{
		ID:     idem.OpID,
		Hash:   "h1",
		At:     requestsStart,
		Status: 200,
		Body:   []byte(`{"old":true}`),
	}
	if err := st.InsertKeyedRequest(ctx, old); err != nil {
		t.Fatal(err)
	}
	rec, answered, err := rq.Begin(ctx, idem)
	if err != nil || !answered || rec.Status != 200 || string(rec.Body) != `{"old":true}` {
		t.Fatalf("repeat: answered %v %d %q err %v", answered, rec.Status, rec.Body, err)
	}
}

// newRequestLog is a request log on a fresh store with a settable clock,
// and a request under key (caller r1, hash h1).
func newRequestLog(t *testing.T, key string) (*store.Store, *testClock, *community.Requests, community.Idempotency) {
	t.Helper()
	st := storetest.New(t)
	ck := &testClock{t: requestsStart}
	return st, ck, community.NewRequests(st, ck.now), community.Idempotency{
		Key:  key,
		OpID: "k:r1:" + key,
		Hash: "h1",
	}
}

var ctx = context.Background()

// requestsStart is the clock's first reading in these tests.
var requestsStart = time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)

// testClock is a settable time for the request log's patience.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
