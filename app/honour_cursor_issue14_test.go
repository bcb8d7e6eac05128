package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The honour roll's lists over HTTP (issues 14 and 15): the nominations
// in notice, every entry, the board and an entry's objections are paged
// by `cursor` with `next`, each entry on exactly one page at every page
// size; a nomination made between two pages never shifts what is below
// the cursor; a cursor the list did not give out is 400 INVALID_CURSOR in
// Chinese; an entry whose nominee chose not to be shown is on no page of
// another resident's.
func TestIssue14_HonourCursor_PagedByCursorOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, elder := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneElderA)
	var people struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	w.call("GET", "/api/v1/residents?limit=200", staff, nil).decode(t, &people)
	nominate := func(resident string, n int) int {
		r := w.call("POST", "/api/v1/honour/nominations", staff, map[string]string{
			"resident_id": resident,
			"category":    "诚信",
			"reason":      "拾金不昧",
		}, "Idempotency-Key", fmt.Sprintf("issue14-honour-%04d", n))
		return r.Status
	}
	made := 0
	last := "" // kept for a nomination between two pages
	for i, p := range people.Items {
		if p.ID == w.ids[phoneElderA] {
			last = p.ID
			continue
		}
		switch st := nominate(p.ID, i); st {
		case http.StatusCreated:
			made++
		case http.StatusConflict: // the demo's nominations
		default:
			t.Fatalf("nominate %s: %d", p.ID, st)
		}
	}
	if made < 4 || last == "" {
		t.Fatalf("nominated %d residents", made)
	}
	one, _ := w.walkPages(staff, "/api/v1/honour/entries?status=notice&limit=200", "entries")
	if len(one) < made {
		t.Fatalf("one page of notices holds %d; nominated %d", len(one), made)
	}
	for _, limit := range []int{1, 2, 3} {
		got, pages := w.walkPages(staff, fmt.Sprintf("/api/v1/honour/entries?status=notice&limit=%d", limit), "entries")
		if !slices.Equal(got, one) || pages < len(one)/limit {
			t.Fatalf("limit %d: %v in %d pages; want %v", limit, got, pages, one)
		}
	}
	every, _ := w.walkPages(staff, "/api/v1/honour/entries?limit=2", "entries")
	if len(every) != len(one)+1 { // and the demo's listed entry
		t.Fatalf("every entry: %d; want %d", len(every), len(one)+1)
	}
	// A nomination between two pages lands above the cursor.
	var first struct {
		Entries []struct {
			ID string `json:"id"`
		} `json:"entries"`
		Next string `json:"next"`
	}
	w.call("GET", "/api/v1/honour/entries?status=notice&limit=2", staff, nil).decode(t, &first)
	if first.Next == "" || len(first.Entries) != 2 {
		t.Fatalf("first page: %+v", first)
	}
	if st := nominate(last, 9999); st != http.StatusCreated {
		t.Fatalf("nominate between pages: %d", st)
	}
	var rest []string
	for cursor := first.Next; cursor != ""; {
		var page struct {
			Entries []struct {
				ID string `json:"id"`
			} `json:"entries"`
			Next string `json:"next"`
		}
		w.call("GET", "/api/v1/honour/entries?status=notice&limit=2&cursor="+cursor, staff, nil).decode(t, &page)
		for _, e := range page.Entries {
			rest = append(rest, e.ID)
		}
		cursor = page.Next
	}
	if !slices.Equal(rest, one[2:]) {
		t.Fatalf("after a nomination the cursor reads %v; want %v", rest, one[2:])
	}
	// The son opts out: the elder no longer finds his entry on any page.
	var mine struct {
		Entries []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"entries"`
	}
	w.call("GET", "/api/v1/me/honour", son, nil).decode(t, &mine)
	sonEntry := ""
	for _, e := range mine.Entries {
		if e.Status == "notice" {
			sonEntry = e.ID
		}
	}
	if r := w.call("PUT", "/api/v1/honour/entries/"+sonEntry+"/visibility", son, map[string]bool{"hidden": true}); r.Status != http.StatusOK {
		t.Fatalf("hide: %d %s", r.Status, r.Body)
	}
	for _, limit := range []int{1, 3} {
		seen, _ := w.walkPages(elder, fmt.Sprintf("/api/v1/honour/entries?status=notice&limit=%d", limit), "entries")
		if slices.Contains(seen, sonEntry) || len(seen) != len(one) { // one more nominated, one hidden
			t.Fatalf("the elder at limit %d reads %d entries (hidden one there: %v)", limit, len(seen), slices.Contains(seen, sonEntry))
		}
		if own, _ := w.walkPages(son, fmt.Sprintf("/api/v1/honour/entries?status=notice&limit=%d", limit), "entries"); !slices.Contains(own, sonEntry) {
			t.Fatalf("the son at limit %d does not see his own entry", limit)
		}
		if all, _ := w.walkPages(staff, fmt.Sprintf("/api/v1/honour/entries?status=notice&limit=%d", limit), "entries"); !slices.Contains(all, sonEntry) {
			t.Fatalf("staff at limit %d do not see the hidden entry", limit)
		}
	}
	// Objections: one from the elder, paged, on an entry he can see (the
	// residents' order, and so the newest entry, differs from run to run).
	objected := one[0]
	if objected == sonEntry {
		objected = one[1]
	}
	if r := w.call("POST", "/api/v1/honour/entries/"+objected+"/objections", elder, map[string]string{"reason": "需要核实"}); r.Status != http.StatusCreated {
		t.Fatalf("object: %d %s", r.Status, r.Body)
	}
	if got, _ := w.walkPages(staff, "/api/v1/honour/entries/"+objected+"/objections?limit=1", "objections"); len(got) != 1 {
		t.Fatalf("objections: %v", got)
	}
	// The board: the demo's listed resident, on a page of its own.
	var board struct {
		Board []struct {
			EntryID string `json:"entry_id"`
		} `json:"board"`
		Next string `json:"next"`
	}
	w.call("GET", "/api/v1/honour/board?limit=1", elder, nil).decode(t, &board)
	if len(board.Board) != 1 || board.Next != "" {
		t.Fatalf("board: %+v", board)
	}
	for _, path := range []string{
		"/api/v1/honour/entries?cursor=abc",
		"/api/v1/honour/entries?status=notice&cursor=999999",
		"/api/v1/honour/entries?status=listed&cursor=1",
		"/api/v1/honour/board?cursor=999999",
		"/api/v1/honour/entries/" + objected + "/objections?cursor=x",
		"/api/v1/honour/board?cursor=" + strings.Repeat("9", 70),
	} {
		r := w.call("GET", path, staff, nil)
		if r.Status != http.StatusBadRequest || r.code() != "INVALID_CURSOR" || !strings.Contains(string(r.Body), "翻页位置") {
			t.Fatalf("GET %s: %d %s; want 400 INVALID_CURSOR in Chinese", path, r.Status, r.Body)
		}
	}
}
