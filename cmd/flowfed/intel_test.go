package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/internal/testutil"
)

const testBundle = `{"type":"bundle","id":"bundle--6a8e8d57-3a7b-4d53-8a8e-0d4c1f0c2f11","objects":[
{"type":"identity","spec_version":"2.1","id":"identity--1a1a1a1a-1111-4111-8111-111111111111","created":"DAY0T00:00:00.000Z","modified":"DAY0T00:00:00.000Z","name":"CERT-X","identity_class":"organization"},
{"type":"indicator","spec_version":"2.1","id":"indicator--2b2b2b2b-2222-4222-8222-222222222222","created_by_ref":"identity--1a1a1a1a-1111-4111-8111-111111111111","created":"DAY1T00:00:00.000Z","modified":"DAY1T00:00:00.000Z","name":"C2 server","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"DAY1T00:00:00Z","labels":["c2"],"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]},
{"type":"indicator","spec_version":"2.1","id":"indicator--3c3c3c3c-3333-4333-8333-333333333333","created_by_ref":"identity--1a1a1a1a-1111-4111-8111-111111111111","created":"DAY1T00:00:00.000Z","modified":"DAY1T00:00:00.000Z","pattern":"[domain-name:value = 'www.example.org']","pattern_type":"stix","valid_from":"DAY1T00:00:00Z","object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]},
{"type":"indicator","spec_version":"2.1","id":"indicator--4d4d4d4d-4444-4444-8444-444444444444","created":"DAY1T00:00:00.000Z","modified":"DAY1T00:00:00.000Z","pattern":"[process:name = 'x'] FOLLOWEDBY [file:name = 'y']","pattern_type":"stix","valid_from":"DAY1T00:00:00Z"},
{"type":"malware","spec_version":"2.1","id":"malware--5e5e5e5e-5555-4555-8555-555555555555","created":"DAY1T00:00:00.000Z","modified":"DAY1T00:00:00.000Z","name":"Evil","is_family":true}
]}`

func TestIntelImportMatchExport(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	capPath := filepath.Join(t.TempDir(), "s.pcap")
	testutil.WriteSynthCapture(t, capPath, 20)
	c.must("", "ingest", capPath)
	// Host names of the label evidence are stored as keyed tokens only.
	if b, err := os.ReadFile(filepath.Join(c.dir, "store.db")); err != nil || strings.Contains(string(b), "example.org") {
		t.Fatalf("the store holds a host name in clear (%v)", err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	// Indicators decay: date them yesterday.
	src := strings.ReplaceAll(testBundle, "DAY1", time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02"))
	src = strings.ReplaceAll(src, "DAY0", time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02"))
	if err := os.WriteFile(bundle, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.must("", "intel", "import", bundle)
	if !strings.Contains(out, "imported 2 new indicators") || !strings.Contains(out, "not imported: indicator--4d4d4d4d") ||
		!strings.Contains(out, "kept as received, not modelled (exports give it back): malware malware--5e5e5e5e") {
		t.Fatalf("import: %s", out)
	}
	// A directory is a MISP feed; one without a manifest says so.
	if code, _, errs := c.run("", "intel", "import", filepath.Dir(bundle)); code == 0 || !strings.Contains(errs, "without manifest.json") {
		t.Fatalf("importing a directory without manifest: exit %d, %s", code, errs)
	}
	// Importing the same bundle again changes nothing.
	if out := c.must("", "intel", "import", bundle); !strings.Contains(out, "2 unchanged") {
		t.Fatalf("re-import: %s", out)
	}
	c.must("", "intel", "add", "ja3", "051d20e8adbe8dac78945de300764d5e")
	out = c.must("", "intel", "match")
	if !strings.Contains(out, "not screened (stored flows do not show these types): 1 ja3") {
		t.Fatalf("match does not say it skipped the ja3 indicator: %s", out)
	}
	if !strings.Contains(out, "198.51.100.1") || !strings.Contains(out, "www.example.org") || strings.Contains(out, "LOCAL HOST") {
		t.Fatalf("match: %s", out)
	}
	// The match names pseudonyms only; --reveal resolves them.
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "192.0.2.") {
			t.Fatalf("match without --reveal shows a local address: %s", line)
		}
	}
	out = c.must("", "intel", "match", "--reveal")
	if !strings.Contains(out, "LOCAL HOST") || !strings.Contains(out, "192.0.2.") {
		t.Fatalf("match --reveal: %s", out)
	}
	// An address indicator reveals our host that talked to it.
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); strings.Contains(line, "198.51.100.1 ") && !strings.HasPrefix(f[len(f)-1], "192.0.2.") {
			t.Fatalf("match --reveal names %s for the address indicator, want our host: %s", f[len(f)-1], line)
		}
	}
	if out := c.must("", "audit", "list", "--kind", "reveal"); !strings.Contains(out, "revealed") {
		t.Fatalf("reveal not audited: %s", out)
	}
	var id string
	for _, line := range strings.Split(c.must("", "intel", "list"), "\n") {
		if strings.Contains(line, "198.51.100.1 ") {
			id = strings.Fields(line)[0]
		}
	}
	out = c.must("", "intel", "show", id)
	if !strings.Contains(out, "2b2b2b2b-2222-4222-8222-222222222222") || !strings.Contains(out, "sighting ") {
		t.Fatalf("show %s: %s", id, out)
	}
	// A sighting's id shows it with its indicator.
	sid := strings.TrimSuffix(strings.Fields(out[strings.Index(out, "sighting "):])[1], ":")
	if out := c.must("", "intel", "show", sid); !strings.Contains(out, "2b2b2b2b-2222-4222-8222-222222222222") || !strings.Contains(out, "sighting "+sid) {
		t.Fatalf("show %s: %s", sid, out)
	}
	exp := filepath.Join(t.TempDir(), "out.json")
	c.must("", "intel", "export", "--format", "stix", exp)
	b, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, o := range doc.Objects {
		ids[o["id"].(string)] = true
	}
	for _, id := range []string{"identity--1a1a1a1a-1111-4111-8111-111111111111", "indicator--2b2b2b2b-2222-4222-8222-222222222222", "indicator--3c3c3c3c-3333-4333-8333-333333333333"} {
		if !ids[id] {
			t.Errorf("export lost %s", id)
		}
	}
	if !strings.Contains(string(b), "sighting") {
		t.Errorf("export lacks the sightings of the match")
	}
}

// TestIngestAfterShreddingSaysErased: a capture whose epoch key was shredded
// is not ingested again, and the reason given is the erasure.
func TestIngestAfterShreddingSaysErased(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	capPath := filepath.Join(t.TempDir(), "s.pcap")
	testutil.WriteSynthCapture(t, capPath, 21)
	out := c.must("", "ingest", capPath)
	key := epochRE.FindString(out)
	if key == "" {
		t.Fatalf("ingest names no epoch key: %s", out)
	}
	c.must("", "keys", "rotate")
	c.must("", "keys", "shred", key, "--yes")
	if out := c.must("", "ingest", capPath); !strings.Contains(out, "erased") || strings.Contains(out, "other flow settings") {
		t.Fatalf("re-ingest after shredding: %s", out)
	}
}

// TestIngestDirectory: a directory stands for the captures below it.
func TestIngestDirectory(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	dir := t.TempDir()
	testutil.WriteSynthCapture(t, filepath.Join(dir, "a.pcap"), 31)
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	testutil.WriteSynthCapture(t, filepath.Join(dir, "sub", "b.pcap"), 32)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a capture"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.must("", "ingest", dir)
	if strings.Count(out, "flows stored under") != 2 || strings.Contains(out, "notes.txt") {
		t.Fatalf("ingest of a directory: %s", out)
	}
	if code, _, errs := c.run("", "ingest", t.TempDir()); code == 0 || !strings.Contains(errs, "holds no captures") {
		t.Fatalf("ingest of an empty directory: exit %d, %s", code, errs)
	}
}

// TestLinkedSourceNarrowsTLP: the same value from an unmarked source (RED)
// makes a GREEN indicator RED, since the sources travel with it.
func TestLinkedSourceNarrowsTLP(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	day := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	bundle := func(name, creator, marking string) string {
		p := filepath.Join(t.TempDir(), name)
		src := fmt.Sprintf(`{"type":"bundle","id":"bundle--%s","objects":[
{"type":"identity","spec_version":"2.1","id":"%s","created":"%sT00:00:00.000Z","modified":"%sT00:00:00.000Z","name":"%s","identity_class":"organization"},
{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created_by_ref":"%s","created":"%sT00:00:00.000Z","modified":"%sT00:00:00.000Z","pattern":"[ipv4-addr:value = '203.0.113.77']","pattern_type":"stix","valid_from":"%sT00:00:00Z"%s}]}`,
			creator[10:], creator, day, day, name, creator[10:], creator, day, day, day, marking)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	green := bundle("green.json", "identity--11111111-1111-4111-8111-111111111111", `,"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]`)
	unmarked := bundle("unmarked.json", "identity--22222222-2222-4222-8222-222222222222", "")
	c.must("", "intel", "import", green)
	if out := c.must("", "intel", "list"); !strings.Contains(out, "GREEN") {
		t.Fatalf("after the GREEN import: %s", out)
	}
	if out := c.must("", "intel", "import", unmarked); !strings.Contains(out, "1 linked") || !strings.Contains(out, "stricter: ") {
		t.Fatalf("importing the unmarked source: %s", out)
	}
	if out := c.must("", "intel", "list"); !strings.Contains(out, "RED") || strings.Contains(out, "GREEN") {
		t.Fatalf("after the unmarked import: %s", out)
	}
}
