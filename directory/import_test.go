package directory_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
)

// importReq is an import by staff of A with the given key, hashed as the
// handler hashes a request.
func importReq(key, csv string) directory.ImportRequest {
	sum := sha256.Sum256([]byte(csv))
	return directory.ImportRequest{CSV: []byte(csv), Idem: community.Idempotency{
		Key:  key,
		OpID: "k:staff-A:" + key,
		Hash: hex.EncodeToString(sum[:]),
	}}
}

// crashingStore lets `after` residents and households in, then fails
// every write, undo included, as a process killed mid-import leaves it.
type crashingStore struct {
	*store.Store
	after int64
	n     atomic.Int64
}

var errCrash = errors.New("crashed")

func (c *crashingStore) crashed() bool { return c.n.Add(1) > c.after }

func (c *crashingStore) InsertResident(ctx context.Context, r models.Resident) error {
	if c.crashed() {
		return errCrash
	}
	return c.Store.InsertResident(ctx, r)
}

func (c *crashingStore) InsertHousehold(ctx context.Context, h models.Household) error {
	if c.crashed() {
		return errCrash
	}
	return c.Store.InsertHousehold(ctx, h)
}

func (c *crashingStore) DeleteResident(context.Context, string) error  { return errCrash }
func (c *crashingStore) DeleteHousehold(context.Context, string) error { return errCrash }
func (c *crashingStore) DeleteLogin(context.Context, string) error     { return errCrash }
func (c *crashingStore) FinishImport(context.Context, string, models.ImportStatus, int, []models.ImportProblem, time.Time) error {
	return errCrash
}

// racingStore registers phone for someone else just before the import
// writes it, as a staff member at another desk might.
type racingStore struct {
	*store.Store
	phone string
	once  sync.Once
}

func (r *racingStore) InsertLogin(ctx context.Context, l models.Login) error {
	if l.Phone == r.phone {
		r.once.Do(func() {
			_ = r.Store.InsertLogin(ctx, models.Login{
				Phone:        r.phone,
				ResidentID:   "intruder",
				CommunityID:  "B",
				PasswordHash: "x",
			})
		})
	}
	return r.Store.InsertLogin(ctx, l)
}

// community is A's buildings and households as imports see them.
type importCommunity struct {
	s     *directory.Service
	st    *store.Store
	staff models.Principal
}

func newCommunity(t *testing.T) importCommunity {
	t.Helper()
	s, st := communitytest.NewDirectory(t)
	c := importCommunity{
		s:     s,
		st:    st,
		staff: communitytest.Staff("A"),
	}
	b1 := communitytest.MustBuilding(t, s, c.staff, "1号楼")
	communitytest.MustBuilding(t, s, c.staff, "2号楼")
	communitytest.MustHousehold(t, s, c.staff, b1.ID, "201")
	communitytest.MustResident(t, s, c.staff, "老住户", "13900000000", "")
	return c
}

func (c importCommunity) counts(t *testing.T) (households, residents int) {
	t.Helper()
	hs, err := c.st.Households(ctx, "A", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.st.Residents(ctx, models.ResidentFilter{CommunityID: "A"}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(hs), len(rs)
}

func (c importCommunity) run(kind, key, csv string) (directory.ImportResult, error) {
	if kind == directory.ImportHouseholds {
		return c.s.ImportHouseholds(ctx, c.staff, importReq(key, csv))
	}
	return c.s.ImportResidents(ctx, c.staff, importReq(key, csv))
}

func rejectedRows(t *testing.T, err error) []int {
	t.Helper()
	var rej *directory.ImportRejection
	if !errors.As(err, &rej) || !errors.Is(err, models.ErrImportRejected) {
		t.Fatalf("got %v, want an import rejection", err)
	}
	var rows []int
	for _, p := range rej.Problems {
		if p.Code == "" || p.Message == "" || p.MessageZh == "" {
			t.Errorf("problem without code or message in both languages: %+v", p)
		}
		if !slices.Contains(rows, p.Row) {
			rows = append(rows, p.Row)
		}
	}
	return rows
}

const goodHouseholds = `building,room,plates
1号楼,101,沪A12345
1号楼,102,
1号楼,103,沪A22222;沪B33333
2号楼,101,
1号楼,104,
2号楼,102,沪C12345
2号楼,103,
2号楼,104,
1号楼,105,
2号楼,105,沪D12345
`

// goodResidents lives in the households of goodHouseholds.
const goodResidents = `name,phone,building,room,birth_year,roles,initial_password
张三,13800000001,1号楼,101,1950,,password-1
李四,13800000002,1号楼,101,1978,resident;team_lead,password-2
王五,13800000003,1号楼,102,,,password-3
赵六,13800000004,1号楼,103,1990,,password-4
钱七,13800000005,2号楼,101,1945,,password-5
孙八,13800000006,2号楼,102,,,password-6
周九,13800000007,,,,,password-7
吴十,13800000008,2号楼,104,2001,,password-8
郑一,13800000009,1号楼,105,1960,,password-9
冯二,13800000010,2号楼,105,1966,,password-10
`

// A file with 2 bad rows out of 10 is refused with a report naming exactly
// those rows, and nothing of it is written.
func TestImportWithBadRowsWritesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, kind string
		edit       func(lines []string) // lines[0] is the header, row = index+1
		rows       []int
	}{
		{"unknown building, household exists", directory.ImportHouseholds, func(l []string) {
			l[4] = "3号楼,101,"
			l[7] = "1号楼,201,"
		}, []int{5, 8}},
		{"duplicate in file, bad plate", directory.ImportHouseholds, func(l []string) {
			l[3] = "1号楼,101,"
			l[10] = "2号楼,105,沪D12"
		}, []int{4, 11}},
		{"duplicate phone, phone registered", directory.ImportResidents, func(l []string) {
			l[5] = "赵六,13800000001,1号楼,103,1990,,password-4"
			l[8] = "吴十,13900000000,2号楼,104,2001,,password-8"
		}, []int{6, 9}},
		{"no such household, bad role and password", directory.ImportResidents, func(l []string) {
			l[2] = "李四,13800000002,1号楼,999,1978,,password-2"
			l[9] = "郑一,13800000009,1号楼,105,1960,building_head,short"
		}, []int{3, 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCommunity(t)
			if tc.kind == directory.ImportResidents {
				if _, err := c.run(directory.ImportHouseholds, "households-1", goodHouseholds); err != nil {
					t.Fatal(err)
				}
			}
			file := goodHouseholds
			if tc.kind == directory.ImportResidents {
				file = goodResidents
			}
			lines := strings.Split(strings.TrimSuffix(file, "\n"), "\n")
			tc.edit(lines)
			bad := strings.Join(lines, "\n") + "\n"

			h0, r0 := c.counts(t)
			_, err := c.run(tc.kind, "bad-import-1", bad)
			if got := rejectedRows(t, err); !slices.Equal(got, tc.rows) {
				t.Errorf("rows reported %v, want %v", got, tc.rows)
			}
			if h1, r1 := c.counts(t); h1 != h0 || r1 != r0 {
				t.Errorf("households %d → %d, residents %d → %d: something was written", h0, h1, r0, r1)
			}
			if tc.kind == directory.ImportResidents {
				if _, err := c.st.LoginByPhone(ctx, "13800000010"); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("a login of a good row was written: %v", err)
				}
			}
			// The same request again gets the same answer.
			_, err = c.run(tc.kind, "bad-import-1", bad)
			if got := rejectedRows(t, err); !slices.Equal(got, tc.rows) {
				t.Errorf("repeat reported %v, want %v", got, tc.rows)
			}
		})
	}
}

func TestImportValidFilesOnceEach(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	h0, r0 := c.counts(t)
	// As a community office saves it from Excel: a BOM and Chinese headers.
	households := "\ufeff楼栋,房号,车牌\n" + strings.SplitN(goodHouseholds, "\n", 2)[1]
	res, err := c.run(directory.ImportHouseholds, "households-1", households)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 10 || res.Written != 10 || res.Replayed {
		t.Errorf("households result %+v", res)
	}
	res, err = c.run(directory.ImportResidents, "residents-1", goodResidents)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 10 || res.Written != 10 {
		t.Errorf("residents result %+v", res)
	}
	h1, r1 := c.counts(t)
	if h1 != h0+10 || r1 != r0+10 {
		t.Fatalf("households %d → %d, residents %d → %d; want 10 more of each", h0, h1, r0, r1)
	}
	checkResidentsImported(t, c)

	// Repeats change nothing and answer as the first did.
	for _, kind := range []string{directory.ImportHouseholds, directory.ImportResidents} {
		key, file := "households-1", households
		if kind == directory.ImportResidents {
			key, file = "residents-1", goodResidents
		}
		res, err := c.run(kind, key, file)
		if err != nil || !res.Replayed || res.Written != 10 {
			t.Errorf("repeat of %s: %+v, %v", kind, res, err)
		}
		_, err = c.run(kind, key, file+"\n"+strings.Repeat(",", 2)+"x\n")
		communitytest.WantCode(t, "same key, another body", err, models.ErrIdempotencyMismatch)
	}
	if h2, r2 := c.counts(t); h2 != h1 || r2 != r1 {
		t.Errorf("repeats wrote: households %d → %d, residents %d → %d", h1, h2, r1, r2)
	}
	// Importing the same rows under a new key is refused, row by row.
	_, err = c.run(directory.ImportResidents, "residents-2", goodResidents)
	if rows := rejectedRows(t, err); len(rows) != 10 {
		t.Errorf("re-import under a new key: rows %v", rows)
	}
}

// checkResidentsImported checks every imported phone has one login that
// points at the one resident with that phone.
func checkResidentsImported(t *testing.T, c importCommunity) {
	t.Helper()
	rs, err := c.st.Residents(ctx, models.ResidentFilter{CommunityID: "A"}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	byPhone := map[string][]models.Resident{}
	for _, r := range rs {
		byPhone[r.Phone] = append(byPhone[r.Phone], r)
	}
	for i := 1; i <= 10; i++ {
		phone := fmt.Sprintf("138%08d", i)
		got := byPhone[phone]
		if len(got) != 1 {
			t.Errorf("phone %s: %d residents", phone, len(got))
			continue
		}
		l, err := c.st.LoginByPhone(ctx, phone)
		if err != nil || l.ResidentID != got[0].ID || l.PasswordHash != fmt.Sprintf("fake$password-%d", i) {
			t.Errorf("login of %s: %+v, %v", phone, l, err)
		}
	}
	li := byPhone["13800000002"][0]
	if !communitytest.HasRole(li, models.RoleTeamLead) || !communitytest.HasRole(li, models.RoleResident) || li.HouseholdID == "" {
		t.Errorf("李四: %+v", li)
	}
	if zhou := byPhone["13800000007"][0]; zhou.HouseholdID != "" || zhou.BirthYear != 0 {
		t.Errorf("周九: %+v", zhou)
	}
}

// An import cut off half-way (some rows in under their derived ids, the
// undo lost too) is finished by repeating it, and nothing is doubled.
func TestImportRepeatFinishesHalfDoneImport(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	for _, kind := range []string{directory.ImportHouseholds, directory.ImportResidents} {
		key, file := "households-1", goodHouseholds
		if kind == directory.ImportResidents {
			key, file = "residents-1", goodResidents
		}
		h0, r0 := c.counts(t)
		crashing := directory.New(&crashingStore{Store: c.st, after: 4}, communitytest.FakeHasher{}, communitytest.NewID, communitytest.Now, community.NoNotifier{})
		req := importReq(key, file)
		var err error
		if kind == directory.ImportHouseholds {
			_, err = crashing.ImportHouseholds(ctx, c.staff, req)
		} else {
			_, err = crashing.ImportResidents(ctx, c.staff, req)
		}
		if !errors.Is(err, errCrash) {
			t.Fatalf("%s over a crashing store: %v", kind, err)
		}
		h1, r1 := c.counts(t)
		// The crash cancels the writes in flight, so 1 to 4 rows got in.
		if written := (h1 - h0) + (r1 - r0); written < 1 || written > 4 {
			t.Fatalf("%s: %d rows written before the crash, want 1 to 4", kind, written)
		}
		res, err := c.run(kind, key, file)
		if err != nil || res.Written != 10 || res.Replayed {
			t.Fatalf("%s repeat: %+v, %v", kind, res, err)
		}
		h2, r2 := c.counts(t)
		if written := (h2 - h0) + (r2 - r0); written != 10 {
			t.Errorf("%s: %d rows after the repeat, want 10", kind, written)
		}
		res, err = c.run(kind, key, file)
		if err != nil || !res.Replayed {
			t.Errorf("%s second repeat: %+v, %v", kind, res, err)
		}
	}
	checkResidentsImported(t, c)
}

// A phone registered between the check and the write: the rows written
// are taken back and the row is reported.
func TestImportUndoesRowsWhenAPhoneIsTakenMeanwhile(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	if _, err := c.run(directory.ImportHouseholds, "households-1", goodHouseholds); err != nil {
		t.Fatal(err)
	}
	h0, r0 := c.counts(t)
	racing := directory.New(&racingStore{Store: c.st, phone: "13800000006"}, communitytest.FakeHasher{}, communitytest.NewID, communitytest.Now, community.NoNotifier{})
	_, err := racing.ImportResidents(ctx, c.staff, importReq("residents-1", goodResidents))
	if rows := rejectedRows(t, err); !slices.Equal(rows, []int{7}) {
		t.Errorf("rows %v, want [7]", rows)
	}
	if h1, r1 := c.counts(t); h1 != h0 || r1 != r0 {
		t.Errorf("households %d → %d, residents %d → %d: rows left behind", h0, h1, r0, r1)
	}
	for i := 1; i <= 10; i++ {
		phone := fmt.Sprintf("138%08d", i)
		l, err := c.st.LoginByPhone(ctx, phone)
		switch {
		case phone == "13800000006" && (err != nil || l.ResidentID != "intruder"):
			t.Errorf("the other login was touched: %+v, %v", l, err)
		case phone != "13800000006" && !errors.Is(err, models.ErrNotFound):
			t.Errorf("login of %s left behind: %v", phone, err)
		}
	}
	_, err = c.run(directory.ImportResidents, "residents-1", goodResidents)
	if rows := rejectedRows(t, err); !slices.Equal(rows, []int{7}) {
		t.Errorf("repeat: rows %v, want [7]", rows)
	}
}

// Issue 19.11: a cell with a line break (a quoted cell spanning two lines
// of the file, as a spreadsheet writes one) is one row: the rows after it
// are reported by the spreadsheet's numbers, not the file's lines.
func TestIssue19_11_ImportReportsSpreadsheetRows(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	file := "building,room,plates\n" +
		"1号楼,101,\n" + // row 2
		"\"1号楼\",\"102\r\n\",\n" + // row 3, its room cell spans two lines of the file
		"3号楼,101,\n" + // row 4: no such building
		"\n" + // row 5, empty
		"1号楼,\"103\",\"沪A\n12345\",x\n" // row 6: one field too many
	_, err := c.run(directory.ImportHouseholds, "rows-1", file)
	var rej *directory.ImportRejection
	if !errors.As(err, &rej) {
		t.Fatalf("got %v, want a rejection", err)
	}
	got := map[int]string{}
	for _, p := range rej.Problems {
		got[p.Row] += p.Code + " "
	}
	if !strings.Contains(got[4], directory.ProblemUnknown) || !strings.Contains(got[6], directory.ProblemRow) || len(got) > 3 {
		t.Fatalf("problems by row %v; want NOT_FOUND on row 4 and BAD_ROW on row 6 (and at most row 3's own)", got)
	}
	// A quote out of place is reported at the spreadsheet's row too.
	_, err = c.run(directory.ImportHouseholds, "rows-2", "building,room,plates\n\"1号楼\n\",101,\n1号楼,1\"02,\n")
	if rows := rejectedRows(t, err); !slices.Equal(rows, []int{3}) {
		t.Fatalf("bad quote reported at rows %v; want [3]", rows)
	}
}

func TestImportFileProblems(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	_, err := c.run(directory.ImportHouseholds, "header-1", "building,rooms,plates\n1号楼,101,\n")
	var rej *directory.ImportRejection
	if !errors.As(err, &rej) || len(rej.Problems) != 2 || rej.Problems[0].Row != 1 || rej.Problems[0].Code != directory.ProblemHeader {
		t.Errorf("bad header: %v %+v", err, rej)
	}
	_, err = c.run(directory.ImportHouseholds, "width-1", "building,room,plates\n1号楼,101\n\n,,\n1号楼,102,\n")
	if rows := rejectedRows(t, err); !slices.Equal(rows, []int{2}) {
		t.Errorf("short row: rows %v", rows)
	}
	big := "building,room,plates\n" + strings.Repeat("1号楼,101,\n", directory.MaxImportRows+1)
	_, err = c.run(directory.ImportHouseholds, "big-1", big)
	communitytest.WantCode(t, "too many rows", err, models.ErrValidation)
	_, err = c.run(directory.ImportHouseholds, "empty-1", "building,room,plates\n")
	communitytest.WantCode(t, "no rows", err, models.ErrValidation)
	_, err = c.run(directory.ImportHouseholds, "gbk-1", "building,room,plates\n\xc2\xa5\xb6\xb0,101,\n\xff")
	communitytest.WantCode(t, "not UTF-8", err, models.ErrValidation)
	_, err = c.s.ImportHouseholds(ctx, c.staff, directory.ImportRequest{CSV: []byte(goodHouseholds)})
	communitytest.WantCode(t, "no key", err, models.ErrIdempotencyKey)
	if h, _ := c.counts(t); h != 1 {
		t.Errorf("%d households, want the 1 there before", h)
	}
}
