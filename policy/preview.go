package policy

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/flowfed/flowfed/share/usage"
)

// PreviewItem is what one artifact would become for a peer.
type PreviewItem struct {
	Artifact Artifact
	Decision Decision
}

// Preview decides every artifact for peer: what the peer would receive now,
// under which domain and minimised how, and what it would not get and why.
func Preview(p *Policy, peer Peer, arts []Artifact) []PreviewItem {
	out := make([]PreviewItem, len(arts))
	for i, a := range arts {
		out[i] = PreviewItem{Artifact: a, Decision: p.Decide(peer, a)}
	}
	return out
}

// WritePreview writes a preview for people: a header line, then per
// artifact "send" with domain, minimisation and attached usage policy, or
// "hold" with the deciding rule and reason.
func WritePreview(w io.Writer, peer Peer, items []PreviewItem) error {
	bw := bufio.NewWriter(w)
	n := 0
	for _, it := range items {
		if it.Decision.Allow {
			n++
		}
	}
	fmt.Fprintf(bw, "preview for peer %s: %d of %d artifacts would be sent\n", peer.ID, n, len(items))
	for _, it := range items {
		if err := it.write(bw); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteText writes one preview line (two when sent).
func (it PreviewItem) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := it.write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func (it PreviewItem) write(bw *bufio.Writer) error {
	d := it.Decision
	if !d.Allow {
		_, err := fmt.Fprintf(bw, "hold %s: %s: %s\n", it.Artifact, ruleAt(d), d.Reason)
		return err
	}
	_, err := fmt.Fprintf(bw, "send %s: %s\n     domain %s; minimise %s; usage %s\n", it.Artifact, ruleAt(d), d.Domain, d.Minimise, d.Usage)
	return err
}

// ruleAt renders the deciding rule with its position.
func ruleAt(d Decision) string {
	if d.Pos == "" {
		return d.Rule
	}
	return fmt.Sprintf("%s (%s)", d.Rule, d.Pos)
}

// Recorded is a decision made earlier: the peer, the artifact and what was
// decided, as kept by the node beside the audit chain.
type Recorded struct {
	Direction Direction
	Peer      Peer
	Artifact  Artifact
	// Decision is the decision recorded. When its Rule is empty, Diff
	// recomputes it under the old policy.
	Decision Decision
}

// Change is a recorded decision that a new policy would make differently.
type Change struct {
	Direction Direction
	Peer      Peer
	Artifact  Artifact
	Old, New  Decision
	OldPolicy string // version of the old policy, or "recorded"
	NewPolicy string // version of the new policy
	Verdict   bool   // the verdict changes (allow ↔ deny)
	// Scope says whether the new decision gives the peer less ("narrower":
	// denies, minimises or restricts more), more ("wider"), some of both
	// ("mixed") or the same ("same scope": another rule or domain).
	Scope string
	What  []string
}

// Diff replays recorded decisions under the policy next and returns those that
// change, in input order: the verdict, the deciding rule, the domain, the
// minimisation or the attached usage policy. Positions and reasons alone do
// not count as changes. old may be nil when every record has its decision.
func Diff(old, next *Policy, decisions []Recorded) []Change {
	var out []Change
	for _, rec := range decisions {
		// A recorded decision says allow or deny and by which rule; the
		// old policy gives its domain, minimisation and usage when it
		// decides the same way (else the decision was made under another
		// version, and only verdict and rule are compared).
		od := rec.Decision
		oldVersion := "recorded"
		detailed := false
		if old != nil {
			oldVersion = old.Version()
			full := old.decide(rec.Direction, rec.Peer.ID, rec.Artifact)
			if od.Rule == "" || full.Allow == od.Allow && full.Rule == od.Rule {
				od, detailed = full, true
			}
		}
		nd := next.decide(rec.Direction, rec.Peer.ID, rec.Artifact)
		what, scope := compare(od, nd, detailed)
		if len(what) == 0 {
			continue
		}
		out = append(out, Change{
			Direction: rec.Direction, Peer: rec.Peer, Artifact: rec.Artifact, Old: od, New: nd,
			OldPolicy: oldVersion, NewPolicy: next.Version(), Verdict: od.Allow != nd.Allow, Scope: scope, What: what,
		})
	}
	return out
}

// compare lists what differs between two decisions and the scope of the
// change (see [Change.Scope]).
func compare(od, nd Decision, detailed bool) (what []string, scope string) {
	var narrower, wider bool
	if od.Allow != nd.Allow {
		what = append(what, fmt.Sprintf("%s → %s", od.Verdict(), nd.Verdict()))
	}
	if od.Rule != nd.Rule {
		what = append(what, fmt.Sprintf("rule %s → %s", od.Rule, nd.Rule))
	}
	if !od.Allow || !nd.Allow || !detailed {
		return what, scopeOf(od.Allow && !nd.Allow, !od.Allow && nd.Allow)
	}
	if od.Domain != nd.Domain {
		what = append(what, fmt.Sprintf("domain %s → %s", od.Domain, nd.Domain))
	}
	if !minimiseEqual(od.Minimise, nd.Minimise) {
		what = append(what, fmt.Sprintf("minimise %s → %s", od.Minimise, nd.Minimise))
		both := nd.Minimise.Merge(od.Minimise)
		narrower = narrower || !minimiseEqual(both, od.Minimise)
		wider = wider || !minimiseEqual(both, nd.Minimise)
	}
	if !usageEqual(od.Usage, nd.Usage) {
		what = append(what, fmt.Sprintf("usage %s → %s", od.Usage, nd.Usage))
		narrower = narrower || !od.Usage.AtMostAsWide(nd.Usage)
		wider = wider || !nd.Usage.AtMostAsWide(od.Usage)
	}
	return what, scopeOf(narrower, wider)
}

func scopeOf(narrower, wider bool) string {
	switch {
	case narrower && wider:
		return "mixed"
	case narrower:
		return "narrower"
	case wider:
		return "wider"
	}
	return "same scope"
}

func minimiseEqual(a, b Minimise) bool {
	return a.DropPorts == b.DropPorts && a.TimeUnit == b.TimeUnit && a.PrefixV4 == b.PrefixV4 &&
		a.PrefixV6 == b.PrefixV6 && slices.Equal(a.DropFields, b.DropFields)
}

func usageEqual(a, b usage.Policy) bool {
	return a.TLP == b.TLP && a.PAP == b.PAP && slices.Equal(a.Purposes, b.Purposes) && a.LegalBasis == b.LegalBasis &&
		a.RetentionDays == b.RetentionDays && a.RetainUntil.Equal(b.RetainUntil) && a.Reshare == b.Reshare && a.KMin == b.KMin
}

// WriteDiff writes the changes for people: a header with the policy
// versions and a count, then one block per change.
func WriteDiff(w io.Writer, recorded int, changes []Change) error {
	bw := bufio.NewWriter(w)
	if len(changes) == 0 {
		fmt.Fprintf(bw, "policy diff: none of %d recorded decisions changes\n", recorded)
		return bw.Flush()
	}
	verdicts := 0
	for _, c := range changes {
		if c.Verdict {
			verdicts++
		}
	}
	fmt.Fprintf(bw, "policy diff %s → %s: %d of %d recorded decisions change (%d verdicts)\n",
		changes[0].OldPolicy, changes[0].NewPolicy, len(changes), recorded, verdicts)
	for _, c := range changes {
		if err := c.write(bw); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteText writes one change: a line naming the peer and artifact, then
// one indented line per difference and the new reason.
func (c Change) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := c.write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func (c Change) write(bw *bufio.Writer) error {
	dirWord := "to"
	if c.Direction == Ingress {
		dirWord = "from"
	}
	fmt.Fprintf(bw, "%s %s %s %s: %s\n", c.Direction, c.Artifact, dirWord, c.Peer.ID, c.Scope)
	for _, w := range c.What {
		fmt.Fprintf(bw, "  %s\n", w)
	}
	_, err := fmt.Fprintf(bw, "  now: %s: %s\n", ruleAt(c.New), strings.TrimSpace(c.New.Reason))
	return err
}
