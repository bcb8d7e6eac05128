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
	Created  time.Time
}

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
	Address     string
	Created     time.Time
}

// Household is a flat (户), billed for property fee and parking.
type Household struct {
	ID          string
	CommunityID string
	BuildingID  string
	Room        string
	Plates      []string
	Created     time.Time
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
	IDNumber    string // 身份证号, optional; stored sealed like the phone
	Roles       []Role
	MerchantID  string
	PartnerID   string
	Family      []FamilyLink
	Created     time.Time
	// Erased is when the resident's name, phone, ID number and birth year
	// were removed after they moved away (zero while kept).
	Erased time.Time
}

var phonePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormalizePhone checks a mainland mobile number (11 digits, starting 1).
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+86")
	if !phonePattern.MatchString(s) {
		return "", ErrValidation.Withf("phone 必须是 11 位手机号", "phone must be an 11-digit mobile number")
	}
	return s, nil
}

var idNumberPattern = regexp.MustCompile(`^[0-9]{17}[0-9X]$`)

// NormalizeIDNumber checks a resident identity card number (身份证号, 18
// characters, GB 11643 check digit), upper-casing a final x.
func NormalizeIDNumber(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	bad := ErrValidation.Withf("id_number 必须是 18 位身份证号", "id_number must be an 18-character resident ID number")
	if !idNumberPattern.MatchString(s) {
		return "", bad
	}
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	if "10X98765432"[sum%11] != s[17] {
		return "", bad
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

var phoneInText = regexp.MustCompile(`1[3-9][0-9]{9}`)

// MaskPhonesIn masks every mainland mobile number in free text (a
// description typed at a counter, a log line) as 138****5678, so text that
// leaves the service for a partner or a log never carries a phone in full.
func MaskPhonesIn(s string) string {
	return phoneInText.ReplaceAllStringFunc(s, MaskPhone)
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
		return "", ErrValidation.Withf("%s 为必填项", "%s is required", field)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", ErrValidation.Withf("%s 最多 %d 个字", "%s must be at most %d characters", field, max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || r == 0xfeff {
			return "", ErrValidation.Withf("%s 含有控制字符", "%s contains control characters", field)
		}
	}
	return s, nil
}

// CleanOptionalText is CleanText for a text that may be left out: a blank
// one is none ("").
func CleanOptionalText(field, s string, max int) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return CleanText(field, s, max)
}

// MaxReason bounds the reason a decision or a correction gives.
const MaxReason = 500

// CleanReason returns the reason a person gives for a decision, a
// correction or a dispute, trimmed, or ErrValidation if it is blank, over
// MaxReason characters or has control characters (CleanText).
func CleanReason(reason string) (string, error) {
	return CleanText("reason", reason, MaxReason)
}

// Family relations a staff member may record between two residents. The
// relation says what the relative is to the resident holding the link.
const (
	RelationChild       = "子女"
	RelationParent      = "父母"
	RelationSpouse      = "配偶"
	RelationSibling     = "兄弟姐妹"
	RelationGrandchild  = "孙子女"
	RelationGrandparent = "祖父母"
	RelationOther       = "其他"
)

// inverseRelation is what the resident is to the relative, so a link can be
// kept on both sides and read by either resident's _id.
var inverseRelation = map[string]string{
	RelationChild:       RelationParent,
	RelationParent:      RelationChild,
	RelationSpouse:      RelationSpouse,
	RelationSibling:     RelationSibling,
	RelationGrandchild:  RelationGrandparent,
	RelationGrandparent: RelationGrandchild,
	RelationOther:       RelationOther,
}

// ParseRelation checks s is a known family relation and returns it with
// its inverse (子女 ↔ 父母).
func ParseRelation(s string) (relation, inverse string, err error) {
	s = strings.TrimSpace(s)
	inv, ok := inverseRelation[s]
	if !ok {
		return "", "", ErrValidation.Withf("relation 必须是以下之一：子女、父母、配偶、兄弟姐妹、孙子女、祖父母、其他", "relation must be one of 子女, 父母, 配偶, 兄弟姐妹, 孙子女, 祖父母, 其他")
	}
	return s, inv, nil
}

// MaxFamilyLinks bounds a resident's family links; the array is rewritten
// whole on every change, so it stays small.
const MaxFamilyLinks = 20

var platePattern = regexp.MustCompile(`^\p{Han}[A-Z][A-Z0-9]{5,6}$`)

// NormalizePlate checks a mainland licence plate (沪A12345, or 沪AD12345
// for a new-energy car), ignoring spaces, dots and letter case.
func NormalizePlate(s string) (string, error) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "·", "", ".", "", "-", "").Replace(strings.TrimSpace(s)))
	if !platePattern.MatchString(s) {
		return "", ErrValidation.Withf("车牌格式应为 沪A12345", "plates must look like 沪A12345")
	}
	return s, nil
}

// ImportProblem is what is wrong with one field of one row of a CSV
// import. Row is the line in the file as a spreadsheet numbers it: the
// header is row 1, the first data row is row 2. Message says why in
// English, MessageZh in Chinese; Local picks the reader's.
type ImportProblem struct {
	Row       int
	Field     string
	Code      string
	Message   string
	MessageZh string
}

// Local returns the problem's message for a reader of Chinese (zh) or
// English, falling back to whichever language it has.
func (p ImportProblem) Local(zh bool) string {
	if zh && p.MessageZh != "" {
		return p.MessageZh
	}
	if p.Message == "" {
		return p.MessageZh
	}
	return p.Message
}

// ResidentFilter narrows a listing of one community's residents. The
// community is required; the other fields are optional and match all when
// empty.
type ResidentFilter struct {
	CommunityID string
	HouseholdID string // optional
	Role        Role   // optional
}

// Login is a resident's phone and password hash. Its key is the phone, so a
// phone can belong to one login only; the store enforces that on insert.
type Login struct {
	Phone        string
	ResidentID   string
	CommunityID  string
	PasswordHash string // Argon2id, in its encoded form
}

// Residency is what was decided about a resident leaving: when staff
// marked them moved away, and, once the retention period has passed, when
// their personal information was erased (zero until then).
type Residency struct {
	ResidentID  string
	CommunityID string
	MovedAway   time.Time
	MarkedBy    string
	Erased      time.Time
}

// ErasePseudonym is the name a resident is shown by once their personal
// information is erased: the same for every run, and nothing of the person.
func ErasePseudonym(residentID string) string {
	tail := residentID
	if len(tail) > 6 {
		tail = tail[len(tail)-6:]
	}
	return "已迁出居民-" + tail
}
