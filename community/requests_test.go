package community_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

func TestKeyedRequestIsFirstOnceAndReplaysItsAnswer(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ck := &testClock{t: requestsStart}
	rq := community.NewRequests(st, ck.now)
	idem := community.Idempotency{Key: "key-00001", OpID: "k:r1:key-00001", Hash: "h1"}

	if _, answered, err := rq.Begin(ctx, idem); err != nil || answered {
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
	if err := rq.Answer(ctx, idem.OpID, 200, body); err != nil {
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
	st := storetest.New(t)
	ck := &testClock{t: requestsStart}
	rq := community.NewRequests(st, ck.now)
	idem := community.Idempotency{Key: "key-00002", OpID: "k:r1:key-00002", Hash: "h1"}
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
