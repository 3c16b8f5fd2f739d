package protocol

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	nonceSize = 32
	// Roles bound into handshake signatures, so that neither side's signature
	// can be reflected back as the other's.
	roleInitiator = 1
	roleResponder = 2
	// refusalFederation is the refusal sent to a peer of another federation.
	refusalFederation = "federation mismatch"
	refusalClock      = "clock skew"
	// refusalListing is the refusal sent to a member whose handshake
	// contradicts how it is listed (its organisation).
	refusalListing = "listed otherwise"
)

// helloMsg is a decoded Hello message.
type helloMsg struct {
	Federation, Org string
	Time            time.Time
	Nonce           []byte
	PeerNonce       []byte
	Signature       []byte
	Refusal         string
}

func helloToWire(m *helloMsg) *pb.Hello {
	return &pb.Hello{
		Federation:   m.Federation,
		Org:          m.Org,
		TimeUnixNano: unixNano(m.Time),
		Nonce:        m.Nonce,
		PeerNonce:    m.PeerNonce,
		Signature:    m.Signature,
		Refusal:      m.Refusal,
	}
}

func helloFromWire(w *pb.Hello) (helloMsg, error) {
	m := helloMsg{
		Federation: w.Federation, Org: w.Org, Time: fromUnixNano(w.TimeUnixNano),
		Nonce: w.Nonce, PeerNonce: w.PeerNonce, Signature: w.Signature, Refusal: w.Refusal,
	}
	if m.Refusal != "" {
		if err := checkText("refusal", m.Refusal, maxLabel); err != nil {
			return helloMsg{}, err
		}
		if m.Federation != "" || m.Org != "" || w.TimeUnixNano != 0 || len(m.Nonce) != 0 || len(m.PeerNonce) != 0 || len(m.Signature) != 0 {
			return helloMsg{}, fmt.Errorf("hello refusal with other fields: %w", ErrMalformed)
		}
		return m, nil
	}
	if err := checkText("federation", m.Federation, maxLabel); err != nil {
		return helloMsg{}, err
	}
	if err := checkText("org", m.Org, maxLabel); err != nil {
		return helloMsg{}, err
	}
	if w.TimeUnixNano <= 0 {
		return helloMsg{}, fmt.Errorf("hello time %d: %w", w.TimeUnixNano, ErrMalformed)
	}
	if len(m.Nonce) != nonceSize || len(m.PeerNonce) != 0 && len(m.PeerNonce) != nonceSize {
		return helloMsg{}, fmt.Errorf("hello nonce sizes %d, %d: %w", len(m.Nonce), len(m.PeerNonce), ErrMalformed)
	}
	if len(m.Signature) != 0 && len(m.Signature) != signatureSize {
		return helloMsg{}, fmt.Errorf("hello signature of %d bytes: %w", len(m.Signature), ErrMalformed)
	}
	return m, nil
}

// helloSignedBytes is what a handshake signature covers: the role, both peer
// IDs, the signer's federation, org, time and nonce, and the nonce of the
// other side, so that a signature is good for this session only.
func helloSignedBytes(role byte, signer, other peer.ID, m *helloMsg) []byte {
	b := make([]byte, 0, 256)
	b = append(b, helloPrefix...)
	b = append(b, role)
	b = appendString(b, string(signer))
	b = appendString(b, string(other))
	b = appendString(b, m.Federation)
	b = appendString(b, m.Org)
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(m.Time)))
	b = appendBytes(b, m.Nonce)
	b = appendBytes(b, m.PeerNonce)
	return b
}

func (s *Service) signHello(role byte, other peer.ID, m *helloMsg) error {
	sig, err := s.key.Sign(helloSignedBytes(role, s.self, other, m))
	if err != nil {
		return fmt.Errorf("signing hello: %w", err)
	}
	m.Signature = sig
	return nil
}

func verifyHello(role byte, signer, other peer.ID, m *helloMsg) error {
	if len(m.Signature) != signatureSize {
		return fmt.Errorf("hello from %s unsigned: %w", signer, ErrBadSignature)
	}
	pub, err := signer.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("hello from %s: key not inlined in peer ID: %w", signer, ErrBadSignature)
	}
	if ok, err := pub.Verify(helloSignedBytes(role, signer, other, m), m.Signature); err != nil || !ok {
		return fmt.Errorf("hello from %s: %w", signer, ErrBadSignature)
	}
	return nil
}

// skewed reports whether t is further than MaxClockSkew from now.
func skewed(t, now time.Time) bool {
	d := t.Sub(now)
	return d > MaxClockSkew || d < -MaxClockSkew
}

// Hello runs the membership handshake with p: both sides sign their
// federation, org, time and a fresh nonce bound to the other's nonce and both
// peer IDs. It fails with ErrNotMember when p is not a member here or refuses
// us as one (or names another federation), ErrBadSignature for a bad
// signature and ErrReplay when p does not answer our nonce. A connection that
// a gater refused can still look established to the dialer; a completed Hello
// is the confirmation that both sides accept each other.
func (s *Service) Hello(ctx context.Context, p peer.ID) (info PeerInfo, err error) {
	defer func() { s.count(err) }()
	if !s.b.IsMember(p) {
		return PeerInfo{}, fmt.Errorf("hello to %s: %w", p, ErrNotMember)
	}
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return PeerInfo{}, err
	}
	defer done()
	err = s.retry(ctx, func() error {
		var err error
		info, err = s.helloOnce(ctx, p)
		return err
	})
	if err != nil {
		return PeerInfo{}, fmt.Errorf("hello to %s: %w", p, err)
	}
	s.counter.handshakes.Add(1)
	return info, nil
}

func (s *Service) helloOnce(ctx context.Context, p peer.ID) (_ PeerInfo, err error) {
	st, err := s.open(ctx, p, HelloID)
	if err != nil {
		return PeerInfo{}, err
	}
	defer func() { st.finish(err) }()
	mine := helloMsg{Federation: s.cfg.Federation, Org: s.cfg.Org, Time: canonTime(s.cfg.Clock()), Nonce: newNonce(nonceSize)}
	if err := st.write("hello", helloToWire(&mine)); err != nil {
		return PeerInfo{}, err
	}
	var w pb.Hello
	if err := st.read("hello answer", &w); err != nil {
		return PeerInfo{}, err
	}
	theirs, err := helloFromWire(&w)
	if err != nil {
		return PeerInfo{}, err
	}
	switch theirs.Refusal {
	case "":
	case refusalFederation, refusalListing:
		return PeerInfo{}, fmt.Errorf("peer refused: %s: %w", theirs.Refusal, ErrNotMember)
	default:
		return PeerInfo{}, fmt.Errorf("peer refused: %q: %w", theirs.Refusal, ErrRefused)
	}
	if !bytes.Equal(theirs.PeerNonce, mine.Nonce) {
		return PeerInfo{}, fmt.Errorf("answer does not echo our nonce: %w", ErrReplay)
	}
	if err := verifyHello(roleResponder, p, s.self, &theirs); err != nil {
		return PeerInfo{}, err
	}
	if theirs.Federation != s.cfg.Federation {
		return PeerInfo{}, fmt.Errorf("peer is in federation %q: %w", theirs.Federation, ErrNotMember)
	}
	if skewed(theirs.Time, s.cfg.Clock()) {
		return PeerInfo{}, fmt.Errorf("peer clock off by more than %s: %w", MaxClockSkew, ErrRefused)
	}
	mine.PeerNonce = theirs.Nonce
	if err := s.signHello(roleInitiator, p, &mine); err != nil {
		return PeerInfo{}, err
	}
	if err := st.write("hello confirmation", helloToWire(&mine)); err != nil {
		return PeerInfo{}, err
	}
	if err := st.closeWrite(); err != nil {
		return PeerInfo{}, err
	}
	// The responder half-closes only after it accepted our confirmation.
	if err := st.readEOF("hello"); err != nil {
		return PeerInfo{}, err
	}
	return PeerInfo{Peer: p, Org: theirs.Org, Federation: theirs.Federation, Time: theirs.Time}, nil
}

// serveHello answers a handshake.
func (s *Service) serveHello(_ context.Context, st *stream, remote peer.ID) error {
	var w pb.Hello
	if err := st.read("hello", &w); err != nil {
		return err
	}
	theirs, err := helloFromWire(&w)
	if err != nil {
		return err
	}
	if theirs.Refusal != "" || len(theirs.PeerNonce) != 0 || len(theirs.Signature) != 0 {
		return fmt.Errorf("first hello carries answer fields: %w", ErrMalformed)
	}
	now := s.cfg.Clock()
	refusal := ""
	switch {
	case theirs.Federation != s.cfg.Federation:
		refusal = refusalFederation
		s.reject(ReasonNotMember)
	case skewed(theirs.Time, now):
		refusal = refusalClock
	case s.cfg.Admit != nil && s.cfg.Admit(PeerInfo{Peer: remote, Org: theirs.Org, Federation: theirs.Federation, Time: theirs.Time}) != nil:
		// Refusing on what the peer claims, before it is signed, gives
		// it nothing: a claim that matches its listing is verified below.
		refusal = refusalListing
		s.reject(ReasonNotMember)
	}
	if refusal != "" {
		if err := st.write("hello refusal", helloToWire(&helloMsg{Refusal: refusal})); err != nil {
			return err
		}
		return st.closeWrite()
	}
	mine := helloMsg{Federation: s.cfg.Federation, Org: s.cfg.Org, Time: canonTime(now), Nonce: newNonce(nonceSize), PeerNonce: theirs.Nonce}
	if err := s.signHello(roleResponder, remote, &mine); err != nil {
		return err
	}
	if err := st.write("hello answer", helloToWire(&mine)); err != nil {
		return err
	}
	if err := st.read("hello confirmation", &w); err != nil {
		return err
	}
	confirm, err := helloFromWire(&w)
	if err != nil {
		return err
	}
	if !bytes.Equal(confirm.Nonce, theirs.Nonce) || !bytes.Equal(confirm.PeerNonce, mine.Nonce) {
		return fmt.Errorf("hello confirmation for another session: %w", ErrReplay)
	}
	if confirm.Federation != theirs.Federation || confirm.Org != theirs.Org || !confirm.Time.Equal(theirs.Time) {
		return fmt.Errorf("hello confirmation differs from the hello: %w", ErrMalformed)
	}
	if err := verifyHello(roleInitiator, remote, s.self, &confirm); err != nil {
		return err
	}
	if err := st.readEOF("hello"); err != nil {
		return err
	}
	s.counter.handshakes.Add(1)
	return nil // finish half-closes: the initiator reads EOF as acceptance
}
