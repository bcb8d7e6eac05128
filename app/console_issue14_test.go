package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pickOption opens the Element Plus select inside sel and clicks its
// option that says text.
func pickOption(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { document.querySelector(%q + ' .el-select__wrapper').click(); return true })()`, sel))(ctx, t); err != nil {
			return err
		}
		_, err := chromedp.Poll[bool](fmt.Sprintf(`(() => {
			const item = [...document.querySelectorAll('.el-select-dropdown__item')].find((e) => e.offsetParent && e.innerText.trim() === %q);
			if (!item) return false;
			item.click();
			return true;
		})()`, text), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		return err
	})
}

// pollJS waits until the page's expression expr is true.
func pollJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))(ctx, t)
		return err
	})
}

// Issue 14.1–14.3 in the browser: staff filter the service records on the
// server (approved ones only), answer a resident's correction from the
// community's list of corrections, see the liability over time as a line
// chart on the money page, and find a resident by the phone's last four
// digits.
func TestConsoleIssue14FiltersCorrectionsLiabilitySearch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	staffToken, son, elder := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneElderA)
	claim := func(token, category, description string, daysAgo int, key string) string {
		start := time.Now().AddDate(0, 0, -daysAgo).Truncate(time.Hour)
		r := w.call("POST", "/api/v1/service-records", token, map[string]any{
			"category":     category,
			"organisation": "春申居民区",
			"description":  description,
			"start":        start,
			"end":          start.Add(90 * time.Minute),
		}, "Idempotency-Key", key)
		if r.Status != http.StatusCreated {
			t.Fatalf("claim: %d %s", r.Status, r.Body)
		}
		var rec struct{ ID string }
		r.decode(t, &rec)
		return rec.ID
	}
	approved := claim(son, "助老", "帮独居老人买菜送上楼", 12, "c14-claim-1")
	claim(son, "环境", "清理楼道堆物", 8, "c14-claim-2")
	claim(elder, "助老", "陪邻居去社区医院配药", 2, "c14-claim-3")
	if r := w.call("POST", "/api/v1/service-records/"+approved+"/approve", staffToken, map[string]any{}, "Idempotency-Key", "c14-approve"); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/service-records/"+approved+"/corrections", son, map[string]any{"minutes": 120, "reason": "实际陪同到中午，签退晚了"}); r.Status/100 != 2 {
		t.Fatalf("correction: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/reports/liability", staffToken, nil); r.Status != 200 { // the first summary: a point of the series
		t.Fatalf("liability: %d %s", r.Status, r.Body)
	}

	staff := s.desk()
	s.consoleLogin(staff, phoneStaffA)
	s.try(staff, "the queue", waitText("服务时长审核"), waitText("陪邻居去社区医院配药"), waitText("清理楼道堆物"))
	s.try(staff, "approved only", pickOption(`[data-test=filter-status]`, "已认定"), waitText("帮独居老人买菜送上楼"),
		pollJS(`!document.body.innerText.includes('陪邻居去社区医院配药') && !document.body.innerText.includes('清理楼道堆物')`))
	s.shot(staff, "console-hours-filtered")

	s.try(staff, "corrections", press(`#tab-corrections`), waitText("实际陪同到中午，签退晚了"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-accept=%q]`, approved))))
	s.shot(staff, "console-corrections")
	s.try(staff, "accept", press(fmt.Sprintf(`[data-accept=%q]`, approved)), answerBox("已核实，按120分钟认定"), waitText("已答复"),
		chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`[data-accept=%q]`, approved))))
	var list struct {
		Corrections []struct {
			RecordID string `json:"record_id"`
			Accepted bool   `json:"accepted"`
			After    int64  `json:"after_minutes"`
		}
	}
	w.call("GET", "/api/v1/corrections?status=decided", staffToken, nil).decode(t, &list)
	if len(list.Corrections) != 1 || list.Corrections[0].RecordID != approved || !list.Corrections[0].Accepted || list.Corrections[0].After != 120 {
		t.Fatalf("after accepting in the console the decided corrections are %+v", list.Corrections)
	}

	s.try(staff, "liability over time", chromedp.Navigate(s.base+"/console/money"), waitText("对账单"), press(`#tab-liability`),
		waitText("积分负债走势"), pollJS(`document.querySelectorAll('[data-test=chart] canvas').length >= 3`))
	s.shot(staff, "console-liability-series")

	s.try(staff, "search by phone suffix", chromedp.Navigate(s.base+"/console/directory"), waitText("居民名册"),
		chromedp.WaitVisible(chromedp.CSS(`input[data-test=search]`)), fill(`input[data-test=search]`, "0006"), waitText("找到 1 人"))
	s.shot(staff, "console-directory-search")
}
