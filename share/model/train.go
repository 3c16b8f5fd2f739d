package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Adam's decay rates and the constant that keeps its step finite.
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// pcgStream is the second PCG seed word: it keeps the generator of this
// package apart from others seeded with the same Config.Seed.
const pcgStream = 0x666c6f7766656d31 // "flowfem1"

// Train fits a model of cfg.Arch to the examples. Classes with fewer than
// cfg.MinClassSize examples are dropped first (see [Model.Dropped]); at least
// two classes must remain ([ErrTooFewClasses]). The derived inputs are
// standardised with the mean and standard deviation of the training set,
// which the model keeps.
//
// Train is deterministic: the same cfg (Seed included) and the same
// examples in the same order give a model whose Save output is the same
// bytes, on the same architecture and Go release (floating-point results
// may differ in the last bit across them). It runs on the calling
// goroutine; [TrainContext] can be cancelled.
func Train(cfg Config, train []Example) (*Model, error) {
	return TrainContext(context.Background(), cfg, train)
}

// TrainContext is [Train] that gives up when ctx ends, returning its
// error (checked every batchesPerCheck batches).
func TrainContext(ctx context.Context, cfg Config, train []Example) (*Model, error) {
	t, err := newTrainer(cfg, train)
	if err != nil {
		return nil, err
	}
	for e := range cfg.Epochs {
		if _, err := t.epoch(ctx); err != nil {
			return nil, fmt.Errorf("training epoch %d: %w", e+1, err)
		}
	}
	return t.m, nil
}

// batchesPerCheck is how many batches an epoch runs between looks at its
// context.
const batchesPerCheck = 256

// trainer holds the state of a training run: the standardised inputs, the
// targets, the model being fitted, and the optimiser's state.
type trainer struct {
	cfg  Config
	m    *Model
	n    int
	x    []float32 // n×featureDim standardised inputs
	y    []int32   // class index per example
	rng  *rand.Rand
	perm []int

	g, adamM, adamV  []float64 // gradient and moments, laid out as m.p
	g1, gb1, g2, gb2 []float64 // views of g as m.w1, m.b1, m.w2, m.b2
	step             int

	s  *scratch
	dh []float64 // gradient of the hidden activations
}

// newTrainer checks cfg and the examples, derives and standardises the
// inputs, and initialises the model.
func newTrainer(cfg Config, train []Example) (*trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Arch == ArchLogReg {
		cfg.Hidden = 0 // unused; kept canonical in the model file
	}
	if len(train) == 0 {
		return nil, ErrEmpty
	}
	for i := range train {
		if err := checkExample(i, &train[i]); err != nil {
			return nil, err
		}
	}
	var kept []ClassCount
	var dropped []ClassCount
	for _, c := range classCounts(train) {
		if c.N < cfg.MinClassSize {
			dropped = append(dropped, c)
		} else {
			kept = append(kept, c)
		}
	}
	if len(kept) < 2 {
		var parts []string
		for _, c := range kept {
			parts = append(parts, fmt.Sprintf("%s (%d)", c.Name, c.N))
		}
		for _, c := range dropped {
			parts = append(parts, fmt.Sprintf("%s (%d)", c.Name, c.N))
		}
		return nil, fmt.Errorf("%w: %d of %d reach %d examples: %s", ErrTooFewClasses,
			len(kept), len(kept)+len(dropped), cfg.MinClassSize, strings.Join(parts, ", "))
	}
	if len(kept) > MaxClasses {
		return nil, fmt.Errorf("%w: %d classes, at most %d", ErrBadExample, len(kept), MaxClasses)
	}

	m := newModel(cfg, len(kept))
	m.dropped = dropped
	m.groups = groupPrints(train)
	class := make(map[string]int32, len(kept))
	n := 0
	for i, c := range kept {
		m.labels = append(m.labels, c.Name)
		m.counts = append(m.counts, c.N)
		class[c.Name] = int32(i)
		n += c.N
	}

	t := &trainer{
		cfg: cfg,
		m:   m,
		n:   n,
		x:   make([]float32, n*featureDim),
		y:   make([]int32, 0, n),
		rng: rand.New(rand.NewPCG(cfg.Seed, pcgStream)),
	}
	for i := range train {
		c, ok := class[train[i].Label]
		if !ok {
			continue
		}
		k := len(t.y)
		extract(train[i].X, train[i].Mask, t.x[k*featureDim:(k+1)*featureDim])
		t.y = append(t.y, c)
	}
	t.standardise()
	t.init()

	return t, nil
}

// standardise computes the mean and standard deviation of each derived input
// over the training set, stores them in the model and applies them to t.x.
// A constant input gets a deviation of 1, so it becomes 0.
func (t *trainer) standardise() {
	m := t.m
	m.mean = make([]float64, featureDim)
	m.std = make([]float64, featureDim)
	for k := range t.n {
		row := t.x[k*featureDim : (k+1)*featureDim]
		for i, v := range row {
			m.mean[i] += float64(v)
		}
	}
	for i := range m.mean {
		m.mean[i] /= float64(t.n)
	}
	for k := range t.n {
		row := t.x[k*featureDim : (k+1)*featureDim]
		for i, v := range row {
			d := float64(v) - m.mean[i]
			m.std[i] += d * d
		}
	}
	for i := range m.std {
		sd := math.Sqrt(m.std[i] / float64(t.n))
		if !(sd > 1e-9) {
			sd = 1
		}
		m.std[i] = sd
	}
	z := make([]float64, featureDim)
	for k := range t.n {
		row := t.x[k*featureDim : (k+1)*featureDim]
		m.standardise(z, row)
		for i, v := range z {
			row[i] = float32(v)
		}
	}
}

// init draws the initial weights (He initialisation for the ReLU layer,
// Glorot for the output layer of the MLP; zeros for logistic regression,
// whose loss is convex) and allocates the optimiser's state.
func (t *trainer) init() {
	m := t.m
	if h := len(m.b1); h > 0 {
		s1 := math.Sqrt(2 / float64(featureDim))
		for i := range m.w1 {
			m.w1[i] = t.rng.NormFloat64() * s1
		}
		s2 := math.Sqrt(2 / float64(h+len(m.labels)))
		for i := range m.w2 {
			m.w2[i] = t.rng.NormFloat64() * s2
		}
	}
	t.g = make([]float64, len(m.p))
	t.adamM = make([]float64, len(m.p))
	t.adamV = make([]float64, len(m.p))
	g := &Model{cfg: m.cfg, p: t.g}
	g.layout(len(m.labels))
	t.g1, t.gb1, t.g2, t.gb2 = g.w1, g.b1, g.w2, g.b2
	t.perm = make([]int, t.n)
	for i := range t.perm {
		t.perm[i] = i
	}
	t.s = m.newScratch()
	t.dh = make([]float64, len(m.b1))
}

// epoch makes one pass over the training set in a fresh random order, one
// Adam step per batch, and returns the mean cross-entropy of the examples
// (before their step), or the error of ctx when it ends.
func (t *trainer) epoch(ctx context.Context) (float64, error) {
	t.rng.Shuffle(len(t.perm), func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] })
	var loss float64
	for b, lo := 0, 0; lo < t.n; b, lo = b+1, lo+t.cfg.BatchSize {
		if b%batchesPerCheck == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		batch := t.perm[lo:min(lo+t.cfg.BatchSize, t.n)]
		clear(t.g)
		for _, k := range batch {
			loss += t.backprop(k)
		}
		t.update(len(batch))
	}
	return loss / float64(t.n), nil
}

// backprop adds the gradient of example k's cross-entropy to t.g and
// returns the loss.
func (t *trainer) backprop(k int) float64 {
	m, s := t.m, t.s
	row := t.x[k*featureDim : (k+1)*featureDim]
	z := s.z
	for i, v := range row {
		z[i] = float64(v)
	}
	m.forward(s, z)
	y := int(t.y[k])
	loss := -math.Log(max(s.logits[y], 1e-300))
	dl := s.logits // now the gradient of the loss at the logits
	dl[y]--

	in := z
	if h := len(m.b1); h > 0 {
		in = s.h
		clear(t.dh)
		for c, d := range dl {
			axpy(d, m.w2[c*h:(c+1)*h], t.dh)
		}
	}
	kin := len(in)
	for c, d := range dl {
		t.gb2[c] += d
		axpy(d, in, t.g2[c*kin:(c+1)*kin])
	}
	for j, d := range t.dh {
		if s.h[j] <= 0 || d == 0 {
			continue // ReLU passes no gradient below zero
		}
		t.gb1[j] += d
		axpy(d, z, t.g1[j*featureDim:(j+1)*featureDim])
	}
	return loss
}

// update averages the gradient over a batch of n examples, adds the L2
// penalty of the weights, and takes one Adam step. Parameters are kept
// within ±maxParam, so that no setting (a huge learning rate) can make them
// overflow.
func (t *trainer) update(n int) {
	inv := 1 / float64(n)
	for i := range t.g {
		t.g[i] *= inv
	}
	if l2 := t.cfg.L2; l2 > 0 {
		axpy(l2, t.m.w1, t.g1)
		axpy(l2, t.m.w2, t.g2)
	}
	t.step++
	c1 := 1 - math.Pow(adamBeta1, float64(t.step))
	c2 := 1 - math.Pow(adamBeta2, float64(t.step))
	lr := t.cfg.LearningRate * math.Sqrt(c2) / c1
	p, mo, v := t.m.p, t.adamM, t.adamV
	for i, g := range t.g {
		mo[i] = adamBeta1*mo[i] + (1-adamBeta1)*g
		v[i] = adamBeta2*v[i] + (1-adamBeta2)*g*g
		p[i] = min(max(p[i]-lr*mo[i]/(math.Sqrt(v[i])+adamEps), -maxParam), maxParam)
	}
}
