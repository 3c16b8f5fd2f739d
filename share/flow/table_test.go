package flow

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// dns returns a UDP packet from the client's port 50000 to the server's
// port 53 (or back, when reply) at time ts.
func dns(ts int64, reply bool, n int) synPacket {
	if reply {
		return raw(ts, ipPkt(srv4, cli4, protoUDP, udpHdr(53, 50000, make([]byte, n))))
	}
	return raw(ts, ipPkt(cli4, srv4, protoUDP, udpHdr(50000, 53, make([]byte, n))))
}

func TestIdleTimeout(t *testing.T) {
	// 59 s apart: one flow under the default 1 min UDP timeout; 61 s: two.
	flows, _ := run(t, Config{}, dns(t0, false, 10), dns(t0+59e9, true, 20))
	if len(flows) != 1 || flows[0].ConnState() != "SF" || flows[0].Reason != EndFlush {
		t.Fatalf("59 s apart: %d flows (%v), want 1 SF flow", len(flows), flows[0].Reason)
	}
	flows, _ = run(t, Config{}, dns(t0, false, 10), dns(t0+61e9, true, 20))
	if len(flows) != 2 || flows[0].Reason != EndIdle || flows[1].Reason != EndFlush {
		t.Fatalf("61 s apart: %d flows, want an idle one and another", len(flows))
	}
	// The late reply alone: its sender is a DNS server, so the flow's
	// initiator is the client, which sent nothing in it.
	if f := flows[1]; f.Key.SrcAddr() != cli4 || f.ConnState() != "SHR" || f.History() != "^d" {
		t.Errorf("reply alone: %v %s %q, want the client as initiator, SHR, ^d", f.Key, f.ConnState(), f.History())
	}
	// A flow expires when another packet moves the clock past its timeout.
	var order []string
	tab, _ := NewTable(Config{IdleUDP: 10 * time.Second}, func(f *Flow) { order = append(order, f.Reason.String()) })
	for _, p := range []synPacket{dns(t0, false, 1), raw(t0+11e9, ipPkt(cli6, srv6, protoUDP, udpHdr(1, 2, nil)))} {
		tab.Add(capture.Packet{Data: p.data, Timestamp: p.ts, LinkType: p.link})
	}
	if tab.Len() != 1 || strings.Join(order, ",") != "idle" {
		t.Errorf("after 11 s: %d flows held, emitted %v; want 1 held, one idle emitted", tab.Len(), order)
	}
	tab.Advance(t0 + 30e9)
	if tab.Len() != 0 {
		t.Errorf("Advance past the timeout left %d flows", tab.Len())
	}
}

func TestActiveTimeout(t *testing.T) {
	var pkts []synPacket
	for i := 0; i <= 25; i++ {
		pkts = append(pkts, dns(t0+int64(i)*1e9, i%2 == 1, 10))
	}
	flows, _ := run(t, Config{Active: 10 * time.Second}, pkts...)
	if len(flows) != 3 {
		t.Fatalf("%d records, want 3", len(flows))
	}
	for i, f := range flows {
		wantReason, wantCont := EndActive, i > 0
		if i == 2 {
			wantReason = EndFlush
		}
		if f.Reason != wantReason || f.Continued != wantCont || f.Key.SrcAddr() != cli4 {
			t.Errorf("record %d: %v continued=%v %v, want %v continued=%v, client first", i, f.Reason, f.Continued, f.Key, wantReason, wantCont)
		}
	}
	if n := flows[0].Packets() + flows[1].Packets() + flows[2].Packets(); n != 26 {
		t.Errorf("%d packets in the records, want 26", n)
	}
	// A TCP flow continues with its state; each record counts its own
	// stream bytes.
	flows, _ = run(t, Config{Active: 2 * time.Second}, conv(1, 2, "> S", "< SA", "> A", "> PA 100", "> PA 50 +3000ms", "< A")...)
	if len(flows) != 2 || flows[0].Orig.StreamBytes != 100 || flows[1].Orig.StreamBytes != 50 ||
		flows[0].ConnState() != "S1" || flows[1].ConnState() != "S1" || flows[1].History() != "Da" {
		t.Errorf("TCP records: %d; first %d bytes %s, second %d bytes %s %q", len(flows),
			flows[0].Orig.StreamBytes, flows[0].ConnState(), flows[1].Orig.StreamBytes, flows[1].ConnState(), flows[1].History())
	}
}

func TestLinger(t *testing.T) {
	pkts := conv(1, 2, "> S", "< SA", "> A", "> FA", "< FA", "> A +3000ms", "> A +10000ms")
	flows, _ := run(t, Config{}, pkts...)
	if len(flows) != 2 || flows[0].Packets() != 6 || flows[0].Reason != EndFIN {
		t.Fatalf("got %d flows, first with %d packets (%v); want 2, the first fin with 6", len(flows), flows[0].Packets(), flows[0].Reason)
	}
	// Without linger, the flow ends at the close.
	flows, _ = run(t, Config{Linger: -1}, pkts...)
	if len(flows) != 2 || flows[0].Packets() != 5 || flows[1].ConnState() != "OTH" {
		t.Errorf("no linger: %d flows, first with %d packets; want 2, first with 5", len(flows), flows[0].Packets())
	}
}

func TestEviction(t *testing.T) {
	var pkts []synPacket
	for i := 0; i < 5; i++ {
		p := raw(t0+int64(i)*ms, ipPkt(cli4, srv4, protoUDP, udpHdr(uint16(1000+i), 53, nil)))
		pkts = append(pkts, p)
	}
	// Flow 1000 is refreshed, so flow 1001 is the one idle the longest
	// when the fourth flow arrives.
	pkts = append(pkts[:3], append([]synPacket{raw(t0+3*ms, pkts[0].data)}, pkts[3:]...)...)
	pkts[4].ts, pkts[5].ts = t0+4*ms, t0+5*ms
	flows, st := run(t, Config{MaxFlows: 3}, pkts...)
	if st.Evicted != 2 || st.Peak != 3 {
		t.Fatalf("evicted %d, peak %d; want 2 and 3", st.Evicted, st.Peak)
	}
	var evicted []uint16
	for _, f := range flows {
		if f.Reason == EndEvicted {
			evicted = append(evicted, f.Key.SrcPort)
		}
	}
	if len(evicted) != 2 || evicted[0] != 1001 || evicted[1] != 1002 {
		t.Errorf("evicted ports %v, want [1001 1002]", evicted)
	}
}

func TestFragments(t *testing.T) {
	payload := bytes.Repeat([]byte{'d'}, 3000)
	dgram := udpHdr(53, 50000, payload) // a DNS reply: 3008 bytes of fragment data
	frag4 := func(off, n int, more bool) []byte {
		return ip4Frag(srv4, cli4, protoUDP, 77, off, more, dgram[off:off+n])
	}
	frag6 := func(off, n int, more bool) []byte {
		return ip6Frag(srv6, cli6, protoUDP, 99, off, more, dgram[off:off+n])
	}
	for _, tt := range []struct {
		name   string
		frag   func(off, n int, more bool) []byte
		order  []int
		flows  int
		orphan uint64
	}{
		{"ipv4 in order", frag4, []int{0, 1, 2}, 1, 0},
		{"ipv4 reversed", frag4, []int{2, 1, 0}, 1, 0},
		{"ipv4 no first", frag4, []int{1, 2}, 1, 2},
		{"ipv6 in order", frag6, []int{0, 1, 2}, 1, 0},
		{"ipv6 middle first", frag6, []int{1, 0, 2}, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := []synPacket{raw(0, tt.frag(0, 1480, true)), raw(0, tt.frag(1480, 1480, true)), raw(0, tt.frag(2960, 48, false))}
			var pkts []synPacket
			for i, j := range tt.order {
				p := parts[j]
				p.ts = t0 + int64(i)*ms
				pkts = append(pkts, p)
			}
			flows, st := run(t, Config{}, pkts...)
			if len(flows) != tt.flows || st.OrphanFragments != tt.orphan {
				t.Fatalf("%d flows, %d orphans; want %d and %d", len(flows), st.OrphanFragments, tt.flows, tt.orphan)
			}
			f := flows[0]
			want := uint64(len(tt.order))
			if f.Resp.Packets+f.Orig.Packets != want || f.Resp.Fragments+f.Orig.Fragments != uint32(want) {
				t.Errorf("packets %d, fragments %d, want %d", f.Packets(), f.Resp.Fragments+f.Orig.Fragments, want)
			}
			if tt.orphan == 0 {
				if f.Key.SrcAddr() != cli4 && f.Key.SrcAddr() != cli6 || f.Key.DstPort != 53 {
					t.Errorf("key %v, want the client as initiator of a DNS flow", f.Key)
				}
				if f.Resp.PayloadBytes != 3000 {
					t.Errorf("payload bytes %d, want 3000", f.Resp.PayloadBytes)
				}
			} else if f.Key.SrcPort != 0 || f.Key.DstPort != 0 {
				t.Errorf("orphans in %v, want ports 0", f.Key)
			}
		})
	}
}

func TestVLANs(t *testing.T) {
	pkt := func(ts int64, vlan uint16) synPacket {
		return eth(ts, ether(ipPkt(cli4, srv4, protoUDP, udpHdr(50000, 53, nil)), vlan))
	}
	pkts := []synPacket{pkt(t0, 10), pkt(t0+ms, 20), pkt(t0+2*ms, 10)}
	flows, _ := run(t, Config{}, pkts...)
	if len(flows) != 2 || flows[0].Key.VLAN[0] != 10 || flows[1].Key.VLAN[0] != 20 {
		t.Fatalf("%d flows, want 2 on VLANs 10 and 20", len(flows))
	}
	flows, _ = run(t, Config{MergeVLANs: true}, pkts...)
	if len(flows) != 1 || flows[0].Key.VLAN[0] != 0 {
		t.Fatalf("merged VLANs: %d flows, want 1", len(flows))
	}
}

func TestTunnels(t *testing.T) {
	inner := func(reply bool) []byte {
		if reply {
			return ether(ipPkt(srv4, cli4, protoTCP, tcpHdr(80, 40000, "SA", 9, 2, 100, nil)))
		}
		return ether(ipPkt(cli4, srv4, protoTCP, tcpHdr(40000, 80, "S", 1, 0, 100, nil)))
	}
	pkts := []synPacket{
		eth(t0, vxlanPkt(vtep1, vtep2, 1111, 7, inner(false))),
		eth(t0+ms, vxlanPkt(vtep2, vtep1, 2222, 7, inner(true))),
		eth(t0+2*ms, vxlanPkt(vtep1, vtep2, 3333, 8, inner(false))), // another VNI
	}
	flows, st := run(t, Config{}, pkts...)
	var tcp []*Flow
	carriers := 0
	for _, f := range flows {
		if f.Carries == packet.VXLAN {
			carriers++
		} else {
			tcp = append(tcp, f)
		}
	}
	if len(tcp) != 2 || carriers != 3 || st.Tunnelled != 3 {
		t.Fatalf("%d inner flows, %d carriers (%d tunnelled); want 2 and 3", len(tcp), carriers, st.Tunnelled)
	}
	f := tcp[0]
	if f.ConnState() != "S1" && f.ConnState() != "OTH" || f.Key.Tunnel.Kind != packet.VXLAN || f.Key.Tunnel.ID != 7 ||
		f.Key.Tunnel.OuterSrcAddr() != vtep1 || f.Key.Tunnel.OuterDstAddr() != vtep2 || f.Packets() != 2 {
		t.Errorf("inner flow %v: %d packets, want both directions in VNI 7 between the VTEPs", f.Key, f.Packets())
	}
	flows, _ = run(t, Config{MergeTunnels: true, InnerOnly: true}, pkts...)
	if len(flows) != 1 || flows[0].Packets() != 3 || flows[0].Key.Tunnel.Kind != 0 {
		t.Errorf("merged tunnels, inner only: %d flows, want 1 with 3 packets", len(flows))
	}
}

func TestICMP(t *testing.T) {
	echo := func(ts int64, reply bool, id uint16) synPacket {
		if reply {
			return raw(ts, ipPkt(srv4, cli4, protoICMP, icmpHdr(0, 0, id, 1, make([]byte, 56))))
		}
		return raw(ts, ipPkt(cli4, srv4, protoICMP, icmpHdr(8, 0, id, 1, make([]byte, 56))))
	}
	flows, _ := run(t, Config{}, echo(t0, false, 5), echo(t0+ms, true, 5), echo(t0+2*ms, false, 6))
	if len(flows) != 2 {
		t.Fatalf("%d flows, want 2 (two echo identifiers)", len(flows))
	}
	f := flows[0]
	if f.Key.SrcAddr() != cli4 || f.Key.SrcPort != 8 || f.Key.DstPort != 0 || f.Key.ICMPID != 5 ||
		f.Orig.Packets != 1 || f.Resp.Packets != 1 || f.Orig.PayloadBytes != 56 || f.ConnState() != "OTH" {
		t.Errorf("echo flow %v: %d/%d packets, %d payload bytes", f.Key, f.Orig.Packets, f.Resp.Packets, f.Orig.PayloadBytes)
	}
	// A reply seen first: its receiver sent the request.
	flows, _ = run(t, Config{}, echo(t0, true, 5))
	if f := flows[0]; f.Key.SrcAddr() != cli4 || f.Key.SrcPort != 8 || f.Resp.Packets != 1 {
		t.Errorf("reply alone: %v, want the pinging host as initiator", f.Key)
	}
	// ICMPv6 echo.
	flows, _ = run(t, Config{},
		raw(t0, ipPkt(cli6, srv6, protoICMPv6, icmpHdr(128, 0, 1, 1, nil))),
		raw(t0+ms, ipPkt(srv6, cli6, protoICMPv6, icmpHdr(129, 0, 1, 1, nil))))
	if len(flows) != 1 || flows[0].Key.SrcPort != 128 || flows[0].Key.DstPort != 129 {
		t.Errorf("ICMPv6 echo: %d flows, key %v", len(flows), flows[0].Key)
	}
	// A port unreachable quoting a UDP packet: its own flow, and counted in
	// the flow it quotes.
	udp := ipPkt(cli4, srv4, protoUDP, udpHdr(50000, 53, make([]byte, 20)))
	unreach := ipPkt(srv4, cli4, protoICMP, icmpHdr(3, 3, 0, 0, udp[:28]))
	flows, st := run(t, Config{}, raw(t0, udp), raw(t0+ms, unreach))
	if len(flows) != 2 || st.ICMPErrors != 1 || st.ICMPErrorsMatched != 1 {
		t.Fatalf("%d flows, %d errors, %d matched; want 2, 1, 1", len(flows), st.ICMPErrors, st.ICMPErrorsMatched)
	}
	if flows[0].ICMPErrors != 1 || flows[1].Key.SrcPort != 3 || flows[1].Key.DstPort != 3 || flows[1].Key.SrcAddr() != srv4 {
		t.Errorf("UDP flow has %d ICMP errors, error flow %v", flows[0].ICMPErrors, flows[1].Key)
	}
}

func TestInitiator(t *testing.T) {
	for _, tt := range []struct {
		name    string
		pkt     synPacket
		flipped bool
	}{
		{"SYN", raw(t0, ipPkt(srv4, cli4, protoTCP, tcpHdr(443, 40000, "S", 1, 0, 9, nil))), false},
		{"SYN-ACK from a service port", raw(t0, ipPkt(srv4, cli4, protoTCP, tcpHdr(443, 40000, "SA", 1, 9, 9, nil))), true},
		{"SYN-ACK between high ports", raw(t0, ipPkt(srv4, cli4, protoTCP, tcpHdr(40001, 40000, "SA", 1, 9, 9, nil))), false},
		{"data from a service port", raw(t0, ipPkt(srv4, cli4, protoTCP, tcpHdr(22, 40000, "PA", 1, 9, 9, []byte("x")))), true},
		{"data between service ports, to the higher", raw(t0, ipPkt(srv4, cli4, protoTCP, tcpHdr(22, 80, "A", 1, 9, 9, nil))), true},
		{"data between service ports, to the lower", raw(t0, ipPkt(srv4, cli4, protoTCP, tcpHdr(80, 22, "A", 1, 9, 9, nil))), false},
		{"UDP from a service port", dns(t0, true, 1), true},
		{"UDP to a service port", dns(t0, false, 1), false},
		{"UDP between service ports", raw(t0, ipPkt(srv4, cli4, protoUDP, udpHdr(67, 68, nil))), false},
		{"other protocol", raw(t0, ipPkt(srv4, cli4, 89, []byte{0, 0, 0, 0})), false},
	} {
		flows, _ := run(t, Config{}, tt.pkt)
		sender := flows[0].Key.Src == [16]byte(append(tt.pkt.data[12:16:16], make([]byte, 12)...))
		if sender == tt.flipped {
			t.Errorf("%s: initiator %v, want the %s", tt.name, flows[0].Key.SrcAddr(), map[bool]string{true: "receiver", false: "sender"}[tt.flipped])
		}
		if h := flows[0].History(); tt.flipped != strings.HasPrefix(h, "^") {
			t.Errorf("%s: history %q", tt.name, h)
		}
	}
}

func TestSequenceFeatures(t *testing.T) {
	pkts := conv(1, 2, "> S", "< SA +5ms", "> A", "> PA 100 +5000ms", "< PA 1400")
	flows, _ := run(t, Config{SeqLen: 4}, pkts...)
	f := flows[0]
	want := []Step{
		{IPLen: 40, Flags: flagSYN},
		{FromResp: true, IPLen: 40, Flags: flagSYN | flagACK, IAT: 6000},
		{IPLen: 40, Flags: flagACK, IAT: 1000},
		{IPLen: 140, PayloadLen: 100, Flags: flagPSH | flagACK, IAT: 5001000},
	}
	if len(f.Seq) != len(want) {
		t.Fatalf("%d steps, want %d", len(f.Seq), len(want))
	}
	for i := range want {
		if f.Seq[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, f.Seq[i], want[i])
		}
	}
	if flows, _ = run(t, Config{SeqLen: -1}, pkts...); flows[0].Seq != nil {
		t.Errorf("SeqLen -1: %d steps, want none", len(flows[0].Seq))
	}
	// Long sequences move through the small and the large block.
	var many []synPacket
	for i := 0; i < 300; i++ {
		many = append(many, dns(t0+int64(i)*ms, i%3 == 0, i))
	}
	for _, n := range []int{1, 8, 9, 32, 33, 128, 1024} {
		flows, _ := run(t, Config{SeqLen: n}, many...)
		f := flows[0]
		if len(f.Seq) != min(n, 300) {
			t.Fatalf("SeqLen %d: %d steps", n, len(f.Seq))
		}
		for i, s := range f.Seq {
			if int(s.PayloadLen) != i || s.FromResp != (i%3 == 0) {
				t.Fatalf("SeqLen %d: step %d = %+v", n, i, s)
			}
		}
	}
}

func TestStepEncoding(t *testing.T) {
	for _, tt := range []struct {
		gap  int64
		want uint32
	}{
		{-5, 0}, {0, 0}, {999, 0}, {1000, 1}, {4194303999, 4194303}, {4194304000, 4194000},
		{int64(time.Hour), 3600000000}, {int64(100 * time.Hour), 4194303000},
	} {
		s := unpackStep(packStep(70000, -1, 0x12, true, tt.gap))
		if s.IAT != tt.want || s.IPLen != 65535 || s.PayloadLen != 0 || s.Flags != 0x12 || !s.FromResp {
			t.Errorf("gap %d ns: %+v, want IAT %d", tt.gap, s, tt.want)
		}
	}
}

func TestLabelSetting(t *testing.T) {
	pkts := []synPacket{dns(t0, false, 30), dns(t0+ms, true, 60)}
	for _, n := range []int{-1, 0, 1} {
		flows, _ := run(t, Config{LabelPackets: n}, pkts...)
		if n < 0 && (flows[0].Label.Protocol != 0 || flows[0].Label.Evidence != nil) {
			t.Errorf("labels off: %v", flows[0].Label)
		}
	}
}

func TestReadCapture(t *testing.T) {
	pkts := seqWrap(0xffffff00)
	data := writePcap(t, pkts...)
	flows, st, err := readPcap(t, Config{}, data)
	if err != nil || len(flows) != 1 || st.Packets != uint64(len(pkts)) || len(st.Damage) != 0 {
		t.Fatalf("ReadCapture = %d flows, %d packets, damage %v, %v", len(flows), st.Packets, st.Damage, err)
	}
	// Cut inside the last record: the packets before count, the damage is
	// reported in Stats, not as an error.
	flows, st, err = readPcap(t, Config{}, data[:len(data)-10])
	if err != nil || len(flows) != 1 || st.Packets != uint64(len(pkts)-1) || len(st.Damage) != 1 {
		t.Errorf("truncated: %d flows, %d packets, damage %v, %v", len(flows), st.Packets, st.Damage, err)
	}
	if _, _, err := readPcap(t, Config{}, []byte("not a capture at all")); !errors.Is(err, capture.ErrUnknownFormat) {
		t.Errorf("not a capture: error %v, want ErrUnknownFormat", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadCapture(ctx, bytes.NewReader(data), Config{}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: error %v", err)
	}
	if _, err := ReadFile(context.Background(), "testdata/no-such-file.pcap", Config{}, nil); err == nil {
		t.Error("ReadFile of a missing file: no error")
	}
	if _, err := ReadCapture(context.Background(), bytes.NewReader(data), Config{MaxFlows: -1}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config: error %v, want ErrConfig", err)
	}
}

// TestAddDecoded checks that decoding outside the table gives the same flows.
func TestAddDecoded(t *testing.T) {
	pkts := conv(1, 2, "> S", "< SA", "> A", "> PA 10", "< FA", "> FA", "< A")
	want, _ := run(t, Config{}, pkts...)
	var got []*Flow
	tab, _ := NewTable(Config{}, func(f *Flow) { got = append(got, f.Clone()) })
	for i, p := range decodeAll(pkts) {
		tab.AddDecoded(pkts[i].ts, pkts[i].data, &p)
	}
	tab.Flush()
	if len(got) != 1 || got[0].Key != want[0].Key || got[0].Orig != want[0].Orig || got[0].History() != want[0].History() {
		t.Errorf("AddDecoded: %+v, Add: %+v", got, want)
	}
}

// TestNoAllocs checks that accounting packets to existing flows allocates
// nothing.
func TestNoAllocs(t *testing.T) {
	pkts := append(conv(1, 2, "> S", "< SA", "> A", "> PA 100", "< PA 1000"), dns(t0, false, 30), dns(t0, true, 90),
		eth(t0, vxlanPkt(vtep1, vtep2, 1111, 7, ether(ipPkt(cli6, srv6, protoUDP, udpHdr(1, 2, []byte("x")))))))
	tab, _ := NewTable(Config{}, func(*Flow) {})
	cps := make([]capture.Packet, len(pkts))
	for i, p := range pkts {
		cps[i] = capture.Packet{Data: p.data, Timestamp: t0, LinkType: p.link}
		tab.Add(cps[i])
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range cps {
			tab.Add(p)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per %d packets, want 0", allocs, len(cps))
	}
}
