package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

// Issue 15 (lists whose cost does not grow with history): a community's
// policy versions are read by exact _id, never by a scan of every
// community's versions: community A's eleven versions (past one batch of
// eight lookups) come back oldest first with their fields, B's two are
// B's, a community with none has an empty list, and none of the reads
// sends the store a scan (store.CommandCounts).
func TestIssue15_PolicyVersions_ReadByExactID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for community, versions := range map[string]int{"community-a": 11, "community-b": 2} {
		for v := 1; v <= versions; v++ {
			p := models.Policy{
				CommunityID: community,
				Version:     v,
				Effective:   at.AddDate(0, 0, v),
				CreatedBy:   fmt.Sprintf("%s-staff-%d", community, v),
				MaxAward:    models.Points(100 * v),
			}
			if err := st.InsertPolicy(ctx, p, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := st.CommandCounts().Scans
	for community, want := range map[string]int{
		"community-a": 11,
		"community-b": 2,
		"community-c": 0,
	} {
		got, err := st.PolicyVersions(ctx, community)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || len(got) != want {
			t.Fatalf("%s: %d versions (nil: %v), want %d", community, len(got), got == nil, want)
		}
		for i, p := range got {
			v := i + 1
			if p.CommunityID != community || p.Version != v || !p.Effective.Equal(at.AddDate(0, 0, v)) ||
				p.CreatedBy != fmt.Sprintf("%s-staff-%d", community, v) || p.MaxAward != models.Points(100*v) {
				t.Fatalf("%s: version %d read back as %+v", community, v, p)
			}
		}
	}
	if scans := st.CommandCounts().Scans - before; scans != 0 {
		t.Fatalf("reading the versions sent %d scans; want none", scans)
	}
}
