package models

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Community is a 居民区, the tenant of every other record.
type Community struct {
	ID       string
	Name     string
	District string
	TimeZone string
	Policy   PointsPolicy
	Created  time.Time
}

// PointsPolicy bounds what staff may award or deduct in one action.
type PointsPolicy struct {
	MaxAward  Points
	MaxDeduct Points
}

// DefaultPointsPolicy is used for a community that has not set its own.
var DefaultPointsPolicy = PointsPolicy{MaxAward: 200, MaxDeduct: 200}

// Location is the community's time zone (default Asia/Shanghai).
func (c Community) Location() *time.Location {
	if c.TimeZone != "" {
		if loc, err := time.LoadLocation(c.TimeZone); err == nil {
			return loc
		}
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	return loc
}

// Building is a 楼栋; HeadID is its current building head (楼组长), if any.
type Building struct {
	ID          string
	CommunityID string
	Name        string
	HeadID      string
}

// Household is a flat (户), billed for property fee and parking.
type Household struct {
	ID          string
	CommunityID string
	BuildingID  string
	Room        string
	Plates      []string
}

// FamilyLink ties a resident to a relative; Verified is set by staff.
type FamilyLink struct {
	ResidentID string
	Relation   string
	Verified   bool
}

// Resident is a person with a login.
type Resident struct {
	ID          string
	CommunityID string
	HouseholdID string
	Name        string
	Phone       string
	BirthYear   int
	Roles       []Role
	MerchantID  string
	PartnerID   string
	Family      []FamilyLink
	Created     time.Time
}

var phonePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormalizePhone checks a mainland mobile number (11 digits, starting 1).
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+86")
	if !phonePattern.MatchString(s) {
		return "", Errorf(ErrValidation.Code, "phone must be an 11-digit mobile number")
	}
	return s, nil
}

// MaskPhone shows a phone as 138****5678.
func MaskPhone(p string) string {
	if len(p) < 7 {
		return "****"
	}
	return p[:3] + "****" + p[len(p)-4:]
}

// MaskName shows a name as 张* (first character, then one star per other).
func MaskName(n string) string {
	r, size := utf8.DecodeRuneInString(n)
	if r == utf8.RuneError {
		return "*"
	}
	rest := utf8.RuneCountInString(n[size:])
	if rest == 0 {
		rest = 1
	}
	return string(r) + strings.Repeat("*", rest)
}

// CleanText trims s and checks it is 1..max runes of printable text.
func CleanText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(ErrValidation.Code, "%s is required", field)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", Errorf(ErrValidation.Code, "%s must be at most %d characters", field, max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || r == 0xfeff {
			return "", Errorf(ErrValidation.Code, "%s contains control characters", field)
		}
	}
	return s, nil
}
