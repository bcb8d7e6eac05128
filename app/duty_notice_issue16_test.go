package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// dutyNotices counts the duty-to-confirm notifications about duty in
// recipient's inbox, reading every position.
func (w *world) dutyNotices(recipient, duty string) int {
	w.t.Helper()
	// Requests only queue their notices; one delivery pass writes them.
	if _, err := w.sys.deliverer.Pass(context.Background()); err != nil {
		w.t.Fatalf("delivery pass: %v", err)
	}
	n := 0
	for seq := int64(1); ; seq++ {
		note, err := w.sys.store.InboxEntry(context.Background(), recipient, seq)
		if err != nil {
			return n
		}
		if note.Kind == models.NoticeDutyToConfirm && strings.HasPrefix(note.EventID, duty+":") {
			n++
		}
	}
}

// Issue 16 (a duty to confirm): a building head's logged duty tells the
// community's staff and admins, who confirm duties, once however many
// times the same log arrives at once (32); the head is not told; a log
// with new evidence is told again.
func TestIssue16_DutyToConfirmTellsStaffOnceUnder32Repeats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	head := w.login(phoneHeadA)
	month := models.MonthOf(time.Now(), w.sys.loc).String()
	body := map[string]string{
		"month":    month,
		"duty":     "问题上报",
		"evidence": "楼道灯坏, 已报物业",
	}
	// The demo head holds several terms: the repeats name one, so they are
	// one duty (a log without a term takes the first term found).
	r := w.call("POST", "/api/v1/duties", head, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("log duty: %d %s", r.Status, r.Body)
	}
	var duty struct {
		ID     string `json:"id"`
		TermID string `json:"term_id"`
	}
	r.decode(t, &duty)
	body["term_id"] = duty.TermID
	statuses := make([]int, 32)
	atonce.Run(len(statuses), func(i int) {
		statuses[i] = w.call("POST", "/api/v1/duties", head, body).Status
	})
	for _, st := range statuses {
		if st != http.StatusCreated {
			t.Fatalf("log duty answers %v; want 201 each", statuses)
		}
	}
	staffID, adminID, headID := w.ids[phoneStaffA], w.ids[phoneAdminA], w.ids[phoneHeadA]
	for name, id := range map[string]string{"staff": staffID, "admin": adminID} {
		if n := w.dutyNotices(id, duty.ID); n != 1 {
			t.Fatalf("%s has %d notices of the duty after 33 logs of it; want 1", name, n)
		}
	}
	if n := w.dutyNotices(headID, duty.ID); n != 0 {
		t.Fatalf("the head who logged it was told %d times", n)
	}
	if n := w.dutyNotices(w.ids[phoneStaffB], duty.ID); n != 0 {
		t.Fatalf("another community's staff were told %d times", n)
	}
	body["evidence"] = "楼道灯已修好, 附照片"
	// Whom to tell is read from the staff's and admins' lists, not by
	// filtering every resident of the community (a scan).
	before := w.sys.store.CommandCounts().Scans
	if r := w.call("POST", "/api/v1/duties", head, body); r.Status != http.StatusCreated {
		t.Fatalf("log again: %d %s", r.Status, r.Body)
	}
	if scans := w.sys.store.CommandCounts().Scans - before; scans != 0 {
		t.Fatalf("logging a duty sent %d scans; want none", scans)
	}
	if n := w.dutyNotices(staffID, duty.ID); n != 2 {
		t.Fatalf("new evidence told staff %d times in all; want 2", n)
	}
}
