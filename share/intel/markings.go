package intel

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// The STIX 2.1 TLP marking definitions, by their fixed OASIS ids.
const (
	// TLP 1.0, from the STIX 2.1 specification (definition_type "tlp").
	MarkingTLP1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	MarkingTLP1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	MarkingTLP1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	MarkingTLP1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"

	// TLP 2.0, from the OASIS common objects (property extension
	// TLP2Extension with "tlp_2_0").
	MarkingTLP2Clear       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	MarkingTLP2Green       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	MarkingTLP2Amber       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	MarkingTLP2AmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	MarkingTLP2Red         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

	// TLP2Extension is the extension definition of the TLP 2.0 markings.
	TLP2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
)

// tlpMarkings maps every well-known TLP marking id to its label.
var tlpMarkings = map[string]usage.TLP{
	MarkingTLP1White: usage.Clear, MarkingTLP1Green: usage.Green, MarkingTLP1Amber: usage.Amber, MarkingTLP1Red: usage.Red,
	MarkingTLP2Clear: usage.Clear, MarkingTLP2Green: usage.Green, MarkingTLP2Amber: usage.Amber,
	MarkingTLP2AmberStrict: usage.AmberStrict, MarkingTLP2Red: usage.Red,
}

// TLPMarking returns the id of the marking definition of a TLP label:
// TLP 2.0 by default, TLP 1.0 with tlp1. TLP 1.0 has no AMBER+STRICT;
// it is written as RED, never as the wider AMBER.
func TLPMarking(t usage.TLP, tlp1 bool) string {
	if tlp1 {
		switch t {
		case usage.Clear:
			return MarkingTLP1White
		case usage.Green:
			return MarkingTLP1Green
		case usage.Amber:
			return MarkingTLP1Amber
		}
		return MarkingTLP1Red
	}
	switch t {
	case usage.Clear:
		return MarkingTLP2Clear
	case usage.Green:
		return MarkingTLP2Green
	case usage.Amber:
		return MarkingTLP2Amber
	case usage.AmberStrict:
		return MarkingTLP2AmberStrict
	}
	return MarkingTLP2Red
}

var (
	tlp1Created = time.Date(2017, 1, 20, 0, 0, 0, 0, time.UTC)
	tlp2Created = time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)
)

// standardMarking returns the marking definition object of a well-known
// TLP marking id.
func standardMarking(id string) (MarkingDefinition, bool) {
	t, ok := tlpMarkings[id]
	if !ok {
		return MarkingDefinition{}, false
	}
	o := &jobject{}
	o.set("type", marshal("marking-definition"))
	o.set("spec_version", marshal("2.1"))
	o.set("id", marshal(id))
	md := MarkingDefinition{ID: id, TLP: t}
	if isTLP1(id) {
		name := strings.ToLower(t.String())
		if t == usage.Clear {
			name = "white"
		}
		md.Name, md.Created = "TLP:"+strings.ToUpper(name), tlp1Created
		o.set("created", marshal(stixTime(tlp1Created)))
		o.set("definition_type", marshal("tlp"))
		o.set("name", marshal(md.Name))
		o.set("definition", marshal(map[string]string{"tlp": name}))
	} else {
		md.Name, md.Created = "TLP:"+t.String(), tlp2Created
		o.set("created", marshal(stixTime(tlp2Created)))
		o.set("name", marshal(md.Name))
		o.set("extensions", marshal(map[string]map[string]string{
			TLP2Extension: {"extension_type": "property-extension", "tlp_2_0": strings.ToLower(t.String())},
		}))
	}
	md.Raw = o.bytes()
	return md, true
}

func isTLP1(id string) bool {
	return id == MarkingTLP1White || id == MarkingTLP1Green || id == MarkingTLP1Amber || id == MarkingTLP1Red
}

// markingTLP reads the TLP label a marking definition object expresses:
// a TLP 1.0 definition {"tlp": "amber"}, a TLP 2.0 extension with
// "tlp_2_0", or a name "TLP:..." (the last only for definitions without
// another type). ok is false for markings that are not TLP.
func markingTLP(raw json.RawMessage) (usage.TLP, bool) {
	var m struct {
		ID             string          `json:"id"`
		Name           string          `json:"name"`
		DefinitionType string          `json:"definition_type"`
		Definition     json.RawMessage `json:"definition"`
		Extensions     map[string]struct {
			TLP2 *string `json:"tlp_2_0"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return usage.Red, false
	}
	if t, ok := tlpMarkings[m.ID]; ok {
		return t, true
	}
	if strings.EqualFold(m.DefinitionType, "tlp") {
		var d struct {
			TLP string `json:"tlp"`
		}
		_ = json.Unmarshal(m.Definition, &d)
		t, _ := usage.ParseTLP(d.TLP)
		return t, true
	}
	for _, e := range m.Extensions {
		if e.TLP2 != nil {
			t, _ := usage.ParseTLP(*e.TLP2)
			return t, true
		}
	}
	if m.DefinitionType == "" && strings.HasPrefix(strings.ToUpper(m.Name), "TLP:") {
		t, _ := usage.ParseTLP(m.Name)
		return t, true
	}
	return 0, false
}
