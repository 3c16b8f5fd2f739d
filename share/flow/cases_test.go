package flow

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// casesDir holds the real-world failure cases (../shared/cases; tests skip
// when it is absent).
const casesDir = "../../../shared/cases"

// TestCaseC16 checks case C16: TCP sequence numbers that wrap past 2^32 in
// the middle of a connection, with one segment out of order and one
// retransmitted. TestTCPSequence builds the same conversation for several
// initial sequence numbers without the file.
func TestCaseC16(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(casesDir, "C16-tcp-seq-wrap.pcap"))
	if err != nil {
		t.Skipf("case C16 not available: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(casesDir, "C16-expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		RelSeqs         []uint32 `json:"client_relative_seq_of_data_packets"`
		Retransmissions uint32   `json:"retransmissions"`
		OutOfOrder      uint32   `json:"out_of_order"`
		Flows           int      `json:"flows"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	flows, _, err := readPcap(t, Config{}, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != want.Flows {
		t.Fatalf("%d flows, want %d", len(flows), want.Flows)
	}
	f := flows[0]
	if f.Orig.Retransmits != want.Retransmissions || f.Orig.OutOfOrder != want.OutOfOrder {
		t.Errorf("retransmissions %d, out of order %d; want %d and %d",
			f.Orig.Retransmits, f.Orig.OutOfOrder, want.Retransmissions, want.OutOfOrder)
	}
	if f.Resp.Retransmits != 0 || f.Resp.OutOfOrder != 0 {
		t.Errorf("responder: retransmissions %d, out of order %d; want none", f.Resp.Retransmits, f.Resp.OutOfOrder)
	}
	// The client's data segments, numbered relative to the flow's ISN.
	r, err := capture.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var rel []uint32
	var p packet.Packet
	for {
		pkt, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_ = packet.Decode(&p, pkt.Data, uint32(pkt.LinkType))
		if p.SrcPort == f.Key.SrcPort && p.PayloadLen > 0 {
			rel = append(rel, p.Seq-f.Orig.ISN)
		}
	}
	if !slices.Equal(rel, want.RelSeqs) {
		t.Errorf("relative sequence numbers %v, want %v", rel, want.RelSeqs)
	}
	if f.Orig.StreamBytes != 600 || f.ConnState() != "SF" {
		t.Errorf("stream bytes %d, conn_state %s; want 600 and SF", f.Orig.StreamBytes, f.ConnState())
	}
}
