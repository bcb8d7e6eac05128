package main

// The delivery scenario (issue 16): the notices delivery loop
// (outbound.Deliverer.Pass, docs/ARCHITECTURE.md §4.10) is killed with
// SIGKILL at a chosen point of its flow, in a child process of its own on
// an embedded store in a data folder, and a deliverer started afterwards
// on the same folder finishes. Every queued notice must then be in its
// recipient's inbox exactly once, and at the webhook receiver (on
// loopback, counting message ids) at least once, twice only if its
// sending was in flight at the kill (same message id, so the receiver
// drops it), never more.
//
// The child announces each step of the flow on its standard output
// ("step written 1") as it completes; at the kill point it announces
// "at <point>" and waits, so the kill lands exactly there (the other
// sending workers go on until it comes). The kill point "received:K"
// is the receiver's: it kills the child as its K-th message arrives,
// before answering.
//
// The delivery flow's crash points, in order (the kill points that hit
// them in brackets):
//  1. notice queued, notification not written (the items a pass did not
//     reach at any kill);
//  2. notifications written, not placed [written:1];
//  3. placed, no attempt claimed [placed:1];
//  4. attempt claimed, not sent [claimed:5];
//  5. sent (the receiver has it), outcome not marked [received:10];
//  6. sent mark inserted, item still queued [sent:20];
//  7. some finished items dequeued, the rest not [dequeued:1].

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
	"github.com/linli-community/linli/store"
)

// The child's environment: its role, data folder, receiver and kill point.
const (
	envDeliverChild = "LINLI_CRASH_DELIVER_CHILD"
	envDeliverDir   = "LINLI_CRASH_DELIVER_DIR"
	envDeliverURL   = "LINLI_CRASH_DELIVER_URL"
	envDeliverKill  = "LINLI_CRASH_DELIVER_KILL_AT"
)

// deliverKillPoints are the kill points of the flow, in its order.
var deliverKillPoints = []string{"written:1", "placed:1", "claimed:5", "received:10", "sent:20", "dequeued:1"}

// deliverKey signs the child's webhook requests.
var deliverKey = outbound.WebhookKey{ID: "crash", Secret: []byte(strings.Repeat("k", 32))}

// deliverNotices is how many notices the scenario queues: 70 recipients,
// the first 30 with two (a recipient's second goes the one-at-a-time
// way). The first deliverBatch are one batch item (a job's), the others
// one item each, so the finished items leave the queue in two chunks.
const (
	deliverNotices = 100
	deliverBatch   = 30
)

// deliverOptions are one kill round's.
type deliverOptions struct {
	Dir    string // the data folder (empty before the round)
	KillAt string // one of deliverKillPoints
	// Exe and Args start the child: this binary again, with the child's
	// environment (a test binary adds the arguments that run no test).
	Exe  string
	Args []string
}

// deliverResult says what a round saw.
type deliverResult struct {
	KillAt      string
	Queued      int // notices queued before the child started
	AtKill      map[string]int
	InFlight    int // sendings in flight at the kill (claimed, no outcome)
	Received    int // distinct message ids at the receiver
	Duplicates  int // ids received twice (each in flight at the kill)
	Placed      int // inbox positions after the restart
	RestartRuns int // passes the restarted deliverer made
}

// String is the round in one line, for the log.
func (r deliverResult) String() string {
	return fmt.Sprintf("kill at %s: queued %d, steps done at the kill %v, in flight %d; after the restart (%d passes) received %d (twice %d), placed %d",
		r.KillAt, r.Queued, r.AtKill, r.InFlight, r.RestartRuns, r.Received, r.Duplicates, r.Placed)
}

// deliverReceiver is the webhook receiver on loopback: it checks each
// request's signature and counts the message ids.
type deliverReceiver struct {
	mu     sync.Mutex
	counts map[string]int
	total  int
	bad    int
	// arrived, if set, is called with the running total as a message
	// arrives, before it is answered.
	arrived func(total int)
}

// ServeHTTP counts a correctly signed message and answers 204, or
// answers 400 to a bad one.
func (rc *deliverReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var m outbound.Message
	_, signed := outbound.Verify([]outbound.WebhookKey{deliverKey}, r.Header, body)
	if err != nil || !signed || json.Unmarshal(body, &m) != nil || m.ID != r.Header.Get(outbound.HeaderMessageID) {
		rc.mu.Lock()
		rc.bad++
		rc.mu.Unlock()
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.counts[m.ID]++
	rc.total++
	total, arrived := rc.total, rc.arrived
	rc.mu.Unlock()
	if arrived != nil {
		arrived(total)
	}
	w.WriteHeader(http.StatusNoContent)
}

// openData opens the embedded store in dir (synchronous=NORMAL: safe
// against a killed process) with its schema and data keys.
func openData(ctx context.Context, dir string) (*store.Store, func(), error) {
	emb, err := store.StartEmbedded(dir, true, nil)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		emb.Stop()
		return nil, nil, err
	}
	closeAll := func() {
		_ = st.Close(context.Background())
		emb.Stop()
	}
	keys, err := store.LocalDataKeys(dir)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	st.UseDataKeys(keys)
	if err := st.EnsureSchema(ctx); err != nil {
		closeAll()
		return nil, nil, err
	}
	return st, closeAll, nil
}

// deliverQueue is the scenario's notices: points awarded to recipients
// d00 … d69, the first 30 twice.
func deliverQueue() []models.Notice {
	var out []models.Notice
	for i := range deliverNotices {
		out = append(out, models.Notice{
			Kind:        models.NoticePointsAwarded,
			EventID:     fmt.Sprintf("crash-award-%03d", i),
			Recipient:   fmt.Sprintf("d%02d", i%70),
			CommunityID: "c1",
			Args:        map[string]string{"points": strconv.Itoa(10 + i), "reason": "crash test"},
		})
	}
	return out
}

// newDeliverer is the deliverer both processes run: four workers, the
// webhook at url.
func newDeliverer(st outbound.Store, b *inbox.Inbox, url string, now func() time.Time) *outbound.Deliverer {
	hook := outbound.NewWebhook("webhook", url, deliverKey, 5*time.Second, now)
	return outbound.NewDeliverer(st, b, []outbound.Sender{hook}, outbound.Options{
		MaxAttempts: 5,
		Backoff:     time.Second,
		MaxBackoff:  time.Minute,
		Timeout:     5 * time.Second,
		Workers:     4,
	}, now, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// runDeliverRound queues the notices, runs the child until it is killed
// at o.KillAt, finishes with a deliverer in this process on the same
// data and checks the outcome.
func runDeliverRound(ctx context.Context, o deliverOptions) (deliverResult, error) {
	res := deliverResult{KillAt: o.KillAt}
	notices := deliverQueue()
	st, closeStore, err := openData(ctx, o.Dir)
	if err != nil {
		return res, err
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	err = st.QueueNoticeBatch(ctx, notices[:deliverBatch], at)
	if err == nil {
		err = st.QueueNotices(ctx, notices[deliverBatch:], at)
	}
	closeStore()
	if err != nil {
		return res, err
	}
	res.Queued = len(notices)

	rc := &deliverReceiver{counts: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/hook"

	child, err := startDeliverChild(o, url)
	if err != nil {
		return res, err
	}
	defer child.kill() // a no-op once it was killed and waited for
	if at, ok := strings.CutPrefix(o.KillAt, "received:"); ok {
		k, err := strconv.Atoi(at)
		if err != nil {
			return res, fmt.Errorf("kill point %q", o.KillAt)
		}
		var once sync.Once
		rc.mu.Lock()
		rc.arrived = func(total int) {
			if total >= k {
				once.Do(func() { _ = child.cmd.Process.Signal(syscall.SIGKILL) })
			}
		}
		rc.mu.Unlock()
	}
	steps, reached, err := child.untilKilled(o.KillAt)
	if err != nil {
		return res, err
	}
	if !reached {
		return res, fmt.Errorf("the child finished without reaching kill point %s (steps %v)", o.KillAt, steps)
	}
	res.AtKill = steps

	// The restart: a deliverer in this process on the same data, its
	// clock past every attempt's lease.
	st, closeStore, err = openData(ctx, o.Dir)
	if err != nil {
		return res, err
	}
	defer closeStore()
	inFlight := map[string]bool{}
	for _, n := range notices {
		id := models.NotificationID(n.Kind, n.EventID, n.Recipient)
		_, claimed := st.DeliveryAttempt(ctx, "webhook", id, 1)
		sent, err := st.Sent(ctx, "webhook", id)
		if err != nil {
			return res, err
		}
		_, failed := st.DeliveryFailure(ctx, "webhook", id, 1)
		if claimed == nil && !sent && errors.Is(failed, models.ErrNotFound) {
			inFlight[id] = true
		}
	}
	res.InFlight = len(inFlight)
	later := func() time.Time { return time.Now().Add(10 * time.Minute) }
	b := inbox.New(st, later)
	d := newDeliverer(st, b, url, later)
	for {
		if res.RestartRuns == 10 {
			return res, errors.New("the restarted deliverer did not empty the queue in 10 passes")
		}
		res.RestartRuns++
		if _, err := d.Pass(ctx); err != nil {
			return res, fmt.Errorf("restarted pass: %w", err)
		}
		q, err := st.QueuedNotifications(ctx, 1, nil)
		if err != nil {
			return res, err
		}
		if len(q) == 0 {
			break
		}
	}
	return res, checkDelivered(ctx, st, rc, notices, inFlight, &res)
}

// checkDelivered checks every notice is in its recipient's inbox once
// (and nothing else is), was received at least once and twice only if
// in flight at the kill, and has its sent mark.
func checkDelivered(ctx context.Context, st *store.Store, rc *deliverReceiver, notices []models.Notice, inFlight map[string]bool, res *deliverResult) error {
	var problems []string
	want := map[string][]string{} // recipient → notification ids
	for _, n := range notices {
		want[n.Recipient] = append(want[n.Recipient], models.NotificationID(n.Kind, n.EventID, n.Recipient))
	}
	for recipient, ids := range want {
		placed := map[string]int{}
		for seq := int64(1); ; seq++ {
			e, err := st.InboxEntry(ctx, recipient, seq)
			if errors.Is(err, models.ErrNotFound) {
				break
			}
			if err != nil {
				return err
			}
			placed[e.ID]++
			res.Placed++
		}
		for _, id := range ids {
			if placed[id] != 1 {
				problems = append(problems, fmt.Sprintf("%s: %s placed %d times", recipient, id, placed[id]))
			}
			delete(placed, id)
		}
		for id, c := range placed {
			problems = append(problems, fmt.Sprintf("%s: %s placed %d times, never queued", recipient, id, c))
		}
	}
	rc.mu.Lock()
	counts, bad := rc.counts, rc.bad
	rc.mu.Unlock()
	if bad != 0 {
		problems = append(problems, fmt.Sprintf("%d badly signed requests", bad))
	}
	for _, ids := range want {
		for _, id := range ids {
			switch c := counts[id]; {
			case c == 0:
				problems = append(problems, id+" never received")
			case c == 2 && inFlight[id]:
				res.Duplicates++
			case c > 1:
				problems = append(problems, fmt.Sprintf("%s received %d times (in flight at the kill: %v)", id, c, inFlight[id]))
			}
			if sent, err := st.Sent(ctx, "webhook", id); err != nil || !sent {
				problems = append(problems, fmt.Sprintf("%s has no sent mark (%v)", id, err))
			}
		}
	}
	res.Received = len(counts)
	if len(counts) != len(notices) {
		problems = append(problems, fmt.Sprintf("%d message ids received, %d queued", len(counts), len(notices)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("kill at %s:\n%s", res.KillAt, strings.Join(problems, "\n"))
	}
	return nil
}

// deliverChild is a started child process and its standard output.
type deliverChild struct {
	server // its cmd; kill sends SIGKILL and waits
	out    *bufio.Scanner
	stdin  io.WriteCloser // never written: the child waits on it at its kill point
}

// startDeliverChild starts the child of round o, its webhook at url,
// its standard output piped to the harness.
func startDeliverChild(o deliverOptions, url string) (*deliverChild, error) {
	cmd := exec.Command(o.Exe, o.Args...)
	cmd.Env = append(os.Environ(), envDeliverChild+"=1", envDeliverDir+"="+o.Dir, envDeliverURL+"="+url, envDeliverKill+"="+o.KillAt)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &deliverChild{
		server: server{cmd: cmd},
		out:    bufio.NewScanner(out),
		stdin:  in,
	}, nil
}

// untilKilled reads the child's steps until it announces killAt (it is
// then killed) or ends (killed by the receiver, or finished), and
// returns the steps it completed and whether it was killed at killAt.
func (c *deliverChild) untilKilled(killAt string) (map[string]int, bool, error) {
	steps := map[string]int{}
	received := strings.HasPrefix(killAt, "received:")
	for c.out.Scan() {
		f := strings.Fields(c.out.Text())
		switch {
		case len(f) == 3 && f[0] == "step":
			n, _ := strconv.Atoi(f[2])
			steps[f[1]] = n
		case len(f) == 2 && f[0] == "at" && f[1] == killAt:
			c.kill()
			return steps, true, nil
		case len(f) == 1 && f[0] == "done":
			c.kill()
			return steps, false, nil
		}
	}
	err := c.cmd.Wait()
	var exit *exec.ExitError
	if received && errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return steps, true, nil
		}
	}
	return steps, false, fmt.Errorf("the child ended on its own: %v", err)
}

// runDeliverChildIfAsked runs the child's part when this process was
// started as one (envDeliverChild set) and reports whether it was.
func runDeliverChildIfAsked() (bool, int) {
	if os.Getenv(envDeliverChild) == "" {
		return false, 0
	}
	if err := deliverChildMain(); err != nil {
		fmt.Fprintln(os.Stderr, "deliver child:", err)
		return true, 1
	}
	return true, 0
}

// steppedStore is the store of the child: each step of the delivery flow
// it completes is announced; at the kill point it waits for the kill.
type steppedStore struct {
	*store.Store
	killAt string
	mu     sync.Mutex
	counts map[string]int
}

// step announces one more of step and waits for the kill at the kill
// point.
func (s *steppedStore) step(step string) {
	s.mu.Lock()
	s.counts[step]++
	n := s.counts[step]
	fmt.Printf("step %s %d\n", step, n)
	at := fmt.Sprintf("%s:%d", step, n) == s.killAt
	if at {
		fmt.Printf("at %s\n", s.killAt)
	}
	s.mu.Unlock()
	if at {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent never writes: the kill comes first
	}
}

// InsertNotifications is the store's, then the step "written".
func (s *steppedStore) InsertNotifications(ctx context.Context, ns []models.Notification, from []int64) ([]bool, error) {
	existed, err := s.Store.InsertNotifications(ctx, ns, from)
	if err == nil {
		s.step("written")
	}
	return existed, err
}

// InsertInboxEntries is the store's, then the step "placed".
func (s *steppedStore) InsertInboxEntries(ctx context.Context, ns []models.Notification) ([]bool, error) {
	taken, err := s.Store.InsertInboxEntries(ctx, ns)
	if err == nil {
		s.step("placed")
	}
	return taken, err
}

// InsertAttempt is the store's, then the step "claimed".
func (s *steppedStore) InsertAttempt(ctx context.Context, a outbound.Attempt) error {
	err := s.Store.InsertAttempt(ctx, a)
	if err == nil {
		s.step("claimed")
	}
	return err
}

// InsertSent is the store's, then the step "sent".
func (s *steppedStore) InsertSent(ctx context.Context, sender, msg string, n int, at time.Time) error {
	err := s.Store.InsertSent(ctx, sender, msg, n, at)
	if err == nil {
		s.step("sent")
	}
	return err
}

// DequeueNotifications is the store's, chunk by chunk, each chunk
// then the step "dequeued".
func (s *steppedStore) DequeueNotifications(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 64)]
		ids = ids[len(chunk):]
		if err := s.Store.DequeueNotifications(ctx, chunk); err != nil {
			return err
		}
		s.step("dequeued")
	}
	return nil
}

// deliverChildMain delivers the queue in the data folder to the receiver
// until it is empty (then prints "done"), announcing its steps.
func deliverChildMain() error {
	ctx := context.Background()
	st, closeStore, err := openData(ctx, os.Getenv(envDeliverDir))
	if err != nil {
		return err
	}
	defer closeStore()
	stepped := &steppedStore{
		Store:  st,
		killAt: os.Getenv(envDeliverKill),
		counts: map[string]int{},
	}
	b := inbox.New(stepped, time.Now)
	d := newDeliverer(stepped, b, os.Getenv(envDeliverURL), time.Now)
	for range 20 {
		if _, err := d.Pass(ctx); err != nil {
			return err
		}
		q, err := st.QueuedNotifications(ctx, 1, nil)
		if err != nil {
			return err
		}
		if len(q) == 0 {
			fmt.Println("done")
			return nil
		}
	}
	return errors.New("queue not empty after 20 passes")
}

// runDeliverPoints runs a round per kill point, each in a folder of its
// own under dir (default: a new temporary one), this command as the
// child, and returns the exit code.
func runDeliverPoints(ctx context.Context, dir string) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash:", err)
		return 1
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "linli-crash-deliver-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash:", err)
			return 1
		}
		defer os.RemoveAll(d)
		dir = d
	}
	code := 0
	for i, point := range deliverKillPoints {
		res, err := runDeliverRound(ctx, deliverOptions{
			Dir:    fmt.Sprintf("%s/round-%d", dir, i),
			KillAt: point,
			Exe:    exe,
		})
		fmt.Println(res)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash:", err)
			code = 1
		}
	}
	return code
}
