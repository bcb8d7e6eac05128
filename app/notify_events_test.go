package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// notices counts the notifications of kind about event ("*": any) in
// recipient's inbox, reading every position, after one pass of the
// delivery loop: a request only queues its notice, and the loop writes
// and places it (inbox.Inbox.Queue).
func (w *world) notices(recipient string, kind models.NoticeKind, event string) int {
	w.t.Helper()
	if _, err := w.sys.deliverer.Pass(context.Background()); err != nil {
		w.t.Fatalf("delivery pass: %v", err)
	}
	n := 0
	for seq := int64(1); ; seq++ {
		note, err := w.sys.store.InboxEntry(context.Background(), recipient, seq)
		if err != nil {
			return n
		}
		if note.Kind == kind && (note.EventID == event || event == "*") {
			n++
		}
	}
}

// nominateAtOnce has staff nominate resident by 32 requests at once,
// spread over keys Idempotency-Keys named after prefix, and returns the
// entry's id.
func (w *world) nominateAtOnce(staff, resident, prefix string, keys int) string {
	w.t.Helper()
	nomination := map[string]string{
		"resident_id": resident,
		"category":    "诚信",
		"reason":      "拾金不昧",
	}
	nominated := make([]reply, 32)
	atonce.Run(32, func(i int) {
		nominated[i] = w.call("POST", "/api/v1/honour/nominations", staff, nomination, "Idempotency-Key", fmt.Sprintf("%s-%02d", prefix, i%keys))
	})
	entry := ""
	for _, r := range nominated {
		if r.Status == 201 {
			entry = jsonField(w.t, r, "id")
		}
	}
	if entry == "" {
		w.t.Fatalf("no nomination: %d %s", nominated[0].Status, nominated[0].Body)
	}
	return entry
}

// TestIssue16_3_EachEventNotifiesOnceUnder32Repeats: hours approved and
// rejected, a redemption fulfilled at the counter, a nomination, an
// objection and a statement ready each write exactly one notification to
// the person concerned, however many of the cause's requests (32, at once)
// or runs arrive.
func TestIssue16_3_EachEventNotifiesOnceUnder32Repeats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	staff, son, elder, clerk := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneElderA), w.login(phoneClerkA)
	sonID, elderID := w.ids[phoneSonA], w.ids[phoneElderA]
	var key atomic.Int64
	keyed := func(method, path, token string, body any) reply {
		t.Helper()
		return w.call(method, path, token, body, "Idempotency-Key", fmt.Sprintf("events-key-%04d", key.Add(1)))
	}
	start := time.Now().Add(-30 * time.Hour).Truncate(time.Minute)
	claim := func(from time.Time) string {
		t.Helper()
		r := keyed("POST", "/api/v1/service-records", son, map[string]any{
			"category":     "助老",
			"organisation": "居委会",
			"description":  "陪老人就医",
			"start":        from,
			"end":          from.Add(time.Hour),
		})
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("claim: %d %s", r.Status, r.Body)
		}
		return jsonField(t, r, "id")
	}
	toApprove, toReject := claim(start), claim(start.Add(3*time.Hour))
	atonce.Run(32, func(i int) {
		keyed("POST", "/api/v1/service-records/"+toApprove+"/approve", staff, map[string]any{})
	})
	atonce.Run(32, func(i int) {
		keyed("POST", "/api/v1/service-records/"+toReject+"/reject", staff, map[string]string{"reason": "时间与活动不符"})
	})
	if n := w.notices(sonID, models.NoticeHoursApproved, toApprove); n != 1 {
		t.Errorf("hours approved: %d notifications, want 1", n)
	}
	if n := w.notices(sonID, models.NoticeHoursRejected, toReject); n != 1 {
		t.Errorf("hours rejected: %d notifications, want 1", n)
	}
	if r := w.call("POST", "/api/v1/service-records/"+toApprove+"/corrections", son, map[string]any{"minutes": 50, "reason": "提前离开"}); r.Status/100 != 2 {
		t.Fatalf("correction: %d %s", r.Status, r.Body)
	}
	atonce.Run(32, func(int) {
		keyed("POST", "/api/v1/service-records/"+toApprove+"/corrections/1/decision", staff, map[string]any{"accept": true, "answer": "已核实"})
	})
	if n := w.notices(sonID, models.NoticeCorrectionAnswered, "corr:"+toApprove+":1"); n != 1 {
		t.Errorf("correction answered: %d notifications, want 1", n)
	}

	// Points awarded (one key, 32 requests), then reversed (32 keys).
	atonce.Run(32, func(int) {
		w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(30, "award"), "Idempotency-Key", "events-award-1")
	})
	_, seq := w.points(sonID)
	awarded := models.AccountOf(sonID, models.AssetPoints).EntryID(seq)
	if n := w.notices(sonID, models.NoticePointsAwarded, awarded); n != 1 {
		t.Errorf("points awarded: %d notifications about %s, want 1", n, awarded)
	}
	atonce.Run(32, func(i int) {
		keyed("POST", fmt.Sprintf("/api/v1/residents/%s/ledger/POINTS/entries/%d/reversal", sonID, seq), staff, map[string]string{"reason": "录入错误"})
	})
	reversal := models.AccountOf(sonID, models.AssetPoints).EntryID(seq + 1)
	if n := w.notices(sonID, models.NoticePointsReversed, reversal); n != 1 {
		t.Errorf("points reversed: %d notifications about %s, want 1", n, reversal)
	}

	// A family link verified by 32 requests at once tells both sides once.
	headID := w.ids[phoneHeadA]
	if r := w.call("POST", "/api/v1/residents/"+sonID+"/family", staff, map[string]string{"resident_id": headID, "relation": "其他"}); r.Status/100 != 2 {
		t.Fatalf("family link: %d %s", r.Status, r.Body)
	}
	atonce.Run(32, func(int) {
		w.call("POST", "/api/v1/residents/"+sonID+"/family/"+headID+"/verify", staff, nil)
	})
	for _, id := range []string{sonID, headID} {
		if n := w.notices(id, models.NoticeFamilyLinked, "family:"+sonID+":"+headID); n != 1 {
			t.Errorf("family linked: %d notifications to %s, want 1", n, id)
		}
	}

	// Hours given to his mother: one key, 32 requests.
	atonce.Run(32, func(int) {
		w.call("POST", "/api/v1/gifts", son, map[string]any{"to_resident_id": elderID, "minutes": 30}, "Idempotency-Key", "events-gift-1")
	})
	if n := w.notices(elderID, models.NoticeGiftReceived, "*"); n != 1 {
		t.Errorf("gift received: %d notifications, want 1", n)
	}

	merchant, _ := w.rewardOf(son, "merchant")
	token := jsonField(t, w.call("POST", "/api/v1/rewards/"+merchant+"/qr", son, nil), "token")
	scans := make([]reply, 32)
	atonce.Run(32, func(i int) {
		scans[i] = keyed("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": token})
	})
	redemption := ""
	for _, r := range scans {
		if r.Status/100 == 2 {
			redemption = jsonField(t, r, "redemption_id")
		}
	}
	if redemption == "" {
		t.Fatalf("no scan fulfilled: %d %s", scans[0].Status, scans[0].Body)
	}
	if n := w.notices(sonID, models.NoticeRedemptionDone, "fulfil:"+redemption); n != 1 {
		t.Errorf("redemption fulfilled: %d notifications, want 1 (%s)", n, redemption)
	}

	atonce.Run(32, func(int) {
		keyed("POST", "/api/v1/merchant/redemptions/"+redemption+"/refund", clerk, map[string]string{"reason": "顾客退货"})
	})
	if n := w.notices(sonID, models.NoticeRedemptionRefunded, "refund:"+redemption); n != 1 {
		t.Errorf("redemption refunded: %d notifications, want 1", n)
	}
	// A held property-fee credit expired by 8 hold-expiry runs at once.
	keyed("POST", "/api/v1/residents/"+elderID+"/points/adjustments", staff, award(150, "award"))
	property, _ := w.rewardOf(elder, "property_fee")
	held := jsonField(t, keyed("POST", "/api/v1/rewards/"+property+"/redemptions", elder, nil), "id")
	atonce.Run(8, func(int) { _, _ = w.sys.rewards.ExpireHolds(ctx, time.Now().AddDate(0, 3, 0)) })
	if n := w.notices(elderID, models.NoticeRedemptionExpired, "expired:"+held); n != 1 {
		t.Errorf("redemption expired: %d notifications, want 1", n)
	}

	entry := w.nominateAtOnce(staff, sonID, "nominate", 4)
	if n := w.notices(sonID, models.NoticeNominated, entry); n != 1 {
		t.Errorf("nominated: %d notifications, want 1", n)
	}
	atonce.Run(32, func(i int) {
		w.call("POST", "/api/v1/honour/entries/"+entry+"/objections", elder, map[string]string{"reason": "需要核实"})
	})
	objection := jsonField(t, w.call("GET", "/api/v1/honour/entries/"+entry+"/objections", staff, nil), "id", "objections")
	if n := w.notices(sonID, models.NoticeObjectionFiled, objection); n != 1 {
		t.Errorf("objection filed: %d notifications, want 1", n)
	}
	if n := w.notices(elderID, models.NoticeObjectionFiled, objection); n != 0 {
		t.Errorf("the objector was told of her own objection")
	}

	// Last month's statement of the breakfast shop, settled by 8 runs at once.
	shop, err := w.sys.store.Resident(ctx, w.ids[phoneClerkA])
	if err != nil {
		t.Fatal(err)
	}
	prev := models.MonthOf(time.Now(), w.sys.loc).Previous()
	if err := w.sys.store.RecordSettlementEvent(ctx, models.SettlementEvent{
		ID:           "fulfil:events",
		CommunityID:  w.communityA(),
		PartnerID:    shop.MerchantID,
		Kind:         models.EventFulfilled,
		RedemptionID: "events",
		ResidentID:   sonID,
		Description:  "早餐套餐",
		ValueFen:     800,
		Bearer:       models.BearerPartner,
		At:           prev.Start(w.sys.loc).Add(36 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	atonce.Run(8, func(int) { _, _ = w.sys.settlement.SettleMonth(ctx, prev) })
	statement := models.StatementID(shop.MerchantID, prev)
	if n := w.notices(shop.ID, models.NoticeStatementReady, statement); n != 1 {
		t.Errorf("statement ready: %d notifications to the clerk, want 1", n)
	}
	atonce.Run(32, func(int) { keyed("POST", "/api/v1/statements/"+statement+"/confirm", clerk, nil) })
	if n := w.notices(w.ids[phoneStaffA], models.NoticeStatementConfirmed, statement); n != 1 {
		t.Errorf("statement confirmed: %d notifications to staff, want 1", n)
	}
	atonce.Run(32, func(int) { keyed("POST", "/api/v1/statements/"+statement+"/paid", staff, nil) })
	if n := w.notices(shop.ID, models.NoticeStatementPaid, statement); n != 1 {
		t.Errorf("statement paid: %d notifications to the clerk, want 1", n)
	}
	// Whom a statement's news is told to is read from the role lists, not
	// by filtering every resident of the community (a scan): a repeated
	// confirmation and payment tell again and send none.
	before := w.sys.store.CommandCounts().Scans
	keyed("POST", "/api/v1/statements/"+statement+"/confirm", clerk, nil)
	keyed("POST", "/api/v1/statements/"+statement+"/paid", staff, nil)
	if scans := w.sys.store.CommandCounts().Scans - before; scans != 0 {
		t.Errorf("a repeated confirmation and payment sent %d scans; want none", scans)
	}

	// The demo's listed entry revoked by 32 requests at once.
	var listed struct {
		Entries []struct {
			ID         string `json:"id"`
			ResidentID string `json:"resident_id"`
		} `json:"entries"`
	}
	w.call("GET", "/api/v1/honour/entries?status=listed", staff, nil).decode(t, &listed)
	if len(listed.Entries) == 0 || listed.Entries[0].ResidentID == "" {
		t.Fatalf("no listed resident entry in the demo: %+v", listed)
	}
	revoked := listed.Entries[0]
	atonce.Run(32, func(int) {
		keyed("POST", "/api/v1/honour/entries/"+revoked.ID+"/revocation", staff, map[string]string{"reason": "违规"})
	})
	if n := w.notices(revoked.ResidentID, models.NoticeRevoked, revoked.ID+":revoked:1"); n != 1 {
		t.Errorf("revoked: %d notifications, want 1", n)
	}
}
