package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// openAPIOperation is the part of an OpenAPI operation the tests check.
type openAPIOperation struct {
	Summary    string                     `json:"summary"`
	Security   []map[string][]string      `json:"security"`
	Parameters []map[string]any           `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

type openAPIDocument struct {
	OpenAPI    string                                 `json:"openapi"`
	Paths      map[string]map[string]openAPIOperation `json:"paths"`
	Components struct {
		Parameters map[string]map[string]any `json:"parameters"`
	} `json:"components"`
}

// openAPIMethods are the keys of a path item that are operations.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func openAPITestApp() *fiber.App {
	return New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, Options{})
}

func parseOpenAPI(t *testing.T) (openAPIDocument, map[string]any) {
	t.Helper()
	openAPIDoc, err := buildOpenAPI()
	if err != nil {
		t.Fatalf("merging handlers/openapi/*.json: %v", err)
	}
	var doc openAPIDocument
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(openAPIDoc, &raw); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	return doc, raw
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// documentedRoute is how a route appears in the document: "GET /api/v1/residents/{id}".
func documentedRoute(method, fiberPath string) string {
	return strings.ToUpper(method) + " " + fiberParam.ReplaceAllString(fiberPath, "{$1}")
}

// registeredRoutes are the API's routes as "METHOD /path/{param}", without
// the HEAD routes Fiber adds to every GET and without middleware.
func registeredRoutes(app *fiber.App) map[string]bool {
	out := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == "USE" {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/healthz" && r.Path != "/readyz" {
			continue
		}
		out[documentedRoute(r.Method, r.Path)] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestOpenAPICoversEveryRoute fails when a route is registered but not
// documented, or documented but not registered, or an operation lacks a
// summary, a response or the declaration of one of its path parameters.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, _ := parseOpenAPI(t)
	routes := registeredRoutes(openAPITestApp())
	if len(routes) == 0 {
		t.Fatal("no routes registered")
	}

	documented := map[string]bool{}
	var problems []string
	for path, item := range doc.Paths {
		for method, op := range item {
			if !slices.Contains(openAPIMethods, method) {
				continue // parameters, summary, … of the path item
			}
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			if strings.TrimSpace(op.Summary) == "" {
				problems = append(problems, key+": no summary")
			}
			if len(op.Responses) == 0 {
				problems = append(problems, key+": no responses")
			}
			declared := map[string]bool{}
			for _, p := range op.Parameters {
				if ref, ok := p["$ref"].(string); ok {
					p = doc.Components.Parameters[strings.TrimPrefix(ref, "#/components/parameters/")]
				}
				if p["in"] == "path" {
					name, _ := p["name"].(string)
					declared[name] = true
				}
			}
			for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					problems = append(problems, fmt.Sprintf("%s: path parameter %q is not declared", key, m[1]))
				}
			}
		}
	}

	var missing, extra []string
	for _, r := range sortedKeys(routes) {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for _, d := range sortedKeys(documented) {
		if !routes[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(problems)
	var msg strings.Builder
	if len(missing) > 0 {
		fmt.Fprintf(&msg, "\n%d registered routes are missing from handlers/openapi/*.json:\n\t%s", len(missing), strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&msg, "\n%d operations in handlers/openapi/*.json are not registered routes:\n\t%s", len(extra), strings.Join(extra, "\n\t"))
	}
	if len(problems) > 0 {
		fmt.Fprintf(&msg, "\n%d incomplete operations:\n\t%s", len(problems), strings.Join(problems, "\n\t"))
	}
	if msg.Len() > 0 {
		t.Fatal(msg.String())
	}
	t.Logf("%d routes documented", len(routes))
}

// TestOpenAPIRefsResolve checks that every local $ref names a component
// that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	_, raw := parseOpenAPI(t)
	var broken []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var node any = raw
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := node.(map[string]any)
					node = m[part]
				}
				if !strings.HasPrefix(ref, "#/") || node == nil {
					broken = append(broken, ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(raw)
	if len(broken) > 0 {
		sort.Strings(broken)
		t.Fatalf("unresolved $refs:\n\t%s", strings.Join(slices.Compact(broken), "\n\t"))
	}
}

// TestOpenAPISecurityMatchesRoutes checks that exactly the routes that
// answer 401 without a bearer token declare bearerAuth.
func TestOpenAPISecurityMatchesRoutes(t *testing.T) {
	doc, _ := parseOpenAPI(t)
	app := openAPITestApp()
	var wrong []string
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == "USE" {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/healthz" && r.Path != "/readyz" {
			continue
		}
		key := documentedRoute(r.Method, r.Path)
		sp := strings.SplitN(key, " ", 2)
		op, ok := doc.Paths[sp[1]][strings.ToLower(sp[0])]
		if !ok {
			continue // reported by TestOpenAPICoversEveryRoute
		}
		declared := false
		for _, req := range op.Security {
			if _, ok := req["bearerAuth"]; ok {
				declared = true
			}
		}
		// Without a token an authed route answers 401 before any service
		// is called; other routes reach the (absent) services or refuse
		// the empty body.
		path := fiberParam.ReplaceAllString(r.Path, "x1")
		resp, err := app.Test(httptest.NewRequest(r.Method, path, nil), -1)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		resp.Body.Close()
		if authed := resp.StatusCode == http.StatusUnauthorized; authed != declared {
			wrong = append(wrong, fmt.Sprintf("%s: answers %d without a token but declares bearerAuth=%v", key, resp.StatusCode, declared))
		}
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		t.Fatalf("security does not match the routes:\n\t%s", strings.Join(wrong, "\n\t"))
	}
}

// TestOpenAPIServed checks GET /api/v1/openapi.json serves the file.
func TestOpenAPIServed(t *testing.T) {
	merged, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := openAPITestApp().Test(httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(body, merged) {
		t.Errorf("served document (%d bytes) differs from the merged fragments (%d bytes)", len(body), len(merged))
	}
}

// Two fragments may not define the same operation or a schema differently.
func TestOpenAPIFragmentsDoNotClash(t *testing.T) {
	doc := map[string]any{"paths": map[string]any{"/a": map[string]any{"get": map[string]any{"responses": map[string]any{}}}}}
	clash := map[string]any{"/a": map[string]any{"get": map[string]any{"responses": map[string]any{"200": "x"}}}}
	if err := mergeInto(doc, "paths", clash, "other.json"); err == nil {
		t.Fatal("a second definition of GET /a was merged")
	}
	ok := map[string]any{"/a": map[string]any{"post": map[string]any{"responses": map[string]any{}}}}
	if err := mergeInto(doc, "paths", ok, "other.json"); err != nil {
		t.Fatalf("another method on the same path: %v", err)
	}
}
