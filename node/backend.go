package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
)

// Artifact kinds.
const (
	KindDataset   = "dataset"
	KindIndicator = "indicator"
	KindSighting  = "sighting"
	KindTombstone = "tombstone"
)

// backend is the node as the protocol service sees it.
type backend Node

func (b *backend) node() *Node { return (*Node)(b) }

func (b *backend) IsMember(p peer.ID) bool { return b.node().IsMember(p) }

func (b *backend) Head() uint64 {
	seq, err := b.st.OwnSeq()
	if err != nil {
		b.log.Error("reading own sequence", "err", err)
	}
	return seq
}

func (b *backend) After(_ context.Context, after uint64, limit int) ([]protocol.Envelope, uint64, error) {
	arts, err := b.st.ArtifactsAfter(string(b.id), after, limit)
	if err != nil {
		return nil, after, err
	}
	envs := make([]protocol.Envelope, 0, len(arts))
	next := after
	for _, a := range arts {
		e, err := protocol.UnmarshalEnvelope(a.Envelope)
		if err != nil {
			return nil, after, fmt.Errorf("stored envelope %d: %w", a.Seq, err)
		}
		envs = append(envs, e)
		next = a.Seq
	}
	return envs, next, nil
}

func (b *backend) Chunk(_ context.Context, requester peer.ID, hash string) ([]byte, error) {
	if !b.node().IsMember(requester) {
		return nil, protocol.ErrNotMember
	}
	data, err := b.st.Chunk(hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrNotFound
	}
	return data, err
}

func (b *backend) Delivered(p peer.ID, envs []protocol.Envelope, _ protocol.Receipt) error {
	now := b.now()
	acked := make([]store.Acked, len(envs))
	for i, e := range envs {
		acked[i] = store.Acked{Artifact: e.ArtifactID, Version: e.Version}
	}
	n := b.node()
	err := b.st.PutDeliveries(acked, string(p), now, recordChain(now, n.policyVersion(), auditRecord{Kind: "delivery", Peer: p.String(), Count: len(envs)}))
	if err != nil {
		return err
	}
	b.stats.sent.Add(uint64(len(envs)))
	return nil
}

func (b *backend) Accept(ctx context.Context, from peer.ID, e protocol.Envelope) error {
	n := b.node()
	err := n.accept(ctx, from, e)
	switch {
	case err == nil:
		n.stats.received.Add(1)
	case errors.Is(err, protocol.ErrDuplicate):
	case errors.Is(err, protocol.ErrRetryLater) || ctx.Err() != nil:
	default:
		n.stats.rejected.Add(1)
		n.log.Warn("artifact rejected", "publisher", e.Publisher.String(), "kind", e.Kind, "id", e.ArtifactID, "err", err)
		// Ingress rules record their own decisions; every other refusal
		// of a signed envelope from a member is recorded here.
		if !errors.Is(err, ErrPolicyRejected) {
			if aerr := n.audit(auditRecord{Kind: policy.AuditIngress, Artifact: policy.ArtifactRef(e.Kind, e.ArtifactID), Version: e.Version,
				Peer: from.String(), Rule: "builtin:verify", Decision: policy.DecisionDeny, Reason: err.Error()}); aerr != nil {
				return errors.Join(err, aerr)
			}
		}
	}
	return err
}

func (b *backend) Cursor(publisher peer.ID) (uint64, error) { return b.st.Cursor(string(publisher)) }

func (b *backend) SetCursor(publisher peer.ID, seq uint64) error {
	return b.st.SetCursor(string(publisher), seq)
}

func (b *backend) Notified(publisher peer.ID, head uint64) {
	n := b.node()
	n.mu.Lock()
	if head > n.heads[publisher] {
		n.heads[publisher] = head
	}
	n.mu.Unlock()
	n.schedulePull(publisher)
}

// accept stores a verified envelope from a member, with its provenance and
// usage policy, and acts on its kind. A forwarding envelope is opened and the
// originator's envelope inside stored as if it came directly, with the
// forwarder as its provenance and the narrower usage policy of the two.
func (n *Node) accept(ctx context.Context, from peer.ID, e protocol.Envelope) error {
	use := e.Usage
	if e.Kind == KindForward {
		inner, err := protocol.OpenForward(&e)
		if err != nil {
			return err
		}
		if inner.Publisher == n.id {
			return protocol.ErrDuplicate // our own artifact, back again
		}
		if !n.IsMember(inner.Publisher) {
			return fmt.Errorf("%s %s forwarded by %s: its originator %s: %w", inner.Kind, inner.ArtifactID, from, inner.Publisher, protocol.ErrNotMember)
		}
		use, e = protocol.ForwardPolicy(inner.Usage, e.Usage), inner
	}
	if use.Expired(n.now()) {
		return fmt.Errorf("%s %s: retention ended %s", e.Kind, e.ArtifactID, use.RetainUntil.Format(time.RFC3339))
	}
	raw, err := protocol.MarshalEnvelope(e)
	if err != nil {
		return err
	}
	a := store.Artifact{
		Publisher: string(e.Publisher), Seq: e.Seq, Kind: e.Kind, ID: e.ArtifactID, Version: e.Version,
		Envelope: raw, From: string(from), RetainUntil: use.RetainUntil, Usage: usageJSON(use),
	}
	switch e.Kind {
	case KindTombstone:
		return n.acceptTombstone(from, e, a)
	case KindDataset, KindIndicator, KindSighting:
	default:
		return fmt.Errorf("%w: unknown artifact kind %q", protocol.ErrMalformed, e.Kind)
	}
	// A copy we hold already (it may come directly and forwarded) is a
	// duplicate before anything is decided or recorded.
	if old, err := n.st.Artifact(e.ArtifactID); err == nil && old.Publisher == string(e.Publisher) && old.Version >= e.Version {
		if old.Version == e.Version {
			// A node stopped between storing and forwarding it forwards
			// it when the artifact comes again.
			if err := n.ensureForward(old); err != nil {
				return err
			}
		}
		return protocol.ErrDuplicate
	}
	// An erasure mark left by a notice of someone other than this
	// artifact's publisher (it came before the artifact) does not bind.
	if notice, ok, err := n.st.Erased(e.ArtifactID); err == nil && ok {
		if te, err := protocol.UnmarshalEnvelope(notice); err == nil && te.Publisher != e.Publisher {
			if err := n.st.Unerase(e.ArtifactID); err != nil {
				return err
			}
		}
	}
	use, auditEntry, err := n.acceptCheck(from, &e, use)
	if err != nil {
		return err
	}
	a.RetainUntil, a.Usage = use.RetainUntil, usageJSON(use)
	// Decode the payload before storing anything, so a malformed artifact
	// leaves no trace; then store the envelope and its payload at once.
	payload, manifest, err := n.payloadOf(e)
	if err != nil {
		return err
	}
	payload.Audit = auditEntry
	stored, err := n.st.PutArtifactPayload(a, payload)
	if err != nil {
		if errors.Is(err, store.ErrNotOriginator) {
			return fmt.Errorf("%w: %v", protocol.ErrNotOriginator, err)
		}
		if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrErased) {
			return fmt.Errorf("%w: %v", protocol.ErrDuplicate, err)
		}
		return err
	}
	if !stored {
		return protocol.ErrDuplicate
	}
	if manifest != nil {
		// The chunks come from whoever sent the manifest: the publisher,
		// or the member that forwarded it.
		n.queueFetch(fetchJob{publisher: from, artifact: e.ArtifactID, manifest: *manifest})
		return nil // forwarded, if at all, once its chunks are all here
	}
	if n.forwardable(e.Kind, use) {
		return n.publishForward(e, use)
	}
	return nil
}

// jsonUnmarshalStrict decodes one JSON object, refusing unknown fields and
// trailing data.
func jsonUnmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// tombstone is the payload of a tombstone: which artifact it ends and why.
type tombstone struct {
	Artifact string `json:"artifact"`
	Reason   string `json:"reason"` // revoked, erased, expired
}

func (n *Node) acceptTombstone(from peer.ID, e protocol.Envelope, a store.Artifact) error {
	t, err := decodeTombstone(e.Payload)
	if err != nil {
		return err
	}
	// The originator ends an artifact everywhere, and it stays refused; the
	// member we got it from may take back what it forwarded (a recall),
	// which deletes our copy but refuses nothing.
	notice := a.Envelope
	if old, err := n.st.Artifact(t.Artifact); err == nil && old.Publisher != string(e.Publisher) {
		if old.From != string(from) {
			return fmt.Errorf("%w: tombstone of %s by another publisher", protocol.ErrNotOriginator, t.Artifact)
		}
		notice = nil
	}
	if _, err := n.st.Artifact(a.ID); err == nil {
		return protocol.ErrDuplicate
	}
	// Erase first, then keep the tombstone: a crash in between leaves the
	// tombstone to be pulled again, and erasing again changes nothing.
	if err := n.removeArtifact(t.Artifact, notice); err != nil {
		return err
	}
	// Pass the notice on before keeping it, for the same reason.
	if err := n.forwardedTombstone(e, t.Artifact); err != nil {
		return err
	}
	stored, err := n.st.PutArtifact(a)
	if err != nil {
		return err
	}
	if !stored {
		return protocol.ErrDuplicate
	}
	return n.audit(auditRecord{Kind: "erasure", Artifact: t.Artifact, Peer: e.Publisher.String(), Reason: t.Reason})
}
