package privacy_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/privacy"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var t0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// staffOf is staff member id of community.
func staffOf(community, id string) models.Principal {
	p := communitytest.Staff(community)
	p.ResidentID = id
	return p
}

// world is a store with one community, a resident and a staff member.
type world struct {
	st       *store.Store
	resident models.Resident
	staff    models.Principal
}

func newWorld(t *testing.T) world {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	if err := st.InsertCommunity(ctx, models.Community{
		ID:       "c1",
		Name:     "古美",
		TimeZone: "Asia/Shanghai",
		Created:  t0,
	}); err != nil {
		t.Fatal(err)
	}
	r := models.Resident{
		ID:          "r1",
		CommunityID: "c1",
		Name:        "王阿姨",
		Phone:       "13800000005",
		Roles:       []models.Role{models.RoleResident},
		Created:     t0,
	}
	if err := st.InsertResident(ctx, r); err != nil {
		t.Fatal(err)
	}
	return world{
		st:       st,
		resident: r,
		staff:    staffOf("c1", "s1"),
	}
}

func (w world) service(src privacy.Sources) *privacy.Service {
	return privacy.New(privacy.Deps{
		Store:   w.st,
		People:  w.st,
		Sources: src,
		Notice:  models.PrivacyNotice{Version: "2026-12"},
		Gate:    true,
		NewID:   communitytest.NewID,
		Now:     func() time.Time { return t0 },
	})
}

// pagedSources serve records and entries from memory a page at a time and
// log each call and each page handed to the visitor, in order.
type pagedSources struct {
	records, entries int
	mu               sync.Mutex
	log              []string
	maxLimit         int
}

func (s *pagedSources) note(e string, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
	s.maxLimit = max(s.maxLimit, limit)
}

func (s *pagedSources) Household(context.Context, string) (models.Household, error) {
	return models.Household{}, models.ErrNotFound
}

func (s *pagedSources) ServiceRecords(_ context.Context, _ models.Resident, cursor string, limit int) ([]models.ServiceRecord, string, error) {
	s.note("read records", limit)
	from := 0
	if cursor != "" {
		from, _ = strconv.Atoi(cursor)
	}
	to := min(from+limit, s.records)
	out := make([]models.ServiceRecord, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, models.ServiceRecord{ID: fmt.Sprintf("rec%d", i)})
	}
	if to == s.records {
		return out, "", nil
	}
	return out, strconv.Itoa(to), nil
}

func (s *pagedSources) Entries(_ context.Context, _ models.Resident, asset models.Asset, before int64, limit int) ([]models.Entry, int64, error) {
	s.note("read entries", limit)
	if before == 0 {
		before = int64(s.entries) + 1
	}
	var out []models.Entry
	for seq := before - 1; seq >= 1 && len(out) < limit; seq-- {
		out = append(out, models.Entry{Account: models.AccountOf("r1", asset), Seq: seq})
	}
	next := before - int64(len(out))
	if next <= 1 {
		next = 0
	}
	return out, next, nil
}

func (s *pagedSources) Redemptions(context.Context, models.Resident, string, int) ([]models.Redemption, string, error) {
	return nil, "", nil
}

func (s *pagedSources) HonourEntries(context.Context, models.Resident) ([]models.HonourEntry, error) {
	return nil, nil
}

func (s *pagedSources) Notifications(context.Context, models.Resident, string, int) ([]models.Notification, string, error) {
	return nil, "", nil
}

// countingVisitor counts what it is given and notes each page in the
// sources' log.
type countingVisitor struct {
	src              *pagedSources
	records, entries int
	seqs             map[string]bool
	largest          int
}

func (v *countingVisitor) Profile(models.Resident, *models.Household, *models.Consent) error {
	return nil
}

func (v *countingVisitor) Records(rs []models.ServiceRecord) error {
	v.src.note("write records", 0)
	v.records += len(rs)
	v.largest = max(v.largest, len(rs))
	return nil
}

func (v *countingVisitor) Entries(_ models.Asset, es []models.Entry) error {
	v.src.note("write entries", 0)
	for _, e := range es {
		v.seqs[e.ID()] = true
	}
	v.entries += len(es)
	v.largest = max(v.largest, len(es))
	return nil
}

func (v *countingVisitor) Redemptions([]models.Redemption) error     { return nil }
func (v *countingVisitor) Honour([]models.HonourEntry) error         { return nil }
func (v *countingVisitor) Notifications([]models.Notification) error { return nil }
func (v *countingVisitor) Accesses(as []privacy.Access) error        { return nil }

// An export of a long history reads and writes it a page at a time (never
// more than one page in hand): each page is written before the next is
// read, and every item arrives once.
func TestIssue17_PIPL_ExportReadsAndWritesAPageAtATime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := &pagedSources{records: 1050, entries: 250}
	svc := w.service(src)
	ctx := context.Background()
	exp, err := svc.PrepareExport(ctx, w.staff, w.resident.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := &countingVisitor{src: src, seqs: map[string]bool{}}
	if err := exp.Write(ctx, v); err != nil {
		t.Fatal(err)
	}
	if v.records != 1050 || v.entries != 500 || len(v.seqs) != 500 {
		t.Fatalf("exported %d records and %d entries (%d distinct), want 1050 and 500", v.records, v.entries, len(v.seqs))
	}
	if v.largest > 100 || src.maxLimit > 100 {
		t.Fatalf("a page of %d items written, %d asked for; want at most 100", v.largest, src.maxLimit)
	}
	// Reads and writes alternate: never two reads of a kind in a row
	// without the page between them written.
	for i := 1; i < len(src.log); i++ {
		if src.log[i] == src.log[i-1] && src.log[i][:4] == "read" {
			t.Fatalf("two reads in a row at %d: %v", i, src.log[max(0, i-3):i+1])
		}
	}
	// The counter export is on the resident's access log.
	log, _, err := w.st.AccessLog(ctx, w.resident.ID, "", 10)
	if err != nil || len(log) != 1 || log[0].Kind != models.AccessExport || log[0].ActorID != "s1" {
		t.Fatalf("access log %+v %v, want the staff's export", log, err)
	}
}

// Staff of another community cannot export a resident (not found), and a
// resident cannot export another resident.
func TestIssue17_PIPL_ExportRefusedOutsideTheCommunity(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	svc := w.service(&pagedSources{})
	ctx := context.Background()
	other := staffOf("c9", "s9")
	if _, err := svc.PrepareExport(ctx, other, w.resident.ID); models.CodeOf(err) != models.ErrNotFound.Code {
		t.Fatalf("staff of another community: %v, want NOT_FOUND", err)
	}
	neighbour := communitytest.Resident("c1", "r2")
	if _, err := svc.PrepareExport(ctx, neighbour, w.resident.ID); models.CodeOf(err) != models.ErrForbidden.Code {
		t.Fatalf("another resident: %v, want FORBIDDEN", err)
	}
	if log, _, err := w.st.AccessLog(ctx, w.resident.ID, "", 10); err != nil || len(log) != 0 {
		t.Fatalf("refused exports recorded: %+v %v", log, err)
	}
}

// Reads recorded at once on one resident's log (32 staff reads, and pages
// of the residents list naming the same residents) each take their own
// slot: the log lists every one once.
func TestIssue17_PIPL_ConcurrentReadsAreEachOnTheLogOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	svc := w.service(&pagedSources{})
	ctx := context.Background()
	const n = 32
	errs := make([]error, n)
	atonce.Run(n, func(i int) {
		p := staffOf("c1", fmt.Sprintf("s%02d", i))
		if i%2 == 0 {
			errs[i] = svc.RecordReads(ctx, p, models.AccessResidentDetail, "", w.resident.ID)
		} else {
			errs[i] = svc.RecordReads(ctx, p, models.AccessResidentList, "", "r7", w.resident.ID, "r8", w.resident.ID)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	for _, resident := range []struct {
		id   string
		want int
	}{{w.resident.ID, n}, {"r7", n / 2}, {"r8", n / 2}} {
		seen := map[string]bool{}
		cursor := ""
		for {
			page, next, err := w.st.AccessLog(ctx, resident.id, cursor, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				if seen[r.ID] {
					t.Fatalf("%s: record %s listed twice", resident.id, r.ID)
				}
				seen[r.ID] = true
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != resident.want {
			t.Fatalf("%s: %d records on the log, want %d", resident.id, len(seen), resident.want)
		}
	}
}

// Accepting is insert-once per resident and version; the gate opens after
// it and a version not in force is refused.
func TestIssue17_PIPL_AcceptOncePerVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	svc := w.service(&pagedSources{})
	ctx := context.Background()
	p := communitytest.Resident("c1", w.resident.ID)
	if err := svc.ConsentMissing(ctx, p); models.CodeOf(err) != models.ErrConsentRequired.Code {
		t.Fatalf("before accepting: %v, want CONSENT_REQUIRED", err)
	}
	if err := svc.ConsentMissing(ctx, w.staff); err != nil {
		t.Fatalf("staff: %v, want no consent asked", err)
	}
	if _, _, err := svc.Accept(ctx, p, "2025-01", models.LangZh, ""); models.CodeOf(err) != models.ErrConsentVersion.Code {
		t.Fatalf("old version: %v, want CONSENT_VERSION_STALE", err)
	}
	const n = 16
	created := make([]bool, n)
	got := make([]models.Consent, n)
	atonce.Run(n, func(i int) {
		var err error
		got[i], created[i], err = svc.Accept(ctx, p, "2026-12", models.LangZh, "")
		if err != nil {
			t.Error(err)
		}
	})
	wins := 0
	for i := range n {
		if created[i] {
			wins++
		}
		if got[i] != got[0] {
			t.Fatalf("acceptance %d: %+v, want %+v", i, got[i], got[0])
		}
	}
	if wins != 1 {
		t.Fatalf("%d acceptances created, want 1", wins)
	}
	if err := svc.ConsentMissing(ctx, p); err != nil {
		t.Fatalf("after accepting: %v", err)
	}
}

// A repeat of the keyed request that accepted (its answer lost) is told it
// created the acceptance, as the first was; another request is told it
// did not.
func TestAcceptRepeatedUnderItsKeyAnswersAsTheFirst(t *testing.T) {
	t.Parallel()
	svc, p := consentingResident(t)
	ctx := context.Background()
	first, created, err := svc.Accept(ctx, p, "2026-12", models.LangZh, "k:resident:accept-1")
	if err != nil || !created {
		t.Fatalf("accept: %+v %v %v", first, created, err)
	}
	again, created, err := svc.Accept(ctx, p, "2026-12", models.LangZh, "k:resident:accept-1")
	if err != nil || !created || again != first {
		t.Fatalf("the same request again: %+v created=%v %v; want %+v created", again, created, err, first)
	}
	for _, op := range []string{"k:resident:accept-2", ""} {
		other, created, err := svc.Accept(ctx, p, "2026-12", models.LangZh, op)
		if err != nil || created || other != first {
			t.Fatalf("another request (%q): %+v created=%v %v; want %+v not created", op, other, created, err, first)
		}
	}
}

// consentingResident is the privacy service of a new world and a resident
// of it who has accepted no notice yet.
func consentingResident(t *testing.T) (*privacy.Service, models.Principal) {
	t.Helper()
	w := newWorld(t)
	return w.service(&pagedSources{}), communitytest.Resident("c1", w.resident.ID)
}
