package flow

import (
	"testing"
)

// TestConnState drives a TCP conversation to each of Zeek's conn_state
// values and checks the state, history and end reason.
func TestConnState(t *testing.T) {
	tests := []struct {
		name    string
		script  []string
		state   string
		history string
		reason  EndReason
	}{
		{"S0", []string{"> S", "> S"}, "S0", "S", EndFlush},
		{"REJ", []string{"> S", "< RA"}, "REJ", "Sr", EndRST},
		{"S1", []string{"> S", "< SA", "> A", "> PA 100", "< A"}, "S1", "ShADa", EndFlush},
		{"SF", []string{"> S", "< SA", "> A", "> PA 10", "< PA 20", "> FA", "< FA", "> A"}, "SF", "ShADdFf", EndFIN},
		{"S2", []string{"> S", "< SA", "> A", "> FA"}, "S2", "ShAF", EndFlush},
		{"S3", []string{"> S", "< SA", "> A", "< FA"}, "S3", "ShAf", EndFlush},
		{"RSTO", []string{"> S", "< SA", "> A", "> PA 5", "> RA"}, "RSTO", "ShADR", EndRST},
		{"RSTR", []string{"> S", "< SA", "> A", "< PA 5", "< R"}, "RSTR", "ShAdr", EndRST},
		{"RSTOS0", []string{"> S", "> R"}, "RSTOS0", "SR", EndRST},
		// The SYN-ACK comes from port 80, a service port: its receiver
		// initiated the connection (history ^).
		{"RSTRH", []string{"< SA", "< R"}, "RSTRH", "^hr", EndRST},
		{"SH", []string{"> S", "> F"}, "SH", "SF", EndFIN},
		{"SHR", []string{"< SA", "< FA"}, "SHR", "^hf", EndFIN},
		{"OTH", []string{"> PA 10", "< PA 10"}, "OTH", "Dd", EndFlush},
		// A FIN and a RST from the responder after the initiator's FIN is
		// still a normal close.
		{"SF after RST", []string{"> S", "< SA", "> A", "> FA", "< FA", "< R"}, "SF", "ShAFfr", EndFIN},
		// SYN and FIN at once close the initiator's side at once.
		{"multi-flag", []string{"> SF", "< RA"}, "RSTR", "Qr", EndRST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flows, _ := run(t, Config{}, conv(1000, 5000, tt.script...)...)
			if len(flows) != 1 {
				t.Fatalf("%d flows, want 1", len(flows))
			}
			f := flows[0]
			if got := f.ConnState(); got != tt.state {
				t.Errorf("ConnState() = %s, want %s", got, tt.state)
			}
			if got := f.History(); got != tt.history {
				t.Errorf("History() = %q, want %q", got, tt.history)
			}
			if f.Reason != tt.reason {
				t.Errorf("Reason = %v, want %v", f.Reason, tt.reason)
			}
			if f.Key.SrcAddr() != cli4 || f.Key.SrcPort != 40000 || f.Key.DstPort != 80 {
				t.Errorf("Key = %v, want the client as initiator", f.Key)
			}
		})
	}
}

// seqWrap builds the conversation of case C16 with client ISN isn: data
// at relative sequence numbers 1, 401, 201 and 201 (200 bytes each), so
// one segment is out of order and one retransmitted.
func seqWrap(isn uint32) []synPacket {
	const sisn = 16
	var out []synPacket
	add := func(fromCli bool, flags string, seq, ack uint32, n int) {
		ts := t0 + int64(len(out))*10*ms
		if fromCli {
			out = append(out, raw(ts, ipPkt(cli4, srv4, protoTCP, tcpHdr(40001, 80, flags, seq, ack, 65535, make([]byte, n)))))
		} else {
			out = append(out, raw(ts, ipPkt(srv4, cli4, protoTCP, tcpHdr(80, 40001, flags, seq, ack, 65535, make([]byte, n)))))
		}
	}
	add(true, "S", isn, 0, 0)
	add(false, "SA", sisn, isn+1, 0)
	add(true, "A", isn+1, sisn+1, 0)
	for _, rel := range []uint32{1, 401, 201, 201} {
		add(true, "PA", isn+rel, sisn+1, 200)
	}
	add(true, "FA", isn+601, sisn+1, 0)
	add(false, "FA", sisn+1, isn+602, 0)
	add(true, "A", isn+602, sisn+2, 0)
	return out
}

// TestTCPSequence checks retransmission and out-of-order counting, also
// across a wrap of the sequence space, and the stream sizes by sequence
// numbers.
func TestTCPSequence(t *testing.T) {
	for _, isn := range []uint32{1000, 0xffffff00, 0xffffffff, 0, 0x7fffffff} {
		flows, _ := run(t, Config{}, seqWrap(isn)...)
		if len(flows) != 1 {
			t.Fatalf("ISN %#x: %d flows, want 1", isn, len(flows))
		}
		f := flows[0]
		if f.Orig.Retransmits != 1 || f.Orig.OutOfOrder != 1 {
			t.Errorf("ISN %#x: retransmits %d, out of order %d, want 1 and 1", isn, f.Orig.Retransmits, f.Orig.OutOfOrder)
		}
		if f.Orig.ISN != isn {
			t.Errorf("ISN = %#x, want %#x", f.Orig.ISN, isn)
		}
		if f.Orig.StreamBytes != 600 || f.Orig.PayloadBytes != 800 {
			t.Errorf("ISN %#x: stream bytes %d, payload bytes %d, want 600 and 800", isn, f.Orig.StreamBytes, f.Orig.PayloadBytes)
		}
		if f.ConnState() != "SF" || f.History() != "ShADTFf" {
			t.Errorf("ISN %#x: ConnState() = %s, History() = %s, want SF, ShADTFf", isn, f.ConnState(), f.History())
		}
	}
}

// TestTCPRetransmissionHistory checks the scaled t letter and a keep-alive.
func TestTCPRetransmissionHistory(t *testing.T) {
	script := []string{"> S", "< SA", "> A", "> PA 100"}
	for i := 0; i < 10; i++ {
		script = append(script, "> PA 100 @-100")
	}
	flows, _ := run(t, Config{}, conv(1, 2, script...)...)
	f := flows[0]
	if f.Orig.Retransmits != 10 || f.History() != "ShADTT" {
		t.Errorf("retransmits %d, history %q, want 10 and ShADTT", f.Orig.Retransmits, f.History())
	}
}

// TestTCPMidstream checks a flow whose handshake was not captured: sizes
// from sequence numbers and the ISN guessed as Zeek does.
func TestTCPMidstream(t *testing.T) {
	flows, _ := run(t, Config{}, conv(5000, 9000, "> PA 100", "< A", "> PA 50", "< PA 10")...)
	f := flows[0]
	if f.Orig.ISN != 4999 || f.Orig.StreamBytes != 150 || f.Resp.StreamBytes != 10 {
		t.Errorf("ISN %d, stream bytes %d/%d, want 4999, 150/10", f.Orig.ISN, f.Orig.StreamBytes, f.Resp.StreamBytes)
	}
	if f.ConnState() != "OTH" {
		t.Errorf("ConnState() = %s, want OTH", f.ConnState())
	}
}

// TestTCPGapAndZeroWindow checks the g and w letters.
func TestTCPGapAndZeroWindow(t *testing.T) {
	pkts := conv(100, 200, "> S", "< SA", "> A", "> PA 10")
	// The server acknowledges 1000 bytes it cannot have seen, with a zero
	// window.
	seg := tcpHdr(80, 40000, "A", 201, 100+1+1000, 0, nil)
	pkts = append(pkts, raw(t0+10*ms, ipPkt(srv4, cli4, protoTCP, seg)))
	flows, _ := run(t, Config{}, pkts...)
	f := flows[0]
	if f.Orig.Gaps != 1 || f.Resp.ZeroWindows != 1 {
		t.Errorf("gaps %d, zero windows %d, want 1 and 1", f.Orig.Gaps, f.Resp.ZeroWindows)
	}
	// Letters in Zeek's order: the packet's own flags, its window, then
	// what its acknowledgment reveals.
	if h := f.History(); h != "ShADawG" {
		t.Errorf("History() = %q, want ShADawG", h)
	}
}

// TestPortReuse checks that a new SYN on the ports of a closed connection
// starts a new flow, and that a late ACK within the linger time does not.
func TestPortReuse(t *testing.T) {
	first := conv(1000, 5000, "> S", "< SA", "> A", "> FA", "< FA", "> A", "> A")
	second := conv(90000, 70000, "> S", "< SA", "> A")
	for i := range second {
		second[i].ts = first[len(first)-1].ts + int64(i+1)*ms
	}
	flows, _ := run(t, Config{}, append(first, second...)...)
	if len(flows) != 2 {
		t.Fatalf("%d flows, want 2", len(flows))
	}
	if flows[0].Reason != EndFIN || flows[0].Packets() != 7 || flows[1].Packets() != 3 {
		t.Errorf("flows: %v with %d packets, %v with %d; want fin with 7, then 3",
			flows[0].Reason, flows[0].Packets(), flows[1].Reason, flows[1].Packets())
	}
	// A retransmitted SYN (same ISN) after a RST stays in the flow.
	flows, _ = run(t, Config{}, conv(1000, 5000, "> S", "< RA", "> S @-1", "< SA", "> A")...)
	if len(flows) != 1 {
		t.Errorf("SYN with the same ISN after RST: %d flows, want 1", len(flows))
	}
}

func TestSynThenRST(t *testing.T) {
	for h, want := range map[string]bool{
		"SR": true, "^SR": true, "SdR": true, "SAR": false, "S": false, "R": false, "": false, "ShR": true, "SHR": false,
	} {
		if got := synThenRST([]byte(h)); got != want {
			t.Errorf("synThenRST(%q) = %v, want %v", h, got, want)
		}
	}
}
