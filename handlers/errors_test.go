package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/models"
)

// A panic in a handler becomes a 500 with the stable envelope and a request
// id, the request id is logged with the panic, and no internal text leaks.
func TestPanicBecomes500WithRequestID(t *testing.T) {
	var logs bytes.Buffer
	app := New(Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil))}, Options{})
	app.Get("/boom", func(c *fiber.Ctx) error { panic("secret internal detail") })
	resp, err := app.Test(httptest.NewRequest("GET", "/boom", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not the envelope: %s", body)
	}
	if resp.StatusCode != 500 || e.Error.Code != "INTERNAL" || e.Error.RequestID == "" {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "secret internal detail") {
		t.Fatalf("panic text leaked to the client: %s", body)
	}
	if !strings.Contains(logs.String(), e.Error.RequestID) || !strings.Contains(logs.String(), "secret internal detail") {
		t.Fatalf("log lacks the request id or the panic: %s", logs.String())
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	app := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, Options{})
	for _, tc := range []struct{ method, path, code string }{
		{"GET", "/api/v1/no-such-thing", "ROUTE_NOT_FOUND"},
	} {
		resp, _ := app.Test(httptest.NewRequest(tc.method, tc.path, nil))
		body, _ := io.ReadAll(resp.Body)
		var e errorBody
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode >= 500 || e.Error.Code != tc.code {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
	}
}

// 19.3: a refusal's reason reaches the caller in their language, Chinese
// unless they prefer English.
func TestIssue19_3_RefusalDetailInCallersLanguage(t *testing.T) {
	app := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, Options{})
	app.Get("/refuse", func(c *fiber.Ctx) error {
		return fmt.Errorf("post aid: %w", models.ErrInsufficientHours.Withf("需要冻结您 %d 分钟时长。", "holding %d of your minutes", 660))
	})
	for _, tc := range []struct{ lang, want string }{
		{"", "需要冻结您 660 分钟时长。"},
		{"zh-CN,zh;q=0.9", "需要冻结您 660 分钟时长。"},
		{"en-GB,en;q=0.8", "holding 660 of your minutes"},
	} {
		req := httptest.NewRequest("GET", "/refuse", nil)
		if tc.lang != "" {
			req.Header.Set("Accept-Language", tc.lang)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("not the envelope: %s", body)
		}
		if resp.StatusCode != 409 || e.Error.Code != "INSUFFICIENT_HOURS" || e.Error.Detail != tc.want {
			t.Errorf("Accept-Language %q: %d %s; want detail %q", tc.lang, resp.StatusCode, body, tc.want)
		}
	}
}

// A route that takes one of two fields says so when neither or both come.
func TestOneOfTwoFieldsIsSaidByName(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string
	}{
		{`{}`, "token 与 code 须填写其一"},
		{`{"token":"a.b","code":"ABCDEFGH"}`, "token 与 code 只能填写其一"},
	} {
		var req counterScanRequest
		err := json.Unmarshal([]byte(tc.body), &req)
		if err == nil {
			err = check(&req)
		}
		var me *models.Error
		if !errors.As(err, &me) || me.Code != models.ErrValidation.Code || me.LocalDetail(true) != tc.want {
			t.Errorf("%s: %v; want VALIDATION_FAILED %q", tc.body, err, tc.want)
		}
	}
}
