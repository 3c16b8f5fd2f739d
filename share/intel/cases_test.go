package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// stixIndicators decodes the indicator objects of an exported bundle.
func stixIndicators(t testing.TB, doc []byte) map[string]map[string]any {
	t.Helper()
	var b struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(doc, &b); err != nil {
		t.Fatalf("decoding bundle: %v", err)
	}
	out := map[string]map[string]any{}
	for _, o := range b.Objects {
		if o["type"] == "indicator" {
			out[o["id"].(string)] = o
		}
	}
	return out
}

// TestCaseC11 checks case C11: apostrophes and backslashes in values. The
// MISP event exported to STIX gives exactly the expected patterns, and
// each expected pattern imported from STIX and exported to MISP gives back
// the MISP value byte for byte; the MISP event itself round-trips.
func TestCaseC11(t *testing.T) {
	event, err := os.ReadFile(filepath.Join(casesDir, "C11-misp-event-quotes.json"))
	if err != nil {
		t.Skipf("case C11 not available: %v", err)
	}
	var want struct {
		Patterns []struct {
			MISPValue   string `json:"misp_value"`
			STIXPattern string `json:"stix_pattern"`
		} `json:"patterns"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(casesDir, "C11-expected.json")), &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Patterns) == 0 {
		t.Fatal("C11-expected.json has no patterns")
	}
	res, err := ImportMISP(bytes.NewReader(event), ImportOptions{})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("ImportMISP = %v, problems %v", err, res.Problems)
	}
	objs := throughStorage(t, res.Objects)

	// MISP -> STIX: the patterns.
	var stix bytes.Buffer
	if err := ExportSTIX(&stix, objs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, o := range stixIndicators(t, stix.Bytes()) {
		patterns = append(patterns, o["pattern"].(string))
	}
	for _, p := range want.Patterns {
		found := false
		for _, got := range patterns {
			found = found || got == p.STIXPattern
		}
		if !found {
			t.Errorf("MISP value %q: no exported pattern %s (got %q)", p.MISPValue, p.STIXPattern, patterns)
		}
		if got := QuoteString(p.MISPValue); "["+strings.SplitN(p.STIXPattern, " = ", 2)[0][1:]+" = "+got+"]" != p.STIXPattern {
			t.Errorf("QuoteString(%q) = %s, not the literal of %s", p.MISPValue, got, p.STIXPattern)
		}
	}

	// STIX -> MISP: each expected pattern alone.
	for i, p := range want.Patterns {
		bundle := `{"type":"bundle","id":"bundle--5f0c2a8e-0000-4000-8000-00000000b011","objects":[{"type":"indicator","spec_version":"2.1",` +
			`"id":"indicator--5f0c2a8e-0000-4000-8000-00000000110` + string(rune('0'+i)) + `","created":"2023-11-14T22:13:20.000Z",` +
			`"modified":"2023-11-14T22:13:20.000Z","pattern":` + string(marshal(p.STIXPattern)) + `,"pattern_type":"stix",` +
			`"valid_from":"2023-11-14T22:13:20.000Z","object_marking_refs":["` + MarkingTLP2Clear + `"]}]}`
		sres, err := ImportSTIX(strings.NewReader(bundle), ImportOptions{})
		if err != nil || len(sres.Problems) > 0 || len(sres.Indicators) != 1 {
			t.Fatalf("ImportSTIX(%s) = %v, problems %v, %d indicators", p.STIXPattern, err, sres.Problems, len(sres.Indicators))
		}
		var misp bytes.Buffer
		if err := ExportMISPEvent(&misp, throughStorage(t, sres.Objects), MISPOptions{}); err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Event struct {
				Attribute []struct {
					Value string `json:"value"`
				}
			}
		}
		if err := json.Unmarshal(misp.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if len(ev.Event.Attribute) != 1 || ev.Event.Attribute[0].Value != p.MISPValue {
			t.Errorf("STIX %s -> MISP attributes %+v, want value %q", p.STIXPattern, ev.Event.Attribute, p.MISPValue)
		}
	}

	// MISP -> flowfed -> MISP.
	var misp bytes.Buffer
	if err := ExportMISPEvent(&misp, objs, MISPOptions{}); err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, "C11 event", event, misp.Bytes())

	// MISP -> STIX -> MISP, through the model only.
	back, err := ImportSTIX(bytes.NewReader(stix.Bytes()), ImportOptions{})
	if err != nil || len(back.Problems) > 0 {
		t.Fatalf("re-import = %v, %v", err, back.Problems)
	}
	values := map[string]bool{}
	for _, ind := range back.Indicators {
		values[ind.Text()] = true
	}
	for _, p := range want.Patterns {
		if !values[p.MISPValue] {
			t.Errorf("MISP -> STIX -> flowfed lost value %q (have %v)", p.MISPValue, values)
		}
	}
}

// TestPatternEscapingProperty checks the kind of fault of C11 on every
// combination of quotes and backslashes: quoting then parsing gives the
// value back, and the quoted form has no unescaped quote.
func TestPatternEscapingProperty(t *testing.T) {
	alphabet := []string{`'`, `\`, `a`, `"`, ` `, `]`, `\'`, `''`, `\\`}
	var values []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		values = append(values, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("x", 3)
	for _, v := range values {
		pat, err := FormatPattern(Observable{Type: TypeFilename, Value: v})
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePattern(pat)
		if err != nil {
			t.Fatalf("ParsePattern(FormatPattern(%q)) = %v (pattern %s)", v, err, pat)
		}
		obs, err := p.Observables()
		if err != nil || len(obs) != 1 || obs[0].Value != v {
			t.Fatalf("Observables(%s) = %v, %v; want %q", pat, obs, err, v)
		}
	}
}

// TestCaseC13 checks case C13: MISP times that give no valid STIX order.
// The inverted object times are reported with the attribute UUID, the STIX
// export never writes a valid_until that is not after valid_from, and the
// MISP event round-trips unchanged.
func TestCaseC13(t *testing.T) {
	event, err := os.ReadFile(filepath.Join(casesDir, "C13-misp-event-time-order.json"))
	if err != nil {
		t.Skipf("case C13 not available: %v", err)
	}
	res, err := ImportMISP(bytes.NewReader(event), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators) != 3 {
		t.Fatalf("imported %d indicators, want 3", len(res.Indicators))
	}
	reported := map[string]bool{}
	for _, p := range res.Problems {
		if !errors.Is(p, ErrTimeOrder) {
			t.Errorf("unexpected problem %v", p)
		}
		reported[p.ObjectID] = true
	}
	if !reported["5f0c2a8e-0000-4000-8000-000000001311"] || len(reported) != 1 {
		t.Errorf("problems %v, want one ErrTimeOrder for attribute 5f0c2a8e-0000-4000-8000-000000001311", res.Problems)
	}
	objs := throughStorage(t, res.Objects)
	var stix bytes.Buffer
	if err := ExportSTIX(&stix, objs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	inds := stixIndicators(t, stix.Bytes())
	if len(inds) != 3 {
		t.Fatalf("exported %d indicators, want 3", len(inds))
	}
	for id, o := range inds {
		checkValidOrder(t, id, o)
		if _, ok := o["valid_until"]; ok {
			t.Errorf("%s: valid_until %v written for a case without a valid order", id, o["valid_until"])
		}
	}
	var misp bytes.Buffer
	if err := ExportMISPEvent(&misp, objs, MISPOptions{}); err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, "C13 event", event, misp.Bytes())
}

func checkValidOrder(t testing.TB, id string, o map[string]any) {
	t.Helper()
	from, err := parseSTIXTime(o["valid_from"].(string))
	if err != nil {
		t.Fatalf("%s: valid_from: %v", id, err)
	}
	if u, ok := o["valid_until"]; ok {
		until, err := parseSTIXTime(u.(string))
		if err != nil {
			t.Fatalf("%s: valid_until: %v", id, err)
		}
		if !until.After(from) {
			t.Errorf("%s: valid_until %s is not after valid_from %s", id, until, from)
		}
	}
}

// TestTimeOrderProperty checks the kind of fault of C13 over every order
// of timestamp, first_seen and last_seen on attributes and objects, and of
// valid_from and valid_until in STIX: the import reports inverted pairs,
// and no export writes a bad order.
func TestTimeOrderProperty(t *testing.T) {
	base := time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC)
	opts := []int{-1, 0, 1, 2} // -1: absent; else days after base
	ts := func(d int) string {
		if d < 0 {
			return "null"
		}
		return `"` + mispTimeText(base.Add(time.Duration(d)*24*time.Hour)) + `"`
	}
	n := 0
	for _, stamp := range []int{0, 1, 2} {
		for _, first := range opts {
			for _, last := range opts {
				for _, inObject := range []bool{false, true} {
					attr := `{"uuid":"5f0c2a8e-0000-4000-8000-00000000a001","type":"ip-dst","value":"198.51.100.7","to_ids":true,` +
						`"timestamp":"` + unixText(base.Add(time.Duration(stamp)*24*time.Hour)) + `"`
					seen := `,"first_seen":` + ts(first) + `,"last_seen":` + ts(last)
					var ev string
					if inObject {
						ev = `{"Event":{"uuid":"5f0c2a8e-0000-4000-8000-00000000e001","info":"t","timestamp":"1700000000","Tag":[{"name":"tlp:green"}],` +
							`"Object":[{"uuid":"5f0c2a8e-0000-4000-8000-00000000b001","name":"ip"` + seen + `,"Attribute":[` + attr + `}]}]}}`
					} else {
						ev = `{"Event":{"uuid":"5f0c2a8e-0000-4000-8000-00000000e001","info":"t","timestamp":"1700000000","Tag":[{"name":"tlp:green"}],` +
							`"Attribute":[` + attr + seen + `}]}}`
					}
					res, err := ImportMISP(strings.NewReader(ev), ImportOptions{})
					if err != nil || len(res.Indicators) != 1 {
						t.Fatalf("ImportMISP(%s) = %v, %d indicators, %v", ev, err, len(res.Indicators), res.Problems)
					}
					inverted := first >= 0 && last >= 0 && last < first
					if got := len(res.Problems) > 0; got != inverted {
						t.Errorf("first %d last %d: problems %v, want reported=%v", first, last, res.Problems, inverted)
					}
					var out bytes.Buffer
					if err := ExportSTIX(&out, throughStorage(t, res.Objects), STIXOptions{}); err != nil {
						t.Fatal(err)
					}
					for id, o := range stixIndicators(t, out.Bytes()) {
						checkValidOrder(t, id, o)
					}
					n++
				}
			}
		}
	}
	// STIX input with every valid_from / valid_until order.
	for _, from := range []int{0, 1, 2} {
		for _, until := range opts {
			obj := `{"type":"indicator","spec_version":"2.1","id":"indicator--5f0c2a8e-0000-4000-8000-00000000a002",` +
				`"created":"2023-11-14T00:00:00.000Z","modified":"2023-11-14T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.8']",` +
				`"pattern_type":"stix","valid_from":"` + stixTime(base.Add(time.Duration(from)*24*time.Hour)) + `"`
			if until >= 0 {
				obj += `,"valid_until":"` + stixTime(base.Add(time.Duration(until)*24*time.Hour)) + `"`
			}
			obj += `}`
			res, err := ImportSTIX(strings.NewReader(`{"type":"bundle","id":"bundle--5f0c2a8e-0000-4000-8000-00000000a003","objects":[`+obj+`]}`), ImportOptions{})
			if err != nil || len(res.Indicators) != 1 {
				t.Fatalf("ImportSTIX = %v, %v", err, res.Problems)
			}
			if got, want := len(res.Problems) > 0, until >= 0 && until <= from; got != want {
				t.Errorf("valid_from %d valid_until %d: problems %v, want reported=%v", from, until, res.Problems, want)
			}
			for _, minimal := range []bool{false, true} {
				var out bytes.Buffer
				if err := ExportSTIX(&out, throughStorage(t, res.Objects), STIXOptions{Minimal: minimal}); err != nil {
					t.Fatal(err)
				}
				for id, o := range stixIndicators(t, out.Bytes()) {
					checkValidOrder(t, id, o)
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}

// TestImportTLPNarrows: a TLP given to the import narrows the source's
// markings and never widens them; unmarked objects stay RED.
func TestImportTLPNarrows(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	tlps := func(base usage.TLP) map[usage.TLP]int {
		res, err := ImportSTIX(bytes.NewReader(data), ImportOptions{Policy: usage.Policy{TLP: base}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[usage.TLP]int{}
		for _, ind := range res.Indicators {
			out[ind.Policy.TLP]++
		}
		return out
	}
	source := tlps(0)
	if len(source) < 2 {
		t.Fatalf("the fixture should mix TLPs: %v", source)
	}
	n := 0
	for _, c := range source {
		n += c
	}
	if got := tlps(usage.Red); got[usage.Red] != n {
		t.Errorf("--tlp RED gives %v, want all %d RED", got, n)
	}
	// GREEN narrows CLEAR to GREEN and leaves the stricter ones.
	got := tlps(usage.Green)
	if got[usage.Clear] != 0 || got[usage.Green] != source[usage.Clear]+source[usage.Green] || got[usage.Red] != source[usage.Red] {
		t.Errorf("--tlp GREEN gives %v from %v", got, source)
	}
}
