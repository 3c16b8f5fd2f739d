package intel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flowfed/flowfed/share/usage"
)

// TestSTIXProblems feeds broken objects between valid ones: each is
// reported with its id or position and the valid rest is imported.
func TestSTIXProblems(t *testing.T) {
	v := func(n int) string {
		return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--5f0c2a8e-0000-4000-8000-0000000000%02d","created":"2024-01-01T00:00:00Z",`+
			`"modified":"2024-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '192.0.2.%d']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`, n, n)
	}
	for _, tc := range []struct {
		name    string
		objects []string
		id      string
		target  error
	}{
		{"not an object", []string{`42`}, "objects[1]", ErrMalformed},
		{"no type", []string{`{"id":"x--5f0c2a8e-0000-4000-8000-000000000001"}`}, "x--5f0c2a8e-0000-4000-8000-000000000001", ErrMalformed},
		{"bad id", []string{`{"type":"indicator","id":"indicator--nope"}`}, "indicator--nope", ErrMalformed},
		{"id of another type", []string{`{"type":"indicator","id":"malware--5f0c2a8e-0000-4000-8000-000000000001"}`}, "malware--5f0c2a8e-0000-4000-8000-000000000001", ErrMalformed},
		{"unknown type", []string{`{"type":"bogus","id":"bogus--5f0c2a8e-0000-4000-8000-000000000001"}`}, "bogus--5f0c2a8e-0000-4000-8000-000000000001", ErrUnknownType},
		{"wrong field type", []string{strings.Replace(v(9), `"created":"2024-01-01T00:00:00Z"`, `"created":5`, 1)}, "indicator--5f0c2a8e-0000-4000-8000-000000000009", ErrMalformed},
		{"bad timestamp", []string{strings.Replace(v(9), `"valid_from":"2024-01-01T00:00:00Z"`, `"valid_from":"2022-101-27T13:49:54.326Z"`, 1)}, "indicator--5f0c2a8e-0000-4000-8000-000000000009", ErrMalformed},
		{"pattern syntax", []string{strings.Replace(v(9), `[ipv4-addr:value = '192.0.2.9']`, `[ipv4-addr:value = '192.0.2.9'`, 1)}, "indicator--5f0c2a8e-0000-4000-8000-000000000009", ErrPatternSyntax},
		{"bad value", []string{strings.Replace(v(9), `192.0.2.9'`, `192.0.2.999'`, 1)}, "indicator--5f0c2a8e-0000-4000-8000-000000000009", ErrInvalidValue},
		{"sighting without target", []string{`{"type":"sighting","spec_version":"2.1","id":"sighting--5f0c2a8e-0000-4000-8000-000000000001","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z"}`}, "sighting--5f0c2a8e-0000-4000-8000-000000000001", ErrMalformed},
		{"inverted sighting", []string{`{"type":"sighting","spec_version":"2.1","id":"sighting--5f0c2a8e-0000-4000-8000-000000000001","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","first_seen":"2024-01-02T00:00:00Z","last_seen":"2024-01-01T00:00:00Z","sighting_of_ref":"indicator--5f0c2a8e-0000-4000-8000-000000000001"}`}, "sighting--5f0c2a8e-0000-4000-8000-000000000001", ErrTimeOrder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := append([]string{v(1)}, tc.objects...)
			objs = append(objs, v(2))
			doc := `{"type":"bundle","id":"bundle--5f0c2a8e-0000-4000-8000-000000000b01","objects":[` + strings.Join(objs, ",") + `]}`
			res, err := ImportSTIX(strings.NewReader(doc), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != 1 || res.Problems[0].ObjectID != tc.id || !errors.Is(res.Problems[0], tc.target) {
				t.Fatalf("problems %v, want one %v for %s", res.Problems, tc.target, tc.id)
			}
			if len(res.Indicators) < 2 {
				t.Errorf("valid indicators around it: %d, want 2", len(res.Indicators))
			}
		})
	}
}

// TestSTIXTruncated cuts a bundle: the objects before the cut are imported
// and the cut is reported.
func TestSTIXTruncated(t *testing.T) {
	data := readFile(t, "testdata/bundle.json")
	cut := data[:len(data)*2/3]
	res, err := ImportSTIX(strings.NewReader(string(cut)), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cutReported bool
	for _, p := range res.Problems {
		cutReported = cutReported || (errors.Is(p, ErrMalformed) && strings.HasPrefix(p.ObjectID, "objects["))
	}
	if !cutReported || len(res.Indicators) == 0 || len(res.Identities) != 1 {
		t.Errorf("truncated bundle: problems %v, %d indicators, %d identities", res.Problems, len(res.Indicators), len(res.Identities))
	}
	for _, in := range []string{"", "   ", "null", "42", `"bundle"`, "{", "[1,", `{"type":"bundle"`, `{"no":"objects"}`} {
		if res, err := ImportSTIX(strings.NewReader(in), ImportOptions{}); err == nil && len(res.Problems) == 0 {
			t.Errorf("ImportSTIX(%q) succeeded without a problem", in)
		}
	}
	if _, err := ImportSTIX(strings.NewReader(string(data)), ImportOptions{MaxBytes: 100}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytes 100 = %v, want ErrTooLarge", err)
	}
}

// TestMISPProblems breaks attributes and events of a MISP document.
func TestMISPProblems(t *testing.T) {
	doc := `[
	 {"Event": {"uuid": "5f0c2a8e-0000-4000-8000-00000000e001", "info": "ok", "timestamp": "1700000000", "Attribute": [
	   {"uuid": "5f0c2a8e-0000-4000-8000-00000000a001", "type": "ip-dst", "value": "192.0.2.1", "timestamp": "1700000000", "to_ids": true},
	   {"uuid": "5f0c2a8e-0000-4000-8000-00000000a002", "type": "ip-dst", "value": "192.0.2.1", "timestamp": "not a number"},
	   {"uuid": "5f0c2a8e-0000-4000-8000-00000000a003", "type": "domain", "value": "bad domain"},
	   {"uuid": "not-a-uuid", "type": "domain", "value": "ok.example"},
	   {"type": "domain", "value": "ok.example"},
	   {"uuid": "5f0c2a8e-0000-4000-8000-00000000a004", "type": "domain", "value": "ok.example", "Sighting": [{"uuid": "5f0c2a8e-0000-4000-8000-00000000c001", "type": "7", "date_sighting": "1700000000"}]},
	   {"uuid": "5f0c2a8e-0000-4000-8000-00000000a005", "type": "filename", "value": "x.exe", "to_ids": "maybe"}
	 ]}},
	 {"Event": {"uuid": "nope", "info": "bad uuid"}},
	 {"Event": {"uuid": "5f0c2a8e-0000-4000-8000-00000000e003", "info": 5}},
	 17
	]`
	res, err := ImportMISP(strings.NewReader(doc), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]error{
		"5f0c2a8e-0000-4000-8000-00000000a002":              ErrMalformed,
		"5f0c2a8e-0000-4000-8000-00000000a003":              ErrInvalidValue,
		"not-a-uuid":                                        ErrMalformed,
		"5f0c2a8e-0000-4000-8000-00000000e001 Attribute[4]": ErrMalformed,
		"5f0c2a8e-0000-4000-8000-00000000c001":              ErrMalformed,
		"5f0c2a8e-0000-4000-8000-00000000a005":              ErrMalformed,
		"nope":                                              ErrMalformed,
		"5f0c2a8e-0000-4000-8000-00000000e003":              ErrMalformed,
		"[3]":                                               ErrMalformed,
	}
	got := map[string]error{}
	for _, p := range res.Problems {
		got[p.ObjectID] = p.Err
	}
	for id, target := range want {
		if !errors.Is(got[id], target) {
			t.Errorf("problem for %s = %v, want %v", id, got[id], target)
		}
	}
	if len(res.Problems) != len(want) {
		t.Errorf("problems %v, want %d", res.Problems, len(want))
	}
	if len(res.Indicators) != 2 || len(res.Events) != 1 {
		t.Errorf("%d indicators %d events, want 2 1", len(res.Indicators), len(res.Events))
	}
	// An event without tags or distribution has no TLP: RED.
	for _, ind := range res.Indicators {
		if ind.Policy.TLP != usage.Red {
			t.Errorf("%s without any TLP is %v, want RED", ind.Value, ind.Policy.TLP)
		}
	}
	for _, in := range []string{"", "{", `{"foo": 1}`, `{"response": 5}`} {
		if _, err := ImportMISP(strings.NewReader(in), ImportOptions{}); err == nil {
			t.Errorf("ImportMISP(%q) succeeded", in)
		}
	}
}

// TestMISPTLPTags checks how tags set the policy: unclear and unknown
// labels are RED, the most restrictive tag wins, PAP is read.
func TestMISPTLPTags(t *testing.T) {
	for _, tc := range []struct {
		tags string
		dist string
		tlp  usage.TLP
		pap  usage.PAP
		re   usage.Reshare
	}{
		{`"tlp:white"`, "", usage.Clear, usage.PAPAmber, usage.ReshareCommunity},
		{`"tlp:clear","PAP:CLEAR"`, "3", usage.Clear, usage.PAPClear, usage.ReshareCommunity},
		{`"tlp:green","tlp:amber"`, "", usage.Amber, usage.PAPAmber, usage.ReshareNone},
		{`"tlp:amber+strict"`, "2", usage.AmberStrict, usage.PAPAmber, usage.ReshareGroup},
		{`"tlp:unclear"`, "", usage.Red, usage.PAPAmber, usage.ReshareNone},
		{`"tlp:ex:chr"`, "3", usage.Red, usage.PAPAmber, usage.ReshareCommunity},
		{`"TLP:GREEN","pap:red"`, "1", usage.Green, usage.PAPRed, usage.ReshareNone},
		{``, "0", usage.AmberStrict, usage.PAPAmber, usage.ReshareNone},
		{``, "3", usage.Green, usage.PAPAmber, usage.ReshareCommunity},
		{``, "", usage.Red, usage.PAPAmber, usage.ReshareNone},
	} {
		tags := ""
		for i, n := range strings.Split(tc.tags, ",") {
			if n == "" {
				continue
			}
			if i > 0 {
				tags += ","
			}
			tags += `{"name":` + n + `}`
		}
		dist := ""
		if tc.dist != "" {
			dist = `"distribution":"` + tc.dist + `",`
		}
		doc := `{"Event":{"uuid":"5f0c2a8e-0000-4000-8000-00000000e001",` + dist + `"Tag":[` + tags + `],"Attribute":[` +
			`{"uuid":"5f0c2a8e-0000-4000-8000-00000000a001","type":"ip-dst","value":"192.0.2.1","to_ids":true,"timestamp":"1700000000"}]}}`
		res, err := ImportMISP(strings.NewReader(doc), ImportOptions{})
		if err != nil || len(res.Indicators) != 1 {
			t.Fatalf("ImportMISP(%s) = %v", doc, err)
		}
		p := res.Indicators[0].Policy
		if p.TLP != tc.tlp || p.PAP != tc.pap || p.Reshare != tc.re {
			t.Errorf("tags %s distribution %q: %v, want TLP:%v PAP:%v reshare=%v", tc.tags, tc.dist, p, tc.tlp, tc.pap, tc.re)
		}
	}
}

// TestMISPFeedProblems checks the feed reader against a broken feed.
func TestMISPFeedProblems(t *testing.T) {
	good := readFile(t, "testdata/feed/7b1e0c4a-2222-4c2d-8e3f-000000000f01.json")
	fsys := fstest.MapFS{
		"manifest.json": {Data: []byte(`{"7b1e0c4a-2222-4c2d-8e3f-000000000f01": {"timestamp": "1"},
			"7b1e0c4a-2222-4c2d-8e3f-000000000f02": {"timestamp": 2},
			"7b1e0c4a-2222-4c2d-8e3f-000000000f03": {},
			"7b1e0c4a-2222-4c2d-8e3f-000000000f04": {}}`)},
		"7b1e0c4a-2222-4c2d-8e3f-000000000f01.json": {Data: good},
		"7b1e0c4a-2222-4c2d-8e3f-000000000f02.json": {Data: []byte(`{"Event": {`)},
		"7b1e0c4a-2222-4c2d-8e3f-000000000f04.json": {Data: good},
	}
	res, err := ImportMISPFeedFS(fsys, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, p := range res.Problems {
		ids[p.ObjectID] = true
	}
	for _, id := range []string{"7b1e0c4a-2222-4c2d-8e3f-000000000f02", "7b1e0c4a-2222-4c2d-8e3f-000000000f03", "7b1e0c4a-2222-4c2d-8e3f-000000000f04"} {
		if !ids[id] {
			t.Errorf("no problem for %s in %v", id, res.Problems)
		}
	}
	if len(res.Events) != 2 || len(res.Indicators) != 2 {
		t.Errorf("%d events %d indicators, want the good event read twice", len(res.Events), len(res.Indicators))
	}
	for _, m := range []string{`{"../etc/passwd": {}}`, `[]`, `{"7b1e0c4a-2222-4c2d-8e3f-000000000f01": {"timestamp": "x"}}`} {
		if _, err := ImportMISPFeedFS(fstest.MapFS{"manifest.json": {Data: []byte(m)}}, ImportOptions{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("manifest %s: %v, want ErrMalformed", m, err)
		}
	}
	if _, err := ImportMISPFeed(filepath.Join(t.TempDir(), "none"), ImportOptions{}); err == nil {
		t.Error("a missing feed directory imported")
	}
}

// TestExportErrors covers the exporters' refusals.
func TestExportErrors(t *testing.T) {
	two := Objects{Events: []Event{{UUID: "5f0c2a8e-0000-4000-8000-00000000e001"}, {UUID: "5f0c2a8e-0000-4000-8000-00000000e002"}}}
	if err := ExportMISPEvent(&strings.Builder{}, two, MISPOptions{}); !errors.Is(err, ErrExport) {
		t.Errorf("two events without a choice = %v, want ErrExport", err)
	}
	if err := ExportMISPEvent(&strings.Builder{}, two, MISPOptions{Event: Event{UUID: "5f0c2a8e-0000-4000-8000-00000000e002"}}); err != nil {
		t.Errorf("choosing one of two events = %v", err)
	}
	bad := Objects{Events: []Event{{UUID: "../../x"}}}
	if err := ExportMISPFeed(t.TempDir(), bad, MISPOptions{}); !errors.Is(err, ErrExport) {
		t.Errorf("event UUID that is a path = %v, want ErrExport", err)
	}
	if err := ExportMISPFeed(filepath.Join(t.TempDir(), "missing"), Objects{}, MISPOptions{}); err == nil {
		t.Error("export into a missing directory succeeded")
	}
	dir := t.TempDir()
	if err := ExportMISPFeed(dir, Objects{}, MISPOptions{FileMode: 0o640}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "manifest.json"))
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("manifest mode %v, %v", fi.Mode(), err)
	}
}

// TestImportDetects checks that Import tells the formats apart.
func TestImportDetects(t *testing.T) {
	for name, wantEvents := range map[string]bool{"testdata/bundle.json": false, "testdata/misp_event.json": true} {
		res, err := Import(strings.NewReader(string(readFile(t, name))), ImportOptions{})
		if err != nil || len(res.Indicators) == 0 || (len(res.Events) > 0) != wantEvents {
			t.Errorf("Import(%s) = %d indicators, %d events, %v", name, len(res.Indicators), len(res.Events), err)
		}
	}
	for _, in := range []string{`[{"SharingGroup": {"name": "g"}}]`, `{"response": []}`} {
		if res, err := Import(strings.NewReader(in), ImportOptions{}); err != nil || res.Container != nil {
			t.Errorf("Import(%s) read as STIX: %v", in, err)
		}
	}
}
