package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// goPackageDirs returns every folder of the module (its root is the
// parent of this package's) that holds non-test Go files, skipping testdata,
// node_modules and hidden folders, which hold no package of ours.
func goPackageDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != ".." && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".")) {
			return filepath.SkipDir
		}
		files, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		for _, file := range files {
			if !strings.HasSuffix(file, "_test.go") {
				dirs = append(dirs, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestIssue12_7_EveryDeclarationHasADocComment parses the non-test files
// of every package of the module and fails for each top-level function,
// method or type whose doc comment is missing, does not begin with its
// name (Go's convention: "postAid answers …"), or says no more than the
// name.
func TestIssue12_7_EveryDeclarationHasADocComment(t *testing.T) {
	dirs := goPackageDirs(t)
	if len(dirs) < 20 {
		t.Fatalf("found %d package folders: is the module root ..?", len(dirs))
	}
	for _, dir := range dirs {
		for _, problem := range undocumented(t, dir) {
			t.Error(problem)
		}
	}
}

// undocumented returns, for the package in dir, one line per top-level
// declaration without a doc comment that begins with its name.
func undocumented(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var problems []string
	report := func(pos token.Pos, kind, name string, doc *ast.CommentGroup) {
		if problem := docProblem(name, doc); problem != "" {
			problems = append(problems, fset.Position(pos).String()+": "+kind+" "+name+" "+problem)
		}
	}
	parsed := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		parsed++
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				kind := "func"
				if d.Recv != nil {
					kind = "method"
				}
				report(d.Pos(), kind, d.Name.Name, d.Doc)
			case *ast.GenDecl:
				if d.Tok != token.TYPE {
					continue
				}
				for _, spec := range d.Specs {
					ts := spec.(*ast.TypeSpec)
					doc := ts.Doc
					if doc == nil && len(d.Specs) == 1 {
						doc = d.Doc // type X … has its comment on the declaration
					}
					report(ts.Pos(), "type", ts.Name.Name, doc)
				}
			}
		}
	}
	if parsed == 0 {
		t.Fatalf("%s: no Go files: is the package list right?", dir)
	}
	sort.Strings(problems)
	return problems
}

// docProblem says what is wrong with the doc comment of name, or "" when
// it begins with the name and says something more.
func docProblem(name string, doc *ast.CommentGroup) string {
	if doc == nil {
		return "has no doc comment"
	}
	text := strings.TrimSpace(doc.Text())
	first, rest, _ := strings.Cut(text, " ")
	if first != name {
		return "has a doc comment that does not begin with its name: " + quoteFirstLine(text)
	}
	if len(strings.Fields(rest)) < 2 {
		return "has a doc comment that says no more than its name: " + quoteFirstLine(text)
	}
	return ""
}

// quoteFirstLine returns the first line of text, quoted.
func quoteFirstLine(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	return `"` + line + `"`
}
