package store

import (
	"context"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A statement's status follows its transitions whether or not the
// header's copies of them were written: a paid statement whose copies
// were written is read with no transition lookup, one whose copy was lost
// (a crash between the transition and the copy) or left behind (a
// confirmation's copy written after the payment's) is read from the
// transitions, and a draft reads both. Every read shows the same status,
// by and at.
func TestStatementStatusReadFromTheHeadersCopiesOnlyWhenBothWereWritten(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	months := []string{"2026-08", "2026-09", "2026-10", "2026-11"}
	ids := map[string]string{}
	for i, month := range months {
		m, err := models.ParseMonth(month)
		if err != nil {
			t.Fatal(err)
		}
		st := testStatement("c1", "shop1", m, at.Add(time.Duration(i)*time.Minute))
		if err := s.InsertStatement(ctx, st); err != nil {
			t.Fatal(err)
		}
		ids[month] = st.ID
	}
	transition := func(month string, status models.StatementStatus, by string, at time.Time) {
		t.Helper()
		err := s.InsertStatementTransition(ctx, models.StatementTransition{
			StatementID: ids[month],
			Status:      status,
			By:          by,
			At:          at,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	confirmedAt, paidAt := at.Add(time.Hour), at.Add(2*time.Hour)
	// August: confirmed and paid, both copies written.
	transition("2026-08", models.StatementConfirmed, "partner1", confirmedAt)
	transition("2026-08", models.StatementPaid, "staff1", paidAt)
	// September: paid, but the payment's copy lost (a crash before it).
	transition("2026-09", models.StatementConfirmed, "partner1", confirmedAt)
	transition("2026-09", models.StatementPaid, "staff1", paidAt)
	if err := s.setByID(ctx, colStatements, ids["2026-09"], bson.D{
		{Key: "status", Value: "confirmed"},
		{Key: "paid_by", Value: ""},
		{Key: "paid_at", Value: time.Time{}},
	}); err != nil {
		t.Fatal(err)
	}
	// October: the confirmation's copy lost; November a draft.
	transition("2026-10", models.StatementConfirmed, "partner1", confirmedAt)
	if err := s.setByID(ctx, colStatements, ids["2026-10"], bson.D{
		{Key: "status", Value: "draft"},
		{Key: "confirmed_by", Value: ""},
		{Key: "confirmed_at", Value: time.Time{}},
	}); err != nil {
		t.Fatal(err)
	}
	paid := models.Statement{
		Status:      models.StatementPaid,
		ConfirmedBy: "partner1",
		ConfirmedAt: confirmedAt,
		PaidBy:      "staff1",
		PaidAt:      paidAt,
	}
	want := map[string]models.Statement{
		"2026-08": paid,
		"2026-09": paid,
		"2026-10": {
			Status:      models.StatementConfirmed,
			ConfirmedBy: "partner1",
			ConfirmedAt: confirmedAt,
		},
		"2026-11": {Status: models.StatementDraft},
	}
	// Lookups of transitions per read: none with both copies, one for a
	// missing payment copy, two for a draft or a missing confirmation's.
	lookups := map[string]int64{
		"2026-08": 0,
		"2026-09": 1,
		"2026-10": 2,
		"2026-11": 2,
	}
	check := func(st models.Statement) {
		t.Helper()
		w := want[st.Month.String()]
		if st.Status != w.Status || st.ConfirmedBy != w.ConfirmedBy || !st.ConfirmedAt.Equal(w.ConfirmedAt) || st.PaidBy != w.PaidBy || !st.PaidAt.Equal(w.PaidAt) {
			t.Fatalf("%s reads %s by %q at %v, paid by %q at %v; want %+v", st.Month, st.Status, st.ConfirmedBy, st.ConfirmedAt, st.PaidBy, st.PaidAt, w)
		}
	}
	for _, month := range months {
		commands := watchCommands(s)
		st, err := s.Statement(ctx, ids[month])
		if err != nil {
			t.Fatal(err)
		}
		check(st)
		if got := commands.finds() - 1; got != lookups[month] {
			t.Fatalf("reading %s looked up %d transitions; want %d", month, got, lookups[month])
		}
	}
	page, _, err := s.Statements(ctx, "c1", "", "", "", 10)
	if err != nil || len(page) != len(months) {
		t.Fatalf("the list read %d statements, %v", len(page), err)
	}
	for _, st := range page {
		check(st)
	}
}
