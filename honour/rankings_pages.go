package honour

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// The stored ranking pages (docs/PERFORMANCE.md, "Rankings summary (issue
// 15)"): the rankings job keeps, for the periods a screen asks for by
// default, each community's points ranking ranked and named, a page of
// models.RankPageSize rows per document, so that a request reads a head
// and a page instead of every resident's row of every month of the period.
//
// Generations. A stored ranking (community, period, list) has a head and
// two slots of pages. A run that finds the ranking changed writes its
// pages into the slot the head does not name (only the pages whose stored
// digest differs), deletes the pages past its end in that slot, and then
// replaces the head, which names the slot, the digest of every page and
// the position of each page's first row. A reader reads the head, then the
// pages it needs, and keeps a page only if it carries the digest the head
// names for it; otherwise it reads the head once more (a run has just
// moved it on) and then falls back to summing the months, as before.
//
// Crash points: a run that dies while writing pages (or before the head)
// leaves the head naming the other slot, untouched, so readers stay on the
// old generation; the next run writes the slot again, comparing each
// page's stored digest, not what the dead run meant to write. Two runs at
// once may both write the same slot and leave it mixed: a reader then
// finds a page whose digest is not the head's and falls back, and the next
// run writes the other slot whole. A reader slower than a whole run (ten
// minutes between its head and its page) finds the same.

// allResidents is the list of a stored ranking of the whole community; a
// building's list is the building's id.
const allResidents = "all"

// rankPageWorkers bounds the lists a run writes at a time.
const rankPageWorkers = 4

// pagedPeriods are the periods whose rankings the run at now stores as
// pages: this month, the month before and this year, in the community's
// zone.
func pagedPeriods(now time.Time, loc *time.Location) []string {
	m := models.MonthOf(now, loc)
	return []string{m.String(), m.Previous().String(), fmt.Sprintf("%04d", m.Year)}
}

// rankedRows is the points ranking of one list of a period from the
// period's month summaries: the residents with points earned (of building
// list, or all), in ranking order, ranked, with the masked names of names;
// a resident not in names (left the community) is left out.
func rankedRows(got map[string]models.RankMonth, months []string, list string, names map[string]string) []models.RankRow {
	var ranked []models.RankRow
	for _, r := range mergeMonths(got, months) {
		name, ok := names[r.ResidentID]
		if !ok || r.Earned <= 0 || (list != allResidents && r.BuildingID != list) {
			continue
		}
		row := monthRank(r)
		row.Name = name
		ranked = append(ranked, row)
	}
	slices.SortFunc(ranked, compareRank)
	for i := range ranked {
		ranked[i].Rank = i + 1
	}
	return ranked
}

// pageDigest names a page's rows: two runs that rank the same rows give
// the same digest.
func pageDigest(rows []models.RankRow) string {
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintf(h, "%d|%s|%s|%s|%d|%d|%d|%d\n", r.Rank, r.ResidentID, r.Name, r.BuildingID, r.Earned, r.Deducted, r.Minutes, r.Reached.UnixMilli())
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// storeRankPages stores the ranked pages of community c's paged periods
// (pagedPeriods at now) for the whole community and for each building of
// lists, from the month summaries the run has just summed (rows, each
// month's rows in ranking order), and deletes the pages of the periods the
// run before (prev) stored and this one no longer does.
func (s *Service) storeRankPages(ctx context.Context, c models.Community, now time.Time, prev models.RankState, rows map[string][]models.RankMonthRow, names map[string]string, lists []string) error {
	got := map[string]models.RankMonth{}
	for m, rs := range rows {
		got[m] = models.RankMonth{
			CommunityID: c.ID,
			Month:       m,
			Rows:        rs,
		}
	}
	periods := pagedPeriods(now, c.Location())
	buildingNames := make([]string, len(lists))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rankLookups)
	for i, list := range lists[1:] {
		g.Go(func() error {
			b, err := s.store.Building(gctx, list)
			if err == nil {
				buildingNames[i+1] = b.Name
			}
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	nameOf := map[string]string{}
	for i, list := range lists {
		nameOf[list] = buildingNames[i]
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(rankPageWorkers)
	for _, period := range periods {
		months, _ := periodMonths(period)
		for _, list := range lists {
			g.Go(func() error {
				return s.storeRankList(gctx, c.ID, period, list, now, rankedRows(got, months, list, names), nil)
			})
		}
		g.Go(func() error {
			rows, groups := volunteerRows(got, months, names, nameOf)
			return s.storeRankList(gctx, c.ID, period, volunteerList, now, rows, groups)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if prev.At.IsZero() {
		return nil
	}
	for _, period := range pagedPeriods(prev.At, c.Location()) {
		if slices.Contains(periods, period) {
			continue
		}
		for _, list := range append(lists, volunteerList) {
			if err := s.dropRankList(ctx, c.ID, period, list); err != nil {
				return err
			}
		}
	}
	return nil
}

// volunteerList is the list of a stored volunteer-hours ranking.
const volunteerList = "volunteers"

// volunteerRows is the volunteer-hours ranking of a period from its month
// summaries, as timebank ranks it: the buildings by minutes served (more
// first, then id), each with its volunteers by minutes (more first, then
// id), named (masked) from names; a resident not in names, or of no
// building, is left out. It returns the volunteers' rows in that order
// (Minutes the minutes served) and the buildings, each naming its rows.
func volunteerRows(got map[string]models.RankMonth, months []string, names, buildingNames map[string]string) ([]models.RankRow, []models.RankGroup) {
	byBuilding := map[string][]models.RankRow{}
	for _, r := range mergeMonths(got, months) {
		name, ok := names[r.ResidentID]
		if !ok || r.Served <= 0 || r.BuildingID == "" {
			continue
		}
		byBuilding[r.BuildingID] = append(byBuilding[r.BuildingID], models.RankRow{
			ResidentID: r.ResidentID,
			Name:       name,
			BuildingID: r.BuildingID,
			Minutes:    models.Minutes(r.Served),
		})
	}
	groups := []models.RankGroup{}
	for id, vs := range byBuilding {
		g := models.RankGroup{
			BuildingID: id,
			Name:       buildingNames[id],
			Count:      len(vs),
		}
		for _, v := range vs {
			g.Minutes += int64(v.Minutes)
		}
		slices.SortFunc(vs, func(a, b models.RankRow) int {
			if a.Minutes != b.Minutes {
				return cmpDesc(int64(a.Minutes), int64(b.Minutes))
			}
			return strings.Compare(a.ResidentID, b.ResidentID)
		})
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b models.RankGroup) int {
		if a.Minutes != b.Minutes {
			return cmpDesc(a.Minutes, b.Minutes)
		}
		return strings.Compare(a.BuildingID, b.BuildingID)
	})
	var rows []models.RankRow
	for i := range groups {
		groups[i].Start = len(rows)
		for j, v := range byBuilding[groups[i].BuildingID] {
			v.Rank = j + 1
			rows = append(rows, v)
		}
	}
	return rows, groups
}

// storeRankList writes the ranked rows (and, for the volunteer-hours
// ranking, its buildings) of one stored ranking as a new generation when
// they differ from the current one: pages first, into the slot the head
// does not name, then the head.
func (s *Service) storeRankList(ctx context.Context, communityID, period, list string, now time.Time, ranked []models.RankRow, groups []models.RankGroup) error {
	head, err := s.store.RankHead(ctx, communityID, period, list)
	found := err == nil
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	next := models.RankHead{
		CommunityID: communityID,
		Period:      period,
		List:        list,
		Gen:         head.Gen + 1,
		At:          now.UTC(),
		Rows:        len(ranked),
		Pages:       []models.RankHeadPage{},
		Groups:      groups,
	}
	if found {
		next.Slot = 1 - head.Slot
	}
	var pages []models.RankPage
	whole := sha256.New()
	for n := 0; n*models.RankPageSize < len(ranked); n++ {
		rs := ranked[n*models.RankPageSize : min((n+1)*models.RankPageSize, len(ranked))]
		p := models.RankPage{
			CommunityID: communityID,
			Period:      period,
			List:        list,
			Slot:        next.Slot,
			N:           n,
			Digest:      pageDigest(rs),
			Rows:        rs,
		}
		pages = append(pages, p)
		next.Pages = append(next.Pages, models.RankHeadPage{Digest: p.Digest, First: rankCursor(rs[0])})
		fmt.Fprintln(whole, p.Digest)
	}
	for _, g := range groups {
		fmt.Fprintf(whole, "%s|%s|%d|%d|%d\n", g.BuildingID, g.Name, g.Minutes, g.Start, g.Count)
	}
	next.Digest = hex.EncodeToString(whole.Sum(nil)[:12])
	if found && head.Digest == next.Digest {
		return nil // unchanged: nothing written
	}
	for _, p := range pages {
		stored, err := s.store.RankPage(ctx, communityID, period, list, p.Slot, p.N, true)
		if err == nil && stored.Digest == p.Digest {
			continue
		}
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if err := s.store.SaveRankPage(ctx, p); err != nil {
			return err
		}
	}
	if err := s.deleteRankPagesFrom(ctx, communityID, period, list, next.Slot, len(pages)); err != nil {
		return err
	}
	return s.store.SaveRankHead(ctx, next)
}

// deleteRankPagesFrom deletes the pages of slot from page n on, up to the
// first missing one.
func (s *Service) deleteRankPagesFrom(ctx context.Context, communityID, period, list string, slot, n int) error {
	for ; ; n++ {
		_, err := s.store.RankPage(ctx, communityID, period, list, slot, n, true)
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.store.DeleteRankPage(ctx, communityID, period, list, slot, n); err != nil {
			return err
		}
	}
}

// dropRankList deletes a stored ranking the runs no longer keep: its
// pages, then its head. It runs before the state that stops naming the
// period is saved, so a run cut short here is repeated by the next, and a
// reader that still reads the head finds a page missing and falls back.
func (s *Service) dropRankList(ctx context.Context, communityID, period, list string) error {
	if _, err := s.store.RankHead(ctx, communityID, period, list); errors.Is(err, models.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	for slot := range 2 {
		if err := s.deleteRankPagesFrom(ctx, communityID, period, list, slot, 0); err != nil {
			return err
		}
	}
	return s.store.DeleteRankHead(ctx, communityID, period, list)
}

// errRankMoved says a stored page is not the one its head names: a run
// moved the ranking on between the reads.
var errRankMoved = errors.New("stored ranking moved on")

// headPages reads count stored pages of head's generation from page
// first on, at the same time; errRankMoved when one is missing or is not
// the page the head names (a run has moved the ranking on).
func (s *Service) headPages(ctx context.Context, head models.RankHead, first, count int) ([]models.RankPage, error) {
	pages := make([]models.RankPage, max(count, 0))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rankLookups)
	for i := range pages {
		g.Go(func() error {
			n := first + i
			p, err := s.store.RankPage(gctx, head.CommunityID, head.Period, head.List, head.Slot, n, false)
			if errors.Is(err, models.ErrNotFound) || (err == nil && p.Digest != head.Pages[n].Digest) {
				return errRankMoved
			}
			pages[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return pages, nil
}

// keptHead reads community c's rankings state and the head of its stored
// ranking (period, list) at the same time. ok is false, with no error,
// when either is missing or the last run no longer keeps period: the
// caller then sums the months.
func (s *Service) keptHead(ctx context.Context, c models.Community, period, list string) (models.RankState, models.RankHead, bool, error) {
	var (
		state models.RankState
		head  models.RankHead
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		state, err = s.store.RankState(gctx, c.ID)
		return err
	})
	g.Go(func() (err error) {
		head, err = s.store.RankHead(gctx, c.ID, period, list)
		return err
	})
	if err := g.Wait(); errors.Is(err, models.ErrNotFound) {
		return state, head, false, nil
	} else if err != nil {
		return state, head, false, err
	}
	if !slices.Contains(pagedPeriods(state.At, c.Location()), period) {
		return state, head, false, nil // a period the runs no longer keep
	}
	return state, head, true, nil
}

// storedRankingPage is the page of stored ranking (c, period, list) after
// position after (nil for the first page), at most limit rows, or ok false
// when none is stored that the last run keeps (the caller then sums the
// months). It reads the head and then the pages the rows are on (one, or
// two when the page ends inside a stored page), at the same time.
func (s *Service) storedRankingPage(ctx context.Context, c models.Community, period, list string, after *models.RankRow, limit int) (RankingPage, bool, error) {
	state, head, ok, err := s.keptHead(ctx, c, period, list)
	if !ok || err != nil {
		return RankingPage{}, false, err
	}
	for try := 0; ; try++ {
		page, err := s.readRankPages(ctx, head, after, limit)
		if !errors.Is(err, errRankMoved) {
			page.At = state.At
			return page, err == nil, err
		}
		if try == 1 {
			return RankingPage{}, false, nil
		}
		if head, err = s.store.RankHead(ctx, c.ID, period, list); errors.Is(err, models.ErrNotFound) {
			return RankingPage{}, false, nil
		} else if err != nil {
			return RankingPage{}, false, err
		}
	}
}

// readRankPages reads the rows of head's generation after position after,
// at most limit, or errRankMoved when a page is missing or not the one the
// head names.
func (s *Service) readRankPages(ctx context.Context, head models.RankHead, after *models.RankRow, limit int) (RankingPage, error) {
	first := 0
	if after != nil {
		// The last page whose first row is at or before the position.
		for i, p := range head.Pages {
			r, err := parseRankCursor(p.First)
			if err != nil {
				return RankingPage{}, errRankMoved
			}
			if compareRank(r, *after) > 0 {
				break
			}
			first = i
		}
	}
	count := min(len(head.Pages)-first, (limit+models.RankPageSize-1)/models.RankPageSize+1)
	pages, err := s.headPages(ctx, head, first, count)
	if err != nil {
		return RankingPage{}, err
	}
	out := RankingPage{Rows: []models.RankRow{}}
	more := false
	for i, p := range pages {
		for _, r := range p.Rows {
			if after != nil && compareRank(r, *after) <= 0 {
				continue
			}
			if len(out.Rows) == limit {
				more = true
				break
			}
			out.Rows = append(out.Rows, r)
		}
		if more {
			break
		}
		if i == len(pages)-1 && first+len(pages) < len(head.Pages) {
			more = true // pages past the ones read
		}
	}
	if more && len(out.Rows) > 0 {
		out.Next = rankCursor(out.Rows[len(out.Rows)-1])
	}
	return out, nil
}

// StoredVolunteerPage is the page of the stored volunteer-hours ranking of
// community communityID and period after building after (nil for the
// first page), at most limit buildings, each with its volunteers, whether
// more buildings follow, and when the rankings were summed; ok is false
// when none is stored that the last run keeps (the caller then sums the
// months). It reads the state and the head, then the pages of the page's
// buildings' rows, at the same time.
func (s *Service) StoredVolunteerPage(ctx context.Context, communityID, period string, after *models.RankBuilding, limit int) (buildings []models.RankBuilding, more bool, at time.Time, ok bool, err error) {
	c, err := s.store.Community(ctx, communityID)
	if err != nil {
		return nil, false, time.Time{}, false, err
	}
	state, head, ok, err := s.keptHead(ctx, c, period, volunteerList)
	if !ok || err != nil {
		return nil, false, time.Time{}, false, err
	}
	for try := 0; ; try++ {
		buildings, more, err := s.readVolunteerPages(ctx, head, after, limit)
		if !errors.Is(err, errRankMoved) {
			return buildings, more, state.At, err == nil, err
		}
		if try == 1 {
			return nil, false, time.Time{}, false, nil
		}
		if head, err = s.store.RankHead(ctx, c.ID, period, volunteerList); errors.Is(err, models.ErrNotFound) {
			return nil, false, time.Time{}, false, nil
		} else if err != nil {
			return nil, false, time.Time{}, false, err
		}
	}
}

// readVolunteerPages reads the buildings of head's generation after
// building after, at most limit, with their volunteers, or errRankMoved
// when a page is missing or not the one the head names.
func (s *Service) readVolunteerPages(ctx context.Context, head models.RankHead, after *models.RankBuilding, limit int) ([]models.RankBuilding, bool, error) {
	groups := head.Groups
	if after != nil {
		i := slices.IndexFunc(groups, func(g models.RankGroup) bool {
			return g.Minutes < after.Minutes || (g.Minutes == after.Minutes && g.BuildingID > after.BuildingID)
		})
		if i < 0 {
			i = len(groups)
		}
		groups = groups[i:]
	}
	more := len(groups) > limit
	groups = groups[:min(limit, len(groups))]
	out := []models.RankBuilding{}
	if len(groups) == 0 {
		return out, false, nil
	}
	from := groups[0].Start
	last := groups[len(groups)-1]
	to := last.Start + last.Count // rows [from, to)
	rows := map[int]models.RankRow{}
	if to > from {
		firstPage, lastPage := from/models.RankPageSize, (to-1)/models.RankPageSize
		if lastPage >= len(head.Pages) {
			return nil, false, errRankMoved
		}
		pages, err := s.headPages(ctx, head, firstPage, lastPage-firstPage+1)
		if err != nil {
			return nil, false, err
		}
		for i, p := range pages {
			for j, r := range p.Rows {
				rows[(firstPage+i)*models.RankPageSize+j] = r
			}
		}
	}
	for _, grp := range groups {
		b := models.RankBuilding{
			BuildingID: grp.BuildingID,
			Name:       grp.Name,
			Minutes:    grp.Minutes,
			Volunteers: make([]models.RankRow, 0, grp.Count),
		}
		for k := grp.Start; k < grp.Start+grp.Count; k++ {
			r, ok := rows[k]
			if !ok || r.BuildingID != grp.BuildingID {
				return nil, false, errRankMoved
			}
			b.Volunteers = append(b.Volunteers, r)
		}
		out = append(out, b)
	}
	return out, more, nil
}
