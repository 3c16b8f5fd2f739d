package intel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Shared sample data and failure cases (tests skip when they are absent).
const (
	dataDir  = "../../../shared/data/intel"
	casesDir = "../../../shared/cases"
)

// decodeAny decodes JSON keeping numbers as written.
func decodeAny(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding JSON: %v\n%s", err, data)
	}
	return v
}

// jsonDiff lists the paths where two decoded JSON values differ, member by
// member and element by element.
func jsonDiff(a, b any, path string) []string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: object vs %T", path, b)}
		}
		var out []string
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			va, oka := x[k]
			vb, okb := y[k]
			switch {
			case !oka:
				out = append(out, fmt.Sprintf("%s.%s: added %v", path, k, short(vb)))
			case !okb:
				out = append(out, fmt.Sprintf("%s.%s: lost %v", path, k, short(va)))
			default:
				out = append(out, jsonDiff(va, vb, path+"."+k)...)
			}
		}
		return out
	case []any:
		y, ok := b.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: array vs %T", path, b)}
		}
		if len(x) != len(y) {
			return []string{fmt.Sprintf("%s: %d elements, got %d", path, len(x), len(y))}
		}
		var out []string
		for i := range x {
			out = append(out, jsonDiff(x[i], y[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		return []string{fmt.Sprintf("%s: %v, got %v", path, short(a), short(b))}
	}
	return nil
}

func short(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// assertSameJSON fails when two documents differ in any member.
func assertSameJSON(t testing.TB, name string, want, got []byte) {
	t.Helper()
	if d := jsonDiff(decodeAny(t, want), decodeAny(t, got), "$"); len(d) > 0 {
		if len(d) > 20 {
			d = append(d[:20], "...")
		}
		t.Errorf("%s: round trip differs:\n  %s", name, strings.Join(d, "\n  "))
	}
}

// throughStorage stores every indicator and sighting as a node would
// (Apply as the first version, then the flowfed encoding and back) and
// returns the objects read back.
func throughStorage(t testing.TB, objs Objects) Objects {
	t.Helper()
	out := objs
	out.Indicators = nil
	for _, ind := range objs.Indicators {
		by := ind.Origin
		if by == "" {
			by = "identity--00000000-0000-4000-8000-00000000f10f"
		}
		stored, err := Apply(nil, ind, by)
		if err != nil {
			t.Fatalf("Apply(nil, %s) = %v", ind.ID, err)
		}
		enc := stored.Encode()
		back, err := DecodeIndicator(enc)
		if err != nil {
			t.Fatalf("DecodeIndicator(Encode(%s)) = %v\n%s", ind.ID, err, enc)
		}
		if again := back.Encode(); !bytes.Equal(again, enc) {
			t.Fatalf("Encode(DecodeIndicator(Encode(%s))) differs:\n%s\n%s", ind.ID, enc, again)
		}
		out.Indicators = append(out.Indicators, back)
	}
	out.Sightings = nil
	for _, s := range objs.Sightings {
		enc := s.Encode()
		back, err := DecodeSighting(enc)
		if err != nil {
			t.Fatalf("DecodeSighting(Encode(%s)) = %v\n%s", s.ID, err, enc)
		}
		if again := back.Encode(); !bytes.Equal(again, enc) {
			t.Fatalf("Encode(DecodeSighting(Encode(%s))) differs", s.ID)
		}
		out.Sightings = append(out.Sightings, back)
	}
	return out
}

// sampleFiles lists the JSON files of a folder of the shared data, or
// skips.
func sampleFiles(t *testing.T, sub string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, sub, "*.json"))
	if len(files) == 0 {
		t.Skipf("sample data %s not available", filepath.Join(dataDir, sub))
	}
	slices.Sort(files)
	return files
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
