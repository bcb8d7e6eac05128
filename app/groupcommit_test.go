package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
)

// LINLI_GROUP_COMMIT turns group commit on (the default) or off; its batch
// size and window are read too, and nonsense is refused at start.
func TestIssue18_GroupCommitSwitchFromEnv(t *testing.T) {
	t.Parallel()
	on, err := loadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := on.groupCommit(); g.Off || g.MaxBatch != 64 || g.Window != 0 {
		t.Fatalf("default group commit %+v; want on, batches of 64, no window", g)
	}
	off, err := loadConfig([]string{"LINLI_GROUP_COMMIT=off", "LINLI_GROUP_COMMIT_BATCH=8", "LINLI_GROUP_COMMIT_WINDOW=2ms"})
	if err != nil {
		t.Fatal(err)
	}
	if g := off.groupCommit(); !g.Off || g.MaxBatch != 8 || g.Window != 2*time.Millisecond {
		t.Fatalf("group commit %+v; want off, 8, 2ms", g)
	}
	for _, bad := range []string{"LINLI_GROUP_COMMIT=maybe", "LINLI_GROUP_COMMIT_BATCH=0", "LINLI_GROUP_COMMIT_WINDOW=1s"} {
		if _, err := loadConfig([]string{bad}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// With group commit off the service behaves as before it existed:
// concurrent deductions against one balance still succeed exactly as many
// times as the balance covers, and every insert is a command of its own.
func TestIssue18_SwitchedOffEveryInsertIsItsOwnCommand(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.GroupCommit = "off"
	w := newWorldConfig(t, cfg)
	staff := w.login(phoneStaffA)
	son := w.ids[phoneSonA]
	start, _ := w.points(son)
	const n, cost = 16, 7
	k := min(n, int(start/cost))
	var mu sync.Mutex
	codes := map[int]int{}
	atonce.Run(n, func(i int) {
		r := w.call("POST", "/api/v1/residents/"+son+"/points/adjustments", staff, award(cost, "deduct"), "Idempotency-Key", fmt.Sprintf("gc-off-%02d", i))
		mu.Lock()
		codes[r.Status]++
		mu.Unlock()
	})
	if codes[http.StatusCreated] != k || codes[http.StatusConflict] != n-k {
		t.Fatalf("statuses %v; want %d×201 and %d×409", codes, k, n-k)
	}
	if p, _ := w.points(son); p != start-int64(k*cost) {
		t.Fatalf("balance %d; want %d", p, start-int64(k*cost))
	}
	metrics := string(w.call("GET", "/metrics", "", nil).Body)
	docs, cmds := metricValue(t, metrics, "linli_store_inserts_total"), metricValue(t, metrics, "linli_store_insert_commands_total")
	if docs == 0 || docs != cmds {
		t.Fatalf("%v documents in %v commands; want one command each", docs, cmds)
	}
	w.mustAudit()
}
