package main

import (
	"testing"
)

// Issue 15 over HTTP: /rankings is paged by cursor (`next`, passed back as
// `cursor`) and says when its summary was summed (`at`); a walk gives the
// whole ranking once with consecutive ranks; a cursor neither ranking
// gave out is 400 INVALID_CURSOR.
func TestIssue15_Rankings_CursorOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	son := w.login(phoneSonA)
	type page struct {
		Rankings []struct {
			Rank int    `json:"rank"`
			Name string `json:"name"`
		} `json:"rankings"`
		Next string `json:"next"`
		At   string `json:"at"`
	}
	var whole page
	r := w.call("GET", "/api/v1/rankings?limit=200", son, nil)
	if r.Status != 200 {
		t.Fatalf("whole ranking: %d %s", r.Status, r.Body)
	}
	r.decode(t, &whole)
	if whole.Next != "" || whole.At == "" || len(whole.Rankings) < 4 {
		t.Fatalf("whole ranking: %s", r.Body)
	}
	n := 0
	for cursor, pages := "", 0; ; pages++ {
		if pages > len(whole.Rankings) {
			t.Fatal("the walk does not end")
		}
		var p page
		r := w.call("GET", "/api/v1/rankings?limit=3&cursor="+cursor, son, nil)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.Status, r.Body)
		}
		r.decode(t, &p)
		for _, row := range p.Rankings {
			if n >= len(whole.Rankings) || row.Rank != n+1 || row.Name != whole.Rankings[n].Name {
				t.Fatalf("row %d walked %+v, whole %+v", n, row, whole.Rankings)
			}
			n++
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if n != len(whole.Rankings) {
		t.Fatalf("walked %d rows of %d", n, len(whole.Rankings))
	}
	for _, path := range []string{"/api/v1/rankings?cursor=nope", "/api/v1/rankings/volunteer-hours?cursor=nope"} {
		if r := w.call("GET", path, son, nil); r.Status != 400 || r.code() != "INVALID_CURSOR" {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := w.call("GET", "/api/v1/rankings/volunteer-hours?limit=1", son, nil); r.Status != 200 {
		t.Fatalf("volunteer-hours: %d %s", r.Status, r.Body)
	}
}
