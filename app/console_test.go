package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
	"github.com/xuri/excelize/v2"
)

// The console (/console/) is tested in the same real browser as the
// residents' app, at a desktop's 1280×800: the community office runs a
// month from it, and partners confirm and download their statements.
// LINLI_SCREENSHOTS=docs/screens writes console-*.png there.

// testClock is the service's clock in a console test: the wall clock,
// moved on by hand past a notice period or into the next month.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// newClockWorld is the demo community on a fresh store, its services on
// clock.
func newClockWorld(t *testing.T, clock *testClock) *world {
	t.Helper()
	st := storetest.New(t)
	sys, err := build(testConfig(t), slog.New(slog.NewTextHandler(io.Discard, nil)), st, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		t:   t,
		sys: sys,
		app: sys.httpApp(),
		ids: map[string]string{},
	}
	ctx := context.Background()
	if _, err := sys.seedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	for _, phone := range []string{phoneAdminA, phoneStaffA, phoneHeadA, phoneElderA, phoneSonA, phoneClerkA, phonePartnerA} {
		l, err := st.LoginByPhone(ctx, phone)
		if err != nil {
			t.Fatal(err)
		}
		w.ids[phone] = l.ResidentID
	}
	return w
}

// desk is one person's desktop browser (its own cookies), at 1280×800.
func (s *screens) desk() context.Context {
	s.t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	s.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		s.t.Fatal(err)
	}
	return ctx
}

// fill sets an input's or textarea's value as typing would, so the page's
// v-model sees it.
func fill(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const el = document.querySelector(%q);
			if (!el) throw new Error('no ' + %q);
			el.value = %q;
			el.dispatchEvent(new Event('input', { bubbles: true }));
			return true;
		})()`, sel, sel, text))(ctx, t)
		return err
	})
}

// press clicks the element sel names from the page's script.
func press(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { document.querySelector(%q).click(); return true })()`, sel))(ctx, t)
		return err
	})
}

// answerBox types into Element Plus's prompt and presses its OK button.
func answerBox(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		steps := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(`.el-message-box`))}
		if text != "" {
			steps = append(steps, fill(`.el-message-box__input input`, text))
		}
		steps = append(steps, chromedp.Click(chromedp.CSS(`.el-message-box__btns .el-button--primary`)))
		for _, s := range steps {
			if _, err := s(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// try is do, and on failure saves what the screen showed as
// failed-<test>.png in the temporary folder.
func (s *screens) try(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		if png, perr := chromedp.Run(ctx, chromedp.CaptureScreenshot()); perr == nil {
			_ = os.WriteFile(filepath.Join(os.TempDir(), "failed-"+s.t.Name()+".png"), png, 0o644)
		}
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
		s.t.Fatalf("%s: %v\nthe page said:\n%s", what, err, text)
	}
}

func (s *screens) consoleLogin(ctx context.Context, phone string) {
	s.t.Helper()
	s.login(ctx, "/console/", phone)
}

// A bad row in a residents' CSV is shown with its reason and nothing is
// written; the fixed file imports.
func TestConsoleImportShowsBadRowThenImports(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	staff := s.desk()
	s.consoleLogin(staff, phoneStaffA)
	s.try(staff, "hours page first", waitText("服务时长审核"))
	s.try(staff, "directory", chromedp.Navigate(s.base+"/console/directory"), waitText("居民名册"), waitText("王奶奶"))
	s.shot(staff, "console-directory")

	before := w.counts()
	bad := "姓名,手机号,楼栋,房号,出生年份,角色,初始密码\n" +
		"孔居民,13912340001,1号楼,101,1951,resident,chunshen-2026\n" +
		"曹居民,1391234,2号楼,102,1949,resident,chunshen-2026\n"
	s.try(staff, "the import tab", chromedp.Click(chromedp.CSS(`#tab-import`)), chromedp.WaitVisible(chromedp.CSS(`textarea[data-test=csv]`)),
		fill(`textarea[data-test=csv]`, bad), clickText("检查文件"), chromedp.WaitVisible(chromedp.CSS(`[data-test=preview-bad]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-bad-row="3"]`)))
	if why := s.text(staff, `[data-bad-row="3"]`); !strings.Contains(why, "手机号") || strings.Contains(why, "must") {
		t.Fatalf("row 3's reason is %q; want it to name the phone, in Chinese only", why)
	}
	if n, err := chromedp.Run(staff, chromedp.Evaluate[int](`document.querySelectorAll('[data-bad-row]').length`)); err != nil || n != 1 {
		t.Fatalf("%d rows marked bad (%v); want only row 3", n, err)
	}
	if disabled, err := chromedp.Run(staff, chromedp.Evaluate[bool](`document.querySelector('[data-test=import]').disabled`)); err != nil || !disabled {
		t.Fatalf("the import button is enabled with a bad row (%v)", err)
	}
	s.shot(staff, "console-import-preview")
	if after := w.counts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the preview wrote: %v → %v", before, after)
	}
	if _, err := w.sys.store.LoginByPhone(context.Background(), "13912340001"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the good row of a rejected file was written: %v", err)
	}

	good := strings.Replace(bad, "1391234,", "13912340002,", 1)
	s.try(staff, "fix and import", fill(`textarea[data-test=csv]`, good), clickText("检查文件"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=preview-ok]`)), clickText("确认导入"), chromedp.WaitVisible(chromedp.CSS(`[data-test=imported]`)))
	for _, phone := range []string{"13912340001", "13912340002"} {
		if _, err := w.sys.store.LoginByPhone(context.Background(), phone); err != nil {
			t.Fatalf("%s not imported: %v", phone, err)
		}
	}
	s.try(staff, "the new residents are in the directory", chromedp.Click(chromedp.CSS(`#tab-residents`)),
		fill(`input[data-test=search]`, "曹居民"), waitText("139****0002"))
}

// Staff approve a resident's pending claim in the queue and her hours
// rise by its minutes.
func TestConsoleApproveRaisesHours(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	elder := w.ids[phoneElderA]
	start := time.Now().Add(-26 * time.Hour).Truncate(time.Hour)
	r := w.call("POST", "/api/v1/service-records", w.login(phoneElderA), map[string]any{
		"category":     "助老",
		"organisation": "春申居民区",
		"description":  "陪邻居孙阿姨去社区医院配药",
		"start":        start,
		"end":          start.Add(90 * time.Minute),
	}, "Idempotency-Key", "console-claim-1")
	if r.Status != 201 {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var rec struct {
		ID string `json:"id"`
	}
	r.decode(t, &rec)
	hours := func() int64 {
		b, err := w.sys.ledger.Balance(context.Background(), models.AccountOf(elder, models.AssetHours))
		if err != nil {
			t.Fatal(err)
		}
		return b.Amount
	}
	before := hours()

	staff := s.desk()
	s.consoleLogin(staff, phoneStaffA)
	s.try(staff, "the queue", waitText("服务时长审核"), waitText("陪邻居孙阿姨去社区医院配药"), waitText("王奶奶"))
	s.shot(staff, "console-hours")
	s.try(staff, "approve", press(fmt.Sprintf(`[data-approve=%q]`, rec.ID)), waitText("已认定 王奶奶"),
		chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`[data-approve=%q]`, rec.ID))))
	if got := hours() - before; got != 90 {
		t.Fatalf("her hours rose by %d minutes; want 90", got)
	}
}

// A nomination goes through its public notice: a neighbour objects, staff
// dismiss the objection, and the director runs the listing job once the
// notice is over (李师傅's demo nomination is listed with hers).
func TestConsoleHonourNoticeObjectionListing(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	w := newClockWorld(t, clock)
	s := newScreens(t, w)
	staff := s.desk()
	s.consoleLogin(staff, phoneStaffA)
	s.try(staff, "honour page", waitText("服务时长审核"), chromedp.Navigate(s.base+"/console/honour"), waitText("诚信红榜"), waitText("带领志愿者队开展助老服务"))

	s.try(staff, "nominate 王奶奶", chromedp.Click(chromedp.CSS(`[data-test=nominate]`)), chromedp.WaitVisible(chromedp.CSS(`[data-test=nominee]`)),
		chromedp.Click(chromedp.CSS(`.el-drawer .el-select`)),
		chromedp.SendKeys(chromedp.CSS(`.el-drawer .el-select input`), "王奶奶"),
		chromedp.WaitVisible(chromedp.Search(`//li[contains(@class,'el-select-dropdown__item')][contains(., '王奶奶')]`)),
		chromedp.SendKeys(chromedp.CSS(`.el-drawer .el-select input`), kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(@class,'el-select__selected-item')][contains(., '王奶奶')]`)),
		fill(`textarea[data-test=nominate-reason]`, "每天清晨打扫楼道，照顾独居邻居"),
		chromedp.Click(chromedp.CSS(`[data-test=nominate-submit]`)), waitText("每天清晨打扫楼道"), waitText("还剩 7 天"))
	s.shot(staff, "console-honour")
	entry := ""
	for _, e := range w.honourEntries(models.HonourNotice) {
		if e.ResidentID == w.ids[phoneElderA] {
			entry = e.ID
		}
	}
	if entry == "" {
		t.Fatal("no entry in notice for 王奶奶")
	}

	// A neighbour objects from the residents' app's API.
	r := w.call("POST", "/api/v1/honour/entries/"+entry+"/objections", w.login(phoneSonA), map[string]string{"reason": "听说她上个月与邻居有过争执"})
	if r.Status != 201 {
		t.Fatalf("objection: %d %s", r.Status, r.Body)
	}
	s.try(staff, "the objection", chromedp.Navigate(s.base+"/console/honour"), waitText("每天清晨打扫楼道"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-objections=%q]`, entry))), press(fmt.Sprintf(`[data-objections=%q]`, entry)),
		waitText("听说她上个月与邻居有过争执"), waitText("待裁定"))
	s.shot(staff, "console-honour-objection")
	s.try(staff, "dismiss it", chromedp.Click(chromedp.CSS(`[data-test=dismiss]`)), answerBox("经核实系误会，双方已和解"), waitText("异议不成立"))

	s.try(staff, "the A4 notice", chromedp.Navigate(s.base+"/console/honour/notice"), chromedp.WaitVisible(chromedp.CSS(`[data-test=notice]`)), waitText("王**"))
	if page := s.text(staff, `[data-test=notice]`); strings.Contains(page, "王奶奶") {
		t.Fatalf("the lobby notice shows a full name: %s", page)
	}
	s.shot(staff, "console-honour-notice")

	// Eight days on, the notice is over; the director runs the listing.
	clock.advance(8 * 24 * time.Hour)
	director := s.desk()
	s.consoleLogin(director, phoneAdminA)
	s.try(director, "jobs", waitText("服务时长审核"), chromedp.Navigate(s.base+"/console/money"), waitText("对账单"),
		chromedp.Click(chromedp.CSS(`#tab-jobs`)), chromedp.WaitVisible(chromedp.CSS(`[data-run=honour-listing]`)),
		chromedp.Click(chromedp.CSS(`[data-run=honour-listing]`)), answerBox(""), waitText("已完成"), waitText("listed=2"))
	s.shot(director, "console-jobs")
	var got models.HonourEntry
	for _, e := range w.honourEntries(models.HonourListed) {
		if e.ID == entry {
			got = e
		}
	}
	if got.ID == "" {
		t.Fatal("王奶奶's entry was not listed by the job")
	}
}

// honourEntries are community A's entries with status.
func (w *world) honourEntries(status models.HonourStatus) []models.HonourEntry {
	w.t.Helper()
	r := w.call("GET", "/api/v1/honour/entries?status="+string(status)+"&limit=200", w.login(phoneStaffA), nil)
	if r.Status != 200 {
		w.t.Fatalf("entries: %d %s", r.Status, r.Body)
	}
	var out struct {
		Entries []struct {
			ID         string `json:"id"`
			ResidentID string `json:"resident_id"`
			Status     string `json:"status"`
		} `json:"entries"`
	}
	r.decode(w.t, &out)
	es := make([]models.HonourEntry, len(out.Entries))
	for i, e := range out.Entries {
		es[i] = models.HonourEntry{
			ID:         e.ID,
			ResidentID: e.ResidentID,
			Status:     models.HonourStatus(e.Status),
		}
	}
	return es
}

// The breakfast shop's owner confirms last month's statement on the
// console and downloads it; the XLSX's total is the sum of its lines.
func TestConsolePartnerConfirmsAndDownloadsXLSX(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	w := newClockWorld(t, clock)
	s := newScreens(t, w)
	ctx := context.Background()

	// Two breakfasts this month, fulfilled at the shop.
	elder := w.login(phoneElderA)
	clerk := w.login(phoneClerkA)
	breakfast := ""
	for _, reward := range w.rewards(elder) {
		if strings.HasPrefix(reward.title, "早餐") {
			breakfast = reward.id
		}
	}
	for i := range 2 {
		r := w.call("POST", "/api/v1/rewards/"+breakfast+"/qr", elder, nil)
		if r.Status != 201 {
			t.Fatalf("breakfast QR: %d %s", r.Status, r.Body)
		}
		var redemption struct {
			Code string `json:"code"`
		}
		r.decode(t, &redemption)
		r = w.call("POST", "/api/v1/merchant/scans", clerk, map[string]string{"code": redemption.Code}, "Idempotency-Key", fmt.Sprintf("console-scan-%d", i))
		if r.Status != 201 {
			t.Fatalf("scan: %d %s", r.Status, r.Body)
		}
	}
	month := models.MonthOf(clock.now(), w.sys.loc)
	// Into the next month; the director settles the month gone.
	clock.advance(time.Duration(32-clock.now().In(w.sys.loc).Day()) * 24 * time.Hour)
	r := w.call("POST", "/api/v1/jobs/settlement/runs", w.login(phoneAdminA), map[string]string{"period": month.String()})
	if r.Status != 200 {
		t.Fatalf("settlement run: %d %s", r.Status, r.Body)
	}

	// The shop's browser saves downloads in dir.
	dir := t.TempDir()
	shop := s.desk()
	s.try(shop, "downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior:         browser.SetDownloadBehaviorBehaviorAllow,
			BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
			DownloadPath:     dir,
		})
		return err
	}))
	s.consoleLogin(shop, phoneClerkA)
	s.try(shop, "statements", waitText("对账单"), waitText("老王早餐店"), chromedp.WaitVisible(chromedp.CSS(`[data-statement-status=draft]`)), waitText("¥16.00"))
	s.shot(shop, "console-partner")
	s.try(shop, "confirm", press(`[data-test=confirm]`), answerBox(""), chromedp.WaitVisible(chromedp.CSS(`[data-statement-status=confirmed]`)))
	st, err := w.sys.store.Statement(ctx, "settle:"+w.partnerID("老王早餐店")+":"+month.String())
	if err != nil || st.Status != models.StatementConfirmed {
		t.Fatalf("statement after confirming: %+v %v", st, err)
	}

	s.try(shop, "download", press(`[data-test=xlsx]`))
	file := filepath.Join(dir, fmt.Sprintf("老王早餐店-%s.xlsx", month))
	s.try(shop, "the file arrives", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			if _, err := os.Stat(file); err == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				names, _ := filepath.Glob(filepath.Join(dir, "*"))
				return fmt.Errorf("no %s (the folder has %v): %w", file, names, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	checkStatementXLSX(t, file, int64(st.TotalFen), 2)
}

// checkStatementXLSX opens a statement's XLSX and checks that the lines'
// amounts add up to its total row and to wantFen.
func checkStatementXLSX(t *testing.T, file string, wantFen int64, wantLines int) {
	t.Helper()
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatalf("open %s: %v", file, err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	sum, n, stated := xlsxAmounts(t, rows)
	if n != wantLines {
		t.Fatalf("%d lines in the XLSX; want %d", n, wantLines)
	}
	if sum != wantFen || stated != wantFen {
		t.Fatalf("lines sum to %d fen, the total row says %d; the statement's total is %d", sum, stated, wantFen)
	}
}

// xlsxAmounts reads a statement export's rows: the lines (after the
// header row, up to the first empty row) with their fen in column 10, and
// the total_fen row's amount.
func xlsxAmounts(t *testing.T, rows [][]string) (sum int64, lines int, stated int64) {
	t.Helper()
	header := -1
	for i, row := range rows {
		if len(row) > 9 && row[0] == "line" && row[9] == "value_fen" {
			header = i
			break
		}
	}
	if header < 0 {
		t.Fatalf("no header row in %v", rows)
	}
	i := header + 1
	for ; i < len(rows) && len(rows[i]) > 9; i++ {
		var fen int64
		if _, err := fmt.Sscan(rows[i][9], &fen); err != nil {
			t.Fatalf("line %v: amount %q: %v", rows[i], rows[i][9], err)
		}
		sum += fen
		lines++
	}
	for ; i < len(rows); i++ {
		if len(rows[i]) > 1 && rows[i][0] == "total_fen" {
			if _, err := fmt.Sscan(rows[i][1], &stated); err != nil {
				t.Fatalf("total row %v: %v", rows[i], err)
			}
		}
	}
	return sum, lines, stated
}

type rewardRow struct{ id, title string }

// rewards lists the rewards the caller sees.
func (w *world) rewards(token string) []rewardRow {
	w.t.Helper()
	r := w.call("GET", "/api/v1/rewards", token, nil)
	var out struct {
		Rewards []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"rewards"`
	}
	r.decode(w.t, &out)
	rows := make([]rewardRow, len(out.Rewards))
	for i, x := range out.Rewards {
		rows[i] = rewardRow{x.ID, x.Title}
	}
	return rows
}

// partnerID is the id of community A's partner called name.
func (w *world) partnerID(name string) string {
	w.t.Helper()
	r := w.call("GET", "/api/v1/partners", w.login(phoneStaffA), nil)
	var out struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	r.decode(w.t, &out)
	for _, p := range out.Items {
		if p.Name == name {
			return p.ID
		}
	}
	w.t.Fatalf("no partner %s", name)
	return ""
}

// A resident's login cannot open the console: she is told so and given
// the way to her own app, and the API refuses her token anyway.
func TestConsoleRefusesResidentToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	her := s.desk()
	s.consoleLogin(her, phoneElderA)
	s.try(her, "refused", waitText("无权使用居委会工作台"), chromedp.WaitVisible(chromedp.CSS(`[data-test=back]`)))
	if n, err := chromedp.Run(her, chromedp.Evaluate[int](`document.querySelectorAll('.el-menu-item, [data-approve]').length`)); err != nil || n != 0 {
		t.Fatalf("the console's menu or queue is on a resident's screen (%d, %v)", n, err)
	}
	s.shot(her, "console-refused")
	s.try(her, "a console page by its address", chromedp.Navigate(s.base+"/console/hours"), waitText("无权使用居委会工作台"))
	if href, err := chromedp.Run(her, chromedp.Evaluate[string](`document.querySelector('[data-test=back]').getAttribute('href')`)); err != nil || href != "/" {
		t.Fatalf("the way back goes to %q (%v); want the residents' app", href, err)
	}
	tok := w.login(phoneElderA)
	for _, path := range []string{"/api/v1/service-records", "/api/v1/residents", "/api/v1/jobs", "/api/v1/statements"} {
		if r := w.call("GET", path, tok, nil); r.Status != 403 {
			t.Fatalf("GET %s with a resident's token: %d; want 403", path, r.Status)
		}
	}
}

// Every page of the console opens for the director and says what it is;
// the pictures of the pages the other tests do not take.
func TestConsolePagesTour(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	// A policy version from tomorrow, for the diff between versions.
	tomorrow := w.sys.now().In(w.sys.loc).AddDate(0, 0, 1)
	if r := w.call("POST", "/api/v1/policy/versions", w.login(phoneStaffA), map[string]any{
		"effective":       time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 0, 0, 0, 0, w.sys.loc),
		"points_per_hour": 12,
		"notice_days":     5,
	}); r.Status != 201 {
		t.Fatalf("policy version: %d %s", r.Status, r.Body)
	}
	// An approved claim, for the hours chart.
	start := w.sys.now().Add(-26 * time.Hour).Truncate(time.Hour)
	r := w.call("POST", "/api/v1/service-records", w.login(phoneElderA), map[string]any{
		"category":     "助老",
		"organisation": "春申居民区",
		"description":  "陪同邻居就医",
		"start":        start,
		"end":          start.Add(2 * time.Hour),
	}, "Idempotency-Key", "tour-claim")
	var rec struct {
		ID string `json:"id"`
	}
	r.decode(t, &rec)
	if r := w.call("POST", "/api/v1/service-records/"+rec.ID+"/approve", w.login(phoneStaffA), map[string]any{}, "Idempotency-Key", "tour-approve"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	director := s.desk()
	s.consoleLogin(director, phoneAdminA)
	s.try(director, "signed in", waitText("服务时长审核"))
	for _, p := range []struct{ path, want, shot string }{
		{"/console/activities", "垃圾分类桶边督导", "console-activities"},
		{"/console/heads", "通知送达", "console-heads"},
		{"/console/rewards", "每小时积分", "console-rewards"},
		{"/console/rankings", "全年认定志愿时长 2小时", "console-rankings"},
		{"/console/money", "对账单", "console-money"},
	} {
		s.try(director, p.path, chromedp.Navigate(s.base+p.path), waitText(p.want))
		s.shot(director, p.shot)
	}
	s.try(director, "liability chart", chromedp.Navigate(s.base+"/console/money"), waitText("对账单"), chromedp.Click(chromedp.CSS(`#tab-liability`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=chart] canvas`)), waitText("居民未用积分"))
	s.shot(director, "console-liability")
	// The audit trail tab pages by the API's next: the approval above is on it.
	s.try(director, "audit trail", chromedp.Click(chromedp.CSS(`#tab-audit`)), waitText("record.approve"))
	s.try(director, "check-in screen", chromedp.Navigate(s.base+"/console/activities"), waitText("垃圾分类桶边督导"),
		chromedp.WaitVisible(chromedp.CSS(`a[data-checkin]`)), press(`a[data-checkin]`), chromedp.WaitVisible(chromedp.CSS(`[data-test=qr]`)), waitText("已签到"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.querySelector('[data-test=count]').innerText.trim() === '0'`,
				chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))(ctx, t)
			return err
		}))
	s.shot(director, "console-checkin")
}

// The parking operator's page shows the day's gate events with the free
// minutes of a filial visit, or why there were none.
func TestConsoleParkingOperatorSeesGateEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	parking := w.login("13800000009")
	// The page shows the community's day: both events fall in it, even
	// just after its midnight (the entry two hours ago, or at midnight;
	// the exit 90 minutes later, or now).
	now := w.sys.now().Truncate(time.Second)
	local := now.In(w.sys.loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, w.sys.loc)
	in := now.Add(-2 * time.Hour)
	if in.Before(midnight) {
		in = midnight
	}
	out := in.Add(90 * time.Minute)
	if out.After(now) {
		out = now
	}
	for i, at := range []time.Time{in, out} {
		r := w.call("POST", "/api/v1/parking/gate-events", parking, map[string]any{
			"event_id":  fmt.Sprintf("gate-%d", i),
			"plate":     "沪B66688",
			"direction": []string{"in", "out"}[i],
			"at":        at,
		})
		if r.Status != 200 {
			t.Fatalf("gate event: %d %s", r.Status, r.Body)
		}
	}
	op := s.desk()
	s.consoleLogin(op, "13800000009")
	s.try(op, "the gate events", waitText("道闸记录与孝老停车"), waitText("沪B66688"), waitText("出场"), waitText("gate-1"))
	s.shot(op, "console-parking")
}
