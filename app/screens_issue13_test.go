package main

import (
	"context"
	"fmt"
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
// that run takes and on which day, exactly as GET /me/points/expiring
// (the run's own FIFO rule) has it.
func TestScreensIssue13_1_HomeSaysPointsExpiringSoon(t *testing.T) {
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
	want := fmt.Sprintf("%d 积分将于 %s 到期", due.Points, zhDate(t, due.At))

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
	clock := &shiftedClock{}
	w := newWorldClock(t, testConfig(t), clock.now)
	elder := w.ids[phoneElderA]
	clock.back(11, 0)
	staff := w.login(phoneStaffA)
	then := clock.now().UTC()
	r := w.call("POST", "/api/v1/activities", staff, map[string]any{
		"title":        "助老探访",
		"category":     "助老",
		"place":        "活动室",
		"start":        then.Add(-3 * time.Hour),
		"end":          then.Add(time.Hour),
		"capacity":     5,
		"max_minutes":  150,
		"self_checkin": true,
	})
	if r.Status != 201 {
		t.Fatalf("create activity: %d %s", r.Status, r.Body)
	}
	var a struct{ ID string }
	r.decode(t, &a)
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", staff, map[string]any{
		"resident_id": elder,
		"action":      "checkin",
		"at":          then.Add(-3 * time.Hour),
	}); r.Status != 201 {
		t.Fatalf("check in: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", staff, map[string]any{"resident_id": elder, "action": "checkout"})
	if r.Status != 201 {
		t.Fatalf("check out: %d %s", r.Status, r.Body)
	}
	var att struct{ Record struct{ ID string } }
	r.decode(t, &att)
	clock.present()
	before := screenHours(w, elder)
	if r := w.call("POST", "/api/v1/service-records/"+att.Record.ID+"/approve", w.login(phoneStaffA), map[string]any{}, "Idempotency-Key", "approve-old-1"); r.Status != 200 {
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
