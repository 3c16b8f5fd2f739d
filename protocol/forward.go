package protocol

import (
	"fmt"
	"strings"

	"github.com/flowfed/flowfed/share/usage"
)

// KindForward is the kind of an envelope in which a member passes on an
// artifact it received (resharing). Its payload is the originator's envelope
// exactly as signed, so the artifact keeps its originator, sequence number,
// version and sticky usage policy; the forwarding envelope is signed by the
// member that forwards and travels in that member's own sequence. Its usage
// policy is the one the forwarder attaches, never wider than the inner one:
// the recipient keeps the narrower of the two (usage.Combine).
const KindForward = "forward"

// forwardPrefix starts the artifact ID of a forwarding envelope, followed by
// the ID of the artifact it carries.
const forwardPrefix = "forward:"

// ForwardID is the artifact ID of the forwarding envelope of artifact id.
func ForwardID(id string) string { return forwardPrefix + id }

// ForwardedID returns the artifact ID a forwarding envelope's ID names, and
// whether id names one.
func ForwardedID(id string) (string, bool) { return strings.CutPrefix(id, forwardPrefix) }

// ForwardPolicy returns the usage policy a recipient keeps for an artifact
// that came in forwarding envelope outer: the more restrictive of the
// originator's (inner) and the forwarder's.
func ForwardPolicy(inner, outer usage.Policy) usage.Policy {
	return usage.Combine(inner, outer)
}

// OpenForward returns the originator's envelope inside forwarding envelope e,
// verified: it must be well formed and signed by its publisher, not itself a
// forwarding envelope, not published by e's publisher (who would simply have
// published it), carry the matching artifact ID and version, and allow
// resharing. Errors wrap ErrMalformed, ErrBadSignature, ErrTooLarge or
// ErrNoReshare.
func OpenForward(e *Envelope) (Envelope, error) {
	if e.Kind != KindForward {
		return Envelope{}, fmt.Errorf("envelope of kind %q is not a forwarding envelope: %w", e.Kind, ErrMalformed)
	}
	inner, err := UnmarshalEnvelope(e.Payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("forwarded envelope: %w", err)
	}
	if err := inner.Verify(); err != nil {
		return Envelope{}, fmt.Errorf("forwarded envelope: %w", err)
	}
	switch {
	case inner.Kind == KindForward:
		return Envelope{}, fmt.Errorf("forwarding envelope inside a forwarding envelope: %w", ErrMalformed)
	case inner.Publisher == e.Publisher:
		return Envelope{}, fmt.Errorf("%s forwards its own artifact %s: %w", e.Publisher, inner.ArtifactID, ErrMalformed)
	case ForwardID(inner.ArtifactID) != e.ArtifactID || inner.Version != e.Version:
		return Envelope{}, fmt.Errorf("forwarding envelope %s v%d carries %s v%d: %w", e.ArtifactID, e.Version, inner.ArtifactID, inner.Version, ErrMalformed)
	case inner.Usage.Reshare == usage.ReshareNone:
		return Envelope{}, fmt.Errorf("%s %s of %s forwarded by %s although its usage policy says reshare none: %w",
			inner.Kind, inner.ArtifactID, inner.Publisher, e.Publisher, ErrNoReshare)
	}
	return inner, nil
}
