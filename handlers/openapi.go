package handlers

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"sort"

	"github.com/gofiber/fiber/v2"
)

// The OpenAPI document is kept in fragments, one per feature, so each
// feature documents its own routes: 00-base.json has the header and the
// shared components, every other file adds paths and components.
//
//go:embed openapi/*.json
var openAPIFragments embed.FS

// buildOpenAPI merges the fragments. Two fragments that define the same
// operation, or the same component differently, are an error.
func buildOpenAPI() ([]byte, error) {
	names, err := fs.Glob(openAPIFragments, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var doc map[string]any
	for _, name := range names {
		b, err := openAPIFragments.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var frag map[string]any
		if err := json.Unmarshal(b, &frag); err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", name, err)
		}
		if doc == nil {
			doc = frag
			continue
		}
		for key, v := range frag {
			if err := mergeInto(doc, key, v, name); err != nil {
				return nil, err
			}
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

// mergeInto merges v into dst[key]: objects key by key (paths, methods,
// components), anything else must be equal or absent.
func mergeInto(dst map[string]any, key string, v any, from string) error {
	cur, ok := dst[key]
	if !ok {
		dst[key] = v
		return nil
	}
	curMap, curIsMap := cur.(map[string]any)
	newMap, newIsMap := v.(map[string]any)
	if curIsMap && newIsMap && key != "schemas" && !isOperation(newMap) {
		for k, vv := range newMap {
			if err := mergeInto(curMap, k, vv, from); err != nil {
				return err
			}
		}
		return nil
	}
	if curIsMap && newIsMap && key == "schemas" {
		for k, vv := range newMap {
			if old, dup := curMap[k]; dup && !reflect.DeepEqual(old, vv) {
				return fmt.Errorf("openapi: %s redefines schema %s", from, k)
			}
			curMap[k] = vv
		}
		return nil
	}
	if !reflect.DeepEqual(cur, v) {
		return fmt.Errorf("openapi: %s redefines %s", from, key)
	}
	return nil
}

// isOperation reports whether m is one operation (it has responses), which
// two fragments may not both define.
func isOperation(m map[string]any) bool {
	_, ok := m["responses"]
	return ok
}

// serveOpenAPI answers GET /api/v1/openapi.json without sign-in: the merged OpenAPI
// document.
func (h *api) serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(h.openapi)
}
