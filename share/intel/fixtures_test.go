package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func byValue(inds []Indicator) map[string]Indicator {
	out := map[string]Indicator{}
	for _, i := range inds {
		out[string(i.Type)+" "+i.Value] = i
	}
	return out
}

func problemIDs(ps []Problem, target error) []string {
	var out []string
	for _, p := range ps {
		if errors.Is(p, target) {
			out = append(out, p.ObjectID)
		}
	}
	slices.Sort(out)
	return out
}

// removeObject returns a bundle without the object of the given id.
func removeObject(t testing.TB, doc []byte, id string) []byte {
	t.Helper()
	m := decodeAny(t, doc).(map[string]any)
	objs := m["objects"].([]any)
	m["objects"] = slices.DeleteFunc(objs, func(o any) bool { return o.(map[string]any)["id"] == id })
	out, _ := json.Marshal(m)
	return out
}

const exampleCERT = "identity--0b8f5c2e-6a1d-4c3e-8f7a-1c2d3e4f5a60"

// TestFixtureBundle imports the package's own STIX bundle: what is modelled,
// what is reported, what is kept, and that it round-trips.
func TestFixtureBundle(t *testing.T) {
	data := readFile(t, "testdata/bundle.json")
	res, err := ImportSTIX(bytes.NewReader(data), ImportOptions{Policy: usage.Policy{Purposes: []string{"Detection"}, RetentionDays: 30}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := problemIDs(res.Problems, ErrUnsupportedPattern), []string{
		"indicator--1a2b3c4d-0005-4a5b-8c6d-7e8f9a0b1c05", "indicator--1a2b3c4d-0006-4a5b-8c6d-7e8f9a0b1c06"}; !slices.Equal(got, want) {
		t.Errorf("unsupported patterns reported for %v, want %v", got, want)
	}
	if got := problemIDs(res.Problems, ErrUnknownType); !slices.Equal(got, []string{"not-a-stix-type--9a8b7c6d-0004-4e5f-8a9b-0c1d2e3f4a04"}) {
		t.Errorf("unknown types reported for %v", got)
	}
	if len(res.Problems) != 3 {
		t.Errorf("problems %v, want 3", res.Problems)
	}
	inds := byValue(res.Indicators)
	type want struct {
		key, original string
		tlp           usage.TLP
		reshare       usage.Reshare
	}
	for _, w := range []want{
		{"ipv6 2001:db8::53", "2001:DB8:0:0::53", usage.AmberStrict, usage.ReshareNone},
		{"domain xn--bcher-kva.example", "bücher.example", usage.Green, usage.ReshareCommunity},
		{"domain evil.example", "Evil.Example.", usage.Green, usage.ReshareCommunity},
		{"cidr 198.51.100.0/24", "", usage.Green, usage.ReshareCommunity},
		{"ja3 e7d705a3286e19ea42f587b344ee6865", "E7D705A3286E19EA42F587B344EE6865", usage.Red, usage.ReshareNone},
		{"email Phish@example.org", "Phish@Example.ORG", usage.Red, usage.ReshareNone},
	} {
		ind, ok := inds[w.key]
		if !ok {
			t.Errorf("no indicator %s (have %v)", w.key, slices.Collect(mapsKeys(inds)))
			continue
		}
		if ind.Original != w.original || ind.Policy.TLP != w.tlp || ind.Policy.Reshare != w.reshare {
			t.Errorf("%s: original %q TLP %v reshare %v, want %q %v %v", w.key, ind.Original, ind.Policy.TLP, ind.Policy.Reshare, w.original, w.tlp, w.reshare)
		}
		if !slices.Equal(ind.Policy.Purposes, []string{"detection"}) || ind.Policy.RetentionDays != 30 {
			t.Errorf("%s: policy %v does not keep the import base", w.key, ind.Policy)
		}
		if err := ind.Validate(); err != nil {
			t.Errorf("%s: %v", w.key, err)
		}
	}
	if len(res.Indicators) != 6 {
		t.Errorf("%d indicators, want 6", len(res.Indicators))
	}
	v6 := inds["ipv6 2001:db8::53"]
	if v6.Origin != exampleCERT || v6.OriginName != "Example CERT" || v6.Confidence != 80 ||
		!slices.Equal(v6.Labels, []string{"c2", "apt-example"}) || !v6.Modified.Equal(mustTime(t, "2024-03-02T09:00:00.123456Z")) {
		t.Errorf("ipv6 indicator fields: %+v", v6)
	}
	if d := inds["domain evil.example"]; !d.ValidUntil.Equal(mustTime(t, "2024-09-01T09:00:00Z")) || d.Confidence != DefaultConfidence {
		t.Errorf("domain valid_until %v confidence %d", d.ValidUntil, d.Confidence)
	}
	if len(res.Sightings) != 1 {
		t.Fatalf("%d sightings, want 1", len(res.Sightings))
	}
	s := res.Sightings[0]
	if s.IndicatorID != v6.ID || s.Count != 3 || s.Observer != exampleCERT || s.ObserverName != "Example CERT" || s.Policy.TLP != usage.AmberStrict {
		t.Errorf("sighting %+v", s)
	}
	if len(res.Extra) != 4 || len(res.Identities) != 1 || len(res.Markings) != 1 {
		t.Errorf("extra %d identities %d markings %d, want 4 1 1", len(res.Extra), len(res.Identities), len(res.Markings))
	}
	var out bytes.Buffer
	if err := ExportSTIX(&out, throughStorage(t, res.Objects), STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, "bundle.json", removeObject(t, data, "not-a-stix-type--9a8b7c6d-0004-4e5f-8a9b-0c1d2e3f4a04"), out.Bytes())
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestFixtureMISPEvent imports the package's own MISP event.
func TestFixtureMISPEvent(t *testing.T) {
	data := readFile(t, "testdata/misp_event.json")
	res, err := ImportMISP(bytes.NewReader(data), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := problemIDs(res.Problems, ErrInvalidValue); !slices.Equal(got, []string{"7b1e0c4a-1111-4c2d-8e3f-00000000a007"}) || len(res.Problems) != 1 {
		t.Errorf("problems %v, want the invalid ip-dst only", res.Problems)
	}
	const group = "5d6c7b8a-2222-4c2d-8e3f-000000000507"
	inds := byValue(res.Indicators)
	type want struct {
		key, original string
		tlp           usage.TLP
		pap           usage.PAP
		reshare       usage.Reshare
		group         string
		info, revoked bool
	}
	for _, w := range []want{
		{"cidr 192.0.2.0/24", "192.0.2.17/24", usage.Amber, usage.PAPGreen, usage.ReshareGroup, group, false, false},
		{"domain www.example.org", "WWW.Example.ORG.", usage.Red, usage.PAPGreen, usage.ReshareGroup, group, false, false},
		{"email Phish@example.org", "Phish@Example.ORG", usage.Amber, usage.PAPGreen, usage.ReshareNone, "", false, false},
		{"ja3 e7d705a3286e19ea42f587b344ee6865", "E7D705A3286E19EA42F587B344EE6865", usage.Amber, usage.PAPGreen, usage.ReshareGroup, group, true, false},
		{"sha256 ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c", "EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C", usage.Amber, usage.PAPGreen, usage.ReshareGroup, group, false, false},
		{"url http://xn--bcher-kva.example/a/c?q=~", "HTTP://Bücher.Example:80/a/./b/../c?q=%7e", usage.Amber, usage.PAPGreen, usage.ReshareGroup, group, false, true},
		{"ja4 t13d1516h2_8daaf6152771_02713d6af862", "", usage.Amber, usage.PAPGreen, usage.ReshareGroup, group, false, false},
	} {
		ind, ok := inds[w.key]
		if !ok {
			t.Errorf("no indicator %s (have %v)", w.key, slices.Collect(mapsKeys(inds)))
			continue
		}
		got := want{w.key, ind.Original, ind.Policy.TLP, ind.Policy.PAP, ind.Policy.Reshare, ind.SharingGroup, ind.Informational, ind.Revoked}
		if got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", w.key, got, w)
		}
		if ind.Origin != exampleCERT || ind.OriginName != "Example CERT" {
			t.Errorf("%s: origin %s %q", w.key, ind.Origin, ind.OriginName)
		}
	}
	if len(res.Indicators) != 7 {
		t.Errorf("%d indicators, want 7", len(res.Indicators))
	}
	h := inds["sha256 ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"]
	if !h.ValidFrom.Equal(mustTime(t, "2024-02-01T00:00:00Z")) || !h.LastSeen.Equal(mustTime(t, "2024-02-20T12:00:00Z")) ||
		!h.Modified.Equal(time.Unix(1709290804, 0)) {
		t.Errorf("sha256 times: from %v last %v modified %v", h.ValidFrom, h.LastSeen, h.Modified)
	}
	if j := inds["ja4 t13d1516h2_8daaf6152771_02713d6af862"]; !j.FirstSeen.Equal(mustTime(t, "2024-02-01T00:00:00Z")) || j.Sources[0].Parent != "7b1e0c4a-1111-4c2d-8e3f-00000000b001" {
		t.Errorf("ja4 from object: first seen %v, sources %+v", j.FirstSeen, j.Sources)
	}
	kinds := map[string]Sighting{}
	for _, s := range res.Sightings {
		kinds[s.ID] = s
	}
	if s := kinds["sighting--3c4d5e6f-3333-4c2d-8e3f-000000005001"]; s.Kind != SightingSeen || s.IndicatorID != h.ID ||
		s.Observer != "identity--0b8f5c2e-6a1d-4c3e-8f7a-1c2d3e4f5a62" || !s.LastSeen.Equal(time.Unix(1709300000, 0)) {
		t.Errorf("sighting 5001: %+v", s)
	}
	if s := kinds["sighting--3c4d5e6f-3333-4c2d-8e3f-000000005002"]; s.Kind != SightingFalsePositive || s.Observer != "" {
		t.Errorf("sighting 5002: %+v", s)
	}
	if s := kinds["sighting--3c4d5e6f-3333-4c2d-8e3f-000000005003"]; s.IndicatorID != "7b1e0c4a-1111-4c2d-8e3f-00000000a008" {
		t.Errorf("sighting 5003 of a context attribute: %+v", s)
	}
	if len(res.Sightings) != 3 || len(res.Identities) != 3 || len(res.Events) != 1 {
		t.Errorf("sightings %d identities %d events %d, want 3 3 1", len(res.Sightings), len(res.Identities), len(res.Events))
	}
	if ev := res.Events[0]; ev.Distribution != DistSharingGroup || ev.SharingGroup != group || ev.Policy.TLP != usage.Amber {
		t.Errorf("event %+v", ev)
	}
	var out bytes.Buffer
	if err := ExportMISPEvent(&out, throughStorage(t, res.Objects), MISPOptions{}); err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, "misp_event.json", data, out.Bytes())
}

// TestFixtureFeed reads the package's own feed: the value posted in two
// events is one indicator with both sources, and the feed round-trips,
// numbers written as strings included.
func TestFixtureFeed(t *testing.T) {
	res, err := ImportMISPFeed("testdata/feed", ImportOptions{})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("ImportMISPFeed = %v, %v", err, res.Problems)
	}
	if len(res.Events) != 2 || len(res.Indicators) != 2 {
		t.Fatalf("%d events %d indicators, want 2 2", len(res.Events), len(res.Indicators))
	}
	ip := byValue(res.Indicators)["ipv4 198.51.100.1"]
	if len(ip.Sources) != 2 || ip.Sources[0].Event == ip.Sources[1].Event {
		t.Fatalf("linked indicator sources %+v", ip.Sources)
	}
	if ip.Description != "again" || !ip.Modified.Equal(time.Unix(1709636400, 0)) || ip.Policy.TLP != usage.Amber {
		t.Errorf("linked indicator takes the newer posting: %q %v %v", ip.Description, ip.Modified, ip.Policy.TLP)
	}
	out := t.TempDir()
	if err := ExportMISPFeed(out, throughStorage(t, res.Objects), MISPOptions{Hashes: true}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/feed/*.json")
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.Base(f)))
		if err != nil {
			t.Fatal(err)
		}
		assertSameJSON(t, f, readFile(t, f), got)
	}
	hashes := string(readFile(t, filepath.Join(out, "hashes.csv")))
	// md5("198.51.100.1") once per event.
	if strings.Count(hashes, "\n") != 3 || strings.Count(hashes, "7b1e0c4a-2222-4c2d-8e3f-000000000f02") != 1 {
		t.Errorf("hashes.csv:\n%s", hashes)
	}
	leftovers, _ := filepath.Glob(filepath.Join(out, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
