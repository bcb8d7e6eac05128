package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// TestIssue16_4_ReminderPeriods: the 30-day reminder's period until 7 days
// before the month's end (Shanghai time), the 7-day one from then.
func TestIssue16_4_ReminderPeriods(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	period := ReminderPeriod(sh)
	for at, want := range map[string]string{
		"2026-12-04 09:00": "2026-12/30d",
		"2026-12-24 23:59": "2026-12/30d", // 7 days and a minute before 2027-01-01 00:00
		"2026-12-25 00:00": "2026-12/7d",
		"2026-12-31 20:00": "2026-12/7d",
		"2027-02-21 09:00": "2027-02/30d",
		"2027-02-22 09:00": "2027-02/7d",
	} {
		local, _ := time.ParseInLocation("2006-01-02 15:04", at, sh)
		if got := period(local.UTC()); got != want {
			t.Errorf("%s: period %s, want %s", at, got, want)
		}
	}
}

type stageRecorder struct {
	month models.Month
	stage string
}

func (s *stageRecorder) RemindExpiring(_ context.Context, m models.Month, stage string) (Counts, error) {
	s.month, s.stage = m, stage
	return Counts{"accounts": 1}, nil
}

// TestIssue16_4_ReminderJobReadsItsPeriod: the job passes its period's
// month and stage on, and refuses a period that is not one.
func TestIssue16_4_ReminderJobReadsItsPeriod(t *testing.T) {
	rec := &stageRecorder{}
	j := PointsReminders(rec, time.UTC)
	if _, err := j.Run(context.Background(), "2026-12/7d"); err != nil || rec.month.String() != "2026-12" || rec.stage != "7d" {
		t.Fatalf("run: %v, got %s %s", err, rec.month, rec.stage)
	}
	if _, err := j.Run(context.Background(), "2026-12"); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("a month without a stage: %v", err)
	}
}
