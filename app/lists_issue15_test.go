package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// walkPages follows a list's `next` over HTTP from path (which has its
// query started), returning the ids it read and the number of pages.
func (w *world) walkPages(token, path, key string) ([]string, int) {
	w.t.Helper()
	var ids []string
	cursor := ""
	for pages := 1; ; pages++ {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := w.call("GET", p, token, nil)
		if r.Status != 200 {
			w.t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
		}
		var page map[string]any
		r.decode(w.t, &page)
		items, _ := page[key].([]any)
		for _, it := range items {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, _ := page["next"].(string)
		if next == "" {
			return ids, pages
		}
		if pages > 50 {
			w.t.Fatalf("GET %s never ends", path)
		}
		cursor = next
	}
}

// Issue 15 over HTTP: the resident's redemptions and the clerk's day are
// paged by `cursor`, each redemption on exactly one page, with `next`
// until the end; a cursor the list did not give out is 400 INVALID_CURSOR
// and says so in Chinese by default.
func TestIssue15_Lists_PagedByCursorOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	son := w.login(phoneSonA)
	clerk := w.login(phoneClerkA)
	staff := w.login(phoneStaffA)
	rewardID, _ := w.rewardOf(son, "merchant")
	r := w.call("POST", "/api/v1/residents/"+w.ids[phoneSonA]+"/points/adjustments", staff,
		map[string]any{
			"points":    200,
			"direction": "award",
			"category":  "好人好事",
			"reason":    "翻页测试",
		}, "Idempotency-Key", "issue15-award-0001")
	if r.Status != http.StatusCreated {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	var made []string
	for i := range 4 { // the reward's monthly limit
		r = w.call("POST", "/api/v1/rewards/"+rewardID+"/qr", son, nil)
		if r.Status != http.StatusCreated {
			t.Fatalf("qr: %d %s", r.Status, r.Body)
		}
		var qr struct {
			Token string `json:"token"`
		}
		r.decode(t, &qr)
		r = w.call("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": qr.Token}, "Idempotency-Key", fmt.Sprintf("issue15-scan-%d", i))
		if r.Status != http.StatusCreated {
			t.Fatalf("scan: %d %s", r.Status, r.Body)
		}
		var redemption struct {
			ID string `json:"redemption_id"`
		}
		r.decode(t, &redemption)
		made = append(made, redemption.ID)
	}
	mine, pages := w.walkPages(son, "/api/v1/me/redemptions?limit=2", "redemptions")
	day, dayPages := w.walkPages(clerk, "/api/v1/merchant/redemptions?limit=2", "redemptions")
	for name, got := range map[string][]string{"/me/redemptions": mine, "/merchant/redemptions": day} {
		seen := map[string]int{}
		for _, id := range got {
			seen[id]++
		}
		for _, id := range made {
			if seen[id] != 1 {
				t.Fatalf("%s shows %s %d times over its pages (%v); want once", name, id, seen[id], got)
			}
		}
		if len(got) != len(seen) {
			t.Fatalf("%s shows a redemption twice: %v", name, got)
		}
	}
	if pages < 2 || dayPages < 2 {
		t.Fatalf("4 redemptions 2 a page came in %d and %d pages", pages, dayPages)
	}
	for _, c := range []struct{ token, path string }{
		{son, "/api/v1/me/redemptions?cursor=abc"},
		{son, "/api/v1/me/redemptions?cursor=999999"},
		{son, "/api/v1/me/service-records?cursor=1"},
		{clerk, "/api/v1/merchant/redemptions?cursor=2"},
		{staff, "/api/v1/service-records?cursor=" + strings.Repeat("9", 70)},
	} {
		r := w.call("GET", c.path, c.token, nil)
		if r.Status != http.StatusBadRequest || r.code() != "INVALID_CURSOR" || !strings.Contains(string(r.Body), "翻页位置") {
			t.Fatalf("GET %s: %d %s; want 400 INVALID_CURSOR in Chinese", c.path, r.Status, r.Body)
		}
	}
	pending, _ := w.walkPages(staff, "/api/v1/service-records?limit=1", "records")
	records, _ := w.walkPages(son, "/api/v1/me/service-records?limit=1", "records")
	_, _ = pending, records
}
