package keyvault

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces keyvault's place in the layout: it is a leaf that
// imports no other flowfed package except the generated protobuf code (in
// particular not share/, whose interfaces it satisfies), and it does not log.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/flowfed/flowfed/"
	allowed := map[string]bool{module + "proto/flowfed/v1": true}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, module) && !allowed[path] {
				t.Errorf("%s imports %s; keyvault may only import %sproto/flowfed/v1", name, path, module)
			}
			if path == "log" {
				t.Errorf("%s imports log; a library returns errors instead", name)
			}
		}
	}
}
