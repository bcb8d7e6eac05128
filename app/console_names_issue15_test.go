package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/linli-community/linli/models"
)

// apiWatch is the script every page of a watched browser runs first: it
// notes each /api/v1 request the page sends (window.__apiCalls) and how
// many have not answered yet (window.__apiInflight).
const apiWatch = `(() => {
	const real = window.fetch;
	window.__apiCalls = [];
	window.__apiInflight = 0;
	window.fetch = function (input, init) {
		const address = typeof input === 'string' ? input : input.url;
		if (String(address).includes('/api/v1/')) window.__apiCalls.push(String(address));
		window.__apiInflight++;
		return real.apply(this, arguments).finally(() => { window.__apiInflight--; });
	};
})()`

// watchAPI makes every page ctx opens from now on run apiWatch.
func (s *screens) watchAPI(ctx context.Context) {
	s.t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: apiWatch}); err != nil {
		s.t.Fatalf("watch the page's requests: %v", err)
	}
}

// apiCalls are the /api/v1 requests the page sent since it opened, once
// none is waiting for its answer.
func (s *screens) apiCalls(ctx context.Context) []string {
	s.t.Helper()
	s.try(ctx, "the page's requests answered", pollJS(`window.__apiInflight === 0`))
	calls, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__apiCalls`))
	if err != nil {
		s.t.Fatalf("the page's requests: %v", err)
	}
	return calls
}

// directoryListings are the calls among calls that list residents or
// households other than by id (?ids=) or by a picker's search (?q= for
// residents, ?room= for households): a plain listing pages the directory
// by `after`, a scan of the collection on the embedded store.
func directoryListings(calls []string) []string {
	var out []string
	for _, call := range calls {
		address, err := url.Parse(call)
		if err != nil {
			out = append(out, call)
			continue
		}
		if !strings.HasSuffix(address.Path, "/api/v1/residents") && !strings.HasSuffix(address.Path, "/api/v1/households") {
			continue
		}
		query := address.Query()
		if query.Get("ids") == "" && query.Get("q") == "" && query.Get("room") == "" {
			out = append(out, call)
		}
	}
	return out
}

// Issue 15 (the console names what it shows by id): opening the honour
// roll, its printed notice, the heads page and the hours queue sends no
// listing of residents or households (only lookups by id) and the store
// no scan, yet each page names the people on it: 王奶奶 and her flat on
// her nomination and her claim, 王** on the lobby notice, 张阿姨 on her
// term and duty. The heads page's household picker finds her flat by its
// room, still without a scan. The directory lists one page of residents,
// not every page, and no households until asked.
func TestConsoleIssue15PagesNameByIDWithoutScans(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Scheduler = false                // no cron jobs between two readings of the scan count
	cfg.Notify.Interval = 24 * time.Hour // no delivery pass either
	w := newWorldConfig(t, cfg)
	staffToken, elderToken, headToken := w.login(phoneStaffA), w.login(phoneElderA), w.login(phoneHeadA)
	elderID := w.ids[phoneElderA]

	// Her flat as the pages say it: 楼栋 房号.
	var residents struct {
		Items []struct {
			HouseholdID string `json:"household_id"`
		}
	}
	w.call("GET", "/api/v1/residents?ids="+elderID, staffToken, nil).decode(t, &residents)
	if len(residents.Items) != 1 || residents.Items[0].HouseholdID == "" {
		t.Fatalf("the elder by id: %+v", residents.Items)
	}
	var households struct {
		Items []struct {
			BuildingID string `json:"building_id"`
			Room       string `json:"room"`
		}
	}
	w.call("GET", "/api/v1/households?ids="+residents.Items[0].HouseholdID, staffToken, nil).decode(t, &households)
	var buildingsPage struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
	}
	w.call("GET", "/api/v1/buildings?limit=200", staffToken, nil).decode(t, &buildingsPage)
	if len(households.Items) != 1 {
		t.Fatalf("her household by id: %+v", households.Items)
	}
	building := ""
	for _, b := range buildingsPage.Items {
		if b.ID == households.Items[0].BuildingID {
			building = b.Name
		}
	}
	flat := building + " " + households.Items[0].Room
	if building == "" {
		t.Fatalf("no building %s", households.Items[0].BuildingID)
	}

	// Her nomination, her claim, and a duty of 张阿姨's this month.
	if r := w.call("POST", "/api/v1/honour/nominations", staffToken, map[string]string{
		"resident_id": elderID,
		"category":    "志愿服务",
		"reason":      "每周为楼里独居老人读报",
	}, "Idempotency-Key", "names-nominate-1"); r.Status != http.StatusCreated {
		t.Fatalf("nominate: %d %s", r.Status, r.Body)
	}
	w.claimFor(elderToken, "助老", 2, "names-claim-1")
	month := models.MonthOf(time.Now(), w.sys.loc).String()
	if r := w.call("POST", "/api/v1/duties", headToken, map[string]string{
		"month":    month,
		"duty":     "问题上报",
		"evidence": "三楼楼道灯坏，已报物业",
	}, "Idempotency-Key", "names-duty-1"); r.Status != http.StatusCreated {
		t.Fatalf("duty: %d %s", r.Status, r.Body)
	}

	s := newScreens(t, w)
	staff := s.desk()
	s.watchAPI(staff)
	s.consoleLogin(staff, phoneStaffA)
	s.try(staff, "signed in", waitText("服务时长审核"))

	// pickerFinds types typed into the picker sel and waits for an option
	// that says each of want.
	pickerFinds := func(sel, typed string, want ...string) chromedp.Action[chromedp.Void] {
		option := `//li[contains(@class,'el-select-dropdown__item')]`
		for _, text := range want {
			option += fmt.Sprintf(`[contains(., %q)]`, text)
		}
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			return chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel+` .el-select__wrapper`)), chromedp.SendKeys(chromedp.CSS(sel+` input`), typed),
				chromedp.WaitVisible(chromedp.Search(option)))
		})
	}
	for _, view := range []struct {
		path  string
		want  []string
		shot  string
		check func()
	}{
		{
			path: "/console/honour",
			want: []string{"每周为楼里独居老人读报", "王奶奶", flat},
			shot: "console-names-honour",
			check: func() {
				s.try(staff, "the nominee picker finds her by name, with her flat", press(`[data-test=nominate]`),
					chromedp.WaitVisible(chromedp.CSS(`[data-test=nominee]`)), pickerFinds(`[data-test=nominee]`, "王", "王奶奶", flat))
				s.shot(staff, "console-names-nominee-picker")
			},
		},
		{
			path: "/console/honour/notice",
			want: []string{"每周为楼里独居老人读报", "王**", building},
			shot: "console-names-honour-notice",
		},
		{
			path: "/console/heads",
			want: []string{"三楼楼道灯坏，已报物业", "张阿姨"},
			shot: "console-names-heads",
			check: func() {
				s.try(staff, "the star household picker finds her flat by its room", pickerFinds(`[data-test=star-household]`, households.Items[0].Room, flat))
				s.shot(staff, "console-names-heads-picker")
			},
		},
		{
			path: "/console/hours",
			want: []string{"筛选测试", "王奶奶", flat},
			shot: "console-names-hours",
			check: func() {
				s.try(staff, "the resident filter finds her by her phone's last digits, with her flat",
					pickerFinds(`[data-test=filter-resident]`, phoneElderA[len(phoneElderA)-4:], "王奶奶", flat))
				s.shot(staff, "console-names-hours-picker")
				s.try(staff, "her records once she is picked", chromedp.Click(chromedp.Search(`//li[contains(@class,'el-select-dropdown__item')][contains(., '王奶奶')]`)),
					chromedp.WaitVisible(chromedp.Search(`//*[@data-test='filter-resident']//*[contains(@class,'el-select__selected-item')][contains(., '王奶奶')]`)),
					waitText("已显示 1 条"), waitText("筛选测试"))
			},
		},
	} {
		scans := w.sys.store.CommandCounts().Scans
		steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(s.base + view.path)}
		for _, text := range view.want {
			steps = append(steps, waitText(text))
		}
		s.try(staff, view.path, steps...)
		if view.check != nil {
			view.check()
		}
		calls := s.apiCalls(staff)
		if n := w.sys.store.CommandCounts().Scans - scans; n != 0 {
			t.Errorf("opening %s sent the store %d scans; want none (its requests: %v)", view.path, n, calls)
		}
		if listed := directoryListings(calls); len(listed) != 0 {
			t.Errorf("opening %s listed the directory: %v; want lookups by id only", view.path, listed)
		}
		if !slicesContainPrefix(calls, "/api/v1/residents?ids=") {
			t.Errorf("opening %s looked no one up by id: %v", view.path, calls)
		}
		s.shot(staff, view.shot)
	}

	// The directory's own lists are slot lists too (store/dir_lists.go):
	// its residents, a building's households and a flat's residents send
	// no scan either.
	directoryScans := w.sys.store.CommandCounts().Scans
	s.try(staff, "the directory", chromedp.Navigate(s.base+"/console/directory"), waitText("居民名册"), waitText("王奶奶"), waitText(flat), waitText("已显示"))
	listed := directoryListings(s.apiCalls(staff))
	if len(listed) != 1 || !strings.Contains(listed[0], "/api/v1/residents?limit=50") || strings.Contains(listed[0], "after=") {
		t.Errorf("the directory listed %v; want its first page of residents only", listed)
	}
	if text := s.text(staff, `[data-test=search-count]`); strings.Contains(text, "共") {
		t.Errorf("the directory's count says %q: a community total it did not load", text)
	}
	s.shot(staff, "console-names-directory")
	home := residents.Items[0].HouseholdID
	s.try(staff, "her flat among her building's households, and who lives there", press(`#tab-households`),
		pollJS(`document.querySelectorAll('[data-show-people]').length > 0`),
		pickOption(`[data-test=household-building]`, building), fill(`input[data-test=room]`, households.Items[0].Room),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-show-people=%q]`, home))), press(fmt.Sprintf(`[data-show-people=%q]`, home)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-people=%q]`, home))))
	if who := s.text(staff, fmt.Sprintf(`[data-people=%q]`, home)); !strings.Contains(who, "王奶奶") {
		t.Errorf("who lives in her flat: %q; want 王奶奶 among them", who)
	}
	if n := w.sys.store.CommandCounts().Scans - directoryScans; n != 0 {
		t.Errorf("the directory's residents, households and a flat's residents sent the store %d scans; want none (its requests: %v)", n, s.apiCalls(staff))
	}
	s.shot(staff, "console-names-households")
}

// slicesContainPrefix reports whether one of calls, less its scheme and
// host, begins with prefix.
func slicesContainPrefix(calls []string, prefix string) bool {
	for _, call := range calls {
		if address, err := url.Parse(call); err == nil && strings.HasPrefix(address.RequestURI(), prefix) {
			return true
		}
	}
	return false
}
