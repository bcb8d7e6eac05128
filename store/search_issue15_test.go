package store_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

// searchCommunity is a community of n sealed residents named 居民<i>,
// their phones ending in 00<i mod 100> (so each suffix list holds n/100),
// inserted by eight writers at once.
func searchCommunity(tb testing.TB, n int) *store.Store {
	tb.Helper()
	st := storetest.New(tb)
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r := models.Resident{
					ID:          fmt.Sprintf("r%05d", i),
					CommunityID: "c1",
					Name:        fmt.Sprintf("居民%d", i),
					Phone:       fmt.Sprintf("139%04d00%02d", i, i%100),
					BirthYear:   1950,
					Created:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
				}
				if err := st.InsertResident(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return st
}

// searchPage is what GET /residents?q= costs the store: one page of the
// search, then one access record per resident shown (app/privacy.go's
// watched directory, privacy.RecordReads).
func searchPage(ctx context.Context, st *store.Store, q string, limit int, seq *atomic.Int64, split *pageSplit) (int, error) {
	start := time.Now()
	rs, _, err := st.SearchResidents(ctx, "c1", q, "", limit)
	if err != nil {
		return 0, err
	}
	searched := time.Now()
	defer func() {
		split.search.Add(int64(searched.Sub(start)))
		split.access.Add(int64(time.Since(searched)))
	}()
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	recs := make([]models.AccessRecord, len(rs))
	for i, r := range rs {
		recs[i] = models.AccessRecord{
			ID:          fmt.Sprintf("acc%09d", seq.Add(1)),
			ResidentID:  r.ID,
			CommunityID: "c1",
			ActorID:     "staff1",
			ActorRoles:  []models.Role{models.RoleStaff},
			Kind:        models.AccessResidentList,
			At:          at,
		}
	}
	return len(rs), st.InsertAccessRecords(ctx, recs)
}

// pageSplit adds up the time a page spends searching and writing its access records.
type pageSplit struct{ search, access atomic.Int64 }

// report puts the split of b.N pages on b, in ms a page.
func (p *pageSplit) report(b *testing.B) {
	b.ReportMetric(float64(p.search.Load())/float64(b.N)/1e6, "search-ms/op")
	b.ReportMetric(float64(p.access.Load())/float64(b.N)/1e6, "access-ms/op")
}

// BenchmarkIssue15_ResidentSearch is a staff search's page (asked for 50) over a
// community of 8,000 sealed residents, by the phone's last four digits
// (80 residents on the list) and by a name's first characters (all 8,000
// on the list), with its access records written, one client and eight.
//
//	go test -run '^$' -bench Issue15_ResidentSearch -benchtime 200x -cpuprofile cpu.out ./store/
func BenchmarkIssue15_ResidentSearch(b *testing.B) {
	st := searchCommunity(b, 8000)
	ctx := context.Background()
	var seq atomic.Int64
	for _, c := range []struct {
		name, q string
		want    int
	}{
		{"phone", "0001", store.SearchPageMax},
		{"name", "居民", store.SearchPageMax},
	} {
		b.Run(c.name, func(b *testing.B) {
			var split pageSplit
			defer split.report(b)
			for range b.N {
				n, err := searchPage(ctx, st, c.q, 50, &seq, &split)
				if err != nil || n != c.want {
					b.Fatalf("%d shown, %v", n, err)
				}
			}
		})
		b.Run(c.name+"/clients=8", func(b *testing.B) {
			var split pageSplit
			defer split.report(b)
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // eight clients
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n, err := searchPage(ctx, st, c.q, 50, &seq, &split)
					if err != nil || n != c.want {
						b.Errorf("%d shown, %v", n, err)
						return
					}
				}
			})
		})
	}
}
