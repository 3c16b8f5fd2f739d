package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplacesOrLeavesAlone(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := WriteFile(p, 0o600, func(f *os.File) error {
		f.WriteString("half")
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("error lost")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("failed write changed the file: %q", b)
	}
	n, err := WriteFile(p, 0o640, func(f *os.File) error { _, err := f.WriteString("new!"); return err })
	if err != nil || n != 4 {
		t.Fatalf("WriteFile = %d, %v", n, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new!" {
		t.Fatalf("file = %q", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}
