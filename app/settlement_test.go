package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/models"
	"github.com/xuri/excelize/v2"
)

// settledWorld is the demo world with last month's fulfilments at the
// breakfast shop (老王早餐店) and the property company (春申物业), settled
// by the scheduled job as two replicas would run it at once.
func settledWorld(t *testing.T) (w *world, month string, shop, property models.Partner) {
	t.Helper()
	w = newWorld(t)
	ctx := context.Background()
	staff, err := w.sys.store.Resident(ctx, w.ids[phoneStaffA])
	if err != nil {
		t.Fatal(err)
	}
	partners, err := w.sys.store.Partners(ctx, staff.CommunityID, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range partners {
		switch p.Name {
		case "老王早餐店":
			shop = p
		case "春申物业服务有限公司":
			property = p
		}
	}
	prev := models.MonthOf(time.Now(), w.sys.loc).Previous()
	at := prev.Start(w.sys.loc).Add(36 * time.Hour)
	for i, e := range []models.SettlementEvent{
		{
			ID:           "fulfil:d1",
			PartnerID:    shop.ID,
			Kind:         models.EventFulfilled,
			RedemptionID: "d1",
			Description:  "早餐套餐",
			ValueFen:     1200,
			Bearer:       models.BearerCommunity,
		},
		{
			ID:           "fulfil:d2",
			PartnerID:    shop.ID,
			Kind:         models.EventFulfilled,
			RedemptionID: "d2",
			Description:  "=HYPERLINK(\"x\")",
			ValueFen:     800,
			Bearer:       models.BearerPartner,
		},
		{
			ID:           "fulfil:d3",
			PartnerID:    property.ID,
			Kind:         models.EventFulfilled,
			RedemptionID: "d3",
			Description:  "物业费优惠",
			ValueFen:     5000,
			Bearer:       models.BearerCommunity,
		},
	} {
		e.CommunityID, e.ResidentID, e.At = staff.CommunityID, w.ids[phoneElderA], at.Add(time.Duration(i)*time.Hour)
		if err := w.sys.store.RecordSettlementEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var job jobs.Job
	for _, sj := range w.sys.schedule() {
		if sj.job.Name == "settlement" {
			job = sj.job
		}
	}
	if job.Name == "" {
		t.Fatal("no settlement job in the schedule")
	}
	if got := job.Period(time.Now()); got != prev.String() {
		t.Fatalf("scheduled period = %s, want the previous month %s", got, prev)
	}
	// Two replicas' runners at once: the lease lets one run, the other
	// skips; either way there is one statement per partner.
	runners := make([]*jobs.Runner, 2)
	for i := range runners {
		runners[i] = jobs.NewRunner(w.sys.store, "replica-"+string(rune('a'+i)), time.Minute, time.Now, newID, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	errs := atonce.Errors(len(runners), func(i int) error { return runners[i].Scheduled(ctx, job) })
	ran := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ran++
		case !errors.Is(err, jobs.ErrSkipped):
			t.Fatal(err)
		}
	}
	if ran != 1 {
		t.Fatalf("%d runs, want 1 (the other skipped): %v", ran, errs)
	}
	// Running the month again (the lease of the first run is still live,
	// so directly) changes nothing.
	n, err := w.sys.settlement.SettleMonth(ctx, prev)
	if err != nil || n.Statements != 0 || n.Existing != 2 {
		t.Fatalf("re-run: %+v %v", n, err)
	}
	return w, prev.String(), shop, property
}

type statementsReply struct {
	Statements []struct {
		ID        string `json:"id"`
		PartnerID string `json:"partner_id"`
		Status    string `json:"status"`
		TotalFen  int64  `json:"total_fen"`
		Lines     int    `json:"lines"`
	} `json:"statements"`
}

func TestStatementsOverHTTP(t *testing.T) {
	t.Parallel()
	w, month, shop, property := settledWorld(t)
	staff, clerk, partner, staffB, elder := w.login(phoneStaffA), w.login(phoneClerkA), w.login(phonePartnerA), w.login(phoneStaffB), w.login(phoneElderA)
	shopID := models.StatementID(shop.ID, mustMonth(t, month))

	var all statementsReply
	r := w.call("GET", "/api/v1/statements?month="+month, staff, nil)
	r.decode(t, &all)
	if r.Status != 200 || len(all.Statements) != 2 {
		t.Fatalf("staff listing: %d %s", r.Status, r.Body)
	}
	var own statementsReply
	r = w.call("GET", "/api/v1/statements?month="+month, clerk, nil)
	r.decode(t, &own)
	if r.Status != 200 || len(own.Statements) != 1 || own.Statements[0].ID != shopID || own.Statements[0].TotalFen != 2000 {
		t.Fatalf("clerk listing: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/statements?partner_id="+shop.ID, partner, nil); r.Status != 403 {
		t.Fatalf("property partner lists the shop's: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/statements?month=2026-13", staff, nil); r.Status != 400 {
		t.Fatalf("bad month: %d %s", r.Status, r.Body)
	}

	for _, tc := range []struct {
		who, token string
		status     int
	}{{"clerk of the shop", clerk, 200}, {"staff", staff, 200}, {"the property partner", partner, 403},
		{"a resident", elder, 403}, {"staff of community B", staffB, 404}} {
		for _, path := range []string{"", "/export.csv", "/export.xlsx"} {
			if r := w.call("GET", "/api/v1/statements/"+shopID+path, tc.token, nil); r.Status != tc.status {
				t.Errorf("%s GET %s: %d %s, want %d", tc.who, path, r.Status, r.Body, tc.status)
			}
		}
	}
	var one struct {
		Statement struct {
			ID string `json:"id"`
		} `json:"statement"`
		Lines []struct {
			ID         string `json:"id"`
			ValueFen   int64  `json:"value_fen"`
			Adjustment bool   `json:"adjustment"`
		} `json:"lines"`
		Next string `json:"next"`
	}
	r = w.call("GET", "/api/v1/statements/"+shopID+"?limit=1", clerk, nil)
	r.decode(t, &one)
	if len(one.Lines) != 1 || one.Next == "" {
		t.Fatalf("first page: %s", r.Body)
	}
	r = w.call("GET", "/api/v1/statements/"+shopID+"?limit=5&cursor="+one.Next, clerk, nil)
	one.Next = ""
	r.decode(t, &one)
	if len(one.Lines) != 1 || one.Next != "" {
		t.Fatalf("second page: %s", r.Body)
	}

	r = w.call("GET", "/api/v1/statements/"+shopID+"/export.csv", clerk, nil)
	body := string(r.Body)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(body, "stmtline:fulfil:d1") ||
		!strings.Contains(body, "total_fen,2000,20.00") || !strings.Contains(body, "'=HYPERLINK") {
		t.Fatalf("csv export: %s\n%s", r.Header.Get("Content-Type"), body)
	}
	r = w.call("GET", "/api/v1/statements/"+shopID+"/export.xlsx", clerk, nil)
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("xlsx export: %v", err)
	}
	rows, err := f.GetRows(f.GetSheetName(0))
	f.Close()
	if err != nil || len(rows) < 8 {
		t.Fatalf("xlsx rows: %v %v", rows, err)
	}

	// Status: paid only once confirmed, confirmed only by its partner.
	if r := w.call("POST", "/api/v1/statements/"+shopID+"/paid", staff, nil, "Idempotency-Key", "statement-key-1"); r.Status != 409 {
		t.Fatalf("paid before confirmed: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/statements/"+shopID+"/confirm", partner, nil, "Idempotency-Key", "statement-key-2"); r.Status != 403 {
		t.Fatalf("another partner confirms: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/statements/"+shopID+"/confirm", staff, nil, "Idempotency-Key", "statement-key-3"); r.Status != 403 {
		t.Fatalf("staff confirm: %d %s", r.Status, r.Body)
	}
	var confirmed []byte
	for i := 0; i < 2; i++ {
		r := w.call("POST", "/api/v1/statements/"+shopID+"/confirm", clerk, nil, "Idempotency-Key", "statement-confirm-"+strconv.Itoa(i))
		if r.Status != 200 || !strings.Contains(string(r.Body), `"status":"confirmed"`) {
			t.Fatalf("confirm %d: %d %s", i, r.Status, r.Body)
		}
		confirmed = r.Body
	}
	// Without a key it is refused; with the same key it is the first answer.
	if r := w.call("POST", "/api/v1/statements/"+shopID+"/confirm", clerk, nil); r.Status != 400 || r.code() != "IDEMPOTENCY_KEY_REQUIRED" {
		t.Fatalf("confirm without a key: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/statements/"+shopID+"/confirm", clerk, nil, "Idempotency-Key", "statement-confirm-1"); r.Status != 200 || !bytes.Equal(r.Body, confirmed) {
		t.Fatalf("confirm repeated: %d %s\nfirst %s", r.Status, r.Body, confirmed)
	}
	if r := w.call("POST", "/api/v1/statements/"+shopID+"/paid", clerk, nil, "Idempotency-Key", "statement-key-5"); r.Status != 403 {
		t.Fatalf("clerk marks paid: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/statements/"+shopID+"/paid", staff, nil, "Idempotency-Key", "statement-key-6"); r.Status != 200 || !strings.Contains(string(r.Body), `"status":"paid"`) {
		t.Fatalf("paid: %d %s", r.Status, r.Body)
	}
	_ = property
}

func TestLiabilityReportOverHTTP(t *testing.T) {
	t.Parallel()
	w, month, _, property := settledWorld(t)
	staff := w.login(phoneStaffA)
	if r := w.call("GET", "/api/v1/reports/liability", w.login(phonePartnerA), nil); r.Status != 403 {
		t.Fatalf("partner reads the report: %d", r.Status)
	}
	if r := w.call("GET", "/api/v1/reports/liability?month=10-2026", staff, nil); r.Status != 400 {
		t.Fatalf("bad month: %d %s", r.Status, r.Body)
	}
	var rep struct {
		Outstanding int64 `json:"outstanding_points"`
		Residents   int   `json:"residents"`
		Expiring90  int64 `json:"expiring_90_days"`
		Partners    []struct {
			PartnerID string `json:"partner_id"`
			Settled   bool   `json:"settled"`
			TotalFen  int64  `json:"total_fen"`
		} `json:"redeemed_by_partner"`
	}
	r := w.call("GET", "/api/v1/reports/liability?month="+month, staff, nil)
	r.decode(t, &rep)
	// Outstanding is the sum of the community's points balances, worked
	// out here from the ledger itself.
	var want int64
	var residents int
	if err := w.sys.store.EachResident(context.Background(), w.communityA(), func(res models.Resident) error {
		b, err := w.sys.ledger.Balance(context.Background(), models.AccountOf(res.ID, models.AssetPoints))
		want += b.Amount
		if b.Amount != 0 { // the report counts residents holding points
			residents++
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || rep.Outstanding != want || rep.Residents != residents || want == 0 || rep.Expiring90 != 0 || len(rep.Partners) != 5 {
		t.Fatalf("report (want %d points over %d residents): %d %s", want, residents, r.Status, r.Body)
	}
	for _, p := range rep.Partners {
		if p.PartnerID == property.ID && (!p.Settled || p.TotalFen != 5000) {
			t.Fatalf("property company's month: %+v", p)
		}
	}
}

func mustMonth(t *testing.T, s string) models.Month {
	t.Helper()
	m, err := models.ParseMonth(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
