package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Invariant 8 for every endpoint: malformed JSON, wrong types, numbers
// past int64, negative and zero amounts, odd unicode and missing headers
// get a 4xx with a stable code, never a 5xx, and write nothing. The routes
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
	for _, rt := range w.app.GetRoutes(true) {
		// Logout takes no body; probing it would sign the probing tokens out
		// and leave the other routes tested only for a 401.
		if (rt.Method != "POST" && rt.Method != "PUT" && rt.Method != "PATCH") || rt.Path == "/api/v1/auth/logout" {
			continue
		}
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
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("bad input wrote something:\nbefore %v\nafter  %v", before, after)
	}
	// Headers past the server's buffer are refused by the server itself.
	big := overSocketHeader(t, w, "GET", "/api/v1/me", strings.Repeat("x", 8000))
	if big.Status != http.StatusRequestHeaderFieldsTooLarge && big.Status != http.StatusBadRequest {
		t.Fatalf("huge header: %d %s", big.Status, big.Body)
	}
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
