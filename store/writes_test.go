package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every write the store makes goes through Store.write, so that on the
// embedded store writes take their turn (store.go). A driver write call
// anywhere else in the package fails this test.
func TestEveryWriteTakesItsTurn(t *testing.T) {
	t.Parallel()
	writes := map[string]bool{
		"InsertOne":         true,
		"InsertMany":        true,
		"UpdateOne":         true,
		"UpdateMany":        true,
		"ReplaceOne":        true,
		"DeleteOne":         true,
		"DeleteMany":        true,
		"FindOneAndUpdate":  true,
		"FindOneAndReplace": true,
		"FindOneAndDelete":  true,
		"BulkWrite":         true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !writes[sel.Sel.Name] {
				return true
			}
			checked++
			if !insideWrite(stack) {
				t.Errorf("%s: %s outside Store.write", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("found only %d driver writes: the check is looking in the wrong place", checked)
	}
}

// insideWrite: some enclosing function literal is an argument of a call
// to a method named write.
func insideWrite(stack []ast.Node) bool {
	for i := len(stack) - 1; i > 0; i-- {
		lit, ok := stack[i].(*ast.FuncLit)
		if !ok {
			continue
		}
		call, ok := stack[i-1].(*ast.CallExpr)
		if !ok {
			continue
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "write" {
			for _, a := range call.Args {
				if a == lit {
					return true
				}
			}
		}
	}
	return false
}
