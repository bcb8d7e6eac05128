package timebank_test

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

// The helpers below are the directory package's test helpers, copied so
// these tests need no exported test code.

// fakeHasher stands in for Argon2id, which would only slow the tests.
type fakeHasher struct{}

func (fakeHasher) Hash(pw string) (string, error) { return "fake$" + pw, nil }

var ids atomic.Int64

func newID() string { return fmt.Sprintf("id%08d", ids.Add(1)) }

var testNow = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func now() time.Time { return testNow }

func staffOf(community string) models.Principal {
	return models.Principal{ResidentID: "staff-" + community, CommunityID: community, Roles: []models.Role{models.RoleStaff}}
}

func residentOf(community, id string) models.Principal {
	return models.Principal{ResidentID: id, CommunityID: community, Roles: []models.Role{models.RoleResident}}
}

var ctx = context.Background()

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }

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
