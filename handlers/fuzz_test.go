package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/services"
)

// fakeTokens admits one fixed staff principal for the token "staff".
type fakeTokens struct{}

func (fakeTokens) VerifyAccess(_ context.Context, tok string) (models.Principal, error) {
	if tok != "staff" {
		return models.Principal{}, models.ErrUnauthenticated
	}
	return models.Principal{ResidentID: "s1", CommunityID: "c1", Roles: []models.Role{models.RoleStaff}}, nil
}

// fakeAccounts checks that whatever reaches the service is already valid;
// it panics otherwise, which the recover middleware turns into a 500 that
// the fuzz targets fail on.
type fakeAccounts struct{}

func (fakeAccounts) Balances(context.Context, models.Principal, string) (services.Balances, error) {
	return services.Balances{}, nil
}
func (fakeAccounts) History(context.Context, models.Principal, string, models.Asset, int64, int) ([]models.Entry, int64, error) {
	return nil, 0, nil
}
func (fakeAccounts) Adjust(_ context.Context, _ models.Principal, adj services.Adjustment) (models.Entry, error) {
	if adj.Points <= 0 || adj.Points > models.MaxAmount || adj.Reason == "" || adj.Category == "" || adj.Idem.OpID == "" || adj.Idem.Hash == "" {
		panic(fmt.Sprintf("invalid adjustment reached the service: %+v", adj))
	}
	return models.Entry{Account: models.AccountOf(adj.ResidentID, models.AssetPoints), Seq: 1, Delta: int64(adj.Points), At: time.Unix(0, 0)}, nil
}
func (fakeAccounts) Reverse(context.Context, models.Principal, string, models.Asset, int64, string) (models.Entry, error) {
	return models.Entry{}, nil
}
func (fakeAccounts) Trail(context.Context, models.Principal, time.Time, int) ([]models.AuditRecord, error) {
	return nil, nil
}
func (fakeAccounts) Audit(context.Context) (ledger.AuditReport, error) {
	return ledger.AuditReport{}, nil
}

// FuzzAdjustPoints feeds arbitrary bodies and keys to the value-moving
// points route: the answer is a 201 or a 4xx with a stable code, never a
// 5xx, and nothing invalid reaches the service.
func FuzzAdjustPoints(f *testing.F) {
	for _, s := range []string{
		`{"points":5,"direction":"award","category":"好人好事","reason":"扶老人"}`,
		`{"points":-1,"direction":"deduct","category":"x","reason":"y"}`,
		`{"points":99999999999999999999,"direction":"award","category":"x","reason":"y"}`,
		`{"points":{"$gt":0}}`, `[]`, `null`, `{"points":1e3}`, "{\"reason\":\"\u202e\"}", `{`,
	} {
		f.Add(s, "fuzz-key-0001")
	}
	app := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Tokens: fakeTokens{}, Accounts: fakeAccounts{}}, Options{})
	f.Fuzz(func(t *testing.T, body, key string) {
		req := httptest.NewRequest("POST", "/api/v1/residents/r1/points/adjustments", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer staff")
		if strings.ContainsAny(key, "\r\n\x00") || len(key) > 3000 {
			// Not a request a client can get through: over-long headers are
			// a 431 from the server itself (app tests), which app.Test
			// reports as a transport error instead.
			key = "fuzz-key-0001"
		}
		req.Header.Set("Idempotency-Key", key)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 || (resp.StatusCode != 201 && !strings.Contains(string(b), `"code":"`)) {
			t.Fatalf("%q → %d %s", body, resp.StatusCode, b)
		}
	})
}

// FuzzBearerToken: whatever follows "Bearer " is refused with a 401 unless
// it is the one good token, and never crashes the middleware.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"staff", "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	app := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Tokens: fakeTokens{}, Accounts: fakeAccounts{}}, Options{})
	f.Fuzz(func(t *testing.T, tok string) {
		req := httptest.NewRequest("GET", "/api/v1/me/balances", nil)
		if strings.ContainsAny(tok, "\r\n\x00") || len(tok) > 3000 {
			return // not a header a client can send through; over-long headers are a 431 (app tests)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		want := 401
		if strings.TrimSpace(tok) == "staff" {
			want = 200
		}
		if resp.StatusCode != want && !(want == 401 && resp.StatusCode == 400) {
			t.Fatalf("token %q → %d; want %d", tok, resp.StatusCode, want)
		}
	})
}
