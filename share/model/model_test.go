package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flowfed/flowfed/share/dataset"
)

// quickConfig is a configuration for the small synthetic sets of the tests.
func quickConfig(arch string) Config {
	c := DefaultConfig()
	c.Arch = arch
	c.Hidden = 16
	c.Epochs = 15
	c.LearningRate = 0.01
	return c
}

func save(t testing.TB, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.Save(&b); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return b.Bytes()
}

func TestTrainLearnsSeparable(t *testing.T) {
	train := synthExamples(600, 1, "g", 20)
	test := synthExamples(300, 2, "h", 10) // fresh flows
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		t.Run(arch, func(t *testing.T) {
			m, err := Train(quickConfig(arch), train)
			if err != nil {
				t.Fatalf("Train: %v", err)
			}
			if got, want := m.Labels(), slices.Sorted(slices.Values(synthClasses)); !slices.Equal(got, want) {
				t.Errorf("Labels() = %v, want %v", got, want)
			}
			r := Evaluate(m, test)
			base := MajorityBaseline(train, test)
			t.Logf("accuracy %.3f, macro-F1 %.3f, majority %.3f", r.Accuracy, r.MacroF1, base.Accuracy)
			if r.Accuracy < 0.97 || r.MacroF1 < 0.97 {
				t.Errorf("accuracy %.3f, macro-F1 %.3f on separable classes, want >= 0.97", r.Accuracy, r.MacroF1)
			}
			if r.Majority != base.Accuracy || r.MajorityClass != base.MajorityClass {
				t.Errorf("Report.Majority = %v (%s), MajorityBaseline accuracy %v (%s)", r.Majority, r.MajorityClass, base.Accuracy, base.MajorityClass)
			}
			if r.N != len(test) || r.Unseen != 0 {
				t.Errorf("N = %d, Unseen = %d, want %d, 0", r.N, r.Unseen, len(test))
			}
		})
	}
}

// TestMLPLearnsNonlinear checks that the hidden layer does its job: the
// classes of xorExamples are an XOR of two sizes, which logistic regression
// cannot separate (at best three of the four size combinations are right)
// and the MLP can.
func TestMLPLearnsNonlinear(t *testing.T) {
	train, test := xorExamples(600, 1), xorExamples(300, 2)
	acc := map[string]float64{}
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		c := quickConfig(arch)
		c.Epochs = 30
		m, err := Train(c, train)
		if err != nil {
			t.Fatalf("Train(%s): %v", arch, err)
		}
		acc[arch] = Evaluate(m, test).Accuracy
	}
	t.Logf("accuracy: %v", acc)
	if acc[ArchLogReg] > 0.8 {
		t.Errorf("logreg accuracy %.3f on an XOR, want <= 0.8 (a linear model cannot do better than 0.75 on average)", acc[ArchLogReg])
	}
	if acc[ArchMLP] < 0.95 {
		t.Errorf("mlp accuracy %.3f on an XOR, want >= 0.95", acc[ArchMLP])
	}
}

func TestTrainDeterministic(t *testing.T) {
	ex := synthExamples(300, 3, "g", 5)
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		t.Run(arch, func(t *testing.T) {
			c := quickConfig(arch)
			c.Epochs = 3
			train := func(c Config) []byte {
				m, err := Train(c, ex)
				if err != nil {
					t.Fatalf("Train: %v", err)
				}
				return save(t, m)
			}
			a, b := train(c), train(c)
			if !bytes.Equal(a, b) {
				t.Errorf("two runs with seed %d saved different bytes", c.Seed)
			}
			c.Seed++
			if bytes.Equal(a, train(c)) {
				t.Errorf("seeds %d and %d saved the same bytes", c.Seed-1, c.Seed)
			}
		})
	}
}

func TestTrainContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := TrainContext(ctx, quickConfig(ArchMLP), synthExamples(30, 17, "g", 3))
	if !errors.Is(err, context.Canceled) || m != nil {
		t.Errorf("TrainContext(cancelled) = %v, %v; want nil, context.Canceled", m, err)
	}
}

// TestTrainLoss checks that training lowers the loss on the training set,
// epoch by epoch on the whole.
func TestTrainLoss(t *testing.T) {
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		tr, err := newTrainer(quickConfig(arch), synthExamples(300, 18, "g", 3))
		if err != nil {
			t.Fatalf("newTrainer: %v", err)
		}
		var losses []float64
		for range 8 {
			l, err := tr.epoch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, l)
		}
		// An untrained model is about as good as a uniform guess: ln 3.
		if losses[0] > 1.5*math.Log(3) || losses[7] > losses[0]/4 {
			t.Errorf("%s: losses by epoch %.4f, want a fall to under a quarter", arch, losses)
		}
	}
}

func TestTrainDropsSmallClasses(t *testing.T) {
	ex := synthExamples(90, 4, "g", 3)
	rare := synthExamples(4, 5, "r", 1)
	for i := range rare {
		rare[i].Label = "rare"
	}
	c := quickConfig(ArchLogReg)
	c.MinClassSize = 5
	m, err := Train(c, append(slices.Clone(ex), rare...))
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	if got := m.Labels(); slices.Contains(got, "rare") || len(got) != 3 {
		t.Errorf("Labels() = %v, want the three classes without rare", got)
	}
	if got, want := m.Dropped(), []ClassCount{{"rare", 4}}; !slices.Equal(got, want) {
		t.Errorf("Dropped() = %v, want %v", got, want)
	}
	for _, cc := range m.TrainingCounts() {
		if cc.N != 30 {
			t.Errorf("TrainingCounts() has %v, want 30 each", cc)
		}
	}
	r := Evaluate(m, rare)
	if r.Unseen != 4 || r.Accuracy != 0 || !slices.Equal(r.Dropped, m.Dropped()) {
		t.Errorf("Evaluate on the dropped class: unseen %d, accuracy %v, dropped %v; want 4, 0, %v", r.Unseen, r.Accuracy, r.Dropped, m.Dropped())
	}

	c.MinClassSize = 4
	m, err = Train(c, append(slices.Clone(ex), rare...))
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	if !slices.Contains(m.Labels(), "rare") || len(m.Dropped()) != 0 {
		t.Errorf("with MinClassSize 4: Labels() = %v, Dropped() = %v; want rare kept", m.Labels(), m.Dropped())
	}
}

func TestTrainErrors(t *testing.T) {
	good := synthExamples(30, 6, "g", 3)
	mod := func(f func(e []Example)) []Example {
		e := slices.Clone(good)
		f(e)
		return e
	}
	cfg := func(f func(c *Config)) Config {
		c := quickConfig(ArchMLP)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		ex   []Example
		want error
	}{
		{"no examples", quickConfig(ArchMLP), nil, ErrEmpty},
		{"one class", quickConfig(ArchMLP), good[:1], ErrTooFewClasses},
		{"one class after dropping", cfg(func(c *Config) { c.MinClassSize = 11 }), good, ErrTooFewClasses},
		{"arch", cfg(func(c *Config) { c.Arch = "svm" }), good, ErrBadConfig},
		{"hidden 0", cfg(func(c *Config) { c.Hidden = 0 }), good, ErrBadConfig},
		{"hidden too large", cfg(func(c *Config) { c.Hidden = MaxHidden + 1 }), good, ErrBadConfig},
		{"epochs", cfg(func(c *Config) { c.Epochs = 0 }), good, ErrBadConfig},
		{"learning rate", cfg(func(c *Config) { c.LearningRate = 0 }), good, ErrBadConfig},
		{"learning rate NaN", cfg(func(c *Config) { c.LearningRate = math.NaN() }), good, ErrBadConfig},
		{"learning rate Inf", cfg(func(c *Config) { c.LearningRate = math.Inf(1) }), good, ErrBadConfig},
		{"l2", cfg(func(c *Config) { c.L2 = -1 }), good, ErrBadConfig},
		{"batch", cfg(func(c *Config) { c.BatchSize = 0 }), good, ErrBadConfig},
		{"min class size", cfg(func(c *Config) { c.MinClassSize = -1 }), good, ErrBadConfig},
		{"short tensor", quickConfig(ArchMLP), mod(func(e []Example) { e[3].X = e[3].X[:10] }), ErrBadExample},
		{"short mask", quickConfig(ArchMLP), mod(func(e []Example) { e[3].Mask = nil }), ErrBadExample},
		{"empty label", quickConfig(ArchMLP), mod(func(e []Example) { e[3].Label = "" }), ErrBadExample},
		{"long label", quickConfig(ArchMLP), mod(func(e []Example) { e[3].Label = strings.Repeat("x", MaxLabelLen+1) }), ErrBadExample},
		{"label not UTF-8", quickConfig(ArchMLP), mod(func(e []Example) { e[3].Label = "\xff" }), ErrBadExample},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Train(tt.cfg, tt.ex)
			if !errors.Is(err, tt.want) || m != nil {
				t.Errorf("Train = %v, %v; want nil, %v", m, err, tt.want)
			}
		})
	}
	// A logreg model ignores Hidden.
	c := quickConfig(ArchLogReg)
	c.Hidden = -5
	m, err := Train(c, good)
	if err != nil {
		t.Fatalf("Train(logreg, hidden -5) = %v", err)
	}
	if m.Config().Hidden != 0 {
		t.Errorf("Config().Hidden = %d for logreg, want 0", m.Config().Hidden)
	}
}

func TestPredict(t *testing.T) {
	train := synthExamples(300, 7, "g", 5)
	m, err := Train(quickConfig(ArchMLP), train)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	x, mask := train[0].X, train[0].Mask
	label, probs := m.Predict(x, mask)
	if len(probs) != len(m.Labels()) {
		t.Fatalf("Predict gave %d probabilities for %d labels", len(probs), len(m.Labels()))
	}
	var sum float64
	best := 0
	for i, p := range probs {
		sum += float64(p)
		if p > probs[best] {
			best = i
		}
	}
	if math.Abs(sum-1) > 1e-5 || label != m.Labels()[best] {
		t.Errorf("Predict = %s, %v: sum %v, argmax %s", label, probs, sum, m.Labels()[best])
	}

	// Values behind the mask are padding and change nothing.
	n := int(slices.Index(mask, 0))
	junk := slices.Clone(x)
	for i := n * dataset.Features; i < len(junk); i++ {
		junk[i] = 9999
	}
	if l2, p2 := m.Predict(junk, mask); l2 != label || !slices.Equal(p2, probs) {
		t.Errorf("Predict with junk padding = %s %v, want %s %v", l2, p2, label, probs)
	}

	// Bad input: no prediction, no panic.
	for name, in := range map[string][2][]float32{
		"short tensor": {x[:len(x)-1], mask},
		"long mask":    {x, append(slices.Clone(mask), 1)},
		"nil":          {nil, nil},
	} {
		if l, p := m.Predict(in[0], in[1]); l != "" || p != nil {
			t.Errorf("Predict(%s) = %q, %v; want \"\", nil", name, l, p)
		}
	}
	var nilModel *Model
	if l, p := nilModel.Predict(x, mask); l != "" || p != nil {
		t.Errorf("nil Model: Predict = %q, %v", l, p)
	}

	// Hostile values give a prediction with finite probabilities.
	weird := slices.Clone(x)
	for i := range weird {
		weird[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1, 3e38}[i%5]
	}
	weirdMask := slices.Repeat([]float32{float32(math.NaN()), 1, -1, 0.6}, dataset.Steps/4)
	l, p := m.Predict(weird, weirdMask)
	if l == "" {
		t.Fatal("Predict on non-finite values gave no label")
	}
	for _, v := range p {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Errorf("Predict on non-finite values gave probabilities %v", p)
			break
		}
	}
}

func TestPredictConcurrent(t *testing.T) {
	ex := synthExamples(120, 8, "g", 5)
	m, err := Train(quickConfig(ArchMLP), ex)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	want := make([]string, len(ex))
	for i := range ex {
		want[i], _ = m.Predict(ex[i].X, ex[i].Mask)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			for i := range ex {
				if got, _ := m.Predict(ex[i].X, ex[i].Mask); got != want[i] {
					errs <- got
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("concurrent Predict gave %s, differing from a serial run", got)
	}
}

// TestExtract checks derived inputs that can be worked out by hand.
func TestExtract(t *testing.T) {
	x, mask := tensor([]pkt{
		{ipLen: 80, payload: 40},
		{resp: true, ipLen: 128, payload: 100, iat: 999},
		{resp: true, ipLen: 128, payload: 100, iat: 0, psh: true},
	})
	out := make([]float32, featureDim)
	extract(x, mask, out)
	near := func(name string, got float32, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-5 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("log1p packets", out[0], math.Log1p(3))
	near("responder share", out[1], 2.0/3)
	near("initiator bytes", out[3], math.Log1p(40))
	near("responder bytes", out[9], math.Log1p(200))
	near("mean header", out[18], (40+28+28)/3.0)
	near("min header", out[19], 28)
	near("psh share", out[24], 1.0/3)
	near("tcp", out[25], 1)
	near("direction changes", out[26], 0.5)
	near("first payload", out[27], math.Log1p(40))
	near("first responder payload", out[29], math.Log1p(100))
	near("repeated sizes", out[31], 1.0/3)
	step := func(k, i int) float32 { return out[summaryDim+k*stepDim+i] }
	near("step 1 signed size", step(1, 1), -math.Log1p(100))
	near("step 1 gap", step(1, 3), math.Log1p(999))
	near("step 2 psh", step(2, 8), 1)
	near("step 3 present", step(3, 0), 0)
}

// FuzzPredict feeds arbitrary tensor values (shared datasets come from
// other members and may hold anything) to the input derivation and a
// trained model. Properties: no panic; every derived input is finite; the
// probabilities are finite and sum to 1.
func FuzzPredict(f *testing.F) {
	for _, e := range synthExamples(3, 16, "f", 1) {
		b := make([]byte, 0, 4*(len(e.X)+len(e.Mask)))
		for _, v := range append(slices.Clone(e.Mask), e.X...) {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f})
	m := smallModel(f, ArchMLP)
	f.Fuzz(func(t *testing.T, b []byte) {
		// The bytes fill the mask, then the tensor; the rest stays 0.
		vals := make([]float32, dataset.Steps+dataset.Steps*dataset.Features)
		for i := 0; i+4 <= len(b) && i/4 < len(vals); i += 4 {
			vals[i/4] = math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))
		}
		mask, x := vals[:dataset.Steps], vals[dataset.Steps:]
		out := make([]float32, featureDim)
		extract(x, mask, out)
		for i, v := range out {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("derived input %d = %v", i, v)
			}
		}
		l, p := m.Predict(x, mask)
		var sum float64
		for _, v := range p {
			if math.IsNaN(float64(v)) || v < 0 {
				t.Fatalf("probabilities %v", p)
			}
			sum += float64(v)
		}
		if l == "" || math.Abs(sum-1) > 1e-4 {
			t.Fatalf("Predict = %q, %v (sum %v)", l, p, sum)
		}
	})
}
