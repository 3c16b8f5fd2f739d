package intel

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// STIXOptions tunes ExportSTIX.
type STIXOptions struct {
	// TLP1 writes TLP 1.0 marking definitions instead of TLP 2.0 ones.
	// AMBER+STRICT, which TLP 1.0 lacks, is written as RED.
	TLP1 bool
	// Minimal writes only what flowfed models: no source object is passed
	// through, unmodelled objects (Extra) are left out and the document
	// is a new bundle. Use it when a policy allows only known fields.
	Minimal bool
	// Now is the time recorded for additions to a TAXII server file's
	// manifests (time.Now when zero).
	Now time.Time
}

// stixOut is one object to write, under the key that places it in the
// source document.
type stixOut struct {
	id      string
	version time.Time
	raw     json.RawMessage
}

type stixExporter struct {
	opts     STIXOptions
	objs     *Objects
	out      []stixOut
	stixIDs  map[string]string // flowfed indicator id -> STIX id written
	markings map[string]bool   // marking ids referenced by written objects
	idents   map[string]bool   // identity ids referenced by written objects
	docTLP   map[string]usage.TLP
}

// ExportSTIX writes objects as STIX 2.1. Objects read from a STIX
// document (objs.Container) are written in that document's shape (bundle,
// TAXII envelope or server file) and order, with new objects appended to
// its first object list; otherwise a new bundle is written.
//
// An indicator or sighting read from STIX and not changed since (its
// source's Version equals its Version, or the source is another
// organisation's) is written exactly as received; a changed one is its
// newest source object with the changed fields replaced (a new version:
// later modified, revoked for a tombstone). Indicators from elsewhere get
// a new object, with id "indicator--" and the MISP attribute UUID for
// MISP attributes, else their own id. A valid_until that is not after
// valid_from is never written: MISP last_seen becomes valid_until only
// when it is later. The TLP marking definitions used are included.
func ExportSTIX(w io.Writer, objs Objects, opts STIXOptions) error {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	ex := &stixExporter{opts: opts, objs: &objs, stixIDs: map[string]string{}, markings: map[string]bool{},
		idents: map[string]bool{}, docTLP: map[string]usage.TLP{}}
	for _, m := range objs.Markings {
		if m.TLP.Valid() {
			ex.docTLP[m.ID] = m.TLP
		}
	}
	if err := ex.indicators(); err != nil {
		return fmt.Errorf("exporting STIX: %w", err)
	}
	if err := ex.sightings(); err != nil {
		return fmt.Errorf("exporting STIX: %w", err)
	}
	ex.observedData()
	if !opts.Minimal {
		for _, x := range objs.Extra {
			ex.addRaw(x.Raw)
		}
	}
	ex.identities()
	ex.markingDefs()
	doc, err := ex.document()
	if err != nil {
		return fmt.Errorf("exporting STIX: %w", err)
	}
	return writeIndented(w, doc, "exporting STIX")
}

// writeIndented writes JSON indented by two spaces and a final newline.
func writeIndented(w io.Writer, doc []byte, what string) error {
	var b bytes.Buffer
	if err := json.Indent(&b, doc, "", "  "); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b.WriteByte('\n')
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("%s: writing: %w", what, err)
	}
	return nil
}

// addRaw queues an object as given. Objects written as received bring no
// definitions along: what they reference was (or was not) in their
// document, and adding to it would change the document.
func (ex *stixExporter) addRaw(raw json.RawMessage) {
	var h stixHeader
	_ = json.Unmarshal(raw, &h)
	ex.out = append(ex.out, stixOut{id: h.ID, version: h.version(), raw: raw})
}

// stixIDFor is the STIX id an indicator is written under when no source
// object is written: the id of its newest STIX source, else "indicator--"
// and the first MISP attribute's UUID, else its own id.
func stixIDFor(ind Indicator) string {
	var newest *Source
	for i := range ind.Sources {
		s := &ind.Sources[i]
		if s.Format == FormatSTIX && strings.HasPrefix(s.ID, "indicator--") && (newest == nil || s.Modified.After(newest.Modified)) {
			newest = s
		}
	}
	if newest != nil {
		return newest.ID
	}
	for _, s := range ind.Sources {
		if s.Format == FormatMISP && isUUID(s.ID) {
			return "indicator--" + s.ID
		}
	}
	return ind.ID
}

// identityRef returns the identity id an organisation is referenced by in
// STIX: itself when it is one, else an identity derived from it.
func identityRef(org string) string {
	if t, _, ok := splitSTIXID(org); ok && t == "identity" {
		return org
	}
	if org == "" {
		return ""
	}
	return "identity--" + derivedUUID("flowfed-org", org)
}

type indGroup struct {
	src     Source
	members []int
}

func (ex *stixExporter) indicators() error {
	inds := ex.objs.Indicators
	var order []string
	groups := map[string]*indGroup{}
	// Indicators written from their fields, by STIX id: the values of one
	// STIX object stay one object.
	var builtOrder []string
	built := map[string][]Indicator{}
	for i, ind := range inds {
		var srcs []Source
		if !ex.opts.Minimal {
			for _, s := range ind.Sources {
				if s.Format == FormatSTIX && len(s.Raw) > 0 {
					srcs = append(srcs, s)
				}
			}
		}
		if len(srcs) == 0 {
			id := stixIDFor(ind)
			ex.stixIDs[ind.ID] = id
			if _, ok := built[id]; !ok {
				builtOrder = append(builtOrder, id)
			}
			built[id] = append(built[id], ind)
			continue
		}
		newest := srcs[0]
		for _, s := range srcs {
			if s.Modified.After(newest.Modified) {
				newest = s
			}
			k := s.ID + "\x00" + stamp(s.Modified)
			g, ok := groups[k]
			if !ok {
				g = &indGroup{src: s}
				groups[k] = g
				order = append(order, k)
			}
			g.members = append(g.members, i)
		}
		ex.stixIDs[ind.ID] = newest.ID
	}
	for _, id := range builtOrder {
		raw, err := ex.buildIndicator(id, built[id])
		if err != nil {
			return err
		}
		ex.out = append(ex.out, stixOut{id: id, version: lead(built[id]).Modified, raw: raw})
	}
	for _, k := range order {
		g := groups[k]
		var changed []Indicator
		var all []Indicator
		for _, i := range g.members {
			ind := inds[i]
			all = append(all, ind)
			if g.src.Version == ind.Version || (g.src.Org != "" && g.src.Org != ind.Origin) {
				continue
			}
			// Only the newest version of the STIX object carries the
			// change; older versions are history.
			newest := true
			for _, s := range ind.Sources {
				if s.Format == FormatSTIX && s.ID == g.src.ID && s.Modified.After(g.src.Modified) {
					newest = false
				}
			}
			if newest {
				changed = append(changed, ind)
			}
		}
		var raw json.RawMessage
		var err error
		if len(changed) == 0 {
			raw, err = sanitizeSTIX(g.src.Raw)
		} else {
			raw, err = ex.overlayIndicator(g.src.Raw, all)
		}
		if err != nil {
			return fmt.Errorf("indicator %s: %w", g.src.ID, err)
		}
		ex.out = append(ex.out, stixOut{id: g.src.ID, version: g.src.Modified, raw: raw})
	}
	return nil
}

// sanitizeSTIX drops orderings STIX forbids from an object written as
// received: an indicator's valid_until not after valid_from, a sighting's
// last_seen before first_seen.
func sanitizeSTIX(raw json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(raw, []byte(`"valid_until"`)) && !bytes.Contains(raw, []byte(`"last_seen"`)) && !bytes.Contains(raw, []byte(`"last_observed"`)) {
		return raw, nil
	}
	o, err := parseJObject(raw)
	if err != nil {
		return nil, err
	}
	pairs := [][2]string{{"valid_from", "valid_until"}, {"first_seen", "last_seen"}, {"first_observed", "last_observed"}}
	changed := false
	for i, p := range pairs {
		a, okA := o.get(p[0])
		b, okB := o.get(p[1])
		if !okA || !okB {
			continue
		}
		ta, okA := parseSTIXTimeRaw(a)
		tb, okB := parseSTIXTimeRaw(b)
		if okA && okB && (tb.Before(ta) || i == 0 && tb.Equal(ta)) {
			o.del(p[1])
			changed = true
		}
	}
	if !changed {
		return raw, nil
	}
	return o.bytes(), nil
}

// validity returns valid_from and valid_until as written for an
// indicator: valid_from is ValidFrom (else Created, else Modified);
// valid_until is ValidUntil, else LastSeen, and only when after
// valid_from.
func validity(ind Indicator) (from, until time.Time) {
	from = ind.ValidFrom
	if from.IsZero() {
		from = ind.Created
	}
	if from.IsZero() {
		from = ind.Modified
	}
	until = ind.ValidUntil
	if until.IsZero() {
		until = ind.LastSeen
	}
	if !until.After(from) {
		until = time.Time{}
	}
	return from, until
}

// lead returns the newest of a group of indicators sharing one object.
func lead(inds []Indicator) Indicator {
	l := inds[0]
	for _, x := range inds[1:] {
		if x.Modified.After(l.Modified) {
			l = x
		}
	}
	return l
}

// observablesOf returns the values a group of indicators is written as;
// revoked members are left out unless all are revoked.
func observablesOf(inds []Indicator) []Observable {
	var live, all []Observable
	for _, x := range inds {
		o := Observable{Type: x.Type, Value: x.Text()}
		all = append(all, o)
		if !x.Revoked {
			live = append(live, o)
		}
	}
	if len(live) == 0 {
		return all
	}
	return live
}

// tlpRefs replaces the TLP marking references in refs by the one of t,
// leaving refs as they are when their TLP already is t.
func (ex *stixExporter) tlpRefs(refs []string, t usage.TLP) []string {
	var cur usage.TLP
	var rest []string
	for _, r := range refs {
		if x, ok := tlpMarkings[r]; ok {
			cur = max(cur, x)
			continue
		}
		if x, ok := ex.docTLP[r]; ok {
			cur = max(cur, x)
			continue
		}
		rest = append(rest, r)
	}
	if cur == t || (cur == 0 && t == usage.Red) {
		return refs // no marking reads as RED already
	}
	return append(rest, TLPMarking(t, ex.opts.TLP1))
}

func (ex *stixExporter) overlayIndicator(raw json.RawMessage, inds []Indicator) (json.RawMessage, error) {
	o, err := parseJObject(raw)
	if err != nil {
		return nil, err
	}
	l := lead(inds)
	obs := observablesOf(inds)
	keep := false
	if pat, ok := o.getString("pattern"); ok {
		if p, err := ParsePattern(pat); err == nil {
			if cur, err := p.Observables(); err == nil && sameObservables(cur, obs) {
				keep = true
			}
		}
	}
	if !keep {
		pat, err := FormatPattern(obs...)
		if err != nil {
			return nil, err
		}
		o.putString("pattern", pat)
	}
	from, until := validity(l)
	o.putTime("modified", l.Modified, stixTime, parseSTIXTimeRaw)
	o.putStringOmit("name", l.Name)
	o.putStringOmit("description", l.Description)
	o.putStrings("labels", l.Labels)
	if _, ok := o.get("confidence"); ok || l.Confidence != DefaultConfidence {
		o.putInt("confidence", int64(l.Confidence), false)
	}
	o.putTime("valid_from", from, stixTime, parseSTIXTimeRaw)
	o.putTime("valid_until", until, stixTime, parseSTIXTimeRaw)
	revoked := true
	for _, x := range inds {
		revoked = revoked && x.Revoked
	}
	if revoked {
		o.putBool("revoked", true)
	} else {
		o.del("revoked")
	}
	if _, ok := o.get("x_flowfed_informational"); ok || l.Informational {
		o.putBool("x_flowfed_informational", l.Informational)
	}
	var refs []string
	if v, ok := o.get("object_marking_refs"); ok {
		_ = json.Unmarshal(v, &refs)
	}
	next := ex.tlpRefs(refs, l.Policy.TLP)
	for _, r := range next {
		if !slices.Contains(refs, r) {
			ex.markings[r] = true
		}
	}
	o.putStrings("object_marking_refs", next)
	return o.bytes(), nil
}

// sameObservables compares two lists of values by canonical id.
func sameObservables(a, b []Observable) bool {
	ids := func(obs []Observable) []string {
		var out []string
		for _, o := range obs {
			t, v, err := Canonicalize(o.Type, o.Value)
			if err != nil {
				return nil
			}
			out = append(out, IndicatorID(t, v))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	x, y := ids(a), ids(b)
	return x != nil && slices.Equal(x, y)
}

func (ex *stixExporter) buildIndicator(id string, inds []Indicator) (json.RawMessage, error) {
	l := lead(inds)
	pat, err := FormatPattern(observablesOf(inds)...)
	if err != nil {
		return nil, err
	}
	from, until := validity(l)
	created := l.Created
	if created.IsZero() {
		created = l.Modified
	}
	o := &jobject{}
	o.set("type", marshal("indicator"))
	o.set("spec_version", marshal("2.1"))
	o.set("id", marshal(id))
	if ref := identityRef(l.Origin); ref != "" {
		o.set("created_by_ref", marshal(ref))
		ex.idents[ref] = true
	}
	o.set("created", marshal(stixTime(created)))
	o.set("modified", marshal(stixTime(l.Modified)))
	o.putStringOmit("name", l.Name)
	o.putStringOmit("description", l.Description)
	o.set("pattern", marshal(pat))
	o.set("pattern_type", marshal("stix"))
	o.set("pattern_version", marshal("2.1"))
	o.set("valid_from", marshal(stixTime(from)))
	if !until.IsZero() {
		o.set("valid_until", marshal(stixTime(until)))
	}
	o.putStrings("labels", l.Labels)
	o.set("confidence", marshal(l.Confidence))
	revoked := true
	for _, x := range inds {
		revoked = revoked && x.Revoked
	}
	if revoked {
		o.set("revoked", marshal(true))
	}
	if l.Informational {
		o.set("x_flowfed_informational", marshal(true))
	}
	mk := TLPMarking(l.Policy.TLP, ex.opts.TLP1)
	o.set("object_marking_refs", marshal([]string{mk}))
	ex.markings[mk] = true
	return o.bytes(), nil
}

// sightingRef maps a sighting's indicator id to the STIX id written, or
// returns "" when it names nothing that can be referenced.
func (ex *stixExporter) sightingRef(id string) string {
	if s, ok := ex.stixIDs[id]; ok {
		return s
	}
	if _, _, ok := splitSTIXID(id); ok && !strings.HasPrefix(id, "indicator--") {
		return id
	}
	return ""
}

func (ex *stixExporter) sightings() error {
	for _, s := range ex.objs.Sightings {
		var src *Source
		if !ex.opts.Minimal {
			for i := range s.Sources {
				x := &s.Sources[i]
				if x.Format == FormatSTIX && len(x.Raw) > 0 && (src == nil || x.Modified.After(src.Modified)) {
					src = x
				}
			}
		}
		if src != nil {
			raw, err := overlaySighting(src.Raw, s)
			if err != nil {
				return fmt.Errorf("sighting %s: %w", s.ID, err)
			}
			ex.out = append(ex.out, stixOut{id: src.ID, version: src.Modified, raw: raw})
			continue
		}
		ref := ex.sightingRef(s.IndicatorID)
		if ref == "" {
			continue // a MISP context attribute: nothing to point at
		}
		id := s.ID
		if t, _, ok := splitSTIXID(id); !ok || t != "sighting" {
			id = "sighting--" + derivedUUID("flowfed-sighting", s.ID)
		}
		created := s.Created
		if created.IsZero() {
			created = s.Modified
		}
		o := &jobject{}
		o.set("type", marshal("sighting"))
		o.set("spec_version", marshal("2.1"))
		o.set("id", marshal(id))
		if s.Observer != "" {
			ref := identityRef(s.Observer)
			o.set("created_by_ref", marshal(ref))
			ex.idents[ref] = true
		}
		o.set("created", marshal(stixTime(created)))
		o.set("modified", marshal(stixTime(s.Modified)))
		if !s.FirstSeen.IsZero() {
			o.set("first_seen", marshal(stixTime(s.FirstSeen)))
		}
		if !s.LastSeen.IsZero() && !s.LastSeen.Before(s.FirstSeen) {
			o.set("last_seen", marshal(stixTime(s.LastSeen)))
		}
		if s.Count > 0 {
			o.set("count", marshal(s.Count))
		}
		o.set("sighting_of_ref", marshal(ref))
		o.putStrings("observed_data_refs", s.ObservedData)
		if s.Observer != "" {
			o.set("where_sighted_refs", marshal([]string{identityRef(s.Observer)}))
		}
		if s.Kind != SightingSeen {
			o.set("x_flowfed_kind", marshal(s.Kind.String()))
		}
		mk := TLPMarking(s.Policy.TLP, ex.opts.TLP1)
		o.set("object_marking_refs", marshal([]string{mk}))
		ex.markings[mk] = true
		ex.out = append(ex.out, stixOut{id: id, version: s.Modified, raw: o.bytes()})
	}
	return nil
}

// overlaySighting writes the modelled fields of s over its source object;
// an unchanged sighting comes out as received.
func overlaySighting(raw json.RawMessage, s Sighting) (json.RawMessage, error) {
	o, err := parseJObject(raw)
	if err != nil {
		return nil, err
	}
	o.putTime("modified", s.Modified, stixTime, parseSTIXTimeRaw)
	o.putTime("first_seen", s.FirstSeen, stixTime, parseSTIXTimeRaw)
	last := s.LastSeen
	if last.Before(s.FirstSeen) {
		last = time.Time{}
	}
	o.putTime("last_seen", last, stixTime, parseSTIXTimeRaw)
	if _, ok := o.get("count"); ok || s.Count > 0 {
		o.putInt("count", int64(s.Count), false)
	}
	if _, ok := o.get("x_flowfed_kind"); ok || s.Kind != SightingSeen {
		o.putString("x_flowfed_kind", s.Kind.String())
	}
	return o.bytes(), nil
}

func (ex *stixExporter) observedData() {
	for _, d := range ex.objs.ObservedData {
		if !ex.opts.Minimal && len(d.Raw) > 0 {
			raw, err := sanitizeSTIX(d.Raw)
			if err != nil {
				raw = d.Raw
			}
			ex.addRaw(raw)
			continue
		}
		o := &jobject{}
		o.set("type", marshal("observed-data"))
		o.set("spec_version", marshal("2.1"))
		o.set("id", marshal(d.ID))
		if d.CreatedBy != "" {
			o.set("created_by_ref", marshal(d.CreatedBy))
			ex.idents[d.CreatedBy] = true
		}
		o.set("created", marshal(stixTime(d.Created)))
		o.set("modified", marshal(stixTime(d.Modified)))
		o.set("first_observed", marshal(stixTime(d.FirstObserved)))
		last := d.LastObserved
		if last.Before(d.FirstObserved) {
			last = d.FirstObserved
		}
		o.set("last_observed", marshal(stixTime(last)))
		o.set("number_observed", marshal(max(d.NumberObserved, 1)))
		o.putStrings("object_refs", d.ObjectRefs)
		mk := TLPMarking(d.Policy.TLP, ex.opts.TLP1)
		o.set("object_marking_refs", marshal([]string{mk}))
		ex.markings[mk] = true
		ex.out = append(ex.out, stixOut{id: d.ID, version: d.Modified, raw: o.bytes()})
	}
}

// identities writes the identities of objs and one for every referenced
// organisation that has none.
func (ex *stixExporter) identities() {
	have := map[string]bool{}
	for _, id := range ex.objs.Identities {
		have[id.ID] = true
		if !ex.opts.Minimal && len(id.Raw) > 0 {
			ex.addRaw(id.Raw)
			continue
		}
		ex.out = append(ex.out, stixOut{id: id.ID, version: id.Modified, raw: buildIdentity(id)})
	}
	names := map[string]string{}
	first := map[string]time.Time{} // earliest time the organisation is seen at
	note := func(id, name string, at time.Time) {
		if names[id] == "" {
			names[id] = name
		}
		if f, ok := first[id]; !at.IsZero() && (!ok || at.Before(f)) {
			first[id] = at
		}
	}
	for _, ind := range ex.objs.Indicators {
		note(identityRef(ind.Origin), ind.OriginName, ind.Created)
	}
	for _, s := range ex.objs.Sightings {
		note(identityRef(s.Observer), s.ObserverName, s.Created)
	}
	var missing []string
	for id := range ex.idents {
		if !have[id] && strings.HasPrefix(id, "identity--") {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		name := names[id]
		if name == "" {
			name = id
		}
		at, ok := first[id]
		if !ok {
			at = time.Unix(0, 0).UTC()
		}
		ex.out = append(ex.out, stixOut{id: id, version: at, raw: buildIdentity(Identity{ID: id, Name: name, Class: "organization", Created: at, Modified: at})})
	}
}

func buildIdentity(id Identity) json.RawMessage {
	o := &jobject{}
	o.set("type", marshal("identity"))
	o.set("spec_version", marshal("2.1"))
	o.set("id", marshal(id.ID))
	o.set("created", marshal(stixTime(id.Created)))
	mod := id.Modified
	if mod.Before(id.Created) {
		mod = id.Created
	}
	o.set("modified", marshal(stixTime(mod)))
	o.set("name", marshal(id.Name))
	if id.Class != "" {
		o.set("identity_class", marshal(id.Class))
	}
	return o.bytes()
}

// markingDefs writes the marking definitions of objs and the standard TLP
// definitions referenced but not present.
func (ex *stixExporter) markingDefs() {
	have := map[string]bool{}
	var defs []stixOut
	for _, m := range ex.objs.Markings {
		have[m.ID] = true
		if !ex.opts.Minimal && len(m.Raw) > 0 {
			defs = append(defs, stixOut{id: m.ID, version: m.Created, raw: m.Raw})
			continue
		}
		if std, ok := standardMarking(m.ID); ok {
			defs = append(defs, stixOut{id: m.ID, version: std.Created, raw: std.Raw})
			continue
		}
		o := &jobject{}
		o.set("type", marshal("marking-definition"))
		o.set("spec_version", marshal("2.1"))
		o.set("id", marshal(m.ID))
		o.set("created", marshal(stixTime(m.Created)))
		o.putStringOmit("name", m.Name)
		o.set("definition_type", marshal("statement"))
		o.set("definition", marshal(map[string]string{"statement": m.Statement}))
		defs = append(defs, stixOut{id: m.ID, version: m.Created, raw: o.bytes()})
	}
	var missing []string
	for id := range ex.markings {
		if !have[id] {
			if _, ok := tlpMarkings[id]; ok {
				missing = append(missing, id)
			}
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		std, _ := standardMarking(id)
		defs = append(defs, stixOut{id: id, version: std.Created, raw: std.Raw})
	}
	// Definitions come first in a new document, as readers resolve
	// references in order.
	ex.out = append(defs, ex.out...)
}

// document assembles the output: the source container refilled, or a new
// bundle.
func (ex *stixExporter) document() ([]byte, error) {
	c := ex.objs.Container
	if c == nil || ex.opts.Minimal || len(c.Lists) == 0 {
		return ex.bundle(), nil
	}
	type key struct {
		id string
		v  int64
	}
	k := func(id string, t time.Time) key { return key{id, t.UnixNano()} }
	byKey := map[key][]int{}
	for i, o := range ex.out {
		kk := k(o.id, o.version)
		byKey[kk] = append(byKey[kk], i)
	}
	used := make([]bool, len(ex.out))
	lists := make([][]json.RawMessage, len(c.Lists))
	for li, l := range c.Lists {
		lists[li] = []json.RawMessage{}
		for _, r := range l.Refs {
			for _, i := range byKey[k(r.ID, r.Modified)] {
				if !used[i] {
					used[i] = true
					lists[li] = append(lists[li], ex.out[i].raw)
					break
				}
			}
		}
	}
	var added []stixOut
	for i, o := range ex.out {
		if !used[i] {
			lists[0] = append(lists[0], o.raw)
			added = append(added, o)
		}
	}
	doc := c.Raw
	if c.Kind == ContainerList {
		return joinArray(lists[0]), nil
	}
	for li, l := range c.Lists {
		var err error
		doc, err = updatePath(doc, l.Path, func(json.RawMessage) (json.RawMessage, error) { return joinArray(lists[li]), nil })
		if err != nil {
			return nil, fmt.Errorf("rebuilding document: %w", err)
		}
		if c.Kind != ContainerServer {
			continue
		}
		var add []stixOut
		if li == 0 {
			add = added
		}
		mpath := append(slices.Clone(l.Path[:len(l.Path)-1]), "manifest")
		doc, err = updatePath(doc, mpath, func(old json.RawMessage) (json.RawMessage, error) {
			return ex.manifest(old, l, lists[li], add), nil
		})
		if err != nil {
			return nil, fmt.Errorf("rebuilding manifest: %w", err)
		}
	}
	return doc, nil
}

// manifest filters a TAXII collection manifest to the objects written and
// adds entries for objects added to the collection.
func (ex *stixExporter) manifest(old json.RawMessage, l ObjectList, written []json.RawMessage, added []stixOut) json.RawMessage {
	if old == nil && len(added) == 0 {
		return nil // no manifest to keep up to date
	}
	present := map[string]bool{}
	for _, raw := range written {
		var h stixHeader
		if json.Unmarshal(raw, &h) == nil {
			present[h.ID] = true
		}
	}
	known := map[string]bool{}
	for _, r := range l.Refs {
		known[r.ID] = true
	}
	entries, _ := parseJArray(old)
	out := []json.RawMessage{}
	for _, e := range entries {
		var m struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(e, &m) == nil && known[m.ID] && !present[m.ID] {
			continue
		}
		out = append(out, e)
	}
	for _, a := range added {
		o := &jobject{}
		o.set("date_added", marshal(ex.opts.Now.UTC().Format("2006-01-02T15:04:05.000000Z")))
		o.set("id", marshal(a.id))
		o.set("media_type", marshal("application/stix+json;version=2.1"))
		o.set("version", marshal(stixTime(a.version)))
		out = append(out, o.bytes())
	}
	return joinArray(out)
}

// bundle writes a new bundle whose id is derived from the ids of its
// objects, so that the same content gets the same bundle id.
func (ex *stixExporter) bundle() []byte {
	h := sha1.New()
	for _, o := range ex.out {
		h.Write([]byte(o.id))
		h.Write([]byte{0})
		h.Write([]byte(stamp(o.version)))
		h.Write([]byte{0})
	}
	objs := make([]json.RawMessage, len(ex.out))
	for i, o := range ex.out {
		objs[i] = o.raw
	}
	o := &jobject{}
	o.set("type", marshal("bundle"))
	o.set("id", marshal("bundle--"+derivedUUID("flowfed-bundle", fmt.Sprintf("%x", h.Sum(nil)))))
	o.set("objects", joinArray(objs))
	return o.bytes()
}
