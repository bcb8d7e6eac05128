package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
)

// Every start of the server is on the 1st of a new month (LINLI_CLOCK_START),
// so the month of the round before is over and has events to settle: the
// merchant scans and the fee credits applied to bills. While the load runs,
// the settlement of that month (and of any month a kill interrupted before)
// runs as an operator would start it, `app jobs run settlement --month M`,
// in a second process on the same data folder, and the round's kill -9
// takes both down, as a crashed machine would. Two processes can share the
// embedded store's files: FerretDB opens SQLite in WAL mode with a busy
// timeout, and the catalogue it caches per process does not go stale, since
// the server has created every collection and index before the settlement
// process opens them. The server's own scheduler cannot be used: the cron
// library fires on the real clock, not on LINLI_CLOCK_START.

// monthClock is the clock of the start that opens month m: 02:00 on the 1st.
func monthClock(m models.Month, loc *time.Location) string {
	return m.Start(loc).Add(2 * time.Hour).Format(time.RFC3339)
}

type settleResult struct {
	done []models.Month
	err  error
}

// settleStats counts the settlement processes the harness ran.
type settleStats struct {
	Runs     int // processes started
	Finished int // exited 0
	// KilledMidRun were killed after the job had taken its lease and
	// logged "job started"; KilledEarly before (still opening the store).
	KilledMidRun, KilledEarly int
	// Resumed counts statements a finished run found already written: the
	// work of a run that was killed after some partners were settled.
	Resumed int
	// Last is how long the last finished job took, "job started" to "job
	// done" as the harness saw them.
	Last time.Duration
}

// settler runs the settlement processes of one start of the server; kill
// takes down the one in flight and starts no more. started is closed when
// the last month's settlement logs "job started".
type settler struct {
	bin, data, clock string
	started          chan struct{}

	mu     sync.Mutex
	cmd    *exec.Cmd
	killed bool
}

func newSettler(bin, data, clock string) *settler {
	return &settler{bin: bin, data: data, clock: clock, started: make(chan struct{})}
}

// settle settles months in turn, oldest first, until all are done or the
// kill comes; it returns the months whose settlement finished.
func (s *settler) settle(months []models.Month, st *settleStats) ([]models.Month, error) {
	var done []models.Month
	for i, m := range months {
		log := &jobLog{}
		if i == len(months)-1 {
			log.started = s.started
		}
		cmd := exec.Command(s.bin, "jobs", "run", "settlement", "--month", m.String())
		// The runner logs "job started" and "job done" at info, as JSON.
		cmd.Env = append(serverEnv(s.data, "127.0.0.1:0", s.clock), "LINLI_LOG_LEVEL=info", "LINLI_LOG_FORMAT=json")
		cmd.Stdout, cmd.Stderr = log, log
		s.mu.Lock()
		if s.killed {
			s.mu.Unlock()
			return done, nil
		}
		err := cmd.Start()
		s.cmd = cmd
		s.mu.Unlock()
		if err != nil {
			return done, err
		}
		st.Runs++
		err = cmd.Wait()
		s.mu.Lock()
		killed := s.killed
		s.cmd = nil
		s.mu.Unlock()
		var exit *exec.ExitError
		signaled := killed && errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled()
		switch {
		case err == nil || (signaled && !log.doneAt.IsZero()):
			// A kill after "job done" found the month settled, the
			// process closing the store.
			st.Finished++
			st.Resumed += log.existing
			st.Last = log.doneAt.Sub(log.startedAt)
			done = append(done, m)
		case signaled:
			if log.startedAt.IsZero() {
				st.KilledEarly++
			} else {
				st.KilledMidRun++
			}
			return done, nil
		default:
			return done, fmt.Errorf("settle %s: %v\n%s", m, err, log.all.Bytes())
		}
	}
	return done, nil
}

func (s *settler) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killed = true
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

// jobLog reads a settlement process's output as it comes: it notes when
// the job started (and closes started, if set) and the statements
// the finished run found already there. The process writes each log line
// with one write; os/exec calls Write from one goroutine and Wait waits
// for it, so the fields are read after Wait without a lock.
type jobLog struct {
	started   chan struct{}
	all       bytes.Buffer
	partial   []byte
	startedAt time.Time
	doneAt    time.Time
	existing  int
}

func (l *jobLog) Write(p []byte) (int, error) {
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		var rec struct {
			Msg    string         `json:"msg"`
			Counts map[string]int `json:"counts"`
		}
		if json.Unmarshal(l.partial[:i], &rec) == nil {
			switch rec.Msg {
			case "job started":
				l.startedAt = time.Now()
				if l.started != nil {
					close(l.started)
				}
			case "job done":
				l.doneAt, l.existing = time.Now(), rec.Counts["existing"]
			}
		}
		l.partial = l.partial[i+1:]
	}
}

// statementCheck is what checkStatements compared.
type statementCheck struct {
	Statements, Lines int
	// Reversals are lines of voided bills (negative), Adjustments lines
	// the statements mark as correcting an earlier month.
	Reversals, Adjustments int
}

// expectedStatement is a partner's month recomputed from its events.
type expectedStatement struct {
	events                    map[string]models.SettlementEvent // by event id
	adjustments               map[string]bool                   // by event id
	total, community, partner models.Fen
}

// checkStatements recomputes, for every partner and every month in months,
// the statement from the settlement events, apart from the settlement code:
// it reads each partner's events over all time once, buckets them by month
// in the community's time zone, and adds them up itself. Each stored
// statement must match: header totals and counts, and its lines one for one
// by id, each carrying its event's value. A month with events must have
// exactly one statement, a month without none, and no month outside months
// (the one still running) any. Every acknowledged merchant scan must have
// one fulfilment event, and every fee credit the events of its acknowledged
// applies and voids (checkCredits); each event, once its month is settled,
// one statement line.
// The server must be stopped: this opens the data folder itself.
func checkStatements(ctx context.Context, data string, months []models.Month, reqs []*request, credits *creditPool) (statementCheck, []string, error) {
	var chk statementCheck
	emb, err := store.StartEmbedded(data, false, nil)
	if err != nil {
		return chk, nil, err
	}
	defer emb.Stop()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		return chk, nil, err
	}
	defer st.Close(context.WithoutCancel(ctx))

	settled := map[models.Month]bool{}
	for _, m := range months {
		settled[m] = true
	}
	var problems []string
	byRedemption := map[string][]models.SettlementEvent{}
	lineCount := map[string]int{} // statement lines by redemption
	wantLines := map[string]int{} // statement lines the events of settled months call for, by redemption
	cs, err := st.Communities(ctx, "", 1000)
	if err != nil {
		return chk, nil, err
	}
	for _, c := range cs {
		loc := c.Location()
		partners, err := st.Partners(ctx, c.ID, "", "", 0)
		if err != nil {
			return chk, nil, err
		}
		for _, p := range partners {
			var events []models.SettlementEvent
			err := st.EachSettlementEvent(ctx, p.ID, time.Unix(0, 0), time.Now().AddDate(100, 0, 0), func(e models.SettlementEvent) error {
				events = append(events, e)
				return nil
			})
			if err != nil {
				return chk, nil, err
			}
			for _, e := range events {
				byRedemption[e.RedemptionID] = append(byRedemption[e.RedemptionID], e)
				if settled[models.MonthOf(e.At, loc)] {
					wantLines[e.RedemptionID]++ // lines a redemption's events should have
				}
			}
			byMonth := expectedByMonth(events, loc)
			stored, err := st.Statements(ctx, c.ID, p.ID, "")
			if err != nil {
				return chk, nil, err
			}
			seen := map[models.Month]int{}
			for _, s := range stored {
				seen[s.Month]++
				if !settled[s.Month] {
					problems = append(problems, fmt.Sprintf("statement %s of a month not settled", s.ID))
					continue
				}
				want, ok := byMonth[s.Month]
				if !ok {
					problems = append(problems, fmt.Sprintf("statement %s for a month without events", s.ID))
					continue
				}
				got, err := compareStatement(ctx, st, s, want, lineCount, &chk)
				if err != nil {
					return chk, nil, err
				}
				problems = append(problems, got...)
				chk.Statements++
				chk.Lines += s.Lines
			}
			for m := range byMonth {
				if settled[m] && seen[m] != 1 {
					problems = append(problems, fmt.Sprintf("partner %s month %s: %d statements; want 1", p.Name, m, seen[m]))
				}
			}
		}
	}
	problems = append(problems, checkCredits(credits, byRedemption)...)
	for _, r := range reqs {
		if r.Outcome != accepted || (r.Kind != "scan" && r.Kind != "redeem") {
			continue
		}
		evs := byRedemption[r.Ref]
		switch {
		case r.Kind == "scan" && (len(evs) != 1 || evs[0].Kind != models.EventFulfilled):
			problems = append(problems, fmt.Sprintf("scan %s: redemption %s has events %v; want one fulfilment", r.Key, r.Ref, eventKinds(evs)))
			continue
		case r.Kind == "redeem" && len(credits.steps[r.Ref]) == 0 && len(evs) != 0:
			problems = append(problems, fmt.Sprintf("redeem %s: credit %s never applied has events %v", r.Key, r.Ref, eventKinds(evs)))
			continue
		}
		if lineCount[r.Ref] != wantLines[r.Ref] {
			problems = append(problems, fmt.Sprintf("%s %s: redemption %s on %d statement lines; want %d", r.Kind, r.Key, r.Ref, lineCount[r.Ref], wantLines[r.Ref]))
		}
	}
	return chk, problems, nil
}

// expectedByMonth buckets a partner's events into the statements they
// should make. A reversal is an adjustment when the fulfilment it undoes,
// the last one of its redemption before it, was before the reversal's
// month began (a credit applied again after a void is fulfilled once per
// bill, and each void undoes the latest), or when there is none on record.
func expectedByMonth(events []models.SettlementEvent, loc *time.Location) map[models.Month]*expectedStatement {
	fulfilments := map[string][]time.Time{} // by redemption
	for _, e := range events {
		if e.Kind == models.EventFulfilled {
			fulfilments[e.RedemptionID] = append(fulfilments[e.RedemptionID], e.At)
		}
	}
	undone := func(e models.SettlementEvent) (time.Time, bool) {
		var last time.Time
		for _, t := range fulfilments[e.RedemptionID] {
			if !t.After(e.At) && t.After(last) {
				last = t
			}
		}
		return last, !last.IsZero()
	}
	out := map[models.Month]*expectedStatement{}
	for _, e := range events {
		m := models.MonthOf(e.At, loc)
		x := out[m]
		if x == nil {
			x = &expectedStatement{events: map[string]models.SettlementEvent{}, adjustments: map[string]bool{}}
			out[m] = x
		}
		x.events[e.ID] = e
		if e.Kind == models.EventReversed {
			t, ok := undone(e)
			x.adjustments[e.ID] = e.RedemptionID == "" || !ok || t.Before(m.Start(loc))
		}
		x.total += e.ValueFen
		if e.Bearer == models.BearerPartner {
			x.partner += e.ValueFen
		} else {
			x.community += e.ValueFen
		}
	}
	return out
}

// compareStatement checks one stored statement against its recomputation
// and counts its lines by redemption into lineCount. Lines are matched by
// the event they carry, so a line doubled or dropped shows whatever its id.
func compareStatement(ctx context.Context, st *store.Store, s models.Statement, want *expectedStatement, lineCount map[string]int, chk *statementCheck) ([]string, error) {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, s.ID+": "+fmt.Sprintf(format, args...))
	}
	adjustments := 0
	for _, a := range want.adjustments {
		if a {
			adjustments++
		}
	}
	if s.Lines != len(want.events) || s.Adjustments != adjustments || s.TotalFen != want.total ||
		s.CommunityFen != want.community || s.PartnerFen != want.partner {
		bad("header lines=%d adjustments=%d total=%d community=%d partner=%d; recomputed %d %d %d %d %d",
			s.Lines, s.Adjustments, s.TotalFen, s.CommunityFen, s.PartnerFen,
			len(want.events), adjustments, want.total, want.community, want.partner)
	}
	perEvent := map[string]int{}
	stored := 0
	var sum models.Fen
	err := st.EachStatementLine(ctx, s.ID, func(l models.StatementLine) error {
		stored++
		perEvent[l.Event.ID]++
		sum += l.Event.ValueFen
		lineCount[l.Event.RedemptionID]++
		if l.Event.Kind == models.EventReversed {
			chk.Reversals++
		}
		if l.Adjustment {
			chk.Adjustments++
		}
		e, ok := want.events[l.Event.ID]
		switch {
		case !ok:
			bad("line %s carries event %s, not one of the month's", l.ID, l.Event.ID)
		case l.ID != models.StatementLineID(s.PartnerID, s.Month, e.ID):
			bad("line %s for event %s has another id than the settlement's key", l.ID, e.ID)
		case l.Event.ValueFen != e.ValueFen || l.Event.Bearer != e.Bearer || !l.Event.At.Equal(e.At) ||
			l.Event.Kind != e.Kind || l.Event.RedemptionID != e.RedemptionID:
			bad("line %s differs from its event %s", l.ID, e.ID)
		case l.Adjustment != want.adjustments[e.ID]:
			bad("line %s adjustment=%v; recomputed %v", l.ID, l.Adjustment, want.adjustments[e.ID])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var odd []string
	for id := range want.events {
		if perEvent[id] != 1 {
			odd = append(odd, fmt.Sprintf("event %s on %d lines", id, perEvent[id]))
		}
	}
	sort.Strings(odd)
	for _, o := range odd {
		bad("%s", o)
	}
	if stored != s.Lines || sum != s.TotalFen {
		bad("%d lines stored adding up to %d; the header says %d lines, %d", stored, sum, s.Lines, s.TotalFen)
	}
	return problems, nil
}
