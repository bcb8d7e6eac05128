package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// fakeTokens admits one fixed staff principal for the token "staff".
type fakeTokens struct{}

func (fakeTokens) VerifyAccess(_ context.Context, tok string) (models.Principal, error) {
	if tok != "staff" {
		return models.Principal{}, models.ErrUnauthenticated
	}
	return models.Principal{
		ResidentID:  "s1",
		CommunityID: "c1",
		Roles:       []models.Role{models.RoleStaff},
	}, nil
}

// fakeAccounts checks that whatever reaches the service is already valid;
// it panics otherwise, which the recover middleware turns into a 500 that
// the fuzz targets fail on.
type fakeAccounts struct{}

func (fakeAccounts) Balances(context.Context, models.Principal, string) (accounts.Balances, error) {
	return accounts.Balances{}, nil
}
func (fakeAccounts) History(context.Context, models.Principal, string, models.Asset, int64, int) ([]models.Entry, int64, error) {
	return nil, 0, nil
}
func (fakeAccounts) Adjust(_ context.Context, p models.Principal, adj accounts.Adjustment) (models.Entry, error) {
	adj, err := adj.Clean() // as the service does
	if err != nil {
		return models.Entry{}, err
	}
	mustReach("adjustment", adj, isID(adj.ResidentID), adj.Points > 0, adj.Points <= models.MaxAmount,
		isClean(adj.Category, 40), isClean(adj.Reason, 500), isIdem(p, adj.Idem))
	return models.Entry{
		Account: models.AccountOf(adj.ResidentID, models.AssetPoints),
		Seq:     1,
		Delta:   int64(adj.Points),
		At:      time.Unix(0, 0),
	}, nil
}
func (fakeAccounts) Reverse(_ context.Context, _ models.Principal, residentID string, asset models.Asset, seq int64, reason, _ string) (models.Entry, error) {
	mustReach("reversal", []any{residentID, asset, seq, reason}, isID(residentID),
		asset == models.AssetHours || asset == models.AssetPoints, seq > 0, isClean(reason, 500))
	return models.Entry{
		Account: models.AccountOf(residentID, asset),
		Seq:     seq + 1,
		At:      time.Unix(0, 0),
	}, nil
}
func (fakeAccounts) Trail(context.Context, models.Principal, models.TrailPlace, int) ([]models.AuditRecord, *models.TrailPlace, error) {
	return nil, nil, nil
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
		// Texts the service cleans: a control character, a byte that is not UTF-8.
		"{\"points\":5,\"direction\":\"award\",\"category\":\"\x7f\",\"reason\":\"\x9c\"}",
	} {
		f.Add(s, "fuzz-key-0001")
	}
	rt := valueRoute{"POST", "/residents/r1/points/adjustments", models.RoleStaff, true, "", ""}
	app := fuzzApp(Deps{Accounts: fakeAccounts{}})
	f.Fuzz(func(t *testing.T, body, key string) {
		askValueRoute(t, app, rt, "", "", body, key)
	})
}

// FuzzBearerToken: whatever follows "Bearer " is refused with a 401 unless
// it is the one good token, and never crashes the middleware.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"staff", "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	app := New(Deps{
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Tokens:   fakeTokens{},
		Accounts: fakeAccounts{},
	}, Options{})
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
		// The server trims the header value's ends (spaces and tabs), and
		// the token may follow "Bearer" after any number of spaces.
		want := 401
		if strings.TrimLeft(strings.TrimRight(tok, " \t"), " ") == "staff" {
			want = 200
		}
		if resp.StatusCode != want && !(want == 401 && resp.StatusCode == 400) {
			t.Fatalf("token %q → %d; want %d", tok, resp.StatusCode, want)
		}
	})
}
