package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/linli-community/linli/models"
)

// Issue 15: GET /statements and the lines of GET /statements/{id} are
// paged by cursor (docs/PERFORMANCE.md, "Lists"): every statement and
// every line once over the pages, `next` while there is more; a cursor
// the list did not give out is 400 INVALID_CURSOR (in Chinese by default)
// for the roles allowed to read it, and a partner cannot page another
// partner's statement with a cursor it got for its own.
func TestIssue15_Statements_PagedByCursorOverHTTP(t *testing.T) {
	t.Parallel()
	w, month, shop, property := settledWorld(t)
	staff, clerk, partner, staffB := w.login(phoneStaffA), w.login(phoneClerkA), w.login(phonePartnerA), w.login(phoneStaffB)
	shopID := models.StatementID(shop.ID, mustMonth(t, month))
	propertyID := models.StatementID(property.ID, mustMonth(t, month))

	// The statements, one a page, for every filter staff may use.
	for _, query := range []string{"", "month=" + month + "&", "partner_id=" + shop.ID + "&"} {
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatalf("%s: the pages never end", query)
			}
			path := "/api/v1/statements?" + query + "limit=1"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			var page struct {
				statementsReply
				Next string `json:"next"`
			}
			r := w.call("GET", path, staff, nil)
			if r.Status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
			}
			r.decode(t, &page)
			for _, st := range page.Statements {
				seen = append(seen, st.ID)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		want := map[string]bool{shopID: true, propertyID: true}
		if strings.HasPrefix(query, "partner_id") {
			want = map[string]bool{shopID: true}
		}
		if len(seen) != len(want) {
			t.Fatalf("GET /statements?%s read %v, want %v once each", query, seen, want)
		}
		for _, id := range seen {
			if !want[id] {
				t.Fatalf("GET /statements?%s read %v, want %v once each", query, seen, want)
			}
		}
	}

	// The shop's lines, one a page, read by its clerk.
	var first struct {
		Lines []struct {
			ID string `json:"id"`
		} `json:"lines"`
		Next string `json:"next"`
	}
	r := w.call("GET", "/api/v1/statements/"+url.PathEscape(shopID)+"?limit=1", clerk, nil)
	r.decode(t, &first)
	if r.Status != 200 || len(first.Lines) != 1 || first.Next == "" {
		t.Fatalf("the shop's first page of lines: %d %s", r.Status, r.Body)
	}
	var second struct {
		Lines []struct {
			ID string `json:"id"`
		} `json:"lines"`
		Next string `json:"next"`
	}
	r = w.call("GET", "/api/v1/statements/"+url.PathEscape(shopID)+"?limit=1&cursor="+url.QueryEscape(first.Next), staff, nil)
	r.decode(t, &second)
	if r.Status != 200 || len(second.Lines) != 1 || second.Next != "" || second.Lines[0].ID == first.Lines[0].ID {
		t.Fatalf("the shop's second page of lines (staff, the clerk's cursor): %d %s", r.Status, r.Body)
	}

	// Tenancy: the property partner with the shop's cursor, staff of
	// another community.
	if r := w.call("GET", "/api/v1/statements/"+url.PathEscape(shopID)+"?limit=1&cursor="+url.QueryEscape(first.Next), partner, nil); r.Status != 403 {
		t.Fatalf("the property partner pages the shop's statement: %d %s, want 403", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/statements/"+url.PathEscape(shopID)+"?limit=1&cursor="+url.QueryEscape(first.Next), staffB, nil); r.Status != 404 {
		t.Fatalf("staff of community B pages the shop's statement: %d %s, want 404", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/statements?partner_id="+shop.ID+"&limit=1", partner, nil); r.Status != 403 {
		t.Fatalf("the property partner lists the shop's statements: %d %s, want 403", r.Status, r.Body)
	}

	// Cursors no list gave out, each by a role allowed to read the list.
	bad := []string{"abc", "0", "1", "-3", "07", "99999", strings.Repeat("9", 70)}
	for _, tc := range []struct {
		who, token, path string
	}{
		{"the shop's clerk", clerk, "/api/v1/statements/" + url.PathEscape(shopID) + "?cursor="},
		{"staff", staff, "/api/v1/statements/" + url.PathEscape(shopID) + "?cursor="},
		{"the property partner", partner, "/api/v1/statements/" + url.PathEscape(propertyID) + "?cursor="},
		{"staff", staff, "/api/v1/statements?cursor="},
		{"staff", staff, "/api/v1/statements?partner_id=" + shop.ID + "&cursor="},
		{"staff", staff, "/api/v1/statements?month=" + month + "&cursor="},
		{"the shop's clerk", clerk, "/api/v1/statements?cursor="},
		{"the property partner", partner, "/api/v1/statements?month=" + month + "&cursor="},
	} {
		for _, cursor := range bad {
			path := tc.path + url.QueryEscape(cursor)
			r := w.call("GET", path, tc.token, nil)
			if r.Status != 400 || r.code() != "INVALID_CURSOR" || !strings.Contains(string(r.Body), "翻页位置") {
				t.Errorf("%s GET %s: %d %s; want 400 INVALID_CURSOR in Chinese", tc.who, path, r.Status, r.Body)
			}
		}
	}
}
