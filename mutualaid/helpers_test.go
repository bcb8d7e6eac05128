package mutualaid_test

import (
	"context"
	"testing"
	"time"

	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/mutualaid"
	"github.com/linli-community/linli/store/storetest"
)

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// tbEnv is mutual aid (and, for gifts, the time bank) over a
// communitytest.World: community A, its staff member and residents
// r1..r30.
type tbEnv struct {
	*communitytest.World
	aid *mutualaid.Service
}

var tbStart = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) // 16:00 in Shanghai

func newTB(t *testing.T) *tbEnv {
	t.Helper()
	w := communitytest.NewWorld(t, tbStart)
	aid := mutualaid.New(mutualaid.Deps{
		Store:    w.Store,
		People:   w.Store,
		Ledger:   w.Ledger,
		Policies: w.Policies,
		Trail:    w.Store,
		Now:      w.Clock.Now,
		NewID:    communitytest.NewID,
	})
	return &tbEnv{World: w, aid: aid}
}

func res(id string) models.Principal { return communitytest.Resident("A", id) }
