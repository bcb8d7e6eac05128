package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// result is one operation's figures.
type result struct {
	skipped  bool // not among -ops
	name     string
	ops      int
	errors   int
	elapsed  time.Duration
	p50, p99 time.Duration
	// inserts and commands are the documents the operation inserted one by
	// one (the service's linli_store_inserts_total, or the raw batches'
	// documents) and the insert commands that carried them; wall is the
	// time they took. Zero when not counted.
	inserts, commands int64
	wall              time.Duration
	// cpu is the CPU time the service's process spent while the operation
	// ran (zero for the raw store, which runs in the bench's own process):
	// per operation it does not depend on what else the machine is doing.
	cpu time.Duration
	// finds and writes are the store commands the service sent while the
	// operation ran (finds with getMores; inserts, updates and deletes):
	// per operation they do not depend on the machine at all.
	finds, writes int64
	// scans are the commands among them that read by anything but one
	// exact _id: on the embedded store each reads its whole collection,
	// so an operation that sends any costs more as history grows.
	scans int64
}

// commandsPerOp is the service's finds and writes per operation, "" when
// not measured.
func (r result) commandsPerOp() (finds, writes string) {
	if r.finds+r.writes <= 0 || r.ops == 0 {
		return "", ""
	}
	return fmt.Sprintf("%.2f", float64(r.finds)/float64(r.ops)), fmt.Sprintf("%.2f", float64(r.writes)/float64(r.ops))
}

// cpuPerOp is the service's CPU milliseconds per operation, "" when not measured.
func (r result) cpuPerOp() string {
	if r.cpu <= 0 || r.ops == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", ms(r.cpu)/float64(r.ops))
}

// perSecond is the operations done per second of the operation's run.
func (r result) perSecond() float64 { return float64(r.ops) / r.elapsed.Seconds() }

// insertsPerSecond is the documents inserted per second of wall time.
func (r result) insertsPerSecond() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.inserts) / r.wall.Seconds()
}

// row formats r as a row of the results table: ops/s, p50 and p99 in ms, errors, inserts
// per second and inserts per command.
func (r result) row() string {
	inserts, perCommand := "", ""
	if r.inserts > 0 {
		inserts = fmt.Sprintf("%.0f", r.insertsPerSecond())
	}
	if r.commands > 0 {
		perCommand = fmt.Sprintf("%.1f", float64(r.inserts)/float64(r.commands))
	}
	finds, writes := r.commandsPerOp()
	scans := ""
	if finds != "" {
		scans = fmt.Sprintf("%.2f", float64(r.scans)/float64(r.ops))
	}
	return fmt.Sprintf("| %-30s | %8.0f | %7.1f | %7.1f | %6d | %9s | %12s | %10s | %8s | %9s | %8s |", r.name, r.perSecond(), ms(r.p50), ms(r.p99), r.errors, inserts, perCommand, r.cpuPerOp(), finds, writes, scans)
}

// ms returns d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// drive calls op from clients goroutines for d and measures each call.
func drive(ctx context.Context, name string, clients int, d time.Duration, op func(ctx context.Context, client, i int) error) result {
	if !selected(name) {
		return result{name: name, skipped: true}
	}
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs atomic.Int64
		wg   sync.WaitGroup
	)
	stop := time.Now().Add(d)
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for i := 0; time.Now().Before(stop) && ctx.Err() == nil; i++ {
				t := time.Now()
				if err := op(ctx, c, i); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "  %s: first error: %v\n", name, err)
					}
					continue
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := result{
		name:    name,
		ops:     len(lats),
		errors:  int(errs.Load()),
		elapsed: time.Since(start),
		wall:    time.Since(start),
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) > 0 {
		r.p50 = lats[len(lats)/2]
		r.p99 = lats[int(math.Ceil(float64(len(lats))*0.99))-1]
	}
	return r
}

// run builds the linli binary into a work folder (kept with -keep), prints the run's
// header and runs the benchmark at each size.
func run(ctx context.Context, o benchOptions) error {
	root := repoRoot()
	work, err := os.MkdirTemp("", "linli-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	o.bin = filepath.Join(work, "linli")
	build := exec.CommandContext(ctx, "go", "build", "-o", o.bin, "./app")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	fmt.Printf("# Linli benchmark, %s, %s/%s, %d cores, %v clients, group commit %v, %s per operation\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), o.clients, o.groupCommit, o.duration)
	for _, size := range o.sizes {
		if o.moves {
			if err := runMoves(ctx, o, filepath.Join(work, fmt.Sprint(size)), size); err != nil {
				return fmt.Errorf("size %d: %w", size, err)
			}
			continue
		}
		if err := runSize(ctx, o, filepath.Join(work, fmt.Sprint(size)), size); err != nil {
			return fmt.Errorf("size %d: %w", size, err)
		}
	}
	return nil
}

// runSize runs the selected phases on a ledger of size entries in dir, generating the
// community's data first when a service operation is selected, and prints their tables.
func runSize(ctx context.Context, o benchOptions, dir string, size int) error {
	fmt.Printf("## %d ledger entries\n\n", size)
	// Only the raw and store phases (-ops raw,store,batched): no service,
	// so nothing to generate. -ops settlement generates and settles only.
	service := false
	for _, name := range []string{"award points", "my balance", "my ledger, first page", "redeem", "merchant scan", "staff pending records", "list:", "settlement"} {
		service = service || selected(name)
	}
	var fx fixture
	if service && o.reuse != "" {
		// An earlier run's data: the service runs on a copy, so the
		// folder kept stays as it was generated.
		var err error
		if fx, err = loadFixture(o.reuse); err != nil {
			return err
		}
		if err := os.CopyFS(filepath.Join(dir, "data"), os.DirFS(filepath.Join(o.reuse, "data"))); err != nil {
			return fmt.Errorf("copy %s: %w", o.reuse, err)
		}
		fmt.Printf("data: a copy of %s (generated by an earlier run): %s\n\n", o.reuse, fx.summary)
	} else if service {
		t := time.Now()
		var err error
		fx, err = generate(ctx, filepath.Join(dir, "data"), size, o.history)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		if err := saveFixture(dir, fx); err != nil {
			return err
		}
		fmt.Printf("generated in %s: %s\n\n", time.Since(t).Round(time.Second), fx.summary)
		fmt.Printf("liability job (loading, synchronous=NORMAL): first run %s, a run with nothing new %s\n\n",
			fx.firstSummary.Round(10*time.Millisecond), fx.nextSummary.Round(10*time.Millisecond))
		fmt.Printf("rankings job (loading, synchronous=NORMAL): first run %s, a run with nothing new %s\n\n",
			fx.firstRankings.Round(10*time.Millisecond), fx.nextRankings.Round(10*time.Millisecond))
	}

	// The service once per group-commit setting and number of clients, on
	// the same data, one after another in this one invocation (each run
	// adds its writes to the data the next one finds).
	type serviceRun struct {
		groupCommit string
		clients     int
		results     []result
	}
	var runs []serviceRun
	for _, gc := range o.groupCommit {
		for _, clients := range o.clients {
			if !service {
				break
			}
			results, err := measureService(ctx, o, dir, fx, gc, clients)
			if err != nil {
				return err
			}
			runs = append(runs, serviceRun{
				groupCommit: gc,
				clients:     clients,
				results:     results,
			})
		}
	}

	rawDir := filepath.Join(dir, "raw")
	var (
		raw []result
		err error
	)
	if selected("raw: award's writes") || selected("raw: redeem's writes") || selected("raw: scan's writes") ||
		selected("raw: balance's reads") || selected("raw: first page's reads") || selected(rawBatchedName) {
		if raw, err = measureRaw(ctx, rawDir, size, o.clients[0], o.duration); err != nil {
			return fmt.Errorf("raw store: %w", err)
		}
	}

	if selected("store:") {
		inserts, err := measureStoreInserts(ctx, rawDir, o.groupCommit, o.clients, o.duration)
		if err != nil {
			return fmt.Errorf("store inserts: %w", err)
		}
		raw = append(raw, inserts...)
	}

	header := func() {
		fmt.Println("| operation                      |    ops/s | p50 ms  | p99 ms  | errors | inserts/s | docs/command | CPU ms/op  | finds/op | writes/op | scans/op |")
		fmt.Println("|--------------------------------|---------:|--------:|--------:|-------:|----------:|-------------:|-----------:|---------:|----------:|---------:|")
	}
	for _, r := range runs {
		fmt.Printf("### service, group commit %s, %d clients\n\n", r.groupCommit, r.clients)
		header()
		for _, res := range r.results {
			if !res.skipped {
				fmt.Println(res.row())
			}
		}
		fmt.Println()
	}
	ceiling := 0.0
	if len(raw) > 0 {
		fmt.Printf("### raw store, %d clients (batched: %d clients)\n\n", o.clients[0], rawBatchClients)
		header()
		for _, r := range raw {
			if !r.skipped {
				fmt.Println(r.row())
			}
			if r.name == rawBatchedName && !r.skipped {
				ceiling = r.insertsPerSecond()
			}
		}
		fmt.Println()
	}
	pairs := map[string]string{
		"award points":          "raw: award's writes",
		"my balance":            "raw: balance's reads",
		"my ledger, first page": "raw: first page's reads",
		"redeem":                "raw: redeem's writes",
		"merchant scan":         "raw: scan's writes",
	}
	for _, run := range runs {
		fmt.Printf("- group commit %s, %d clients:\n", run.groupCommit, run.clients)
		for _, s := range run.results {
			if s.skipped {
				continue
			}
			if ceiling > 0 && s.inserts > 0 {
				fmt.Printf("  - %s: %.0f inserts/s = %.2f of the raw batched ceiling (%.0f documents/s)\n",
					s.name, s.insertsPerSecond(), s.insertsPerSecond()/ceiling, ceiling)
			}
			if run.clients != o.clients[0] {
				continue // the raw figures were measured at o.clients[0]
			}
			for _, r := range raw {
				if r.skipped || r.perSecond() == 0 {
					continue
				}
				if pairs[s.name] == r.name {
					fmt.Printf("  - %s: service/raw = %.2f\n", s.name, s.perSecond()/r.perSecond())
				}
				if pairs[s.name]+", in turn" == r.name {
					fmt.Printf("  - %s: service/raw with inserts in turn = %.2f\n", s.name, s.perSecond()/r.perSecond())
				}
			}
		}
	}
	fmt.Println()

	if !o.settle || !service {
		return nil
	}
	// The month's settlement, as the scheduled job runs it: a process of
	// its own, so its peak memory is its own.
	t0 := time.Now()
	job := exec.CommandContext(ctx, o.bin, "jobs", "run", "settlement", "--month", fx.lastMonth.String())
	job.Env = serverEnv(filepath.Join(dir, "data"), "127.0.0.1:0")
	out, err := job.CombinedOutput()
	if err != nil {
		return fmt.Errorf("settlement: %v\n%s", err, out)
	}
	peak := int64(0)
	if ru, ok := job.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss // KiB on Linux
	}
	fmt.Printf("- settlement of %s (%d fulfilments): %s, peak memory %.0f MiB\n\n", fx.lastMonth, fx.fulfilments,
		time.Since(t0).Round(10*time.Millisecond), float64(peak)/1024)
	return nil
}

// listPhase reads every list a screen shows, each by the role that reads
// it, for o.listDuration each with clients clients: the first page, as
// the screen asks for it, counted (counted: the service's CPU and store
// commands while it ran). Operation names start with "list:" (-ops list).
func listPhase(ctx context.Context, o benchOptions, clients int, fx fixture, readers listReaders, counted func(func() result) result) []result {
	staff, clerk, residents := readers.staff, readers.clerk, readers.residents
	// The liability report counts what was fulfilled since the liability
	// job's last run: the generator's, since the jobs board runs by hand
	// only jobs with a day, month or year (a serving replica runs this
	// one every ten minutes). After the hot paths' scans every report
	// read counts them too.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := time.Now().In(loc).Format("2006-01-02")
	lists := []listRead{
		{"list: pending records", staffOnly(staff), "/api/v1/service-records?limit=50"},
		{"list: my records", residentsOf(residents), "/api/v1/me/service-records"},
		{"list: my redemptions", residentsOf(residents), "/api/v1/me/redemptions?limit=50"},
		{"list: merchant day", staffOnly(clerk), "/api/v1/merchant/redemptions?day=" + today},
		{"list: honour board", residentsOf(residents), "/api/v1/honour/board"},
		{"list: honour entries", staffOnly(staff), "/api/v1/honour/entries?limit=50"},
		{"list: honour notice", residentsOf(residents), "/api/v1/honour/entries?status=notice&limit=50"},
		{"list: statements", staffOnly(staff), "/api/v1/statements"},
		{"list: residents search", staffOnly(staff), "/api/v1/residents?limit=50&q=" + url.QueryEscape("居民")},
		{"list: households", staffOnly(staff), "/api/v1/households?limit=50"},
		{"list: residents", staffOnly(staff), "/api/v1/residents?limit=50"},
		{"list: a building's households", staffOnly(staff), "/api/v1/households?limit=50&building_id=" + fx.buildingID},
		{"list: a flat's residents", staffOnly(staff), "/api/v1/residents?limit=50&household_id=" + fx.householdID},
		{"list: activities", residentsOf(residents), "/api/v1/activities"},
		{"list: audit trail", staffOnly(staff), "/api/v1/audit-trail"},
		{"list: rankings", residentsOf(residents), "/api/v1/rankings"},
		{"list: volunteer hours ranking", residentsOf(residents), "/api/v1/rankings/volunteer-hours"},
		{"list: liability report", staffOnly(staff), "/api/v1/reports/liability"},
		{"list: records filtered by status", staffOnly(staff), "/api/v1/service-records?limit=50&status=approved"},
		{"list: records filtered by category and days", staffOnly(staff), "/api/v1/service-records?limit=50&category=" + url.QueryEscape("助老") + "&from=" + time.Now().In(loc).AddDate(0, -1, 0).Format("2006-01-02")},
		{"list: residents by phone suffix", staffOnly(staff), "/api/v1/residents?limit=50&q=0001"},
		{"list: households by room", staffOnly(staff), "/api/v1/households?limit=50&room=101"},
		{"list: corrections", staffOnly(staff), "/api/v1/corrections?limit=50"},
		{"list: liability series", staffOnly(staff), "/api/v1/reports/liability/series"},
	}
	if fx.statementID != "" {
		lists = append(lists, listRead{"list: a statement's lines", staffOnly(staff), "/api/v1/statements/" + url.PathEscape(fx.statementID) + "?limit=50"})
	}
	if readers.partner != nil {
		lists = append(lists, listRead{"list: partner credits", staffOnly(readers.partner), "/api/v1/partner/credits?limit=50"})
	}
	var out []result
	for _, l := range lists {
		out = append(out, counted(func() result {
			return drive(ctx, l.name, clients, o.listDuration, func(ctx context.Context, c, i int) error {
				return l.who(c).get(ctx, l.path)
			})
		}))
	}
	return out
}

// listRead is one list the list phase reads: its name, the client of
// each client slot, and its first page's path.
type listRead struct {
	name string
	who  func(c int) *client
	path string
}

// listReaders are the logins the list phase reads as (partner nil when
// the data has none).
type listReaders struct {
	staff, clerk, partner *client
	residents             []*client
}

// staffOnly drives every client slot of an operation with the one client cl.
func staffOnly(cl *client) func(int) *client { return func(int) *client { return cl } }

// residentsOf drives client slot c of an operation with resident client c.
func residentsOf(cls []*client) func(int) *client { return func(c int) *client { return cls[c] } }

// driveTimed is drive for operations that time only part of each call.
func driveTimed(ctx context.Context, name string, clients int, d time.Duration, op func(ctx context.Context, client, i int) (time.Duration, error)) result {
	if !selected(name) {
		return result{name: name, skipped: true}
	}
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs atomic.Int64
		busy atomic.Int64 // time spent in the timed part, summed over clients
		wg   sync.WaitGroup
	)
	stop := time.Now().Add(d)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for i := 0; time.Now().Before(stop) && ctx.Err() == nil; i++ {
				lat, err := op(ctx, c, i)
				if err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "  %s: first error: %v\n", name, err)
					}
					continue
				}
				busy.Add(int64(lat))
				local = append(local, lat)
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// ops/s as if the clients did only the timed part.
	r := result{
		name:    name,
		ops:     len(lats),
		errors:  int(errs.Load()),
		elapsed: time.Duration(busy.Load() / int64(clients)),
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) > 0 {
		r.p50 = lats[len(lats)/2]
		r.p99 = lats[int(math.Ceil(float64(len(lats))*0.99))-1]
	}
	return r
}

// serverEnv is the environment the bench starts the service with: data and addr, no
// MongoDB, demo seed, scheduler or consent gate, limits out of the way, and extra
// KEY=VALUE settings last.
func serverEnv(data, addr string, extra ...string) []string {
	return append(append(os.Environ(), "LINLI_DATA_DIR="+data, "LINLI_ADDR="+addr, "MONGODB_URI=", "SEED_DEMO=false",
		"LINLI_LOG_LEVEL=error", "LINLI_SCHEDULER=false", "LINLI_LOGIN_PER_PHONE=100000", "LINLI_LOGIN_PER_ADDR=100000",
		"LINLI_QR_PER_MINUTE=100000", "LINLI_CONSENT_GATE=false"), extra...)
}

// server is a running linli binary and its base URL.
type server struct {
	cmd  *exec.Cmd
	base string
}

// start runs the binary on data with the bench's environment and extra
// KEY=VALUE settings, and waits until it is ready.
func start(ctx context.Context, bin, data string, extra ...string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = serverEnv(data, addr, extra...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
	}
	s.stop()
	return nil, errors.New("server did not become ready")
}

// cpu returns the CPU time (user and system) the server's process has
// used so far, from /proc (0 where there is none).
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name (which is in parentheses and
	// may hold spaces): utime and stime are the 12th and 13th, in clock
	// ticks of 1/100 s on Linux.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// stop interrupts the server and waits for it to end, killing it after 30 seconds.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// client calls the API at base, signed in when token is set.
type client struct {
	base, token string
}

// do sends a request with the body (JSON when not empty) and Idempotency-Key key (when not
// empty), fails unless the status is want, and decodes the answer into out when it is not
// nil.
func (c *client) do(ctx context.Context, method, path, body, key string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// get GETs path and fails unless the answer is 200.
func (c *client) get(ctx context.Context, path string) error {
	return c.do(ctx, "GET", path, "", "", 200, nil)
}

// post POSTs body to path under key and fails unless the status is want.
func (c *client) post(ctx context.Context, path, body, key string, want int) error {
	return c.do(ctx, "POST", path, body, key, want, nil)
}

// login signs in with phone and password and keeps the access token.
func (c *client) login(ctx context.Context, phone, password string) error {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := json.Marshal(map[string]string{"phone": phone, "password": password})
	if err := c.do(ctx, "POST", "/api/v1/auth/login", string(body), "", 200, &out); err != nil {
		return err
	}
	c.token = out.AccessToken
	return nil
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// repoRoot returns the nearest folder above the working one that holds go.mod (the working
// one when none does).
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}
