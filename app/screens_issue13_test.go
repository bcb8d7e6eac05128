package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// --- issue 13: points expiring, the certificate of a long service, and
// what every page says when it cannot load ---

// shiftedClock is the real clock moved by an offset the test sets: a world
// seeded in the past and then brought to the present.
type shiftedClock struct{ offset atomic.Int64 }

func (c *shiftedClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// back moves the clock to the same moment years and months ago.
func (c *shiftedClock) back(years, months int) {
	real := time.Now()
	c.offset.Store(int64(real.AddDate(-years, -months, 0).Sub(real)))
}

func (c *shiftedClock) present() { c.offset.Store(0) }

// zhDate is a day as the screens write it in Chinese (2027年1月1日), in
// the community's zone.
func zhDate(t *testing.T, at time.Time) string {
	t.Helper()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	d := at.In(sh)
	return fmt.Sprintf("%d年%d月%d日", d.Year(), int(d.Month()), d.Day())
}

// Issue 13 (home: points expiring soon). The demo was seeded 25 months
// ago, so its award has outlived the policy's 24 months by the next
// monthly run: the home screen and the points page say how many points
// that run takes, exactly as GET /me/points/expiring (the run's own FIFO
// rule) has it, and the last day they can be used: the day before the
// run's day in the community's zone (有效期至 2026年12月31日 for a run at
// 00:00 on 1 January), never the run's own day.
func TestScreensIssue13_1_HomeSaysPointsExpiringSoon(t *testing.T) {
	t.Parallel()
	clock := &shiftedClock{}
	clock.back(2, 1)
	w := newWorldClock(t, testConfig(t), clock.now)
	clock.present()

	var due struct {
		Points int64     `json:"points"`
		At     time.Time `json:"at"`
	}
	r := w.call("GET", "/api/v1/me/points/expiring", w.login(phoneElderA), nil)
	if r.Status != 200 {
		t.Fatalf("expiring: %d %s", r.Status, r.Body)
	}
	r.decode(t, &due)
	if due.Points <= 0 {
		t.Fatalf("the demo's award, 25 months old, is not due to expire: %s", r.Body)
	}
	// The run is made at 00:00 on the 1st in Shanghai (due.At); the points
	// can be used through the day before, the month's last day there.
	lastDay := zhDate(t, due.At.Add(-time.Nanosecond))
	want := fmt.Sprintf("%d 积分有效期至 %s，", due.Points, lastDay)

	s := newScreens(t, w)
	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home says what expires", chromedp.WaitVisible(chromedp.CSS(`[data-test=expiring]`)))
	if got := s.text(her, `[data-test=expiring]`); !strings.Contains(got, want) {
		t.Fatalf("home says %q; want %q", got, want)
	}
	s.shot(her, "resident-home-expiring")
	s.do(her, "points page says it too", clickText("我的积分"), waitText("积分明细"), chromedp.WaitVisible(chromedp.CSS(`[data-test=expiring]`)))
	if got := s.text(her, `[data-test=expiring]`); !strings.Contains(got, want) {
		t.Fatalf("the points page says %q; want %q", got, want)
	}
}

// Issue 13 (my certificate, service older than ten years). 王奶奶 served
// eleven years ago (the activity and her attendance are recorded on a
// clock set back eleven years; staff approve it today); her certificate,
// opened from 我的, counts that service (the API's all-time certificate,
// not a ten-year window the page picked) and says the period from that
// day; 今年 has none of it.
func TestScreensIssue13_2_CertificateCountsServiceOlderThanTenYears(t *testing.T) {
	t.Parallel()
	clock := &shiftedClock{}
	w := newWorldClock(t, testConfig(t), clock.now)
	elder := w.ids[phoneElderA]
	clock.back(11, 0)
	staff := w.login(phoneStaffA)
	then := clock.now().UTC()
	record := attendedRecord(w, staff, elder, then)
	clock.present()
	before := screenHours(w, elder)
	if r := w.call("POST", "/api/v1/service-records/"+record+"/approve", w.login(phoneStaffA), map[string]any{}, "Idempotency-Key", "approve-old-1"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	credited := screenHours(w, elder) - before
	if credited <= 0 {
		t.Fatalf("approval credited %d minutes", credited)
	}

	s, her := signedInElder(t, w)
	s.do(her, "certificate from 我的", chromedp.Navigate(s.base+"/me"), waitText("志愿服务证明"), clickText("志愿服务证明"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=total]`)), waitText("共 1 条服务记录"))
	if got := s.text(her, `[data-test=total]`); got != hoursZh(credited) {
		t.Fatalf("the certificate says %q; the ledger credited %s eleven years ago", got, hoursZh(credited))
	}
	first := zhDate(t, then.Add(-3*time.Hour))
	if got := s.text(her, `[data-test=period]`); !strings.HasPrefix(got, first+"至") || !strings.HasSuffix(got, zhDate(t, time.Now())) {
		t.Fatalf("the period says %q; want from %s to today", got, first)
	}
	s.shot(her, "resident-certificate-long-service")
	s.do(her, "this year has none of it", clickText("今年"), waitText("共 0 条服务记录"), waitText("这段时间还没有认定的服务时长"))
}

// signedInElder is a browser signed in as 王奶奶, on her home screen.
func signedInElder(t *testing.T, w *world) (*screens, context.Context) {
	t.Helper()
	s := newScreens(t, w)
	her := s.person()
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	return s, her
}

// Issue 13.3 (one way every page loads). When the rewards cannot be read
// the page says why in Chinese — the gateway's failure and a lost
// connection in words, never "HTTP 502" or the browser's English — with a
// 重新加载 button, and that button brings the rewards once the API answers.
func TestScreensIssue13_3_LoadProblemSaidInWordsAndRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s, her := signedInElder(t, w)
	fail := func(how string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
				window.__fetch = window.__fetch || window.fetch;
				const how = %q;
				window.fetch = (url, init) => {
					if (!String(url).includes('/me/rewards')) return window.__fetch(url, init);
					if (how === 'gateway') return Promise.resolve(new Response('bad gateway', { status: 502 }));
					if (how === 'offline') return Promise.reject(new TypeError('Failed to fetch'));
					return window.__fetch(url, init);
				};
				return true;
			})()`, how))(ctx, target)
			return err
		})
	}
	s.do(her, "the gateway fails", fail("gateway"), clickText("兑换"), chromedp.WaitVisible(chromedp.CSS(`[data-test=load-problem]`)),
		waitText("服务暂时不可用（502），请稍后重试。"), waitText("重新加载"))
	s.shot(her, "resident-load-problem")
	s.do(her, "offline", fail("offline"), chromedp.Click(chromedp.CSS(`[data-test=retry]`)), waitText("网络连接失败，请检查网络后重试。"))
	if got := s.text(her, `[data-test=load-problem]`); strings.Contains(got, "Failed to fetch") || strings.Contains(got, "HTTP") {
		t.Fatalf("the problem is said in English: %q", got)
	}
	s.do(her, "back online", fail("none"), chromedp.Click(chromedp.CSS(`[data-test=retry]`)), waitText("早餐套餐"))
	if n, err := chromedp.Run(her, chromedp.Evaluate[int](`document.querySelectorAll('[data-test=load-problem]').length`)); err != nil || n != 0 {
		t.Fatalf("the problem stays on screen after the retry loaded (%d, %v)", n, err)
	}
}

// auditJS lists what a person would trip over on the page shown: anything
// wider than the screen, English words left on a Chinese screen, and tap
// targets smaller than the norm (44 px; 60 px high for buttons in the
// large-text mode). One line per finding.
const auditJS = `(() => {
	const out = [];
	const W = window.innerWidth;
	const care = document.documentElement.classList.contains('care');
	const seen = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !el.closest('[aria-hidden=true]'); };
	if (document.documentElement.scrollWidth > W + 1) out.push('overflow: page is ' + document.documentElement.scrollWidth + ' px wide');
	for (const el of document.querySelectorAll('body *')) {
		if (!seen(el) || el.closest('.van-tabbar,.van-toast')) continue;
		const r = el.getBoundingClientRect();
		if (r.right > W + 1 && getComputedStyle(el).overflowX !== 'hidden' && !el.closest('[style*=overflow],.van-swipe')) out.push('overflow: ' + el.tagName + '.' + el.className + ' right ' + Math.round(r.right) + ': ' + (el.innerText || '').slice(0, 30));
	}
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	const allowed = /^(QR|PNG|PDF|CSV|ID)$/;
	for (let n; (n = walker.nextNode()); ) {
		const el = n.parentElement;
		if (!el || !seen(el) || el.closest('[data-test=code],.van-field__control,[lang=en],[translate=no]')) continue;
		for (const word of n.textContent.match(/[A-Za-z]{3,}/g) || []) if (!allowed.test(word)) out.push('english: ' + word + ' in ' + n.textContent.trim().slice(0, 40));
	}
	for (const el of document.querySelectorAll('button,a[href],[role=button],.van-cell--clickable,.van-switch,input')) {
		if (!seen(el) || el.closest('.van-tabbar')) continue;
		// A field's or a switch's target is its whole row.
		const r = (el.matches('input,.van-switch') && el.closest('.van-cell') || el).getBoundingClientRect();
		const tall = care && el.matches('button.van-button--normal,button.van-button--large,button[type=submit]') ? 60 : 44;
		if (r.height < tall - 0.5 || (r.width < 44 - 0.5 && !el.matches('input'))) out.push('small: ' + el.tagName + ' ' + Math.round(r.width) + 'x' + Math.round(r.height) + ' ' + (el.innerText || el.getAttribute('aria-label') || el.className).trim().slice(0, 30));
	}
	return [...new Set(out)];
})()`

// audit visits each path at 375×667 and returns what auditJS found there.
// Its pictures go to LINLI_AUDIT_SHOTS when set (to look at them), not to
// docs/screens.
func (s *screens) audit(ctx context.Context, name string, paths map[string]string) []string {
	s.t.Helper()
	var found []string
	keep := s.shots
	s.shots = os.Getenv("LINLI_AUDIT_SHOTS")
	if s.shots == "" {
		s.shots = s.t.TempDir()
	}
	defer func() { s.shots = keep }()
	for shot, path := range paths {
		s.do(ctx, "open "+path, chromedp.Navigate(s.base+path), chromedp.WaitReady(chromedp.CSS(`#app > *`)))
		s.do(ctx, "settle "+path, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`!document.querySelector('.van-loading') && !!document.querySelector('.van-nav-bar,.hello,.login,.clerk,.qr-page')`,
				chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
			return err
		}))
		s.shot(ctx, name+"-"+shot)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](auditJS))
		if err != nil {
			s.t.Fatalf("audit %s: %v", path, err)
		}
		for _, g := range got {
			found = append(found, path+": "+g)
		}
	}
	return found
}

// Issue 13 (what a person sees). Every resident screen, the clerk's page
// and the login at a 375×667 phone, in the standard and the large-text
// mode: nothing wider than the screen, no English on a Chinese screen, tap
// targets of at least 44 px (buttons 60 px high in the large-text mode).
func TestScreensIssue13_4_EveryScreenFitsAPhone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	her := s.person()
	s.do(her, "375×667", chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	s.login(her, "/", phoneElderA)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	var breakfast string
	r := w.call("GET", "/api/v1/me/rewards", w.login(phoneElderA), nil)
	var cat struct {
		Rewards []struct{ ID, Kind string }
	}
	r.decode(t, &cat)
	for _, x := range cat.Rewards {
		if x.Kind == "merchant" {
			breakfast = x.ID
		}
	}
	paths := map[string]string{
		"home":          "/",
		"activities":    "/activities",
		"rewards":       "/rewards",
		"qr":            "/rewards/" + breakfast + "/qr",
		"me":            "/me",
		"redemptions":   "/me/redemptions",
		"records":       "/me/records",
		"points":        "/ledger/POINTS",
		"hours":         "/ledger/HOURS",
		"honour":        "/honour",
		"gifts":         "/me/gifts",
		"certificate":   "/me/certificate",
		"mutual-aid":    "/mutual-aid",
		"filial":        "/filial",
		"notifications": "/me/notifications",
	}
	var found []string
	found = append(found, s.audit(her, "audit-375", paths)...)
	s.do(her, "large text", chromedp.Navigate(s.base+"/me"), chromedp.WaitVisible(chromedp.CSS(`.van-switch`)), chromedp.Click(chromedp.CSS(`.van-switch`)), chromedp.WaitVisible(chromedp.CSS(`html.care`)))
	found = append(found, s.audit(her, "audit-375-care", paths)...)

	head := s.person()
	s.do(head, "375×667", chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	s.login(head, "/", phoneHeadA)
	s.do(head, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	found = append(found, s.audit(head, "audit-375-head", map[string]string{"duties": "/me/duties"})...)
	lead := s.person()
	s.do(lead, "375×667", chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	s.login(lead, "/", phoneTeamLeadA)
	s.do(lead, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	found = append(found, s.audit(lead, "audit-375-lead", map[string]string{"attendance": "/me/attendance"})...)

	// A breakfast redeemed today, so the clerk's list has a line to refund.
	png := w.call("GET", "/api/v1/rewards/"+breakfast+"/qr.png", w.login(phoneElderA), nil)
	if png.Status != 200 {
		t.Fatalf("qr.png: %d", png.Status)
	}
	if r := w.call("POST", "/api/v1/merchant/scans", w.login(phoneClerkA), map[string]string{"code": png.Header.Get("X-QR-Code")}, "Idempotency-Key", "audit-scan-1"); r.Status != 201 && r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}

	clerk := s.person()
	s.do(clerk, "375×667", chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	found = append(found, s.audit(clerk, "audit-375-out", map[string]string{"login": "/login", "clerk-login": "/merchant/"})...)
	s.login(clerk, "/merchant/", phoneClerkA)
	s.do(clerk, "clerk page", waitText("今日核销"), waitText("退款"))
	found = append(found, s.audit(clerk, "audit-375-clerk", map[string]string{"clerk": "/merchant/"})...)
	if len(found) > 0 {
		t.Fatalf("%d things a person would trip over:\n%s", len(found), strings.Join(found, "\n"))
	}
}

// Issue 13 (activities: typing the short code). The team lead holds up
// her activity's check-in code from 活动签到确认; 王小明, signed up, taps
// 签到 on 活动 and types the six digits instead of scanning, and is
// checked in.
func TestScreensIssue13_5_CheckInByTypingTheCode(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	lead := w.login(phoneTeamLeadA)
	now := time.Now().UTC()
	r := w.call("POST", "/api/v1/activities", lead, map[string]any{
		"title":        "楼道清洁",
		"category":     "环境",
		"place":        "5号楼",
		"start":        now.Add(2 * time.Minute),
		"end":          now.Add(2 * time.Hour),
		"capacity":     5,
		"max_minutes":  120,
		"self_checkin": true,
	})
	if r.Status != 201 {
		t.Fatalf("create activity: %d %s", r.Status, r.Body)
	}
	var a struct{ ID string }
	r.decode(t, &a)
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/signup", w.login(phoneSonA), nil); r.Status != 201 {
		t.Fatalf("sign up: %d %s", r.Status, r.Body)
	}
	s := newScreens(t, w)
	li := s.person()
	s.login(li, "/", phoneTeamLeadA)
	s.do(li, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(li, "her code", chromedp.Navigate(s.base+"/me/attendance"), waitText("楼道清洁"), clickText("楼道清洁"),
		chromedp.Click(chromedp.CSS(`[data-test=show-code]`)), chromedp.WaitVisible(chromedp.CSS(`[data-test=checkin-code]`)),
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.querySelector('[data-test=checkin-code]').innerText.replace(/\s/g, '').length === 6`,
				chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, target)
			return err
		}))
	s.shot(li, "resident-checkin-code")
	code := strings.ReplaceAll(s.text(li, `[data-test=checkin-code]`), " ", "")

	him := s.person()
	s.login(him, "/", phoneSonA)
	s.do(him, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(him, "type the code", clickText("活动"), waitText("楼道清洁"), clickText("签到"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=checkin-code]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=checkin-code]`), code),
		chromedp.Click(chromedp.CSS(`[data-test=send-code]`)), waitText("签到成功"))
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", lead, map[string]any{"resident_id": w.ids[phoneSonA], "action": "checkin"}); r.code() != "ALREADY_CHECKED_IN" {
		t.Fatalf("the typed code did not check him in: %d %s", r.Status, r.Body)
	}
}

// Issue 13 (the honour board and my own entry, hiding it). The listed
// resident taps 不公开 on her own entry: the page says it in words, and
// the public board no longer shows her; 公开展示 brings her back.
func TestScreensIssue13_6_HidingMyHonourEntry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const phoneListed = "13900000010"
	onBoard := func() int {
		var b struct {
			Board []struct {
				EntryID string `json:"entry_id"`
			} `json:"board"`
		}
		r := w.call("GET", "/api/v1/honour/board", w.login(phoneSonA), nil)
		if r.Status != 200 {
			t.Fatalf("board: %d %s", r.Status, r.Body)
		}
		r.decode(t, &b)
		return len(b.Board)
	}
	before := onBoard()
	if before == 0 {
		t.Fatal("the demo lists nobody")
	}
	s := newScreens(t, w)
	her := s.person()
	s.login(her, "/", phoneListed)
	s.do(her, "home", chromedp.WaitVisible(chromedp.CSS(`[data-test=points] .big-number`)))
	s.do(her, "her entry", chromedp.Navigate(s.base+"/honour"), waitText("我的红榜"), waitText("已上榜"), waitText("公开展示"),
		chromedp.Click(chromedp.CSS(`[data-test^=visibility-]`)), waitText("不公开"))
	s.do(her, "said in words", chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`document.querySelector('[data-test^=visibility-]').innerText.includes('公开展示')`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, target)
		return err
	}))
	s.shot(her, "resident-honour-hidden")
	if got := onBoard(); got != before-1 {
		t.Fatalf("the board shows %d after she hid her entry; %d before", got, before)
	}
	s.do(her, "shown again", chromedp.Click(chromedp.CSS(`[data-test^=visibility-]`)), chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`document.querySelector('[data-test^=visibility-]').innerText.includes('不公开')`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, target)
		return err
	}))
	if got := onBoard(); got != before {
		t.Fatalf("the board shows %d after she showed her entry again; want %d", got, before)
	}
}

// Issue 13 (the clerk's page: refund within the window). A breakfast
// fulfilled this morning is in the clerk's list of the day; 退款, after a
// confirm dialog, marks it refunded and returns the resident's points.
func TestScreensIssue13_7_ClerkRefundsToday(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	elder := w.ids[phoneElderA]
	var cat struct {
		Rewards []struct{ ID, Kind string }
	}
	w.call("GET", "/api/v1/me/rewards", w.login(phoneElderA), nil).decode(t, &cat)
	breakfast := ""
	for _, x := range cat.Rewards {
		if x.Kind == "merchant" {
			breakfast = x.ID
		}
	}
	before, _ := w.points(elder)
	png := w.call("GET", "/api/v1/rewards/"+breakfast+"/qr.png", w.login(phoneElderA), nil)
	if r := w.call("POST", "/api/v1/merchant/scans", w.login(phoneClerkA), map[string]string{"code": png.Header.Get("X-QR-Code")}, "Idempotency-Key", "refund-scan-1"); r.Status != 201 && r.Status != 200 {
		t.Fatalf("scan: %d %s", r.Status, r.Body)
	}
	if spent, _ := w.points(elder); before-spent != 20 {
		t.Fatalf("the breakfast took %d points; want 20", before-spent)
	}
	s := newScreens(t, w)
	clerk := s.person()
	s.login(clerk, "/merchant/", phoneClerkA)
	s.do(clerk, "today's list", waitText("今日核销 1 笔"), waitText("已使用"), chromedp.Click(chromedp.CSS(`[data-test=refund]`)), waitText("确认退款"),
		chromedp.Click(chromedp.CSS(`.van-dialog__confirm`)), waitText("已退款"))
	if after, _ := w.points(elder); after != before {
		t.Fatalf("her points after the refund %d; %d before the breakfast", after, before)
	}
}

// Issue 13 (my service records and asking for a correction; my
// redemptions and cancelling a held one). 王奶奶 asks for her approved
// record to be corrected to 150 minutes, with a reason: the request is
// the API's, pending. With 100 points awarded she redeems the parking
// reduction for her household's car (a confirm dialog), then cancels the held redemption from 我的兑换
// and has her points back.
func TestScreensIssue13_8_CorrectionAndCancellingAHeldRedemption(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	elder := w.ids[phoneElderA]
	staff := w.login(phoneStaffA)
	now := time.Now().UTC()
	r := w.call("POST", "/api/v1/activities", staff, map[string]any{
		"title":        "助老探访",
		"category":     "助老",
		"place":        "活动室",
		"start":        now.Add(-3 * time.Hour),
		"end":          now.Add(time.Hour),
		"capacity":     5,
		"max_minutes":  180,
		"self_checkin": true,
	})
	var a struct{ ID string }
	r.decode(t, &a)
	w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", staff, map[string]any{
		"resident_id": elder,
		"action":      "checkin",
		"at":          now.Add(-2 * time.Hour),
	})
	r = w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", staff, map[string]any{"resident_id": elder, "action": "checkout"})
	var att struct{ Record struct{ ID string } }
	r.decode(t, &att)
	if r := w.call("POST", "/api/v1/service-records/"+att.Record.ID+"/approve", staff, map[string]any{}, "Idempotency-Key", "approve-fix-1"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/residents/"+elder+"/points/adjustments", staff, map[string]any{
		"points":    100,
		"direction": "award",
		"category":  "好人好事",
		"reason":    "楼道清扫",
	}, "Idempotency-Key", "award-park-1"); r.Status != 201 && r.Status != 200 {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	// A parking reduction is for the household's registered car.
	var res struct {
		HouseholdID string `json:"household_id"`
	}
	w.call("GET", "/api/v1/residents/"+elder, staff, nil).decode(t, &res)
	if r := w.call("PATCH", "/api/v1/households/"+res.HouseholdID, staff, map[string]any{"plates": []string{"沪A12345"}}); r.Status != 200 {
		t.Fatalf("register the plate: %d %s", r.Status, r.Body)
	}
	before, _ := w.points(elder)

	s, her := signedInElder(t, w)
	s.do(her, "ask for a correction", chromedp.Navigate(s.base+"/me/records"), waitText("助老探访"), clickText("申请更正"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=fix-minutes]`)),
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { document.querySelector('input[name=fix-minutes]').select(); return true })()`)(ctx, target)
			return err
		}),
		chromedp.SendKeys(chromedp.CSS(`input[name=fix-minutes]`), "150"),
		chromedp.SendKeys(chromedp.CSS(`input[name=fix-reason]`), "签退时忘记扫码"),
		chromedp.Click(chromedp.CSS(`[data-test=send-correction]`)), waitText("已提交，等待社工审核"))
	var cs struct {
		Corrections []struct {
			Minutes int64
			Reason  string
			Decided bool
		}
	}
	w.call("GET", "/api/v1/service-records/"+att.Record.ID+"/corrections", w.login(phoneElderA), nil).decode(t, &cs)
	if len(cs.Corrections) != 1 || cs.Corrections[0].Minutes != 150 || cs.Corrections[0].Reason != "签退时忘记扫码" || cs.Corrections[0].Decided {
		t.Fatalf("the API has %+v; want one pending correction to 150 minutes", cs.Corrections)
	}

	s.do(her, "redeem the parking reduction", chromedp.Navigate(s.base+"/rewards"), waitText("停车费减免"),
		chromedp.Click(chromedp.CSS(`[data-test=redeem-parking]`)), waitText("确认兑换"),
		chromedp.Click(chromedp.CSS(`.van-dialog__confirm`)), waitText("我的兑换"), chromedp.WaitVisible(chromedp.CSS(`[data-status=held]`)))
	if held, _ := w.points(elder); before-held != 100 {
		t.Fatalf("the parking reduction held %d points; want 100", before-held)
	}
	// Her home screen says she has it to use, from the same first page of
	// her redemptions as 我的兑换 reads.
	s.do(her, "home says one redemption to use", chromedp.Navigate(s.base+"/"), waitText("1 张兑换单待使用"),
		chromedp.Navigate(s.base+"/me/redemptions"), chromedp.WaitVisible(chromedp.CSS(`[data-status=held]`)))
	// Tapped again until the dialog is up: the list may still be settling
	// from the page it came from.
	s.do(her, "cancel it", chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`(() => {
			if (document.body.innerText.includes('取消后 100 积分退回')) return true;
			const b = document.querySelector('[data-status=held] [data-test=cancel]');
			if (b) b.click();
			return false;
		})()`, chromedp.WithPollingInterval(300*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, target)
		return err
	}), waitText("取消后 100 积分退回"),
		chromedp.Click(chromedp.CSS(`.van-dialog__confirm`)), chromedp.WaitVisible(chromedp.CSS(`[data-status=cancelled]`)), waitText("已取消"))
	if after, _ := w.points(elder); after != before {
		t.Fatalf("her points after cancelling %d; %d before", after, before)
	}
}
