package intel

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// addSeeds adds the files matching the patterns as seeds, when present.
func addSeeds(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
}

// checkImported holds for every import: each indicator and sighting is
// valid and survives the flowfed encoding.
func checkImported(t *testing.T, res ImportResult) {
	for _, ind := range res.Indicators {
		if err := ind.Validate(); err != nil {
			t.Fatalf("imported an invalid indicator: %v", err)
		}
		back, err := DecodeIndicator(ind.Encode())
		if err != nil {
			t.Fatalf("DecodeIndicator(Encode(imported)) = %v", err)
		}
		if !bytes.Equal(back.Encode(), ind.Encode()) {
			t.Fatal("encoding of an imported indicator is not stable")
		}
	}
	for _, s := range res.Sightings {
		if _, err := DecodeSighting(s.Encode()); err != nil {
			t.Fatalf("DecodeSighting(Encode(imported)) = %v", err)
		}
	}
}

func indicatorIDs(inds []Indicator) []string {
	var out []string
	for _, i := range inds {
		out = append(out, i.ID)
	}
	slices.Sort(out)
	return out
}

// FuzzImportSTIX: importing never panics, imports only valid indicators,
// and what it imports is exported and imported again with the same
// indicator ids.
func FuzzImportSTIX(f *testing.F) {
	addSeeds(f, "testdata/bundle.json", filepath.Join(dataDir, "stix", "*.json"), filepath.Join(dataDir, "taxii", "*.json"))
	f.Add([]byte(`[{"type":"indicator","id":"indicator--5f0c2a8e-0000-4000-8000-000000000001","pattern":"[url:value = 'a']","valid_from":"2024-01-01T00:00:00Z"}]`))
	f.Add([]byte(`{"objects":[{"type":"sighting","id":"sighting--5f0c2a8e-0000-4000-8000-000000000001","sighting_of_ref":"x"}],"more":false}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ImportSTIX(bytes.NewReader(data), ImportOptions{})
		if err != nil {
			return
		}
		checkImported(t, res)
		var out bytes.Buffer
		if err := ExportSTIX(&out, res.Objects, STIXOptions{}); err != nil {
			t.Fatalf("ExportSTIX(imported) = %v", err)
		}
		again, err := ImportSTIX(bytes.NewReader(out.Bytes()), ImportOptions{})
		if err != nil {
			t.Fatalf("re-import = %v\n%s", err, out.Bytes())
		}
		if a, b := indicatorIDs(res.Indicators), indicatorIDs(again.Indicators); !slices.Equal(a, b) {
			t.Fatalf("indicators %v, after export and import %v", a, b)
		}
		out.Reset()
		if err := ExportSTIX(&out, res.Objects, STIXOptions{Minimal: true}); err != nil {
			t.Fatalf("ExportSTIX(minimal) = %v", err)
		}
	})
}

// FuzzImportMISP: the same for MISP documents, exported as one event.
func FuzzImportMISP(f *testing.F) {
	addSeeds(f, "testdata/misp_event.json", "testdata/feed/*-*.json", filepath.Join(dataDir, "misp", "events", "*.json"),
		filepath.Join(casesDir, "C1[13]-misp-*.json"))
	f.Add([]byte(`{"uuid":"5f0c2a8e-0000-4000-8000-00000000e001","info":"x","Attribute":[{"uuid":"5f0c2a8e-0000-4000-8000-00000000a001","type":"url","value":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ImportMISP(bytes.NewReader(data), ImportOptions{})
		if err != nil {
			return
		}
		checkImported(t, res)
		if len(res.Events) != 1 {
			return
		}
		var out bytes.Buffer
		if err := ExportMISPEvent(&out, res.Objects, MISPOptions{}); err != nil {
			t.Fatalf("ExportMISPEvent(imported) = %v", err)
		}
		again, err := ImportMISP(bytes.NewReader(out.Bytes()), ImportOptions{})
		if err != nil {
			t.Fatalf("re-import = %v\n%s", err, out.Bytes())
		}
		if a, b := indicatorIDs(res.Indicators), indicatorIDs(again.Indicators); !slices.Equal(a, b) {
			t.Fatalf("indicators %v, after export and import %v", a, b)
		}
		out.Reset()
		if err := ExportSTIX(&out, res.Objects, STIXOptions{}); err != nil {
			t.Fatalf("ExportSTIX(MISP) = %v", err)
		}
		if _, err := ImportSTIX(bytes.NewReader(out.Bytes()), ImportOptions{}); err != nil {
			t.Fatalf("STIX from MISP does not import: %v", err)
		}
	})
}

// FuzzMISPManifest: parsing never panics and yields UUID keys only.
func FuzzMISPManifest(f *testing.F) {
	addSeeds(f, "testdata/feed/manifest.json", filepath.Join(dataDir, "misp", "feed", "manifest.json"))
	f.Add([]byte(`{"7b1e0c4a-2222-4c2d-8e3f-000000000f01": {"timestamp": "1", "Tag": [{"name": "tlp:red"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseMISPManifest(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !isUUID(e.UUID) {
				t.Fatalf("manifest entry %q is not a UUID", e.UUID)
			}
		}
	})
}

// FuzzParsePattern: parsing never panics; the canonical text parses to
// the same pattern; evaluated values quote and parse back unchanged.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"[ipv4-addr:value = '10.0.0.0']",
		"[file:hashes.'SHA-256' = 'ab' OR file:name = 'we\\'ird\\\\']",
		"([domain-name:value = 'a'] OR [url:value = 'b']) FOLLOWEDBY [x:y[*].z != 5] WITHIN 10 SECONDS",
		"[a:b IN (1, 2.5, 'c', true, t'2020-01-01T00:00:00Z', h'ff', b'AA==')] REPEATS 2 TIMES",
		"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.1']",
		"[EXISTS a:b] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		text := p.String()
		again, err := ParsePattern(text)
		if err != nil || again.String() != text {
			t.Fatalf("ParsePattern(%q).String() = %q does not parse back: %v", s, text, err)
		}
		obs, err := p.Observables()
		if err != nil || len(obs) == 0 {
			return
		}
		for _, o := range obs {
			if !utf8.ValidString(o.Value) {
				t.Fatalf("observable %q is not UTF-8", o.Value)
			}
		}
		out, err := FormatPattern(obs...)
		if err != nil {
			t.Fatalf("FormatPattern(%v) = %v", obs, err)
		}
		p2, err := ParsePattern(out)
		if err != nil {
			t.Fatalf("ParsePattern(FormatPattern(%v)) = %v", obs, err)
		}
		obs2, err := p2.Observables()
		if err != nil || len(obs2) != len(obs) {
			t.Fatalf("observables %v, after formatting %v (%v)", obs, obs2, err)
		}
		for i := range obs {
			if obs[i].Value != obs2[i].Value || (obs[i].Type != obs2[i].Type && !obs[i].Type.IsAddress()) {
				t.Fatalf("observable %v became %v", obs[i], obs2[i])
			}
		}
	})
}

// FuzzDecodeIndicator: decoding never panics; what decodes encodes to a
// fixed point.
func FuzzDecodeIndicator(f *testing.F) {
	f.Add(fullIndicator(f).Encode())
	f.Add(newTestIndicator(f, TypeIPv4, "192.0.2.1").Encode())
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ind, err := DecodeIndicator(data)
		if err != nil {
			return
		}
		enc := ind.Encode()
		back, err := DecodeIndicator(enc)
		if err != nil {
			t.Fatalf("DecodeIndicator(Encode(decoded)) = %v\n%s", err, enc)
		}
		if !bytes.Equal(back.Encode(), enc) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", enc, back.Encode())
		}
	})
}

// FuzzDecodeSighting: the same for sightings.
func FuzzDecodeSighting(f *testing.F) {
	f.Add(NewSighting("indicator--3b9e5db5-b853-5ea3-883b-af8d1104bfec", orgB, SightingExpiration, t0, t0, 1).Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSighting(data)
		if err != nil {
			return
		}
		enc := s.Encode()
		back, err := DecodeSighting(enc)
		if err != nil || !bytes.Equal(back.Encode(), enc) {
			t.Fatalf("sighting encoding is not a fixed point: %v\n%s", err, enc)
		}
	})
}

// FuzzCanonicalize: canonical values are fixed points, and new indicators
// of them are valid.
func FuzzCanonicalize(f *testing.F) {
	for i, in := range canonInputs {
		f.Add(uint8(i%len(Types)), in.v)
	}
	f.Fuzz(func(t *testing.T, ti uint8, v string) {
		typ := Types[int(ti)%len(Types)]
		ct, cv, err := Canonicalize(typ, v)
		if err != nil {
			return
		}
		ct2, cv2, err := Canonicalize(ct, cv)
		if err != nil || ct2 != ct || cv2 != cv {
			t.Fatalf("Canonicalize(%s, %q) = %s %q; again %s %q %v", typ, v, ct, cv, ct2, cv2, err)
		}
		ind, err := NewIndicator(typ, v)
		if err != nil {
			t.Fatalf("NewIndicator(%s, %q) = %v", typ, v, err)
		}
		ind.Policy.TLP = 1
		if err := ind.Validate(); err != nil {
			t.Fatalf("new indicator invalid: %v", err)
		}
	})
}
