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
	start := e.clock.now().Add(24 * time.Hour)
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
		if _, err := e.tb.CreateActivity(ctx, e.staff, in); !errors.Is(err, models.ErrValidation) {
			t.Errorf("activity, %s: err %v, want VALIDATION", name, err)
		}
	}
	if listed, err := e.tb.Activities(ctx, e.staff, start, ""); err != nil || len(listed) != 0 {
		t.Fatalf("refused activities were written: %d %v", len(listed), err)
	}
	padded := activity
	padded.Title, padded.Place = "  助老探访 ", "\t活动室"
	a, err := e.tb.CreateActivity(ctx, e.staff, padded)
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "助老探访" || a.Place != "活动室" {
		t.Fatalf("activity %q at %q: want the trimmed title and place", a.Title, a.Place)
	}

	done := e.clock.now().Add(-2 * time.Hour)
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
		if _, err := e.tb.ClaimRecord(ctx, res("r1"), c); !errors.Is(err, models.ErrValidation) {
			t.Errorf("claim, %s: err %v, want VALIDATION", name, err)
		}
	}
	if records, err := e.tb.MyRecords(ctx, res("r1")); err != nil || len(records) != 0 {
		t.Fatalf("refused claims were written: %d %v", len(records), err)
	}
}
