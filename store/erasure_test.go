package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

// An erased resident's search slots no longer point at them: a slot's _id
// holds a character of the name or the phone's last four digits, so after
// erasure none may name whose they were (docs/ARCHITECTURE.md §11).
func TestIssue17_PIPL_ErasureLeavesNoSearchSlotNamingTheResident(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	piplResident(t, st, "r1")
	other := models.Resident{
		ID:          "r2",
		CommunityID: "c1",
		Name:        "王大爷",
		Phone:       "13900000002",
		Roles:       []models.Role{models.RoleResident},
		Created:     time.Date(2026, 1, 3, 3, 4, 5, 0, time.UTC),
	}
	if err := st.InsertResident(ctx, other); err != nil {
		t.Fatal(err)
	}
	before, err := st.CountRefs(ctx, "dir_lists", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if before == 0 {
		t.Fatal("the resident is on no search list before erasure")
	}
	if err := st.EraseResident(ctx, "r1", "已迁出居民-r1", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountRefs(ctx, "dir_lists", "r1"); err != nil || n != 0 {
		t.Fatalf("%d search slots still point at the erased resident (%v)", n, err)
	}
	if n, err := st.CountRefs(ctx, "dir_lists", "r2"); err != nil || n == 0 {
		t.Fatalf("the other resident lost their search slots: %d (%v)", n, err)
	}
	found, _, err := st.SearchResidents(ctx, "c1", "王", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].ID != "r2" {
		t.Fatalf("search after erasure found %+v, want r2 alone", found)
	}
}
