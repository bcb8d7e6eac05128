package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// literalTables are the map literals kept as tables, one row per line, by
// their file and variable: the error table lines its statuses up in one
// column so a changed status or a missing message is a one-line diff.
var literalTables = map[string]bool{
	filepath.Join("..", "handlers", "errors.go") + ":errorTable": true,
}

// TestIssue12_7_LiteralsOfMoreThanTwoFieldsHaveOneFieldPerLine parses every
// Go file of the module, tests included, and fails for each keyed
// composite literal of more than two fields in which two fields share a
// line (`models.Mark{ID: …, Kind: …, At: …}`): such a literal is written
// one field per line. The rows of the tables in literalTables are exempt.
func TestIssue12_7_LiteralsOfMoreThanTwoFieldsHaveOneFieldPerLine(t *testing.T) {
	dirs := goPackageDirs(t)
	fset := token.NewFileSet()
	checked := 0
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				if spec, ok := n.(*ast.ValueSpec); ok && len(spec.Names) == 1 && literalTables[file+":"+spec.Names[0].Name] {
					return false
				}
				lit, ok := n.(*ast.CompositeLit)
				if !ok || len(lit.Elts) <= 2 {
					return true
				}
				if _, keyed := lit.Elts[0].(*ast.KeyValueExpr); !keyed {
					return true
				}
				lines := map[int]bool{}
				for _, e := range lit.Elts {
					line := fset.Position(e.Pos()).Line
					if lines[line] {
						t.Errorf("%s: a literal of %d fields has two on one line: write one field per line", fset.Position(e.Pos()), len(lit.Elts))
						break
					}
					lines[line] = true
				}
				return true
			})
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d files: is the module root ..?", checked)
	}
}
