package model

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/flowfed/flowfed/share/dataset"
)

// Example is one labeled flow as the classifier sees it.
type Example struct {
	// Group names the capture (or other unit of collection) the flow came
	// from. [SplitByGroup] keeps the flows of one group together, so that a
	// test set never holds flows of a capture seen in training.
	Group string
	// X is the flow's sequence tensor: dataset.Steps*dataset.Features raw,
	// unscaled values in the order of dataset.FeatureNames (see
	// dataset.Tensor).
	X []float32
	// Mask has dataset.Steps values: 1 where a packet is present.
	Mask []float32
	// Label is the protocol name the model learns to predict.
	Label string
}

// The architectures of [Config.Arch].
const (
	// ArchLogReg is multinomial logistic regression on the derived inputs.
	ArchLogReg = "logreg"
	// ArchMLP is a network with one hidden layer of ReLU units and a
	// softmax output.
	ArchMLP = "mlp"
)

// Bounds on what a model may hold, enforced by [Train] and [Load].
const (
	// MaxHidden bounds Config.Hidden.
	MaxHidden = 4096
	// MaxClasses bounds the number of classes of a model.
	MaxClasses = 1024
	// MaxLabelLen bounds the length of a label in bytes.
	MaxLabelLen = 255
)

// Config holds the settings of [Train]. Start from [DefaultConfig]; Train
// rejects a Config with an unusable field instead of filling in defaults.
type Config struct {
	// Arch is ArchLogReg or ArchMLP.
	Arch string
	// Hidden is the number of hidden units of ArchMLP, 1 to MaxHidden;
	// ArchLogReg ignores it.
	Hidden int
	// Epochs is the number of passes over the training set.
	Epochs int
	// LearningRate is the step size of the Adam optimiser.
	LearningRate float64
	// L2 is the weight of the squared-weight penalty added to the loss
	// (biases are not penalised); 0 turns it off.
	L2 float64
	// BatchSize is the number of examples per gradient step.
	BatchSize int
	// Seed selects the weight initialisation and the order of examples
	// in each epoch: the same Seed, Config and examples (in the same
	// order) give the same model.
	Seed uint64
	// MinClassSize is the number of training examples a class needs to be
	// kept; classes with fewer are dropped before training and listed by
	// [Model.Dropped].
	MinClassSize int
}

// DefaultConfig returns the settings used when nothing else is known: a
// 64-unit MLP trained for 40 epochs with Adam.
func DefaultConfig() Config {
	return Config{
		Arch:         ArchMLP,
		Hidden:       64,
		Epochs:       40,
		LearningRate: 0.003,
		L2:           1e-4,
		BatchSize:    32,
		Seed:         1,
		MinClassSize: 5,
	}
}

// validate reports the first unusable field of c.
func (c Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, a...)...)
	}
	switch {
	case c.Arch != ArchLogReg && c.Arch != ArchMLP:
		return bad("arch %q is neither %q nor %q", c.Arch, ArchLogReg, ArchMLP)
	case c.Arch == ArchMLP && (c.Hidden < 1 || c.Hidden > MaxHidden):
		return bad("hidden %d is outside 1..%d", c.Hidden, MaxHidden)
	case c.Epochs < 1:
		return bad("epochs %d is below 1", c.Epochs)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return bad("learning rate %v is not a positive number", c.LearningRate)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return bad("l2 %v is not a non-negative number", c.L2)
	case c.BatchSize < 1:
		return bad("batch size %d is below 1", c.BatchSize)
	case c.MinClassSize < 0:
		return bad("min class size %d is negative", c.MinClassSize)
	}
	return nil
}

// hidden returns the hidden width of the network c describes: 0 for
// logistic regression.
func (c Config) hidden() int {
	if c.Arch == ArchLogReg {
		return 0
	}
	return c.Hidden
}

// ClassCount is a class name with a number of examples.
type ClassCount struct {
	Name string
	N    int
}

// Model is a trained classifier. It is immutable: its methods are safe for
// concurrent use.
type Model struct {
	cfg     Config
	labels  []string     // sorted, unique
	counts  []int        // training examples per label
	dropped []ClassCount // classes below MinClassSize, by name
	// groups holds the fingerprints of the groups (captures) trained on,
	// sorted and unique, so that an evaluation can tell when it scores
	// the model on what it learnt from.
	groups []uint64
	// mean and std standardise the derived inputs: z = (v-mean)/std,
	// clipped to ±clipZ. std is positive.
	mean, std []float64
	// p holds every parameter; w1, b1 (hidden layer, MLP only), w2 and b2
	// (output layer) are views into it. w1 is hidden×featureDim and w2
	// classes×in, row-major, where in is the hidden width or featureDim.
	p              []float64
	w1, b1, w2, b2 []float64
}

// clipZ bounds standardised inputs, so that a value far outside the
// training range (a flow of a kind never seen, or damaged data) cannot
// dominate the output.
const clipZ = 8

// maxParam bounds the magnitude of every parameter and standardisation
// statistic. Training never comes near it; it keeps every sum of a forward
// pass finite (inputs are at most clipZ, layers at most MaxHidden wide), so
// that no model, trained or loaded, predicts NaN.
const maxParam = 1e6

// newModel allocates the parameters of a network with the given hidden
// width (0: logistic regression) and class count.
func newModel(cfg Config, classes int) *Model {
	m := &Model{cfg: cfg, p: make([]float64, paramCount(cfg.hidden(), classes))}
	m.layout(classes)
	return m
}

// paramCount returns the number of parameters of a network with hidden
// units (0: logistic regression) and classes outputs.
func paramCount(hidden, classes int) int {
	if hidden == 0 {
		return classes*featureDim + classes
	}
	return hidden*featureDim + hidden + classes*hidden + classes
}

// layout points w1, b1, w2 and b2 into p.
func (m *Model) layout(classes int) {
	h := m.cfg.hidden()
	p := m.p
	take := func(k int) []float64 {
		s := p[:k:k]
		p = p[k:]
		return s
	}
	in := featureDim
	if h > 0 {
		m.w1 = take(h * featureDim)
		m.b1 = take(h)
		in = h
	}
	m.w2 = take(classes * in)
	m.b2 = take(classes)
}

// Labels returns the classes the model predicts, in the order of the
// probabilities that Predict returns (sorted by name).
func (m *Model) Labels() []string { return slices.Clone(m.labels) }

// Config returns the settings the model was trained with.
func (m *Model) Config() Config { return m.cfg }

// TrainingCounts returns the number of training examples of each class the
// model predicts, in the order of Labels.
func (m *Model) TrainingCounts() []ClassCount {
	out := make([]ClassCount, len(m.labels))
	for i, l := range m.labels {
		out[i] = ClassCount{l, m.counts[i]}
	}
	return out
}

// Dropped returns the classes left out of training because they had fewer
// than Config.MinClassSize examples, sorted by name.
func (m *Model) Dropped() []ClassCount { return slices.Clone(m.dropped) }

// String describes the model in one line.
func (m *Model) String() string {
	arch := m.cfg.Arch
	if m.cfg.Arch == ArchMLP {
		arch = fmt.Sprintf("mlp(%d)", m.cfg.Hidden)
	}
	return fmt.Sprintf("model %s, %d inputs, classes %s", arch, featureDim, strings.Join(m.labels, ","))
}

// majority returns the most frequent training class (the first by name
// among equals).
func (m *Model) majority() string {
	best := -1
	for i, c := range m.counts {
		if best < 0 || c > m.counts[best] {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return m.labels[best]
}

// scratch holds the buffers of one forward pass.
type scratch struct {
	raw    []float32 // featureDim derived inputs
	z      []float64 // featureDim standardised inputs
	h      []float64 // hidden activations
	logits []float64 // per class; probabilities after softmax
}

func (m *Model) newScratch() *scratch {
	return &scratch{
		raw:    make([]float32, featureDim),
		z:      make([]float64, featureDim),
		h:      make([]float64, m.cfg.hidden()),
		logits: make([]float64, len(m.labels)),
	}
}

// standardise turns derived inputs into the network's inputs.
func (m *Model) standardise(z []float64, raw []float32) {
	for i, v := range raw {
		z[i] = min(max((float64(v)-m.mean[i])/m.std[i], -clipZ), clipZ)
	}
}

// forward computes the class probabilities of the standardised input z
// into s.logits (and the hidden activations into s.h).
func (m *Model) forward(s *scratch, z []float64) {
	in := z
	if h := len(m.b1); h > 0 {
		for j := range h {
			a := m.b1[j] + dot(m.w1[j*featureDim:(j+1)*featureDim], z)
			s.h[j] = max(a, 0)
		}
		in = s.h
	}
	k := len(in)
	for c := range s.logits {
		s.logits[c] = m.b2[c] + dot(m.w2[c*k:(c+1)*k], in)
	}
	softmax(s.logits)
}

// Predict returns the most probable label of the flow with sequence tensor x
// and mask (the lengths of [Example]) and the probability of every label
// in the order of Labels. For input of the wrong lengths, or a nil Model,
// it returns "" and nil.
func (m *Model) Predict(x, mask []float32) (label string, probs []float32) {
	if m == nil || len(x) != dataset.Steps*dataset.Features || len(mask) != dataset.Steps {
		return "", nil
	}
	s := m.newScratch()
	c := m.predict(s, x, mask)
	probs = make([]float32, len(s.logits))
	for i, p := range s.logits {
		probs[i] = float32(p)
	}
	return m.labels[c], probs
}

// predict returns the index of the most probable class, leaving the
// probabilities in s.logits. The first class wins a tie.
func (m *Model) predict(s *scratch, x, mask []float32) int {
	extract(x, mask, s.raw)
	m.standardise(s.z, s.raw)
	m.forward(s, s.z)
	best := 0
	for c, p := range s.logits {
		if p > s.logits[best] {
			best = c
		}
	}
	return best
}

// dot returns the dot product of a and b (len(b) >= len(a)).
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds alpha*x to y (len(x) >= len(y)).
func axpy(alpha float64, x, y []float64) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// softmax replaces v by its softmax, computed stably.
func softmax(v []float64) {
	hi := math.Inf(-1)
	for _, x := range v {
		hi = max(hi, x)
	}
	var sum float64
	for i, x := range v {
		e := math.Exp(x - hi)
		v[i] = e
		sum += e
	}
	for i := range v {
		v[i] /= sum
	}
}

// checkExample reports why e cannot be used for training.
func checkExample(i int, e *Example) error {
	switch {
	case len(e.X) != dataset.Steps*dataset.Features:
		return fmt.Errorf("%w %d: tensor has %d values, want %d", ErrBadExample, i, len(e.X), dataset.Steps*dataset.Features)
	case len(e.Mask) != dataset.Steps:
		return fmt.Errorf("%w %d: mask has %d values, want %d", ErrBadExample, i, len(e.Mask), dataset.Steps)
	}
	if err := checkLabel(e.Label); err != nil {
		return fmt.Errorf("%w %d: %v", ErrBadExample, i, err)
	}
	return nil
}

// checkLabel reports why l cannot be a class name.
func checkLabel(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("label is empty")
	case len(l) > MaxLabelLen:
		return fmt.Errorf("label is %d bytes long, at most %d", len(l), MaxLabelLen)
	case !utf8.ValidString(l):
		return fmt.Errorf("label is not UTF-8")
	}
	return nil
}

// classCounts counts the examples of each label, sorted by name.
func classCounts(ex []Example) []ClassCount {
	idx := map[string]int{}
	var out []ClassCount
	for i := range ex {
		l := ex[i].Label
		j, ok := idx[l]
		if !ok {
			j = len(out)
			idx[l] = j
			out = append(out, ClassCount{Name: l})
		}
		out[j].N++
	}
	slices.SortFunc(out, func(a, b ClassCount) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// groupPrint is the fingerprint of a group name: the first 8 bytes of its
// SHA-256.
func groupPrint(g string) uint64 {
	sum := sha256.Sum256([]byte(g))
	return binary.BigEndian.Uint64(sum[:8])
}

// groupPrints returns the sorted, unique fingerprints of the examples'
// groups (examples without a group have none).
func groupPrints(ex []Example) []uint64 {
	seen := map[uint64]bool{}
	for i := range ex {
		if ex[i].Group != "" {
			seen[groupPrint(ex[i].Group)] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// SeenGroups reports how many of the distinct groups of ex the model was
// trained on, out of how many: scores on groups seen in training overstate
// the model.
func (m *Model) SeenGroups(ex []Example) (seen, total int) {
	for _, g := range groupPrints(ex) {
		total++
		if _, ok := slices.BinarySearch(m.groups, g); ok {
			seen++
		}
	}
	return seen, total
}
