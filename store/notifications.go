package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// notificationDoc is a notification (under its derived id) or, with Seq
// set, its copy at an inbox position. Neither is ever updated.
type notificationDoc struct {
	ID        string    `bson:"_id"`
	Note      string    `bson:"note,omitempty"` // inbox position: the notification's id
	Seq       int64     `bson:"seq,omitempty"`
	From      int64     `bson:"from"` // the inbox's length when it was written
	Recipient string    `bson:"recipient"`
	Community string    `bson:"community,omitempty"`
	Kind      string    `bson:"kind"`
	Category  string    `bson:"category"`
	Event     string    `bson:"event"`
	Lang      string    `bson:"lang"`
	Title     string    `bson:"title"`
	Body      string    `bson:"body"`
	Link      string    `bson:"link,omitempty"`
	Urgent    bool      `bson:"urgent,omitempty"`
	Created   time.Time `bson:"created"`
}

// toNotificationDoc converts notification n to its document under id; from is the inbox's
// length when it is written.
func toNotificationDoc(id string, n models.Notification, from int64) notificationDoc {
	return notificationDoc{
		ID:        id,
		Seq:       n.Seq,
		From:      from,
		Recipient: n.Recipient,
		Community: n.CommunityID,
		Kind:      string(n.Kind),
		Category:  string(n.Category),
		Event:     n.EventID,
		Lang:      string(n.Language),
		Title:     n.Title,
		Body:      n.Body,
		Link:      n.Link,
		Urgent:    n.Urgent,
		Created:   n.Created,
	}
}

// model returns the stored notification; a copy at an inbox position carries the
// notification's own id.
func (d notificationDoc) model() models.Notification {
	id := d.ID
	if d.Note != "" {
		id = d.Note
	}
	return models.Notification{
		ID:          id,
		Seq:         d.Seq,
		Recipient:   d.Recipient,
		CommunityID: d.Community,
		Kind:        models.NoticeKind(d.Kind),
		Category:    models.NoticeCategory(d.Category),
		EventID:     d.Event,
		Language:    models.Language(d.Lang),
		Title:       d.Title,
		Body:        d.Body,
		Link:        d.Link,
		Urgent:      d.Urgent,
		Created:     d.Created.UTC(),
	}
}

// inboxEntryID is the _id in inbox_entries of position seq of recipient's inbox.
func inboxEntryID(recipient string, seq int64) string {
	return fmt.Sprintf("box:%s:%012d", recipient, seq)
}

// InsertNotification implements inbox.Store.
func (s *Store) InsertNotification(ctx context.Context, n models.Notification, from int64) error {
	d := toNotificationDoc(n.ID, n, from)
	d.Seq = 0
	return s.insert(ctx, colNotifications, d)
}

// Notification implements inbox.Store.
func (s *Store) Notification(ctx context.Context, id string) (models.Notification, int64, error) {
	var d notificationDoc
	if err := s.findByID(ctx, colNotifications, id, &d); err != nil {
		return models.Notification{}, 0, err
	}
	return d.model(), d.From, nil
}

// InsertInboxEntry implements inbox.Store.
func (s *Store) InsertInboxEntry(ctx context.Context, n models.Notification) error {
	d := toNotificationDoc(inboxEntryID(n.Recipient, n.Seq), n, 0)
	d.Note = n.ID
	return s.insert(ctx, colInbox, d)
}

// InboxEntry implements inbox.Store.
func (s *Store) InboxEntry(ctx context.Context, recipient string, seq int64) (models.Notification, error) {
	var d notificationDoc
	if err := s.findByID(ctx, colInbox, inboxEntryID(recipient, seq), &d); err != nil {
		return models.Notification{}, err
	}
	return d.model(), nil
}

// hintDoc is the hint in inbox_hints of how long a recipient's inbox is.
type hintDoc struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// InboxHint implements inbox.Store.
func (s *Store) InboxHint(ctx context.Context, recipient string) (int64, error) {
	var d hintDoc
	err := s.findByID(ctx, colInboxHints, recipient, &d)
	if errors.Is(err, models.ErrNotFound) {
		return 0, nil
	}
	return d.Seq, err
}

// SetInboxHint implements inbox.Store. A hint may go backwards when two
// writers race; readers walk on from it, so that only costs a read.
func (s *Store) SetInboxHint(ctx context.Context, recipient string, seq int64) error {
	return s.upsertByID(ctx, colInboxHints, recipient, bson.D{{Key: "seq", Value: seq}})
}

// upsertByID sets fields of the document with _id id, creating it if
// missing. Only for caches and settings a later write may replace.
func (s *Store) upsertByID(ctx context.Context, col, id string, set bson.D) error {
	err := s.write(ctx, func() error {
		_, err := s.c(col).UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}}, options.UpdateOne().SetUpsert(true))
		return err
	})
	return s.count(mapErr("upsert "+col, err), "upsert "+col)
}

// inboxMarkDoc is a read mark in inbox_marks, inserted once: one notification read, or
// (with Upto) all read up to a position.
type inboxMarkDoc struct {
	ID    string    `bson:"_id"`
	At    time.Time `bson:"at"`
	Upto  int64     `bson:"upto,omitempty"`
	Actor string    `bson:"actor,omitempty"`
	N     int       `bson:"n,omitempty"`
}

// readMarkID is the _id of the read mark of position seq of recipient's inbox.
func readMarkID(recipient string, seq int64) string {
	return fmt.Sprintf("read:%s:%012d", recipient, seq)
}

// InsertReadMark implements inbox.Store.
func (s *Store) InsertReadMark(ctx context.Context, recipient string, seq int64, at time.Time) error {
	return s.insert(ctx, colInboxMarks, inboxMarkDoc{ID: readMarkID(recipient, seq), At: at})
}

// ReadMarked implements inbox.Store.
func (s *Store) ReadMarked(ctx context.Context, recipient string, seq int64) (bool, error) {
	return s.exists(ctx, colInboxMarks, readMarkID(recipient, seq))
}

// exists reports whether a document with _id id is in col.
func (s *Store) exists(ctx context.Context, col, id string) (bool, error) {
	var d bson.M
	err := s.findByID(ctx, col, id, &d)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// readAllID is the _id of recipient's k-th "all read" mark.
func readAllID(recipient string, k int64) string { return fmt.Sprintf("readall:%s:%d", recipient, k) }

// InsertReadAll implements inbox.Store.
func (s *Store) InsertReadAll(ctx context.Context, recipient string, k, upto int64, at time.Time) error {
	return s.insert(ctx, colInboxMarks, inboxMarkDoc{
		ID:   readAllID(recipient, k),
		At:   at,
		Upto: upto,
	})
}

// ReadAll implements inbox.Store.
func (s *Store) ReadAll(ctx context.Context, recipient string, k int64) (int64, error) {
	var d inboxMarkDoc
	if err := s.findByID(ctx, colInboxMarks, readAllID(recipient, k), &d); err != nil {
		return 0, err
	}
	return d.Upto, nil
}

// prefsDoc is a resident's notification preferences in notice_prefs: the language and the
// categories turned off.
type prefsDoc struct {
	ID   string   `bson:"_id"`
	Lang string   `bson:"lang"`
	Off  []string `bson:"off"`
}

// NoticePreferences implements inbox.Store.
func (s *Store) NoticePreferences(ctx context.Context, resident string) (models.NoticePreferences, error) {
	var d prefsDoc
	err := s.findByID(ctx, colNoticePrefs, resident, &d)
	if errors.Is(err, models.ErrNotFound) {
		return models.NoticePreferences{}, nil
	}
	if err != nil {
		return models.NoticePreferences{}, err
	}
	p := models.NoticePreferences{Language: models.Language(d.Lang)}
	for _, c := range d.Off {
		p.Off = append(p.Off, models.NoticeCategory(c))
	}
	return p, nil
}

// SetNoticePreferences implements inbox.Store: a resident's own setting,
// where the last save wins.
func (s *Store) SetNoticePreferences(ctx context.Context, resident string, p models.NoticePreferences) error {
	off := []string{}
	for _, c := range p.Off {
		off = append(off, string(c))
	}
	return s.upsertByID(ctx, colNoticePrefs, resident, bson.D{{Key: "lang", Value: string(p.Language)}, {Key: "off", Value: off}})
}

// queuedDoc is an item of the delivery queue: a notification's id and,
// when queued by its cause, the notice it is written from (Kind set). An
// item without the notice (queued again by a dead letter's retry, or by a
// version that wrote the notification in the request) names a
// notification written already, or by its cause still. A batch item
// (Notices set, _id "batch:…") carries many notices under one document:
// a job's (QueueNoticeBatch).
type queuedDoc struct {
	ID        string            `bson:"_id"`
	Community string            `bson:"community,omitempty"`
	At        time.Time         `bson:"at"`
	Kind      string            `bson:"kind,omitempty"`
	Event     string            `bson:"event,omitempty"`
	Recipient string            `bson:"recipient,omitempty"`
	Args      map[string]string `bson:"args,omitempty"`
	Link      string            `bson:"link,omitempty"`
	Notices   []queuedNotice    `bson:"notices,omitempty"`
}

// queuedNotice is one notice of a batch item.
type queuedNotice struct {
	Kind      string            `bson:"kind"`
	Event     string            `bson:"event"`
	Recipient string            `bson:"recipient"`
	Community string            `bson:"community,omitempty"`
	Args      map[string]string `bson:"args,omitempty"`
	Link      string            `bson:"link,omitempty"`
}

// toQueuedDoc converts notice n, queued at at, to a delivery-queue item under its
// notification's id.
func toQueuedDoc(n models.Notice, at time.Time) queuedDoc {
	return queuedDoc{
		ID:        models.NotificationID(n.Kind, n.EventID, n.Recipient),
		Community: n.CommunityID,
		At:        at,
		Kind:      string(n.Kind),
		Event:     n.EventID,
		Recipient: n.Recipient,
		Args:      n.Args,
		Link:      n.Link,
	}
}

// model returns the stored queue item, with its notice when it was queued by its cause.
func (d queuedDoc) model() outbound.Queued {
	q := outbound.Queued{
		ID:          d.ID,
		Item:        d.ID,
		CommunityID: d.Community,
		At:          d.At.UTC(),
	}
	if d.Kind != "" {
		q.Notice = &models.Notice{
			Kind:        models.NoticeKind(d.Kind),
			EventID:     d.Event,
			Recipient:   d.Recipient,
			CommunityID: d.Community,
			Args:        d.Args,
			Link:        d.Link,
		}
	}
	return q
}

// items are the queued notifications of d: itself, or each notice of a
// batch item.
func (d queuedDoc) items() []outbound.Queued {
	if len(d.Notices) == 0 {
		return []outbound.Queued{d.model()}
	}
	out := make([]outbound.Queued, len(d.Notices))
	for i, n := range d.Notices {
		notice := models.Notice{
			Kind:        models.NoticeKind(n.Kind),
			EventID:     n.Event,
			Recipient:   n.Recipient,
			CommunityID: n.Community,
			Args:        n.Args,
			Link:        n.Link,
		}
		out[i] = outbound.Queued{
			ID:          models.NotificationID(notice.Kind, notice.EventID, notice.Recipient),
			Item:        d.ID,
			CommunityID: n.Community,
			At:          d.At.UTC(),
			Notice:      &notice,
		}
	}
	return out
}

// QueueNoticeBatch implements inbox.Store: one queue document carrying
// every notice of ns, under an id derived from their notifications' ids,
// so the same batch queued again is one item; ErrConflict then.
func (s *Store) QueueNoticeBatch(ctx context.Context, ns []models.Notice, at time.Time) error {
	if len(ns) == 0 {
		return nil
	}
	sum := sha256.New()
	d := queuedDoc{At: at, Notices: make([]queuedNotice, len(ns))}
	for i, n := range ns {
		fmt.Fprintf(sum, "%s\x00", models.NotificationID(n.Kind, n.EventID, n.Recipient))
		d.Notices[i] = queuedNotice{
			Kind:      string(n.Kind),
			Event:     n.EventID,
			Recipient: n.Recipient,
			Community: n.CommunityID,
			Args:      n.Args,
			Link:      n.Link,
		}
	}
	d.ID = "batch:" + hex.EncodeToString(sum.Sum(nil)[:16])
	return s.insert(ctx, colNotifyQueue, d)
}

// EnqueueNotification implements outbound.Store.
func (s *Store) EnqueueNotification(ctx context.Context, id, communityID string, at time.Time) error {
	return s.insert(ctx, colNotifyQueue, queuedDoc{
		ID:        id,
		Community: communityID,
		At:        at,
	})
}

// QueueNotice implements inbox.Store: the one write a request makes to
// tell someone.
func (s *Store) QueueNotice(ctx context.Context, n models.Notice, at time.Time) error {
	return s.insert(ctx, colNotifyQueue, toQueuedDoc(n, at))
}

// QueuedNotifications implements outbound.Store. The queue loses its
// items when they are delivered, so the scan stays short; the items held
// for the quiet hours that skip passes over are read and let go (a
// decode each, not the finds a pass would spend on them).
// A batch item's notices all come together, so a pass may return a few
// hundred more than limit.
func (s *Store) QueuedNotifications(ctx context.Context, limit int, skip func(item string) bool) ([]outbound.Queued, error) {
	// No limit on the query: the loop stops at limit items it keeps, so
	// the items skip passes over do not count.
	cur, err := s.c(colNotifyQueue).Find(ctx, bson.D{}, options.Find().SetBatchSize(int32(min(limit, 1000))))
	if err != nil {
		return nil, s.count(mapErr("queued notifications", err), "queued notifications")
	}
	defer cur.Close(ctx)
	var out []outbound.Queued
	for len(out) < limit && cur.Next(ctx) {
		var d queuedDoc
		if err := cur.Decode(&d); err != nil {
			return nil, s.count(mapErr("queued notifications", err), "queued notifications")
		}
		if skip != nil && skip(d.ID) {
			continue
		}
		out = append(out, d.items()...)
	}
	if err := cur.Err(); err != nil {
		return nil, s.count(mapErr("queued notifications", err), "queued notifications")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// DequeueNotification implements outbound.Store.
func (s *Store) DequeueNotification(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colNotifyQueue, id)
}

// dequeueChunk is how many queue items one delete command removes: the
// command holds the write turn while the embedded store runs its
// statements one by one, so a long one would hold up the requests'
// writes.
const dequeueChunk = 64

// DequeueNotifications implements outbound.Store: one delete command per
// dequeueChunk items (one statement each, by _id, so the embedded store
// finds each item by its key instead of scanning the queue).
func (s *Store) DequeueNotifications(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), dequeueChunk)]
		ids = ids[len(chunk):]
		deletes := make([]mongo.WriteModel, len(chunk))
		for i, id := range chunk {
			deletes[i] = mongo.NewDeleteOneModel().SetFilter(byID(id))
		}
		err := s.write(ctx, func() error {
			_, err := s.c(colNotifyQueue).BulkWrite(ctx, deletes, options.BulkWrite().SetOrdered(false))
			return err
		})
		if err != nil {
			return s.count(mapErr("delete many "+colNotifyQueue, err), "delete many "+colNotifyQueue)
		}
	}
	return nil
}

// attemptDoc is one step of a delivery in deliveries, inserted once: an attempt, a
// failure, the message sent, or a dead letter revived.
type attemptDoc struct {
	ID         string    `bson:"_id"`
	Sender     string    `bson:"sender"`
	Message    string    `bson:"message"`
	N          int       `bson:"n"`
	At         time.Time `bson:"at"`
	LeaseUntil time.Time `bson:"lease_until,omitempty"`
	NextAt     time.Time `bson:"next_at,omitempty"`
	Error      string    `bson:"error,omitempty"`
	Actor      string    `bson:"actor,omitempty"`
}

// deliveryID is the _id in deliveries of step kind (try, fail, sent, revive) number n of
// message msg at sender.
func deliveryID(kind, sender, msg string, n int) string {
	return fmt.Sprintf("%s:%s:%d:%s", kind, sender, n, msg)
}

// InsertAttempt implements outbound.Store.
func (s *Store) InsertAttempt(ctx context.Context, a outbound.Attempt) error {
	return s.insert(ctx, colDeliveries, attemptDoc{
		ID:         deliveryID("try", a.Sender, a.MessageID, a.N),
		Sender:     a.Sender,
		Message:    a.MessageID,
		N:          a.N,
		At:         a.At,
		LeaseUntil: a.LeaseUntil,
	})
}

// DeliveryAttempt implements outbound.Store.
func (s *Store) DeliveryAttempt(ctx context.Context, sender, msg string, n int) (outbound.Attempt, error) {
	var d attemptDoc
	if err := s.findByID(ctx, colDeliveries, deliveryID("try", sender, msg, n), &d); err != nil {
		return outbound.Attempt{}, err
	}
	return outbound.Attempt{
		Sender:     d.Sender,
		MessageID:  d.Message,
		N:          d.N,
		At:         d.At.UTC(),
		LeaseUntil: d.LeaseUntil.UTC(),
	}, nil
}

// InsertFailure implements outbound.Store.
func (s *Store) InsertFailure(ctx context.Context, f outbound.Failure) error {
	return s.insert(ctx, colDeliveries, attemptDoc{
		ID:      deliveryID("fail", f.Sender, f.MessageID, f.N),
		Sender:  f.Sender,
		Message: f.MessageID,
		N:       f.N,
		At:      f.At,
		NextAt:  f.NextAt,
		Error:   f.Error,
	})
}

// DeliveryFailure implements outbound.Store.
func (s *Store) DeliveryFailure(ctx context.Context, sender, msg string, n int) (outbound.Failure, error) {
	var d attemptDoc
	if err := s.findByID(ctx, colDeliveries, deliveryID("fail", sender, msg, n), &d); err != nil {
		return outbound.Failure{}, err
	}
	return outbound.Failure{
		Sender:    d.Sender,
		MessageID: d.Message,
		N:         d.N,
		At:        d.At.UTC(),
		NextAt:    d.NextAt.UTC(),
		Error:     d.Error,
	}, nil
}

// InsertSent implements outbound.Store.
func (s *Store) InsertSent(ctx context.Context, sender, msg string, n int, at time.Time) error {
	return s.insert(ctx, colDeliveries, attemptDoc{
		ID:      deliveryID("sent", sender, msg, 0),
		Sender:  sender,
		Message: msg,
		N:       n,
		At:      at,
	})
}

// Sent implements outbound.Store.
func (s *Store) Sent(ctx context.Context, sender, msg string) (bool, error) {
	return s.exists(ctx, colDeliveries, deliveryID("sent", sender, msg, 0))
}

// InsertRevival implements outbound.Store.
func (s *Store) InsertRevival(ctx context.Context, sender, msg string, g int, actor string, at time.Time) error {
	return s.insert(ctx, colDeliveries, attemptDoc{
		ID:      deliveryID("revive", sender, msg, g),
		Sender:  sender,
		Message: msg,
		N:       g,
		At:      at,
		Actor:   actor,
	})
}

// Revived implements outbound.Store.
func (s *Store) Revived(ctx context.Context, sender, msg string, g int) (bool, error) {
	return s.exists(ctx, colDeliveries, deliveryID("revive", sender, msg, g))
}

// deadLetterDoc is a message a sender gave up on, in dead_letters until staff retry it.
type deadLetterDoc struct {
	ID         string    `bson:"_id"`
	Sender     string    `bson:"sender"`
	Message    string    `bson:"message"`
	Community  string    `bson:"community"`
	Recipient  string    `bson:"recipient"`
	Kind       string    `bson:"kind"`
	Generation int       `bson:"generation"`
	Attempts   int       `bson:"attempts"`
	Error      string    `bson:"error,omitempty"`
	At         time.Time `bson:"at"`
}

// model returns the stored dead letter, its time in UTC.
func (d deadLetterDoc) model() outbound.DeadLetter {
	return outbound.DeadLetter{
		ID:          d.ID,
		Sender:      d.Sender,
		MessageID:   d.Message,
		CommunityID: d.Community,
		Recipient:   d.Recipient,
		Kind:        d.Kind,
		Generation:  d.Generation,
		Attempts:    d.Attempts,
		Error:       d.Error,
		At:          d.At.UTC(),
	}
}

// InsertDeadLetter implements outbound.Store.
func (s *Store) InsertDeadLetter(ctx context.Context, d outbound.DeadLetter) error {
	return s.insert(ctx, colDeadLetters, deadLetterDoc{
		ID:         d.ID,
		Sender:     d.Sender,
		Message:    d.MessageID,
		Community:  d.CommunityID,
		Recipient:  d.Recipient,
		Kind:       d.Kind,
		Generation: d.Generation,
		Attempts:   d.Attempts,
		Error:      d.Error,
		At:         d.At,
	})
}

// DeadLetter implements outbound.Store.
func (s *Store) DeadLetter(ctx context.Context, id string) (outbound.DeadLetter, error) {
	var d deadLetterDoc
	if err := s.findByID(ctx, colDeadLetters, id, &d); err != nil {
		return outbound.DeadLetter{}, err
	}
	return d.model(), nil
}

// DeadLetters implements outbound.Store. Dead letters leave when staff
// retry them, so the collection stays small.
func (s *Store) DeadLetters(ctx context.Context, communityID string) ([]outbound.DeadLetter, error) {
	cur, err := s.c(colDeadLetters).Find(ctx, bson.D{{Key: "community", Value: communityID}})
	out, err := allDocs(ctx, cur, err, "dead letters", deadLetterDoc.model)
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, s.count(err, "dead letters")
}

// DeleteDeadLetter implements outbound.Store.
func (s *Store) DeleteDeadLetter(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colDeadLetters, id)
}

var (
	_ inbox.Store    = (*Store)(nil)
	_ outbound.Store = (*Store)(nil)
)

// insertMany inserts docs into col in one unordered batch (one commit on
// the embedded store) and reports which of them existed already.
func (s *Store) insertMany(ctx context.Context, col string, docs []any) ([]bool, error) {
	existed := make([]bool, len(docs))
	if len(docs) == 0 {
		return existed, nil
	}
	err := s.write(ctx, func() error {
		_, err := s.c(col).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		return err
	})
	if err == nil {
		return existed, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, s.count(mapErr("insert many "+col, err), "insert many "+col)
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return nil, s.count(mapErr("insert many "+col, err), "insert many "+col)
		}
		existed[we.Index] = true
	}
	return existed, nil
}

// QueueNotices implements inbox.Store: one batch; items queued already
// are left as they are.
func (s *Store) QueueNotices(ctx context.Context, ns []models.Notice, at time.Time) error {
	docs := make([]any, len(ns))
	for i, n := range ns {
		docs[i] = toQueuedDoc(n, at)
	}
	_, err := s.insertMany(ctx, colNotifyQueue, docs)
	return err
}

// InsertNotifications implements inbox.Store.
func (s *Store) InsertNotifications(ctx context.Context, ns []models.Notification, from []int64) ([]bool, error) {
	docs := make([]any, len(ns))
	for i, n := range ns {
		d := toNotificationDoc(n.ID, n, from[i])
		d.Seq = 0
		docs[i] = d
	}
	return s.insertMany(ctx, colNotifications, docs)
}

// InsertInboxEntries implements inbox.Store.
func (s *Store) InsertInboxEntries(ctx context.Context, ns []models.Notification) ([]bool, error) {
	docs := make([]any, len(ns))
	for i, n := range ns {
		d := toNotificationDoc(inboxEntryID(n.Recipient, n.Seq), n, 0)
		d.Note = n.ID
		docs[i] = d
	}
	return s.insertMany(ctx, colInbox, docs)
}
