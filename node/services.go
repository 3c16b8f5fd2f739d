package node

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
)

// nodeStats are the node's own counters, beside the protocol service's.
type nodeStats struct {
	sent, received, rejected atomic.Uint64
	chunkBytes               atomic.Uint64
	expired                  atomic.Uint64
}

// auditRecord is one event for the audit chain.
type auditRecord struct {
	Kind     string // publish, delivery, ingress, egress, erasure, retention, key, policy
	Artifact string
	Version  uint64
	Peer     string
	Rule     string
	Decision string
	Reason   string
	Count    int
}

// audit appends an event to the hash-chained audit log in the store.
func (n *Node) audit(r auditRecord) error {
	return appendAudit(n.st, n.now(), n.policyVersion(), r)
}

func appendAudit(st *store.Store, now time.Time, policyVersion string, r auditRecord) error {
	return st.AppendAudit(recordChain(now, policyVersion, r))
}

// recordChain is the chaining function of an audit record: it links the
// record to the last entry of the chain (store.AppendAudit).
func recordChain(now time.Time, policyVersion string, r auditRecord) func([]byte) ([]byte, error) {
	reason := r.Reason
	if r.Count > 0 {
		reason = fmt.Sprintf("%d artifacts %s", r.Count, reason)
	}
	return entryChain(policy.AuditEntry{
		Time: now.UTC(), Kind: r.Kind, Artifact: r.Artifact, Version: r.Version, Peer: r.Peer,
		Rule: r.Rule, PolicyVersion: policyVersion, Decision: r.Decision, Reason: reason,
	})
}

// entryChain is the chaining function of an audit entry.
func entryChain(e policy.AuditEntry) func([]byte) ([]byte, error) {
	return func(prevBytes []byte) ([]byte, error) {
		var prev *policy.AuditEntry
		if prevBytes != nil {
			p, err := policy.DecodeEntry(prevBytes)
			if err != nil {
				return nil, fmt.Errorf("audit chain: last entry: %w", err)
			}
			prev = &p
		}
		return policy.EncodeEntry(policy.Chain(prev, e)), nil
	}
}

// RecordKeyEvent appends a key operation done outside the node (init,
// rotate, shred, passphrase change, backup, restore) to the audit chain of a
// data directory's store. decision says what happened ("created",
// "shredded"...), reason names the key by ID; key material never goes in.
func RecordKeyEvent(st *store.Store, now time.Time, decision, reason string) error {
	return appendAudit(st, now, "", auditRecord{Kind: policy.AuditKey, Decision: decision, Reason: reason})
}

// AuditLog reads the audit chain.
func AuditLog(st *store.Store) ([]policy.AuditEntry, error) {
	var out []policy.AuditEntry
	err := st.ForEachAudit(func(v []byte) error {
		e, err := policy.DecodeEntry(v)
		if err != nil {
			return fmt.Errorf("audit entry %d: %w", len(out)+1, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// retentionLoop deletes artifacts whose retention ended, every
// RetentionInterval.
func (n *Node) retentionLoop(ctx context.Context) {
	t := time.NewTicker(time.Duration(n.cfg.RetentionInterval))
	defer t.Stop()
	n.resumeFetches()
	for {
		if _, err := n.Reap(); err != nil {
			n.log.Warn("retention run", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-n.closed:
			return
		case <-t.C:
		}
	}
}

// Reap deletes every stored artifact whose retain_until has passed and
// records the run; it returns how many were deleted.
func (n *Node) Reap() (int, error) {
	now := n.now()
	var expired []string
	err := n.st.Artifacts(func(a store.Artifact) error {
		if !a.RetainUntil.IsZero() && !now.Before(a.RetainUntil) {
			expired = append(expired, a.ID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range expired {
		if err := n.removeArtifact(id, nil); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
		n.stats.expired.Add(1)
	}
	if len(expired) > 0 {
		if err := n.audit(auditRecord{Kind: "retention", Count: len(expired), Reason: "retention ended"}); err != nil {
			return len(expired), err
		}
	}
	return len(expired), n.shredOldKeys(now)
}

// shredOldKeys crypto-shreds the epoch keys whose epoch ended more than
// KeyRetention ago, and records each in the audit chain.
func (n *Node) shredOldKeys(now time.Time) error {
	ret := time.Duration(n.cfg.KeyRetention)
	if ret <= 0 {
		return nil
	}
	keys, err := n.vault.List()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID.Purpose() != keyvault.PurposeEpoch || k.State == keyvault.StateShredded || k.End.IsZero() || now.Before(k.End.Add(ret)) {
			continue
		}
		if err := n.vault.Shred(k.ID); err != nil && !errors.Is(err, keyvault.ErrShredded) {
			return fmt.Errorf("shredding %s: %w", k.ID, err)
		}
		if err := n.audit(auditRecord{Kind: policy.AuditKey, Decision: "shredded", Reason: fmt.Sprintf("epoch key %s shredded: its epoch ended %s, key_retention %s", k.ID, k.End.Format(time.RFC3339), ret)}); err != nil {
			return err
		}
	}
	return nil
}

// loadDecider returns the egress policy hook: the policy in force (config's
// policy_file, or policy.yaml in the data directory), else the default.
func (n *Node) loadDecider() (protocol.Decider, error) {
	p, err := LoadPolicy(n.dir, n.cfg)
	if err != nil {
		return nil, err
	}
	d := &decider{n: n}
	d.pol.Store(p)
	return d, nil
}

// policyVersion names the policy in force for the audit chain.
func (n *Node) policyVersion() string {
	if v, ok := n.dec.(interface{ Version() string }); ok {
		return v.Version()
	}
	return "default"
}
