package timebank

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"golang.org/x/sync/errgroup"
)

// VolunteerSource is the rankings summary (package honour,
// docs/PERFORMANCE.md "Rankings summary (issue 15)"): each resident's
// minutes of service records whose service started in a period, as
// Served, with the resident's building, and when it was summed.
type VolunteerSource interface {
	VolunteerMinutes(ctx context.Context, communityID, period string) ([]models.RankMonthRow, time.Time, error)
}

// VolunteerPages is the rankings job's stored volunteer-hours rankings
// (docs/PERFORMANCE.md, "Stored ranking pages"): the buildings of a page,
// ranked and named, with their volunteers; ok is false for a period none
// is stored for.
type VolunteerPages interface {
	StoredVolunteerPage(ctx context.Context, communityID, period string, after *models.RankBuilding, limit int) (buildings []models.RankBuilding, more bool, at time.Time, ok bool, err error)
}

// RankFrom makes the volunteer-hours ranking read the rankings summary
// instead of every approved record of the period (and its stored pages,
// when v keeps them: VolunteerPages).
func (t *Service) RankFrom(v VolunteerSource) { t.volunteers = v }

// maxRankingPage bounds the buildings of one page.
const maxRankingPage = 200

// BuildingRankPage is one page of the volunteer-hours ranking: Next is the
// cursor of the page after ("" at the end), At when the figures were
// summed.
type BuildingRankPage struct {
	Period    string
	Buildings []BuildingRank
	Next      string
	At        time.Time
}

// RankingPage ranks the buildings of the caller's community by verified
// volunteer hours in a month ("2026-11") or a year ("2026"; "" is this
// month), each with its volunteers ranked: the buildings after cursor (a
// Next of an earlier page), at most limit. With a summary (RankFrom) it
// reads one summary a month of the period and the volunteers of the page;
// without one (a service built alone) it sums the approved records.
func (t *Service) RankingPage(ctx context.Context, p models.Principal, period, cursor string, limit int) (BuildingRankPage, error) {
	if p.CommunityID == "" {
		return BuildingRankPage{}, models.ErrForbidden
	}
	period = t.RankingPeriod(ctx, p, period)
	from, to, err := t.rankingWindow(ctx, p.CommunityID, period)
	if err != nil {
		return BuildingRankPage{}, err
	}
	var after *BuildingRank
	if cursor != "" {
		b, err := parseBuildingCursor(cursor)
		if err != nil {
			return BuildingRankPage{}, err
		}
		after = &b
	}
	if limit <= 0 || limit > maxRankingPage {
		limit = 50
	}
	page := BuildingRankPage{Period: period, Buildings: []BuildingRank{}}
	if stored, ok := t.volunteers.(VolunteerPages); ok {
		var from *models.RankBuilding
		if after != nil {
			from = &models.RankBuilding{BuildingID: after.BuildingID, Minutes: int64(after.Minutes)}
		}
		buildings, more, at, ok, err := stored.StoredVolunteerPage(ctx, p.CommunityID, period, from, limit)
		if err != nil {
			return BuildingRankPage{}, err
		}
		if ok {
			page.At = at
			for _, b := range buildings {
				br := BuildingRank{
					BuildingID: b.BuildingID,
					Name:       b.Name,
					Minutes:    models.Minutes(b.Minutes),
				}
				for _, v := range b.Volunteers {
					br.Volunteers = append(br.Volunteers, VolunteerRank{
						ResidentID: v.ResidentID,
						Name:       v.Name,
						Minutes:    v.Minutes,
						Stars:      Stars(v.Minutes),
					})
				}
				page.Buildings = append(page.Buildings, br)
			}
			if more && len(page.Buildings) > 0 {
				page.Next = buildingCursor(page.Buildings[len(page.Buildings)-1])
			}
			return page, nil
		}
	}
	var rows []models.RankMonthRow
	if t.volunteers != nil {
		if rows, page.At, err = t.volunteers.VolunteerMinutes(ctx, p.CommunityID, period); err != nil {
			return BuildingRankPage{}, err
		}
	} else if rows, err = t.approvedMinutes(ctx, p.CommunityID, from, to); err != nil {
		return BuildingRankPage{}, err
	} else {
		page.At = t.now().UTC()
	}
	buildings := map[string]*BuildingRank{}
	for _, r := range rows {
		if r.Served <= 0 || r.BuildingID == "" {
			continue
		}
		b := buildings[r.BuildingID]
		if b == nil {
			b = &BuildingRank{BuildingID: r.BuildingID}
			buildings[r.BuildingID] = b
		}
		b.Minutes += models.Minutes(r.Served)
		b.Volunteers = append(b.Volunteers, VolunteerRank{
			ResidentID: r.ResidentID,
			Minutes:    models.Minutes(r.Served),
			Stars:      Stars(models.Minutes(r.Served)),
		})
	}
	all := []*BuildingRank{}
	for _, b := range buildings {
		if after == nil || buildingAfter(*b, *after) {
			all = append(all, b)
		}
	}
	sort.Slice(all, func(i, j int) bool { return buildingAfter(*all[j], *all[i]) })
	if len(all) > limit {
		page.Next = buildingCursor(*all[limit-1])
		all = all[:limit]
	}
	// Names are read for the page's buildings and volunteers only.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, b := range all {
		g.Go(func() error {
			bld, err := t.people.Building(gctx, b.BuildingID)
			if err == nil {
				b.Name = bld.Name
			}
			return ignoreNotFound(err)
		})
		for i := range b.Volunteers {
			v := &b.Volunteers[i]
			g.Go(func() error {
				r, err := t.people.Resident(gctx, v.ResidentID)
				if err == nil {
					v.Name = models.MaskName(r.Name)
				}
				return ignoreNotFound(err)
			})
		}
	}
	if err := g.Wait(); err != nil {
		return BuildingRankPage{}, err
	}
	for _, b := range all {
		sort.Slice(b.Volunteers, func(i, j int) bool {
			if b.Volunteers[i].Minutes != b.Volunteers[j].Minutes {
				return b.Volunteers[i].Minutes > b.Volunteers[j].Minutes
			}
			return b.Volunteers[i].ResidentID < b.Volunteers[j].ResidentID
		})
		page.Buildings = append(page.Buildings, *b)
	}
	return page, nil
}

// ignoreNotFound returns err, or nil when it is models.ErrNotFound.
func ignoreNotFound(err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	return err
}

// rankingWindow is the time window of a period: a year ("2026", from 2000
// to 2200) or a month ("2026-11") in the community's zone.
func (t *Service) rankingWindow(ctx context.Context, communityID, period string) (time.Time, time.Time, error) {
	loc := t.location(ctx, communityID)
	bad := models.ErrValidation.Withf("期间须为年份（2026）或月份（2026-11）。", "period must be a year (2026) or a month (2026-11)")
	if len(period) == 4 {
		y, err := strconv.Atoi(period)
		if err != nil || y < 2000 || y > 2200 {
			return time.Time{}, time.Time{}, bad
		}
		from := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(1, 0, 0), nil
	}
	m, err := models.ParseMonth(period)
	if err != nil || len(period) != 7 {
		return time.Time{}, time.Time{}, bad
	}
	return m.Start(loc), m.End(loc), nil
}

// approvedMinutes sums the credited minutes of the community's approved
// records whose service started in [from, to), by resident, with the
// resident's building (a scan of every record: for a service built
// without the rankings summary).
func (t *Service) approvedMinutes(ctx context.Context, communityID string, from, to time.Time) ([]models.RankMonthRow, error) {
	byResident := map[string]int64{}
	err := t.store.EachRecord(ctx, models.RecordFilter{
		CommunityID: communityID,
		State:       models.RecordApproved,
		From:        from,
		To:          to,
	}, func(r models.ServiceRecord) error {
		byResident[r.ResidentID] += int64(r.Credited)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []models.RankMonthRow{}
	for id, m := range byResident {
		r, err := t.people.Resident(ctx, id)
		if err != nil || r.HouseholdID == "" {
			continue
		}
		h, err := t.people.Household(ctx, r.HouseholdID)
		if err != nil {
			continue
		}
		out = append(out, models.RankMonthRow{
			ResidentID: id,
			BuildingID: h.BuildingID,
			Served:     m,
		})
	}
	return out, nil
}

// buildingAfter reports whether a comes after b in ranking order: fewer
// minutes, or as many and a greater id.
func buildingAfter(a, b BuildingRank) bool {
	if a.Minutes != b.Minutes {
		return a.Minutes < b.Minutes
	}
	return a.BuildingID > b.BuildingID
}

// buildingCursor is the position after building b: its minutes and id.
func buildingCursor(b BuildingRank) string {
	return strconv.FormatInt(int64(b.Minutes), 36) + "." + b.BuildingID
}

// parseBuildingCursor reads a cursor buildingCursor gave out, or refuses it
// with models.ErrBadCursor.
func parseBuildingCursor(cursor string) (BuildingRank, error) {
	m, id, ok := strings.Cut(cursor, ".")
	n, err := strconv.ParseInt(m, 36, 64)
	if !ok || err != nil || id == "" {
		return BuildingRank{}, models.ErrBadCursor.Withf("排行榜翻页位置无效：请从第一页重新读取。", "not a cursor of this ranking; read from the first page again")
	}
	return BuildingRank{BuildingID: id, Minutes: models.Minutes(n)}, nil
}
