package intel

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// taxiiDoc is a small TAXII server data file: an API root with one
// collection holding two versions of one indicator, and its manifest.
const taxiiDoc = `{
  "/discovery": {"title": "t", "api_roots": ["http://localhost/api1/"]},
  "api1": {
    "information": {"title": "api1", "max_content_length": 1000},
    "status": [],
    "collections": [
      {"id": "91a7b528-80eb-42ed-a74d-c6fbd5a26116", "title": "c", "can_read": true, "can_write": true,
       "objects": [
         {"type": "indicator", "spec_version": "2.1", "id": "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e",
          "created_by_ref": "identity--5f0c2a8e-0000-4000-8000-0000000000aa",
          "created": "2016-11-03T12:30:59.000Z", "modified": "2016-11-03T12:30:59.000Z", "pattern": "[url:value = 'http://a.example/1']",
          "pattern_type": "stix", "valid_from": "2016-11-03T12:30:59.000Z"},
         {"type": "indicator", "spec_version": "2.1", "id": "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e",
          "created_by_ref": "identity--5f0c2a8e-0000-4000-8000-0000000000aa",
          "created": "2016-11-03T12:30:59.000Z", "modified": "2016-12-25T12:30:59.444Z", "pattern": "[url:value = 'http://b.example/2']",
          "pattern_type": "stix", "valid_from": "2016-11-03T12:30:59.000Z", "description": "second version"}
       ],
       "manifest": [
         {"date_added": "2016-11-03T12:30:59.001000Z", "id": "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e", "media_type": "application/stix+json;version=2.1", "version": "2016-11-03T12:30:59.000Z"},
         {"date_added": "2016-12-27T13:49:59.000000Z", "id": "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e", "media_type": "application/stix+json;version=2.1", "version": "2016-12-25T12:30:59.444Z"}
       ]},
      {"id": "52892447-4d7e-4f70-b94d-d7f22742ff63", "title": "empty", "objects": []}
    ]
  }
}`

// TestTAXIIServerData reads a TAXII server file: a value replaced in a
// later version of a STIX indicator is revoked, the file round-trips, a
// revocation replaces only the newest version, and a new indicator is
// added to the first collection with a manifest entry.
func TestTAXIIServerData(t *testing.T) {
	res, err := ImportSTIX(strings.NewReader(taxiiDoc), ImportOptions{})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("ImportSTIX = %v, %v", err, res.Problems)
	}
	if res.Container == nil || res.Container.Kind != ContainerServer || len(res.Container.Lists) != 2 {
		t.Fatalf("container %+v", res.Container)
	}
	inds := byValue(res.Indicators)
	old, cur := inds["url http://a.example/1"], inds["url http://b.example/2"]
	if !old.Revoked || cur.Revoked || cur.Description != "second version" {
		t.Fatalf("versions: replaced value revoked=%v, current revoked=%v %q", old.Revoked, cur.Revoked, cur.Description)
	}
	objs := throughStorage(t, res.Objects)
	var out bytes.Buffer
	if err := ExportSTIX(&out, objs, STIXOptions{}); err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, "taxii round trip", []byte(taxiiDoc), out.Bytes())

	i := findIndicator(t, objs, TypeURL, "http://b.example/2")
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	rev, err := Revoke(objs.Indicators[i], objs.Indicators[i].Origin, at, "")
	if err != nil {
		t.Fatal(err)
	}
	objs.Indicators[i] = rev
	added := newTestIndicator(t, TypeDomain, "new.example")
	added.Origin = "identity--5f0c2a8e-0000-4000-8000-0000000000aa"
	objs.Indicators = append(objs.Indicators, added)
	out.Reset()
	now := time.Date(2017, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := ExportSTIX(&out, objs, STIXOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	d := strings.Join(jsonDiff(decodeAny(t, []byte(taxiiDoc)), decodeAny(t, out.Bytes()), "$"), "\n")
	for _, want := range []string{
		// + the new indicator, its TLP definition and its creator's identity
		"$.api1.collections[0].objects: 2 elements, got 5",
		"$.api1.collections[0].manifest: 2 elements, got 5",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	got := stixDocObjects(decodeAny(t, out.Bytes()))
	if got[0]["modified"] != "2016-11-03T12:30:59.000Z" || got[0]["revoked"] != nil {
		t.Errorf("history version changed: %v", got[0])
	}
	if got[1]["modified"] != "2017-01-01T00:00:00.000Z" || got[1]["revoked"] != true || got[1]["description"] != "second version" {
		t.Errorf("newest version: %v", got[1])
	}
	if !strings.Contains(out.String(), `"date_added": "2017-02-01T00:00:00.000000Z"`) || !strings.Contains(out.String(), fmt.Sprintf("%q", added.ID)) {
		t.Errorf("new indicator or its manifest entry missing:\n%s", out.String())
	}
}
