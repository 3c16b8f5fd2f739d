// Package fsutil writes files so that a reader never sees half of one: to a
// temporary name in the same directory, synced, then renamed into place.
package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile calls write on a temporary file beside path, syncs it, gives it
// mode perm and renames it over path. On any error the temporary file is
// removed and path is left as it was. It returns the size written.
func WriteFile(path string, perm os.FileMode, write func(f *os.File) error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	err = write(f)
	var size int64
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	return size, nil
}
