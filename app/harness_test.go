package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m, func() { stopBrowser() }) }

const testKeys = "old:0123456789abcdef0123456789abcdef,cur:fedcba9876543210fedcba9876543210"

func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := loadConfig([]string{
		"LINLI_JWT_KEYS=" + testKeys, "LINLI_JWT_ACTIVE_KID=cur", "LINLI_DATA_DIR=" + t.TempDir(),
		"LINLI_LOGIN_PER_PHONE=1000", "LINLI_LOGIN_PER_ADDR=1000",
		// These tests check what happens, not how fast: on a loaded CI
		// machine 200 concurrent requests may need more than the default
		// 10 s deadline.
		"LINLI_REQUEST_TIMEOUT=2m",
		// Longer than any test, so a session ended on this replica is seen
		// ended because it was forgotten, never because the cache expired.
		"LINLI_SESSION_CACHE=1m",
		// Most tests are not about the privacy notice; the consent gate's
		// own tests turn it on (TestIssue17_PIPL_*).
		"LINLI_CONSENT_GATE=false",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.passwordCost = cheapPasswords
	return cfg
}

// cheapPasswords is the Argon2id cost of the tests' password hashes: 1 MiB
// and one pass instead of 19 MiB and two, so seeding a world's demo
// residents and logging in cost milliseconds under the race detector.
var cheapPasswords = auth.PasswordParams{
	MemoryKiB:  1024,
	Iterations: 1,
}

// world is the API over a fresh store holding the demo community (A) and a
// second, small community (B).
type world struct {
	t   *testing.T
	sys *system
	app *fiber.App
	ids map[string]string // phone → resident id
	b   struct{ community, staff, resident, building, household string }
}

const (
	phoneAdminA    = "13800000001"
	phoneStaffA    = "13800000002"
	phoneHeadA     = "13800000003"
	phoneElderA    = "13800000005"
	phoneSonA      = "13800000006"
	phoneClerkA    = "13800000007"
	phonePartnerA  = "13800000008"
	phoneStaffB    = "13700000001"
	phoneResidentB = "13700000002"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldConfig(t, testConfig(t))
}

// newWorldConfig is newWorld with cfg.
func newWorldConfig(t *testing.T, cfg Config) *world {
	t.Helper()
	return newWorldClock(t, cfg, time.Now)
}

// newWorldClock is newWorldConfig on the clock now (the demo is seeded at
// its time).
func newWorldClock(t *testing.T, cfg Config, now func() time.Time) *world {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	sys, err := build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), st, now)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		t:   t,
		sys: sys,
		app: sys.httpApp(),
		ids: map[string]string{},
	}
	if _, err := sys.seedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	root := models.Principal{ResidentID: "system", Roles: []models.Role{models.RoleAdmin}}
	c, staff, err := sys.communities.CreateCommunity(ctx, root, directory.NewCommunity{
		Name: "古美居民区", FirstStaff: &directory.NewResident{
			Name:     "孙社工",
			Phone:    phoneStaffB,
			Password: demoPassword,
		},
	}, community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	sp := models.Principal{
		ResidentID:  staff.ID,
		CommunityID: c.ID,
		Roles:       []models.Role{models.RoleStaff},
	}
	bld, err := sys.communities.CreateBuilding(ctx, sp, "8号楼", "", community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	hh, err := sys.communities.CreateHousehold(ctx, sp, bld.ID, "801", nil, community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := sys.communities.CreateResident(ctx, sp, directory.NewResident{
		Name:        "周居民",
		Phone:       phoneResidentB,
		HouseholdID: hh.ID,
		Password:    demoPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.b.community, w.b.staff, w.b.resident, w.b.building, w.b.household = c.ID, staff.ID, rb.ID, bld.ID, hh.ID
	for _, phone := range []string{phoneAdminA, phoneStaffA, phoneHeadA, phoneElderA, phoneSonA, phoneClerkA, phonePartnerA, phoneStaffB, phoneResidentB} {
		l, err := st.LoginByPhone(ctx, phone)
		if err != nil {
			t.Fatal(err)
		}
		w.ids[phone] = l.ResidentID
	}
	return w
}

type reply struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r reply) code() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// call sends one request through the Fiber app.
func (w *world) call(method, path, token string, body any, hdr ...string) reply {
	w.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			w.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// The server's own deadline (LINLI_REQUEST_TIMEOUT=2m above) answers
	// a slow request; the harness waits longer than that, so on a loaded
	// machine a slow answer is still checked rather than cut off.
	resp, err := w.app.Test(req, int((3 * time.Minute).Milliseconds()))
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b, resp.Header}
}

func (w *world) login(phone string) string {
	w.t.Helper()
	r := w.call("POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "password": demoPassword})
	if r.Status != 200 {
		w.t.Fatalf("login %s: %d %s", phone, r.Status, r.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(w.t, &out)
	return out.AccessToken
}

func (w *world) points(residentID string) (int64, int64) {
	w.t.Helper()
	b, err := w.sys.ledger.Balance(context.Background(), models.AccountOf(residentID, models.AssetPoints))
	if err != nil {
		w.t.Fatal(err)
	}
	return b.Amount, b.Seq
}

// counts is the number of documents in every collection except the
// sessions and refresh tokens that logging in creates.
func (w *world) counts() map[string]int64 {
	w.t.Helper()
	return w.countBy(w.sys.store.Counts)
}

// recordCounts is counts without list slots (store.RecordCounts).
func (w *world) recordCounts() map[string]int64 {
	w.t.Helper()
	return w.countBy(w.sys.store.RecordCounts)
}

// countBy is what count tells of each collection, sessions and refresh
// tokens left out.
func (w *world) countBy(count func(context.Context) (map[string]int64, error)) map[string]int64 {
	w.t.Helper()
	c, err := count(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	delete(c, "sessions")
	delete(c, "refresh_tokens")
	return c
}

// communityA is the demo community's id.
func (w *world) communityA() string {
	w.t.Helper()
	r, err := w.sys.store.Resident(context.Background(), w.ids[phoneStaffA])
	if err != nil {
		w.t.Fatal(err)
	}
	return r.CommunityID
}

func (w *world) mustAudit() {
	w.t.Helper()
	r, err := w.sys.ledger.Audit(context.Background())
	if err != nil || !r.OK() {
		w.t.Fatalf("audit: %v %+v", err, r.Problems)
	}
}
