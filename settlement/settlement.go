package settlement

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"golang.org/x/sync/errgroup"
)

// Store is what the monthly settlement, the statements and the
// liability report need from the database.
type Store interface {
	// Communities lists communities by id after the id after, at most limit.
	Communities(ctx context.Context, after string, limit int) ([]models.Community, error)
	// Partners lists a community's partners (kind "" for all) by id.
	Partners(ctx context.Context, communityID string, kind models.PartnerKind, after string, limit int) ([]models.Partner, error)
	// EachSettlementEvent streams a partner's events with from <= At < to
	// in time order.
	EachSettlementEvent(ctx context.Context, partnerID string, from, to time.Time, fn func(models.SettlementEvent) error) error
	// EachStatementCandidate streams a partner's events whose At falls in
	// month m (in loc), and those recorded late (RecordedLate) with At
	// before m and lateFrom <= Recorded <= lateTo, reading the partner's
	// lists, not every event.
	EachStatementCandidate(ctx context.Context, partnerID string, m models.Month, loc *time.Location, lateFrom, lateTo time.Time, fn func(models.SettlementEvent) error) error
	// SettlementEvent returns the event with id, or models.ErrNotFound.
	SettlementEvent(ctx context.Context, id string) (models.SettlementEvent, error)
	// BeginSettlement records once when statement id's settlement began
	// and returns the first such time.
	BeginSettlement(ctx context.Context, id string, at time.Time) (time.Time, error)
	// ClaimStatementLines adds lines, each on its statement's list of
	// lines, and returns those that stand in their statement: the new ones
	// and those already written for the same statement; a line already
	// written for another statement is left out. resumed says another run
	// of the statement began first (its lines are looked up first).
	ClaimStatementLines(ctx context.Context, lines []models.StatementLine, resumed bool) ([]models.StatementLine, error)
	// InsertStatement adds a header; models.ErrConflict if it exists.
	InsertStatement(ctx context.Context, st models.Statement) error
	// Statement returns the statement with id, or models.ErrNotFound.
	Statement(ctx context.Context, id string) (models.Statement, error)
	// Statements is a page of a community's statements newest first,
	// narrowed to a partner and a month when they are not "", and the
	// cursor of the next page ("" at the end).
	Statements(ctx context.Context, communityID, partnerID, month, cursor string, limit int) ([]models.Statement, string, error)
	// InsertStatementTransition records a status change; models.ErrConflict
	// if the statement reached that status before.
	InsertStatementTransition(ctx context.Context, t models.StatementTransition) error
	// EachStatementLine streams a statement's lines in time order.
	EachStatementLine(ctx context.Context, statementID string, fn func(models.StatementLine) error) error
	// StatementLines is a page of a statement's lines newest first, and
	// the cursor of the next page ("" at the end).
	StatementLines(ctx context.Context, statementID, cursor string, limit int) ([]models.StatementLine, string, error)
	// EachPointsAccount streams every account that holds points.
	EachPointsAccount(ctx context.Context, fn func(models.Account) error) error
	// EachResident streams a community's residents.
	EachResident(ctx context.Context, communityID string, fn func(models.Resident) error) error
	// RoleHolders is every resident of a community who holds role now
	// (not resident) and is not erased, read from the role's list.
	RoleHolders(ctx context.Context, communityID string, roles ...models.Role) ([]models.Resident, error)

	// The liability job's state (SummariseLiability): each points
	// account's summary by resident, and each community's totals
	// (models.ErrNotFound before the first run).
	LiabilityAccounts(ctx context.Context, communityID string) (map[string]ledger.Summary, error)
	SaveLiabilityAccount(ctx context.Context, communityID string, sum ledger.Summary) error
	LiabilitySummary(ctx context.Context, communityID string) (models.LiabilitySummary, error)
	SaveLiabilitySummary(ctx context.Context, l models.LiabilitySummary) error
	// SaveLiabilityDay keeps l as the community's liability on day
	// (YYYYMMDD, community time); LiabilityDays reads the days that have
	// one, by day.
	SaveLiabilityDay(ctx context.Context, day string, l models.LiabilitySummary) error
	LiabilityDays(ctx context.Context, communityID string, days []string) (map[string]models.LiabilitySummary, error)
	// CloseLiabilityMonth keeps a month's saved days (YYYYMM) as one
	// document, once the month is over and none of them changes again.
	CloseLiabilityMonth(ctx context.Context, communityID, month string) error
	// PartnerMonthTotals returns the totals of a partner's settlement
	// events in a month (business time, the community's zone): the
	// liability job's count and the events listed since; CountPartnerMonth
	// is the job's step that brings the count up to date.
	PartnerMonthTotals(ctx context.Context, partnerID string, m models.Month) (models.StatementTotals, error)
	CountPartnerMonth(ctx context.Context, partnerID string, m models.Month, now time.Time) (models.StatementTotals, error)
}

// HeldPoints says how many points of a community are held by redemptions
// that are neither fulfilled nor given back. The rewards feature, which
// owns redemptions, supplies it.
type HeldPoints interface {
	HeldPoints(ctx context.Context, communityID string, now time.Time) (int64, error)
}

// Service produces partners' monthly statements, expires points and
// reports a community's points liability.
type Service struct {
	store    Store
	ledger   *ledger.Ledger
	people   community.People
	policies community.PolicySource
	trail    community.AuditTrail
	held     HeldPoints
	now      func() time.Time
	notify   community.Notifier
	// closedThrough is, per community, the newest liability month this
	// process closed with every month before it that a series reaches
	// (closeLiabilityMonths): one entry per community, as each run needs
	// to know only whether a newer month is due.
	closedThrough sync.Map
}

// New returns the settlement service.
func New(d Deps) *Service {
	community.MustNotify("settlement", d.Notify)
	s := &Service{
		store:    d.Store,
		ledger:   d.Ledger,
		people:   d.People,
		policies: d.Policies,
		trail:    d.Trail,
		held:     d.Held,
		now:      d.Now,
		notify:   d.Notify,
	}
	return s
}

// Deps are what the settlement service is built on, by name.
type Deps struct {
	Store    Store
	Ledger   *ledger.Ledger
	People   community.People
	Policies community.PolicySource
	Trail    community.AuditTrail
	Held     HeldPoints // the points held by open redemptions (package rewards)
	Now      func() time.Time
	Notify   community.Notifier // tells partners a statement is ready; required (community.NoNotifier{} tells no one)
}

// Lines are written in batches of lineBatch, at most lineWriters batches at
// once: inserts are the cost of a settlement, and a few batches in flight
// keep memory bounded whatever the month's size.
const (
	lineBatch   = 200
	lineWriters = 2
)

// SettleCounts says what a settlement run did.
type SettleCounts struct {
	Communities int
	Statements  int // written by this run
	Existing    int // found already settled
	Empty       int // partners with nothing to settle
	Lines       int // lines of the statements written by this run
}

// Map is the counts as a job run records them.
func (n SettleCounts) Map() map[string]int {
	return map[string]int{
		"communities": n.Communities,
		"statements":  n.Statements,
		"existing":    n.Existing,
		"empty":       n.Empty,
		"lines":       n.Lines,
	}
}

// SettleMonth produces, for every partner of every community, the
// statement of month m. It is safe to repeat and to run on two replicas at
// once: each statement is produced once (see SettlePartner). A month that
// has not ended in a community's time zone is refused, since events may
// still be added to it.
func (s *Service) SettleMonth(ctx context.Context, m models.Month) (SettleCounts, error) {
	var n SettleCounts
	var stopped error // the error a community stopped the walk with
	err := community.Each(ctx, s.store, func(c models.Community) error {
		stopped = s.settleCommunity(ctx, c, m, &n)
		return stopped
	})
	if err != nil && stopped == nil {
		return n, fmt.Errorf("settle: %w", err) // listing the communities
	}
	return n, err
}

// settleCommunity is SettleMonth for community c, adding what it did to n.
func (s *Service) settleCommunity(ctx context.Context, c models.Community, m models.Month, n *SettleCounts) error {
	if s.now().Before(m.End(c.Location())) {
		return models.ErrValidation.Withf("%s 月份还没有结束，不能处理。", "month %s is not over yet", m)
	}
	partners, err := s.store.Partners(ctx, c.ID, "", "", 0)
	if err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	for _, p := range partners {
		st, created, err := s.SettlePartner(ctx, c, p, m)
		switch {
		case err != nil:
			return err
		case st.ID == "":
			n.Empty++
		case created:
			n.Statements++
			n.Lines += st.Lines
		default:
			n.Existing++
		}
	}
	n.Communities++
	return nil
}

// SettlePartner produces partner p's statement for month m, or returns the
// one produced before (created false); a month with nothing to settle gives
// no statement (zero Statement).
//
// A statement counts every event of m recorded before its settlement began
// (the first run's time, kept by BeginSettlement, so a resumed or
// concurrent run takes the same cut-off), and, as adjustment lines naming
// their own business dates, the events of earlier months recorded too late
// for their own month's statement (a catch-up after a crash records an
// event at its business time, in a month that may be settled already).
// Each event's line is keyed by the event alone and is its claim: an event
// already on another statement is left out, so it is on exactly one.
// Each line is written after its slot on the statement's list of lines,
// which GET /statements/{id} pages (docs/PERFORMANCE.md, "Lists"); a slot
// a dead or concurrent run left naming nothing is skipped by readers. The
// lines are written first, then the header under its own key: the header
// is the commit point. A run that died between the two is resumed by the
// next, which finds its own claims and sums the same events; two runs at
// once both write the same lines and one header insert wins (scheduled
// runs hold the job's lease besides). Events are streamed and only totals
// kept, so memory does not grow with the month's size.
func (s *Service) SettlePartner(ctx context.Context, c models.Community, p models.Partner, m models.Month) (models.Statement, bool, error) {
	id := models.StatementID(p.ID, m)
	if st, err := s.store.Statement(ctx, id); err == nil {
		// A run that died after the header and before telling the
		// partner is finished here.
		s.statementReady(ctx, st)
		return st, false, nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return models.Statement{}, false, fmt.Errorf("settle %s: %w", id, err)
	}
	stamp := s.now().UTC().Truncate(time.Millisecond)
	begun, err := s.store.BeginSettlement(ctx, id, stamp)
	if err != nil {
		return models.Statement{}, false, fmt.Errorf("settle %s: %w", id, err)
	}
	// Another run began first (one that died, or one running now): its
	// lines are looked up before they are written.
	resumed := !begun.Equal(stamp)
	loc := c.Location()
	start := m.Start(loc)
	var (
		mu     sync.Mutex
		totals models.StatementTotals
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lineWriters)
	batch := make([]models.StatementLine, 0, lineBatch)
	flush := func() {
		b := batch
		g.Go(func() error {
			taken, err := s.store.ClaimStatementLines(gctx, b, resumed)
			mu.Lock()
			defer mu.Unlock()
			for _, l := range taken {
				totals.Add(l)
			}
			return err
		})
		batch = make([]models.StatementLine, 0, lineBatch)
	}
	add := func(e models.SettlementEvent) error {
		adj, err := s.isAdjustment(gctx, e, start)
		if err != nil {
			return err
		}
		batch = append(batch, models.StatementLine{
			ID:          models.StatementLineID(e.ID),
			StatementID: id,
			Event:       e,
			Adjustment:  adj,
		})
		if len(batch) == lineBatch {
			flush()
		}
		return nil
	}
	err = s.store.EachStatementCandidate(gctx, p.ID, m, loc, start.Add(-models.SettlementLateMargin), begun, func(e models.SettlementEvent) error {
		switch {
		case e.Recorded.After(begun):
			return nil // recorded after this settlement began: the next statement's
		case e.At.Before(start) && !e.RecordedLate(loc):
			return nil // recorded in time for its own month's statement
		}
		return add(e)
	})
	if err == nil && len(batch) > 0 {
		flush()
	}
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return models.Statement{}, false, fmt.Errorf("settle %s: %w", id, err)
	}
	if totals.Lines == 0 {
		return models.Statement{}, false, nil
	}
	st := models.Statement{
		ID:           id,
		CommunityID:  c.ID,
		PartnerID:    p.ID,
		PartnerName:  p.Name,
		Month:        m,
		Lines:        totals.Lines,
		Adjustments:  totals.Adjustments,
		TotalFen:     totals.Total,
		CommunityFen: totals.Community,
		PartnerFen:   totals.Partner,
		Status:       models.StatementDraft,
		Created:      s.now().UTC().Truncate(time.Millisecond),
	}
	err = s.store.InsertStatement(ctx, st)
	if errors.Is(err, models.ErrConflict) {
		// Another run finished first: its statement is the one. Both took
		// the same cut-off, so they counted the same lines, unless a write
		// stamped before it landed between their reads: then a line of this
		// statement is not in its header, and the run says so.
		mine := st
		if st, err = s.store.Statement(ctx, id); err != nil {
			return models.Statement{}, false, fmt.Errorf("settle %s: %w", id, err)
		}
		if st.Lines != mine.Lines || st.TotalFen != mine.TotalFen {
			return st, false, fmt.Errorf("settle %s: written with %d lines (%d fen), this run counted %d (%d fen): check its lines",
				id, st.Lines, st.TotalFen, mine.Lines, mine.TotalFen)
		}
		s.statementReady(ctx, st)
		return st, false, nil
	}
	if err != nil {
		return models.Statement{}, false, fmt.Errorf("settle %s: %w", id, err)
	}
	s.statementReady(ctx, st)
	return st, true, nil
}

// statementReady tells the partner's logins that st is ready to confirm.
func (s *Service) statementReady(ctx context.Context, st models.Statement) {
	s.tellAbout(ctx, st, models.NoticeStatementReady, partnerRoles, partnerOf(st.PartnerID))
}

// tellAbout tells the holders of roles in st's community that tell picks
// of st (kind): once per statement and reader, however many runs or
// repeats get here. It reads the roles' lists (store RoleHolders), so it
// costs the holders, not the community's residents. It never fails its
// caller: readers that could not be listed (a store failure, counted by
// the store's error metric) are told by the next run or repeat that
// reaches it.
func (s *Service) tellAbout(ctx context.Context, st models.Statement, kind models.NoticeKind, roles []models.Role, tell func(models.Resident) bool) {
	holders, err := s.store.RoleHolders(ctx, st.CommunityID, roles...)
	if err != nil {
		return
	}
	for _, r := range holders {
		if !tell(r) {
			continue
		}
		s.notify.Notify(ctx, models.Notice{
			Kind:        kind,
			EventID:     st.ID,
			Recipient:   r.ID,
			CommunityID: st.CommunityID,
			Args: map[string]string{
				"month":   st.Month.String(),
				"amount":  yuanText(st.TotalFen),
				"partner": st.PartnerName,
			},
			Link: "/statements/" + st.ID,
		})
	}
}

// yuanText writes fen as yuan with two decimals ("1234.50"), in integers.
func yuanText(f models.Fen) string {
	sign, n := "", int64(f)
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// isAdjustment reports whether e is about a month before the one that
// starts at start, which is already closed: an event of that month recorded
// late, or a refund or void of a redemption fulfilled then. A reversal
// names the fulfilment it undoes (a fee credit applied again after a void
// is fulfilled once per bill, and voiding the second bill within its own
// month corrects nothing closed, whenever the first bill was). A reversal
// with no recorded fulfilment is taken as an adjustment too.
func (s *Service) isAdjustment(ctx context.Context, e models.SettlementEvent, start time.Time) (bool, error) {
	if e.At.Before(start) {
		return true, nil
	}
	if e.Kind != models.EventReversed {
		return false, nil
	}
	if e.Undoes == "" {
		return true, nil
	}
	f, err := s.store.SettlementEvent(ctx, e.Undoes)
	if errors.Is(err, models.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return f.At.Before(start), nil
}

// wrapIf returns err wrapped with op, or nil when err is nil.
func wrapIf(err error, op string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

// --- statements ---

// seesPartner reports whether p speaks for partner partnerID: a partner
// login of that company or a clerk of that merchant.
func seesPartner(p models.Principal, partnerID string) bool {
	return (p.Has(models.RolePartner) && p.PartnerID != "" && p.PartnerID == partnerID) ||
		(p.Has(models.RoleMerchantClerk) && p.MerchantID != "" && p.MerchantID == partnerID)
}

// ownPartner is the partner p speaks for, or "".
func ownPartner(p models.Principal) string {
	switch {
	case p.Has(models.RolePartner) && p.PartnerID != "":
		return p.PartnerID
	case p.Has(models.RoleMerchantClerk) && p.MerchantID != "":
		return p.MerchantID
	}
	return ""
}

// visibleStatement loads a statement p may read: staff of its community,
// or the partner it is for. Another community's statement is not found.
func (s *Service) visibleStatement(ctx context.Context, p models.Principal, id string) (models.Statement, error) {
	st, err := s.store.Statement(ctx, id)
	if err != nil {
		return models.Statement{}, err
	}
	if st.CommunityID != p.CommunityID {
		return models.Statement{}, models.ErrNotFound
	}
	if !p.IsStaff() && !seesPartner(p, st.PartnerID) {
		return models.Statement{}, models.ErrForbidden
	}
	return st, nil
}

// Statements is one page of the statements p may read, newest first, of
// month when it is set: all of the community's for staff, narrowed to
// partnerID when that is set; a partner's own otherwise. At most limit are
// read below cursor ("" for the first page); next is the cursor of the
// next page ("" at the end).
func (s *Service) Statements(ctx context.Context, p models.Principal, partnerID, month, cursor string, limit int) ([]models.Statement, string, error) {
	if month != "" {
		m, err := models.ParseMonth(month)
		if err != nil {
			return nil, "", err
		}
		month = m.String()
	}
	if !p.IsStaff() {
		own := ownPartner(p)
		if own == "" || (partnerID != "" && partnerID != own) {
			return nil, "", models.ErrForbidden
		}
		partnerID = own
	}
	if p.CommunityID == "" {
		return nil, "", models.ErrForbidden
	}
	return s.store.Statements(ctx, p.CommunityID, partnerID, month, cursor, limit)
}

// Statement returns a statement p may read and one page of its lines,
// newest first: at most limit read below cursor ("" for the first page),
// and the cursor of the next page ("" at the end).
func (s *Service) Statement(ctx context.Context, p models.Principal, id, cursor string, limit int) (models.Statement, []models.StatementLine, string, error) {
	st, err := s.visibleStatement(ctx, p, id)
	if err != nil {
		return models.Statement{}, nil, "", fmt.Errorf("statement: %w", err)
	}
	lines, next, err := s.store.StatementLines(ctx, id, cursor, limit)
	if err != nil {
		return models.Statement{}, nil, "", fmt.Errorf("statement: %w", err)
	}
	return st, lines, next, nil
}

// Confirm records that the partner agrees with its statement. Only the
// partner it is for may; confirming again returns the statement as it is.
func (s *Service) Confirm(ctx context.Context, p models.Principal, id string) (models.Statement, error) {
	st, err := s.visibleStatement(ctx, p, id)
	if err != nil {
		return models.Statement{}, fmt.Errorf("confirm: %w", err)
	}
	if !seesPartner(p, st.PartnerID) {
		return models.Statement{}, fmt.Errorf("confirm: only the partner confirms its statement: %w", models.ErrForbidden)
	}
	return s.transition(ctx, p, st, models.StatementConfirmed)
}

// MarkPaid records that staff paid (or collected) a confirmed statement;
// marking it again returns the statement as it is.
func (s *Service) MarkPaid(ctx context.Context, p models.Principal, id string) (models.Statement, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.Statement{}, fmt.Errorf("mark paid: %w", err)
	}
	st, err := s.visibleStatement(ctx, p, id)
	if err != nil {
		return models.Statement{}, fmt.Errorf("mark paid: %w", err)
	}
	if st.Status == models.StatementDraft {
		return models.Statement{}, models.ErrConflict.Withf("合作方尚未确认这份结算单。", "the partner has not confirmed this statement yet")
	}
	return s.transition(ctx, p, st, models.StatementPaid)
}

// transition inserts the keyed status record; a second one of the same
// status loses and the statement is read back as it stands.
func (s *Service) transition(ctx context.Context, p models.Principal, st models.Statement, to models.StatementStatus) (models.Statement, error) {
	err := s.store.InsertStatementTransition(ctx, models.StatementTransition{
		StatementID: st.ID,
		Status:      to,
		By:          p.ResidentID,
		At:          s.now().UTC().Truncate(time.Millisecond),
	})
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return models.Statement{}, fmt.Errorf("statement %s: %w", to, err)
	}
	if st, err = s.store.Statement(ctx, st.ID); err != nil {
		return models.Statement{}, fmt.Errorf("statement %s: %w", to, err)
	}
	// Recorded from the transition that won, on every repeat too, so a
	// crash between the two is mended by the retry.
	by, at := st.ConfirmedBy, st.ConfirmedAt
	if to == models.StatementPaid {
		by, at = st.PaidBy, st.PaidAt
	}
	err = s.trail.RecordAudit(ctx, models.AuditRecord{
		ID:          once.AuditStatement(st.ID, string(to)),
		CommunityID: st.CommunityID,
		Actor:       by,
		Action:      "statement." + string(to),
		Subject:     st.PartnerID,
		Amount:      int64(st.TotalFen),
		Ref:         st.ID,
		At:          at,
	})
	// Staff hear that the partner confirmed; the partner that it was paid.
	// On every repeat too, written once per statement and reader.
	kind, roles, tell := models.NoticeStatementConfirmed, staffRoles, everyHolder
	if to == models.StatementPaid {
		kind, roles, tell = models.NoticeStatementPaid, partnerRoles, partnerOf(st.PartnerID)
	}
	s.tellAbout(ctx, st, kind, roles, tell)
	return st, wrapIf(err, "statement "+string(to)+": audit trail")
}

// staffRoles are the roles of the community's staff and admins, who hear
// that a partner confirmed its statement.
var staffRoles = []models.Role{models.RoleStaff, models.RoleAdmin}

// partnerRoles are the roles of a partner's logins: a company's partner
// login and a merchant's clerks.
var partnerRoles = []models.Role{models.RolePartner, models.RoleMerchantClerk}

// everyHolder tells every holder of the roles read.
func everyHolder(models.Resident) bool { return true }

// partnerOf matches the logins of partner: its partner login and, for a
// merchant, its clerks.
func partnerOf(partner string) func(models.Resident) bool {
	return func(r models.Resident) bool { return r.PartnerID == partner || r.MerchantID == partner }
}
