package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/linli-community/linli/models"
)

// options are the crash test's settings: rounds, concurrent workers, the longest a round
// runs before the kill, the data folder, the random seed, where the log goes and the
// binary.
type options struct {
	Rounds    int
	Workers   int
	MaxUptime time.Duration
	Dir       string
	Seed      int64
	Log       io.Writer
	// Binary is a built app; empty builds one.
	Binary string
}

// request is one value-moving request and what became of it.
type request struct {
	// "adjust" (staff award or deduction), "redeem" (resident), "scan"
	// (merchant clerk), "apply" (the property company takes a redeemed
	// fee credit off a bill), "void" (it voids that bill: the credit is
	// pending again)
	Kind     string
	Path     string
	Key      string
	Resident string
	Body     []byte
	Ref      string // for a redeem or scan once accepted, and for an apply or void: the redemption
	Outcome  outcome
	EntryID  string // for an acknowledged success
	Lost     bool   // an answer was lost to a kill at least once
	Answer   []byte // an apply's or void's first answer received, which every repeat must equal
}

// outcome is what a client knows of one request after the kill.
type outcome int

const (
	unknown  outcome = iota // the process died before answering
	accepted                // 201: an entry exists
	refused                 // a 4xx: no entry may exist
)

// result counts what the rounds did and what the checks found.
type result struct {
	Rounds, Accepted, Refused, Unknown, Retried, Redemptions, Applied int
	// Voided counts acknowledged voids, VoidsLost those whose answer was
	// lost to a kill, Reapplied the applies of a credit voided before.
	Voided, VoidsLost, Reapplied int
	// Replayed counts acknowledged applies and voids sent again after a
	// restart, ReplayedPast those whose credit had moved past them.
	Replayed, ReplayedPast int
	Settle                 settleStats
	Months                 int // months settled
	Checked                statementCheck
}

// String reports the counts, a line per kind.
func (r result) String() string {
	return fmt.Sprintf("rounds=%d accepted=%d (redemptions and scans %d, credits applied %d, of them re-applied after a void %d, voids %d) refused=%d answers-lost-to-kill=%d (voids %d) retries-answered=%d\n"+
		"acknowledged applies and voids replayed after a restart=%d (of them after their credit moved on %d)\n"+
		"settlement runs=%d finished=%d killed-mid-run=%d killed-while-starting=%d statements-found-written-by-a-killed-run=%d months=%d statements-checked=%d lines-checked=%d (reversal lines %d, adjustments %d, of them events recorded after their month was settled %d)",
		r.Rounds, r.Accepted, r.Redemptions, r.Applied, r.Reapplied, r.Voided, r.Refused, r.Unknown, r.VoidsLost, r.Retried,
		r.Replayed, r.ReplayedPast,
		r.Settle.Runs, r.Settle.Finished, r.Settle.KilledMidRun, r.Settle.KilledEarly, r.Settle.Resumed, r.Months,
		r.Checked.Statements, r.Checked.Lines, r.Checked.Reversals, r.Checked.Adjustments, r.Checked.Late)
}

// demo logins from the seed (app/seed.go).
const (
	staffPhone    = "13800000002"
	staffPassword = "linli-demo-2026"
)

// session is one start's logins: staff award and deduct, shoppers redeem
// and show QR codes, the clerk scans them, the property company's manager
// applies redeemed fee credits to bills and voids those bills.
type session struct {
	staff, clerk, partner *client
	shoppers              []shopper
}

// shopperPhones are demo residents with a household and points.
var shopperPhones = []string{"13800000005", "13800000006", "13900000010"}

// login signs in the staff, merchant clerk and partner logins of the seeded community, on
// one HTTP client with timeout.
func login(ctx context.Context, base string, timeout time.Duration) (*session, error) {
	hc := &http.Client{Timeout: timeout}
	s := &session{
		staff:   &client{base: base, http: hc},
		clerk:   &client{base: base, http: hc},
		partner: &client{base: base, http: hc},
	}
	for c, phone := range map[*client]string{
		s.staff:   staffPhone,
		s.clerk:   "13800000007",
		s.partner: "13800000008",
	} {
		if err := c.login(ctx, phone, staffPassword); err != nil {
			return nil, err
		}
	}
	for _, phone := range shopperPhones {
		c := &client{base: base, http: hc}
		if err := c.login(ctx, phone, staffPassword); err != nil {
			return nil, err
		}
		var me struct {
			ID string `json:"resident_id"`
		}
		if code, err := c.do(ctx, "GET", "/api/v1/me", nil, nil, &me); err != nil || code != 200 {
			return nil, fmt.Errorf("me: %d %v", code, err)
		}
		s.shoppers = append(s.shoppers, shopper{
			phone: phone,
			id:    me.ID,
			c:     c,
		})
	}
	return s, nil
}

// send sends r as whoever makes that kind of request.
func (s *session) send(ctx context.Context, r *request) error {
	switch r.Kind {
	case "redeem":
		for _, sh := range s.shoppers {
			if sh.id == r.Resident {
				return sh.c.send(ctx, r)
			}
		}
		return fmt.Errorf("no shopper %s", r.Resident)
	case "scan":
		return s.clerk.send(ctx, r)
	case "apply", "void":
		return s.partner.send(ctx, r)
	}
	return s.staff.send(ctx, r)
}

// run builds the binary (unless o.Binary is set), then plays o.Rounds rounds on one data
// folder, each started on the 1st of the next month, serving concurrent keyed requests
// beside the previous month's settlement until a kill -9; afterwards it checks what was
// acknowledged against what was written, and returns the counts.
func run(ctx context.Context, o options) (result, error) {
	var res result
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 1))
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "linli-crash-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	bin := o.Binary
	if bin == "" {
		bin = filepath.Join(dir, "linli")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./app")
		build.Dir = repoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			return res, fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	var all []*request
	var rewards crashRewards
	var credits creditPool
	// Each start opens a month, from the next real one on; owing are the
	// months over whose settlement has not finished.
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return res, err
	}
	month := models.MonthOf(time.Now(), loc).Next()
	var settledMonths, owing []models.Month
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	began := time.Now()
	logf("seed %d", o.Seed)

	for round := 0; round < o.Rounds; round, month = round+1, month.Next() {
		clock := monthClock(month, loc)
		srv, err := start(ctx, bin, data, clock)
		if err != nil {
			return res, fmt.Errorf("round %d: %w", round, err)
		}
		ss, err := login(ctx, srv.base, 20*time.Second)
		if err != nil {
			srv.kill()
			return res, fmt.Errorf("round %d: login: %w", round, err)
		}
		c := ss.staff
		if round == 0 {
			if rewards, err = setupRewards(ctx, c); err != nil {
				srv.kill()
				return res, fmt.Errorf("rewards: %w", err)
			}
		}
		residents, err := c.residents(ctx)
		if err != nil || len(residents) == 0 {
			srv.kill()
			return res, fmt.Errorf("round %d: residents: %v (%d)", round, err, len(residents))
		}
		// Requests whose answer was lost are sent again, same key and body:
		// each must land exactly once, whether or not it had landed.
		for _, r := range all {
			if r.Outcome == unknown {
				if err := ss.send(ctx, r); err != nil {
					srv.kill()
					return res, fmt.Errorf("round %d: retry %s: %w", round, r.Key, err)
				}
				credits.note(r)
				if r.Outcome != unknown {
					res.Retried++
				}
			}
		}
		n, past, err := ss.replay(ctx, rng, all, &credits, 3)
		if err != nil {
			srv.kill()
			return res, fmt.Errorf("round %d: %w", round, err)
		}
		res.Replayed, res.ReplayedPast = res.Replayed+n, res.ReplayedPast+past
		uptime := time.Duration(rng.Int64N(int64(o.MaxUptime)))
		if round > 0 {
			owing = append(owing, month.Previous())
		}
		// Every other round aims the kill at the settlement of the newest
		// month, after those owing from before had their turn: a random
		// moment within as long as the last finished run took, from the
		// moment the job started. The others kill at a random uptime, which
		// lands anywhere, the settlement process's start-up included.
		aim := round%2 == 1
		jitter := time.Duration(rng.Int64N(int64(max(res.Settle.Last, 50*time.Millisecond))))
		set := newSettler(bin, data, clock)
		settled := make(chan settleResult, 1)
		go func(months []models.Month) {
			done, err := set.settle(months, &res.Settle)
			settled <- settleResult{done, err}
		}(owing)
		billDate := month.Start(loc).Format("2006-01-02")
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < o.Workers; w++ {
			wrng := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					r := newRequest(wrng, residents, round, i)
					switch n := wrng.IntN(10); {
					case n < 4: // a redemption or a merchant scan
						if r = shopRequest(ctx, wrng, ss.shoppers, rewards, round, i); r == nil {
							continue
						}
					case n < 5: // a credit applied or its bill voided, when one is waiting
						if a := credits.next(wrng, billDate, round, i); a != nil {
							r = a
						}
					}
					_ = ss.send(ctx, r) // a dead server leaves it unknown
					credits.note(r)
					mu.Lock()
					all = append(all, r)
					mu.Unlock()
				}
			}()
		}
		var sr settleResult
		ended := false
		if aim {
			select {
			case <-set.started:
				time.Sleep(jitter)
			case sr = <-settled: // it failed before it started
				ended = true
			case <-time.After(time.Minute):
			}
		} else {
			time.Sleep(uptime)
		}
		close(stop) // no new requests; those in flight die with the server
		srv.kill()  // SIGKILL mid-load
		set.kill()  // and the settlement, if it is still running
		wg.Wait()
		if !ended {
			sr = <-settled
		}
		if sr.err != nil {
			return res, fmt.Errorf("round %d: %w", round, sr.err)
		}
		logf("%6.1fs round %d (%s): settling %v, finished %v, aimed at the settlement %v (last job took %v)",
			time.Since(began).Seconds(), round, month, owing, sr.done, aim, res.Settle.Last.Round(time.Millisecond))
		owing = owing[len(sr.done):] // settle finishes a prefix of the months
		settledMonths = append(settledMonths, sr.done...)
		res.Rounds++
	}

	// Last start: finish the unknowns, then check every request.
	srv, err := start(ctx, bin, data, monthClock(month, loc))
	if err != nil {
		return res, err
	}
	ss, err := login(ctx, srv.base, 20*time.Second)
	if err != nil {
		srv.kill()
		return res, err
	}
	c := ss.staff
	for _, r := range all {
		if r.Outcome == unknown {
			if err := ss.send(ctx, r); err != nil || r.Outcome == unknown {
				srv.kill()
				return res, fmt.Errorf("final retry %s: %v", r.Key, err)
			}
			res.Retried++
		}
	}
	n, past, err := ss.replay(ctx, rng, all, &credits, 10)
	if err != nil {
		srv.kill()
		return res, fmt.Errorf("last start: %w", err)
	}
	res.Replayed, res.ReplayedPast = res.Replayed+n, res.ReplayedPast+past
	counts, holds := map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for _, r := range all {
		if r.Resident == "" || seen[r.Resident] {
			continue // an apply or void names no resident: it moves no points
		}
		seen[r.Resident] = true
		keys, hs, err := c.ledgerKeys(ctx, r.Resident)
		if err != nil {
			srv.kill()
			return res, err
		}
		for k, n := range keys {
			counts[k] += n
		}
		for k, n := range hs {
			holds[k] += n
		}
	}
	// Settle what is owing, the last round's month too, to the end.
	owing = append(owing, month.Previous())
	set := newSettler(bin, data, monthClock(month, loc))
	done, err := set.settle(owing, &res.Settle)
	if err != nil {
		srv.kill()
		return res, fmt.Errorf("final settlement: %w", err)
	}
	if len(done) != len(owing) {
		srv.kill()
		return res, fmt.Errorf("final settlement: settled %v of %v", done, owing)
	}
	settledMonths = append(settledMonths, done...)
	// Then the month the last start opened, on a clock a month on: events
	// the last start recorded after the settlement above began (a lost
	// scan retried, say) are that month's to carry, so once it is settled
	// every event must be on exactly one statement.
	next := newSettler(bin, data, monthClock(month.Next(), loc))
	done, err = next.settle([]models.Month{month}, &res.Settle)
	if err != nil || len(done) != 1 {
		srv.kill()
		return res, fmt.Errorf("final settlement of %s: %v (settled %v)", month, err, done)
	}
	settledMonths = append(settledMonths, done...)
	res.Months = len(settledMonths)
	logf("%6.1fs last start (%s): settled %v", time.Since(began).Seconds(), month, settledMonths[len(settledMonths)-len(owing)-1:])
	srv.stop()
	var problems []string
	for _, r := range all {
		switch r.Outcome {
		case accepted:
			res.Accepted++
			switch {
			case r.Kind == "scan" && holds[r.Ref] != 1:
				problems = append(problems, fmt.Sprintf("scan %s: redemption %s has %d holds", r.Key, r.Ref, holds[r.Ref]))
			case (r.Kind == "adjust" || r.Kind == "redeem") && counts[r.Key] != 1:
				problems = append(problems, fmt.Sprintf("accepted %s %s has %d entries", r.Kind, r.Key, counts[r.Key]))
			}
			switch r.Kind {
			case "redeem", "scan":
				res.Redemptions++
			case "apply":
				res.Applied++
			case "void":
				res.Voided++
			}
		case refused:
			res.Refused++
			if r.Kind != "scan" && counts[r.Key] != 0 {
				problems = append(problems, fmt.Sprintf("refused %s has %d entries", r.Key, counts[r.Key]))
			}
		}
	}
	reapply := map[string]bool{}
	for _, r := range all {
		if r.Lost {
			res.Unknown++
			if r.Kind == "void" {
				res.VoidsLost++
			}
		}
	}
	for _, steps := range credits.steps {
		for _, r := range steps {
			if r.Kind == "apply" && r.Outcome == accepted && reapply[r.Ref] {
				res.Reapplied++
			}
			reapply[r.Ref] = reapply[r.Ref] || (r.Kind == "void" && r.Outcome == accepted)
		}
	}
	audit := exec.CommandContext(ctx, bin, "audit")
	audit.Env = serverEnv(data, "127.0.0.1:0", monthClock(month, loc))
	if out, err := audit.CombinedOutput(); err != nil {
		problems = append(problems, fmt.Sprintf("audit failed: %v\n%s", err, out))
	}
	logf("%6.1fs stopped, audited", time.Since(began).Seconds())
	chk, sp, err := checkStatements(ctx, data, settledMonths, all, &credits)
	if err != nil {
		return res, fmt.Errorf("statements: %w", err)
	}
	res.Checked = chk
	problems = append(problems, sp...)
	if len(problems) > 0 {
		n := len(problems)
		if n > 20 {
			problems = problems[:20]
		}
		return res, fmt.Errorf("seed %d: %d problems:\n%s", o.Seed, n, strings.Join(problems, "\n"))
	}
	return res, nil
}

// newRequest is a random points award or deduction for one of residents, under a key of
// its own; some deductions are large enough to be refused.
func newRequest(rng *rand.Rand, residents []string, round, i int) *request {
	r := &request{Resident: residents[rng.IntN(len(residents))], Key: fmt.Sprintf("crash-%d-%d-%d", round, i, rng.Uint32())}
	body := map[string]any{
		"points":    1 + rng.IntN(20),
		"direction": "award",
		"category":  "好人好事",
		"reason":    "crash test",
	}
	if rng.IntN(3) == 0 {
		// Large enough that some are refused: a refusal must leave no entry.
		body["direction"], body["category"], body["points"] = "deduct", "扣分", 1+rng.IntN(150)
	}
	r.Body, _ = json.Marshal(body)
	r.Kind, r.Path = "adjust", "/api/v1/residents/"+r.Resident+"/points/adjustments"
	return r
}

// shopper is a resident who redeems and shows QR codes in the harness.
type shopper struct {
	phone, id string
	c         *client
}

// crashRewards are the harness's own rewards, made once: one point each
// and no limits, so most redemptions are accepted.
type crashRewards struct{ fee, breakfast string }

// setupRewards finds the seeded partners and creates the rewards the rounds redeem, under
// fixed Idempotency-Keys so that every round gets the same ones.
func setupRewards(ctx context.Context, staff *client) (crashRewards, error) {
	var rewards crashRewards
	partner := func(kind, name string) (string, error) {
		var out struct {
			Items []struct{ ID, Name string } `json:"items"`
		}
		if _, err := staff.do(ctx, "GET", "/api/v1/partners?kind="+kind, nil, nil, &out); err != nil {
			return "", err
		}
		for _, p := range out.Items {
			if name == "" || p.Name == name {
				return p.ID, nil
			}
		}
		return "", fmt.Errorf("no %s partner %q", kind, name)
	}
	create := func(body map[string]any) (string, error) {
		b, _ := json.Marshal(body)
		var out struct {
			ID string `json:"id"`
		}
		code, err := staff.do(ctx, "POST", "/api/v1/rewards", b, map[string]string{"Idempotency-Key": "crash-reward-" + body["kind"].(string)}, &out)
		if err == nil && code != 201 && code != 200 {
			err = fmt.Errorf("create reward: %d", code)
		}
		return out.ID, err
	}
	prop, err := partner("property", "")
	if err != nil {
		return rewards, err
	}
	shop, err := partner("merchant", "老王早餐店")
	if err != nil {
		return rewards, err
	}
	if rewards.fee, err = create(map[string]any{
		"kind":       "property_fee",
		"title":      "测试物业费优惠",
		"partner_id": prop,
		"points":     1,
		"value_fen":  100,
		"bearer":     "community",
	}); err != nil {
		return rewards, err
	}
	rewards.breakfast, err = create(map[string]any{
		"kind":       "merchant",
		"title":      "测试早餐",
		"partner_id": shop,
		"points":     1,
		"value_fen":  100,
		"bearer":     "partner",
	})
	return rewards, err
}

// shopRequest is a redemption in the app, or (when a QR token could be had)
// a scan at the merchant's counter.
func shopRequest(ctx context.Context, rng *rand.Rand, shoppers []shopper, rewards crashRewards, round, i int) *request {
	sh := shoppers[rng.IntN(len(shoppers))]
	r := &request{Resident: sh.id, Key: fmt.Sprintf("shop-%d-%d-%d", round, i, rng.Uint32())}
	if rng.IntN(2) == 0 {
		r.Kind, r.Path, r.Body = "redeem", "/api/v1/rewards/"+rewards.fee+"/redemptions", []byte(`{}`)
		return r
	}
	var qr struct {
		Token string `json:"token"`
	}
	if code, err := sh.c.do(ctx, "POST", "/api/v1/rewards/"+rewards.breakfast+"/qr", nil, nil, &qr); err != nil || code != 201 {
		return nil // the server died, or refused: nothing was asked to move
	}
	r.Kind, r.Path = "scan", "/api/v1/merchant/scans"
	r.Body, _ = json.Marshal(map[string]string{"token": qr.Token})
	return r
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

// server is a running linli binary and its base URL.
type server struct {
	cmd  *exec.Cmd
	base string
}

// serverEnv is the environment of every process the harness starts;
// clock is the moment its clock starts at (LINLI_CLOCK_START).
func serverEnv(data, addr, clock string) []string {
	return append(os.Environ(), "LINLI_DATA_DIR="+data, "LINLI_ADDR="+addr, "MONGODB_URI=",
		"LINLI_LOG_LEVEL=error", "LINLI_SCHEDULER=false", "SEED_DEMO=true", "LINLI_LOGIN_PER_PHONE=1000",
		"LINLI_QR_PER_MINUTE=100000", "LINLI_CONSENT_GATE=false", "LINLI_CLOCK_START="+clock)
}

// start runs the binary on data with its clock starting at clock, and waits until it is
// ready.
func start(ctx context.Context, bin, data, clock string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = serverEnv(data, addr, clock)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.kill()
	return nil, errors.New("server did not become ready")
}

// kill ends the server with SIGKILL and waits for it.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// stop ends the server with SIGTERM, killing it after 30 seconds.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.kill()
	}
}

// client calls the API at base, signed in when token is set.
type client struct {
	base  string
	http  *http.Client
	token string
}

// do sends a JSON request with the headers hdr, decodes the answer into out when it is not
// nil, and returns the status.
func (c *client) do(ctx context.Context, method, path string, body []byte, hdr map[string]string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", path, err)
		}
	}
	if resp.StatusCode >= 500 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// login signs in with phone and password and keeps the access token; any answer but 200
// with a token is an error.
func (c *client) login(ctx context.Context, phone, password string) error {
	body, _ := json.Marshal(map[string]string{"phone": phone, "password": password})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	code, err := c.do(ctx, "POST", "/api/v1/auth/login", body, nil, &out)
	if err != nil {
		return err
	}
	if code != 200 || out.AccessToken == "" {
		return fmt.Errorf("login: status %d", code)
	}
	c.token = out.AccessToken
	return nil
}

// residents returns the ids of the community's first 200 residents.
func (c *client) residents(ctx context.Context) ([]string, error) {
	var out struct {
		Items []struct {
			ID    string   `json:"id"`
			Roles []string `json:"roles"`
		} `json:"items"`
	}
	if _, err := c.do(ctx, "GET", "/api/v1/residents?limit=200", nil, nil, &out); err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range out.Items {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// send posts r and records what the server said; a transport error (the
// server was killed) leaves the outcome unknown.
func (c *client) send(ctx context.Context, r *request) error {
	var out struct {
		ID           string `json:"id"`
		RedemptionID string `json:"redemption_id"`
	}
	var body json.RawMessage
	code, err := c.do(ctx, "POST", r.Path, r.Body, map[string]string{"Idempotency-Key": r.Key}, &body)
	if err == nil && code < 300 {
		if err = json.Unmarshal(body, &out); err != nil {
			return fmt.Errorf("%s %s: %w", r.Kind, r.Key, err)
		}
	}
	switch {
	case err != nil && code == 0:
		r.Lost = true // died before answering
		return nil
	case err != nil:
		return err
	case code == 201 || (code == 200 && (r.Kind == "apply" || r.Kind == "void")):
		id := out.ID
		if r.Kind == "scan" {
			id = out.RedemptionID
		}
		if r.Outcome == accepted && id != r.EntryID {
			return fmt.Errorf("replay of %s gave %s, first %s", r.Key, id, r.EntryID)
		}
		if r.Kind == "apply" || r.Kind == "void" {
			if r.Answer != nil && !bytes.Equal(body, r.Answer) {
				return fmt.Errorf("replay of %s %s answered\n%s\nfirst\n%s", r.Kind, r.Key, body, r.Answer)
			}
			r.Answer = body
		}
		r.Outcome, r.EntryID = accepted, id
		if r.Kind != "adjust" {
			r.Ref = id
		}
	case code >= 400 && code < 500:
		r.Outcome = refused
	default:
		return fmt.Errorf("unexpected status %d", code)
	}
	return nil
}

// ledgerKeys counts the entries of a resident's points ledger by
// idempotency key, and the holds by the redemption they belong to, reading
// every page.
func (c *client) ledgerKeys(ctx context.Context, resident string) (map[string]int, map[string]int, error) {
	counts, holds := map[string]int{}, map[string]int{}
	before := int64(0)
	for {
		var out struct {
			Entries []struct {
				IdempotencyKey string `json:"idempotency_key"`
				Kind           string `json:"kind"`
				Ref            string `json:"ref"`
			} `json:"entries"`
			NextBefore int64 `json:"next_before"`
		}
		path := fmt.Sprintf("/api/v1/residents/%s/ledger/POINTS?limit=100&before=%d", resident, before)
		if code, err := c.do(ctx, "GET", path, nil, nil, &out); err != nil || code != 200 {
			return nil, nil, fmt.Errorf("ledger of %s: %d %v", resident, code, err)
		}
		for _, e := range out.Entries {
			if e.IdempotencyKey != "" {
				counts[e.IdempotencyKey]++
			}
			if e.Kind == "hold" {
				holds[e.Ref]++
			}
		}
		if out.NextBefore == 0 {
			return counts, holds, nil
		}
		before = out.NextBefore
	}
}
