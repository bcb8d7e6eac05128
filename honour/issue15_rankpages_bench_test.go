package honour_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"golang.org/x/sync/errgroup"
)

// BenchmarkIssue15_RankingsPage times a page of the points ranking of a
// community of 8,000 residents (30 buildings, 3,000 households), each with
// points in every month of 2026: read from the stored pages ("after") and
// summed from the month summaries as before them ("before"), for this
// month, the year, the year of one building and the third page of the
// month (before: the month and the year only; the other two read the same
// months), by one client and by eight at once (p50 and p99 of a page, ms).
// It prints figures and asserts no time (docs/PERFORMANCE.md, "Rankings
// summary (issue 15)"):
//
//	go test -run '^$' -bench Issue15_RankingsPage -benchtime 16x -timeout 90m ./honour/
func BenchmarkIssue15_RankingsPage(b *testing.B) {
	now := time.Date(2026, 12, 15, 4, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cs, st := communitytest.NewDirectory(b)
	communitytest.MustCommunity(b, st, "B15", "大社区", now.AddDate(-1, 0, 0))
	const (
		buildings  = 30
		households = 3000
		residents  = 8000
	)
	var blds []string
	for i := range buildings {
		bld := models.Building{
			ID:          fmt.Sprintf("b15-b%02d", i),
			CommunityID: "B15",
			Name:        fmt.Sprintf("%d号楼", i+1),
		}
		if err := st.InsertBuilding(ctx, bld); err != nil {
			b.Fatal(err)
		}
		blds = append(blds, bld.ID)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range households {
		g.Go(func() error {
			return st.InsertHousehold(gctx, models.Household{
				ID:          fmt.Sprintf("b15-h%04d", i),
				CommunityID: "B15",
				BuildingID:  blds[i%buildings],
				Room:        fmt.Sprintf("%d", 100+i),
			})
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	surnames := []rune("张李王赵钱孙周吴郑冯陈")
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range residents {
		g.Go(func() error {
			id := fmt.Sprintf("b15-r%05d", i)
			if err := st.InsertResident(gctx, models.Resident{
				ID:          id,
				CommunityID: "B15",
				HouseholdID: fmt.Sprintf("b15-h%04d", i%households),
				Name:        string(surnames[i%len(surnames)]) + "居民",
				Phone:       fmt.Sprintf("139%08d", i),
				Roles:       []models.Role{models.RoleResident},
				Created:     now.AddDate(-1, 0, 0),
			}); err != nil {
				return err
			}
			a := models.RankAccount{CommunityID: "B15", ResidentID: id}
			for m := 1; m <= 12; m++ {
				a.Buckets = append(a.Buckets, models.RankBucket{
					CommunityID: "B15",
					Month:       fmt.Sprintf("2026-%02d", m),
					Earned:      int64(1 + (i*7+m*13)%300),
					Deducted:    int64((i + m) % 3),
					Minutes:     int64((i * m) % 240),
					Reached:     time.Date(2026, time.Month(m), 1+i%28, i%24, 0, 0, 0, time.UTC),
				})
			}
			return st.SaveRankAccount(gctx, a)
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	deps := func(s honour.Store) *honour.Service {
		return honour.New(honour.Deps{
			Store:    s,
			Ledger:   ledger.New(st, clock),
			Policies: policy.New(st, clock),
			Heads:    cs,
			NewID:    communitytest.NewID,
			Now:      clock,
			Notify:   community.NoNotifier{},
		})
	}
	after, before := deps(st), deps(pagesHidden{st})
	t0 := time.Now()
	if _, err := after.SummariseRankings(ctx, now); err != nil {
		b.Fatal(err)
	}
	b.Logf("rankings job over %d residents (first run, pages stored): %s", residents, time.Since(t0))
	caller := communitytest.Resident("B15", "b15-r00001")
	second, err := after.RankingsPage(ctx, caller, honour.RankingQuery{Period: "2026-12"})
	if err != nil || second.Next == "" {
		b.Fatalf("first page: %v", err)
	}
	third, err := after.RankingsPage(ctx, caller, honour.RankingQuery{Period: "2026-12", Cursor: second.Next})
	if err != nil || third.Next == "" {
		b.Fatalf("second page: %v", err)
	}
	queries := []struct {
		name string
		q    honour.RankingQuery
	}{
		{"month", honour.RankingQuery{Period: "2026-12"}},
		{"year", honour.RankingQuery{Period: "2026"}},
		{"year-building", honour.RankingQuery{Period: "2026", BuildingID: blds[3]}},
		{"month-page3", honour.RankingQuery{Period: "2026-12", Cursor: third.Next}},
	}
	for _, side := range []struct {
		name string
		hs   *honour.Service
	}{{"before", before}, {"after", after}} {
		for _, q := range queries {
			if side.name == "before" && (q.name == "year-building" || q.name == "month-page3") {
				continue // the same month reads as the year's and the month's first page
			}
			for _, clients := range []int{1, 8} {
				b.Run(fmt.Sprintf("%s/%s/clients=%d", side.name, q.name, clients), func(b *testing.B) {
					var (
						mu     sync.Mutex
						times  []time.Duration
						failed int
						next   = make(chan struct{}, b.N)
					)
					for range b.N {
						next <- struct{}{}
					}
					close(next)
					b.ResetTimer()
					g, gctx := errgroup.WithContext(ctx)
					for range clients {
						g.Go(func() error {
							for range next {
								t := time.Now()
								page, err := side.hs.RankingsPage(gctx, caller, q.q)
								if err != nil {
									// A page the store gave up on (the
									// driver's timeout) is counted, not
									// timed.
									b.Logf("%s: %v", q.name, err)
									mu.Lock()
									failed++
									mu.Unlock()
									continue
								}
								if len(page.Rows) != 50 {
									return fmt.Errorf("a page of %d rows", len(page.Rows))
								}
								mu.Lock()
								times = append(times, time.Since(t))
								mu.Unlock()
							}
							return nil
						})
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					b.ReportMetric(float64(failed), "errors")
					if len(times) == 0 {
						return
					}
					slices.Sort(times)
					b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(times[(len(times)*99)/100].Microseconds())/1000, "p99-ms")
				})
			}
		}
	}
}
