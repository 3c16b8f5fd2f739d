package policy

import (
	"fmt"
	"strings"
)

// Summary describes a compiled policy for `flowfed policy check`: its
// version, groups, peers with their resolved default domains, every rule
// with its effective conditions (defaults filled in) and the warnings.
func Summary(p *Policy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "policy %s (%s), format version %d\n", p.name, p.version, FormatVersion)
	fmt.Fprintf(&b, "self: id %s, org %s\n", orDash(p.self.id), orDash(p.self.org))
	fmt.Fprintf(&b, "groups (%d):\n", len(p.groups))
	for _, g := range p.groups {
		fmt.Fprintf(&b, "  %s: domain %s; members %s\n", g.pub.Name, orDash(g.pub.Domain), strings.Join(orNone(g.pub.Members), ", "))
	}
	fmt.Fprintf(&b, "peers (%d):\n", len(p.peers))
	for _, pe := range p.peers {
		fmt.Fprintf(&b, "  %s: org %s; groups %s; purposes %s; default domain %s\n", pe.pub.ID, pe.pub.Org,
			strings.Join(orNone(pe.pub.Groups), ","), strings.Join(orNone(pe.pub.Purposes), ","), pe.fallback)
	}
	for dir, rules := range p.rules {
		permits := 0
		for _, r := range rules {
			if !r.forbid {
				permits++
			}
		}
		fmt.Fprintf(&b, "%s rules (%d: %d permit, %d forbid):\n", Direction(dir), len(rules), permits, len(rules)-permits)
		for _, r := range rules {
			fmt.Fprintf(&b, "  %s\n", r.text())
		}
	}
	fmt.Fprintf(&b, "warnings (%d):\n", len(p.warn))
	for _, w := range p.warn {
		fmt.Fprintf(&b, "  %s\n", w)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// text renders a rule with its effective conditions on one line.
func (r *rule) text() string {
	effect := "permit"
	if r.forbid {
		effect = "forbid"
	}
	who := [2]string{"to", "from"}[r.dir]
	parts := []string{
		fmt.Sprintf("%s %s (%s): %s %s", effect, r.name, r.pos, who, r.sel.String()),
		"kinds " + strings.Join(r.kindNames, ","),
	}
	if r.source != sourceAny {
		parts = append(parts, "source "+r.source.String())
	}
	if r.forbid {
		if r.tlp != 0 {
			parts = append(parts, "TLP ≥ "+r.tlp.String())
		}
		if r.pap != 0 {
			parts = append(parts, "PAP ≥ "+r.pap.String())
		}
	} else {
		parts = append(parts, "TLP ≤ "+r.tlp.String(), "PAP ≤ "+r.pap.String())
	}
	if r.purposes != nil {
		parts = append(parts, "purposes "+strings.Join(r.purposes, ","))
	}
	if r.bases != nil {
		parts = append(parts, "legal basis "+strings.Join(r.bases, ","))
	}
	if r.kmin > 0 {
		if r.forbid {
			parts = append(parts, fmt.Sprintf("k < %d", r.kmin))
		} else {
			parts = append(parts, fmt.Sprintf("k ≥ %d", r.kmin))
		}
	}
	if r.retention > 0 {
		parts = append(parts, fmt.Sprintf("retention ≤ %dd", r.retention))
	}
	if r.reshare != 0 {
		parts = append(parts, "reshare ≤ "+r.reshare.String())
	}
	if r.domain != "" {
		parts = append(parts, "domain "+r.domain)
	}
	if r.hasMin && !r.min.IsNone() {
		parts = append(parts, "minimise "+r.min.String())
	}
	return strings.Join(parts, "; ")
}
