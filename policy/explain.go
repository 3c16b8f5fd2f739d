package policy

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Check is one built-in check of an explanation: membership, the artifact's
// kind, and the rules of its sticky usage policy.
type Check struct {
	Name   string // "member", "tlp-red", "reshare-none", ...
	OK     bool
	Detail string // what was checked, with the values seen
	Fix    string // what would make it pass
	// PolicyFix says whether a change to the policy file can make it pass;
	// a TLP:RED label or reshare none can only be changed by the originator.
	PolicyFix bool
}

// RuleTrace is one rule of the policy as an explanation saw it.
type RuleTrace struct {
	Name    string
	Pos     string // file:line
	Effect  string // "permit" or "forbid"
	Matched bool
	// Failed lists the conditions that do not hold; empty when Matched.
	Failed []string
	fixes  []string
}

// Explanation is a decision with how it came about.
type Explanation struct {
	Direction Direction
	Peer      Peer     // as the policy lists it, or as given when not listed
	Artifact  Artifact //
	Decision  Decision
	Checks    []Check     // built-in checks, in the order they run
	Rules     []RuleTrace // every rule of the direction, in file order
	// Flip is the smallest change that would turn the decision around, in
	// words.
	Flip string
}

// tracer collects the built-in checks of an explanation.
type tracer struct{ checks []Check }

func (t *tracer) check(chk check, dir Direction, ok bool, detail, fix string) {
	t.checks = append(t.checks, Check{Name: builtins[chk].check, OK: ok, Detail: detail, Fix: fix, PolicyFix: builtins[chk].policyFix})
}

// Explain is [Policy.Decide] with every check and rule it looked at and the
// smallest change that would flip the decision. A peer the policy does not
// list is traced with the org, groups and purposes given, to show what a
// listing would change.
func (p *Policy) Explain(peer Peer, a Artifact) Explanation {
	return p.explain(Egress, peer, a)
}

// ExplainAccept is [Policy.Accept] explained like [Policy.Explain].
func (p *Policy) ExplainAccept(from Peer, a Artifact) Explanation {
	return p.explain(Ingress, from, a)
}

func (p *Policy) explain(dir Direction, peer Peer, a Artifact) Explanation {
	e := Explanation{Direction: dir, Artifact: a, Decision: p.decide(dir, peer.ID, a)}
	tr := &tracer{}
	c := evalCtx{p: p, dir: dir, a: a}
	if pe := p.byID[peer.ID]; pe != nil {
		e.Peer = pe.pub.clone()
		c.inGroup = pe.inGroup
		tr.check(chkMember, dir, true, "peer "+peer.ID+" listed at "+pe.pos, "")
	} else {
		e.Peer = peer.clone()
		e.Peer.Purposes = compactSorted(lowerAll(e.Peer.Purposes))
		groups := e.Peer.Groups
		c.inGroup = func(g string) bool { return slices.Contains(groups, g) }
		tr.check(chkMember, dir, false, "peer "+quoteOr(peer.ID, "(no ID)")+" is not listed", "add peer "+quoteOr(peer.ID, "(no ID)")+" to peers")
	}
	c.peerID, c.peerOrg, c.peerPurposes = e.Peer.ID, e.Peer.Org, e.Peer.Purposes
	known := c.init()
	tr.check(chkKind, dir, known, "kind "+quoteOr(a.Kind, "(none)"), "use one of "+list(kinds[:]))
	c.sticky(tr)
	e.Checks = tr.checks
	for _, r := range p.rules[dir] {
		rt := RuleTrace{Name: r.name, Pos: r.pos, Effect: "permit"}
		if r.forbid {
			rt.Effect = "forbid"
		}
		fails := c.ruleFailures(r)
		rt.Matched = len(fails) == 0
		for _, f := range fails {
			rt.Failed = append(rt.Failed, f.what)
			rt.fixes = append(rt.fixes, f.fix)
		}
		e.Rules = append(e.Rules, rt)
	}
	// When the peer declares none of the artifact's purposes, the flip
	// first has it declare them; a permit rule then needs only its other
	// changes.
	for _, ch := range e.Checks {
		if ch.Name == builtins[chkPurpose].check && !ch.OK {
			h := c
			h.peerPurposes = unionSorted(c.peerPurposes, c.u.Purposes)
			for i, r := range p.rules[dir] {
				e.Rules[i].fixes = nil
				for _, f := range h.ruleFailures(r) {
					e.Rules[i].fixes = append(e.Rules[i].fixes, f.fix)
				}
			}
		}
	}
	if e.Decision.Rule == builtins[chkForwardMinimise].rule {
		var ms []string
		for _, rt := range e.Rules {
			if rt.Matched && rt.Effect == "permit" {
				ms = append(ms, fmt.Sprintf("%q (%s)", rt.Name, rt.Pos))
			}
		}
		e.Checks = append(e.Checks, Check{Name: builtins[chkForwardMinimise].check, OK: false, PolicyFix: true,
			Detail: "received from another member; matching permits: " + strings.Join(ms, ", "),
			Fix:    "take minimise out of the rules that match received artifacts (source: received), or ask the originator to minimise"})
	}
	e.Flip = e.flip()
	return e
}

// ruleFailures lists the conditions of r that do not hold, the recipient
// first.
func (c *evalCtx) ruleFailures(r *rule) []failure {
	var fails []failure
	who := [2]string{"to", "from"}[c.dir]
	ok, named := r.sel.match(c.peerID, c.peerOrg, c.inGroup)
	if !ok {
		fails = append(fails, failure{
			fmt.Sprintf("peer %s not in %s (%s)", c.peerID, who, r.sel.String()),
			fmt.Sprintf("add peer %s to %s.peers", c.peerID, who),
		})
	}
	if r.forbid {
		c.forbidMatch(r, &fails)
	} else {
		// A rule that does not address the peer at all is reported as
		// such, not also as reaching it only through all.
		c.permitMatch(r, named || !ok, r.allowedPurposes(c.peerPurposes), &fails)
	}
	return fails
}

func lowerAll(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		out = append(out, strings.ToLower(strings.TrimSpace(v)))
	}
	return out
}

// flip finds the smallest change that would turn the decision around.
func (e *Explanation) flip() string {
	who := [2]string{"to", "from"}[e.Direction]
	forbid := fmt.Sprintf("an %s forbid rule with %s: {peers: [%s]} and kinds: [%s] (a forbid wins over any permit)", e.Direction, who, e.Peer.ID, e.Artifact.Kind)
	var permits, forbids []RuleTrace
	for _, rt := range e.Rules {
		switch {
		case !rt.Matched:
		case rt.Effect == "permit":
			permits = append(permits, rt)
		default:
			forbids = append(forbids, rt)
		}
	}
	if e.Decision.Allow {
		if len(permits) == 1 {
			return fmt.Sprintf("deny by %s; or by removing rule %q (%s), the only permit that matches, or taking this peer or kind out of it", forbid, permits[0].Name, permits[0].Pos)
		}
		names := make([]string, len(permits))
		for i, rt := range permits {
			names[i] = fmt.Sprintf("%q (%s)", rt.Name, rt.Pos)
		}
		return fmt.Sprintf("deny by %s; %d permits match (%s) and each would have to stop matching", forbid, len(permits), strings.Join(names, ", "))
	}
	var parts []string
	for _, ch := range e.Checks {
		if ch.OK {
			continue
		}
		if !ch.PolicyFix {
			return fmt.Sprintf("no change to this policy flips it: %s (%s); %s", builtinReason(ch.Name, e.Direction), ch.Detail, ch.Fix)
		}
		parts = append(parts, ch.Fix)
	}
	for _, rt := range forbids {
		parts = append(parts, fmt.Sprintf("remove or narrow forbid rule %q (%s)", rt.Name, rt.Pos))
	}
	if len(permits) == 0 {
		if np := e.nearestPermit(); np != "" {
			parts = append(parts, np)
		}
	}
	switch len(parts) {
	case 0:
		return "no single change to this policy found"
	case 1:
		return "allow by: " + parts[0]
	}
	for i := range parts {
		parts[i] = fmt.Sprintf("(%d) %s", i+1, parts[i])
	}
	return "allow by all of: " + strings.Join(parts, "; ")
}

// nearestPermit describes the permit rule that needs the fewest changes to
// match, or "" when one needs none (the checks alone stand in the way). A
// change of a condition weighs less than adding the kind to a rule, which
// weighs less than widening a rule's recipients; then file order decides.
func (e *Explanation) nearestPermit() string {
	best, bestCost := -1, 0
	for i, rt := range e.Rules {
		if rt.Effect != "permit" {
			continue
		}
		cost := 3 * len(rt.fixes)
		for _, f := range rt.fixes {
			switch {
			case strings.HasPrefix(f, "add peer "):
				cost += 2
			case strings.HasSuffix(f, " to kinds"):
				cost++
			}
		}
		if best < 0 || cost < bestCost {
			best, bestCost = i, cost
		}
	}
	if best >= 0 && len(e.Rules[best].fixes) == 0 {
		return ""
	}
	if best < 0 {
		return fmt.Sprintf("adding an %s permit rule with %s: {peers: [%s]}, kinds: [%s] and tlp: %s",
			e.Direction, [2]string{"to", "from"}[e.Direction], e.Peer.ID, e.Artifact.Kind, normUsage(e.Artifact.Usage).TLP)
	}
	rt := e.Rules[best]
	fixes := slices.Compact(slices.Clone(rt.fixes))
	return fmt.Sprintf("changing rule %q (%s): %s", rt.Name, rt.Pos, strings.Join(fixes, "; "))
}

func builtinReason(name string, dir Direction) string {
	for _, b := range builtins {
		if b.check == name {
			return b.reason[dir]
		}
	}
	return name
}

// WriteText writes the explanation for people, as `flowfed policy explain`
// shows it.
func (e Explanation) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	d := e.Decision
	fmt.Fprintf(bw, "%s decision: %s (%s", e.Direction, d.Verdict(), d.Rule)
	if d.Pos != "" {
		fmt.Fprintf(bw, " at %s", d.Pos)
	}
	fmt.Fprintf(bw, ")\n  reason:   %s\n", d.Reason)
	fmt.Fprintf(bw, "  peer:     %s\n", peerText(e.Peer))
	fmt.Fprintf(bw, "  artifact: %s\n", artifactText(e.Artifact))
	if d.Allow {
		if e.Direction == Egress {
			fmt.Fprintf(bw, "  domain:   %s\n", d.Domain)
		}
		fmt.Fprintf(bw, "  minimise: %s\n", d.Minimise)
		fmt.Fprintf(bw, "  usage:    %s\n", d.Usage)
	}
	bw.WriteString("checks:\n")
	for _, ch := range e.Checks {
		status := "ok  "
		if !ch.OK {
			status = "FAIL"
		}
		fmt.Fprintf(bw, "  %s %-16s %s\n", status, ch.Name, ch.Detail)
	}
	fmt.Fprintf(bw, "%s rules:\n", e.Direction)
	if len(e.Rules) == 0 {
		bw.WriteString("  (none)\n")
	}
	for _, rt := range e.Rules {
		status := "match"
		if !rt.Matched {
			status = "no match: " + strings.Join(rt.Failed, "; ")
		}
		fmt.Fprintf(bw, "  %-6s %s (%s): %s\n", rt.Effect, rt.Name, rt.Pos, status)
	}
	fmt.Fprintf(bw, "flip: %s\n", e.Flip)
	return bw.Flush()
}

// peerText renders a peer on one line.
func peerText(p Peer) string {
	s := fmt.Sprintf("%s (org %s; groups %s; purposes %s", p.ID, orDash(p.Org), strings.Join(orNone(p.Groups), ","), strings.Join(orNone(p.Purposes), ","))
	if p.Domain != "" {
		s += "; domain " + p.Domain
	}
	return s + ")"
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"none"}
	}
	return s
}

// artifactText renders an artifact and its usage policy on one line.
func artifactText(a Artifact) string {
	var b strings.Builder
	b.WriteString(a.String())
	if a.Local {
		b.WriteString(" (local")
	} else {
		fmt.Fprintf(&b, " (from %s", quoteOr(a.Origin, "unknown origin"))
	}
	if a.OriginOrg != "" {
		fmt.Fprintf(&b, ", org %s", a.OriginOrg)
	}
	if len(a.ReceivedVia) > 0 {
		fmt.Fprintf(&b, ", via %s", strings.Join(a.ReceivedVia, ","))
	}
	if aggregate(a.Kind) {
		fmt.Fprintf(&b, ", k=%d", a.K)
	}
	fmt.Fprintf(&b, ") %s", normUsage(a.Usage))
	return b.String()
}
