package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/timebank"
)

// ask sends one request to app as role (a roleTokens token) and returns
// the status and the decoded error envelope, if any.
func ask(t *testing.T, app *fiber.App, method, path, role, contentType, body string, hdr ...string) (int, errorDetail, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+role)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var e errorBody
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error, b
}

// Issue 11.15: the OpenAPI document's error-code enum and the error table
// list the same codes, so a client can switch on every code it may get.
func TestIssue11_15_ErrorEnumEqualsErrorTable(t *testing.T) {
	_, raw := parseOpenAPI(t)
	var enum []any
	node := any(raw)
	for _, k := range []string{"components", "schemas", "Error", "properties", "error", "properties", "code", "enum"} {
		m, _ := node.(map[string]any)
		node = m[k]
	}
	enum, _ = node.([]any)
	documented := map[string]bool{}
	for _, c := range enum {
		documented[c.(string)] = true
	}
	var missing, extra []string
	for code := range errorTable {
		if !documented[string(code)] {
			missing = append(missing, string(code))
		}
	}
	for code := range documented {
		if _, ok := errorTable[models.Code(code)]; !ok {
			extra = append(extra, code)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("the error table answers codes the enum lacks: %v\nthe enum lists codes nobody answers: %v", missing, extra)
	}
	if len(enum) != len(documented) {
		t.Fatalf("the enum lists a code twice: %v", enum)
	}
}

// Issue 11.15: a body that is not sent as JSON is a 415
// UNSUPPORTED_MEDIA_TYPE, as the document says, never reaching a service.
func TestIssue11_15_WrongContentTypeIs415(t *testing.T) {
	app := fuzzApp(Deps{Accounts: fakeAccounts{}, Rewards: fakeRewards{}})
	body := `{"points":5,"direction":"award","category":"好人好事","reason":"扶老人"}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		st, e, b := ask(t, app, "POST", "/api/v1/residents/r1/points/adjustments", "staff", ct, body, "Idempotency-Key", "media-key-0001")
		if st != fiber.StatusUnsupportedMediaType || e.Code != "UNSUPPORTED_MEDIA_TYPE" || e.RequestID == "" {
			t.Errorf("Content-Type %q: %d %s", ct, st, b)
		}
	}
	// A no-body route sent a body as text is refused the same way.
	st, e, b := ask(t, app, "POST", "/api/v1/rewards/rw1/redemptions", "resident", "text/plain", "{}", "Idempotency-Key", "media-key-0002")
	if st != fiber.StatusUnsupportedMediaType || e.Code != "UNSUPPORTED_MEDIA_TYPE" {
		t.Errorf("redemption with a text body: %d %s", st, b)
	}
}

// Issue 11.13, at the handler: a route that takes no body refuses one it
// cannot read before its service is reached (fakeRewards panics on any
// call it is not given valid input for; the panic would be a 500), and
// takes no body or an empty object.
func TestIssue11_13_NoBodyRouteRefusesABody(t *testing.T) {
	var reached atomic.Int32
	app := fuzzApp(Deps{Rewards: countingRewards{fakeRewards{}, &reached}})
	for _, body := range []string{`{not json`, `{"points":0}`, `[]`, `null`, `"x"`, `{} {}`} {
		st, e, b := ask(t, app, "POST", "/api/v1/rewards/rw1/redemptions", "resident", "application/json", body, "Idempotency-Key", "nobody-key-0001")
		if st != fiber.StatusBadRequest || e.Code != "INVALID_JSON" {
			t.Errorf("body %q: %d %s", body, st, b)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("a refused body reached the service %d times", n)
	}
	for _, body := range []string{``, `{}`, " { } \n"} {
		if st, _, b := ask(t, app, "POST", "/api/v1/rewards/rw1/redemptions", "resident", "application/json", body, "Idempotency-Key", "nobody-key-0002"); st != fiber.StatusCreated {
			t.Errorf("body %q: %d %s", body, st, b)
		}
	}
}

type countingRewards struct {
	fakeRewards
	n *atomic.Int32
}

func (c countingRewards) Redeem(ctx context.Context, p models.Principal, rewardID string, idem community.Idempotency) (models.Redemption, error) {
	c.n.Add(1)
	return c.fakeRewards.Redeem(ctx, p, rewardID, idem)
}

// Issue 11.22, at the handler: an id sent percent-encoded, as
// encodeURIComponent does, reaches the service decoded.
func TestIssue11_22_PathIDsArePercentDecoded(t *testing.T) {
	var got []string
	app := fuzzApp(Deps{Timebank: recordingTimebank{ids: &got}})
	for _, path := range []string{
		"/api/v1/service-records/claim:r1:abc",
		"/api/v1/service-records/claim%3Ar1%3Aabc",
		"/api/v1/service-records/claim%3ar1%3aabc",
	} {
		if st, _, b := ask(t, app, "GET", path, "resident", "", ""); st != fiber.StatusOK {
			t.Fatalf("%s: %d %s", path, st, b)
		}
	}
	want := []string{"claim:r1:abc", "claim:r1:abc", "claim:r1:abc"}
	if !slices.Equal(got, want) {
		t.Fatalf("ids reaching the service: %q; want %q", got, want)
	}
}

type recordingTimebank struct {
	timebankService
	ids *[]string
}

func (r recordingTimebank) Record(_ context.Context, _ models.Principal, id string) (models.ServiceRecord, error) {
	*r.ids = append(*r.ids, id)
	return models.ServiceRecord{ID: id}, nil
}

// clockTimebank and clockRewards record what the handlers pass for "now".
type clockTimebank struct {
	timebankService
	day *time.Time
}

func (c clockTimebank) ActivitiesPage(_ context.Context, _ models.Principal, q timebank.ActivityQuery) ([]models.Activity, string, error) {
	*c.day = q.Day
	return nil, "", nil
}

type clockRewards struct {
	rewardsService
	r models.Reward
}

func (c clockRewards) Reward(context.Context, models.Principal, string) (models.Reward, error) {
	return c.r, nil
}

func (c clockRewards) Rewards(context.Context, models.Principal, bool) ([]models.Reward, error) {
	return []models.Reward{c.r}, nil
}

// Issue 11.10, at the handlers: the day of GET /activities without a date,
// the default period of the volunteer-hours ranking and a reward's active
// flag follow the service's clock, not the wall clock.
func TestIssue11_10_HandlersUseTheServiceClock(t *testing.T) {
	// 2031-03-01 04:00 in Shanghai, still February in UTC.
	now := time.Date(2031, 2, 28, 20, 0, 0, 0, time.UTC)
	var day time.Time
	reward := models.Reward{
		ID:          "rw1",
		Kind:        models.RewardMerchant,
		Title:       "早餐",
		ActiveFrom:  time.Date(2031, 2, 1, 0, 0, 0, 0, time.UTC),
		ActiveUntil: time.Date(2031, 4, 1, 0, 0, 0, 0, time.UTC),
	}
	d := Deps{
		Timebank: clockTimebank{day: &day},
		Rewards:  clockRewards{r: reward},
		Now:      func() time.Time { return now },
	}
	app := fuzzApp(d)
	if st, _, b := ask(t, app, "GET", "/api/v1/activities", "resident", "", ""); st != 200 || !day.Equal(now) {
		t.Errorf("activities without a date: %d %s; day %v, want %v", st, b, day, now)
	}
	// The rankings' default period is the service's, on its clock
	// (Timebank.RankingPeriod): TestIssue19_11_RankingAndStarDefaultsOnServiceClock
	// (app) sets the clock and checks it over HTTP.
	for _, path := range []string{"/api/v1/rewards/rw1", "/api/v1/rewards"} {
		if st, _, b := ask(t, app, "GET", path, "resident", "", ""); st != 200 || !strings.Contains(string(b), `"active":true`) {
			t.Errorf("%s at the service's clock: %d %s; want active", path, st, b)
		}
	}
	// The same reward a day after it ended, on the service's clock.
	now = reward.ActiveUntil.Add(24 * time.Hour)
	if st, _, b := ask(t, app, "GET", "/api/v1/rewards/rw1", "resident", "", ""); st != 200 || !strings.Contains(string(b), `"active":false`) {
		t.Errorf("after the reward ended: %d %s; want inactive", st, b)
	}
}

// Issue 11 ("done means") and 19.11: error.detail follows the caller's
// language, Chinese by default, and a validation detail names the JSON
// field, not the Go field and tag.
func TestIssue11_ErrorDetailFollowsTheCallersLanguage(t *testing.T) {
	app := fuzzApp(Deps{Accounts: fakeAccounts{}})
	path := "/api/v1/residents/r1/points/adjustments"
	cases := []struct {
		body, lang, detail string
	}{
		{`{"points":5,"direction":"award","category":"x"}`, "", "reason 为必填项"},
		{`{"points":5,"direction":"award","category":"x"}`, "zh-CN,zh;q=0.9", "reason 为必填项"},
		{`{"points":5,"direction":"award","category":"x"}`, "en-US,en;q=0.9", "reason is required"},
		{`{"points":5,"direction":"steal","category":"x","reason":"y"}`, "", "direction 必须是以下之一：award, deduct"},
		{`{"points":5,"direction":"steal","category":"x","reason":"y"}`, "en", "direction must be one of: award, deduct"},
		{`{"points":"ten","direction":"award","category":"x","reason":"y"}`, "", `字段 "points" 必须是整数（不超出范围）`},
		{`{"points":"ten","direction":"award","category":"x","reason":"y"}`, "en", `field "points" must be a whole number in range`},
		{`{"points":5,`, "", "请求体不完整"},
		{`{"points":5,"role":"admin"}`, "", `未知字段 "role"`},
		{`{"points":5,"role":"admin"}`, "en", `unknown field "role"`},
	}
	for _, tc := range cases {
		st, e, b := ask(t, app, "POST", path, "staff", "application/json", tc.body, "Idempotency-Key", "lang-key-0001", "Accept-Language", tc.lang)
		if st != fiber.StatusBadRequest || e.Detail != tc.detail {
			t.Errorf("%s (%q): %d %s; want detail %q", tc.body, tc.lang, st, b, tc.detail)
		}
		if strings.Contains(e.Detail, "Reason") || strings.Contains(e.Detail, "failed") {
			t.Errorf("%s: the detail names a Go field or tag: %q", tc.body, e.Detail)
		}
	}
}
