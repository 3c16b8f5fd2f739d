package intel

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// Format names the source format of an object.
type Format string

// Source formats.
const (
	FormatSTIX Format = "stix" // STIX 2.1 (bundles, TAXII envelopes and collections)
	FormatMISP Format = "misp" // MISP core format (events, feeds)
)

// DefaultConfidence is the confidence given to indicators whose source does
// not state one (MISP attributes, STIX indicators without confidence): the
// middle of the 0-100 scale.
const DefaultConfidence = 50

// Indicator is a threat indicator: one canonical value of one type, with
// its validity, its originator and the usage policy that travels with it.
//
// Only the originator changes an indicator (see Apply); every change,
// including revocation and expiry, is a new version with a later Modified
// time. The sources it was read from are kept as provenance, with the
// source object as received, so that exporting to the same format again
// loses nothing.
type Indicator struct {
	// ID is IndicatorID(Type, Value): "indicator--<uuid>".
	ID string
	// Type and Value are canonical (see Canonicalize).
	Type  Type
	Value string
	// Original is the value as the first source wrote it, when that
	// differs from Value; exporters write it, so that values round-trip
	// byte for byte.
	Original string
	// Canon is the CanonVersion the value was canonicalised with.
	Canon int
	// Name and Description are free text (STIX name and description, MISP
	// comment).
	Name        string
	Description string
	// Labels are the labels or tags of the source, as written there,
	// including any TLP and PAP tags (the policy is derived from them).
	Labels []string
	// Confidence is 0-100.
	Confidence int
	// ValidFrom is when the indicator starts to be valid; ValidUntil, when
	// set, is after it and is when it stops.
	ValidFrom  time.Time
	ValidUntil time.Time
	// FirstSeen and LastSeen bound the observed activity (MISP first_seen
	// and last_seen), when known.
	FirstSeen time.Time
	LastSeen  time.Time
	// Created and Modified are the creation time and the time of this
	// version.
	Created  time.Time
	Modified time.Time
	// Origin identifies the originating organisation ("identity--<uuid>",
	// or whatever identifier the caller of Apply uses); OriginName is its
	// display name.
	Origin     string
	OriginName string
	// Policy is the sticky usage policy.
	Policy usage.Policy
	// SharingGroup is the MISP sharing group the indicator is limited to
	// (distribution 4): the group's UUID, or "id:<n>" when only its local
	// number is known.
	SharingGroup string
	// Informational marks values not meant for detection (MISP to_ids
	// false). The Matcher skips them.
	Informational bool
	// Revoked marks a tombstone: the originator withdrew the indicator.
	Revoked bool
	// Version counts the versions flowfed has applied: 0 for an indicator
	// fresh from an import, 1 once stored (Apply with no current version),
	// and one more for every later change.
	Version uint32
	// Sources are the objects the indicator was read from, oldest first.
	Sources []Source
}

// Source is one object an indicator or sighting was read from.
type Source struct {
	Format Format
	// ID is the object's id in its format: a STIX id, a MISP attribute or
	// sighting UUID.
	ID string
	// Event is the MISP event UUID, or the STIX bundle id or TAXII
	// collection id, the object came in.
	Event string
	// Parent is the UUID of the MISP object holding an attribute, or of
	// the attribute holding a MISP sighting.
	Parent string
	// Org identifies who created the object ("identity--<uuid>").
	Org string
	// Modified is the object's own version time (STIX modified, MISP
	// timestamp).
	Modified time.Time
	// Version is the indicator version this source was recorded at.
	// Exporters write an unchanged source (Version equal to the
	// indicator's) as received, and a changed one from the current fields.
	Version uint32
	// Raw is the object as received, compacted.
	Raw json.RawMessage
}

// same reports whether two sources denote the same object version.
func (s Source) same(o Source) bool {
	return s.Format == o.Format && s.ID == o.ID && s.Event == o.Event && s.Parent == o.Parent && s.Modified.Equal(o.Modified)
}

// NewIndicator canonicalises value and returns an indicator with its
// deterministic id, CanonVersion, the default confidence and, for the
// value as given when it differs from the canonical one, Original. The
// caller fills the rest.
func NewIndicator(t Type, value string) (Indicator, error) {
	ct, cv, err := Canonicalize(t, value)
	if err != nil {
		return Indicator{}, err
	}
	ind := Indicator{ID: IndicatorID(ct, cv), Type: ct, Value: cv, Canon: CanonVersion, Confidence: DefaultConfidence}
	if cv != value {
		ind.Original = value
	}
	return ind, nil
}

// Text returns the value as exporters write it: Original when set, else
// Value.
func (i Indicator) Text() string {
	if i.Original != "" {
		return i.Original
	}
	return i.Value
}

// Validate checks that the fields agree with each other: the id is derived
// from the canonical type and value, the confidence is 0-100, ValidUntil is
// after ValidFrom, LastSeen is not before FirstSeen, Modified is not before
// Created, and the TLP is one of the five labels. Errors wrap ErrInvalid.
func (i Indicator) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", i.ID, ErrInvalid, fmt.Sprintf(format, args...))
	}
	ct, cv, err := Canonicalize(i.Type, i.Value)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", i.ID, ErrInvalid, err)
	}
	if ct != i.Type || cv != i.Value {
		return bad("value %q of type %s is not canonical (want %s %q)", clip(i.Value), i.Type, ct, clip(cv))
	}
	if want := IndicatorID(i.Type, i.Value); i.ID != want {
		return bad("id is not derived from the value (want %s)", want)
	}
	if i.Original != "" {
		if ot, ov, err := Canonicalize(i.Type, i.Original); err != nil || ot != i.Type || ov != i.Value {
			return bad("original value %q does not canonicalise to the value", clip(i.Original))
		}
	}
	if i.Confidence < 0 || i.Confidence > 100 {
		return bad("confidence %d outside 0-100", i.Confidence)
	}
	if !i.ValidUntil.IsZero() && !i.ValidUntil.After(i.ValidFrom) {
		return bad("valid_until %s is not after valid_from %s: %v", stamp(i.ValidUntil), stamp(i.ValidFrom), ErrTimeOrder)
	}
	if !i.FirstSeen.IsZero() && !i.LastSeen.IsZero() && i.LastSeen.Before(i.FirstSeen) {
		return bad("last_seen %s is before first_seen %s: %v", stamp(i.LastSeen), stamp(i.FirstSeen), ErrTimeOrder)
	}
	if !i.Created.IsZero() && i.Modified.Before(i.Created) {
		return bad("modified %s is before created %s: %v", stamp(i.Modified), stamp(i.Created), ErrTimeOrder)
	}
	if !i.Policy.TLP.Valid() {
		return bad("no valid TLP")
	}
	for _, s := range i.Sources {
		if s.Format != FormatSTIX && s.Format != FormatMISP {
			return bad("source %q has unknown format %q", s.ID, s.Format)
		}
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Apply returns the next version of an indicator: update applied on top of
// current by the organisation by. With current nil the update is the first
// version: its Origin is by (or must equal by when set), and its Version 1.
// An imported indicator carries the creator organisation of its source as
// Origin ("identity--<uuid>"); storing it with that Origin as by keeps
// later versions from the same source applicable and everyone else's
// refused.
//
// Otherwise only the originator may change it (ErrNotOriginator), the
// update must have the same id (ErrIDMismatch), a revoked indicator stays
// revoked (ErrRevoked), and the update must be newer (ErrStale): a
// Modified time after the current one and, when it carries a Version, not
// an older Version (an update made from a copy of the current version
// carries the current Version). The result takes the update's fields,
// keeps Created, Origin and OriginName of the current version, gets
// Version current+1, and keeps every source of both (the update's recorded
// at the new version). The result is validated (ErrInvalid).
func Apply(current *Indicator, update Indicator, by string) (Indicator, error) {
	if by == "" {
		return Indicator{}, fmt.Errorf("applying %s: %w: no organisation given", update.ID, ErrNotOriginator)
	}
	next := update
	next.Labels = slices.Clone(update.Labels)
	if current == nil {
		if update.Origin != "" && update.Origin != by {
			return Indicator{}, fmt.Errorf("applying %s: %w: created by %s, submitted by %s", update.ID, ErrNotOriginator, update.Origin, by)
		}
		next.Origin = by
		next.Version = max(update.Version, 1)
		if next.Created.IsZero() {
			next.Created = next.Modified
		}
		next.Sources = nil
		next.Sources = mergeSources(nil, update.Sources, next.Version)
	} else {
		cur := *current
		if cur.Origin == "" || cur.Origin != by {
			return Indicator{}, fmt.Errorf("applying %s: %w: originator is %q, change by %q", cur.ID, ErrNotOriginator, cur.Origin, by)
		}
		if update.ID != cur.ID {
			return Indicator{}, fmt.Errorf("applying %s to %s: %w", update.ID, cur.ID, ErrIDMismatch)
		}
		if update.Origin != "" && update.Origin != cur.Origin {
			return Indicator{}, fmt.Errorf("applying %s: %w: update claims originator %q", cur.ID, ErrNotOriginator, update.Origin)
		}
		if cur.Revoked {
			return Indicator{}, fmt.Errorf("applying %s: %w", cur.ID, ErrRevoked)
		}
		if update.Version != 0 && update.Version < cur.Version {
			return Indicator{}, fmt.Errorf("applying %s: %w: version %d, current %d", cur.ID, ErrStale, update.Version, cur.Version)
		}
		if !update.Modified.After(cur.Modified) {
			return Indicator{}, fmt.Errorf("applying %s: %w: modified %s, current %s", cur.ID, ErrStale, stamp(update.Modified), stamp(cur.Modified))
		}
		next.Origin, next.OriginName = cur.Origin, cur.OriginName
		if next.OriginName == "" {
			next.OriginName = update.OriginName
		}
		next.Created = cur.Created
		next.Version = cur.Version + 1
		next.Sources = mergeSources(cur.Sources, update.Sources, next.Version)
	}
	if next.Canon == 0 {
		next.Canon = CanonVersion
	}
	if err := next.Validate(); err != nil {
		return Indicator{}, fmt.Errorf("applying %s: %w", update.ID, err)
	}
	return next, nil
}

// mergeSources appends the sources of add not already in base, recorded at
// version v.
func mergeSources(base, add []Source, v uint32) []Source {
	out := slices.Clone(base)
	for _, s := range add {
		dup := false
		for _, b := range out {
			if b.same(s) {
				dup = true
				break
			}
		}
		if !dup {
			s.Version = v
			out = append(out, s)
		}
	}
	return out
}

// Revoke returns the tombstone version of current: Revoked set, Modified
// at, the reason appended to the description. Only the originator may
// revoke; at must be after the current Modified time.
func Revoke(current Indicator, by string, at time.Time, reason string) (Indicator, error) {
	next := current
	next.Revoked = true
	next.Modified = at.UTC()
	next.Version = 0
	next.Sources = nil
	if reason = strings.TrimSpace(reason); reason != "" {
		if next.Description != "" {
			next.Description += "\n"
		}
		next.Description += "Revoked: " + reason
	}
	return Apply(&current, next, by)
}

// Expire returns the version of current that stops being valid at: its
// ValidUntil set to at (which must be after ValidFrom) and Modified to
// now, which must be after the current Modified time. Only the originator
// may expire an indicator.
func Expire(current Indicator, by string, at, now time.Time) (Indicator, error) {
	next := current
	next.ValidUntil = at.UTC()
	next.Modified = now.UTC()
	next.Version = 0
	next.Sources = nil
	return Apply(&current, next, by)
}

// Link returns current with the sources of other added as provenance: the
// same value posted again, under another event or by another organisation.
// It changes no field of current (only Apply by the originator does) but
// its usage policy, which becomes the most restrictive of both: the linked
// sources travel with the indicator, so a TLP:RED source makes it RED
// whichever came first. The ids must be equal (ErrIDMismatch).
func Link(current, other Indicator) (Indicator, error) {
	if current.ID != other.ID {
		return Indicator{}, fmt.Errorf("linking %s to %s: %w", other.ID, current.ID, ErrIDMismatch)
	}
	current.Policy = usage.Combine(current.Policy, other.Policy)
	// Sources of another version keep the version they were recorded at,
	// which is not the current one, so that exporters treat them as
	// provenance of an older state.
	out := current
	out.Sources = slices.Clone(current.Sources)
	for _, s := range other.Sources {
		dup := false
		for _, b := range out.Sources {
			if b.same(s) {
				dup = true
				break
			}
		}
		if !dup {
			out.Sources = append(out.Sources, s)
		}
	}
	return out, nil
}

// Live reports whether the indicator should be used for detection at now:
// not revoked, valid at now (ValidFrom not after now, ValidUntil after
// now) and not decayed.
func (i Indicator) Live(now time.Time) bool {
	if i.Revoked || (!i.ValidFrom.IsZero() && now.Before(i.ValidFrom)) {
		return false
	}
	return !i.Decayed(now)
}
