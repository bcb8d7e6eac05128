package main

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// lostAnswerCase is one keyed route whose first answer is lost: prepare
// brings the world to where the request is allowed and returns its path
// and body; caller is the phone of the allowed role that sends it; fields
// are the answer's fields that name the resource and its state.
type lostAnswerCase struct {
	name    string
	caller  string
	gated   bool
	prepare func(w *world) (path string, body any)
	fields  []string
}

// Invariant 4 (docs/ARCHITECTURE.md §8) for every keyed decision and step
// whose answer is lost (community/requests.go): the first request took
// effect and died before its answer was stored; its repeat under the same
// key runs again and must answer as the first would have, with the same
// status and the same resource in the same state, writing no second record
// and moving no value again.
func TestKeyedLostAnswerAnswersAsTheFirst(t *testing.T) {
	t.Parallel()
	for _, tc := range lostAnswerCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w *world
			if tc.gated {
				w = gatedWorld(t, "2026-12")
			} else {
				w = newWorld(t)
			}
			path, body := tc.prepare(w)
			token, key := w.login(tc.caller), "lost-answer-"+tc.name
			first := w.call("POST", path, token, body, "Idempotency-Key", key)
			if first.Status/100 != 2 {
				t.Fatalf("first: %d %s", first.Status, truncate(first.Body))
			}
			records, money := w.recordCounts(), w.balances()
			w.loseAnswer(w.ids[tc.caller], key)
			again := w.call("POST", path, token, body, "Idempotency-Key", key)
			if again.Status != first.Status {
				t.Fatalf("repeat after the answer was lost: %d %s\nfirst: %d %s", again.Status, again.Body, first.Status, first.Body)
			}
			for _, field := range tc.fields {
				was, is := answerField(t, first, field), answerField(t, again, field)
				if was == "" || was != is {
					t.Errorf("repeat after the answer was lost: %s is %s, first %s\nrepeat %s\nfirst  %s", field, is, was, again.Body, first.Body)
				}
			}
			if after := w.recordCounts(); !maps.Equal(after, records) {
				t.Errorf("the repeat wrote a record:\nbefore %v\nafter  %v", records, after)
			}
			if after := w.balances(); !maps.Equal(after, money) {
				t.Errorf("the repeat moved value:\nbefore %v\nafter  %v", money, after)
			}
			w.mustAudit()
		})
	}
}

// answerField is the JSON of an answer's top-level field, "" when absent.
func answerField(t *testing.T, r reply, field string) string {
	t.Helper()
	var obj map[string]json.RawMessage
	r.decode(t, &obj)
	return string(obj[field])
}

// balances is every account of the world's named residents and of both
// communities' funds, points and hours.
func (w *world) balances() map[models.Account]models.Balance {
	w.t.Helper()
	ctx := context.Background()
	accounts := []models.Account{models.FundAccount(w.communityA()), models.FundAccount(w.b.community)}
	for _, id := range w.ids {
		accounts = append(accounts, models.AccountOf(id, models.AssetPoints), models.AccountOf(id, models.AssetHours))
	}
	out := map[models.Account]models.Balance{}
	for _, a := range accounts {
		b, err := w.sys.ledger.Balance(ctx, a)
		if err != nil {
			w.t.Fatal(err)
		}
		out[a] = b
	}
	return out
}

// must fails the test unless r is a 2xx, and returns it.
func (w *world) must(r reply, what string) reply {
	w.t.Helper()
	if r.Status/100 != 2 {
		w.t.Fatalf("%s: %d %s", what, r.Status, truncate(r.Body))
	}
	return r
}

// keyedCall sends a request under a key of its own that must succeed.
func (w *world) keyedCall(path, token string, body any, key string) reply {
	w.t.Helper()
	return w.must(w.call("POST", path, token, body, "Idempotency-Key", key), path)
}

// awarded gives a resident 400 points to spend, in two awards of the
// most one award may give.
func (w *world) awarded(phone string) {
	w.t.Helper()
	for i := range 2 {
		w.keyedCall("/api/v1/residents/"+w.ids[phone]+"/points/adjustments", w.login(phoneStaffA), award(200, "award"), "award-"+phone+"-"+strconv.Itoa(i))
	}
}

// heldCredit is a property-fee redemption the elder made, held.
func (w *world) heldCredit() string {
	w.t.Helper()
	w.awarded(phoneElderA)
	elder := w.login(phoneElderA)
	property, _ := w.rewardOf(elder, "property_fee")
	return jsonField(w.t, w.keyedCall("/api/v1/rewards/"+property+"/redemptions", elder, nil, "redeem-fixture"), "id")
}

// merchantQR is a QR the son got for a breakfast: its token and code.
func (w *world) merchantQR() (token, code string) {
	w.t.Helper()
	w.awarded(phoneSonA)
	son := w.login(phoneSonA)
	merchant, _ := w.rewardOf(son, "merchant")
	r := w.must(w.call("POST", "/api/v1/rewards/"+merchant+"/qr", son, nil), "qr")
	return jsonField(w.t, r, "token"), jsonField(w.t, r, "code")
}

// lastMonthStatement settles last month with one breakfast of the clerk's
// shop and returns the shop's statement.
func (w *world) lastMonthStatement() string {
	w.t.Helper()
	ctx := context.Background()
	shop, err := w.sys.store.Resident(ctx, w.ids[phoneClerkA])
	if err != nil {
		w.t.Fatal(err)
	}
	prev := models.MonthOf(time.Now(), w.sys.loc).Previous()
	event := models.SettlementEvent{
		ID:           "fulfil:lost-answer",
		CommunityID:  w.communityA(),
		PartnerID:    shop.MerchantID,
		Kind:         models.EventFulfilled,
		RedemptionID: "lost-answer",
		ResidentID:   w.ids[phoneSonA],
		Description:  "早餐套餐",
		ValueFen:     800,
		Bearer:       models.BearerPartner,
		At:           prev.Start(w.sys.loc).Add(36 * time.Hour),
	}
	if err := w.sys.store.RecordSettlementEvent(ctx, event); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.sys.settlement.SettleMonth(ctx, prev); err != nil {
		w.t.Fatal(err)
	}
	return models.StatementID(shop.MerchantID, prev)
}

// claimed is a service record the son claimed, pending.
func (w *world) claimed(key string, from time.Time) string {
	w.t.Helper()
	return jsonField(w.t, w.keyedCall("/api/v1/service-records", w.login(phoneSonA), claimBody(from), key), "id")
}

// claimBody is a claim of an hour from from.
func claimBody(from time.Time) map[string]any {
	return map[string]any{
		"category":     "助老",
		"organisation": "居委会",
		"description":  "陪老人就医",
		"start":        from,
		"end":          from.Add(time.Hour),
	}
}

// aidAccepted is the elder's request for help the son accepted.
func (w *world) aidAccepted() string {
	w.t.Helper()
	elder, son := w.login(phoneElderA), w.login(phoneSonA)
	aid := jsonField(w.t, w.must(w.call("POST", "/api/v1/mutual-aid", elder, map[string]any{
		"kind":    "request",
		"title":   "帮忙买菜",
		"minutes": 30,
	}), "aid request"), "id")
	w.must(w.call("POST", "/api/v1/mutual-aid/"+aid+"/accept", son, nil), "accept")
	return aid
}

// entryOf is the first honour entry with status.
func (w *world) entryOf(status string) string {
	w.t.Helper()
	return jsonField(w.t, w.must(w.call("GET", "/api/v1/honour/entries?status="+status, w.login(phoneStaffA), nil), status), "id", "entries")
}

// phoneOf is the phone of resident id.
func (w *world) phoneOf(id string) string {
	w.t.Helper()
	r, err := w.sys.store.Resident(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r.Phone
}

// lostAnswerCases are the keyed decisions and steps that
// TestKeyedDecisionsOverHTTP and TestCreditApplyRepeatedAfterVoidOverHTTP
// do not lose an answer of.
func lostAnswerCases() []lostAnswerCase {
	v1 := "/api/v1"
	recordFields := []string{"id", "state"}
	entryFields := []string{"id", "status"}
	correctionFields := []string{"record_id", "n", "decided", "accepted", "after_minutes", "decided_by"}
	rulingFields := []string{"id", "status", "ruled_by"}
	return []lostAnswerCase{
		{
			name:   "redemption-cancel",
			caller: phoneElderA,
			fields: entryFields,
			prepare: func(w *world) (string, any) {
				return v1 + "/redemptions/" + w.heldCredit() + "/cancel", nil
			},
		},
		{
			name:   "scan-token",
			caller: phoneClerkA,
			fields: []string{"redemption_id", "status"},
			prepare: func(w *world) (string, any) {
				token, _ := w.merchantQR()
				return v1 + "/merchant/scans", map[string]string{"token": token}
			},
		},
		{
			name:   "scan-code",
			caller: phoneClerkA,
			fields: []string{"redemption_id", "status"},
			prepare: func(w *world) (string, any) {
				_, code := w.merchantQR()
				return v1 + "/merchant/scans", map[string]string{"code": code}
			},
		},
		{
			name:   "statement-confirm",
			caller: phoneClerkA,
			fields: entryFields,
			prepare: func(w *world) (string, any) {
				return v1 + "/statements/" + w.lastMonthStatement() + "/confirm", nil
			},
		},
		{
			name:   "statement-paid",
			caller: phoneStaffA,
			fields: entryFields,
			prepare: func(w *world) (string, any) {
				statement := w.lastMonthStatement()
				w.keyedCall(v1+"/statements/"+statement+"/confirm", w.login(phoneClerkA), nil, "confirm-fixture")
				return v1 + "/statements/" + statement + "/paid", nil
			},
		},
		{
			name:   "record-reject",
			caller: phoneStaffA,
			fields: recordFields,
			prepare: func(w *world) (string, any) {
				record := w.claimed("claim-fixture", time.Now().Add(-3*time.Hour).Truncate(time.Minute))
				return v1 + "/service-records/" + record + "/reject", map[string]string{"reason": "无人证明"}
			},
		},
		{
			name:    "correction-accepted",
			caller:  phoneStaffA,
			fields:  correctionFields,
			prepare: correction(true),
		},
		{
			name:    "correction-refused",
			caller:  phoneStaffA,
			fields:  correctionFields,
			prepare: correction(false),
		},
		{
			name:   "aid-confirm",
			caller: phoneElderA,
			fields: recordFields,
			prepare: func(w *world) (string, any) {
				aid := w.aidAccepted()
				w.must(w.call("POST", v1+"/mutual-aid/"+aid+"/done", w.login(phoneSonA), nil), "done")
				return v1 + "/mutual-aid/" + aid + "/confirm", nil
			},
		},
		{
			name:    "aid-resolve-paid",
			caller:  phoneStaffA,
			fields:  recordFields,
			prepare: resolution(true),
		},
		{
			name:    "aid-resolve-unpaid",
			caller:  phoneStaffA,
			fields:  recordFields,
			prepare: resolution(false),
		},
		{
			name:    "objection-upheld",
			caller:  phoneStaffA,
			fields:  rulingFields,
			prepare: objectionRuling("uphold"),
		},
		{
			name:    "objection-dismissed",
			caller:  phoneStaffA,
			fields:  rulingFields,
			prepare: objectionRuling("dismiss"),
		},
		{
			name:   "revocation",
			caller: phoneStaffA,
			fields: entryFields,
			prepare: func(w *world) (string, any) {
				return v1 + "/honour/entries/" + w.entryOf("listed") + "/revocation", map[string]string{"reason": "违规"}
			},
		},
		{
			name:    "appeal-restored",
			caller:  phoneStaffA,
			fields:  entryFields,
			prepare: appealDecision("restore"),
		},
		{
			name:    "appeal-dismissed",
			caller:  phoneStaffA,
			fields:  entryFields,
			prepare: appealDecision("dismiss"),
		},
		{
			name:   "head-term",
			caller: phoneStaffA,
			fields: []string{"id", "resident_id", "number"},
			prepare: func(w *world) (string, any) {
				building := jsonField(w.t, w.must(w.call("GET", v1+"/buildings", w.login(phoneStaffA), nil), "buildings"), "id", "items")
				return v1 + "/head-terms", map[string]string{
					"role":        "building_head",
					"building_id": building,
					"resident_id": w.ids[phoneSonA],
				}
			},
		},
		{
			name:    "duty-confirmed",
			caller:  phoneStaffA,
			fields:  entryFields,
			prepare: dutyRuling("confirm"),
		},
		{
			name:    "duty-rejected",
			caller:  phoneStaffA,
			fields:  entryFields,
			prepare: dutyRuling("reject"),
		},
		{
			name:   "star-lowering",
			caller: phoneStaffA,
			fields: []string{"household_id", "year", "level", "lowered_reason"},
			prepare: func(w *world) (string, any) {
				// The elder's household earns a star this year, for next
				// year's plaque.
				w.awarded(phoneElderA)
				ctx, year := context.Background(), time.Now().In(w.sys.loc).Year()+1
				if _, _, err := w.sys.honour.RecordStars(ctx, year); err != nil {
					w.t.Fatal(err)
				}
				elder, err := w.sys.store.Resident(ctx, w.ids[phoneElderA])
				if err != nil {
					w.t.Fatal(err)
				}
				path := v1 + "/households/" + elder.HouseholdID + "/star/" + strconv.Itoa(year) + "/lowering"
				return path, map[string]any{"level": 0, "reason": "违反公约"}
			},
		},
		{
			name:   "filial-cancel",
			caller: phoneElderA,
			fields: entryFields,
			prepare: func(w *world) (string, any) {
				booking := jsonField(w.t, w.must(w.call("POST", v1+"/filial/bookings", w.login(phoneElderA), map[string]string{
					"plate": "沪B66688",
					"day":   nextWeekday(time.Saturday),
				}), "filial booking"), "id")
				return v1 + "/filial/bookings/" + url.PathEscape(booking) + "/cancel", nil
			},
		},
		{
			name:   "moved-away",
			caller: phoneStaffA,
			fields: []string{"resident_id", "moved_away_at", "marked_by"},
			prepare: func(w *world) (string, any) {
				return v1 + "/residents/" + w.ids[phoneSonA] + "/moved-away", nil
			},
		},
		{
			name:   "consent",
			caller: phoneElderA,
			gated:  true,
			fields: []string{"version", "language", "accepted_at"},
			prepare: func(w *world) (string, any) {
				return v1 + "/me/consents", map[string]string{"version": "2026-12"}
			},
		},
		{
			name:   "job-run",
			caller: phoneAdminA,
			fields: []string{"id", "job", "period", "started", "finished", "counts"},
			prepare: func(w *world) (string, any) {
				return v1 + "/jobs/honour-listing/runs", map[string]string{"period": time.Now().In(w.sys.loc).Format("2006-01-02")}
			},
		},
		{
			name:   "fund-credit",
			caller: phoneStaffA,
			fields: []string{"id", "seq"},
			prepare: func(w *world) (string, any) {
				return v1 + "/timebank/fund/credits", map[string]any{"minutes": 60, "reason": "街道拨付"}
			},
		},
		{
			name:   "gift",
			caller: phoneSonA,
			fields: []string{"id"},
			prepare: func(w *world) (string, any) {
				return v1 + "/gifts", map[string]any{"to_resident_id": w.ids[phoneElderA], "minutes": 10}
			},
		},
		{
			name:   "redeem",
			caller: phoneElderA,
			fields: entryFields,
			prepare: func(w *world) (string, any) {
				w.awarded(phoneElderA)
				property, _ := w.rewardOf(w.login(phoneElderA), "property_fee")
				return v1 + "/rewards/" + property + "/redemptions", nil
			},
		},
		{
			name:   "award",
			caller: phoneStaffA,
			fields: []string{"id", "seq"},
			prepare: func(w *world) (string, any) {
				return v1 + "/residents/" + w.ids[phoneSonA] + "/points/adjustments", award(30, "award")
			},
		},
		{
			name:   "nomination",
			caller: phoneStaffA,
			fields: entryFields,
			prepare: func(w *world) (string, any) {
				return v1 + "/honour/nominations", map[string]string{
					"resident_id": w.ids[phoneSonA],
					"category":    "诚信",
					"reason":      "拾金不昧",
				}
			},
		},
		{
			name:   "claim",
			caller: phoneSonA,
			fields: recordFields,
			prepare: func(w *world) (string, any) {
				return v1 + "/service-records", claimBody(time.Now().Add(-3 * time.Hour).Truncate(time.Minute))
			},
		},
	}
}

// correction is the staff's decision (accept or refuse) on the son's
// correction of an approved record.
func correction(accept bool) func(w *world) (string, any) {
	return func(w *world) (string, any) {
		record := w.claimed("claim-fixture", time.Now().Add(-3*time.Hour).Truncate(time.Minute))
		w.keyedCall("/api/v1/service-records/"+record+"/approve", w.login(phoneStaffA), map[string]any{}, "approve-fixture")
		w.must(w.call("POST", "/api/v1/service-records/"+record+"/corrections", w.login(phoneSonA), map[string]any{"minutes": 70, "reason": "签退晚了"}), "correction")
		return "/api/v1/service-records/" + record + "/corrections/1/decision", map[string]any{"accept": accept, "answer": "已核实"}
	}
}

// resolution is the staff's ruling (pay the helper or not) on the elder's
// dispute of the son's help.
func resolution(pay bool) func(w *world) (string, any) {
	return func(w *world) (string, any) {
		aid := w.aidAccepted()
		w.must(w.call("POST", "/api/v1/mutual-aid/"+aid+"/dispute", w.login(phoneElderA), map[string]string{"reason": "没有来"}), "dispute")
		return "/api/v1/mutual-aid/" + aid + "/resolve", map[string]any{"pay": pay, "reason": "已核实"}
	}
}

// objectionRuling is the staff's decision (uphold or dismiss) on the
// elder's objection to an entry in notice.
func objectionRuling(decision string) func(w *world) (string, any) {
	return func(w *world) (string, any) {
		notice := w.entryOf("notice")
		objection := jsonField(w.t, w.must(w.call("POST", "/api/v1/honour/entries/"+notice+"/objections", w.login(phoneElderA), map[string]string{"reason": "需要核实"}), "objection"), "id")
		return "/api/v1/honour/objections/" + objection + "/ruling", map[string]string{"decision": decision, "ruling": "已核实"}
	}
}

// appealDecision is the staff's decision (restore or dismiss) on the
// listed resident's appeal of a revocation.
func appealDecision(decision string) func(w *world) (string, any) {
	return func(w *world) (string, any) {
		listed := w.entryOf("listed")
		staff := w.login(phoneStaffA)
		w.keyedCall("/api/v1/honour/entries/"+listed+"/revocation", staff, map[string]string{"reason": "违规"}, "revoke-fixture")
		resident := jsonField(w.t, w.must(w.call("GET", "/api/v1/honour/entries/"+listed, staff, nil), "entry"), "resident_id")
		w.must(w.call("POST", "/api/v1/honour/entries/"+listed+"/appeal", w.login(w.phoneOf(resident)), map[string]string{"reason": "误会"}), "appeal")
		return "/api/v1/honour/entries/" + listed + "/appeal/decision", map[string]string{"decision": decision, "note": "已核实"}
	}
}

// dutyRuling is the staff's ruling (confirm or reject) on a duty of the
// demo not confirmed yet.
func dutyRuling(decision string) func(w *world) (string, any) {
	return func(w *world) (string, any) {
		var duties struct {
			Duties []struct{ ID, Status string } `json:"duties"`
		}
		w.must(w.call("GET", "/api/v1/duties", w.login(phoneStaffA), nil), "duties").decode(w.t, &duties)
		for _, d := range duties.Duties {
			if d.Status != "confirmed" {
				return "/api/v1/duties/" + d.ID + "/ruling", map[string]string{"decision": decision, "note": "已核实"}
			}
		}
		w.t.Fatalf("no duty to rule in %+v", duties)
		return "", nil
	}
}
