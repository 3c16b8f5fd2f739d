package intel

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test for them with errors.Is; the errors returned by this
// package wrap them with the context of the failed step (the object id, the
// field, the offending value).
var (
	// ErrNotOriginator is returned by Apply, Revoke and Expire when the
	// organisation making a change is not the one that created the
	// indicator. Others send sightings or proposals instead.
	ErrNotOriginator = errors.New("only the originator may change an indicator")

	// ErrStale is returned by Apply when the update is not newer than the
	// current version: its Version is not above the current one, or its
	// Modified time is not after the current Modified time.
	ErrStale = errors.New("update is not newer than the current version")

	// ErrRevoked is returned by Apply for an update of a revoked indicator.
	// A revocation is final; a new indicator needs a new value.
	ErrRevoked = errors.New("indicator is revoked")

	// ErrIDMismatch is returned by Apply and Link when the two indicators
	// do not have the same id (another type or canonical value).
	ErrIDMismatch = errors.New("indicator ids differ")

	// ErrInvalid is returned by Validate, Apply and the decoders for an
	// indicator or sighting whose fields contradict each other: an id that
	// is not derived from its value, a value that is not canonical, a
	// confidence outside 0-100, times out of order.
	ErrInvalid = errors.New("invalid indicator")

	// ErrUnsupportedType is returned by ParseType and Canonicalize for an
	// indicator type flowfed does not model.
	ErrUnsupportedType = errors.New("unsupported indicator type")

	// ErrInvalidValue is returned by Canonicalize for a value that is not a
	// valid instance of its type (an IPv4 address with five octets, a
	// hash of the wrong length, a domain with an empty label).
	ErrInvalidValue = errors.New("invalid indicator value")

	// ErrPatternSyntax is returned by ParsePattern for text that is not a
	// STIX 2.1 pattern. The message names the byte offset.
	ErrPatternSyntax = errors.New("STIX pattern syntax error")

	// ErrUnsupportedPattern is returned by Pattern.Observables (and reported
	// by the importers) for a valid pattern that flowfed cannot evaluate as
	// a set of indicator values: qualifiers, FOLLOWEDBY, AND across
	// different values, operators other than equality, object paths it does
	// not model, and pattern languages other than STIX.
	ErrUnsupportedPattern = errors.New("STIX pattern cannot be evaluated")

	// ErrMalformed is returned or reported for input that is not valid JSON
	// or does not have the shape of the format: a bundle without objects, a
	// MISP event without a UUID, a field of the wrong JSON type.
	ErrMalformed = errors.New("malformed input")

	// ErrUnknownType is reported for a STIX object whose type is neither a
	// STIX 2.1 type nor a custom ("x-") type. The object is not imported.
	ErrUnknownType = errors.New("unknown object type")

	// ErrTimeOrder is reported for times that are out of order in the
	// source (a MISP last_seen before first_seen, a STIX valid_until not
	// after valid_from, a sighting whose last_seen precedes first_seen).
	// The object is imported without the offending bound and no exporter
	// ever writes such an order.
	ErrTimeOrder = errors.New("times out of order")

	// ErrTooLarge is returned when an input exceeds the size limit of
	// ImportOptions.MaxBytes.
	ErrTooLarge = errors.New("input too large")

	// ErrNotPrefixPreserving is returned by NewMatcher for CIDR indicators
	// when the address mapper is not prefix-preserving: only then does a
	// network's pseudonym prefix cover the pseudonyms of its members.
	ErrNotPrefixPreserving = errors.New("CIDR matching needs a prefix-preserving address mapper")

	// ErrExport is returned by the exporters when the objects cannot be
	// written in the requested form (several MISP events for one event
	// file, an invalid event UUID for a feed file name).
	ErrExport = errors.New("cannot export")
)

// Problem reports one object of an import that was not imported, or was
// imported only in part. ObjectID is the object's id in its source (a STIX
// id, a MISP attribute or event UUID) or, when the object has none, its
// position ("objects[3]").
type Problem struct {
	ObjectID string
	Err      error
}

// Error implements error.
func (p Problem) Error() string {
	if p.ObjectID == "" {
		return p.Err.Error()
	}
	return fmt.Sprintf("%s: %v", p.ObjectID, p.Err)
}

// Unwrap returns the underlying error, so errors.Is(p, ErrTimeOrder) works.
func (p Problem) Unwrap() error { return p.Err }
