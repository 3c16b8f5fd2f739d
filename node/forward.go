package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/usage"
)

// KindForward is the kind of the envelopes in which this node passes on
// artifacts it received (see protocol.KindForward).
const KindForward = protocol.KindForward

// Resharing. A received dataset, indicator or sighting whose usage policy
// allows resharing (group or community) is offered onward while a sharing
// policy is in force: the node appends a forwarding envelope to its own
// sequence, holding the originator's envelope exactly as signed, under the
// usage policy it keeps for the artifact. Its egress rules then decide per
// peer like for any received artifact (source: received), after the sticky
// checks (reshare none never, reshare group only to the groups it came
// through). Nothing is forwarded to the originator or back to the member it
// came from, and a forwarded dataset travels as received: only its
// originator can re-pseudonymize or minimise it. When the originator's
// erasure notice (tombstone) arrives, it is forwarded the same way to every
// peer that acknowledged the forwarded artifact, who deletes its copy too.

// forwardable reports whether a received artifact of kind with usage
// policy use is offered onward.
func (n *Node) forwardable(kind string, use usage.Policy) bool {
	d, ok := n.dec.(*decider)
	if !ok || d.pol.Load() == nil || use.Reshare == usage.ReshareNone {
		return false
	}
	return kind == KindDataset || kind == KindIndicator || kind == KindSighting
}

// publishForward appends the forwarding envelope of received envelope e,
// kept here under usage policy use, to this node's sequence and tells the
// members. An artifact too large to be wrapped is not forwarded.
func (n *Node) publishForward(e protocol.Envelope, use usage.Policy) error {
	raw, err := protocol.MarshalEnvelope(e)
	if err != nil {
		return err
	}
	_, err = n.publishQuiet(KindForward, protocol.ForwardID(e.ArtifactID), e.Version, raw, use)
	if errors.Is(err, protocol.ErrTooLarge) {
		n.log.Warn("artifact too large to be forwarded", "kind", e.Kind, "id", e.ArtifactID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("forwarding %s %s: %w", e.Kind, e.ArtifactID, err)
	}
	n.notifySoon()
	return nil
}

// ensureForward publishes the forwarding envelope of a stored received
// artifact that should have one and has none.
func (n *Node) ensureForward(a store.Artifact) error {
	if a.Local {
		return nil
	}
	var use usage.Policy
	if err := json.Unmarshal([]byte(a.Usage), &use); err != nil {
		return fmt.Errorf("artifact %s: stored usage policy: %w", a.ID, err)
	}
	if !n.forwardable(a.Kind, use) {
		return nil
	}
	if fa, err := n.st.Artifact(protocol.ForwardID(a.ID)); err == nil && fa.Version >= a.Version {
		return nil
	}
	e, err := protocol.UnmarshalEnvelope(a.Envelope)
	if err != nil {
		return fmt.Errorf("stored artifact %s: %w", a.ID, err)
	}
	if e.Kind == KindDataset {
		// Only a dataset whose chunks are all here can be fetched from us.
		m, err := dataset.DecodeManifest(e.Payload)
		if err != nil {
			return fmt.Errorf("stored artifact %s: %w", a.ID, err)
		}
		for _, c := range m.Chunks {
			if ok, err := n.st.HasChunk(c.Hash); err != nil || !ok {
				return err
			}
		}
	}
	return n.publishForward(e, use)
}

// forwardHeld offers onward the received artifacts held here that the
// policy in force lets be forwarded and that have no forwarding envelope
// yet: those received before the policy, or before a stop in between.
func (n *Node) forwardHeld() error {
	var held []store.Artifact
	err := n.st.Artifacts(func(a store.Artifact) error {
		if !a.Local && (a.Kind == KindDataset || a.Kind == KindIndicator || a.Kind == KindSighting) {
			held = append(held, a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range held {
		if err := n.ensureForward(a); err != nil {
			return err
		}
	}
	return nil
}

// notifySoon asks the notify worker to tell every member about our head.
func (n *Node) notifySoon() {
	select {
	case n.notifies <- struct{}{}:
	default: // one is pending already
	}
}

func (n *Node) notifyWorker(ctx context.Context) {
	serve(ctx, n.closed, n.notifies, func(struct{}) { n.NotifyAll(ctx) })
}

// forwardedTombstone forwards the originator's erasure notice e of artifact
// id to the peers we forwarded id to, once.
func (n *Node) forwardedTombstone(e protocol.Envelope, id string) error {
	ds, err := n.st.Recipients(protocol.ForwardID(id))
	if err != nil || len(ds) == 0 {
		return err
	}
	if _, err := n.st.Artifact(protocol.ForwardID(e.ArtifactID)); err == nil {
		return nil // forwarded before a crash
	}
	return n.publishForward(e, e.Usage)
}

// decideTombstone is the egress decision for one of our erasure notices: it
// goes to every peer that acknowledged a version of the artifact it ends
// (from us directly or forwarded by us),
// whatever the sharing policy in force says now (GDPR Art. 17 and 19), and
// to no one else.
func (d *decider) decideTombstone(p peer.ID, e *protocol.Envelope) (protocol.Decision, error) {
	n := d.n
	t, err := decodeTombstone(e.Payload)
	if err != nil {
		return protocol.Decision{}, fmt.Errorf("our erasure notice %s: %w", e.ArtifactID, err)
	}
	// Ours went out under its own id; a received one we forwarded, under
	// our forwarding envelope's.
	got, err := n.st.HasDelivery(t.Artifact, string(p))
	if err == nil && !got {
		got, err = n.st.HasDelivery(protocol.ForwardID(t.Artifact), string(p))
	}
	if err != nil {
		return protocol.Decision{}, err
	}
	dec := protocol.Decision{Rule: "builtin:erasure", Reason: "the peer never received " + t.Artifact}
	if got {
		dec.Allow, dec.Reason = true, "the peer received "+t.Artifact+": it must delete its copy"
	}
	err = n.audit(auditRecord{Kind: policy.AuditEgress, Artifact: policy.ArtifactRef(e.Kind, e.ArtifactID), Version: e.Version,
		Peer: p.String(), Rule: dec.Rule, Decision: verdict(dec.Allow), Reason: dec.Reason})
	return dec, err
}

// decideForward is the egress decision for one of our forwarding envelopes.
func (d *decider) decideForward(p peer.ID, e *protocol.Envelope) (protocol.Decision, error) {
	n := d.n
	inner, err := protocol.OpenForward(e)
	if err != nil {
		return protocol.Decision{}, fmt.Errorf("our forwarding envelope %s: %w", e.ArtifactID, err)
	}
	ref := policy.ArtifactRef(inner.Kind, inner.ArtifactID)
	record := func(dec protocol.Decision) (protocol.Decision, error) {
		err := n.audit(auditRecord{Kind: policy.AuditEgress, Artifact: ref, Version: inner.Version, Peer: p.String(),
			Rule: dec.Rule, Decision: verdict(dec.Allow), Reason: "forwarded: " + dec.Reason})
		return dec, err
	}
	if inner.Kind == KindTombstone {
		// An erasure notice goes to whoever got the artifact from us.
		t, err := decodeTombstone(inner.Payload)
		if err != nil {
			return protocol.Decision{}, err
		}
		got, err := n.st.HasDelivery(protocol.ForwardID(t.Artifact), string(p))
		if err != nil {
			return protocol.Decision{}, err
		}
		reason := "the erased artifact was forwarded to this peer"
		if !got {
			reason = "the erased artifact was not forwarded to this peer"
		}
		return record(protocol.Decision{Allow: got, Rule: "builtin:erasure", Reason: reason})
	}
	held, err := n.st.Artifact(inner.ArtifactID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return record(protocol.Decision{Rule: "builtin:not-held", Reason: "no longer held here (erased or expired)"})
	case err != nil:
		return protocol.Decision{}, err
	case held.Version != inner.Version:
		return record(protocol.Decision{Rule: "builtin:not-held", Reason: fmt.Sprintf("replaced by version %d", held.Version)})
	case p == inner.Publisher:
		return record(protocol.Decision{Rule: "builtin:originator", Reason: "the peer is the artifact's originator"})
	case string(p) == held.From:
		return record(protocol.Decision{Rule: "builtin:came-from", Reason: "the artifact came from this peer"})
	}
	// A revocation goes to whoever we forwarded an earlier version to,
	// whatever the policy says now.
	if ok, err := n.revocationFor(&inner, e.ArtifactID, p); err != nil || ok {
		if err != nil {
			return protocol.Decision{}, err
		}
		return record(protocol.Decision{Allow: true, Rule: "builtin:revocation", Reason: "an earlier version was forwarded to this peer: it must learn of the revocation"})
	}
	pol := d.pol.Load()
	if pol == nil {
		return record(protocol.Decision{Rule: "default", Reason: "received artifacts are forwarded only under a sharing policy"})
	}
	a := n.receivedArtifact(pol, &inner, e.Usage, peer.ID(held.From))
	pp := policy.Peer{ID: p.String()}
	if m, ok := pol.Peer(p.String()); ok {
		pp = m
	}
	dec := pol.Decide(pp, a)
	if err := n.appendEntry(pol.Entry(policy.Egress, n.now(), pp, a, dec)); err != nil {
		return protocol.Decision{}, err
	}
	out := protocol.Decision{Allow: dec.Allow, Rule: dec.Rule, Reason: dec.Reason}
	if !dec.Allow {
		return out, nil
	}
	// The rules may narrow the usage policy further; the recipient keeps
	// the narrower of this and the originator's.
	if use := dec.Usage.Seal(e.Created); use.String() != e.Usage.String() {
		v, err := protocol.Seal(n.key, protocol.Envelope{Kind: e.Kind, ArtifactID: e.ArtifactID, Version: e.Version,
			Payload: e.Payload, Seq: e.Seq, Created: e.Created, Usage: use})
		if err != nil {
			return protocol.Decision{}, err
		}
		out.Envelope = &v
	}
	return out, nil
}

// receivedArtifact describes a received artifact, kept under usage policy
// use, for a policy decision on forwarding it (egress) or accepting it from
// a member other than its originator (ingress): via is the member it comes
// through, whose groups it travels in.
func (n *Node) receivedArtifact(pol *policy.Policy, e *protocol.Envelope, use usage.Policy, via peer.ID) policy.Artifact {
	a := n.policyArtifact(e)
	a.Usage = use
	if m, ok := pol.Peer(via.String()); ok {
		a.ReceivedVia = m.Groups
	}
	return a
}

// usageJSON is the canonical JSON of a usage policy, as stored.
func usageJSON(u usage.Policy) string {
	b, _ := json.Marshal(u)
	return string(b)
}
