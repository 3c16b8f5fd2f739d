package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/usage"
)

// PolicyFile is the sharing policy's name in the data directory when it was
// applied with 'flowfed policy apply'.
const PolicyFile = "policy.yaml"

// policyPath is the policy file in force: the config's policy_file, else
// policy.yaml in the data directory when present, else none.
func policyPath(dir string, cfg Config) string {
	if cfg.PolicyFile != "" {
		if filepath.IsAbs(cfg.PolicyFile) {
			return cfg.PolicyFile
		}
		return filepath.Join(dir, cfg.PolicyFile)
	}
	p := filepath.Join(dir, PolicyFile)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// LoadPolicy reads the policy in force for a data directory; nil without one.
func LoadPolicy(dir string, cfg Config) (*policy.Policy, error) {
	path := policyPath(dir, cfg)
	if path == "" {
		return nil, nil
	}
	p, err := policy.Load(path)
	if err != nil {
		return nil, fmt.Errorf("sharing policy: %w", err)
	}
	return p, nil
}

// ErrPolicyRejected is wrapped when the ingress rules refuse an artifact.
var ErrPolicyRejected = errors.New("refused by the sharing policy")

// decider is the node's egress hook: the sharing policy when one is in force
// (every decision recorded in the audit chain), else the protocol's default.
type decider struct {
	n   *Node
	pol atomic.Pointer[policy.Policy]
}

func (d *decider) Version() string {
	if p := d.pol.Load(); p != nil {
		return p.Version()
	}
	return "default"
}

func (d *decider) Decide(p peer.ID, e *protocol.Envelope) (protocol.Decision, error) {
	switch {
	case e.Kind == KindForward:
		return d.decideForward(p, e)
	case e.Kind == KindTombstone && e.Publisher == d.n.id:
		return d.decideTombstone(p, e)
	}
	if dec, ok, err := d.decideRevocation(p, e); ok || err != nil {
		return dec, err
	}
	pol := d.pol.Load()
	if pol == nil {
		dec, err := protocol.DefaultDecider{}.Decide(p, e)
		if err == nil {
			err = d.n.audit(auditRecord{Kind: policy.AuditEgress, Artifact: policy.ArtifactRef(e.Kind, e.ArtifactID), Version: e.Version,
				Peer: p.String(), Rule: dec.Rule, Decision: verdict(dec.Allow), Reason: dec.Reason})
		}
		if err != nil || !dec.Allow || e.Kind != KindDataset || e.Publisher != d.n.id {
			return dec, err
		}
		// Without a policy every recipient is a domain of its own, so no
		// two recipients can link the pseudonyms they get.
		v, verr := d.n.datasetVariant(e, "peer:"+p.String(), policy.NoMinimise(), e.Usage)
		if verr != nil {
			return protocol.Decision{Rule: dec.Rule, Reason: fmt.Sprintf("the dataset cannot be prepared for %s: %v", p, verr)}, nil
		}
		dec.Envelope = v
		return dec, nil
	}
	a := d.n.policyArtifact(e)
	pp := policy.Peer{ID: p.String()}
	if m, ok := pol.Peer(p.String()); ok {
		pp = m
	}
	dec := pol.Decide(pp, a)
	entry := pol.Entry(policy.Egress, d.n.now(), pp, a, dec)
	if err := d.n.appendEntry(entry); err != nil {
		return protocol.Decision{}, err
	}
	out := protocol.Decision{Allow: dec.Allow, Rule: dec.Rule, Reason: dec.Reason}
	if !dec.Allow || e.Publisher != d.n.id {
		return out, nil
	}
	// What leaves is the artifact as this recipient may have it: a dataset
	// in the recipient's pseudonymization domain, minimised as the rules
	// say, and any artifact under the narrowed usage policy.
	use := dec.Usage.Seal(e.Created)
	narrower := use.String() != e.Usage.String()
	switch {
	case (e.Kind == KindIndicator || e.Kind == KindSighting) && !dec.Minimise.IsNone():
		payload, err := minimiseIntel(e.Kind, e.Payload, dec.Minimise)
		if err != nil {
			return protocol.Decision{}, err
		}
		v, err := protocol.Seal(d.n.key, protocol.Envelope{Kind: e.Kind, ArtifactID: e.ArtifactID, Version: e.Version,
			Payload: payload, Seq: e.Seq, Created: e.Created, Usage: use})
		if err != nil {
			return protocol.Decision{}, err
		}
		out.Envelope = &v
	case e.Kind == KindDataset && (dec.Domain != d.n.ownDomain() || !dec.Minimise.IsNone() || narrower):
		v, err := d.n.datasetVariant(e, dec.Domain, dec.Minimise, use)
		if err != nil {
			out.Allow = false
			out.Reason = fmt.Sprintf("%s; the dataset cannot be prepared for domain %s: %v", dec.Reason, dec.Domain, err)
			return out, nil
		}
		out.Envelope = v
	case narrower:
		v, err := protocol.Seal(d.n.key, protocol.Envelope{Kind: e.Kind, ArtifactID: e.ArtifactID, Version: e.Version,
			Payload: e.Payload, Seq: e.Seq, Created: e.Created, Usage: use})
		if err != nil {
			return protocol.Decision{}, err
		}
		out.Envelope = &v
	}
	return out, nil
}

func verdict(allow bool) string {
	if allow {
		return policy.DecisionAllow
	}
	return policy.DecisionDeny
}

// ownDomain is the pseudonymization domain the node's own data is in.
func (n *Node) ownDomain() string { return "peer:" + n.id.String() }

// policyArtifact describes an envelope for a policy decision.
func (n *Node) policyArtifact(e *protocol.Envelope) policy.Artifact {
	org := ""
	if e.Publisher == n.id {
		org = n.cfg.Org
	} else if m, ok := n.Member(e.Publisher); ok {
		org = m.Org
	}
	return envelopeArtifact(e, e.Publisher == n.id, org)
}

func envelopeArtifact(e *protocol.Envelope, local bool, org string) policy.Artifact {
	a := policy.Artifact{Kind: e.Kind, ID: e.ArtifactID, Version: e.Version, Origin: e.Publisher.String(), OriginOrg: org, Local: local, Usage: e.Usage}
	if e.Kind == KindDataset {
		if m, err := dataset.DecodeManifest(e.Payload); err == nil {
			a.K = m.K
		}
	}
	return a
}

// appendEntry links a policy audit entry into the chain.
func (n *Node) appendEntry(e policy.AuditEntry) error {
	return n.st.AppendAudit(entryChain(e))
}

// SetPolicy puts a new sharing policy in force (nil: the default) and
// records it in the audit chain.
func (n *Node) SetPolicy(p *policy.Policy) error {
	d, ok := n.dec.(*decider)
	if !ok {
		return errors.New("this node's egress decisions are fixed by its embedder")
	}
	old := d.pol.Swap(p)
	if err := n.audit(auditRecord{Kind: policy.AuditPolicy, Decision: "applied", Reason: "policy " + d.Version()}); err != nil {
		return err
	}
	if err := n.reofferWidened(old, p); err != nil {
		return err
	}
	return n.forwardHeld()
}

// acceptCheck applies the ingress rules of the policy to an envelope from a
// member, kept under usage policy use, records the decision in the audit
// chain, and returns the usage policy to store it with: use, narrowed by the
// matching ingress rules (a shorter retention, a narrower reshare). Without a
// policy everything verified is accepted as it is. A refusal is recorded at
// once; an acceptance is returned as the chaining function of its audit
// entry, to be appended in the transaction that stores the artifact (one
// durable write per artifact, and no acceptance recorded for an artifact
// that was not stored).
func (n *Node) acceptCheck(from peer.ID, e *protocol.Envelope, use usage.Policy) (usage.Policy, func([]byte) ([]byte, error), error) {
	d, ok := n.dec.(*decider)
	var pol *policy.Policy
	if ok {
		pol = d.pol.Load()
	}
	if pol == nil {
		return use, recordChain(n.now(), n.policyVersion(), auditRecord{Kind: policy.AuditIngress, Artifact: policy.ArtifactRef(e.Kind, e.ArtifactID), Version: e.Version,
			Peer: from.String(), Rule: "default", Decision: policy.DecisionAllow, Reason: "no sharing policy: every verified artifact from a member is accepted"}), nil
	}
	// A forwarded artifact travels in the groups of its originator.
	a := n.receivedArtifact(pol, e, use, e.Publisher)
	pp := policy.Peer{ID: from.String()}
	if m, ok := pol.Peer(from.String()); ok {
		pp = m
	}
	dec := pol.Accept(pp, a)
	entry := pol.Entry(policy.Ingress, n.now(), pp, a, dec)
	if !dec.Allow {
		if err := n.appendEntry(entry); err != nil {
			return use, nil, err
		}
		return use, nil, fmt.Errorf("%w: ingress policy %s: %s", ErrPolicyRejected, dec.Rule, dec.Reason)
	}
	return dec.Usage.Seal(e.Created), entryChain(entry), nil
}

// reofferWidened publishes again, as a new version with the same content,
// each of our artifacts that some member was refused under the old policy
// (nil: the default) and may receive under the new one: members pull only
// what is new, so an artifact they were refused would otherwise never
// reach them. Each republication is recorded.
func (n *Node) reofferWidened(old, next *policy.Policy) error {
	allowed := func(pol *policy.Policy, m store.Peer, e *protocol.Envelope) bool {
		if pol == nil {
			d, err := protocol.DefaultDecider{}.Decide(peer.ID(m.ID), e)
			return err == nil && d.Allow
		}
		pp, ok := pol.Peer(peer.ID(m.ID).String())
		if !ok {
			return false
		}
		return pol.Decide(pp, n.policyArtifact(e)).Allow
	}
	var local, forwards []store.Artifact
	err := n.st.Artifacts(func(a store.Artifact) error {
		switch {
		case !a.Local:
		case a.Kind == KindDataset || a.Kind == KindIndicator || a.Kind == KindSighting:
			local = append(local, a)
		case a.Kind == KindForward:
			forwards = append(forwards, a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	members := n.Members()
	again := 0
	for _, a := range local {
		e, err := protocol.UnmarshalEnvelope(a.Envelope)
		if err != nil {
			return fmt.Errorf("stored artifact %s: %w", a.ID, err)
		}
		widened := slices.ContainsFunc(members, func(m store.Peer) bool { return !allowed(old, m, &e) && allowed(next, m, &e) })
		if !widened {
			continue
		}
		if _, err := n.publishQuiet(e.Kind, e.ArtifactID, e.Version+1, e.Payload, e.Usage); err != nil {
			return err
		}
		again++
	}
	// What we forward goes again in a new forwarding envelope (the
	// artifact keeps its originator's version).
	for _, a := range forwards {
		outer, err := protocol.UnmarshalEnvelope(a.Envelope)
		if err != nil {
			return fmt.Errorf("stored artifact %s: %w", a.ID, err)
		}
		inner, err := protocol.OpenForward(&outer)
		if err != nil || inner.Kind == KindTombstone {
			continue
		}
		held, err := n.st.Artifact(inner.ArtifactID)
		if err != nil || held.Version != inner.Version {
			continue
		}
		forwardable := func(pol *policy.Policy, m store.Peer) bool {
			p := peer.ID(m.ID)
			if pol == nil || p == inner.Publisher || string(p) == held.From {
				return false
			}
			pp, ok := pol.Peer(p.String())
			return ok && pol.Decide(pp, n.receivedArtifact(pol, &inner, outer.Usage, peer.ID(held.From))).Allow
		}
		if !slices.ContainsFunc(members, func(m store.Peer) bool { return !forwardable(old, m) && forwardable(next, m) }) {
			continue
		}
		if _, err := n.st.DeleteArtifact(a.ID, nil); err != nil {
			return err
		}
		if err := n.publishForward(inner, outer.Usage); err != nil {
			return err
		}
		again++
	}
	if again > 0 {
		n.notifySoon()
		return n.audit(auditRecord{Kind: policy.AuditPolicy, Decision: "reoffered", Count: again,
			Reason: "published again: refused to some member before, allowed now"})
	}
	return nil
}

// ApplyPolicy validates a policy source and puts it in force atomically: the
// file is written to the data directory through a temporary name, the running
// decider switches to it, and the change is recorded in the audit chain. It
// returns the policy's version.
func (n *Node) ApplyPolicy(name string, src []byte) (string, error) {
	p, err := policy.Parse(name, src)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(filepath.Join(n.dir, PolicyFile), src, 0o600); err != nil {
		return "", err
	}
	if err := n.SetPolicy(p); err != nil {
		return "", err
	}
	return p.Version(), nil
}

// ApplyPolicyOffline is ApplyPolicy on a data directory whose node is not
// running: the file is put in place and the change recorded in the store.
func ApplyPolicyOffline(dir string, st *store.Store, name string, src []byte, now time.Time) (string, error) {
	p, err := policy.Parse(name, src)
	if err != nil {
		return "", err
	}
	// The node compares the policy it ran with to this one when it starts,
	// to offer again what is allowed now (reofferWidened): keep the first
	// one of a series of offline changes.
	pending := filepath.Join(dir, reofferFile)
	if _, err := os.Stat(pending); errors.Is(err, os.ErrNotExist) {
		prev, err := os.ReadFile(filepath.Join(dir, PolicyFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if err := writeFileAtomic(pending, prev, 0o600); err != nil {
			return "", err
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, PolicyFile), src, 0o600); err != nil {
		return "", err
	}
	return p.Version(), appendAudit(st, now, p.Version(), auditRecord{Kind: policy.AuditPolicy, Decision: "applied", Reason: "policy " + p.Version()})
}

// reofferFile holds, after an offline policy change, the policy the node
// ran with before (empty: the default), until the node has compared them.
const reofferFile = "policy.before.yaml"

// reofferPending runs reofferWidened for a policy changed while the node
// was not running.
func (n *Node) reofferPending() error {
	d, ok := n.dec.(*decider)
	pending := filepath.Join(n.dir, reofferFile)
	src, err := os.ReadFile(pending)
	if errors.Is(err, os.ErrNotExist) || !ok {
		return nil
	}
	if err != nil {
		return err
	}
	var prev *policy.Policy
	if len(src) > 0 {
		if prev, err = policy.Parse(reofferFile, src); err != nil {
			return err
		}
	}
	if err := n.reofferWidened(prev, d.pol.Load()); err != nil {
		return err
	}
	return os.Remove(pending)
}

// decideRevocation sends the revoked version of one of our indicators to
// every peer that received an earlier version, whatever the policy in
// force says now: a revocation corrects what they hold. It reports false
// for anything else, which the policy decides.
func (d *decider) decideRevocation(p peer.ID, e *protocol.Envelope) (protocol.Decision, bool, error) {
	if e.Publisher != d.n.id {
		return protocol.Decision{}, false, nil
	}
	ok, err := d.n.revocationFor(e, e.ArtifactID, p)
	if err != nil || !ok {
		return protocol.Decision{}, false, err
	}
	dec := protocol.Decision{Allow: true, Rule: "builtin:revocation", Reason: "the peer received an earlier version of " + e.ArtifactID + ": it must learn of the revocation"}
	err = d.n.audit(auditRecord{Kind: policy.AuditEgress, Artifact: policy.ArtifactRef(e.Kind, e.ArtifactID), Version: e.Version,
		Peer: p.String(), Rule: dec.Rule, Decision: verdict(dec.Allow), Reason: dec.Reason})
	return dec, true, err
}

// revocationFor reports whether e is a revoked version of an indicator and
// p acknowledged an earlier one under delivered (the artifact id it went
// out under: ours, or our forwarding envelope's). The delivery is looked up
// first; only then is the payload decoded.
func (n *Node) revocationFor(e *protocol.Envelope, delivered string, p peer.ID) (bool, error) {
	if e.Kind != KindIndicator || e.Version < 2 {
		return false, nil
	}
	got, err := n.st.HasDelivery(delivered, string(p))
	if err != nil || !got {
		return false, err
	}
	ind, err := intel.DecodeIndicator(e.Payload)
	return err == nil && ind.Revoked, nil
}
