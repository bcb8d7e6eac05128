package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A web client's refresh token is an HttpOnly cookie scoped to the refresh
// route, never in a body a script can read; it rotates like the body's.
func TestWebClientRefreshTokenIsAnHttpOnlyCookie(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.call("POST", "/api/v1/auth/login", "", map[string]string{
		"phone":    phoneElderA,
		"password": demoPassword,
		"client":   "web",
	})
	if r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "refresh_token") {
		t.Fatalf("a web login's body carries the refresh token: %s", r.Body)
	}
	first := refreshCookieOf(t, r.Header)
	if !first.HttpOnly || !first.Secure || first.SameSite != http.SameSiteStrictMode || first.Path != "/api/v1/auth/refresh" || first.Value == "" {
		t.Fatalf("refresh cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/api/v1/auth/refresh", first)
	}

	// Refreshing with the cookie gives a new access token and a new cookie.
	r = w.call("POST", "/api/v1/auth/refresh", "", map[string]string{"client": "web"}, "Cookie", "linli_refresh="+first.Value)
	if r.Status != 200 || !strings.Contains(string(r.Body), "access_token") || strings.Contains(string(r.Body), "refresh_token") {
		t.Fatalf("refresh with the cookie: %d %s", r.Status, r.Body)
	}
	second := refreshCookieOf(t, r.Header)
	if second.Value == "" || second.Value == first.Value {
		t.Fatalf("the refresh cookie did not rotate: %q → %q", first.Value, second.Value)
	}

	// The spent cookie is refused and cleared.
	r = w.call("POST", "/api/v1/auth/refresh", "", map[string]string{"client": "web"}, "Cookie", "linli_refresh="+first.Value)
	if r.Status != 401 {
		t.Fatalf("a spent refresh cookie: %d %s", r.Status, r.Body)
	}
	if c := refreshCookieOf(t, r.Header); c.Value != "" || (c.MaxAge >= 0 && c.Expires.After(time.Now())) {
		t.Fatalf("a refused refresh cookie is not cleared: %+v", c)
	}

	// Without a cookie a web refresh is a 401, not a validation error.
	r = w.call("POST", "/api/v1/auth/refresh", "", map[string]string{"client": "web"})
	if r.Status != 401 || r.code() != "UNAUTHENTICATED" {
		t.Fatalf("a web refresh without a cookie: %d %s", r.Status, r.Body)
	}
	// A native client still has to name its token.
	r = w.call("POST", "/api/v1/auth/refresh", "", map[string]string{})
	if r.Status != 400 {
		t.Fatalf("a refresh naming no token: %d %s", r.Status, r.Body)
	}
}

func refreshCookieOf(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "linli_refresh" {
			return c
		}
	}
	t.Fatalf("no linli_refresh cookie in %v", h.Values("Set-Cookie"))
	return nil
}
