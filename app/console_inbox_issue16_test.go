package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linli-community/linli/models"
)

// unreadOf is the unread count GET /me/notifications/unread-count gives
// token's holder.
func (w *world) unreadOf(token string) int {
	w.t.Helper()
	var c struct {
		Unread int `json:"unread"`
	}
	r := w.call("GET", "/api/v1/me/notifications/unread-count", token, nil)
	if r.Status != http.StatusOK {
		w.t.Fatalf("unread count: %d %s", r.Status, r.Body)
	}
	r.decode(w.t, &c)
	return c.Unread
}

// Issue 16 (the console shows the inbox): a building head logs two
// duties, which tell staff; the staff member's header bell shows the
// unread count, the bell opens the list (unread first), marking one read
// lowers the bell by one, and 全部标为已读 brings it, and the server's
// count, to 0.
func TestConsoleIssue16InboxBellListReadAll(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := newScreens(t, w)
	head, staffToken := w.login(phoneHeadA), w.login(phoneStaffA)
	month := models.MonthOf(time.Now(), w.sys.loc).String()
	for i, evidence := range []string{"楼道灯坏, 已报物业", "协助独居老人买药"} {
		r := w.call("POST", "/api/v1/duties", head, map[string]string{
			"month":    month,
			"duty":     "问题上报",
			"evidence": evidence,
		},
			"Idempotency-Key", fmt.Sprintf("console-inbox-duty-%d", i))
		if r.Status != http.StatusCreated {
			t.Fatalf("log duty: %d %s", r.Status, r.Body)
		}
	}
	if _, err := w.sys.deliverer.Pass(context.Background()); err != nil {
		t.Fatalf("delivery pass: %v", err)
	}
	want := w.unreadOf(staffToken)
	if want < 2 {
		t.Fatalf("staff have %d unread notifications; want at least the 2 duties", want)
	}

	staff := s.desk()
	s.consoleLogin(staff, phoneStaffA)
	bellIs := func(n int) chromedp.Action[chromedp.Void] {
		return pollJS(fmt.Sprintf(`(() => { const b = document.querySelector('[data-test=bell]'); return !!b && b.dataset.unread === %q })()`, strconv.Itoa(n)))
	}
	s.try(staff, "the bell shows the unread count", waitText("服务时长审核"), bellIs(want),
		pollJS(fmt.Sprintf(`[...document.querySelectorAll('.bell-badge sup')].some((e) => e.innerText.trim() === %q)`, strconv.Itoa(want))))
	s.try(staff, "the bell opens the list", press(`[data-test=bell]`), waitText("消息通知"), waitText("有履职记录待确认"),
		pollJS(`document.querySelectorAll('.el-table [data-unread]').length >= 2`))
	s.shot(staff, "console-inbox")
	// Unread first: no unread row follows a read one.
	order, err := chromedp.Run(staff, chromedp.Evaluate[bool](`(() => {
		const rows = [...document.querySelectorAll('.el-table__body tbody tr')].map((tr) => !!tr.querySelector('.el-tag'));
		return rows.length > 0 && rows.every((u, i) => i === 0 || !u || rows[i - 1]);
	})()`))
	if err != nil || !order {
		t.Fatalf("unread rows do not come first (%v)", err)
	}
	s.try(staff, "mark one read", press(`button[data-read]`), bellIs(want-1))
	if got := w.unreadOf(staffToken); got != want-1 {
		t.Fatalf("after marking one read the server counts %d unread; want %d", got, want-1)
	}
	s.try(staff, "mark all read", press(`[data-test=read-all]`), bellIs(0),
		pollJS(`document.querySelectorAll('.el-table__body .el-tag').length === 0`))
	s.shot(staff, "console-inbox-read")
	if got := w.unreadOf(staffToken); got != 0 {
		t.Fatalf("after 全部标为已读 the server counts %d unread; want 0", got)
	}
}
