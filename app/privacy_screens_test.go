package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/linli-community/linli/once"
)

// At her first sign-in the resident reads the privacy notice (large text
// on) and accepts it; then 我的数据 shows that staff opened her record,
// and its button downloads everything kept about her.
func TestScreensIssue17_PIPL_ConsentThenMyData(t *testing.T) {
	t.Parallel()
	w := gatedWorld(t, "2026-12")
	elderID := w.ids[phoneElderA]
	// Staff at the counter open her record: that read is on her log.
	if r := w.call("GET", "/api/v1/residents/"+elderID, w.login(phoneStaffA), nil); r.Status != http.StatusOK {
		t.Fatalf("staff read: %d %s", r.Status, r.Body)
	}
	s := newScreens(t, w)
	elder := s.person()
	s.login(elder, "/", phoneElderA)
	s.do(elder, "the notice comes first", waitText("个人信息保护告知书"), waitText("我已阅读并同意"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=notice]`)))
	if _, err := w.sys.store.Consent(context.Background(), once.Consent(elderID, "2026-12")); err == nil {
		t.Fatal("a consent is stored before she accepted")
	}
	s.shot(elder, "resident-consent")
	s.do(elder, "large text", chromedp.Click(chromedp.CSS(`.van-switch`)), chromedp.WaitVisible(chromedp.CSS(`html.care`)))
	s.shot(elder, "resident-consent-large")
	s.do(elder, "accept", chromedp.Click(chromedp.CSS(`[data-test=accept]`)), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`location.pathname === '/'`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))(ctx, t)
		return err
	}))
	c, err := w.sys.store.Consent(context.Background(), once.Consent(elderID, "2026-12"))
	if err != nil || c.Version != "2026-12" {
		t.Fatalf("consent after accepting: %+v %v", c, err)
	}
	s.do(elder, "back to normal text", runJS(`(localStorage.setItem('linli.care', '0'), true)`))
	s.do(elder, "my data", chromedp.Navigate(s.base+"/me/data"), waitText("谁查看过我的资料"), waitText("查看个人资料"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=access]`)))
	if got := s.text(elder, `[data-test=access] b`); !strings.HasPrefix(got, "社工") || !strings.Contains(got, "*") {
		t.Fatalf("who looked: %q, want the staff member, masked", got)
	}
	s.shot(elder, "resident-my-data")
	// The download: the page fetches the export and saves it under the
	// server's file name (the click on the link is caught, not followed).
	s.do(elder, "download", runJS(`(() => {
		window.__saved = '';
		HTMLAnchorElement.prototype.click = function () { window.__saved = this.download; };
		return true;
	})()`), chromedp.Click(chromedp.CSS(`[data-test=download]`)), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`window.__saved.startsWith('linli-export-`+elderID+`-')`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))(ctx, t)
		return err
	}))
}

// runJS evaluates expr (which returns true) in the page.
func runJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](expr)(ctx, t)
		return err
	})
}
