package dataset

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/bits"
)

// Charge is what the epsilon ledger must be charged for a DP dataset: Epsilon
// against the Budget of one family and period. The family is the kind, the
// group-by keys and the label selection ("aggregates|group_by=protocol,window|
// labels=all"); the period is the calendar month (UTC, "2006-01") of the
// selected flows. Storage calls CheckBudget with the epsilon already spent on
// the family and period, inside the transaction that records the charge.
type Charge struct {
	Family, Period  string
	Epsilon, Budget float64
}

// budgetSlack absorbs floating-point rounding when epsilons are summed.
const budgetSlack = 1e-9

// CheckBudget reports whether eps may be spent on top of spent within budget
// (0 meaning DefaultBudget). It returns an error wrapping ErrBudgetExhausted
// when spent + eps exceeds the budget (beyond a rounding slack of 1e-9), and
// one wrapping ErrSpec for a negative, NaN or infinite argument or a
// non-positive eps.
func CheckBudget(spent, eps, budget float64) error {
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) || f < 0 }
	if bad(spent) || bad(eps) || bad(budget) || eps == 0 {
		return fmt.Errorf("%w: epsilon %v spent %v budget %v", ErrSpec, eps, spent, budget)
	}
	if budget == 0 {
		budget = DefaultBudget
	}
	if spent+eps > budget+budgetSlack {
		return fmt.Errorf("%w: epsilon %g on top of %g already spent exceeds the budget of %g (%g left)",
			ErrBudgetExhausted, eps, spent, budget, math.Max(0, budget-spent))
	}
	return nil
}

// sampler draws exact discrete Laplace and discrete Gaussian noise with the
// algorithms of Canonne, Kamath and Steinke, "The Discrete Gaussian for
// Differential Privacy" (NeurIPS 2020), Algorithms 1 to 3. Every step works
// on integers and rationals drawn from uniformly random bytes, so the output
// distribution is exact: there is no floating-point noise whose low bits
// could leak the value it was added to.
type sampler struct {
	r   *bufio.Reader
	buf [8]byte
	err error
}

func newSampler(r io.Reader) *sampler {
	if r == nil {
		r = rand.Reader
	}
	return &sampler{r: bufio.NewReaderSize(r, 256)}
}

// uint64n returns a uniform integer in [0, n), n > 0.
func (s *sampler) uint64n(n uint64) uint64 {
	if s.err != nil {
		return 0
	}
	if n&(n-1) == 0 {
		return s.rand64() & (n - 1)
	}
	mask := uint64(1)<<bits.Len64(n-1) - 1
	for s.err == nil {
		if v := s.rand64() & mask; v < n {
			return v
		}
	}
	return 0
}

func (s *sampler) rand64() uint64 {
	if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
		s.err = fmt.Errorf("reading randomness: %w", err)
		return 0
	}
	return uint64(s.buf[0]) | uint64(s.buf[1])<<8 | uint64(s.buf[2])<<16 | uint64(s.buf[3])<<24 |
		uint64(s.buf[4])<<32 | uint64(s.buf[5])<<40 | uint64(s.buf[6])<<48 | uint64(s.buf[7])<<56
}

// bigIntn returns a uniform integer in [0, n), n > 0.
func (s *sampler) bigIntn(n *big.Int) *big.Int {
	if n.IsUint64() {
		return new(big.Int).SetUint64(s.uint64n(n.Uint64()))
	}
	nbits := n.BitLen()
	buf := make([]byte, (nbits+7)/8)
	v := new(big.Int)
	for s.err == nil {
		if _, err := io.ReadFull(s.r, buf); err != nil {
			s.err = fmt.Errorf("reading randomness: %w", err)
			break
		}
		buf[0] &= byte(0xff >> (8*len(buf) - nbits))
		v.SetBytes(buf)
		if v.Cmp(n) < 0 {
			return v
		}
	}
	return v.SetInt64(0)
}

// bernoulli returns true with probability num/den, 0 <= num <= den.
func (s *sampler) bernoulli(num, den *big.Int) bool {
	return s.bigIntn(den).Cmp(num) < 0
}

var bigOne = big.NewInt(1)

// bernoulliExp returns true with probability exp(-num/den), num >= 0,
// den > 0 (Algorithm 1).
func (s *sampler) bernoulliExp(num, den *big.Int) bool {
	g := new(big.Int).Set(num)
	// exp(-g) = exp(-1)^floor(g) * exp(-(g - floor(g))).
	for g.Cmp(den) > 0 && s.err == nil {
		if !s.bernoulliExp1() {
			return false
		}
		g.Sub(g, den)
	}
	return s.bernoulliExpSmall(g, den)
}

// bernoulliExpSmall is Algorithm 1 for exp(-g/den) with g/den in [0, 1].
func (s *sampler) bernoulliExpSmall(g, den *big.Int) bool {
	k := int64(1)
	dk := new(big.Int)
	for s.err == nil {
		dk.Mul(den, big.NewInt(k))
		if !s.bernoulli(g, dk) {
			break
		}
		k++
	}
	return k%2 == 1
}

// bernoulliExp1 returns true with probability exp(-1).
func (s *sampler) bernoulliExp1() bool {
	k := uint64(1)
	for s.err == nil && s.uint64n(k) < 1 {
		k++
	}
	return k%2 == 1
}

// laplace returns a sample of the discrete Laplace distribution with scale
// t/sd, P(x) proportional to exp(-|x| sd/t) (Algorithm 2).
func (s *sampler) laplace(t, sd *big.Int) *big.Int {
	x := new(big.Int)
	for s.err == nil {
		u := s.bigIntn(t)
		if !s.bernoulliExp(u, t) {
			continue
		}
		v := int64(0)
		for s.err == nil && s.bernoulliExp1() {
			v++
		}
		x.Mul(t, big.NewInt(v))
		x.Add(x, u)
		x.Quo(x, sd) // floor: both non-negative
		neg := s.uint64n(2) == 1
		if neg && x.Sign() == 0 {
			continue
		}
		if neg {
			x.Neg(x)
		}
		return x
	}
	return x.SetInt64(0)
}

// gaussian returns a sample of the discrete Gaussian distribution with
// variance parameter sigma^2 = a/b, P(x) proportional to
// exp(-x^2/(2 sigma^2)) (Algorithm 3).
func (s *sampler) gaussian(a, b *big.Int) *big.Int {
	// t = floor(sigma) + 1; floor(sqrt(a/b)) = isqrt(floor(a/b)).
	t := new(big.Int).Quo(a, b)
	t.Sqrt(t)
	t.Add(t, bigOne)
	// Accept y with probability exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))
	//   = exp(-(|y| b t - a)^2 / (2 a b t^2)).
	den := new(big.Int).Mul(t, t)
	den.Mul(den, a)
	den.Mul(den, b)
	den.Lsh(den, 1)
	num := new(big.Int)
	for s.err == nil {
		y := s.laplace(t, bigOne)
		num.Abs(y)
		num.Mul(num, b)
		num.Mul(num, t)
		num.Sub(num, a)
		num.Mul(num, num)
		if s.bernoulliExp(num, den) {
			return y
		}
	}
	return new(big.Int)
}

// rationalDen is the denominator noise parameters are rounded up to: the
// scale or variance used is the next multiple of 2^-20 at or above the one
// asked for, which never weakens the guarantee.
const rationalDen = 1 << 20

// ratUp returns num with num/rationalDen >= f, the smallest such.
func ratUp(f float64) (*big.Int, error) {
	v := math.Ceil(f * rationalDen)
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 1 || v > 1<<100 {
		return nil, fmt.Errorf("%w: noise parameter %g out of range", ErrSpec, f)
	}
	n, _ := new(big.Float).SetFloat64(v).Int(nil)
	return n, nil
}

// noise is one calibrated noise source.
type noise struct {
	s     *sampler
	gauss bool
	num   *big.Int // Laplace scale or Gaussian variance, over rationalDen
	den   *big.Int
}

func (s *sampler) laplaceNoise(scale float64) (*noise, error) {
	n, err := ratUp(scale)
	if err != nil {
		return nil, err
	}
	return &noise{s: s, num: n, den: big.NewInt(rationalDen)}, nil
}

func (s *sampler) gaussianNoise(variance float64) (*noise, error) {
	n, err := ratUp(variance)
	if err != nil {
		return nil, err
	}
	return &noise{s: s, gauss: true, num: n, den: big.NewInt(rationalDen)}, nil
}

// param returns the Laplace scale or the Gaussian sigma actually used.
func (n *noise) param() float64 {
	f, _ := new(big.Rat).SetFrac(n.num, n.den).Float64()
	if n.gauss {
		return math.Sqrt(f)
	}
	return f
}

// draw returns one noise value, saturated to the int64 range.
func (n *noise) draw() int64 {
	var v *big.Int
	if n.gauss {
		v = n.s.gaussian(n.num, n.den)
	} else {
		v = n.s.laplace(n.num, n.den)
	}
	switch {
	case v.IsInt64():
		return v.Int64()
	case v.Sign() < 0:
		return math.MinInt64
	}
	return math.MaxInt64
}

// add returns max(0, v + noise), saturating.
func (n *noise) add(v uint64) uint64 {
	z := n.draw()
	if z >= 0 {
		if s := v + uint64(z); s >= v {
			return s
		}
		return math.MaxUint64
	}
	if d := uint64(-(z + 1)) + 1; d < v {
		return v - d
	}
	return 0
}
