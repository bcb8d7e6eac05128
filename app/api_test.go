package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/linli-community/linli/atonce"
)

func award(points int, direction string) map[string]any {
	return map[string]any{
		"points":    points,
		"direction": direction,
		"category":  "好人好事",
		"reason":    "测试",
	}
}

// Invariant 4 (docs/ARCHITECTURE.md §8) over HTTP: 200 concurrent requests with one key make one
// entry and get identical answers.
func TestOneKeyTwoHundredRequests(t *testing.T) {
	// Not parallel: its own hundreds of concurrent requests load the
	// machine, and beside other tests they outlast the harness's
	// per-request bound.
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	elder := w.ids[phoneElderA]
	before, seq := w.points(elder)
	const n = 200
	replies := make([]reply, n)
	atonce.Run(n, func(i int) {
		replies[i] = w.call("POST", "/api/v1/residents/"+elder+"/points/adjustments", staff, award(15, "award"), "Idempotency-Key", "same-key-200")
	})
	for i, r := range replies {
		if r.Status != http.StatusCreated || string(r.Body) != string(replies[0].Body) {
			t.Fatalf("reply %d: %d %s; want 201 %s", i, r.Status, r.Body, replies[0].Body)
		}
	}
	after, seqAfter := w.points(elder)
	if after != before+15 || seqAfter != seq+1 {
		t.Fatalf("points %d→%d, seq %d→%d; want one entry of 15", before, after, seq, seqAfter)
	}
	// The same key with another body is refused and moves nothing.
	r := w.call("POST", "/api/v1/residents/"+elder+"/points/adjustments", staff, award(16, "award"), "Idempotency-Key", "same-key-200")
	if r.Status != http.StatusUnprocessableEntity || r.code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reused key: %d %s", r.Status, r.Body)
	}
	if p, _ := w.points(elder); p != after {
		t.Fatalf("reused key moved points: %d → %d", after, p)
	}
	w.mustAudit()
}

// Invariant 1 (docs/ARCHITECTURE.md §8) over HTTP: 32 concurrent deductions against a balance that
// covers k of them succeed exactly k times.
func TestConcurrentDeductionsStopAtZero(t *testing.T) {
	// Not parallel: its own hundreds of concurrent requests load the
	// machine, and beside other tests they outlast the harness's
	// per-request bound.
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	son := w.ids[phoneSonA]
	start, _ := w.points(son) // 50 from the demo
	const n, cost = 32, 7
	k := int(start / cost)
	var mu sync.Mutex
	codes := map[int]int{}
	atonce.Run(n, func(i int) {
		r := w.call("POST", "/api/v1/residents/"+son+"/points/adjustments", staff, award(cost, "deduct"), "Idempotency-Key", fmt.Sprintf("deduct-%03d", i))
		mu.Lock()
		codes[r.Status]++
		mu.Unlock()
		if r.Status == http.StatusConflict && r.code() != "INSUFFICIENT_POINTS" {
			t.Errorf("refusal code %s", r.code())
		}
	})
	if codes[http.StatusCreated] != k || codes[http.StatusConflict] != n-k {
		t.Fatalf("statuses %v; want %d×201 and %d×409", codes, k, n-k)
	}
	if p, _ := w.points(son); p != start-int64(k*cost) {
		t.Fatalf("balance %d; want %d", p, start-int64(k*cost))
	}
	w.mustAudit()
}

// Tenant and object isolation: a resident of A reaches nothing of B nor
// another resident of A, and staff of A nothing of B, through any id in any
// route; and nothing of B's moves.
func TestIsolationThroughEveryRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	residentA := w.login(phoneElderA)
	staffA := w.login(phoneStaffA)
	clerkA := w.login(phoneClerkA)
	otherA := w.ids[phoneSonA]
	bPoints, bSeq := w.points(w.b.resident)

	bodies := map[string]any{
		"POST /api/v1/residents/:id/points/adjustments":                  award(5, "award"),
		"POST /api/v1/residents/:id/ledger/:asset/entries/:seq/reversal": map[string]string{"reason": "测试"},
		"PATCH /api/v1/residents/:id":                                    map[string]any{"name": "改名"},
		"PATCH /api/v1/buildings/:id":                                    map[string]any{"address": "别处"},
		"PUT /api/v1/buildings/:id/head":                                 map[string]any{"resident_id": w.b.resident},
		"PATCH /api/v1/households/:id":                                   map[string]any{"plates": []string{"沪B12345"}},
		"POST /api/v1/residents/:id/family":                              map[string]any{"resident_id": w.b.staff, "relation": "配偶"},
	}
	targets := map[string]string{
		"id":       w.b.resident,
		"asset":    "POINTS",
		"seq":      "1",
		"relative": w.b.staff,
	}
	checked := 0
	for _, rt := range w.app.GetRoutes(true) {
		// /me/… routes take no one's id: they are the caller's own.
		if !strings.Contains(rt.Path, ":") || rt.Method == "HEAD" || strings.HasPrefix(rt.Path, "/api/v1/me/") {
			continue
		}
		key := rt.Method + " " + rt.Path
		for _, tc := range []struct {
			who, token string
			ids        map[string]string
		}{
			{"resident of A on B", residentA, targets},
			{"staff of A on B", staffA, targets},
			{"clerk of A on B", clerkA, targets},
			{"resident of A on another resident of A", residentA, map[string]string{
				"id":       otherA,
				"asset":    "POINTS",
				"seq":      "1",
				"relative": w.ids[phoneElderA],
			}},
		} {
			ids := tc.ids
			if strings.HasPrefix(rt.Path, "/api/v1/buildings/") && tc.ids["id"] == w.b.resident {
				ids = map[string]string{"id": w.b.building}
			}
			if strings.HasPrefix(rt.Path, "/api/v1/households/") && tc.ids["id"] == w.b.resident {
				ids = map[string]string{"id": w.b.household}
			}
			path := regexp.MustCompile(`:(\w+)`).ReplaceAllStringFunc(rt.Path, func(p string) string {
				if v, ok := ids[p[1:]]; ok {
					return v
				}
				return "x"
			})
			body := bodies[key]
			if body == nil && rt.Method != "GET" {
				body = map[string]any{}
			}
			r := w.call(rt.Method, path, tc.token, body, "Idempotency-Key", "isolation-"+fmt.Sprint(checked))
			checked++
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("%s: %s %s → %d %s", tc.who, rt.Method, path, r.Status, r.Body)
			}
		}
	}
	if checked < 40 {
		t.Fatalf("only %d route probes: the route walk found too little", checked)
	}
	if p, s := w.points(w.b.resident); p != bPoints || s != bSeq {
		t.Fatalf("B's resident's points moved: %d@%d → %d@%d", bPoints, bSeq, p, s)
	}
	// The reads that are allowed, to show the probes above were not refused
	// for some unrelated reason.
	if r := w.call("GET", "/api/v1/residents/"+w.ids[phoneElderA]+"/balances", residentA, nil); r.Status != 200 {
		t.Fatalf("own balances: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/residents/"+otherA+"/ledger/POINTS", staffA, nil); r.Status != 200 {
		t.Fatalf("staff reads own community's ledger: %d %s", r.Status, r.Body)
	}
}

// Function-level authorization: residents, clerks and partners are kept off
// staff routes.
func TestRolesKeptOffStaffRoutes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, phone := range []string{phoneElderA, phoneClerkA, phonePartnerA, phoneHeadA} {
		tok := w.login(phone)
		for _, probe := range []struct{ method, path string }{
			{"POST", "/api/v1/residents/" + w.ids[phoneSonA] + "/points/adjustments"},
			{"GET", "/api/v1/residents"},
			{"GET", "/api/v1/audit-trail"},
			{"POST", "/api/v1/buildings"},
			{"POST", "/api/v1/communities"},
		} {
			r := w.call(probe.method, probe.path, tok, award(5, "award"), "Idempotency-Key", "role-probe-1")
			if r.Status != http.StatusForbidden || r.code() != "FORBIDDEN" {
				t.Errorf("%s on %s %s: %d %s; want 403 FORBIDDEN", phone, probe.method, probe.path, r.Status, r.Body)
			}
		}
	}
}

func TestBadTokensAre401(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	good := w.login(phoneElderA)
	sign := func(method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(good, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range claims {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	key := []byte("fedcba9876543210fedcba9876543210")
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
	cases := map[string]string{
		"alg none":      sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "cur", claims),
		"wrong key":     sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), "cur", claims),
		"expired":       sign(jwt.SigningMethodHS256, key, "cur", with("exp", time.Now().Add(-time.Minute).Unix())),
		"wrong aud":     sign(jwt.SigningMethodHS256, key, "cur", with("aud", "someone-else")),
		"no exp":        sign(jwt.SigningMethodHS256, key, "cur", with("exp", nil)),
		"tampered":      tampered,
		"garbage":       "not-a-token",
		"unknown kid":   sign(jwt.SigningMethodHS256, key, "nope", claims),
		"other subject": sign(jwt.SigningMethodHS256, []byte("x"), "cur", with("sub", w.ids[phoneStaffA])),
	}
	// the control: the same claims, correctly signed, are accepted
	if r := w.call("GET", "/api/v1/me", sign(jwt.SigningMethodHS256, key, "cur", claims), nil); r.Status != 200 {
		t.Fatalf("re-signed good token refused: %d %s", r.Status, r.Body)
	}
	for name, tok := range cases {
		r := w.call("GET", "/api/v1/me/balances", tok, nil)
		if r.Status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" {
			t.Errorf("%s: %d %s; want 401 UNAUTHENTICATED", name, r.Status, r.Body)
		}
	}
	if r := w.call("GET", "/api/v1/me/balances", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.Status)
	}
	// RFC 6750 allows more than one space after the scheme, and the scheme
	// is case-insensitive; a scheme alone, or another scheme, is refused.
	for hdr, want := range map[string]int{
		"bearer " + good:   200,
		"Bearer   " + good: 200,
		"BEARER " + good:   200,
		"Bearer":           401,
		"Bearer ":          401,
		"Basic " + good:    401,
		"Bearer" + good:    401,
	} {
		if r := w.call("GET", "/api/v1/me/balances", "", nil, "Authorization", hdr); r.Status != want {
			t.Errorf("Authorization %.20q…: %d; want %d", hdr, r.Status, want)
		}
	}
}

// Token checks read sessions through this replica's session cache
// (LINLI_SESSION_CACHE, a minute in these tests); a session ended on this replica,
// by logout or by a reused refresh token, must stop its access tokens at
// once all the same.
func TestEndedSessionStopsItsTokensAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	login := func() (access, refresh string) {
		r := w.call("POST", "/api/v1/auth/login", "", map[string]string{"phone": phoneElderA, "password": demoPassword})
		var out struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		r.decode(t, &out)
		return out.AccessToken, out.RefreshToken
	}

	access, _ := login()
	if r := w.call("GET", "/api/v1/me/balances", access, nil); r.Status != 200 { // now cached as live
		t.Fatalf("before logout: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/auth/logout", access, nil); r.Status/100 != 2 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/me/balances", access, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("after logout: %d %s; want 401", r.Status, r.Body)
	}

	access, refresh := login()
	r := w.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh})
	var next struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(t, &next)
	if r := w.call("GET", "/api/v1/me/balances", next.AccessToken, nil); r.Status != 200 {
		t.Fatalf("refreshed token: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}); r.code() != "REFRESH_TOKEN_REUSED" {
		t.Fatalf("reused refresh token: %d %s", r.Status, r.Body)
	}
	for _, tok := range []string{access, next.AccessToken} {
		if r := w.call("GET", "/api/v1/me/balances", tok, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("after refresh reuse: %d %s; want 401", r.Status, r.Body)
		}
	}
}

// Mass assignment: no body field lets a resident set their own role,
// community, household or balance.
func TestResidentCannotSetPrivilegedFields(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.login(phoneElderA)
	me := w.ids[phoneElderA]
	before := w.call("GET", "/api/v1/residents/"+me, tok, nil)
	pts, seq := w.points(me)
	for _, body := range []map[string]any{
		{"roles": []string{"admin"}},
		{"name": "王奶奶", "roles": []string{"staff"}},
		{"community_id": w.b.community},
		{"household_id": w.b.household},
		{"balance": 1000000},
		{"points": 1000000},
		{"merchant_id": "m"},
	} {
		r := w.call("PATCH", "/api/v1/residents/"+me, tok, body)
		if r.Status != http.StatusBadRequest || r.code() != "INVALID_JSON" {
			t.Errorf("PATCH self %v: %d %s; want 400 INVALID_JSON", body, r.Status, r.Body)
		}
	}
	after := w.call("GET", "/api/v1/residents/"+me, tok, nil)
	if string(before.Body) != string(after.Body) {
		t.Fatalf("resident changed:\n%s\n%s", before.Body, after.Body)
	}
	if p, s := w.points(me); p != pts || s != seq {
		t.Fatalf("points moved")
	}
	// The token's roles did not change either.
	var m struct {
		Roles []string `json:"roles"`
	}
	w.call("GET", "/api/v1/me", w.login(phoneElderA), nil).decode(t, &m)
	if fmt.Sprint(m.Roles) != "[resident]" {
		t.Fatalf("roles %v", m.Roles)
	}
}

// Operator injection: an object where a string belongs is a 400 before any
// query runs.
func TestOperatorInjectionRejected(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, body := range []string{
		`{"phone": {"$gt": ""}, "password": "whatever1"}`,
		`{"phone": "13800000005", "password": {"$ne": null}}`,
		`{"phone": ["13800000005"], "password": "x"}`,
	} {
		r := w.call("POST", "/api/v1/auth/login", "", body)
		if r.Status != http.StatusBadRequest || r.code() != "INVALID_JSON" {
			t.Errorf("%s: %d %s; want 400 INVALID_JSON", body, r.Status, r.Body)
		}
	}
	staff := w.login(phoneStaffA)
	r := w.call("POST", "/api/v1/residents/"+w.ids[phoneSonA]+"/points/adjustments", staff,
		`{"points": {"$inc": 5}, "direction": "award", "category": "x", "reason": "y"}`, "Idempotency-Key", "inject-0001")
	if r.Status != http.StatusBadRequest {
		t.Errorf("operator in points: %d %s", r.Status, r.Body)
	}
}

// Invariant 8 (docs/ARCHITECTURE.md §8): bad input gets a 4xx with a stable code, never a 5xx, and
// writes nothing.
func TestBadInputIsA4xxAndWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	son := w.ids[phoneSonA]
	path := "/api/v1/residents/" + son + "/points/adjustments"
	audit0, _ := w.sys.ledger.Audit(t.Context())
	big := `{"points": 1, "direction": "award", "category": "x", "reason": "` + strings.Repeat("长", 400_000) + `"}`
	cases := []struct {
		name, body string
		hdr        []string
		code       string
	}{
		{"malformed", `{"points": 1,`, nil, "INVALID_JSON"},
		{"not json", `points=1`, nil, "INVALID_JSON"},
		{"wrong type", `{"points": "ten", "direction": "award", "category": "x", "reason": "y"}`, nil, "INVALID_JSON"},
		{"past int64", `{"points": 99999999999999999999999, "direction": "award", "category": "x", "reason": "y"}`, nil, "INVALID_JSON"},
		{"fraction", `{"points": 1.5, "direction": "award", "category": "x", "reason": "y"}`, nil, "INVALID_JSON"},
		{"zero", `{"points": 0, "direction": "award", "category": "x", "reason": "y"}`, nil, "VALIDATION_FAILED"},
		{"negative", `{"points": -5, "direction": "award", "category": "x", "reason": "y"}`, nil, "VALIDATION_FAILED"},
		{"over bound", `{"points": 100000, "direction": "award", "category": "x", "reason": "y"}`, nil, "AMOUNT_OUT_OF_BOUNDS"},
		{"bad direction", `{"points": 5, "direction": "steal", "category": "x", "reason": "y"}`, nil, "VALIDATION_FAILED"},
		{"control chars", `{"points": 5, "direction": "award", "category": "x", "reason": "a\u0000b"}`, nil, "VALIDATION_FAILED"},
		{"bidi override", `{"points": 5, "direction": "award", "category": "x", "reason": "\u202eevil"}`, nil, "VALIDATION_FAILED"},
		{"trailing data", `{"points": 5, "direction": "award", "category": "x", "reason": "y"} {}`, nil, "INVALID_JSON"},
		{"empty", ``, nil, "INVALID_JSON"},
		{"no key", `{"points": 5, "direction": "award", "category": "x", "reason": "y"}`, []string{"Idempotency-Key", ""}, "IDEMPOTENCY_KEY_REQUIRED"},
		{"short key", `{"points": 5, "direction": "award", "category": "x", "reason": "y"}`, []string{"Idempotency-Key", "k"}, "IDEMPOTENCY_KEY_REQUIRED"},
		{"wrong content type", `{"points": 5, "direction": "award", "category": "x", "reason": "y"}`, []string{"Content-Type", "text/plain"}, "UNSUPPORTED_MEDIA_TYPE"},
	}
	for i, tc := range cases {
		hdr := append([]string{"Idempotency-Key", fmt.Sprintf("bad-input-%03d", i)}, tc.hdr...)
		r := w.call("POST", path, staff, []byte(tc.body), append(hdr, "Content-Type", contentType(tc.hdr))...)
		if r.Status < 400 || r.Status >= 500 || r.code() != tc.code {
			t.Errorf("%s: %d %s; want 4xx %s", tc.name, r.Status, truncate(r.Body), tc.code)
		}
		if !strings.Contains(string(r.Body), `"request_id":"`) {
			t.Errorf("%s: no request id in %s", tc.name, truncate(r.Body))
		}
	}
	// A body over the limit is refused by the server before any handler;
	// that needs a real socket (app.Test reports it as a transport error).
	if r := overSocket(t, w, "POST", path, staff, big); r.Status != http.StatusRequestEntityTooLarge || r.code() != "BODY_TOO_LARGE" {
		t.Errorf("1 MB body: %d %s", r.Status, truncate(r.Body))
	}
	for _, p := range []string{"/api/v1/residents/" + son + "/ledger/GOLD", "/api/v1/residents/" + son + "/ledger/POINTS?limit=abc", "/api/v1/residents/" + son + "/ledger/POINTS?limit=101", "/api/v1/residents/" + son + "/ledger/POINTS?before=-1", "/api/v1/nope"} {
		if r := w.call("GET", p, staff, nil); r.Status < 400 || r.Status >= 500 || r.code() == "" {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	audit1, _ := w.sys.ledger.Audit(t.Context())
	if audit1.Entries != audit0.Entries {
		t.Fatalf("bad input wrote %d entries", audit1.Entries-audit0.Entries)
	}
}

// overSocket sends one request to the app served on a loopback port.
func overSocket(t *testing.T, w *world, method, path, token, body string) reply {
	t.Helper()
	return overSocketWith(t, w, method, path, token, body)
}

// overSocketHeader sends a request whose Authorization header is token.
func overSocketHeader(t *testing.T, w *world, method, path, token string) reply {
	t.Helper()
	return overSocketWith(t, w, method, path, token, "")
}

func overSocketWith(t *testing.T, w *world, method, path, token, body string) reply {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.app.Listener(ln) }()
	defer func() { _ = w.app.Shutdown() }()
	req, _ := http.NewRequest(method, "http://"+ln.Addr().String()+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", "over-socket-1")
	client := http.DefaultClient
	if len(body) > 64<<10 {
		// A large body waits for the server's go-ahead, as a careful client
		// would: the server may refuse it (413) and close the connection
		// before reading it, and a client still writing then sees a broken
		// pipe instead of the answer.
		req.Header.Set("Expect", "100-continue")
		client = &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b, resp.Header}
}

func contentType(hdr []string) string {
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Content-Type" {
			return hdr[i+1]
		}
	}
	return "application/json"
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func TestErrorsFollowAcceptLanguage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var zh, en struct {
		Error struct{ Code, Message, RequestID string } `json:"error"`
	}
	w.call("GET", "/api/v1/me", "", nil, "Accept-Language", "zh-CN,zh;q=0.9").decode(t, &zh)
	w.call("GET", "/api/v1/me", "", nil, "Accept-Language", "en-US,en;q=0.8").decode(t, &en)
	if zh.Error.Code != "UNAUTHENTICATED" || en.Error.Code != zh.Error.Code || zh.Error.Message != "请先登录。" || en.Error.Message != "Sign in first." {
		t.Fatalf("zh %+v en %+v", zh, en)
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if r := w.call("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := w.call("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz %d", r.Status)
	}
	if r := w.call("GET", "/healthz", "", nil); r.Header.Get("X-Request-ID") == "" {
		t.Fatal("no X-Request-ID")
	}
}

// Staff awards and deductions land in the audit trail with who, what, when
// and why, and a correction is a reversal that keeps the original.
func TestAuditTrailAndReversal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	son := w.ids[phoneSonA]
	r := w.call("POST", "/api/v1/residents/"+son+"/points/adjustments", staff,
		map[string]any{
			"points":    20,
			"direction": "award",
			"category":  "好人好事",
			"reason":    "拾金不昧",
		}, "Idempotency-Key", "trail-award-1")
	if r.Status != 201 {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	var e struct {
		Seq int64 `json:"seq"`
	}
	r.decode(t, &e)
	rev := w.call("POST", fmt.Sprintf("/api/v1/residents/%s/ledger/POINTS/entries/%d/reversal", son, e.Seq), staff,
		map[string]string{"reason": "误录"}, "Idempotency-Key", "trail-reverse-1")
	if rev.Status != 201 {
		t.Fatalf("reverse: %d %s", rev.Status, rev.Body)
	}
	var trail struct {
		Records []struct{ Actor, Action, Subject, Reason string } `json:"records"`
	}
	w.call("GET", "/api/v1/audit-trail", staff, nil).decode(t, &trail)
	// Newest first: the reversal, then the award (the demo's own awards
	// follow).
	if len(trail.Records) < 2 || trail.Records[0].Action != "entry.reverse" || trail.Records[1].Action != "points.award" ||
		trail.Records[1].Reason != "拾金不昧" || trail.Records[1].Actor != w.ids[phoneStaffA] || trail.Records[1].Subject != son {
		t.Fatalf("trail %+v", trail.Records)
	}
	// B's staff sees none of it.
	var other struct {
		Records []any `json:"records"`
	}
	w.call("GET", "/api/v1/audit-trail", w.login(phoneStaffB), nil).decode(t, &other)
	if len(other.Records) != 0 {
		t.Fatalf("B's staff sees A's trail: %v", other.Records)
	}
	// Its pages: a cursor it gave out reads on; one it did not (an older
	// "time.id" one, a slot past a list's end, a blank part) is 400
	// INVALID_CURSOR.
	var first struct {
		Records []any  `json:"records"`
		Next    string `json:"next"`
	}
	w.call("GET", "/api/v1/audit-trail?limit=1", staff, nil).decode(t, &first)
	if len(first.Records) != 1 || first.Next == "" {
		t.Fatalf("a page of 1: %+v", first)
	}
	if r := w.call("GET", "/api/v1/audit-trail?limit=1&cursor="+url.QueryEscape(first.Next), staff, nil); r.Status != 200 {
		t.Fatalf("the next page: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{"x", "1733500000000.job:x", "0.1", "1.0", "999999.1", "1.", "-3.2"} {
		if r := w.call("GET", "/api/v1/audit-trail?cursor="+url.QueryEscape(bad), staff, nil); r.Status != 400 || r.code() != "INVALID_CURSOR" {
			t.Errorf("cursor %q: %d %s; want 400 INVALID_CURSOR", bad, r.Status, r.Body)
		}
	}
	w.mustAudit()
}
