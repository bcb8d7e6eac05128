package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// Invariant 4 (docs/ARCHITECTURE.md §8) for the state-changing routes that do not post through the
// ledger's op record: they keep their first answer under the request's key.

// keyedOnce sends a keyed request that must succeed, then checks its repeat
// gets the first answer byte for byte and writes nothing, and that the key
// with another request (otherPath, otherBody) is a 422 that writes nothing.
func (w *world) keyedOnce(path, token string, body any, key, otherPath string, otherBody any) reply {
	w.t.Helper()
	first := w.call("POST", path, token, body, "Idempotency-Key", key)
	if first.Status/100 != 2 {
		w.t.Fatalf("%s: %d %s", path, first.Status, first.Body)
	}
	before := w.counts()
	again := w.call("POST", path, token, body, "Idempotency-Key", key)
	if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		w.t.Fatalf("%s repeated: %d %s\nfirst: %d %s", path, again.Status, again.Body, first.Status, first.Body)
	}
	other := w.call("POST", otherPath, token, otherBody, "Idempotency-Key", key)
	if other.Status != http.StatusUnprocessableEntity || other.code() != "IDEMPOTENCY_KEY_REUSED" {
		w.t.Fatalf("%s with the key of %s: %d %s", otherPath, path, other.Status, other.Body)
	}
	if after := w.counts(); !equalCounts(before, after) {
		w.t.Fatalf("a repeat wrote something:\nbefore %v\nafter  %v", before, after)
	}
	return first
}

// together sends n identical keyed requests at once and checks they all
// got one answer, which it returns.
func (w *world) together(n int, path, token string, body any, key string) reply {
	w.t.Helper()
	replies := make([]reply, n)
	atonce.Run(n, func(i int) { replies[i] = w.call("POST", path, token, body, "Idempotency-Key", key) })
	for i, r := range replies {
		if r.Status/100 != 2 || r.Status != replies[0].Status || !bytes.Equal(r.Body, replies[0].Body) {
			w.t.Fatalf("%s concurrent %d: %d %s\nfirst: %d %s", path, i, r.Status, r.Body, replies[0].Status, replies[0].Body)
		}
	}
	return replies[0]
}

// loseAnswer makes the keyed request of caller and key look as if it died
// after its effect and before its answer was stored.
func (w *world) loseAnswer(caller, key string) {
	w.t.Helper()
	ctx, id := context.Background(), "k:"+caller+":"+key
	rec, err := w.sys.store.KeyedRequest(ctx, id)
	if err != nil || !rec.Answered() {
		w.t.Fatalf("keyed request %s: %+v %v", id, rec, err)
	}
	if err := w.sys.store.DeleteKeyedRequest(ctx, id); err != nil {
		w.t.Fatal(err)
	}
	// Older than the patience a repeat gives a first request at work.
	rec.Status, rec.Body, rec.At = 0, nil, rec.At.Add(-time.Minute)
	if err := w.sys.store.InsertKeyedRequest(ctx, rec); err != nil {
		w.t.Fatal(err)
	}
}

// The scenario of the bug: a partner applies a credit (K1), voids the bill
// (K2), and K1 is repeated. The repeat answers as the first apply did and
// applies nothing again, whether the first answer is stored or was lost.
func TestCreditApplyRepeatedAfterVoidOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, granny, pm := w.login(phoneStaffA), w.login(phoneElderA), w.login(phonePartnerA)
	elder, partner := w.ids[phoneElderA], w.ids[phonePartnerA]
	if r := w.call("POST", "/api/v1/residents/"+elder+"/points/adjustments", staff, award(200, "award"), "Idempotency-Key", "keyed-award-1"); r.Status != http.StatusCreated {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	rewardID, cost := w.rewardOf(granny, "property_fee")
	r := w.call("POST", "/api/v1/rewards/"+rewardID+"/redemptions", granny, nil, "Idempotency-Key", "keyed-redeem-1")
	if r.Status != http.StatusCreated {
		t.Fatalf("redeem: %d %s", r.Status, r.Body)
	}
	var redemption struct{ ID string }
	r.decode(t, &redemption)
	credit := "/api/v1/partner/credits/" + redemption.ID
	bill := map[string]string{"bill_no": "WY-2026-11-0301", "bill_date": "2026-11-30"}
	// The redemption's settlement events (the collection also holds the
	// slots of the events' month lists).
	stored, _, err := w.sys.store.Redemption(context.Background(), redemption.ID)
	if err != nil {
		t.Fatal(err)
	}
	events := func() int64 {
		n := int64(0)
		err := w.sys.store.EachSettlementEvent(context.Background(), stored.PartnerID, time.Time{}, time.Now().AddDate(1, 0, 0), func(e models.SettlementEvent) error {
			if e.RedemptionID == redemption.ID {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ev0 := events()

	applied := w.keyedOnce(credit+"/apply", pm, bill, "apply-k1-0001",
		credit+"/apply", map[string]string{"bill_no": "WY-2026-11-0302", "bill_date": "2026-11-30"})
	voided := w.keyedOnce(credit+"/void", pm, map[string]string{"reason": "账单作废"}, "void-k2-0001",
		credit+"/void", map[string]string{"reason": "开错了"})
	if !bytes.Contains(voided.Body, []byte(`"generation":2`)) || !bytes.Contains(voided.Body, []byte(`"status":"held"`)) {
		t.Fatalf("void: %s", voided.Body)
	}
	if got := events() - ev0; got != 2 {
		t.Fatalf("%d settlement events after apply and void; want a fulfilment and a reversal", got)
	}
	// K1 again: the stored answer.
	before := w.counts()
	if again := w.call("POST", credit+"/apply", pm, bill, "Idempotency-Key", "apply-k1-0001"); again.Status != 200 || !bytes.Equal(again.Body, applied.Body) {
		t.Fatalf("apply repeated after the void: %d %s\nfirst %s", again.Status, again.Body, applied.Body)
	}
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("the repeat wrote something:\nbefore %v\nafter  %v", before, after)
	}
	// K1 and K2 again with their answers lost: the services find what the
	// requests did by their op ids and answer the same, concurrently too.
	w.loseAnswer(partner, "apply-k1-0001")
	w.loseAnswer(partner, "void-k2-0001")
	if again := w.together(4, credit+"/apply", pm, bill, "apply-k1-0001"); !bytes.Equal(again.Body, applied.Body) {
		t.Fatalf("apply whose answer was lost: %s\nfirst %s", again.Body, applied.Body)
	}
	if again := w.together(4, credit+"/void", pm, map[string]string{"reason": "账单作废"}, "void-k2-0001"); !bytes.Equal(again.Body, voided.Body) {
		t.Fatalf("void whose answer was lost: %s\nfirst %s", again.Body, voided.Body)
	}
	if got := events() - ev0; got != 2 {
		t.Fatalf("%d settlement events after the repeats; want 2", got)
	}
	r = w.call("GET", "/api/v1/redemptions/"+redemption.ID, granny, nil)
	if !bytes.Contains(r.Body, []byte(`"status":"held"`)) || !bytes.Contains(r.Body, []byte(`"generation":2`)) {
		t.Fatalf("after the repeats: %s", r.Body)
	}

	// A new request applies generation 2: one effect from concurrent
	// requests with one key.
	w.together(6, credit+"/apply", pm, map[string]string{"bill_no": "WY-2026-12-0001", "bill_date": "2026-12-31"}, "apply-k3-0001")
	if got := events() - ev0; got != 3 {
		t.Fatalf("%d settlement events after a second apply; want 3", got)
	}
	// A refused request moves nothing and leaves nothing behind.
	before = w.counts()
	if r := w.call("POST", "/api/v1/redemptions/"+redemption.ID+"/cancel", granny, nil, "Idempotency-Key", "cancel-k4-0001"); r.Status != http.StatusConflict {
		t.Fatalf("cancel of an applied credit: %d %s", r.Status, r.Body)
	}
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("a refused request wrote something:\nbefore %v\nafter  %v", before, after)
	}
	// Cancelling after a void returns the points once, however repeated.
	w.keyedOnce(credit+"/void", pm, map[string]string{"reason": "再次作废"}, "void-k5-0001", credit+"/apply", bill)
	pts, _ := w.points(elder)
	w.together(4, "/api/v1/redemptions/"+redemption.ID+"/cancel", granny, nil, "cancel-k6-0001")
	w.keyedOnce("/api/v1/redemptions/"+redemption.ID+"/cancel", granny, nil, "cancel-k6-0001", "/api/v1/redemptions/other/cancel", nil)
	w.loseAnswer(elder, "cancel-k6-0001")
	if r := w.call("POST", "/api/v1/redemptions/"+redemption.ID+"/cancel", granny, nil, "Idempotency-Key", "cancel-k6-0001"); r.Status != 200 {
		t.Fatalf("cancel whose answer was lost: %d %s", r.Status, r.Body)
	}
	if after, _ := w.points(elder); after-pts != cost {
		t.Fatalf("points %d → %d; want one release of %d", pts, after, cost)
	}
	w.mustAudit()
}

// Reversal, refund and a service-record approval keep their first answers
// too, and concurrent requests with one key make one effect.
func TestKeyedDecisionsOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, clerk := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneClerkA)
	sonID := w.ids[phoneSonA]

	// Ledger reversal: keyed by the entry, answered from the request log.
	r := w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(30, "award"), "Idempotency-Key", "keyed-award-2")
	if r.Status != http.StatusCreated {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	_, seq := w.points(sonID)
	rev := "/api/v1/residents/" + sonID + "/ledger/POINTS/entries/" + strconv.FormatInt(seq, 10) + "/reversal"
	pts, _ := w.points(sonID)
	w.together(4, rev, staff, map[string]string{"reason": "录入错误"}, "reverse-0001")
	w.keyedOnce(rev, staff, map[string]string{"reason": "录入错误"}, "reverse-0001", rev, map[string]string{"reason": "另一个原因"})
	w.loseAnswer(w.ids[phoneStaffA], "reverse-0001")
	if r := w.call("POST", rev, staff, map[string]string{"reason": "录入错误"}, "Idempotency-Key", "reverse-0001"); r.Status != http.StatusCreated {
		t.Fatalf("reversal whose answer was lost: %d %s", r.Status, r.Body)
	}
	if after, _ := w.points(sonID); pts-after != 30 {
		t.Fatalf("points %d → %d; want one reversal of 30", pts, after)
	}

	// Merchant refund of a scanned redemption.
	rewardID, cost := w.rewardOf(son, "merchant")
	r = w.call("POST", "/api/v1/rewards/"+rewardID+"/qr", son, nil)
	var qr struct{ Token string }
	r.decode(t, &qr)
	r = w.call("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": qr.Token}, "Idempotency-Key", "keyed-scan-01")
	if r.Status != http.StatusCreated {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	var scanned struct {
		RedemptionID string `json:"redemption_id"`
	}
	r.decode(t, &scanned)
	pts, _ = w.points(sonID)
	refund := "/api/v1/merchant/redemptions/" + scanned.RedemptionID + "/refund"
	first := w.together(4, refund, clerk, map[string]string{"reason": "顾客退货"}, "refund-0001")
	w.keyedOnce(refund, clerk, map[string]string{"reason": "顾客退货"}, "refund-0001", refund, map[string]string{"reason": "别的"})
	w.loseAnswer(w.ids[phoneClerkA], "refund-0001")
	if again := w.call("POST", refund, clerk, map[string]string{"reason": "顾客退货"}, "Idempotency-Key", "refund-0001"); again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("refund whose answer was lost: %d %s\nfirst %s", again.Status, again.Body, first.Body)
	}
	if after, _ := w.points(sonID); after-pts != cost {
		t.Fatalf("points %d → %d; want one refund of %d", pts, after, cost)
	}

	// A service record claimed by the resident, approved by staff.
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	r = w.call("POST", "/api/v1/service-records", son, map[string]any{
		"category":     "助老",
		"organisation": "居委会",
		"description":  "陪老人就医",
		"start":        start,
		"end":          start.Add(90 * time.Minute),
	}, "Idempotency-Key", "keyed-claim-01")
	if r.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var rec struct{ ID string }
	r.decode(t, &rec)
	hours := func() int64 {
		b, err := w.sys.ledger.Balance(context.Background(), models.AccountOf(sonID, models.AssetHours))
		if err != nil {
			t.Fatal(err)
		}
		return b.Amount
	}
	h0 := hours()
	approve := "/api/v1/service-records/" + rec.ID + "/approve"
	w.together(4, approve, staff, map[string]any{}, "approve-k-0001")
	w.keyedOnce(approve, staff, map[string]any{}, "approve-k-0001", approve, map[string]any{"minutes": 60, "reason": "核减"})
	w.loseAnswer(w.ids[phoneStaffA], "approve-k-0001")
	if r := w.call("POST", approve, staff, map[string]any{}, "Idempotency-Key", "approve-k-0001"); r.Status != 200 {
		t.Fatalf("approval whose answer was lost: %d %s", r.Status, r.Body)
	}
	if got := hours() - h0; got != 90 {
		t.Fatalf("credited %d minutes; want one credit of 90", got)
	}
	w.mustAudit()
}

// Issue 11.8: one record per caller and key holds the request it was first
// used for, on every keyed route, the ones that post through the ledger
// included: the key of an award reused for a reversal, a new resident, a
// fund credit, a nomination or another resident's award is a 422 that
// writes nothing, while another caller's same key is their own.
func TestIssue11_8_KeyReusedOnAnotherRouteIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son := w.login(phoneStaffA), w.login(phoneSonA)
	elder, sonID := w.ids[phoneElderA], w.ids[phoneSonA]
	const key = "shared-key-0001"
	awardPath := "/api/v1/residents/" + elder + "/points/adjustments"
	first := w.call("POST", awardPath, staff, award(200, "award"), "Idempotency-Key", key)
	if first.Status != http.StatusCreated {
		t.Fatalf("award: %d %s", first.Status, first.Body)
	}
	_, seq := w.points(elder)
	rewardID, _ := w.rewardOf(son, "merchant")
	// The son's own use of the same key is another record: his gift goes
	// through, and his key then belongs to it.
	gift := map[string]any{"to_resident_id": elder, "minutes": 10}
	if r := w.call("POST", "/api/v1/gifts", son, gift, "Idempotency-Key", key); r.Status != http.StatusCreated {
		t.Fatalf("the son's gift with his own key: %d %s", r.Status, r.Body)
	}
	before := w.counts()
	pts, _ := w.points(elder)
	others := []struct {
		name, path, token string
		body              any
	}{
		{"reversal", "/api/v1/residents/" + elder + "/ledger/POINTS/entries/" + strconv.FormatInt(seq, 10) + "/reversal", staff, map[string]string{"reason": "录入错误"}},
		{"another resident's award", "/api/v1/residents/" + sonID + "/points/adjustments", staff, award(200, "award")},
		{"new resident", "/api/v1/residents", staff, map[string]any{
			"name":             "新居民",
			"phone":            "13911112222",
			"initial_password": "passw0rd-123",
		}},
		{"fund credit", "/api/v1/timebank/fund/credits", staff, map[string]any{"minutes": 60, "reason": "街道拨付"}},
		{"nomination", "/api/v1/honour/nominations", staff, map[string]string{
			"resident_id": sonID,
			"category":    "诚信",
			"reason":      "拾金不昧",
		}},
		{"the son's redemption", "/api/v1/rewards/" + rewardID + "/redemptions", son, nil},
		{"the son's second gift", "/api/v1/gifts", son, map[string]any{"to_resident_id": elder, "minutes": 20}},
	}
	for _, o := range others {
		r := w.call("POST", o.path, o.token, o.body, "Idempotency-Key", key)
		if r.Status != http.StatusUnprocessableEntity || r.code() != "IDEMPOTENCY_KEY_REUSED" {
			t.Errorf("%s with a used key: %d %s", o.name, r.Status, r.Body)
		}
	}
	csv := "building,room,plates\n1号楼,901,\n"
	if r := w.call("POST", "/api/v1/imports/households", staff, csv, "Idempotency-Key", key, "Content-Type", "text/csv"); r.Status != http.StatusUnprocessableEntity || r.code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Errorf("import with a used key: %d %s", r.Status, r.Body)
	}
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("a reused key wrote something:\nbefore %v\nafter  %v", before, after)
	}
	if after, _ := w.points(elder); after != pts {
		t.Fatalf("points %d → %d after the refused requests", pts, after)
	}
	// The award's own repeat still gets its first answer.
	if again := w.call("POST", awardPath, staff, award(200, "award"), "Idempotency-Key", key); again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("award repeated: %d %s\nfirst %s", again.Status, again.Body, first.Body)
	}
	w.mustAudit()
}

// Issue 11.1: a nomination takes an Idempotency-Key; the same key and body,
// sent again or at once, nominate once and answer alike. The staff rulings
// take a key too.
func TestIssue11_1_NominationUnderOneKeyNominatesOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	sonID := w.ids[phoneSonA]
	body := map[string]string{
		"resident_id": sonID,
		"category":    "诚信",
		"reason":      "拾金不昧",
	}
	entries := func() int {
		t.Helper()
		r := w.call("GET", "/api/v1/honour/entries?limit=200", staff, nil)
		var out struct {
			Entries []struct {
				ResidentID string `json:"resident_id"`
			} `json:"entries"`
		}
		r.decode(t, &out)
		n := 0
		for _, e := range out.Entries {
			if e.ResidentID == sonID {
				n++
			}
		}
		return n
	}
	if r := w.call("POST", "/api/v1/honour/nominations", staff, body); r.Status != http.StatusBadRequest || r.code() != "IDEMPOTENCY_KEY_REQUIRED" {
		t.Fatalf("nomination without a key: %d %s", r.Status, r.Body)
	}
	first := w.together(4, "/api/v1/honour/nominations", staff, body, "nominate-0001")
	if first.Status != http.StatusCreated {
		t.Fatalf("nomination: %d %s", first.Status, first.Body)
	}
	before := w.counts()
	if again := w.call("POST", "/api/v1/honour/nominations", staff, body, "Idempotency-Key", "nominate-0001"); again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("nomination repeated: %d %s\nfirst %s", again.Status, again.Body, first.Body)
	}
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("the repeat wrote something:\nbefore %v\nafter  %v", before, after)
	}
	if n := entries(); n != 1 {
		t.Fatalf("%d entries for the resident after one keyed nomination; want 1", n)
	}
	var entry struct{ ID string }
	first.decode(t, &entry)
	// Staff rulings: refused without a key, answered once with one.
	var listed struct {
		Entries []struct{ ID string } `json:"entries"`
	}
	w.call("GET", "/api/v1/honour/entries?status=listed", staff, nil).decode(t, &listed)
	if len(listed.Entries) == 0 {
		t.Fatal("no listed entry in the demo")
	}
	revoke := "/api/v1/honour/entries/" + listed.Entries[0].ID + "/revocation"
	if r := w.call("POST", revoke, staff, map[string]string{"reason": "违规"}); r.Status != http.StatusBadRequest || r.code() != "IDEMPOTENCY_KEY_REQUIRED" {
		t.Fatalf("revocation without a key: %d %s", r.Status, r.Body)
	}
	w.keyedOnce(revoke, staff, map[string]string{"reason": "违规"}, "revoke-0001", revoke, map[string]string{"reason": "另一个原因"})
	for _, rt := range []struct {
		path string
		body map[string]string
	}{
		{"/api/v1/service-records/x-record/reject", map[string]string{"reason": "无人证明"}},
		{"/api/v1/honour/objections/x-objection/ruling", map[string]string{"decision": "dismiss", "ruling": "已核实"}},
		{"/api/v1/honour/entries/" + entry.ID + "/appeal/decision", map[string]string{"decision": "dismiss", "note": "维持"}},
		{"/api/v1/duties/x-duty/ruling", map[string]string{"decision": "confirm", "note": "已核实"}},
	} {
		if r := w.call("POST", rt.path, staff, rt.body); r.Status != http.StatusBadRequest || r.code() != "IDEMPOTENCY_KEY_REQUIRED" {
			t.Errorf("%s without a key: %d %s", rt.path, r.Status, r.Body)
		}
	}
}

// Issue 11.11: an entry is reversed once. Another staff member's reversal,
// or the same staff member's under another key, is a 409 ALREADY_REVERSED
// naming the first reversal; the first request's repeat, with its answer
// kept or lost, gets the first reversal. Two staff members at once: one
// reverses, the other is told.
func TestIssue11_11_SecondReversalIsAlreadyReversed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, admin := w.login(phoneStaffA), w.login(phoneAdminA)
	sonID := w.ids[phoneSonA]
	awardOnce := func(key string) string {
		t.Helper()
		if r := w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(30, "award"), "Idempotency-Key", key); r.Status != http.StatusCreated {
			t.Fatalf("award: %d %s", r.Status, r.Body)
		}
		_, seq := w.points(sonID)
		return "/api/v1/residents/" + sonID + "/ledger/POINTS/entries/" + strconv.FormatInt(seq, 10) + "/reversal"
	}
	rev := awardOnce("award-rev-0001")
	pts, _ := w.points(sonID)
	reason := map[string]string{"reason": "录入错误"}
	first := w.call("POST", rev, staff, reason, "Idempotency-Key", "rev-staff-0001")
	if first.Status != http.StatusCreated {
		t.Fatalf("reversal: %d %s", first.Status, first.Body)
	}
	var reversal struct {
		ID  string `json:"id"`
		Seq int64  `json:"seq"`
	}
	first.decode(t, &reversal)
	for _, tc := range []struct{ who, token, key string }{
		{"another staff member", admin, "rev-admin-0001"},
		{"the same staff member under another key", staff, "rev-staff-0002"},
	} {
		r := w.call("POST", rev, tc.token, map[string]string{"reason": "再次冲正"}, "Idempotency-Key", tc.key)
		if r.Status != http.StatusConflict || r.code() != "ALREADY_REVERSED" || !strings.Contains(string(r.Body), reversal.ID) {
			t.Errorf("%s reverses again: %d %s; want 409 ALREADY_REVERSED naming %s", tc.who, r.Status, r.Body, reversal.ID)
		}
	}
	if again := w.call("POST", rev, staff, reason, "Idempotency-Key", "rev-staff-0001"); again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("the reversal repeated: %d %s\nfirst %s", again.Status, again.Body, first.Body)
	}
	w.loseAnswer(w.ids[phoneStaffA], "rev-staff-0001")
	if again := w.call("POST", rev, staff, reason, "Idempotency-Key", "rev-staff-0001"); again.Status != http.StatusCreated || !bytes.Contains(again.Body, []byte(reversal.ID)) {
		t.Fatalf("the reversal whose answer was lost: %d %s", again.Status, again.Body)
	}
	if after, _ := w.points(sonID); pts-after != 30 {
		t.Fatalf("points %d → %d; want one reversal of 30", pts, after)
	}
	// At once, for rounds: exactly one 201 and one 409 each time.
	for round := range 10 {
		rev := awardOnce(fmt.Sprintf("award-race-%04d", round))
		pts, _ := w.points(sonID)
		replies := make([]reply, 2)
		tokens := []string{staff, admin}
		atonce.Run(2, func(i int) {
			replies[i] = w.call("POST", rev, tokens[i], reason, "Idempotency-Key", fmt.Sprintf("rev-race-%04d-%d", round, i))
		})
		created, refused := 0, 0
		for _, r := range replies {
			switch {
			case r.Status == http.StatusCreated:
				created++
			case r.Status == http.StatusConflict && r.code() == "ALREADY_REVERSED":
				refused++
			default:
				t.Fatalf("round %d: %d %s", round, r.Status, r.Body)
			}
		}
		if created != 1 || refused != 1 {
			t.Fatalf("round %d: %d reversals and %d refusals; want one of each", round, created, refused)
		}
		if after, _ := w.points(sonID); pts-after != 30 {
			t.Fatalf("round %d: points %d → %d; want one reversal of 30", round, pts, after)
		}
	}
	w.mustAudit()
}

// Issue 11.1: a route that creates a record honours an Idempotency-Key
// when one is sent: the repeat gets the first answer and nothing is
// created twice; another key creates another record.
func TestIssue11_1_CreatesHonourAnOptionalKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, admin := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneAdminA)
	partner := jsonField(t, w.call("GET", "/api/v1/partners?kind=merchant", staff, nil), "id", "items")
	building := jsonField(t, w.call("GET", "/api/v1/buildings", staff, nil), "id", "items")
	soon := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	cases := []struct {
		name, path, token, caller string
		body                      any
	}{
		{"community", "/api/v1/communities", admin, phoneAdminA, map[string]any{
			"name": "莲花居民区",
			"first_staff": map[string]any{
				"name":             "周社工",
				"phone":            "13600000001",
				"birth_year":       1990,
				"initial_password": "first-staff-pw-1",
			},
		}},
		{"building", "/api/v1/buildings", staff, phoneStaffA, map[string]string{"name": "9号楼"}},
		{"household", "/api/v1/households", staff, phoneStaffA, map[string]any{"building_id": building, "room": "1703"}},
		{"partner", "/api/v1/partners", staff, phoneStaffA, map[string]string{"kind": "merchant", "name": "小笼包店"}},
		{"policy version", "/api/v1/policy/versions", staff, phoneStaffA, map[string]any{"points_per_hour": 11}},
		{"reward", "/api/v1/rewards", staff, phoneStaffA, map[string]any{
			"kind":       "merchant",
			"title":      "小笼包",
			"partner_id": partner,
			"points":     30,
			"value_fen":  1200,
			"bearer":     "partner",
		}},
		{"activity", "/api/v1/activities", staff, phoneStaffA, map[string]any{
			"title":       "楼道清洁",
			"category":    "环境",
			"place":       "9号楼",
			"start":       soon,
			"end":         soon.Add(2 * time.Hour),
			"capacity":    5,
			"max_minutes": 120,
		}},
		{"mutual-aid post", "/api/v1/mutual-aid", son, phoneSonA, map[string]any{
			"kind":    "offer",
			"title":   "教用智能手机",
			"minutes": 30,
		}},
	}
	for _, tc := range cases {
		before := w.counts()
		first := w.call("POST", tc.path, tc.token, tc.body, "Idempotency-Key", "create-"+strings.ReplaceAll(tc.name, " ", "-"))
		if first.Status != 201 {
			t.Fatalf("%s: %d %s", tc.name, first.Status, first.Body)
		}
		made, madeRecords := w.counts(), w.recordCounts()
		again := w.call("POST", tc.path, tc.token, tc.body, "Idempotency-Key", "create-"+strings.ReplaceAll(tc.name, " ", "-"))
		if again.Status != 201 || string(again.Body) != string(first.Body) {
			t.Fatalf("%s repeated: %d %s; want the first answer %s", tc.name, again.Status, again.Body, first.Body)
		}
		if after := w.counts(); !maps.Equal(after, made) {
			t.Fatalf("%s repeated wrote again: %v → %v", tc.name, made, after)
		}
		if maps.Equal(made, before) {
			t.Fatalf("%s: the first request wrote nothing", tc.name)
		}
		// The first request died after its record, before its answer was
		// stored: its repeat answers with that record and writes no other.
		w.loseAnswer(w.ids[tc.caller], "create-"+strings.ReplaceAll(tc.name, " ", "-"))
		repeat := w.call("POST", tc.path, tc.token, tc.body, "Idempotency-Key", "create-"+strings.ReplaceAll(tc.name, " ", "-"))
		if repeat.Status != 201 || createdID(t, repeat) != createdID(t, first) {
			t.Fatalf("%s repeated after its answer was lost: %d %s; want the first record %s", tc.name, repeat.Status, repeat.Body, first.Body)
		}
		if after := w.recordCounts(); !maps.Equal(after, madeRecords) {
			t.Fatalf("%s repeated after its answer was lost wrote again: %v → %v", tc.name, madeRecords, after)
		}
		if tc.name == "household" {
			// The repeat took a second slot on the room's search list;
			// the search still finds the household once.
			if got, _ := w.walkPages(staff, "/api/v1/households?limit=1&room=1703", "items"); len(got) != 1 {
				t.Fatalf("room 1703 after the repeat finds %v; want the household once", got)
			}
		}
		other := w.call("POST", tc.path, tc.token, tc.body, "Idempotency-Key", "create-other-"+strings.ReplaceAll(tc.name, " ", "-"))
		// Another key is another request: a new record, unless the record
		// has a natural key of its own (a building's name is unique).
		if other.code() != string(models.ErrAlreadyExists.Code) && (other.Status != 201 || createdID(t, other) == createdID(t, first)) {
			t.Fatalf("%s under another key: %d %s; want a new record", tc.name, other.Status, other.Body)
		}
	}
}

// createdID is the id of what a create answered: a record's id, or a
// policy version's number.
func createdID(t *testing.T, r reply) string {
	t.Helper()
	var created struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
	r.decode(t, &created)
	if created.ID == "" && created.Version == 0 {
		t.Fatalf("no id or version in %s", r.Body)
	}
	return created.ID + ":" + strconv.Itoa(created.Version)
}
