package settlement_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

var ids atomic.Int64

func newID() string { return fmt.Sprintf("id%08d", ids.Add(1)) }

func staffOf(community string) models.Principal {
	return models.Principal{
		ResidentID:  "staff-" + community,
		CommunityID: community,
		Roles:       []models.Role{models.RoleStaff},
	}
}

func residentOf(community, id string) models.Principal {
	return models.Principal{
		ResidentID:  id,
		CommunityID: community,
		Roles:       []models.Role{models.RoleResident},
	}
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
