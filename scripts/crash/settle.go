package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
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

// settleResult is what a settlement process did: the months it finished, and its error.
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

// newSettler returns a settler that runs the binary's settlement on data with its clock
// starting at clock.
func newSettler(bin, data, clock string) *settler {
	return &settler{
		bin:     bin,
		data:    data,
		clock:   clock,
		started: make(chan struct{}),
	}
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

// kill kills the settlement process in flight, if any, and marks the settler killed so it
// starts no more.
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

// Write keeps p and reads every whole log line in it, noting when the job started and
// finished and the statements it found already written.
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
	// the statements mark as about an earlier month, Late the lines of
	// events recorded after their own month was settled, carried by a
	// later month's statement.
	Reversals, Adjustments, Late int
}

// lateMargin is how close to the end of its month an event may be recorded
// and still miss that month's statement (the settlement's own margin).
const lateMargin = time.Hour

// checkStatements checks, apart from the settlement code, that every
// settlement event is on exactly one statement, and each statement adds up:
// it reads each partner's events over all time and every statement's lines,
// and finds each event on exactly one line (every month up to the last
// start's is settled, on a clock after every event was recorded), on the
// statement of its own month or, if it was recorded after that month was
// settled, of a later one as an adjustment; each line carries its event's
// value under the event's key; each header's counts and totals equal its
// lines; no month outside months has a statement. Every acknowledged
// merchant scan must have one fulfilment event, and every fee credit the
// events of its acknowledged applies and voids (checkCredits); every event
// of a redemption, one statement line.
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
	// The service keeps its data keys in the data folder (store/sealed_local.go).
	keys, err := store.LocalDataKeys(data)
	if err != nil {
		return chk, nil, err
	}
	st.UseDataKeys(keys)
	defer st.Close(context.WithoutCancel(ctx))

	settled := map[models.Month]bool{}
	for _, m := range months {
		settled[m] = true
	}
	var problems []string
	byRedemption := map[string][]models.SettlementEvent{}
	lineCount := map[string]int{} // statement lines by redemption
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
			}
			var stored []models.Statement
			for cursor := ""; ; {
				page, next, err := st.Statements(ctx, c.ID, p.ID, "", cursor, 100)
				if err != nil {
					return chk, nil, err
				}
				stored = append(stored, page...)
				if next == "" {
					break
				}
				cursor = next
			}
			placed := map[string][]models.Month{} // statements' months by event id
			x := newExpected(events)
			for _, s := range stored {
				if !settled[s.Month] {
					problems = append(problems, fmt.Sprintf("statement %s of a month not settled", s.ID))
					continue
				}
				got, err := compareStatement(ctx, st, s, x, loc, placed, lineCount, &chk)
				if err != nil {
					return chk, nil, err
				}
				problems = append(problems, got...)
				chk.Statements++
				chk.Lines += s.Lines
			}
			for _, e := range events {
				ms := placed[e.ID]
				if len(ms) != 1 {
					problems = append(problems, fmt.Sprintf("partner %s: event %s (%s, %s) on %d statements %v; want exactly one",
						p.Name, e.ID, e.Kind, e.At.In(loc).Format(time.DateTime), len(ms), ms))
					continue
				}
				own, on := models.MonthOf(e.At, loc), ms[0]
				later := own.String() < on.String() // "2026-10" < "2026-11"
				switch {
				case on.String() < own.String():
					problems = append(problems, fmt.Sprintf("event %s of %s on the statement of %s, before it", e.ID, own, on))
				case later && !e.Recorded.IsZero() && e.Recorded.Before(own.End(loc).Add(-lateMargin)):
					problems = append(problems, fmt.Sprintf("event %s of %s recorded in time (%s) is on the statement of %s",
						e.ID, own, e.Recorded.In(loc).Format(time.DateTime), on))
				case later:
					chk.Late++
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
		if lineCount[r.Ref] != len(evs) {
			problems = append(problems, fmt.Sprintf("%s %s: redemption %s on %d statement lines; want %d, one per event", r.Kind, r.Key, r.Ref, lineCount[r.Ref], len(evs)))
		}
	}
	return chk, problems, nil
}

// expected is what the harness knows of a partner's events: each by id,
// and when the fulfilment each reversal undoes took place.
type expected struct {
	events map[string]models.SettlementEvent
	undone map[string]time.Time // by reversal id; absent when none is on record
}

// newExpected reads a partner's events. A reversal undoes the last
// fulfilment of its redemption before it (a credit applied again after a
// void is fulfilled once per bill, and each void undoes the latest).
func newExpected(events []models.SettlementEvent) expected {
	x := expected{events: map[string]models.SettlementEvent{}, undone: map[string]time.Time{}}
	fulfilments := map[string][]time.Time{} // by redemption
	for _, e := range events {
		x.events[e.ID] = e
		if e.Kind == models.EventFulfilled {
			fulfilments[e.RedemptionID] = append(fulfilments[e.RedemptionID], e.At)
		}
	}
	for _, e := range events {
		if e.Kind != models.EventReversed || e.RedemptionID == "" {
			continue
		}
		var last time.Time
		for _, t := range fulfilments[e.RedemptionID] {
			if !t.After(e.At) && t.After(last) {
				last = t
			}
		}
		if !last.IsZero() {
			x.undone[e.ID] = last
		}
	}
	return x
}

// adjustment says whether e is an adjustment on the statement of the month
// that starts at start: an event of an earlier month, or a reversal of a
// fulfilment before start (or of none on record).
func (x expected) adjustment(e models.SettlementEvent, start time.Time) bool {
	if e.At.Before(start) {
		return true
	}
	if e.Kind != models.EventReversed {
		return false
	}
	t, ok := x.undone[e.ID]
	return !ok || t.Before(start)
}

// compareStatement checks one stored statement's lines against the events
// they carry and its header against its lines, notes the month of each
// event it carries in placed and counts its lines by redemption into
// lineCount. Lines are matched by the event they carry, so a line doubled
// shows whatever its id.
func compareStatement(ctx context.Context, st *store.Store, s models.Statement, x expected, loc *time.Location,
	placed map[string][]models.Month, lineCount map[string]int, chk *statementCheck) ([]string, error) {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, s.ID+": "+fmt.Sprintf(format, args...))
	}
	start := s.Month.Start(loc)
	var stored, adjustments int
	var sum, community, partner models.Fen
	err := st.EachStatementLine(ctx, s.ID, func(l models.StatementLine) error {
		stored++
		lineCount[l.Event.RedemptionID]++
		if l.Event.Kind == models.EventReversed {
			chk.Reversals++
		}
		if l.Adjustment {
			chk.Adjustments++
			adjustments++
		}
		e, ok := x.events[l.Event.ID]
		if !ok {
			bad("line %s carries event %s, not one of the partner's", l.ID, l.Event.ID)
			return nil
		}
		placed[e.ID] = append(placed[e.ID], s.Month)
		sum += e.ValueFen
		if e.Bearer == models.BearerPartner {
			partner += e.ValueFen
		} else {
			community += e.ValueFen
		}
		switch {
		case l.ID != models.StatementLineID(e.ID):
			bad("line %s for event %s has another id than the event's key", l.ID, e.ID)
		case l.Event.ValueFen != e.ValueFen || l.Event.Bearer != e.Bearer || !l.Event.At.Equal(e.At) ||
			l.Event.Kind != e.Kind || l.Event.RedemptionID != e.RedemptionID:
			bad("line %s differs from its event %s", l.ID, e.ID)
		case l.Adjustment != x.adjustment(e, start):
			bad("line %s adjustment=%v; recomputed %v", l.ID, l.Adjustment, x.adjustment(e, start))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if stored == 0 {
		bad("a statement without lines")
	}
	if s.Lines != stored || s.Adjustments != adjustments || s.TotalFen != sum ||
		s.CommunityFen != community || s.PartnerFen != partner {
		bad("header lines=%d adjustments=%d total=%d community=%d partner=%d; its lines %d %d %d %d %d",
			s.Lines, s.Adjustments, s.TotalFen, s.CommunityFen, s.PartnerFen,
			stored, adjustments, sum, community, partner)
	}
	return problems, nil
}
