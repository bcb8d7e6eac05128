package ledger

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
)

// Op is the record of one posting, keyed by its scoped idempotency key.
type Op struct {
	ID      string
	Hash    string
	Account models.Account
	// BaseSeq is the account's head seq read before the op was recorded; the
	// op's entry, if any, has a higher seq.
	BaseSeq int64
	// Seq is the seq of the op's entry once it is known, else 0.
	Seq int64
	// Rejected is the code the op was refused with, else "".
	Rejected models.Code
	At       time.Time
}

// Transfer is the intent of moving value between two residents.
type Transfer struct {
	ID          string // scoped idempotency key
	Hash        string
	CommunityID string
	From, To    models.Account
	Amount      int64
	Floor       int64 // lowest balance the sender may reach
	Kind        string
	Ref         string
	Reason      string
	Key         string
	Actor       string
	Policy      int
	At          time.Time
}

// Store is what the ledger needs from the database. Every method is an
// insert or an exact-key read or write.
type Store interface {
	// InsertEntry adds e. It returns models.ErrConflict if the account
	// already has an entry with e's seq.
	InsertEntry(ctx context.Context, e models.Entry) error
	// Entry returns entry seq of acct, or models.ErrNotFound.
	Entry(ctx context.Context, acct models.Account, seq int64) (models.Entry, error)
	// Entries returns the entries of acct with the given seqs, in that order,
	// skipping any that do not exist.
	Entries(ctx context.Context, acct models.Account, seqs []int64) ([]models.Entry, error)
	// HeadHint returns the cached (seq, balance) of acct; zero if none.
	HeadHint(ctx context.Context, acct models.Account) (models.Balance, error)
	// SaveHeadHint records b as the account's head if it is newer.
	SaveHeadHint(ctx context.Context, b models.Balance) error

	// InsertOp records op; models.ErrConflict if its ID exists.
	InsertOp(ctx context.Context, op Op) error
	// Op returns the op with id, or models.ErrNotFound.
	Op(ctx context.Context, id string) (Op, error)
	// SetOpSeq records the seq of an op's entry.
	SetOpSeq(ctx context.Context, id string, seq int64) error
	// SetOpRejected records that an op was refused with code.
	SetOpRejected(ctx context.Context, id string, code models.Code) error

	// InsertTransfer records t, and queues it until its credit lands;
	// models.ErrConflict if its ID exists.
	InsertTransfer(ctx context.Context, t Transfer) error
	// Transfer returns the transfer with id, or models.ErrNotFound.
	Transfer(ctx context.Context, id string) (Transfer, error)
	// PendingTransfers lists queued transfers started before cutoff.
	PendingTransfers(ctx context.Context, cutoff time.Time) ([]Transfer, error)
	// DoneTransfer takes a transfer off the queue.
	DoneTransfer(ctx context.Context, id string) error

	// EachEntry calls fn for every entry, in no particular order, with
	// the fields an audit checks (account, seq, delta, balance after,
	// floor and operation); the others are left zero.
	EachEntry(ctx context.Context, fn func(models.Entry) error) error
}
