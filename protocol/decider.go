package protocol

import (
	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Decision is the outcome of an egress check: whether peer may receive an
// envelope, and the rule and reason that say why, for the audit trail.
type Decision struct {
	Allow  bool
	Rule   string
	Reason string
	// Envelope, when set on an allowing decision, is sent instead of the
	// envelope decided on: the publisher's version of the same artifact,
	// sequence number and version for this requester (re-pseudonymized
	// into its domain, minimised, or with a narrower usage policy), signed
	// by the publisher again.
	Envelope *Envelope
}

// Decider is the single policy hook on egress: the Service asks it for every
// envelope before sending it to a peer, so that a peer only ever receives what
// it may see. The Service has already checked that the peer is a member.
// Decide must be safe for concurrent use. An error withholds the envelope
// (fail closed) and is counted like a denial.
type Decider interface {
	Decide(p peer.ID, e *Envelope) (Decision, error)
}

// DefaultDecider lets members receive artifacts labelled TLP:CLEAR, GREEN and
// AMBER, and never RED or AMBER+STRICT (which do not leave the organisation);
// an invalid label counts as RED. It is the decider used when Config.Decider
// is nil, until a full policy engine is plugged in.
type DefaultDecider struct{}

// Decide implements Decider.
func (DefaultDecider) Decide(_ peer.ID, e *Envelope) (Decision, error) {
	switch e.Usage.TLP {
	case usage.Clear, usage.Green, usage.Amber:
		return Decision{Allow: true, Rule: "default.tlp", Reason: "TLP:" + e.Usage.TLP.String() + " may go to members"}, nil
	case usage.AmberStrict:
		return Decision{Rule: "default.tlp", Reason: "TLP:AMBER+STRICT stays within the organisation"}, nil
	}
	return Decision{Rule: "default.tlp", Reason: "TLP:RED (or an unknown label) is never shared"}, nil
}
