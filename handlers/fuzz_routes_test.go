package handlers

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/timebank"
)

// The value-moving routes are fuzzed a family at a time: each target picks
// one route of its family from the fuzz input and sends it a fuzzed path id,
// a second path parameter, a body and an Idempotency-Key. The fakes behind
// them panic when anything the handler promises to have checked reaches the
// service, which the recover middleware turns into a 500 that fails the
// target. A fake embeds its service interface, so a route that reaches a
// method the fake does not implement panics as well.

// valueRoute is one route a fuzz target can pick.
type valueRoute struct {
	method, path string      // under /api/v1; {id} and {arg} are filled from the fuzz input
	role         models.Role // the caller's only role
	idem         bool        // a success needs a valid Idempotency-Key
	seed, arg    string      // a body and an {arg} the route accepts
}

// roleTokens admits a token that is a role's name, as a principal holding
// that role alone.
type roleTokens struct{}

func (roleTokens) VerifyAccess(_ context.Context, tok string) (models.Principal, error) {
	r, err := models.ParseRole(tok)
	if err != nil {
		return models.Principal{}, models.ErrUnauthenticated
	}
	p := models.Principal{
		ResidentID:  "u-" + tok,
		CommunityID: "c1",
		Roles:       []models.Role{r},
	}
	switch r {
	case models.RolePartner:
		p.PartnerID = "pt1"
	case models.RoleMerchantClerk:
		p.MerchantID = "pt2"
	}
	return p, nil
}

// badBodies are seeds every route gets besides its own good body.
var badBodies = []string{
	``, `{`, `null`, `[]`, `"x"`, `{"x":1}`, `{"minutes":1e3}`, `{"minutes":-1}`,
	`{"minutes":99999999999999999999}`, `{"reason":"\u202e"}`, `{"reason":" "}`, `{"reason":"\u0000"}`,
	`{"reason":{"$gt":""}}`, `{} {}`,
}

// fuzzApp is the API over the fakes in d, admitting roleTokens.
func fuzzApp(d Deps) *fiber.App { return fakesApp(d, Options{}) }

// fakesApp is fuzzApp with opts.
func fakesApp(d Deps, opts Options) *fiber.App {
	d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	d.Tokens = roleTokens{}
	d.Requests = firstRequests{}
	return New(d, opts)
}

// firstRequests is a request log for which every request is the first: the
// targets explore what reaches the services (app tests replay against the
// real store). It holds the handler to a valid, caller-scoped key.
type firstRequests struct{}

func (firstRequests) Begin(_ context.Context, idem community.Idempotency) (models.KeyedRequest, bool, error) {
	p := models.Principal{ResidentID: strings.TrimSuffix(strings.TrimPrefix(idem.OpID, "k:"), ":"+idem.Key)}
	mustReach("keyed request", idem, strings.HasPrefix(p.ResidentID, "u-"), isIdem(p, idem))
	return models.KeyedRequest{ID: idem.OpID, Hash: idem.Hash}, false, nil
}
func (firstRequests) Answer(_ context.Context, r models.KeyedRequest, status int, body []byte) error {
	mustReach("answer", []any{r.ID, status}, r.ID != "", r.Hash != "", status/100 == 2, len(body) > 0)
	return nil
}
func (firstRequests) Forget(_ context.Context, id string) error {
	mustReach("forget", id, id != "")
	return nil
}

// fuzzValueRoutes seeds and runs one target over routes.
func fuzzValueRoutes(f *testing.F, d Deps, routes []valueRoute) {
	app := fuzzApp(d)
	for i, rt := range routes {
		// A seed the route refuses would leave the target exploring
		// refusals only, never what reaches the service.
		if st := askValueRoute(f, app, rt, "id1", rt.arg, rt.seed, "fuzz-key-0001"); st/100 != 2 {
			f.Fatalf("%s %s refuses its own seed: %d", rt.method, rt.path, st)
		}
		f.Add(uint8(i), "id1", rt.arg, rt.seed, "fuzz-key-0001")
		f.Add(uint8(i), "id1", rt.arg, rt.seed, "")
		f.Add(uint8(i), "", "", rt.seed, "fuzz-key-0001")
		f.Add(uint8(i), "a/../b%\xff\x00", "0", rt.seed, " fuzz-key-0001 ")
		for _, b := range badBodies {
			f.Add(uint8(i), "id1", rt.arg, b, "fuzz-key-0001")
		}
		// The seed with each text a service cleans made unclean: a
		// control character, then a byte that is not UTF-8.
		for _, bad := range []string{"\x7f", "\x9c"} {
			f.Add(uint8(i), "id1", rt.arg, uncleanTexts(rt.seed, bad), "fuzz-key-0001")
		}
	}
	f.Fuzz(func(t *testing.T, pick uint8, id, arg, body, key string) {
		askValueRoute(t, app, routes[int(pick)%len(routes)], id, arg, body, key)
	})
}

// askValueRoute sends one fuzzed request and fails unless the answer is a
// success or a 4xx with a stable code, and a success of an idempotent route
// carried a valid key. It returns the status.
func askValueRoute(t testing.TB, app *fiber.App, rt valueRoute, id, arg, body, key string) int {
	t.Helper()
	// Not requests a client can get through: over-long headers and URLs
	// are a 431 or 414 from the server itself (app tests), which app.Test
	// reports as a transport error instead.
	if strings.ContainsAny(key, "\r\n\x00") || len(key) > 3000 {
		key = "fuzz-key-0001"
	}
	if len(id)+len(arg) > 100 { // escaped, up to 300 bytes of the request line
		id, arg = "id1", rt.arg
	}
	path := strings.NewReplacer("{id}", url.PathEscape(id), "{arg}", url.PathEscape(arg)).Replace("/api/v1" + rt.path)
	req := httptest.NewRequest(rt.method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+string(rt.role))
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	ok := resp.StatusCode/100 == 2
	if resp.StatusCode >= 500 || (!ok && !strings.Contains(string(b), `"code":"`)) {
		t.Fatalf("%s %s %q key %q → %d %s", rt.method, path, body, key, resp.StatusCode, b)
	}
	// The transport trims a header value, so the server sees the key trimmed.
	if ok && rt.idem && !keyPattern.MatchString(textproto.TrimString(key)) {
		t.Fatalf("%s %s succeeded with Idempotency-Key %q → %d %s", rt.method, path, key, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// mustReach panics unless every condition on what reached a service holds.
func mustReach(what string, v any, conds ...bool) {
	for i, ok := range conds {
		if !ok {
			panic(fmt.Sprintf("invalid %s reached the service (check %d): %+v", what, i, v))
		}
	}
}

// isID: an id the service can look up. A path id arrives percent-decoded,
// so it may hold any bytes (invalid UTF-8, NUL, "/"): the service answers
// NOT_FOUND for those, as it does for any unknown id.
func isID(s string) bool { return s != "" }

// within: a required string of at most max characters.
func within(s string, max int) bool { return s != "" && utf8.RuneCountInString(s) <= max }

// isClean: printable text the handler has trimmed and checked.
func isClean(s string, max int) bool {
	c, err := models.CleanText("x", s, max)
	return err == nil && c == s
}

// uncleanTexts is the JSON body with the value of every free text a
// person types (title, description, category, organisation, reason,
// answer, bill number) replaced by bad.
func uncleanTexts(body, bad string) string {
	return freeText.ReplaceAllString(body, `"$1":"`+bad+`"`)
}

var freeText = regexp.MustCompile(`"(title|description|category|organisation|reason|answer|bill_no)":"[^"]*"`)

func isCleanOrEmpty(s string, max int) bool { return s == "" || isClean(s, max) }

func isDay(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// isIdem: the key as sent, scoped to the caller, with the request's hash.
func isIdem(p models.Principal, i community.Idempotency) bool {
	_, err := hex.DecodeString(i.Hash)
	return keyPattern.MatchString(i.Key) && i.OpID == "k:"+p.ResidentID+":"+i.Key && len(i.Hash) == 64 && err == nil
}

// --- rewards: redemption, partner credits, merchant counter, filial parking ---

type fakeRewards struct{ rewardsService }

func (fakeRewards) Redeem(_ context.Context, p models.Principal, rewardID string, idem community.Idempotency) (models.Redemption, error) {
	mustReach("redemption", []any{rewardID, idem}, isID(rewardID), isIdem(p, idem))
	return models.Redemption{RewardID: rewardID, Status: models.RedemptionHeld}, nil
}
func (fakeRewards) Cancel(_ context.Context, _ models.Principal, id string) (models.Redemption, error) {
	mustReach("cancellation", id, isID(id))
	return models.Redemption{ID: id}, nil
}
func (fakeRewards) ApplyCredit(_ context.Context, p models.Principal, id, billNo, billDate string, idem community.Idempotency) (models.Redemption, error) {
	// The service cleans the bill number (rewards.Service.ApplyCredit).
	billNo, err := models.CleanText("bill_no", billNo, rewards.MaxBillNo)
	if err != nil {
		return models.Redemption{}, err
	}
	mustReach("applied credit", []any{id, billNo, billDate, idem}, isID(id), isClean(billNo, 40), isDay(billDate), isIdem(p, idem))
	return models.Redemption{
		ID:       id,
		BillNo:   billNo,
		BillDate: billDate,
	}, nil
}
func (fakeRewards) VoidCredit(_ context.Context, p models.Principal, id, reason string, idem community.Idempotency) (models.Redemption, error) {
	reason, err := models.CleanOptionalText("reason", reason, rewards.MaxPartnerReason) // as the service does
	if err != nil {
		return models.Redemption{}, err
	}
	mustReach("voided credit", []any{id, reason, idem}, isID(id), isCleanOrEmpty(reason, 200), isIdem(p, idem))
	return models.Redemption{ID: id}, nil
}
func (fakeRewards) Scan(_ context.Context, p models.Principal, token string, idem community.Idempotency) (rewards.ScanResult, error) {
	mustReach("counter scan", []any{token, idem}, within(token, 1024), isIdem(p, idem))
	return rewards.ScanResult{MaskedName: "王*"}, nil
}
func (fakeRewards) Refund(_ context.Context, _ models.Principal, id, reason string) (models.Redemption, error) {
	reason, err := models.CleanOptionalText("reason", reason, rewards.MaxPartnerReason) // as the service does
	if err != nil {
		return models.Redemption{}, err
	}
	mustReach("refund", []string{id, reason}, isID(id), isCleanOrEmpty(reason, 200))
	return models.Redemption{ID: id}, nil
}
func (fakeRewards) RegisterFilialPlate(_ context.Context, _ models.Principal, parentID, plate string) (models.FilialPlate, error) {
	mustReach("filial plate", []string{parentID, plate}, within(plate, 20), utf8.RuneCountInString(parentID) <= 64)
	return models.FilialPlate{Plate: plate, ParentID: parentID}, nil
}
func (fakeRewards) BookFilialVisit(_ context.Context, _ models.Principal, plate, day string) (models.FilialBooking, error) {
	mustReach("filial booking", []string{plate, day}, within(plate, 20), isDay(day))
	return models.FilialBooking{Plate: plate, Day: day}, nil
}
func (fakeRewards) GateEvent(_ context.Context, _ models.Principal, in rewards.GateEventIn) (models.GateEvent, error) {
	mustReach("gate event", in, within(in.EventID, 64), within(in.Plate, 20),
		in.Direction == models.GateIn || in.Direction == models.GateOut, !in.At.IsZero())
	return models.GateEvent{
		EventID:   in.EventID,
		Plate:     in.Plate,
		Direction: in.Direction,
		At:        in.At,
	}, nil
}

// FuzzRewardsValue: redeeming, cancelling, partner credits, the merchant
// counter and filial parking.
func FuzzRewardsValue(f *testing.F) {
	resident, partner, clerk := models.RoleResident, models.RolePartner, models.RoleMerchantClerk
	fuzzValueRoutes(f, Deps{Rewards: fakeRewards{}}, []valueRoute{
		{"POST", "/rewards/{id}/redemptions", resident, true, ``, ""},
		{"POST", "/redemptions/{id}/cancel", resident, true, ``, ""},
		{"POST", "/partner/credits/{id}/apply", partner, true, `{"bill_no":"WY-2026-11-0042","bill_date":"2026-11-21"}`, ""},
		{"POST", "/partner/credits/{id}/void", partner, true, `{"reason":"账单作废"}`, ""},
		{"POST", "/merchant/scans", clerk, true, `{"token":"LQ1.abc.def"}`, ""},
		{"POST", "/merchant/redemptions/{id}/refund", clerk, true, `{"reason":"顾客退货"}`, ""},
		{"POST", "/filial/plates", resident, false, `{"plate":"沪A12345","parent_id":"r9"}`, ""},
		{"POST", "/filial/bookings", resident, false, `{"plate":"沪A12345","day":"2026-11-21"}`, ""},
		{"POST", "/parking/gate-events", partner, false, `{"event_id":"g-1","plate":"沪A12345","direction":"out","at":"2026-11-21T10:00:00+08:00"}`, ""},
	})
}

// --- service records: claims, attendance, decisions, corrections ---

type fakeRecords struct{ timebankService }

func (fakeRecords) ClaimRecord(_ context.Context, p models.Principal, c timebank.Claim) (models.ServiceRecord, error) {
	c, err := c.Clean() // as the service does
	if err != nil {
		return models.ServiceRecord{}, err
	}
	mustReach("claim", c, isClean(c.Category, 20), isClean(c.Organisation, 80), isClean(c.Description, 500),
		!c.Start.IsZero(), !c.End.IsZero(), isIdem(p, c.Idem))
	return models.ServiceRecord{
		Category: c.Category,
		Start:    c.Start,
		End:      c.End,
	}, nil
}
func (fakeRecords) ScanOut(_ context.Context, _ models.Principal, activityID, token string) (timebank.Attendance, error) {
	mustReach("check-out", []string{activityID, token}, isID(activityID), within(token, 256))
	return timebank.Attendance{ActivityID: activityID}, nil
}
func (fakeRecords) RecordAttendance(_ context.Context, _ models.Principal, activityID, residentID string, _ bool, _ time.Time) (timebank.Attendance, error) {
	mustReach("attendance", []string{activityID, residentID}, isID(activityID), within(residentID, 64))
	return timebank.Attendance{ActivityID: activityID, ResidentID: residentID}, nil
}
func (fakeRecords) Approve(_ context.Context, _ models.Principal, id string, minutes models.Minutes, reason string) (models.ServiceRecord, error) {
	if reason != "" { // as the service does: a given reason is cleaned
		var err error
		if reason, err = models.CleanReason(reason); err != nil {
			return models.ServiceRecord{}, err
		}
	}
	mustReach("approval", []any{id, minutes, reason}, isID(id), minutes >= 0, minutes <= 1440, isCleanOrEmpty(reason, 500))
	return models.ServiceRecord{ID: id, Credited: minutes}, nil
}
func (fakeRecords) Reject(_ context.Context, _ models.Principal, id, reason string) (models.ServiceRecord, error) {
	reason, err := models.CleanReason(reason) // as the service does
	if err != nil {
		return models.ServiceRecord{}, err
	}
	mustReach("rejection", []string{id, reason}, isID(id), isClean(reason, 500))
	return models.ServiceRecord{ID: id}, nil
}
func (fakeRecords) RequestCorrection(_ context.Context, _ models.Principal, id string, minutes models.Minutes, reason string) (models.Correction, error) {
	reason, err := models.CleanReason(reason) // as the service does
	if err != nil {
		return models.Correction{}, err
	}
	mustReach("correction", []any{id, minutes, reason}, isID(id), minutes >= 1, minutes <= 1440, isClean(reason, 500))
	return models.Correction{
		N:        1,
		RecordID: id,
		Minutes:  minutes,
		Reason:   reason,
	}, nil
}
func (fakeRecords) DecideCorrection(_ context.Context, _ models.Principal, id string, n int, _ bool, answer string) (models.Correction, error) {
	mustReach("correction decision", []any{id, n, answer}, isID(id), n >= 1, n <= 1000, isClean(answer, 500))
	return models.Correction{
		N:        n,
		RecordID: id,
		Decided:  true,
		Answer:   answer,
	}, nil
}

// FuzzServiceRecords: the routes that create, decide and correct the
// service records hours are credited from.
func FuzzServiceRecords(f *testing.F) {
	resident, organiser, staff := models.RoleResident, models.RoleTeamLead, models.RoleStaff
	fuzzValueRoutes(f, Deps{Timebank: fakeRecords{}}, []valueRoute{
		{"POST", "/service-records", resident, true,
			`{"category":"助老","organisation":"居委会","description":"陪老人就医","start":"2026-11-21T09:00:00+08:00","end":"2026-11-21T11:00:00+08:00"}`, ""},
		{"POST", "/activities/{id}/checkout", resident, false, `{"token":"AQ1.abc"}`, ""},
		{"POST", "/activities/{id}/attendance", organiser, false, `{"resident_id":"r1","action":"checkout","at":"2026-11-21T11:00:00+08:00"}`, ""},
		{"POST", "/service-records/{id}/approve", organiser, true, `{"minutes":90,"reason":"按签到时间"}`, ""},
		{"POST", "/service-records/{id}/reject", organiser, true, `{"reason":"无人证明"}`, ""},
		{"POST", "/service-records/{id}/corrections", resident, false, `{"minutes":120,"reason":"签退忘了扫码"}`, ""},
		{"POST", "/service-records/{id}/corrections/{arg}/decision", staff, true, `{"accept":true,"answer":"已核实"}`, "1"},
	})
}

// --- hours that move between residents and the fund ---

type fakeTransfers struct {
	timebankService
	mutualAidService
}

func (fakeTransfers) PostAid(_ context.Context, _ models.Principal, in mutualaid.NewAid, _ community.Idempotency) (models.MutualAid, error) {
	in, err := in.Clean() // as the service does
	if err != nil {
		return models.MutualAid{}, err
	}
	mustReach("mutual-aid post", in, in.Kind == models.AidRequest || in.Kind == models.AidOffer,
		isClean(in.Title, 80), isCleanOrEmpty(in.Description, 500), in.Minutes >= 1, in.Minutes <= 1440)
	return models.MutualAid{
		Kind:    in.Kind,
		Title:   in.Title,
		Minutes: in.Minutes,
	}, nil
}
func (fakeTransfers) aid(what, id string) (models.MutualAid, error) {
	mustReach(what, id, isID(id))
	return models.MutualAid{ID: id}, nil
}
func (f fakeTransfers) AcceptAid(_ context.Context, _ models.Principal, id string) (models.MutualAid, error) {
	return f.aid("acceptance", id)
}
func (f fakeTransfers) AidDone(_ context.Context, _ models.Principal, id string) (models.MutualAid, error) {
	return f.aid("done", id)
}
func (f fakeTransfers) ConfirmAid(_ context.Context, _ models.Principal, id string) (models.MutualAid, error) {
	return f.aid("confirmation", id)
}
func (f fakeTransfers) CancelAid(_ context.Context, _ models.Principal, id, reason string) (models.MutualAid, error) {
	reason, err := models.CleanReason(reason) // as the service does
	if err != nil {
		return models.MutualAid{}, err
	}
	mustReach("aid cancellation", reason, isClean(reason, 500))
	return f.aid("aid cancellation", id)
}
func (f fakeTransfers) DisputeAid(_ context.Context, _ models.Principal, id, reason string) (models.MutualAid, error) {
	reason, err := models.CleanReason(reason) // as the service does
	if err != nil {
		return models.MutualAid{}, err
	}
	mustReach("dispute", reason, isClean(reason, 500))
	return f.aid("dispute", id)
}
func (f fakeTransfers) ResolveAid(_ context.Context, _ models.Principal, id string, _ bool, reason string) (models.MutualAid, error) {
	mustReach("resolution", reason, isClean(reason, 500))
	return f.aid("resolution", id)
}
func (fakeTransfers) CreditFund(_ context.Context, p models.Principal, minutes models.Minutes, reason string, idem community.Idempotency) (models.Entry, error) {
	mustReach("fund credit", []any{minutes, reason, idem}, minutes >= 1, minutes <= models.MaxAmount, isClean(reason, 500), isIdem(p, idem))
	return models.Entry{
		Account: models.AccountOf("fund", models.AssetHours),
		Seq:     1,
		Delta:   int64(minutes),
	}, nil
}
func (fakeTransfers) GiftHours(_ context.Context, p models.Principal, toID string, minutes models.Minutes, idem community.Idempotency) (models.Gift, error) {
	mustReach("gift", []any{toID, minutes, idem}, within(toID, 64), minutes >= 1, minutes <= models.MaxAmount, isIdem(p, idem))
	return models.Gift{ToID: toID, Minutes: minutes}, nil
}

// FuzzHoursTransfers: mutual aid, the community fund and gifts of hours.
func FuzzHoursTransfers(f *testing.F) {
	resident, staff := models.RoleResident, models.RoleStaff
	fuzzValueRoutes(f, Deps{Timebank: fakeTransfers{}, MutualAid: fakeTransfers{}}, []valueRoute{
		{"POST", "/mutual-aid", resident, false, `{"kind":"request","title":"帮忙买菜","description":"腿脚不便","minutes":60,"when":"2026-11-22T09:00:00+08:00"}`, ""},
		{"POST", "/mutual-aid/{id}/accept", resident, false, ``, ""},
		{"POST", "/mutual-aid/{id}/done", resident, false, ``, ""},
		{"POST", "/mutual-aid/{id}/confirm", resident, true, ``, ""},
		{"POST", "/mutual-aid/{id}/cancel", resident, false, `{"reason":"已有人帮忙"}`, ""},
		{"POST", "/mutual-aid/{id}/dispute", resident, false, `{"reason":"没有来"}`, ""},
		{"POST", "/mutual-aid/{id}/resolve", staff, true, `{"pay":true,"reason":"核实已完成"}`, ""},
		{"POST", "/timebank/fund/credits", staff, true, `{"minutes":600,"reason":"街道拨付"}`, ""},
		{"POST", "/gifts", resident, true, `{"to_resident_id":"r2","minutes":120}`, ""},
	})
}

// FuzzReverseEntry: the ledger's correcting entry, with the resident, asset
// and sequence number of the path fuzzed as well.
func FuzzReverseEntry(f *testing.F) {
	staff, seed := models.RoleStaff, `{"reason":"录入错误"}`
	fuzzValueRoutes(f, Deps{Accounts: fakeAccounts{}}, []valueRoute{
		{"POST", "/residents/{id}/ledger/POINTS/entries/{arg}/reversal", staff, true, seed, "3"},
		{"POST", "/residents/{id}/ledger/{arg}/entries/3/reversal", staff, true, seed, "HOURS"},
	})
}

// --- honour roll, duties and star households ---

type fakeHonour struct{ honourService }

func (fakeHonour) Nominate(_ context.Context, _ models.Principal, n honour.Nomination) (models.HonourEntry, error) {
	mustReach("nomination", n, within(n.Category, 20), within(n.Reason, 500),
		utf8.RuneCountInString(n.ResidentID) <= 64, utf8.RuneCountInString(n.HouseholdID) <= 64)
	return models.HonourEntry{Category: n.Category, Reason: n.Reason}, nil
}
func (fakeHonour) RuleObjection(_ context.Context, _ models.Principal, id string, _ bool, ruling string) (models.Objection, error) {
	mustReach("objection ruling", []string{id, ruling}, isID(id), within(ruling, 500))
	return models.Objection{ID: id, Ruling: ruling}, nil
}
func (fakeHonour) Revoke(_ context.Context, _ models.Principal, id, reason string) (models.HonourEntry, error) {
	mustReach("revocation", []string{id, reason}, isID(id), within(reason, 500))
	return models.HonourEntry{ID: id, EndReason: reason}, nil
}
func (fakeHonour) DecideAppeal(_ context.Context, _ models.Principal, id string, _ bool, note string) (models.HonourEntry, error) {
	mustReach("appeal decision", []string{id, note}, isID(id), within(note, 500))
	return models.HonourEntry{ID: id}, nil
}
func (fakeHonour) RuleDuty(_ context.Context, _ models.Principal, id string, _ bool, note string) (models.Duty, error) {
	mustReach("duty ruling", []string{id, note}, isID(id), utf8.RuneCountInString(note) <= 500)
	return models.Duty{ID: id, Note: note}, nil
}
func (fakeHonour) LowerStar(_ context.Context, _ models.Principal, householdID string, year, level int, reason string) (models.StarRecord, error) {
	mustReach("star lowering", []any{householdID, year, level, reason}, isID(householdID), year >= 2000, year <= 9999,
		level >= 0, level <= 2, within(reason, 500))
	return models.StarRecord{
		HouseholdID:   householdID,
		Year:          year,
		Level:         level,
		LoweredReason: reason,
	}, nil
}

// FuzzHonourValue: the decisions that award or take back honour points,
// duty allowances and star bonuses. The honour service cleans their texts
// itself, so the fake holds the handlers to their validate tags.
func FuzzHonourValue(f *testing.F) {
	staff := models.RoleStaff
	fuzzValueRoutes(f, Deps{Honour: fakeHonour{}}, []valueRoute{
		{"POST", "/honour/nominations", models.RoleBuildingHead, true, `{"resident_id":"r1","category":"助人为乐","reason":"常年照顾邻居"}`, ""},
		{"POST", "/honour/objections/{id}/ruling", staff, true, `{"decision":"uphold","ruling":"属实"}`, ""},
		{"POST", "/honour/entries/{id}/revocation", staff, true, `{"reason":"违反公约"}`, ""},
		{"POST", "/honour/entries/{id}/appeal/decision", staff, true, `{"decision":"restore","note":"复核无误"}`, ""},
		{"POST", "/duties/{id}/ruling", staff, true, `{"decision":"confirm","note":"已核实"}`, ""},
		{"POST", "/households/{id}/star/{arg}/lowering", staff, true, `{"level":1,"reason":"违规停车"}`, "2027"},
	})
}

// --- statements ---

type fakeSettlement struct{ settlementService }

func (fakeSettlement) Confirm(_ context.Context, _ models.Principal, id string) (models.Statement, error) {
	mustReach("statement confirmation", id, isID(id))
	return models.Statement{ID: id, Status: models.StatementConfirmed}, nil
}
func (fakeSettlement) MarkPaid(_ context.Context, _ models.Principal, id string) (models.Statement, error) {
	mustReach("statement payment", id, isID(id))
	return models.Statement{ID: id, Status: models.StatementPaid}, nil
}

// FuzzStatementDecisions: a partner confirms a statement, staff mark it
// paid; only the id comes from the client.
func FuzzStatementDecisions(f *testing.F) {
	fuzzValueRoutes(f, Deps{Settlement: fakeSettlement{}}, []valueRoute{
		{"POST", "/statements/{id}/confirm", models.RolePartner, true, ``, ""},
		{"POST", "/statements/{id}/confirm", models.RoleMerchantClerk, true, ``, ""},
		{"POST", "/statements/{id}/paid", models.RoleStaff, true, ``, ""},
	})
}
