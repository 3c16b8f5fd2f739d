package intel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// DefaultMaxBytes is the input size limit of the importers when
// ImportOptions.MaxBytes is 0.
const DefaultMaxBytes = 256 << 20

// ImportOptions tunes the importers. The zero value is ready to use.
type ImportOptions struct {
	// Policy is the base of every imported object's usage policy: its
	// purposes, legal basis, retention and k_min are used as they are
	// (usage.Default() fills what it leaves unset). TLP and PAP come from
	// the source; reshare is the narrower of Policy's (when set) and the
	// one the source implies.
	Policy usage.Policy
	// MaxBytes bounds the size of one input document (DefaultMaxBytes
	// when 0).
	MaxBytes int64
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if l, ok := r.(interface{ Len() int }); ok {
		// An in-memory reader: one allocation of the right size.
		n := int64(l.Len())
		if n > limit {
			return nil, fmt.Errorf("reading input: %w (limit %d bytes)", ErrTooLarge, limit)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("reading input: %w", err)
		}
		return data, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading input: %w (limit %d bytes)", ErrTooLarge, limit)
	}
	return data, nil
}

// stixTime formats a STIX timestamp: UTC, "Z", milliseconds unless the
// time has a finer part.
func stixTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format(time.RFC3339Nano)
}

// parseSTIXTime reads an RFC 3339 timestamp (STIX writes "Z"; offsets are
// accepted and converted).
func parseSTIXTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !inYearRange(t) {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", clip(s), ErrMalformed)
	}
	return t.UTC(), nil
}

func parseSTIXTimeRaw(v json.RawMessage) (time.Time, bool) {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return time.Time{}, false
	}
	t, err := parseSTIXTime(s)
	return t, err == nil
}

// stixTS is a STIX timestamp in JSON.
type stixTS struct{ time.Time }

func (t *stixTS) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b[1:n-1], '\\') < 0 && bytes.IndexByte(b[1:n-1], '"') < 0 {
		s = string(b[1 : n-1]) // the common case: no escapes
	} else if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", ErrMalformed)
	}
	v, err := parseSTIXTime(s)
	t.Time = v
	return err
}

// stixHeader holds the common properties of STIX objects.
type stixHeader struct {
	Type              string   `json:"type"`
	ID                string   `json:"id"`
	SpecVersion       string   `json:"spec_version"`
	Created           stixTS   `json:"created"`
	Modified          stixTS   `json:"modified"`
	CreatedByRef      string   `json:"created_by_ref"`
	Revoked           flexBool `json:"revoked"`
	Labels            []string `json:"labels"`
	Confidence        *int     `json:"confidence"`
	ObjectMarkingRefs []string `json:"object_marking_refs"`
	GranularMarkings  []struct {
		MarkingRef string `json:"marking_ref"`
	} `json:"granular_markings"`
}

// version is the object's version time: modified, else created.
func (h stixHeader) version() time.Time {
	if !h.Modified.IsZero() {
		return h.Modified.Time
	}
	return h.Created.Time
}

// stixObject holds the properties of the object types flowfed models
// (indicator, sighting, observed-data, identity, marking-definition), so
// that each is decoded once.
type stixObject struct {
	stixHeader
	Name        string `json:"name"`
	Description string `json:"description"`
	// indicator
	Pattern     string `json:"pattern"`
	PatternType string `json:"pattern_type"`
	ValidFrom   stixTS `json:"valid_from"`
	ValidUntil  stixTS `json:"valid_until"`
	// Informational is flowfed's mark of values not meant for detection
	// (MISP to_ids false).
	Informational flexBool `json:"x_flowfed_informational"`
	// sighting
	FirstSeen        stixTS   `json:"first_seen"`
	LastSeen         stixTS   `json:"last_seen"`
	Count            *int     `json:"count"`
	SightingOfRef    string   `json:"sighting_of_ref"`
	ObservedDataRefs []string `json:"observed_data_refs"`
	WhereSightedRefs []string `json:"where_sighted_refs"`
	Kind             string   `json:"x_flowfed_kind"`
	// observed-data
	FirstObserved  stixTS   `json:"first_observed"`
	LastObserved   stixTS   `json:"last_observed"`
	NumberObserved int      `json:"number_observed"`
	ObjectRefs     []string `json:"object_refs"`
	// identity
	IdentityClass string `json:"identity_class"`
	// marking-definition
	Definition json.RawMessage `json:"definition"`
}

// modelledTypes are the STIX types decoded into stixObject.
var modelledTypes = map[string]bool{"indicator": true, "sighting": true, "observed-data": true, "identity": true, "marking-definition": true}

// stixTypes are the object types of STIX 2.1 (section 4-7 and the meta
// objects). Custom types start with "x-".
var stixTypes = map[string]bool{
	"attack-pattern": true, "campaign": true, "course-of-action": true, "grouping": true, "identity": true,
	"incident": true, "indicator": true, "infrastructure": true, "intrusion-set": true, "location": true,
	"malware": true, "malware-analysis": true, "note": true, "observed-data": true, "opinion": true,
	"report": true, "threat-actor": true, "tool": true, "vulnerability": true,
	"relationship": true, "sighting": true,
	"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true, "email-addr": true,
	"email-message": true, "file": true, "ipv4-addr": true, "ipv6-addr": true, "mac-addr": true, "mutex": true,
	"network-traffic": true, "process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
	"language-content": true, "marking-definition": true, "extension-definition": true,
}

// stixEntry is one object of a document during import.
type stixEntry struct {
	list int    // index into the container's lists
	pos  string // "objects[3]" for problems without an id
	raw  json.RawMessage
	hdr  stixHeader
	obj  *stixObject // for modelled types
}

// stixImporter converts the objects of one document.
type stixImporter struct {
	opts    ImportOptions
	res     *ImportResult
	lists   []ObjectList
	entries []stixEntry
	tlp     map[string]usage.TLP // marking id -> TLP, from the document
	names   map[string]string    // identity id -> name
	byID    map[string]int       // indicator id -> index in res.Indicators
	byStix  map[string][]string  // STIX indicator id -> flowfed indicator ids
	sightAt map[string]int       // sighting id -> index in res.Sightings
}

// ImportSTIX reads STIX 2.1 content: a bundle, a TAXII 2.1 envelope
// ({"objects": [...]}), a TAXII server data file (API roots with
// collections of objects and manifests, as medallion keeps them), a JSON
// array of objects, or a single object.
//
// Indicators whose patterns Observables evaluates become Indicators (one
// per value; the same value twice becomes one indicator with two
// sources); sightings, identities, observed-data and marking definitions
// are modelled; every other valid object is kept in Extra. Per object,
// malformed JSON, invalid fields, unknown types and patterns that cannot
// be evaluated are reported in Problems (the last are kept in Extra); the
// valid rest is imported. The error is non-nil only when the document as
// a whole cannot be read.
func ImportSTIX(r io.Reader, opts ImportOptions) (ImportResult, error) {
	data, err := readLimited(r, opts.MaxBytes)
	if err != nil {
		return ImportResult{}, fmt.Errorf("importing STIX: %w", err)
	}
	return importSTIX(data, opts)
}

func importSTIX(data []byte, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	imp := &stixImporter{opts: opts, res: &res, tlp: map[string]usage.TLP{}, names: map[string]string{},
		byID: map[string]int{}, byStix: map[string][]string{}, sightAt: map[string]int{}}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return res, fmt.Errorf("importing STIX: %w: empty input", ErrMalformed)
	}
	var cont *Container
	switch trimmed[0] {
	case '[':
		objs, end, serr := scanArray(trimmed, 0)
		if serr == nil {
			serr = trailing(trimmed, end)
		}
		cont = &Container{Kind: ContainerList, Raw: json.RawMessage("[]"), Lists: []ObjectList{{}}}
		imp.lists = cont.Lists
		imp.addList(0, objs, serr)
	case '{':
		top, objs, serr, err := scanTop(trimmed)
		if top == nil {
			return res, fmt.Errorf("importing STIX: %w", err)
		}
		typ, _ := top.getString("type")
		_, hasObjects := top.get("objects")
		switch {
		case typ == "bundle" || typ == "" && hasObjects:
			kind, id := ContainerTAXII, ""
			if typ == "bundle" {
				kind = ContainerBundle
				id, _ = top.getString("id")
			}
			if err != nil && serr == nil {
				serr = err
			}
			cont = &Container{Kind: kind, Raw: top.bytes(), Lists: []ObjectList{{Path: []string{"objects"}, ID: id}}}
			imp.lists = cont.Lists
			imp.addList(0, objs, serr)
		case err != nil:
			return res, fmt.Errorf("importing STIX: %w", err)
		case typ == "":
			// A TAXII server data file: API roots holding collections.
			c, lists, lerr := scanServerData(top)
			if lerr != nil {
				return res, fmt.Errorf("importing STIX: %w", lerr)
			}
			cont = c
			imp.lists = cont.Lists
			for i, l := range lists {
				imp.addList(i, l, nil)
			}
		default:
			// A single object.
			imp.lists = []ObjectList{{}}
			imp.addList(0, []json.RawMessage{compact(trimmed)}, nil)
		}
	default:
		return res, fmt.Errorf("importing STIX: %w: not a JSON object or array", ErrMalformed)
	}
	imp.run()
	if cont != nil {
		cont.Lists = imp.lists
		res.Container = cont
	}
	return res, nil
}

// scanTop reads a top-level object, cutting its "objects" array into its
// elements without decoding them, so that the objects before a broken one
// are kept and each object is decoded on its own. The returned object has
// "objects" emptied. serr reports an error inside the objects array, err
// one elsewhere (top is nil when nothing could be read).
func scanTop(data []byte) (top *jobject, objs []json.RawMessage, serr, err error) {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, nil, nil, fmt.Errorf("%w: want a JSON object", ErrMalformed)
	}
	top = &jobject{}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return top, nil, nil, trailing(data, i+1)
	}
	for {
		i = skipWS(data, i)
		if i >= len(data) || data[i] != '"' {
			return top, objs, serr, fmt.Errorf("%w: want a member name at offset %d", ErrMalformed, i)
		}
		end, kerr := skipString(data, i)
		var key string
		if kerr != nil || json.Unmarshal(data[i:end], &key) != nil {
			return top, objs, serr, fmt.Errorf("%w: bad member name at offset %d", ErrMalformed, i)
		}
		i = skipWS(data, end)
		if i >= len(data) || data[i] != ':' {
			return top, objs, serr, fmt.Errorf("%w: want ':' at offset %d", ErrMalformed, i)
		}
		i = skipWS(data, i+1)
		if key == "objects" && objs == nil && i < len(data) && data[i] == '[' {
			objs, end, serr = scanArray(data, i)
			top.set("objects", json.RawMessage("[]"))
			if serr != nil {
				return top, objs, serr, nil
			}
		} else {
			end, err = skipValue(data, i)
			if err != nil {
				return top, objs, serr, fmt.Errorf("member %q: %w", key, err)
			}
			if !json.Valid(data[i:end]) {
				return top, objs, serr, fmt.Errorf("%w: member %q is not valid JSON", ErrMalformed, key)
			}
			top.set(key, bytes.Clone(data[i:end]))
		}
		i = skipWS(data, end)
		if i < len(data) && data[i] == ',' {
			i++
			continue
		}
		if i < len(data) && data[i] == '}' {
			return top, objs, serr, trailing(data, i+1)
		}
		return top, objs, serr, fmt.Errorf("%w: want ',' or '}' at offset %d", ErrMalformed, i)
	}
}

// trailing reports data after the end of the document.
func trailing(data []byte, i int) error {
	if skipWS(data, i) != len(data) {
		return fmt.Errorf("%w: data after the document", ErrMalformed)
	}
	return nil
}

// addList queues the objects of list li; serr is a syntax error that cut
// the list short.
func (imp *stixImporter) addList(li int, objs []json.RawMessage, serr error) {
	prefix := "objects"
	if len(imp.lists) > 1 {
		prefix = strings.Join(imp.lists[li].Path, ".")
	}
	imp.entries = slices.Grow(imp.entries, len(objs))
	imp.lists[li].Refs = slices.Grow(imp.lists[li].Refs, len(objs))
	for i, raw := range objs {
		e := stixEntry{list: li, pos: prefix + "[" + strconv.Itoa(i) + "]", raw: raw}
		// One decoding for the common case; the properties of the
		// modelled types only matter for those types.
		obj := new(stixObject)
		if err := json.Unmarshal(raw, obj); err == nil {
			e.hdr = obj.stixHeader
			if modelledTypes[e.hdr.Type] {
				e.obj = obj
			}
		} else if herr := json.Unmarshal(raw, &e.hdr); herr != nil || modelledTypes[e.hdr.Type] {
			imp.res.problem(imp.idOr(raw, e.pos), fmt.Errorf("%w: %v", ErrMalformed, err))
			continue
		}
		if e.hdr.Type == "" {
			imp.res.problem(imp.idOr(raw, e.pos), fmt.Errorf("%w: object without a type", ErrMalformed))
			continue
		}
		typ, _, ok := splitSTIXID(e.hdr.ID)
		if !ok || typ != e.hdr.Type {
			imp.res.problem(imp.idOr(raw, e.pos), fmt.Errorf("%w: id %q is not %s--<uuid>", ErrMalformed, clip(e.hdr.ID), e.hdr.Type))
			continue
		}
		if !stixTypes[e.hdr.Type] && !strings.HasPrefix(e.hdr.Type, "x-") {
			imp.res.problem(e.hdr.ID, fmt.Errorf("%w %q", ErrUnknownType, e.hdr.Type))
			continue
		}
		if !e.hdr.Created.IsZero() && !e.hdr.Modified.IsZero() && e.hdr.Modified.Before(e.hdr.Created.Time) {
			imp.res.problem(e.hdr.ID, fmt.Errorf("%w: modified %s is before created %s", ErrTimeOrder, stamp(e.hdr.Modified.Time), stamp(e.hdr.Created.Time)))
		}
		imp.entries = append(imp.entries, e)
		imp.lists[li].Refs = append(imp.lists[li].Refs, ObjectRef{ID: e.hdr.ID, Modified: e.hdr.version()})
	}
	if serr != nil {
		imp.res.problem(prefix+"["+strconv.Itoa(len(objs))+"]", fmt.Errorf("reading object list: %w", serr))
	}
}

// idOr returns the id of a raw object when it has a string one, else pos.
func (imp *stixImporter) idOr(raw json.RawMessage, pos string) string {
	var h struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &h) == nil {
		var s string
		if json.Unmarshal(h.ID, &s) == nil && s != "" {
			return clip(s)
		}
	}
	return pos
}

// run converts the queued objects: markings and identities first (they
// are referenced), then indicators, then the objects referring to them.
func (imp *stixImporter) run() {
	for _, e := range imp.entries {
		switch e.hdr.Type {
		case "marking-definition":
			imp.marking(e)
		case "identity":
			imp.identity(e)
		}
	}
	n := 0
	for _, e := range imp.entries {
		if e.hdr.Type == "indicator" {
			n++
		}
	}
	imp.res.Indicators = slices.Grow(imp.res.Indicators, n)
	for _, e := range imp.entries {
		if e.hdr.Type == "indicator" {
			imp.indicator(e)
		}
	}
	imp.supersede()
	for _, e := range imp.entries {
		switch e.hdr.Type {
		case "marking-definition", "identity", "indicator":
		case "sighting":
			imp.sighting(e)
		case "observed-data":
			imp.observedData(e)
		default:
			imp.extra(e)
		}
	}
	for i := range imp.res.Indicators {
		if ind := &imp.res.Indicators[i]; ind.OriginName == "" {
			ind.OriginName = imp.names[ind.Origin]
		}
	}
}

func (imp *stixImporter) listID(e stixEntry) string { return imp.lists[e.list].ID }

func (imp *stixImporter) source(e stixEntry) Source {
	return Source{Format: FormatSTIX, ID: e.hdr.ID, Event: imp.listID(e), Org: e.hdr.CreatedByRef, Modified: e.hdr.version(), Raw: e.raw}
}

// policy derives the usage policy of an object from its markings and
// labels.
func (imp *stixImporter) policy(h stixHeader) usage.Policy {
	var tlp usage.TLP
	var pap usage.PAP
	refs := slices.Clone(h.ObjectMarkingRefs)
	for _, g := range h.GranularMarkings {
		refs = append(refs, g.MarkingRef)
	}
	for _, ref := range refs {
		t, ok := tlpMarkings[ref]
		if !ok {
			t, ok = imp.tlp[ref]
		}
		if ok {
			tlp = max(tlp, t)
		}
	}
	for _, l := range h.Labels {
		tlp, pap = labelPolicy(l, tlp, pap)
	}
	return sourcePolicy(imp.opts.Policy, tlp, pap, 0)
}

// labelPolicy folds a "tlp:..." or "pap:..." label or tag into tlp and
// pap, keeping the most restrictive. Unknown TLP labels (tlp:unclear,
// tlp:ex:chr) count as RED.
func labelPolicy(l string, tlp usage.TLP, pap usage.PAP) (usage.TLP, usage.PAP) {
	v := strings.ToLower(strings.TrimSpace(l))
	switch {
	case strings.HasPrefix(v, "tlp:"):
		t, _ := usage.ParseTLP(v)
		tlp = max(tlp, t)
	case strings.HasPrefix(v, "pap:"):
		p, _ := usage.ParsePAP(v)
		pap = max(pap, p)
	}
	return tlp, pap
}

// sourcePolicy builds a usage policy from the import base and what the
// source says. tlp 0 (no label at all) is RED; a TLP in base narrows the
// source's (it never widens it); reshare 0 derives from the TLP (CLEAR and
// GREEN may go to the community, others not).
func sourcePolicy(base usage.Policy, tlp usage.TLP, pap usage.PAP, reshare usage.Reshare) usage.Policy {
	p := base
	if !tlp.Valid() {
		tlp = usage.Red
	}
	if base.TLP.Valid() {
		tlp = max(tlp, base.TLP)
	}
	p.TLP = tlp
	if pap.Valid() {
		p.PAP = pap
	}
	if reshare == 0 {
		reshare = usage.ReshareNone
		if tlp <= usage.Green {
			reshare = usage.ReshareCommunity
		}
	}
	if base.Reshare >= usage.ReshareCommunity && base.Reshare <= usage.ReshareNone {
		reshare = max(reshare, base.Reshare)
	}
	p.Reshare = reshare
	p.Purposes = slices.Clone(base.Purposes)
	return p.Normalize()
}

func (imp *stixImporter) marking(e stixEntry) {
	m := e.obj
	var def struct {
		Statement string `json:"statement"`
	}
	_ = json.Unmarshal(m.Definition, &def)
	md := MarkingDefinition{ID: m.ID, Name: m.Name, Statement: def.Statement, Created: m.Created.Time, Raw: e.raw}
	if t, ok := markingTLP(e.raw); ok {
		md.TLP = t
		imp.tlp[m.ID] = t
	}
	for _, x := range imp.res.Markings {
		if x.ID == md.ID && x.Created.Equal(md.Created) {
			return
		}
	}
	imp.res.Markings = append(imp.res.Markings, md)
}

func (imp *stixImporter) identity(e stixEntry) {
	m := e.obj
	if imp.names[m.ID] == "" {
		imp.names[m.ID] = m.Name
	}
	id := Identity{ID: m.ID, Name: m.Name, Class: m.IdentityClass, Created: m.Created.Time, Modified: m.Modified.Time, Raw: e.raw}
	for _, x := range imp.res.Identities {
		if x.ID == id.ID && x.Modified.Equal(id.Modified) {
			return
		}
	}
	imp.res.Identities = append(imp.res.Identities, id)
}

func (imp *stixImporter) extra(e stixEntry) {
	imp.res.Extra = append(imp.res.Extra, RawObject{Type: e.hdr.Type, ID: e.hdr.ID, Modified: e.hdr.version(),
		CreatedBy: e.hdr.CreatedByRef, Policy: imp.policy(e.hdr), Raw: e.raw})
}

func (imp *stixImporter) indicator(e stixEntry) {
	m := e.obj
	if m.PatternType != "" && m.PatternType != "stix" {
		imp.res.problem(m.ID, fmt.Errorf("%w: pattern_type %q (kept unmodelled)", ErrUnsupportedPattern, m.PatternType))
		imp.extra(e)
		return
	}
	p, err := ParsePattern(m.Pattern)
	if err != nil {
		imp.res.problem(m.ID, fmt.Errorf("parsing pattern: %w", err))
		return
	}
	obs, err := p.Observables()
	if err != nil {
		imp.res.problem(m.ID, fmt.Errorf("evaluating pattern: %w (kept unmodelled)", err))
		imp.extra(e)
		return
	}
	inds := make([]Indicator, 0, len(obs))
	for _, o := range obs {
		ind, err := NewIndicator(o.Type, o.Value)
		if err != nil {
			imp.res.problem(m.ID, fmt.Errorf("evaluating pattern: %w (kept unmodelled)", err))
			imp.extra(e)
			return
		}
		if !slices.ContainsFunc(inds, func(x Indicator) bool { return x.ID == ind.ID }) {
			inds = append(inds, ind)
		}
	}
	validUntil := m.ValidUntil.Time
	if !validUntil.IsZero() && !validUntil.After(m.ValidFrom.Time) {
		imp.res.problem(m.ID, fmt.Errorf("%w: valid_until %s is not after valid_from %s (valid_until dropped)",
			ErrTimeOrder, stamp(validUntil), stamp(m.ValidFrom.Time)))
		validUntil = time.Time{}
	}
	pol := imp.policy(m.stixHeader)
	src := imp.source(e)
	for i := range inds {
		ind := &inds[i]
		ind.Name, ind.Description = m.Name, m.Description
		ind.Labels = slices.Clone(m.Labels)
		if m.Confidence != nil {
			ind.Confidence = min(max(*m.Confidence, 0), 100)
		}
		ind.ValidFrom, ind.ValidUntil = m.ValidFrom.Time, validUntil
		ind.Created, ind.Modified = m.Created.Time, m.version()
		ind.Origin = m.CreatedByRef
		ind.Policy = pol
		ind.Revoked = bool(m.Revoked)
		ind.Informational = bool(m.Informational)
		ind.Sources = []Source{src}
		if err := ind.Validate(); err != nil {
			imp.res.problem(m.ID, fmt.Errorf("%w (kept unmodelled)", err))
			imp.extra(e)
			return
		}
	}
	for _, ind := range inds {
		imp.addIndicator(ind)
		if !slices.Contains(imp.byStix[m.ID], ind.ID) {
			imp.byStix[m.ID] = append(imp.byStix[m.ID], ind.ID)
		}
	}
}

// addIndicator adds ind to the result, merging it into an indicator with
// the same id (see mergeImported).
func (imp *stixImporter) addIndicator(ind Indicator) {
	addIndicator(imp.res, imp.byID, ind)
}

func addIndicator(res *ImportResult, byID map[string]int, ind Indicator) {
	if i, ok := byID[ind.ID]; ok {
		res.Indicators[i] = mergeImported(res.Indicators[i], ind)
		return
	}
	byID[ind.ID] = len(res.Indicators)
	res.Indicators = append(res.Indicators, ind)
}

// mergeImported merges two imports of the same value within one import:
// the sources of both are kept; the fields are those of the newer one when
// both come from the same originator (a later version), else those of the
// earlier-created one (the originator; the other is provenance).
func mergeImported(cur, add Indicator) Indicator {
	sources := append(slices.Clone(cur.Sources), add.Sources...)
	out := cur
	switch {
	case add.Origin == cur.Origin && add.Modified.After(cur.Modified):
		out = add
	case add.Origin != cur.Origin && add.Created.Before(cur.Created):
		out = add
	}
	if out.Original == "" && cur.Original != "" && out.ID == cur.ID {
		out.Original = cur.Original
	}
	out.Sources = sources
	return out
}

// supersede revokes values that a later version of the same STIX
// indicator no longer contains: the originator replaced them.
func (imp *stixImporter) supersede() {
	latest := map[string]time.Time{}
	for _, ind := range imp.res.Indicators {
		for _, s := range ind.Sources {
			if s.Format == FormatSTIX && s.Modified.After(latest[s.ID]) {
				latest[s.ID] = s.Modified
			}
		}
	}
	for i := range imp.res.Indicators {
		ind := &imp.res.Indicators[i]
		superseded := false
		for _, s := range ind.Sources {
			if s.Format != FormatSTIX {
				continue
			}
			if !s.Modified.Before(latest[s.ID]) {
				superseded = false
				break
			}
			superseded = true
		}
		if superseded {
			ind.Revoked = true
		}
	}
}

func (imp *stixImporter) sighting(e stixEntry) {
	m := e.obj
	if m.SightingOfRef == "" {
		imp.res.problem(m.ID, fmt.Errorf("%w: sighting without sighting_of_ref", ErrMalformed))
		return
	}
	s := Sighting{ID: m.ID, IndicatorID: m.SightingOfRef, FirstSeen: m.FirstSeen.Time, LastSeen: m.LastSeen.Time,
		Created: m.Created.Time, Modified: m.version(), ObservedData: slices.Clone(m.ObservedDataRefs),
		Policy: imp.policy(m.stixHeader), Sources: []Source{imp.source(e)}}
	if ids := imp.byStix[m.SightingOfRef]; len(ids) == 1 {
		s.IndicatorID = ids[0]
	}
	if m.Count != nil {
		if *m.Count < 0 {
			imp.res.problem(m.ID, fmt.Errorf("%w: negative count %d", ErrMalformed, *m.Count))
			return
		}
		s.Count = *m.Count
	}
	if len(m.WhereSightedRefs) > 0 {
		s.Observer = m.WhereSightedRefs[0]
	}
	s.ObserverName = imp.names[s.Observer]
	if m.Kind != "" {
		k, err := ParseSightingKind(m.Kind)
		if err != nil {
			imp.res.problem(m.ID, err)
		}
		s.Kind = k
	}
	if !s.FirstSeen.IsZero() && !s.LastSeen.IsZero() && s.LastSeen.Before(s.FirstSeen) {
		imp.res.problem(m.ID, fmt.Errorf("%w: last_seen %s is before first_seen %s (last_seen dropped)",
			ErrTimeOrder, stamp(s.LastSeen), stamp(s.FirstSeen)))
		s.LastSeen = time.Time{}
	}
	if i, ok := imp.sightAt[s.ID]; ok {
		cur := &imp.res.Sightings[i]
		srcs := append(cur.Sources, s.Sources...)
		if s.Modified.After(cur.Modified) {
			*cur = s
		}
		cur.Sources = srcs
		return
	}
	imp.sightAt[s.ID] = len(imp.res.Sightings)
	imp.res.Sightings = append(imp.res.Sightings, s)
}

func (imp *stixImporter) observedData(e stixEntry) {
	m := e.obj
	if !m.FirstObserved.IsZero() && !m.LastObserved.IsZero() && m.LastObserved.Before(m.FirstObserved.Time) {
		imp.res.problem(m.ID, fmt.Errorf("%w: last_observed %s is before first_observed %s",
			ErrTimeOrder, stamp(m.LastObserved.Time), stamp(m.FirstObserved.Time)))
	}
	imp.res.ObservedData = append(imp.res.ObservedData, ObservedData{ID: m.ID, CreatedBy: m.CreatedByRef,
		Created: m.Created.Time, Modified: m.version(), FirstObserved: m.FirstObserved.Time, LastObserved: m.LastObserved.Time,
		NumberObserved: m.NumberObserved, ObjectRefs: slices.Clone(m.ObjectRefs), Policy: imp.policy(m.stixHeader), Raw: e.raw})
}

// Import reads a STIX or MISP document, telling them apart by their shape:
// MISP events ({"Event": ...}, bare events with "Attribute" or "info"),
// search responses and sharing group lists go to ImportMISP, everything
// else to ImportSTIX. For a MISP feed directory use ImportMISPFeed.
func Import(r io.Reader, opts ImportOptions) (ImportResult, error) {
	data, err := readLimited(r, opts.MaxBytes)
	if err != nil {
		return ImportResult{}, fmt.Errorf("importing: %w", err)
	}
	if isMISP(data) {
		var res ImportResult
		if err := newMISPImporter(opts, &res).document(data); err != nil {
			return res, fmt.Errorf("importing MISP: %w", err)
		}
		return res, nil
	}
	return importSTIX(data, opts)
}

// isMISP looks at the top-level member names (or those of the first list
// element) for the marks of MISP's core format.
func isMISP(data []byte) bool {
	b := bytes.TrimSpace(data)
	if len(b) > 0 && b[0] == '[' {
		elems, _, _ := scanArray(b, 0)
		if len(elems) == 0 {
			return false
		}
		b = elems[0]
	}
	top, _, _, err := scanTop(b)
	if top == nil || err != nil && len(top.m) == 0 {
		return false
	}
	for _, k := range []string{"Event", "response", "SharingGroup", "Attribute", "Orgc", "info"} {
		if _, ok := top.get(k); ok {
			return true
		}
	}
	return false
}
