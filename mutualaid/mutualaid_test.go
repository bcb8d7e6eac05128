package mutualaid_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
)

// seedHours credits minutes to a resident's HOURS account.
func (e *tbEnv) seedHours(t *testing.T, id string, minutes int64) {
	t.Helper()
	if _, err := e.Ledger.Post(ctx, ledger.Posting{
		OpID:        "seed:" + id + ":" + communitytest.NewID(),
		Hash:        "h",
		Account:     models.AccountOf(id, models.AssetHours),
		CommunityID: "A",
		Delta:       minutes,
		Kind:        models.KindService,
		Actor:       "t",
	}); err != nil {
		t.Fatal(err)
	}
}

func (e *tbEnv) mustAudit(t *testing.T) {
	t.Helper()
	r, err := e.Ledger.Audit(ctx)
	if err != nil || !r.OK() {
		t.Fatalf("audit: %v %+v", err, r.Problems)
	}
}

func (e *tbEnv) mustPost(t *testing.T, who string, kind models.AidKind, minutes models.Minutes) models.MutualAid {
	t.Helper()
	a, err := e.aid.PostAid(ctx, res(who), mutualaid.NewAid{
		Kind:    kind,
		Title:   "陪同就医",
		Minutes: minutes,
	}, community.Idempotency{})
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	return a
}

// mustState checks that every one of whos reads the post in state want.
func (e *tbEnv) mustState(t *testing.T, id string, want models.AidState, whos ...string) {
	t.Helper()
	for _, who := range whos {
		got, err := e.aid.Aid(ctx, res(who), id)
		if err != nil || got.State != want {
			t.Fatalf("%s reads %s as %q (%v), want %q", who, id, got.State, err, want)
		}
	}
}

// saysWhy checks that a refusal carries its reason in Chinese and English.
func saysWhy(t *testing.T, err error, code *models.Error) {
	t.Helper()
	communitytest.MustCode(t, err, code)
	var me *models.Error
	if !errors.As(err, &me) || me.Detail == "" || me.DetailZh == "" {
		t.Fatalf("refusal %v carries no reason in both languages", err)
	}
}

// raceGate holds the two decisions on one post until both have read the
// post and are about to write their step, then lets them go together.
type raceGate struct {
	post    string
	kinds   map[models.AidStepKind]bool
	waiting atomic.Int32
	open    chan struct{}
}

func newRaceGate(post string, kinds ...models.AidStepKind) *raceGate {
	g := &raceGate{
		post:  post,
		kinds: map[models.AidStepKind]bool{},
		open:  make(chan struct{}),
	}
	for _, k := range kinds {
		g.kinds[k] = true
	}
	g.waiting.Store(int32(len(kinds)))
	return g
}

// hookRaces makes the time bank stop each step the current gate names at
// the gate.
func hookRaces(e *tbEnv) *atomic.Pointer[raceGate] {
	var current atomic.Pointer[raceGate]
	mutualaid.SetAidStepHook(e.aid, func(id string, kind models.AidStepKind) {
		g := current.Load()
		if g == nil || g.post != id || !g.kinds[kind] {
			return
		}
		if g.waiting.Add(-1) == 0 {
			close(g.open)
		}
		<-g.open
	})
	return &current
}

// race runs f and g at once, from a start barrier.
func race(f, g func() error) (errF, errG error) {
	errs := atonce.Errors(2, func(i int) error {
		if i == 0 {
			return f()
		}
		return g()
	})
	return errs[0], errs[1]
}

// 19.1: the poster cancels while a neighbour accepts. Exactly one of them
// wins, everyone reads the same winner, and the helper is paid exactly
// when the acceptance won and the help is confirmed.
func TestIssue19_1_CancelRacingAcceptHasOneWinner(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 10_000)
	gates := hookRaces(e)
	const rounds, minutes = 40, 30
	var paid int64
	accepted, cancelled := 0, 0
	for i := 0; i < rounds; i++ {
		a := e.mustPost(t, "r1", models.AidRequest, minutes)
		gates.Store(newRaceGate(a.ID, models.AidStepAccept, models.AidStepCancel))
		acceptErr, cancelErr := race(
			func() error { _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); return err },
			func() error { _, err := e.aid.CancelAid(ctx, res("r1"), a.ID, "不需要了"); return err })
		gates.Store(nil)
		switch {
		case acceptErr == nil && cancelErr != nil:
			accepted++
			saysWhy(t, cancelErr, models.ErrAidState)
			e.mustState(t, a.ID, models.AidAccepted, "r1", "r2")
			if _, err := e.aid.AidDone(ctx, res("r2"), a.ID); err != nil {
				t.Fatalf("round %d: done: %v", i, err)
			}
			if _, err := e.aid.ConfirmAid(ctx, res("r1"), a.ID); err != nil {
				t.Fatalf("round %d: confirm: %v", i, err)
			}
			paid += minutes
			e.mustState(t, a.ID, models.AidConfirmed, "r1", "r2")
		case cancelErr == nil && acceptErr != nil:
			cancelled++
			saysWhy(t, acceptErr, models.ErrAidState)
			e.mustState(t, a.ID, models.AidCancelled, "r1")
			// The would-be helper is no party to it: it is not theirs to see.
			if _, err := e.aid.Aid(ctx, res("r2"), a.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("round %d: the refused helper reads the cancelled post: %v", i, err)
			}
			if _, err := e.aid.AidDone(ctx, res("r2"), a.ID); err == nil {
				t.Fatalf("round %d: the refused helper marked a cancelled post done", i)
			}
		default:
			t.Fatalf("round %d: accept %v, cancel %v; want exactly one to win", i, acceptErr, cancelErr)
		}
		if got := e.Balance(t, "r2", models.AssetHours); got != paid {
			t.Fatalf("round %d: helper has %d, want %d", i, got, paid)
		}
		if got := e.Balance(t, "r1", models.AssetHours); got != 10_000-paid {
			t.Fatalf("round %d: requester has %d, want %d (holds of cancelled posts given back)", i, got, 10_000-paid)
		}
	}
	// Nothing is left for the job: no post stranded, nothing paid again.
	e.Clock.Advance(60 * 24 * time.Hour)
	if n, err := e.aid.AutoConfirmAid(ctx); err != nil || n != 0 {
		t.Fatalf("auto-confirm after the rounds: %d %v", n, err)
	}
	if e.Balance(t, "r2", models.AssetHours) != paid || e.Balance(t, "r1", models.AssetHours) != 10_000-paid {
		t.Fatal("the job moved hours")
	}
	e.mustAudit(t)
	t.Logf("%d rounds: accept won %d, cancel won %d", rounds, accepted, cancelled)
}

// 19.1, ungated: the same race left to the scheduler. A cancel that lands
// after the acceptance is a later decision (either side may call accepted
// help off), so both may answer 200 then; what may never happen is a post
// that reads accepted after a cancel was answered 200, or hours that
// disagree with what the post reads.
func TestIssue19_1_UngatedRaceNeverStrandsAPost(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 10_000)
	const rounds, minutes = 40, 30
	var paid int64
	for i := 0; i < rounds; i++ {
		a := e.mustPost(t, "r1", models.AidRequest, minutes)
		acceptErr, cancelErr := race(
			func() error { _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); return err },
			func() error { _, err := e.aid.CancelAid(ctx, res("r1"), a.ID, "不需要了"); return err })
		got, err := e.aid.Aid(ctx, res("r1"), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case cancelErr == nil:
			if got.State != models.AidCancelled {
				t.Fatalf("round %d: cancel answered 200 (accept %v) but the post reads %q", i, acceptErr, got.State)
			}
			if _, err := e.aid.AidDone(ctx, res("r2"), a.ID); err == nil {
				t.Fatalf("round %d: done on a cancelled post", i)
			}
		case acceptErr == nil:
			saysWhy(t, cancelErr, models.ErrAidState)
			e.mustState(t, a.ID, models.AidAccepted, "r1", "r2")
			if _, err := e.aid.AidDone(ctx, res("r2"), a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.aid.ConfirmAid(ctx, res("r1"), a.ID); err != nil {
				t.Fatal(err)
			}
			paid += minutes
		default:
			t.Fatalf("round %d: both refused: accept %v, cancel %v", i, acceptErr, cancelErr)
		}
		if h, r := e.Balance(t, "r2", models.AssetHours), e.Balance(t, "r1", models.AssetHours); h != paid || r != 10_000-paid {
			t.Fatalf("round %d: helper %d, requester %d; want %d and %d", i, h, r, paid, 10_000-paid)
		}
	}
	e.mustAudit(t)
}

// 19.2: the helper disputes while the requester confirms. Either the
// dispute wins and nothing is paid until staff rule, or it is refused.
func TestIssue19_2_DisputeRacingConfirmHasOneWinner(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 10_000)
	gates := hookRaces(e)
	const rounds, minutes = 40, 45
	var paid, held int64
	confirmed, disputed := 0, 0
	for i := 0; i < rounds; i++ {
		a := e.mustPost(t, "r1", models.AidRequest, minutes)
		if _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.aid.AidDone(ctx, res("r2"), a.ID); err != nil {
			t.Fatal(err)
		}
		gates.Store(newRaceGate(a.ID, models.AidStepConfirm, models.AidStepDispute))
		confirmErr, disputeErr := race(
			func() error { _, err := e.aid.ConfirmAid(ctx, res("r1"), a.ID); return err },
			func() error { _, err := e.aid.DisputeAid(ctx, res("r2"), a.ID, "时长记少了"); return err })
		gates.Store(nil)
		switch {
		case confirmErr == nil && disputeErr != nil:
			confirmed++
			saysWhy(t, disputeErr, models.ErrAidState)
			e.mustState(t, a.ID, models.AidConfirmed, "r1", "r2")
			paid += minutes
		case disputeErr == nil && confirmErr != nil:
			disputed++
			saysWhy(t, confirmErr, models.ErrAidState)
			e.mustState(t, a.ID, models.AidDisputed, "r1", "r2")
			held += minutes
			if got := e.Balance(t, "r2", models.AssetHours); got != paid {
				t.Fatalf("round %d: a disputed post paid the helper: %d, want %d", i, got, paid)
			}
			// The job does not confirm a disputed post, however late.
			e.Clock.Advance(8 * 24 * time.Hour)
			if n, err := e.aid.AutoConfirmAid(ctx); err != nil || n != 0 {
				t.Fatalf("round %d: auto-confirm of a disputed post: %d %v", i, n, err)
			}
			if got := e.Balance(t, "r2", models.AssetHours); got != paid {
				t.Fatalf("round %d: the job paid a disputed post", i)
			}
			// Staff rule: pay in even rounds, cancel in odd ones.
			pay := i%2 == 0
			got, err := e.aid.ResolveAid(ctx, e.Staff, a.ID, pay, "上门核实")
			if err != nil {
				t.Fatalf("round %d: resolve: %v", i, err)
			}
			held -= minutes
			want := models.AidCancelled
			if pay {
				want = models.AidConfirmed
				paid += minutes
			}
			if got.State != want {
				t.Fatalf("round %d: resolved to %q, want %q", i, got.State, want)
			}
			e.mustState(t, a.ID, want, "r1", "r2")
		default:
			t.Fatalf("round %d: confirm %v, dispute %v; want exactly one to win", i, confirmErr, disputeErr)
		}
		if got := e.Balance(t, "r2", models.AssetHours); got != paid {
			t.Fatalf("round %d: helper has %d, want %d", i, got, paid)
		}
		if got := e.Balance(t, "r1", models.AssetHours); got != 10_000-paid-held {
			t.Fatalf("round %d: requester has %d, want %d", i, got, 10_000-paid-held)
		}
	}
	e.mustAudit(t)
	t.Logf("%d rounds: confirm won %d, dispute won %d", rounds, confirmed, disputed)
}

// 19.3: the floor is checked, and the minutes held, when a request is
// posted and when an offer is accepted, so help is never given that
// cannot be paid; cancelling and expiry give the hold back; confirming
// pays it to the helper.
func TestIssue19_3_HoursFloorHeldWhenPostedAndAccepted(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	// A resident with 0 minutes asks for 660 (floor 600): refused at once,
	// saying why, and nothing is held.
	_, err := e.aid.PostAid(ctx, res("r5"), mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "陪同就医",
		Minutes: 660,
	}, community.Idempotency{})
	saysWhy(t, err, models.ErrInsufficientHours)
	var me *models.Error
	if errors.As(err, &me); !strings.Contains(me.DetailZh, "660") || !strings.Contains(me.DetailZh, "600") {
		t.Fatalf("the reason does not name the minutes and the floor: %q", me.DetailZh)
	}
	if b := e.Balance(t, "r5", models.AssetHours); b != 0 {
		t.Fatalf("a refused request left %d", b)
	}
	if list, _, _ := e.aid.Aids(ctx, res("r6"), "", 50); len(list) != 0 {
		t.Fatalf("a refused request is offered to neighbours: %+v", list)
	}
	// Up to the floor it is held; one minute more is refused.
	a := e.mustPost(t, "r5", models.AidRequest, 600)
	if b := e.Balance(t, "r5", models.AssetHours); b != -600 {
		t.Fatalf("held %d, want -600", b)
	}
	_, err = e.aid.PostAid(ctx, res("r5"), mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "买菜",
		Minutes: 1,
	}, community.Idempotency{})
	saysWhy(t, err, models.ErrInsufficientHours)
	// Cancelling gives it back, once.
	for range 2 {
		if _, err := e.aid.CancelAid(ctx, res("r5"), a.ID, "家人来了"); err != nil {
			t.Fatal(err)
		}
	}
	if b := e.Balance(t, "r5", models.AssetHours); b != 0 {
		t.Fatalf("after cancelling: %d, want 0", b)
	}

	// An offer of 660 minutes: a resident with 0 minutes cannot accept it;
	// the offer stays open for someone who can.
	o := e.mustPost(t, "r6", models.AidOffer, 660)
	_, err = e.aid.AcceptAid(ctx, res("r5"), o.ID)
	saysWhy(t, err, models.ErrInsufficientHours)
	e.mustState(t, o.ID, models.AidOpen, "r6", "r7")
	if b := e.Balance(t, "r5", models.AssetHours); b != 0 {
		t.Fatalf("a refused acceptance left %d", b)
	}
	e.seedHours(t, "r7", 100)
	if _, err := e.aid.AcceptAid(ctx, res("r7"), o.ID); err != nil {
		t.Fatalf("accept within the floor: %v", err)
	}
	if b := e.Balance(t, "r7", models.AssetHours); b != -560 {
		t.Fatalf("accepter holds %d, want -560", b)
	}
	if _, err := e.aid.AidDone(ctx, res("r6"), o.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.aid.ConfirmAid(ctx, res("r7"), o.ID); err != nil {
			t.Fatal(err)
		}
	}
	if h, r := e.Balance(t, "r6", models.AssetHours), e.Balance(t, "r7", models.AssetHours); h != 660 || r != -560 {
		t.Fatalf("after confirming: helper %d, requester %d; want 660, -560", h, r)
	}

	// An open request nobody takes up expires a day after its time, and
	// its hold goes back.
	x, err := e.aid.PostAid(ctx, res("r8"), mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "取快递",
		Minutes: 100,
		When:    e.Clock.Now().Add(time.Hour),
	}, community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	if b := e.Balance(t, "r8", models.AssetHours); b != -100 {
		t.Fatalf("held %d, want -100", b)
	}
	e.Clock.Advance(2 * 24 * time.Hour)
	for range 2 {
		if _, err := e.aid.AutoConfirmAid(ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.mustState(t, x.ID, models.AidExpired, "r8")
	if b := e.Balance(t, "r8", models.AssetHours); b != 0 {
		t.Fatalf("after expiry: %d, want 0", b)
	}
	e.mustAudit(t)
}

// 19.3, the worst crash point: the confirmation is written and the process
// dies before the helper is paid. The next readers and the job pay the
// helper, exactly once, however many of them arrive together.
func TestIssue19_3_CrashAfterConfirmStillPaysHelperOnce(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 1000)
	a := e.mustPost(t, "r1", models.AidRequest, 90)
	if _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aid.AidDone(ctx, res("r2"), a.ID); err != nil {
		t.Fatal(err)
	}
	// Steps 1 (accept) and 2 (done) are written; step 3 is the confirmation.
	if err := mutualaid.InsertAidStep(ctx, e.aid, a.ID, models.AidStep{
		N:     3,
		Kind:  models.AidStepConfirm,
		Actor: "r1",
		At:    e.Clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	if b := e.Balance(t, "r2", models.AssetHours); b != 0 {
		t.Fatalf("paid before anyone read on: %d", b)
	}
	atonce.Run(6, func(i int) {
		var err error
		switch i % 3 {
		case 0:
			_, err = e.aid.AutoConfirmAid(ctx)
		case 1:
			_, err = e.aid.Aid(ctx, res("r1"), a.ID)
		case 2:
			_, err = e.aid.Aid(ctx, res("r2"), a.ID)
		}
		if err != nil {
			t.Error(err)
		}
	})
	e.mustState(t, a.ID, models.AidConfirmed, "r1", "r2")
	// The requester's confirmation, repeated, answers and pays nothing more.
	if _, err := e.aid.ConfirmAid(ctx, res("r1"), a.ID); err != nil {
		t.Fatal(err)
	}
	if h, r := e.Balance(t, "r2", models.AssetHours), e.Balance(t, "r1", models.AssetHours); h != 90 || r != 910 {
		t.Fatalf("helper %d, requester %d; want 90 and 910", h, r)
	}
	e.mustAudit(t)
}

// 19.10: an accepted or closed post is its two parties' and staff's
// business; an open one shows no resident ids to neighbours.
func TestIssue19_10_ClosedPostsOnlyForTheirParties(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 1000)
	a := e.mustPost(t, "r1", models.AidRequest, 60)
	seen, err := e.aid.Aid(ctx, res("r3"), a.ID)
	if err != nil || seen.State != models.AidOpen {
		t.Fatalf("a neighbour reads an open post: %+v %v", seen, err)
	}
	if seen.PosterID != "" || seen.RequesterID != "" || seen.HelperID != "" || seen.PosterName != "居**" {
		t.Fatalf("a neighbour sees ids (or no masked name): %+v", seen)
	}
	if own, _ := e.aid.Aid(ctx, res("r1"), a.ID); own.PosterID != "r1" {
		t.Fatalf("the poster does not see their id: %+v", own)
	}
	if _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{"accepted", "cancelled"} {
		if _, err := e.aid.Aid(ctx, res("r3"), a.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a neighbour reads an %s post: %v", state, err)
		}
		if list, _, _ := e.aid.Aids(ctx, res("r3"), "", 50); len(list) != 0 {
			t.Fatalf("a neighbour lists an %s post: %+v", state, list)
		}
		for _, p := range []models.Principal{res("r1"), res("r2"), e.Staff} {
			got, err := e.aid.Aid(ctx, p, a.ID)
			if err != nil || got.RequesterID != "r1" || got.HelperID != "r2" || got.HelperName != "居**" {
				t.Fatalf("%s reads the %s post: %+v %v", p.ResidentID, state, got, err)
			}
		}
		if state == "accepted" {
			if _, err := e.aid.CancelAid(ctx, res("r2"), a.ID, "临时有事"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// 19.11: the list pages with a cursor and shows masked names; a gift
// shows both sides' masked names.
func TestIssue19_11_MutualAidPagesWithMaskedNamesAndGiftsNameBothSides(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 1000)
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		want[e.mustPost(t, "r1", models.AidRequest, 10).ID] = true
	}
	got := map[string]bool{}
	after, pages := "", 0
	for {
		page, next, err := e.aid.Aids(ctx, res("r2"), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		for _, a := range page {
			if got[a.ID] || !want[a.ID] || a.PosterName != "居**" || a.PosterID != "" {
				t.Fatalf("listed %+v", a)
			}
			got[a.ID] = true
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("the cursor does not move on")
		}
		after = next
	}
	if len(got) != 5 || pages != 3 {
		t.Fatalf("%d posts over %d pages; want 5 over 3", len(got), pages)
	}

	if err := e.Store.SetResidentFamily(ctx, "r1", []models.FamilyLink{{
		ResidentID: "r9",
		Relation:   "父母",
		Verified:   true,
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Timebank.GiftHours(ctx, res("r1"), "r9", 30, community.Idempotency{
		Key:  "k",
		OpID: "k:r1:gift",
		Hash: "h",
	}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"r1", "r9"} {
		gs, err := e.Timebank.Gifts(ctx, res(who))
		if err != nil || len(gs) != 1 || gs[0].FromName != "居**" || gs[0].ToName != "居**" {
			t.Fatalf("%s's gifts: %+v %v", who, gs, err)
		}
	}
}

// A requester cannot pass the debt floor, even with concurrent requests:
// each request holds its minutes when posted.
func TestDebtFloorUnderConcurrentConfirmations(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	var mu sync.Mutex
	var aids []models.MutualAid
	refused := 0
	atonce.Run(5, func(int) {
		a, err := e.aid.PostAid(ctx, res("r1"), mutualaid.NewAid{
			Kind:    models.AidRequest,
			Title:   "陪同就医",
			Minutes: 240,
		}, community.Idempotency{})
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			aids = append(aids, a)
		case errors.Is(err, models.ErrInsufficientHours):
			refused++
		default:
			t.Error(err)
		}
	})
	// Floor 600 minutes: two of 240 fit, a third would reach −720.
	if len(aids) != 2 || refused != 3 {
		t.Fatalf("%d posted, %d refused; want 2 and 3", len(aids), refused)
	}
	for i, a := range aids {
		if _, err := e.aid.AcceptAid(ctx, res(fmt.Sprintf("r%d", i+2)), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.aid.ConfirmAid(ctx, res("r1"), a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if b := e.Balance(t, "r1", models.AssetHours); b != -480 {
		t.Fatalf("requester at %d, want -480", b)
	}
	if b := e.Balance(t, "r2", models.AssetHours) + e.Balance(t, "r3", models.AssetHours); b != 480 {
		t.Fatalf("helpers got %d, want 480", b)
	}
	r, err := e.Ledger.Audit(ctx)
	if err != nil || !r.OK() {
		t.Fatalf("audit: %v %+v", err, r.Problems)
	}
	_, err = e.aid.CancelAid(ctx, res("r1"), aids[0].ID, "x")
	communitytest.MustCode(t, err, models.ErrAidState)
}

// Help for a flagged resident is paid by the community fund, which goes to
// zero only.
func TestFundPaysForNeedy(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	if err := e.aid.SetNeedy(ctx, e.Staff, "r9", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aid.CreditFund(ctx, e.Staff, 300, "区里拨付", community.Idempotency{
		Key:  "k1",
		OpID: "k:s:fund1",
		Hash: "h",
	}); err != nil {
		t.Fatal(err)
	}
	a, _ := e.aid.PostAid(ctx, res("r9"), mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "买菜",
		Minutes: 200,
	}, community.Idempotency{})
	if _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aid.ConfirmAid(ctx, res("r9"), a.ID); err != nil {
		t.Fatal(err)
	}
	if e.Balance(t, "r9", models.AssetHours) != 0 || e.Balance(t, "r2", models.AssetHours) != 200 {
		t.Fatal("the fund did not pay")
	}
	// The fund's 100 minutes cannot hold a second 200-minute request.
	_, err := e.aid.PostAid(ctx, res("r9"), mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "买菜",
		Minutes: 200,
	}, community.Idempotency{})
	communitytest.MustCode(t, err, models.ErrInsufficientHours)
	if f, _ := e.aid.Fund(ctx, e.Staff); f.Amount != 100 {
		t.Fatalf("fund = %d", f.Amount)
	}
	// Auto-confirmation: helper marks done, the job confirms after N days once.
	c, _ := e.aid.PostAid(ctx, res("r3"), mutualaid.NewAid{
		Kind:    models.AidOffer,
		Title:   "修电脑",
		Minutes: 60,
	}, community.Idempotency{})
	if _, err := e.aid.AcceptAid(ctx, res("r4"), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aid.AidDone(ctx, res("r3"), c.ID); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(8 * 24 * time.Hour)
	n1, err1 := e.aid.AutoConfirmAid(ctx)
	n2, err2 := e.aid.AutoConfirmAid(ctx)
	if err1 != nil || err2 != nil || n1 != 1 || n2 != 0 {
		t.Fatalf("auto-confirm: %d %v, %d %v", n1, err1, n2, err2)
	}
	if e.Balance(t, "r3", models.AssetHours) != 60 || e.Balance(t, "r4", models.AssetHours) != -60 {
		t.Fatal("offer: hours did not move from the requester to the helper")
	}
}

// Either side cancels before the help; a dispute goes to staff, who pay or
// cancel; nobody but the requester confirms.
func TestMutualAidCancelDisputeResolve(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	a, _ := e.aid.PostAid(ctx, res("r1"), mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "搬家具",
		Minutes: 60,
	}, community.Idempotency{})
	if _, err := e.aid.AcceptAid(ctx, res("r1"), a.ID); !errors.Is(err, models.ErrAidState) {
		t.Fatalf("accept own post: %v", err)
	}
	if _, err := e.aid.AcceptAid(ctx, res("r2"), a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aid.ConfirmAid(ctx, res("r2"), a.ID); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("helper confirms: %v", err)
	}
	if _, err := e.aid.CancelAid(ctx, res("r2"), a.ID, "临时有事"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.aid.ConfirmAid(ctx, res("r1"), a.ID); !errors.Is(err, models.ErrAidState) {
		t.Fatalf("confirm a cancelled post: %v", err)
	}
	b, _ := e.aid.PostAid(ctx, res("r1"), mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "修水管",
		Minutes: 90,
	}, community.Idempotency{})
	_, _ = e.aid.AcceptAid(ctx, res("r3"), b.ID)
	_, _ = e.aid.AidDone(ctx, res("r3"), b.ID)
	if _, err := e.aid.DisputeAid(ctx, res("r1"), b.ID, "没修好"); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * 24 * time.Hour)
	if n, err := e.aid.AutoConfirmAid(ctx); err != nil || n != 0 {
		t.Fatalf("a disputed post confirmed itself: %d %v", n, err)
	}
	if _, err := e.aid.ResolveAid(ctx, res("r2"), b.ID, true, "x"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("resident resolves: %v", err)
	}
	got, err := e.aid.ResolveAid(ctx, e.Staff, b.ID, true, "上门核实已修好")
	if err != nil || got.State != models.AidConfirmed {
		t.Fatalf("resolve: %+v %v", got, err)
	}
	// The same resolution again (its answer was lost) answers the same and
	// moves nothing more; another one is refused.
	if again, err := e.aid.ResolveAid(ctx, e.Staff, b.ID, true, "上门核实已修好"); err != nil || again.State != got.State || again.FinalAt != got.FinalAt {
		t.Fatalf("repeated resolution: %+v %v\nfirst %+v", again, err, got)
	}
	if _, err := e.aid.ResolveAid(ctx, e.Staff, b.ID, false, "改判"); models.CodeOf(err) != models.ErrAidState.Code {
		t.Fatalf("another resolution: %v", err)
	}
	if e.Balance(t, "r1", models.AssetHours) != -90 || e.Balance(t, "r3", models.AssetHours) != 90 {
		t.Fatal("resolution did not move the hours")
	}
	if e.Balance(t, "r2", models.AssetHours) != 0 {
		t.Fatal("the helper of the cancelled post was paid")
	}
}
