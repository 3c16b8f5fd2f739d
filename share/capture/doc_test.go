package capture

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDoc keeps the documentation complete: the package comment has its
// headings, and every exported identifier has a doc comment.
func TestPackageDoc(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
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
	pkg, err := doc.NewFromFiles(fset, files, "github.com/flowfed/flowfed/share/capture")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"# Formats", "# Damage", "# Limits"} {
		if !strings.Contains(pkg.Doc, "\n"+h+"\n") {
			t.Errorf("package comment lacks heading %q", h)
		}
	}
	undocumented := func(kind, name, text string) {
		if strings.TrimSpace(text) == "" {
			t.Errorf("%s %s has no doc comment", kind, name)
		}
	}
	for _, v := range append(pkg.Consts, pkg.Vars...) {
		undocumented("value", strings.Join(v.Names, ", "), v.Doc)
	}
	for _, f := range pkg.Funcs {
		undocumented("func", f.Name, f.Doc)
	}
	for _, typ := range pkg.Types {
		undocumented("type", typ.Name, typ.Doc)
		for _, v := range append(typ.Consts, typ.Vars...) {
			undocumented("value", strings.Join(v.Names, ", "), v.Doc)
		}
		for _, f := range append(typ.Funcs, typ.Methods...) {
			undocumented("func", typ.Name+"."+f.Name, f.Doc)
		}
	}
}
