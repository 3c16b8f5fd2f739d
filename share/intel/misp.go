package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// mispTypes maps the MISP attribute types flowfed models to indicator
// types. ip-src, ip-dst and ip take addresses and CIDR networks alike.
var mispTypes = map[string]Type{
	"ip-src": TypeIPv4, "ip-dst": TypeIPv4, "ip": TypeIPv4,
	"domain": TypeDomain, "hostname": TypeDomain,
	"url": TypeURL, "uri": TypeURL,
	"email": TypeEmail, "email-src": TypeEmail, "email-dst": TypeEmail,
	"md5": TypeMD5, "sha1": TypeSHA1, "sha256": TypeSHA256, "sha512": TypeSHA512,
	"filename": TypeFilename, "regkey": TypeRegKey,
	"ja3-fingerprint-md5": TypeJA3, "ja4-fingerprint": TypeJA4,
}

// mispTypeOf returns the MISP type and category written for an indicator
// type when no source says otherwise.
func mispTypeOf(t Type) (typ, category string) {
	switch t {
	case TypeIPv4, TypeIPv6, TypeCIDR:
		return "ip-dst", "Network activity"
	case TypeDomain:
		return "domain", "Network activity"
	case TypeURL:
		return "url", "Network activity"
	case TypeEmail:
		return "email", "Payload delivery"
	case TypeFilename:
		return "filename", "Payload delivery"
	case TypeRegKey:
		return "regkey", "Persistence mechanism"
	case TypeJA3:
		return "ja3-fingerprint-md5", "Network activity"
	case TypeJA4:
		return "ja4-fingerprint", "Network activity"
	}
	return string(t), "Payload delivery"
}

// mispTime reads MISP's first_seen and last_seen: RFC 3339 with
// microseconds ("2023-11-01T00:00:00.000000+00:00"), or null.
type mispTime struct{ time.Time }

func (t *mispTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", ErrMalformed)
	}
	if s == nil || *s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil || !inYearRange(v) {
		return fmt.Errorf("time %q: %w", clip(*s), ErrMalformed)
	}
	t.Time = v.UTC()
	return nil
}

// mispTimeText writes a MISP first_seen/last_seen value.
func mispTimeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000-07:00") }

func parseMISPTimeRaw(v json.RawMessage) (time.Time, bool) {
	var t mispTime
	if json.Unmarshal(v, &t) != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t.Time, true
}

func unixText(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// maxUnix is 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const maxUnix = 253402300799

// unixTime reads MISP's Unix seconds; 0 and values beyond the year 9999
// read as unset.
func unixTime(n flexInt) time.Time {
	if n <= 0 || n > maxUnix {
		return time.Time{}
	}
	return time.Unix(int64(n), 0).UTC()
}

type mispOrg struct {
	ID   flexString `json:"id"`
	Name string     `json:"name"`
	UUID string     `json:"uuid"`
}

func (o *mispOrg) org() Org {
	if o == nil {
		return Org{}
	}
	return Org{UUID: strings.ToLower(o.UUID), Name: o.Name}
}

type mispTag struct {
	Name string `json:"name"`
}

func tagNames(tags []mispTag) []string {
	var out []string
	for _, t := range tags {
		out = append(out, t.Name)
	}
	return out
}

type mispSighting struct {
	UUID          string     `json:"uuid"`
	DateSighting  flexInt    `json:"date_sighting"`
	Type          flexInt    `json:"type"`
	Source        string     `json:"source"`
	Organisation  *mispOrg   `json:"Organisation"`
	AttributeUUID string     `json:"attribute_uuid"`
	OrgID         flexString `json:"org_id"`
}

type mispAttribute struct {
	UUID           string         `json:"uuid"`
	Type           string         `json:"type"`
	Category       string         `json:"category"`
	Value          flexString     `json:"value"`
	ToIDS          flexBool       `json:"to_ids"`
	Timestamp      flexInt        `json:"timestamp"`
	Comment        string         `json:"comment"`
	Deleted        flexBool       `json:"deleted"`
	Distribution   *flexInt       `json:"distribution"`
	SharingGroupID flexString     `json:"sharing_group_id"`
	ObjectRelation *string        `json:"object_relation"`
	FirstSeen      mispTime       `json:"first_seen"`
	LastSeen       mispTime       `json:"last_seen"`
	Tag            []mispTag      `json:"Tag"`
	Sighting       []mispSighting `json:"Sighting"`
}

type mispObject struct {
	UUID         string            `json:"uuid"`
	Name         string            `json:"name"`
	Distribution *flexInt          `json:"distribution"`
	FirstSeen    mispTime          `json:"first_seen"`
	LastSeen     mispTime          `json:"last_seen"`
	Attribute    []json.RawMessage `json:"Attribute"`
}

type mispEvent struct {
	UUID             string            `json:"uuid"`
	Info             string            `json:"info"`
	Date             string            `json:"date"`
	Timestamp        flexInt           `json:"timestamp"`
	PublishTimestamp flexInt           `json:"publish_timestamp"`
	Published        flexBool          `json:"published"`
	Distribution     *flexInt          `json:"distribution"`
	SharingGroupID   flexString        `json:"sharing_group_id"`
	ThreatLevelID    flexInt           `json:"threat_level_id"`
	Analysis         flexInt           `json:"analysis"`
	Org              *mispOrg          `json:"Org"`
	Orgc             *mispOrg          `json:"Orgc"`
	Tag              []mispTag         `json:"Tag"`
	Attribute        []json.RawMessage `json:"Attribute"`
	Object           []json.RawMessage `json:"Object"`
	SharingGroup     *struct {
		UUID string `json:"uuid"`
	} `json:"SharingGroup"`
}

func distOf(d *flexInt) Distribution {
	if d == nil || *d < 0 || *d > 5 {
		return DistUnset
	}
	return Distribution(*d)
}

// distRank orders distributions from narrowest to widest.
func distRank(d Distribution) int {
	switch d {
	case DistOrg:
		return 0
	case DistSharingGroup:
		return 1
	case DistCommunity:
		return 2
	case DistConnected:
		return 3
	case DistAll:
		return 4
	}
	return 5
}

// effectiveDist is the distribution of an attribute in an event: the
// narrower of the two (5, inherit, and unset take the event's).
func effectiveDist(event, attr Distribution) Distribution {
	if attr == DistInherit || attr == DistUnset {
		return event
	}
	if event == DistUnset || distRank(attr) < distRank(event) {
		return attr
	}
	return event
}

// distReshare maps a distribution to the reshare scope: organisation and
// community only stay with the recipient; connected communities and
// sharing groups allow one more hop within the group; all communities is
// the whole federation.
func distReshare(d Distribution) usage.Reshare {
	switch d {
	case DistOrg, DistCommunity:
		return usage.ReshareNone
	case DistConnected, DistSharingGroup:
		return usage.ReshareGroup
	case DistAll:
		return usage.ReshareCommunity
	}
	return 0
}

// distTLP is the TLP implied by a distribution when no tlp tag is present.
func distTLP(d Distribution) usage.TLP {
	switch d {
	case DistOrg:
		return usage.AmberStrict
	case DistCommunity, DistConnected, DistSharingGroup:
		return usage.Amber
	case DistAll:
		return usage.Green
	}
	return 0
}

// mispPolicy derives a usage policy from tags and a distribution.
func mispPolicy(base usage.Policy, tags []string, d Distribution) usage.Policy {
	var tlp usage.TLP
	var pap usage.PAP
	for _, t := range tags {
		tlp, pap = labelPolicy(t, tlp, pap)
	}
	if tlp == 0 {
		tlp = distTLP(d)
	}
	return sourcePolicy(base, tlp, pap, distReshare(d))
}

// mispImporter converts MISP events of one import.
type mispImporter struct {
	opts   ImportOptions
	res    *ImportResult
	byID   map[string]int  // indicator id -> index
	idents map[string]bool // identity ids added
	sights map[string]bool // sighting ids added
}

func newMISPImporter(opts ImportOptions, res *ImportResult) *mispImporter {
	return &mispImporter{opts: opts, res: res, byID: map[string]int{}, idents: map[string]bool{}, sights: map[string]bool{}}
}

// ImportMISP reads MISP core-format JSON: an event ({"Event": {...}} or
// the bare event object), a REST search response ({"response": [...]}),
// a list of events, or a list of sharing groups ([{"SharingGroup": ...}]).
//
// Attributes of the types in the package documentation become Indicators
// (with the attribute as their source), their Sighting entries Sightings;
// everything else stays in the event's Raw and is written back by the MISP
// exporters. Per attribute or event, malformed JSON, invalid values and
// times out of order are reported in Problems; the valid rest is imported.
// The error is non-nil only when the document cannot be read at all.
func ImportMISP(r io.Reader, opts ImportOptions) (ImportResult, error) {
	data, err := readLimited(r, opts.MaxBytes)
	if err != nil {
		return ImportResult{}, fmt.Errorf("importing MISP: %w", err)
	}
	var res ImportResult
	imp := newMISPImporter(opts, &res)
	if err := imp.document(data); err != nil {
		return res, fmt.Errorf("importing MISP: %w", err)
	}
	return res, nil
}

// document dispatches on the shape of a MISP document.
func (imp *mispImporter) document(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("%w: empty input", ErrMalformed)
	}
	if data[0] == '[' {
		elems, err := parseJArray(data)
		if err != nil {
			return err
		}
		for i, e := range elems {
			imp.element(e, "["+strconv.Itoa(i)+"]")
		}
		return nil
	}
	o, err := parseJObject(data)
	if err != nil {
		return err
	}
	if resp, ok := o.get("response"); ok {
		elems, err := parseJArray(resp)
		if err != nil {
			return fmt.Errorf("response: %w", err)
		}
		for i, e := range elems {
			imp.element(e, "response["+strconv.Itoa(i)+"]")
		}
		return nil
	}
	if _, ok := o.get("Event"); !ok {
		if _, ok := o.get("SharingGroup"); !ok && !looksLikeEvent(o) {
			return fmt.Errorf("%w: neither an event, a response nor sharing groups", ErrMalformed)
		}
	}
	imp.element(data, "")
	return nil
}

func looksLikeEvent(o *jobject) bool {
	_, a := o.get("Attribute")
	_, i := o.get("info")
	_, u := o.get("uuid")
	return u && (a || i)
}

// element imports one event or sharing group of a document.
func (imp *mispImporter) element(raw json.RawMessage, pos string) {
	o, err := parseJObject(raw)
	if err != nil {
		imp.res.problem(pos, err)
		return
	}
	if ev, ok := o.get("Event"); ok {
		imp.event(ev, false, pos)
		return
	}
	if _, ok := o.get("SharingGroup"); ok {
		imp.sharingGroup(raw, pos)
		return
	}
	imp.event(raw, true, pos)
}

func (imp *mispImporter) sharingGroup(raw json.RawMessage, pos string) {
	var m struct {
		SharingGroup struct {
			ID            flexString `json:"id"`
			UUID          string     `json:"uuid"`
			Name          string     `json:"name"`
			Releasability string     `json:"releasability"`
		} `json:"SharingGroup"`
		SharingGroupOrg []struct {
			Extend       flexBool `json:"extend"`
			Organisation *mispOrg `json:"Organisation"`
		} `json:"SharingGroupOrg"`
		SharingGroupServer []struct {
			AllOrgs flexBool `json:"all_orgs"`
		} `json:"SharingGroupServer"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		imp.res.problem(pos, fmt.Errorf("sharing group: %w: %v", ErrMalformed, err))
		return
	}
	g := SharingGroup{ID: string(m.SharingGroup.ID), UUID: strings.ToLower(m.SharingGroup.UUID), Name: m.SharingGroup.Name,
		Releasability: m.SharingGroup.Releasability, Raw: compact(raw)}
	for _, so := range m.SharingGroupOrg {
		g.Orgs = append(g.Orgs, SharingGroupOrg{Org: so.Organisation.org(), Extend: bool(so.Extend)})
	}
	for _, s := range m.SharingGroupServer {
		g.AllOrgs = g.AllOrgs || bool(s.AllOrgs)
	}
	imp.res.SharingGroups = append(imp.res.SharingGroups, g)
}

// identity records a MISP organisation as an Identity.
func (imp *mispImporter) identity(o Org, at time.Time) {
	id := o.IdentityID()
	if id == "" || imp.idents[id] {
		return
	}
	imp.idents[id] = true
	imp.res.Identities = append(imp.res.Identities, Identity{ID: id, Name: o.Name, Class: "organization", Created: at, Modified: at})
}

// event imports one event object; bare is set when it came without the
// {"Event": ...} wrapper.
func (imp *mispImporter) event(raw json.RawMessage, bare bool, pos string) *Event {
	var m mispEvent
	if err := json.Unmarshal(raw, &m); err != nil {
		imp.res.problem(firstNonEmpty(uuidField(raw), pos, "Event"), fmt.Errorf("event: %w: %v", ErrMalformed, err))
		return nil
	}
	if !isUUID(m.UUID) {
		imp.res.problem(firstNonEmpty(clip(m.UUID), pos, "Event"), fmt.Errorf("event: %w: uuid %q is not a UUID", ErrMalformed, clip(m.UUID)))
		return nil
	}
	ev := Event{UUID: strings.ToLower(m.UUID), Info: m.Info, Date: m.Date, Timestamp: unixTime(m.Timestamp),
		PublishTimestamp: unixTime(m.PublishTimestamp), Published: bool(m.Published), Distribution: distOf(m.Distribution),
		ThreatLevel: int(m.ThreatLevelID), Analysis: int(m.Analysis), Org: m.Org.org(), Orgc: m.Orgc.org(),
		Tags: tagNames(m.Tag), Raw: compact(raw), Bare: bare}
	if ev.Distribution == DistSharingGroup {
		ev.SharingGroup = sharingGroupRef(m.SharingGroup, m.SharingGroupID)
	}
	ev.Policy = mispPolicy(imp.opts.Policy, ev.Tags, ev.Distribution)
	imp.identity(ev.Orgc, ev.Timestamp)
	imp.identity(ev.Org, ev.Timestamp)
	for i, a := range m.Attribute {
		imp.attribute(&ev, a, nil, fmt.Sprintf("%s Attribute[%d]", ev.UUID, i))
	}
	for i, oraw := range m.Object {
		var obj mispObject
		if err := json.Unmarshal(oraw, &obj); err != nil {
			imp.res.problem(firstNonEmpty(uuidField(oraw), fmt.Sprintf("%s Object[%d]", ev.UUID, i)), fmt.Errorf("object: %w: %v", ErrMalformed, err))
			continue
		}
		for j, a := range obj.Attribute {
			imp.attribute(&ev, a, &obj, fmt.Sprintf("%s Object[%d] Attribute[%d]", ev.UUID, i, j))
		}
	}
	imp.res.Events = append(imp.res.Events, ev)
	return &imp.res.Events[len(imp.res.Events)-1]
}

func sharingGroupRef(sg *struct {
	UUID string `json:"uuid"`
}, id flexString) string {
	if sg != nil && isUUID(sg.UUID) {
		return strings.ToLower(sg.UUID)
	}
	if id != "" && id != "0" {
		return "id:" + string(id)
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// uuidField returns the "uuid" member of a raw object, if it is a string.
func uuidField(raw json.RawMessage) string {
	var h struct {
		UUID json.RawMessage `json:"uuid"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(h.UUID, &s) != nil {
		return ""
	}
	return clip(s)
}

// attribute imports one attribute of ev (of obj when non-nil).
func (imp *mispImporter) attribute(ev *Event, raw json.RawMessage, obj *mispObject, pos string) {
	var a mispAttribute
	if err := json.Unmarshal(raw, &a); err != nil {
		imp.res.problem(firstNonEmpty(uuidField(raw), pos), fmt.Errorf("attribute: %w: %v", ErrMalformed, err))
		return
	}
	if !isUUID(a.UUID) {
		imp.res.problem(firstNonEmpty(clip(a.UUID), pos), fmt.Errorf("attribute: %w: uuid %q is not a UUID", ErrMalformed, clip(a.UUID)))
		return
	}
	uuid := strings.ToLower(a.UUID)
	parent := ""
	dist := distOf(a.Distribution)
	first, last := a.FirstSeen.Time, a.LastSeen.Time
	if obj != nil {
		parent = strings.ToLower(obj.UUID)
		dist = effectiveDist(distOf(obj.Distribution), dist)
		if first.IsZero() && last.IsZero() {
			first, last = obj.FirstSeen.Time, obj.LastSeen.Time
		}
	}
	dist = effectiveDist(ev.Distribution, dist)
	tags := tagNames(a.Tag)
	pol := mispPolicy(imp.opts.Policy, append(slices.Clone(ev.Tags), tags...), dist)
	ts := unixTime(a.Timestamp)
	if ts.IsZero() {
		ts = ev.Timestamp
	}
	target := uuid // what the attribute's sightings point at
	if t, ok := mispIndicatorType(a, obj); ok {
		ind, err := NewIndicator(t, string(a.Value))
		if err != nil {
			imp.res.problem(uuid, fmt.Errorf("attribute of type %s: %w (kept as context)", a.Type, err))
		} else {
			if !first.IsZero() && !last.IsZero() && last.Before(first) {
				where := "attribute"
				if a.FirstSeen.IsZero() && a.LastSeen.IsZero() && obj != nil {
					where = "object " + parent
				}
				imp.res.problem(uuid, fmt.Errorf("%w: %s last_seen %s is before first_seen %s (last_seen not used)",
					ErrTimeOrder, where, stamp(last), stamp(first)))
				last = time.Time{}
			}
			ind.Description = a.Comment
			ind.Labels = tags
			ind.FirstSeen, ind.LastSeen = first, last
			ind.ValidFrom = ts
			if !first.IsZero() {
				ind.ValidFrom = first
			}
			ind.Created, ind.Modified = ts, ts
			ind.Origin, ind.OriginName = ev.Orgc.IdentityID(), ev.Orgc.Name
			ind.Policy = pol
			ind.Informational = !bool(a.ToIDS)
			ind.Revoked = bool(a.Deleted)
			if dist == DistSharingGroup {
				ind.SharingGroup = ev.SharingGroup
				if a.SharingGroupID != "" && a.SharingGroupID != "0" {
					ind.SharingGroup = "id:" + string(a.SharingGroupID)
				}
			}
			ind.Sources = []Source{{Format: FormatMISP, ID: uuid, Event: ev.UUID, Parent: parent, Org: ind.Origin, Modified: ts, Raw: compact(raw)}}
			if err := ind.Validate(); err != nil {
				imp.res.problem(uuid, fmt.Errorf("attribute of type %s: %w (kept as context)", a.Type, err))
			} else {
				addIndicator(imp.res, imp.byID, ind)
				target = ind.ID
				ev.Modelled = append(ev.Modelled, uuid)
			}
		}
	}
	for i, s := range a.Sighting {
		imp.sighting(ev, uuid, target, s, raw, i)
	}
}

// mispIndicatorType returns the indicator type of an attribute, if it is
// one flowfed models. A "text" attribute that is the ja4-fingerprint of an
// object counts when its value is a JA4 TLS fingerprint.
func mispIndicatorType(a mispAttribute, obj *mispObject) (Type, bool) {
	if t, ok := mispTypes[a.Type]; ok {
		return t, true
	}
	if obj != nil && a.ObjectRelation != nil && *a.ObjectRelation == "ja4-fingerprint" && a.Type == "text" {
		if _, _, err := Canonicalize(TypeJA4, string(a.Value)); err == nil {
			return TypeJA4, true
		}
	}
	return "", false
}

// sighting imports the i-th MISP sighting of attribute attrUUID.
func (imp *mispImporter) sighting(ev *Event, attrUUID, target string, m mispSighting, attrRaw json.RawMessage, i int) {
	var raws struct {
		Sighting []json.RawMessage `json:"Sighting"`
	}
	_ = json.Unmarshal(attrRaw, &raws)
	var raw json.RawMessage
	if i < len(raws.Sighting) {
		raw = compact(raws.Sighting[i])
	}
	if m.Type < 0 || m.Type > 2 {
		imp.res.problem(firstNonEmpty(m.UUID, attrUUID), fmt.Errorf("sighting: %w: type %d (want 0, 1 or 2)", ErrMalformed, m.Type))
		return
	}
	at := unixTime(m.DateSighting)
	observer := m.Organisation.org()
	imp.identity(observer, at)
	s := Sighting{IndicatorID: target, Count: 1, FirstSeen: at, LastSeen: at, Observer: observer.IdentityID(),
		ObserverName: observer.Name, Kind: SightingKind(m.Type), Created: at, Modified: at, Policy: ev.Policy}
	if isUUID(m.UUID) {
		s.ID = "sighting--" + strings.ToLower(m.UUID)
	} else {
		s.ID = SightingID(target, s.Observer, s.Kind, at)
	}
	if imp.sights[s.ID] {
		return
	}
	imp.sights[s.ID] = true
	s.Sources = []Source{{Format: FormatMISP, ID: strings.ToLower(m.UUID), Event: ev.UUID, Parent: attrUUID, Org: s.Observer, Modified: at, Raw: raw}}
	imp.res.Sightings = append(imp.res.Sightings, s)
}

// ManifestEntry is one event of a MISP feed's manifest.json.
type ManifestEntry struct {
	UUID        string
	Info        string
	Date        string
	Orgc        Org
	Tags        []string
	Timestamp   time.Time
	ThreatLevel int
	Analysis    int
	Raw         json.RawMessage
}

// ParseMISPManifest reads a feed's manifest.json: an object from event
// UUID to summary, in file order. Numbers may be JSON strings. An entry
// whose key is not a UUID is an error (the key names a file).
func ParseMISPManifest(data []byte) ([]ManifestEntry, error) {
	o, err := parseJObject(bytes.TrimSpace(data))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	out := make([]ManifestEntry, 0, len(o.m))
	for _, m := range o.m {
		if !isUUID(m.key) {
			return nil, fmt.Errorf("parsing manifest: %w: key %q is not an event UUID", ErrMalformed, clip(m.key))
		}
		var e struct {
			Info          string    `json:"info"`
			Date          string    `json:"date"`
			Orgc          *mispOrg  `json:"Orgc"`
			Tag           []mispTag `json:"Tag"`
			Timestamp     flexInt   `json:"timestamp"`
			ThreatLevelID flexInt   `json:"threat_level_id"`
			Analysis      flexInt   `json:"analysis"`
		}
		if err := json.Unmarshal(m.val, &e); err != nil {
			return nil, fmt.Errorf("parsing manifest: event %s: %w: %v", m.key, ErrMalformed, err)
		}
		out = append(out, ManifestEntry{UUID: strings.ToLower(m.key), Info: e.Info, Date: e.Date, Orgc: e.Orgc.org(),
			Tags: tagNames(e.Tag), Timestamp: unixTime(e.Timestamp), ThreatLevel: int(e.ThreatLevelID),
			Analysis: int(e.Analysis), Raw: compact(m.val)})
	}
	return out, nil
}

// ImportMISPFeed reads a MISP feed directory: manifest.json and one
// <uuid>.json per event it lists. See ImportMISPFeedFS.
func ImportMISPFeed(dir string, opts ImportOptions) (ImportResult, error) {
	return ImportMISPFeedFS(os.DirFS(dir), opts)
}

// ImportMISPFeedFS reads a MISP feed from fsys. A manifest that cannot be
// read is an error; an event file that is missing, malformed or holds
// another event than its name says is a Problem under the event UUID, and
// the other events are imported. The same value in several events
// becomes one indicator with a source per event.
func ImportMISPFeedFS(fsys fs.FS, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	mdata, err := readFSFile(fsys, "manifest.json", opts.MaxBytes)
	if err != nil {
		return res, fmt.Errorf("importing MISP feed: %w", err)
	}
	entries, err := ParseMISPManifest(mdata)
	if err != nil {
		return res, fmt.Errorf("importing MISP feed: %w", err)
	}
	imp := newMISPImporter(opts, &res)
	for _, e := range entries {
		data, err := readFSFile(fsys, e.UUID+".json", opts.MaxBytes)
		if err != nil {
			res.problem(e.UUID, err)
			continue
		}
		o, err := parseJObject(bytes.TrimSpace(data))
		if err != nil {
			res.problem(e.UUID, fmt.Errorf("reading %s.json: %w", e.UUID, err))
			continue
		}
		raw, wrapped := o.get("Event")
		if !wrapped {
			raw = data
		}
		n := len(res.Events)
		ev := imp.event(raw, !wrapped, e.UUID)
		if ev == nil {
			continue
		}
		if ev.UUID != e.UUID {
			res.problem(e.UUID, fmt.Errorf("%w: %s.json holds event %s", ErrMalformed, e.UUID, ev.UUID))
		}
		res.Events[n].Manifest = e.Raw
	}
	return res, nil
}

func readFSFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()
	data, err := readLimited(f, limit)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}
