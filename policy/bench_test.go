package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// benchPolicy writes a policy of 100 peers in 12 groups and 200 rules
// (180 permits, 20 forbids) addressing them by group, peer, org and all.
func benchPolicy(tb testing.TB) *Policy {
	tb.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	purposes := []string{"detection", "incident-response", "research", "training", "forensics"}
	var b strings.Builder
	b.WriteString("version: 1\nself: {id: self, org: org-0}\ngroups:\n")
	for g := range 12 {
		fmt.Fprintf(&b, "  - {name: g%d, domain: dom-g%d}\n", g, g)
	}
	b.WriteString("peers:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  - {id: peer%03d, org: org-%d, groups: [g%d, g%d], purposes: [%s, %s]}\n",
			i, i%20, i%12, (i*7)%12, purposes[i%5], purposes[(i/5)%5])
	}
	b.WriteString("egress:\n")
	for i := range 200 {
		effect, extra := "permit", fmt.Sprintf(", tlp: %s, retention: %dd, minimise: {time_unit: %dm, prefix_v4: %d}",
			[]string{"GREEN", "AMBER", "AMBER+STRICT"}[i%3], 30+i, 1+i%60, 16+i%17)
		if i%10 == 9 {
			effect, extra = "forbid", []string{", legal_basis: [consent]", ", tlp: AMBER+STRICT"}[(i/10)%2]
		}
		var to string
		switch i % 4 {
		case 0:
			to = fmt.Sprintf("{groups: [g%d, g%d]}", r.IntN(12), r.IntN(12))
		case 1:
			to = fmt.Sprintf("{peers: [peer%03d, peer%03d, peer%03d]}", r.IntN(100), r.IntN(100), r.IntN(100))
		case 2:
			to = fmt.Sprintf("{orgs: [org-%d]}", r.IntN(20))
		default:
			to = "all"
		}
		ks := Kinds()
		r.Shuffle(len(ks), func(a, b int) { ks[a], ks[b] = ks[b], ks[a] })
		fmt.Fprintf(&b, "  - {name: r%03d, effect: %s, to: %s, kinds: [%s], purposes: [%s, %s]%s}\n",
			i, effect, to, strings.Join(ks[:1+r.IntN(3)], ", "), purposes[r.IntN(5)], purposes[r.IntN(5)], extra)
	}
	p, err := Parse("bench.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// benchArtifacts draws artifacts with normalised usage policies, as a node
// holds them after sealing.
func benchArtifacts(n int) []Artifact {
	r := rand.New(rand.NewPCG(8, 8))
	out := make([]Artifact, n)
	for i := range out {
		a := randomArtifact(r)
		a.Kind = kinds[r.IntN(len(kinds))]
		a.Usage.Purposes = []string{"detection", "research", "forensics"}[:1+r.IntN(3)]
		a.Usage.LegalBasis = []string{"legitimate-interest", "public-task", "consent"}[r.IntN(3)]
		if r.IntN(3) > 0 {
			a.Usage.TLP = []usage.TLP{usage.Green, usage.Amber}[r.IntN(2)]
			a.Local = true
		}
		a.Usage = a.Usage.Normalize()
		out[i] = a
	}
	return out
}

func benchPeers(p *Policy) []Peer {
	peers := p.Peers()
	if len(peers) != 100 {
		panic("bench policy has the wrong number of peers")
	}
	return peers
}

// BenchmarkDecide is one egress decision under 200 rules and 100 peers.
func BenchmarkDecide(b *testing.B) {
	p := benchPolicy(b)
	peers, arts := benchPeers(p), benchArtifacts(1024)
	allowed := 0
	i := 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if p.Decide(peers[i%len(peers)], arts[i%len(arts)]).Allow {
			allowed++
		}
		i++
	}
	reportCPU(b, cpu0, i)
	b.ReportMetric(float64(allowed)/float64(i), "allowed/op")
}

// reportCPU reports the process CPU time per operation since cpu0: on a
// busy machine it stays put where ns/op (wall time) does not. It includes
// the garbage collector's share.
func reportCPU(b *testing.B, cpu0 time.Duration, ops int) {
	if d := cpuTime() - cpu0; d > 0 && ops > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(ops), "cpu-ns/op")
	}
}

// BenchmarkDecideLatency times 1e6 single decisions per op into a histogram
// with 10 ns buckets and reports the 50th, 99th and 99.9th percentiles. The
// samples include the cost of reading the clock (about 20-40 ns).
func BenchmarkDecideLatency(b *testing.B) {
	p := benchPolicy(b)
	peers, arts := benchPeers(p), benchArtifacts(1024)
	const n = 1_000_000
	const bucket = 10 * time.Nanosecond
	hist := make([]int, 10000) // up to 100 µs; the last bucket holds the rest
	samples := 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		for i := range n {
			pr, a := peers[i%len(peers)], arts[(i*7)%len(arts)]
			start := time.Now()
			p.Decide(pr, a)
			d := time.Since(start)
			hist[min(int(d/bucket), len(hist)-1)]++
		}
		samples += n
	}
	pct := func(q float64) float64 {
		want := int(q * float64(samples))
		seen := 0
		for i, c := range hist {
			if seen += c; seen > want {
				return float64(time.Duration(i+1) * bucket)
			}
		}
		return float64(time.Duration(len(hist)) * bucket)
	}
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(pct(0.999), "p999-ns")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/decision")
	reportCPU(b, cpu0, samples)
}

// BenchmarkExplain is the cost of a full explanation, for the admin API.
func BenchmarkExplain(b *testing.B) {
	p := benchPolicy(b)
	peers, arts := benchPeers(p), benchArtifacts(64)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		p.Explain(peers[i%len(peers)], arts[i%len(arts)])
		i++
	}
}

// BenchmarkParse compiles the 200-rule policy.
func BenchmarkParse(b *testing.B) {
	p := benchPolicy(b)
	_ = p
	src := benchSource(b)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSource(tb testing.TB) []byte {
	// Rebuild the text of benchPolicy: the policy keeps no source.
	tb.Helper()
	var b strings.Builder
	b.WriteString("version: 1\npeers:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  - {id: peer%03d, org: org-%d, purposes: [detection]}\n", i, i%20)
	}
	b.WriteString("egress:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  - {name: r%03d, effect: permit, to: {peers: [peer%03d]}, kinds: [indicator], tlp: AMBER, minimise: {prefix_v4: 24}}\n", i, i%100)
	}
	return []byte(b.String())
}

// BenchmarkAuditAppend links decision entries into a chain.
func BenchmarkAuditAppend(b *testing.B) {
	e := AuditEntry{
		Time: t0, Kind: AuditEgress, Artifact: "dataset/9f2c4e0a1b7d3e5f", Version: 3, Peer: "12D3KooWCertB",
		Rule: "datasets-to-certs", PolicyVersion: "pol-bd241cb398f5775c7ef4b996", Decision: DecisionAllow,
		Reason: `permitted by egress rule "datasets-to-certs"`,
	}
	prev := Chain(nil, e)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		e.Time = e.Time.Add(time.Millisecond)
		prev = Chain(&prev, e)
	}
	reportCPU(b, cpu0, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkAuditVerify verifies a chain of 10000 entries per op.
func BenchmarkAuditVerify(b *testing.B) {
	c := testChain(10000)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := VerifyChain(c); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0, b.N*len(c))
	b.ReportMetric(float64(b.N)*float64(len(c))/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkEncodeDecodeEntry is the storage codec of one entry.
func BenchmarkEncodeDecodeEntry(b *testing.B) {
	e := testChain(1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEntry(EncodeEntry(e)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchPolicy keeps the benchmark meaningful: its decisions must mix
// allows and denials of every kind of cause.
func TestBenchPolicy(t *testing.T) {
	p := benchPolicy(t)
	peers, arts := benchPeers(p), benchArtifacts(1024)
	rules := map[string]int{}
	allowed := 0
	for i := range 20000 {
		d := p.Decide(peers[i%len(peers)], arts[(i*7)%len(arts)])
		if d.Allow {
			allowed++
		}
		rules[d.Rule]++
	}
	if allowed < 2000 || allowed > 18000 {
		t.Errorf("%d of 20000 allowed: the benchmark is lopsided", allowed)
	}
	var forbids int
	for r, n := range rules {
		if !strings.HasPrefix(r, "builtin:") && slices.ContainsFunc(p.rules[Egress], func(x *rule) bool { return x.name == r && x.forbid }) {
			forbids += n
		}
	}
	if forbids == 0 || rules["builtin:default-deny"] == 0 {
		t.Errorf("decisions by rule: %v", rules)
	}
}
