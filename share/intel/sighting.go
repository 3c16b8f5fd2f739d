package intel

import (
	"fmt"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// SightingKind says what a sighting reports.
type SightingKind uint8

// Sighting kinds, as MISP has them (sighting types 0, 1, 2).
const (
	SightingSeen          SightingKind = iota // the value was seen
	SightingFalsePositive                     // the value was seen and is benign
	SightingExpiration                        // the value should no longer be used
)

var sightingKindNames = [...]string{"seen", "false-positive", "expiration"}

// String returns "seen", "false-positive" or "expiration".
func (k SightingKind) String() string {
	if int(k) < len(sightingKindNames) {
		return sightingKindNames[k]
	}
	return "seen"
}

// ParseSightingKind reads a kind name.
func ParseSightingKind(s string) (SightingKind, error) {
	for i, n := range sightingKindNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return SightingKind(i), nil
		}
	}
	return SightingSeen, fmt.Errorf("sighting kind %q: %w", s, ErrMalformed)
}

// MarshalText writes the kind name.
func (k SightingKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind name.
func (k *SightingKind) UnmarshalText(b []byte) error {
	v, err := ParseSightingKind(string(b))
	*k = v
	return err
}

// Sighting reports that an observer saw an indicator's value Count times
// between FirstSeen and LastSeen. Anyone may send sightings of anyone's
// indicators; the observer may be anonymous.
type Sighting struct {
	// ID is stable: SightingID for sightings made in flowfed, or
	// "sighting--" and the UUID the source gave it.
	ID string
	// IndicatorID is the flowfed id of the sighted indicator. When the
	// sighted object is not an indicator flowfed models (a STIX malware, a
	// MISP comment attribute), it is that object's id as the source gave it
	// (a STIX id, a MISP attribute UUID).
	IndicatorID string
	// Count is how often the value was seen; 0 when the source does not
	// say.
	Count int
	// FirstSeen and LastSeen bound the sighting; LastSeen is not before
	// FirstSeen.
	FirstSeen time.Time
	LastSeen  time.Time
	// Observer identifies who saw it ("identity--<uuid>"), "" when
	// anonymous; ObserverName is its display name.
	Observer     string
	ObserverName string
	Kind         SightingKind
	// Created and Modified are the times of the sighting record.
	Created  time.Time
	Modified time.Time
	// ObservedData are the STIX observed-data ids the sighting refers to.
	ObservedData []string
	// Policy is the sticky usage policy of the sighting.
	Policy usage.Policy
	// Sources are the objects the sighting was read from.
	Sources []Source
}

// NewSighting returns a sighting made in flowfed with its deterministic id
// (SightingID), created and modified at last.
func NewSighting(indicatorID, observer string, kind SightingKind, first, last time.Time, count int) Sighting {
	first, last = first.UTC(), last.UTC()
	return Sighting{
		ID:          SightingID(indicatorID, observer, kind, first),
		IndicatorID: indicatorID,
		Count:       count,
		FirstSeen:   first,
		LastSeen:    last,
		Observer:    observer,
		Kind:        kind,
		Created:     last,
		Modified:    last,
		Policy:      usage.Default(),
	}
}

// Validate checks the sighting: an id and an indicator id, a count that
// is not negative, LastSeen not before FirstSeen, Modified not before
// Created. Errors wrap ErrInvalid.
func (s Sighting) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", s.ID, ErrInvalid, fmt.Sprintf(format, args...))
	}
	if typ, _, ok := splitSTIXID(s.ID); !ok || typ != "sighting" {
		return bad("id is not of the form sighting--<uuid>")
	}
	if s.IndicatorID == "" {
		return bad("no indicator id")
	}
	if s.Count < 0 {
		return bad("negative count %d", s.Count)
	}
	if !s.FirstSeen.IsZero() && !s.LastSeen.IsZero() && s.LastSeen.Before(s.FirstSeen) {
		return bad("last_seen %s is before first_seen %s: %v", stamp(s.LastSeen), stamp(s.FirstSeen), ErrTimeOrder)
	}
	if !s.Created.IsZero() && s.Modified.Before(s.Created) {
		return bad("modified %s is before created %s: %v", stamp(s.Modified), stamp(s.Created), ErrTimeOrder)
	}
	if s.Kind > SightingExpiration {
		return bad("unknown kind %d", s.Kind)
	}
	for _, src := range s.Sources {
		if src.Format != FormatSTIX && src.Format != FormatMISP {
			return bad("source %q has unknown format %q", src.ID, src.Format)
		}
	}
	return nil
}
