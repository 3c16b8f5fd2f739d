package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ROPARecord is a record of processing activities (GDPR Art. 30) drawn from
// a policy and the audit log: why data is shared, what data, with whom, for
// how long, under which measures, and what actually happened.
type ROPARecord struct {
	Controller    string          `json:"controller"`
	Contact       string          `json:"contact,omitempty"`
	Policy        string          `json:"policy"`
	PolicyVersion string          `json:"policy_version"`
	Purposes      []ROPAPurpose   `json:"purposes"`
	Categories    []ROPACategory  `json:"categories"`
	Recipients    []ROPARecipient `json:"recipients"`
	Sources       []ROPASource    `json:"sources"`
	Retention     []ROPARetention `json:"retention"`
	Measures      []string        `json:"measures"`
	Activity      ROPAActivity    `json:"activity"`
}

// ROPAPurpose is one purpose of processing.
type ROPAPurpose struct {
	Purpose string `json:"purpose"`
	// LegalBases lists the bases the rules require; "as labelled" when a
	// rule accepts the basis each artifact carries.
	LegalBases []string `json:"legal_bases"`
	Kinds      []string `json:"kinds"`
	Recipients []string `json:"recipients"` // peer IDs it may be shared with
	Sources    []string `json:"sources"`    // peer IDs it may be received from
}

// ROPACategory is a category of data shared or received.
type ROPACategory struct {
	Kind        string `json:"kind"`
	Description string `json:"description"`
	Subjects    string `json:"subjects"`
}

// ROPARecipient is a peer some egress rule may send to.
type ROPARecipient struct {
	Peer     string   `json:"peer"`
	Org      string   `json:"org"`
	Groups   []string `json:"groups"`
	Domain   string   `json:"domain"`
	Kinds    []string `json:"kinds"`
	Purposes []string `json:"purposes"`
	Rules    []string `json:"rules"`
	Sent     int      `json:"sent"`     // egress allow entries in the log
	Withheld int      `json:"withheld"` // egress deny entries in the log
}

// ROPASource is a peer some ingress rule accepts from.
type ROPASource struct {
	Peer     string   `json:"peer"`
	Org      string   `json:"org"`
	Kinds    []string `json:"kinds"`
	Rules    []string `json:"rules"`
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
}

// ROPARetention is the time limit one permit rule sets.
type ROPARetention struct {
	Direction string   `json:"direction"`
	Rule      string   `json:"rule"`
	Kinds     []string `json:"kinds"`
	// MaxDays is the longest retention the rule allows; 0 leaves it to the
	// artifact's usage policy (default 180 days).
	MaxDays int `json:"max_days"`
}

// ROPAActivity counts the audit log.
type ROPAActivity struct {
	Entries        int            `json:"entries"`
	From           time.Time      `json:"from,omitzero"`
	To             time.Time      `json:"to,omitzero"`
	ByKind         map[string]int `json:"by_kind"`
	Sent           int            `json:"sent"`
	Withheld       int            `json:"withheld"`
	Accepted       int            `json:"accepted"`
	Rejected       int            `json:"rejected"`
	PolicyVersions []string       `json:"policy_versions"`
	ChainVerified  bool           `json:"chain_verified"`
	ChainError     string         `json:"chain_error,omitempty"`
}

// categories describes the data of each kind.
var categories = map[string][2]string{
	KindDataset:   {"aggregate labelled network-flow datasets, addresses pseudonymized per recipient domain", "users and hosts of the monitored networks"},
	KindIndicator: {"threat indicators: addresses, domains, URLs, file hashes, fingerprints", "operators of the hosts and services named"},
	KindSighting:  {"counts and times at which an indicator was observed", "operators of the hosts named; the observing member"},
	KindTombstone: {"erasure and revocation notices naming an artifact version", "none beyond the artifact named"},
	KindProposal:  {"proposed changes to another member's indicator", "operators of the hosts named"},
	KindModel:     {"model updates of joint training rounds (no records)", "none directly"},
	KindPCAP:      {"packet captures with every address pseudonymized and payload cut", "users and hosts of the monitored networks"},
}

// ROPA builds the record of processing activities of p, with the activity
// counted from log (which may be empty). The log's chain is verified and
// the result reported under Activity.
func ROPA(p *Policy, log []AuditEntry) ROPARecord {
	r := ROPARecord{
		Controller: p.self.org, Contact: p.self.contact, Policy: p.name, PolicyVersion: p.version,
		Purposes: []ROPAPurpose{}, Categories: []ROPACategory{}, Recipients: []ROPARecipient{},
		Sources: []ROPASource{}, Retention: []ROPARetention{},
	}
	purposes := map[string]*ROPAPurpose{}
	purpose := func(name string) *ROPAPurpose {
		if purposes[name] == nil {
			purposes[name] = &ROPAPurpose{Purpose: name, LegalBases: []string{}, Kinds: []string{}, Recipients: []string{}, Sources: []string{}}
		}
		return purposes[name]
	}
	usedKinds := map[string]bool{}
	for _, pe := range p.peers {
		rec := ROPARecipient{Peer: pe.pub.ID, Org: pe.pub.Org, Groups: nonNil(pe.pub.Groups), Kinds: []string{}, Purposes: []string{}, Rules: []string{}}
		src := ROPASource{Peer: pe.pub.ID, Org: pe.pub.Org, Kinds: []string{}, Rules: []string{}}
		for dir := range p.rules {
			for _, cd := range pe.addressing[dir] {
				rl := cd.r
				ks := expandKinds(rl.kinds)
				ps := rl.purposes
				if dir == int(Egress) {
					ps = intersectSorted(pe.pub.Purposes, rl.purposes)
					if len(ps) == 0 {
						continue // the peer can never receive through this rule
					}
					if rec.Domain == "" {
						rec.Domain = cd.domain
					}
					rec.Kinds = append(rec.Kinds, ks...)
					rec.Purposes = append(rec.Purposes, ps...)
					rec.Rules = append(rec.Rules, rl.name)
				} else {
					src.Kinds = append(src.Kinds, ks...)
					src.Rules = append(src.Rules, rl.name)
				}
				for _, k := range ks {
					usedKinds[k] = true
				}
				if ps == nil {
					ps = []string{"(as labelled)"}
				}
				for _, name := range ps {
					pp := purpose(name)
					pp.Kinds = append(pp.Kinds, ks...)
					if rl.bases == nil {
						pp.LegalBases = append(pp.LegalBases, "as labelled")
					} else {
						pp.LegalBases = append(pp.LegalBases, rl.bases...)
					}
					if dir == int(Egress) {
						pp.Recipients = append(pp.Recipients, pe.pub.ID)
					} else {
						pp.Sources = append(pp.Sources, pe.pub.ID)
					}
				}
			}
		}
		if len(rec.Rules) > 0 {
			rec.Kinds, rec.Purposes = compactSorted(rec.Kinds), compactSorted(rec.Purposes)
			r.Recipients = append(r.Recipients, rec)
		}
		if len(src.Rules) > 0 {
			src.Kinds = compactSorted(src.Kinds)
			r.Sources = append(r.Sources, src)
		}
	}
	names := make([]string, 0, len(purposes))
	for n := range purposes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		pp := purposes[n]
		pp.LegalBases, pp.Kinds = compactSorted(pp.LegalBases), compactSorted(pp.Kinds)
		pp.Recipients, pp.Sources = compactSorted(pp.Recipients), compactSorted(pp.Sources)
		r.Purposes = append(r.Purposes, *pp)
	}
	for _, k := range kinds {
		if usedKinds[k] {
			r.Categories = append(r.Categories, ROPACategory{Kind: k, Description: categories[k][0], Subjects: categories[k][1]})
		}
	}
	for dir, rules := range p.rules {
		for _, rl := range rules {
			if !rl.forbid {
				r.Retention = append(r.Retention, ROPARetention{Direction: Direction(dir).String(), Rule: rl.name, Kinds: expandKinds(rl.kinds), MaxDays: rl.retention})
			}
		}
	}
	r.Measures = p.measures()
	r.Activity = activity(log)
	for i := range r.Recipients {
		rec := &r.Recipients[i]
		for _, e := range log {
			if e.Kind == AuditEgress && e.Peer == rec.Peer {
				if e.Decision == DecisionAllow {
					rec.Sent++
				} else {
					rec.Withheld++
				}
			}
		}
	}
	for i := range r.Sources {
		src := &r.Sources[i]
		for _, e := range log {
			if e.Kind == AuditIngress && e.Peer == src.Peer {
				if e.Decision == DecisionAllow {
					src.Accepted++
				} else {
					src.Rejected++
				}
			}
		}
	}
	return r
}

// measures lists the technical and organisational measures in force.
func (p *Policy) measures() []string {
	out := []string{
		"Deny by default: nothing is sent or accepted unless a permit rule matches; a forbid rule wins over any permit.",
		"Sticky usage policies: every artifact carries its originator's signed usage policy (TLP, PAP, purposes, legal basis, retention, reshare, k_min); onward sharing never widens it.",
		"TLP: RED never leaves the node automatically; AMBER+STRICT only to nodes of the originator's organisation; AMBER only to named recipients or groups.",
		"Reshare: received artifacts with reshare none are never forwarded; with reshare group only within the groups they came through.",
	}
	domains := map[string]bool{}
	for _, pe := range p.peers {
		for _, cd := range pe.addressing[Egress] {
			domains[cd.domain] = true
		}
	}
	if len(domains) > 0 {
		ds := make([]string, 0, len(domains))
		for d := range domains {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		out = append(out, fmt.Sprintf("Pseudonymization: addresses are pseudonymized under keys derived per recipient domain; %d domains (%s), so recipients in different domains cannot link what they get.", len(ds), strings.Join(ds, ", ")))
	}
	for dir, rules := range p.rules {
		for _, r := range rules {
			if r.forbid {
				continue
			}
			if r.hasMin && !r.min.IsNone() {
				out = append(out, fmt.Sprintf("Minimisation (%s rule %s): %s.", Direction(dir), r.name, r.min))
			}
			if r.kmin > 0 {
				out = append(out, fmt.Sprintf("Minimum aggregation (%s rule %s): datasets need k ≥ %d.", Direction(dir), r.name, r.kmin))
			}
		}
	}
	return append(out, "Audit: every decision is recorded in a SHA-256 hash chain; editing, removing or reordering an entry is detected.")
}

// activity counts a log and verifies its chain.
func activity(log []AuditEntry) ROPAActivity {
	a := ROPAActivity{Entries: len(log), ByKind: map[string]int{}, PolicyVersions: []string{}}
	for _, e := range log {
		a.ByKind[e.Kind]++
		if !e.Time.IsZero() {
			if a.From.IsZero() || e.Time.Before(a.From) {
				a.From = e.Time.UTC()
			}
			if e.Time.After(a.To) {
				a.To = e.Time.UTC()
			}
		}
		if e.PolicyVersion != "" {
			a.PolicyVersions = append(a.PolicyVersions, e.PolicyVersion)
		}
		switch {
		case e.Kind == AuditEgress && e.Decision == DecisionAllow:
			a.Sent++
		case e.Kind == AuditEgress:
			a.Withheld++
		case e.Kind == AuditIngress && e.Decision == DecisionAllow:
			a.Accepted++
		case e.Kind == AuditIngress:
			a.Rejected++
		}
	}
	a.PolicyVersions = compactSorted(a.PolicyVersions)
	if len(log) > 0 {
		// A log handed over may be a tail of the chain: verify from its
		// first entry on.
		var err error
		if log[0].Seq <= 1 {
			err = VerifyChain(log)
		} else {
			err = verifyTail(log)
		}
		a.ChainVerified = err == nil
		if err != nil {
			a.ChainError = err.Error()
		}
	}
	return a
}

// verifyTail checks a chain that starts after Seq 1: the first entry's own
// hash, then the links from it on.
func verifyTail(log []AuditEntry) error {
	if hashEntry(&log[0]) != log[0].Hash {
		return &ChainError{Seq: log[0].Seq, Index: 0, Reason: "entry does not match its hash (edited)"}
	}
	err := VerifyChainFrom(&log[0], log[1:])
	var ce *ChainError
	if errors.As(err, &ce) {
		ce.Index++
	}
	return err
}

func expandKinds(mask uint32) []string {
	var out []string
	for i, k := range kinds {
		if mask&(1<<i) != 0 {
			out = append(out, k)
		}
	}
	return out
}

// intersectSorted returns the elements of a also in b; b nil means all.
func intersectSorted(a, b []string) []string {
	if b == nil {
		return slices.Clone(a)
	}
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// JSON returns the record as indented JSON.
func (r ROPARecord) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding record of processing activities: %w", err)
	}
	return append(b, '\n'), nil
}

// Markdown returns the record as a Markdown document with one section per
// part of GDPR Art. 30(1).
func (r ROPARecord) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Record of processing activities\n\n")
	fmt.Fprintf(&b, "- Controller: %s\n", md(orDash(r.Controller)))
	if r.Contact != "" {
		fmt.Fprintf(&b, "- Contact: %s\n", md(r.Contact))
	}
	fmt.Fprintf(&b, "- Policy: %s (%s)\n\n", md(r.Policy), r.PolicyVersion)
	b.WriteString("## Purposes\n\n| Purpose | Legal basis | Kinds | Recipients | Sources |\n|---|---|---|---|---|\n")
	for _, p := range r.Purposes {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", md(p.Purpose), cell(p.LegalBases), cell(p.Kinds), cell(p.Recipients), cell(p.Sources))
	}
	b.WriteString("\n## Categories of data and data subjects\n\n| Kind | Data | Data subjects |\n|---|---|---|\n")
	for _, c := range r.Categories {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Kind, md(c.Description), md(c.Subjects))
	}
	b.WriteString("\n## Recipients\n\n| Peer | Org | Groups | Domain | Kinds | Purposes | Rules | Sent | Withheld |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.Recipients {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", md(c.Peer), md(c.Org), cell(c.Groups), md(c.Domain),
			cell(c.Kinds), cell(c.Purposes), cell(c.Rules), c.Sent, c.Withheld)
	}
	b.WriteString("\n## Sources\n\n| Peer | Org | Kinds | Rules | Accepted | Rejected |\n|---|---|---|---|---|---|\n")
	for _, s := range r.Sources {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d |\n", md(s.Peer), md(s.Org), cell(s.Kinds), cell(s.Rules), s.Accepted, s.Rejected)
	}
	b.WriteString("\n## Time limits for erasure\n\n| Direction | Rule | Kinds | Longest retention |\n|---|---|---|---|\n")
	for _, t := range r.Retention {
		keep := "as the usage policy says"
		if t.MaxDays > 0 {
			keep = fmt.Sprintf("%d days", t.MaxDays)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Direction, md(t.Rule), cell(t.Kinds), keep)
	}
	b.WriteString("\n## Technical and organisational measures\n\n")
	for _, m := range r.Measures {
		fmt.Fprintf(&b, "- %s\n", md(m))
	}
	a := r.Activity
	b.WriteString("\n## Activity (audit log)\n\n")
	fmt.Fprintf(&b, "- Entries: %d", a.Entries)
	if !a.From.IsZero() {
		fmt.Fprintf(&b, " from %s to %s", a.From.Format(time.RFC3339), a.To.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "\n- Sent %d, withheld %d, accepted %d, rejected %d\n", a.Sent, a.Withheld, a.Accepted, a.Rejected)
	kinds := make([]string, 0, len(a.ByKind))
	for k := range a.ByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "- %s: %d\n", md(k), a.ByKind[k])
	}
	if len(a.PolicyVersions) > 0 {
		fmt.Fprintf(&b, "- Policy versions: %s\n", strings.Join(a.PolicyVersions, ", "))
	}
	switch {
	case a.Entries == 0:
	case a.ChainVerified:
		b.WriteString("- Hash chain: verified\n")
	default:
		fmt.Fprintf(&b, "- Hash chain: BROKEN: %s\n", md(a.ChainError))
	}
	return b.String()
}

// md escapes text for a Markdown table cell or list item.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func cell(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return md(strings.Join(s, ", "))
}
