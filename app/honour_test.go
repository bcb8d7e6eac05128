package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

// The honour roll end to end: nominate, object during notice, rule, list
// by the job, the masked public board, and the tenants kept apart.
func TestHonourRollOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, head, other := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneHeadA), w.login(phoneResidentB)
	elder := w.ids[phoneElderA]

	r := w.call("POST", "/api/v1/honour/nominations", son, map[string]string{
		"resident_id": elder,
		"category":    "诚信",
		"reason":      "x",
	})
	if r.Status != 403 {
		t.Fatalf("resident nominated: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/honour/nominations", staff, map[string]any{
		"resident_id": elder,
		"category":    "诚信",
		"reason":      "拾金不昧",
		"extra":       1,
	})
	if r.Status != 400 {
		t.Fatalf("unknown field: %d", r.Status)
	}
	r = w.call("POST", "/api/v1/honour/nominations", staff, map[string]string{
		"resident_id": elder,
		"category":    "诚信",
		"reason":      "拾金不昧",
	}, "Idempotency-Key", "nominate-key-0001")
	if r.Status != 201 {
		t.Fatalf("nominate: %d %s", r.Status, r.Body)
	}
	var entry struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	r.decode(t, &entry)
	if r := w.call("GET", "/api/v1/honour/entries/"+entry.ID, other, nil); r.Status != 404 {
		t.Fatalf("another community read the entry: %d", r.Status)
	}
	r = w.call("POST", "/api/v1/honour/entries/"+entry.ID+"/objections", head, map[string]string{"reason": "需要核实"})
	if r.Status != 201 {
		t.Fatalf("object: %d %s", r.Status, r.Body)
	}
	var objection struct {
		ID string `json:"id"`
	}
	r.decode(t, &objection)
	if r := w.call("POST", "/api/v1/honour/objections/"+objection.ID+"/ruling", son, map[string]string{"decision": "dismiss", "ruling": "x"}); r.Status != 403 {
		t.Fatalf("resident ruled: %d", r.Status)
	}

	ctx := context.Background()
	after := time.Now().Add(8 * 24 * time.Hour)
	if _, _, blocked, err := w.sys.honour.ListDue(ctx, after); err != nil || blocked != 1 {
		t.Fatalf("listing with an objection pending: blocked %d, %v", blocked, err)
	}
	er, err := w.sys.store.Resident(ctx, elder)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := w.sys.honour.HonourListed(ctx, er.CommunityID, elder, after); ok {
		t.Fatal("listed with an objection pending")
	}
	if r := w.call("POST", "/api/v1/honour/objections/"+objection.ID+"/ruling", staff, map[string]string{"decision": "dismiss", "ruling": "已核实"}, "Idempotency-Key", "ruling-key-0001"); r.Status != 200 {
		t.Fatalf("rule: %d %s", r.Status, r.Body)
	}
	before, _ := w.points(elder)
	for run, want := range []int{1, 0} {
		if listed, _, _, err := w.sys.honour.ListDue(ctx, after); err != nil || listed != want {
			t.Fatalf("listing run %d: %d, %v; want %d", run+1, listed, err, want)
		}
	}
	if got, _ := w.points(elder); got != before+100 {
		t.Fatalf("listing points: %d, want %d", got, before+100)
	}
	if ok, _ := w.sys.honour.HonourListed(ctx, er.CommunityID, elder, time.Now()); !ok {
		t.Fatal("not listed after the ruling")
	}

	var board struct {
		Board []struct {
			EntryID string `json:"entry_id"`
			Name    string `json:"name"`
		} `json:"board"`
	}
	r = w.call("GET", "/api/v1/honour/board", son, nil)
	if r.Status != 200 {
		t.Fatalf("board: %d %s", r.Status, r.Body)
	}
	r.decode(t, &board)
	found := false
	for _, row := range board.Board {
		if row.EntryID == entry.ID {
			found = row.Name == "王**"
		}
	}
	if !found {
		t.Fatalf("board does not show 王** for the entry: %s", r.Body)
	}
	elderTok := w.login(phoneElderA)
	if r := w.call("PUT", "/api/v1/honour/entries/"+entry.ID+"/visibility", son, map[string]bool{"hidden": true}); r.Status != 403 {
		t.Fatalf("another resident hid the entry: %d", r.Status)
	}
	if r := w.call("PUT", "/api/v1/honour/entries/"+entry.ID+"/visibility", elderTok, map[string]bool{"hidden": true}); r.Status != 200 {
		t.Fatalf("hide: %d %s", r.Status, r.Body)
	}
	r = w.call("GET", "/api/v1/honour/board", other, nil)
	if r.Status != 200 {
		t.Fatalf("board B: %d", r.Status)
	}
	board.Board = nil
	r.decode(t, &board)
	if len(board.Board) != 0 {
		t.Fatalf("community B sees A's board: %s", r.Body)
	}

	// Revocation over HTTP ends the eligibility at once.
	if r := w.call("POST", "/api/v1/honour/entries/"+entry.ID+"/revocation", staff, map[string]string{"reason": "违规"}, "Idempotency-Key", "revoke-key-0001"); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if ok, _ := w.sys.honour.HonourListed(ctx, er.CommunityID, elder, time.Now()); ok {
		t.Fatal("still listed after revocation")
	}
	w.mustAudit()
}

// The demo building head logs a duty, staff confirm it; rankings and star
// routes check their input.
func TestDutiesAndRankingsOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, head, son := w.login(phoneStaffA), w.login(phoneHeadA), w.login(phoneSonA)
	month := models.MonthOf(time.Now(), w.sys.loc).String()
	r := w.call("POST", "/api/v1/duties", head, map[string]string{
		"month":    month,
		"duty":     "问题上报",
		"evidence": "楼道灯坏, 已报物业",
	})
	if r.Status != 201 {
		t.Fatalf("log duty: %d %s", r.Status, r.Body)
	}
	var duty struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	r.decode(t, &duty)
	if r := w.call("POST", "/api/v1/duties", son, map[string]string{
		"month":    month,
		"duty":     "问题上报",
		"evidence": "x",
	}); r.Status != 403 {
		t.Fatalf("a resident without a term logged a duty: %d", r.Status)
	}
	if r := w.call("POST", "/api/v1/duties", head, map[string]string{
		"month":    month,
		"duty":     "打扫卫生",
		"evidence": "x",
	}); r.Status != 400 {
		t.Fatalf("duty not on the checklist: %d", r.Status)
	}
	r = w.call("POST", "/api/v1/duties/"+duty.ID+"/ruling", staff, map[string]string{"decision": "confirm"}, "Idempotency-Key", "duty-ruling-key-0001")
	if r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	r.decode(t, &duty)
	if duty.Status != "confirmed" {
		t.Fatalf("status %s", duty.Status)
	}
	if r := w.call("GET", "/api/v1/me/head-terms", head, nil); r.Status != 200 {
		t.Fatalf("my terms: %d", r.Status)
	}
	if r := w.call("GET", "/api/v1/rankings?period="+month, son, nil); r.Status != 200 {
		t.Fatalf("rankings: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/rankings?period=soon", son, nil); r.Status != 400 {
		t.Fatalf("bad period: %d", r.Status)
	}
	if r := w.call("GET", "/api/v1/households/"+w.b.household+"/star?year=2027", son, nil); r.Status != 404 {
		t.Fatalf("another community's household: %d", r.Status)
	}
	lower := "/api/v1/households/" + w.b.household + "/star/2027/lowering"
	if r := w.call("POST", lower, staff, map[string]any{"level": 0, "reason": "违规"}); r.code() != "IDEMPOTENCY_KEY_REQUIRED" {
		t.Fatalf("lowering without a key: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", lower, staff, map[string]any{"level": 0, "reason": "违规"}, "Idempotency-Key", "lower-star-1"); r.Status != 404 {
		t.Fatalf("lowering another community's star: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", lower, son, map[string]any{"level": 0, "reason": "违规"}, "Idempotency-Key", "lower-star-2"); r.Status != 403 {
		t.Fatalf("a resident lowered a star: %d", r.Status)
	}
}

// Issue 19.11: a household's star defaults to this year and the rankings
// to this month, on the service's clock in the community's zone (here the
// first half hour of 2031 in Shanghai, still 2030 in UTC), and the
// volunteer-hours ranking shows residents masked names, not their ids.
func TestIssue19_11_RankingAndStarDefaultsOnServiceClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2030, 12, 31, 16, 30, 0, 0, time.UTC) }
	sys, err := build(testConfig(t), slog.New(slog.NewTextHandler(io.Discard, nil)), storetest.New(t), clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.seedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{
		t:   t,
		sys: sys,
		app: sys.httpApp(),
		ids: map[string]string{},
	}
	for _, phone := range []string{phoneStaffA, phoneSonA} {
		l, err := sys.store.LoginByPhone(ctx, phone)
		if err != nil {
			t.Fatal(err)
		}
		w.ids[phone] = l.ResidentID
	}
	staff, son := w.login(phoneStaffA), w.login(phoneSonA)

	// Twenty minutes of service just after midnight, 1 January 2031.
	r := w.call("POST", "/api/v1/service-records", son, map[string]any{
		"category":     "助老",
		"organisation": "春申居民区",
		"description":  "陪邻居守岁",
		"start":        "2030-12-31T16:00:00Z",
		"end":          "2030-12-31T16:20:00Z",
	}, "Idempotency-Key", "claim-19-11")
	if r.Status != 201 {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var rec struct {
		ID string `json:"id"`
	}
	r.decode(t, &rec)
	if r := w.call("POST", "/api/v1/service-records/"+rec.ID+"/approve", staff, map[string]any{}, "Idempotency-Key", "approve-19-11"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}

	r = w.call("GET", "/api/v1/rankings/volunteer-hours", son, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"period":"2031-01"`)) || !bytes.Contains(r.Body, []byte(`"minutes":20`)) {
		t.Fatalf("volunteer ranking without a period: %d %s", r.Status, r.Body)
	}
	if bytes.Contains(r.Body, []byte(`resident_id`)) || bytes.Contains(r.Body, []byte(w.ids[phoneSonA])) {
		t.Fatalf("a resident sees resident ids: %s", r.Body)
	}
	if r := w.call("GET", "/api/v1/rankings/volunteer-hours", staff, nil); !bytes.Contains(r.Body, []byte(w.ids[phoneSonA])) {
		t.Fatalf("staff do not see the ids: %s", r.Body)
	}
	if r := w.call("GET", "/api/v1/rankings", son, nil); r.Status != 200 {
		t.Fatalf("points ranking without a period: %d %s", r.Status, r.Body)
	}

	if _, _, err := sys.honour.RecordStars(ctx, 2031); err != nil {
		t.Fatal(err)
	}
	me, err := sys.store.Resident(ctx, w.ids[phoneSonA])
	if err != nil {
		t.Fatal(err)
	}
	r = w.call("GET", "/api/v1/households/"+me.HouseholdID+"/star", son, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"year":2031`)) {
		t.Fatalf("star without a year: %d %s", r.Status, r.Body)
	}
}

// Issue 11.1 over HTTP: the same nomination sent twice is one entry; the
// second is a 409 that names the open entry and says why in Chinese.
func TestIssue11_1_RepeatedNominationOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	body := map[string]string{
		"resident_id": w.ids[phoneElderA],
		"category":    "诚信",
		"reason":      "拾金不昧",
	}
	// Two requests, not a repeat of one: each has its own key.
	r := w.call("POST", "/api/v1/honour/nominations", staff, body, "Idempotency-Key", "nominate-11-1-a")
	if r.Status != 201 {
		t.Fatalf("nominate: %d %s", r.Status, r.Body)
	}
	var entry struct {
		ID string `json:"id"`
	}
	r.decode(t, &entry)
	r = w.call("POST", "/api/v1/honour/nominations", staff, body, "Idempotency-Key", "nominate-11-1-b")
	if r.Status != 409 || r.code() != "NOMINATION_OPEN" || !bytes.Contains(r.Body, []byte(entry.ID)) || !bytes.Contains(r.Body, []byte("已有未结束的红榜提名")) {
		t.Fatalf("repeated nomination: %d %s", r.Status, r.Body)
	}
}
