package intel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

func importFixture(t testing.TB, name string) Objects {
	t.Helper()
	data := readFile(t, filepath.Join("testdata", name))
	var res ImportResult
	var err error
	if strings.HasPrefix(name, "misp") {
		res, err = ImportMISP(bytes.NewReader(data), ImportOptions{})
	} else {
		res, err = ImportSTIX(bytes.NewReader(data), ImportOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return throughStorage(t, res.Objects)
}

func findIndicator(t testing.TB, objs Objects, typ Type, value string) int {
	t.Helper()
	for i, ind := range objs.Indicators {
		if ind.Type == typ && ind.Value == value {
			return i
		}
	}
	t.Fatalf("no indicator %s %s", typ, value)
	return -1
}

// TestRevokeExportSTIX revokes an indicator and checks that the STIX
// export differs from the source only in the new version's modified and
// revoked members, everything unmodelled kept.
func TestRevokeExportSTIX(t *testing.T) {
	objs := importFixture(t, "bundle.json")
	i := findIndicator(t, objs, TypeIPv6, "2001:db8::53")
	at := mustTime(t, "2024-04-01T00:00:00Z")
	if _, err := Revoke(objs.Indicators[i], "identity--00000000-0000-4000-8000-000000000bad", at, "x"); !errorsIs(err, ErrNotOriginator) {
		t.Fatalf("Revoke by another organisation = %v, want ErrNotOriginator", err)
	}
	rev, err := Revoke(objs.Indicators[i], exampleCERT, at, "")
	if err != nil {
		t.Fatal(err)
	}
	objs.Indicators[i] = rev
	var out bytes.Buffer
	if err := ExportSTIX(&out, objs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	want := decodeAny(t, removeObject(t, readFile(t, "testdata/bundle.json"), "not-a-stix-type--9a8b7c6d-0004-4e5f-8a9b-0c1d2e3f4a04"))
	got := decodeAny(t, out.Bytes())
	d := jsonDiff(want, got, "$")
	slices.Sort(d)
	wantDiff := []string{
		`$.objects[2].modified: "2024-03-02T09:00:00.123456Z", got "2024-04-01T00:00:00.000Z"`,
		`$.objects[2].revoked: added true`,
	}
	if !slices.Equal(d, wantDiff) {
		t.Errorf("diff after revocation:\n  %s\nwant\n  %s", strings.Join(d, "\n  "), strings.Join(wantDiff, "\n  "))
	}
	// Back in: the tombstone is read as revoked, at the new version.
	back, err := ImportSTIX(bytes.NewReader(out.Bytes()), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b := back.Indicators[findIndicator(t, back.Objects, TypeIPv6, "2001:db8::53")]; !b.Revoked || !b.Modified.Equal(at) {
		t.Errorf("re-imported tombstone: revoked %v modified %v", b.Revoked, b.Modified)
	}
}

func errorsIs(err, target error) bool {
	return err != nil && strings.Contains(err.Error(), target.Error())
}

// TestChangeExportSTIXTLP raises an indicator's TLP: only its TLP marking
// reference is replaced, and the TLP 2.0 definition is added.
func TestChangeExportSTIXTLP(t *testing.T) {
	objs := importFixture(t, "bundle.json")
	i := findIndicator(t, objs, TypeCIDR, "198.51.100.0/24")
	up := objs.Indicators[i]
	up.Policy.TLP = usage.Red
	up.Modified = mustTime(t, "2024-04-01T00:00:00Z")
	next, err := Apply(&objs.Indicators[i], up, objs.Indicators[i].Origin)
	if err != nil {
		t.Fatal(err)
	}
	objs.Indicators[i] = next
	var out bytes.Buffer
	if err := ExportSTIX(&out, objs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	src := stixDocObjects(decodeAny(t, removeObject(t, readFile(t, "testdata/bundle.json"), "not-a-stix-type--9a8b7c6d-0004-4e5f-8a9b-0c1d2e3f4a04")))
	got := stixDocObjects(decodeAny(t, out.Bytes()))
	if len(got) != len(src)+1 {
		t.Fatalf("%d objects, want %d and the TLP:RED definition", len(got), len(src)+1)
	}
	for i, w := range src {
		d := jsonDiff(w, got[i], fmt.Sprintf("objects[%d]", i))
		if w["id"] != "indicator--1a2b3c4d-0003-4a5b-8c6d-7e8f9a0b1c03" {
			if len(d) > 0 {
				t.Errorf("unchanged object differs: %v", d)
			}
			continue
		}
		slices.Sort(d)
		want := []string{
			`objects[4].modified: "2024-03-01T09:00:00.000Z", got "2024-04-01T00:00:00.000Z"`,
			`objects[4].object_marking_refs[0]: "` + MarkingTLP1Green + `", got "` + MarkingTLP2Red + `"`,
		}
		if !slices.Equal(d, want) {
			t.Errorf("changed object:\n  %s\nwant\n  %s", strings.Join(d, "\n  "), strings.Join(want, "\n  "))
		}
	}
	if last := got[len(got)-1]; last["id"] != MarkingTLP2Red {
		t.Errorf("added object %v, want the TLP:RED definition", last["id"])
	}
}

// TestRevokeExportMISP revokes an attribute's indicator: the attribute is
// marked deleted with the new timestamp, the event timestamp follows, and
// nothing else changes.
func TestRevokeExportMISP(t *testing.T) {
	objs := importFixture(t, "misp_event.json")
	i := findIndicator(t, objs, TypeSHA256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c")
	at := time.Unix(1710000000, 0).UTC()
	rev, err := Revoke(objs.Indicators[i], exampleCERT, at, "")
	if err != nil {
		t.Fatal(err)
	}
	objs.Indicators[i] = rev
	var out bytes.Buffer
	if err := ExportMISPEvent(&out, objs, MISPOptions{}); err != nil {
		t.Fatal(err)
	}
	d := jsonDiff(decodeAny(t, readFile(t, "testdata/misp_event.json")), decodeAny(t, out.Bytes()), "$")
	slices.Sort(d)
	want := []string{
		`$.Event.Attribute[4].deleted: added true`,
		`$.Event.Attribute[4].timestamp: "1709290804", got "1710000000"`,
		`$.Event.timestamp: "1709290800", got "1710000000"`,
	}
	if !slices.Equal(d, want) {
		t.Errorf("diff after revocation:\n  %s\nwant\n  %s", strings.Join(d, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestFilteredExport leaves indicators out, as a policy filter does: their
// attributes and objects are not written, the rest is.
func TestFilteredExport(t *testing.T) {
	objs := importFixture(t, "misp_event.json")
	drop := map[Type]bool{TypeSHA256: true, TypeJA4: true}
	objs.Indicators = slices.DeleteFunc(objs.Indicators, func(i Indicator) bool { return drop[i.Type] })
	var out bytes.Buffer
	if err := ExportMISPEvent(&out, objs, MISPOptions{}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, gone := range []string{"EF537F25", "3c4d5e6f-3333-4c2d-8e3f-000000005001", "t13d1516h2"} {
		if strings.Contains(s, gone) {
			t.Errorf("filtered value %s is in the export", gone)
		}
	}
	for _, kept := range []string{"7b1e0c4a-1111-4c2d-8e3f-00000000a008", "WWW.Example.ORG.", "ja4-type", "kept verbatim"} {
		if !strings.Contains(s, kept) {
			t.Errorf("%s is missing from the export", kept)
		}
	}
	var ev struct {
		Event struct {
			Timestamp string `json:"timestamp"`
			Object    []struct {
				Attribute []json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Event.Object) != 1 || len(ev.Event.Object[0].Attribute) != 1 {
		t.Errorf("object keeps %+v, want its one context attribute", ev.Event.Object)
	}

	sobjs := importFixture(t, "bundle.json")
	sobjs.Indicators = slices.DeleteFunc(sobjs.Indicators, func(i Indicator) bool { return i.Type == TypeCIDR })
	out.Reset()
	if err := ExportSTIX(&out, sobjs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "198.51.100.0/24") {
		t.Error("filtered STIX indicator is in the export")
	}
}

// scalar renders a decoded JSON scalar for comparison across spellings
// (MISP writes numbers as strings or numbers, booleans as "1" or true).
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "1"
		}
		return "0"
	case json.Number:
		return x.String()
	case string:
		if x == "true" {
			return "1"
		}
		if x == "false" {
			return "0"
		}
		return x
	}
	return fmt.Sprint(v)
}

func tagNamesOf(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, t := range list {
		if m, ok := t.(map[string]any); ok {
			out = append(out, scalar(m["name"]))
		}
	}
	return out
}

func mispEventOf(t testing.TB, doc []byte) map[string]any {
	t.Helper()
	m := decodeAny(t, doc).(map[string]any)
	if ev, ok := m["Event"].(map[string]any); ok {
		return ev
	}
	return m
}

// mispAttrs returns the attributes of an event, of its objects included,
// by UUID.
func mispAttrs(ev map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	add := func(list any) {
		l, _ := list.([]any)
		for _, a := range l {
			if m, ok := a.(map[string]any); ok {
				out[strings.ToLower(scalar(m["uuid"]))] = m
			}
		}
	}
	add(ev["Attribute"])
	objs, _ := ev["Object"].([]any)
	for _, o := range objs {
		if m, ok := o.(map[string]any); ok {
			add(m["Attribute"])
		}
	}
	return out
}

// checkMinimalMISP compares a minimal (model-only) MISP export with its
// source: event UUID, info, date, timestamp, creator organisation and tags;
// for every indicator attribute its UUID, value (byte for byte), type,
// timestamp, to_ids, comment and tags; and the indicator's sightings.
func checkMinimalMISP(t *testing.T, name string, src []byte, objs Objects) {
	t.Helper()
	var out bytes.Buffer
	if err := ExportMISPEvent(&out, objs, MISPOptions{Minimal: true}); err != nil {
		t.Fatal(err)
	}
	want, got := mispEventOf(t, src), mispEventOf(t, out.Bytes())
	for _, k := range []string{"uuid", "info", "date", "timestamp", "published", "distribution", "threat_level_id", "analysis"} {
		if _, ok := want[k]; ok && scalar(want[k]) != scalar(got[k]) {
			t.Errorf("%s: event %s = %q, want %q", name, k, scalar(got[k]), scalar(want[k]))
		}
	}
	wo, _ := want["Orgc"].(map[string]any)
	gorg, _ := got["Orgc"].(map[string]any)
	if wo != nil && (gorg == nil || scalar(wo["uuid"]) != scalar(gorg["uuid"]) || scalar(wo["name"]) != scalar(gorg["name"])) {
		t.Errorf("%s: Orgc %v, want %v", name, gorg, wo)
	}
	gotTags := tagNamesOf(got["Tag"])
	for _, tag := range tagNamesOf(want["Tag"]) {
		if !slices.Contains(gotTags, tag) {
			t.Errorf("%s: event tag %q lost (have %q)", name, tag, gotTags)
		}
	}
	gotAttrs := mispAttrs(got)
	indicatorAttrs := map[string]bool{}
	for _, ind := range objs.Indicators {
		for _, s := range ind.Sources {
			if s.Format == FormatMISP {
				indicatorAttrs[s.ID] = true
			}
		}
	}
	for uuid, wa := range mispAttrs(want) {
		if !indicatorAttrs[uuid] {
			continue
		}
		ga, ok := gotAttrs[uuid]
		if !ok {
			t.Errorf("%s: attribute %s lost", name, uuid)
			continue
		}
		for _, k := range []string{"value", "type", "timestamp", "to_ids", "comment", "deleted"} {
			if k == "type" && wa["object_relation"] != nil {
				continue // object attributes are written as plain attributes
			}
			if _, ok := wa[k]; ok && scalar(wa[k]) != scalar(ga[k]) {
				t.Errorf("%s: attribute %s %s = %q, want %q", name, uuid, k, scalar(ga[k]), scalar(wa[k]))
			}
		}
		for _, k := range []string{"first_seen", "last_seen"} {
			if w := scalar(wa[k]); w != "" && !sameMISPTime(w, scalar(ga[k])) {
				t.Errorf("%s: attribute %s %s = %q, want %q", name, uuid, k, scalar(ga[k]), w)
			}
		}
		if w, g := tagNamesOf(wa["Tag"]), tagNamesOf(ga["Tag"]); !slices.Equal(w, g) {
			t.Errorf("%s: attribute %s tags %q, want %q", name, uuid, g, w)
		}
		ws, _ := wa["Sighting"].([]any)
		gs, _ := ga["Sighting"].([]any)
		if len(ws) != len(gs) {
			t.Errorf("%s: attribute %s has %d sightings, want %d", name, uuid, len(gs), len(ws))
			continue
		}
		for i := range ws {
			w, g := ws[i].(map[string]any), gs[i].(map[string]any)
			for _, k := range []string{"uuid", "date_sighting", "type"} {
				if scalar(w[k]) != scalar(g[k]) {
					t.Errorf("%s: sighting %d of %s: %s = %q, want %q", name, i, uuid, k, scalar(g[k]), scalar(w[k]))
				}
			}
			if wo, ok := w["Organisation"].(map[string]any); ok {
				gorg, _ := g["Organisation"].(map[string]any)
				if gorg == nil || scalar(gorg["uuid"]) != scalar(wo["uuid"]) {
					t.Errorf("%s: sighting %d of %s: organisation %v, want %v", name, i, uuid, gorg, wo)
				}
			}
		}
	}
}

func sameMISPTime(a, b string) bool {
	x, err1 := time.Parse(time.RFC3339Nano, a)
	y, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && x.Equal(y)
}

// TestMinimalMISP checks the model-only MISP export of the fixture and of
// every MISP sample event.
func TestMinimalMISP(t *testing.T) {
	files := []string{"testdata/misp_event.json"}
	if more, _ := filepath.Glob(filepath.Join(dataDir, "misp/events/*.json")); len(more) > 0 {
		files = append(files, more...)
	}
	more, _ := filepath.Glob(filepath.Join(dataDir, "misp/feed/*-*.json"))
	files = append(files, more...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readFile(t, f)
			res, err := ImportMISP(bytes.NewReader(data), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Events) == 0 {
				t.Skip("no event")
			}
			checkMinimalMISP(t, filepath.Base(f), data, throughStorage(t, res.Objects))
		})
	}
}

// stixDocObjects returns every object of a STIX document, from all its
// object lists.
func stixDocObjects(v any) []map[string]any {
	var out []map[string]any
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, k)
			}
		case []any:
			for _, c := range x {
				if m, ok := c.(map[string]any); ok && key == "objects" && m["type"] != nil {
					out = append(out, m)
					continue
				}
				walk(c, key)
			}
		}
	}
	walk(v, "")
	return out
}

func stixTLPLevel(o map[string]any, doc map[string]usage.TLP) usage.TLP {
	var t usage.TLP
	refs, _ := o["object_marking_refs"].([]any)
	for _, r := range refs {
		if x, ok := tlpMarkings[scalar(r)]; ok {
			t = max(t, x)
		} else if x, ok := doc[scalar(r)]; ok {
			t = max(t, x)
		}
	}
	if t == 0 {
		return usage.Red
	}
	return t
}

// TestMinimalSTIX checks the model-only STIX export of the fixture and of
// every STIX sample: for the newest version of each modelled object the
// id, creator, timestamps, values, labels and TLP level are kept.
func TestMinimalSTIX(t *testing.T) {
	files := []string{"testdata/bundle.json"}
	for _, sub := range []string{"stix", "taxii"} {
		more, _ := filepath.Glob(filepath.Join(dataDir, sub, "*.json"))
		files = append(files, more...)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readFile(t, f)
			res, err := ImportSTIX(bytes.NewReader(data), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tlp1 := range []bool{false, true} {
				var out bytes.Buffer
				if err := ExportSTIX(&out, throughStorage(t, res.Objects), STIXOptions{Minimal: true, TLP1: tlp1}); err != nil {
					t.Fatal(err)
				}
				checkMinimalSTIX(t, data, out.Bytes(), res, tlp1)
			}
		})
	}
}

func checkMinimalSTIX(t *testing.T, src, out []byte, res ImportResult, tlp1 bool) {
	t.Helper()
	srcObjs := stixDocObjects(decodeAny(t, src))
	docTLP := map[string]usage.TLP{}
	for _, o := range srcObjs {
		if o["type"] == "marking-definition" {
			raw, _ := json.Marshal(o)
			if l, ok := markingTLP(raw); ok {
				docTLP[scalar(o["id"])] = l
			}
		}
	}
	latest := map[string]map[string]any{}
	for _, o := range srcObjs {
		id := scalar(o["id"])
		if cur, ok := latest[id]; !ok || scalar(o["modified"]) > scalar(cur["modified"]) {
			latest[id] = o
		}
	}
	gotObjs := map[string]map[string]any{}
	for _, o := range stixDocObjects(decodeAny(t, out)) {
		gotObjs[scalar(o["id"])] = o
	}
	modelled := map[string]bool{}
	for _, ind := range res.Indicators {
		for _, s := range ind.Sources {
			modelled[s.ID] = true
		}
	}
	for _, s := range res.Sightings {
		modelled[s.ID] = true
	}
	for _, id := range res.Identities {
		modelled[id.ID] = true
	}
	for _, d := range res.ObservedData {
		modelled[d.ID] = true
	}
	sameTime := func(a, b any) bool {
		x, err1 := parseSTIXTime(scalar(a))
		y, err2 := parseSTIXTime(scalar(b))
		return err1 == nil && err2 == nil && x.Equal(y)
	}
	for id, w := range latest {
		if !modelled[id] {
			continue
		}
		g, ok := gotObjs[id]
		if !ok {
			t.Errorf("object %s lost", id)
			continue
		}
		for _, k := range []string{"created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "first_observed", "last_observed"} {
			if _, ok := w[k]; ok && !sameTime(w[k], g[k]) {
				t.Errorf("%s: %s = %v, want %v", id, k, g[k], w[k])
			}
		}
		for _, k := range []string{"created_by_ref", "name", "description", "count", "sighting_of_ref", "identity_class", "number_observed"} {
			if _, ok := w[k]; ok && scalar(w[k]) != scalar(g[k]) {
				t.Errorf("%s: %s = %v, want %v", id, k, g[k], w[k])
			}
		}
		for _, k := range []string{"labels", "where_sighted_refs", "object_refs", "observed_data_refs"} {
			if _, ok := w[k]; ok && short(w[k]) != short(g[k]) {
				t.Errorf("%s: %s = %v, want %v", id, k, g[k], w[k])
			}
		}
		if w["type"] == "indicator" || w["type"] == "sighting" {
			a, b := stixTLPLevel(w, docTLP), stixTLPLevel(g, nil)
			if tlp1 && a == usage.AmberStrict {
				a = usage.Red // TLP 1.0 has no AMBER+STRICT and never widens
			}
			if a != b {
				t.Errorf("%s: TLP %v, want %v", id, b, a)
			}
		}
		if w["type"] == "indicator" {
			pw, err1 := ParsePattern(scalar(w["pattern"]))
			pg, err2 := ParsePattern(scalar(g["pattern"]))
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: patterns %v %v", id, err1, err2)
			}
			ow, _ := pw.Observables()
			og, _ := pg.Observables()
			if !sameObservables(ow, og) || len(ow) != len(og) {
				t.Errorf("%s: pattern %v, want %v", id, g["pattern"], w["pattern"])
			}
			for i := range ow {
				if i < len(og) && ow[i].Value != og[i].Value {
					t.Errorf("%s: value %q, want %q byte for byte", id, og[i].Value, ow[i].Value)
				}
			}
		}
	}
}

// TestCrossFormat takes the MISP fixture to STIX and back: ids, values
// (byte for byte), times and TLP survive the trip through the model.
func TestCrossFormat(t *testing.T) {
	objs := importFixture(t, "misp_event.json")
	var stix bytes.Buffer
	if err := ExportSTIX(&stix, objs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	sres, err := ImportSTIX(bytes.NewReader(stix.Bytes()), ImportOptions{})
	if err != nil || len(sres.Problems) > 0 {
		t.Fatalf("ImportSTIX = %v, %v\n%s", err, sres.Problems, stix.String())
	}
	back := map[string]Indicator{}
	for _, ind := range sres.Indicators {
		back[ind.ID] = ind
	}
	for _, ind := range objs.Indicators {
		b, ok := back[ind.ID]
		if !ok {
			t.Errorf("%s %s lost in STIX", ind.Type, ind.Value)
			continue
		}
		if b.Text() != ind.Text() || b.Policy.TLP != ind.Policy.TLP || !b.Modified.Equal(ind.Modified) ||
			b.Origin != ind.Origin || b.Revoked != ind.Revoked || b.Informational != ind.Informational || !slices.Equal(b.Labels, ind.Labels) {
			t.Errorf("%s through STIX:\n got %q %v %v %s %v %q\nwant %q %v %v %s %v %q", ind.ID,
				b.Text(), b.Policy.TLP, b.Modified, b.Origin, b.Revoked, b.Labels,
				ind.Text(), ind.Policy.TLP, ind.Modified, ind.Origin, ind.Revoked, ind.Labels)
		}
		if b.Sources[0].ID != "indicator--"+ind.Sources[0].ID {
			t.Errorf("STIX id %s, want indicator-- and the attribute UUID %s", b.Sources[0].ID, ind.Sources[0].ID)
		}
	}
	if len(sres.Sightings) != 2 {
		t.Errorf("%d sightings through STIX, want the 2 of indicators", len(sres.Sightings))
	}
	var misp bytes.Buffer
	if err := ExportMISPEvent(&misp, throughStorage(t, sres.Objects), MISPOptions{}); err != nil {
		t.Fatal(err)
	}
	values := map[string]bool{}
	for _, a := range mispAttrs(mispEventOf(t, misp.Bytes())) {
		values[scalar(a["value"])] = true
	}
	for _, ind := range objs.Indicators {
		if !values[ind.Text()] {
			t.Errorf("MISP -> STIX -> MISP lost value %q", ind.Text())
		}
	}
}
