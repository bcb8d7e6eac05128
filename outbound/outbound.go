// Package outbound delivers notifications (package inbox) to the senders
// behind which a WeChat subscription-message or SMS gateway can sit: a
// webhook sender (signed body, rotating secret) and a log sender for
// development. Delivery survives restarts and sends one message once per
// sender: each attempt is claimed by an insert before it is sent
// (ARCHITECTURE.md §4.1), its outcome is a mark inserted after, and only
// an attempt whose sender died without an outcome is sent again, under
// the same message id, so a receiver can drop the duplicate. It imports
// neither the driver nor Fiber.
package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// Message is what a sender delivers: one notification.
type Message struct {
	ID          string    `json:"id"` // the notification's id: the same on every retry
	Recipient   string    `json:"recipient"`
	CommunityID string    `json:"community_id"`
	Kind        string    `json:"kind"`
	Category    string    `json:"category"`
	Language    string    `json:"language"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	Link        string    `json:"link,omitempty"`
	Urgent      bool      `json:"urgent"`
	Created     time.Time `json:"created_at"`
}

// MessageOf is the message of notification n.
func MessageOf(n models.Notification) Message {
	return Message{
		ID:          n.ID,
		Recipient:   n.Recipient,
		CommunityID: n.CommunityID,
		Kind:        string(n.Kind),
		Category:    string(n.Category),
		Language:    string(n.Language),
		Title:       n.Title,
		Body:        n.Body,
		Link:        n.Link,
		Urgent:      n.Urgent,
		Created:     n.Created,
	}
}

// Sender delivers messages to one destination.
type Sender interface {
	// Name is the sender's stable name; it is part of every delivery
	// record's key, so renaming a sender sends its messages again.
	Name() string
	// Send delivers m; any error means it may be tried again later.
	Send(ctx context.Context, m Message) error
}

// Queued is a notification waiting for its deliveries.
type Queued struct {
	ID string
	// Item is the queue document it came from: ID itself, or a batch
	// item carrying many notices (a job's), which leaves the queue when
	// all of them are delivered. Empty means ID.
	Item        string
	CommunityID string
	At          time.Time
	// Notice is what the notification is written from (Notifications.Write):
	// set when the cause queued it; nil when a dead letter's retry queued
	// a notification written before.
	Notice *models.Notice
}

// Attempt is the claim of the n-th sending of a message to a sender,
// inserted before it is sent.
type Attempt struct {
	Sender     string
	MessageID  string
	N          int
	At         time.Time
	LeaseUntil time.Time // after this, an attempt without an outcome died
}

// Failure is the outcome mark of a failed attempt.
type Failure struct {
	Sender    string
	MessageID string
	N         int
	At        time.Time
	NextAt    time.Time // when the next attempt may be made
	Error     string
}

// DeadLetter is a message a sender gave up on after its attempts; staff
// see it and may send it again (a new generation of attempts).
type DeadLetter struct {
	ID          string
	Sender      string
	MessageID   string
	CommunityID string
	Recipient   string
	Kind        string
	Generation  int
	Attempts    int
	Error       string
	At          time.Time
}

// DeadLetterID is the id of generation g's dead letter of message msg at
// sender.
func DeadLetterID(sender, msg string, g int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", sender, msg, g))
	return hex.EncodeToString(sum[:12])
}

// Store keeps the delivery queue and the delivery records. Methods return
// a wrapped models.ErrConflict for a duplicate key and models.ErrNotFound
// for a missing document, as stated.
type Store interface {
	// QueuedNotifications returns about limit queued notifications: the
	// queue documents read until limit is reached, a batch item's
	// notices all together, passing over the documents whose id skip
	// reports (nil: none).
	QueuedNotifications(ctx context.Context, limit int, skip func(item string) bool) ([]Queued, error)
	// EnqueueNotification queues id; ErrConflict if it is queued.
	EnqueueNotification(ctx context.Context, id, communityID string, at time.Time) error
	// DequeueNotification removes id from the queue; a missing one is no error.
	DequeueNotification(ctx context.Context, id string) error
	// DequeueNotifications removes ids from the queue in a few commands;
	// missing ones are no error.
	DequeueNotifications(ctx context.Context, ids []string) error
	// QueueNotices queues each of ns on its own, created at at; those
	// queued already stay as they are. The notices of a batch item that
	// a pass delivered only in part go back on the queue this way.
	QueueNotices(ctx context.Context, ns []models.Notice, at time.Time) error
	// InsertAttempt claims attempt a; ErrConflict if it was claimed.
	InsertAttempt(ctx context.Context, a Attempt) error
	// DeliveryAttempt returns attempt n of msg at sender, or ErrNotFound.
	DeliveryAttempt(ctx context.Context, sender, msg string, n int) (Attempt, error)
	// InsertFailure marks attempt f.N failed; ErrConflict if marked.
	InsertFailure(ctx context.Context, f Failure) error
	// DeliveryFailure returns the failure of attempt n, or ErrNotFound.
	DeliveryFailure(ctx context.Context, sender, msg string, n int) (Failure, error)
	// InsertSent marks msg delivered to sender by attempt n; ErrConflict
	// if it was.
	InsertSent(ctx context.Context, sender, msg string, n int, at time.Time) error
	// Sent reports whether msg was delivered to sender.
	Sent(ctx context.Context, sender, msg string) (bool, error)
	// InsertRevival records that staff sent generation g's dead letter of
	// msg at sender again; ErrConflict if it was.
	InsertRevival(ctx context.Context, sender, msg string, g int, actor string, at time.Time) error
	// Revived reports whether generation g of msg at sender was revived.
	Revived(ctx context.Context, sender, msg string, g int) (bool, error)
	// InsertDeadLetter records d under d.ID; ErrConflict if it exists.
	InsertDeadLetter(ctx context.Context, d DeadLetter) error
	// DeadLetter returns the dead letter id, or ErrNotFound.
	DeadLetter(ctx context.Context, id string) (DeadLetter, error)
	// DeadLetters returns the dead letters of a community, newest first.
	DeadLetters(ctx context.Context, communityID string) ([]DeadLetter, error)
	// DeleteDeadLetter removes dead letter id; a missing one is no error.
	DeleteDeadLetter(ctx context.Context, id string) error
}

// Notifications writes and finds queued notifications (inbox.Inbox).
type Notifications interface {
	// Write writes the notification of n, created at at, once, and places
	// it in its recipient's inbox; the zero value when the recipient
	// turned its category off.
	Write(ctx context.Context, n models.Notice, at time.Time) (models.Notification, error)
	// WriteMany is Write for many, the new ones in batches; out[i] is
	// notices[i]'s notification.
	WriteMany(ctx context.Context, notices []models.Notice, at []time.Time) ([]models.Notification, error)
	// Place returns the notification id, placing it in its recipient's
	// inbox if its writer died before; models.ErrNotFound if it was
	// never written.
	Place(ctx context.Context, id string) (models.Notification, error)
}

// Options tune delivery.
type Options struct {
	// MaxAttempts per generation before a message is a dead letter.
	MaxAttempts int
	// Backoff is the wait after the first failure; it doubles after each
	// one, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Timeout bounds one sending; an attempt's lease is Timeout plus a
	// minute, after which an attempt without an outcome counts as dead.
	Timeout time.Duration
	// Workers is how many messages one sender sends at once.
	Workers int
	// Quiet holds non-urgent messages (models.NoticeKind.Urgent) while it
	// reports true; nil never holds.
	Quiet func(time.Time) bool
	// Abandon is how old a queue item without its notice (Queued.Notice
	// nil: queued by a version that wrote the notification in the request)
	// whose notification was never written may get before it is dropped;
	// its cause died before writing it. An item with its notice is never
	// dropped: its notification is written from it.
	Abandon time.Duration
}

// Deliverer sends queued notifications through every sender.
type Deliverer struct {
	store   Store
	notes   Notifications
	senders []Sender
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	// held are the queue items a pass in these quiet hours wrote, placed
	// and held at every sender: the next passes read past them until the
	// quiet hours end (heldItems).
	held heldItems
}

// heldItems are the queue documents held for the rest of the quiet hours.
// Without them every pass read the same oldest thousand held items again,
// writing and placing nothing new, and the notices queued behind them did
// not reach anyone's inbox until the morning. Memory only: a restarted
// deliverer reads each held item once more, then passes over it.
type heldItems struct {
	mu  sync.Mutex
	ids map[string]bool
}

// maxHeld bounds the items remembered as held; past it, more are read
// again each pass (as before), which costs time but loses nothing.
const maxHeld = 200_000

// skip reports whether item is held for the rest of the quiet hours.
func (h *heldItems) skip(item string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ids[item]
}

// hold remembers items as held.
func (h *heldItems) hold(items []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ids == nil {
		h.ids = map[string]bool{}
	}
	for _, it := range items {
		if len(h.ids) >= maxHeld {
			return
		}
		h.ids[it] = true
	}
}

// release forgets every held item: the quiet hours are over.
func (h *heldItems) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ids = nil
}

// NewDeliverer returns a deliverer of the queue in s through senders.
func NewDeliverer(s Store, notes Notifications, senders []Sender, o Options, now func() time.Time, log *slog.Logger) *Deliverer {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff <= 0 {
		o.Backoff = 30 * time.Second
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = 6 * time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Abandon <= 0 {
		o.Abandon = 10 * time.Minute
	}
	return &Deliverer{
		store:   s,
		notes:   notes,
		senders: senders,
		opts:    o,
		now:     now,
		log:     log,
	}
}

// outcome of one message at one sender in a pass.
type outcome int

const (
	pending outcome = iota // to be tried (again) later
	sent
	dead
)

// Counts says what a pass did.
type Counts struct {
	Queued  int // notifications looked at
	Sent    int // deliveries made in this pass
	Failed  int // attempts that failed in this pass
	Dead    int // deliveries given up on in this pass
	Held    int // deliveries held by quiet hours
	Dropped int // queue items whose notification was never written (old items), or turned off by the recipient
	Done    int // notifications delivered (or given up on) at every sender
}

// Pass delivers what is queued and due: it first writes and places the
// notification of each queued notice (the request that caused it only
// queued it), then each sender works through the messages on its own
// workers, so a slow or failing destination holds up none of the others;
// a notification leaves the queue once every sender has sent it or given
// up on it, the pass's finished items together at its end (settle). An
// item that fails to be written stays queued for the next pass, and the
// others go on.
func (d *Deliverer) Pass(ctx context.Context) (Counts, error) {
	var n Counts
	quiet := d.opts.Quiet != nil && d.opts.Quiet(d.now())
	if !quiet {
		d.held.release()
	}
	items, err := d.store.QueuedNotifications(ctx, 1000, d.held.skip)
	if err != nil {
		return n, fmt.Errorf("delivery: %w", err)
	}
	now := d.now()
	// finished[k]: items[k] may leave the queue (delivered or given up on
	// at every sender, dropped, or turned off).
	finished := make([]bool, len(items))
	var (
		notes    []models.Notification
		noteItem []int // the index in items of each of notes
		failed   []error
	)
	// Items with their notice: written in one batch (one commit for the
	// notifications, one for their positions); if the batch fails, one at
	// a time, so one bad item holds up no other.
	var (
		freshI  []int
		notices []models.Notice
		ats     []time.Time
	)
	for k, it := range items {
		if it.Notice != nil {
			freshI, notices, ats = append(freshI, k), append(notices, *it.Notice), append(ats, it.At)
		}
	}
	written, err := d.notes.WriteMany(ctx, notices, ats)
	writeErrs := make([]error, len(freshI))
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		for i := range freshI {
			written[i], writeErrs[i] = d.notes.Write(ctx, notices[i], ats[i])
		}
	}
	for i, k := range freshI {
		switch {
		case writeErrs[i] != nil:
			failed = append(failed, fmt.Errorf("delivery: %s: %w", items[k].ID, writeErrs[i]))
		case written[i].ID == "":
			// The recipient turned the category off.
			finished[k] = true
			n.Dropped++
		default:
			notes, noteItem = append(notes, written[i]), append(noteItem, k)
		}
	}
	for k, it := range items {
		if it.Notice != nil {
			continue
		}
		note, err := d.notes.Place(ctx, it.ID)
		if errors.Is(err, models.ErrNotFound) {
			if now.Sub(it.At) > d.opts.Abandon {
				finished[k] = true
				n.Dropped++
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			failed = append(failed, fmt.Errorf("delivery: %s: %w", it.ID, err))
			continue
		}
		notes, noteItem = append(notes, note), append(noteItem, k)
	}
	n.Queued = len(notes)
	results := make([][]outcome, len(d.senders))
	errs := make([]error, len(d.senders))
	var mu sync.Mutex // guards n's counters
	var wg sync.WaitGroup
	for si, s := range d.senders {
		results[si] = make([]outcome, len(notes))
		wg.Go(func() { errs[si] = d.each(ctx, s, notes, results[si], &n, &mu) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return n, err
	}
	for i := range notes {
		done := true
		for si := range d.senders {
			done = done && results[si][i] != pending
		}
		if done {
			finished[noteItem[i]] = true
			n.Done++
		}
	}
	if err := d.settle(ctx, items, finished); err != nil {
		return n, fmt.Errorf("delivery: %w", err)
	}
	if quiet {
		d.held.hold(heldQueueItems(items, finished, notes, noteItem))
	}
	return n, errors.Join(failed...)
}

// heldQueueItems are the queue documents of a pass in quiet hours that are
// left with nothing to do until the quiet hours end: each of their
// notices was written and placed, is not urgent (so every sender held
// it), and is not finished. A document with any notice that failed to be
// written, or that is urgent, is read again by the next pass.
func heldQueueItems(items []Queued, finished []bool, notes []models.Notification, noteItem []int) []string {
	placed := make([]bool, len(items))
	urgent := make([]bool, len(items))
	for i, k := range noteItem {
		placed[k] = true
		urgent[k] = notes[i].Urgent
	}
	held := map[string]bool{} // queue document → every notice of it held
	for k, it := range items {
		doc := it.Item
		if doc == "" {
			doc = it.ID
		}
		ok := placed[k] && !urgent[k] && !finished[k]
		if prior, seen := held[doc]; seen {
			ok = ok && prior
		}
		held[doc] = ok
	}
	var out []string
	for doc, ok := range held {
		if ok {
			out = append(out, doc)
		}
	}
	return out
}

// settle takes the pass's finished items off the queue, after every
// outcome was marked: a crash before leaves them queued, and the next
// pass finds their notifications placed and their sent marks, and takes
// them off. A batch item leaves when all its notices finished; when only
// some did, the others are queued again on their own first (a crash
// between the two leaves both, and the next pass finds the finished ones
// done), so the batch is not read again for them; when none did (quiet
// hours, say) it stays as it is.
func (d *Deliverer) settle(ctx context.Context, items []Queued, finished []bool) error {
	var gone []string
	batches := map[string][]int{}
	var order []string
	for k, it := range items {
		if it.Item == "" || it.Item == it.ID {
			if finished[k] {
				gone = append(gone, it.ID)
			}
			continue
		}
		if _, seen := batches[it.Item]; !seen {
			order = append(order, it.Item)
		}
		batches[it.Item] = append(batches[it.Item], k)
	}
	for _, item := range order {
		var rest []models.Notice
		for _, k := range batches[item] {
			if !finished[k] {
				rest = append(rest, *items[k].Notice)
			}
		}
		switch {
		case len(rest) == len(batches[item]):
			continue
		case len(rest) > 0:
			if err := d.store.QueueNotices(ctx, rest, items[batches[item][0]].At); err != nil {
				return err
			}
		}
		gone = append(gone, item)
	}
	return d.store.DequeueNotifications(ctx, gone)
}

// each delivers notes to s on Workers goroutines, writing each outcome
// into out, and returns the first failure (the others are delivered
// all the same). Once ctx is done no more are started.
func (d *Deliverer) each(ctx context.Context, s Sender, notes []models.Notification, out []outcome, n *Counts, mu *sync.Mutex) error {
	var g errgroup.Group
	g.SetLimit(d.opts.Workers)
	for i, note := range notes {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			o, c, err := d.deliver(ctx, s, note)
			mu.Lock()
			defer mu.Unlock()
			out[i] = o
			n.Sent += c.Sent
			n.Failed += c.Failed
			n.Dead += c.Dead
			n.Held += c.Held
			if err != nil {
				return fmt.Errorf("delivery %s to %s: %w", note.ID, s.Name(), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// deliver makes at most one attempt of note at s, if one is due.
func (d *Deliverer) deliver(ctx context.Context, s Sender, note models.Notification) (outcome, Counts, error) {
	var c Counts
	name := s.Name()
	// Held first, before any read: a backlog waiting out the night costs
	// nothing per pass but its queue read.
	if !note.Urgent && d.opts.Quiet != nil && d.opts.Quiet(d.now()) {
		c.Held++
		return pending, c, nil
	}
	done, err := d.store.Sent(ctx, name, note.ID)
	if err != nil || done {
		return sent, c, err
	}
	gen, err := d.generation(ctx, name, note.ID)
	if err != nil {
		return pending, c, err
	}
	budget := d.opts.MaxAttempts * gen
	last, err := d.lastAttempt(ctx, name, note.ID)
	if err != nil {
		return pending, c, err
	}
	now := d.now()
	if last.N > 0 {
		f, err := d.store.DeliveryFailure(ctx, name, note.ID, last.N)
		switch {
		case errors.Is(err, models.ErrNotFound):
			// In flight, or its sender died before marking it: only
			// after its lease may it be sent again (same message id).
			if now.Before(last.LeaseUntil) {
				return pending, c, nil
			}
			if done, err := d.store.Sent(ctx, name, note.ID); err != nil || done {
				return sent, c, err
			}
		case err != nil:
			return pending, c, err
		case now.Before(f.NextAt):
			return pending, c, nil
		}
		if last.N >= budget {
			return d.giveUp(ctx, name, note, gen, last.N, f.Error)
		}
	}
	a := Attempt{
		Sender:     name,
		MessageID:  note.ID,
		N:          last.N + 1,
		At:         now.UTC(),
		LeaseUntil: now.Add(d.opts.Timeout + time.Minute).UTC(),
	}
	if err := d.store.InsertAttempt(ctx, a); errors.Is(err, models.ErrConflict) {
		return pending, c, nil // another deliverer claimed it
	} else if err != nil {
		return pending, c, err
	}
	sendCtx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	sendErr := s.Send(sendCtx, MessageOf(note))
	cancel()
	if ctx.Err() != nil {
		// Stopping: leave the attempt without an outcome; it is sent
		// again after its lease, under the same message id.
		return pending, c, ctx.Err()
	}
	at := d.now().UTC()
	if sendErr == nil {
		if err := d.store.InsertSent(ctx, name, note.ID, a.N, at); err != nil && !errors.Is(err, models.ErrConflict) {
			return pending, c, err
		}
		c.Sent++
		return sent, c, nil
	}
	c.Failed++
	d.log.Warn("delivery failed", "sender", name, "message", note.ID, "attempt", a.N, "err", sendErr)
	f := Failure{
		Sender:    name,
		MessageID: note.ID,
		N:         a.N,
		At:        at,
		NextAt:    at.Add(d.backoff(a.N - d.opts.MaxAttempts*(gen-1))),
		Error:     truncate(sendErr.Error(), 500),
	}
	if err := d.store.InsertFailure(ctx, f); err != nil && !errors.Is(err, models.ErrConflict) {
		return pending, c, err
	}
	if a.N >= budget {
		o, gc, err := d.giveUp(ctx, name, note, gen, a.N, f.Error)
		c.Dead += gc.Dead
		return o, c, err
	}
	return pending, c, nil
}

// giveUp records the dead letter of generation gen (once).
func (d *Deliverer) giveUp(ctx context.Context, name string, note models.Notification, gen, attempts int, lastErr string) (outcome, Counts, error) {
	var c Counts
	dl := DeadLetter{
		ID:          DeadLetterID(name, note.ID, gen),
		Sender:      name,
		MessageID:   note.ID,
		CommunityID: note.CommunityID,
		Recipient:   note.Recipient,
		Kind:        string(note.Kind),
		Generation:  gen,
		Attempts:    attempts,
		Error:       lastErr,
		At:          d.now().UTC(),
	}
	err := d.store.InsertDeadLetter(ctx, dl)
	switch {
	case err == nil:
		c.Dead++
		d.log.Error("delivery given up", "sender", name, "message", note.ID, "attempts", attempts, "err", lastErr)
	case !errors.Is(err, models.ErrConflict):
		return pending, c, err
	}
	return dead, c, nil
}

// generation is 1 + the number of times staff revived the message's dead
// letters at sender.
func (d *Deliverer) generation(ctx context.Context, sender, msg string) (int, error) {
	for g := 1; ; g++ {
		ok, err := d.store.Revived(ctx, sender, msg, g)
		if err != nil {
			return 0, err
		}
		if !ok {
			return g, nil
		}
	}
}

// lastAttempt is the highest-numbered attempt (N = 0 when none).
func (d *Deliverer) lastAttempt(ctx context.Context, sender, msg string) (Attempt, error) {
	var last Attempt
	for n := 1; ; n++ {
		a, err := d.store.DeliveryAttempt(ctx, sender, msg, n)
		if errors.Is(err, models.ErrNotFound) {
			return last, nil
		}
		if err != nil {
			return Attempt{}, err
		}
		last = a
	}
}

// backoff is the wait after the k-th failure of a generation.
func (d *Deliverer) backoff(k int) time.Duration {
	w := d.opts.Backoff
	for i := 1; i < k && w < d.opts.MaxBackoff; i++ {
		w *= 2
	}
	return min(w, d.opts.MaxBackoff)
}

// truncate returns at most the first n bytes of s.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Run makes a pass every interval until ctx ends. A pass that fails is
// logged and the next one tries again: everything it did is recorded.
func (d *Deliverer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if c, err := d.Pass(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("delivery pass", "err", err)
		} else if c.Sent+c.Failed+c.Dead+c.Dropped > 0 {
			d.log.Info("delivery pass", "sent", c.Sent, "failed", c.Failed, "dead", c.Dead, "dropped", c.Dropped, "done", c.Done)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeadLetters returns the dead letters of the caller's community that
// staff have not sent again yet.
func (d *Deliverer) DeadLetters(ctx context.Context, p models.Principal) ([]DeadLetter, error) {
	if !p.Has(models.RoleStaff, models.RoleAdmin) {
		return nil, models.ErrForbidden
	}
	all, err := d.store.DeadLetters(ctx, p.CommunityID)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	out := all[:0]
	for _, dl := range all {
		// A retry that died before removing the letter left its revival.
		revived, err := d.store.Revived(ctx, dl.Sender, dl.MessageID, dl.Generation)
		if err != nil {
			return nil, fmt.Errorf("dead letters: %w", err)
		}
		if !revived {
			out = append(out, dl)
		}
	}
	return out, nil
}

// Retry sends dead letter id again: a new generation of attempts at its
// sender, under the same message id. The revival mark is the decision
// (one per generation, so a repeat changes nothing), then the message is
// queued again and the letter removed; a retry cut short between them is
// finished by its repeat. models.ErrNotFound for a letter of another
// community or one already retried.
func (d *Deliverer) Retry(ctx context.Context, p models.Principal, id string) (DeadLetter, error) {
	if !p.Has(models.RoleStaff, models.RoleAdmin) {
		return DeadLetter{}, models.ErrForbidden
	}
	dl, err := d.store.DeadLetter(ctx, id)
	if errors.Is(err, models.ErrNotFound) || (err == nil && dl.CommunityID != p.CommunityID) {
		return DeadLetter{}, models.ErrNotFound.Withf("没有这条投递失败记录", "no such dead letter")
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("retry dead letter: %w", err)
	}
	at := d.now().UTC()
	err = d.store.InsertRevival(ctx, dl.Sender, dl.MessageID, dl.Generation, p.ResidentID, at)
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return DeadLetter{}, fmt.Errorf("retry dead letter: %w", err)
	}
	err = d.store.EnqueueNotification(ctx, dl.MessageID, dl.CommunityID, at)
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return DeadLetter{}, fmt.Errorf("retry dead letter: %w", err)
	}
	if err := d.store.DeleteDeadLetter(ctx, dl.ID); err != nil {
		return DeadLetter{}, fmt.Errorf("retry dead letter: %w", err)
	}
	return dl, nil
}
