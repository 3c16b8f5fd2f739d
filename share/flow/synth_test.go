package flow

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// Builders of synthetic packets. Addresses come from documentation ranges;
// checksums are left zero, as the flow table does not check them.

// Endpoints of the synthetic flows.
var (
	cli4, srv4 = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	cli6, srv6 = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	vtep1      = netip.MustParseAddr("203.0.113.1")
	vtep2      = netip.MustParseAddr("203.0.113.2")
)

// t0 is the time of the first synthetic packet: 2024-01-01T00:00:00Z.
const t0 = int64(1704067200) * 1e9

// ms is a millisecond in nanoseconds.
const ms = int64(1e6)

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// ipPkt builds an IPv4 or IPv6 header around payload.
func ipPkt(src, dst netip.Addr, proto uint8, payload []byte) []byte {
	if src.Is4() {
		return ip4Frag(src, dst, proto, 0x1234, 0, false, payload)
	}
	h := []byte{0x60, 0, 0, 0}
	h = append(h, be16(uint16(len(payload)))...)
	h = append(h, proto, 64)
	h = append(h, src.AsSlice()...)
	h = append(h, dst.AsSlice()...)
	return append(h, payload...)
}

// ip4Frag builds an IPv4 packet with fragmentation fields; off is in bytes.
func ip4Frag(src, dst netip.Addr, proto uint8, id uint16, off int, more bool, payload []byte) []byte {
	ff := uint16(off / 8)
	if more {
		ff |= 0x2000
	}
	h := []byte{0x45, 0}
	h = append(h, be16(uint16(20+len(payload)))...)
	h = append(h, be16(id)...)
	h = append(h, be16(ff)...)
	h = append(h, 64, proto, 0, 0)
	h = append(h, src.AsSlice()...)
	h = append(h, dst.AsSlice()...)
	return append(h, payload...)
}

// ip6Frag builds an IPv6 packet with a fragment header; off is in bytes.
func ip6Frag(src, dst netip.Addr, proto uint8, id uint32, off int, more bool, payload []byte) []byte {
	fo := uint16(off) &^ 7
	if more {
		fo |= 1
	}
	fh := append([]byte{proto, 0}, be16(fo)...)
	fh = append(fh, be32(id)...)
	return ipPkt(src, dst, 44, append(fh, payload...))
}

// tcpHdr builds a TCP header (20 bytes) and payload. flags holds the
// letters S, A, F, R, P.
func tcpHdr(sp, dp uint16, flags string, seq, ack uint32, win uint16, payload []byte) []byte {
	var fl uint8
	for _, c := range flags {
		fl |= map[rune]uint8{'F': flagFIN, 'S': flagSYN, 'R': flagRST, 'P': flagPSH, 'A': flagACK}[c]
	}
	h := append(be16(sp), be16(dp)...)
	h = append(h, be32(seq)...)
	h = append(h, be32(ack)...)
	h = append(h, 0x50, fl)
	h = append(h, be16(win)...)
	h = append(h, 0, 0, 0, 0)
	return append(h, payload...)
}

// udpHdr builds a UDP header and payload.
func udpHdr(sp, dp uint16, payload []byte) []byte {
	h := append(be16(sp), be16(dp)...)
	h = append(h, be16(uint16(8+len(payload)))...)
	h = append(h, 0, 0)
	return append(h, payload...)
}

// icmpHdr builds an ICMP or ICMPv6 header with an identifier and sequence
// number (or the unused word of an error message) and payload.
func icmpHdr(typ, code uint8, id, seq uint16, payload []byte) []byte {
	h := []byte{typ, code, 0, 0}
	h = append(h, be16(id)...)
	h = append(h, be16(seq)...)
	return append(h, payload...)
}

// ether wraps an IP packet in an Ethernet header with the given VLAN tags.
func ether(ip []byte, vlans ...uint16) []byte {
	h := []byte{0, 0, 0x5e, 0, 0x53, 2, 0, 0, 0x5e, 0, 0x53, 1}
	for _, v := range vlans {
		h = append(h, 0x81, 0)
		h = append(h, be16(v)...)
	}
	et := uint16(0x0800)
	if ip[0]>>4 == 6 {
		et = 0x86dd
	}
	h = append(h, be16(et)...)
	return append(h, ip...)
}

// vxlanPkt wraps an Ethernet frame in VXLAN between two tunnel endpoints.
func vxlanPkt(src, dst netip.Addr, sport uint16, vni uint32, frame []byte) []byte {
	v := append([]byte{0x08, 0, 0, 0}, be32(vni<<8)...)
	return ether(ipPkt(src, dst, protoUDP, udpHdr(sport, 4789, append(v, frame...))))
}

// synPacket is a synthetic packet: its bytes, link type and time.
type synPacket struct {
	data []byte
	link capture.LinkType
	ts   int64
}

// raw makes a raw-IP packet at time ts.
func raw(ts int64, ip []byte) synPacket { return synPacket{ip, capture.LinkTypeRaw, ts} }

// eth makes an Ethernet packet at time ts.
func eth(ts int64, frame []byte) synPacket { return synPacket{frame, capture.LinkTypeEthernet, ts} }

// run meters packets with cfg and returns clones of the flows, in the order
// they were emitted, and the table's stats.
func run(tb testing.TB, cfg Config, pkts ...synPacket) ([]*Flow, Stats) {
	tb.Helper()
	var flows []*Flow
	tab, err := NewTable(cfg, func(f *Flow) { flows = append(flows, f.Clone()) })
	if err != nil {
		tb.Fatalf("NewTable: %v", err)
	}
	for _, p := range pkts {
		tab.Add(capture.Packet{Data: p.data, Timestamp: p.ts, OrigLen: len(p.data), LinkType: p.link})
	}
	tab.Flush()
	st := tab.Stats()
	checkInvariants(tb, flows, st)
	checkEmpty(tb, tab)
	return flows, st
}

// writePcap writes packets into a classic pcap in memory; all must share
// one link type.
func writePcap(tb testing.TB, pkts ...synPacket) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := capture.NewPcapWriter(&buf, pkts[0].link, 0, true)
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(capture.Packet{Data: p.data, Timestamp: p.ts, OrigLen: len(p.data)}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// checkInvariants checks what must hold for any input: every packet that
// is not counted as non-IP is in exactly one flow, plus one carrier flow
// per tunnel around it; times are ordered, sequences bounded, and nothing
// is left in the table.
func checkInvariants(tb testing.TB, flows []*Flow, st Stats) {
	tb.Helper()
	var total uint64
	ids := map[uint64]bool{}
	for _, f := range flows {
		n := f.Orig.Packets + f.Resp.Packets
		if n == 0 {
			tb.Errorf("flow %d (%v) has no packets", f.ID, f.Key)
		}
		total += n
		if f.Start > f.End {
			tb.Errorf("flow %d: Start %d after End %d", f.ID, f.Start, f.End)
		}
		if uint64(len(f.Seq)) > n {
			tb.Errorf("flow %d: %d steps for %d packets", f.ID, len(f.Seq), n)
		}
		if ids[f.ID] {
			tb.Errorf("flow ID %d emitted twice", f.ID)
		}
		ids[f.ID] = true
		if f.Reason == 0 || f.Reason >= numReasons {
			tb.Errorf("flow %d: reason %v", f.ID, f.Reason)
		}
		if len(f.History()) > histCap {
			tb.Errorf("flow %d: history %q too long", f.ID, f.History())
		}
	}
	if total != st.Packets-st.NonIP+st.Tunnelled {
		tb.Errorf("packets in flows %d != packets %d - non-IP %d + tunnelled %d", total, st.Packets, st.NonIP, st.Tunnelled)
	}
	if st.Active != 0 {
		tb.Errorf("%d flows left after Flush", st.Active)
	}
	if uint64(len(flows)) != st.Flows {
		tb.Errorf("%d flows emitted, Stats.Flows %d", len(flows), st.Flows)
	}
}

// conv builds a TCP conversation between cli4:40000 and srv4:80 from a
// script of segments such as "> S", "< SA", "> A", "> PA 100", "< FA",
// "> R": direction (> from the client, < from the server), flags, and an
// optional payload length. Sequence and acknowledgment numbers follow
// from the segments before; "@-100" after the length rewinds the sequence
// number by 100 (a retransmission), "+50ms" adds to the 1 ms step between
// packets. The client's ISN is cisn, the server's sisn.
func conv(cisn, sisn uint32, script ...string) []synPacket {
	next := [2]uint32{cisn, sisn}
	var out []synPacket
	ts := t0
	for _, line := range script {
		f := strings.Fields(line)
		d := 0
		if f[0] == "<" {
			d = 1
		}
		flags := f[1]
		n, rewind := 0, 0
		step := ms
		for _, x := range f[2:] {
			switch {
			case strings.HasPrefix(x, "@-"):
				rewind = atoi(x[2:])
			case strings.HasPrefix(x, "+") && strings.HasSuffix(x, "ms"):
				step += int64(atoi(strings.TrimSuffix(x[1:], "ms"))) * ms
			default:
				n = atoi(x)
			}
		}
		ts += step
		seq := next[d] - uint32(rewind)
		var ack uint32
		if strings.Contains(flags, "A") {
			ack = next[1-d]
		}
		payload := bytes.Repeat([]byte{'x'}, n)
		var seg []byte
		if d == 0 {
			seg = tcpHdr(40000, 80, flags, seq, ack, 65535, payload)
			out = append(out, raw(ts, ipPkt(cli4, srv4, protoTCP, seg)))
		} else {
			seg = tcpHdr(80, 40000, flags, seq, ack, 65535, payload)
			out = append(out, raw(ts, ipPkt(srv4, cli4, protoTCP, seg)))
		}
		end := seq + uint32(n)
		if strings.Contains(flags, "S") {
			end++
		}
		if strings.Contains(flags, "F") {
			end++
		}
		if !strings.Contains(flags, "R") && after(end, next[d]) {
			next[d] = end
		}
	}
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// readPcap meters a capture held in memory.
func readPcap(tb testing.TB, cfg Config, data []byte) ([]*Flow, Stats, error) {
	tb.Helper()
	var flows []*Flow
	st, err := ReadCapture(context.Background(), bytes.NewReader(data), cfg, func(f *Flow) { flows = append(flows, f.Clone()) })
	return flows, st, err
}

// decodeAll decodes packets, for tests that call AddDecoded.
func decodeAll(pkts []synPacket) []packet.Packet {
	out := make([]packet.Packet, len(pkts))
	for i, p := range pkts {
		_ = packet.Decode(&out[i], p.data, uint32(p.link))
	}
	return out
}

// checkEmpty checks that a flushed table holds nothing: no flow, fragment
// entry or tunnel context.
func checkEmpty(tb testing.TB, tab *Table) {
	tb.Helper()
	if n := len(tab.frags.m); n > 0 {
		tb.Errorf("%d fragment entries left after Flush", n)
	}
	if n := len(tab.tun.ids); n > 0 {
		tb.Errorf("%d tunnel contexts left after Flush", n)
	}
	if n := tab.idx.n; n > 0 {
		tb.Errorf("%d index entries left after Flush", n)
	}
}
