package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// The rankings summary (docs/PERFORMANCE.md, "Rankings summary (issue
// 15)"). All three are caches the rankings job writes and can rebuild from
// the ledger: each resident's summary names the last entry of each account
// it counts; the months are summed from those.
const (
	colRankAccounts = "rank_accounts" // _id is community:resident
	colRankMonths   = "rank_months"   // _id is community:YYYY-MM
	colRankStates   = "rank_states"   // _id is the community
	colRankPages    = "rank_pages"    // heads community:period:list, pages community:period:list:slot:n
)

// init registers the rankings summaries' collections and index with the
// schema (schema.go) built at start.
func init() {
	allCollections = append(allCollections, colRankAccounts, colRankMonths, colRankStates, colRankPages)
	indexes = append(indexes, index{colRankAccounts, bson.D{{Key: "community", Value: 1}}, false})
}

// rankBucketDoc is one resident's sums in one community and month: points
// earned and deducted, minutes served, and when the last counted entry was
// reached.
type rankBucketDoc struct {
	Community string    `bson:"c"`
	Month     string    `bson:"m"`
	Earned    int64     `bson:"e"`
	Deducted  int64     `bson:"d"`
	Minutes   int64     `bson:"h"`
	Served    int64     `bson:"s"`
	Reached   time.Time `bson:"r"`
}

// rankAccountDoc is a resident's rankings summary (rank_accounts): the last
// points and hours entries it counts and its buckets per month.
type rankAccountDoc struct {
	ID        string          `bson:"_id"`
	Community string          `bson:"community"`
	Resident  string          `bson:"resident"`
	PointsSeq int64           `bson:"pseq"`
	HoursSeq  int64           `bson:"hseq"`
	Buckets   []rankBucketDoc `bson:"buckets"`
}

// RankAccounts returns the saved rankings summaries of a community's
// residents by resident. It filters by community: a job's read, as many
// documents as the community has residents, whatever their history.
func (s *Store) RankAccounts(ctx context.Context, communityID string) (map[string]models.RankAccount, error) {
	out := map[string]models.RankAccount{}
	cur, err := s.c(colRankAccounts).Find(ctx, bson.D{{Key: "community", Value: communityID}})
	err = eachDoc(ctx, cur, err, "rank accounts", func(d rankAccountDoc) error {
		a := models.RankAccount{
			CommunityID: d.Community,
			ResidentID:  d.Resident,
			PointsSeq:   d.PointsSeq,
			HoursSeq:    d.HoursSeq,
		}
		for _, b := range d.Buckets {
			a.Buckets = append(a.Buckets, models.RankBucket{
				CommunityID: b.Community,
				Month:       b.Month,
				Earned:      b.Earned,
				Deducted:    b.Deducted,
				Minutes:     b.Minutes,
				Served:      b.Served,
				Reached:     b.Reached.UTC(),
			})
		}
		out[d.Resident] = a
		return nil
	})
	return out, err
}

// SaveRankAccount saves a resident's rankings summary whole: it is
// consistent with the entries it names, whoever saved it last.
func (s *Store) SaveRankAccount(ctx context.Context, a models.RankAccount) error {
	id := a.CommunityID + ":" + a.ResidentID
	d := rankAccountDoc{
		ID:        id,
		Community: a.CommunityID,
		Resident:  a.ResidentID,
		PointsSeq: a.PointsSeq,
		HoursSeq:  a.HoursSeq,
		Buckets:   []rankBucketDoc{},
	}
	for _, b := range a.Buckets {
		d.Buckets = append(d.Buckets, rankBucketDoc{
			Community: b.CommunityID,
			Month:     b.Month,
			Earned:    b.Earned,
			Deducted:  b.Deducted,
			Minutes:   b.Minutes,
			Served:    b.Served,
			Reached:   b.Reached,
		})
	}
	return s.replaceByID(ctx, colRankAccounts, id, d, true)
}

// rankRowDoc is one resident's row in a month summary.
type rankRowDoc struct {
	Resident string    `bson:"resident"`
	Building string    `bson:"building,omitempty"`
	Earned   int64     `bson:"e"`
	Deducted int64     `bson:"d"`
	Minutes  int64     `bson:"h"`
	Served   int64     `bson:"s"`
	Reached  time.Time `bson:"r"`
}

// rankMonthDoc is a community's rankings summary of one month
// (rank_months), with the digest of its rows.
type rankMonthDoc struct {
	ID        string       `bson:"_id"`
	Community string       `bson:"community"`
	Month     string       `bson:"month"`
	Digest    string       `bson:"digest"`
	Rows      []rankRowDoc `bson:"rows"`
}

// rankMonthID is the _id of a community's month summary.
func rankMonthID(communityID, month string) string { return communityID + ":" + month }

// SaveRankMonth saves a community's rankings summary of one month whole.
func (s *Store) SaveRankMonth(ctx context.Context, m models.RankMonth) error {
	id := rankMonthID(m.CommunityID, m.Month)
	d := rankMonthDoc{
		ID:        id,
		Community: m.CommunityID,
		Month:     m.Month,
		Digest:    m.Digest,
		Rows:      []rankRowDoc{},
	}
	for _, r := range m.Rows {
		d.Rows = append(d.Rows, rankRowDoc{
			Resident: r.ResidentID,
			Building: r.BuildingID,
			Earned:   r.Earned,
			Deducted: r.Deducted,
			Minutes:  r.Minutes,
			Served:   r.Served,
			Reached:  r.Reached,
		})
	}
	return s.replaceByID(ctx, colRankMonths, id, d, true)
}

// RankMonths returns the community's saved month summaries among months,
// by month, looking each up by _id (eight at a time); with digestsOnly
// the rows are left out. Its cost is the number of months, whatever the
// history.
func (s *Store) RankMonths(ctx context.Context, communityID string, months []string, digestsOnly bool) (map[string]models.RankMonth, error) {
	found := make([]*rankMonthDoc, len(months))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, month := range months {
		g.Go(func() error {
			opts := options.FindOne()
			if digestsOnly {
				opts.SetProjection(bson.D{{Key: "rows", Value: 0}})
			}
			var d rankMonthDoc
			err := s.count(mapErr("find "+colRankMonths, s.c(colRankMonths).FindOne(gctx, byID(rankMonthID(communityID, month)), opts).Decode(&d)), "find "+colRankMonths)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err == nil {
				found[i] = &d
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string]models.RankMonth{}
	for i, d := range found {
		if d == nil {
			continue
		}
		m := models.RankMonth{
			CommunityID: communityID,
			Month:       months[i],
			Digest:      d.Digest,
		}
		for _, r := range d.Rows {
			m.Rows = append(m.Rows, models.RankMonthRow{
				ResidentID: r.Resident,
				BuildingID: r.Building,
				Earned:     r.Earned,
				Deducted:   r.Deducted,
				Minutes:    r.Minutes,
				Served:     r.Served,
				Reached:    r.Reached.UTC(),
			})
		}
		out[months[i]] = m
	}
	return out, nil
}

// rankStateDoc says when a community's rankings were last summed and which
// months they hold (rank_states).
type rankStateDoc struct {
	ID     string    `bson:"_id"`
	At     time.Time `bson:"at"`
	Months []string  `bson:"months"`
}

// RankState returns when the community's rankings were last summed, or
// models.ErrNotFound before the first time.
func (s *Store) RankState(ctx context.Context, communityID string) (models.RankState, error) {
	var d rankStateDoc
	if err := s.findByID(ctx, colRankStates, communityID, &d); err != nil {
		return models.RankState{}, err
	}
	return models.RankState{
		CommunityID: d.ID,
		At:          d.At.UTC(),
		Months:      d.Months,
	}, nil
}

// SaveRankState saves when the community's rankings were summed.
func (s *Store) SaveRankState(ctx context.Context, st models.RankState) error {
	months := st.Months
	if months == nil {
		months = []string{}
	}
	return s.replaceByID(ctx, colRankStates, st.CommunityID, rankStateDoc{
		ID:     st.CommunityID,
		At:     st.At,
		Months: months,
	}, true)
}

// rankHeadPageDoc is what a head says of one of its pages.
type rankHeadPageDoc struct {
	Digest string `bson:"d"`
	First  string `bson:"f"`
}

// rankHeadDoc names the current generation of a stored ranking
// (rank_pages, _id community:period:list).
type rankHeadDoc struct {
	ID        string            `bson:"_id"`
	Community string            `bson:"community"`
	Period    string            `bson:"period"`
	List      string            `bson:"list"`
	Slot      int               `bson:"slot"`
	Gen       int64             `bson:"gen"`
	Digest    string            `bson:"digest"`
	At        time.Time         `bson:"at"`
	Rows      int               `bson:"rows"`
	Pages     []rankHeadPageDoc `bson:"pages"`
	Groups    []rankGroupDoc    `bson:"groups,omitempty"`
}

// rankGroupDoc is one building of a stored volunteer-hours ranking.
type rankGroupDoc struct {
	Building string `bson:"b"`
	Name     string `bson:"n"`
	Minutes  int64  `bson:"m"`
	Start    int    `bson:"s"`
	Count    int    `bson:"c"`
}

// rankPageRowDoc is one row of a stored ranking page.
type rankPageRowDoc struct {
	Rank     int       `bson:"rank"`
	Resident string    `bson:"resident"`
	Name     string    `bson:"name"`
	Building string    `bson:"building,omitempty"`
	Earned   int64     `bson:"e"`
	Deducted int64     `bson:"d"`
	Minutes  int64     `bson:"h"`
	Reached  time.Time `bson:"r"`
}

// rankPageDoc is one stored page of a ranking (rank_pages, _id
// community:period:list:slot:n).
type rankPageDoc struct {
	ID     string           `bson:"_id"`
	Digest string           `bson:"digest"`
	Rows   []rankPageRowDoc `bson:"rows"`
}

// rankHeadID is the _id of a stored ranking's head.
func rankHeadID(communityID, period, list string) string {
	return communityID + ":" + period + ":" + list
}

// rankPageID is the _id of page n in slot of a stored ranking.
func rankPageID(communityID, period, list string, slot, n int) string {
	return rankHeadID(communityID, period, list) + ":" + strconv.Itoa(slot) + ":" + strconv.Itoa(n)
}

// RankHead returns the head of a stored ranking, or models.ErrNotFound
// when none was stored.
func (s *Store) RankHead(ctx context.Context, communityID, period, list string) (models.RankHead, error) {
	var d rankHeadDoc
	if err := s.findByID(ctx, colRankPages, rankHeadID(communityID, period, list), &d); err != nil {
		return models.RankHead{}, err
	}
	h := models.RankHead{
		CommunityID: d.Community,
		Period:      d.Period,
		List:        d.List,
		Slot:        d.Slot,
		Gen:         d.Gen,
		Digest:      d.Digest,
		At:          d.At.UTC(),
		Rows:        d.Rows,
	}
	for _, p := range d.Pages {
		h.Pages = append(h.Pages, models.RankHeadPage{Digest: p.Digest, First: p.First})
	}
	for _, g := range d.Groups {
		h.Groups = append(h.Groups, models.RankGroup{
			BuildingID: g.Building,
			Name:       g.Name,
			Minutes:    g.Minutes,
			Start:      g.Start,
			Count:      g.Count,
		})
	}
	return h, nil
}

// SaveRankHead replaces the head of a stored ranking: derived data the
// rankings job rebuilds, written after the pages it names.
func (s *Store) SaveRankHead(ctx context.Context, h models.RankHead) error {
	id := rankHeadID(h.CommunityID, h.Period, h.List)
	d := rankHeadDoc{
		ID:        id,
		Community: h.CommunityID,
		Period:    h.Period,
		List:      h.List,
		Slot:      h.Slot,
		Gen:       h.Gen,
		Digest:    h.Digest,
		At:        h.At,
		Rows:      h.Rows,
		Pages:     []rankHeadPageDoc{},
	}
	for _, p := range h.Pages {
		d.Pages = append(d.Pages, rankHeadPageDoc{Digest: p.Digest, First: p.First})
	}
	for _, g := range h.Groups {
		d.Groups = append(d.Groups, rankGroupDoc{
			Building: g.BuildingID,
			Name:     g.Name,
			Minutes:  g.Minutes,
			Start:    g.Start,
			Count:    g.Count,
		})
	}
	return s.replaceByID(ctx, colRankPages, id, d, true)
}

// RankPage returns page n in slot of a stored ranking, or
// models.ErrNotFound; with digestOnly the rows are left out.
func (s *Store) RankPage(ctx context.Context, communityID, period, list string, slot, n int, digestOnly bool) (models.RankPage, error) {
	opts := options.FindOne()
	if digestOnly {
		opts.SetProjection(bson.D{{Key: "rows", Value: 0}})
	}
	var d rankPageDoc
	id := rankPageID(communityID, period, list, slot, n)
	if err := s.count(mapErr("find "+colRankPages, s.c(colRankPages).FindOne(ctx, byID(id), opts).Decode(&d)), "find "+colRankPages); err != nil {
		return models.RankPage{}, err
	}
	p := models.RankPage{
		CommunityID: communityID,
		Period:      period,
		List:        list,
		Slot:        slot,
		N:           n,
		Digest:      d.Digest,
	}
	for _, r := range d.Rows {
		p.Rows = append(p.Rows, models.RankRow{
			Rank:       r.Rank,
			ResidentID: r.Resident,
			Name:       r.Name,
			BuildingID: r.Building,
			Earned:     models.Points(r.Earned),
			Deducted:   models.Points(r.Deducted),
			Minutes:    models.Minutes(r.Minutes),
			Reached:    r.Reached.UTC(),
		})
	}
	return p, nil
}

// SaveRankPage replaces page p.N in slot p.Slot of a stored ranking.
func (s *Store) SaveRankPage(ctx context.Context, p models.RankPage) error {
	id := rankPageID(p.CommunityID, p.Period, p.List, p.Slot, p.N)
	d := rankPageDoc{
		ID:     id,
		Digest: p.Digest,
		Rows:   []rankPageRowDoc{},
	}
	for _, r := range p.Rows {
		d.Rows = append(d.Rows, rankPageRowDoc{
			Rank:     r.Rank,
			Resident: r.ResidentID,
			Name:     r.Name,
			Building: r.BuildingID,
			Earned:   int64(r.Earned),
			Deducted: int64(r.Deducted),
			Minutes:  int64(r.Minutes),
			Reached:  r.Reached,
		})
	}
	return s.replaceByID(ctx, colRankPages, id, d, true)
}

// DeleteRankPage removes page n in slot of a stored ranking (a page past
// the end of the generation written there); a missing one is no error.
func (s *Store) DeleteRankPage(ctx context.Context, communityID, period, list string, slot, n int) error {
	return s.deleteByID(ctx, colRankPages, rankPageID(communityID, period, list, slot, n))
}

// DeleteRankHead removes the head of a stored ranking the runs no longer
// keep; a missing one is no error.
func (s *Store) DeleteRankHead(ctx context.Context, communityID, period, list string) error {
	return s.deleteByID(ctx, colRankPages, rankHeadID(communityID, period, list))
}
