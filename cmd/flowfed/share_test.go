package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/internal/testutil"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/flowfed/flowfed/testnet"
)

// TestWhoReceivedThroughAForwarder: on the member that reshared an
// indicator, who-received names the peers it forwarded it to, by the
// indicator's plain id, also after the originator erased it.
func TestWhoReceivedThroughAForwarder(t *testing.T) {
	net := testnet.New(t, 3, func(o *testnet.Options) { o.Orgs = []string{"ORG-O", "ORG-R", "ORG-C"} })
	o, r, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	ctx := context.Background()
	if _, err := o.ApplyPolicy("o.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-O}
peers: [{id: %s, org: ORG-R, purposes: [research]}]
egress: [{name: to-relay, effect: permit, to: {peers: [%s]}, kinds: [indicator, tombstone], tlp: AMBER}]
`, o.ID(), r.ID(), r.ID())); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ApplyPolicy("r.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-R}
peers: [{id: %s, org: ORG-O, purposes: [research]}, {id: %s, org: ORG-C, purposes: [research]}]
ingress: [{name: from-o, effect: permit, from: all, kinds: [indicator, tombstone]}]
egress: [{name: onward, effect: permit, to: all, source: received, kinds: [indicator], tlp: GREEN}]
`, r.ID(), o.ID(), c.ID())); err != nil {
		t.Fatal(err)
	}
	var inds []intel.Indicator
	for _, v := range []string{"kept.example.net", "erased.example.net"} {
		ind, err := node.NewIndicator("domain", v, "ORG-O", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ind.Policy = usage.Policy{TLP: usage.Green, Purposes: []string{"research"}, Reshare: usage.ReshareCommunity}
		inds = append(inds, ind)
	}
	if _, err := o.PublishIndicators(ctx, inds); err != nil {
		t.Fatal(err)
	}
	err := testnet.WaitFor(ctx, 30*time.Second, "C to get both through R", func() (bool, error) {
		for _, ind := range inds {
			if _, err := c.Store().Artifact(node.IndicatorArtifact(ind.ID, o.ID())); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	erased := node.IndicatorArtifact(inds[1].ID, o.ID())
	if _, err := o.Erase(ctx, node.EraseRequest{Artifact: erased}); err != nil {
		t.Fatal(err)
	}
	err = testnet.WaitFor(ctx, 30*time.Second, "the erasure at C", func() (bool, error) {
		_, err := c.Store().Artifact(erased)
		return err != nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// C lists the kept indicator as O's, forwarded by R.
	cc := nodeCLI(t, c)
	if out := cc.must("", "intel", "list"); !strings.Contains(out, "ORG-O via ORG-R") {
		t.Errorf("C's intel list does not say who forwarded it:\n%s", out)
	}
	if err := net.Stop(1); err != nil {
		t.Fatal(err)
	}
	cl := newCLI(t)
	cl.dir = r.Dir
	out := cl.must("", "audit", "who-received", inds[0].ID)
	if !strings.Contains(out, c.ID().String()) || !strings.Contains(out, "forwarded by this node") || !strings.Contains(out, "published by "+o.ID().String()) {
		t.Errorf("who-received of the kept indicator:\n%s", out)
	}
	out = cl.must("", "audit", "who-received", inds[1].ID)
	if !strings.Contains(out, "no longer stored here") || !strings.Contains(out, c.ID().String()) {
		t.Errorf("who-received of the erased indicator:\n%s", out)
	}
	if out := cl.must("", "audit", "artifacts"); !strings.Contains(out, "here, forwarding "+o.ID().String()) {
		t.Errorf("audit artifacts does not say what R forwards:\n%s", out)
	}
	if code, _, errs := cl.run("", "audit", "list", "--kind", "bogus"); code != 2 || !strings.Contains(errs, "want one of") {
		t.Errorf("audit list --kind bogus: exit %d, %s", code, errs)
	}
}

// TestPolicyDiffBeforeAnyPolicy: the first policy can be diffed against
// what the default decided.
func TestPolicyDiffBeforeAnyPolicy(t *testing.T) {
	net := testnet.New(t, 2, func(o *testnet.Options) { o.Orgs = []string{"ORG-A", "ORG-B"} })
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	ind, err := node.NewIndicator("domain", "first.example.net", "ORG-A", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ind.Policy = usage.Policy{TLP: usage.Green, Purposes: []string{"research"}}
	if _, err := a.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	err = testnet.WaitFor(ctx, 30*time.Second, "B to get it", func() (bool, error) {
		_, err := b.Store().Artifact(node.IndicatorArtifact(ind.ID, a.ID()))
		return err == nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	aID, bID := a.ID(), b.ID()
	if err := net.Stop(0); err != nil {
		t.Fatal(err)
	}
	cl := newCLI(t)
	cl.dir = a.Dir
	next := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(next, fmt.Appendf(nil, "version: 1\nself: {id: %s, org: ORG-A}\npeers: [{id: %s, org: ORG-B, purposes: [research]}]\n", aID, bID), 0o600); err != nil {
		t.Fatal(err)
	}
	out := cl.must("", "policy", "diff", next)
	if !strings.Contains(out, "allow → deny") || !strings.Contains(out, "recorded → ") || strings.Contains(out, "TLP:RED PAP:RED") {
		t.Errorf("policy diff before any policy:\n%s", out)
	}
}

// TestPublishAllLeavesOutDeadIndicators: 'intel publish' without ids sends
// the live indicators and leaves out revoked or expired ones never
// published.
func TestPublishAllLeavesOutDeadIndicators(t *testing.T) {
	net := testnet.New(t, 2)
	a, b := net.Nodes[0], net.Nodes[1]
	cc := nodeCLI(t, a)
	cc.must("", "intel", "add", "domain", "live.example.net", "--tlp", "GREEN")
	cc.must("", "intel", "add", "domain", "dead.example.net", "--tlp", "GREEN")
	var dead string
	for _, line := range strings.Split(cc.must("", "intel", "list"), "\n") {
		if strings.Contains(line, "dead.example.net") {
			dead = strings.Fields(line)[0]
		}
	}
	cc.must("", "intel", "revoke", dead)
	out := cc.must("", "intel", "publish")
	if !strings.Contains(out, "published 1 indicators") || !strings.Contains(out, "left out 1 indicators") {
		t.Fatalf("intel publish: %s", out)
	}
	err := testnet.WaitFor(context.Background(), 30*time.Second, "B to get the live indicator", func() (bool, error) {
		n := 0
		err := b.Store().ForEachIndicator(func(string, []byte) error { n++; return nil })
		return n == 1, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := cc.must("", "intel", "publish"); !strings.Contains(out, "nothing new to publish") {
		t.Fatalf("second intel publish: %s", out)
	}
}

// TestPeersAddSaysUpdated: listing a member again says it changed it, and
// the running node refuses its own peer ID.
func TestPeersAddSaysUpdated(t *testing.T) {
	net := testnet.New(t, 2)
	a, b := net.Nodes[0], net.Nodes[1]
	cc := nodeCLI(t, a)
	if out := cc.must("", "peers", "add", "--org", "ORG-X", b.ID().String()); !strings.Contains(out, "updated (organisation was "+b.Org+")") {
		t.Fatalf("re-adding B: %s", out)
	}
	if code, _, errs := cc.run("", "peers", "add", "--org", a.Org, a.ID().String()); code == 0 || !strings.Contains(errs, "own peer ID") {
		t.Fatalf("adding itself: exit %d, %s", code, errs)
	}
}

// TestIngestThroughRunningNode: with the node running, ingest of a file and
// of a directory goes through it and says what it stored.
func TestIngestThroughRunningNode(t *testing.T) {
	net := testnet.New(t, 1)
	a := net.Nodes[0]
	cc := nodeCLI(t, a)
	dir := t.TempDir()
	testutil.WriteSynthCapture(t, filepath.Join(dir, "a.pcap"), 41)
	testutil.WriteSynthCapture(t, filepath.Join(dir, "b.pcap"), 42)
	if out := cc.must("", "ingest", filepath.Join(dir, "a.pcap")); strings.Count(out, "flows stored under") != 1 {
		t.Fatalf("ingest of a file through the node: %q", out)
	}
	out := cc.must("", "ingest", dir)
	if strings.Count(out, "flows stored under") != 1 || strings.Count(out, "already ingested") != 1 {
		t.Fatalf("ingest of a directory through the node: %q", out)
	}
	if code, _, errs := cc.run("", "ingest", filepath.Join(dir, "missing.pcap")); code == 0 || !strings.Contains(errs, "missing.pcap") {
		t.Fatalf("ingest of a missing file through the node: exit %d, %s", code, errs)
	}
}

// nodeCLI returns a CLI on the data directory of a running testnet node,
// once its admin API answers (it starts with the node's services).
func nodeCLI(t *testing.T, n *testnet.Node) *cli {
	t.Helper()
	c := newCLI(t)
	c.dir = n.Dir
	if err := testnet.WaitFor(context.Background(), 30*time.Second, "the admin API", func() (bool, error) {
		_, err := node.Dial(n.Dir)
		return err == nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	return c
}
