package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// SchemaVersion is the version of the manifest and content formats.
const SchemaVersion = 1

// ChunkSize is the size of every chunk but the last, which may be shorter.
const ChunkSize = 1 << 20

// idPrefix starts every dataset id.
const idPrefix = "ds-"

// maxManifestLen bounds what DecodeManifest reads.
const maxManifestLen = 16 << 20

// Manifest describes a dataset. Its canonical encoding (Encode) is JSON with
// a fixed field order, times in UTC and no insignificant space; its ID is
// "ds-" and the hex SHA-256 of that encoding with the ID empty. Since the
// encoding lists the chunk hashes, the ID names the content too. A manifest
// holds no wall-clock time: building the same flows under the same Spec
// without DP gives the same ID.
type Manifest struct {
	ID     string `json:"id"`
	Schema int    `json:"schema"`
	Kind   Kind   `json:"kind"`
	// GroupBy lists the group-by keys of an aggregates dataset in canonical
	// order; Window is the width of the "window" buckets.
	GroupBy []string `json:"group_by,omitempty"`
	Window  Duration `json:"window,omitempty"`
	// Features describes the sequence tensor of a flows dataset.
	Features *FeatureSchema `json:"features,omitempty"`
	// FlowSettings are the flow-meter settings given in the Spec;
	// ConfigDigests the flow.Config digests of the released flows.
	FlowSettings  map[string]string `json:"flow_settings,omitempty"`
	ConfigDigests []string          `json:"config_digests"`
	// KeyIDs name the epoch keys of the released flows' pseudonyms, Domain
	// the pseudonymization domain ("" is the publisher's own).
	KeyIDs []string `json:"key_ids"`
	Domain string   `json:"domain"`
	// Minimised says how the records were minimised for their recipients
	// (ports dropped, times coarsened, address prefixes cut), "" for not.
	Minimised string `json:"minimised,omitempty"`
	// Selection is the selection of the Spec.
	Selection Selection `json:"selection"`
	// TimeRange spans the released flows: the first start and the last
	// end. Under DP it is the calendar month of the period, narrowed to the
	// selection, so that it reveals no single flow.
	TimeRange TimeRange `json:"time_range"`
	// Labels counts the records (flows kind) or flows (aggregates) per
	// protocol label, by name. Records is the number of records or groups.
	Labels  []LabelCount `json:"labels"`
	Records int          `json:"records"`
	// K is the k-threshold applied; Suppressed counts the cells it
	// suppressed (never their records).
	K          int        `json:"k"`
	Suppressed int        `json:"suppressed"`
	DP         *DPApplied `json:"dp,omitempty"`
	// Chunks lists the content's chunks in order; Size is the content size.
	Chunks []ChunkRef   `json:"chunks"`
	Size   int64        `json:"size"`
	Usage  usage.Policy `json:"usage"`
}

// FeatureSchema describes the tensor of a flows dataset.
type FeatureSchema struct {
	Steps int      `json:"steps"`
	Names []string `json:"names"`
}

// Selection is the part of a Spec that selected the flows.
type Selection struct {
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	Labels []string  `json:"labels,omitempty"`
}

// TimeRange is a span of time, From <= To.
type TimeRange struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// ChunkRef names one chunk of the content.
type ChunkRef struct {
	Hash string `json:"hash"`
	Size int    `json:"size"`
}

// DPApplied records the differential privacy applied to a dataset and the
// ledger entry it was charged to.
type DPApplied struct {
	Mechanism string  `json:"mechanism"`
	Epsilon   float64 `json:"epsilon"`
	Delta     float64 `json:"delta,omitempty"`
	// Rho is the zero-concentrated DP parameter the Gaussian noise was
	// calibrated to.
	Rho float64 `json:"rho,omitempty"`
	// MaxContrib bounds the flows per source host and key epoch; KeyUnits
	// is the number of key epochs a host may appear under, by which every
	// sensitivity is multiplied.
	MaxContrib  int      `json:"max_contrib"`
	KeyUnits    int      `json:"key_units"`
	MaxPackets  uint64   `json:"max_packets"`
	MaxBytes    uint64   `json:"max_bytes"`
	MaxDuration Duration `json:"max_duration"`
	// Queries lists the noisy statistics with their sensitivity and noise.
	Queries []DPQuery `json:"queries"`
	Family  string    `json:"family"`
	Period  string    `json:"period"`
	Budget  float64   `json:"budget"`
}

// DPQuery is one noisy statistic: its L1 (Laplace) or L2 (Gaussian)
// sensitivity and the noise's Laplace scale or Gaussian sigma.
type DPQuery struct {
	Name        string  `json:"name"`
	Sensitivity float64 `json:"sensitivity"`
	Scale       float64 `json:"scale"`
}

// Duration is a time.Duration encoded as its String form ("1h0m0s").
type Duration time.Duration

// MarshalText writes the String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Encode returns the canonical encoding of m. It returns nil only for a
// manifest that JSON cannot encode (a NaN parameter), which Build and
// DecodeManifest never produce.
func (m Manifest) Encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// computeID returns the id m must have.
func (m Manifest) computeID() string {
	m.ID = ""
	b := m.Encode()
	if b == nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return idPrefix + hex.EncodeToString(sum[:])
}

// Verify checks that m's ID matches the rest of it.
func (m Manifest) Verify() error {
	want := m.computeID()
	if want == "" {
		return fmt.Errorf("%w: manifest cannot be encoded", ErrBadManifest)
	}
	if m.ID != want {
		return fmt.Errorf("%w: id %q does not match the manifest's content (%s)", ErrBadManifest, m.ID, want)
	}
	return nil
}

func badManifest(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadManifest, fmt.Sprintf(format, a...))
}

// DecodeManifest reads a manifest in its canonical encoding and checks it:
// unknown fields, a non-canonical encoding, an invalid field, a chunk list
// that does not add up to the size, and an id that does not match are
// refused with an error wrapping ErrBadManifest.
func DecodeManifest(b []byte) (Manifest, error) {
	if len(b) > maxManifestLen {
		return Manifest{}, badManifest("%d bytes (at most %d)", len(b), maxManifestLen)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, badManifest("decoding: %v", err)
	}
	if dec.More() {
		return Manifest{}, badManifest("data after the manifest")
	}
	if err := m.validate(); err != nil {
		return Manifest{}, err
	}
	if !bytes.Equal(m.Encode(), b) {
		return Manifest{}, badManifest("not in canonical form")
	}
	if err := m.Verify(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// sortedUnique reports whether ss is strictly ascending.
func sortedUnique(ss []string) bool {
	for i := 1; i < len(ss); i++ {
		if ss[i] <= ss[i-1] {
			return false
		}
	}
	return true
}

func utc(t time.Time) bool { return t.IsZero() || t.Location() == time.UTC }

// validate checks every field of m except the id.
func (m *Manifest) validate() error {
	if !strings.HasPrefix(m.ID, idPrefix) || !isHex64(m.ID[len(idPrefix):]) {
		return badManifest("id %q is not %q and 64 lower-case hex digits", m.ID, idPrefix)
	}
	if m.Schema != SchemaVersion {
		return badManifest("schema %d (want %d)", m.Schema, SchemaVersion)
	}
	switch m.Kind {
	case KindFlows:
		if len(m.GroupBy) != 0 || m.Window != 0 {
			return badManifest("flows dataset with a group-by")
		}
		if m.Features == nil || m.Features.Steps != Steps || !slices.Equal(m.Features.Names, FeatureNames) {
			return badManifest("feature schema is not %d steps of %v", Steps, FeatureNames)
		}
		if m.DP != nil {
			return badManifest("flows dataset with DP")
		}
	case KindAggregates:
		if m.GroupBy != nil && len(m.GroupBy) == 0 {
			return badManifest("empty group-by list")
		}
		mask, err := parseGroupBy(m.GroupBy)
		if err != nil {
			return badManifest("%v", err)
		}
		if !slices.Equal(groupByNames(mask), m.GroupBy) {
			return badManifest("group-by %q not in canonical order", m.GroupBy)
		}
		if (mask&maskWindow != 0) != (m.Window != 0) || m.Window < 0 || (m.Window != 0 && time.Duration(m.Window) < MinWindow) {
			return badManifest("window %v does not fit group-by %q", time.Duration(m.Window), m.GroupBy)
		}
		if m.Features != nil {
			return badManifest("aggregates dataset with a feature schema")
		}
	default:
		return badManifest("unknown kind %q", m.Kind)
	}
	for k, v := range m.FlowSettings {
		if k == "" || !printable(k, maxTextLen) || !printable(v, maxTextLen) {
			return badManifest("flow setting %q is not printable text", k)
		}
	}
	if m.FlowSettings != nil && len(m.FlowSettings) == 0 {
		return badManifest("empty flow settings object")
	}
	for _, list := range []struct {
		name string
		ss   []string
		max  int
	}{{"config digests", m.ConfigDigests, maxKeyIDLen}, {"key IDs", m.KeyIDs, maxKeyIDLen}} {
		if list.ss == nil || !sortedUnique(list.ss) {
			return badManifest("%s missing or not sorted and unique", list.name)
		}
		for _, s := range list.ss {
			if s == "" && list.name == "key IDs" || !printable(s, list.max) {
				return badManifest("%s entry %q", list.name, s)
			}
		}
	}
	if len(m.KeyIDs) == 0 {
		return badManifest("no key IDs")
	}
	if !printable(m.Minimised, maxTextLen) {
		return badManifest("minimised is not printable text of at most %d bytes", maxTextLen)
	}
	if !printable(m.Domain, maxTextLen) {
		return badManifest("domain is not printable text")
	}
	sel := m.Selection
	if !utc(sel.From) || !utc(sel.To) || (!sel.From.IsZero() && !sel.To.IsZero() && !sel.To.After(sel.From)) {
		return badManifest("selection time range")
	}
	if sel.Labels != nil && (len(sel.Labels) == 0 || !sortedUnique(sel.Labels)) {
		return badManifest("selection labels not sorted and unique")
	}
	for _, l := range sel.Labels {
		if !validLabel(l) {
			return badManifest("selection label %q", l)
		}
	}
	tr := m.TimeRange
	if !utc(tr.From) || !utc(tr.To) || tr.To.Before(tr.From) {
		return badManifest("time range")
	}
	if m.Records <= 0 {
		return badManifest("record count %d", m.Records)
	}
	if len(m.Labels) == 0 {
		return badManifest("no labels")
	}
	var sum uint64
	for i, l := range m.Labels {
		if !validLabel(l.Label) || (i > 0 && l.Label <= m.Labels[i-1].Label) {
			return badManifest("label %q not a protocol name in ascending order", l.Label)
		}
		if sum+l.Count < sum {
			return badManifest("label counts overflow")
		}
		sum += l.Count
	}
	if m.Kind == KindFlows && sum != uint64(m.Records) {
		return badManifest("label counts add up to %d, not the %d records", sum, m.Records)
	}
	if m.K < 1 || m.Suppressed < 0 {
		return badManifest("k %d, suppressed %d", m.K, m.Suppressed)
	}
	if m.Usage.KMin != m.K {
		return badManifest("usage k_min %d differs from k %d", m.Usage.KMin, m.K)
	}
	n := m.Usage.Normalize()
	if !bytes.Equal(mustJSON(n), mustJSON(m.Usage)) {
		return badManifest("usage policy not normalised")
	}
	if err := m.validateDP(); err != nil {
		return err
	}
	return m.validateChunks()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// validateChunks checks the chunk list against the size: every chunk but
// the last is ChunkSize bytes, the last 1 to ChunkSize.
func (m *Manifest) validateChunks() error {
	if m.Size < headerLen {
		return badManifest("content size %d", m.Size)
	}
	want := int((m.Size + ChunkSize - 1) / ChunkSize)
	if len(m.Chunks) != want {
		return badManifest("%d chunks for %d bytes (want %d)", len(m.Chunks), m.Size, want)
	}
	var total int64
	for i, c := range m.Chunks {
		if !isHex64(c.Hash) {
			return badManifest("chunk %d hash %q is not 64 lower-case hex digits", i, c.Hash)
		}
		if c.Size <= 0 || c.Size > ChunkSize || (i < len(m.Chunks)-1 && c.Size != ChunkSize) {
			return badManifest("chunk %d size %d", i, c.Size)
		}
		total += int64(c.Size)
	}
	if total != m.Size {
		return badManifest("chunks add up to %d bytes, not %d", total, m.Size)
	}
	return nil
}

func (m *Manifest) validateDP() error {
	d := m.DP
	if d == nil {
		return nil
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 }
	switch {
	case d.Mechanism != MechLaplace && d.Mechanism != MechGaussian:
		return badManifest("dp mechanism %q", d.Mechanism)
	case !finite(d.Epsilon) || d.Epsilon == 0 || !finite(d.Budget) || d.Epsilon > d.Budget:
		return badManifest("dp epsilon %v of budget %v", d.Epsilon, d.Budget)
	case d.Mechanism == MechLaplace && (d.Delta != 0 || d.Rho != 0):
		return badManifest("laplace with delta or rho")
	case d.Mechanism == MechGaussian && (!finite(d.Delta) || d.Delta == 0 || d.Delta >= 1 || !finite(d.Rho) || d.Rho == 0):
		return badManifest("gaussian delta %v rho %v", d.Delta, d.Rho)
	case d.MaxContrib < 1 || d.KeyUnits < 1 || d.MaxPackets == 0 || d.MaxBytes == 0 || d.MaxDuration <= 0:
		return badManifest("dp bounds")
	case len(d.Queries) == 0:
		return badManifest("dp without queries")
	case !printable(d.Family, 4*maxTextLen) || d.Family == "" || !validPeriod(d.Period):
		return badManifest("dp family %q period %q", d.Family, d.Period)
	}
	for _, q := range d.Queries {
		if q.Name == "" || !printable(q.Name, maxLabelLen) || !finite(q.Sensitivity) || !finite(q.Scale) || q.Scale == 0 {
			return badManifest("dp query %q", q.Name)
		}
	}
	return nil
}

// validPeriod reports whether p is a month "YYYY-MM".
func validPeriod(p string) bool {
	t, err := time.Parse("2006-01", p)
	return err == nil && t.Format("2006-01") == p
}

// Chunk is a piece of a dataset's content, named by its hash.
type Chunk struct {
	// Hash is the lower-case hex SHA-256 of Data.
	Hash string
	Data []byte
}

// chunk splits content into chunks of ChunkSize bytes (the last shorter);
// the chunks share content's memory.
func chunk(content []byte) ([]Chunk, []ChunkRef) {
	var cs []Chunk
	var refs []ChunkRef
	for off := 0; off < len(content); off += ChunkSize {
		d := content[off:min(off+ChunkSize, len(content)):min(off+ChunkSize, len(content))]
		sum := sha256.Sum256(d)
		h := hex.EncodeToString(sum[:])
		cs = append(cs, Chunk{Hash: h, Data: d})
		refs = append(refs, ChunkRef{Hash: h, Size: len(d)})
	}
	return cs, refs
}

// Assemble fetches every chunk of m with get, checks its size and hash, and
// returns the content. It first verifies m's id, so a manifest whose chunk
// list was altered is refused with ErrBadManifest; a chunk that does not
// match is refused with ErrBadContent. Errors of get are returned wrapped.
func Assemble(m Manifest, get func(hash string) ([]byte, error)) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, m.Size)
	for i, c := range m.Chunks {
		d, err := get(c.Hash)
		if err != nil {
			return nil, fmt.Errorf("fetching chunk %d (%s): %w", i, c.Hash, err)
		}
		if len(d) != c.Size {
			return nil, fmt.Errorf("%w: chunk %d (%s) is %d bytes, want %d", ErrBadContent, i, c.Hash, len(d), c.Size)
		}
		sum := sha256.Sum256(d)
		if hex.EncodeToString(sum[:]) != c.Hash {
			return nil, fmt.Errorf("%w: chunk %d (%s) does not match its hash", ErrBadContent, i, c.Hash)
		}
		out = append(out, d...)
	}
	return out, nil
}
