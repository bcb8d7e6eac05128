package services_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/services"
)

var cst = time.FixedZone("CST", 8*3600)

func (e *tbEnv) tryClaim(resident string, start, end time.Time) (models.ServiceRecord, error) {
	return e.tb.ClaimRecord(ctx, res(resident), services.Claim{Category: "环境", Organisation: "春申居委会", Description: "捡垃圾",
		Start: start, End: end, Idem: services.Idempotency{Key: newID(), OpID: "k:" + resident + ":" + newID(), Hash: "h"}})
}

// Issue 11.2: a claim refused on its second day leaves nothing that blocks
// its first day, and a day-index link whose record was never stored (its
// request died) blocks nothing either.
func TestIssue11_2_RefusedOvernightClaimLeavesNoLink(t *testing.T) {
	e := newTB(t)
	e.clock.t = time.Date(2026, 3, 11, 20, 0, 0, 0, cst)
	first, err := e.tryClaim("r1", time.Date(2026, 3, 11, 0, 30, 0, 0, cst), time.Date(2026, 3, 11, 0, 45, 0, 0, cst))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.tryClaim("r1", time.Date(2026, 3, 10, 23, 0, 0, 0, cst), time.Date(2026, 3, 11, 1, 0, 0, 0, cst))
	mustCode(t, err, models.ErrRecordOverlap)
	// Issue 11.23: the refusal names the record it overlaps and its time.
	if d := err.(*models.Error).Detail; !strings.Contains(d, first.ID) || !strings.Contains(d, "2026-03-11 00:30") || !strings.HasPrefix(d, "与服务记录") {
		t.Fatalf("overlap detail %q does not name %s and its time, in Chinese first", d, first.ID)
	}
	if _, err := e.tryClaim("r1", time.Date(2026, 3, 10, 23, 15, 0, 0, cst), time.Date(2026, 3, 10, 23, 45, 0, 0, cst)); err != nil {
		t.Fatalf("a claim that overlaps nothing stored: %v", err)
	}
	// The refused record is nowhere to be seen.
	recs, err := e.tb.MyRecords(ctx, res("r1"))
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %+v (%v); want the two stored", recs, err)
	}

	// A request that wrote its link and died before storing its record.
	ghost := models.Link{Chain: "day:r2:2026-03-10", N: 1, Ref: "claim:ghost", Start: time.Date(2026, 3, 10, 10, 0, 0, 0, cst).UTC(),
		End: time.Date(2026, 3, 10, 12, 0, 0, 0, cst).UTC(), At: e.clock.now()}
	if err := e.st.InsertLink(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tryClaim("r2", time.Date(2026, 3, 10, 11, 0, 0, 0, cst), time.Date(2026, 3, 10, 11, 30, 0, 0, cst)); err != nil {
		t.Fatalf("a dead request's link blocked a claim: %v", err)
	}
	// The dead request can no longer store its record over the new one.
	late := models.ServiceRecord{ID: "claim:ghost", CommunityID: "A", ResidentID: "r2", Start: ghost.Start, End: ghost.End,
		Minutes: 120, Source: models.SourceClaim, State: models.RecordPending}
	if err := e.st.InsertRecord(ctx, late); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("the voided record could still be stored: %v", err)
	}
	if _, err := e.tb.Record(ctx, e.staff, "claim:ghost"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a void record is visible: %v", err)
	}
}

// Issue 11.2 under concurrency: overnight claims of one resident racing
// over two days never store two overlapping records, and every refusal is
// RECORD_OVERLAP; same-day races store exactly one.
func TestIssue11_2_ConcurrentOvernightClaims(t *testing.T) {
	e := newTB(t)
	e.clock.t = time.Date(2026, 3, 31, 20, 0, 0, 0, cst)
	for round := 0; round < 40; round++ {
		night := time.Date(2026, 3, 1+round%28, 22, 0, 0, 0, cst)
		who := fmt.Sprintf("r%d", 1+round/28)
		windows := [][2]time.Time{
			{night.Add(time.Hour), night.Add(3 * time.Hour)},               // 23:00-01:00
			{night.Add(90 * time.Minute), night.Add(150 * time.Minute)},    // 23:30-00:30
			{night.Add(110 * time.Minute), night.Add(130 * time.Minute)},   // 23:50-00:10
			{night.Add(-60 * time.Minute), night.Add(-30 * time.Minute)},   // 21:00-21:30, overlaps none
			{night.Add(-120 * time.Minute), night.Add(-90 * time.Minute)},  // 20:00-20:30
			{night.Add(-110 * time.Minute), night.Add(-100 * time.Minute)}, // 20:10-20:20, same day as the one before
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, len(windows))
		for i, w := range windows {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = e.tryClaim(who, w[0], w[1])
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil && !errors.Is(err, models.ErrRecordOverlap) {
				t.Fatalf("round %d claim %d: %v", round, i, err)
			}
		}
		if errs[3] != nil {
			t.Fatalf("round %d: a claim overlapping nothing was refused: %v", round, errs[3])
		}
		if (errs[4] == nil) == (errs[5] == nil) {
			t.Fatalf("round %d: same-day racing claims: %v, %v; want exactly one stored", round, errs[4], errs[5])
		}
		if n := btoi(errs[0] == nil) + btoi(errs[1] == nil) + btoi(errs[2] == nil); n > 1 {
			t.Fatalf("round %d: %d overlapping overnight claims stored", round, n)
		}
	}
	// What is stored never overlaps, per resident.
	for _, who := range []string{"r1", "r2"} {
		recs, err := e.tb.MyRecords(ctx, res(who))
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			for j := i + 1; j < len(recs); j++ {
				if recs[i].Start.Before(recs[j].End) && recs[j].Start.Before(recs[i].End) {
					t.Fatalf("%s has overlapping records %s and %s", who, recs[i].ID, recs[j].ID)
				}
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
