package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Receipt is a receiver's signed acknowledgement of what it stored: a sync
// batch (Seqs and Digest over their envelope digests) or a fetched chunk
// (Chunk and Digest = its SHA-256). The publisher keeps it as evidence of who
// received what, which erasure requests later follow.
type Receipt struct {
	// Peer is the receiver, whose key signs the receipt.
	Peer peer.ID
	// Publisher is the node whose artifacts are acknowledged.
	Publisher peer.ID
	// Upto is the receiver's cursor after a sync batch, or the chunk size.
	Upto uint64
	// Seqs are the seqs of the envelopes stored, ascending (sync only).
	Seqs []uint64
	// Chunk is the content hash of the chunk (fetch only).
	Chunk string
	// Digest is BatchDigest of the stored envelopes, or the chunk's SHA-256.
	Digest [32]byte
	// Nonce names the transfer; a receipt sent again after a lost
	// acknowledgement carries the same nonce, so it is recorded once.
	Nonce [16]byte
	// Time is the receiver's clock when it signed.
	Time time.Time
	// Signature is the receiver's Ed25519 signature.
	Signature []byte
}

// BatchDigest is the digest a sync receipt carries: SHA-256 over a prefix and
// each envelope's seq and Digest, in the order given (ascending seq).
func BatchDigest(envs []Envelope) [32]byte {
	h := sha256.New()
	h.Write([]byte(batchPrefix))
	var b [40]byte
	for i := range envs {
		binary.BigEndian.PutUint64(b[:8], envs[i].Seq)
		d := envs[i].Digest()
		copy(b[8:], d[:])
		h.Write(b[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (r *Receipt) signedBytes() []byte {
	b := make([]byte, 0, 256+8*len(r.Seqs))
	b = append(b, receiptPrefix...)
	b = appendString(b, string(r.Peer))
	b = appendString(b, string(r.Publisher))
	b = binary.BigEndian.AppendUint64(b, r.Upto)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Seqs)))
	for _, s := range r.Seqs {
		b = binary.BigEndian.AppendUint64(b, s)
	}
	b = appendString(b, r.Chunk)
	b = append(b, r.Digest[:]...)
	b = append(b, r.Nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(r.Time)))
	return b
}

// signReceipt sets r.Peer from key and signs r.
func signReceipt(key crypto.PrivKey, r Receipt) (Receipt, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return Receipt{}, fmt.Errorf("signing receipt: %w", err)
	}
	r.Peer = id
	r.Time = canonTime(r.Time)
	r.Signature = nil
	if err := r.validate(); err != nil {
		return Receipt{}, fmt.Errorf("signing receipt: %w", err)
	}
	sig, err := key.Sign(r.signedBytes())
	if err != nil {
		return Receipt{}, fmt.Errorf("signing receipt: %w", err)
	}
	r.Signature = sig
	return r, nil
}

// Verify checks r's fields and its signature by the key inlined in r.Peer.
func (r *Receipt) Verify() error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("verifying receipt: %w", err)
	}
	if len(r.Signature) != signatureSize {
		return fmt.Errorf("verifying receipt: unsigned: %w", ErrBadSignature)
	}
	pub, err := r.Peer.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("verifying receipt: signer key: %w", ErrBadSignature)
	}
	if ok, err := pub.Verify(r.signedBytes(), r.Signature); err != nil || !ok {
		return fmt.Errorf("verifying receipt of %s: %w", r.Peer, ErrBadSignature)
	}
	return nil
}

func (r *Receipt) validate() error {
	if err := checkPublisher(r.Peer); err != nil {
		return fmt.Errorf("receipt signer: %w", err)
	}
	if err := checkPublisher(r.Publisher); err != nil {
		return fmt.Errorf("receipt publisher: %w", err)
	}
	if len(r.Seqs) > MaxBatch {
		return fmt.Errorf("receipt with %d seqs: %w", len(r.Seqs), ErrMalformed)
	}
	for i, s := range r.Seqs {
		if s == 0 || s > r.Upto || i > 0 && r.Seqs[i-1] >= s {
			return fmt.Errorf("receipt seqs not ascending up to %d: %w", r.Upto, ErrMalformed)
		}
	}
	if r.Chunk != "" {
		if err := checkHash(r.Chunk); err != nil {
			return err
		}
		if len(r.Seqs) > 0 {
			return fmt.Errorf("receipt for both a chunk and envelopes: %w", ErrMalformed)
		}
	}
	if !inNanoRange(r.Time) {
		return fmt.Errorf("receipt time out of range: %w", ErrMalformed)
	}
	if len(r.Signature) > signatureSize {
		return fmt.Errorf("receipt signature of %d bytes: %w", len(r.Signature), ErrMalformed)
	}
	return nil
}

func receiptToWire(r *Receipt) *pb.Receipt {
	return &pb.Receipt{
		Peer:         []byte(r.Peer),
		Publisher:    []byte(r.Publisher),
		Upto:         r.Upto,
		Seqs:         r.Seqs,
		Chunk:        r.Chunk,
		Digest:       r.Digest[:],
		Nonce:        r.Nonce[:],
		TimeUnixNano: unixNano(r.Time),
		Signature:    r.Signature,
	}
}

func receiptFromWire(m *pb.Receipt) (Receipt, error) {
	if len(m.Digest) != 32 || len(m.Nonce) != 16 || m.TimeUnixNano <= 0 {
		return Receipt{}, fmt.Errorf("receipt digest, nonce or time: %w", ErrMalformed)
	}
	r := Receipt{
		Peer:      peer.ID(m.Peer),
		Publisher: peer.ID(m.Publisher),
		Upto:      m.Upto,
		Seqs:      m.Seqs,
		Chunk:     m.Chunk,
		Time:      fromUnixNano(m.TimeUnixNano),
		Signature: m.Signature,
	}
	copy(r.Digest[:], m.Digest)
	copy(r.Nonce[:], m.Nonce)
	if err := r.validate(); err != nil {
		return Receipt{}, err
	}
	return r, nil
}
