package models

import (
	"fmt"
	"math"
	"time"
)

// MaxAmount bounds any single amount of points, minutes or fen so that sums
// over a community's lifetime cannot overflow int64.
const MaxAmount = 1_000_000_000

// Points are incentive credit (积分), whole numbers.
type Points int64

// NewPoints returns p if it is a positive amount no larger than MaxAmount.
func NewPoints(p int64) (Points, error) {
	if p <= 0 || p > MaxAmount {
		return 0, ErrValidation.Withf("积分须在 1 到 %d 之间", "points must be between 1 and %d", MaxAmount)
	}
	return Points(p), nil
}

// Minutes are time-bank credit (时长), whole minutes.
type Minutes int64

// NewMinutes returns m if it is a positive amount no larger than MaxAmount.
func NewMinutes(m int64) (Minutes, error) {
	if m <= 0 || m > MaxAmount {
		return 0, ErrValidation.Withf("分钟数须在 1 到 %d 之间", "minutes must be between 1 and %d", MaxAmount)
	}
	return Minutes(m), nil
}

// Fen is money: integer fen (分) of CNY.
type Fen int64

// NewFen returns f if it is not negative and no larger than MaxAmount.
func NewFen(f int64) (Fen, error) {
	if f < 0 || f > MaxAmount {
		return 0, ErrValidation.Withf("金额（分）须在 0 到 %d 之间。", "fen must be between 0 and %d", MaxAmount)
	}
	return Fen(f), nil
}

// String shows fen as yuan with two decimals, e.g. "12.50".
func (f Fen) String() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Month is a calendar month, "2026-10", in a community's time zone.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, ErrValidation.Withf("月份格式应为 2026-10", "month must look like 2026-10")
	}
	return Month{Year: t.Year(), Month: t.Month()}, nil
}

// MonthOf is the month that t falls in, in loc.
func MonthOf(t time.Time, loc *time.Location) Month {
	l := t.In(loc)
	return Month{Year: l.Year(), Month: l.Month()}
}

// String returns the month as "2026-10".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Start is the first instant of the month in loc.
func (m Month) Start(loc *time.Location) time.Time {
	return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, loc)
}

// End is the first instant of the next month in loc.
func (m Month) End(loc *time.Location) time.Time { return m.Next().Start(loc) }

// Next is the following month.
func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{Year: m.Year + 1, Month: time.January}
	}
	return Month{Year: m.Year, Month: m.Month + 1}
}

// Previous is the month before.
func (m Month) Previous() Month {
	if m.Month == time.January {
		return Month{Year: m.Year - 1, Month: time.December}
	}
	return Month{Year: m.Year, Month: m.Month - 1}
}

// AddChecked adds a and b, refusing a result past MaxAmount·1000 in either
// direction; balances are sums of bounded amounts, so this only trips on
// corrupted data.
func AddChecked(a, b int64) (int64, bool) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, false
	}
	return a + b, true
}
