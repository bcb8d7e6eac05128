package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
)

// fixedRules is one community in Shanghai with a 24-month lifetime.
type fixedRules struct{}

func (fixedRules) ExpiryRules(context.Context, string) (*time.Location, int, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	return loc, 24, err
}

// TestIssue16_4_ExpiryRemindersOncePerResidentAndStage: residents whose
// points the December run will take hear of it once per stage, with the
// amount the run will take, however many runs go at once; others hear
// nothing.
func TestIssue16_4_ExpiryRemindersOncePerResidentAndStage(t *testing.T) {
	t.Parallel()
	b, st := newInbox(t)
	ctx := context.Background()
	// Earned in November 2024 (expires with the December 2026 run), in
	// February 2025 (not yet), and 30 spent since.
	at := time.Date(2024, 11, 10, 2, 0, 0, 0, time.UTC)
	l := ledger.New(st, func() time.Time { return at })
	post := func(resident string, delta int64, kind models.EntryKind) {
		t.Helper()
		op := fmt.Sprintf("%s:%d:%s:%s", resident, delta, kind, at)
		if _, err := l.Post(ctx, ledger.Posting{OpID: op, Hash: op, Account: models.AccountOf(resident, models.AssetPoints),
			CommunityID: "c1", Delta: delta, Kind: kind, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	post("old", 100, models.KindAward)
	post("spent", 20, models.KindAward)
	at = time.Date(2025, 2, 10, 2, 0, 0, 0, time.UTC)
	post("old", 50, models.KindAward)
	post("young", 80, models.KindAward)
	post("spent", 40, models.KindAward)
	post("spent", -30, models.KindDeduct)

	r := inbox.NewReminders(b, st, fixedRules{})
	dec := models.MonthOf(time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC), time.UTC)
	runs := make([]inbox.ReminderCounts, 8)
	errs := make([]error, 8)
	atonce.Run(8, func(i int) {
		stage := inbox.Remind30
		if i%2 == 1 {
			stage = inbox.Remind7
		}
		runs[i], errs[i] = r.RemindExpiring(ctx, dec, stage)
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if runs[0].Accounts != 3 || runs[0].Reminded != 1 {
		t.Fatalf("counts %+v: want 3 accounts, 1 reminded", runs[0])
	}
	// The run queued its reminders; the delivery loop writes them.
	loop := outbound.NewDeliverer(st, b, nil, outbound.Options{}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := loop.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	for _, stage := range []models.NoticeKind{models.NoticePointsExpiring30, models.NoticePointsExpiring7} {
		n, _, err := st.Notification(ctx, models.NotificationID(stage, "2026-12", "old"))
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if stage == models.NoticePointsExpiring30 && n.Body != "您有 100 积分将于 2027-01-01 过期，请在此之前使用。" {
			t.Errorf("body %q", n.Body)
		}
	}
	if c := counts(t, st); c["notifications"] != 2 || c["inbox_entries"] != 2 {
		t.Fatalf("%d notifications, %d inbox entries; want 2 and 2 (one per stage)", c["notifications"], c["inbox_entries"])
	}
	if _, err := r.RemindExpiring(ctx, dec, "3d"); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("unknown stage: %v", err)
	}
}
