package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/store/storetest"
)

var ctx = context.Background()

// accountsStart is when the accounts tests' world begins: 16:00 in
// Shanghai.
var accountsStart = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// newAccounts returns the accounts service over a communitytest.World
// (community A with residents r1…r30, a ledger and the policies), and the
// world.
func newAccounts(t *testing.T) (*accounts.Service, *communitytest.World) {
	t.Helper()
	w := communitytest.NewWorld(t, accountsStart)
	acc := accounts.New(accounts.Deps{
		Ledger:   w.Ledger,
		People:   w.Store,
		Trail:    w.Store,
		Policies: w.Policies,
		Now:      w.Clock.Now,
		Notify:   community.NoNotifier{},
	})
	return acc, w
}

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }
