package timebank

import (
	"context"
	"sort"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// CertificateLine is the verified service of one category.
type CertificateLine struct {
	Category      string
	Minutes       models.Minutes
	Records       int
	Organisations []string // who approved it (the activity's organisation, or the claimed one)
}

// Certificate is the basis of a 志愿服务记录证明 for a period.
type Certificate struct {
	Resident   models.Resident
	Community  models.Community
	From, To   time.Time
	Total      models.Minutes
	Lines      []CertificateLine
	IssuedAt   time.Time
	RecordsIDs []string
}

// Certificate sums a resident's verified hours by category, with the
// organisations that vouch for them, for service done from the calendar day
// of from to the calendar day of to, inclusive, in the community's zone. A
// zero from means since the first record, a zero to up to today. Each
// record counts what the HOURS ledger holds for it (its credit, the
// differences its corrections posted, less any reversal), so the total is
// the ledger's net of verified service.
func (t *Service) Certificate(ctx context.Context, p models.Principal, residentID string, from, to time.Time) (Certificate, error) {
	r, err := community.VisibleResident(ctx, t.people, p, residentID)
	if err != nil {
		return Certificate{}, err
	}
	loc := t.location(ctx, r.CommunityID)
	allTime := from.IsZero()
	if to.IsZero() {
		to = t.now().In(loc)
	}
	to = time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	if !allTime {
		from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
		if !to.After(from) || to.Sub(from) > 366*24*time.Hour*10 {
			return Certificate{}, models.ErrValidation.Withf("结束日期不能早于开始日期，且跨度不超过十年。", "to must not be before from, within ten years")
		}
	}
	c, err := t.people.Community(ctx, r.CommunityID)
	if err != nil {
		return Certificate{}, err
	}
	net, err := t.serviceMinutes(ctx, r.ID)
	if err != nil {
		return Certificate{}, err
	}
	lines := map[string]*CertificateLine{}
	orgs := map[string]map[string]bool{}
	cert := Certificate{
		Resident:   r,
		Community:  c,
		From:       from,
		To:         to,
		IssuedAt:   t.stamp(),
		RecordsIDs: []string{},
	}
	first := to
	err = t.store.EachRecord(ctx, models.RecordFilter{
		ResidentID: r.ID,
		State:      models.RecordApproved,
		From:       from,
		To:         to,
	}, func(rec models.ServiceRecord) error {
		m := net[rec.ID]
		if m <= 0 {
			return nil
		}
		l := lines[rec.Category]
		if l == nil {
			l = &CertificateLine{Category: rec.Category}
			lines[rec.Category], orgs[rec.Category] = l, map[string]bool{}
		}
		l.Minutes += m
		l.Records++
		if !orgs[rec.Category][rec.Organisation] {
			orgs[rec.Category][rec.Organisation] = true
			l.Organisations = append(l.Organisations, rec.Organisation)
		}
		cert.Total += m
		cert.RecordsIDs = append(cert.RecordsIDs, rec.ID)
		if rec.Start.Before(first) {
			first = rec.Start
		}
		return nil
	})
	if err != nil {
		return Certificate{}, err
	}
	if allTime {
		// Since the day of the first record counted (today's when none).
		f := first.In(loc)
		if !first.Before(to) {
			f = to.AddDate(0, 0, -1)
		}
		cert.From = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	}
	cert.Lines = []CertificateLine{}
	for _, l := range lines {
		sort.Strings(l.Organisations)
		cert.Lines = append(cert.Lines, *l)
	}
	sort.Slice(cert.Lines, func(i, j int) bool { return cert.Lines[i].Category < cert.Lines[j].Category })
	return cert, nil
}

// serviceMinutes is, per service record, the net of the resident's HOURS
// entries for it: service credits and correction differences, less the
// reversals of any of them.
func (t *Service) serviceMinutes(ctx context.Context, residentID string) (map[string]models.Minutes, error) {
	acct := models.AccountOf(residentID, models.AssetHours)
	var all []models.Entry
	for before := int64(0); ; {
		page, next, err := t.ledger.History(ctx, acct, before, 100)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		before = next
	}
	service := map[string]string{} // entry id → record id
	for _, e := range all {
		if e.Kind == models.KindService {
			service[e.ID()] = e.Ref
		}
	}
	net := map[string]models.Minutes{}
	for _, e := range all {
		switch {
		case e.Kind == models.KindService:
			net[e.Ref] += models.Minutes(e.Delta)
		case e.Kind == models.KindReversal && service[e.Ref] != "":
			net[service[e.Ref]] += models.Minutes(e.Delta)
		}
	}
	return net, nil
}

// VolunteerRank is one volunteer's hours in a ranking.
type VolunteerRank struct {
	ResidentID string
	Name       string // masked: the honour roll is public
	Minutes    models.Minutes
	Stars      int
}

// BuildingRank is one building's volunteer hours in a period.
type BuildingRank struct {
	BuildingID string
	Name       string
	Minutes    models.Minutes
	Volunteers []VolunteerRank
}

// Stars is the star level (星级志愿者) for verified hours, on the usual
// thresholds of 100, 300, 600, 1000 and 1500 hours.
func Stars(m models.Minutes) int {
	hours := int64(m) / 60
	stars := 0
	for _, th := range []int64{100, 300, 600, 1000, 1500} {
		if hours >= th {
			stars++
		}
	}
	return stars
}

// RankingPeriod is the period a ranking names: period itself, or when it
// is "" the current month in the caller's community's zone, on the
// service's clock.
func (t *Service) RankingPeriod(ctx context.Context, p models.Principal, period string) string {
	if period != "" {
		return period
	}
	return models.MonthOf(t.now(), t.location(ctx, p.CommunityID)).String()
}

// Ranking ranks the buildings of the caller's community by verified
// volunteer hours in a month ("2026-11") or a year ("2026"; "" is this
// month), each with its volunteers ranked, for the honour roll: the first
// page of RankingPage, as many buildings as a page holds.
func (t *Service) Ranking(ctx context.Context, p models.Principal, period string) ([]BuildingRank, error) {
	page, err := t.RankingPage(ctx, p, period, "", maxRankingPage)
	return page.Buildings, err
}
