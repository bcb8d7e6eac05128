package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/store"
)

// The community-decade's other history, written through the services:
// ten years of the shop's monthly statements (confirmed and paid but the
// last two), of the honour roll and of the building heads' duties and
// allowances.
const (
	historyMonths      = 120 // statements: the 119 months before last month, and last month's (the bench settles it)
	statementEvents    = 20  // the shop's fulfilments in each earlier month
	lastStatementLines = 200 // in the month before last, so its lines fill pages
	honourYears        = 10
	honourPerYear      = 50 // residents nominated each year and listed after the notice
	dutiesPerMonth     = 3  // logged by each building head and confirmed by staff
)

// historyDeps is what writing the history needs from generate.
type historyDeps struct {
	st        *store.Store
	ledger    *ledger.Ledger
	policies  *policy.Service
	heads     honour.HeadAppointer
	staff     models.Principal
	clerk     models.Principal // the shop's clerk, who confirms its statements
	shopID    string
	rewardID  string
	residents []string
	buildings []string
	lastMonth models.Month
	loc       *time.Location
}

// historyCounts is what writeHistory wrote.
type historyCounts struct {
	statements, honourEntries, duties int
	statementID                       string        // the month before last's, with lastStatementLines lines
	lastAllowances                    time.Duration // the allowance job's run for the month before last
}

// movableClock is the clock of the services that write the past: its time
// when set, else the wall clock.
type movableClock struct {
	mu sync.Mutex
	at time.Time
}

// now returns the clock's time.
func (c *movableClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now()
	}
	return c.at
}

// set moves the clock to at; the zero time gives it back the wall clock.
func (c *movableClock) set(at time.Time) {
	c.mu.Lock()
	c.at = at
	c.mu.Unlock()
}

// writeHistory writes the statements, the honour roll and the duties of
// the ten years before last month, oldest first, as the monthly jobs and
// the staff would have.
func writeHistory(ctx context.Context, h historyDeps, progress func(string)) (historyCounts, error) {
	var n historyCounts
	first := h.lastMonth
	for range historyMonths - 1 {
		first = first.Previous()
	}
	var months []models.Month // the 119 months before last month, oldest first
	for m := first; m != h.lastMonth; m = m.Next() {
		months = append(months, m)
	}

	progress("statements of earlier months")
	settle := settlement.New(settlement.Deps{
		Store:    h.st,
		Ledger:   h.ledger,
		People:   h.st,
		Policies: h.policies,
		Trail:    h.st,
		Now:      time.Now,
		Notify:   community.NoNotifier{},
	})
	for k, m := range months {
		count := statementEvents
		if k == len(months)-1 {
			count = lastStatementLines
		}
		from := m.Start(h.loc)
		if err := parallel(count, func(i int) error {
			return h.st.RecordSettlementEvent(ctx, models.SettlementEvent{
				ID:           fmt.Sprintf("fulfil:gen%s-%d", m, i),
				CommunityID:  h.staff.CommunityID,
				PartnerID:    h.shopID,
				Kind:         models.EventFulfilled,
				RedemptionID: fmt.Sprintf("gen%s-%d", m, i),
				RewardID:     h.rewardID,
				ResidentID:   h.residents[i%len(h.residents)],
				Description:  "豆浆油条",
				ValueFen:     500,
				Bearer:       models.BearerPartner,
				At:           from.Add(time.Duration(i) * time.Hour),
			})
		}); err != nil {
			return n, fmt.Errorf("events of %s: %w", m, err)
		}
		t0 := time.Now()
		counts, err := settle.SettleMonth(ctx, m)
		if err != nil {
			return n, fmt.Errorf("settle %s: %w", m, err)
		}
		n.statements += counts.Statements
		// The shop confirmed and the office paid each statement but the
		// last two, as they would have.
		if k < len(months)-2 {
			id := models.StatementID(h.shopID, m)
			if _, err := settle.Confirm(ctx, h.clerk, id); err != nil {
				return n, fmt.Errorf("confirm %s: %w", id, err)
			}
			if _, err := settle.MarkPaid(ctx, h.staff, id); err != nil {
				return n, fmt.Errorf("pay %s: %w", id, err)
			}
		}
		if k%12 == 11 || k == len(months)-1 {
			progress(fmt.Sprintf("statements: %s settled in %s", m, time.Since(t0).Round(time.Millisecond)))
		}
	}
	n.statementID = models.StatementID(h.shopID, months[len(months)-1])

	clock := &movableClock{}
	hs := honour.New(honour.Deps{
		Store:    h.st,
		Ledger:   h.ledger,
		Policies: h.policies,
		Heads:    h.heads,
		NewID:    randomHex8,
		Now:      clock.now,
		Notify:   community.NoNotifier{},
	})
	defer clock.set(time.Time{})

	progress("honour roll")
	// A batch a year, the last nominated two months ago, so this year's
	// entries are on the board and the earlier ones have expired.
	for j := range honourYears {
		nominated := time.Now().AddDate(j-honourYears+1, -2, 0)
		clock.set(nominated)
		if err := parallel(honourPerYear, func(i int) error {
			_, err := hs.Nominate(ctx, h.staff, honour.Nomination{
				ResidentID: h.residents[(j*honourPerYear+i)%len(h.residents)],
				Category:   models.HonourCategories[i%len(models.HonourCategories)],
				Reason:     "生成的历史",
			})
			return err
		}); err != nil {
			return n, fmt.Errorf("honour %d: %w", nominated.Year(), err)
		}
		listAt := nominated.AddDate(0, 1, 0)
		clock.set(listAt)
		listed, _, _, err := hs.ListDue(ctx, listAt)
		if err != nil {
			return n, fmt.Errorf("honour listing %d: %w", nominated.Year(), err)
		}
		n.honourEntries += listed
	}
	clock.set(time.Time{})
	if _, err := hs.ExpireDue(ctx, time.Now()); err != nil {
		return n, fmt.Errorf("honour expiry: %w", err)
	}

	progress("building heads' duties and allowances")
	clock.set(first.Start(h.loc))
	heads := make([]string, len(h.buildings))
	for b, building := range h.buildings {
		heads[b] = h.residents[len(h.residents)-1-b]
		if _, err := hs.Appoint(ctx, h.staff, honour.Appointment{
			Role:       models.HeadBuilding,
			BuildingID: building,
			ResidentID: heads[b],
		}); err != nil {
			return n, fmt.Errorf("appoint: %w", err)
		}
	}
	clock.set(time.Time{})
	checklist := models.DefaultPolicy(h.staff.CommunityID).DutyChecklist
	for k, m := range months {
		var mu sync.Mutex
		var ids []string
		tLog := time.Now()
		if err := parallel(len(heads)*dutiesPerMonth, func(i int) error {
			head := models.Principal{
				ResidentID:  heads[i/dutiesPerMonth],
				CommunityID: h.staff.CommunityID,
				Roles:       []models.Role{models.RoleResident, models.RoleBuildingHead},
			}
			d, err := hs.LogDuty(ctx, head, honour.DutyLog{
				Month:    m.String(),
				Duty:     checklist[i%dutiesPerMonth],
				Evidence: "生成的历史",
			})
			if err != nil {
				return err
			}
			mu.Lock()
			ids = append(ids, d.ID)
			mu.Unlock()
			return nil
		}); err != nil {
			return n, fmt.Errorf("duties of %s: %w", m, err)
		}
		logged := time.Since(tLog)
		tRule := time.Now()
		if err := parallel(len(ids), func(i int) error {
			_, err := hs.RuleDuty(ctx, h.staff, ids[i], true, "")
			return err
		}); err != nil {
			return n, fmt.Errorf("confirm duties of %s: %w", m, err)
		}
		ruled := time.Since(tRule)
		t0 := time.Now()
		if _, _, err := hs.PayAllowances(ctx, m); err != nil {
			return n, fmt.Errorf("allowances of %s: %w", m, err)
		}
		n.duties += len(ids)
		n.lastAllowances = time.Since(t0)
		if k%12 == 11 || k == len(months)-1 {
			progress(fmt.Sprintf("duties: %d logged (%s) and confirmed (%s); the allowances of %s paid in %s", n.duties, logged.Round(time.Millisecond), ruled.Round(time.Millisecond), m, time.Since(t0).Round(time.Millisecond)))
		}
	}
	return n, nil
}
