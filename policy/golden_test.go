package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// explainCases are the decisions whose explanations are kept as golden files.
var explainCases = []struct {
	name string
	dir  Direction
	peer Peer
	a    Artifact
}{
	{"allow-amber-group", Egress, peer(certB), art(KindIndicator, usage.Amber, purposes("detection", "incident-response"))},
	{"allow-merged", Egress, peer(certC), art(KindDataset, usage.Amber, withK(25))},
	{"deny-amber-needs-name", Egress, peer(bankD), art(KindIndicator, usage.Amber)},
	{"deny-forbid", Egress, peer(certB), art(KindDataset, usage.Amber, basis("consent"), withK(50))},
	{"deny-red", Egress, peer(lab), art(KindIndicator, usage.Red)},
	{"deny-reshare-none", Egress, peer(bankD), art(KindIndicator, usage.Green, received(certB, "CERT-B", usage.ReshareNone, "cert-eu"))},
	{"deny-reshare-group", Egress, peer(bankD), art(KindIndicator, usage.Green, basis("contract"), received(certB, "CERT-B", usage.ReshareGroup, "cert-eu"))},
	{"deny-purpose", Egress, peer(uniE), art(KindIndicator, usage.Green)},
	{"deny-k", Egress, peer(certB), art(KindDataset, usage.Amber, withK(3))},
	{"deny-stranger", Egress, Peer{ID: "12D3KooWStranger", Org: "CERT-Z", Groups: []string{"cert-eu"}, Purposes: []string{"detection"}}, art(KindIndicator, usage.Green)},
	{"ingress-allow", Ingress, peer(bankD), art(KindSighting, usage.Green, received(bankD, "Bank-D", usage.ReshareNone))},
	{"ingress-forwarded-dataset", Ingress, peer(certB), art(KindDataset, usage.Green, received(certC, "CERT-C", usage.ReshareCommunity, "cert-eu"), withK(50))},
	{"ingress-amber-strict", Ingress, peer(certB), art(KindIndicator, usage.AmberStrict, received(certB, "CERT-B", usage.ReshareNone))},
}

func TestGoldenExplain(t *testing.T) {
	p := loadExample(t)
	for _, c := range explainCases {
		t.Run(c.name, func(t *testing.T) {
			e := p.Explain(c.peer, c.a)
			if c.dir == Ingress {
				e = p.ExplainAccept(c.peer, c.a)
			}
			var b bytes.Buffer
			if err := e.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, "explain-"+c.name+".golden", b.Bytes())
		})
	}
}

// previewArtifacts is a day's worth of artifacts of the example node.
func previewArtifacts() []Artifact {
	return []Artifact{
		art(KindIndicator, usage.Amber, purposes("detection", "incident-response")),
		art(KindIndicator, usage.Green, basis("contract"), func(a *Artifact) { a.ID = "ind-green" }),
		art(KindIndicator, usage.Red, func(a *Artifact) { a.ID = "ind-red" }),
		art(KindSighting, usage.Amber, func(a *Artifact) { a.ID = "sight-1"; a.Version = 4 }),
		art(KindDataset, usage.Amber, withK(25), func(a *Artifact) { a.ID = "ds-flows-2026w11" }),
		art(KindDataset, usage.Amber, withK(7), func(a *Artifact) { a.ID = "ds-small-k" }),
		art(KindDataset, usage.Green, withK(40), purposes("detection", "research"), basis("public-task"), func(a *Artifact) { a.ID = "ds-research" }),
		art(KindPCAP, usage.Amber, func(a *Artifact) { a.ID = "cap-1" }),
		art(KindTombstone, usage.Green, func(a *Artifact) { a.ID = "tomb-1" }),
		art(KindIndicator, usage.Green, received(certB, "CERT-B", usage.ReshareNone, "cert-eu"), func(a *Artifact) { a.ID = "ind-from-b" }),
		art(KindIndicator, usage.Green, received(certB, "CERT-B", usage.ReshareGroup, "cert-eu"), func(a *Artifact) { a.ID = "ind-from-b-group" }),
		art(KindDataset, usage.Amber, withK(25), basis("consent"), func(a *Artifact) { a.ID = "ds-consent" }),
	}
}

func TestGoldenPreview(t *testing.T) {
	p := loadExample(t)
	for _, id := range []string{certC, bankD, uniE, lab} {
		pr, _ := p.Peer(id)
		var b bytes.Buffer
		if err := WritePreview(&b, pr, Preview(p, pr, previewArtifacts())); err != nil {
			t.Fatal(err)
		}
		golden(t, "preview-"+strings.TrimPrefix(id, "12D3KooW")+".golden", b.Bytes())
	}
}

// recorded makes the records of what old decided for every listed peer and
// preview artifact, plus one ingress record and one without a decision.
func recorded(old *Policy) []Recorded {
	var out []Recorded
	for _, pr := range old.Peers() {
		for _, a := range previewArtifacts() {
			out = append(out, Recorded{Direction: Egress, Peer: pr, Artifact: a, Decision: old.Decide(pr, a)})
		}
	}
	in := art(KindSighting, usage.Green, received(bankD, "Bank-D", usage.ReshareNone))
	out = append(out, Recorded{Direction: Ingress, Peer: peer(bankD), Artifact: in, Decision: old.Accept(peer(bankD), in)})
	out = append(out, Recorded{Direction: Egress, Peer: peer(uniE), Artifact: art(KindIndicator, usage.Green, func(a *Artifact) { a.ID = "ind-unrecorded" })})
	return out
}

func TestGoldenDiff(t *testing.T) {
	old := loadExample(t)
	next, err := Load("testdata/example-v2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	recs := recorded(old)
	changes := Diff(old, next, recs)
	var b bytes.Buffer
	if err := WriteDiff(&b, len(recs), changes); err != nil {
		t.Fatal(err)
	}
	golden(t, "diff.golden", b.Bytes())

	// Properties the golden file must show.
	var sawNarrower, sawWider, sawVerdict bool
	for _, c := range changes {
		sawNarrower = sawNarrower || c.Scope == "narrower"
		sawWider = sawWider || c.Scope == "wider"
		sawVerdict = sawVerdict || c.Verdict
		if c.New.Allow != next.decide(c.Direction, c.Peer.ID, c.Artifact).Allow {
			t.Errorf("change %s %s: New is not the new policy's decision", c.Peer.ID, c.Artifact)
		}
	}
	if !sawNarrower || !sawWider || !sawVerdict {
		t.Errorf("diff misses a kind of change: narrower %v wider %v verdict %v", sawNarrower, sawWider, sawVerdict)
	}
	if same := Diff(old, old, recs); len(same) != 0 {
		t.Errorf("Diff(old, old) = %d changes, want none", len(same))
	}
	b.Reset()
	if err := WriteDiff(&b, len(recs), nil); err != nil || !strings.Contains(b.String(), "none of") {
		t.Errorf("WriteDiff(no changes) = %q, %v", b.String(), err)
	}
}

func TestGoldenSummary(t *testing.T) {
	p := loadExample(t)
	golden(t, "summary.golden", []byte(Summary(p)))
	q := mustParse(t, `version: 1
groups: [{name: lonely}]
peers: [{id: P, org: A}]
egress:
  - {name: amber-all, effect: permit, to: all, kinds: [indicator], tlp: AMBER}
  - {name: red, effect: permit, to: {orgs: [Nobody]}, kinds: [indicator], tlp: RED}
`)
	golden(t, "summary-warnings.golden", []byte(Summary(q)))
}

// auditLog records the preview decisions of the example as an audit log.
func auditLog(t *testing.T, p *Policy) []AuditEntry {
	var log []AuditEntry
	add := func(e AuditEntry) {
		var prev *AuditEntry
		if len(log) > 0 {
			prev = &log[len(log)-1]
		}
		log = append(log, Chain(prev, e))
	}
	add(AuditEntry{Time: t0, Kind: AuditPolicy, PolicyVersion: p.Version(), Decision: "loaded", Reason: "policy loaded"})
	for i, a := range previewArtifacts() {
		for _, pr := range p.Peers() {
			add(p.Entry(Egress, t0.Add(time.Duration(i)*time.Minute), pr, a, p.Decide(pr, a)))
		}
	}
	in := art(KindSighting, usage.Green, received(bankD, "Bank-D", usage.ReshareNone))
	add(p.Entry(Ingress, t0.Add(time.Hour), peer(bankD), in, p.Accept(peer(bankD), in)))
	add(AuditEntry{Time: t0.Add(2 * time.Hour), Kind: AuditErasure, Artifact: "indicator/ind-green", Decision: "erased", Reason: "tombstone sent to 4 recipients"})
	return log
}

func TestGoldenROPA(t *testing.T) {
	p := loadExample(t)
	log := auditLog(t, p)
	r := ROPA(p, log)
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "ropa.json.golden", js)
	golden(t, "ropa.md.golden", []byte(r.Markdown()))
	if !r.Activity.ChainVerified || r.Activity.Entries != len(log) {
		t.Errorf("activity = %+v", r.Activity)
	}
	var back ROPARecord
	if err := json.Unmarshal(js, &back); err != nil || back.PolicyVersion != p.Version() {
		t.Errorf("ROPA JSON does not read back: %v", err)
	}
	// A broken chain shows in the record.
	log[3].Reason = "edited"
	if r := ROPA(p, log); r.Activity.ChainVerified || !strings.Contains(r.Markdown(), "BROKEN") {
		t.Errorf("ROPA of a tampered log claims a verified chain")
	}
	// A tail of the log verifies on its own.
	if r := ROPA(p, auditLog(t, p)[10:]); !r.Activity.ChainVerified {
		t.Errorf("ROPA of a log tail: %s", r.Activity.ChainError)
	}
}

// TestFlipIsSufficient applies the change each flip proposes to the example
// file and checks that the decision turns around.
func TestFlipIsSufficient(t *testing.T) {
	src, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		peer     string
		a        Artifact
		flip     string // expected in the flip text
		old, new string // the edit of the file that the flip describes
	}{
		{"purpose", uniE, art(KindIndicator, usage.Green), "must declare one of [detection]",
			"    purposes: [research]\n", "    purposes: [research, detection]\n"},
		{"k", certB, art(KindDataset, usage.Amber, withK(3)), `"datasets-to-certs" (testdata/example.yaml:58): lower k_min to 3`,
			"    k_min: 5\n", "    k_min: 3\n"},
		{"kind", bankD, art(KindIndicator, usage.Amber), `"finance" (testdata/example.yaml:76): add indicator to kinds`,
			"    kinds: [sighting, dataset]\n", "    kinds: [sighting, dataset, indicator]\n"},
		{"forbid", certB, art(KindDataset, usage.Amber, basis("consent"), withK(50)), `remove or narrow forbid rule "no-consent-data"`,
			"    legal_basis: [consent]\n", "    legal_basis: [contract]\n"},
	}
	p := loadExample(t)
	for _, c := range cases {
		e := p.Explain(peer(c.peer), c.a)
		if e.Decision.Allow || !strings.Contains(e.Flip, c.flip) {
			t.Errorf("%s: decision %v, flip %q, want it to contain %q", c.name, e.Decision.Allow, e.Flip, c.flip)
			continue
		}
		edited := strings.Replace(string(src), c.old, c.new, 1)
		if edited == string(src) {
			t.Fatalf("%s: edit does not apply", c.name)
		}
		q, err := Parse("testdata/example.yaml", []byte(edited))
		if err != nil {
			t.Fatal(err)
		}
		if d := q.Decide(peer(c.peer), c.a); !d.Allow {
			t.Errorf("%s: after the flip still denied by %s: %s", c.name, d.Rule, d.Reason)
		}
	}
}
