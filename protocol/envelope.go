package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Artifact kinds carried by envelopes. Other kinds are allowed; see Envelope.
const (
	KindDataset   = "dataset"
	KindIndicator = "indicator"
	KindSighting  = "sighting"
	KindTombstone = "tombstone"
)

// Limits of envelope fields.
const (
	// MaxEnvelope is the largest marshalled envelope: a message of at most
	// MaxMessage bytes must hold one envelope plus its framing.
	MaxEnvelope = MaxMessage - 4096
	// MaxKind is the longest kind name.
	MaxKind = 32
	// MaxArtifactID is the longest artifact ID, in bytes.
	MaxArtifactID = 256
	// maxPurposes and maxLabel bound the usage policy's lists and strings.
	maxPurposes = 32
	maxLabel    = 128
	// maxRetentionDays is a retention of about 100 years.
	maxRetentionDays = 36600
	maxKMin          = 1 << 30
	signatureSize    = 64 // Ed25519
)

// Domain-separation prefixes of everything this package signs or hashes, so
// that no signed byte string can be mistaken for another kind.
const (
	envelopePrefix = "flowfed/envelope/v1\x00"
	receiptPrefix  = "flowfed/receipt/v1\x00"
	batchPrefix    = "flowfed/batch/v1\x00"
	helloPrefix    = "flowfed/hello/v1\x00"
)

// Envelope is a signed artifact: every dataset manifest, indicator, sighting
// and tombstone travels in one, signed by its publisher's node key.
//
// The signature covers a canonical encoding of every field but Signature
// (domain-separated, length-prefixed, independent of protobuf), so ArtifactID,
// Version, Publisher and Seq cannot be changed without breaking it.
type Envelope struct {
	// Kind is "dataset", "indicator", "sighting", "tombstone" or another
	// lower-case name of 1 to MaxKind characters [a-z0-9._-].
	Kind string
	// ArtifactID is the stable ID of the artifact; all its versions share it.
	ArtifactID string
	// Version orders the versions of one artifact, from 1; a higher version
	// replaces a lower one, and only when both have the same Publisher.
	Version uint64
	// Payload holds the kind-specific bytes (dataset manifest, indicator JSON).
	Payload []byte
	// Publisher is the node that signed the envelope; Seal sets it.
	Publisher peer.ID
	// Seq numbers the publisher's envelopes, from 1, strictly increasing.
	Seq uint64
	// Created is when the envelope was sealed, with nanosecond precision, UTC.
	Created time.Time
	// Usage is the sticky usage policy; Seal normalizes it and sets
	// RetainUntil from Created.
	Usage usage.Policy
	// Signature is the Ed25519 signature of the canonical encoding.
	Signature []byte
}

// Seal signs e with key and returns the signed copy. It sets Publisher from
// key, Created to the current time when it is zero, normalizes Usage and sets
// Usage.RetainUntil (usage.Policy.Seal). key must be an Ed25519 key, whose
// public half is inlined in the peer ID so that anyone can verify.
// Seal returns an error wrapping ErrMalformed or ErrTooLarge when e is not
// valid.
func Seal(key crypto.PrivKey, e Envelope) (Envelope, error) {
	if key == nil || key.Type() != crypto.Ed25519 {
		return Envelope{}, fmt.Errorf("sealing envelope: node key must be Ed25519: %w", ErrMalformed)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return Envelope{}, fmt.Errorf("sealing envelope: deriving peer ID: %w", err)
	}
	e.Publisher = id
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	e.Created = canonTime(e.Created)
	e.Usage = e.Usage.Seal(e.Created)
	if !e.Usage.RetainUntil.IsZero() {
		e.Usage.RetainUntil = canonTime(e.Usage.RetainUntil)
	}
	e.Payload = append([]byte(nil), e.Payload...)
	e.Signature = nil
	if err := e.validate(); err != nil {
		return Envelope{}, fmt.Errorf("sealing envelope: %w", err)
	}
	sig, err := key.Sign(e.signedBytes())
	if err != nil {
		return Envelope{}, fmt.Errorf("sealing envelope: signing: %w", err)
	}
	e.Signature = sig
	if n := e.wireSize(); n > MaxEnvelope {
		return Envelope{}, fmt.Errorf("sealing envelope: %d bytes, limit %d: %w", n, MaxEnvelope, ErrTooLarge)
	}
	return e, nil
}

// canonTime drops the monotonic reading and location and keeps nanoseconds, as
// the wire does.
func canonTime(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }

// Verify checks e's fields and its signature by the key embedded in
// Publisher. It returns an error wrapping ErrMalformed for invalid fields and
// ErrBadSignature for a missing or wrong signature.
func (e *Envelope) Verify() error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("verifying envelope: %w", err)
	}
	if len(e.Signature) != signatureSize {
		return fmt.Errorf("verifying envelope %s seq %d: unsigned: %w", e.ArtifactID, e.Seq, ErrBadSignature)
	}
	pub, err := e.Publisher.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("verifying envelope: publisher key: %w", ErrBadSignature)
	}
	ok, err := pub.Verify(e.signedBytes(), e.Signature)
	if err != nil || !ok {
		return fmt.Errorf("verifying envelope %s seq %d: %w", e.ArtifactID, e.Seq, ErrBadSignature)
	}
	return nil
}

// Digest returns the SHA-256 of the signed bytes: it names this exact signed
// content, independent of the signature and of the protobuf encoding.
func (e *Envelope) Digest() [32]byte { return sha256.Sum256(e.signedBytes()) }

// signedBytes is the canonical encoding covered by the signature.
func (e *Envelope) signedBytes() []byte {
	b := make([]byte, 0, len(envelopePrefix)+len(e.Payload)+len(e.Kind)+len(e.ArtifactID)+len(e.Publisher)+256)
	b = append(b, envelopePrefix...)
	b = appendString(b, e.Kind)
	b = appendString(b, e.ArtifactID)
	b = binary.BigEndian.AppendUint64(b, e.Version)
	b = appendBytes(b, e.Payload)
	b = appendString(b, string(e.Publisher))
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Created.UnixNano()))
	u := e.Usage
	b = append(b, byte(u.TLP), byte(u.PAP), byte(u.Reshare))
	b = binary.BigEndian.AppendUint32(b, uint32(len(u.Purposes)))
	for _, p := range u.Purposes {
		b = appendString(b, p)
	}
	b = appendString(b, u.LegalBasis)
	b = binary.BigEndian.AppendUint64(b, uint64(u.RetentionDays))
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(u.RetainUntil)))
	b = binary.BigEndian.AppendUint64(b, uint64(u.KMin))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
}

// unixNano is t in nanoseconds since the epoch, and 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// inNanoRange reports whether t lies after the epoch and within the range of
// int64 nanoseconds, so that it survives the wire unchanged.
func inNanoRange(t time.Time) bool {
	return t.After(time.Unix(0, 0)) && t.Before(time.Unix(0, 1<<63-1))
}

// fromUnixNano inverts unixNano.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// validate checks every field but the signature. Errors wrap ErrMalformed.
func (e *Envelope) validate() error {
	if err := checkKind(e.Kind); err != nil {
		return err
	}
	if err := checkText("artifact ID", e.ArtifactID, MaxArtifactID); err != nil {
		return err
	}
	if e.ArtifactID == "" {
		return fmt.Errorf("empty artifact ID: %w", ErrMalformed)
	}
	if e.Version == 0 {
		return fmt.Errorf("artifact %s: version 0: %w", e.ArtifactID, ErrMalformed)
	}
	if e.Seq == 0 {
		return fmt.Errorf("artifact %s: seq 0: %w", e.ArtifactID, ErrMalformed)
	}
	if len(e.Payload) > MaxEnvelope {
		return fmt.Errorf("artifact %s: payload of %d bytes: %w", e.ArtifactID, len(e.Payload), ErrTooLarge)
	}
	if err := checkPublisher(e.Publisher); err != nil {
		return err
	}
	if !inNanoRange(e.Created) {
		return fmt.Errorf("artifact %s: creation time out of range: %w", e.ArtifactID, ErrMalformed)
	}
	if err := checkUsage(e.Usage); err != nil {
		return fmt.Errorf("artifact %s: %w", e.ArtifactID, err)
	}
	if len(e.Signature) > signatureSize {
		return fmt.Errorf("artifact %s: signature of %d bytes: %w", e.ArtifactID, len(e.Signature), ErrMalformed)
	}
	return nil
}

// checkPublisher requires a peer ID that inlines an Ed25519 public key.
func checkPublisher(p peer.ID) error {
	if p == "" {
		return fmt.Errorf("no publisher: %w", ErrMalformed)
	}
	if _, err := peer.IDFromBytes([]byte(p)); err != nil {
		return fmt.Errorf("publisher ID: %w", ErrMalformed)
	}
	pub, err := p.ExtractPublicKey()
	if err != nil || pub.Type() != crypto.Ed25519 {
		return fmt.Errorf("publisher ID does not inline an Ed25519 key: %w", ErrMalformed)
	}
	return nil
}

func checkKind(k string) error {
	if k == "" || len(k) > MaxKind {
		return fmt.Errorf("kind of %d bytes: %w", len(k), ErrMalformed)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("kind %q: %w", k, ErrMalformed)
		}
	}
	return nil
}

// checkText requires valid UTF-8 without control characters, at most max
// bytes long.
func checkText(what, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s of %d bytes: %w", what, len(s), ErrMalformed)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%s is not printable text: %w", what, ErrMalformed)
	}
	return nil
}

// checkUsage requires a normalized, sealed policy: valid labels, canonical
// purposes, ranges that survive the wire.
func checkUsage(u usage.Policy) error {
	if !u.TLP.Valid() || !u.PAP.Valid() || u.Reshare < usage.ReshareCommunity || u.Reshare > usage.ReshareNone {
		return fmt.Errorf("usage policy labels out of range: %w", ErrMalformed)
	}
	if len(u.Purposes) == 0 || len(u.Purposes) > maxPurposes {
		return fmt.Errorf("usage policy with %d purposes: %w", len(u.Purposes), ErrMalformed)
	}
	for i, p := range u.Purposes {
		if err := checkText("purpose", p, maxLabel); err != nil {
			return err
		}
		if p == "" || p != strings.ToLower(strings.TrimSpace(p)) || i > 0 && u.Purposes[i-1] >= p {
			return fmt.Errorf("usage purposes not canonical: %w", ErrMalformed)
		}
	}
	if err := checkText("legal basis", u.LegalBasis, maxLabel); err != nil {
		return err
	}
	if u.RetentionDays < 0 || u.RetentionDays > maxRetentionDays || u.KMin < 0 || u.KMin > maxKMin {
		return fmt.Errorf("usage retention or k_min out of range: %w", ErrMalformed)
	}
	if !u.RetainUntil.IsZero() && !inNanoRange(u.RetainUntil) {
		return fmt.Errorf("usage retain_until out of range: %w", ErrMalformed)
	}
	return nil
}
