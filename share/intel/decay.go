package intel

import (
	"math"
	"time"
)

// DecayParams are the parameters of the polynomial decay model of MISP's
// decaying-indicator feature:
//
//	score(t) = base × (1 − (t/Tau)^(1/Delta))    for 0 ≤ t < Tau, else 0
//
// where base is the indicator's confidence and t the time since it was last
// confirmed (its Modified time or its LastSeen, whichever is later). Delta
// above 1 makes the score fall fast at first and slowly later; below 1,
// the reverse. An indicator whose score is below Threshold has decayed.
type DecayParams struct {
	Tau       time.Duration
	Delta     float64
	Threshold float64
}

const day = 24 * time.Hour

// DefaultDecayThreshold is the score below which an indicator is decayed
// unless its type's parameters say otherwise.
const DefaultDecayThreshold = 10

// decayTable holds the default parameters per type, with the reasoning:
//
//   - addresses are reassigned and cloud-hosted: 30 days, falling fast;
//   - networks, domains: 90 days, linear;
//   - URLs: 60 days, falling somewhat fast (sites are cleaned up);
//   - e-mail addresses, JA3/JA4, file names: 180 days, linear (software
//     and campaigns change over months);
//   - registry keys: a year, slow at first;
//   - file hashes never stop identifying the file: two years, staying near
//     the base score for most of it.
var decayTable = map[Type]DecayParams{
	TypeIPv4:     {30 * day, 2, DefaultDecayThreshold},
	TypeIPv6:     {30 * day, 2, DefaultDecayThreshold},
	TypeCIDR:     {90 * day, 1, DefaultDecayThreshold},
	TypeDomain:   {90 * day, 1, DefaultDecayThreshold},
	TypeURL:      {60 * day, 1.5, DefaultDecayThreshold},
	TypeEmail:    {180 * day, 1, DefaultDecayThreshold},
	TypeJA3:      {180 * day, 1, DefaultDecayThreshold},
	TypeJA4:      {180 * day, 1, DefaultDecayThreshold},
	TypeFilename: {180 * day, 1, DefaultDecayThreshold},
	TypeRegKey:   {365 * day, 0.5, DefaultDecayThreshold},
	TypeMD5:      {730 * day, 0.3, DefaultDecayThreshold},
	TypeSHA1:     {730 * day, 0.3, DefaultDecayThreshold},
	TypeSHA256:   {730 * day, 0.3, DefaultDecayThreshold},
	TypeSHA512:   {730 * day, 0.3, DefaultDecayThreshold},
}

// DefaultDecay returns the decay parameters of a type (90 days, linear, for
// a type without an entry).
func DefaultDecay(t Type) DecayParams {
	if p, ok := decayTable[t]; ok {
		return p
	}
	return DecayParams{90 * day, 1, DefaultDecayThreshold}
}

// Score returns the decayed score of the indicator at now with the default
// parameters of its type.
func (i Indicator) Score(now time.Time) float64 { return i.ScoreWith(DefaultDecay(i.Type), now) }

// ScoreWith returns the decayed score at now under p. A revoked indicator
// scores 0; parameters without a positive Tau and Delta do not decay.
func (i Indicator) ScoreWith(p DecayParams, now time.Time) float64 {
	if i.Revoked {
		return 0
	}
	base := float64(i.Confidence)
	if p.Tau <= 0 || p.Delta <= 0 || math.IsNaN(p.Delta) {
		return base
	}
	ref := i.Modified
	if i.LastSeen.After(ref) {
		ref = i.LastSeen
	}
	t := now.Sub(ref)
	if t <= 0 {
		return base
	}
	if t >= p.Tau {
		return 0
	}
	return base * (1 - math.Pow(float64(t)/float64(p.Tau), 1/p.Delta))
}

// Decayed reports whether the indicator has expired at now: it is revoked,
// its ValidUntil has passed, or its score fell below the threshold of its
// type.
func (i Indicator) Decayed(now time.Time) bool {
	return i.DecayedWith(DefaultDecay(i.Type), now)
}

// DecayedWith is Decayed under the parameters p.
func (i Indicator) DecayedWith(p DecayParams, now time.Time) bool {
	if i.Revoked || (!i.ValidUntil.IsZero() && !now.Before(i.ValidUntil)) {
		return true
	}
	return i.ScoreWith(p, now) < p.Threshold
}
