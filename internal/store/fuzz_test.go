package store

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
)

// FuzzDecodeFlow feeds arbitrary bytes to the flow record decoder: it must never
// panic, and what it accepts must encode and decode to the same record.
func FuzzDecodeFlow(f *testing.F) {
	for i := range 4 {
		r := sampleRecord(i)
		b, err := proto.Marshal(flowToProto(&r, [32]byte{byte(i)}))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x12, 0x03, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m pb.FlowRecord
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		r, err := flowFromProto(&m)
		if err != nil {
			return
		}
		again, err := flowFromProto(flowToProto(&r, [32]byte{}))
		if err != nil {
			t.Fatalf("re-decoding an accepted record: %v", err)
		}
		if again.Key != r.Key || again.History != r.History || len(again.Seq) != len(r.Seq) {
			t.Fatalf("round trip changed the record: %#v %q vs %#v %q", again.Key, again.History, r.Key, r.History)
		}
		// What was accepted encodes the same way after the round trip.
		opts := proto.MarshalOptions{Deterministic: true}
		b1, err1 := opts.Marshal(flowToProto(&r, [32]byte{}))
		b2, err2 := opts.Marshal(flowToProto(&again, [32]byte{}))
		if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed the encoding (%v, %v)", err1, err2)
		}
	})
}
