package models

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestEveryRefusalSaysWhyInChinese reads every non-test Go file of the
// module and fails for each refusal made with an English-only detail: an
// Error literal that sets Detail without DetailZh, or a Withf whose
// Chinese format holds no Chinese. (There is no English-only constructor:
// a refusal is made with a sentinel's Withf.)
func TestEveryRefusalSaysWhyInChinese(t *testing.T) {
	root := ".."
	var bad []string
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "vendor" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inModels := f.Name.Name == "models"
		// isModels reports whether e names models.<name> (or <name> inside
		// package models).
		isModels := func(e ast.Expr, name string) bool {
			switch x := e.(type) {
			case *ast.Ident:
				return inModels && x.Name == name
			case *ast.SelectorExpr:
				pkg, ok := x.X.(*ast.Ident)
				return ok && pkg.Name == "models" && x.Sel.Name == name
			}
			return false
		}
		report := func(n ast.Node, what string) {
			bad = append(bad, rel+":"+strconv.Itoa(fset.Position(n.Pos()).Line)+": "+what)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Withf" && len(x.Args) >= 2 {
					if lit, ok := x.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if zh, err := strconv.Unquote(lit.Value); err == nil && !strings.ContainsFunc(zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
							report(x, "Withf's first format is not Chinese: "+lit.Value)
						}
					}
				}
			case *ast.CompositeLit:
				if x.Type == nil || !isModels(x.Type, "Error") {
					return true
				}
				var detail, zh bool
				for _, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok {
							detail = detail || k.Name == "Detail"
							zh = zh || k.Name == "DetailZh"
						}
					}
				}
				if detail && !zh {
					report(x, "an Error with an English-only Detail; use Withf")
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
	if files < 50 {
		// Guard against walking the wrong directory and passing on nothing.
		t.Fatalf("read %d Go files under %s; want the whole module", files, root)
	}
}

// TestWithfLeavesTheSentinelAlone checks that Withf gives a new error with
// the sentinel's code and both details, and that the sentinel stays bare.
func TestWithfLeavesTheSentinelAlone(t *testing.T) {
	err := ErrSoldOut.Withf("“%[2]s”已兑完（共 %[1]d 份）。", "%[1]d of %[2]q sold", 10, "早餐券")
	if err == ErrSoldOut || err.Code != ErrSoldOut.Code {
		t.Fatalf("Withf returned %p code %s; want a new error with code %s", err, err.Code, ErrSoldOut.Code)
	}
	if err.DetailZh != "“早餐券”已兑完（共 10 份）。" || err.Detail != `10 of "早餐券" sold` {
		t.Fatalf("details %q / %q", err.DetailZh, err.Detail)
	}
	if ErrSoldOut.Detail != "" || ErrSoldOut.DetailZh != "" {
		t.Fatalf("the sentinel was changed: %+v", *ErrSoldOut)
	}
	if !errors.Is(err, ErrSoldOut) || errors.Is(err, ErrLimitReached) {
		t.Fatal("errors.Is does not follow the code")
	}
	if err.LocalDetail(true) != err.DetailZh || err.LocalDetail(false) != err.Detail {
		t.Fatalf("LocalDetail picks the wrong language: %q / %q", err.LocalDetail(true), err.LocalDetail(false))
	}
}
