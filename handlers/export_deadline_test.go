package handlers

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/settlement"
)

// slowExport is a settlement service whose export takes longer than the
// request deadline the test gives the API, and writes only if its context
// is still alive when it ends.
type slowExport struct {
	settlementService
	takes time.Duration
}

func (e slowExport) Export(ctx context.Context, _ models.Principal, _ string, _ settlement.ExportFormat, w io.Writer) error {
	select {
	case <-time.After(e.takes):
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err := io.WriteString(w, "statement,ok\n")
	return err
}

// A statement's export is not cut off by the request deadline: a busy
// shop's month is tens of thousands of lines (exportTimeout bounds it).
func TestStatementExportOutlivesTheRequestDeadline(t *testing.T) {
	app := fakesApp(Deps{Settlement: slowExport{takes: 300 * time.Millisecond}}, Options{RequestTimeout: 50 * time.Millisecond})
	for _, f := range []string{"csv", "xlsx"} {
		req := httptest.NewRequest("GET", "/api/v1/statements/settle:pt1:2026-11/export."+f, nil)
		req.Header.Set("Authorization", "Bearer "+string(models.RoleStaff))
		res, err := app.Test(req, 5000)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(body) != "statement,ok\n" {
			t.Fatalf("export.%s past the request deadline: %d %s", f, res.StatusCode, body)
		}
	}
}
