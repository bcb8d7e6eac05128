package community

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

// countingPeople counts the reads that reach the (real) store.
type countingPeople struct {
	People
	reads atomic.Int64
}

func (c *countingPeople) Resident(ctx context.Context, id string) (models.Resident, error) {
	c.reads.Add(1)
	return c.People.Resident(ctx, id)
}

func TestMembersReadEachResidentOncePerTTL(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := at
	now := func() time.Time { return clock }
	if err := st.InsertResident(ctx, models.Resident{
		ID:          "r1",
		CommunityID: "A",
		Name:        "甲",
		Phone:       "13900000001",
		Created:     at,
	}); err != nil {
		t.Fatal(err)
	}
	src := &countingPeople{People: st}
	ms := NewMembers(src, now)
	for range 5 {
		r, err := ms.resident(ctx, "r1")
		if err != nil || r.ID != "r1" || r.CommunityID != "A" {
			t.Fatalf("resident = %+v, %v", r, err)
		}
	}
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("store reads = %d, want 1", n)
	}
	clock = clock.Add(membersTTL)
	if _, err := ms.resident(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("after the TTL: store reads = %d, want 2", n)
	}
	// Not found is not remembered: a resident created since is found.
	if _, err := ms.resident(ctx, "r2"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown resident: %v", err)
	}
	if err := st.InsertResident(ctx, models.Resident{
		ID:          "r2",
		CommunityID: "B",
		Name:        "乙",
		Phone:       "13900000002",
		Created:     at,
	}); err != nil {
		t.Fatal(err)
	}
	if r, err := ms.resident(ctx, "r2"); err != nil || r.CommunityID != "B" {
		t.Fatalf("resident created after a miss: %+v, %v", r, err)
	}
	// The checks built on it still keep communities apart.
	staffA := models.Principal{
		ResidentID:  "s1",
		CommunityID: "A",
		Roles:       []models.Role{models.RoleStaff},
	}
	if _, err := ManagedResident(ctx, ms, staffA, "r2"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("staff of A on a resident of B: %v; want not found", err)
	}
	if _, err := ManagedResident(ctx, ms, staffA, "r1"); err != nil {
		t.Fatalf("staff of A on a resident of A: %v", err)
	}
}

func (c *countingPeople) Community(ctx context.Context, id string) (models.Community, error) {
	c.reads.Add(1)
	return c.People.Community(ctx, id)
}

func TestZonesReadEachCommunityOnce(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	if err := st.InsertCommunity(ctx, models.Community{
		ID:       "A",
		Name:     "春申",
		TimeZone: "Asia/Urumqi",
		Created:  time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	src := &countingPeople{People: st}
	z := &Zones{people: src}
	for range 3 {
		loc, err := z.Location(ctx, "A")
		if err != nil || loc.String() != "Asia/Urumqi" {
			t.Fatalf("location = %v, %v", loc, err)
		}
	}
	if _, err := z.Location(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown community: %v", err)
	}
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("store reads = %d, want 2 (one per community asked)", n)
	}
}
