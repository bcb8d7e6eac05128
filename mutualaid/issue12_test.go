package mutualaid_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
)

// Issue 12.5: PostAid and CreditFund clean their own input, so a caller
// that is not the HTTP handler cannot publish a post without a title or of
// an unknown kind, or credit the fund a negative amount or without a
// reason; nothing is held or posted when they refuse, and what they accept
// is trimmed.
func TestIssue12_5_PostAidAndCreditFundCleanTheirOwnInput(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.seedHours(t, "r1", 600)
	good := mutualaid.NewAid{
		Kind:    models.AidRequest,
		Title:   "陪同就医",
		Minutes: 60,
	}
	bad := map[string]func(in *mutualaid.NewAid){
		"blank title":          func(in *mutualaid.NewAid) { in.Title = "  " },
		"title too long":       func(in *mutualaid.NewAid) { in.Title = strings.Repeat("陪", 81) },
		"title with controls":  func(in *mutualaid.NewAid) { in.Title = "陪同\u0000就医" },
		"blank description":    func(in *mutualaid.NewAid) { in.Description = "   " },
		"description too long": func(in *mutualaid.NewAid) { in.Description = strings.Repeat("x", 501) },
		"unknown kind":         func(in *mutualaid.NewAid) { in.Kind = "loan" },
		"zero minutes":         func(in *mutualaid.NewAid) { in.Minutes = 0 },
		"negative minutes":     func(in *mutualaid.NewAid) { in.Minutes = -60 },
	}
	for name, spoil := range bad {
		in := good
		spoil(&in)
		if _, err := e.aid.PostAid(ctx, res("r1"), in, community.Idempotency{}); !errors.Is(err, models.ErrValidation) {
			t.Errorf("%s: err %v, want VALIDATION", name, err)
		}
	}
	if got := e.Balance(t, "r1", models.AssetHours); got != 600 {
		t.Fatalf("refused posts held hours: balance %d, want 600", got)
	}
	if aids, _, err := e.aid.Aids(ctx, res("r1"), "", 50); err != nil || len(aids) != 0 {
		t.Fatalf("refused posts were written: %d %v", len(aids), err)
	}

	padded := good
	padded.Title, padded.Description = "  陪同就医\t", " 周三上午 "
	a, err := e.aid.PostAid(ctx, res("r1"), padded, community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "陪同就医" || a.Description != "周三上午" {
		t.Fatalf("post %q %q: want the trimmed title and description", a.Title, a.Description)
	}

	for name, credit := range map[string]struct {
		minutes models.Minutes
		reason  string
	}{
		"negative minutes": {-300, "区里拨付"},
		"zero minutes":     {0, "区里拨付"},
		"blank reason":     {300, "  "},
	} {
		idem := community.Idempotency{
			Key:  "fund-" + name,
			OpID: "k:s:fund-" + name,
			Hash: "h",
		}
		if _, err := e.aid.CreditFund(ctx, e.Staff, credit.minutes, credit.reason, idem); !errors.Is(err, models.ErrValidation) {
			t.Errorf("credit fund, %s: err %v, want VALIDATION", name, err)
		}
	}
	if fund, err := e.aid.Fund(ctx, e.Staff); err != nil || fund.Amount != 0 || fund.Seq != 0 {
		t.Fatalf("refused credits moved the fund: %+v %v", fund, err)
	}
}
