package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/flow"
)

// EraseRequest names what to erase: one artifact, one epoch (its key is
// shredded), or one pseudonym (its flows and the artifacts holding it).
type EraseRequest struct {
	Artifact  string `json:"artifact,omitempty"`
	Epoch     string `json:"epoch,omitempty"`
	Pseudonym string `json:"pseudonym,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// EraseResult says what an erasure did.
type EraseResult struct {
	// Revoked lists our artifacts revoked with a signed tombstone: every
	// recipient deletes its copy and refuses it afterwards.
	Revoked []string `json:"revoked"`
	// Deleted lists received artifacts deleted here (and refused from now on).
	Deleted []string `json:"deleted"`
	// Recalled lists the deleted artifacts we had forwarded: a signed
	// notice asks the members we forwarded them to to delete their copies.
	Recalled []string `json:"recalled,omitempty"`
	// FlowsDeleted counts stored flows deleted.
	FlowsDeleted int `json:"flows_deleted"`
	// Shredded names the epoch key shredded.
	Shredded string `json:"shredded,omitempty"`
}

// ErrNothingToErase is returned when the request matches nothing.
var ErrNothingToErase = errors.New("nothing matches: nothing erased")

// Erase deletes locally what the request names (or shreds the epoch key) and
// sends a signed erasure notice (tombstone) for each of our artifacts it
// touches to every member; recipients delete their copies, refuse them
// afterwards and acknowledge with a signed receipt (see EraseStatus).
func (n *Node) Erase(ctx context.Context, req EraseRequest) (EraseResult, error) {
	var res EraseResult
	reason := req.Reason
	if reason == "" {
		reason = "erased"
	}
	var targets []store.Artifact
	switch {
	case req.Artifact != "":
		a, err := n.artifactNamed(req.Artifact)
		if err != nil {
			return res, err
		}
		targets = append(targets, a)
	case req.Epoch != "":
		id, err := keyvault.ParseKeyID(req.Epoch)
		if err != nil {
			return res, err
		}
		if err := n.vault.Shred(id); err != nil && !errors.Is(err, keyvault.ErrShredded) {
			return res, fmt.Errorf("shredding %s: %w", req.Epoch, err)
		}
		res.Shredded = id.String()
		if res.FlowsDeleted, err = n.st.DeleteFlows(func(r *flow.Record) bool { return r.KeyID == id.String() }); err != nil {
			return res, err
		}
		if targets, err = n.datasetsWhere(func(m dataset.Manifest, _ []byte) bool { return slices.Contains(m.KeyIDs, id.String()) }); err != nil {
			return res, err
		}
	case req.Pseudonym != "":
		addr, err := netip.ParseAddr(req.Pseudonym)
		if err != nil {
			return res, fmt.Errorf("pseudonym %q is not an address: %w", req.Pseudonym, err)
		}
		if res.FlowsDeleted, err = n.st.DeleteFlows(func(r *flow.Record) bool {
			return r.Key.SrcAddr() == addr || r.Key.DstAddr() == addr
		}); err != nil {
			return res, err
		}
		if targets, err = n.datasetsWhere(func(m dataset.Manifest, content []byte) bool { return datasetHolds(m, content, addr) }); err != nil {
			return res, err
		}
	default:
		return res, errors.New("erase needs an artifact, an epoch or a pseudonym")
	}
	for _, a := range targets {
		if a.Local {
			if err := n.Revoke(ctx, a.ID, reason); err != nil {
				return res, err
			}
			res.Revoked = append(res.Revoked, a.ID)
			continue
		}
		// What we forwarded we take back from those we forwarded it to
		// (a receipt may still be on its way, so whether we forwarded it
		// counts, not who acknowledged it yet).
		_, err := n.st.Artifact(protocol.ForwardID(a.ID))
		forwarded := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return res, err
		}
		if err := n.removeArtifact(a.ID, []byte(reason)); err != nil {
			return res, err
		}
		res.Deleted = append(res.Deleted, a.ID)
		if err := n.audit(auditRecord{Kind: policy.AuditErasure, Artifact: a.ID, Version: a.Version, Decision: "deleted", Reason: reason}); err != nil {
			return res, err
		}
		if forwarded {
			if _, err := n.publishTombstone(ctx, a.ID, reason); err != nil {
				return res, err
			}
			res.Recalled = append(res.Recalled, a.ID)
		}
	}
	if res.Shredded != "" {
		if err := n.audit(auditRecord{Kind: policy.AuditKey, Decision: "shredded", Reason: "epoch key " + res.Shredded + " shredded on erasure"}); err != nil {
			return res, err
		}
	}
	if len(res.Revoked)+len(res.Deleted) == 0 && res.FlowsDeleted == 0 && res.Shredded == "" {
		return res, ErrNothingToErase
	}
	return res, nil
}

// artifactNamed finds the artifact an operator names: by artifact id, or
// by an indicator's or sighting's own id (ours, else the one received copy).
func (n *Node) artifactNamed(name string) (store.Artifact, error) {
	a, err := n.st.Artifact(name)
	if !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	for _, id := range []string{IndicatorArtifact(name, n.id), SightingArtifact(name, n.id)} {
		if a, err := n.st.Artifact(id); !errors.Is(err, store.ErrNotFound) {
			return a, err
		}
	}
	var found []store.Artifact
	err = n.st.Artifacts(func(a store.Artifact) error {
		switch {
		case strings.HasPrefix(a.ID, name+"@") && (a.Kind == KindIndicator || a.Kind == KindSighting):
			found = append(found, a)
		case a.Kind == KindDataset && strings.HasPrefix(name, "ds-") && datasetIDOf(a) == name:
			// A received dataset as 'datasets list' names it: the id of
			// the version this node got.
			found = append(found, a)
		}
		return nil
	})
	switch {
	case err != nil:
		return store.Artifact{}, err
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, a := range found {
			ids[i] = a.ID
		}
		return store.Artifact{}, fmt.Errorf("%s names %d received copies (%s): give the one to erase", name, len(found), strings.Join(ids, ", "))
	}
	return store.Artifact{}, fmt.Errorf("no artifact %s here ('flowfed audit artifacts' lists them): %w", name, store.ErrNotFound)
}

// datasetsWhere lists the stored dataset artifacts whose manifest and
// content satisfy match.
func (n *Node) datasetsWhere(match func(dataset.Manifest, []byte) bool) ([]store.Artifact, error) {
	var out []store.Artifact
	var ids []string
	err := n.st.Artifacts(func(a store.Artifact) error {
		if a.Kind == KindDataset {
			ids = append(ids, a.ID)
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keep := out[:0]
	for i, a := range out {
		env, err := protocol.UnmarshalEnvelope(a.Envelope)
		if err != nil {
			return nil, err
		}
		m, err := dataset.DecodeManifest(env.Payload)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", ids[i], err)
		}
		content, err := dataset.Assemble(m, n.st.Chunk)
		if err != nil {
			content = nil // chunks not all here: judge by the manifest
		}
		if match(m, content) {
			keep = append(keep, a)
		}
	}
	return keep, nil
}

// datasetHolds reports whether a dataset's records or groups name addr.
func datasetHolds(m dataset.Manifest, content []byte, addr netip.Addr) bool {
	if content == nil {
		return false
	}
	switch m.Kind {
	case dataset.KindFlows:
		for r, err := range dataset.Records(m, content) {
			if err != nil {
				return false
			}
			if r.Src == addr || r.Dst == addr {
				return true
			}
		}
	case dataset.KindAggregates:
		for g, err := range dataset.Aggregates(m, content) {
			if err != nil {
				return false
			}
			if g.Host == addr || g.Src == addr || g.Dst == addr {
				return true
			}
		}
	}
	return false
}

// ErasureStatus is one erasure notice and who acknowledged it.
type ErasureStatus struct {
	Artifact     string    `json:"artifact"`
	Tombstone    string    `json:"tombstone"`
	Sent         time.Time `json:"sent"`
	Recipients   []string  `json:"recipients"`
	Acknowledged []string  `json:"acknowledged"`
	Outstanding  []string  `json:"outstanding"`
	// Originator is set for another member's erasure notice that this node
	// forwarded to the peers it had forwarded the artifact to.
	Originator string `json:"originator,omitempty"`
	// Recall is set for this node's notice of another member's artifact
	// that it had forwarded: those it forwarded it to delete their copies.
	Recall bool `json:"recall,omitempty"`
	// recipientsOf names the deliveries whose recipients must acknowledge.
	recipientsOf string
}

// EraseStatus lists our erasure notices with the recipients of the erased
// artifact that have not acknowledged the notice yet.
func EraseStatus(st *store.Store) ([]ErasureStatus, error) {
	var out []ErasureStatus
	err := st.Artifacts(func(a store.Artifact) error {
		if !a.Local || a.Kind != KindTombstone && a.Kind != KindForward {
			return nil
		}
		env, err := protocol.UnmarshalEnvelope(a.Envelope)
		if err != nil {
			return err
		}
		s := ErasureStatus{Tombstone: a.ID, Sent: env.Created}
		notice := env
		if a.Kind == KindForward {
			if notice, err = protocol.OpenForward(&env); err != nil {
				return err
			}
			if notice.Kind != KindTombstone {
				return nil
			}
			s.Originator = notice.Publisher.String()
		}
		t, err := decodeTombstone(notice.Payload)
		if err != nil {
			return err
		}
		s.Artifact, s.recipientsOf = t.Artifact, t.Artifact
		if a.Kind == KindForward {
			s.recipientsOf = protocol.ForwardID(t.Artifact)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		s := &out[i]
		rec, err := st.Recipients(s.recipientsOf)
		if err != nil {
			return nil, err
		}
		if s.Originator == "" {
			// Our notice: of our artifact, or a recall of another
			// member's that we forwarded (delivered under our
			// forwarding envelope only).
			fwd, err := st.Recipients(protocol.ForwardID(s.recipientsOf))
			if err != nil {
				return nil, err
			}
			s.Recall = len(rec) == 0 && len(fwd) > 0
			rec = append(rec, fwd...)
		}
		ack, err := st.Recipients(s.Tombstone)
		if err != nil {
			return nil, err
		}
		acked := map[string]bool{}
		for _, d := range ack {
			acked[d.Peer] = true
			s.Acknowledged = append(s.Acknowledged, peer.ID(d.Peer).String())
		}
		seen := map[string]bool{}
		for _, d := range rec {
			if seen[d.Peer] {
				continue
			}
			seen[d.Peer] = true
			id := peer.ID(d.Peer).String()
			s.Recipients = append(s.Recipients, id)
			if !acked[d.Peer] {
				s.Outstanding = append(s.Outstanding, id)
			}
		}
	}
	return out, nil
}

func decodeTombstone(b []byte) (tombstone, error) {
	var t tombstone
	if err := jsonUnmarshalStrict(b, &t); err != nil || t.Artifact == "" {
		return t, fmt.Errorf("%w: tombstone payload", protocol.ErrMalformed)
	}
	return t, nil
}

// WhoReceived lists the peers that acknowledged an artifact (any version).
func WhoReceived(st *store.Store, artifact string) ([]store.Delivery, error) {
	ds, err := st.Recipients(artifact)
	if err != nil {
		return nil, err
	}
	// A received artifact reaches others through our forwarding envelope.
	fwd, err := st.Recipients(protocol.ForwardID(artifact))
	if err != nil {
		return nil, err
	}
	ds = append(ds, fwd...)
	slices.SortFunc(ds, func(a, b store.Delivery) int { return strings.Compare(a.Peer, b.Peer) })
	return ds, nil
}
