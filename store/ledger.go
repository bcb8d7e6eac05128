package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// entryDoc is a ledger entry as stored in ledger_entries; its _id is
// account:seq.
type entryDoc struct {
	ID             string    `bson:"_id"`
	Resident       string    `bson:"resident"`
	Asset          string    `bson:"asset"`
	Community      string    `bson:"community"`
	Seq            int64     `bson:"seq"`
	Delta          int64     `bson:"delta"`
	BalanceAfter   int64     `bson:"balance_after"`
	Kind           string    `bson:"kind"`
	Ref            string    `bson:"ref,omitempty"`
	Reason         string    `bson:"reason,omitempty"`
	IdempotencyKey string    `bson:"idempotency_key,omitempty"`
	Op             string    `bson:"op,omitempty"`
	PolicyVersion  int       `bson:"policy_version"`
	Floor          int64     `bson:"floor"`
	Actor          string    `bson:"actor"`
	At             time.Time `bson:"at"`
	Slots          []slotRef `bson:"slots,omitempty"` // a staff adjustment's place on its community's list
}

// toEntryDoc returns entry e as stored.
func toEntryDoc(e models.Entry) entryDoc {
	return entryDoc{
		ID:             e.ID(),
		Resident:       e.Account.ResidentID,
		Asset:          string(e.Account.Asset),
		Community:      e.CommunityID,
		Seq:            e.Seq,
		Delta:          e.Delta,
		BalanceAfter:   e.BalanceAfter,
		Kind:           string(e.Kind),
		Ref:            e.Ref,
		Reason:         e.Reason,
		IdempotencyKey: e.IdempotencyKey,
		Op:             e.OpID,
		PolicyVersion:  e.PolicyVersion,
		Floor:          e.Floor,
		Actor:          e.Actor,
		At:             e.At,
	}
}

// model returns the stored entry.
func (d entryDoc) model() models.Entry {
	return models.Entry{
		Account:        models.Account{ResidentID: d.Resident, Asset: models.Asset(d.Asset)},
		CommunityID:    d.Community,
		Seq:            d.Seq,
		Delta:          d.Delta,
		BalanceAfter:   d.BalanceAfter,
		Kind:           models.EntryKind(d.Kind),
		Ref:            d.Ref,
		Reason:         d.Reason,
		IdempotencyKey: d.IdempotencyKey,
		OpID:           d.Op,
		PolicyVersion:  d.PolicyVersion,
		Floor:          d.Floor,
		Actor:          d.Actor,
		At:             d.At.UTC(),
	}
}

// InsertEntry implements ledger.Store. A staff award or deduction is also
// put on its community's list of adjustments (the audit trail reads it),
// in the same insert (lists.go); a slot left by an entry that lost its
// seq to another writer names nothing and is skipped.
func (s *Store) InsertEntry(ctx context.Context, e models.Entry) error {
	lists := adjustmentLists(e)
	if len(lists) == 0 {
		return s.insert(ctx, colEntries, toEntryDoc(e))
	}
	_, err := s.insertListed(ctx, colEntries, lists, e.ID(), e.At, func(slots []slotRef) any {
		d := toEntryDoc(e)
		d.Slots = slots
		return d
	})
	return err
}

// adjustmentKinds are the kinds of entry the audit trail lists as staff
// adjustments.
var adjustmentKinds = map[models.EntryKind]bool{models.KindAward: true, models.KindDeduct: true}

// adjustmentLists are the lists entry e is on: its community's list of
// staff adjustments, if it is one.
func adjustmentLists(e models.Entry) []string {
	if !adjustmentKinds[e.Kind] || e.CommunityID == "" {
		return nil
	}
	return []string{"adj:" + e.CommunityID}
}

// Entry implements ledger.Store.
func (s *Store) Entry(ctx context.Context, acct models.Account, seq int64) (models.Entry, error) {
	var d entryDoc
	if err := s.findByID(ctx, colEntries, acct.EntryID(seq), &d); err != nil {
		return models.Entry{}, err
	}
	return d.model(), nil
}

// entryReaders is how many entries Entries reads at once.
const entryReaders = 4

// Entries implements ledger.Store: the entries of acct at seqs that exist,
// in the order asked. It reads by exact _id, entryReaders at a time,
// because an _id range or $in is a full scan on the embedded store; the
// first failed read stops the rest.
func (s *Store) Entries(ctx context.Context, acct models.Account, seqs []int64) ([]models.Entry, error) {
	out := make([]models.Entry, len(seqs))
	have := make([]bool, len(seqs))
	reads, readCtx := errgroup.WithContext(ctx)
	reads.SetLimit(entryReaders)
	for i, seq := range seqs {
		reads.Go(func() error {
			e, err := s.Entry(readCtx, acct, seq)
			switch {
			case err == nil:
				out[i], have[i] = e, true
			case !errors.Is(err, models.ErrNotFound):
				return err
			}
			return nil
		})
	}
	if err := reads.Wait(); err != nil {
		return nil, err
	}
	res := make([]models.Entry, 0, len(seqs))
	for i := range out {
		if have[i] {
			res = append(res, out[i])
		}
	}
	return res, nil
}

// EachEntry implements ledger.Store, streaming with a cursor, unsorted:
// on the embedded store a sort is done in memory over every document
// before the first is returned (the audit groups the entries itself).
// Only the fields an audit checks are read (auditedFields); the cursor is
// read a batch ahead of fn (eachDocAhead).
func (s *Store) EachEntry(ctx context.Context, fn func(models.Entry) error) error {
	cur, err := s.c(colEntries).Find(ctx, bson.D{}, options.Find().SetBatchSize(1000).SetProjection(auditedFields))
	return eachDocAhead(ctx, cur, err, "scan entries", func(d entryDoc) error {
		if isSlot(d.ID) {
			return nil // a staff adjustment's place on its list, not an entry
		}
		return fn(d.model())
	})
}

// auditedFields are the fields of an entry EachEntry reads: its account,
// place in it, amount, balance after, floor and operation.
var auditedFields = fieldsOnly("resident", "asset", "seq", "delta", "balance_after", "floor", "op")

// headDoc is an account's head hint as stored in ledger_heads.
type headDoc struct {
	ID      string `bson:"_id"`
	Seq     int64  `bson:"seq"`
	Balance int64  `bson:"balance"`
}

// HeadHint implements ledger.Store.
func (s *Store) HeadHint(ctx context.Context, acct models.Account) (models.Balance, error) {
	var d headDoc
	err := s.findByID(ctx, colHeads, acct.String(), &d)
	if errors.Is(err, models.ErrNotFound) {
		return models.Balance{Account: acct}, nil
	}
	if err != nil {
		return models.Balance{}, err
	}
	return models.Balance{
		Account: acct,
		Seq:     d.Seq,
		Amount:  d.Balance,
	}, nil
}

// SaveHeadHint implements ledger.Store. Two writers may leave the older of
// their heads; a hint that is behind only costs a reader a few steps.
func (s *Store) SaveHeadHint(ctx context.Context, b models.Balance) error {
	return s.replaceByID(ctx, colHeads, b.Account.String(), headDoc{
		ID:      b.Account.String(),
		Seq:     b.Seq,
		Balance: b.Amount,
	}, true)
}

// opDoc is a claimed ledger op as stored in ledger_ops.
type opDoc struct {
	ID       string    `bson:"_id"`
	Hash     string    `bson:"hash"`
	Resident string    `bson:"resident"`
	Asset    string    `bson:"asset"`
	BaseSeq  int64     `bson:"base_seq"`
	Seq      int64     `bson:"seq"`
	Rejected string    `bson:"rejected,omitempty"`
	At       time.Time `bson:"at"`
}

// InsertOp implements ledger.Store.
func (s *Store) InsertOp(ctx context.Context, op ledger.Op) error {
	return s.insert(ctx, colOps, opDoc{
		ID:       op.ID,
		Hash:     op.Hash,
		Resident: op.Account.ResidentID,
		Asset:    string(op.Account.Asset),
		BaseSeq:  op.BaseSeq,
		Seq:      op.Seq,
		Rejected: string(op.Rejected),
		At:       op.At,
	})
}

// Op implements ledger.Store.
func (s *Store) Op(ctx context.Context, id string) (ledger.Op, error) {
	var d opDoc
	if err := s.findByID(ctx, colOps, id, &d); err != nil {
		return ledger.Op{}, err
	}
	return ledger.Op{
		ID:       d.ID,
		Hash:     d.Hash,
		Account:  models.Account{ResidentID: d.Resident, Asset: models.Asset(d.Asset)},
		BaseSeq:  d.BaseSeq,
		Seq:      d.Seq,
		Rejected: models.Code(d.Rejected),
		At:       d.At.UTC(),
	}, nil
}

// SetOpSeq implements ledger.Store.
func (s *Store) SetOpSeq(ctx context.Context, id string, seq int64) error {
	return s.setByID(ctx, colOps, id, bson.D{{Key: "seq", Value: seq}})
}

// SetOpRejected implements ledger.Store.
func (s *Store) SetOpRejected(ctx context.Context, id string, code models.Code) error {
	return s.setByID(ctx, colOps, id, bson.D{{Key: "rejected", Value: string(code)}})
}

// transferDoc is a transfer as stored in transfers.
type transferDoc struct {
	ID        string    `bson:"_id"`
	Hash      string    `bson:"hash"`
	Community string    `bson:"community"`
	From      string    `bson:"from"`
	To        string    `bson:"to"`
	Asset     string    `bson:"asset"`
	Amount    int64     `bson:"amount"`
	Floor     int64     `bson:"floor"`
	Kind      string    `bson:"kind,omitempty"`
	Ref       string    `bson:"ref,omitempty"`
	Reason    string    `bson:"reason,omitempty"`
	Key       string    `bson:"key,omitempty"`
	Actor     string    `bson:"actor"`
	Policy    int       `bson:"policy_version"`
	At        time.Time `bson:"at"`
}

// toTransferDoc returns transfer t as stored.
func toTransferDoc(t ledger.Transfer) transferDoc {
	return transferDoc{
		ID:        t.ID,
		Hash:      t.Hash,
		Community: t.CommunityID,
		From:      t.From.ResidentID,
		To:        t.To.ResidentID,
		Asset:     string(t.From.Asset),
		Amount:    t.Amount,
		Floor:     t.Floor,
		Kind:      t.Kind,
		Ref:       t.Ref,
		Reason:    t.Reason,
		Key:       t.Key,
		Actor:     t.Actor,
		Policy:    t.Policy,
		At:        t.At,
	}
}

// model returns the stored transfer.
func (d transferDoc) model() ledger.Transfer {
	a := models.Asset(d.Asset)
	return ledger.Transfer{
		ID:          d.ID,
		Hash:        d.Hash,
		CommunityID: d.Community,
		From:        models.AccountOf(d.From, a),
		To:          models.AccountOf(d.To, a),
		Amount:      d.Amount,
		Floor:       d.Floor,
		Kind:        d.Kind,
		Ref:         d.Ref,
		Reason:      d.Reason,
		Key:         d.Key,
		Actor:       d.Actor,
		Policy:      d.Policy,
		At:          d.At.UTC(),
	}
}

// InsertTransfer implements ledger.Store: the intent first (the commit
// point), then its place on the queue; a crash between the two is healed by
// the repeat, which finds the intent and queues it again.
func (s *Store) InsertTransfer(ctx context.Context, t ledger.Transfer) error {
	d := toTransferDoc(t)
	if err := s.insert(ctx, colTransfers, d); err != nil {
		return err
	}
	if err := s.insert(ctx, colTransferQueue, d); err != nil && !errors.Is(err, models.ErrConflict) {
		return err
	}
	return nil
}

// Transfer implements ledger.Store.
func (s *Store) Transfer(ctx context.Context, id string) (ledger.Transfer, error) {
	var d transferDoc
	if err := s.findByID(ctx, colTransfers, id, &d); err != nil {
		return ledger.Transfer{}, err
	}
	return d.model(), nil
}

// PendingTransfers implements ledger.Store; the queue stays small.
func (s *Store) PendingTransfers(ctx context.Context, cutoff time.Time) ([]ledger.Transfer, error) {
	cur, err := s.c(colTransferQueue).Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	return allDocs(ctx, cur, err, "pending transfers", transferDoc.model)
}

// DoneTransfer implements ledger.Store.
func (s *Store) DoneTransfer(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colTransferQueue, id)
}

var _ ledger.Store = (*Store)(nil)
