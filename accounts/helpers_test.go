package accounts_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

// Test helpers, copied from the other packages' tests so that no test code
// is exported.

func staffOf(community string) models.Principal {
	return models.Principal{ResidentID: "staff-" + community, CommunityID: community, Roles: []models.Role{models.RoleStaff}}
}

var ctx = context.Background()

// accountsEnv is a store with community A and residents r1…r30, a ledger
// and the policies, for the accounts tests.
type accountsEnv struct {
	st    *store.Store
	clock *clock
	led   *ledger.Ledger
	pol   *policy.Service
	staff models.Principal
}

var accountsStart = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) // 16:00 in Shanghai

func newAccountsEnv(t *testing.T) *accountsEnv {
	t.Helper()
	st := storetest.New(t)
	c := &clock{t: accountsStart}
	if err := st.InsertCommunity(ctx, models.Community{ID: "A", Name: "春申", TimeZone: "Asia/Shanghai", Created: accountsStart}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		birth := 1990
		if i == 9 {
			birth = 1950
		}
		r := models.Resident{ID: fmt.Sprintf("r%d", i), CommunityID: "A", Name: fmt.Sprintf("居民%d", i),
			Phone: fmt.Sprintf("139%08d", i), BirthYear: birth, Roles: []models.Role{models.RoleResident}, Created: accountsStart}
		if err := st.InsertResident(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	led := ledger.New(st, c.now)
	pol := policy.New(st, c.now)
	return &accountsEnv{st: st, clock: c, led: led, pol: pol, staff: staffOf("A")}
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

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }
