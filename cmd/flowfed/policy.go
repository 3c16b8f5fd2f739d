package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/protocol"
	"github.com/flowfed/flowfed/share/dataset"
)

const policyUsage = `
Usage:
  flowfed policy check FILE
  flowfed policy explain [--dir D] [--file F] --peer PEER-ID --artifact ID
  flowfed policy preview [--dir D] [--file F] --peer PEER-ID
  flowfed policy diff    [--dir D] [--file OLD] NEW.yaml
  flowfed policy apply   [--dir D] FILE
  flowfed policy export-ropa [--dir D] [--file F] OUT-PREFIX

The sharing policy says who gets what, for which purpose, for how long and how
minimised (format: policy/FORMAT.md). Deny by default; a forbid wins over a
permit; an artifact's own usage policy (TLP, purposes, retention, reshare, k) is
never widened. While a policy is in force, received artifacts whose usage policy
allows resharing are offered onward to the peers its egress rules permit
(source: received), unchanged and still signed by their originator.

  check        validate FILE (errors name file:line:column) and summarise it
  explain      the decision for one peer and one stored artifact, the rules that
               decided (file:line), each failed condition, and the smallest
               change that would flip it
  preview      exactly what PEER would receive now (ours and what we reshare),
               and how minimised
  diff         replay the recorded decisions of the audit chain under NEW.yaml and
               show what would change, before applying it
  apply        validate FILE and put it in force atomically (the running node
               switches at once); recorded in the audit chain
  export-ropa  the record of processing activities from the policy and the audit
               chain, as OUT-PREFIX.json and OUT-PREFIX.md

--file F uses F instead of the policy in force.

Example:
  flowfed policy check sharing.yaml && flowfed policy diff sharing.yaml && flowfed policy apply sharing.yaml
`

func runPolicy(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fl := newFlagSet(e, "policy", policyUsage)
		if err := parseFlags(fl, args); err != nil {
			return err
		}
		return usagef("want check, explain, preview, diff, apply or export-ropa")
	}
	sub, args := args[0], args[1:]
	fl := newFlagSet(e, "policy "+sub, policyUsage)
	var df dataFlags
	df.register(fl, e)
	file := fl.String("file", "", "policy `file` to use instead of the one in force")
	peerArg := fl.String("peer", "", "the recipient's `peer ID`")
	artID := fl.String("artifact", "", "a stored artifact's `ID`")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	switch sub {
	case "check":
		if fl.NArg() != 1 {
			return usagef("need one policy file")
		}
		p, err := policy.Load(fl.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprint(e.stdout, policy.Summary(p))
		return nil
	case "apply":
		if fl.NArg() != 1 {
			return usagef("need one policy file")
		}
		src, err := os.ReadFile(fl.Arg(0))
		if err != nil {
			return err
		}
		name := filepath.Base(fl.Arg(0))
		var version string
		client, err := node.Dial(df.dir)
		switch {
		case err == nil:
			version, err = client.ApplyPolicy(ctx, name, src)
		case errors.Is(err, node.ErrNotRunning):
			err = withStore(df.dir, func(st *store.Store) error {
				version, err = node.ApplyPolicyOffline(df.dir, st, name, src, time.Now())
				return err
			})
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "policy %s in force (%s)\n", version, filepath.Join(df.dir, node.PolicyFile))
		return nil
	}
	// The other subcommands read the policy and the node's state; diff also
	// works before any policy is in force (against the default's recorded
	// decisions).
	var pol *policy.Policy
	var err error
	if sub == "diff" && *file == "" {
		cfg, cerr := node.LoadConfig(df.dir)
		if cerr != nil {
			return cerr
		}
		pol, err = node.LoadPolicy(df.dir, cfg)
	} else {
		pol, err = policyFor(df.dir, *file)
	}
	if err != nil {
		return err
	}
	st, err := readState(ctx, df.dir)
	if err != nil {
		return err
	}
	switch sub {
	case "explain":
		if *peerArg == "" || *artID == "" {
			return usagef("need --peer and --artifact")
		}
		pe, err := policyPeer(pol, *peerArg)
		if err != nil {
			return err
		}
		a, err := st.artifact(pol, *artID)
		if err != nil {
			return err
		}
		return pol.Explain(pe, a).WriteText(e.stdout)
	case "preview":
		if *peerArg == "" {
			return usagef("need --peer")
		}
		pe, err := policyPeer(pol, *peerArg)
		if err != nil {
			return err
		}
		return policy.WritePreview(e.stdout, pe, policy.Preview(pol, pe, st.shareable(pol)))
	case "diff":
		if fl.NArg() != 1 {
			return usagef("need the new policy file")
		}
		next, err := policy.Load(fl.Arg(0))
		if err != nil {
			return err
		}
		recs := st.recorded(pol, next)
		return policy.WriteDiff(e.stdout, len(recs), policy.Diff(pol, next, recs))
	case "export-ropa":
		if fl.NArg() != 1 {
			return usagef("need an output prefix (writes PREFIX.json and PREFIX.md)")
		}
		r := policy.ROPA(pol, st.audit)
		js, err := r.JSON()
		if err != nil {
			return err
		}
		prefix := fl.Arg(0)
		if _, err := writeFileVia(prefix+".json", func(f *os.File) error { _, err := f.Write(js); return err }); err != nil {
			return err
		}
		if _, err := writeFileVia(prefix+".md", func(f *os.File) error { _, err := f.WriteString(r.Markdown()); return err }); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s.json and %s.md\n", prefix, prefix)
		return nil
	}
	return usagef("unknown subcommand %q", sub)
}

// policyFor loads file, else the policy in force on dir.
func policyFor(dir, file string) (*policy.Policy, error) {
	if file != "" {
		return policy.Load(file)
	}
	cfg, err := node.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	p, err := node.LoadPolicy(dir, cfg)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("no sharing policy in force on %s (members get TLP:CLEAR, GREEN and AMBER by default): write one (see policy/FORMAT.md) and 'flowfed policy apply' it, or pass --file", dir)
	}
	return p, nil
}

func policyPeer(pol *policy.Policy, arg string) (policy.Peer, error) {
	id, err := peer.Decode(arg)
	if err != nil {
		return policy.Peer{}, usagef("--peer %q: %v", arg, err)
	}
	pe, ok := pol.Peer(id.String())
	if !ok {
		return policy.Peer{ID: id.String()}, nil // unknown to the policy: it gets nothing, and explain says why
	}
	return pe, nil
}

// nodeState is what the policy and audit commands read of a node.
type nodeState struct {
	arts    []node.ArtifactInfo
	members []store.Peer
	audit   []policy.AuditEntry
}

// readState reads the stored artifacts, members and audit chain from the
// running node or the data directory.
func readState(ctx context.Context, dir string) (*nodeState, error) {
	s := &nodeState{}
	client, err := node.Dial(dir)
	if err == nil {
		if s.arts, err = client.Artifacts(ctx); err != nil {
			return nil, err
		}
		ps, err := client.Peers(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			id, _ := peer.Decode(p.ID)
			s.members = append(s.members, store.Peer{ID: string(id), Org: p.Org, Groups: p.Groups})
		}
		s.audit, err = client.Audit(ctx)
		return s, err
	}
	if !errors.Is(err, node.ErrNotRunning) {
		return nil, err
	}
	err = withStore(dir, func(st *store.Store) error {
		var err error
		if s.arts, err = node.Artifacts(st); err != nil {
			return err
		}
		if s.members, err = st.Peers(); err != nil {
			return err
		}
		s.audit, err = node.AuditLog(st)
		return err
	})
	return s, err
}

func (s *nodeState) artifact(pol *policy.Policy, id string) (policy.Artifact, error) {
	if found := s.find(id); len(found) > 0 {
		return found[0].Policy(pol, s.members)
	}
	return policy.Artifact{}, fmt.Errorf("no artifact %s here ('flowfed audit artifacts' lists them)", id)
}

// find returns the stored artifacts id names, ours first: an artifact ID;
// an indicator or sighting id (each publisher's artifact of it); or the ID
// of a received dataset version as 'flowfed datasets list' shows it.
func (s *nodeState) find(id string) []node.ArtifactInfo {
	var ours, theirs []node.ArtifactInfo
	for _, a := range s.arts {
		if a.Kind == node.KindForward {
			continue
		}
		match := a.ID == id || strings.HasPrefix(a.ID, id+"@")
		if !match && a.Kind == node.KindDataset {
			if e, err := protocol.UnmarshalEnvelope(a.Envelope); err == nil {
				if m, err := dataset.DecodeManifest(e.Payload); err == nil && m.ID == id {
					match = true
				}
			}
		}
		switch {
		case !match:
		case a.Local:
			ours = append(ours, a)
		default:
			theirs = append(theirs, a)
		}
	}
	return append(ours, theirs...)
}

// forwardedTo returns the recipients of our forwarding envelope of a
// received artifact.
func (s *nodeState) forwardedTo(id string) []node.Recipient {
	for _, a := range s.arts {
		if a.Kind == node.KindForward && a.ID == protocol.ForwardID(id) {
			return a.Recipients
		}
	}
	return nil
}

// shareable lists what this node can send (node.Shareable).
func (s *nodeState) shareable(pol *policy.Policy) []policy.Artifact {
	return node.Shareable(s.arts, pol, s.members)
}

// recorded turns the audit chain's egress and ingress decisions into
// decisions to replay (the latest per peer and artifact version).
func (s *nodeState) recorded(old, next *policy.Policy) []policy.Recorded {
	type key struct{ dir, peer, art string }
	seen := map[key]int{}
	var out []policy.Recorded
	for _, e := range s.audit {
		var dir policy.Direction
		switch e.Kind {
		case policy.AuditEgress:
			dir = policy.Egress
		case policy.AuditIngress:
			dir = policy.Ingress
		default:
			continue
		}
		kind, id, ok := strings.Cut(e.Artifact, "/")
		if !ok {
			continue
		}
		var art policy.Artifact
		found := false
		for _, a := range s.arts {
			if a.ID == id && a.Kind == kind {
				if pa, err := a.Policy(old, s.members); err == nil {
					art, found = pa, true
				}
			}
		}
		if !found {
			continue // erased or expired since: nothing left to decide on
		}
		pe, ok := next.Peer(e.Peer)
		if !ok && old != nil {
			pe, ok = old.Peer(e.Peer)
		}
		if !ok {
			pe = policy.Peer{ID: e.Peer}
		}
		rec := policy.Recorded{Direction: dir, Peer: pe, Artifact: art,
			Decision: policy.Decision{Allow: e.Decision == policy.DecisionAllow, Rule: e.Rule, Reason: e.Reason}}
		k := key{e.Kind, e.Peer, e.Artifact}
		if i, ok := seen[k]; ok {
			out[i] = rec
			continue
		}
		seen[k] = len(out)
		out = append(out, rec)
	}
	return out
}
