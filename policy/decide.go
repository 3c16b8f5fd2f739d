package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flowfed/flowfed/share/usage"
)

// check names a built-in check. Built-in checks enforce the artifact's sticky
// usage policy and membership; no rule of a policy file can override them.
type check uint8

const (
	chkNone check = iota
	chkMember
	chkKind
	chkLocal
	chkOrigin
	chkRed
	chkAmberStrict
	chkReshareNone
	chkReshareGroup
	chkKMin
	chkPurpose
	chkDefault
	chkForwardMinimise
)

// builtins holds, per check, its name in explanations, the rule name of
// the decisions it denies, the reasons (egress, ingress), and whether a
// change to the policy file can make it pass.
var builtins = [...]struct {
	check, rule string
	reason      [2]string
	policyFix   bool
}{
	chkMember:       {"member", "builtin:not-a-member", [2]string{"the peer is not listed in the policy", "the sender is not listed in the policy"}, true},
	chkKind:         {"kind", "builtin:unknown-kind", [2]string{"the artifact kind is not known", "the artifact kind is not known"}, false},
	chkLocal:        {"local", "builtin:local", [2]string{"", "an incoming artifact cannot be local"}, false},
	chkOrigin:       {"origin", "builtin:no-origin", [2]string{"", "the artifact names no originator"}, false},
	chkRed:          {"tlp-red", "builtin:tlp-red", [2]string{"TLP:RED never leaves the node automatically", ""}, false},
	chkAmberStrict:  {"tlp-amber-strict", "builtin:tlp-amber-strict", [2]string{"TLP:AMBER+STRICT goes only to nodes of the originator's organisation", "TLP:AMBER+STRICT is only for the originator's organisation"}, false},
	chkReshareNone:  {"reshare-none", "builtin:reshare-none", [2]string{"received with reshare none: never forwarded", "forwarded although its usage policy says reshare none"}, false},
	chkReshareGroup: {"reshare-group", "builtin:reshare-group", [2]string{"received with reshare group: forwarded only within the groups it came through", "forwarded outside the groups its usage policy allows"}, true},
	chkKMin:         {"k-min", "builtin:k-min", [2]string{"the dataset was built with a smaller k than its usage policy requires", "the dataset was built with a smaller k than its usage policy requires"}, false},
	chkPurpose:      {"purpose", "builtin:purpose", [2]string{"the peer declares none of the artifact's purposes", ""}, true},
	chkDefault:      {"default", "builtin:default-deny", [2]string{"no egress rule permits it", "no ingress rule accepts it"}, true},
	chkForwardMinimise: {"forward-minimise", "builtin:forward-minimise", [2]string{
		"a received artifact goes on only as its originator signed it, and the matching rules minimise it", ""}, true},
}

// Decide says whether peer may receive artifact a now, and if so under which
// pseudonymization domain, minimised how, and with which usage policy
// attached. The peer is identified by its ID alone: the org, groups and
// purposes listed in the policy file are used, and a peer the file does not
// list receives nothing.
//
// Deny by default: the artifact's sticky usage policy is checked first
// (TLP:RED never leaves; AMBER+STRICT only to the originator's org; a
// received artifact with reshare none is never forwarded, with reshare group
// only within the groups it came through; the peer must declare one of its
// purposes), then any matching forbid rule denies, then at least one permit
// rule must match. Decide does not allocate unless the attached usage
// policy narrows the purposes or several rules drop different fields.
func (p *Policy) Decide(peer Peer, a Artifact) Decision {
	return p.decide(Egress, peer.ID, a)
}

// Accept says whether this node accepts artifact a from peer from, and if
// so how to minimise it and which usage policy to store with it. The sender
// must be listed; an artifact forwarded by someone other than its originator
// must have been allowed to be forwarded; then forbid and permit ingress
// rules apply as for [Policy.Decide].
func (p *Policy) Accept(from Peer, a Artifact) Decision {
	return p.decide(Ingress, from.ID, a)
}

func (p *Policy) decide(dir Direction, peerID string, a Artifact) Decision {
	pe := p.byID[peerID]
	if pe == nil {
		return deny(dir, chkMember)
	}
	c := evalCtx{p: p, dir: dir, a: a, peerID: pe.pub.ID, peerOrg: pe.pub.Org, inGroup: pe.inGroup, peerPurposes: pe.pub.Purposes}
	if !c.init() {
		return deny(dir, chkKind)
	}
	if chk := c.sticky(nil); chk != chkNone {
		return deny(dir, chk)
	}
	k := kindIndex(a.Kind)
	for i := range pe.forbids[dir][k] {
		r := pe.forbids[dir][k][i].r
		if c.forbidMatch(r, nil) {
			return Decision{Rule: r.name, Pos: r.pos, Reason: r.reason}
		}
	}
	var (
		first   *cand
		mask    uint64
		m       Minimise
		keep    int
		reshare usage.Reshare
		kmin    int
	)
	for i := range pe.permits[dir][k] {
		cd := &pe.permits[dir][k][i]
		pm, ok := c.permitMatch(cd.r, cd.named, cd.purposes, nil)
		if !ok {
			continue
		}
		mask |= pm
		if first == nil {
			first, m = cd, cd.min
		} else if cd.r.hasMin {
			m = m.Merge(cd.min)
		}
		if cd.r.retention > 0 && (keep == 0 || cd.r.retention < keep) {
			keep = cd.r.retention
		}
		reshare = max(reshare, cd.r.reshare)
		kmin = max(kmin, cd.r.kmin)
	}
	if first == nil {
		return deny(dir, chkDefault)
	}
	if dir == Egress && !a.Local && !m.IsNone() {
		// The originator's signature covers what a received artifact
		// holds: no one else can reduce it.
		return deny(dir, chkForwardMinimise)
	}
	u := c.u
	if n := len(u.Purposes); n > 64 || mask != 1<<n-1 {
		u.Purposes = pick(u.Purposes, mask)
	}
	if keep > 0 && (u.RetentionDays <= 0 || u.RetentionDays > keep) {
		u.RetentionDays = keep
	}
	u.Reshare = max(u.Reshare, reshare)
	if aggregate(a.Kind) {
		u.KMin = max(u.KMin, kmin)
	}
	return Decision{Allow: true, Rule: first.r.name, Pos: first.r.pos, Reason: first.r.reason, Domain: first.domain, Minimise: m, Usage: u}
}

func deny(dir Direction, chk check) Decision {
	return Decision{Rule: builtins[chk].rule, Reason: builtins[chk].reason[dir]}
}

// pick returns the purposes whose bit is set in mask (the first 64 only).
func pick(purposes []string, mask uint64) []string {
	out := make([]string, 0, min(len(purposes), 64))
	for i, s := range purposes {
		if i < 64 && mask&(1<<i) != 0 {
			out = append(out, s)
		}
	}
	return out
}

// evalCtx is one decision in progress: the peer as the policy knows it (or,
// in Explain, as the caller describes it), the artifact and its normalised
// usage policy.
type evalCtx struct {
	p            *Policy
	dir          Direction
	a            Artifact
	u            usage.Policy
	peerID       string
	peerOrg      string
	inGroup      func(string) bool
	peerPurposes []string
	kindBit      uint32
	// near is true for a local artifact (egress) or one sent by its
	// originator (ingress), the "local"/"direct" value of a rule's source.
	near bool
}

// init normalises the usage policy and resolves the kind; it reports
// whether the kind is known.
func (c *evalCtx) init() bool {
	c.u = normUsage(c.a.Usage)
	if c.dir == Egress {
		c.near = c.a.Local
	} else {
		c.near = c.a.Origin == c.peerID
	}
	k := kindIndex(c.a.Kind)
	if k < 0 {
		return false
	}
	c.kindBit = 1 << k
	return true
}

// failure is a condition that does not hold, with the change that would make it hold.
type failure struct{ what, fix string }

// addFail appends a failure when failures are being collected.
func addFail(fails *[]failure, what, fix string) {
	if fails != nil {
		*fails = append(*fails, failure{what, fix})
	}
}

// sticky runs the built-in checks in order and returns the first that
// fails, or chkNone. With a tracer it runs all of them and records each;
// details are formatted only then, so the decision path does not allocate.
func (c *evalCtx) sticky(tr *tracer) check {
	first := chkNone
	a, u := &c.a, &c.u
	// stop records the outcome of one check and says whether to return.
	stop := func(chk check, ok bool) bool {
		if !ok && first == chkNone {
			first = chk
		}
		return !ok && tr == nil
	}
	if c.dir == Ingress {
		ok := !a.Local
		if tr != nil {
			detail := "artifact from a peer"
			if !ok {
				detail = "incoming artifact marked local"
			}
			tr.check(chkLocal, c.dir, ok, detail, "received artifacts are never local")
		}
		if stop(chkLocal, ok) {
			return first
		}
		ok = a.Origin != ""
		if tr != nil {
			tr.check(chkOrigin, c.dir, ok, "originator "+quoteOr(a.Origin, "unknown"), "the envelope must name its publisher")
		}
		if stop(chkOrigin, ok) {
			return first
		}
	} else {
		ok := u.TLP != usage.Red
		if tr != nil {
			tr.check(chkRed, c.dir, ok, "TLP:"+u.TLP.String(), "only the originator can relabel it")
		}
		if stop(chkRed, ok) {
			return first
		}
	}
	if u.TLP == usage.AmberStrict {
		// Egress: the recipient must be of the originator's org. Ingress:
		// this node must be.
		originOrg := a.OriginOrg
		if c.dir == Egress && a.Local && originOrg == "" {
			originOrg = c.p.self.org
		}
		org, whose := c.peerOrg, "peer "+c.peerID
		if c.dir == Ingress {
			org, whose = c.p.self.org, "this node"
		}
		ok := originOrg != "" && org == originOrg
		if tr != nil {
			if originOrg == "" {
				tr.check(chkAmberStrict, c.dir, ok, "TLP:AMBER+STRICT but the originator's org is unknown", "the artifact must name its origin org (self.org for local artifacts)")
			} else {
				tr.check(chkAmberStrict, c.dir, ok, fmt.Sprintf("TLP:AMBER+STRICT from org %q, %s is org %q", originOrg, whose, org),
					fmt.Sprintf("only nodes of org %q may receive it", originOrg))
			}
		}
		if stop(chkAmberStrict, ok) {
			return first
		}
	}
	if !c.near {
		// A received artifact (egress) or a forwarded one (ingress).
		ok := u.Reshare != usage.ReshareNone
		if tr != nil {
			tr.check(chkReshareNone, c.dir, ok, "reshare "+u.Reshare.String()+", originator "+quoteOr(a.Origin, "unknown"),
				"only the originator can allow resharing, by reissuing it with reshare group or community")
		}
		if stop(chkReshareNone, ok) {
			return first
		}
		if u.Reshare == usage.ReshareGroup {
			ok := slices.ContainsFunc(a.ReceivedVia, c.inGroup)
			if tr != nil {
				via := strings.Join(a.ReceivedVia, ",")
				if via == "" {
					via = "no group"
				}
				tr.check(chkReshareGroup, c.dir, ok, fmt.Sprintf("reshare group via %s; peer %s is in %s", via, c.peerID, c.groupsText()),
					fmt.Sprintf("make peer %s a member of a group it came through (%s)", c.peerID, via))
			}
			if stop(chkReshareGroup, ok) {
				return first
			}
		}
	}
	if aggregate(a.Kind) && u.KMin > 0 {
		ok := a.K >= u.KMin
		if tr != nil {
			tr.check(chkKMin, c.dir, ok, fmt.Sprintf("k=%d, usage policy needs k ≥ %d", a.K, u.KMin), fmt.Sprintf("the dataset must be rebuilt with k ≥ %d", u.KMin))
		}
		if stop(chkKMin, ok) {
			return first
		}
	}
	if c.dir == Egress {
		ok := intersects(u.Purposes, c.peerPurposes)
		if tr != nil {
			tr.check(chkPurpose, c.dir, ok, fmt.Sprintf("artifact purposes %s, peer declares %s", list(u.Purposes), list(c.peerPurposes)),
				fmt.Sprintf("peer %s must declare one of %s", c.peerID, list(u.Purposes)))
		}
		if stop(chkPurpose, ok) {
			return first
		}
	}
	return first
}

func (c *evalCtx) groupsText() string {
	var gs []string
	if pe := c.p.byID[c.peerID]; pe != nil {
		gs = pe.pub.Groups
	} else {
		for _, g := range c.p.groups {
			if c.inGroup(g.pub.Name) {
				gs = append(gs, g.pub.Name)
			}
		}
	}
	if len(gs) == 0 {
		return "no group"
	}
	return strings.Join(gs, ",")
}

// common conditions of permit and forbid rules

func (c *evalCtx) kindOK(r *rule, fails *[]failure) bool {
	if c.kindBit&r.kinds != 0 {
		return true
	}
	if fails != nil {
		addFail(fails, fmt.Sprintf("kind %s not in kinds %s", c.a.Kind, list(r.kindNames)), fmt.Sprintf("add %s to kinds", c.a.Kind))
	}
	return false
}

func (c *evalCtx) sourceOK(r *rule, fails *[]failure) bool {
	if r.source == sourceAny {
		return true
	}
	want := r.source == sourceLocal || r.source == sourceDirect
	if want == c.near {
		return true
	}
	have := [2][2]string{{"received", "local"}, {"forwarded", "direct"}}[c.dir][b2i(c.near)]
	if fails != nil {
		addFail(fails, fmt.Sprintf("artifact is %s, rule covers %s only", have, r.source), "set source: any")
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// permitMatch checks the conditions of a permit rule other than its
// recipients. named says whether the rule names the peer (TLP:AMBER and
// AMBER+STRICT need that on egress); allowed is [cand.purposes]. It returns
// the bits of the artifact's purposes the rule permits.
func (c *evalCtx) permitMatch(r *rule, named bool, allowed []string, fails *[]failure) (uint64, bool) {
	ok := c.kindOK(r, fails)
	if !ok && fails == nil {
		return 0, false
	}
	if !c.sourceOK(r, fails) {
		ok = false
		if fails == nil {
			return 0, false
		}
	}
	u := &c.u
	if u.TLP > r.tlp {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("TLP:%s above ceiling TLP:%s", u.TLP, r.tlp), "raise tlp to "+u.TLP.String())
		}
	}
	if c.dir == Egress && u.TLP >= usage.Amber && !named {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("TLP:%s needs a named recipient; the rule reaches peer %s only through all", u.TLP, c.peerID),
				fmt.Sprintf("name peer %s, its org or one of its groups in to", c.peerID))
		}
	}
	if u.PAP > r.pap {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("PAP:%s above ceiling PAP:%s", u.PAP, r.pap), "raise pap to "+u.PAP.String())
		}
	}
	var mask uint64
	for i, s := range u.Purposes {
		if i >= 64 {
			break
		}
		if (allowed == nil && c.dir == Ingress) || slices.Contains(allowed, s) {
			mask |= 1 << i
		}
	}
	if mask == 0 {
		ok = false
		if fails != nil {
			if c.dir == Egress {
				if fails != nil {
					addFail(fails, fmt.Sprintf("no purpose common to artifact %s, peer %s and rule %s", list(u.Purposes), list(c.peerPurposes), listOr(r.purposes, "(any)")),
						"add to purposes one of the artifact's purposes the peer declares")
				}
			} else {
				if fails != nil {
					addFail(fails, fmt.Sprintf("artifact purposes %s not in %s", list(u.Purposes), list(r.purposes)),
						"add one of "+list(u.Purposes)+" to purposes")
				}
			}
		}
	}
	if r.bases != nil && !slices.Contains(r.bases, u.LegalBasis) {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("legal basis %s not in %s", quoteOr(u.LegalBasis, "(none)"), list(r.bases)),
				"add "+quoteOr(u.LegalBasis, "the artifact's legal basis")+" to legal_basis")
		}
	}
	if r.kmin > 0 && aggregate(c.a.Kind) && c.a.K < r.kmin {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("k=%d below k_min %d", c.a.K, r.kmin), fmt.Sprintf("lower k_min to %d or rebuild the dataset with k ≥ %d", max(c.a.K, 1), r.kmin))
		}
	}
	return mask, ok
}

// forbidMatch checks the conditions of a forbid rule other than its
// recipients: every condition the rule sets must hold for it to apply.
func (c *evalCtx) forbidMatch(r *rule, fails *[]failure) bool {
	ok := c.kindOK(r, fails)
	if !ok && fails == nil {
		return false
	}
	if !c.sourceOK(r, fails) {
		ok = false
		if fails == nil {
			return false
		}
	}
	u := &c.u
	if r.tlp != 0 && u.TLP < r.tlp {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("TLP:%s below TLP:%s", u.TLP, r.tlp), "")
		}
	}
	if r.pap != 0 && u.PAP < r.pap {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("PAP:%s below PAP:%s", u.PAP, r.pap), "")
		}
	}
	if r.purposes != nil && !intersects(u.Purposes, r.purposes) {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("artifact purposes %s not in %s", list(u.Purposes), list(r.purposes)), "")
		}
	}
	if r.bases != nil && !slices.Contains(r.bases, u.LegalBasis) {
		ok = false
		if fails != nil {
			addFail(fails, fmt.Sprintf("legal basis %s not in %s", quoteOr(u.LegalBasis, "(none)"), list(r.bases)), "")
		}
	}
	if r.kmin > 0 && !(aggregate(c.a.Kind) && c.a.K < r.kmin) {
		ok = false
		if aggregate(c.a.Kind) {
			if fails != nil {
				addFail(fails, fmt.Sprintf("k=%d not below %d", c.a.K, r.kmin), "")
			}
		} else {
			if fails != nil {
				addFail(fails, fmt.Sprintf("k_min applies to datasets, not %s", c.a.Kind), "")
			}
		}
	}
	return ok
}

func intersects(a, b []string) bool {
	for _, s := range a {
		if slices.Contains(b, s) {
			return true
		}
	}
	return false
}

// list renders a list for messages: "[a, b]".
func list(s []string) string { return "[" + strings.Join(s, ", ") + "]" }

func listOr(s []string, none string) string {
	if s == nil {
		return none
	}
	return list(s)
}

func quoteOr(s, none string) string {
	if s == "" {
		return none
	}
	return fmt.Sprintf("%q", s)
}

// defaultPurposes is shared by every normalised policy without purposes; it
// must never be modified.
var defaultPurposes = []string{usage.DefaultPurpose}

// normUsage is usage.Policy.Normalize without allocating when the purposes
// are already canonical, as they are in a policy that went through Normalize.
func normUsage(u usage.Policy) usage.Policy {
	if !canonical(u.Purposes) {
		return u.Normalize()
	}
	if !u.TLP.Valid() {
		u.TLP = usage.DefaultTLP
	}
	if !u.PAP.Valid() {
		u.PAP = usage.PAPAmber
	}
	if u.Reshare < usage.ReshareCommunity || u.Reshare > usage.ReshareNone {
		u.Reshare = usage.DefaultReshare
	}
	if u.RetentionDays <= 0 && u.RetainUntil.IsZero() {
		u.RetentionDays = usage.DefaultRetentionDays
	}
	if len(u.Purposes) == 0 {
		u.Purposes = defaultPurposes
	}
	if !u.RetainUntil.IsZero() {
		u.RetainUntil = u.RetainUntil.UTC()
	}
	return u
}

// canonical reports whether purposes are lower case, trimmed, non-empty,
// sorted and unique (an empty list counts: it gets the default).
func canonical(ps []string) bool {
	for i, s := range ps {
		if s == "" || (i > 0 && ps[i-1] >= s) {
			return false
		}
		for j := 0; j < len(s); j++ {
			if c := s[j]; (c >= 'A' && c <= 'Z') || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c >= 0x80 {
				return false
			}
		}
	}
	return true
}
