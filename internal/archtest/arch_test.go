// Package archtest checks the architecture of the module: the direction of imports
// between its top-level packages, who may use bbolt and the generated protobuf code,
// and that every package documents itself.
package archtest

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

const module = "github.com/flowfed/flowfed"

// pkgInfo is what the checks need of one package directory.
type pkgInfo struct {
	path     string          // import path
	imports  map[string]bool // non-test imports
	hasDoc   bool            // some non-test file has a package comment
	testOnly bool            // holds only _test.go files
}

// loadPackages parses the imports of every package in the module.
func loadPackages(t *testing.T) map[string]*pkgInfo {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	pkgs := map[string]*pkgInfo{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		ip := module
		if rel != "." {
			ip += "/" + filepath.ToSlash(rel)
		}
		pi := pkgs[ip]
		if pi == nil {
			pi = &pkgInfo{path: ip, imports: map[string]bool{}, testOnly: true}
			pkgs[ip] = pi
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, "_test.go") {
			return nil
		}
		pi.testOnly = false
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			pi.hasDoc = true
		}
		for _, is := range f.Imports {
			pi.imports[importPath(is)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func importPath(is *ast.ImportSpec) string { return strings.Trim(is.Path.Value, `"`) }

func under(path, prefix string) bool {
	p := module + "/" + prefix
	return path == p || strings.HasPrefix(path, p+"/")
}

// TestImportDirection enforces the layering of DESIGN.md: arrows point from cmd to
// node to protocol to proto; share, policy and keyvault are leaves.
func TestImportDirection(t *testing.T) {
	forbidden := []struct {
		from string
		to   []string
	}{
		{"share", []string{"node", "protocol", "keyvault", "policy", "cmd", "testnet", "proto"}},
		{"policy", []string{"node", "protocol", "keyvault", "cmd", "testnet", "proto"}},
		{"keyvault", []string{"node", "protocol", "share", "policy", "cmd", "testnet"}},
		{"protocol", []string{"node", "cmd", "testnet", "keyvault"}},
		{"node", []string{"cmd", "testnet"}},
		{"testnet", []string{"cmd"}},
		{"internal", []string{"node", "cmd"}},
		{"proto", []string{"node", "protocol", "share", "policy", "keyvault", "cmd", "testnet", "internal"}},
	}
	for _, pi := range loadPackages(t) {
		for _, rule := range forbidden {
			if !under(pi.path, rule.from) {
				continue
			}
			for imp := range pi.imports {
				for _, to := range rule.to {
					if under(imp, to) {
						t.Errorf("%s imports %s: %s must not import %s (see DESIGN.md, layout)", pi.path, imp, rule.from, to)
					}
				}
			}
		}
	}
}

// TestRestrictedImports keeps bbolt and the generated protobuf types behind the few
// packages that own storage and the wire, and keeps cgo-only packages out.
func TestRestrictedImports(t *testing.T) {
	allowed := map[string][]string{
		"go.etcd.io/bbolt":                {"internal/store", "keyvault"},
		module + "/proto/flowfed/v1":      {"protocol", "internal/store", "keyvault"},
		"github.com/google/gopacket/pcap": {},
	}
	for _, pi := range loadPackages(t) {
		for imp := range pi.imports {
			owners, restricted := allowed[imp]
			if !restricted {
				continue
			}
			ok := false
			for _, o := range owners {
				if under(pi.path, o) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s, which only %v may import", pi.path, imp, owners)
			}
		}
	}
}

// TestPackageDocs requires a package comment on every package.
func TestPackageDocs(t *testing.T) {
	pkgs := loadPackages(t)
	var names []string
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pi := pkgs[n]
		if pi.testOnly {
			continue
		}
		if !pi.hasDoc {
			t.Errorf("package %s has no package comment", n)
		}
	}
}

// TestRequiredLayout checks the top-level folders that the project promises.
func TestRequiredLayout(t *testing.T) {
	for _, d := range []string{"node", "protocol", "keyvault", "share", "policy", "cmd", "proto", "testnet"} {
		if fi, err := os.Stat(filepath.Join("../..", d)); err != nil || !fi.IsDir() {
			t.Errorf("required top-level folder %s/ is missing", d)
		}
	}
	for _, f := range []string{"go.mod", "README.md"} {
		if _, err := os.Stat(filepath.Join("../..", f)); err != nil {
			t.Errorf("required file %s is missing", f)
		}
	}
}
