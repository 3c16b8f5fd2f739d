package intel

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRoundTripSTIX imports every STIX and TAXII sample, stores it and
// exports it again: the documents must be equal member by member.
func TestRoundTripSTIX(t *testing.T) {
	files := append(sampleFiles(t, "stix"), sampleFiles(t, "taxii")...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readFile(t, f)
			res, err := ImportSTIX(bytes.NewReader(data), ImportOptions{})
			if err != nil {
				t.Fatalf("ImportSTIX = %v", err)
			}
			for _, p := range res.Problems {
				t.Logf("problem: %v", p)
			}
			objs := throughStorage(t, res.Objects)
			var out bytes.Buffer
			if err := ExportSTIX(&out, objs, STIXOptions{}); err != nil {
				t.Fatalf("ExportSTIX = %v", err)
			}
			assertSameJSON(t, filepath.Base(f), data, out.Bytes())
		})
	}
}

// TestRoundTripMISPEvents does the same for the single MISP events and
// the sharing group list.
func TestRoundTripMISPEvents(t *testing.T) {
	for _, f := range sampleFiles(t, "misp/events") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readFile(t, f)
			res, err := ImportMISP(bytes.NewReader(data), ImportOptions{})
			if err != nil {
				t.Fatalf("ImportMISP = %v", err)
			}
			for _, p := range res.Problems {
				t.Logf("problem: %v", p)
			}
			objs := throughStorage(t, res.Objects)
			var out bytes.Buffer
			if len(objs.Events) == 0 {
				if err := ExportMISPSharingGroups(&out, objs.SharingGroups); err != nil {
					t.Fatalf("ExportMISPSharingGroups = %v", err)
				}
			} else if err := ExportMISPEvent(&out, objs, MISPOptions{}); err != nil {
				t.Fatalf("ExportMISPEvent = %v", err)
			}
			assertSameJSON(t, filepath.Base(f), data, out.Bytes())
		})
	}
}

// TestRoundTripMISPFeed imports the feed and writes it again: manifest and
// event files must be equal.
func TestRoundTripMISPFeed(t *testing.T) {
	dir := filepath.Join(dataDir, "misp/feed")
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Skipf("sample feed not available: %v", err)
	}
	res, err := ImportMISPFeed(dir, ImportOptions{})
	if err != nil {
		t.Fatalf("ImportMISPFeed = %v", err)
	}
	if len(res.Problems) > 0 {
		t.Errorf("problems: %v", res.Problems)
	}
	objs := throughStorage(t, res.Objects)
	out := t.TempDir()
	if err := ExportMISPFeed(out, objs, MISPOptions{}); err != nil {
		t.Fatalf("ExportMISPFeed = %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		name := filepath.Base(f)
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("exported feed lacks %s: %v", name, err)
			continue
		}
		assertSameJSON(t, name, readFile(t, f), got)
	}
}
