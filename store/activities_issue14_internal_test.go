package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// walkActivities reads every page of a community's activities on day,
// limit at a time, and returns their ids in order.
func walkActivities(ctx context.Context, t *testing.T, s *Store, community, day string, limit int) []string {
	t.Helper()
	return walkIDs(t, func(a models.Activity) string { return a.ID }, func(cursor string) ([]models.Activity, string, error) {
		return s.ActivitiesOn(ctx, community, day, cursor, limit)
	})
}

// Issue 14 (activities list by cursor), its crash points: a slot whose
// activity was never written (the process died between the two, or the
// activity's insert found a repeat) is skipped and the walk goes on past
// it; activities stored before the day lists existed are put on the
// lists of each day they run on, in their community's zone, once.
func TestIssue14_ActivitiesCursor_CrashedSlotsAndOldActivities(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	if err := s.InsertCommunity(ctx, models.Community{
		ID:       "c1",
		Name:     "春申",
		TimeZone: "Asia/Shanghai",
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 7, 1, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	activity := func(id string, days int) models.Activity {
		return models.Activity{
			ID:          id,
			CommunityID: "c1",
			Title:       id,
			Start:       start,
			End:         start.Add(time.Duration(days)*24*time.Hour - 16*time.Hour),
			Created:     start.Add(-time.Hour),
		}
	}
	var want []string
	for i := range 5 {
		a := activity(fmt.Sprint("a", i), 1)
		if err := s.InsertActivity(ctx, a, []string{"2026-07-01"}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{a.ID}, want...)
		if i == 2 {
			// A request that died after its slot: the slot names no activity.
			if _, err := s.insertListed(ctx, colActivities, []string{activityDayList("c1", "2026-07-01")}, "ghost", start, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.InsertActivity(ctx, activity("a0", 1), []string{"2026-07-01"}); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a repeated activity id: %v, want a conflict", err)
	}
	if got := walkActivities(ctx, t, s, "c1", "2026-07-01", 2); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %v, want %v (the latest first, the ghost and the repeat's slot skipped)", got, want)
	}

	// Two activities stored before the lists: one of three days, one of
	// one day in another community.
	for _, a := range []models.Activity{activity("old3", 3), {
		ID:          "oldB",
		CommunityID: "cB",
		Start:       start,
		End:         start.Add(time.Hour),
	}} {
		err := s.insert(ctx, colActivities, activityDoc{
			ID:        a.ID,
			Community: a.CommunityID,
			Title:     a.ID,
			Start:     a.Start,
			End:       a.End,
			Created:   a.Created,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertCommunity(ctx, models.Community{
		ID:       "cB",
		Name:     "古美",
		TimeZone: "Asia/Shanghai",
	}); err != nil {
		t.Fatal(err)
	}
	forgetBackfills(t, s, "activity-lists")
	startTwice(t, s.listEverythingStoredBefore) // the second start reads the done mark and lists nothing again
	for day, ids := range map[string][]string{
		"2026-07-01": append([]string{"old3"}, want...),
		"2026-07-02": {"old3"},
		"2026-07-03": {"old3"},
		"2026-07-04": nil,
	} {
		if got := walkActivities(ctx, t, s, "c1", day, 3); fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%s lists %v, want %v", day, got, ids)
		}
	}
	if got := walkActivities(ctx, t, s, "cB", "2026-07-01", 3); fmt.Sprint(got) != "[oldB]" {
		t.Errorf("community B lists %v", got)
	}
}
