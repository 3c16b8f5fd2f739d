package pseudo

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocs keeps the package documentation complete: the headings of the
// package comment exist and every exported identifier has a doc comment.
func TestDocs(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/flowfed/flowfed/share/pseudo")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"# Algorithms", "# Threat model", "# Speed"} {
		if !strings.Contains(p.Doc, "\n"+h+"\n") {
			t.Errorf("package comment lacks the heading %q", h)
		}
	}
	check := func(kind, name, d string) {
		if strings.TrimSpace(d) == "" {
			t.Errorf("%s %s has no doc comment", kind, name)
		}
	}
	for _, f := range p.Funcs {
		check("func", f.Name, f.Doc)
	}
	for _, v := range append(p.Consts, p.Vars...) {
		check("const/var", strings.Join(v.Names, ", "), v.Doc)
	}
	for _, typ := range p.Types {
		check("type", typ.Name, typ.Doc)
		for _, f := range append(typ.Funcs, typ.Methods...) {
			check("func", typ.Name+"."+f.Name, f.Doc)
		}
		for _, v := range append(typ.Consts, typ.Vars...) {
			check("const/var", strings.Join(v.Names, ", "), v.Doc)
		}
	}
}
