// Package inbox tells people what happened: each event a resident, a
// partner or staff should hear of becomes one notification in the
// recipient's inbox, written once per event (ARCHITECTURE.md §4.1), in the
// recipient's language, and queued for the outbound senders (package
// outbound). It declares the store it needs (Store) and imports neither
// the driver nor Fiber.
//
// The inbox of a recipient is a chain of numbered positions, like a ledger
// account (§3): the notification itself is inserted under an id derived
// from its event (the commit point: of 32 concurrent repeats one insert
// wins), remembering how long the chain was when it was written, and is
// then placed at the first free position from there on. Whoever places a
// notification walks from that length and stops at a position that
// already holds it, so it is placed once even when a repeat of the cause,
// the delivery loop and the first writer all finish it at once. Reads are
// marks (a position read, or everything up to a position read), never a
// change of the notification.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// Store keeps notifications, inbox positions, read marks and preferences.
// Every method returns a wrapped models.ErrConflict for a duplicate key and
// models.ErrNotFound for a missing document, as stated.
type Store interface {
	// QueueNotice puts the notice n on the delivery queue under its
	// notification's id, with at, the time it happened; ErrConflict if it
	// is queued already. The item carries the whole notice, so the
	// delivery loop can write the notification from it.
	QueueNotice(ctx context.Context, n models.Notice, at time.Time) error
	// InsertNotification inserts n under n.ID, with from, the length of
	// the recipient's inbox seen before; ErrConflict if n.ID exists.
	InsertNotification(ctx context.Context, n models.Notification, from int64) error
	// QueueNotices is QueueNotice for each of ns, in one batch; those
	// queued already stay as they are.
	QueueNotices(ctx context.Context, ns []models.Notice, at time.Time) error
	// QueueNoticeBatch queues all of ns, with at, as one queue item (a
	// job's batch: one document to write, read and delete instead of one
	// per notice); ErrConflict if that batch is queued already.
	QueueNoticeBatch(ctx context.Context, ns []models.Notice, at time.Time) error
	// InsertNotifications inserts each of ns with from[i] in one batch
	// and reports which existed already.
	InsertNotifications(ctx context.Context, ns []models.Notification, from []int64) ([]bool, error)
	// InsertInboxEntries places each of ns at its Seq in one batch and
	// reports which positions were taken already.
	InsertInboxEntries(ctx context.Context, ns []models.Notification) ([]bool, error)
	// Notification returns the notification with id and its from, or
	// ErrNotFound.
	Notification(ctx context.Context, id string) (models.Notification, int64, error)
	// InsertInboxEntry places n at n.Seq of n.Recipient's inbox;
	// ErrConflict if that position is taken.
	InsertInboxEntry(ctx context.Context, n models.Notification) error
	// InboxEntry returns the notification at position seq of recipient's
	// inbox, or ErrNotFound.
	InboxEntry(ctx context.Context, recipient string, seq int64) (models.Notification, error)
	// InboxHint returns a length the recipient's inbox had (0 if unknown);
	// SetInboxHint records one. Hints only: the chain is read on from them.
	InboxHint(ctx context.Context, recipient string) (int64, error)
	SetInboxHint(ctx context.Context, recipient string, seq int64) error
	// InsertReadMark marks position seq of recipient's inbox read;
	// ErrConflict if it was.
	InsertReadMark(ctx context.Context, recipient string, seq int64, at time.Time) error
	// ReadMarked reports whether position seq of recipient's inbox is
	// marked read.
	ReadMarked(ctx context.Context, recipient string, seq int64) (bool, error)
	// InsertReadAll records the k-th "all read" of recipient: every
	// position up to upto is read; ErrConflict if k exists.
	InsertReadAll(ctx context.Context, recipient string, k, upto int64, at time.Time) error
	// ReadAll returns upto of the k-th "all read" of recipient, or
	// ErrNotFound.
	ReadAll(ctx context.Context, recipient string, k int64) (int64, error)
	// NoticePreferences returns the resident's settings (the zero value
	// when none were saved).
	NoticePreferences(ctx context.Context, resident string) (models.NoticePreferences, error)
	// SetNoticePreferences saves the resident's settings over the last.
	SetNoticePreferences(ctx context.Context, resident string, p models.NoticePreferences) error
}

// Inbox writes and reads notifications.
type Inbox struct {
	store Store
	now   func() time.Time
	// lengths is the length each recipient's inbox was last seen to have
	// by this process, a hint for writers only: positions are inserted
	// once and never removed, so an inbox is at least as long as its hint,
	// and a writer that finds the position after it taken walks on
	// (place). Readers (List, UnreadCount, MarkAllRead) read the length.
	lengths *lru.Cache[string, int64]
}

// lengthHints is how many recipients' inbox lengths an Inbox keeps hints
// for; past it the least recently used is dropped.
const lengthHints = 100_000

// New returns the inbox over s; now is the clock.
func New(s Store, now func() time.Time) *Inbox {
	lengths, err := lru.New[string, int64](lengthHints)
	if err != nil {
		panic(fmt.Sprintf("inbox: length hints: %v", err)) // only for a size ≤ 0
	}
	return &Inbox{
		store:   s,
		now:     now,
		lengths: lengths,
	}
}

// hintEvery is how often (in positions) the inbox's length hint is
// written: a reader walks at most this far past it.
const hintEvery = 4

// Queue is how a request tells someone what happened: one insert, the
// delivery queue's item for the notice, keyed by the notification's id, so
// every repeat of the cause lands on the same item (or, once the item is
// delivered and gone, on the same notification). Nothing is read. The
// delivery loop (package outbound) writes the notification from the item,
// places it in the inbox (Write) and sends it. A recipient's inbox shows
// it after the loop's next pass (LINLI_DELIVERY_INTERVAL).
func (b *Inbox) Queue(ctx context.Context, n models.Notice) error {
	return b.QueueAt(ctx, n, b.now())
}

// QueueAt is Queue for a notice of something that happened at at (a
// sweep's, finishing what a request left).
func (b *Inbox) QueueAt(ctx context.Context, n models.Notice, at time.Time) error {
	if err := n.Validate(); err != nil {
		return err
	}
	err := b.store.QueueNotice(ctx, n, at.UTC().Truncate(time.Millisecond))
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return fmt.Errorf("queue notice: %w", err)
	}
	return nil
}

// Notify writes the notification of n once, at once: every repeat of the
// cause, however many run at once, lands on the same notification (its id
// is derived from the event) and the same inbox position. A category the
// recipient turned off writes nothing. It returns the notification, or the
// zero value with a nil error when the recipient turned its category off.
// Jobs use it; requests use Queue.
//
// Writes in order: the delivery queue item (carrying the notice), the
// notification (the commit point), its inbox position. A crash after the
// first leaves a queue item the delivery loop writes the notification
// from; a crash after the second leaves a notification the delivery loop
// (or the next repeat of the cause) places.
func (b *Inbox) Notify(ctx context.Context, n models.Notice) (models.Notification, error) {
	return b.write(ctx, n, b.now(), true)
}

// Write is Notify for the delivery loop, which has the notice's queue
// item already: the notification of n, created at at, written once and
// placed. It returns the zero value when the recipient turned the
// category off.
func (b *Inbox) Write(ctx context.Context, n models.Notice, at time.Time) (models.Notification, error) {
	return b.write(ctx, n, at, false)
}

// write is Notify and Write: queue says whether to queue n first.
func (b *Inbox) write(ctx context.Context, n models.Notice, at time.Time, queue bool) (models.Notification, error) {
	if err := n.Validate(); err != nil {
		return models.Notification{}, err
	}
	id := models.NotificationID(n.Kind, n.EventID, n.Recipient)
	// A repeat of the cause (the common case in a re-run job) reads
	// before it writes: finish what the first may have left.
	if prior, from, err := b.store.Notification(ctx, id); err == nil {
		return b.place(ctx, prior, from, false)
	} else if !errors.Is(err, models.ErrNotFound) {
		return models.Notification{}, fmt.Errorf("notify: %w", err)
	}
	prefs, err := b.store.NoticePreferences(ctx, n.Recipient)
	if err != nil {
		return models.Notification{}, fmt.Errorf("notify: %w", err)
	}
	if !prefs.Enabled(n.Kind.Category()) {
		return models.Notification{}, nil
	}
	note := b.compose(n, prefs, at)
	if queue {
		err = b.store.QueueNotice(ctx, n, note.Created)
		if err != nil && !errors.Is(err, models.ErrConflict) {
			return models.Notification{}, fmt.Errorf("notify: queue: %w", err)
		}
	}
	from, err := b.writeFrom(ctx, n.Recipient)
	if err != nil {
		return models.Notification{}, fmt.Errorf("notify: %w", err)
	}
	err = b.store.InsertNotification(ctx, note, from)
	if errors.Is(err, models.ErrConflict) {
		// A repeat of the cause running at the same moment won.
		return b.Place(ctx, note.ID)
	}
	if err != nil {
		return models.Notification{}, fmt.Errorf("notify: %w", err)
	}
	// Position from+1 was free when last seen: try it without reading it.
	return b.place(ctx, note, from, true)
}

// compose is the notification of n in the language of prefs, created at
// at.
func (b *Inbox) compose(n models.Notice, prefs models.NoticePreferences, at time.Time) models.Notification {
	lang := prefs.Language
	if lang == "" {
		lang = models.LangZh
	}
	title, body := render(n, lang)
	return models.Notification{
		ID:          models.NotificationID(n.Kind, n.EventID, n.Recipient),
		Recipient:   n.Recipient,
		CommunityID: n.CommunityID,
		Kind:        n.Kind,
		Category:    n.Kind.Category(),
		EventID:     n.EventID,
		Language:    lang,
		Title:       title,
		Body:        body,
		Link:        n.Link,
		Urgent:      n.Kind.Urgent(),
		Created:     at.UTC().Truncate(time.Millisecond),
	}
}

// NotifyMany is Notify for many notices (a job's), with the writes of the
// new ones made in three batches: queue items, then notifications, then
// inbox positions, each one commit on the embedded store. The order and
// the rules are Notify's; a notice whose notification exists, whose
// position was taken meanwhile, or whose recipient has another notice in
// the batch goes the one-at-a-time way. It returns how many notices have
// their notification (turned-off categories do not).
func (b *Inbox) NotifyMany(ctx context.Context, notices []models.Notice) (int, error) {
	at := make([]time.Time, len(notices))
	for i := range at {
		at[i] = b.now()
	}
	notes, err := b.writeMany(ctx, notices, at, true)
	done := 0
	for _, n := range notes {
		if n.ID != "" {
			done++
		}
	}
	return done, err
}

// WriteMany is Write for the delivery loop's pass: the notification of
// each of notices (created at at[i]) written once and placed, the new
// ones in two batches (notifications, then positions). It returns each
// notice's notification, the zero value for a category turned off.
func (b *Inbox) WriteMany(ctx context.Context, notices []models.Notice, at []time.Time) ([]models.Notification, error) {
	return b.writeMany(ctx, notices, at, false)
}

// readers is how many reads a batch makes at once.
const readers = 8

// writeMany is NotifyMany and WriteMany: queue says whether to queue the
// notices first. out[i] is notices[i]'s notification.
func (b *Inbox) writeMany(ctx context.Context, notices []models.Notice, at []time.Time, queue bool) ([]models.Notification, error) {
	out := make([]models.Notification, len(notices))
	var (
		fresh  []models.Notification
		freshI []int           // the index in notices of each of fresh
		queued []models.Notice // fresh's notices, for their queue items
		later  []int
	)
	for _, n := range notices {
		if err := n.Validate(); err != nil {
			return out, err
		}
	}
	// The reads first, readers reading at once: each notice's
	// notification (written already?) and its recipient's preferences.
	type read struct {
		prior models.Notification
		from  int64
		err   error
		prefs models.NoticePreferences
	}
	reads := make([]read, len(notices))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, n := range notices {
		g.Go(func() error {
			r := &reads[i]
			r.prior, r.from, r.err = b.store.Notification(gctx, models.NotificationID(n.Kind, n.EventID, n.Recipient))
			if !errors.Is(r.err, models.ErrNotFound) {
				return nil
			}
			var err error
			r.prefs, err = b.store.NoticePreferences(gctx, n.Recipient)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return out, fmt.Errorf("notify: %w", err)
	}
	batched := map[string]bool{}
	for i, n := range notices {
		r := reads[i]
		if r.err == nil {
			var err error
			if out[i], err = b.place(ctx, r.prior, r.from, false); err != nil {
				return out, err
			}
			continue
		}
		if !errors.Is(r.err, models.ErrNotFound) {
			return out, fmt.Errorf("notify: %w", r.err)
		}
		if batched[n.Recipient] {
			later = append(later, i)
			continue
		}
		if r.prefs.Enabled(n.Kind.Category()) {
			batched[n.Recipient] = true
			fresh = append(fresh, b.compose(n, r.prefs, at[i]))
			freshI = append(freshI, i)
			queued = append(queued, n)
		}
	}
	if queue && len(queued) > 0 {
		if err := b.store.QueueNotices(ctx, queued, fresh[0].Created); err != nil {
			return out, fmt.Errorf("notify: queue: %w", err)
		}
	}
	// Each recipient is in fresh once, so their lengths are read at once.
	from := make([]int64, len(fresh))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, note := range fresh {
		g.Go(func() error {
			var err error
			from[i], err = b.writeFrom(gctx, note.Recipient)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return out, fmt.Errorf("notify: %w", err)
	}
	existed, err := b.store.InsertNotifications(ctx, fresh, from)
	if err != nil {
		return out, fmt.Errorf("notify: %w", err)
	}
	var (
		placing     []models.Notification
		placingFrom []int64
		placingI    []int
	)
	for i, note := range fresh {
		if existed[i] {
			if out[freshI[i]], err = b.Place(ctx, note.ID); err != nil {
				return out, err
			}
			continue
		}
		note.Seq = from[i] + 1
		placing, placingFrom, placingI = append(placing, note), append(placingFrom, from[i]), append(placingI, freshI[i])
	}
	taken, err := b.store.InsertInboxEntries(ctx, placing)
	if err != nil {
		return out, fmt.Errorf("notify: %w", err)
	}
	for i, note := range placing {
		out[placingI[i]] = note
		if !taken[i] {
			b.placed(note.Recipient, note.Seq)
		}
		switch {
		case taken[i]:
			// Someone took the position since: walk on from there.
			if out[placingI[i]], err = b.place(ctx, note, placingFrom[i], false); err != nil {
				return out, err
			}
		case note.Seq%hintEvery == 0:
			if err := b.store.SetInboxHint(ctx, note.Recipient, note.Seq); err != nil {
				return out, fmt.Errorf("notify: %w", err)
			}
		}
	}
	for _, i := range later {
		if out[i], err = b.write(ctx, notices[i], at[i], queue); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Place puts the notification with id into its recipient's inbox unless it
// is there, and returns it with its position; models.ErrNotFound if no
// such notification was written.
func (b *Inbox) Place(ctx context.Context, id string) (models.Notification, error) {
	note, from, err := b.store.Notification(ctx, id)
	if err != nil {
		return models.Notification{}, fmt.Errorf("place notification: %w", err)
	}
	return b.place(ctx, note, from, false)
}

// place walks the recipient's inbox from position from+1: a position that
// holds note ends the walk; the first free one is where note goes. Two
// placers racing for a position cannot both win, and the loser reads what
// won, so note is placed exactly once (the ledger's rule, §3).
func (b *Inbox) place(ctx context.Context, note models.Notification, from int64, firstFree bool) (models.Notification, error) {
	for seq := from + 1; ; seq++ {
		var at models.Notification
		var err error = models.ErrNotFound
		if !firstFree || seq > from+1 {
			at, err = b.store.InboxEntry(ctx, note.Recipient, seq)
		}
		if errors.Is(err, models.ErrNotFound) {
			placed := note
			placed.Seq = seq
			err = b.store.InsertInboxEntry(ctx, placed)
			if err == nil {
				b.placed(note.Recipient, seq)
				if seq%hintEvery == 0 {
					if err := b.store.SetInboxHint(ctx, note.Recipient, seq); err != nil {
						return models.Notification{}, fmt.Errorf("place notification: %w", err)
					}
				}
				return placed, nil
			}
			if !errors.Is(err, models.ErrConflict) {
				return models.Notification{}, fmt.Errorf("place notification: %w", err)
			}
			if at, err = b.store.InboxEntry(ctx, note.Recipient, seq); err != nil {
				return models.Notification{}, fmt.Errorf("place notification: %w", err)
			}
		} else if err != nil {
			return models.Notification{}, fmt.Errorf("place notification: %w", err)
		}
		b.placed(note.Recipient, seq)
		if at.ID == note.ID {
			return at, nil
		}
	}
}

// writeFrom is where a writer of a notification to recipient starts: the
// inbox's length as this process last saw it, or as read (length) when it
// has not seen it. It may be short of the length (another process wrote
// since), never past it, which place needs: a writer that finds the next
// position taken walks on, and a walk from too short a length still meets
// the notification if it was placed.
func (b *Inbox) writeFrom(ctx context.Context, recipient string) (int64, error) {
	if n, ok := b.lengths.Get(recipient); ok {
		return n, nil
	}
	return b.length(ctx, recipient)
}

// placed records that recipient's inbox has position seq filled, keeping
// the highest seen.
func (b *Inbox) placed(recipient string, seq int64) {
	if old, ok := b.lengths.Get(recipient); !ok || old < seq {
		b.lengths.Add(recipient, seq)
	}
}

// length is the number of positions of recipient's inbox: read on from
// the hint until a position is free.
func (b *Inbox) length(ctx context.Context, recipient string) (int64, error) {
	seq, err := b.store.InboxHint(ctx, recipient)
	if err != nil {
		return 0, err
	}
	for {
		_, err := b.store.InboxEntry(ctx, recipient, seq+1)
		if errors.Is(err, models.ErrNotFound) {
			b.placed(recipient, seq)
			return seq, nil
		}
		if err != nil {
			return 0, err
		}
		seq++
	}
}

// readUpTo is the highest position every "all read" of recipient covers.
// All-read records are numbered 1, 2, … and never change, so the walk
// from 1 is exact; they are few (one per tap on "all read").
func (b *Inbox) readUpTo(ctx context.Context, recipient string) (upto, count int64, err error) {
	for k := int64(1); ; k++ {
		u, err := b.store.ReadAll(ctx, recipient, k)
		if errors.Is(err, models.ErrNotFound) {
			return upto, k - 1, nil
		}
		if err != nil {
			return 0, 0, err
		}
		upto = max(upto, u)
	}
}

// Page is one page of an inbox listing.
type Page struct {
	Notifications []models.Notification
	// Next is the cursor of the next page; "" at the end.
	Next string
}

// scanBudget bounds the positions one page or one count looks at, so a
// long inbox never makes one request slow; the page then ends early with
// a cursor.
const scanBudget = 200

// List returns a page of the caller's inbox: unread notifications first,
// newest first, then read ones, newest first. after is the Next of the
// previous page ("" for the first); limit is 1-100.
func (b *Inbox) List(ctx context.Context, p models.Principal, after string, limit int) (Page, error) {
	if p.ResidentID == "" {
		return Page{}, models.ErrForbidden
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	unreadPhase, from, err := parseCursor(after)
	if err != nil {
		return Page{}, err
	}
	head, err := b.length(ctx, p.ResidentID)
	if err != nil {
		return Page{}, fmt.Errorf("inbox: %w", err)
	}
	upto, _, err := b.readUpTo(ctx, p.ResidentID)
	if err != nil {
		return Page{}, fmt.Errorf("inbox: %w", err)
	}
	if from == 0 || from > head {
		from = head
	}
	var out Page
	scanned := 0
	seq := from
	for {
		if unreadPhase && seq <= upto {
			// Everything from here down is read: start over for the read ones.
			unreadPhase, seq = false, head
		}
		if seq <= 0 {
			return out, nil
		}
		if len(out.Notifications) == limit || scanned == scanBudget {
			out.Next = cursor(unreadPhase, seq)
			return out, nil
		}
		scanned++
		read := seq <= upto
		if !read {
			if read, err = b.store.ReadMarked(ctx, p.ResidentID, seq); err != nil {
				return Page{}, fmt.Errorf("inbox: %w", err)
			}
		}
		if read != unreadPhase {
			n, err := b.store.InboxEntry(ctx, p.ResidentID, seq)
			if err != nil {
				return Page{}, fmt.Errorf("inbox: %w", err)
			}
			n.Read = read
			out.Notifications = append(out.Notifications, n)
		}
		seq--
	}
}

// cursor is "u<seq>" (unread ones, from seq down) or "r<seq>".
func cursor(unread bool, seq int64) string {
	if unread {
		return fmt.Sprintf("u%d", seq)
	}
	return fmt.Sprintf("r%d", seq)
}

// parseCursor reads a cursor made by cursor ("" for the first page: the unread ones from
// the newest); anything else is ErrValidation.
func parseCursor(s string) (unread bool, seq int64, err error) {
	if s == "" {
		return true, 0, nil
	}
	var n int64
	if _, err := fmt.Sscanf(s[1:], "%d", &n); err != nil || n <= 0 || (s[0] != 'u' && s[0] != 'r') || fmt.Sprintf("%c%d", s[0], n) != s {
		return false, 0, models.ErrValidation.Withf("after 不是有效的翻页游标", "after is not a cursor this listing gave")
	}
	return s[0] == 'u', n, nil
}

// Unread is how many unread notifications an inbox holds; AtLeast says
// the count stopped at the newest scanBudget positions.
type Unread struct {
	Count   int
	AtLeast bool
}

// UnreadCount counts the caller's unread notifications, looking at the
// newest scanBudget positions at most (apps show "99+" anyway).
func (b *Inbox) UnreadCount(ctx context.Context, p models.Principal) (Unread, error) {
	if p.ResidentID == "" {
		return Unread{}, models.ErrForbidden
	}
	head, err := b.length(ctx, p.ResidentID)
	if err != nil {
		return Unread{}, fmt.Errorf("unread count: %w", err)
	}
	upto, _, err := b.readUpTo(ctx, p.ResidentID)
	if err != nil {
		return Unread{}, fmt.Errorf("unread count: %w", err)
	}
	var out Unread
	for seq := head; seq > upto; seq-- {
		if head-seq == scanBudget {
			out.AtLeast = true
			break
		}
		read, err := b.store.ReadMarked(ctx, p.ResidentID, seq)
		if err != nil {
			return Unread{}, fmt.Errorf("unread count: %w", err)
		}
		if !read {
			out.Count++
		}
	}
	return out, nil
}

// MarkRead marks the caller's notification id read; marking it again is
// no change. models.ErrNotFound if the caller has no such notification.
func (b *Inbox) MarkRead(ctx context.Context, p models.Principal, id string) (models.Notification, error) {
	if p.ResidentID == "" {
		return models.Notification{}, models.ErrForbidden
	}
	n, _, err := b.store.Notification(ctx, id)
	if errors.Is(err, models.ErrNotFound) || (err == nil && n.Recipient != p.ResidentID) {
		return models.Notification{}, models.ErrNotFound.Withf("没有这条通知", "no such notification")
	}
	if err != nil {
		return models.Notification{}, fmt.Errorf("mark read: %w", err)
	}
	// Placed already, unless its writer died before: finish that first.
	if n, err = b.Place(ctx, id); err != nil {
		return models.Notification{}, err
	}
	err = b.store.InsertReadMark(ctx, p.ResidentID, n.Seq, b.now().UTC())
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return models.Notification{}, fmt.Errorf("mark read: %w", err)
	}
	n.Read = true
	return n, nil
}

// MarkAllRead marks every notification in the caller's inbox now read and
// returns how far that reaches (the inbox's length). It is one insert
// however long the inbox: the next "all read" record, holding the length.
func (b *Inbox) MarkAllRead(ctx context.Context, p models.Principal) (int64, error) {
	if p.ResidentID == "" {
		return 0, models.ErrForbidden
	}
	head, err := b.length(ctx, p.ResidentID)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	_, count, err := b.readUpTo(ctx, p.ResidentID)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	for k := count + 1; ; k++ {
		err := b.store.InsertReadAll(ctx, p.ResidentID, k, head, b.now().UTC())
		if err == nil {
			return head, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return 0, fmt.Errorf("mark all read: %w", err)
		}
	}
}

// CategorySetting is one category as the preferences screen shows it.
type CategorySetting struct {
	Category models.NoticeCategory
	Enabled  bool
	Locked   bool
}

// Preferences is a resident's settings, every category listed.
type Preferences struct {
	Language   models.Language
	Categories []CategorySetting
}

// preferencesOf lists every category with whether it is on and locked, and the language
// (Chinese when unset).
func preferencesOf(p models.NoticePreferences) Preferences {
	out := Preferences{Language: p.Language}
	if out.Language == "" {
		out.Language = models.LangZh
	}
	for _, c := range models.NoticeCategories {
		out.Categories = append(out.Categories, CategorySetting{
			Category: c,
			Enabled:  p.Enabled(c),
			Locked:   c.Locked(),
		})
	}
	return out
}

// Preferences returns the caller's notification settings.
func (b *Inbox) Preferences(ctx context.Context, p models.Principal) (Preferences, error) {
	if p.ResidentID == "" {
		return Preferences{}, models.ErrForbidden
	}
	prefs, err := b.store.NoticePreferences(ctx, p.ResidentID)
	if err != nil {
		return Preferences{}, fmt.Errorf("notification preferences: %w", err)
	}
	return preferencesOf(prefs), nil
}

// SetPreferences saves the caller's settings: lang ("" keeps Chinese) and
// each category named in enabled (those not named are on). Turning off a
// locked category is refused (models.ErrCategoryLocked) and saves nothing.
// A repeat leaves the same settings.
func (b *Inbox) SetPreferences(ctx context.Context, p models.Principal, lang string, enabled map[string]bool) (Preferences, error) {
	if p.ResidentID == "" {
		return Preferences{}, models.ErrForbidden
	}
	prefs := models.NoticePreferences{Language: models.LangZh}
	if lang != "" {
		l, err := models.ParseLanguage(lang)
		if err != nil {
			return Preferences{}, err
		}
		prefs.Language = l
	}
	for name := range enabled {
		if _, err := models.ParseNoticeCategory(name); err != nil {
			return Preferences{}, err
		}
	}
	var lockedZh, lockedEn []string
	for _, c := range models.NoticeCategories {
		on, named := enabled[string(c)]
		switch {
		case !named || on:
		case c.Locked():
			lockedZh, lockedEn = append(lockedZh, c.Zh()), append(lockedEn, string(c))
		default:
			prefs.Off = append(prefs.Off, c)
		}
	}
	if len(lockedZh) > 0 {
		return Preferences{}, models.ErrCategoryLocked.Withf(
			"涉及积分、兑换、结算（钱款）和诚信红榜的通知不能关闭：%[1]s。",
			"notifications about money (points, rewards, statements) and the honour roll cannot be turned off: %[2]s.",
			strings.Join(lockedZh, "、"), strings.Join(lockedEn, ", "))
	}
	if err := b.store.SetNoticePreferences(ctx, p.ResidentID, prefs); err != nil {
		return Preferences{}, fmt.Errorf("notification preferences: %w", err)
	}
	return preferencesOf(prefs), nil
}
