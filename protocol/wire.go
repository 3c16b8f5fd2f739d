package protocol

import (
	"errors"
	"fmt"
	"io"
	"regexp"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/flowfed/flowfed/share/usage"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// marshalOpts makes the protobuf encoding deterministic (it is still not what
// signatures cover; see Envelope).
var marshalOpts = proto.MarshalOptions{Deterministic: true}

// MarshalEnvelope returns the wire form of e (a flowfed.v1.Envelope). It does
// not sign; it fails with ErrMalformed for invalid fields and ErrTooLarge above
// MaxEnvelope bytes. An unsigned envelope marshals (and fails Verify).
func MarshalEnvelope(e Envelope) ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("marshalling envelope: %w", err)
	}
	b, err := marshalOpts.Marshal(envelopeToWire(&e))
	if err != nil {
		return nil, fmt.Errorf("marshalling envelope: %w", err)
	}
	if len(b) > MaxEnvelope {
		return nil, fmt.Errorf("marshalling envelope: %d bytes, limit %d: %w", len(b), MaxEnvelope, ErrTooLarge)
	}
	return b, nil
}

// UnmarshalEnvelope decodes and checks the wire form of an envelope. It is
// strict: more than MaxEnvelope bytes fail with ErrTooLarge before decoding;
// undecodable bytes, unknown fields and invalid field values fail with
// ErrMalformed. It does not verify the signature (Envelope.Verify does).
func UnmarshalEnvelope(b []byte) (Envelope, error) {
	if len(b) > MaxEnvelope {
		return Envelope{}, fmt.Errorf("unmarshalling envelope: %d bytes, limit %d: %w", len(b), MaxEnvelope, ErrTooLarge)
	}
	var m pb.Envelope
	if err := unmarshalStrict(b, &m); err != nil {
		return Envelope{}, fmt.Errorf("unmarshalling envelope: %w", err)
	}
	e, err := envelopeFromWire(&m)
	if err != nil {
		return Envelope{}, fmt.Errorf("unmarshalling envelope: %w", err)
	}
	return e, nil
}

// unmarshalStrict decodes b into m and rejects unknown fields anywhere in it.
func unmarshalStrict(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("decoding %s: %w", m.ProtoReflect().Descriptor().Name(), ErrMalformed)
	}
	return checkKnown(m.ProtoReflect())
}

// checkKnown fails when m or a message inside it carries unknown fields: a
// peer speaking a newer version must negotiate a newer protocol ID instead.
func checkKnown(m protoreflect.Message) error {
	if len(m.GetUnknown()) > 0 {
		return fmt.Errorf("%s has unknown fields: %w", m.Descriptor().Name(), ErrMalformed)
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			err = checkKnown(v.Message())
		}
		return err == nil
	})
	return err
}

func envelopeToWire(e *Envelope) *pb.Envelope {
	return &pb.Envelope{
		Kind:            e.Kind,
		ArtifactId:      e.ArtifactID,
		Version:         e.Version,
		Payload:         e.Payload,
		Publisher:       []byte(e.Publisher),
		Seq:             e.Seq,
		CreatedUnixNano: unixNano(e.Created),
		Usage:           usageToWire(e.Usage),
		Signature:       e.Signature,
	}
}

func envelopeFromWire(m *pb.Envelope) (Envelope, error) {
	if m.Usage == nil {
		return Envelope{}, fmt.Errorf("no usage policy: %w", ErrMalformed)
	}
	u, err := usageFromWire(m.Usage)
	if err != nil {
		return Envelope{}, err
	}
	if m.CreatedUnixNano <= 0 {
		return Envelope{}, fmt.Errorf("creation time %d: %w", m.CreatedUnixNano, ErrMalformed)
	}
	e := Envelope{
		Kind:       m.Kind,
		ArtifactID: m.ArtifactId,
		Version:    m.Version,
		Payload:    m.Payload,
		Publisher:  peer.ID(m.Publisher),
		Seq:        m.Seq,
		Created:    fromUnixNano(m.CreatedUnixNano),
		Usage:      u,
		Signature:  m.Signature,
	}
	if e.Payload == nil {
		e.Payload = []byte{}
	}
	if err := e.validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// wireSize is the marshalled size of e.
func (e *Envelope) wireSize() int { return marshalOpts.Size(envelopeToWire(e)) }

func usageToWire(u usage.Policy) *pb.UsagePolicy {
	return &pb.UsagePolicy{
		Tlp:                 uint32(u.TLP),
		Pap:                 uint32(u.PAP),
		Purposes:            u.Purposes,
		LegalBasis:          u.LegalBasis,
		RetentionDays:       int64(u.RetentionDays),
		RetainUntilUnixNano: unixNano(u.RetainUntil),
		Reshare:             uint32(u.Reshare),
		KMin:                int64(u.KMin),
	}
}

func usageFromWire(m *pb.UsagePolicy) (usage.Policy, error) {
	if m.Tlp > 0xff || m.Pap > 0xff || m.Reshare > 0xff ||
		m.RetentionDays < 0 || m.RetentionDays > maxRetentionDays ||
		m.KMin < 0 || m.KMin > maxKMin || m.RetainUntilUnixNano < 0 {
		return usage.Policy{}, fmt.Errorf("usage policy out of range: %w", ErrMalformed)
	}
	u := usage.Policy{
		TLP:           usage.TLP(m.Tlp),
		PAP:           usage.PAP(m.Pap),
		Purposes:      m.Purposes,
		LegalBasis:    m.LegalBasis,
		RetentionDays: int(m.RetentionDays),
		RetainUntil:   fromUnixNano(m.RetainUntilUnixNano),
		Reshare:       usage.Reshare(m.Reshare),
		KMin:          int(m.KMin),
	}
	if err := checkUsage(u); err != nil {
		return usage.Policy{}, err
	}
	return u, nil
}

// hashPattern is a content hash: lowercase hex SHA-256.
var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkHash(h string) error {
	if !hashPattern.MatchString(h) {
		return fmt.Errorf("content hash is not 64 lowercase hex digits: %w", ErrMalformed)
	}
	return nil
}

// Decoders of the other wire messages. Each takes a decoded message (as read
// from a stream) and checks it; the decodeXxx functions below start from bytes
// and are what the fuzz targets exercise.

func notifyFromWire(m *pb.Notify) (uint64, error) { return m.Head, nil }

func syncRequestFromWire(m *pb.SyncRequest) (after uint64, limit int, err error) {
	if m.Limit == 0 || m.Limit > MaxBatch {
		return 0, 0, fmt.Errorf("sync request limit %d, want 1 to %d: %w", m.Limit, MaxBatch, ErrMalformed)
	}
	return m.After, int(m.Limit), nil
}

// syncEnd is the decoded end of a sync batch.
type syncEnd struct {
	next, head uint64
	count      int
}

// syncResponseFromWire returns either the envelope bytes or the end.
func syncResponseFromWire(m *pb.SyncResponse) ([]byte, *syncEnd, error) {
	switch b := m.Body.(type) {
	case *pb.SyncResponse_Envelope:
		// Checked by UnmarshalEnvelope, so that one bad envelope costs only
		// itself and not the batch.
		return b.Envelope, nil, nil
	case *pb.SyncResponse_End:
		if b.End == nil || b.End.Count > MaxBatch || b.End.Next > b.End.Head {
			return nil, nil, fmt.Errorf("sync end out of range: %w", ErrMalformed)
		}
		return nil, &syncEnd{next: b.End.Next, head: b.End.Head, count: int(b.End.Count)}, nil
	}
	return nil, nil, fmt.Errorf("empty sync response: %w", ErrMalformed)
}

func fetchRequestFromWire(m *pb.FetchRequest) (string, int64, error) {
	if err := checkHash(m.Hash); err != nil {
		return "", 0, err
	}
	if m.Offset < 0 || m.Offset > MaxChunk {
		return "", 0, fmt.Errorf("fetch offset %d: %w", m.Offset, ErrMalformed)
	}
	return m.Hash, m.Offset, nil
}

// fetchEnd is the decoded end of a chunk transfer.
type fetchEnd struct {
	size    int64
	refusal string
}

func fetchResponseFromWire(m *pb.FetchResponse) ([]byte, *fetchEnd, error) {
	switch b := m.Body.(type) {
	case *pb.FetchResponse_Data:
		if len(b.Data) == 0 {
			return nil, nil, fmt.Errorf("empty data piece: %w", ErrMalformed)
		}
		return b.Data, nil, nil
	case *pb.FetchResponse_End:
		if b.End == nil || b.End.Size < 0 || b.End.Size > MaxChunk {
			return nil, nil, fmt.Errorf("fetch end out of range: %w", ErrMalformed)
		}
		if err := checkText("refusal", b.End.Refusal, maxLabel); err != nil {
			return nil, nil, err
		}
		return nil, &fetchEnd{size: b.End.Size, refusal: b.End.Refusal}, nil
	}
	return nil, nil, fmt.Errorf("empty fetch response: %w", ErrMalformed)
}

func decodeNotify(b []byte) (uint64, error) {
	var m pb.Notify
	if err := unmarshalStrict(b, &m); err != nil {
		return 0, err
	}
	return notifyFromWire(&m)
}

func decodeSyncRequest(b []byte) (uint64, int, error) {
	var m pb.SyncRequest
	if err := unmarshalStrict(b, &m); err != nil {
		return 0, 0, err
	}
	return syncRequestFromWire(&m)
}

func decodeSyncResponse(b []byte) ([]byte, *syncEnd, error) {
	var m pb.SyncResponse
	if err := unmarshalStrict(b, &m); err != nil {
		return nil, nil, err
	}
	return syncResponseFromWire(&m)
}

func decodeFetchRequest(b []byte) (string, int64, error) {
	var m pb.FetchRequest
	if err := unmarshalStrict(b, &m); err != nil {
		return "", 0, err
	}
	return fetchRequestFromWire(&m)
}

// decodeFetchResponse decodes a data piece in place, without copying it (the
// common case: exactly field 1 as bytes), and anything else with protobuf.
func decodeFetchResponse(b []byte) ([]byte, *fetchEnd, error) {
	if len(b) > 0 && b[0] == 0x0a { // field 1 (data), wire type 2
		if n, k := protowire.ConsumeVarint(b[1:]); k > 0 && n > 0 && n == uint64(len(b)-1-k) {
			return b[1+k:], nil, nil
		}
	}
	var m pb.FetchResponse
	if err := unmarshalStrict(b, &m); err != nil {
		return nil, nil, err
	}
	return fetchResponseFromWire(&m)
}

func decodeHello(b []byte) (helloMsg, error) {
	var m pb.Hello
	if err := unmarshalStrict(b, &m); err != nil {
		return helloMsg{}, err
	}
	return helloFromWire(&m)
}

func decodeReceipt(b []byte) (Receipt, error) {
	var m pb.Receipt
	if err := unmarshalStrict(b, &m); err != nil {
		return Receipt{}, err
	}
	return receiptFromWire(&m)
}

// wireError maps a framing error of pbio to this package's sentinels.
func wireError(what string, err error) error {
	switch {
	case errors.Is(err, errFrameTooLarge):
		return fmt.Errorf("reading %s: message over %d bytes: %w", what, MaxMessage, ErrTooLarge)
	case errors.Is(err, proto.Error):
		return fmt.Errorf("reading %s: %w", what, ErrMalformed)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("reading %s: stream truncated: %w", what, ErrMalformed)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}
