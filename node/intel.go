package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/pseudo"
	"github.com/flowfed/flowfed/share/usage"
)

// IntelSummary reports an import.
type IntelSummary struct {
	Indicators, Updated, Linked, Unchanged, Sightings int
	// Problems are the objects not imported, each with its id.
	Problems []intel.Problem
	// Events, Identities and SharingGroups count the context objects kept
	// with the import (MISP events, creator organisations, sharing groups).
	Events, Identities, SharingGroups int
	// Kept names ("type id") the objects of types flowfed does not model
	// (STIX malware, relationships, custom objects...): stored as received
	// and given back by exports, but not indicators or sightings here.
	Kept []string
	// Narrowed names the indicators whose TLP a linked source made
	// stricter ("id TLP").
	Narrowed []string `json:",omitempty"`
}

// intelContext is what an import keeps besides indicators and sightings, so
// that exports give every object back.
type intelContext struct {
	Identities    []intel.Identity          `json:"identities,omitempty"`
	ObservedData  []intel.ObservedData      `json:"observed_data,omitempty"`
	Markings      []intel.MarkingDefinition `json:"markings,omitempty"`
	Extra         []intel.RawObject         `json:"extra,omitempty"`
	Events        []intel.Event             `json:"events,omitempty"`
	SharingGroups []intel.SharingGroup      `json:"sharing_groups,omitempty"`
	Container     *intel.Container          `json:"container,omitempty"`
}

// fixRaw undoes what JSON does to an absent object: a nil json.RawMessage
// comes back as the text null, which exporters would write out.
func (c *intelContext) fixRaw() {
	fix := func(r *json.RawMessage) {
		if string(*r) == "null" {
			*r = nil
		}
	}
	for i := range c.Identities {
		fix(&c.Identities[i].Raw)
	}
	for i := range c.ObservedData {
		fix(&c.ObservedData[i].Raw)
	}
	for i := range c.Markings {
		fix(&c.Markings[i].Raw)
	}
	for i := range c.Extra {
		fix(&c.Extra[i].Raw)
	}
	for i := range c.Events {
		fix(&c.Events[i].Raw)
		fix(&c.Events[i].Manifest)
	}
	for i := range c.SharingGroups {
		fix(&c.SharingGroups[i].Raw)
	}
	if c.Container != nil {
		fix(&c.Container.Raw)
	}
}

// ImportIntel reads a STIX 2.1 bundle, a MISP event or (path a directory) a
// MISP feed, and stores its indicators and sightings as versions of the
// stored ones: the same indicator from another source is linked (every
// source kept), an update by another organisation than the originator is
// refused. Objects that cannot be read are reported with their id; the rest
// is stored in one transaction, so a failed import changes nothing.
//
// An indicator whose source names no creator is taken as org's own.
func ImportIntel(st *store.Store, path string, base usage.Policy, org string) (IntelSummary, error) {
	var sum IntelSummary
	opts := intel.ImportOptions{Policy: base}
	var res intel.ImportResult
	var raw []byte
	fi, err := os.Stat(path)
	if err != nil {
		return sum, err
	}
	if !fi.IsDir() && filepath.Base(path) == "manifest.json" {
		return sum, fmt.Errorf("%s is the manifest of a MISP feed: import the feed's directory (flowfed intel import %s)", path, filepath.Dir(path))
	}
	if fi.IsDir() {
		// A directory is a MISP feed: its manifest lists the events.
		if _, err := os.Stat(filepath.Join(path, "manifest.json")); errors.Is(err, fs.ErrNotExist) {
			return sum, fmt.Errorf("%s is a directory without manifest.json: a directory is read as a MISP feed (manifest.json and one JSON file per event); import STIX bundles and MISP events one file at a time", path)
		}
		res, err = intel.ImportMISPFeed(path, opts)
		raw = []byte("feed:" + filepath.Clean(path))
	} else {
		raw, err = os.ReadFile(path)
		if err == nil {
			res, err = intel.Import(bytes.NewReader(raw), opts)
		}
	}
	if err != nil {
		return sum, fmt.Errorf("importing %s: %w", path, err)
	}
	sum.Problems = res.Problems
	reported := map[string]bool{}
	for _, p := range res.Problems {
		reported[p.ObjectID] = true
	}
	for _, o := range res.Extra {
		if !reported[o.ID] {
			sum.Kept = append(sum.Kept, o.Type+" "+o.ID)
			reported[o.ID] = true // versions of one object: listed once
		}
	}
	inds := map[string][]byte{}
	for _, in := range res.Indicators {
		if in.Origin == "" {
			in.Origin, in.OriginName = org, org
		}
		cur, have, err := storedIndicator(st, in.ID)
		if err != nil {
			return sum, err
		}
		var next intel.Indicator
		switch {
		case !have:
			next, err = intel.Apply(nil, in, in.Origin)
			sum.Indicators++
		case cur.Origin != in.Origin:
			next, err = intel.Link(cur, in)
			sum.Linked++
			if err == nil && next.Policy.TLP > cur.Policy.TLP {
				sum.Narrowed = append(sum.Narrowed, next.ID+" "+next.Policy.TLP.String())
			}
		default:
			next, err = intel.Apply(&cur, in, in.Origin)
			if errors.Is(err, intel.ErrStale) {
				sum.Unchanged++
				continue
			}
			sum.Updated++
		}
		if err != nil {
			sum.Problems = append(sum.Problems, intel.Problem{ObjectID: in.ID, Err: err})
			continue
		}
		inds[next.ID] = next.Encode()
	}
	sights := map[string][]byte{}
	for _, s := range res.Sightings {
		sights[s.ID] = s.Encode()
		sum.Sightings++
	}
	sum.Events, sum.Identities, sum.SharingGroups = len(res.Events), len(res.Identities), len(res.SharingGroups)
	ctx := intelContext{Identities: res.Identities, ObservedData: res.ObservedData, Markings: res.Markings, Extra: res.Extra,
		Events: res.Events, SharingGroups: res.SharingGroups, Container: res.Container}
	doc, err := json.Marshal(ctx)
	if err != nil {
		return sum, fmt.Errorf("keeping the import's context: %w", err)
	}
	h := sha256.Sum256(raw)
	if err := st.PutIntelDoc("import-"+hex.EncodeToString(h[:16]), doc, inds, sights); err != nil {
		return sum, err
	}
	return sum, nil
}

func storedIndicator(st *store.Store, key string) (intel.Indicator, bool, error) {
	b, err := st.Indicator(key)
	if errors.Is(err, store.ErrNotFound) {
		return intel.Indicator{}, false, nil
	}
	if err != nil {
		return intel.Indicator{}, false, err
	}
	ind, err := intel.DecodeIndicator(b)
	if err != nil {
		return intel.Indicator{}, false, fmt.Errorf("stored indicator %s: %w", key, err)
	}
	return ind, true, nil
}

// IntelEntry is a stored indicator with who published it to us.
type IntelEntry struct {
	Key       string // store key: the indicator id, "@publisher" for received ones
	Publisher string // peer ID of the member that published it; empty for ours
	// Via is the peer ID of the member that forwarded it, when it did not
	// come from its publisher directly.
	Via string `json:",omitempty"`
	// PublisherOrg and ViaOrg are their organisations as listed here.
	PublisherOrg string `json:",omitempty"`
	ViaOrg       string `json:",omitempty"`
	Indicator    intel.Indicator
}

// Indicators lists the stored indicators: ours and received.
func Indicators(st *store.Store) ([]IntelEntry, error) {
	var out []IntelEntry
	err := st.ForEachIndicator(func(key string, v []byte) error {
		ind, err := intel.DecodeIndicator(v)
		if err != nil {
			return fmt.Errorf("stored indicator %s: %w", key, err)
		}
		e := IntelEntry{Key: key, Indicator: ind}
		if _, pub, ok := strings.Cut(key, "@"); ok {
			e.Publisher = pub
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return out, err
	}
	orgs := memberOrgs(st)
	for i := range out {
		if out[i].Publisher == "" {
			continue
		}
		out[i].PublisherOrg = orgs[out[i].Publisher]
		if a, err := st.Artifact(out[i].Key); err == nil && a.From != "" && a.From != a.Publisher {
			out[i].Via = peer.ID(a.From).String()
			out[i].ViaOrg = orgs[out[i].Via]
		}
	}
	return out, nil
}

// Sightings lists the stored sightings.
func Sightings(st *store.Store) ([]intel.Sighting, error) {
	var out []intel.Sighting
	err := st.ForEachSighting(func(key string, v []byte) error {
		s, err := intel.DecodeSighting(v)
		if err != nil {
			return fmt.Errorf("stored sighting %s: %w", key, err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// IntelObjects gathers what an export writes: the stored indicators,
// sightings, and the context of every imported document; with ownOrg set,
// only the indicators that organisation originated and the sightings it
// observed (never another organisation's intel).
func IntelObjects(st *store.Store, ownOrg string) (intel.Objects, error) {
	var objs intel.Objects
	entries, err := Indicators(st)
	if err != nil {
		return objs, err
	}
	for _, e := range entries {
		if ownOrg != "" && (e.Publisher != "" || e.Indicator.Origin != ownOrg) {
			continue
		}
		objs.Indicators = append(objs.Indicators, e.Indicator)
	}
	sights, err := Sightings(st)
	if err != nil {
		return objs, err
	}
	for _, s := range sights {
		if ownOrg == "" || s.Observer == ownOrg {
			objs.Sightings = append(objs.Sightings, s)
		}
	}
	if ownOrg != "" {
		return objs, nil // the imported documents are other organisations'
	}
	err = st.ForEachIntelDoc(func(key string, v []byte) error {
		var c intelContext
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("stored import %s: %w", key, err)
		}
		c.fixRaw()
		objs.Identities = append(objs.Identities, c.Identities...)
		objs.ObservedData = append(objs.ObservedData, c.ObservedData...)
		objs.Markings = append(objs.Markings, c.Markings...)
		objs.Extra = append(objs.Extra, c.Extra...)
		objs.Events = append(objs.Events, c.Events...)
		objs.SharingGroups = append(objs.SharingGroups, c.SharingGroups...)
		if objs.Container == nil {
			objs.Container = c.Container
		}
		return nil
	})
	return objs, err
}

// ExportIntel writes the stored intel in format: "stix" (a STIX 2.1
// bundle), "misp" (one MISP event), "json" (flowfed's own encoding, one
// object per line), or "misp-feed" (out is a directory).
func ExportIntel(st *store.Store, format string, w io.Writer, dir string, ownOrg string, now time.Time) error {
	objs, err := IntelObjects(st, ownOrg)
	if err != nil {
		return err
	}
	switch format {
	case "stix":
		return intel.ExportSTIX(w, objs, intel.STIXOptions{Now: now})
	case "misp":
		if len(objs.Events) > 1 {
			return fmt.Errorf("the indicators come from %d MISP events: export them with --format misp-feed (one file per event)", len(objs.Events))
		}
		return intel.ExportMISPEvent(w, objs, intel.MISPOptions{Now: now})
	case "misp-feed":
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return intel.ExportMISPFeed(dir, objs, intel.MISPOptions{Now: now})
	case "json":
		for _, ind := range objs.Indicators {
			if _, err := fmt.Fprintf(w, "%s\n", ind.Encode()); err != nil {
				return err
			}
		}
		for _, s := range objs.Sightings {
			if _, err := fmt.Fprintf(w, "%s\n", s.Encode()); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("export format %q: want stix, misp, misp-feed or json", format)
}

// AddIndicator stores a new indicator of ours (or a new version of one).
func AddIndicator(st *store.Store, ind intel.Indicator) (intel.Indicator, error) {
	cur, have, err := storedIndicator(st, ind.ID)
	if err != nil {
		return ind, err
	}
	var next intel.Indicator
	if have {
		next, err = intel.Apply(&cur, ind, ind.Origin)
	} else {
		next, err = intel.Apply(nil, ind, ind.Origin)
	}
	if err != nil {
		return ind, err
	}
	if have && sameContent(cur, next) {
		return cur, nil // the same indicator again: no new version
	}
	return next, st.PutIndicators(map[string][]byte{next.ID: next.Encode()})
}

// sameContent reports whether next differs from cur only in the times and
// version an update sets.
func sameContent(cur, next intel.Indicator) bool {
	next.Created, next.Modified, next.ValidFrom, next.Version = cur.Created, cur.Modified, cur.ValidFrom, cur.Version
	next.Sources = cur.Sources
	return bytes.Equal(cur.Encode(), next.Encode())
}

// RevokeIndicator stores the revoked version (tombstone) of one of our
// indicators; publishing it tells the members.
func RevokeIndicator(st *store.Store, id, reason string, now time.Time) (intel.Indicator, error) {
	cur, have, err := storedIndicator(st, id)
	if err != nil {
		return intel.Indicator{}, err
	}
	if !have {
		return intel.Indicator{}, fmt.Errorf("indicator %s: %w", id, store.ErrNotFound)
	}
	next, err := intel.Revoke(cur, cur.Origin, now, reason)
	if err != nil {
		return intel.Indicator{}, err
	}
	return next, st.PutIndicators(map[string][]byte{id: next.Encode()})
}

// Match is one of our hosts, as stored, in flows that an indicator names:
// the endpoint that talked to the indicator's address, or the client that
// looked up or contacted its name.
type Match struct {
	Indicator string     // indicator id
	Value     string     // the indicator's value
	Pseudonym netip.Addr // our host's pseudonym, as stored
	KeyID     string
	Flows     int
	First     time.Time
	Last      time.Time
	// Host is the local address behind the pseudonym; set only by a
	// revealing match.
	Host netip.Addr
}

// MatchIntel screens the stored flows against the address and name
// indicators in pseudonym space: the indicators are pseudonymized under each
// epoch key the flows were stored with, so no flow is re-identified. Names
// (domain, hostname) match the DNS query, TLS/QUIC SNI and HTTP Host of a
// flow's label evidence. Each match becomes a sighting by org; with reveal
// the pseudonyms are resolved to the local hosts (recorded in the audit
// chain).
func MatchIntel(st *store.Store, v *keyvault.Vault, mode pseudo.Mode, org string, reveal bool, now time.Time) ([]Match, error) {
	ms, _, err := matchIntel(st, v, mode, org, reveal, now)
	return ms, err
}

// matchIntel is MatchIntel that also counts, per type, the live indicators
// that stored flows cannot show.
func matchIntel(st *store.Store, v *keyvault.Vault, mode pseudo.Mode, org string, reveal bool, now time.Time) ([]Match, map[string]int, error) {
	entries, err := Indicators(st)
	if err != nil {
		return nil, nil, err
	}
	var inds []intel.Indicator
	var unscreened map[string]int
	for _, e := range entries {
		if !e.Indicator.Live(now) {
			continue
		}
		inds = append(inds, e.Indicator)
		if !intel.Screenable(e.Indicator.Type) {
			if unscreened == nil {
				unscreened = map[string]int{}
			}
			unscreened[string(e.Indicator.Type)]++
		}
	}
	if len(inds) == 0 {
		if len(entries) > 0 {
			return nil, nil, fmt.Errorf("none of the %d stored indicators is live: each is revoked, past its valid_until, or decayed below the threshold ('flowfed intel list' shows their state)", len(entries))
		}
		return nil, nil, errors.New("no indicators to match: import or receive some first")
	}
	// One matcher per epoch key of the stored flows.
	type keyed struct {
		m      *intel.Matcher
		mapper pseudo.AddrMapper
	}
	matchers := map[string]*keyed{}
	byKey := map[string]*Match{}
	values := map[string]string{}
	for _, in := range inds {
		values[in.ID] = in.Value
	}
	hit := func(id string, p netip.Addr, keyID string, r *flow.Record) {
		k := id + "|" + p.String()
		m := byKey[k]
		start, end := time.Unix(0, r.Start).UTC(), time.Unix(0, r.End).UTC()
		if m == nil {
			m = &Match{Indicator: id, Value: values[id], Pseudonym: p, KeyID: keyID, First: start, Last: end}
			byKey[k] = m
		}
		m.Flows++
		if start.Before(m.First) {
			m.First = start
		}
		if end.After(m.Last) {
			m.Last = end
		}
	}
	err = st.ForEachFlow(func(r *flow.Record) error {
		km := matchers[r.KeyID]
		if km == nil {
			id, err := keyvault.ParseKeyID(r.KeyID)
			if err != nil {
				return err
			}
			mp, _, err := AddrMapper(v, mode, id, now)
			if err != nil {
				return fmt.Errorf("epoch key %s: %w", r.KeyID, err)
			}
			names, err := NameKeyer(v, id)
			if err != nil {
				return err
			}
			m, err := intel.NewMatcher(inds, intel.Infallible(mp), mode.PrefixPreserving(), names)
			if err != nil && !errors.Is(err, intel.ErrNotPrefixPreserving) {
				return err
			}
			km = &keyed{m: m, mapper: mp}
			matchers[r.KeyID] = km
		}
		if km.m == nil {
			return nil
		}
		// A hit names our host in the flow: the endpoint that talked to
		// the indicator's address, or the client that looked up or
		// contacted its name.
		src, dst := r.Key.SrcAddr(), r.Key.DstAddr()
		for _, id := range km.m.MatchAddr(src) {
			hit(id, dst, r.KeyID, r)
		}
		for _, id := range km.m.MatchAddr(dst) {
			hit(id, src, r.KeyID, r)
		}
		if ev := r.Label.Evidence; ev != nil {
			for _, name := range []string{ev.DNSQuery, ev.TLSSNI, ev.HTTPHost} {
				if name == "" {
					continue
				}
				for _, id := range km.m.MatchName(name) { // stored as a token
					hit(id, r.Key.SrcAddr(), r.KeyID, r)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]Match, 0, len(byKey))
	sights := map[string][]byte{}
	for _, m := range byKey {
		if reveal {
			if km := matchers[m.KeyID]; km != nil {
				if h, err := km.mapper.Unmap(m.Pseudonym); err == nil {
					m.Host = h
				}
			}
		}
		out = append(out, *m)
	}
	// One sighting per indicator: how often and when our traffic showed it.
	agg := map[string]*Match{}
	for i := range out {
		m := &out[i]
		a := agg[m.Indicator]
		if a == nil {
			c := *m
			agg[m.Indicator] = &c
			continue
		}
		a.Flows += m.Flows
		if m.First.Before(a.First) {
			a.First = m.First
		}
		if m.Last.After(a.Last) {
			a.Last = m.Last
		}
	}
	for id, a := range agg {
		s := intel.NewSighting(id, org, intel.SightingSeen, a.First, a.Last, a.Flows)
		sights[s.ID] = s.Encode()
	}
	if err := st.PutIntel(nil, sights); err != nil {
		return nil, nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Indicator != out[j].Indicator {
			return out[i].Indicator < out[j].Indicator
		}
		return out[i].Pseudonym.Less(out[j].Pseudonym)
	})
	if reveal {
		ids := make([]string, 0, len(agg))
		for id := range agg {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if err := appendAudit(st, now, "", auditRecord{Kind: "reveal", Decision: "revealed",
			Reason: fmt.Sprintf("%d pseudonyms resolved to local hosts for indicators %s", len(out), strings.Join(ids, ","))}); err != nil {
			return out, unscreened, err
		}
	}
	return out, unscreened, nil
}
