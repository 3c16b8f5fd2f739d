// Package usage holds the sticky usage policy that travels with every shared
// artifact (dataset, indicator, sighting, tombstone): the TLP 2.0 label, PAP,
// purposes, legal basis, retention, reshare scope and minimum aggregation. It
// parses the labels found in STIX, MISP and policy files, treating anything
// unknown or unclear as the most restrictive value, and combines policies so
// that the result is never wider than any input.
package usage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrUnknownLabel is returned (wrapped) when a TLP, PAP or reshare label is not
// recognised. The value returned beside it is the most restrictive one.
var ErrUnknownLabel = errors.New("unknown label")

// TLP is a Traffic Light Protocol 2.0 label. Larger values are more restrictive.
type TLP uint8

// TLP 2.0 labels, from least to most restrictive.
const (
	Clear TLP = iota + 1
	Green
	Amber
	AmberStrict
	Red
)

var tlpNames = [...]string{Clear: "CLEAR", Green: "GREEN", Amber: "AMBER", AmberStrict: "AMBER+STRICT", Red: "RED"}

// String returns the TLP 2.0 name without prefix: "AMBER+STRICT".
func (t TLP) String() string {
	if t >= Clear && t <= Red {
		return tlpNames[t]
	}
	return "RED"
}

// Valid reports whether t is one of the five labels.
func (t TLP) Valid() bool { return t >= Clear && t <= Red }

// ParseTLP reads a TLP label in any of the spellings found in the wild:
// "TLP:AMBER+STRICT", "amber+strict", "tlp:white" (TLP 1.0, read as CLEAR),
// "TLP:AMBER_STRICT". Unknown or unclear labels ("tlp:unclear", "tlp:ex:chr",
// "") return Red and an error wrapping ErrUnknownLabel: an unclear label is
// never a permission.
func ParseTLP(s string) (TLP, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "TLP:")
	v = strings.TrimPrefix(v, "TLP_")
	v = strings.ReplaceAll(v, "_", "+")
	v = strings.ReplaceAll(v, " ", "")
	switch v {
	case "CLEAR", "WHITE":
		return Clear, nil
	case "GREEN":
		return Green, nil
	case "AMBER":
		return Amber, nil
	case "AMBER+STRICT":
		return AmberStrict, nil
	case "RED":
		return Red, nil
	}
	return Red, fmt.Errorf("TLP label %q: %w (treated as RED)", s, ErrUnknownLabel)
}

// MarshalText writes the TLP 2.0 name.
func (t TLP) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a label with ParseTLP and fails on unknown labels.
func (t *TLP) UnmarshalText(b []byte) error {
	v, err := ParseTLP(string(b))
	*t = v
	return err
}

// PAP is a Permissible Actions Protocol label. Larger values are more restrictive.
type PAP uint8

// PAP labels, from least to most restrictive.
const (
	PAPClear PAP = iota + 1
	PAPGreen
	PAPAmber
	PAPRed
)

var papNames = [...]string{PAPClear: "CLEAR", PAPGreen: "GREEN", PAPAmber: "AMBER", PAPRed: "RED"}

// String returns the PAP name without prefix: "AMBER".
func (p PAP) String() string {
	if p >= PAPClear && p <= PAPRed {
		return papNames[p]
	}
	return "RED"
}

// Valid reports whether p is one of the four labels.
func (p PAP) Valid() bool { return p >= PAPClear && p <= PAPRed }

// ParsePAP reads "PAP:GREEN", "pap:white" (read as CLEAR) and the like.
// Unknown labels return PAPRed and an error wrapping ErrUnknownLabel.
func ParsePAP(s string) (PAP, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "PAP:")
	switch v {
	case "CLEAR", "WHITE":
		return PAPClear, nil
	case "GREEN":
		return PAPGreen, nil
	case "AMBER":
		return PAPAmber, nil
	case "RED":
		return PAPRed, nil
	}
	return PAPRed, fmt.Errorf("PAP label %q: %w (treated as RED)", s, ErrUnknownLabel)
}

// MarshalText writes the PAP name.
func (p PAP) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a label with ParsePAP and fails on unknown labels.
func (p *PAP) UnmarshalText(b []byte) error {
	v, err := ParsePAP(string(b))
	*p = v
	return err
}

// Reshare says how far a recipient may pass an artifact on. Larger values are
// more restrictive.
type Reshare uint8

// Reshare scopes, from widest to narrowest.
const (
	// ReshareCommunity: any member of the federation.
	ReshareCommunity Reshare = iota + 1
	// ReshareGroup: members of the sharing groups the recipient got it through.
	ReshareGroup
	// ReshareNone: the recipient keeps it to itself.
	ReshareNone
)

var reshareNames = [...]string{ReshareCommunity: "community", ReshareGroup: "group", ReshareNone: "none"}

// String returns "none", "group" or "community".
func (r Reshare) String() string {
	if r >= ReshareCommunity && r <= ReshareNone {
		return reshareNames[r]
	}
	return "none"
}

// ParseReshare reads "none", "group" or "community" (case-insensitive).
// Unknown values return ReshareNone and an error wrapping ErrUnknownLabel.
func ParseReshare(s string) (Reshare, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "community":
		return ReshareCommunity, nil
	case "group":
		return ReshareGroup, nil
	case "none", "no", "false":
		return ReshareNone, nil
	}
	return ReshareNone, fmt.Errorf("reshare %q: %w (want none, group or community)", s, ErrUnknownLabel)
}

// MarshalText writes the scope name.
func (r Reshare) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a scope with ParseReshare.
func (r *Reshare) UnmarshalText(b []byte) error {
	v, err := ParseReshare(string(b))
	*r = v
	return err
}

// Policy is the usage policy carried by an artifact and signed by its
// originator. The zero value of each field means "unset"; Normalize fills the
// safe defaults.
type Policy struct {
	TLP TLP `json:"tlp,omitempty"`
	PAP PAP `json:"pap,omitempty"`
	// Purposes are the purposes for which recipients may process the
	// artifact ("research", "detection", "incident-response"), lower case,
	// sorted, without duplicates.
	Purposes []string `json:"purposes"`
	// LegalBasis is the GDPR Art. 6 basis, e.g. "legitimate-interest".
	LegalBasis string `json:"legal_basis,omitempty"`
	// RetentionDays is how long a recipient may keep the artifact after it
	// was created; it is part of a dataset manifest, which has no clock.
	RetentionDays int `json:"retention_days,omitempty"`
	// RetainUntil is the absolute deadline, set when the artifact is sealed
	// for sending (created + RetentionDays, or earlier).
	RetainUntil time.Time `json:"retain_until,omitzero"`
	Reshare     Reshare   `json:"reshare,omitempty"`
	// KMin is the minimum number of distinct source hosts behind every
	// released group of an aggregate (0: no requirement).
	KMin int `json:"k_min,omitempty"`
}

// Defaults of Normalize: TLP:AMBER, purpose research, 180 days, no reshare.
const (
	DefaultTLP           = Amber
	DefaultPurpose       = "research"
	DefaultRetentionDays = 180
	DefaultReshare       = ReshareNone
)

// Default returns the safe default policy: TLP:AMBER, PAP:AMBER, purpose
// research, 180 days, no reshare.
func Default() Policy {
	return Policy{TLP: DefaultTLP, PAP: PAPAmber, Purposes: []string{DefaultPurpose}, RetentionDays: DefaultRetentionDays, Reshare: DefaultReshare}
}

// Normalize fills unset fields with the defaults and puts purposes in
// canonical form (lower case, sorted, unique).
func (p Policy) Normalize() Policy {
	d := Default()
	if !p.TLP.Valid() {
		p.TLP = d.TLP
	}
	if !p.PAP.Valid() {
		p.PAP = d.PAP
	}
	if p.Reshare < ReshareCommunity || p.Reshare > ReshareNone {
		p.Reshare = d.Reshare
	}
	if p.RetentionDays <= 0 && p.RetainUntil.IsZero() {
		p.RetentionDays = d.RetentionDays
	}
	p.Purposes = canonPurposes(p.Purposes)
	if len(p.Purposes) == 0 {
		p.Purposes = d.Purposes
	}
	if !p.RetainUntil.IsZero() {
		p.RetainUntil = p.RetainUntil.UTC()
	}
	return p
}

func canonPurposes(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Seal returns p with RetainUntil set for an artifact created at created:
// created + RetentionDays, or the existing RetainUntil when that is earlier.
func (p Policy) Seal(created time.Time) Policy {
	p = p.Normalize()
	if p.RetentionDays > 0 {
		until := created.UTC().Add(time.Duration(p.RetentionDays) * 24 * time.Hour)
		if p.RetainUntil.IsZero() || until.Before(p.RetainUntil) {
			p.RetainUntil = until
		}
	}
	return p
}

// Expired reports whether the artifact must be deleted at now.
func (p Policy) Expired(now time.Time) bool {
	return !p.RetainUntil.IsZero() && !now.Before(p.RetainUntil)
}

// Allows reports whether purpose is one of p's purposes.
func (p Policy) Allows(purpose string) bool {
	return slices.Contains(p.Purposes, strings.ToLower(strings.TrimSpace(purpose)))
}

// Combine returns the most restrictive policy of its inputs: the highest TLP
// and PAP, the purposes common to all, the earliest retention, the narrowest
// reshare scope and the largest k. The legal basis is kept when all inputs
// agree and is "mixed" otherwise. Combine of nothing is Default().
func Combine(ps ...Policy) Policy {
	if len(ps) == 0 {
		return Default()
	}
	out := ps[0].Normalize()
	for _, q := range ps[1:] {
		q = q.Normalize()
		out.TLP = max(out.TLP, q.TLP)
		out.PAP = max(out.PAP, q.PAP)
		out.Reshare = max(out.Reshare, q.Reshare)
		out.KMin = max(out.KMin, q.KMin)
		out.Purposes = intersect(out.Purposes, q.Purposes)
		if out.LegalBasis != q.LegalBasis {
			out.LegalBasis = "mixed"
		}
		switch {
		case out.RetentionDays == 0:
			out.RetentionDays = q.RetentionDays
		case q.RetentionDays > 0:
			out.RetentionDays = min(out.RetentionDays, q.RetentionDays)
		}
		switch {
		case out.RetainUntil.IsZero():
			out.RetainUntil = q.RetainUntil
		case !q.RetainUntil.IsZero() && q.RetainUntil.Before(out.RetainUntil):
			out.RetainUntil = q.RetainUntil
		}
	}
	return out
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// AtMostAsWide reports whether p is at least as restrictive as q in every
// field, so that sending under p never widens what q allows.
func (p Policy) AtMostAsWide(q Policy) bool {
	p, q = p.Normalize(), q.Normalize()
	if p.TLP < q.TLP || p.PAP < q.PAP || p.Reshare < q.Reshare || p.KMin < q.KMin {
		return false
	}
	for _, s := range p.Purposes {
		if !slices.Contains(q.Purposes, s) {
			return false
		}
	}
	if !q.RetainUntil.IsZero() && (p.RetainUntil.IsZero() || p.RetainUntil.After(q.RetainUntil)) {
		return false
	}
	if q.RetentionDays > 0 && (p.RetentionDays == 0 || p.RetentionDays > q.RetentionDays) && p.RetainUntil.IsZero() {
		return false
	}
	return true
}

// String summarises the policy: "TLP:AMBER PAP:AMBER purposes=research retain=180d reshare=none".
func (p Policy) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "TLP:%s PAP:%s purposes=%s", p.TLP, p.PAP, strings.Join(p.Purposes, ","))
	if p.LegalBasis != "" {
		fmt.Fprintf(&b, " basis=%s", p.LegalBasis)
	}
	if !p.RetainUntil.IsZero() {
		fmt.Fprintf(&b, " until=%s", p.RetainUntil.UTC().Format(time.RFC3339))
	} else if p.RetentionDays > 0 {
		fmt.Fprintf(&b, " retain=%dd", p.RetentionDays)
	}
	fmt.Fprintf(&b, " reshare=%s", p.Reshare)
	if p.KMin > 0 {
		fmt.Fprintf(&b, " k_min=%d", p.KMin)
	}
	return b.String()
}
