package dataset

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/usage"
)

// Kind is the kind of a dataset.
type Kind string

// Dataset kinds.
const (
	// KindFlows: one record per flow (sequence tensor, statistics, label).
	KindFlows Kind = "flows"
	// KindAggregates: one record per group of flows (counts, label
	// distribution, duration statistics).
	KindAggregates Kind = "aggregates"
)

// Group-by keys of an aggregates dataset, in their canonical order.
const (
	GroupHost     = "host"     // the source host (the flow's initiator)
	GroupProtocol = "protocol" // the protocol label
	GroupPair     = "pair"     // source and destination host
	GroupWindow   = "window"   // the bucket of Spec.Window holding the flow's start
)

// groupKeys lists the group-by keys in canonical order; bit i of a key mask
// stands for groupKeys[i].
var groupKeys = []string{GroupHost, GroupProtocol, GroupPair, GroupWindow}

const (
	maskHost = 1 << iota
	maskProtocol
	maskPair
	maskWindow
	maskAll = maskHost | maskProtocol | maskPair | maskWindow
)

// Defaults and limits of a Spec.
const (
	// DefaultK is the k-threshold when Spec.K is 0.
	DefaultK = 10
	// DefaultWindow is the bucket width of the "window" group-by key when
	// Spec.Window is 0.
	DefaultWindow = time.Hour
	// MinWindow is the smallest Spec.Window.
	MinWindow = time.Second
	// DefaultBudget is the epsilon budget per family and period when
	// DP.Budget is 0.
	DefaultBudget = 1.0
	// DefaultMaxContrib is DP.MaxContrib when it is 0: the flows counted per
	// source host (per key epoch) in the whole dataset.
	DefaultMaxContrib = 8
	// DefaultMaxPackets, DefaultMaxBytes and DefaultMaxDuration are the
	// per-flow clamps of DP.MaxPackets, MaxBytes and MaxDuration when 0.
	DefaultMaxPackets  = 128
	DefaultMaxBytes    = 1 << 18
	DefaultMaxDuration = 5 * time.Minute

	maxSourceLen = 1024 // bytes of Row.Source
	maxKeyIDLen  = 128  // bytes of a key ID
	maxTextLen   = 256  // bytes of other short strings (domain, settings)
)

// Spec says what to build.
type Spec struct {
	Kind Kind
	// GroupBy lists the group-by keys of an aggregates dataset: any of
	// "host", "protocol", "pair", "window", in any order (they are put in
	// that canonical order). Empty: one group for the whole selection.
	// Flows datasets take none.
	GroupBy []string
	// Window is the bucket width for "window" (buckets start at multiples
	// of Window since the Unix epoch, UTC); 0 means DefaultWindow.
	Window time.Duration
	// From and To select flows whose start lies in [From, To); a zero
	// bound is open.
	From, To time.Time
	// Labels keeps only flows with these protocol labels (label.Protocol
	// names, any case, "Unknown" included); empty keeps all.
	Labels []string
	// K is the k-threshold: every released cell must cover at least K
	// distinct source hosts (see the package documentation). 0 means
	// DefaultK; the usage policy's KMin raises it.
	K int
	// DP turns on differential privacy for the counts of an aggregates
	// dataset.
	DP *DP
	// Usage is the usage policy of the dataset; Build normalises it
	// (usage.Policy.Normalize) and raises its KMin to the k applied.
	Usage usage.Policy
	// Minimised records how the rows were minimised before Build (ports
	// dropped, times coarsened, prefixes cut), for the manifest.
	Minimised string
	// Domain names the pseudonymization domain of the addresses; "" is
	// the node's own.
	Domain string
	// FlowSettings are the flow-meter settings (timeouts...) to record in
	// the manifest, by name.
	FlowSettings map[string]string
	// Rand is the source of DP noise; nil means crypto/rand.
	Rand io.Reader
}

// DP holds the differential-privacy parameters of an aggregates dataset.
//
// The privacy unit is a source host under one key epoch. Before counting,
// each unit's flows are bounded to MaxContrib (taken round-robin over the
// cells the unit has flows in, so that it counts in as many cells as it
// can), and each flow's packets, bytes and duration are clamped to
// MaxPackets, MaxBytes and MaxDuration. A selection with flows under n key
// IDs may show one real host as n units, so every sensitivity is
// multiplied by n.
type DP struct {
	// Mechanism is "laplace" (pure epsilon-DP, discrete Laplace noise) or
	// "gaussian" ((epsilon, delta)-DP through zero-concentrated DP,
	// discrete Gaussian noise).
	Mechanism string
	Epsilon   float64
	// Delta is the delta of "gaussian"; "laplace" takes 0.
	Delta float64
	// MaxContrib bounds the flows counted per source host and key epoch
	// in the whole dataset; 0 means DefaultMaxContrib.
	MaxContrib int
	// Budget is the total epsilon allowed per family and period (see
	// Charge); 0 means DefaultBudget.
	Budget float64
	// MaxPackets and MaxBytes clamp each flow's packets and IP bytes per
	// direction; MaxDuration clamps its duration. 0 means the defaults.
	MaxPackets, MaxBytes uint64
	MaxDuration          time.Duration
}

// DP mechanisms.
const (
	MechLaplace  = "laplace"
	MechGaussian = "gaussian"
)

// spec is a validated Spec with every default filled in.
type spec struct {
	kind      Kind
	groupBy   []string
	mask      uint8
	window    time.Duration
	from, to  time.Time
	labels    []string // canonical names, sorted; nil: all
	labelSet  map[label.Protocol]bool
	k         int
	dp        *DP
	usage     usage.Policy
	domain    string
	minimised string
	settings  map[string]string
	rand      io.Reader
}

func specErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrSpec, fmt.Sprintf(format, a...))
}

// normalize validates s and fills in its defaults.
func (s Spec) normalize() (*spec, error) {
	n := &spec{kind: s.Kind, from: s.From.UTC(), to: s.To.UTC(), rand: s.Rand}
	if s.From.IsZero() {
		n.from = time.Time{}
	}
	if s.To.IsZero() {
		n.to = time.Time{}
	}
	switch s.Kind {
	case KindFlows:
		if len(s.GroupBy) > 0 {
			return nil, specErr("a flows dataset takes no group-by keys (got %q)", s.GroupBy)
		}
	case KindAggregates:
		m, err := parseGroupBy(s.GroupBy)
		if err != nil {
			return nil, err
		}
		n.mask = m
		n.groupBy = groupByNames(m)
	default:
		return nil, specErr("unknown kind %q (want %q or %q)", s.Kind, KindFlows, KindAggregates)
	}
	switch {
	case s.Window < 0:
		return nil, specErr("window %v is negative", s.Window)
	case s.Window == 0:
		n.window = DefaultWindow
	case s.Window < MinWindow:
		return nil, specErr("window %v is below %v", s.Window, MinWindow)
	default:
		n.window = s.Window
	}
	if n.mask&maskWindow == 0 {
		n.window = 0
	}
	if !n.from.IsZero() && !n.to.IsZero() && !n.to.After(n.from) {
		return nil, specErr("time range [%s, %s) is empty", n.from.Format(time.RFC3339), n.to.Format(time.RFC3339))
	}
	if len(s.Labels) > 0 {
		n.labelSet = map[label.Protocol]bool{}
		for _, l := range s.Labels {
			p, err := label.ParseProtocol(strings.TrimSpace(l))
			if err != nil {
				return nil, specErr("label %q is not a protocol name", l)
			}
			n.labelSet[p] = true
		}
		for p := range n.labelSet {
			n.labels = append(n.labels, p.String())
		}
		slices.Sort(n.labels)
	}
	switch {
	case s.K < 0:
		return nil, specErr("k %d is negative", s.K)
	case s.K == 0:
		n.k = DefaultK
	default:
		n.k = s.K
	}
	n.usage = s.Usage.Normalize()
	if n.usage.KMin < 0 {
		return nil, specErr("usage k_min %d is negative", n.usage.KMin)
	}
	n.k = max(n.k, n.usage.KMin)
	n.usage.KMin = n.k
	if !printable(s.Domain, maxTextLen) {
		return nil, specErr("domain is not printable text of at most %d bytes", maxTextLen)
	}
	n.domain = s.Domain
	if !printable(s.Minimised, maxTextLen) {
		return nil, specErr("minimised is not printable text of at most %d bytes", maxTextLen)
	}
	n.minimised = s.Minimised
	if len(s.FlowSettings) > 0 {
		n.settings = make(map[string]string, len(s.FlowSettings))
		for k, v := range s.FlowSettings {
			if k == "" || !printable(k, maxTextLen) || !printable(v, maxTextLen) {
				return nil, specErr("flow setting %q is not printable text of at most %d bytes", k, maxTextLen)
			}
			n.settings[k] = v
		}
	}
	if s.DP != nil {
		if s.Kind != KindAggregates {
			return nil, specErr("differential privacy applies to aggregates datasets only")
		}
		dp, err := s.DP.normalize()
		if err != nil {
			return nil, err
		}
		n.dp = dp
	}
	return n, nil
}

// normalize validates the DP parameters and fills in their defaults.
func (d DP) normalize() (*DP, error) {
	d.Mechanism = strings.ToLower(strings.TrimSpace(d.Mechanism))
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if !finite(d.Epsilon) || d.Epsilon <= 0 {
		return nil, specErr("dp epsilon %v is not a positive number", d.Epsilon)
	}
	switch d.Mechanism {
	case MechLaplace:
		if d.Delta != 0 {
			return nil, specErr("dp delta %v given for the laplace mechanism (it takes none)", d.Delta)
		}
	case MechGaussian:
		if !finite(d.Delta) || d.Delta <= 0 || d.Delta >= 1 {
			return nil, specErr("dp delta %v is not in (0, 1)", d.Delta)
		}
	default:
		return nil, specErr("dp mechanism %q (want %q or %q)", d.Mechanism, MechLaplace, MechGaussian)
	}
	switch {
	case d.MaxContrib < 0:
		return nil, specErr("dp max contribution %d is negative", d.MaxContrib)
	case d.MaxContrib == 0:
		d.MaxContrib = DefaultMaxContrib
	}
	if !finite(d.Budget) || d.Budget < 0 {
		return nil, specErr("dp budget %v is not a non-negative number", d.Budget)
	}
	if d.Budget == 0 {
		d.Budget = DefaultBudget
	}
	if d.MaxPackets == 0 {
		d.MaxPackets = DefaultMaxPackets
	}
	if d.MaxBytes == 0 {
		d.MaxBytes = DefaultMaxBytes
	}
	switch {
	case d.MaxDuration < 0:
		return nil, specErr("dp max duration %v is negative", d.MaxDuration)
	case d.MaxDuration == 0:
		d.MaxDuration = DefaultMaxDuration
	}
	// Clamps beyond 2^40 would make the noise parameters unwieldy and are
	// no bound in practice.
	if d.MaxPackets > 1<<40 || d.MaxBytes > 1<<40 || d.MaxDuration > 1<<40*time.Microsecond {
		return nil, specErr("dp clamp above 2^40")
	}
	if d.MaxContrib > 1<<20 {
		return nil, specErr("dp max contribution %d is above 2^20", d.MaxContrib)
	}
	if err := CheckBudget(0, d.Epsilon, d.Budget); err != nil {
		return nil, err
	}
	return &d, nil
}

// parseGroupBy turns group-by names into a key mask; order does not matter,
// repetitions and unknown names are refused.
func parseGroupBy(names []string) (uint8, error) {
	var m uint8
	for _, name := range names {
		i := slices.Index(groupKeys, strings.ToLower(strings.TrimSpace(name)))
		if i < 0 {
			return 0, specErr("unknown group-by key %q (want any of %s)", name, strings.Join(groupKeys, ", "))
		}
		if m&(1<<i) != 0 {
			return 0, specErr("group-by key %q given twice", name)
		}
		m |= 1 << i
	}
	return m, nil
}

// groupByNames returns the names of the keys in mask m, in canonical order.
func groupByNames(m uint8) []string {
	var out []string
	for i, k := range groupKeys {
		if m&(1<<i) != 0 {
			out = append(out, k)
		}
	}
	return out
}

// printable reports whether s is valid UTF-8 of at most n bytes without
// control characters.
func printable(s string, n int) bool {
	if len(s) > n || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
