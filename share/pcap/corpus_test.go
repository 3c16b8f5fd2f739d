package pcap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/flowfed/flowfed/share/capture"
)

// Directories of shared test data; the tests that need them skip when absent.
const (
	devDir   = "../../../shared/data/pcap/dev"
	casesDir = "../../../shared/cases"
)

// Test keys: fixed, so that failures reproduce.
var (
	testAddrKey = []byte("flowfed share/pcap test key 32b!")
	testMACKey  = []byte("flowfed share/pcap test MAC key!")
)

// testOptions returns the default options with the test keys.
func testOptions() Options {
	return Options{AddrKey: testAddrKey, MACKey: testMACKey, KeyID: "ek_test", Version: "test"}
}

// testRestore returns the restore options for the record md with the test keys.
func testRestore(md Metadata) RestoreOptions {
	return RestoreOptions{Meta: md, AddrKey: testAddrKey, MACKey: testMACKey}
}

// testMappers caches the mappers of the option sets the tests use: building one
// costs a table of 65,536 AES evaluations, slow under the race detector. The tests
// that use them run one at a time.
var testMappers = map[string]*mapper{}

// mapperFor returns the (cached) mapper of opts for one direction.
func mapperFor(t testing.TB, opts Options, restore bool) *mapper {
	t.Helper()
	k := fmt.Sprintf("%s %x %x %v %s %v", opts.mode(), opts.AddrKey, opts.MACKey, opts.KeepOUI, opts.passthrough(), restore)
	if m, ok := testMappers[k]; ok {
		return m
	}
	m, err := newMapper(opts.mode(), opts.AddrKey, opts.MACKey, opts.KeepOUI, opts.passthrough(), restore)
	if err != nil {
		t.Fatal(err)
	}
	testMappers[k] = m
	return m
}

// anonymize runs Anonymize on a capture held in memory, with a cached mapper
// (Anonymize itself is what the file and command tests run).
func anonymize(t testing.TB, in []byte, opts Options) ([]byte, Stats) {
	t.Helper()
	if err := opts.check(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := anonymizeWith(context.Background(), bytes.NewReader(in), &out, &opts, mapperFor(t, opts, false))
	if err != nil {
		t.Fatalf("Anonymize: %v", err)
	}
	return out.Bytes(), st
}

// deanonymize runs Deanonymize on a capture held in memory, with a cached mapper.
func deanonymize(t testing.TB, in []byte, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := restoreWith(context.Background(), bytes.NewReader(in), &out, opts.metadata(), nil, mapperFor(t, opts, true)); err != nil {
		t.Fatalf("Deanonymize: %v", err)
	}
	return out.Bytes()
}

// rec is one packet read back from a capture, with its data copied.
type rec struct {
	data  []byte
	link  capture.LinkType
	ts    int64
	orig  int
	iface int
}

// readAll reads every packet of a capture (as far as it is readable).
func readAll(t testing.TB, b []byte) ([]rec, *capture.Reader) {
	t.Helper()
	r, err := capture.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("reading capture: %v", err)
	}
	var out []rec
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var de *capture.DamageError
			if errors.As(err, &de) && de.Resumable {
				continue
			}
			if errors.As(err, &de) {
				break
			}
			t.Fatalf("reading capture: %v", err)
		}
		out = append(out, rec{data: bytes.Clone(p.Data), link: p.LinkType, ts: p.Timestamp, orig: p.OrigLen, iface: p.Interface})
	}
	return out, r
}

// corpus returns the captures of the tests: the development captures when present
// and the synthesized ones, by name.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	c := synthCaptures(t)
	files, _ := filepath.Glob(filepath.Join(devDir, "*.pcap*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c[filepath.Base(f)] = b
	}
	return c
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// tool returns the path of an installed program, or skips the calling test.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// restoreMapper returns the inverse mapper of opts, for the tests' own checks.
func restoreMapper(t testing.TB, opts Options) *mapper { return mapperFor(t, opts, true) }

// ext returns the file name extension of a capture format.
func ext(f capture.Format) string {
	if f == capture.FormatPcapng {
		return ".pcapng"
	}
	return ".pcap"
}
