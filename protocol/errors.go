package protocol

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package that callers may branch
// on wraps one of them; test with errors.Is.
var (
	// ErrBadSignature is returned when an envelope, receipt or handshake message
	// is unsigned or its signature does not verify under the key embedded in the
	// signer's peer ID.
	ErrBadSignature = errors.New("bad signature")
	// ErrNotMember is returned when a peer is not a member of the federation:
	// before any stream is opened to it, when one of its streams arrives, when an
	// envelope names a non-member publisher, and when a peer refuses our
	// handshake because it does not count us as a member.
	ErrNotMember = errors.New("not a member of the federation")
	// ErrTooLarge is returned when a message, envelope, batch or chunk exceeds
	// its size limit (MaxMessage, MaxEnvelope, MaxBatchBytes, MaxChunk).
	ErrTooLarge = errors.New("too large")
	// ErrMalformed is returned for bytes or messages that do not decode, carry
	// out-of-range or non-canonical fields, or break the order of a protocol.
	ErrMalformed = errors.New("malformed message")
	// ErrReplay is returned for a handshake that does not echo our nonce, and
	// counted for envelopes at or below the cursor or out of seq order.
	ErrReplay = errors.New("replayed message")
	// ErrNotOriginator is returned when an envelope is sent by a peer other than
	// its publisher, or when a new version of an artifact is signed by anyone
	// but the artifact's originator (Backend.Accept returns it).
	ErrNotOriginator = errors.New("not the artifact's originator")

	// ErrNotFound is returned by Backend.Chunk for an unknown chunk, and by
	// Service.Fetch when the publisher has no such chunk.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate is returned by Backend.Accept for an envelope it already
	// holds; the Service ignores it.
	ErrDuplicate = errors.New("duplicate")
	// ErrRetryLater is returned (wrapped) by Backend.Accept when it could not
	// store an envelope for a local, temporary reason. Pull then stops before
	// that envelope without moving the cursor past it, so nothing is lost.
	ErrRetryLater = errors.New("cannot store now, retry later")
	// ErrHashMismatch is returned by Service.Fetch when the bytes received do not
	// hash to the requested content hash; the caller must discard them.
	ErrHashMismatch = errors.New("content hash mismatch")
	// ErrRefused is returned when a peer answers a well-formed request with a
	// refusal other than "not found" or "not a member".
	ErrRefused = errors.New("refused by peer")
	// ErrNoReshare is returned by OpenForward for an artifact forwarded by a
	// member although its originator's usage policy says reshare none.
	ErrNoReshare = errors.New("forwarded although its usage policy forbids resharing")
	// ErrClosed is returned by the methods of a closed Service.
	ErrClosed = errors.New("protocol service closed")
	// ErrQUICWithPSK is returned by NewHost when QUIC is asked for together
	// with a private-network key: libp2p private networks run over TCP only.
	ErrQUICWithPSK = errors.New("QUIC cannot be used with a private-network key (TCP only)")
)

// DeniedError is the egress decision that withheld an envelope from a peer.
type DeniedError struct {
	Rule   string
	Reason string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("denied by rule %s: %s", e.Rule, e.Reason)
}

// Rejection reasons, the keys of Stats.Rejected.
const (
	ReasonBadSignature  = "bad_signature"
	ReasonNotMember     = "not_member"
	ReasonTooLarge      = "too_large"
	ReasonMalformed     = "malformed"
	ReasonReplay        = "replay"
	ReasonPolicy        = "policy"
	ReasonNotOriginator = "not_originator"
	// ReasonRejected counts envelopes that Backend.Accept refused for another
	// reason (its own ingress checks).
	ReasonRejected = "rejected"
)

// reasons lists the rejection reasons in the order of Stats' counters.
var reasons = [...]string{
	ReasonBadSignature, ReasonNotMember, ReasonTooLarge, ReasonMalformed,
	ReasonReplay, ReasonPolicy, ReasonNotOriginator, ReasonRejected,
}

// reasonOf maps an error to the rejection reason it is counted under, or ""
// for errors that are no rejection (I/O, resets, cancellation).
func reasonOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrBadSignature):
		return ReasonBadSignature
	case errors.Is(err, ErrNotMember):
		return ReasonNotMember
	case errors.Is(err, ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	case errors.Is(err, ErrReplay):
		return ReasonReplay
	case errors.Is(err, ErrNotOriginator):
		return ReasonNotOriginator
	case errors.Is(err, ErrNoReshare):
		return ReasonPolicy
	}
	var d *DeniedError
	if errors.As(err, &d) {
		return ReasonPolicy
	}
	return ""
}
