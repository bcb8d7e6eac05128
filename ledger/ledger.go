package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"time"

	"github.com/linli-community/linli/models"
	"golang.org/x/sync/singleflight"
)

// Observer is told about postings, for metrics. Its methods must be cheap
// and must not fail.
type Observer interface {
	// Posted is called once per entry written.
	Posted(kind models.EntryKind)
	// Replayed is called when a repeated request got its first answer back.
	Replayed()
}

// noObserver is the Observer of a ledger nobody observes: it does nothing.
type noObserver struct{}

// Posted implements Observer by doing nothing.
func (noObserver) Posted(models.EntryKind) {}

// Replayed implements Observer by doing nothing.
func (noObserver) Replayed() {}

// Ledger posts to and reads resident accounts.
type Ledger struct {
	store Store
	now   func() time.Time
	obs   Observer

	mu    sync.Mutex
	heads map[models.Account]models.Balance // in-process hint, never the truth

	// recent holds entries this process wrote or read. Entries are never
	// changed, so a cached one is always right; only "there is no entry
	// seq" must be asked of the store every time.
	recent *lru.Cache[string, models.Entry]

	// outcomes holds, by op id, the entries Outcome found: an op's entry,
	// once written, is its outcome for ever.
	outcomes *lru.Cache[string, models.Entry]

	// flight joins concurrent repeats of one posting in this process into
	// one execution; repeats on other replicas meet at the op record.
	flight singleflight.Group
}

// New returns a ledger over s; now is the clock.
func New(s Store, now func() time.Time) *Ledger {
	recent, _ := lru.New[string, models.Entry](recentEntries) // fails only for a size below 1
	outcomes, _ := lru.New[string, models.Entry](recentEntries)
	return &Ledger{
		store:    s,
		now:      now,
		obs:      noObserver{},
		heads:    map[models.Account]models.Balance{},
		recent:   recent,
		outcomes: outcomes,
	}
}

// recentEntries bounds the cache of entries: a few MiB, enough for the
// first history pages of the residents active at one time.
const recentEntries = 10_000

// entry is entry seq of acct, from the cache or the store.
func (l *Ledger) entry(ctx context.Context, acct models.Account, seq int64) (models.Entry, error) {
	if e, ok := l.recent.Get(acct.EntryID(seq)); ok {
		return e, nil
	}
	e, err := l.store.Entry(ctx, acct, seq)
	if err == nil {
		l.recent.Add(e.ID(), e)
	}
	return e, err
}

// Observe sends posting events to o (metrics).
func (l *Ledger) Observe(o Observer) { l.obs = o }

// stamp is now at the store's precision (milliseconds), so an entry read
// back is identical to the one first returned, and a replayed answer is
// byte for byte the first.
func (l *Ledger) stamp() time.Time { return l.now().UTC().Truncate(time.Millisecond) }

// Posting is one change of one account.
type Posting struct {
	// OpID is the scoped idempotency key (who + what + client key); a repeat
	// with the same OpID and Hash returns the first entry.
	OpID string
	// Hash identifies the request; the same OpID with another Hash is refused
	// with models.ErrIdempotencyMismatch.
	Hash           string
	Account        models.Account
	CommunityID    string
	Delta          int64
	Kind           models.EntryKind
	Ref            string
	Reason         string
	IdempotencyKey string
	PolicyVersion  int
	// Floor is the lowest balance a debit may leave (0 unless a policy allows
	// debt, which is then negative).
	Floor int64
	Actor string
}

// validate returns an error naming what makes p unpostable: no op id,
// account or kind, an amount out of range, or a positive floor.
func (p Posting) validate() error {
	switch {
	case p.OpID == "":
		return fmt.Errorf("ledger: posting without op id: %w", models.ErrIdempotencyKey)
	case p.Account.ResidentID == "" || p.CommunityID == "":
		return fmt.Errorf("ledger: posting without account or community: %w", models.ErrValidation)
	case p.Delta == 0 || p.Delta > models.MaxAmount || p.Delta < -models.MaxAmount:
		return models.ErrValidation.Withf("数额须在 1 到 %d 之间。", "amount must be between 1 and %d", models.MaxAmount)
	case p.Floor > 0:
		return fmt.Errorf("ledger: positive floor: %w", models.ErrValidation)
	case p.Kind == "":
		return fmt.Errorf("ledger: posting without kind: %w", models.ErrValidation)
	}
	return nil
}

// insufficient returns the refusal for a debit that would take asset a
// below its floor: hours or points.
func insufficient(a models.Asset) error {
	if a == models.AssetHours {
		return models.ErrInsufficientHours
	}
	return models.ErrInsufficientPoints
}

// Post appends one entry to p.Account, exactly once per p.OpID. A debit that
// would take the balance below p.Floor is refused with
// models.ErrInsufficientPoints (or Hours) and writes no entry.
func (l *Ledger) Post(ctx context.Context, p Posting) (models.Entry, error) {
	if err := p.validate(); err != nil {
		return models.Entry{}, err
	}
	// Keyed by the whole request, so a repeat with another body still runs
	// on its own and is told it reused the key.
	v, err, _ := l.flight.Do(p.OpID+"\x00"+p.Hash+"\x00"+p.Account.String(), func() (any, error) {
		return l.post(ctx, p)
	})
	e, _ := v.(models.Entry)
	return e, err
}

// post appends p as the next entry of its account, exactly once per op id:
// it claims the op, then inserts at the head it knows and reads forward on
// a collision. A repeated op returns the entry its first attempt wrote.
func (l *Ledger) post(ctx context.Context, p Posting) (models.Entry, error) {
	// The head this process last wrote or read is trusted without a read:
	// if another replica has written since, the insert of the next entry
	// collides with its entry and the loop below reads on from there.
	var err error
	head, known := l.known(p.Account)
	if !known {
		if head, _, err = l.walk(ctx, p.Account, l.hint(ctx, p.Account), ""); err != nil {
			return models.Entry{}, err
		}
	}
	op := Op{
		ID:      p.OpID,
		Hash:    p.Hash,
		Account: p.Account,
		BaseSeq: head.Seq,
		At:      l.stamp(),
	}
	err = l.store.InsertOp(ctx, op)
	repeat := false
	switch {
	case errors.Is(err, models.ErrConflict):
		prior, err := l.store.Op(ctx, p.OpID)
		if err != nil {
			return models.Entry{}, fmt.Errorf("ledger: read op: %w", err)
		}
		if prior.Hash != p.Hash || prior.Account != p.Account {
			return models.Entry{}, models.ErrIdempotencyMismatch
		}
		l.obs.Replayed()
		if prior.Seq > 0 {
			return l.entry(ctx, p.Account, prior.Seq)
		}
		if prior.Rejected != "" {
			return models.Entry{}, &models.Error{Code: prior.Rejected}
		}
		op, repeat = prior, true
	case err != nil:
		return models.Entry{}, fmt.Errorf("ledger: record op: %w", err)
	}

	// A repeat must look for its entry from the op's base: the first attempt
	// may have written it before failing to answer.
	from := head
	if repeat {
		from = models.Balance{Account: p.Account, Seq: op.BaseSeq}
		if op.BaseSeq > 0 {
			e, err := l.entry(ctx, p.Account, op.BaseSeq)
			if err != nil {
				return models.Entry{}, fmt.Errorf("ledger: read base: %w", err)
			}
			from.Amount = e.BalanceAfter
		}
	}
	if repeat {
		// The first request is probably still at work: give it a moment to
		// land its entry before posting on its behalf (it may have died),
		// so a burst of repeats does not become a burst of inserts.
		e, rejected, err := l.awaitOp(ctx, op, from)
		if err != nil || e != nil {
			return derefEntry(e), err
		}
		if rejected != "" {
			return models.Entry{}, &models.Error{Code: rejected}
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 || repeat {
			var found *models.Entry
			head, found, err = l.walk(ctx, p.Account, from, p.OpID)
			if err != nil {
				return models.Entry{}, err
			}
			if found != nil {
				if repeat && found.Seq-op.BaseSeq > 8 {
					_ = l.store.SetOpSeq(ctx, op.ID, found.Seq) // spares later repeats the long walk
				}
				return *found, nil
			}
		}
		next, ok := models.AddChecked(head.Amount, p.Delta)
		if !ok {
			return models.Entry{}, fmt.Errorf("ledger: balance overflow on %s", p.Account)
		}
		if p.Delta < 0 && next < p.Floor {
			_ = l.store.SetOpRejected(ctx, op.ID, models.CodeOf(insufficient(p.Account.Asset)))
			return models.Entry{}, insufficient(p.Account.Asset)
		}
		e := models.Entry{
			Account:        p.Account,
			CommunityID:    p.CommunityID,
			Seq:            head.Seq + 1,
			Delta:          p.Delta,
			BalanceAfter:   next,
			Kind:           p.Kind,
			Ref:            p.Ref,
			Reason:         p.Reason,
			IdempotencyKey: p.IdempotencyKey,
			OpID:           p.OpID,
			PolicyVersion:  p.PolicyVersion,
			Floor:          p.Floor,
			Actor:          p.Actor,
			At:             l.stamp(),
		}
		err = l.store.InsertEntry(ctx, e)
		if err == nil {
			l.recent.Add(e.ID(), e)
			l.remember(ctx, models.Balance{
				Account: p.Account,
				Seq:     e.Seq,
				Amount:  e.BalanceAfter,
			}, 0)
			l.obs.Posted(e.Kind)
			return e, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return models.Entry{}, fmt.Errorf("ledger: insert entry: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return models.Entry{}, err
		}
		// Someone else took seq head+1: read on from there and try again.
		from = head
	}
}

// opPatience is how long a repeat waits for the first request of its op
// before posting on its behalf.
const opPatience = 2 * time.Second

// awaitOp waits, while op is younger than opPatience, for its entry to
// appear after from or for it to be refused. It returns the entry, the
// refusal, or neither when the first request seems to have died.
func (l *Ledger) awaitOp(ctx context.Context, op Op, from models.Balance) (*models.Entry, models.Code, error) {
	// Bounded by the time waited too, so a clock that stands still (tests)
	// cannot keep a repeat here forever.
	wait, waited := 5*time.Millisecond, time.Duration(0)
	for ; l.now().Sub(op.At) < opPatience && waited < opPatience; waited += wait {
		_, found, err := l.walk(ctx, op.Account, from, op.ID)
		if err != nil || found != nil {
			return found, "", err
		}
		cur, err := l.store.Op(ctx, op.ID)
		if err != nil {
			return nil, "", fmt.Errorf("ledger: read op: %w", err)
		}
		if cur.Rejected != "" {
			return nil, cur.Rejected, nil
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
	return nil, "", nil
}

// derefEntry returns *e, or the zero entry for nil.
func derefEntry(e *models.Entry) models.Entry {
	if e == nil {
		return models.Entry{}
	}
	return *e
}

// Hold debits points for a redemption; Release gives a hold back.
func (l *Ledger) Hold(ctx context.Context, p Posting) (models.Entry, error) {
	if p.Delta > 0 {
		p.Delta = -p.Delta
	}
	p.Kind = models.KindHold
	return l.Post(ctx, p)
}

// Release credits back points that a hold took.
func (l *Ledger) Release(ctx context.Context, p Posting) (models.Entry, error) {
	if p.Delta < 0 {
		p.Delta = -p.Delta
	}
	p.Kind = models.KindRelease
	return l.Post(ctx, p)
}

// Reverse posts the opposite of entry seq of acct, once per entry: a second
// reversal of the same entry returns the first. A reversal that would take
// the balance below zero is refused.
func (l *Ledger) Reverse(ctx context.Context, acct models.Account, seq int64, reason, actor string) (models.Entry, error) {
	return l.ReverseFor(ctx, acct, seq, reason, actor, "")
}

// ReverseFor is Reverse on behalf of a request with the client's
// idempotency key key, which the reversal records: an entry is reversed
// once, so whoever asks again gets the first reversal back, and the key
// and actor on it tell a repeat of the request that reversed it from
// another request for the same reversal.
func (l *Ledger) ReverseFor(ctx context.Context, acct models.Account, seq int64, reason, actor, key string) (models.Entry, error) {
	orig, err := l.entry(ctx, acct, seq)
	if err != nil {
		return models.Entry{}, fmt.Errorf("ledger: reverse: %w", err)
	}
	if orig.Kind == models.KindReversal {
		return models.Entry{}, models.ErrConflict.Withf("冲正记录本身不能再冲正。", "a reversal cannot be reversed")
	}
	return l.Post(ctx, Posting{
		OpID:           "reverse:" + orig.ID(),
		Hash:           "reverse:" + orig.ID(),
		Account:        acct,
		CommunityID:    orig.CommunityID,
		Delta:          -orig.Delta,
		Kind:           models.KindReversal,
		Ref:            orig.ID(),
		Reason:         reason,
		PolicyVersion:  orig.PolicyVersion,
		Actor:          actor,
		IdempotencyKey: key,
	})
}

// Outcome is the entry posting opID wrote. It reads and writes nothing
// else: models.ErrNotFound while there is no such op or its entry is not
// (or not yet) written, and the refusal when the posting was refused. An
// entry found is remembered (outcomes), so asking again costs no read.
func (l *Ledger) Outcome(ctx context.Context, opID string) (models.Entry, error) {
	if e, ok := l.outcomes.Get(opID); ok {
		return e, nil
	}
	e, err := l.outcome(ctx, opID)
	if err == nil {
		l.outcomes.Add(opID, e)
	}
	return e, err
}

// outcome is Outcome read from the store.
func (l *Ledger) outcome(ctx context.Context, opID string) (models.Entry, error) {
	op, err := l.store.Op(ctx, opID)
	if err != nil {
		return models.Entry{}, err
	}
	if op.Rejected != "" {
		return models.Entry{}, &models.Error{Code: op.Rejected}
	}
	if op.Seq > 0 {
		return l.entry(ctx, op.Account, op.Seq)
	}
	// The entry, if written, follows the op's base; chains have no gaps,
	// so the first missing seq ends the search.
	for seq := op.BaseSeq + 1; ; seq++ {
		e, err := l.entry(ctx, op.Account, seq)
		if err != nil || e.OpID == opID {
			return e, err
		}
	}
}

// Balance returns the account's balance as of its last entry.
func (l *Ledger) Balance(ctx context.Context, acct models.Account) (models.Balance, error) {
	b, _, err := l.walk(ctx, acct, l.hint(ctx, acct), "")
	return b, err
}

// History returns up to limit entries of acct, newest first, with seq below
// before (0 means from the head), and the cursor for the next page (0 when
// there is none).
func (l *Ledger) History(ctx context.Context, acct models.Account, before int64, limit int) ([]models.Entry, int64, error) {
	if limit <= 0 || limit > 100 {
		return nil, 0, models.ErrValidation.Withf("每页条数须在 1 到 100 之间。", "limit must be between 1 and 100")
	}
	if before <= 0 {
		head, err := l.Balance(ctx, acct)
		if err != nil {
			return nil, 0, err
		}
		before = head.Seq + 1
	}
	var seqs []int64
	for s := before - 1; s >= 1 && len(seqs) < limit; s-- {
		seqs = append(seqs, s)
	}
	if len(seqs) == 0 {
		return []models.Entry{}, 0, nil
	}
	entries, err := l.entries(ctx, acct, seqs)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: history: %w", err)
	}
	next := seqs[len(seqs)-1]
	if next <= 1 {
		next = 0
	}
	return entries, next, nil
}

// known is the head of acct this process last wrote or read, if any.
func (l *Ledger) known(acct models.Account) (models.Balance, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.heads[acct]
	return b, ok
}

// hint is the best known head of acct without walking: the in-process cache
// or the stored head record.
func (l *Ledger) hint(ctx context.Context, acct models.Account) models.Balance {
	if b, ok := l.known(acct); ok {
		return b
	}
	b, err := l.store.HeadHint(ctx, acct)
	if err != nil || b.Seq < 0 {
		return models.Balance{Account: acct}
	}
	b.Account = acct
	return b
}

// hintEvery is how often (in entries) the stored head hint is refreshed.
// This process keeps its own hint in memory; other replicas and the next
// start read the stored one and walk at most hintEvery-1 entries from it,
// which costs less than an update on every posting.
//
// 4 rather than more because the walk is what a replica pays for every
// account it has not touched since it started: an award to a resident
// with 40 entries reads at most 4 entries, not 16, for a quarter of an
// extra write per posting (docs/PERFORMANCE.md).
const hintEvery = 4

// remember keeps b as its account's head in this process if it is newer
// than the one kept, and stores it as the head hint every hintEvery entries
// or after a walk of that many.
func (l *Ledger) remember(ctx context.Context, b models.Balance, walked int) {
	l.mu.Lock()
	if cur, ok := l.heads[b.Account]; !ok || cur.Seq < b.Seq {
		l.heads[b.Account] = b
	}
	l.mu.Unlock()
	if b.Seq%hintEvery == 0 || walked >= hintEvery {
		// The stored hint only saves later readers some steps: a failure
		// here costs nothing but speed.
		_ = l.store.SaveHeadHint(ctx, b)
	}
}

// walk reads forward from b until the next entry is missing and returns the
// true head. If opID is not empty it also returns the entry written by that
// op, if the walk passes one.
func (l *Ledger) walk(ctx context.Context, acct models.Account, b models.Balance, opID string) (models.Balance, *models.Entry, error) {
	var found *models.Entry
	steps := 0
	for {
		e, err := l.entry(ctx, acct, b.Seq+1)
		if errors.Is(err, models.ErrNotFound) {
			break
		}
		if err != nil {
			return b, nil, fmt.Errorf("ledger: read %s seq %d: %w", acct, b.Seq+1, err)
		}
		b = models.Balance{
			Account: acct,
			Seq:     e.Seq,
			Amount:  e.BalanceAfter,
		}
		if opID != "" && e.OpID == opID {
			found = &e
		}
		steps++
	}
	if steps > 0 {
		l.remember(ctx, b, steps)
	}
	return b, found, nil
}

// Entry returns entry seq of acct, or models.ErrNotFound.
func (l *Ledger) Entry(ctx context.Context, acct models.Account, seq int64) (models.Entry, error) {
	return l.entry(ctx, acct, seq)
}

// entries are the entries seqs of acct that exist, in the order of seqs,
// from the cache where it has them.
func (l *Ledger) entries(ctx context.Context, acct models.Account, seqs []int64) ([]models.Entry, error) {
	found := make(map[int64]models.Entry, len(seqs))
	var missing []int64
	for _, seq := range seqs {
		if e, ok := l.recent.Get(acct.EntryID(seq)); ok {
			found[seq] = e
		} else {
			missing = append(missing, seq)
		}
	}
	if len(missing) > 0 {
		read, err := l.store.Entries(ctx, acct, missing)
		if err != nil {
			return nil, err
		}
		for _, e := range read {
			found[e.Seq] = e
			l.recent.Add(e.ID(), e)
		}
	}
	out := make([]models.Entry, 0, len(seqs))
	for _, seq := range seqs {
		if e, ok := found[seq]; ok {
			out = append(out, e)
		}
	}
	return out, nil
}
