package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

func fullIndicator(t testing.TB) Indicator {
	t.Helper()
	ind := newTestIndicator(t, TypeURL, "HTTP://Example.org/<a>&b")
	ind.Name, ind.Description = "n", "d\n<é>"
	ind.Labels = []string{"tlp:amber", "x"}
	ind.Confidence = 70
	ind.ValidUntil = t0.Add(24 * time.Hour)
	ind.FirstSeen, ind.LastSeen = t0.Add(-time.Hour), t0.Add(time.Nanosecond)
	ind.Origin, ind.OriginName = orgA, "Org A"
	ind.Policy = usage.Policy{TLP: usage.Amber, PAP: usage.PAPGreen, Purposes: []string{"detection"}, RetentionDays: 10,
		RetainUntil: t0.Add(240 * time.Hour), Reshare: usage.ReshareGroup, LegalBasis: "legitimate-interest"}
	ind.SharingGroup = "id:7"
	ind.Informational, ind.Version = true, 3
	ind.Sources = []Source{{Format: FormatSTIX, ID: "indicator--5f0c2a8e-0000-4000-8000-000000000001", Event: "bundle--x",
		Org: orgA, Modified: t0, Version: 2, Raw: json.RawMessage(`{ "type" : "indicator", "x": "<&>" }`)}}
	return ind
}

func TestEncodeIndicator(t *testing.T) {
	ind := fullIndicator(t)
	enc := ind.Encode()
	back, err := DecodeIndicator(enc)
	if err != nil {
		t.Fatalf("DecodeIndicator = %v\n%s", err, enc)
	}
	want := ind
	want.Sources[0].Raw = json.RawMessage(`{"type":"indicator","x":"<&>"}`)
	if !reflect.DeepEqual(back, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", back, want)
	}
	if !bytes.Equal(back.Encode(), enc) {
		t.Error("encoding is not stable")
	}
	if !strings.HasPrefix(string(enc), `{"v":1,"id":"indicator--`) || strings.Contains(string(enc), `\u003c`) {
		t.Errorf("encoding: %s", enc)
	}
	// MarshalJSON is the same encoding, inside other JSON too.
	wrapped, err := json.Marshal(struct{ I Indicator }{ind})
	if err != nil || !bytes.Contains(wrapped, enc[1:20]) {
		t.Errorf("json.Marshal = %s, %v", wrapped, err)
	}
	var un struct{ I Indicator }
	if err := json.Unmarshal(wrapped, &un); err != nil || un.I.ID != ind.ID {
		t.Errorf("json.Unmarshal = %v", err)
	}

	for name, mut := range map[string]func(string) string{
		"unknown member": func(s string) string { return strings.Replace(s, `{"v":1,`, `{"v":1,"extra":1,`, 1) },
		"version":        func(s string) string { return strings.Replace(s, `{"v":1,`, `{"v":2,`, 1) },
		"canon version":  func(s string) string { return strings.Replace(s, `"canon":1`, `"canon":0`, 1) },
		"trailing":       func(s string) string { return s + "{}" },
		"bad time": func(s string) string {
			return strings.Replace(s, `"created":"2024-03-01T00:00:00Z"`, `"created":"yesterday"`, 1)
		},
		"bad id": func(s string) string { return strings.Replace(s, `"id":"indicator--`, `"id":"indicator--0`, 1) },
		"noncanonical": func(s string) string {
			return strings.Replace(s, `"value":"http://example.org/`, `"value":"HTTP://example.org/`, 1)
		},
		"raw not object": func(s string) string {
			return strings.Replace(s, `"raw":{"type":"indicator","x":"<&>"}`, `"raw":[1]`, 1)
		},
		"source format": func(s string) string { return strings.Replace(s, `"format":"stix"`, `"format":"csv"`, 1) },
		"unknown TLP":   func(s string) string { return strings.Replace(s, `"tlp":"AMBER"`, `"tlp":"UNCLEAR"`, 1) },
		"year": func(s string) string {
			return strings.Replace(s, `"created":"2024-03-01T00:00:00Z"`, `"created":"0000-01-01T00:00:00+01:00"`, 1)
		},
	} {
		in := mut(string(enc))
		if in == string(enc) {
			t.Fatalf("%s: mutation did not apply", name)
		}
		if _, err := DecodeIndicator([]byte(in)); err == nil {
			t.Errorf("%s: DecodeIndicator accepted %s", name, in)
		}
	}
	if _, err := DecodeIndicator(make([]byte, MaxEncodedLen+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized input = %v", err)
	}
}

func TestEncodeSighting(t *testing.T) {
	s := NewSighting("indicator--3b9e5db5-b853-5ea3-883b-af8d1104bfec", orgB, SightingFalsePositive, t0, t0.Add(time.Hour), 2)
	s.ObserverName, s.ObservedData = "Org B", []string{"observed-data--5f0c2a8e-0000-4000-8000-000000000001"}
	s.Sources = []Source{{Format: FormatMISP, ID: "5f0c2a8e-0000-4000-8000-000000000002", Raw: json.RawMessage(`{"uuid":"x"}`)}}
	enc := s.Encode()
	back, err := DecodeSighting(enc)
	if err != nil {
		t.Fatalf("DecodeSighting = %v\n%s", err, enc)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("decoded\n%+v\nwant\n%+v", back, s)
	}
	if !bytes.Contains(enc, []byte(`"kind":"false-positive"`)) {
		t.Errorf("encoding: %s", enc)
	}
	for _, in := range []string{
		strings.Replace(string(enc), `"kind":"false-positive"`, `"kind":"maybe"`, 1),
		strings.Replace(string(enc), `"count":2`, `"count":-2`, 1),
		strings.Replace(string(enc), `"id":"sighting--`, `"id":"bogus--`, 1),
		`{"v":1}`, `[]`, ``,
	} {
		if _, err := DecodeSighting([]byte(in)); err == nil {
			t.Errorf("DecodeSighting accepted %s", in)
		}
	}
}
