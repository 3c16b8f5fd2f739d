package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// EncodingVersion is the version ("v") of the flowfed JSON encoding of
// indicators and sightings written by Encode.
const EncodingVersion = 1

// MaxEncodedLen bounds the input of DecodeIndicator and DecodeSighting.
const MaxEncodedLen = 16 << 20

// The flowfed encoding is JSON with a fixed member order, times in RFC 3339
// UTC with nanoseconds, empty members left out and source objects
// compacted: equal values encode to equal bytes, so stored records can be
// compared and hashed as they are.

type sourceWire struct {
	Format   Format          `json:"format"`
	ID       string          `json:"id,omitempty"`
	Event    string          `json:"event,omitempty"`
	Parent   string          `json:"parent,omitempty"`
	Org      string          `json:"org,omitempty"`
	Modified string          `json:"modified,omitempty"`
	Version  uint32          `json:"version,omitempty"`
	Raw      json.RawMessage `json:"raw,omitempty"`
}

type indicatorWire struct {
	V             int          `json:"v"`
	ID            string       `json:"id"`
	Type          Type         `json:"type"`
	Value         string       `json:"value"`
	Original      string       `json:"original,omitempty"`
	Canon         int          `json:"canon"`
	Name          string       `json:"name,omitempty"`
	Description   string       `json:"description,omitempty"`
	Labels        []string     `json:"labels,omitempty"`
	Confidence    int          `json:"confidence"`
	ValidFrom     string       `json:"valid_from,omitempty"`
	ValidUntil    string       `json:"valid_until,omitempty"`
	FirstSeen     string       `json:"first_seen,omitempty"`
	LastSeen      string       `json:"last_seen,omitempty"`
	Created       string       `json:"created,omitempty"`
	Modified      string       `json:"modified,omitempty"`
	Origin        string       `json:"origin,omitempty"`
	OriginName    string       `json:"origin_name,omitempty"`
	Policy        usage.Policy `json:"policy"`
	SharingGroup  string       `json:"sharing_group,omitempty"`
	Informational bool         `json:"informational,omitempty"`
	Revoked       bool         `json:"revoked,omitempty"`
	Version       uint32       `json:"version,omitempty"`
	Sources       []sourceWire `json:"sources,omitempty"`
}

type sightingWire struct {
	V            int          `json:"v"`
	ID           string       `json:"id"`
	IndicatorID  string       `json:"indicator_id"`
	Count        int          `json:"count,omitempty"`
	FirstSeen    string       `json:"first_seen,omitempty"`
	LastSeen     string       `json:"last_seen,omitempty"`
	Observer     string       `json:"observer,omitempty"`
	ObserverName string       `json:"observer_name,omitempty"`
	Kind         SightingKind `json:"kind"`
	Created      string       `json:"created,omitempty"`
	Modified     string       `json:"modified,omitempty"`
	ObservedData []string     `json:"observed_data,omitempty"`
	Policy       usage.Policy `json:"policy"`
	Sources      []sourceWire `json:"sources,omitempty"`
}

// inYearRange reports whether t is within the years RFC 3339 can write
// (1 to 9999, in UTC).
func inYearRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func unwireTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !inYearRange(t) {
		return time.Time{}, fmt.Errorf("%s %q: %w", field, clip(s), ErrMalformed)
	}
	return t.UTC(), nil
}

func wireSources(ss []Source) []sourceWire {
	out := make([]sourceWire, len(ss))
	for i, s := range ss {
		out[i] = sourceWire{Format: s.Format, ID: s.ID, Event: s.Event, Parent: s.Parent, Org: s.Org,
			Modified: wireTime(s.Modified), Version: s.Version}
		if len(s.Raw) > 0 {
			out[i].Raw = compact(s.Raw)
		}
	}
	return out
}

func unwireSources(ws []sourceWire) ([]Source, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	out := make([]Source, len(ws))
	for i, w := range ws {
		mod, err := unwireTime("source modified", w.Modified)
		if err != nil {
			return nil, err
		}
		if w.Format != FormatSTIX && w.Format != FormatMISP {
			return nil, fmt.Errorf("source format %q: %w", clip(string(w.Format)), ErrMalformed)
		}
		var raw json.RawMessage
		if len(w.Raw) > 0 {
			if b := bytes.TrimSpace(w.Raw); len(b) == 0 || b[0] != '{' {
				return nil, fmt.Errorf("source raw object: %w: not a JSON object", ErrMalformed)
			}
			raw = compact(w.Raw)
		}
		out[i] = Source{Format: w.Format, ID: w.ID, Event: w.Event, Parent: w.Parent, Org: w.Org, Modified: mod, Version: w.Version, Raw: raw}
	}
	return out, nil
}

// encodeJSON marshals v without HTML escaping and without the final
// newline.
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// decodeStrict decodes one JSON value into v, refusing unknown members and
// trailing data.
func decodeStrict(data []byte, v any) error {
	if len(data) > MaxEncodedLen {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(data), MaxEncodedLen)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	return nil
}

// Encode returns the flowfed JSON encoding of the indicator, as storage
// keeps it. It does not validate; DecodeIndicator does.
func (i Indicator) Encode() []byte {
	w := indicatorWire{V: EncodingVersion, ID: i.ID, Type: i.Type, Value: i.Value, Original: i.Original, Canon: i.Canon,
		Name: i.Name, Description: i.Description, Labels: i.Labels, Confidence: i.Confidence,
		ValidFrom: wireTime(i.ValidFrom), ValidUntil: wireTime(i.ValidUntil), FirstSeen: wireTime(i.FirstSeen),
		LastSeen: wireTime(i.LastSeen), Created: wireTime(i.Created), Modified: wireTime(i.Modified),
		Origin: i.Origin, OriginName: i.OriginName, Policy: i.Policy, SharingGroup: i.SharingGroup,
		Informational: i.Informational, Revoked: i.Revoked, Version: i.Version, Sources: wireSources(i.Sources)}
	if len(w.Sources) == 0 {
		w.Sources = nil
	}
	return encodeJSON(w)
}

// DecodeIndicator reads the encoding written by Encode. It refuses unknown
// members, another encoding version, and indicators that do not pass
// Validate; errors wrap ErrMalformed, ErrTooLarge or ErrInvalid.
func DecodeIndicator(data []byte) (Indicator, error) {
	var w indicatorWire
	if err := decodeStrict(data, &w); err != nil {
		return Indicator{}, fmt.Errorf("decoding indicator: %w", err)
	}
	if w.V != EncodingVersion {
		return Indicator{}, fmt.Errorf("decoding indicator: %w: encoding version %d (want %d)", ErrMalformed, w.V, EncodingVersion)
	}
	ind := Indicator{ID: w.ID, Type: w.Type, Value: w.Value, Original: w.Original, Canon: w.Canon, Name: w.Name,
		Description: w.Description, Labels: slices.Clone(w.Labels), Confidence: w.Confidence, Origin: w.Origin,
		OriginName: w.OriginName, Policy: w.Policy.Normalize(), SharingGroup: w.SharingGroup,
		Informational: w.Informational, Revoked: w.Revoked, Version: w.Version}
	times := []struct {
		name string
		s    string
		t    *time.Time
	}{
		{"valid_from", w.ValidFrom, &ind.ValidFrom}, {"valid_until", w.ValidUntil, &ind.ValidUntil},
		{"first_seen", w.FirstSeen, &ind.FirstSeen}, {"last_seen", w.LastSeen, &ind.LastSeen},
		{"created", w.Created, &ind.Created}, {"modified", w.Modified, &ind.Modified},
	}
	for _, x := range times {
		t, err := unwireTime(x.name, x.s)
		if err != nil {
			return Indicator{}, fmt.Errorf("decoding indicator: %w", err)
		}
		*x.t = t
	}
	if !w.Policy.RetainUntil.IsZero() && !inYearRange(w.Policy.RetainUntil) {
		return Indicator{}, fmt.Errorf("decoding indicator: %w: retain_until out of range", ErrMalformed)
	}
	if ind.Canon != CanonVersion {
		return Indicator{}, fmt.Errorf("decoding indicator: %w: canonical form version %d (this build has %d; canonicalise again)", ErrInvalid, ind.Canon, CanonVersion)
	}
	srcs, err := unwireSources(w.Sources)
	if err != nil {
		return Indicator{}, fmt.Errorf("decoding indicator: %w", err)
	}
	ind.Sources = srcs
	if err := ind.Validate(); err != nil {
		return Indicator{}, fmt.Errorf("decoding indicator: %w", err)
	}
	return ind, nil
}

// MarshalJSON writes the flowfed encoding (see Encode).
func (i Indicator) MarshalJSON() ([]byte, error) { return i.Encode(), nil }

// UnmarshalJSON reads the flowfed encoding (see DecodeIndicator).
func (i *Indicator) UnmarshalJSON(b []byte) error {
	v, err := DecodeIndicator(b)
	if err != nil {
		return err
	}
	*i = v
	return nil
}

// Encode returns the flowfed JSON encoding of the sighting.
func (s Sighting) Encode() []byte {
	w := sightingWire{V: EncodingVersion, ID: s.ID, IndicatorID: s.IndicatorID, Count: s.Count,
		FirstSeen: wireTime(s.FirstSeen), LastSeen: wireTime(s.LastSeen), Observer: s.Observer,
		ObserverName: s.ObserverName, Kind: s.Kind, Created: wireTime(s.Created), Modified: wireTime(s.Modified),
		ObservedData: s.ObservedData, Policy: s.Policy, Sources: wireSources(s.Sources)}
	if len(w.Sources) == 0 {
		w.Sources = nil
	}
	return encodeJSON(w)
}

// DecodeSighting reads the encoding written by Sighting.Encode, as strictly
// as DecodeIndicator.
func DecodeSighting(data []byte) (Sighting, error) {
	var w sightingWire
	if err := decodeStrict(data, &w); err != nil {
		return Sighting{}, fmt.Errorf("decoding sighting: %w", err)
	}
	if w.V != EncodingVersion {
		return Sighting{}, fmt.Errorf("decoding sighting: %w: encoding version %d (want %d)", ErrMalformed, w.V, EncodingVersion)
	}
	s := Sighting{ID: w.ID, IndicatorID: w.IndicatorID, Count: w.Count, Observer: w.Observer, ObserverName: w.ObserverName,
		Kind: w.Kind, ObservedData: slices.Clone(w.ObservedData), Policy: w.Policy.Normalize()}
	times := []struct {
		name string
		s    string
		t    *time.Time
	}{
		{"first_seen", w.FirstSeen, &s.FirstSeen}, {"last_seen", w.LastSeen, &s.LastSeen},
		{"created", w.Created, &s.Created}, {"modified", w.Modified, &s.Modified},
	}
	for _, x := range times {
		t, err := unwireTime(x.name, x.s)
		if err != nil {
			return Sighting{}, fmt.Errorf("decoding sighting: %w", err)
		}
		*x.t = t
	}
	if !w.Policy.RetainUntil.IsZero() && !inYearRange(w.Policy.RetainUntil) {
		return Sighting{}, fmt.Errorf("decoding sighting: %w: retain_until out of range", ErrMalformed)
	}
	srcs, err := unwireSources(w.Sources)
	if err != nil {
		return Sighting{}, fmt.Errorf("decoding sighting: %w", err)
	}
	s.Sources = srcs
	if err := s.Validate(); err != nil {
		return Sighting{}, fmt.Errorf("decoding sighting: %w", err)
	}
	return s, nil
}

// MarshalJSON writes the flowfed encoding (see Sighting.Encode).
func (s Sighting) MarshalJSON() ([]byte, error) { return s.Encode(), nil }

// UnmarshalJSON reads the flowfed encoding (see DecodeSighting).
func (s *Sighting) UnmarshalJSON(b []byte) error {
	v, err := DecodeSighting(b)
	if err != nil {
		return err
	}
	*s = v
	return nil
}
