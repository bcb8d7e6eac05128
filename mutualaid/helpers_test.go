package mutualaid_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/linli-community/linli/community"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
	"github.com/linli-community/linli/timebank"
)

// Test helpers, copied from package timebank's tests so that no test code
// is exported.

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

var ids atomic.Int64

func newID() string { return fmt.Sprintf("id%08d", ids.Add(1)) }

func staffOf(community string) models.Principal {
	return models.Principal{ResidentID: "staff-" + community, CommunityID: community, Roles: []models.Role{models.RoleStaff}}
}

func residentOf(community, id string) models.Principal {
	return models.Principal{ResidentID: id, CommunityID: community, Roles: []models.Role{models.RoleResident}}
}

// clock is a settable time, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tbEnv is mutual aid (and, for gifts, the time bank) over a fresh store
// with community A, its staff member and residents r1..r30 (born 1990,
// except r9 born 1950).
type tbEnv struct {
	st    *store.Store
	clock *clock
	led   *ledger.Ledger
	pol   *policy.Service
	tb    *timebank.Service
	aid   *mutualaid.Service
	staff models.Principal
}

var tbStart = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) // 16:00 in Shanghai

func newTB(t *testing.T) *tbEnv {
	t.Helper()
	st := storetest.New(t)
	c := &clock{t: tbStart}
	if err := st.InsertCommunity(ctx, models.Community{ID: "A", Name: "春申", TimeZone: "Asia/Shanghai", Created: tbStart}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		birth := 1990
		if i == 9 {
			birth = 1950
		}
		r := models.Resident{ID: fmt.Sprintf("r%d", i), CommunityID: "A", Name: fmt.Sprintf("居民%d", i),
			Phone: fmt.Sprintf("139%08d", i), BirthYear: birth, Roles: []models.Role{models.RoleResident}, Created: tbStart}
		if err := st.InsertResident(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	led := ledger.New(st, c.now)
	pol := policy.New(st, c.now)
	tb := timebank.New(timebank.Deps{
		Store:    st,
		People:   st,
		Ledger:   led,
		Policies: pol,
		Trail:    st,
		QRSecret: []byte("test-secret-0123456789"),
		Now:      c.now,
		NewID:    newID,
		Notify:   community.NoNotifier{},
	})
	aid := mutualaid.New(mutualaid.Deps{
		Store:    st,
		People:   st,
		Ledger:   led,
		Policies: pol,
		Trail:    st,
		Now:      c.now,
		NewID:    newID,
	})
	return &tbEnv{st: st, clock: c, led: led, pol: pol, tb: tb, aid: aid, staff: staffOf("A")}
}

func res(id string) models.Principal { return residentOf("A", id) }

func (e *tbEnv) balance(t *testing.T, id string, a models.Asset) int64 {
	t.Helper()
	b, err := e.led.Balance(ctx, models.AccountOf(id, a))
	if err != nil {
		t.Fatal(err)
	}
	return b.Amount
}

func mustCode(t *testing.T, err error, want *models.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %s", err, want.Code)
	}
}
