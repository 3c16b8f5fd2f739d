package protocol

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Every decoder of bytes from a peer is fuzzed with the property: it never
// panics, and whatever it accepts encodes back to something it decodes to the
// same value.

func FuzzUnmarshalEnvelope(f *testing.F) {
	e := sealed(f)
	good, _ := MarshalEnvelope(e)
	f.Add(good)
	unsigned := e
	unsigned.Signature = nil
	b, _ := MarshalEnvelope(unsigned)
	f.Add(b)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x01, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEnvelope(b)
		if err != nil {
			return
		}
		again, err := MarshalEnvelope(e)
		if err != nil {
			t.Fatalf("accepted envelope does not marshal: %v", err)
		}
		e2, err := UnmarshalEnvelope(again)
		if err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed the envelope: %v\n%+v\n%+v", err, e, e2)
		}
		if e.Digest() != e2.Digest() {
			t.Fatal("digest changed in a round trip")
		}
		_ = e.Verify()
	})
}

func FuzzDecodeHello(f *testing.F) {
	m := helloMsg{Federation: "f", Org: "o", Time: time.Unix(1700000000, 5).UTC(), Nonce: make([]byte, nonceSize)}
	f.Add(mustMarshal(f, helloToWire(&m)))
	m.PeerNonce = make([]byte, nonceSize)
	m.Signature = make([]byte, signatureSize)
	f.Add(mustMarshal(f, helloToWire(&m)))
	f.Add(mustMarshal(f, helloToWire(&helloMsg{Refusal: refusalFederation})))
	f.Add([]byte{0x3a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeHello(b)
		if err != nil {
			return
		}
		m2, err := decodeHello(mustMarshal(t, helloToWire(&m)))
		if err != nil || !reflect.DeepEqual(normHello(m), normHello(m2)) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, m, m2)
		}
	})
}

// normHello maps empty byte slices to nil, which protobuf does not tell apart.
func normHello(m helloMsg) helloMsg {
	for _, p := range []*[]byte{&m.Nonce, &m.PeerNonce, &m.Signature} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return m
}

func FuzzDecodeNotify(f *testing.F) {
	f.Add(mustMarshal(f, &pb.Notify{Head: 42}))
	f.Add([]byte{0x08})
	f.Fuzz(func(t *testing.T, b []byte) {
		head, err := decodeNotify(b)
		if err != nil {
			return
		}
		if h2, err := decodeNotify(mustMarshal(t, &pb.Notify{Head: head})); err != nil || h2 != head {
			t.Fatalf("round trip: %d, %v; want %d", h2, err, head)
		}
	})
}

func FuzzDecodeSyncRequest(f *testing.F) {
	f.Add(mustMarshal(f, &pb.SyncRequest{After: 7, Limit: 256}))
	f.Add(mustMarshal(f, &pb.SyncRequest{Limit: MaxBatch + 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		after, limit, err := decodeSyncRequest(b)
		if err != nil {
			return
		}
		if limit < 1 || limit > MaxBatch {
			t.Fatalf("accepted limit %d", limit)
		}
		a2, l2, err := decodeSyncRequest(mustMarshal(t, &pb.SyncRequest{After: after, Limit: uint32(limit)}))
		if err != nil || a2 != after || l2 != limit {
			t.Fatalf("round trip: %d %d %v", a2, l2, err)
		}
	})
}

func FuzzDecodeSyncResponse(f *testing.F) {
	good, _ := MarshalEnvelope(sealed(f))
	f.Add(mustMarshal(f, &pb.SyncResponse{Body: &pb.SyncResponse_Envelope{Envelope: good}}))
	f.Add(mustMarshal(f, &pb.SyncResponse{Body: &pb.SyncResponse_End{End: &pb.SyncEnd{Next: 3, Head: 9, Count: 2}}}))
	f.Add(mustMarshal(f, &pb.SyncResponse{Body: &pb.SyncResponse_End{End: &pb.SyncEnd{Next: 9, Head: 3}}}))
	f.Add([]byte{0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		env, end, err := decodeSyncResponse(b)
		if err != nil {
			return
		}
		var m pb.SyncResponse
		if end != nil {
			if env != nil || end.next > end.head || end.count > MaxBatch {
				t.Fatalf("accepted end %+v with envelope %v", end, env != nil)
			}
			m.Body = &pb.SyncResponse_End{End: &pb.SyncEnd{Next: end.next, Head: end.head, Count: uint32(end.count)}}
		} else {
			m.Body = &pb.SyncResponse_Envelope{Envelope: env}
		}
		env2, end2, err := decodeSyncResponse(mustMarshal(t, &m))
		if err != nil || !bytes.Equal(env, env2) || !reflect.DeepEqual(end, end2) {
			t.Fatalf("round trip: %v", err)
		}
		_, _ = UnmarshalEnvelope(env)
	})
}

func FuzzDecodeFetchRequest(f *testing.F) {
	f.Add(mustMarshal(f, &pb.FetchRequest{Hash: c19SHA256, Offset: 1 << 20}))
	f.Add(mustMarshal(f, &pb.FetchRequest{Hash: "XYZ", Offset: -1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		hash, off, err := decodeFetchRequest(b)
		if err != nil {
			return
		}
		if checkHash(hash) != nil || off < 0 || off > MaxChunk {
			t.Fatalf("accepted %q at %d", hash, off)
		}
		h2, o2, err := decodeFetchRequest(mustMarshal(t, &pb.FetchRequest{Hash: hash, Offset: off}))
		if err != nil || h2 != hash || o2 != off {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodeFetchResponse(f *testing.F) {
	f.Add(mustMarshal(f, &pb.FetchResponse{Body: &pb.FetchResponse_Data{Data: []byte("piece")}}))
	f.Add(mustMarshal(f, &pb.FetchResponse{Body: &pb.FetchResponse_End{End: &pb.FetchEnd{Size: 5}}}))
	f.Add(mustMarshal(f, &pb.FetchResponse{Body: &pb.FetchResponse_End{End: &pb.FetchEnd{Refusal: refusalNotFound}}}))
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		data, end, err := decodeFetchResponse(b)
		if err != nil {
			return
		}
		var m pb.FetchResponse
		if end != nil {
			if data != nil || end.size < 0 || end.size > MaxChunk {
				t.Fatalf("accepted end %+v", end)
			}
			m.Body = &pb.FetchResponse_End{End: &pb.FetchEnd{Size: end.size, Refusal: end.refusal}}
		} else {
			if len(data) == 0 {
				t.Fatal("accepted an empty piece")
			}
			// The in-place fast path agrees with protobuf.
			var ref pb.FetchResponse
			if err := unmarshalStrict(b, &ref); err != nil || !bytes.Equal(ref.GetData(), data) {
				t.Fatalf("in-place decode differs from protobuf (%v)", err)
			}
			m.Body = &pb.FetchResponse_Data{Data: data}
		}
		d2, e2, err := decodeFetchResponse(mustMarshal(t, &m))
		if err != nil || !bytes.Equal(data, d2) || !reflect.DeepEqual(end, e2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecodeReceipt(f *testing.F) {
	key := vectorKey(f)
	pub, _ := peer.IDFromPrivateKey(key)
	r, err := signReceipt(key, Receipt{Publisher: pub, Upto: 9, Seqs: []uint64{3, 9}, Time: time.Unix(1700000000, 0)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustMarshal(f, receiptToWire(&r)))
	r2, _ := signReceipt(key, Receipt{Publisher: pub, Upto: 5, Chunk: c19SHA256, Time: time.Unix(1700000000, 0)})
	f.Add(mustMarshal(f, receiptToWire(&r2)))
	f.Add([]byte{0x22, 0x02, 0x05, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReceipt(b)
		if err != nil {
			return
		}
		r2, err := decodeReceipt(mustMarshal(t, receiptToWire(&r)))
		if err != nil || !reflect.DeepEqual(normReceipt(r), normReceipt(r2)) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, r, r2)
		}
		_ = r.Verify()
	})
}

func normReceipt(r Receipt) Receipt {
	if len(r.Seqs) == 0 {
		r.Seqs = nil
	}
	if len(r.Signature) == 0 {
		r.Signature = nil
	}
	return r
}
