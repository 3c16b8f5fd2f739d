package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flowfed/flowfed/share/usage"
)

// Policy is a compiled policy file. It is immutable and safe for concurrent
// use; every method and function reading it may run in parallel.
type Policy struct {
	name    string // file name used in positions
	version string // "pol-" + content hash
	self    selfSpec
	peers   []*peerEntry // file order
	byID    map[string]*peerEntry
	groups  []*groupEntry // file order
	byGroup map[string]*groupEntry
	rules   [2][]*rule // per Direction, file order
	warn    []string
}

// peerEntry is a listed peer with the rules addressing it, precomputed so
// that a decision looks at no other rule.
type peerEntry struct {
	pub      Peer
	pos      string
	fallback string // domain when no rule or group sets one
	// forbids and permits hold the rules addressing the peer, per
	// Direction and kind, in file order; egress permits that share no
	// purpose with the peer are left out, as they can never match.
	forbids [2][len(kinds)][]cand
	permits [2][len(kinds)][]cand
	// addressing holds every permit rule addressing the peer, per Direction.
	addressing [2][]cand
	inGroup    func(string) bool
	groupSet   map[string]bool
}

// cand is a rule addressing a peer.
type cand struct {
	r      *rule
	named  bool   // the rule names the peer, its org or one of its groups
	domain string // pseudonymization domain if this rule decides (egress)
	// purposes an artifact purpose must be among: egress, those both the
	// peer and the rule allow; ingress, the rule's (nil: any).
	purposes []string
	// min is the rule's minimisation as it applies to the kind of the
	// list the candidate is in (Minimise.For).
	min Minimise
}

type groupEntry struct {
	pub Group
	pos string
}

// rule is a compiled egress or ingress rule.
type rule struct {
	name, pos   string
	line, col   int
	dir         Direction
	forbid      bool
	description string
	sel         selector
	kinds       uint32
	kindNames   []string
	source      source
	// tlp is the ceiling of a permit (artifacts at most this) and the floor
	// of a forbid (artifacts at least this; 0: any). pap likewise.
	tlp       usage.TLP
	pap       usage.PAP
	purposes  []string // nil: any
	bases     []string // nil: any
	kmin      int
	retention int           // days; 0: no cap
	reshare   usage.Reshare // 0: no narrowing
	domain    string
	min       Minimise
	hasMin    bool
	reason    string // Decision.Reason when this rule decides
}

// selector is the compiled "to" or "from" of a rule.
type selector struct {
	all                 bool
	peers, orgs, groups []string
}

// match reports whether the selector addresses a peer, and whether it does
// so by name (peer ID, org or group) rather than only through all.
func (s *selector) match(id, org string, inGroup func(string) bool) (ok, named bool) {
	if slices.Contains(s.peers, id) || slices.Contains(s.orgs, org) {
		return true, true
	}
	for _, g := range s.groups {
		if inGroup(g) {
			return true, true
		}
	}
	return s.all, false
}

// String renders the selector as in the file: "all" or "peers a; groups g".
func (s *selector) String() string {
	var parts []string
	if s.all {
		parts = append(parts, "all")
	}
	if len(s.peers) > 0 {
		parts = append(parts, "peers "+strings.Join(s.peers, ","))
	}
	if len(s.orgs) > 0 {
		parts = append(parts, "orgs "+strings.Join(s.orgs, ","))
	}
	if len(s.groups) > 0 {
		parts = append(parts, "groups "+strings.Join(s.groups, ","))
	}
	return strings.Join(parts, "; ")
}

// compile checks the cross-references of a file and builds the policy.
func compile(w *walker, spec *fileSpec, src []byte) *Policy {
	p := &Policy{
		name:    w.file,
		version: versionOf(src),
		self:    spec.self,
		byID:    map[string]*peerEntry{},
		byGroup: map[string]*groupEntry{},
	}
	for _, g := range spec.groups {
		if g.name.s == "" {
			continue
		}
		if prev := p.byGroup[g.name.s]; prev != nil {
			w.fail(g.name.n, "group %q declared twice (first at %s)", g.name.s, prev.pos)
			continue
		}
		ge := &groupEntry{pub: Group{Name: g.name.s, Domain: g.domain, Description: g.description}, pos: p.posOf(g.node.Line)}
		p.groups = append(p.groups, ge)
		p.byGroup[g.name.s] = ge
	}
	for _, ps := range spec.peers {
		if ps.id.s == "" {
			continue
		}
		if prev := p.byID[ps.id.s]; prev != nil {
			w.fail(ps.id.n, "peer %q listed twice (first at %s)", ps.id.s, prev.pos)
			continue
		}
		if ps.id.s == spec.self.id {
			w.fail(ps.id.n, "peer %q is this node (self.id); a node does not share with itself", ps.id.s)
			continue
		}
		pe := &peerEntry{pos: p.posOf(ps.node.Line), groupSet: map[string]bool{}}
		pe.pub = Peer{ID: ps.id.s, Org: ps.org, Purposes: ps.purposes, Domain: ps.domain}
		for _, g := range ps.groups {
			ge := p.byGroup[g.s]
			if ge == nil {
				w.fail(g.n, "peer %q: group %q is not declared under groups", ps.id.s, g.s)
				continue
			}
			if !pe.groupSet[g.s] {
				pe.groupSet[g.s] = true
				pe.pub.Groups = append(pe.pub.Groups, g.s)
				ge.pub.Members = append(ge.pub.Members, ps.id.s)
			}
		}
		pe.inGroup = func(g string) bool { return pe.groupSet[g] }
		pe.fallback = ps.domain
		if pe.fallback == "" {
			pe.fallback = peerDomainPfx + ps.id.s
		}
		p.peers = append(p.peers, pe)
		p.byID[ps.id.s] = pe
	}
	names := map[string]string{}
	for i := range spec.rules {
		rs := &spec.rules[i]
		if rs.name.s == "" {
			continue
		}
		if prev, dup := names[rs.name.s]; dup {
			w.fail(rs.name.n, "rule name %q used twice (first at %s)", rs.name.s, prev)
			continue
		}
		r := p.compileRule(w, rs)
		names[r.name] = r.pos
		p.rules[r.dir] = append(p.rules[r.dir], r)
	}
	for _, pe := range p.peers {
		for dir := range p.rules {
			for _, r := range p.rules[dir] {
				ok, named := r.sel.match(pe.pub.ID, pe.pub.Org, pe.inGroup)
				if !ok {
					continue
				}
				c := cand{r: r, named: named, domain: p.domainFor(pe, r), purposes: r.allowedPurposes(pe.pub.Purposes)}
				if !r.forbid {
					pe.addressing[dir] = append(pe.addressing[dir], c)
					if r.dir == Egress && len(c.purposes) == 0 {
						continue
					}
				}
				for k := range kinds {
					if r.kinds&(1<<k) == 0 {
						continue
					}
					if r.forbid {
						pe.forbids[dir][k] = append(pe.forbids[dir][k], c)
					} else {
						ck := c
						ck.min = r.min.For(kinds[k])
						pe.permits[dir][k] = append(pe.permits[dir][k], ck)
					}
				}
			}
		}
	}
	p.warn = p.warnings()
	return p
}

// compileRule checks the references of one rule and compiles it.
func (p *Policy) compileRule(w *walker, rs *ruleSpec) *rule {
	r := &rule{
		name: rs.name.s, pos: p.posOf(rs.node.Line), line: rs.node.Line, col: rs.node.Column,
		dir: rs.dir, forbid: rs.forbid, description: rs.description,
		kinds: rs.kinds, kindNames: rs.kindNames, source: rs.source,
		tlp: rs.tlp, pap: rs.pap, purposes: rs.purposes, bases: rs.bases, kmin: rs.kmin,
		retention: rs.retention, reshare: rs.reshare, domain: rs.domain, min: NoMinimise(),
	}
	if rs.min != nil {
		r.min, r.hasMin = *rs.min, true
	}
	if !r.forbid {
		if r.tlp == 0 { // ingress default: everything that may arrive automatically
			r.tlp = usage.AmberStrict
		}
		if r.pap == 0 {
			r.pap = usage.PAPRed
		}
	}
	r.sel.all = rs.sel.all
	for _, it := range rs.sel.peers {
		if p.byID[it.s] == nil {
			w.fail(it.n, "%s rule %q: peer %q is not listed under peers", r.dir, r.name, it.s)
			continue
		}
		r.sel.peers = append(r.sel.peers, it.s)
	}
	for _, it := range rs.sel.orgs {
		r.sel.orgs = append(r.sel.orgs, strings.TrimSpace(it.s))
	}
	for _, it := range rs.sel.groups {
		if p.byGroup[it.s] == nil {
			w.fail(it.n, "%s rule %q: group %q is not declared under groups", r.dir, r.name, it.s)
			continue
		}
		r.sel.groups = append(r.sel.groups, it.s)
	}
	r.sel.peers = slices.Compact(r.sel.peers)
	verb := "permitted"
	if r.forbid {
		verb = "forbidden"
	}
	r.reason = fmt.Sprintf("%s by %s rule %q", verb, r.dir, r.name)
	return r
}

// allowedPurposes returns the purposes an artifact purpose must be among
// for a permit rule to match: on egress those the peer declares and the
// rule lists (all the peer's when the rule lists none); on ingress the
// rule's, nil meaning any.
func (r *rule) allowedPurposes(peerPurposes []string) []string {
	if r.dir == Ingress {
		return r.purposes
	}
	if r.purposes == nil {
		return peerPurposes
	}
	out := []string{}
	for _, s := range peerPurposes {
		if slices.Contains(r.purposes, s) {
			out = append(out, s)
		}
	}
	return out
}

// domainFor resolves the pseudonymization domain of a peer when rule r
// decides: the rule's domain; else the domain of the first group, in the
// rule's order, through which the rule addresses the peer; else the peer's
// own domain; else a domain of the peer alone.
func (p *Policy) domainFor(pe *peerEntry, r *rule) string {
	if r.dir != Egress {
		return ""
	}
	if r.domain != "" {
		return r.domain
	}
	for _, g := range r.sel.groups {
		if pe.groupSet[g] && p.byGroup[g].pub.Domain != "" {
			return p.byGroup[g].pub.Domain
		}
	}
	return pe.fallback
}

func (p *Policy) posOf(line int) string { return fmt.Sprintf("%s:%d", p.name, line) }

// warnings lists what is valid but probably not meant, for [Summary].
func (p *Policy) warnings() []string {
	var out []string
	add := func(pos, format string, args ...any) { out = append(out, pos+": "+fmt.Sprintf(format, args...)) }
	orgs := map[string]bool{}
	for _, pe := range p.peers {
		orgs[pe.pub.Org] = true
		if len(pe.pub.Purposes) == 0 {
			add(pe.pos, "peer %q declares no purposes and so receives nothing", pe.pub.ID)
		}
	}
	for _, g := range p.groups {
		if len(g.pub.Members) == 0 {
			add(g.pos, "group %q has no members", g.pub.Name)
		}
	}
	if p.self.org == "" {
		add(p.name+":1", "self.org is not set: no TLP:AMBER+STRICT artifact is sent or accepted")
	}
	permits := 0
	for _, r := range p.rules[Egress] {
		if !r.forbid {
			permits++
		}
	}
	if len(p.peers) == 0 || permits == 0 {
		add(p.name+":1", "no listed peer or no egress permit: this policy shares nothing with anyone (only erasure notices and revocations go out)")
	}
	for dir, rules := range p.rules {
		for _, r := range rules {
			for _, o := range r.sel.orgs {
				if !orgs[o] {
					add(r.pos, "%s rule %q names org %q, which no listed peer has", r.dir, r.name, o)
				}
			}
			n := 0
			for _, pe := range p.peers {
				if ok, _ := r.sel.match(pe.pub.ID, pe.pub.Org, pe.inGroup); ok {
					n++
				}
			}
			if n == 0 {
				add(r.pos, "%s rule %q addresses no listed peer", r.dir, r.name)
			}
			if r.forbid || Direction(dir) != Egress {
				continue
			}
			if r.tlp == usage.Red {
				add(r.pos, "egress rule %q: TLP:RED never leaves the node automatically; the rule releases at most AMBER+STRICT", r.name)
			}
			if r.sel.all && r.tlp >= usage.Amber && len(r.sel.peers)+len(r.sel.orgs)+len(r.sel.groups) == 0 {
				add(r.pos, "egress rule %q: TLP:AMBER needs named recipients; through all it releases at most GREEN", r.name)
			}
			if r.source == sourceReceived && r.hasMin && !r.min.IsNone() {
				add(r.pos, "egress rule %q minimises received artifacts, which go on only as their originator signed them: it forwards nothing", r.name)
			}
		}
	}
	return out
}

// Name returns the file name the policy was parsed under.
func (p *Policy) Name() string { return p.name }

// Version returns the content hash of the policy source, "pol-" and 24 hex
// digits. Audit entries record it.
func (p *Policy) Version() string { return p.version }

// Self returns the self section: this node's peer ID, organisation and
// contact (each possibly empty).
func (p *Policy) Self() (id, org, contact string) { return p.self.id, p.self.org, p.self.contact }

// Warnings lists what is valid but probably not meant ("peer X declares no
// purposes"), each prefixed by file:line.
func (p *Policy) Warnings() []string { return slices.Clone(p.warn) }

// Peers returns the listed peers in file order (copies).
func (p *Policy) Peers() []Peer {
	out := make([]Peer, len(p.peers))
	for i, pe := range p.peers {
		out[i] = pe.pub.clone()
	}
	return out
}

// Peer returns the listed peer with the given ID.
func (p *Policy) Peer(id string) (Peer, bool) {
	pe := p.byID[id]
	if pe == nil {
		return Peer{}, false
	}
	return pe.pub.clone(), true
}

// Groups returns the declared groups in file order (copies).
func (p *Policy) Groups() []Group {
	out := make([]Group, len(p.groups))
	for i, g := range p.groups {
		out[i] = g.pub
		out[i].Members = slices.Clone(g.pub.Members)
	}
	return out
}

func (pr Peer) clone() Peer {
	pr.Groups = slices.Clone(pr.Groups)
	pr.Purposes = slices.Clone(pr.Purposes)
	return pr
}
