package keyvault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
)

// bbolt's on-disk meta page, as far as checkBoltFile needs it. bbolt writes it
// in native byte order: a page header (id u64, flags u16, count u16, overflow
// u32) followed by magic u32, version u32, page size u32, flags u32, root
// bucket (pgid u64, sequence u64), freelist pgid u64, high-water pgid u64,
// txid u64 and an FNV-64a checksum of the 56 meta bytes before it.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltPageHeader  = 16
	boltMetaLen     = 64
	boltNoFreelist  = ^uint64(0)
	boltMinPageSize = 512
	boltMaxPageSize = 64 << 10
	// boltFallbackPageSize is where bbolt looks for the second meta page when
	// the first is unreadable (the OS page size on the platforms flowfed runs
	// on).
	boltFallbackPageSize = 4096
)

type boltMeta struct {
	magic, version, pageSize uint32
	root, freelist, pgid     uint64
	txid                     uint64
	valid                    bool // magic, version and checksum all right
}

// parseBoltMeta decodes a meta page from its first bytes. A page cut short
// after the magic number still reports the magic, so that a truncated bbolt
// file is told apart from a file of another type.
func parseBoltMeta(page []byte) boltMeta {
	ne := binary.NativeEndian
	if len(page) < boltPageHeader+boltMetaLen {
		if len(page) >= boltPageHeader+4 {
			return boltMeta{magic: ne.Uint32(page[boltPageHeader:])}
		}
		return boltMeta{}
	}
	b := page[boltPageHeader : boltPageHeader+boltMetaLen]
	m := boltMeta{
		magic:    ne.Uint32(b[0:]),
		version:  ne.Uint32(b[4:]),
		pageSize: ne.Uint32(b[8:]),
		root:     ne.Uint64(b[16:]),
		freelist: ne.Uint64(b[32:]),
		pgid:     ne.Uint64(b[40:]),
		txid:     ne.Uint64(b[48:]),
	}
	h := fnv.New64a()
	_, _ = h.Write(b[:56])
	m.valid = m.magic == boltMagic && m.version == boltVersion && h.Sum64() == ne.Uint64(b[56:])
	return m
}

// checkBoltFile inspects a file before bbolt sees it. bbolt.Open in
// read-write mode would initialise an empty file and may write to others, and
// bbolt maps the file into memory and trusts its page numbers, so a truncated
// file could fault on access. Only reads happen here; the verdict is
// ErrNotVault for files that are not bbolt databases at all and ErrCorrupt for
// damaged ones.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		return fmt.Errorf("%w: is a directory", ErrNotVault)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: not a regular file", ErrNotVault)
	case fi.Size() == 0:
		return fmt.Errorf("%w: empty file", ErrNotVault)
	}
	size := fi.Size()
	// readPage returns the meta bytes at off, fewer if the file ends first.
	readPage := func(off int64) []byte {
		if off >= size {
			return nil
		}
		buf := make([]byte, min(boltPageHeader+boltMetaLen, size-off))
		if _, err := f.ReadAt(buf, off); err != nil {
			return nil
		}
		return buf
	}
	m0 := parseBoltMeta(readPage(0))
	pageSize := uint32(boltFallbackPageSize)
	if m0.valid {
		pageSize = m0.pageSize
	}
	if pageSize < boltMinPageSize || pageSize > boltMaxPageSize || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("%w: bbolt page size %d", ErrCorrupt, pageSize)
	}
	m1 := parseBoltMeta(readPage(int64(pageSize)))
	if m0.magic != boltMagic && m1.magic != boltMagic {
		return fmt.Errorf("%w: no bbolt header", ErrNotVault)
	}
	// bbolt uses the valid meta page with the higher transaction ID.
	var m boltMeta
	switch {
	case m0.valid && m1.valid && m1.pageSize == pageSize:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case m0.valid:
		m = m0
	case m1.valid && m1.pageSize == pageSize:
		m = m1
	default:
		return fmt.Errorf("%w: both bbolt meta pages are damaged", ErrCorrupt)
	}
	pages := uint64(size) / uint64(pageSize)
	switch {
	case m.pgid < 4 || m.pgid > pages:
		return fmt.Errorf("%w: file ends at page %d, bbolt expects %d (truncated?)", ErrCorrupt, pages, m.pgid)
	case m.root < 2 || m.root >= m.pgid:
		return fmt.Errorf("%w: bbolt root page %d out of range", ErrCorrupt, m.root)
	case m.freelist == boltNoFreelist:
		// A vault always syncs its freelist; without one, a read-write open
		// would rewrite the file.
		return fmt.Errorf("%w: bbolt freelist not synced", ErrCorrupt)
	case m.freelist < 2 || m.freelist >= m.pgid:
		return fmt.Errorf("%w: bbolt freelist page %d out of range", ErrCorrupt, m.freelist)
	}
	return nil
}

// guardPages runs fn, which reads bbolt pages, converting the panics (and,
// via SetPanicOnFault, memory faults) that damaged pages can cause inside
// bbolt into ErrCorrupt. The panic value is not included: it could quote page
// contents.
func guardPages(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: unreadable bbolt pages", ErrCorrupt)
		}
	}()
	return fn()
}

// exists reports whether something is at path (a dangling symlink counts).
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// tempBeside returns the name of a new empty file in path's directory, so that
// a rename or link to path never crosses file systems.
func tempBeside(path, tag string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"."+tag+"-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return "", err
	}
	return name, nil
}

// syncFile flushes a closed file's data and metadata to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// publish moves the finished temp file tmp to path, refusing to replace an
// existing file (ErrExists). A hard link is atomic and fails if path exists;
// where the file system has no hard links, a check followed by a rename
// leaves only a tiny window. The directory is synced afterwards.
func publish(tmp, path string) error {
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		// The temp name must go: after a later shred it would still hold the
		// old file with the shredded key's sealed bytes.
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("removing temporary file: %w", err)
		}
	case errors.Is(err, fs.ErrExist):
		_ = os.Remove(tmp)
		return ErrExists
	default:
		if ok, _ := exists(path); ok {
			_ = os.Remove(tmp)
			return ErrExists
		}
		if err := os.Rename(tmp, path); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	return syncDir(filepath.Dir(path))
}

// writeNewFile writes data to path through a temp file (written, fsynced,
// then published), refusing to overwrite.
func writeNewFile(path string, data []byte) error {
	tmp, err := tempBeside(path, "new")
	if err != nil {
		return err
	}
	if err := writeAndSync(tmp, data); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return publish(tmp, path)
}

func writeAndSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
