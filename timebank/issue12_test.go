package timebank_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/timebank"
)

// Issue 12.5: CreateActivity and ClaimRecord clean their own input, so a
// caller that is not the HTTP handler (an import, a seed, a job) cannot add
// an activity or a claim with a blank, overlong or control-character text;
// nothing is written when they refuse, and what they accept is trimmed.
func TestIssue12_5_ActivitiesAndClaimsCleanTheirOwnInput(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	start := e.Clock.Now().Add(24 * time.Hour)
	activity := timebank.NewActivity{
		Title:      "助老探访",
		Category:   "助老",
		Place:      "活动室",
		Start:      start,
		End:        start.Add(2 * time.Hour),
		Capacity:   10,
		MaxMinutes: 120,
	}
	for name, spoil := range map[string]func(in *timebank.NewActivity){
		"blank title":           func(in *timebank.NewActivity) { in.Title = " " },
		"category too long":     func(in *timebank.NewActivity) { in.Category = strings.Repeat("助", 21) },
		"place with controls":   func(in *timebank.NewActivity) { in.Place = "活动\u202e室" },
		"blank organisation":    func(in *timebank.NewActivity) { in.Organisation = "\t" },
		"organisation too long": func(in *timebank.NewActivity) { in.Organisation = strings.Repeat("居", 81) },
	} {
		in := activity
		spoil(&in)
		if _, err := e.Timebank.CreateActivity(ctx, e.Staff, in, community.Idempotency{}); !errors.Is(err, models.ErrValidation) {
			t.Errorf("activity, %s: err %v, want VALIDATION", name, err)
		}
	}
	if listed, err := e.Timebank.Activities(ctx, e.Staff, start, ""); err != nil || len(listed) != 0 {
		t.Fatalf("refused activities were written: %d %v", len(listed), err)
	}
	padded := activity
	padded.Title, padded.Place = "  助老探访 ", "\t活动室"
	a, err := e.Timebank.CreateActivity(ctx, e.Staff, padded, community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "助老探访" || a.Place != "活动室" {
		t.Fatalf("activity %q at %q: want the trimmed title and place", a.Title, a.Place)
	}

	done := e.Clock.Now().Add(-2 * time.Hour)
	claim := timebank.Claim{
		Category:     "环境",
		Organisation: "春申居委会",
		Description:  "捡垃圾",
		Start:        done,
		End:          done.Add(time.Hour),
	}
	for name, spoil := range map[string]func(c *timebank.Claim){
		"blank category":       func(c *timebank.Claim) { c.Category = "" },
		"blank organisation":   func(c *timebank.Claim) { c.Organisation = "  " },
		"description too long": func(c *timebank.Claim) { c.Description = strings.Repeat("x", 501) },
		"description with nul": func(c *timebank.Claim) { c.Description = "捡\u0000垃圾" },
	} {
		c := claim
		spoil(&c)
		c.Idem = community.Idempotency{
			Key:  "claim-" + name,
			OpID: "k:r1:claim-" + name,
			Hash: "h",
		}
		if _, err := e.Timebank.ClaimRecord(ctx, res("r1"), c); !errors.Is(err, models.ErrValidation) {
			t.Errorf("claim, %s: err %v, want VALIDATION", name, err)
		}
	}
	if records, _, err := e.Timebank.MyRecords(ctx, res("r1"), "", 0); err != nil || len(records) != 0 {
		t.Fatalf("refused claims were written: %d %v", len(records), err)
	}
}

// Issue 12.5: a ruling's reason and a correction's reason are cleaned by
// the service, as the HTTP routes clean them, so a caller that is not the
// handler gets the route's VALIDATION for a blank, overlong or
// control-character reason, nothing is decided, and a reason it accepts is
// trimmed.
func TestIssue12_5_RulingAndCorrectionReasonsAreCleanedByTheService(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	now := e.Clock.Now()
	rejected := e.claim(t, "r1", now.Add(-5*time.Hour), time.Hour)
	approved := e.claim(t, "r1", now.Add(-3*time.Hour), time.Hour)
	bad := map[string]string{
		"blank":        " \t",
		"too long":     strings.Repeat("理", models.MaxReason+1),
		"with a nul":   "不\u0000实",
		"with an RLO":  "不实\u202e",
		"zero-width":   "\u200b",
		"byte-order":   "\ufeff",
		"only newline": "\n",
	}
	for name, reason := range bad {
		if _, err := e.Timebank.Reject(ctx, e.Staff, rejected.ID, reason); !errors.Is(err, models.ErrValidation) {
			t.Errorf("reject, reason %s: err %v, want VALIDATION", name, err)
		}
		if _, err := e.Timebank.Approve(ctx, e.Staff, approved.ID, 30, reason); !errors.Is(err, models.ErrValidation) {
			t.Errorf("approve with corrected minutes, reason %s: err %v, want VALIDATION", name, err)
		}
	}
	for _, id := range []string{rejected.ID, approved.ID} {
		if rec, err := e.Timebank.Record(ctx, e.Staff, id); err != nil || rec.State != models.RecordPending {
			t.Fatalf("record %s after refused rulings: %+v %v, want still pending", id, rec, err)
		}
	}
	got, err := e.Timebank.Reject(ctx, e.Staff, rejected.ID, "  与活动记录不符 ")
	if err != nil || got.Reason != "与活动记录不符" {
		t.Fatalf("reject with a padded reason: %q %v, want the reason trimmed", got.Reason, err)
	}
	if _, err := e.Timebank.Approve(ctx, e.Staff, approved.ID, 0, ""); err != nil {
		t.Fatalf("approve without a reason: %v", err)
	}
	for name, reason := range bad {
		if _, err := e.Timebank.RequestCorrection(ctx, res("r1"), approved.ID, 90, reason); !errors.Is(err, models.ErrValidation) {
			t.Errorf("correction, reason %s: err %v, want VALIDATION", name, err)
		}
	}
	if _, err := e.Timebank.RequestCorrection(ctx, res("r1"), approved.ID, 90, ""); !errors.Is(err, models.ErrValidation) {
		t.Errorf("correction without a reason: err %v, want VALIDATION", err)
	}
	corrections, err := e.Timebank.Corrections(ctx, res("r1"), approved.ID)
	if err != nil || len(corrections) != 0 {
		t.Fatalf("refused corrections were written: %d %v", len(corrections), err)
	}
	c, err := e.Timebank.RequestCorrection(ctx, res("r1"), approved.ID, 90, "\t少记了半小时 ")
	if err != nil || c.Reason != "少记了半小时" {
		t.Fatalf("correction with a padded reason: %q %v, want the reason trimmed", c.Reason, err)
	}
}
