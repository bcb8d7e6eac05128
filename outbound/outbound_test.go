package outbound_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	oldKey = outbound.WebhookKey{ID: "k2025", Secret: []byte(strings.Repeat("o", 32))}
	newKey = outbound.WebhookKey{ID: "k2026", Secret: []byte(strings.Repeat("n", 32))}
)

// receiver is a webhook receiver on loopback that checks signatures and
// counts the message ids it was given.
type receiver struct {
	mu     sync.Mutex
	counts map[string]int
	bad    int // requests with a wrong signature or body
	srv    *httptest.Server
	// before, when set, runs before a request is counted; false answers
	// without counting.
	before func(w http.ResponseWriter, r *http.Request, id string) bool
	// after, when set, runs after a request was counted.
	after func(n int)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{counts: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m outbound.Message
	_, signed := outbound.Verify([]outbound.WebhookKey{newKey, oldKey}, r.Header, body)
	if err := json.Unmarshal(body, &m); err != nil || !signed || m.ID != r.Header.Get(outbound.HeaderMessageID) {
		rc.mu.Lock()
		rc.bad++
		rc.mu.Unlock()
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	if rc.before != nil && !rc.before(w, r, m.ID) {
		return
	}
	rc.mu.Lock()
	rc.counts[m.ID]++
	n := 0
	for _, c := range rc.counts {
		n += c
	}
	rc.mu.Unlock()
	if rc.after != nil {
		rc.after(n)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) snapshot() (map[string]int, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for k, v := range rc.counts {
		out[k] = v
	}
	return out, rc.bad
}

// world is a store with n notifications for three residents.
func world(t *testing.T, c *clock, n int) (*store.Store, *inbox.Inbox, []string) {
	t.Helper()
	st := storetest.New(t)
	b := inbox.New(st, c.now)
	var ids []string
	for i := range n {
		note, err := b.Notify(context.Background(), models.Notice{
			Kind:        models.NoticePointsAwarded,
			EventID:     fmt.Sprintf("op%d", i),
			Recipient:   fmt.Sprintf("r%d", i%3),
			CommunityID: "c1",
			Args:        map[string]string{"points": "10", "reason": "test"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, note.ID)
	}
	return st, b, ids
}

func webhook(name string, rc *receiver, c *clock, timeout time.Duration) *outbound.Webhook {
	return outbound.NewWebhook(name, rc.srv.URL, newKey, timeout, c.now)
}

func options(attempts int) outbound.Options {
	return outbound.Options{
		MaxAttempts: attempts,
		Backoff:     time.Minute,
		MaxBackoff:  time.Hour,
		Timeout:     30 * time.Second,
		Workers:     4,
	}
}

// nightOptions are options(3) with quiet hours from 22:00 to 08:00 in
// Shanghai.
func nightOptions() outbound.Options {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	o := options(3)
	o.Quiet = func(t time.Time) bool { h := t.In(sh).Hour(); return h >= 22 || h < 8 }
	return o
}

// drain makes passes until the queue is empty (at most rounds), moving
// the clock past any back-off or lease between passes.
func drain(t *testing.T, d *outbound.Deliverer, st *store.Store, c *clock, rounds int) {
	t.Helper()
	for range rounds {
		if _, err := d.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
		q, err := st.QueuedNotifications(context.Background(), 1000, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) == 0 {
			return
		}
		c.add(2 * time.Minute)
	}
	t.Fatalf("queue not empty after %d passes", rounds)
}

// TestIssue16_5_CrashDuringDeliveryLosesNoneAndDuplicatesNone: the
// delivery is stopped dead in the middle (its context cancelled while
// requests are in flight, as a kill would), and a new deliverer (a
// restarted process) finishes: the receiver got every message id, and
// only the ones in flight at the crash a second time (same id, so it
// drops them); every other message exactly once.
func TestIssue16_5_CrashDuringDeliveryLosesNoneAndDuplicatesNone(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)}
	st, b, ids := world(t, c, 40)
	rc := newReceiver(t)
	ctx, crash := context.WithCancel(context.Background())
	var once sync.Once
	rc.after = func(n int) {
		if n == 15 {
			once.Do(crash) // the process dies with this answer unsent
		}
	}
	first := outbound.NewDeliverer(st, b, []outbound.Sender{webhook("webhook", rc, c, 30*time.Second)}, options(5), c.now, quiet)
	if _, err := first.Pass(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("first pass: %v, want it cut short", err)
	}
	before, _ := rc.snapshot()
	if len(before) < 15 || len(before) == len(ids) {
		t.Fatalf("%d delivered before the crash; the crash must fall in the middle", len(before))
	}
	// In flight at the crash: attempted, no outcome. Only these may come twice.
	inFlight := map[string]bool{}
	for _, id := range ids {
		_, err := st.DeliveryAttempt(context.Background(), "webhook", id, 1)
		sent, _ := st.Sent(context.Background(), "webhook", id)
		_, ferr := st.DeliveryFailure(context.Background(), "webhook", id, 1)
		if err == nil && !sent && errors.Is(ferr, models.ErrNotFound) {
			inFlight[id] = true
		}
	}
	restarted := outbound.NewDeliverer(st, b, []outbound.Sender{webhook("webhook", rc, c, 30*time.Second)}, options(5), c.now, quiet)
	drain(t, restarted, st, c, 5)
	got, bad := rc.snapshot()
	if bad != 0 {
		t.Fatalf("%d badly signed requests", bad)
	}
	for _, id := range ids {
		switch n := got[id]; {
		case n == 0:
			t.Errorf("%s lost", id)
		case n > 2 || (n == 2 && !inFlight[id]):
			t.Errorf("%s received %d times (in flight at the crash: %v)", id, n, inFlight[id])
		}
		if sent, _ := st.Sent(context.Background(), "webhook", id); !sent {
			t.Errorf("%s has no sent mark", id)
		}
	}
	if len(inFlight) > 4 {
		t.Errorf("%d in flight at the crash, more than the 4 workers", len(inFlight))
	}
	// Nothing more is sent once everything is.
	if _, err := restarted.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again, _ := rc.snapshot(); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Fatal("a pass after everything was delivered sent again")
	}
}

// TestIssue16_5_TwoDeliverersAtOnceSendEachMessageOnce: two replicas
// delivering the same queue at once send every message once.
func TestIssue16_5_TwoDeliverersAtOnceSendEachMessageOnce(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)}
	st, b, ids := world(t, c, 24)
	rc := newReceiver(t)
	deliverers := make([]*outbound.Deliverer, 2)
	for i := range deliverers {
		deliverers[i] = outbound.NewDeliverer(st, b, []outbound.Sender{webhook("webhook", rc, c, 30*time.Second)}, options(5), c.now, quiet)
	}
	errs := atonce.Errors(len(deliverers), func(i int) error {
		_, err := deliverers[i].Pass(context.Background())
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, _ := rc.snapshot()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s received %d times, want 1", id, got[id])
		}
	}
}

// TestIssue16_5_BadReceiversSlowNothingElse: beside a good receiver sit
// one that hangs, one that answers 500, one that closes the connection
// and one that answers 10 MB. The good one gets every message while the
// hanging one still hangs (its requests would fail the test if they
// timed out first); the failing ones are retried after their back-off
// and end as dead letters staff can see.
func TestIssue16_5_BadReceiversSlowNothingElse(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)}
	st, b, ids := world(t, c, 12)
	good, slow, failing, closing, huge := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	goodDone := make(chan struct{})
	var goodOnce sync.Once
	good.after = func(n int) {
		if n == len(ids) {
			goodOnce.Do(func() { close(goodDone) })
		}
	}
	var slowMu sync.Mutex
	timedOutFirst := 0
	slow.before = func(w http.ResponseWriter, r *http.Request, _ string) bool {
		select {
		case <-goodDone:
			return true
		case <-r.Context().Done():
			slowMu.Lock()
			timedOutFirst++
			slowMu.Unlock()
			return false
		}
	}
	var healed atomic.Bool // the failing receivers work again
	failing.before = func(w http.ResponseWriter, _ *http.Request, _ string) bool {
		if healed.Load() {
			return true
		}
		http.Error(w, "down", http.StatusInternalServerError)
		return false
	}
	closing.before = func(w http.ResponseWriter, _ *http.Request, _ string) bool {
		if healed.Load() {
			return true
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return false
	}
	huge.before = func(w http.ResponseWriter, _ *http.Request, _ string) bool {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("x", 1<<20))
		for range 10 {
			if _, err := w.Write(chunk); err != nil {
				break
			}
		}
		return false
	}
	senders := []outbound.Sender{
		webhook("slow", slow, c, 20*time.Second),
		webhook("failing", failing, c, 20*time.Second),
		webhook("closing", closing, c, 20*time.Second),
		webhook("huge", huge, c, 20*time.Second),
		webhook("good", good, c, 20*time.Second),
	}
	d := outbound.NewDeliverer(st, b, senders, options(2), c.now, quiet)
	n, err := d.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if timedOutFirst > 0 {
		t.Fatalf("%d requests to the hanging receiver timed out before the good one had everything", timedOutFirst)
	}
	gotGood, _ := good.snapshot()
	gotSlow, _ := slow.snapshot()
	if len(gotGood) != len(ids) || len(gotSlow) != len(ids) {
		t.Fatalf("good got %d, slow %d of %d", len(gotGood), len(gotSlow), len(ids))
	}
	if n.Failed != 2*len(ids) || n.Dead != 0 {
		t.Fatalf("first pass %+v: want the 500s and the closed connections failed once each", n)
	}
	f, err := st.DeliveryFailure(context.Background(), "failing", ids[0], 1)
	if err != nil || !f.NextAt.Equal(f.At.Add(time.Minute)) || !strings.Contains(f.Error, "status 500") {
		t.Fatalf("failure mark %+v %v: want the next try a back-off (1m) later", f, err)
	}
	// Before the back-off ends nothing is tried again.
	if n, _ = d.Pass(context.Background()); n.Failed != 0 {
		t.Fatalf("retried inside the back-off: %+v", n)
	}
	c.add(2 * time.Minute)
	if n, err = d.Pass(context.Background()); err != nil || n.Dead != 2*len(ids) || n.Done != len(ids) {
		t.Fatalf("second try %+v %v: want every failing delivery dead and every message done", n, err)
	}
	dead, err := d.DeadLetters(context.Background(), models.Principal{
		ResidentID:  "s1",
		CommunityID: "c1",
		Roles:       []models.Role{models.RoleStaff},
	})
	if err != nil || len(dead) != 2*len(ids) || dead[0].Attempts != 2 {
		t.Fatalf("dead letters: %d %v", len(dead), err)
	}
	// A retry from the dead-letter list is a new round under the same id.
	if _, err := d.Retry(context.Background(), models.Principal{
		ResidentID:  "s1",
		CommunityID: "c1",
		Roles:       []models.Role{models.RoleStaff},
	}, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	healed.Store(true)
	drain(t, d, st, c, 3)
	retried := map[string]int{}
	for _, rc := range []*receiver{failing, closing} {
		got, _ := rc.snapshot()
		for id, k := range got {
			retried[id] += k
		}
	}
	if len(retried) != 1 || retried[dead[0].MessageID] != 1 {
		t.Fatalf("after the retry the receivers got %v, want only %s once", retried, dead[0].MessageID)
	}
}

// TestIssue16_5_QuietHoursHoldWhatIsNotUrgent: in quiet hours a points
// notice waits and a failed job's goes out; after them both are sent.
func TestIssue16_5_QuietHoursHoldWhatIsNotUrgent(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)} // 23:00 in Shanghai
	st, b, ids := world(t, c, 1)
	urgent, err := b.Notify(context.Background(), models.Notice{
		Kind:        models.NoticeJobFailed,
		EventID:     "run1",
		Recipient:   "staff1",
		CommunityID: "c1",
		Args:        map[string]string{"job": "settlement", "period": "2026-10"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	d := outbound.NewDeliverer(st, b, []outbound.Sender{webhook("webhook", rc, c, 30*time.Second)}, nightOptions(), c.now, quiet)
	n, err := d.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := rc.snapshot()
	if n.Held != 1 || got[urgent.ID] != 1 || got[ids[0]] != 0 {
		t.Fatalf("in quiet hours: %+v, received %v", n, got)
	}
	c.add(9 * time.Hour) // 08:00
	drain(t, d, st, c, 2)
	if got, _ = rc.snapshot(); got[ids[0]] != 1 || got[urgent.ID] != 1 {
		t.Fatalf("after quiet hours: received %v", got)
	}
}

// TestIssue16_5_SignatureAcceptsCurrentAndPreviousKey: a receiver that
// lists the current and the previous key accepts either while secrets
// rotate, and nothing signed otherwise or changed on the way.
func TestIssue16_5_SignatureAcceptsCurrentAndPreviousKey(t *testing.T) {
	body := []byte(`{"id":"n:1"}`)
	h := http.Header{}
	sign := func(k outbound.WebhookKey, b []byte) {
		h.Set(outbound.HeaderKeyID, k.ID)
		h.Set(outbound.HeaderTimestamp, "1795000000")
		h.Set(outbound.HeaderSignature, outbound.Sign(k.Secret, "1795000000", b))
	}
	keys := []outbound.WebhookKey{newKey, oldKey}
	sign(oldKey, body)
	if kid, ok := outbound.Verify(keys, h, body); !ok || kid != "k2025" {
		t.Fatal("the previous key is refused")
	}
	sign(newKey, body)
	if kid, ok := outbound.Verify(keys, h, body); !ok || kid != "k2026" {
		t.Fatal("the current key is refused")
	}
	if _, ok := outbound.Verify(keys, h, []byte(`{"id":"n:2"}`)); ok {
		t.Fatal("a changed body is accepted")
	}
	sign(outbound.WebhookKey{ID: "k2026", Secret: []byte(strings.Repeat("x", 32))}, body)
	if _, ok := outbound.Verify(keys, h, body); ok {
		t.Fatal("a wrong secret is accepted")
	}
	if _, ok := outbound.Verify([]outbound.WebhookKey{newKey}, func() http.Header { sign(oldKey, body); return h }(), body); ok {
		t.Fatal("a key no longer listed is accepted")
	}
}
