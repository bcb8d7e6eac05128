// Command reminders measures the monthly points-expiry reminder (issue 16
// item 4) on the embedded store: for each size it gives that many
// residents points old enough to expire at the end of the month, runs the
// "within 30 days" reminder, then runs it again (a repeat writes nothing),
// and prints the time, the reminders queued and the memory used (the peak
// of the Go heap in use while the run goes, sampled every 20 ms, and the
// bytes allocated). After each run the delivery loop's passes (no
// senders) write and place what was queued, timed on their own (wall
// clock and the process's CPU time): the notifications stored are
// counted after them. -cpuprofile writes a CPU profile of each run's
// delivery loop.
//
//	go run ./scripts/reminders                   # 2,000 and 8,000 residents
//	go run ./scripts/reminders -sizes 8000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/linli-community/linli/inbox"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"
	"github.com/linli-community/linli/store"
)

// cpuProfile is where the delivery loop's CPU profiles go ("": none).
var cpuProfile string

// shanghai is the one community's rules: its zone, a 24-month lifetime.
type shanghai struct{ loc *time.Location }

// ExpiryRules returns the community's zone and a 24-month points lifetime.
func (s shanghai) ExpiryRules(context.Context, string) (*time.Location, int, error) {
	return s.loc, 24, nil
}

// main runs the measurement for each size of -sizes, exiting 2 on a bad size and 1 on an
// error.
func main() {
	sizes := flag.String("sizes", "2000,8000", "residents, one run per size")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of each run's delivery loop to this path plus -<size>-<run>")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "reminders: bad -sizes")
			os.Exit(2)
		}
		if err := run(n); err != nil {
			fmt.Fprintln(os.Stderr, "reminders:", err)
			os.Exit(1)
		}
	}
}

// run measures the expiring-points reminder for a community of residents residents on a
// fresh embedded store, and prints the figures.
func run(residents int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "linli-reminders-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	emb, err := store.StartEmbedded(dir, false, nil)
	if err != nil {
		return err
	}
	defer emb.Stop()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		return err
	}
	// The service keeps its data keys in the data folder (store/sealed_local.go).
	keys, err := store.LocalDataKeys(dir)
	if err != nil {
		return err
	}
	st.UseDataKeys(keys)
	defer st.Close(context.Background())
	if err := st.EnsureSchema(ctx); err != nil {
		return err
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return err
	}
	// Points earned in November 2024 expire with the December 2026 run.
	earned := time.Date(2024, 11, 10, 2, 0, 0, 0, time.UTC)
	l := ledger.New(st, func() time.Time { return earned })
	start := time.Now()
	if err := parallel(residents, 8, func(i int) error {
		op := fmt.Sprintf("bench-award-%d", i)
		_, err := l.Post(ctx, ledger.Posting{
			OpID:        op,
			Hash:        op,
			Account:     models.AccountOf(fmt.Sprintf("r%06d", i), models.AssetPoints),
			CommunityID: "c1",
			Delta:       int64(50 + i%100),
			Kind:        models.KindAward,
			Actor:       "bench",
		})
		return err
	}); err != nil {
		return err
	}
	fmt.Printf("%d residents: generated in %s\n", residents, time.Since(start).Round(time.Millisecond))

	b := inbox.New(st, time.Now)
	r := inbox.NewReminders(b, st, shanghai{loc})
	loop := outbound.NewDeliverer(st, b, nil, outbound.Options{}, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	dec, err := models.ParseMonth("2026-12")
	if err != nil {
		return err
	}
	for _, label := range []string{"first run", "repeat"} {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		t0 := time.Now()
		n, err := r.RemindExpiring(ctx, dec, inbox.Remind30)
		elapsed := time.Since(t0)
		close(stop)
		<-sampled
		if err != nil {
			return err
		}
		var end runtime.MemStats
		runtime.ReadMemStats(&end)
		stopProfile, err := profile(fmt.Sprintf("%s-%d-%s", cpuProfile, residents, strings.ReplaceAll(label, " ", "-")))
		if err != nil {
			return err
		}
		t1, cpu1 := time.Now(), cpuTime()
		for {
			if _, err := loop.Pass(ctx); err != nil {
				return err
			}
			q, err := st.QueuedNotifications(ctx, 1, nil)
			if err != nil {
				return err
			}
			if len(q) == 0 {
				break
			}
		}
		delivered, deliveredCPU := time.Since(t1), cpuTime()-cpu1
		stopProfile()
		counts, err := st.Counts(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("  %-9s %8s  accounts %d, reminded %d; heap in use %.1f MB before, peak %.1f MB; allocated %.0f MB; delivery loop %s (CPU %s), notifications stored %d\n",
			label, elapsed.Round(time.Millisecond), n.Accounts, n.Reminded,
			float64(base.HeapInuse)/1e6, float64(peak.Load())/1e6, float64(end.TotalAlloc-base.TotalAlloc)/1e6,
			delivered.Round(time.Millisecond), deliveredCPU.Round(time.Millisecond), counts["notifications"])
	}
	return nil
}

// cpuTime is the CPU time this process has used (user and system): the
// embedded store runs in it, so this is the store's work too, and on a
// shared machine it moves less with the load than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profile starts a CPU profile written to path, unless no -cpuprofile
// was given, and returns what stops it.
func profile(path string) (func(), error) {
	if cpuProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// parallel runs fn(0) … fn(n-1) on workers goroutines.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
