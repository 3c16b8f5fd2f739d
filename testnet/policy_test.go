package testnet

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/policy"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/pseudo"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/flowfed/flowfed/testnet/synth"
)

// fakeClock is a clock the test moves forward.
type fakeClock struct{ off atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// policyNet is four nodes: A publishes under a policy; B (ORG-B) and C (of
// A's own organisation ORG-A) are in group alpha; D (ORG-D) is in group beta
// and declares only the purpose marketing.
func policyNet(t *testing.T, clock *fakeClock) *Net {
	t.Helper()
	return New(t, 4, func(o *Options) {
		o.Orgs = []string{"ORG-A", "ORG-B", "ORG-A-lab", "ORG-D"}
		o.Now = clock.now
	})
}

func policySource(net *Net, datasetDomain string) []byte {
	a, b, c, d := net.Nodes[0], net.Nodes[1], net.Nodes[2], net.Nodes[3]
	dom := ""
	if datasetDomain != "" {
		dom = "\n    domain: " + datasetDomain
	}
	return fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-A}
groups:
  - name: alpha
  - name: beta
peers:
  - {id: %s, org: ORG-B, groups: [alpha], purposes: [research, detection]}
  - {id: %s, org: ORG-A, groups: [alpha], purposes: [research, detection]}
  - {id: %s, org: ORG-D, groups: [beta], purposes: [marketing]}
egress:
  - name: alpha-all
    effect: permit
    to: {groups: [alpha]}
    kinds: [indicator, tombstone]
    tlp: AMBER+STRICT
  - name: alpha-datasets
    effect: permit
    to: {groups: [alpha]}
    kinds: [dataset]
    tlp: AMBER%s
  - name: green-community
    effect: permit
    to: all
    kinds: [indicator, tombstone]
    tlp: GREEN
`, a.ID(), b.ID(), c.ID(), d.ID(), dom)
}

func holds(t *testing.T, n *Node, publisher *Node, ind intel.Indicator) bool {
	t.Helper()
	_, err := n.Store().Indicator(node.IndicatorArtifact(ind.ID, publisher.ID()))
	return err == nil
}

func mkInd(t *testing.T, value string, tlp usage.TLP, purposes ...string) intel.Indicator {
	t.Helper()
	ind, err := node.NewIndicator("domain", value, "ORG-A", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(purposes) == 0 {
		purposes = []string{"research"}
	}
	ind.Policy = usage.Policy{TLP: tlp, Purposes: purposes, RetentionDays: 30}
	return ind
}

func TestPolicyScenarios(t *testing.T) {
	clock := &fakeClock{}
	net := policyNet(t, clock)
	a, b, c, d := net.Nodes[0], net.Nodes[1], net.Nodes[2], net.Nodes[3]
	ctx := context.Background()
	if _, err := a.ApplyPolicy("a.yaml", policySource(net, "")); err != nil {
		t.Fatal(err)
	}
	amber := mkInd(t, "amber.example.net", usage.Amber)
	strict := mkInd(t, "strict.example.net", usage.AmberStrict)
	red := mkInd(t, "red.example.net", usage.Red)
	green := mkInd(t, "green.example.net", usage.Green)
	marketing := mkInd(t, "market.example.net", usage.Green, "marketing")
	short := mkInd(t, "short.example.net", usage.Green)
	short.Policy.RetentionDays = 1
	if _, err := a.PublishIndicators(ctx, []intel.Indicator{amber, strict, red, green, marketing, short}); err != nil {
		t.Fatal(err)
	}
	// B (alpha): amber, green, short. C (alpha, same org): also strict.
	// D: nothing, not even GREEN (it declares no matching purpose), except
	// the marketing indicator, whose purpose it declares.
	waitCount(t, b, a, 3)
	waitCount(t, c, a, 4)
	waitCount(t, d, a, 1)
	want := map[*Node][]intel.Indicator{b: {amber, green, short}, c: {amber, strict, green, short}, d: {marketing}}
	for n, inds := range want {
		for _, ind := range inds {
			if !holds(t, n, a, ind) {
				t.Errorf("%s lacks %s", n.Org, ind.Value)
			}
		}
	}
	for _, n := range []*Node{b, c, d} {
		if holds(t, n, a, red) {
			t.Errorf("%s holds the TLP:RED indicator", n.Org)
		}
	}
	if holds(t, b, a, strict) || holds(t, d, a, strict) {
		t.Error("TLP:AMBER+STRICT reached another organisation")
	}
	if holds(t, d, a, amber) {
		t.Error("TLP:AMBER reached a peer outside the group")
	}
	// Recipients never forward: reshare none is never widened.
	for _, n := range []*Node{b, c, d} {
		if st, _ := n.Status(); st.Head != 0 {
			t.Errorf("%s published %d artifacts it received", n.Org, st.Head)
		}
	}

	// Retention: one day later every copy of the one-day indicator goes.
	clock.advance(25 * time.Hour)
	for _, n := range net.Nodes {
		if _, err := n.Reap(); err != nil {
			t.Fatal(err)
		}
		if holds(t, n, a, short) {
			t.Errorf("%s still holds an expired indicator", n.Org)
		}
	}

	// Erasure of the AMBER indicator reaches every recipient, who
	// acknowledges it.
	res, err := a.Erase(ctx, node.EraseRequest{Artifact: node.IndicatorArtifact(amber.ID, a.ID()), Reason: "test"})
	if err != nil || len(res.Revoked) != 1 {
		t.Fatalf("erase = %+v, %v", res, err)
	}
	err = WaitFor(ctx, 30*time.Second, "erasure at every recipient", func() (bool, error) {
		return !holds(t, b, a, amber) && !holds(t, c, a, amber), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = WaitFor(ctx, 30*time.Second, "acknowledgements", func() (bool, error) {
		ss, err := node.EraseStatus(a.Store())
		return err == nil && len(ss) == 1 && len(ss[0].Recipients) == 2 && len(ss[0].Outstanding) == 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	log, err := node.AuditLog(a.Store())
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.VerifyChain(log); err != nil {
		t.Fatal(err)
	}
	egress := 0
	for _, e := range log {
		if e.Kind == policy.AuditEgress {
			egress++
			if e.PolicyVersion == "" || e.Rule == "" {
				t.Errorf("egress entry without policy version or rule: %+v", e)
			}
		}
	}
	if egress < 3*6 {
		t.Errorf("%d egress decisions recorded, want one per peer and artifact (≥ 18)", egress)
	}
}

// publishFlows ingests a synthesized capture named name (seed, packets) at
// n, builds a flows dataset with k 5 under use and publishes it.
func publishFlows(t *testing.T, n *Node, name string, seed uint64, packets int, use usage.Policy) dataset.Manifest {
	t.Helper()
	capPath := filepath.Join(t.TempDir(), name)
	if _, err := synth.WriteFile(capPath, synth.Config{Seed: seed, Packets: packets}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Ingest(context.Background(), []string{capPath}); err != nil {
		t.Fatal(err)
	}
	m, err := n.BuildDataset(dataset.Spec{Kind: dataset.KindFlows, K: 5, Usage: use})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.PublishDataset(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	return m
}

// srcSet returns the source pseudonyms of the flows dataset a node received
// from publisher.
func srcSet(t *testing.T, n, publisher *Node) map[netip.Addr]bool {
	t.Helper()
	var set map[netip.Addr]bool
	err := WaitFor(context.Background(), 30*time.Second, n.Org+" to complete the dataset", func() (bool, error) {
		ds, err := node.Datasets(n.Store())
		if err != nil {
			return false, err
		}
		for _, d := range ds {
			if d.Publisher != publisher.ID().String() || !d.Complete() {
				continue
			}
			m, content, err := node.LoadDataset(n.Store(), d.Manifest.ID)
			if err != nil {
				return false, err
			}
			set = map[netip.Addr]bool{}
			for r, err := range dataset.Records(m, content) {
				if err != nil {
					return false, err
				}
				set[r.Src] = true
			}
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestPerRecipientPseudonymDomains(t *testing.T) {
	for _, tc := range []struct {
		name, domain string
		linkable     bool
	}{
		{"separate domains by default", "", false},
		{"one domain for the group", "alpha", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{}
			net := policyNet(t, clock)
			a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
			if _, err := a.ApplyPolicy("a.yaml", policySource(net, tc.domain)); err != nil {
				t.Fatal(err)
			}
			publishFlows(t, a, "a.pcap", 7, 3000, usage.Policy{TLP: usage.Amber, Purposes: []string{"research"}})
			sb, sc := srcSet(t, b, a), srcSet(t, c, a)
			own := map[netip.Addr]bool{}
			_ = a.Store().ForEachFlow(func(r *flow.Record) error { own[r.Key.SrcAddr()] = true; return nil })
			common := 0
			for x := range sb {
				if sc[x] {
					common++
				}
				if own[x] {
					t.Errorf("B received A's own-domain pseudonym %s (B %d, C %d, own %d)", x, len(sb), len(sc), len(own))
					ds, _ := node.Datasets(b.Store())
					for _, d := range ds {
						t.Logf("B holds %s from %s: domain %q keys %v records %d", d.Manifest.ID, d.Publisher, d.Manifest.Domain, d.Manifest.KeyIDs, d.Manifest.Records)
					}
					keys := map[string]int{}
					_ = a.Store().ForEachFlow(func(r *flow.Record) error { keys[r.KeyID]++; return nil })
					t.Logf("A's flows by key: %v", keys)
				}
			}
			if tc.linkable && (common != len(sb) || len(sb) != len(sc)) {
				t.Fatalf("same domain: %d of %d/%d pseudonyms in common", common, len(sb), len(sc))
			}
			if !tc.linkable && common != 0 {
				t.Fatalf("different domains: %d of %d pseudonyms in common", common, len(sb))
			}
			// Capture names leave as tokens: one per capture, not the name.
			names := map[string]bool{}
			for _, r := range onlyRecords(t, b) {
				names[r.Source] = true
			}
			for name := range names {
				if !strings.HasPrefix(name, pseudo.TokenPrefix) || strings.Contains(name, "a.pcap") {
					t.Errorf("B's records name their capture %q, want a token", name)
				}
			}
			if len(names) != 1 {
				t.Errorf("one capture became %d sources", len(names))
			}
			// D (beta, marketing) gets no dataset.
			if ds, _ := node.Datasets(net.Nodes[3].Store()); len(ds) != 0 {
				t.Fatalf("D received %d datasets", len(ds))
			}
		})
	}
}

// TestResharing: O shares only with R; R forwards what O allows to be
// reshared, under its own policy, to C (in a group with O) and D (not).
// The forwarded copies keep O as their originator and R as where they came
// from; O's erasure reaches C and D through R.
func TestResharing(t *testing.T) {
	clock := &fakeClock{}
	net := New(t, 4, func(o *Options) {
		o.Orgs = []string{"ORG-O", "ORG-R", "ORG-C", "ORG-D"}
		o.Now = clock.now
	})
	o, r, c, d := net.Nodes[0], net.Nodes[1], net.Nodes[2], net.Nodes[3]
	ctx := context.Background()
	if _, err := o.ApplyPolicy("o.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-O}
peers:
  - {id: %s, org: ORG-R, purposes: [research]}
egress:
  - {name: to-relay, effect: permit, to: {peers: [%s]}, kinds: [indicator, dataset, tombstone], tlp: AMBER}
`, o.ID(), r.ID(), r.ID())); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ApplyPolicy("r.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-R}
groups:
  - name: alpha
  - name: beta
peers:
  - {id: %s, org: ORG-O, groups: [alpha], purposes: [research]}
  - {id: %s, org: ORG-C, groups: [alpha], purposes: [research]}
  - {id: %s, org: ORG-D, groups: [beta], purposes: [research]}
ingress:
  - {name: from-o, effect: permit, from: {peers: [%s]}, kinds: [indicator, dataset, tombstone], retention: 10d}
egress:
  - {name: onward, effect: permit, to: {groups: [alpha, beta]}, source: received, kinds: [indicator, dataset], tlp: AMBER, retention: 7d}
`, r.ID(), o.ID(), c.ID(), d.ID(), o.ID())); err != nil {
		t.Fatal(err)
	}
	community := mkInd(t, "community.example.net", usage.Green)
	community.Policy.Reshare = usage.ReshareCommunity
	group := mkInd(t, "group.example.net", usage.Green)
	group.Policy.Reshare = usage.ReshareGroup
	none := mkInd(t, "none.example.net", usage.Green)
	none.Policy.Reshare = usage.ReshareNone
	if _, err := o.PublishIndicators(ctx, []intel.Indicator{community, group, none}); err != nil {
		t.Fatal(err)
	}
	publishFlows(t, o, "o.pcap", 11, 2000, usage.Policy{TLP: usage.Amber, Purposes: []string{"research"}, Reshare: usage.ReshareCommunity})

	// R gets all four directly; C gets the community and group
	// indicators and the dataset through R; D (not in a group with O) only
	// what reshare community allows. Nobody but R gets reshare none.
	waitCount(t, r, o, 4)
	waitCount(t, c, o, 3)
	waitCount(t, d, o, 2)
	// R's ingress rule keeps O's 30-day indicators 10 days.
	if a, err := r.Store().Artifact(node.IndicatorArtifact(community.ID, o.ID())); err != nil ||
		a.RetainUntil.After(clock.now().Add(11*24*time.Hour)) || a.RetainUntil.Before(clock.now().Add(9*24*time.Hour)) {
		t.Errorf("R keeps the community indicator until %s (%v), want 10 days", a.RetainUntil, err)
	}
	for n, want := range map[*Node][]intel.Indicator{c: {community, group}, d: {community}} {
		for _, ind := range want {
			a, err := n.Store().Artifact(node.IndicatorArtifact(ind.ID, o.ID()))
			if err != nil {
				t.Fatalf("%s lacks %s: %v", n.Org, ind.Value, err)
			}
			if a.Publisher != string(o.ID()) || a.From != string(r.ID()) {
				t.Errorf("%s holds %s from %s published by %s, want O's via R", n.Org, ind.Value, a.From, a.Publisher)
			}
			// R's rule keeps it 7 days at most, narrower than O's 30.
			if a.RetainUntil.After(clock.now().Add(8 * 24 * time.Hour)) {
				t.Errorf("%s keeps %s until %s: R's 7-day retention was widened", n.Org, ind.Value, a.RetainUntil)
			}
		}
		if holds(t, n, o, none) {
			t.Errorf("%s received the reshare-none indicator", n.Org)
		}
	}
	if holds(t, d, o, group) {
		t.Error("the reshare-group indicator left the groups it came through")
	}
	// The forwarded dataset's chunks come from R.
	if got := srcSet(t, c, o); len(got) == 0 {
		t.Error("C's forwarded dataset has no records")
	}
	for _, n := range []*Node{c, d} {
		if st, _ := n.Status(); st.Head != 0 {
			t.Errorf("%s, without a policy, forwarded %d artifacts", n.Org, st.Head)
		}
	}

	// O erases the community indicator: R deletes it and passes the notice
	// on to C and D, who delete theirs and acknowledge to R.
	aid := node.IndicatorArtifact(community.ID, o.ID())
	if _, err := o.Erase(ctx, node.EraseRequest{Artifact: aid, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	err := WaitFor(ctx, 30*time.Second, "the erasure at R, C and D", func() (bool, error) {
		return !holds(t, r, o, community) && !holds(t, c, o, community) && !holds(t, d, o, community), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = WaitFor(ctx, 30*time.Second, "C's and D's acknowledgements at R", func() (bool, error) {
		ss, err := node.EraseStatus(r.Store())
		if err != nil {
			return false, err
		}
		for _, s := range ss {
			if s.Artifact == aid && s.Originator == o.ID().String() {
				return len(s.Recipients) == 2 && len(s.Outstanding) == 0, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// C (no policy) recorded accepting each forwarded artifact from R, and
	// R each decision to forward, in their audit chains.
	clog, err := node.AuditLog(c.Store())
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, e := range clog {
		if e.Kind == policy.AuditIngress && e.Decision == policy.DecisionAllow && e.Peer == r.ID().String() {
			accepted++
		}
	}
	if accepted < 3 {
		t.Errorf("C recorded %d accepted artifacts from R, want ≥ 3", accepted)
	}
	rlog, err := node.AuditLog(r.Store())
	if err != nil {
		t.Fatal(err)
	}
	forwardedTo := map[string]int{}
	for _, e := range rlog {
		if e.Kind == policy.AuditEgress && e.Decision == policy.DecisionAllow && e.Rule == "onward" {
			forwardedTo[e.Peer]++
		}
	}
	if forwardedTo[c.ID().String()] < 3 || forwardedTo[d.ID().String()] < 2 {
		t.Errorf("R recorded forwarding %v, want ≥ 3 to C and ≥ 2 to D", forwardedTo)
	}
	if err := policy.VerifyChain(rlog); err != nil {
		t.Fatal(err)
	}
	// R's preview for D shows what R reshares to it: the dataset (the
	// community indicator is erased by now), not the group or none ones.
	pol, err := node.LoadPolicy(r.Dir, node.Config{})
	if err != nil {
		t.Fatal(err)
	}
	arts, err := node.Artifacts(r.Store())
	if err != nil {
		t.Fatal(err)
	}
	dp, _ := pol.Peer(d.ID().String())
	var sent []string
	for _, it := range policy.Preview(pol, dp, node.Shareable(arts, pol, nil)) {
		if it.Decision.Allow {
			sent = append(sent, it.Artifact.Kind)
		}
	}
	if len(sent) != 1 || sent[0] != "dataset" {
		t.Errorf("R's preview for D sends %v, want the dataset only", sent)
	}
	who, err := node.WhoReceived(r.Store(), node.IndicatorArtifact(group.ID, o.ID()))
	if err != nil || len(who) != 1 || who[0].Peer != string(c.ID()) {
		t.Errorf("R's who-received of the group indicator = %v, %v; want C", who, err)
	}
}

// TestMinimisedEgress: the rules' drop_fields and time_unit reduce what
// leaves, per kind: free text of indicators, the observer and times of
// sightings, the capture names and Zeek history of dataset records.
func TestMinimisedEgress(t *testing.T) {
	clock := &fakeClock{}
	net := policyNet(t, clock)
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	if _, err := a.ApplyPolicy("a.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-A}
peers:
  - {id: %s, org: ORG-B, purposes: [research]}
egress:
  - name: reduced
    effect: permit
    to: {peers: [%s]}
    kinds: [indicator, sighting, dataset]
    tlp: AMBER
    minimise: {time_unit: 1h, drop_fields: [description, labels, observer, source, history]}
`, a.ID(), b.ID(), b.ID())); err != nil {
		t.Fatal(err)
	}
	ind := mkInd(t, "reduced.example.net", usage.Amber)
	ind.Description, ind.Labels = "seen on the CFO's laptop", []string{"c2"}
	if _, err := a.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 11, 3, 12, 34, 56, 0, time.UTC)
	sg := intel.NewSighting(ind.ID, "ORG-A", intel.SightingSeen, first, first.Add(90*time.Minute), 5)
	if _, err := a.PublishSightings(ctx, []intel.Sighting{sg}, usage.Policy{TLP: usage.Amber, Purposes: []string{"research"}}); err != nil {
		t.Fatal(err)
	}
	publishFlows(t, a, "cfo-laptop.pcap", 5, 2000, usage.Policy{TLP: usage.Amber, Purposes: []string{"research"}})
	waitCount(t, b, a, 3)

	raw, err := b.Store().Indicator(node.IndicatorArtifact(ind.ID, a.ID()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := intel.DecodeIndicator(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "" || len(got.Labels) != 0 || got.Value != ind.Value || got.ID != ind.ID {
		t.Errorf("B's indicator: description %q labels %v value %q: want the value without free text", got.Description, got.Labels, got.Value)
	}
	var sights []intel.Sighting
	_ = b.Store().ForEachSighting(func(_ string, v []byte) error {
		s, err := intel.DecodeSighting(v)
		if err != nil {
			t.Fatal(err)
		}
		sights = append(sights, s)
		return nil
	})
	if len(sights) != 1 || sights[0].Observer != "" || !sights[0].FirstSeen.Equal(first.Truncate(time.Hour)) ||
		!sights[0].LastSeen.Equal(first.Add(90*time.Minute).Truncate(time.Hour)) || sights[0].Count != 5 {
		t.Errorf("B's sightings = %+v, want one without observer, times to the hour", sights)
	}
	srcSet(t, b, a) // waits for the chunks
	recs := onlyRecords(t, b)
	lasting := 0
	for _, r := range recs {
		if r.Source != "" || r.History != "" || r.Start.Nanosecond() != 0 || r.Start.Minute() != 0 {
			t.Fatalf("record keeps source %q, history %q or start %s", r.Source, r.History, r.Start)
		}
		if r.End.Sub(r.Start)%time.Hour != 0 {
			lasting++ // a duration that is no multiple of the unit: kept, not rounded
		}
	}
	if len(recs) == 0 || lasting == 0 {
		t.Fatalf("%d records, %d with their durations kept", len(recs), lasting)
	}
}

// onlyRecords returns the records of the one dataset n holds.
func onlyRecords(t *testing.T, n *Node) []dataset.Record {
	t.Helper()
	ds, err := node.Datasets(n.Store())
	if err != nil || len(ds) != 1 {
		t.Fatalf("%s's datasets: %v, %v", n.Org, ds, err)
	}
	m, content, err := node.LoadDataset(n.Store(), ds[0].Manifest.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []dataset.Record
	for r, err := range dataset.Records(m, content) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestForwardingAfterTheFact: an artifact R stored without forwarding it
// (R had no policy yet, or stopped in between) is offered onward once a
// policy that allows it is in force.
func TestForwardingAfterTheFact(t *testing.T) {
	o, r, c := relayNet(t)
	ctx := context.Background()
	ind := mkInd(t, "late.example.net", usage.Green)
	ind.Policy.Reshare = usage.ReshareCommunity
	if _, err := o.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, r, o, 1)
	if st, _ := r.Status(); st.Head != 0 {
		t.Fatalf("R forwarded without a policy (head %d)", st.Head)
	}
	if _, err := r.ApplyPolicy("r.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-R}
peers: [{id: %s, org: ORG-O, purposes: [research]}, {id: %s, org: ORG-C, purposes: [research]}]
ingress: [{name: from-o, effect: permit, from: all, kinds: [indicator]}]
egress: [{name: onward, effect: permit, to: all, source: received, kinds: [indicator], tlp: GREEN}]
`, r.ID(), o.ID(), c.ID())); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c, o, 1)
	a, err := c.Store().Artifact(node.IndicatorArtifact(ind.ID, o.ID()))
	if err != nil || a.From != string(r.ID()) {
		t.Fatalf("C's copy: %+v, %v; want it from R", a, err)
	}
}

// TestErasureReachesFormerRecipients: a peer that got an artifact gets its
// erasure notice even after the policy stopped sharing with it.
func TestErasureReachesFormerRecipients(t *testing.T) {
	a, b, ind := sharedThenCutOff(t, "former.example.net")
	ctx := context.Background()
	aid := node.IndicatorArtifact(ind.ID, a.ID())
	if _, err := a.Erase(ctx, node.EraseRequest{Artifact: aid}); err != nil {
		t.Fatal(err)
	}
	err := WaitFor(ctx, 30*time.Second, "B to delete its copy and acknowledge", func() (bool, error) {
		ss, err := node.EraseStatus(a.Store())
		return !holds(t, b, a, ind) && err == nil && len(ss) == 1 && len(ss[0].Outstanding) == 0 && len(ss[0].Acknowledged) == 1 && !ss[0].Recall, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWidenedPolicyReoffers: what a member was refused reaches it once a
// new policy allows it, datasets included.
func TestWidenedPolicyReoffers(t *testing.T) {
	net := New(t, 2, func(o *Options) { o.Orgs = []string{"ORG-A", "ORG-B"} })
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	src := func(kinds string) []byte {
		return fmt.Appendf(nil, "version: 1\nself: {id: %s, org: ORG-A}\npeers: [{id: %s, org: ORG-B, purposes: [research]}]\negress: [{name: p, effect: permit, to: all, kinds: [%s], tlp: GREEN}]\n",
			a.ID(), b.ID(), kinds)
	}
	if _, err := a.ApplyPolicy("narrow.yaml", src("tombstone")); err != nil {
		t.Fatal(err)
	}
	ind := mkInd(t, "later.example.net", usage.Green)
	if _, err := a.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	publishFlows(t, a, "a.pcap", 3, 2000, usage.Policy{TLP: usage.Green, Purposes: []string{"research"}})
	b.Sync(ctx)
	if got := countFrom(t, b, a); got != 0 {
		t.Fatalf("B holds %d artifacts under a policy that refuses them", got)
	}
	if _, err := a.ApplyPolicy("wide.yaml", src("indicator, dataset")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, b, a, 2)
	if !holds(t, b, a, ind) {
		t.Fatal("B lacks the indicator")
	}
	if recs := srcSet(t, b, a); len(recs) == 0 {
		t.Fatal("B's dataset has no records")
	}
}

// TestWidenedPolicyAppliedOffline: a policy applied while the node is
// stopped is compared with the one before when the node starts again.
func TestWidenedPolicyAppliedOffline(t *testing.T) {
	net := New(t, 2, func(o *Options) { o.Orgs = []string{"ORG-A", "ORG-B"} })
	a, b := net.Nodes[0], net.Nodes[1]
	ctx := context.Background()
	aID, bID := a.ID(), b.ID()
	src := func(kinds string) []byte {
		return fmt.Appendf(nil, "version: 1\nself: {id: %s, org: ORG-A}\npeers: [{id: %s, org: ORG-B, purposes: [research]}]\negress: [{name: p, effect: permit, to: all, kinds: [%s], tlp: GREEN}]\n",
			aID, bID, kinds)
	}
	if _, err := a.ApplyPolicy("narrow.yaml", src("tombstone")); err != nil {
		t.Fatal(err)
	}
	ind := mkInd(t, "offline.example.net", usage.Green)
	if _, err := a.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	b.Sync(ctx)
	if got := countFrom(t, b, a); got != 0 {
		t.Fatalf("B holds %d artifacts under a policy that refuses them", got)
	}
	dir := a.Dir
	if err := net.Stop(0); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, node.StoreFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.ApplyPolicyOffline(dir, st, "wide.yaml", src("indicator"), time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := net.Restart(ctx, 0); err != nil {
		t.Fatal(err)
	}
	a = net.Nodes[0]
	waitCount(t, b, a, 1)
}

// TestRefusedForwardReoffered: what a forwarder refused to pass on under
// one policy goes on once a new policy allows it.
func TestRefusedForwardReoffered(t *testing.T) {
	o, r, c := relayNet(t)
	ctx := context.Background()
	rsrc := func(minimise string) []byte {
		return fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-R}
peers: [{id: %s, org: ORG-O, purposes: [research]}, {id: %s, org: ORG-C, purposes: [research]}]
ingress: [{name: from-o, effect: permit, from: all, kinds: [indicator]}]
egress: [{name: onward, effect: permit, to: all, source: received, kinds: [indicator], tlp: GREEN%s}]
`, r.ID(), o.ID(), c.ID(), minimise)
	}
	if _, err := r.ApplyPolicy("r1.yaml", rsrc(", minimise: {drop_fields: [labels]}")); err != nil {
		t.Fatal(err)
	}
	ind := mkInd(t, "refused.example.net", usage.Green)
	ind.Policy.Reshare = usage.ReshareCommunity
	if _, err := o.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, r, o, 1)
	// R refuses C (recorded) because its rule would minimise the artifact.
	err := WaitFor(ctx, 30*time.Second, "R's refusal to forward to C", func() (bool, error) {
		c.Sync(ctx)
		log, err := node.AuditLog(r.Store())
		for _, e := range log {
			if e.Kind == policy.AuditEgress && e.Peer == c.ID().String() && e.Rule == "builtin:forward-minimise" {
				return true, err
			}
		}
		return false, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if holds(t, c, o, ind) {
		t.Fatal("C got an artifact R's rules minimise, which R cannot forward")
	}
	if _, err := r.ApplyPolicy("r2.yaml", rsrc("")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c, o, 1)
}

// TestForwarderRecallsWhatItErases: R erases its copy of O's indicator,
// which it had forwarded to C. C deletes its copy on R's recall notice and
// acknowledges, but refuses nothing: the indicator reaches C again when O
// itself shares it with C.
func TestForwarderRecallsWhatItErases(t *testing.T) {
	net := New(t, 3, func(o *Options) { o.Orgs = []string{"ORG-O", "ORG-R", "ORG-C"} })
	o, r, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	ctx := context.Background()
	oPolicy := func(to string) []byte {
		return fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-O}
peers: [{id: %s, org: ORG-R, purposes: [research]}, {id: %s, org: ORG-C, purposes: [research]}]
egress: [{name: out, effect: permit, to: {peers: [%s]}, kinds: [indicator], tlp: AMBER}]
`, o.ID(), r.ID(), c.ID(), to)
	}
	if _, err := o.ApplyPolicy("o.yaml", oPolicy(r.ID().String())); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ApplyPolicy("r.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-R}
peers: [{id: %s, org: ORG-O, purposes: [research]}, {id: %s, org: ORG-C, purposes: [research]}]
ingress: [{name: in, effect: permit, from: all, kinds: [indicator, tombstone]}]
egress: [{name: onward, effect: permit, to: all, source: received, kinds: [indicator], tlp: GREEN}]
`, r.ID(), o.ID(), c.ID())); err != nil {
		t.Fatal(err)
	}
	ind := mkInd(t, "recalled.example.net", usage.Green)
	ind.Policy.Reshare = usage.ReshareCommunity
	if _, err := o.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c, o, 1)
	aid := node.IndicatorArtifact(ind.ID, o.ID())

	// R names the indicator by its own id, as its operator sees it.
	res, err := r.Erase(ctx, node.EraseRequest{Artifact: ind.ID, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || res.Deleted[0] != aid || len(res.Recalled) != 1 {
		t.Fatalf("R's erasure: %+v", res)
	}
	err = WaitFor(ctx, 30*time.Second, "C to delete its copy and acknowledge R's recall", func() (bool, error) {
		ss, err := node.EraseStatus(r.Store())
		return !holds(t, c, o, ind) && err == nil && len(ss) == 1 && len(ss[0].Recipients) == 1 &&
			len(ss[0].Outstanding) == 0 && len(ss[0].Acknowledged) == 1 && ss[0].Recall, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, erased, err := c.Store().Erased(aid); err != nil || erased {
		t.Fatalf("C marked %s erased on a forwarder's recall (%v)", aid, err)
	}
	// R refuses O's indicator from now on; O's notice to R is not needed.
	if _, erased, err := r.Store().Erased(aid); err != nil || !erased {
		t.Fatalf("R did not mark %s erased (%v)", aid, err)
	}
	// O now shares with C directly: C takes it.
	if _, err := o.ApplyPolicy("o2.yaml", oPolicy(c.ID().String())); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c, o, 1)
	if a, err := c.Store().Artifact(aid); err != nil || a.From != string(o.ID()) {
		t.Fatalf("C's new copy: %+v, %v; want it from O", a, err)
	}
}

// TestRevocationReachesFormerRecipients: a peer that got an indicator gets
// its revocation even after the policy stopped sharing indicators with it.
func TestRevocationReachesFormerRecipients(t *testing.T) {
	a, b, ind := sharedThenCutOff(t, "revoked.example.net")
	ctx := context.Background()
	revokeAndWait(t, a, ind, b)
	// A new indicator is still refused to B.
	other := mkInd(t, "other.example.net", usage.Green)
	if _, err := a.PublishIndicators(ctx, []intel.Indicator{other}); err != nil {
		t.Fatal(err)
	}
	b.Sync(ctx)
	if holds(t, b, a, other) {
		t.Fatal("B received an indicator the policy refuses")
	}
}

// TestRevocationReachesForwardedCopies: O revokes an indicator that R had
// forwarded to C; R's policy no longer forwards anything to C, but the
// revocation reaches C through R.
func TestRevocationReachesForwardedCopies(t *testing.T) {
	o, r, c := relayNet(t)
	ctx := context.Background()
	rPolicy := func(egress string) []byte {
		return fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-R}
peers: [{id: %s, org: ORG-O, purposes: [research]}, {id: %s, org: ORG-C, purposes: [research]}]
ingress: [{name: in, effect: permit, from: all, kinds: [indicator]}]
%s`, r.ID(), o.ID(), c.ID(), egress)
	}
	if _, err := r.ApplyPolicy("r.yaml", rPolicy("egress: [{name: onward, effect: permit, to: all, source: received, kinds: [indicator], tlp: GREEN}]\n")); err != nil {
		t.Fatal(err)
	}
	ind := mkInd(t, "forwarded-revoked.example.net", usage.Green)
	ind.Policy.Reshare = usage.ReshareCommunity
	if _, err := o.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, c, o, 1)
	if _, err := r.ApplyPolicy("r2.yaml", rPolicy("")); err != nil {
		t.Fatal(err)
	}
	revokeAndWait(t, o, ind, c)
}

// revokeAndWait revokes publisher's indicator ind, publishes the
// revocation and waits until n holds the revoked version.
func revokeAndWait(t *testing.T, publisher *Node, ind intel.Indicator, n *Node) {
	t.Helper()
	rev, err := node.RevokeIndicator(publisher.Store(), ind.ID, "false positive", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publisher.PublishIndicators(context.Background(), []intel.Indicator{rev}); err != nil {
		t.Fatal(err)
	}
	err = WaitFor(context.Background(), 30*time.Second, n.Org+" to learn of the revocation", func() (bool, error) {
		raw, err := n.Store().Indicator(node.IndicatorArtifact(ind.ID, publisher.ID()))
		if err != nil {
			return false, err
		}
		got, err := intel.DecodeIndicator(raw)
		return err == nil && got.Revoked, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEraseReceivedDatasetByListedID: a recipient erases a dataset by the
// id its own 'datasets list' shows (its version's), not only by the
// artifact id.
func TestEraseReceivedDatasetByListedID(t *testing.T) {
	net := New(t, 2)
	a, b := net.Nodes[0], net.Nodes[1]
	publishFlows(t, a, "a.pcap", 5, 2000, usage.Policy{TLP: usage.Green, Purposes: []string{"research"}})
	srcSet(t, b, a) // waits for the chunks
	ds, err := node.Datasets(b.Store())
	if err != nil || len(ds) != 1 {
		t.Fatalf("B holds %d datasets (%v)", len(ds), err)
	}
	if ds[0].PublisherOrg != a.Org {
		t.Errorf("B names the dataset's publisher %q, want %s", ds[0].PublisherOrg, a.Org)
	}
	res, err := b.Erase(context.Background(), node.EraseRequest{Artifact: ds[0].Manifest.ID})
	if err != nil || len(res.Deleted) != 1 {
		t.Fatalf("erasing %s: %+v, %v", ds[0].Manifest.ID, res, err)
	}
	if ds, _ := node.Datasets(b.Store()); len(ds) != 0 {
		t.Fatalf("B still holds %d datasets", len(ds))
	}
}

// sharedThenCutOff starts A and B, has A share a GREEN indicator of value
// with B, then puts in force on A a policy that shares nothing with B.
func sharedThenCutOff(t *testing.T, value string) (a, b *Node, ind intel.Indicator) {
	t.Helper()
	net := New(t, 2, func(o *Options) { o.Orgs = []string{"ORG-A", "ORG-B"} })
	a, b = net.Nodes[0], net.Nodes[1]
	ind = mkInd(t, value, usage.Green)
	if _, err := a.PublishIndicators(context.Background(), []intel.Indicator{ind}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, b, a, 1)
	if _, err := a.ApplyPolicy("a.yaml", fmt.Appendf(nil, "version: 1\nself: {id: %s, org: ORG-A}\npeers: [{id: %s, org: ORG-B, purposes: [research]}]\n", a.ID(), b.ID())); err != nil {
		t.Fatal(err)
	}
	return a, b, ind
}

// relayNet starts O, R and C, with a policy on O that shares indicators
// (up to AMBER) with R only.
func relayNet(t *testing.T) (o, r, c *Node) {
	t.Helper()
	net := New(t, 3, func(o *Options) { o.Orgs = []string{"ORG-O", "ORG-R", "ORG-C"} })
	o, r, c = net.Nodes[0], net.Nodes[1], net.Nodes[2]
	if _, err := o.ApplyPolicy("o.yaml", fmt.Appendf(nil, `version: 1
self: {id: %s, org: ORG-O}
peers: [{id: %s, org: ORG-R, purposes: [research]}]
egress: [{name: to-relay, effect: permit, to: {peers: [%s]}, kinds: [indicator], tlp: AMBER}]
`, o.ID(), r.ID(), r.ID())); err != nil {
		t.Fatal(err)
	}
	return o, r, c
}
