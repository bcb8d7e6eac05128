package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// Invariant 8 (docs/ARCHITECTURE.md §8) for every endpoint: malformed JSON, wrong types, numbers
// past int64, negative and zero amounts, odd unicode and missing headers
// get a 4xx with a stable code, never a 5xx, and write nothing; so do
// 1 MB bodies. The routes
// are walked, so an endpoint added later is covered without editing this.
func TestEveryEndpointRefusesBadInput(t *testing.T) {
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	resident := w.login(phoneElderA)
	before := w.counts()
	bodies := []string{
		`{`, `not json`, `[]`, `null`, `"str"`, `{"a":1} trailing`,
		`{"points": 99999999999999999999999}`, `{"amount": -1}`, `{"points": 0}`, `{"minutes": -30}`,
		`{"points": "ten"}`, `{"phone": {"$gt": ""}}`, `{"name": "\u0000"}`, `{"reason": "\u202e\ufeff"}`,
		`{"` + strings.Repeat("k", 300) + `": 1}`,
	}
	fill := regexp.MustCompile(`:(\w+)`)
	probes := 0
	for _, rt := range writeRoutes(w) {
		path := fill.ReplaceAllString(rt.Path, "x")
		for _, tok := range []string{staff, resident} {
			for _, b := range bodies {
				r := w.call(rt.Method, path, tok, b, "Idempotency-Key", "bad-input-key-1")
				probes++
				if r.Status < 400 || r.Status >= 500 || r.code() == "" {
					t.Errorf("%s %s %q → %d %s", rt.Method, rt.Path, b, r.Status, truncate(r.Body))
				}
			}
			// no content type, and no idempotency key
			r := w.call(rt.Method, path, tok, `{}`, "Content-Type", "")
			if r.Status < 400 || r.Status >= 500 || r.code() == "" {
				t.Errorf("%s %s without Content-Type → %d %s", rt.Method, rt.Path, r.Status, truncate(r.Body))
			}
		}
	}
	if probes < 200 {
		t.Fatalf("only %d probes: the route walk found too little", probes)
	}
	// 1 MB bodies: just under the limit (LINLI_BODY_LIMIT, 1 MiB) the
	// handlers refuse them; past it the server does, before any handler,
	// which needs a real socket (app.Test reports it as a transport error).
	underLimit := `{"reason": "` + strings.Repeat("x", 1_000_000) + `", "points": 1}`
	overLimit := `{"reason": "` + strings.Repeat("x", 1<<20) + `"}`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.app.Listener(ln) }()
	for _, rt := range writeRoutes(w) {
		path := fill.ReplaceAllString(rt.Path, "x")
		if r := w.call(rt.Method, path, staff, underLimit, "Idempotency-Key", "bad-input-key-2"); r.Status < 400 || r.Status >= 500 || r.code() == "" {
			t.Errorf("%s %s, 1 MB body → %d %s", rt.Method, rt.Path, r.Status, truncate(r.Body))
		}
		if r := sendPastLimit(t, ln.Addr().String(), rt.Method, path, staff, overLimit); r.Status != http.StatusRequestEntityTooLarge || r.code() != "BODY_TOO_LARGE" {
			t.Errorf("%s %s, body past the limit → %d %s", rt.Method, rt.Path, r.Status, truncate(r.Body))
		}
	}
	_ = w.app.Shutdown()
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("bad input wrote something:\nbefore %v\nafter  %v", before, after)
	}
	// Headers past the server's buffer are refused by the server itself.
	big := overSocketHeader(t, w, "GET", "/api/v1/me", strings.Repeat("x", 8000))
	if big.Status != http.StatusRequestHeaderFieldsTooLarge && big.Status != http.StatusBadRequest {
		t.Fatalf("huge header: %d %s", big.Status, big.Body)
	}
}

// writeRoutes are the routes that take a body. Logout takes none; probing it
// would sign the probing tokens out and leave the other routes tested only
// for a 401.
func writeRoutes(w *world) []fiber.Route {
	var out []fiber.Route
	for _, rt := range w.app.GetRoutes(true) {
		if (rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH") && rt.Path != "/api/v1/auth/logout" {
			out = append(out, rt)
		}
	}
	return out
}

// sendPastLimit sends body over a plain connection and reads the answer
// even when the server answers, and closes, before the body is written
// (which an http.Client reports as a failed write instead).
func sendPastLimit(t *testing.T, addr, method, path, token, body string) reply {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\n"+
		"Idempotency-Key: bad-input-key-3\r\nContent-Length: %d\r\n\r\n", method, path, addr, token, len(body))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(conn, body) }() // may be cut off by the answer
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b, resp.Header}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
