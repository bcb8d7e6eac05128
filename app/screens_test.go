package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/linli-community/linli/models"
)

// The screens are tested in a real browser: Debian's chromium, headless,
// driven over the DevTools protocol against the real binary's HTTP app on
// a fresh embedded store, at a phone's 360×740. LINLI_BROWSER_TESTS=0
// skips them; otherwise a missing chromium is a failure (.ci/run installs
// it). LINLI_SCREENSHOTS=docs/screens writes each main screen there (the
// README's pictures: `./scripts/screens.sh`).

// screens is one test's server and the browser its people use. The
// screens tests run in parallel with the other tests, at most two of them
// at once (screensTurn): each drives pages under deadlines, and more at
// once on a small machine miss them.
type screens struct {
	t       *testing.T
	w       *world
	base    string // http://127.0.0.1:port
	browser context.Context
	shots   string // where screenshots go
}

// screensTurn is held by the screens tests whose pages run, two at a
// time: the two cores then stay busy while one test waits on its page.
var screensTurn = make(chan struct{}, 2)

// The screens tests share one headless chromium, started by the first of
// them (theBrowser) and stopped by stopBrowser once the package's tests
// have ended (TestMain). Each person in a test opens a browser context of
// their own in it (person, desk): cookies, storage and downloads apart, as
// on two phones. One chromium instead of one per test saves its start-up,
// which cost about as much as a short test.
var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
	stopBrowser = func() {}
)

// theBrowser returns the shared chromium's context, starting it on first
// use.
func theBrowser() (context.Context, error) {
	browserOnce.Do(func() {
		exe := ""
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				exe = p
				break
			}
		}
		if exe == "" {
			browserErr = fmt.Errorf("no chromium on PATH: install it (apt-get install -y chromium) or set LINLI_BROWSER_TESTS=0")
			return
		}
		profile, err := os.MkdirTemp("", "linli-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		// The flags keep chromium on this machine: no sync, no component
		// updates, no background requests to outside hosts.
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(exe),
			chromedp.Flag("headless", true),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("lang", "zh-CN"),
			chromedp.UserDataDir(profile),
			chromedp.WindowSize(360, 740),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		browser, cancelBrowser := chromedp.NewContext(alloc)
		stopBrowser = func() {
			cancelBrowser()
			cancelAlloc()
			_ = os.RemoveAll(profile)
		}
		// The first Run starts the browser; it must not carry a timeout.
		if err := chromedp.Do(browser); err != nil {
			browserErr = fmt.Errorf("start chromium: %w", err)
			return
		}
		browserCtx = browser
	})
	return browserCtx, browserErr
}

// newScreens starts w's HTTP app on loopback, once it is t's turn
// (screensTurn), for t's people to browse in the shared chromium; the
// server stops when t ends.
func newScreens(t *testing.T, w *world) *screens {
	t.Helper()
	if os.Getenv("LINLI_BROWSER_TESTS") == "0" {
		t.Skip("LINLI_BROWSER_TESTS=0")
	}
	browser, err := theBrowser()
	if err != nil {
		t.Fatal(err)
	}
	// The turn ends after the server has stopped: the clean-ups run last
	// first.
	screensTurn <- struct{}{}
	t.Cleanup(func() { <-screensTurn })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := w.app
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	shots := os.Getenv("LINLI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if !filepath.IsAbs(shots) {
		shots = filepath.Join("..", shots) // tests run in app/
	}
	return &screens{
		t:       t,
		w:       w,
		base:    "http://" + ln.Addr().String(),
		browser: browser,
		shots:   shots,
	}
}

// person is one person's own browser context (cookies and storage apart),
// as a second phone would be.
func (s *screens) person() context.Context {
	s.t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	s.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		s.t.Fatal(err)
	}
	return ctx
}

// do runs steps with a deadline, failing the test with what was on the
// screen when one of them did not happen.
func (s *screens) do(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
		s.t.Fatalf("%s: %v\nthe page said:\n%s", what, err, text)
	}
}

// waitText waits until the page shows want.
func waitText(want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](fmt.Sprintf(`document.body && document.body.innerText.includes(%q)`, want),
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))(ctx, t)
		if err != nil {
			return fmt.Errorf("waiting for %q: %w", want, err)
		}
		return nil
	})
}

// clickText clicks the first button, link or cell that says text. It first
// scrolls that element to the middle of the screen, as a person scrolls to
// what they mean to tap: a cell at the bottom edge counts as "in view" yet
// sits under the fixed tab bar, and a click there would press the tab.
func clickText(text string) chromedp.Action[chromedp.Void] {
	tappable := `(self::button or self::a or contains(concat(' ', normalize-space(@class), ' '), ' van-cell ') or contains(concat(' ', normalize-space(@class), ' '), ' van-tabbar-item '))`
	xpath := fmt.Sprintf(`//*[%s][contains(normalize-space(.), %q)]`, tappable, text)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// Waits for the element as Click does, then centres it.
		if _, err := chromedp.WaitVisible(chromedp.Search(xpath))(ctx, t); err != nil {
			return err
		}
		if _, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const el = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
			if (el) el.scrollIntoView({ block: 'center' });
			return true
		})()`, xpath))(ctx, t); err != nil {
			return err
		}
		_, err := chromedp.Click(chromedp.Search(xpath))(ctx, t)
		return err
	})
}

// shot saves the screen as name.png.
func (s *screens) shot(ctx context.Context, name string) {
	s.t.Helper()
	// A passing toast would cover the screen the picture is of.
	s.do(ctx, "toasts gone before "+name, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`![...document.querySelectorAll('.van-toast')].some((e) => getComputedStyle(e).display !== 'none')`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		return err
	}))
	// Let transitions and toasts settle, so the picture is what a person sees.
	if err := chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond)); err != nil {
		s.t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(s.shots, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.shots, name+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *screens) login(ctx context.Context, path, phone string) {
	s.t.Helper()
	s.do(ctx, "log in as "+phone,
		chromedp.Navigate(s.base+path),
		chromedp.WaitVisible(chromedp.CSS(`input[name=phone]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=phone]`), phone),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), demoPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
}

func (s *screens) text(ctx context.Context, sel string) string {
	s.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		s.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// qrPicture saves the QR code the resident's screen shows as a PNG file,
// for the clerk's page to read as a camera would.
func (s *screens) qrPicture(ctx context.Context) string {
	s.t.Helper()
	// The picture is drawn as shown (the page's CSP lets no script fetch
	// a blob: URL, which is as it should be).
	b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const img = document.querySelector('[data-test=qr]');
		const c = document.createElement('canvas');
		c.width = img.naturalWidth; c.height = img.naturalHeight;
		c.getContext('2d').drawImage(img, 0, 0);
		return c.toDataURL('image/png').split(',')[1];
	})()`))
	if err != nil {
		s.t.Fatalf("read the QR: %v", err)
	}
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(s.t.TempDir(), "qr.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// The resident redeems a breakfast on her phone and the clerk fulfils it
// on the shop's phone, each in their own browser, end to end.
func TestScreensResidentRedeemsBreakfastClerkFulfils(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	elder := w.ids[phoneElderA]
	before, _ := w.points(elder)

	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home shows her points", waitText("我的积分"), chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	if got := s.text(her, `[data-test=points] .big-number`); got != fmt.Sprint(before) {
		t.Fatalf("home shows %s points, the ledger has %d", got, before)
	}
	s.shot(her, "resident-home")

	s.do(her, "rewards", clickText("兑换"), waitText("早餐套餐"))
	// Each reward says why she cannot have it yet, as the API decides.
	s.do(her, "the reason she cannot have the fee discount", waitText(fmt.Sprintf("还差 %d 积分", 200-before)),
		chromedp.WaitVisible(chromedp.CSS(`[data-refusal=INSUFFICIENT_POINTS]`)))
	s.shot(her, "resident-rewards")
	s.do(her, "breakfast QR", clickText("出示兑换码"), chromedp.WaitVisible(chromedp.CSS(`[data-test=qr]`)), waitText("后过期"))
	s.shot(her, "resident-merchant-qr")
	qr := s.qrPicture(her)

	// The clerk reads the code on her screen with the camera path's decoder.
	clerk := s.person()
	s.login(clerk, "/merchant/", phoneClerkA)
	s.do(clerk, "clerk page", waitText("今日核销"))
	s.shot(clerk, "merchant-scan")
	s.do(clerk, "scan her QR", chromedp.SetUploadFiles(chromedp.CSS(`[data-test=picture]`), []string{qr}), waitText("核销成功"))
	if got := s.text(clerk, `[data-test=result]`); !strings.Contains(got, "早餐套餐") || !strings.Contains(got, "王**") {
		t.Fatalf("the result says %q; want the item and the masked name", got)
	}
	s.shot(clerk, "merchant-result")

	after, _ := w.points(elder)
	if before-after != 20 {
		t.Fatalf("points %d → %d; the breakfast costs 20", before, after)
	}
	// Her list shows it used, and her balance dropped.
	s.do(her, "her redemptions", chromedp.Navigate(s.base+"/me/redemptions"), chromedp.WaitVisible(chromedp.CSS(`[data-status=fulfilled]`)), waitText("已使用"))
	s.shot(her, "resident-redemptions")
	s.do(her, "home again", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	if got := s.text(her, `[data-test=points] .big-number`); got != fmt.Sprint(after) {
		t.Fatalf("home shows %s points after the breakfast, the ledger has %d", got, after)
	}

	// The same code again is refused in one big word.
	s.do(clerk, "second scan", clickText("继续核销"), chromedp.WaitReady(chromedp.CSS(`[data-test=picture]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-test=picture]`), []string{qr}), waitText("已核销"))
	s.shot(clerk, "merchant-already-used")
	if again, _ := w.points(elder); again != after {
		t.Fatalf("a second scan moved points: %d → %d", after, again)
	}

	// A second breakfast: the clerk types the 8 characters under her QR.
	s.do(her, "second QR", chromedp.Navigate(s.base+"/rewards"), clickText("出示兑换码"), chromedp.WaitVisible(chromedp.CSS(`[data-test=code]`)))
	code := strings.ReplaceAll(s.text(her, `[data-test=code]`), " ", "")
	if len(code) != 8 {
		t.Fatalf("the code under the QR is %q; want 8 characters", code)
	}
	s.do(clerk, "type the code", clickText("继续核销"), chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), strings.ToLower(code)), clickText("核销"), waitText("核销成功"))
	if now, _ := w.points(elder); after-now != 20 {
		t.Fatalf("the typed code moved %d points; want 20", after-now)
	}
	after, _ = w.points(elder)

	// A reload loses the access token (it is kept in memory only); the
	// refresh cookie signs her back in without a password.
	s.do(her, "reload", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	if got := s.text(her, `[data-test=points] .big-number`); got != fmt.Sprint(after) {
		t.Fatalf("home shows %s points after a reload, the ledger has %d", got, after)
	}
	cookies, err := chromedp.Run(her, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cookies, "linli_refresh") {
		t.Fatalf("the refresh cookie is readable by scripts: %q", cookies)
	}
	stored, err := chromedp.Run(her, chromedp.Evaluate[string](`JSON.stringify(Object.assign({}, localStorage))`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "ey") || strings.Contains(stored, "138") {
		t.Fatalf("localStorage holds a token or personal data: %s", stored)
	}
}

// A resident who opens the clerk's page is told it is for clerks, and can
// redeem nothing there.
func TestScreensResidentCannotUseClerkPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	son := s.person()
	s.login(son, "/merchant/", phoneSonA)
	s.do(son, "clerk page refuses", waitText("无核销权限"))
	if n, err := chromedp.Run(son, chromedp.Evaluate[int](`document.querySelectorAll('[data-test=picture],[data-test=redeem]').length`)); err != nil || n != 0 {
		t.Fatalf("the clerk's controls are on a resident's screen (%d, %v)", n, err)
	}
}

// An access token that expired is renewed through the refresh cookie: the
// resident goes on without signing in again.
func TestScreensExpiredSessionRefreshesThroughCookie(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.AccessTTL = 2 * time.Second
	w := newWorldConfig(t, cfg)
	s := newScreens(t, w)
	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	time.Sleep(3 * time.Second) // the access token's lifetime, not a synchronisation
	s.do(her, "ledger after expiry", clickText("我的积分"), waitText("积分明细"), waitText("余额"))
	if loc, _ := chromedp.Run(her, chromedp.Location()); strings.Contains(loc, "/login") {
		t.Fatalf("sent back to the login page at %s", loc)
	}
	s.shot(her, "resident-ledger")
}

// --- issue 13: the time bank's and the heads' screens ---

const phoneTeamLeadA = "13800000004"

// screenHours is the resident's HOURS balance, from the ledger.
func screenHours(w *world, residentID string) int64 {
	w.t.Helper()
	b, err := w.sys.ledger.Balance(context.Background(), models.AccountOf(residentID, models.AssetHours))
	if err != nil {
		w.t.Fatal(err)
	}
	return b.Amount
}

// attendedRecord has staff create an activity that begins three hours
// before at, check the resident in at its start and out now, and returns
// the id of the service record the check-out claimed (pending approval).
func attendedRecord(w *world, staff, resident string, at time.Time) string {
	w.t.Helper()
	r := w.call("POST", "/api/v1/activities", staff, map[string]any{
		"title":        "助老探访",
		"category":     "助老",
		"place":        "活动室",
		"start":        at.Add(-3 * time.Hour),
		"end":          at.Add(time.Hour),
		"capacity":     5,
		"max_minutes":  150,
		"self_checkin": true,
	})
	if r.Status != 201 {
		w.t.Fatalf("create activity: %d %s", r.Status, r.Body)
	}
	var a struct{ ID string }
	r.decode(w.t, &a)
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", staff, map[string]any{
		"resident_id": resident,
		"action":      "checkin",
		"at":          at.Add(-3 * time.Hour),
	}); r.Status != 201 {
		w.t.Fatalf("check in: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", staff, map[string]any{"resident_id": resident, "action": "checkout"})
	if r.Status != 201 {
		w.t.Fatalf("check out: %d %s", r.Status, r.Body)
	}
	var att struct{ Record struct{ ID string } }
	r.decode(w.t, &att)
	return att.Record.ID
}

// hoursZh is minutes as the screens write them in Chinese (2小时30分).
func hoursZh(n int64) string {
	h, m := n/60, n%60
	out := ""
	if h > 0 {
		out = fmt.Sprintf("%d小时", h)
	}
	if m > 0 || h == 0 {
		out += fmt.Sprintf("%d分", m)
	}
	return out
}

// 王小明 gives half an hour to his mother 王奶奶 (a verified relative;
// the policy lets hours go only to relatives of 60 or more, so a mother
// cannot give to her son) from 我的, after a confirm dialog; both
// balances move by exactly that.
func TestScreensResidentGivesHoursToHisMother(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	son, mother := w.ids[phoneSonA], w.ids[phoneElderA]
	hisBefore, herBefore := screenHours(w, son), screenHours(w, mother)

	him := s.person()
	s.login(him, "/", phoneSonA)
	s.do(him, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(him, "gifts from 我的", chromedp.Navigate(s.base+"/me"), waitText("时长转赠"), clickText("时长转赠"),
		waitText("转给谁"), waitText("已选"), waitText(hoursZh(hisBefore)),
		chromedp.SendKeys(chromedp.CSS(`input[name=minutes]`), "30"), waitText("转赠 30分"))
	s.shot(him, "resident-gifts")
	s.do(him, "confirm dialog", chromedp.Click(chromedp.CSS(`[data-test=give]`)), waitText("转出后不能撤回"))
	s.shot(him, "resident-gifts-confirm")
	if got := screenHours(w, son); got != hisBefore {
		t.Fatalf("hours moved before he confirmed: %d → %d", hisBefore, got)
	}
	s.do(him, "given", clickText("确认转赠"), waitText("转给父母"), waitText("-30分"))
	if got := screenHours(w, son); got != hisBefore-30 {
		t.Fatalf("his hours %d → %d; he gave 30 minutes", hisBefore, got)
	}
	if got := screenHours(w, mother); got != herBefore+30 {
		t.Fatalf("her hours %d → %d; she was given 30 minutes", herBefore, got)
	}
	s.do(him, "his balance on the screen", waitText(hoursZh(hisBefore-30)))
	if got := s.text(him, `[data-test=my-hours]`); got != hoursZh(hisBefore-30) {
		t.Fatalf("the screen shows %q, the ledger has %s", got, hoursZh(hisBefore-30))
	}

	// She sees it received, in her own history.
	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(her, "her gifts", chromedp.Navigate(s.base+"/me/gifts"), waitText("收到子女转赠"), waitText("+30分"))
	// And in English, through the switch in 我的.
	s.do(her, "English", chromedp.Navigate(s.base+"/me"), waitText("语言"), clickText("语言"), waitText("Give hours"),
		clickText("Give hours"), waitText("From your child"), waitText("+30 min"))
	s.shot(her, "resident-gifts-en")
}

// The certificate shows the hours her approved service records credited to
// the HOURS ledger (the demo's opening balance is no service record, so it
// is not certified), and saves as a PNG drawn on a canvas.
func TestScreensCertificateTotalIsTheHoursLedger(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	elder := w.ids[phoneElderA]
	staff := w.login(phoneStaffA)
	now := time.Now().UTC()
	record := attendedRecord(w, staff, elder, now)
	before := screenHours(w, elder)
	if r := w.call("POST", "/api/v1/service-records/"+record+"/approve", staff, map[string]any{}, "Idempotency-Key", "approve-cert-1"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	credited := screenHours(w, elder) - before
	if credited <= 0 {
		t.Fatalf("approval credited %d minutes", credited)
	}

	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(her, "certificate from 我的", chromedp.Navigate(s.base+"/me"), waitText("志愿服务证明"), clickText("志愿服务证明"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=total]`)), waitText("共 1 条服务记录"))
	if got := s.text(her, `[data-test=total]`); got != hoursZh(credited) {
		t.Fatalf("the certificate says %q; the ledger credited %s", got, hoursZh(credited))
	}
	s.shot(her, "resident-certificate")

	// 保存为图片 hands the browser a PNG to download.
	if _, err := chromedp.Run(her, chromedp.Evaluate[bool](`(() => { window.__saved = ''; HTMLAnchorElement.prototype.click = function () { window.__saved = this.download + '|' + this.href }; return true })()`)); err != nil {
		t.Fatal(err)
	}
	s.do(her, "save as picture", chromedp.Click(chromedp.CSS(`[data-test=save-image]`)))
	saved, err := chromedp.Run(her, chromedp.Evaluate[string](`window.__saved`))
	if err != nil {
		t.Fatal(err)
	}
	name, href, _ := strings.Cut(saved, "|")
	data, ok := strings.CutPrefix(href, "data:image/png;base64,")
	if !strings.HasSuffix(name, ".png") || !ok {
		t.Fatalf("saved %q as %.40q; want a PNG", name, href)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != 1080 {
		t.Fatalf("the picture is not a 1080-wide PNG: %v", err)
	}
	if err := os.WriteFile(filepath.Join(s.shots, "resident-certificate-image.png"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A request posted in the browser is in the community's list, and a
// neighbour's open request is accepted from it; states are in words.
func TestScreensMutualAidRequestPostedAndAccepted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	son := s.person()
	s.login(son, "/", phoneSonA)
	s.do(son, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(son, "mutual aid from 我的", chromedp.Navigate(s.base+"/me"), waitText("邻里互助"), clickText("邻里互助"),
		waitText("陪同去医院复诊"), waitText("等待响应"))
	s.do(son, "post a request", chromedp.Click(chromedp.CSS(`[data-test=new-aid]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=title]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=title]`), "帮忙换楼道灯泡"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=description]`), "3号楼5层, 需要梯子"),
		chromedp.Click(chromedp.CSS(`[data-test=post-aid]`)), waitText("帮忙换楼道灯泡"), waitText("我发布的"))
	s.do(son, "accept her request", clickText("我来帮忙"), waitText("已有人接下"), waitText("我接下的"))
	s.shot(son, "resident-mutual-aid")

	var list struct {
		Posts []struct {
			Kind, Title, State string
			PosterID           string `json:"poster_id"`
			HelperID           string `json:"helper_id"`
		}
	}
	r := w.call("GET", "/api/v1/mutual-aid", w.login(phoneStaffA), nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r.decode(t, &list)
	posted, accepted := false, false
	for _, p := range list.Posts {
		if p.Title == "帮忙换楼道灯泡" && p.Kind == "request" && p.State == "open" && p.PosterID == w.ids[phoneSonA] {
			posted = true
		}
		if p.Title == "陪同去医院复诊" && p.State == "accepted" && p.HelperID == w.ids[phoneSonA] {
			accepted = true
		}
	}
	if !posted || !accepted {
		t.Fatalf("posted %v, accepted %v: %s", posted, accepted, r.Body)
	}
}

// 张阿姨, the demo's building head, sees her term and this month's duties
// with their standing (in large text), and reports one more.
func TestScreensBuildingHeadSeesHerDuties(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	head := s.person()
	s.login(head, "/", phoneHeadA)
	s.do(head, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(head, "我的", chromedp.Navigate(s.base+"/me"), waitText("我的履职"), waitText("孝老停车"))
	s.shot(head, "resident-me")
	s.do(head, "large text from 我的", chromedp.Click(chromedp.CSS(`.van-switch`)), chromedp.WaitVisible(chromedp.CSS(`html.care`)))
	s.do(head, "duties", clickText("我的履职"), waitText("1号楼楼组长 · 第1届"), waitText("在任"),
		waitText("月度例会"), waitText("已确认"), waitText("待社工确认"), waitText("电梯维修通知已逐户送达"))
	s.shot(head, "resident-duties-large-text")
	s.do(head, "report a duty", clickText("填报"), chromedp.WaitVisible(chromedp.CSS(`[data-test=duty-form]`)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=evidence]`), "3楼楼道漏水已上报物业"),
		chromedp.Click(chromedp.CSS(`[data-test=log-duty]`)), waitText("3楼楼道漏水已上报物业"))
	if got := s.text(head, `[data-test="duty-问题上报"]`); !strings.Contains(got, "待社工确认") {
		t.Fatalf("the reported duty says %q", got)
	}
	r := w.call("GET", "/api/v1/duties", w.login(phoneStaffA), nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "3楼楼道漏水已上报物业") {
		t.Fatalf("staff do not see the reported duty: %d %s", r.Status, r.Body)
	}
}

// A team lead confirms that a resident who signed up came to her activity.
func TestScreensTeamLeadConfirmsAttendance(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	lead := w.login(phoneTeamLeadA)
	now := time.Now().UTC()
	r := w.call("POST", "/api/v1/activities", lead, map[string]any{
		"title":       "楼道清洁",
		"category":    "环境",
		"place":       "5号楼",
		"start":       now.Add(2 * time.Minute),
		"end":         now.Add(2 * time.Hour),
		"capacity":    5,
		"max_minutes": 120,
	})
	if r.Status != 201 {
		t.Fatalf("create activity: %d %s", r.Status, r.Body)
	}
	var a struct{ ID string }
	r.decode(t, &a)
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/signup", w.login(phoneSonA), nil); r.Status != 201 {
		t.Fatalf("sign up: %d %s", r.Status, r.Body)
	}
	li := s.person()
	s.login(li, "/", phoneTeamLeadA)
	s.do(li, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(li, "attendance from 我的", chromedp.Navigate(s.base+"/me"), waitText("活动签到确认"), clickText("活动签到确认"),
		waitText("楼道清洁"), clickText("楼道清洁"), waitText("王**")) // the son, by his masked name
	s.do(li, "check him in", clickText("签到"), waitText("已签到"))
	s.shot(li, "resident-attendance")
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", lead, map[string]any{"resident_id": w.ids[phoneSonA], "action": "checkin"}); r.code() != "ALREADY_CHECKED_IN" {
		t.Fatalf("the screen's check-in was not recorded: %d %s", r.Status, r.Body)
	}
}

// 王奶奶 registers her son's plate and books a visitor bay for a visiting day.
func TestScreensFilialPlateAndBooking(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(her, "filial parking from 我的", chromedp.Navigate(s.base+"/me"), waitText("孝老停车"), clickText("孝老停车"),
		waitText("免费停车"), chromedp.SendKeys(chromedp.CSS(`input[name=plate]`), "沪A12345"),
		chromedp.Click(chromedp.CSS(`[data-test=register-plate]`)), waitText("沪A12345"),
		chromedp.Click(chromedp.CSS(`.days button`)), chromedp.Click(chromedp.CSS(`[data-test=book]`)), waitText("访客车位"))
	s.shot(her, "resident-filial")
	got := s.text(her, `[data-test=booking]`)
	day, err := chromedp.Run(her, chromedp.Evaluate[string](`document.querySelector('[data-test=booking]').dataset.day`))
	if err != nil {
		t.Fatal(err)
	}
	r := w.call("POST", "/api/v1/filial/bookings", w.login(phoneElderA), map[string]string{"plate": "沪A12345", "day": day})
	var b struct{ Bay int }
	r.decode(t, &b)
	if r.Status != 201 || b.Bay < 1 || !strings.Contains(got, fmt.Sprintf("访客车位 %d 号", b.Bay)) {
		t.Fatalf("the screen says %q; the booking is %d %s", got, r.Status, r.Body)
	}

	// Her bookings read back on the next visit, and she cancels one.
	s.do(her, "bookings read back", chromedp.Reload(), waitText("访客车位"), waitText("取消预约"),
		chromedp.Click(chromedp.CSS(`[data-test=cancel-booking]`)), chromedp.WaitVisible(chromedp.CSS(`[data-status=cancelled]`)), waitText("已取消"))
	s.shot(her, "resident-filial-cancelled")
	var v struct {
		Bookings []struct{ Day, Status string } `json:"bookings"`
	}
	w.call("GET", "/api/v1/filial/visits", w.login(phoneElderA), nil).decode(t, &v)
	if len(v.Bookings) != 1 || v.Bookings[0].Day != day || v.Bookings[0].Status != "cancelled" {
		t.Fatalf("after cancelling on screen the API says %+v", v.Bookings)
	}
}

// A gift the policy refuses (her son is younger than the policy's 60) is
// said in words on the screen, and moves nothing.
func TestScreensRefusedGiftIsSaidInWords(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	elder, son := w.ids[phoneElderA], w.ids[phoneSonA]
	herBefore, sonBefore := screenHours(w, elder), screenHours(w, son)
	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(her, "give to her son", chromedp.Navigate(s.base+"/me/gifts"), waitText("已选"),
		chromedp.SendKeys(chromedp.CSS(`input[name=minutes]`), "30"), chromedp.Click(chromedp.CSS(`[data-test=give]`)),
		waitText("转出后不能撤回"), clickText("确认转赠"), chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)))
	if got := s.text(her, `[role=alert]`); !strings.Contains(got, "受赠亲属未达到规定年龄") {
		t.Fatalf("the refusal says %q", got)
	}
	if screenHours(w, elder) != herBefore || screenHours(w, son) != sonBefore {
		t.Fatalf("a refused gift moved hours")
	}
}

// The helper says he has helped; the neighbour he helped confirms in her
// own browser (a confirm dialog: it moves hours), and the hours reach him
// from the community fund that pays for her.
func TestScreensMutualAidHelpedAndConfirmed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	son := w.ids[phoneSonA]
	before := screenHours(w, son)
	him := s.person()
	s.login(him, "/", phoneSonA)
	s.do(him, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(him, "accept and help", chromedp.Navigate(s.base+"/mutual-aid"), waitText("陪同去医院复诊"),
		clickText("我来帮忙"), waitText("已有人接下"), clickText("我已帮完"), waitText("已帮忙，待确认"))

	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(her, "confirm", chromedp.Navigate(s.base+"/mutual-aid"), waitText("已帮忙，待确认"),
		clickText("确认已得到帮助"), waitText("由社区时间银行基金转给帮忙的邻居"))
	if got := screenHours(w, son); got != before {
		t.Fatalf("hours moved before she confirmed: %d → %d", before, got)
	}
	s.do(her, "confirmed", chromedp.Click(chromedp.CSS(`.van-dialog__confirm`)), waitText("已完成，时长已转"))
	s.shot(her, "resident-mutual-aid-confirmed")
	if got := screenHours(w, son); got != before+120 {
		t.Fatalf("his hours %d → %d; the help was 2 hours", before, got)
	}
}

// Issue 16.6: the home screen's bell shows the unread count; the
// notifications page lists them unread first, opens one where its link
// points and marks all read.
func TestScreensIssue16_6_ResidentReadsHerNotifications(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	elderID := w.ids[phoneElderA]
	// What the demo's seeding told her is read: only these two are new.
	if r := w.call("POST", "/api/v1/me/notifications/read-all", w.login(phoneElderA), nil); r.Status != 200 {
		t.Fatalf("read all: %d %s", r.Status, r.Body)
	}
	for i, kind := range []models.NoticeKind{models.NoticeRedemptionDone, models.NoticePointsAwarded} {
		if _, err := w.sys.inbox.Notify(ctx, models.Notice{
			Kind:        kind,
			EventID:     fmt.Sprintf("screen%d", i),
			Recipient:   elderID,
			CommunityID: w.communityA(),
			Args: map[string]string{
				"reward": "早餐套餐",
				"points": "30",
				"reason": "楼道清扫",
			},
			Link: "/redemptions/screen0",
		}); err != nil {
			t.Fatal(err)
		}
	}
	s := newScreens(t, w)
	elder := s.person()
	s.login(elder, "/", phoneElderA)
	s.do(elder, "bell with 2 unread", chromedp.WaitVisible(chromedp.CSS(`[data-test=bell] .van-badge`)))
	if got := s.text(elder, `[data-test=bell] .van-badge`); got != "2" {
		t.Fatalf("bell badge %q, want 2", got)
	}
	s.do(elder, "notifications", chromedp.Click(chromedp.CSS(`[data-test=bell]`)), waitText("获得积分"), waitText("兑换已完成"))
	s.shot(elder, "resident-notifications")
	s.do(elder, "open one", clickText("兑换已完成"), waitText("我的兑换"))
	s.do(elder, "back home", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-test=bell] .van-badge`)))
	if got := s.text(elder, `[data-test=bell] .van-badge`); got != "1" {
		t.Fatalf("bell badge after reading one %q, want 1", got)
	}
	s.do(elder, "read all", chromedp.Navigate(s.base+"/me/notifications"), waitText("全部已读"), clickText("全部已读"))
	s.do(elder, "none unread", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`!document.querySelector('.note.unread')`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		return err
	}))
	var count struct {
		Unread int `json:"unread"`
	}
	w.call("GET", "/api/v1/me/notifications/unread-count", w.login(phoneElderA), nil).decode(t, &count)
	if count.Unread != 0 {
		t.Fatalf("unread %d after read all", count.Unread)
	}
}
