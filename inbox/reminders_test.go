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
	"github.com/linli-community/linli/store/storetest"
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
		if _, err := l.Post(ctx, ledger.Posting{
			OpID:        op,
			Hash:        op,
			Account:     models.AccountOf(resident, models.AssetPoints),
			CommunityID: "c1",
			Delta:       delta,
			Kind:        kind,
			Actor:       "test",
		}); err != nil {
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
		if stage == models.NoticePointsExpiring30 && n.Body != "您有 100 积分的有效期至 2026-12-31，请在此之前使用。" {
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

// zonedRules puts each community in its own zone, with a 24-month lifetime.
type zonedRules map[string]string

func (z zonedRules) ExpiryRules(_ context.Context, community string) (*time.Location, int, error) {
	loc, err := time.LoadLocation(z[community])
	return loc, 24, err
}

// TestIssue16_4_ExpiryReminderNamesTheLastUsableDay: the December run is
// made at 00:00 on 1 January in the community's zone, so points it takes
// can be spent up to and including 31 December; both reminders name that
// day ("有效期至 2026-12-31"), never the run's own day. The reminder run is
// made at an hour when the UTC date is not Shanghai's (18:00 UTC is 02:00
// the next day there), and a second community west of UTC (Los Angeles,
// whose midnight is 08:00 UTC) says the same day in its own zone; a
// February of a leap year names the 29th.
func TestIssue16_4_ExpiryReminderNamesTheLastUsableDay(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	runAt := time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)
	b := inbox.New(st, func() time.Time { return runAt })
	earned := time.Date(2024, 11, 10, 2, 0, 0, 0, time.UTC)
	l := ledger.New(st, func() time.Time { return earned })
	for _, award := range []struct {
		resident  string
		community string
	}{
		{resident: "east", community: "sh"},
		{resident: "reader", community: "sh"},
		{resident: "west", community: "la"},
	} {
		op := "award:" + award.resident
		if _, err := l.Post(ctx, ledger.Posting{
			OpID:        op,
			Hash:        op,
			Account:     models.AccountOf(award.resident, models.AssetPoints),
			CommunityID: award.community,
			Delta:       100,
			Kind:        models.KindAward,
			Actor:       "test",
		}); err != nil {
			t.Fatal(err)
		}
	}
	english := models.Principal{
		ResidentID:  "reader",
		CommunityID: "sh",
		Roles:       []models.Role{models.RoleResident},
	}
	if _, err := b.SetPreferences(ctx, english, "en", nil); err != nil {
		t.Fatal(err)
	}
	r := inbox.NewReminders(b, st, zonedRules{"sh": "Asia/Shanghai", "la": "America/Los_Angeles"})
	dec := models.Month{Year: 2026, Month: time.December}
	feb := models.Month{Year: 2028, Month: time.February}
	for _, run := range []struct {
		month models.Month
		stage inbox.ReminderStage
	}{
		{month: dec, stage: inbox.Remind30},
		{month: dec, stage: inbox.Remind7},
		{month: feb, stage: inbox.Remind30},
	} {
		if n, err := r.RemindExpiring(ctx, run.month, run.stage); err != nil || n.Reminded != 3 {
			t.Fatalf("%s %s: %+v, %v; want 3 reminded", run.month, run.stage, n, err)
		}
	}
	loop := outbound.NewDeliverer(st, b, nil, outbound.Options{}, func() time.Time { return runAt }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := loop.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		kind     models.NoticeKind
		month    models.Month
		resident string
		body     string
	}{
		{
			kind:     models.NoticePointsExpiring30,
			month:    dec,
			resident: "east",
			body:     "您有 100 积分的有效期至 2026-12-31，请在此之前使用。",
		},
		{
			kind:     models.NoticePointsExpiring30,
			month:    dec,
			resident: "west",
			body:     "您有 100 积分的有效期至 2026-12-31，请在此之前使用。",
		},
		{
			kind:     models.NoticePointsExpiring30,
			month:    dec,
			resident: "reader",
			body:     "100 of your points can be used until 2026-12-31; after that they expire.",
		},
		{
			kind:     models.NoticePointsExpiring7,
			month:    dec,
			resident: "east",
			body:     "提醒：您有 100 积分的有效期至 2026-12-31，过后将过期。",
		},
		{
			kind:     models.NoticePointsExpiring7,
			month:    dec,
			resident: "west",
			body:     "提醒：您有 100 积分的有效期至 2026-12-31，过后将过期。",
		},
		{
			kind:     models.NoticePointsExpiring7,
			month:    dec,
			resident: "reader",
			body:     "Reminder: 100 of your points can be used until 2026-12-31; after that they expire.",
		},
		{
			kind:     models.NoticePointsExpiring30,
			month:    feb,
			resident: "east",
			body:     "您有 100 积分的有效期至 2028-02-29，请在此之前使用。",
		},
		{
			kind:     models.NoticePointsExpiring30,
			month:    feb,
			resident: "west",
			body:     "您有 100 积分的有效期至 2028-02-29，请在此之前使用。",
		},
	} {
		n, _, err := st.Notification(ctx, models.NotificationID(want.kind, want.month.String(), want.resident))
		if err != nil {
			t.Fatalf("%s %s to %s: %v", want.kind, want.month, want.resident, err)
		}
		if n.Body != want.body {
			t.Errorf("%s %s to %s says %q; want %q", want.kind, want.month, want.resident, n.Body, want.body)
		}
	}
}
