package intel

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// MISPOptions tunes the MISP exporters.
type MISPOptions struct {
	// Event is the envelope for indicators that belong to no exported
	// event. Fields left empty are derived: the UUID from Orgc and Info
	// (so that repeated exports update one event), Info "flowfed export",
	// Orgc from the first indicator's originator, the timestamp from the
	// newest indicator, the distribution and tags from the combined usage
	// policy. ExportMISPEvent with a UUID of an event in Objects.Events
	// selects that event.
	Event Event
	// Minimal writes only what flowfed models: no source object is passed
	// through, so context attributes, MISP objects, galaxies and
	// proposals are left out.
	Minimal bool
	// Now stands in for the current time where one is needed (time.Now
	// when zero).
	Now time.Time
	// Hashes makes ExportMISPFeed write hashes.csv (md5 of each
	// indicator value, event UUID).
	Hashes bool
	// FileMode is the permission of files ExportMISPFeed writes (0600
	// when zero).
	FileMode fs.FileMode
}

// assignment places an indicator in an event: src is its attribute there,
// nil for a new attribute.
type assignment struct {
	ind int
	src *Source
}

type eventPlan struct {
	ev       Event
	attrs    map[string]assignment // attribute UUID -> indicator
	order    []string              // attribute UUIDs of attrs, in assignment order
	added    []int                 // indicators without an attribute in this event
	done     map[string]bool
	modelled map[string]bool // ev.Modelled
	maxMod   time.Time
}

type mispExporter struct {
	opts        MISPOptions
	objs        *Objects
	sightByAttr map[string][]int // event + "\x00" + attribute UUID -> sightings read from it
	sightByInd  map[string][]int // indicator id -> sightings with no MISP source
	placed      []bool
}

func newMISPExporter(objs *Objects, opts MISPOptions) *mispExporter {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	ex := &mispExporter{opts: opts, objs: objs, sightByAttr: map[string][]int{}, sightByInd: map[string][]int{},
		placed: make([]bool, len(objs.Sightings))}
	for i, s := range objs.Sightings {
		var src *Source
		for j := range s.Sources {
			if s.Sources[j].Format == FormatMISP {
				src = &s.Sources[j]
				break
			}
		}
		if src != nil {
			k := src.Event + "\x00" + src.Parent
			ex.sightByAttr[k] = append(ex.sightByAttr[k], i)
		} else {
			ex.sightByInd[s.IndicatorID] = append(ex.sightByInd[s.IndicatorID], i)
		}
	}
	return ex
}

func newPlan(ev Event) *eventPlan {
	p := &eventPlan{ev: ev, attrs: map[string]assignment{}, done: map[string]bool{}, modelled: map[string]bool{}}
	for _, u := range ev.Modelled {
		p.modelled[u] = true
	}
	return p
}

// assign places indicator i in p, through its newest source in p's event
// when it has one.
func (p *eventPlan) assign(i int, ind Indicator) {
	var src *Source
	for j := range ind.Sources {
		s := &ind.Sources[j]
		if s.Format == FormatMISP && s.Event == p.ev.UUID && (src == nil || s.Modified.After(src.Modified)) {
			src = s
		}
	}
	if ind.Modified.After(p.maxMod) {
		p.maxMod = ind.Modified
	}
	if src == nil {
		p.added = append(p.added, i)
		return
	}
	if _, ok := p.attrs[src.ID]; !ok {
		p.order = append(p.order, src.ID)
	}
	p.attrs[src.ID] = assignment{ind: i, src: src}
}

// inEvent reports whether ind has a MISP source in event uuid.
func inEvent(ind Indicator, uuid string) bool {
	for _, s := range ind.Sources {
		if s.Format == FormatMISP && s.Event == uuid {
			return true
		}
	}
	return false
}

// defaultEvent fills the envelope for indicators of no exported event.
func (ex *mispExporter) defaultEvent(inds []int) Event {
	ev := ex.opts.Event
	derived := ev.UUID == ""
	if ev.Orgc.UUID == "" && len(inds) > 0 {
		ind := ex.objs.Indicators[inds[0]]
		ev.Orgc = Org{UUID: uuidOf(ind.Origin), Name: ind.OriginName}
		if ev.Orgc.UUID == "" && ind.Origin != "" {
			ev.Orgc.UUID = derivedUUID("flowfed-org", ind.Origin)
		}
		if ev.Orgc.Name == "" {
			ev.Orgc.Name = ind.Origin
		}
	}
	if ev.Info == "" {
		ev.Info = "flowfed export"
	}
	if derived {
		ev.UUID = derivedUUID("flowfed-misp-event", ev.Orgc.UUID, ev.Info)
	}
	var ts time.Time
	var pols []usage.Policy
	for _, i := range inds {
		ind := ex.objs.Indicators[i]
		if ind.Modified.After(ts) {
			ts = ind.Modified
		}
		pols = append(pols, ind.Policy)
	}
	if ts.IsZero() {
		ts = ex.opts.Now.UTC().Truncate(time.Second)
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = ts
	}
	if ev.Date == "" {
		ev.Date = ev.Timestamp.UTC().Format("2006-01-02")
	}
	if !ev.Policy.TLP.Valid() {
		ev.Policy = usage.Combine(pols...)
	}
	if derived {
		ev.Distribution = policyDist(ev.Policy, ev.SharingGroup)
	}
	if ev.ThreatLevel == 0 {
		ev.ThreatLevel = 4 // undefined
	}
	return ev
}

// policyDist maps a usage policy to a MISP distribution: RED and
// AMBER+STRICT stay with the organisation, no reshare is this community
// only, group reshare a sharing group (when one is known), community
// reshare connected communities, and CLEAR all communities.
func policyDist(p usage.Policy, group string) Distribution {
	switch {
	case p.TLP >= usage.AmberStrict:
		return DistOrg
	case p.Reshare == usage.ReshareGroup && group != "":
		return DistSharingGroup
	case p.Reshare == usage.ReshareCommunity && p.TLP == usage.Clear:
		return DistAll
	case p.Reshare == usage.ReshareCommunity:
		return DistConnected
	}
	return DistCommunity
}

// ExportMISPEvent writes all indicators and sightings of objs as one MISP
// event in the core format ({"Event": {...}}, or bare when the event was
// read bare). The event is opts.Event when it has a UUID, else the one
// event of objs.Events, else a new one (see MISPOptions.Event); several
// events without a chosen one is an error wrapping ErrExport.
//
// An event read from MISP is written from its source object: attributes
// flowfed does not model, objects, galaxies and proposals as received;
// indicator attributes as received while unchanged, with the changed
// fields replaced otherwise (a revoked indicator is deleted: true, the
// event timestamp moves to the newest change); attributes of indicators
// missing from objs (filtered by policy) are left out; new indicators are
// appended. Sighting lists are rebuilt from objs.Sightings.
func ExportMISPEvent(w io.Writer, objs Objects, opts MISPOptions) error {
	ex := newMISPExporter(&objs, opts)
	var target Event
	switch {
	case opts.Event.UUID != "":
		// The chosen event when it was imported, else a new envelope.
		for _, e := range objs.Events {
			if e.UUID == strings.ToLower(opts.Event.UUID) {
				target = e
			}
		}
	case len(objs.Events) == 1:
		target = objs.Events[0]
	case len(objs.Events) > 1:
		return fmt.Errorf("exporting MISP event: %w: %d events and none chosen (set MISPOptions.Event or use ExportMISPFeed)", ErrExport, len(objs.Events))
	}
	var p *eventPlan
	if target.UUID == "" {
		all := make([]int, len(objs.Indicators))
		for i := range all {
			all[i] = i
		}
		p = newPlan(ex.defaultEvent(all))
	} else {
		p = newPlan(target)
	}
	for i, ind := range objs.Indicators {
		p.assign(i, ind)
	}
	raw, err := ex.buildEvent(p)
	if err != nil {
		return fmt.Errorf("exporting MISP event %s: %w", p.ev.UUID, err)
	}
	return writeIndented(w, wrapEvent(raw, p.ev.Bare), "exporting MISP event")
}

func wrapEvent(raw json.RawMessage, bare bool) []byte {
	if bare {
		return raw
	}
	o := &jobject{}
	o.set("Event", raw)
	return o.bytes()
}

// ExportMISPFeed writes objs as a MISP feed into dir (which must exist):
// one <uuid>.json per event, in the form ExportMISPEvent writes, then
// manifest.json, and hashes.csv when opts.Hashes is set. Indicators are
// written into every exported event they were read from; those from no
// exported event go into the envelope of MISPOptions.Event. Each file is
// written to a temporary name and renamed, and the manifest last, so that
// a reader never sees a partial file or a manifest naming a missing
// event. Files of events no longer exported are left in place.
func ExportMISPFeed(dir string, objs Objects, opts MISPOptions) error {
	ex := newMISPExporter(&objs, opts)
	var plans []*eventPlan
	byUUID := map[string]*eventPlan{}
	for _, e := range objs.Events {
		if !isUUID(e.UUID) {
			return fmt.Errorf("exporting MISP feed: %w: event UUID %q", ErrExport, clip(e.UUID))
		}
		if byUUID[e.UUID] != nil {
			continue
		}
		p := newPlan(e)
		byUUID[e.UUID] = p
		plans = append(plans, p)
	}
	var rest []int
	for i, ind := range objs.Indicators {
		placed := false
		for _, p := range plans {
			if inEvent(ind, p.ev.UUID) {
				p.assign(i, ind)
				placed = true
			}
		}
		if !placed {
			rest = append(rest, i)
		}
	}
	if len(rest) > 0 {
		ev := ex.defaultEvent(rest)
		p := byUUID[ev.UUID]
		if p == nil {
			p = newPlan(ev)
			plans = append(plans, p)
		}
		for _, i := range rest {
			p.assign(i, objs.Indicators[i])
		}
	}
	mode := opts.FileMode
	if mode == 0 {
		mode = 0o600
	}
	manifest := &jobject{}
	var hashes bytes.Buffer
	for _, p := range plans {
		raw, err := ex.buildEvent(p)
		if err != nil {
			return fmt.Errorf("exporting MISP feed: event %s: %w", p.ev.UUID, err)
		}
		var b bytes.Buffer
		if err := writeIndented(&b, wrapEvent(raw, p.ev.Bare), "exporting MISP feed"); err != nil {
			return err
		}
		if err := writeFileAtomic(dir, p.ev.UUID+".json", b.Bytes(), mode); err != nil {
			return fmt.Errorf("exporting MISP feed: %w", err)
		}
		manifest.set(p.ev.UUID, ex.manifestEntry(p))
		if opts.Hashes {
			for _, k := range p.order {
				writeHash(&hashes, objs.Indicators[p.attrs[k].ind], p.ev.UUID)
			}
			for _, i := range p.added {
				writeHash(&hashes, objs.Indicators[i], p.ev.UUID)
			}
		}
	}
	if opts.Hashes {
		if err := writeFileAtomic(dir, "hashes.csv", hashes.Bytes(), mode); err != nil {
			return fmt.Errorf("exporting MISP feed: %w", err)
		}
	}
	var b bytes.Buffer
	if err := writeIndented(&b, manifest.bytes(), "exporting MISP feed manifest"); err != nil {
		return err
	}
	if err := writeFileAtomic(dir, "manifest.json", b.Bytes(), mode); err != nil {
		return fmt.Errorf("exporting MISP feed: %w", err)
	}
	return nil
}

func writeHash(b *bytes.Buffer, ind Indicator, event string) {
	sum := md5.Sum([]byte(ind.Text()))
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte(',')
	b.WriteString(event)
	b.WriteByte('\n')
}

// writeFileAtomic writes data to dir/name through a temporary file in dir
// that is synced and renamed over the target.
func writeFileAtomic(dir, name string, data []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	tmp := f.Name()
	cleanup := func() { _ = os.Remove(tmp) }
	if _, err := f.Write(data); err != nil {
		f.Close()
		cleanup()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		cleanup()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		cleanup()
		return fmt.Errorf("syncing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return fmt.Errorf("closing %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		cleanup()
		return fmt.Errorf("renaming %s: %w", name, err)
	}
	return nil
}

// ExportMISPSharingGroups writes sharing groups as a JSON list in the form
// MISP lists them, each as received when it was read from MISP.
func ExportMISPSharingGroups(w io.Writer, groups []SharingGroup) error {
	out := make([]json.RawMessage, 0, len(groups))
	for _, g := range groups {
		if len(g.Raw) > 0 {
			out = append(out, g.Raw)
			continue
		}
		sg := &jobject{}
		sg.set("id", marshal(g.ID))
		sg.set("uuid", marshal(g.UUID))
		sg.set("name", marshal(g.Name))
		sg.set("releasability", marshal(g.Releasability))
		var orgs []json.RawMessage
		for _, so := range g.Orgs {
			x := &jobject{}
			x.set("extend", marshal(so.Extend))
			x.set("Organisation", orgJSON(so.Org))
			orgs = append(orgs, x.bytes())
		}
		o := &jobject{}
		o.set("SharingGroup", sg.bytes())
		o.set("SharingGroupOrg", marshal(append([]json.RawMessage{}, orgs...)))
		o.set("SharingGroupServer", marshal([]map[string]bool{{"all_orgs": g.AllOrgs}}))
		out = append(out, o.bytes())
	}
	return writeIndented(w, joinArray(out), "exporting MISP sharing groups")
}

func orgJSON(o Org) json.RawMessage {
	x := &jobject{}
	x.set("name", marshal(o.Name))
	x.set("uuid", marshal(o.UUID))
	return x.bytes()
}

// putOrg sets k to the organisation unless it already names it.
func putOrg(o *jobject, k string, org Org) {
	if org.UUID == "" && org.Name == "" {
		return
	}
	if v, ok := o.get(k); ok {
		var cur mispOrg
		if json.Unmarshal(v, &cur) == nil && strings.EqualFold(cur.UUID, org.UUID) && cur.Name == org.Name {
			return
		}
	}
	o.set(k, orgJSON(org))
}

// putTags sets k to tags named names, keeping the tag objects already
// there for names that stay.
func putTags(o *jobject, k string, names []string) {
	var cur []json.RawMessage
	if v, ok := o.get(k); ok {
		cur, _ = parseJArray(v)
	}
	var curNames []string
	byName := map[string]json.RawMessage{}
	for _, t := range cur {
		var m mispTag
		if json.Unmarshal(t, &m) == nil {
			curNames = append(curNames, m.Name)
			if _, dup := byName[m.Name]; !dup {
				byName[m.Name] = t
			}
		}
	}
	if slices.Equal(curNames, names) && len(curNames) == len(cur) {
		return
	}
	if len(names) == 0 {
		if _, ok := o.get(k); ok {
			o.set(k, json.RawMessage("[]"))
		}
		return
	}
	out := make([]json.RawMessage, 0, len(names))
	for _, n := range names {
		if t, ok := byName[n]; ok {
			out = append(out, t)
			continue
		}
		out = append(out, marshal(map[string]string{"name": n}))
	}
	o.set(k, joinArray(out))
}

func tlpTag(t usage.TLP) string { return "tlp:" + strings.ToLower(t.String()) }

func papTag(p usage.PAP) string { return "PAP:" + p.String() }

// adjustTags makes tags express want (TLP) and wantPAP: differing tlp: or
// PAP: tags are replaced; a missing one is added when force is set or,
// for TLP, when implied (what applies without a tag) differs.
func adjustTags(tags []string, want usage.TLP, wantPAP usage.PAP, implied usage.TLP, force bool) []string {
	var cur usage.TLP
	var curPAP usage.PAP
	for _, t := range tags {
		cur, curPAP = labelPolicy(t, cur, curPAP)
	}
	out := slices.Clone(tags)
	isTLP := func(s string) bool { return strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "tlp:") }
	isPAP := func(s string) bool { return strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "pap:") }
	switch {
	case cur != 0 && cur != want && want.Valid():
		out = slices.DeleteFunc(out, isTLP)
		out = append(out, tlpTag(want))
	case cur == 0 && want.Valid() && (force || implied != want):
		out = append(out, tlpTag(want))
	}
	switch {
	case curPAP != 0 && curPAP != wantPAP && wantPAP.Valid():
		out = slices.DeleteFunc(out, isPAP)
		out = append(out, papTag(wantPAP))
	case curPAP == 0 && force && wantPAP.Valid():
		out = append(out, papTag(wantPAP))
	}
	return out
}

// buildEvent writes the event of a plan.
func (ex *mispExporter) buildEvent(p *eventPlan) (json.RawMessage, error) {
	ev := p.ev
	useRaw := !ex.opts.Minimal && len(ev.Raw) > 0
	o := &jobject{}
	if useRaw {
		var err error
		if o, err = parseJObject(ev.Raw); err != nil {
			return nil, fmt.Errorf("event source: %w", err)
		}
	} else {
		o.set("uuid", marshal(ev.UUID))
	}
	changed := false
	count := 0
	// Attributes.
	var rawAttrs []json.RawMessage
	_, hadAttrs := o.get("Attribute")
	if useRaw && hadAttrs {
		v, _ := o.get("Attribute")
		var err error
		if rawAttrs, err = parseJArray(v); err != nil {
			return nil, fmt.Errorf("event attributes: %w", err)
		}
	}
	attrs := []json.RawMessage{}
	for _, ra := range rawAttrs {
		out, keep, ch, err := ex.attribute(p, ra)
		if err != nil {
			return nil, err
		}
		changed = changed || ch
		if keep {
			attrs = append(attrs, out)
		}
	}
	// Objects keep their attributes in their own lists.
	if v, ok := o.get("Object"); ok && useRaw {
		objsRaw, err := parseJArray(v)
		if err != nil {
			return nil, fmt.Errorf("event objects: %w", err)
		}
		objsOut := []json.RawMessage{}
		for _, or := range objsRaw {
			obj, err := parseJObject(or)
			if err != nil {
				return nil, fmt.Errorf("event object: %w", err)
			}
			av, ok := obj.get("Attribute")
			if !ok {
				objsOut = append(objsOut, or)
				continue
			}
			oattrs, err := parseJArray(av)
			if err != nil {
				return nil, fmt.Errorf("event object attributes: %w", err)
			}
			kept := []json.RawMessage{}
			for _, ra := range oattrs {
				out, keep, ch, err := ex.attribute(p, ra)
				if err != nil {
					return nil, err
				}
				changed = changed || ch
				if keep {
					kept = append(kept, out)
				}
			}
			count += len(kept)
			if len(kept) == 0 && len(oattrs) > 0 {
				continue // every attribute left: the object goes too
			}
			obj.set("Attribute", joinArray(kept))
			objsOut = append(objsOut, obj.bytes())
		}
		o.set("Object", joinArray(objsOut))
	}
	// Indicators whose attribute was not in the source event, then new ones.
	for _, k := range p.order {
		if p.done[k] {
			continue
		}
		a := p.attrs[k]
		out, err := ex.indicatorAttr(p, a, nil)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, out)
		changed = changed || !unchanged(*a.src, ex.objs.Indicators[a.ind])
	}
	for _, i := range p.added {
		out, err := ex.indicatorAttr(p, assignment{ind: i}, nil)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, out)
		changed = true
	}
	count += len(attrs)
	// Event fields.
	o.putString("uuid", ev.UUID)
	o.putString("info", ev.Info)
	if ev.Date != "" {
		o.putString("date", ev.Date)
	}
	ts := ev.Timestamp
	if changed && p.maxMod.After(ts) {
		ts = p.maxMod
	}
	if !ts.IsZero() {
		o.putInt("timestamp", ts.Unix(), true)
	}
	if _, ok := o.get("publish_timestamp"); ok || !ev.PublishTimestamp.IsZero() {
		o.putInt("publish_timestamp", unixOrZero(ev.PublishTimestamp), true)
	}
	if _, ok := o.get("published"); ok || ev.Published || !useRaw {
		o.putBool("published", ev.Published)
	}
	if ev.Distribution != DistUnset {
		o.putInt("distribution", int64(ev.Distribution), true)
	}
	if _, ok := o.get("threat_level_id"); ok || ev.ThreatLevel != 0 {
		o.putInt("threat_level_id", int64(ev.ThreatLevel), true)
	}
	if _, ok := o.get("analysis"); ok || !useRaw {
		o.putInt("analysis", int64(ev.Analysis), true)
	}
	putOrg(o, "Orgc", ev.Orgc)
	if useRaw {
		putOrg(o, "Org", ev.Org)
	}
	tags := adjustTags(ev.Tags, ev.Policy.TLP, ev.Policy.PAP, distTLP(ev.Distribution), len(ev.Raw) == 0)
	if _, ok := o.get("Tag"); ok || len(tags) > 0 {
		putTags(o, "Tag", tags)
	}
	if hadAttrs || len(attrs) > 0 {
		o.set("Attribute", joinArray(attrs))
	}
	if _, ok := o.get("attribute_count"); ok && changed {
		o.putInt("attribute_count", int64(count), true)
	}
	return o.bytes(), nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// attribute writes one source attribute of p's event: an indicator's
// (as received or updated), nothing when that indicator is not exported,
// or a context attribute as received. changed reports an update.
func (ex *mispExporter) attribute(p *eventPlan, raw json.RawMessage) (out json.RawMessage, keep, changed bool, err error) {
	uuid := strings.ToLower(uuidField(raw))
	if a, ok := p.attrs[uuid]; ok && !p.done[uuid] {
		out, err := ex.indicatorAttr(p, a, raw)
		if err != nil {
			return nil, false, false, err
		}
		ind := ex.objs.Indicators[a.ind]
		return out, true, !unchanged(*a.src, ind), nil
	}
	if p.modelled[uuid] {
		return nil, false, true, nil // its indicator is not exported
	}
	out, err = ex.withSightings(p, raw, uuid, "")
	return out, true, false, err
}

// unchanged reports whether src still describes ind: ind was not changed
// since src was recorded, or src is another organisation's statement.
func unchanged(src Source, ind Indicator) bool {
	return src.Version == ind.Version || (src.Org != "" && src.Org != ind.Origin)
}

// indicatorAttr writes the attribute of assignment a; base is the
// attribute in the source event, if any.
func (ex *mispExporter) indicatorAttr(p *eventPlan, a assignment, base json.RawMessage) (json.RawMessage, error) {
	ind := ex.objs.Indicators[a.ind]
	var uuid string
	var out json.RawMessage
	switch {
	case a.src != nil && !ex.opts.Minimal && (base != nil || len(a.src.Raw) > 0):
		uuid = a.src.ID
		p.done[uuid] = true
		if base == nil {
			base = a.src.Raw
		}
		if unchanged(*a.src, ind) {
			out = base
			break
		}
		o, err := parseJObject(base)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", uuid, err)
		}
		ex.overlayAttr(o, ind, p.ev)
		out = o.bytes()
	default:
		if a.src != nil {
			uuid = a.src.ID
			p.done[uuid] = true
		} else {
			uuid = derivedUUID("flowfed-misp-attribute", ind.ID, p.ev.UUID)
		}
		out = ex.buildAttr(uuid, ind, p.ev)
	}
	return ex.withSightings(p, out, uuid, ind.ID)
}

// attrTags returns the tags of an indicator's attribute: its labels, with
// the TLP and PAP of its policy where they differ from the event's.
func attrTags(ind Indicator, ev Event) []string {
	return adjustTags(ind.Labels, ind.Policy.TLP, ind.Policy.PAP, ev.Policy.TLP, false)
}

func (ex *mispExporter) overlayAttr(o *jobject, ind Indicator, ev Event) {
	if v, ok := o.getString("value"); !ok || func() bool {
		t, cv, err := Canonicalize(ind.Type, v)
		return err != nil || t != ind.Type || cv != ind.Value
	}() {
		o.putString("value", ind.Text())
	}
	o.putInt("timestamp", ind.Modified.Unix(), true)
	o.putBool("to_ids", !ind.Informational)
	if _, ok := o.get("comment"); ok || ind.Description != "" {
		o.putString("comment", ind.Description)
	}
	if _, ok := o.get("deleted"); ok || ind.Revoked {
		o.putBool("deleted", ind.Revoked)
	}
	putSeen(o, "first_seen", ind.FirstSeen)
	putSeen(o, "last_seen", ind.LastSeen)
	putTags(o, "Tag", attrTags(ind, ev))
}

// putSeen writes first_seen or last_seen, leaving a null or absent value
// alone when t is zero.
func putSeen(o *jobject, k string, t time.Time) {
	if t.IsZero() {
		if v, ok := o.get(k); ok && string(v) != "null" {
			o.set(k, json.RawMessage("null"))
		}
		return
	}
	o.putTime(k, t, mispTimeText, parseMISPTimeRaw)
}

func (ex *mispExporter) buildAttr(uuid string, ind Indicator, ev Event) json.RawMessage {
	typ, cat := mispTypeOf(ind.Type)
	for _, s := range ind.Sources {
		if s.Format == FormatMISP && len(s.Raw) > 0 {
			var a mispAttribute
			if json.Unmarshal(s.Raw, &a) == nil && mispTypes[a.Type] != "" {
				typ, cat = a.Type, firstNonEmpty(a.Category, cat)
				break
			}
		}
	}
	o := &jobject{}
	o.set("uuid", marshal(uuid))
	o.set("type", marshal(typ))
	o.set("category", marshal(cat))
	o.set("value", marshal(ind.Text()))
	o.set("to_ids", marshal(!ind.Informational))
	o.set("timestamp", marshal(strconv.FormatInt(ind.Modified.Unix(), 10)))
	o.set("distribution", marshal("5"))
	if ind.Description != "" {
		o.set("comment", marshal(ind.Description))
	}
	o.set("deleted", marshal(ind.Revoked))
	if !ind.FirstSeen.IsZero() {
		o.set("first_seen", marshal(mispTimeText(ind.FirstSeen)))
	}
	if !ind.LastSeen.IsZero() {
		o.set("last_seen", marshal(mispTimeText(ind.LastSeen)))
	}
	if tags := attrTags(ind, ev); len(tags) > 0 {
		putTags(o, "Tag", tags)
	}
	return o.bytes()
}

// withSightings sets the attribute's Sighting list to the sightings of
// objs that belong to it: those read from it, and for an indicator's
// first attribute those of the indicator read from no MISP attribute.
func (ex *mispExporter) withSightings(p *eventPlan, raw json.RawMessage, attrUUID, indID string) (json.RawMessage, error) {
	idx := slices.Clone(ex.sightByAttr[p.ev.UUID+"\x00"+attrUUID])
	if indID != "" {
		for _, i := range ex.sightByInd[indID] {
			if !ex.placed[i] {
				idx = append(idx, i)
			}
		}
	}
	o, err := parseJObject(raw)
	if err != nil {
		return nil, fmt.Errorf("attribute %s: %w", attrUUID, err)
	}
	_, had := o.get("Sighting")
	if len(idx) == 0 && !had {
		return raw, nil
	}
	list := make([]json.RawMessage, 0, len(idx))
	for _, i := range idx {
		ex.placed[i] = true
		list = append(list, ex.sightingJSON(ex.objs.Sightings[i], attrUUID, p.ev.UUID))
	}
	o.set("Sighting", joinArray(list))
	return o.bytes(), nil
}

func (ex *mispExporter) sightingJSON(s Sighting, attrUUID, eventUUID string) json.RawMessage {
	if !ex.opts.Minimal {
		for _, src := range s.Sources {
			if src.Format == FormatMISP && len(src.Raw) > 0 && src.Parent == attrUUID && src.Event == eventUUID {
				return src.Raw
			}
		}
	}
	at := s.LastSeen
	if at.IsZero() {
		at = s.Modified
	}
	uuid := uuidOf(s.ID)
	if uuid == "" {
		uuid = derivedUUID("flowfed-sighting", s.ID)
	}
	o := &jobject{}
	o.set("uuid", marshal(uuid))
	o.set("date_sighting", marshal(strconv.FormatInt(at.Unix(), 10)))
	o.set("type", marshal(strconv.Itoa(int(s.Kind))))
	o.set("source", marshal(""))
	o.set("attribute_uuid", marshal(attrUUID))
	if u := uuidOf(s.Observer); u != "" {
		o.set("Organisation", orgJSON(Org{UUID: u, Name: s.ObserverName}))
	}
	return o.bytes()
}

// manifestEntry writes the feed manifest entry of an exported event.
func (ex *mispExporter) manifestEntry(p *eventPlan) json.RawMessage {
	ev := p.ev
	o := &jobject{}
	if !ex.opts.Minimal && len(ev.Manifest) > 0 {
		if m, err := parseJObject(ev.Manifest); err == nil {
			o = m
		}
	}
	ts := ev.Timestamp
	if p.maxMod.After(ts) && (len(p.added) > 0 || p.changed(ex)) {
		ts = p.maxMod
	}
	putOrg(o, "Orgc", ev.Orgc)
	putTags(o, "Tag", adjustTags(ev.Tags, ev.Policy.TLP, ev.Policy.PAP, distTLP(ev.Distribution), len(ev.Raw) == 0))
	o.putString("info", ev.Info)
	o.putString("date", ev.Date)
	o.putInt("analysis", int64(ev.Analysis), false)
	o.putInt("threat_level_id", int64(ev.ThreatLevel), false)
	o.putInt("timestamp", ts.Unix(), false)
	return o.bytes()
}

// changed reports whether any indicator of the plan changed since read.
func (p *eventPlan) changed(ex *mispExporter) bool {
	for _, k := range p.order {
		a := p.attrs[k]
		if !unchanged(*a.src, ex.objs.Indicators[a.ind]) {
			return true
		}
	}
	return false
}
