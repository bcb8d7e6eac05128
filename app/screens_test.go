package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The screens are tested in a real browser: Debian's chromium, headless,
// driven over the DevTools protocol against the real binary's HTTP app on
// a fresh embedded store, at a phone's 360×740. LINLI_BROWSER_TESTS=0
// skips them; otherwise a missing chromium is a failure (.ci/run installs
// it). LINLI_SCREENSHOTS=docs/screens writes each main screen there (the
// README's pictures: `./scripts/screens.sh`).

// screens is one browser for one test, and the server it talks to.
type screens struct {
	t       *testing.T
	w       *world
	base    string // http://127.0.0.1:port
	browser context.Context
	shots   string // where screenshots go
}

func newScreens(t *testing.T, w *world) *screens {
	t.Helper()
	if os.Getenv("LINLI_BROWSER_TESTS") == "0" {
		t.Skip("LINLI_BROWSER_TESTS=0")
	}
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Fatal("no chromium on PATH: install it (apt-get install -y chromium) or set LINLI_BROWSER_TESTS=0")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := w.app
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })

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
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(360, 740),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	shots := os.Getenv("LINLI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if !filepath.IsAbs(shots) {
		shots = filepath.Join("..", shots) // tests run in app/
	}
	return &screens{t: t, w: w, base: "http://" + ln.Addr().String(), browser: browser, shots: shots}
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

// clickText clicks the first button, link or cell that says text.
func clickText(text string) chromedp.Action[chromedp.Void] {
	tappable := `(self::button or self::a or contains(concat(' ', normalize-space(@class), ' '), ' van-cell ') or contains(concat(' ', normalize-space(@class), ' '), ' van-tabbar-item '))`
	return chromedp.Click(chromedp.Search(fmt.Sprintf(`//*[%s][contains(normalize-space(.), %q)]`, tappable, text)))
}

// shot saves the screen as name.png.
func (s *screens) shot(ctx context.Context, name string) {
	s.t.Helper()
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
