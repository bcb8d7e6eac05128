package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func newLedger(t *testing.T) (*ledger.Ledger, *store.Store) {
	t.Helper()
	s := storetest.New(t)
	return ledger.New(s, time.Now), s
}

func mustPost(t *testing.T, l *ledger.Ledger, acct models.Account, delta int64, op string) models.Entry {
	t.Helper()
	e, err := l.Post(context.Background(), ledger.Posting{
		OpID:        op,
		Hash:        op,
		Account:     acct,
		CommunityID: "c1",
		Delta:       delta,
		Kind:        models.KindAward,
		Actor:       "staff",
	})
	if err != nil {
		t.Fatalf("post %d to %s: %v", delta, acct, err)
	}
	return e
}

func mustAuditOK(t *testing.T, l *ledger.Ledger) ledger.AuditReport {
	t.Helper()
	r, err := l.Audit(context.Background())
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	if !r.OK() {
		t.Fatalf("audit found problems: %+v", r.Problems)
	}
	return r
}

// Invariant 1 (docs/ARCHITECTURE.md §8): N parallel spends against a balance that covers k of them
// succeed exactly k times, and the balance never goes below zero.
func TestConcurrentSpendsNeverOverdraw(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	acct := models.AccountOf("r1", models.AssetPoints)
	const spends, cost, k = 40, 10, 13
	mustPost(t, l, acct, cost*k+5, "seed")

	var ok, refused atomic.Int64
	atonce.Run(spends, func(i int) {
		_, err := l.Post(context.Background(), ledger.Posting{
			OpID:        fmt.Sprintf("spend-%d", i),
			Hash:        "h",
			Account:     acct,
			CommunityID: "c1",
			Delta:       -cost,
			Kind:        models.KindHold,
			Actor:       "r1",
		})
		switch {
		case err == nil:
			ok.Add(1)
		case errors.Is(err, models.ErrInsufficientPoints):
			refused.Add(1)
		default:
			t.Errorf("spend %d: %v", i, err)
		}
	})
	if ok.Load() != k || refused.Load() != spends-k {
		t.Fatalf("succeeded %d, refused %d; want %d and %d", ok.Load(), refused.Load(), k, spends-k)
	}
	b, err := l.Balance(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if b.Amount != 5 || b.Seq != k+1 {
		t.Fatalf("balance %d at seq %d; want 5 at seq %d", b.Amount, b.Seq, k+1)
	}
	mustAuditOK(t, l)
}

// Invariant 4 (docs/ARCHITECTURE.md §8): concurrent requests with one key make one entry and all get
// it, also when they arrive at different replicas (four ledgers over one
// store), where only the op record and the chain keep them apart.
func TestConcurrentRepeatsPostOnce(t *testing.T) {
	t.Parallel()
	l, s := newLedger(t)
	replicas := []*ledger.Ledger{l, ledger.New(s, time.Now), ledger.New(s, time.Now), ledger.New(s, time.Now)}
	acct := models.AccountOf("r1", models.AssetPoints)
	const n = 64
	got := make([]models.Entry, n)
	atonce.Run(n, func(i int) {
		e, err := replicas[i%len(replicas)].Post(context.Background(), ledger.Posting{
			OpID:        "same",
			Hash:        "h",
			Account:     acct,
			CommunityID: "c1",
			Delta:       7,
			Kind:        models.KindAward,
			Actor:       "s",
		})
		if err != nil {
			t.Errorf("repeat %d: %v", i, err)
		}
		got[i] = e
	})
	for i := range got {
		if got[i].ID() != got[0].ID() || got[i].BalanceAfter != 7 {
			t.Fatalf("repeat %d got %s balance %d; want %s balance 7", i, got[i].ID(), got[i].BalanceAfter, got[0].ID())
		}
	}
	b, _ := l.Balance(context.Background(), acct)
	if b.Seq != 1 || b.Amount != 7 {
		t.Fatalf("head %+v; want one entry of 7", b)
	}
	mustAuditOK(t, l)
}

func TestRepeatWithAnotherRequestIsRefused(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	acct := models.AccountOf("r1", models.AssetPoints)
	mustPost(t, l, acct, 5, "k")
	_, err := l.Post(context.Background(), ledger.Posting{
		OpID:        "k",
		Hash:        "other",
		Account:     acct,
		CommunityID: "c1",
		Delta:       6,
		Kind:        models.KindAward,
		Actor:       "s",
	})
	if !errors.Is(err, models.ErrIdempotencyMismatch) {
		t.Fatalf("got %v; want ErrIdempotencyMismatch", err)
	}
}

// A refused debit is remembered: repeating it later, when the balance would
// cover it, still returns the first answer.
func TestRefusalIsReplayed(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	acct := models.AccountOf("r1", models.AssetPoints)
	p := ledger.Posting{
		OpID:        "spend",
		Hash:        "h",
		Account:     acct,
		CommunityID: "c1",
		Delta:       -5,
		Kind:        models.KindHold,
		Actor:       "r1",
	}
	if _, err := l.Post(context.Background(), p); !errors.Is(err, models.ErrInsufficientPoints) {
		t.Fatalf("first spend: %v", err)
	}
	mustPost(t, l, acct, 50, "top-up")
	if _, err := l.Post(context.Background(), p); !errors.Is(err, models.ErrInsufficientPoints) {
		t.Fatalf("repeat: %v; want the first refusal", err)
	}
}

// A repeat after the first attempt's entry landed but its answer was lost
// (the op record says nothing yet) finds the entry instead of posting again.
func TestRepeatFindsEntryOfUnfinishedOp(t *testing.T) {
	t.Parallel()
	l, s := newLedger(t)
	ctx := context.Background()
	acct := models.AccountOf("r1", models.AssetPoints)
	mustPost(t, l, acct, 10, "a")
	// Simulate a crash after the entry insert: op and entry written, as
	// Post writes them, and nothing after.
	if err := s.InsertOp(ctx, ledger.Op{
		ID:      "b",
		Hash:    "h",
		Account: acct,
		BaseSeq: 1,
		At:      time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertEntry(ctx, models.Entry{
		Account:      acct,
		CommunityID:  "c1",
		Seq:          2,
		Delta:        3,
		BalanceAfter: 13,
		Kind:         models.KindAward,
		OpID:         "b",
		Actor:        "s",
		At:           time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	mustPost(t, l, acct, 1, "c")
	e, err := l.Post(ctx, ledger.Posting{
		OpID:        "b",
		Hash:        "h",
		Account:     acct,
		CommunityID: "c1",
		Delta:       3,
		Kind:        models.KindAward,
		Actor:       "s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 2 {
		t.Fatalf("repeat landed at seq %d; want the existing entry at seq 2", e.Seq)
	}
	b, _ := l.Balance(ctx, acct)
	if b.Amount != 14 || b.Seq != 3 {
		t.Fatalf("balance %+v; want 14 at seq 3", b)
	}
	mustAuditOK(t, l)
}

// Outcome tells a landed posting from a refused one and from one whose op
// was recorded but whose entry never landed, and finds the entry past
// another op's entry that took the seq after its base.
func TestOutcomeOfAPosting(t *testing.T) {
	t.Parallel()
	l, s := newLedger(t)
	ctx := context.Background()
	acct := models.AccountOf("r1", models.AssetPoints)
	if _, err := l.Outcome(ctx, "never"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("outcome of an unknown op: %v; want not found", err)
	}
	mustPost(t, l, acct, 10, "a")
	// Op "b" read the head at seq 1, then "c" took seq 2, so "b" landed at 3.
	if err := s.InsertOp(ctx, ledger.Op{
		ID:      "b",
		Hash:    "b",
		Account: acct,
		BaseSeq: 1,
		At:      time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	mustPost(t, l, acct, 1, "c")
	if _, err := l.Outcome(ctx, "b"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("outcome of an op with no entry: %v; want not found", err)
	}
	if err := s.InsertEntry(ctx, models.Entry{
		Account:      acct,
		CommunityID:  "c1",
		Seq:          3,
		Delta:        3,
		BalanceAfter: 14,
		Kind:         models.KindAward,
		OpID:         "b",
		Actor:        "s",
		At:           time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	e, err := ledger.New(s, time.Now).Outcome(ctx, "b") // a replica that has not seen it
	if err != nil || e.Seq != 3 || e.OpID != "b" {
		t.Fatalf("outcome of b: %+v, %v; want its entry at seq 3", e, err)
	}
	if e, err := l.Outcome(ctx, "a"); err != nil || e.Seq != 1 {
		t.Fatalf("outcome of a: %+v, %v; want seq 1", e, err)
	}
	spend := ledger.Posting{
		OpID:        "big",
		Hash:        "big",
		Account:     acct,
		CommunityID: "c1",
		Delta:       -100,
		Kind:        models.KindHold,
		Actor:       "r1",
	}
	if _, err := l.Post(ctx, spend); !errors.Is(err, models.ErrInsufficientPoints) {
		t.Fatalf("spend: %v", err)
	}
	if _, err := l.Outcome(ctx, "big"); !errors.Is(err, models.ErrInsufficientPoints) {
		t.Fatalf("outcome of a refused posting: %v; want its refusal", err)
	}
}

// Invariant 3 (docs/ARCHITECTURE.md §8): the audit proves balance = sum of entries, and finds a gap,
// a wrong balance_after and a debit below zero written behind its back.
func TestAuditFindsBrokenChains(t *testing.T) {
	t.Parallel()
	l, s := newLedger(t)
	ctx := context.Background()
	good := models.AccountOf("good", models.AssetPoints)
	mustPost(t, l, good, 10, "g1")
	mustPost(t, l, good, -4, "g2")
	r := mustAuditOK(t, l)
	if r.Accounts != 1 || r.Entries != 2 {
		t.Fatalf("audit saw %d accounts, %d entries; want 1 and 2", r.Accounts, r.Entries)
	}
	bad := models.AccountOf("bad", models.AssetHours)
	for _, e := range []models.Entry{
		{
			Seq:          1,
			Delta:        10,
			BalanceAfter: 10,
		},
		{
			Seq:          2,
			Delta:        5,
			BalanceAfter: 16,
		}, // wrong sum
		{
			Seq:          4,
			Delta:        -30,
			BalanceAfter: -14,
		}, // gap and below zero
	} {
		e.Account, e.CommunityID, e.Kind, e.At = bad, "c1", models.KindAward, time.Now()
		if err := s.InsertEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	r, err := l.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]bool{2: true, 4: true}
	if len(r.Problems) != 3 {
		t.Fatalf("problems %+v; want 3 (sum at 2, gap and negative at 4)", r.Problems)
	}
	for _, p := range r.Problems {
		if !want[p.Seq] || p.Account != bad.String() {
			t.Fatalf("unexpected problem %+v", p)
		}
	}
}

func TestReversalOnceWithReason(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := context.Background()
	acct := models.AccountOf("r1", models.AssetPoints)
	e := mustPost(t, l, acct, 30, "award")
	r1, err := l.Reverse(ctx, acct, e.Seq, "awarded to the wrong person", "staff-1")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Reverse(ctx, acct, e.Seq, "again", "staff-1")
	if err != nil {
		t.Fatal(err)
	}
	if r1.ID() != r2.ID() || r1.Delta != -30 || r1.Ref != e.ID() || r1.Reason == "" || r1.Actor != "staff-1" {
		t.Fatalf("reversals %+v and %+v; want one of -30 referring to %s", r1, r2, e.ID())
	}
	b, _ := l.Balance(ctx, acct)
	if b.Amount != 0 || b.Seq != 2 {
		t.Fatalf("balance %+v; want 0 at seq 2 (the original entry kept)", b)
	}
	if _, err := l.Reverse(ctx, acct, r1.Seq, "undo", "s"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("reversing a reversal: %v; want conflict", err)
	}
}

func TestHistoryPages(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := context.Background()
	acct := models.AccountOf("r1", models.AssetPoints)
	for i := 1; i <= 7; i++ {
		mustPost(t, l, acct, int64(i), fmt.Sprintf("p%d", i))
	}
	var seqs []int64
	cursor := int64(0)
	for page := 0; ; page++ {
		entries, next, err := l.History(ctx, acct, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			seqs = append(seqs, e.Seq)
		}
		if next == 0 {
			break
		}
		cursor = next
		if page > 5 {
			t.Fatal("history does not end")
		}
	}
	if fmt.Sprint(seqs) != "[7 6 5 4 3 2 1]" {
		t.Fatalf("pages gave %v; want 7..1", seqs)
	}
}

func TestTransferDebitsThenCreditsOnce(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := context.Background()
	from := models.AccountOf("a", models.AssetHours)
	to := models.AccountOf("b", models.AssetHours)
	mustPost(t, l, from, 120, "seed")
	tr := ledger.Transfer{
		ID:          "t1",
		Hash:        "h",
		CommunityID: "c1",
		From:        from,
		To:          to,
		Amount:      90,
		Actor:       "a",
	}
	for range 3 {
		if _, _, err := l.Transfer(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := l.Balance(ctx, from)
	b, _ := l.Balance(ctx, to)
	if a.Amount != 30 || b.Amount != 90 {
		t.Fatalf("balances %d and %d; want 30 and 90", a.Amount, b.Amount)
	}
	if _, _, err := l.Transfer(ctx, ledger.Transfer{
		ID:          "t2",
		Hash:        "h",
		CommunityID: "c1",
		From:        from,
		To:          to,
		Amount:      31,
		Actor:       "a",
	}); !errors.Is(err, models.ErrInsufficientHours) {
		t.Fatalf("overdraft transfer: %v", err)
	}
	// A debt floor lets the sender go below zero, down to the floor only.
	if _, _, err := l.Transfer(ctx, ledger.Transfer{
		ID:          "t3",
		Hash:        "h",
		CommunityID: "c1",
		From:        from,
		To:          to,
		Amount:      60,
		Floor:       -30,
		Actor:       "a",
	}); err != nil {
		t.Fatalf("transfer within floor: %v", err)
	}
	if _, _, err := l.Transfer(ctx, ledger.Transfer{
		ID:          "t4",
		Hash:        "h",
		CommunityID: "c1",
		From:        from,
		To:          to,
		Amount:      1,
		Floor:       -30,
		Actor:       "a",
	}); !errors.Is(err, models.ErrInsufficientHours) {
		t.Fatalf("transfer past floor: %v", err)
	}
	mustAuditOK(t, l)
}

// A transfer whose process died after the debit is finished by the sweep.
func TestSweepFinishesHalfDoneTransfer(t *testing.T) {
	t.Parallel()
	l, s := newLedger(t)
	ctx := context.Background()
	from := models.AccountOf("a", models.AssetHours)
	to := models.AccountOf("b", models.AssetHours)
	mustPost(t, l, from, 60, "seed")
	tr := ledger.Transfer{
		ID:          "t1",
		Hash:        "h",
		CommunityID: "c1",
		From:        from,
		To:          to,
		Amount:      45,
		Actor:       "a",
		At:          time.Now().Add(-time.Hour),
	}
	if err := s.InsertTransfer(ctx, tr); err != nil {
		t.Fatal(err)
	}
	// the debit landed, then the process died
	if _, err := l.Post(ctx, ledger.Posting{
		OpID:        "t1:debit",
		Hash:        "h",
		Account:     from,
		CommunityID: "c1",
		Delta:       -45,
		Kind:        models.KindTransferOut,
		Ref:         "t1",
		Actor:       "a",
	}); err != nil {
		t.Fatal(err)
	}
	n, err := l.FinishTransfers(ctx, time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("finished %d, %v; want 1", n, err)
	}
	if n, _ := l.FinishTransfers(ctx, time.Minute); n != 0 {
		t.Fatalf("second sweep finished %d; want 0", n)
	}
	a, _ := l.Balance(ctx, from)
	b, _ := l.Balance(ctx, to)
	if a.Amount != 15 || b.Amount != 45 || a.Seq != 2 || b.Seq != 1 {
		t.Fatalf("balances %+v %+v; want 15 and 45, one entry each side", a, b)
	}
	mustAuditOK(t, l)
}

// A fresh ledger (another replica, or after a restart) finds the true head
// from the stored hint however far behind the hint is.
func TestFreshLedgerFindsHeadFromStaleHint(t *testing.T) {
	t.Parallel()
	l, s := newLedger(t)
	ctx := context.Background()
	acct := models.AccountOf("r1", models.AssetPoints)
	for i := 1; i <= 37; i++ {
		mustPost(t, l, acct, 1, fmt.Sprintf("p%d", i))
	}
	hint, err := s.HeadHint(ctx, acct)
	if err != nil || hint.Seq != 36 {
		t.Fatalf("stored hint %+v, %v; want seq 36 (refreshed every 4)", hint, err)
	}
	other := ledger.New(s, time.Now)
	b, err := other.Balance(ctx, acct)
	if err != nil || b.Seq != 37 || b.Amount != 37 {
		t.Fatalf("fresh ledger balance %+v, %v; want 37 at seq 37", b, err)
	}
	e, err := other.Post(ctx, ledger.Posting{
		OpID:        "p38",
		Hash:        "p38",
		Account:     acct,
		CommunityID: "c1",
		Delta:       1,
		Kind:        models.KindAward,
		Actor:       "s",
	})
	if err != nil || e.Seq != 38 {
		t.Fatalf("fresh ledger posts at %d, %v; want 38", e.Seq, err)
	}
	mustAuditOK(t, l)
}

// A replica posts from the head it remembers without reading it first. When
// another replica has written since, the remembered head is stale: the
// posting must still land on the true head with the true balance, and a
// debit the true balance cannot cover must be refused even though the stale
// head would have covered it.
func TestStaleRememberedHeadNeitherForksNorOverdraws(t *testing.T) {
	t.Parallel()
	a, s := newLedger(t)
	b := ledger.New(s, time.Now)
	ctx := context.Background()
	acct := models.AccountOf("r1", models.AssetPoints)
	mustPost(t, a, acct, 100, "seed")   // a remembers 100 at seq 1
	mustPost(t, b, acct, -60, "spend1") // b spends behind a's back: 40 at seq 2
	_, err := a.Post(ctx, ledger.Posting{
		OpID:        "spend2",
		Hash:        "spend2",
		Account:     acct,
		CommunityID: "c1",
		Delta:       -50,
		Kind:        models.KindHold,
		Actor:       "r1",
	})
	if !errors.Is(err, models.ErrInsufficientPoints) {
		t.Fatalf("a spends 50 of a true 40: %v; want insufficient points", err)
	}
	mustPost(t, b, acct, 5, "credit1") // 45 at seq 3; a still remembers seq 2
	e := mustPost(t, a, acct, 7, "credit2")
	if e.Seq != 4 || e.BalanceAfter != 52 {
		t.Fatalf("a's credit at seq %d with balance %d; want seq 4 and 52", e.Seq, e.BalanceAfter)
	}
	for _, l := range []*ledger.Ledger{a, b} {
		if bal, err := l.Balance(ctx, acct); err != nil || bal.Amount != 52 || bal.Seq != 4 {
			t.Fatalf("balance %+v, %v; want 52 at seq 4", bal, err)
		}
	}
	mustAuditOK(t, a)
}

// countingStore counts the entry reads that reach the (real) store.
type countingStore struct {
	*store.Store
	reads atomic.Int64
}

func (c *countingStore) Entry(ctx context.Context, acct models.Account, seq int64) (models.Entry, error) {
	c.reads.Add(1)
	return c.Store.Entry(ctx, acct, seq)
}

func (c *countingStore) Entries(ctx context.Context, acct models.Account, seqs []int64) ([]models.Entry, error) {
	c.reads.Add(int64(len(seqs)))
	return c.Store.Entries(ctx, acct, seqs)
}

// Entries never change, so a page read again comes from the process's
// cache, except for the one read that asks whether a newer entry exists;
// entries posted since, here or by another replica, still appear.
func TestHistoryPagesComeFromTheCacheButStayCurrent(t *testing.T) {
	t.Parallel()
	_, s := newLedger(t)
	cs := &countingStore{Store: s}
	l, other := ledger.New(cs, time.Now), ledger.New(s, time.Now)
	ctx := context.Background()
	acct := models.AccountOf("r1", models.AssetPoints)
	for i := 1; i <= 30; i++ {
		mustPost(t, other, acct, 1, fmt.Sprintf("p%d", i)) // written elsewhere: l has nothing cached
	}
	page := func() []int64 {
		t.Helper()
		es, _, err := l.History(ctx, acct, 0, 20)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, e := range es {
			seqs = append(seqs, e.Seq)
		}
		return seqs
	}
	first := page()
	if len(first) != 20 || first[0] != 30 || first[19] != 11 {
		t.Fatalf("first page %v", first)
	}
	cs.reads.Store(0)
	if again := page(); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("again %v, want %v", again, first)
	}
	if n := cs.reads.Load(); n != 1 {
		t.Fatalf("store reads for a page read before = %d, want 1 (is there a seq 31?)", n)
	}
	mustPost(t, other, acct, 1, "p31")
	mustPost(t, l, acct, 1, "p32")
	if now := page(); now[0] != 32 || now[1] != 31 || now[19] != 13 {
		t.Fatalf("page after two more postings %v", now)
	}
}

// Issue 15 (`linli audit` says how far it got): AuditTelling tells its
// progress after every n entries with the counts so far, and ends with the
// same report as Audit.
func TestAuditTellsHowFarItGot(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	for i := range 7 {
		mustPost(t, l, models.AccountOf(fmt.Sprintf("far%d", i%3), models.AssetPoints), 5, fmt.Sprintf("far-op-%d", i))
	}
	var told []int
	r, err := l.AuditTelling(context.Background(), 3, func(so ledger.AuditReport) { told = append(told, so.Entries) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(told, []int{3, 6}) {
		t.Fatalf("progress told at %v entries; want [3 6]", told)
	}
	whole := mustAuditOK(t, l)
	if r.Entries != 7 || r.Accounts != 3 || r.Entries != whole.Entries || r.Accounts != whole.Accounts || !r.OK() {
		t.Fatalf("the telling audit reports %+v; Audit reports %+v; want 7 entries of 3 accounts", r, whole)
	}
}
