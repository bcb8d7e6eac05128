package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// docCommentedPackages are the packages whose every top-level function,
// method and type has a doc comment that begins with its name, relative
// to this package's folder. Add a package here once it is done.
var docCommentedPackages = []string{
	".",
	"../accounts",
	"../app",
	"../auth",
	"../cache",
	"../community",
	"../community/communitytest",
	"../directory",
	"../honour",
	"../inbox",
	"../jobs",
	"../ledger",
	"../models",
	"../mutualaid",
	"../once",
	"../outbound",
	"../policy",
	"../privacy",
	"../qrtoken",
	"../ratelimit",
	"../rewards",
	"../sessions",
	"../settlement",
	"../store",
	"../store/storetest",
	"../timebank",
}

// TestIssue12_7_EveryDeclarationHasADocComment parses the non-test files
// of docCommentedPackages and fails for each top-level function, method
// or type whose doc comment is missing, does not begin with its name (Go's
// convention: "postAid answers …"), or says no more than the name.
func TestIssue12_7_EveryDeclarationHasADocComment(t *testing.T) {
	for _, dir := range docCommentedPackages {
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
