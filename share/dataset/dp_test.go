package dataset

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/label"
)

// laplacePMF and gaussianPMF are the target distributions, computed
// directly from their definitions.
func laplacePMF(scale float64, x int) float64 {
	q := math.Exp(-1 / scale)
	return (1 - q) / (1 + q) * math.Pow(q, math.Abs(float64(x)))
}

func gaussianMoments(sigma2 float64) (pmf0, variance float64) {
	var z, v float64
	lim := int(10*math.Sqrt(sigma2)) + 10
	for x := -lim; x <= lim; x++ {
		w := math.Exp(-float64(x*x) / (2 * sigma2))
		z += w
		v += float64(x*x) * w
	}
	return 1 / z, v / z
}

func sampleStats(n int, draw func() int64) (mean, variance float64, zeros int) {
	var sum, sq float64
	for range n {
		v := draw()
		if v == 0 {
			zeros++
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean = sum / float64(n)
	return mean, sq/float64(n) - mean*mean, zeros
}

// within checks got against want with a tolerance of k standard errors.
func within(t *testing.T, what string, got, want, stderr float64) {
	t.Helper()
	if math.Abs(got-want) > 5*stderr {
		t.Errorf("%s = %.4g, want %.4g (± %.2g)", what, got, want, 5*stderr)
	}
}

func TestDiscreteLaplace(t *testing.T) {
	const n = 40000
	for _, scale := range []float64{0.5, 3, 1e5} {
		s := newSampler(seeded(1))
		nz, err := s.laplaceNoise(scale)
		if err != nil {
			t.Fatal(err)
		}
		mean, variance, zeros := sampleStats(n, nz.draw)
		if s.err != nil {
			t.Fatal(s.err)
		}
		q := math.Exp(-1 / scale)
		wantVar := 2 * q / ((1 - q) * (1 - q))
		within(t, "laplace mean", mean, 0, math.Sqrt(wantVar/n))
		// The variance of a Laplace sample variance: kurtosis about 6.
		within(t, "laplace variance", variance, wantVar, wantVar*math.Sqrt(5.0/n))
		p0 := laplacePMF(scale, 0)
		within(t, "laplace P(0)", float64(zeros)/n, p0, math.Sqrt(p0*(1-p0)/n))
	}
}

func TestDiscreteLaplaceShape(t *testing.T) {
	// Frequencies of -4..4 against the PMF, scale 2.
	const n = 60000
	s := newSampler(seeded(2))
	nz, _ := s.laplaceNoise(2)
	counts := map[int64]int{}
	for range n {
		counts[nz.draw()]++
	}
	for x := -4; x <= 4; x++ {
		p := laplacePMF(2, x)
		within(t, "laplace P("+big.NewInt(int64(x)).String()+")", float64(counts[int64(x)])/n, p, math.Sqrt(p*(1-p)/n))
	}
}

func TestDiscreteGaussian(t *testing.T) {
	const n = 40000
	for _, sigma2 := range []float64{0.7, 4, 2.5e5} {
		s := newSampler(seeded(3))
		nz, err := s.gaussianNoise(sigma2)
		if err != nil {
			t.Fatal(err)
		}
		mean, variance, zeros := sampleStats(n, nz.draw)
		if s.err != nil {
			t.Fatal(s.err)
		}
		p0, wantVar := gaussianMoments(sigma2)
		within(t, "gaussian mean", mean, 0, math.Sqrt(wantVar/n))
		within(t, "gaussian variance", variance, wantVar, wantVar*math.Sqrt(2.0/n))
		within(t, "gaussian P(0)", float64(zeros)/n, p0, math.Sqrt(p0*(1-p0)/n))
		if sigma2 >= 1 && math.Abs(wantVar-sigma2)/sigma2 > 0.01 {
			t.Errorf("discrete Gaussian variance %v far from sigma^2 %v", wantVar, sigma2)
		}
	}
}

func TestBernoulliExp(t *testing.T) {
	const n = 40000
	s := newSampler(seeded(4))
	for _, g := range [][2]int64{{0, 1}, {3, 10}, {1, 1}, {17, 10}, {3, 1}} {
		hits := 0
		for range n {
			if s.bernoulliExp(big.NewInt(g[0]), big.NewInt(g[1])) {
				hits++
			}
		}
		p := math.Exp(-float64(g[0]) / float64(g[1]))
		within(t, "bernoulli exp", float64(hits)/n, p, math.Max(math.Sqrt(p*(1-p)/n), 1e-9))
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestNoiseSourceFailure(t *testing.T) {
	rows := rowsOf(hostsFlows(12, 1, label.DNS, 53), "cap")
	_, err := Build(Spec{Kind: KindAggregates, DP: &DP{Mechanism: "laplace", Epsilon: 0.5}, Rand: failingReader{}}, seqOf(rows))
	if err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Errorf("Build with a failing noise source = %v", err)
	}
}

func TestCheckBudget(t *testing.T) {
	cases := []struct {
		spent, eps, budget float64
		want               error
	}{
		{0, 1, 1, nil},
		{0.7, 0.3, 1, nil},
		{0.1 + 0.2, 0.7, 1, nil}, // 1.0000000000000002: within the slack
		{0.8, 0.3, 1, ErrBudgetExhausted},
		{0, 1.5, 0, ErrBudgetExhausted}, // budget 0 is DefaultBudget
		{0, 0.5, 0, nil},
		{2, 0.5, 3, nil},
		{0, 0, 1, ErrSpec},
		{-1, 0.5, 1, ErrSpec},
		{math.NaN(), 0.5, 1, ErrSpec},
		{0, math.Inf(1), 1, ErrSpec},
	}
	for _, c := range cases {
		err := CheckBudget(c.spent, c.eps, c.budget)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("CheckBudget(%v, %v, %v) = %v, want %v", c.spent, c.eps, c.budget, err, c.want)
		}
	}
}

func dpRows() []Row {
	fs := append(hostsFlows(20, 1, label.DNS, 53), hostsFlows(15, 2, label.TLS, 443)...)
	return rowsOf(fs, "cap")
}

func TestDPBuild(t *testing.T) {
	rows := dpRows()
	spec := Spec{Kind: KindAggregates, GroupBy: []string{"protocol"}, Labels: []string{"tls", "DNS"},
		DP: &DP{Mechanism: "Laplace", Epsilon: 0.5}, Rand: seeded(9)}
	b := mustBuild(t, spec, rows)
	c := b.Charge
	if c == nil || c.Family != "aggregates|group_by=protocol|labels=DNS,TLS" || c.Period != "2024-03" || c.Epsilon != 0.5 || c.Budget != DefaultBudget {
		t.Fatalf("charge = %+v", c)
	}
	d := b.Manifest.DP
	if d == nil || d.Mechanism != MechLaplace || d.MaxContrib != DefaultMaxContrib || d.KeyUnits != 1 || len(d.Queries) != numQueries {
		t.Fatalf("dp = %+v", d)
	}
	for _, q := range d.Queries {
		// Laplace scale = sensitivity / (epsilon / queries), rounded up to
		// a multiple of 2^-20.
		want := q.Sensitivity * numQueries / 0.5
		if q.Scale < want || q.Scale > want+1.0/rationalDen {
			t.Errorf("query %s: scale %v, want %v", q.Name, q.Scale, want)
		}
	}
	wantS := map[string]float64{"flows": 8, "hosts": 8, "orig_packets": 8 * DefaultMaxPackets, "resp_bytes": 8 * DefaultMaxBytes,
		"duration_us": 8 * float64(DefaultMaxDuration/time.Microsecond)}
	for _, q := range d.Queries {
		if w, ok := wantS[q.Name]; ok && q.Sensitivity != w {
			t.Errorf("query %s sensitivity %v, want %v", q.Name, q.Sensitivity, w)
		}
	}
	tr := b.Manifest.TimeRange
	if !tr.From.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) || !tr.To.Equal(time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("DP time range %v, want the month", tr)
	}
	aggs := collectAggregates(t, b)
	var total uint64
	for _, a := range aggs {
		total += a.Flows
		if a.DurationMin != 0 || a.DurationMax != 0 || a.DurationP50 != 0 {
			t.Errorf("DP group publishes exact duration statistics: %+v", a)
		}
	}
	var lc uint64
	for _, l := range b.Manifest.Labels {
		lc += l.Count
	}
	if lc != total {
		t.Errorf("noisy label counts add to %d, groups to %d", lc, total)
	}
	// Same seed, same dataset; another seed, other noise.
	spec.Rand = seeded(9)
	if again := mustBuild(t, spec, rows); again.Manifest.ID != b.Manifest.ID {
		t.Errorf("same seed gave another dataset")
	}
	differs := false
	for seed := byte(10); seed < 14 && !differs; seed++ {
		spec.Rand = seeded(seed)
		differs = mustBuild(t, spec, rows).Manifest.ID != b.Manifest.ID
	}
	if !differs {
		t.Errorf("four other seeds all gave the same noisy dataset")
	}
	// Without Rand, crypto/rand is used.
	spec.Rand = nil
	if mustBuild(t, spec, rows).Charge == nil {
		t.Errorf("no charge")
	}
}

func TestDPGaussianCalibration(t *testing.T) {
	const eps, delta = 0.8, 1e-6
	b := mustBuild(t, Spec{Kind: KindAggregates, DP: &DP{Mechanism: "gaussian", Epsilon: eps, Delta: delta, MaxContrib: 2}, Rand: seeded(5)}, dpRows())
	d := b.Manifest.DP
	// rho from epsilon = rho + 2 sqrt(rho ln(1/delta)); check that equation.
	if got := d.Rho + 2*math.Sqrt(d.Rho*math.Log(1/delta)); math.Abs(got-eps) > 1e-9 {
		t.Errorf("rho %v gives epsilon %v, want %v", d.Rho, got, eps)
	}
	var rho float64
	for _, q := range d.Queries {
		rho += q.Sensitivity * q.Sensitivity / (2 * q.Scale * q.Scale)
	}
	if rho > d.Rho*(1+1e-9) || rho < d.Rho*0.999 {
		t.Errorf("queries spend rho %v, want %v", rho, d.Rho)
	}
	if d.Queries[qHosts].Sensitivity != math.Sqrt(2) || d.Queries[qFlows].Sensitivity != 2 {
		t.Errorf("sensitivities %v %v", d.Queries[qHosts].Sensitivity, d.Queries[qFlows].Sensitivity)
	}
}

func TestDPContributionBound(t *testing.T) {
	// 10 hosts with one flow each, and one host with 500 flows: with
	// almost no noise (a huge epsilon), the heavy host counts MaxContrib.
	fs := hostsFlows(10, 1, label.DNS, 53)
	for i := range 500 {
		fs = append(fs, fl{src: "10.7.7.7", dst: "192.0.2.53", sport: uint16(1000 + i), dport: 53, label: label.DNS,
			start: time.Duration(i) * time.Second, dur: time.Second, steps: 1, pk: 1, by: 60})
	}
	spec := Spec{Kind: KindAggregates, DP: &DP{Mechanism: "laplace", Epsilon: 1000, Budget: 1000, MaxContrib: 3}, Rand: seeded(6)}
	b := mustBuild(t, spec, rowsOf(fs, "cap"))
	a := collectAggregates(t, b)
	if len(a) != 1 || a[0].Flows != 13 || a[0].Hosts != 11 {
		t.Errorf("bounded group = %+v, want 13 flows of 11 hosts", a)
	}
	// Round robin: a host in three windows with MaxContrib 2 counts in two.
	var rr []fl
	for w := range 3 {
		for i, f := range hostsFlows(12, 1, label.DNS, 53) {
			f.start = time.Duration(w)*time.Hour + time.Duration(i)*time.Second
			rr = append(rr, f, f) // two flows per host and window
		}
	}
	spec = Spec{Kind: KindAggregates, GroupBy: []string{"window"}, K: 5,
		DP: &DP{Mechanism: "laplace", Epsilon: 1000, Budget: 1000, MaxContrib: 2}, Rand: seeded(6)}
	b = mustBuild(t, spec, rowsOf(rr, "cap"))
	var flows uint64
	for _, a := range collectAggregates(t, b) {
		flows += a.Flows
		if a.Flows != 12 {
			t.Errorf("window %v: %d flows, want one per host", a.Window, a.Flows)
		}
	}
	if flows != 24 || b.Manifest.Records != 2 {
		t.Errorf("round robin kept %d flows in %d windows, want 24 in 2 (the first two windows)", flows, b.Manifest.Records)
	}
}

func TestDPOneMonth(t *testing.T) {
	fs := hostsFlows(12, 1, label.DNS, 53)
	fs[3].start = 40 * 24 * time.Hour
	_, err := Build(Spec{Kind: KindAggregates, DP: &DP{Mechanism: "laplace", Epsilon: 0.1}}, seqOf(rowsOf(fs, "cap")))
	if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), "2024-03 to 2024-04") {
		t.Errorf("Build(DP over two months) = %v, want ErrSpec naming the months", err)
	}
	// Two key epochs double every sensitivity.
	fs = hostsFlows(12, 1, label.DNS, 53)
	fs[0].key = "epoch-2024-03b"
	b := mustBuild(t, Spec{Kind: KindAggregates, K: 5, DP: &DP{Mechanism: "laplace", Epsilon: 0.1}, Rand: seeded(1)}, rowsOf(fs, "cap"))
	if b.Manifest.DP.KeyUnits != 2 || b.Manifest.DP.Queries[qFlows].Sensitivity != 2*DefaultMaxContrib {
		t.Errorf("two keys: units %d, flows sensitivity %v", b.Manifest.DP.KeyUnits, b.Manifest.DP.Queries[qFlows].Sensitivity)
	}
}
