package honour

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// RankStore is what the rankings summary needs from the database
// (docs/PERFORMANCE.md, "Rankings summary (issue 15)").
type RankStore interface {
	// Entries returns the entries of acct at seqs that exist, in order.
	Entries(ctx context.Context, acct models.Account, seqs []int64) ([]models.Entry, error)
	// Record returns a service record, or models.ErrNotFound.
	Record(ctx context.Context, id string) (models.ServiceRecord, error)
	RankAccounts(ctx context.Context, communityID string) (map[string]models.RankAccount, error)
	SaveRankAccount(ctx context.Context, a models.RankAccount) error
	RankMonths(ctx context.Context, communityID string, months []string, digestsOnly bool) (map[string]models.RankMonth, error)
	SaveRankMonth(ctx context.Context, m models.RankMonth) error
	RankState(ctx context.Context, communityID string) (models.RankState, error)
	SaveRankState(ctx context.Context, st models.RankState) error
	// RankHead returns the head of a stored ranking, or models.ErrNotFound.
	RankHead(ctx context.Context, communityID, period, list string) (models.RankHead, error)
	SaveRankHead(ctx context.Context, h models.RankHead) error
	// RankPage returns a stored ranking's page n in slot, or
	// models.ErrNotFound; with digestOnly its rows are left out.
	RankPage(ctx context.Context, communityID, period, list string, slot, n int, digestOnly bool) (models.RankPage, error)
	SaveRankPage(ctx context.Context, p models.RankPage) error
	DeleteRankPage(ctx context.Context, communityID, period, list string, slot, n int) error
	DeleteRankHead(ctx context.Context, communityID, period, list string) error
}

// rankBatch is how many entries a catch-up asks for at a time.
const rankBatch = 32

// SummariseRankings is the rankings job: for every community it brings
// each resident's rankings summary up to date with the entries written
// since (one lookup per account when nothing is new), then saves each
// month whose rows changed and when it summed them. A run costs the
// residents and the new entries, not the history; a run cut short leaves
// each resident's summary consistent with the entries it names, and the
// next run goes on from there and rewrites the months it left behind. It
// returns the communities summed.
func (s *Service) SummariseRankings(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for after := ""; ; {
		cs, err := s.store.Communities(ctx, after, 100)
		if err != nil || len(cs) == 0 {
			return n, err
		}
		for _, c := range cs {
			if _, err := s.summariseRankings(ctx, c, now); err != nil {
				return n, fmt.Errorf("rankings summary of %s: %w", c.ID, err)
			}
			n++
		}
		after = cs[len(cs)-1].ID
	}
}

// FirstRankingSummaries sums the rankings of every community that has no
// summary yet, as of now, and returns how many it summed. The service runs
// it at every start, in the background, so that a ranking almost never
// sums on a request; on later starts it costs one lookup per community.
func (s *Service) FirstRankingSummaries(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for after := ""; ; {
		cs, err := s.store.Communities(ctx, after, 100)
		if err != nil || len(cs) == 0 {
			return n, err
		}
		for _, c := range cs {
			_, err := s.store.RankState(ctx, c.ID)
			if err == nil {
				continue
			}
			if !errors.Is(err, models.ErrNotFound) {
				return n, fmt.Errorf("rankings summary of %s: %w", c.ID, err)
			}
			if _, err := s.summariseRankings(ctx, c, now); err != nil {
				return n, fmt.Errorf("rankings summary of %s: %w", c.ID, err)
			}
			n++
		}
		after = cs[len(cs)-1].ID
	}
}

// summariseRankings brings community c's rankings summary up to date (see
// SummariseRankings) and returns its state as saved.
func (s *Service) summariseRankings(ctx context.Context, c models.Community, now time.Time) (models.RankState, error) {
	saved, err := s.store.RankAccounts(ctx, c.ID)
	if err != nil {
		return models.RankState{}, err
	}
	residents, err := s.store.Residents(ctx, models.ResidentFilter{CommunityID: c.ID}, "", 0)
	if err != nil {
		return models.RankState{}, err
	}
	households, err := s.store.Households(ctx, c.ID, "", "", 0)
	if err != nil {
		return models.RankState{}, err
	}
	buildingOf := map[string]string{}
	for _, h := range households {
		buildingOf[h.ID] = h.BuildingID
	}
	state, err := s.store.RankState(ctx, c.ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return models.RankState{}, err
	}
	accounts := make([]models.RankAccount, len(residents))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, r := range residents {
		g.Go(func() error {
			a, ok := saved[r.ID]
			if !ok {
				a = models.RankAccount{CommunityID: c.ID, ResidentID: r.ID}
			}
			a, moved, err := s.catchUpRank(gctx, a)
			if err != nil {
				return err
			}
			if moved {
				if err := s.store.SaveRankAccount(gctx, a); err != nil {
					return err
				}
			}
			accounts[i] = a
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return models.RankState{}, err
	}
	// Each month is summed from every resident's summary as this run
	// holds it, so a month left stale by a run cut short (or saved by a
	// slower run from older summaries) is rewritten here.
	rows := map[string][]models.RankMonthRow{}
	for i, a := range accounts {
		for _, b := range a.Buckets {
			if b.CommunityID != c.ID {
				continue
			}
			if _, ok := rows[b.Month]; !ok {
				rows[b.Month] = nil
			}
			if b.Zero() {
				continue
			}
			rows[b.Month] = append(rows[b.Month], models.RankMonthRow{
				ResidentID: residents[i].ID,
				BuildingID: buildingOf[residents[i].HouseholdID],
				Earned:     b.Earned,
				Deducted:   b.Deducted,
				Minutes:    b.Minutes,
				Served:     b.Served,
				Reached:    b.Reached,
			})
		}
	}
	for _, m := range state.Months {
		if _, ok := rows[m]; !ok {
			rows[m] = nil // its residents left: saved empty
		}
	}
	months := make([]string, 0, len(rows))
	for m := range rows {
		months = append(months, m)
	}
	slices.Sort(months)
	have, err := s.store.RankMonths(ctx, c.ID, months, true)
	if err != nil {
		return models.RankState{}, err
	}
	kept := []string{}
	for _, m := range months {
		rs := rows[m]
		slices.SortFunc(rs, compareMonthRow)
		month := models.RankMonth{
			CommunityID: c.ID,
			Month:       m,
			Digest:      rowsDigest(rs),
			Rows:        rs,
		}
		old, ok := have[m]
		if !ok && len(rs) == 0 {
			continue
		}
		kept = append(kept, m)
		if ok && old.Digest == month.Digest {
			continue
		}
		if err := s.store.SaveRankMonth(ctx, month); err != nil {
			return models.RankState{}, err
		}
	}
	names := make(map[string]string, len(residents))
	for _, r := range residents {
		names[r.ID] = models.MaskName(r.Name)
	}
	lists := []string{allResidents}
	seen := map[string]bool{}
	for _, h := range households {
		if h.BuildingID != "" && !seen[h.BuildingID] {
			seen[h.BuildingID] = true
			lists = append(lists, h.BuildingID)
		}
	}
	slices.Sort(lists[1:])
	if err := s.storeRankPages(ctx, c, now, state, rows, names, lists); err != nil {
		return models.RankState{}, err
	}
	state = models.RankState{
		CommunityID: c.ID,
		At:          now.UTC(),
		Months:      kept,
	}
	return state, s.store.SaveRankState(ctx, state)
}

// rowsDigest names a month's rows: two runs that sum the same rows give
// the same digest.
func rowsDigest(rows []models.RankMonthRow) string {
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintf(h, "%s|%s|%d|%d|%d|%d|%d\n", r.ResidentID, r.BuildingID, r.Earned, r.Deducted, r.Minutes, r.Served, r.Reached.UnixMilli())
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// compareMonthRow orders two rows of a month summary as the ranking does
// (compareRank).
func compareMonthRow(a, b models.RankMonthRow) int {
	return compareRank(monthRank(a), monthRank(b))
}

// monthRank is the ranking row of a month summary's row.
func monthRank(r models.RankMonthRow) models.RankRow {
	return models.RankRow{
		ResidentID: r.ResidentID,
		BuildingID: r.BuildingID,
		Earned:     models.Points(r.Earned),
		Deducted:   models.Points(r.Deducted),
		Minutes:    models.Minutes(r.Minutes),
		Reached:    r.Reached,
	}
}

// entryKind is what the catch-up knows of an entry a reversal may name.
type entryKind struct {
	kind models.EntryKind
	ref  string
}

// catchUpRank adds to a the entries of its resident's points and hours
// accounts written after the ones it names, read by exact _id until the
// first missing one (the chain is dense): the next one alone first, so an
// account with nothing new costs one lookup. It reports whether it found
// any.
func (s *Service) catchUpRank(ctx context.Context, a models.RankAccount) (models.RankAccount, bool, error) {
	moved := false
	for _, asset := range []models.Asset{models.AssetPoints, models.AssetHours} {
		acct := models.AccountOf(a.ResidentID, asset)
		seq := &a.PointsSeq
		if asset == models.AssetHours {
			seq = &a.HoursSeq
		}
		seen := map[int64]entryKind{}
		for batch := 1; ; batch = rankBatch {
			seqs := make([]int64, batch)
			for i := range seqs {
				seqs[i] = *seq + 1 + int64(i)
			}
			es, err := s.store.Entries(ctx, acct, seqs)
			if err != nil {
				return a, moved, err
			}
			gap := false
			for i, e := range es {
				if e.Seq != seqs[i] {
					gap = true // not possible in a dense chain; stop before it
					break
				}
				seen[e.Seq] = entryKind{kind: e.Kind, ref: e.Ref}
				if err := s.countRank(ctx, &a, e, seen); err != nil {
					return a, moved, err
				}
				*seq, moved = e.Seq, true
			}
			if gap || len(es) < batch {
				break
			}
		}
	}
	return a, moved, nil
}

// countRank adds entry e to the bucket of its community and month, as
// netEntries counts it: a reversal counts against the kind of the entry it
// reverses. Service minutes also count, as Served, in the month the
// service record they credit started.
func (s *Service) countRank(ctx context.Context, a *models.RankAccount, e models.Entry, seen map[int64]entryKind) error {
	kind, ref := e.Kind, e.Ref
	if e.Kind == models.KindReversal {
		i := strings.LastIndexByte(e.Ref, ':')
		seq, err := strconv.ParseInt(e.Ref[i+1:], 10, 64)
		if i < 0 || err != nil || e.Ref != e.Account.EntryID(seq) {
			return nil // not a reversal of an entry of this account
		}
		orig, ok := seen[seq]
		if !ok {
			es, err := s.store.Entries(ctx, e.Account, []int64{seq})
			if err != nil {
				return err
			}
			if len(es) == 0 {
				return nil
			}
			orig = entryKind{kind: es[0].Kind, ref: es[0].Ref}
			seen[seq] = orig
		}
		kind, ref = orig.kind, orig.ref
	}
	month := models.MonthOf(e.At, s.location(ctx, e.CommunityID)).String()
	switch {
	case e.Account.Asset == models.AssetPoints && models.IsEarning(kind):
		b := a.Bucket(e.CommunityID, month)
		b.Earned += e.Delta
		if e.Delta > 0 && e.At.After(b.Reached) {
			b.Reached = e.At.UTC()
		}
	case e.Account.Asset == models.AssetPoints && kind == models.KindDeduct:
		a.Bucket(e.CommunityID, month).Deducted -= e.Delta
	case e.Account.Asset == models.AssetHours && kind == models.KindService:
		a.Bucket(e.CommunityID, month).Minutes += e.Delta
		if ref == "" {
			return nil
		}
		rec, err := s.store.Record(ctx, ref)
		if errors.Is(err, models.ErrNotFound) {
			return nil // hours not from a service record
		}
		if err != nil {
			return err
		}
		served := models.MonthOf(rec.Start, s.location(ctx, rec.CommunityID)).String()
		a.Bucket(rec.CommunityID, served).Served += e.Delta
	}
	return nil
}

// firstRankTimeout bounds a community's first summary made for a request.
const firstRankTimeout = 2 * time.Minute

// rankSummary returns community c's saved month summaries of months and
// when they were summed; a community never summarised is summarised
// first (as the liability report does: every community is summed by the
// job every ten minutes, so this is a community created since).
func (s *Service) rankSummary(ctx context.Context, c models.Community, months []string) (map[string]models.RankMonth, time.Time, error) {
	st, err := s.store.RankState(ctx, c.ID)
	if errors.Is(err, models.ErrNotFound) {
		// The requests that find no summary at once (a screen asks for
		// twelve months together) share one run in this process, which
		// goes on if they give up, so the next request finds it done.
		var v any
		v, err, _ = s.firstRanks.Do(c.ID, func() (any, error) {
			run, cancel := context.WithTimeout(context.WithoutCancel(ctx), firstRankTimeout)
			defer cancel()
			return s.summariseRankings(run, c, s.now())
		})
		if err == nil {
			st = v.(models.RankState)
		}
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	got, err := s.store.RankMonths(ctx, c.ID, months, false)
	return got, st.At, err
}

// periodMonths is the months of a period: a month ("2026-10"), or a year
// ("2026", from 2000 to 2200), as "YYYY-MM"; ok is false for anything
// else.
func periodMonths(period string) ([]string, bool) {
	if m, err := models.ParseMonth(period); err == nil && len(period) == 7 {
		return []string{m.String()}, true
	}
	y, err := strconv.Atoi(period)
	if err != nil || len(period) != 4 || y < 2000 || y > 2200 {
		return nil, false
	}
	out := make([]string, 12)
	for i := range out {
		out[i] = fmt.Sprintf("%04d-%02d", y, i+1)
	}
	return out, true
}

// mergeMonths sums each resident's rows of months into one row: figures
// added, Reached the latest, the building of the latest month.
func mergeMonths(got map[string]models.RankMonth, months []string) []models.RankMonthRow {
	byResident := map[string]*models.RankMonthRow{}
	var order []string
	for _, m := range months {
		for _, r := range got[m].Rows {
			sum := byResident[r.ResidentID]
			if sum == nil {
				sum = &models.RankMonthRow{ResidentID: r.ResidentID}
				byResident[r.ResidentID] = sum
				order = append(order, r.ResidentID)
			}
			sum.BuildingID = r.BuildingID
			sum.Earned += r.Earned
			sum.Deducted += r.Deducted
			sum.Minutes += r.Minutes
			sum.Served += r.Served
			if r.Reached.After(sum.Reached) {
				sum.Reached = r.Reached
			}
		}
	}
	out := make([]models.RankMonthRow, 0, len(order))
	for _, id := range order {
		out = append(out, *byResident[id])
	}
	return out
}

// RankingPage is one page of a points ranking: Next is the cursor of the
// page after ("" at the end), At when the summary it reads was summed.
type RankingPage struct {
	Rows []models.RankRow
	Next string
	At   time.Time
}

// rankCursor is the position after row r in ranking order: its figures
// and id, so a page walk stays in order while the summary moves on.
func rankCursor(r models.RankRow) string {
	return strings.Join([]string{
		strconv.FormatInt(int64(r.Earned), 36),
		strconv.FormatInt(int64(r.Deducted), 36),
		strconv.FormatInt(int64(r.Minutes), 36),
		strconv.FormatInt(r.Reached.UnixMilli(), 36),
		r.ResidentID,
	}, ".")
}

// parseRankCursor reads a cursor rankCursor gave out, or is
// models.ErrBadCursor.
func parseRankCursor(cursor string) (models.RankRow, error) {
	bad := models.ErrBadCursor.Withf("排行榜翻页位置无效：请从第一页重新读取。", "not a cursor of this ranking; read from the first page again")
	parts := strings.SplitN(cursor, ".", 5)
	if len(parts) != 5 || parts[4] == "" {
		return models.RankRow{}, bad
	}
	var n [4]int64
	for i := range n {
		v, err := strconv.ParseInt(parts[i], 36, 64)
		if err != nil {
			return models.RankRow{}, bad
		}
		n[i] = v
	}
	return models.RankRow{
		ResidentID: parts[4],
		Earned:     models.Points(n[0]),
		Deducted:   models.Points(n[1]),
		Minutes:    models.Minutes(n[2]),
		Reached:    time.UnixMilli(n[3]).UTC(),
	}, nil
}

// rankLookups bounds the residents a page looks up at a time.
const rankLookups = 8

// RankingsPage ranks the residents of the caller's community by points
// earned in the period, as Rankings does, a page at a time: the rows after
// q.Cursor (a Next of an earlier page), at most q.Limit. It reads the
// rankings summary (one lookup a month of the period) and the residents of
// the page, whatever the history.
func (s *Service) RankingsPage(ctx context.Context, p models.Principal, q RankingQuery) (RankingPage, error) {
	c, err := s.store.Community(ctx, p.CommunityID)
	if err != nil {
		return RankingPage{}, err
	}
	if q.Period == "" {
		q.Period = models.MonthOf(s.now(), c.Location()).String() // this month, on the service's clock
	}
	months, ok := periodMonths(q.Period)
	if !ok {
		return RankingPage{}, models.ErrValidation.Withf("期间须为月份（2026-10）或年份（2026）。", "period must be a month (2026-10) or a year (2026)")
	}
	var after *models.RankRow
	if q.Cursor != "" {
		r, err := parseRankCursor(q.Cursor)
		if err != nil {
			return RankingPage{}, err
		}
		after = &r
	}
	if q.BuildingID != "" {
		b, err := s.store.Building(ctx, q.BuildingID)
		if err == nil && b.CommunityID != p.CommunityID {
			err = models.ErrNotFound
		}
		if err != nil {
			return RankingPage{}, err
		}
	}
	limit := q.Limit
	if limit <= 0 || limit > community.MaxPageSize {
		limit = 50
	}
	list := allResidents
	if q.BuildingID != "" {
		list = q.BuildingID
	}
	// The periods the rankings job stores as pages are read from them: a
	// head and the page (docs/PERFORMANCE.md, "Rankings summary (issue
	// 15)"); the others are summed from the months.
	if page, ok, err := s.storedRankingPage(ctx, c, q.Period, list, after, limit); err != nil || ok {
		return page, err
	}
	got, at, err := s.rankSummary(ctx, c, months)
	if err != nil {
		return RankingPage{}, err
	}
	var ranked []models.RankRow
	for _, r := range mergeMonths(got, months) {
		if r.Earned > 0 && (q.BuildingID == "" || r.BuildingID == q.BuildingID) {
			ranked = append(ranked, monthRank(r))
		}
	}
	slices.SortFunc(ranked, compareRank)
	var rows []models.RankRow
	for i, row := range ranked {
		row.Rank = i + 1
		if after == nil || compareRank(row, *after) > 0 {
			rows = append(rows, row)
		}
	}
	page := RankingPage{At: at, Rows: []models.RankRow{}}
	// Names are read for the page's rows only; a resident who has left
	// the community since the summary is left out, and the page takes the
	// next row instead.
	var last models.RankRow
	for len(rows) > 0 && len(page.Rows) < limit {
		take := rows[:min(limit-len(page.Rows), len(rows))]
		rows = rows[len(take):]
		found := make([]*models.Resident, len(take))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(rankLookups)
		for i, r := range take {
			g.Go(func() error {
				res, err := s.store.Resident(gctx, r.ResidentID)
				if errors.Is(err, models.ErrNotFound) {
					return nil
				}
				if err == nil && res.CommunityID == c.ID {
					found[i] = &res
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return RankingPage{}, err
		}
		for i, r := range take {
			if found[i] != nil {
				r.Name = models.MaskName(found[i].Name)
				page.Rows = append(page.Rows, r)
			}
		}
		last = take[len(take)-1]
	}
	if len(rows) > 0 {
		page.Next = rankCursor(last)
	}
	return page, nil
}

// VolunteerMinutes returns, for each resident of community communityID
// with any, the minutes of service records (net of corrections and
// reversals: the net of the ledger) whose service started in the period (a
// month "2026-11" or a year "2026"), as Served, with the building of the
// resident's household when the summary was summed; and when that was. It
// reads the rankings summary: one lookup a month of the period.
func (s *Service) VolunteerMinutes(ctx context.Context, communityID, period string) ([]models.RankMonthRow, time.Time, error) {
	months, ok := periodMonths(period)
	if !ok {
		return nil, time.Time{}, models.ErrValidation.Withf("期间须为年份（2026）或月份（2026-11）。", "period must be a year (2026) or a month (2026-11)")
	}
	c, err := s.store.Community(ctx, communityID)
	if err != nil {
		return nil, time.Time{}, err
	}
	got, at, err := s.rankSummary(ctx, c, months)
	if err != nil {
		return nil, time.Time{}, err
	}
	out := []models.RankMonthRow{}
	for _, r := range mergeMonths(got, months) {
		if r.Served > 0 {
			out = append(out, r)
		}
	}
	return out, at, nil
}
