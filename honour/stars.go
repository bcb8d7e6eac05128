package honour

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// yearWindow is [1 January year, 1 January year+1) in loc.
func yearWindow(year int, loc *time.Location) (time.Time, time.Time) {
	return time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
}

// RecordStars records every household's star level for plaque year year,
// from the net points its residents earned in the year before (earning
// credits less their reversals) and whether a member (or the household) was on the honour roll at
// the end of that year; then credits each resident the bonus of the
// household's level (models.StarBonus), once per resident and year. A
// level already recorded (perhaps lowered since) is kept, so a re-run
// changes nothing and pays nothing twice.
func (s *Service) RecordStars(ctx context.Context, year int) (recorded, bonuses int, err error) {
	err = community.Each(ctx, s.store, func(c models.Community) error {
		r, b, err := s.recordCommunityStars(ctx, c, year)
		recorded, bonuses = recorded+r, bonuses+b
		if err != nil {
			return fmt.Errorf("stars %s: %w", c.ID, err)
		}
		return nil
	})
	return recorded, bonuses, err
}

// netEntries streams a community's ledger entries of [from, to) to fn with
// the kind each one counts as: its own, or for a reversal the kind of the
// entry it reverses, so a sum by kind is the net of the ledger (an award
// and its reversal make 0; a service credit corrected twice counts the last
// amount). Reversals are handed on after the scan, when the entries they
// reverse have been seen; one reversing an entry of an earlier period is
// read by its id.
func (s *Service) netEntries(ctx context.Context, communityID string, from, to time.Time, fn func(e models.Entry, kind models.EntryKind)) error {
	kinds := map[string]models.EntryKind{}
	var reversals []models.Entry
	err := s.store.EachCommunityEntry(ctx, communityID, from, to, func(e models.Entry) error {
		if e.Kind == models.KindReversal {
			reversals = append(reversals, e)
			return nil
		}
		kinds[e.ID()] = e.Kind
		fn(e, e.Kind)
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range reversals {
		kind, ok := kinds[e.Ref]
		if !ok {
			i := strings.LastIndexByte(e.Ref, ':')
			seq, perr := strconv.ParseInt(e.Ref[i+1:], 10, 64)
			if i < 0 || perr != nil || e.Ref != e.Account.EntryID(seq) {
				continue // not a reversal of an entry of this account
			}
			orig, err := s.ledger.Entry(ctx, e.Account, seq)
			if errors.Is(err, models.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			kind = orig.Kind
			kinds[e.Ref] = kind
		}
		fn(e, kind)
	}
	return nil
}

// recordCommunityStars records each household's star level of plaque year year from the
// net points its residents earned in year-1, and credits each resident the level's bonus,
// once; it returns how many records and bonuses it wrote.
func (s *Service) recordCommunityStars(ctx context.Context, c models.Community, year int) (recorded, bonuses int, err error) {
	loc := c.Location()
	from, to := yearWindow(year-1, loc)
	// A star is earned by net points: earning credits less their reversals.
	earned := map[string]models.Points{}
	err = s.netEntries(ctx, c.ID, from, to, func(e models.Entry, kind models.EntryKind) {
		if e.Account.Asset == models.AssetPoints && models.IsEarning(kind) {
			earned[e.Account.ResidentID] += models.Points(e.Delta)
		}
	})
	if err != nil {
		return 0, 0, err
	}
	residents, err := s.store.Residents(ctx, models.ResidentFilter{CommunityID: c.ID}, "", 0)
	if err != nil {
		return 0, 0, err
	}
	members := map[string][]models.Resident{}
	for _, r := range residents {
		if r.HouseholdID != "" {
			members[r.HouseholdID] = append(members[r.HouseholdID], r)
		}
	}
	policy, err := s.policies.At(ctx, c.ID, to.Add(-time.Millisecond))
	if err != nil {
		return 0, 0, err
	}
	households, err := s.store.Households(ctx, c.ID, "", "", 0)
	if err != nil {
		return 0, 0, err
	}
	end := to.Add(-time.Millisecond)
	for _, h := range households {
		var pts models.Points
		listed := false
		for _, r := range members[h.ID] {
			pts += earned[r.ID]
		}
		pts = max(pts, 0) // a reversal of an earlier year's credit may leave less than nothing
		for _, r := range members[h.ID] {
			if !listed {
				if listed, err = s.HonourListed(ctx, c.ID, r.ID, end); err != nil {
					return recorded, bonuses, err
				}
			}
		}
		level := models.StarLevelFor(policy, pts, listed)
		why := fmt.Sprintf("%d 年全户获得积分 %d (一星 %d, 二星 %d, 示范 %d 且需有红榜成员); 红榜成员: %v",
			year-1, pts, policy.OneStarPoints, policy.TwoStarPoints, policy.ModelStarPoints, yesNo(listed))
		rec := models.StarRecord{
			ID:          once.StarRecord(h.ID, year),
			CommunityID: c.ID,
			HouseholdID: h.ID,
			Year:        year,
			Computed:    level,
			Level:       level,
			Points:      pts,
			Listed:      listed,
			Why:         why,
			Recorded:    s.stamp(),
		}
		err := s.store.InsertStarRecord(ctx, rec)
		switch {
		case errors.Is(err, models.ErrConflict):
			if rec, err = s.store.StarRecord(ctx, rec.ID); err != nil {
				return recorded, bonuses, err
			}
		case err != nil:
			return recorded, bonuses, err
		default:
			recorded++
		}
		bonus := models.StarBonus[rec.Level]
		if bonus <= 0 {
			continue
		}
		for _, r := range members[h.ID] {
			_, err := s.ledger.Post(ctx, ledger.Posting{
				OpID:          once.StarAward(rec.ID, r.ID),
				Hash:          "star",
				Account:       models.AccountOf(r.ID, models.AssetPoints),
				CommunityID:   c.ID,
				Delta:         int64(bonus),
				Kind:          models.KindStar,
				Ref:           rec.ID,
				Reason:        fmt.Sprintf("%d 年%s奖励", year, models.StarNames[rec.Level]),
				PolicyVersion: policy.Version,
				Actor:         "system",
			})
			if err != nil {
				return recorded, bonuses, err
			}
			bonuses++
		}
	}
	return recorded, bonuses, nil
}

// yesNo is b in Chinese: 有 or 无.
func yesNo(b bool) string {
	if b {
		return "有"
	}
	return "无"
}

// household loads a household of p's community that p may see: staff, or
// a resident living in it.
func (s *Service) household(ctx context.Context, p models.Principal, id string) (models.Household, error) {
	h, err := s.store.Household(ctx, id)
	if err == nil && h.CommunityID != p.CommunityID {
		err = models.ErrNotFound
	}
	if err != nil {
		return h, err
	}
	if !p.IsStaff() {
		r, err := s.member(ctx, p, p.ResidentID)
		if err != nil {
			return h, err
		}
		if r.HouseholdID != h.ID {
			return h, models.ErrForbidden
		}
	}
	return h, nil
}

// Star returns a household's star record for a year (0: the current year
// in the community's zone, on the service's clock), with why: the
// household's residents and staff may see it. models.ErrNotFound if the
// year is not recorded.
func (s *Service) Star(ctx context.Context, p models.Principal, householdID string, year int) (models.StarRecord, error) {
	h, err := s.household(ctx, p, householdID)
	if err != nil {
		return models.StarRecord{}, err
	}
	if year == 0 {
		c, err := s.store.Community(ctx, h.CommunityID)
		if err != nil {
			return models.StarRecord{}, err
		}
		year = s.now().In(c.Location()).Year()
	}
	return s.store.StarRecord(ctx, once.StarRecord(h.ID, year))
}

// LowerStar lowers a household's star for a plaque year, or removes the
// plaque (level 0), with a reason (降星/摘牌, staff). The star bonus follows:
// the difference already paid is taken back from each resident, as far as
// their balance covers it (points already spent stay spent), and the
// redemption gate reads the lowered level at once.
func (s *Service) LowerStar(ctx context.Context, p models.Principal, householdID string, year, level int, reason string) (models.StarRecord, error) {
	if err := community.RequireStaff(p); err != nil {
		return models.StarRecord{}, err
	}
	h, err := s.household(ctx, p, householdID)
	if err != nil {
		return models.StarRecord{}, fmt.Errorf("lower star: %w", err)
	}
	if reason, err = models.CleanText("reason", reason, 500); err != nil {
		return models.StarRecord{}, err
	}
	rec, err := s.store.StarRecord(ctx, once.StarRecord(h.ID, year))
	if err != nil {
		return models.StarRecord{}, fmt.Errorf("lower star: %w", err)
	}
	from := rec.Level
	// The same lowering again (a repeat whose first answer was lost) runs
	// on: every step below is keyed by the level, and it finishes the cuts
	// a crash may have cut short.
	again := level == rec.Level && rec.LoweredBy == p.ResidentID && rec.LoweredReason == reason
	if again {
		if from, err = s.levelBeforeLowering(ctx, rec, level); err != nil {
			return models.StarRecord{}, fmt.Errorf("lower star: %w", err)
		}
	} else if level < 0 || level >= rec.Level {
		return models.StarRecord{}, models.ErrValidation.Withf("星级须低于当前的 %d 星。", "level must be below the current level %d", rec.Level)
	}
	if _, _, err := s.event(ctx, models.HonourEvent{
		ID:          once.StarLowered(rec.ID, level),
		CommunityID: rec.CommunityID,
		Subject:     rec.ID,
		Kind:        "lowered",
		By:          p.ResidentID,
		Reason:      reason,
		At:          s.stamp(),
	}); err != nil {
		return models.StarRecord{}, fmt.Errorf("lower star: %w", err)
	}
	rec.Level, rec.LoweredBy, rec.LoweredReason = level, p.ResidentID, reason
	if err := s.store.SaveStarRecord(ctx, rec); err != nil {
		return models.StarRecord{}, fmt.Errorf("lower star: %w", err)
	}
	cut := int64(models.StarBonus[from] - models.StarBonus[level])
	if cut <= 0 {
		return rec, nil
	}
	members, err := s.store.HouseholdResidents(ctx, rec.CommunityID, h.ID)
	if err != nil {
		return rec, fmt.Errorf("lower star: %w", err)
	}
	for _, r := range members {
		op, err := s.store.Op(ctx, once.StarAward(rec.ID, r.ID))
		// The op record is written just before the bonus entry; no record
		// (or a refused one) means the bonus was never paid, and the job
		// will pay the lowered level.
		if errors.Is(err, models.ErrNotFound) || (err == nil && op.Rejected != "") {
			continue
		}
		if err != nil {
			return rec, fmt.Errorf("lower star: %w", err)
		}
		acct := models.AccountOf(r.ID, models.AssetPoints)
		bal, err := s.ledger.Balance(ctx, acct)
		if err != nil {
			return rec, fmt.Errorf("lower star: %w", err)
		}
		amount := min(cut, bal.Amount)
		if amount <= 0 {
			continue
		}
		_, err = s.ledger.Post(ctx, ledger.Posting{
			OpID:        once.StarCut(rec.ID, r.ID, level),
			Hash:        "star-cut",
			Account:     acct,
			CommunityID: rec.CommunityID,
			Delta:       -amount,
			Kind:        models.KindDeduct,
			Ref:         rec.ID,
			Reason:      fmt.Sprintf("降星: %s → %s: %s", models.StarNames[from], models.StarNames[level], reason),
			Actor:       p.ResidentID,
		})
		if err != nil && !errors.Is(err, models.ErrInsufficientPoints) {
			return rec, fmt.Errorf("lower star: %w", err)
		}
	}
	return rec, nil
}

// levelBeforeLowering is the level rec had before it was lowered to level:
// the next higher level it was lowered to, or the computed one.
func (s *Service) levelBeforeLowering(ctx context.Context, rec models.StarRecord, level int) (int, error) {
	for l := level + 1; l < rec.Computed; l++ {
		_, err := s.store.HonourEvent(ctx, once.StarLowered(rec.ID, l))
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, models.ErrNotFound) {
			return 0, err
		}
	}
	return rec.Computed, nil
}

// StarLevel is the household's star level for the year of t after any
// lowering by staff: 0 none, 1 一星户, 2 二星户, 3 示范户. Two _id reads.
func (s *Service) StarLevel(ctx context.Context, communityID, householdID string, at time.Time) (int, error) {
	c, err := s.store.Community(ctx, communityID)
	if errors.Is(err, models.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rec, err := s.store.StarRecord(ctx, once.StarRecord(householdID, at.In(c.Location()).Year()))
	if errors.Is(err, models.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if rec.CommunityID != communityID {
		return 0, nil
	}
	return rec.Level, nil
}

// --- rankings ---

// RankingQuery picks a ranking: a month ("2026-10") or a year ("2026"),
// of the whole community or of one building, a page at a time (Cursor is
// the Next of the page before). No period is this month.
type RankingQuery struct {
	Period     string
	BuildingID string
	Limit      int
	Cursor     string
}

// Rankings ranks the residents of the caller's community by points earned
// in the period; ties go to fewer points deducted, then more verified
// minutes, then whoever reached their total first. Names are masked. It
// reads the rankings summary (RankingsPage) and returns the first page.
func (s *Service) Rankings(ctx context.Context, p models.Principal, q RankingQuery) ([]models.RankRow, error) {
	page, err := s.RankingsPage(ctx, p, q)
	return page.Rows, err
}

// compareRank orders by points earned (more first), then fewer deducted,
// more verified minutes, the earlier time the total was reached, and id.
func compareRank(a, b models.RankRow) int {
	switch {
	case a.Earned != b.Earned:
		return cmpDesc(int64(a.Earned), int64(b.Earned))
	case a.Deducted != b.Deducted:
		return -cmpDesc(int64(a.Deducted), int64(b.Deducted))
	case a.Minutes != b.Minutes:
		return cmpDesc(int64(a.Minutes), int64(b.Minutes))
	case !a.Reached.Equal(b.Reached):
		return a.Reached.Compare(b.Reached)
	}
	return strings.Compare(a.ResidentID, b.ResidentID)
}

// cmpDesc orders a before b when a is larger; it never answers 0, as compareRank calls it
// only for unequal values.
func cmpDesc(a, b int64) int {
	if a > b {
		return -1
	}
	return 1
}
