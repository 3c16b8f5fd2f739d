package policy

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// Peer IDs of testdata/example.yaml.
const (
	self  = "12D3KooWSelfCertA"
	lab   = "12D3KooWLabCertA" // CERT-A, no group
	certB = "12D3KooWCertB"    // cert-eu; detection, incident-response
	certC = "12D3KooWCertC"    // cert-eu, finance-isac; detection; domain cert-c
	bankD = "12D3KooWBankD"    // finance-isac; detection
	uniE  = "12D3KooWUniE"     // research; research
)

func loadExample(t testing.TB) *Policy {
	t.Helper()
	p, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatalf("Load(example) = %v", err)
	}
	return p
}

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse = %v\n%s", err, src)
	}
	return p
}

// art returns a local artifact of this node: TLP as given, PAP:GREEN,
// purpose detection, legitimate interest, 365 days, reshare community.
func art(kind string, tlp usage.TLP, mods ...func(*Artifact)) Artifact {
	a := Artifact{
		Kind: kind, ID: kind + "-1", Version: 1, Origin: self, Local: true,
		Usage: usage.Policy{TLP: tlp, PAP: usage.PAPGreen, Purposes: []string{"detection"}, LegalBasis: "legitimate-interest",
			RetentionDays: 365, Reshare: usage.ReshareCommunity},
	}
	for _, m := range mods {
		m(&a)
	}
	return a
}

// received makes an artifact one that origin (of org) sent us through via.
func received(origin, org string, reshare usage.Reshare, via ...string) func(*Artifact) {
	return func(a *Artifact) {
		a.Local, a.Origin, a.OriginOrg, a.ReceivedVia = false, origin, org, via
		a.Usage.Reshare = reshare
	}
}

func purposes(ps ...string) func(*Artifact) { return func(a *Artifact) { a.Usage.Purposes = ps } }
func basis(b string) func(*Artifact)        { return func(a *Artifact) { a.Usage.LegalBasis = b } }
func withK(k int) func(*Artifact)           { return func(a *Artifact) { a.K = k } }

func peer(id string) Peer { return Peer{ID: id} }

// wantDecision checks the verdict and deciding rule of a decision.
func wantDecision(t *testing.T, what string, d Decision, allow bool, rule string) {
	t.Helper()
	if d.Allow != allow || d.Rule != rule {
		t.Errorf("%s = %s by %s (%s), want %v by %s", what, d.Verdict(), d.Rule, d.Reason, map[bool]string{true: "allow", false: "deny"}[allow], rule)
	}
}

func TestExampleLoads(t *testing.T) {
	p := loadExample(t)
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("example has warnings: %q", w)
	}
	if got := len(p.Peers()); got != 5 {
		t.Errorf("len(Peers()) = %d, want 5", got)
	}
	pr, ok := p.Peer(certC)
	if !ok || pr.Org != "CERT-C" || !slices.Equal(pr.Groups, []string{"cert-eu", "finance-isac"}) || pr.Domain != "cert-c" {
		t.Errorf("Peer(%s) = %+v, %v", certC, pr, ok)
	}
	pr.Groups[0] = "changed"
	if again, _ := p.Peer(certC); again.Groups[0] != "cert-eu" {
		t.Error("Peer returns a slice shared with the policy")
	}
	if _, ok := p.Peer("nobody"); ok {
		t.Error("Peer(nobody) found")
	}
	if v := p.Version(); !strings.HasPrefix(v, "pol-") || len(v) != 28 {
		t.Errorf("Version() = %q", v)
	}
	gs := p.Groups()
	if len(gs) != 3 || !slices.Equal(gs[0].Members, []string{certB, certC}) {
		t.Errorf("Groups() = %+v", gs)
	}
}

func TestVersionIsContentHash(t *testing.T) {
	src := "version: 1\npeers: []\n"
	a, b := mustParse(t, src), mustParse(t, src+"# comment\n")
	if a.Version() == b.Version() {
		t.Error("different sources share a version")
	}
	if c := mustParse(t, src); c.Version() != a.Version() {
		t.Error("equal sources differ in version")
	}
}

// TestTLP checks each TLP rule of the sticky usage policy on egress.
func TestTLP(t *testing.T) {
	p := loadExample(t)
	t.Run("RED never leaves", func(t *testing.T) {
		for _, id := range []string{lab, certB, certC, bankD, uniE} {
			wantDecision(t, "RED indicator to "+id, p.Decide(peer(id), art(KindIndicator, usage.Red)), false, "builtin:tlp-red")
		}
		// Not even under a rule whose ceiling is RED.
		q := mustParse(t, `version: 1
self: {org: A}
peers: [{id: P, org: A, purposes: [detection]}]
egress: [{name: r, effect: permit, to: {peers: [P]}, kinds: ["*"], tlp: RED}]
`)
		wantDecision(t, "RED under tlp: RED", q.Decide(peer("P"), art(KindIndicator, usage.Red)), false, "builtin:tlp-red")
		wantDecision(t, "AMBER+STRICT under tlp: RED", q.Decide(peer("P"), art(KindIndicator, usage.AmberStrict)), true, "r")
	})
	t.Run("AMBER+STRICT only to the same org", func(t *testing.T) {
		a := art(KindIndicator, usage.AmberStrict)
		wantDecision(t, "to own org", p.Decide(peer(lab), a), true, "own-org")
		for _, id := range []string{certB, certC, bankD} {
			wantDecision(t, "to "+id, p.Decide(peer(id), a), false, "builtin:tlp-amber-strict")
		}
		// A received AMBER+STRICT artifact of CERT-B's may go back only to CERT-B's nodes.
		rcv := art(KindIndicator, usage.AmberStrict, received(certB, "CERT-B", usage.ReshareCommunity, "cert-eu"))
		wantDecision(t, "CERT-B's to our lab", p.Decide(peer(lab), rcv), false, "builtin:tlp-amber-strict")
		// Without self.org a local AMBER+STRICT artifact goes nowhere.
		q := mustParse(t, `version: 1
peers: [{id: P, org: A, purposes: [detection]}]
egress: [{name: r, effect: permit, to: {orgs: [A]}, kinds: ["*"], tlp: AMBER+STRICT}]
`)
		wantDecision(t, "no self.org", q.Decide(peer("P"), a), false, "builtin:tlp-amber-strict")
		a.OriginOrg = "A"
		wantDecision(t, "origin org given", q.Decide(peer("P"), a), true, "r")
	})
	t.Run("AMBER only to named recipients or groups", func(t *testing.T) {
		a := art(KindIndicator, usage.Amber)
		wantDecision(t, "to group member", p.Decide(peer(certB), a), true, "indicators-to-certs")
		// green-to-all reaches bank-d only through "all": not enough for AMBER.
		wantDecision(t, "to all-only peer", p.Decide(peer(bankD), a), false, "builtin:default-deny")
		e := p.Explain(peer(bankD), a)
		if !strings.Contains(strings.Join(ruleTrace(e, "green-to-all").Failed, ";"), "needs a named recipient") {
			t.Errorf("Explain does not say AMBER needs a named recipient: %+v", ruleTrace(e, "green-to-all"))
		}
	})
	t.Run("GREEN within the community", func(t *testing.T) {
		a := art(KindIndicator, usage.Green, basis("contract"))
		for _, id := range []string{lab, certB, certC, bankD} {
			if d := p.Decide(peer(id), a); !d.Allow {
				t.Errorf("GREEN indicator to %s denied by %s: %s", id, d.Rule, d.Reason)
			}
		}
		wantDecision(t, "to non-member", p.Decide(peer("12D3KooWStranger"), a), false, "builtin:not-a-member")
	})
	t.Run("CLEAR to all members", func(t *testing.T) {
		a := art(KindIndicator, usage.Clear, basis("contract"), purposes("detection", "research"))
		for _, id := range []string{lab, certB, certC, bankD, uniE} {
			if d := p.Decide(peer(id), a); !d.Allow {
				t.Errorf("CLEAR indicator to %s denied by %s: %s", id, d.Rule, d.Reason)
			}
		}
		wantDecision(t, "to non-member", p.Decide(peer("12D3KooWStranger"), a), false, "builtin:not-a-member")
	})
	t.Run("ceiling", func(t *testing.T) {
		// research-datasets releases GREEN at most.
		a := art(KindDataset, usage.Amber, purposes("research"), withK(50))
		wantDecision(t, "AMBER dataset to research", p.Decide(peer(uniE), a), false, "builtin:default-deny")
		a.Usage.TLP = usage.Green
		wantDecision(t, "GREEN dataset to research", p.Decide(peer(uniE), a), true, "research-datasets")
	})
}

func ruleTrace(e Explanation, name string) RuleTrace {
	for _, rt := range e.Rules {
		if rt.Name == name {
			return rt
		}
	}
	return RuleTrace{}
}

func TestForbidWinsOverPermit(t *testing.T) {
	for _, order := range []string{"forbid-first", "permit-first"} {
		t.Run(order, func(t *testing.T) {
			permit := "{name: allow-all, effect: permit, to: all, kinds: [\"*\"], tlp: GREEN}"
			forbid := "{name: no-sightings, effect: forbid, to: {peers: [P]}, kinds: [sighting]}"
			rules := permit + ", " + forbid
			if order == "forbid-first" {
				rules = forbid + ", " + permit
			}
			p := mustParse(t, "version: 1\npeers: [{id: P, org: A, purposes: [detection]}, {id: Q, org: B, purposes: [detection]}]\negress: ["+rules+"]\n")
			wantDecision(t, "sighting to P", p.Decide(peer("P"), art(KindSighting, usage.Green)), false, "no-sightings")
			wantDecision(t, "sighting to Q", p.Decide(peer("Q"), art(KindSighting, usage.Green)), true, "allow-all")
			wantDecision(t, "indicator to P", p.Decide(peer("P"), art(KindIndicator, usage.Green)), true, "allow-all")
		})
	}
	p := loadExample(t)
	a := art(KindDataset, usage.Amber, basis("consent"), withK(50))
	wantDecision(t, "consent dataset to cert-b", p.Decide(peer(certB), a), false, "no-consent-data")
	a.Usage.LegalBasis = "public-task"
	wantDecision(t, "public-task dataset to cert-b", p.Decide(peer(certB), a), true, "datasets-to-certs")
	// The forbid's conditions must all hold: a TLP floor.
	q := mustParse(t, `version: 1
peers: [{id: P, org: A, purposes: [detection]}]
egress:
  - {name: all, effect: permit, to: {peers: [P]}, kinds: ["*"], tlp: AMBER}
  - {name: no-amber, effect: forbid, to: all, kinds: [indicator], tlp: AMBER}
`)
	wantDecision(t, "GREEN under an AMBER floor", q.Decide(peer("P"), art(KindIndicator, usage.Green)), true, "all")
	wantDecision(t, "AMBER under an AMBER floor", q.Decide(peer("P"), art(KindIndicator, usage.Amber)), false, "no-amber")
}

func TestDenyByDefault(t *testing.T) {
	empty := mustParse(t, "version: 1\npeers: [{id: P, org: A, purposes: [detection]}]\n")
	for _, k := range Kinds() {
		for _, tlp := range []usage.TLP{usage.Clear, usage.Green, usage.Amber} {
			wantDecision(t, k+" "+tlp.String(), empty.Decide(peer("P"), art(k, tlp)), false, "builtin:default-deny")
			wantDecision(t, "accept "+k, empty.Accept(peer("P"), art(k, tlp, received("P", "A", usage.ReshareNone))), false, "builtin:default-deny")
		}
	}
	p := loadExample(t)
	wantDecision(t, "unknown peer", p.Decide(peer("12D3KooWStranger"), art(KindIndicator, usage.Clear)), false, "builtin:not-a-member")
	wantDecision(t, "unknown kind", p.Decide(peer(lab), art("recipe", usage.Clear)), false, "builtin:unknown-kind")
	wantDecision(t, "no peer ID", p.Decide(Peer{}, art(KindIndicator, usage.Clear)), false, "builtin:not-a-member")
	// A zero usage policy is the safe default (AMBER): not for all.
	a := art(KindIndicator, 0)
	a.Usage = usage.Policy{}
	a.Usage.Purposes = []string{"detection"}
	wantDecision(t, "unlabelled to all-only peer", p.Decide(peer(bankD), a), false, "builtin:default-deny")
}

// TestKnownPeerIsAuthoritative checks that Decide uses the policy's listing
// of a peer, not what the caller says about it.
func TestKnownPeerIsAuthoritative(t *testing.T) {
	p := loadExample(t)
	a := art(KindIndicator, usage.AmberStrict)
	claim := Peer{ID: certB, Org: "CERT-A", Groups: []string{"finance-isac"}, Purposes: []string{"research"}}
	wantDecision(t, "cert-b claiming CERT-A", p.Decide(claim, a), false, "builtin:tlp-amber-strict")
}

func TestPurposeMismatchGivesNothing(t *testing.T) {
	p := loadExample(t)
	var arts []Artifact
	for _, k := range Kinds() {
		for _, tlp := range []usage.TLP{usage.Clear, usage.Green, usage.Amber} {
			arts = append(arts, art(k, tlp, purposes("detection", "incident-response"), withK(100)))
		}
	}
	for _, it := range Preview(p, peer(uniE), arts) {
		wantDecision(t, "to research peer: "+it.Artifact.String(), it.Decision, false, "builtin:purpose")
	}
	// The peer declares the purpose but the rule does not list it.
	q := mustParse(t, `version: 1
peers: [{id: P, org: A, purposes: [detection, research]}]
egress: [{name: r, effect: permit, to: all, kinds: ["*"], tlp: GREEN, purposes: [research]}]
`)
	wantDecision(t, "detection under a research rule", q.Decide(peer("P"), art(KindIndicator, usage.Green)), false, "builtin:default-deny")
	// The attached usage policy keeps only the purposes that were permitted.
	d := q.Decide(peer("P"), art(KindIndicator, usage.Green, purposes("detection", "research", "training")))
	if !d.Allow || !slices.Equal(d.Usage.Purposes, []string{"research"}) {
		t.Errorf("attached purposes = %v (allow %v), want [research]", d.Usage.Purposes, d.Allow)
	}
}

func TestReshare(t *testing.T) {
	p := loadExample(t)
	t.Run("none is never forwarded", func(t *testing.T) {
		for _, tlp := range []usage.TLP{usage.Clear, usage.Green, usage.Amber} {
			a := art(KindIndicator, tlp, received(certB, "CERT-B", usage.ReshareNone, "cert-eu"))
			for _, id := range []string{lab, certC, bankD, uniE} {
				wantDecision(t, tlp.String()+" to "+id, p.Decide(peer(id), a), false, "builtin:reshare-none")
			}
		}
		// Even under a rule that permits everything to everyone.
		q := mustParse(t, `version: 1
peers: [{id: P, org: A, purposes: [detection]}, {id: Q, org: B, purposes: [detection]}]
egress: [{name: r, effect: permit, to: {peers: [P, Q]}, kinds: ["*"], tlp: AMBER+STRICT}]
`)
		wantDecision(t, "under permit-all", q.Decide(peer("Q"), art(KindIndicator, usage.Clear, received("P", "A", usage.ReshareNone))), false, "builtin:reshare-none")
		// Our own artifacts with reshare none still go out: the flag binds recipients.
		own := art(KindIndicator, usage.Green, func(a *Artifact) { a.Usage.Reshare = usage.ReshareNone })
		d := q.Decide(peer("Q"), own)
		wantDecision(t, "local reshare none", d, true, "r")
		if d.Usage.Reshare != usage.ReshareNone {
			t.Errorf("attached reshare = %v, want none", d.Usage.Reshare)
		}
	})
	t.Run("group only within its groups", func(t *testing.T) {
		a := art(KindIndicator, usage.Green, basis("contract"), received(certB, "CERT-B", usage.ReshareGroup, "cert-eu"))
		wantDecision(t, "to cert-eu member", p.Decide(peer(certC), a), true, "green-to-all")
		wantDecision(t, "to outsider", p.Decide(peer(bankD), a), false, "builtin:reshare-group")
		a.ReceivedVia = nil
		wantDecision(t, "with no group", p.Decide(peer(certC), a), false, "builtin:reshare-group")
	})
	t.Run("community to all members", func(t *testing.T) {
		a := art(KindIndicator, usage.Green, basis("contract"), received(certB, "CERT-B", usage.ReshareCommunity, "cert-eu"))
		wantDecision(t, "to outsider", p.Decide(peer(bankD), a), true, "green-to-all")
	})
	t.Run("rules narrow the attached scope", func(t *testing.T) {
		d := p.Decide(peer(certB), art(KindIndicator, usage.Amber))
		if !d.Allow || d.Usage.Reshare != usage.ReshareGroup {
			t.Errorf("attached reshare = %v (allow %v), want group", d.Usage.Reshare, d.Allow)
		}
	})
}

func TestDomains(t *testing.T) {
	p := mustParse(t, `version: 1
groups:
  - {name: g, domain: shared-g}
  - {name: h}
peers:
  - {id: A, org: A, purposes: [detection], groups: [g]}
  - {id: B, org: B, purposes: [detection], groups: [g, h]}
  - {id: C, org: C, purposes: [detection], groups: [h], domain: pair}
  - {id: D, org: D, purposes: [detection], groups: [h], domain: pair}
  - {id: E, org: E, purposes: [detection], groups: [h]}
  - {id: F, org: F, purposes: [detection], groups: [h]}
egress:
  - {name: via-g, effect: permit, to: {groups: [g]}, kinds: [indicator], tlp: AMBER}
  - {name: via-h, effect: permit, to: {groups: [h]}, kinds: [indicator, sighting], tlp: AMBER}
  - {name: fixed, effect: permit, to: {peers: [E]}, kinds: [dataset], tlp: AMBER, domain: Special}
`)
	dom := func(id, kind string) string {
		t.Helper()
		d := p.Decide(peer(id), art(kind, usage.Amber))
		if !d.Allow {
			t.Fatalf("%s to %s denied: %s", kind, id, d.Reason)
		}
		return d.Domain
	}
	if a, b := dom("A", KindIndicator), dom("B", KindIndicator); a != "shared-g" || b != "shared-g" {
		t.Errorf("group domain: A %q, B %q, want shared-g for both", a, b)
	}
	if c, d := dom("C", KindIndicator), dom("D", KindIndicator); c != "pair" || d != "pair" {
		t.Errorf("per-peer shared domain: C %q, D %q, want pair", c, d)
	}
	if e, f := dom("E", KindIndicator), dom("F", KindIndicator); e == f || e != "peer:E" || f != "peer:F" {
		t.Errorf("peers without domain: E %q, F %q, want distinct peer domains", e, f)
	}
	if b, e := dom("B", KindSighting), dom("E", KindSighting); b == e {
		t.Errorf("B and E share domain %q through a group without domain", b)
	}
	if c, b := dom("C", KindSighting), dom("B", KindSighting); c == b {
		t.Errorf("C and B share domain %q", c)
	}
	if e := dom("E", KindDataset); e != "special" {
		t.Errorf("rule domain = %q, want special", e)
	}
	// The example: cert-eu members share the cert-eu domain through the cert-eu rule.
	ex := loadExample(t)
	a := art(KindIndicator, usage.Amber)
	if b, c := ex.Decide(peer(certB), a).Domain, ex.Decide(peer(certC), a).Domain; b != "cert-eu" || c != "cert-eu" {
		t.Errorf("example AMBER indicator domains: %q, %q, want cert-eu", b, c)
	}
	g := art(KindIndicator, usage.Green, basis("contract")) // only green-to-all matches
	if b, c, d := ex.Decide(peer(certB), g).Domain, ex.Decide(peer(certC), g).Domain, ex.Decide(peer(bankD), g).Domain; b != "peer:"+certB || c != "cert-c" || d != "peer:"+bankD {
		t.Errorf("example GREEN indicator domains: %q, %q, %q", b, c, d)
	}
}

func TestMinimiseMerge(t *testing.T) {
	p := loadExample(t)
	a := art(KindDataset, usage.Amber, withK(25))
	d := p.Decide(peer(certC), a) // datasets-to-certs and finance both match
	want := Minimise{DropPorts: true, TimeUnit: 24 * time.Hour, PrefixV4: 16, PrefixV6: 32, DropFields: []string{"source"}}
	wantDecision(t, "dataset to cert-c", d, true, "datasets-to-certs")
	if !reflect.DeepEqual(d.Minimise, want) {
		t.Errorf("merged minimise = %+v, want %+v", d.Minimise, want)
	}
	if d.Usage.RetentionDays != 30 || d.Usage.Reshare != usage.ReshareNone || d.Usage.KMin != 10 {
		t.Errorf("merged usage = %s, want retain 30d, reshare none, k_min 10", d.Usage)
	}
	d = p.Decide(peer(certB), a) // only datasets-to-certs
	want = Minimise{TimeUnit: time.Hour, PrefixV4: 24, PrefixV6: 48}
	if !reflect.DeepEqual(d.Minimise, want) || d.Usage.RetentionDays != 180 || d.Usage.KMin != 5 {
		t.Errorf("cert-b: minimise %+v usage %s", d.Minimise, d.Usage)
	}
	// Each field takes the most restrictive value of any matching rule.
	q := mustParse(t, `version: 1
peers: [{id: P, org: A, purposes: [detection]}]
egress:
  - {name: a, effect: permit, to: all, kinds: [dataset], tlp: GREEN, minimise: {time_unit: 1d, prefix_v4: 24, drop_fields: [source]}}
  - {name: b, effect: permit, to: all, kinds: [dataset], tlp: GREEN, minimise: {time_unit: 1h, prefix_v4: 16, prefix_v6: 64, drop_fields: [observer, history]}}
  - {name: c, effect: permit, to: all, kinds: [dataset], tlp: GREEN, minimise: {drop_ports: true}}
  - {name: d, effect: permit, to: all, kinds: [dataset], tlp: GREEN}
  - {name: e, effect: permit, to: all, kinds: [dataset], tlp: GREEN, k_min: 1000, minimise: {prefix_v4: 0}}
`)
	d = q.Decide(peer("P"), art(KindDataset, usage.Green, withK(10)))
	// observer applies to sightings only.
	want = Minimise{DropPorts: true, TimeUnit: 24 * time.Hour, PrefixV4: 16, PrefixV6: 64, DropFields: []string{"history", "source"}}
	if !reflect.DeepEqual(d.Minimise, want) {
		t.Errorf("merged minimise = %+v, want %+v (rule e does not match: k)", d.Minimise, want)
	}
	if m := p.Decide(peer(lab), art(KindPCAP, usage.Amber)).Minimise; !reflect.DeepEqual(m, NoMinimise()) {
		t.Errorf("rule without minimise gives %+v, want NoMinimise()", m)
	}
}

func TestKMin(t *testing.T) {
	p := loadExample(t)
	a := art(KindDataset, usage.Amber, withK(4))
	wantDecision(t, "k below rule k_min", p.Decide(peer(certB), a), false, "builtin:default-deny")
	a.K = 5
	wantDecision(t, "k at rule k_min", p.Decide(peer(certB), a), true, "datasets-to-certs")
	a.Usage.KMin = 8
	wantDecision(t, "k below the artifact's k_min", p.Decide(peer(certB), a), false, "builtin:k-min")
	// k applies to datasets only.
	wantDecision(t, "indicator with k 0", p.Decide(peer(certB), art(KindIndicator, usage.Amber)), true, "indicators-to-certs")
}

func TestSource(t *testing.T) {
	p := mustParse(t, `version: 1
peers: [{id: P, org: A, purposes: [detection]}, {id: Q, org: B, purposes: [detection]}]
egress:
  - {name: own, effect: permit, to: all, kinds: ["*"], tlp: GREEN, source: local}
ingress:
  - {name: direct, effect: permit, from: all, kinds: ["*"], source: direct}
`)
	wantDecision(t, "local", p.Decide(peer("P"), art(KindIndicator, usage.Green)), true, "own")
	wantDecision(t, "received", p.Decide(peer("P"), art(KindIndicator, usage.Green, received("Q", "B", usage.ReshareCommunity))), false, "builtin:default-deny")
	wantDecision(t, "accept direct", p.Accept(peer("Q"), art(KindIndicator, usage.Green, received("Q", "B", usage.ReshareNone))), true, "direct")
	wantDecision(t, "accept forwarded", p.Accept(peer("P"), art(KindIndicator, usage.Green, received("Q", "B", usage.ReshareCommunity))), false, "builtin:default-deny")
}

func TestIngress(t *testing.T) {
	p := loadExample(t)
	from := func(id string) Peer { return peer(id) }
	direct := func(id, org string) func(*Artifact) { return received(id, org, usage.ReshareNone) }
	t.Run("accepted and capped", func(t *testing.T) {
		d := p.Accept(from(certB), art(KindIndicator, usage.Amber, direct(certB, "CERT-B")))
		wantDecision(t, "indicator from cert-b", d, true, "from-certs")
		if d.Usage.RetentionDays != 180 {
			t.Errorf("stored retention = %d, want 180 (rule cap)", d.Usage.RetentionDays)
		}
		if d.Domain != "" {
			t.Errorf("ingress domain = %q, want none", d.Domain)
		}
	})
	t.Run("retention narrowed before storing", func(t *testing.T) {
		d := p.Accept(from(bankD), art(KindSighting, usage.Green, direct(bankD, "Bank-D")))
		wantDecision(t, "sighting from bank-d", d, true, "from-finance")
		if d.Usage.RetentionDays != 90 || !d.Minimise.IsNone() {
			t.Errorf("usage %s, minimise %s: want 90 days kept as signed", d.Usage, d.Minimise)
		}
	})
	t.Run("no minimise on ingress", func(t *testing.T) {
		_, err := Parse("p.yaml", []byte("version: 1\npeers: [{id: P, org: A}]\ningress:\n  - {name: i, effect: permit, from: all, kinds: [sighting], minimise: {drop_fields: [observer]}}\n"))
		if err == nil || !strings.Contains(err.Error(), "p.yaml:4") || !strings.Contains(err.Error(), "egress rules only") {
			t.Errorf("err = %v, want p.yaml:4: ... egress rules only", err)
		}
	})
	t.Run("forbid", func(t *testing.T) {
		a := art(KindDataset, usage.Green, received(certC, "CERT-C", usage.ReshareCommunity, "cert-eu"), withK(50))
		wantDecision(t, "forwarded dataset", p.Accept(from(certB), a), false, "no-forwarded-datasets")
		a.Origin = certB
		wantDecision(t, "direct dataset", p.Accept(from(certB), a), true, "from-certs")
	})
	t.Run("forwarding rules of the sender", func(t *testing.T) {
		a := art(KindIndicator, usage.Green, received(certC, "CERT-C", usage.ReshareNone, "cert-eu"))
		wantDecision(t, "forwarded reshare none", p.Accept(from(certB), a), false, "builtin:reshare-none")
		a.Usage.Reshare = usage.ReshareGroup
		wantDecision(t, "forwarded within cert-eu", p.Accept(from(certB), a), true, "from-certs")
		a.ReceivedVia = []string{"finance-isac"}
		wantDecision(t, "forwarded through a group the sender is not in", p.Accept(from(certB), a), false, "builtin:reshare-group")
	})
	t.Run("sticky TLP", func(t *testing.T) {
		a := art(KindIndicator, usage.AmberStrict, direct(lab, "CERT-A"))
		wantDecision(t, "AMBER+STRICT of our org", p.Accept(from(lab), a), true, "from-own-org")
		a = art(KindIndicator, usage.AmberStrict, direct(certB, "CERT-B"))
		wantDecision(t, "AMBER+STRICT of another org", p.Accept(from(certB), a), false, "builtin:tlp-amber-strict")
		wantDecision(t, "RED", p.Accept(from(certB), art(KindIndicator, usage.Red, direct(certB, "CERT-B"))), false, "builtin:default-deny")
	})
	t.Run("sender", func(t *testing.T) {
		wantDecision(t, "unknown sender", p.Accept(from("12D3KooWStranger"), art(KindIndicator, usage.Green, direct("12D3KooWStranger", "X"))), false, "builtin:not-a-member")
		wantDecision(t, "claims local", p.Accept(from(certB), art(KindIndicator, usage.Green)), false, "builtin:local")
		a := art(KindIndicator, usage.Green, direct("", ""))
		wantDecision(t, "no origin", p.Accept(from(certB), a), false, "builtin:no-origin")
	})
	t.Run("purposes", func(t *testing.T) {
		a := art(KindIndicator, usage.Green, direct(certB, "CERT-B"), purposes("marketing"))
		wantDecision(t, "unlisted purpose", p.Accept(from(certB), a), false, "builtin:default-deny")
		a.Usage.Purposes = []string{"detection", "marketing"}
		d := p.Accept(from(certB), a)
		if !d.Allow || !slices.Equal(d.Usage.Purposes, []string{"detection"}) {
			t.Errorf("stored purposes = %v (allow %v), want [detection]", d.Usage.Purposes, d.Allow)
		}
	})
}

// randomArtifact draws an artifact over the values the example uses.
func randomArtifact(r *rand.Rand) Artifact {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	ids := []string{self, lab, certB, certC, bankD, uniE, ""}
	a := Artifact{
		Kind: pick(append(Kinds(), "other")), ID: "x", Version: uint64(r.IntN(3)),
		Local: r.IntN(2) == 0, Origin: pick(ids), OriginOrg: pick([]string{"", "CERT-A", "CERT-B", "Bank-D"}), K: r.IntN(30),
		Usage: usage.Policy{
			TLP: usage.TLP(r.IntN(6)), PAP: usage.PAP(r.IntN(5)), LegalBasis: pick([]string{"", "consent", "public-task", "legitimate-interest", "mixed"}),
			RetentionDays: r.IntN(400) - 10, Reshare: usage.Reshare(r.IntN(4)), KMin: r.IntN(15),
		},
	}
	for range r.IntN(4) {
		a.Usage.Purposes = append(a.Usage.Purposes, pick([]string{"detection", "research", "incident-response", "Research ", "marketing"}))
	}
	for range r.IntN(3) {
		a.ReceivedVia = append(a.ReceivedVia, pick([]string{"cert-eu", "finance-isac", "research", "nope"}))
	}
	if r.IntN(4) == 0 {
		a.Usage.RetainUntil = time.Date(2030, 1, r.IntN(28)+1, 0, 0, 0, 0, time.UTC)
	}
	return a
}

// TestDecisionProperties checks, over many random artifacts, that an
// allowed artifact never leaves with a wider usage policy than its own,
// that the allowed purposes are ones the peer declares, and that Explain
// agrees with Decide.
func TestDecisionProperties(t *testing.T) {
	p := loadExample(t)
	r := rand.New(rand.NewPCG(1, 2))
	peers := append(p.Peers(), Peer{ID: "12D3KooWStranger", Org: "CERT-A", Purposes: []string{"detection"}})
	allowed := 0
	const n = 6000
	for i := range n {
		a := randomArtifact(r)
		pr := peers[r.IntN(len(peers))]
		for _, dir := range []Direction{Egress, Ingress} {
			var d Decision
			var e Explanation
			if dir == Egress {
				d, e = p.Decide(pr, a), p.Explain(pr, a)
			} else {
				d, e = p.Accept(pr, a), p.ExplainAccept(pr, a)
			}
			if !reflect.DeepEqual(d, e.Decision) {
				t.Fatalf("#%d %s: Decide %+v, Explain %+v", i, dir, d, e.Decision)
			}
			checkExplanation(t, e)
			if !d.Allow {
				continue
			}
			allowed++
			if !d.Usage.AtMostAsWide(a.Usage) {
				t.Fatalf("#%d %s %s to %s: attached %s wider than %s", i, dir, a, pr.ID, d.Usage, a.Usage.Normalize())
			}
			if dir == Egress {
				for _, s := range d.Usage.Purposes {
					if !slices.Contains(pr.Purposes, s) {
						t.Fatalf("#%d: purpose %s attached for peer %s declaring %v", i, s, pr.ID, pr.Purposes)
					}
				}
				if d.Usage.TLP == usage.Red {
					t.Fatalf("#%d: RED allowed", i)
				}
			}
			if d.Minimise.PrefixV4 > 32 || d.Minimise.PrefixV6 > 128 || d.Minimise.PrefixV4 < 0 {
				t.Fatalf("#%d: minimise %+v", i, d.Minimise)
			}
		}
	}
	if allowed < n/20 {
		t.Errorf("only %d of %d random decisions allowed: the generator misses the rules", allowed, 2*n)
	}
}

// checkExplanation checks that the trace accounts for the decision.
func checkExplanation(t *testing.T, e Explanation) {
	t.Helper()
	checksOK := true
	for _, c := range e.Checks {
		checksOK = checksOK && c.OK
	}
	var permit, forbid string
	for _, rt := range e.Rules {
		if rt.Matched != (len(rt.Failed) == 0) {
			t.Fatalf("rule %s matched %v with failures %v", rt.Name, rt.Matched, rt.Failed)
		}
		if rt.Matched && rt.Effect == "permit" && permit == "" {
			permit = rt.Name
		}
		if rt.Matched && rt.Effect == "forbid" && forbid == "" {
			forbid = rt.Name
		}
	}
	d := e.Decision
	switch {
	case !checksOK:
		if d.Allow || !strings.HasPrefix(d.Rule, "builtin:") {
			t.Fatalf("failed check but decision %+v", d)
		}
	case forbid != "":
		if d.Allow || d.Rule != forbid {
			t.Fatalf("forbid %s matched but decision %+v", forbid, d)
		}
	case permit != "":
		if !d.Allow || d.Rule != permit {
			t.Fatalf("permit %s matched but decision %+v", permit, d)
		}
	default:
		if d.Allow || d.Rule != "builtin:default-deny" {
			t.Fatalf("nothing matched but decision %+v", d)
		}
	}
	if e.Flip == "" {
		t.Fatal("no flip")
	}
}

func TestNormUsageMatchesNormalize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		u := randomArtifact(r).Usage
		if r.IntN(2) == 0 {
			u = u.Normalize()
		}
		if got, want := normUsage(u), u.Normalize(); !reflect.DeepEqual(got, want) {
			t.Fatalf("normUsage(%+v) = %+v, want %+v", u, got, want)
		}
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	p := loadExample(t)
	cases := []struct {
		peer string
		a    Artifact
	}{
		{certB, art(KindIndicator, usage.Amber, purposes("detection", "incident-response"))},
		{certC, art(KindDataset, usage.Amber, withK(25))},
		{bankD, art(KindIndicator, usage.Amber)},
		{uniE, art(KindIndicator, usage.Green)},
		{"stranger", art(KindIndicator, usage.Green)},
	}
	for _, c := range cases {
		c.a.Usage = c.a.Usage.Normalize()
		pr := peer(c.peer)
		if n := testing.AllocsPerRun(100, func() { p.Decide(pr, c.a) }); n != 0 {
			t.Errorf("Decide(%s, %s) allocates %.0f times", c.peer, c.a, n)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	p := loadExample(t)
	done := make(chan bool)
	for g := range 8 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			peers := p.Peers()
			for range 2000 {
				a := randomArtifact(r)
				pr := peers[r.IntN(len(peers))]
				p.Decide(pr, a)
				p.Accept(pr, a)
			}
			done <- true
		}()
	}
	for range 8 {
		<-done
	}
}

func TestForwardedArtifactsAreNotMinimised(t *testing.T) {
	p := mustParse(t, `version: 1
peers: [{id: P, org: A, purposes: [detection]}]
egress:
  - {name: onward, effect: permit, to: all, source: received, kinds: [indicator], tlp: GREEN, minimise: {drop_fields: [labels]}}
  - {name: own, effect: permit, to: all, source: local, kinds: [indicator], tlp: GREEN, minimise: {drop_fields: [labels]}}
`)
	fwd := art(KindIndicator, usage.Green, received("O", "ORG-O", usage.ReshareCommunity))
	wantDecision(t, "minimised forward", p.Decide(peer("P"), fwd), false, "builtin:forward-minimise")
	wantDecision(t, "minimised own", p.Decide(peer("P"), art(KindIndicator, usage.Green)), true, "own")
	ex := p.Explain(peer("P"), fwd)
	var buf strings.Builder
	if err := ex.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "forward-minimise") || !strings.Contains(out, "take minimise out") {
		t.Errorf("explain:\n%s", out)
	}
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, `"onward" minimises received artifacts`) {
		t.Errorf("warnings: %s", w)
	}
}

// TestPolicySharingNothingWarns: a policy without peers or without any
// egress permit says that it shares nothing.
func TestPolicySharingNothingWarns(t *testing.T) {
	for name, src := range map[string]string{
		"no peers":  "version: 1\nself: {id: S, org: ORG-S}\n",
		"no permit": "version: 1\nself: {id: S, org: ORG-S}\npeers: [{id: P, org: ORG-P, purposes: [research]}]\n",
	} {
		p, err := Parse(name+".yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, "shares nothing with anyone") {
			t.Errorf("%s: warnings %q", name, w)
		}
	}
}
