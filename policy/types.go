package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// Artifact kinds a policy file may name. A rule may also name "*" for every kind.
const (
	KindDataset   = "dataset"   // labelled aggregate dataset (manifest + chunks)
	KindIndicator = "indicator" // threat indicator
	KindSighting  = "sighting"  // sighting of an indicator
	KindTombstone = "tombstone" // deletion, revocation or erasure of an artifact version
	KindProposal  = "proposal"  // proposed change to another member's indicator
	KindModel     = "model"     // model update of a joint training round
	KindPCAP      = "pcap"      // pseudonymized capture (secure PCAP sharing)
)

// kinds lists the known kinds; the index is the kind's bit in a rule's mask.
var kinds = [...]string{KindDataset, KindIndicator, KindSighting, KindTombstone, KindProposal, KindModel, KindPCAP}

const allKinds = 1<<len(kinds) - 1

// Kinds returns the artifact kinds a policy file may name, in a fixed order.
func Kinds() []string { return slices.Clone(kinds[:]) }

// kindIndex returns the index of a known kind, or -1.
func kindIndex(k string) int {
	switch k {
	case KindDataset:
		return 0
	case KindIndicator:
		return 1
	case KindSighting:
		return 2
	case KindTombstone:
		return 3
	case KindProposal:
		return 4
	case KindModel:
		return 5
	case KindPCAP:
		return 6
	}
	return -1
}

// aggregate reports whether k minimum aggregation (k_min) applies to kind.
func aggregate(kind string) bool { return kind == KindDataset }

// Legal bases of GDPR Art. 6(1) a policy file may name, plus "mixed", the
// basis [usage.Combine] gives to artifacts built from inputs that disagree.
var legalBases = [...]string{"consent", "contract", "legal-obligation", "vital-interests", "public-task", "legitimate-interest", "mixed"}

// Peer is a member of the federation as the policy file lists it.
type Peer struct {
	ID       string   // libp2p peer ID
	Org      string   // organisation operating the node
	Groups   []string // sharing groups the peer belongs to
	Purposes []string // purposes the peer declares (lower case, sorted)
	// Domain is the pseudonymization domain the policy file sets for this
	// peer, or "". Decisions carry the resolved domain in [Decision.Domain].
	Domain string
}

// Group is a sharing group declared in the policy file.
type Group struct {
	Name        string
	Domain      string   // pseudonymization domain for rules addressing the group, or ""
	Description string   //
	Members     []string // peer IDs of the listed peers that belong to it
}

// Artifact is what a decision is about: the metadata of one artifact
// version. Decide and Accept read only these fields.
type Artifact struct {
	Kind    string // one of the Kind constants
	ID      string
	Version uint64
	// Origin is the peer ID of the publisher that created the artifact.
	Origin string
	// OriginOrg is the organisation of the originator. For a local artifact
	// an empty OriginOrg means the org of the policy's self section.
	OriginOrg string
	// Local is true when this node originated the artifact.
	Local bool
	// ReceivedVia lists the sharing groups the artifact arrived through
	// (egress of a received artifact) or is sent through (ingress).
	ReceivedVia []string
	// Usage is the sticky usage policy signed by the originator.
	Usage usage.Policy
	// K is the k applied when the aggregate was built (datasets).
	K int
}

// String returns "kind id vN".
func (a Artifact) String() string { return fmt.Sprintf("%s %s v%d", a.Kind, a.ID, a.Version) }

// Direction says whether a decision is about sending (egress) or accepting
// (ingress) an artifact.
type Direction uint8

// Directions.
const (
	Egress Direction = iota
	Ingress
)

// String returns "egress" or "ingress".
func (d Direction) String() string {
	if d == Ingress {
		return "ingress"
	}
	return "egress"
}

// Decision is the outcome of [Policy.Decide] or [Policy.Accept]. Slices in a
// Decision may be shared with the compiled policy and must not be modified.
type Decision struct {
	Allow bool
	// Rule names the deciding rule: the first matching permit, the first
	// matching forbid, or a built-in check ("builtin:tlp-red",
	// "builtin:default-deny", ...).
	Rule string
	// Pos is "file:line" of the rule, empty for built-in checks.
	Pos    string
	Reason string
	// Domain is the pseudonymization domain of the recipient (egress only):
	// artifacts for recipients in different domains are pseudonymized under
	// different keys, so they cannot link what they get.
	Domain string
	// Minimise is how to minimise the artifact before it leaves (egress) or
	// before it is stored (ingress): the most restrictive of all matching
	// permit rules.
	Minimise Minimise
	// Usage is the usage policy to attach (egress) or store (ingress). It is
	// never wider than the artifact's own policy.
	Usage usage.Policy
}

// Verdict returns "allow" or "deny", the decision word of an [AuditEntry].
func (d Decision) Verdict() string {
	if d.Allow {
		return DecisionAllow
	}
	return DecisionDeny
}

// Minimise says how to reduce an artifact before it leaves or is stored.
// Its zero value is the most restrictive (addresses cut to nothing); an
// allowing decision always has explicit values, [NoMinimise] at the least.
type Minimise struct {
	DropPorts bool          // remove transport ports
	TimeUnit  time.Duration // round timestamps down to this unit (0: keep)
	PrefixV4  int           // leading IPv4 address bits kept (32: all, 0: none)
	PrefixV6  int           // leading IPv6 address bits kept (128: all, 0: none)
	// DropFields are named fields removed from records (sorted); each is
	// one of DroppableFields.
	DropFields []string
}

// DroppableFields are the fields drop_fields may name, by artifact kind:
// flow records of datasets (the capture name, Zeek's history and
// conn_state), indicators (free text and the value as the source wrote
// it) and sightings (who observed). A field applies to the kinds it
// belongs to and is ignored for the others.
var DroppableFields = map[string][]string{
	KindDataset:   {"conn_state", "history", "source"},
	KindIndicator: {"description", "labels", "name", "origin_name", "original"},
	KindSighting:  {"observer"},
}

// For returns the part of m that applies to artifacts of kind: all of it
// for datasets; the time unit and the sighting fields for sightings; the
// indicator fields for indicators; nothing for other kinds. It returns m
// itself, without allocating, when all of m applies.
func (m Minimise) For(kind string) Minimise {
	fields := DroppableFields[kind]
	keep := 0
	for _, f := range m.DropFields {
		if slices.Contains(fields, f) {
			keep++
		}
	}
	out := NoMinimise()
	switch kind {
	case KindDataset:
		out = m
	case KindSighting:
		out.TimeUnit = m.TimeUnit
	}
	if keep == len(m.DropFields) && (kind == KindDataset || keep == 0) {
		out.DropFields = m.DropFields
		return out
	}
	out.DropFields = nil
	if keep > 0 {
		out.DropFields = make([]string, 0, keep)
		for _, f := range m.DropFields {
			if slices.Contains(fields, f) {
				out.DropFields = append(out.DropFields, f)
			}
		}
	}
	return out
}

// Drops reports whether m drops field.
func (m Minimise) Drops(field string) bool { return slices.Contains(m.DropFields, field) }

// droppable reports whether field is one of DroppableFields.
func droppable(field string) bool {
	for _, fs := range DroppableFields {
		if slices.Contains(fs, field) {
			return true
		}
	}
	return false
}

// NoMinimise returns the Minimise that changes nothing: whole addresses,
// timestamps and ports, no field dropped.
func NoMinimise() Minimise { return Minimise{PrefixV4: 32, PrefixV6: 128} }

// Merge returns the most restrictive combination of m and o: ports dropped
// if either drops them, the coarser time unit, the shorter prefixes and the
// union of dropped fields.
func (m Minimise) Merge(o Minimise) Minimise {
	m.DropPorts = m.DropPorts || o.DropPorts
	m.TimeUnit = max(m.TimeUnit, o.TimeUnit)
	m.PrefixV4 = min(m.PrefixV4, o.PrefixV4)
	m.PrefixV6 = min(m.PrefixV6, o.PrefixV6)
	m.DropFields = unionSorted(m.DropFields, o.DropFields)
	return m
}

// IsNone reports whether m changes nothing.
func (m Minimise) IsNone() bool {
	return !m.DropPorts && m.TimeUnit == 0 && m.PrefixV4 >= 32 && m.PrefixV6 >= 128 && len(m.DropFields) == 0
}

// String summarises m: "ports dropped, time 1h, IPv4 /24, IPv6 /48, drop observer"
// or "none".
func (m Minimise) String() string {
	if m.IsNone() {
		return "none"
	}
	var parts []string
	if m.DropPorts {
		parts = append(parts, "ports dropped")
	}
	if m.TimeUnit > 0 {
		parts = append(parts, "time "+formatDuration(m.TimeUnit))
	}
	if m.PrefixV4 < 32 {
		parts = append(parts, fmt.Sprintf("IPv4 /%d", m.PrefixV4))
	}
	if m.PrefixV6 < 128 {
		parts = append(parts, fmt.Sprintf("IPv6 /%d", m.PrefixV6))
	}
	if len(m.DropFields) > 0 {
		parts = append(parts, "drop "+strings.Join(m.DropFields, ","))
	}
	return strings.Join(parts, ", ")
}

// unionSorted returns the sorted union of two sorted, duplicate-free lists.
// When one contains the other it returns that one without allocating.
func unionSorted(a, b []string) []string {
	if subset(b, a) {
		return a
	}
	if subset(a, b) {
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// subset reports whether every element of small is in big.
func subset(small, big []string) bool {
	for _, s := range small {
		if !slices.Contains(big, s) {
			return false
		}
	}
	return true
}

// formatDuration writes whole days as "2d" and anything else with
// time.Duration's format, without trailing zero units ("1h", "15m").
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
