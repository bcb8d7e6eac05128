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
	"sync"
	"syscall"
	"time"
)

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
	Kind     string // "adjust" (staff award or deduction), "redeem" (resident), "scan" (merchant clerk)
	Path     string
	Key      string
	Resident string
	Body     []byte
	Ref      string // for an accepted redeem or scan: the redemption
	Outcome  outcome
	EntryID  string // for an acknowledged success
	Lost     bool   // an answer was lost to a kill at least once
}

type outcome int

const (
	unknown  outcome = iota // the process died before answering
	accepted                // 201: an entry exists
	refused                 // a 4xx: no entry may exist
)

type result struct {
	Rounds, Accepted, Refused, Unknown, Retried, Redemptions int
}

func (r result) String() string {
	return fmt.Sprintf("rounds=%d accepted=%d (redemptions and scans %d) refused=%d answers-lost-to-kill=%d retries-answered=%d",
		r.Rounds, r.Accepted, r.Redemptions, r.Refused, r.Unknown, r.Retried)
}

// demo logins from the seed (app/seed.go).
const (
	staffPhone    = "13800000002"
	staffPassword = "linli-demo-2026"
)

// session is one start's logins: staff award and deduct, shoppers redeem
// and show QR codes, the clerk scans them.
type session struct {
	staff, clerk *client
	shoppers     []shopper
}

// shopperPhones are demo residents with a household and points.
var shopperPhones = []string{"13800000005", "13800000006", "13900000010"}

func login(ctx context.Context, base string, timeout time.Duration) (*session, error) {
	hc := &http.Client{Timeout: timeout}
	s := &session{staff: &client{base: base, http: hc}, clerk: &client{base: base, http: hc}}
	if err := s.staff.login(ctx, staffPhone, staffPassword); err != nil {
		return nil, err
	}
	if err := s.clerk.login(ctx, "13800000007", staffPassword); err != nil {
		return nil, err
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
		s.shoppers = append(s.shoppers, shopper{phone: phone, id: me.ID, c: c})
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
	}
	return s.staff.send(ctx, r)
}

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

	for round := 0; round < o.Rounds; round++ {
		srv, err := start(ctx, bin, data)
		if err != nil {
			return res, fmt.Errorf("round %d: %w", round, err)
		}
		ss, err := login(ctx, srv.base, 5*time.Second)
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
				if r.Outcome != unknown {
					res.Retried++
				}
			}
		}
		uptime := time.Duration(rng.Int64N(int64(o.MaxUptime)))
		kill := time.After(uptime)
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
					if wrng.IntN(5) < 2 { // two in five: a redemption or a merchant scan
						if r = shopRequest(ctx, wrng, ss.shoppers, rewards, round, i); r == nil {
							continue
						}
					}
					_ = ss.send(ctx, r) // a dead server leaves it unknown
					mu.Lock()
					all = append(all, r)
					mu.Unlock()
				}
			}()
		}
		<-kill
		close(stop) // no new requests; those in flight die with the server
		srv.kill()  // SIGKILL mid-load
		wg.Wait()
		res.Rounds++
	}

	// Last start: finish the unknowns, then check every request.
	srv, err := start(ctx, bin, data)
	if err != nil {
		return res, err
	}
	ss, err := login(ctx, srv.base, 10*time.Second)
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
	counts, holds := map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r.Resident] {
			continue
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
	srv.stop()
	var problems []string
	for _, r := range all {
		switch r.Outcome {
		case accepted:
			res.Accepted++
			switch {
			case r.Kind == "scan" && holds[r.Ref] != 1:
				problems = append(problems, fmt.Sprintf("scan %s: redemption %s has %d holds", r.Key, r.Ref, holds[r.Ref]))
			case r.Kind != "scan" && counts[r.Key] != 1:
				problems = append(problems, fmt.Sprintf("accepted %s %s has %d entries", r.Kind, r.Key, counts[r.Key]))
			}
			if r.Kind != "adjust" {
				res.Redemptions++
			}
		case refused:
			res.Refused++
			if r.Kind != "scan" && counts[r.Key] != 0 {
				problems = append(problems, fmt.Sprintf("refused %s has %d entries", r.Key, counts[r.Key]))
			}
		}
	}
	for _, r := range all {
		if r.Lost {
			res.Unknown++
		}
	}
	audit := exec.CommandContext(ctx, bin, "audit")
	audit.Env = serverEnv(data, "127.0.0.1:0")
	if out, err := audit.CombinedOutput(); err != nil {
		problems = append(problems, fmt.Sprintf("audit failed: %v\n%s", err, out))
	}
	if len(problems) > 0 {
		if len(problems) > 20 {
			problems = problems[:20]
		}
		return res, fmt.Errorf("%d problems:\n%v", len(problems), problems)
	}
	return res, nil
}

func newRequest(rng *rand.Rand, residents []string, round, i int) *request {
	r := &request{Resident: residents[rng.IntN(len(residents))], Key: fmt.Sprintf("crash-%d-%d-%d", round, i, rng.Uint32())}
	body := map[string]any{"points": 1 + rng.IntN(20), "direction": "award", "category": "好人好事", "reason": "crash test"}
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

func setupRewards(ctx context.Context, staff *client) (crashRewards, error) {
	var rw crashRewards
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
		return rw, err
	}
	shop, err := partner("merchant", "老王早餐店")
	if err != nil {
		return rw, err
	}
	if rw.fee, err = create(map[string]any{"kind": "property_fee", "title": "测试物业费优惠", "partner_id": prop, "points": 1, "value_fen": 100, "bearer": "community"}); err != nil {
		return rw, err
	}
	rw.breakfast, err = create(map[string]any{"kind": "merchant", "title": "测试早餐", "partner_id": shop, "points": 1, "value_fen": 100, "bearer": "partner"})
	return rw, err
}

// shopRequest is a redemption in the app, or (when a QR token could be had)
// a scan at the merchant's counter.
func shopRequest(ctx context.Context, rng *rand.Rand, shoppers []shopper, rw crashRewards, round, i int) *request {
	sh := shoppers[rng.IntN(len(shoppers))]
	r := &request{Resident: sh.id, Key: fmt.Sprintf("shop-%d-%d-%d", round, i, rng.Uint32())}
	if rng.IntN(2) == 0 {
		r.Kind, r.Path, r.Body = "redeem", "/api/v1/rewards/"+rw.fee+"/redemptions", []byte(`{}`)
		return r
	}
	var qr struct {
		Token string `json:"token"`
	}
	if code, err := sh.c.do(ctx, "POST", "/api/v1/rewards/"+rw.breakfast+"/qr", nil, nil, &qr); err != nil || code != 201 {
		return nil // the server died, or refused: nothing was asked to move
	}
	r.Kind, r.Path = "scan", "/api/v1/merchant/scans"
	r.Body, _ = json.Marshal(map[string]string{"token": qr.Token})
	return r
}

func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

type server struct {
	cmd  *exec.Cmd
	base string
}

func serverEnv(data, addr string) []string {
	return append(os.Environ(), "LINLI_DATA_DIR="+data, "LINLI_ADDR="+addr, "MONGODB_URI=",
		"LINLI_LOG_LEVEL=error", "LINLI_SCHEDULER=false", "SEED_DEMO=true", "LINLI_LOGIN_PER_PHONE=1000",
		"LINLI_QR_PER_MINUTE=100000")
}

func start(ctx context.Context, bin, data string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = serverEnv(data, addr)
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

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

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

type client struct {
	base  string
	http  *http.Client
	token string
}

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
	code, err := c.do(ctx, "POST", r.Path, r.Body, map[string]string{"Idempotency-Key": r.Key}, &out)
	switch {
	case err != nil && code == 0:
		r.Lost = true // died before answering
		return nil
	case err != nil:
		return err
	case code == 201:
		id := out.ID
		if r.Kind == "scan" {
			id = out.RedemptionID
		}
		if r.Outcome == accepted && id != r.EntryID {
			return fmt.Errorf("replay of %s gave %s, first %s", r.Key, id, r.EntryID)
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
