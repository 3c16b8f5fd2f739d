package flow

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/capture"
)

// fuzzLinks are the link types a fuzz input chooses from by its first byte.
var fuzzLinks = []capture.LinkType{
	capture.LinkTypeRaw, capture.LinkTypeEthernet, capture.LinkTypeLinuxSLL, capture.LinkTypeNull,
	capture.LinkTypeIPv4, capture.LinkTypeIPv6, capture.LinkTypeLinuxSLL2, capture.LinkTypePPP,
}

// splitFuzz cuts a fuzz input into packets: after a first byte that picks
// the link type and the settings, each packet is a 2-byte length, a 2-byte
// time step in milliseconds (the top bit makes it go back), and the bytes.
func splitFuzz(data []byte) (capture.LinkType, byte, []capture.Packet) {
	if len(data) == 0 {
		return capture.LinkTypeRaw, 0, nil
	}
	sel := data[0]
	link := fuzzLinks[int(sel)%len(fuzzLinks)]
	data = data[1:]
	var pkts []capture.Packet
	ts := t0
	for len(data) >= 4 {
		n := int(binary.BigEndian.Uint16(data))
		step := binary.BigEndian.Uint16(data[2:])
		data = data[4:]
		n = min(n, len(data))
		d := int64(step&0x7fff) * int64(time.Second) / 64 // up to 8.5 min
		if step&0x8000 != 0 {
			d = -d
		}
		ts += d
		pkts = append(pkts, capture.Packet{Data: data[:n], Timestamp: ts, OrigLen: n, LinkType: link})
		data = data[n:]
	}
	return link, sel, pkts
}

// joinFuzz is the inverse of splitFuzz, for seeds.
func joinFuzz(sel byte, pkts []synPacket) []byte {
	out := []byte{sel}
	prev := t0
	for _, p := range pkts {
		step := (p.ts - prev) * 64 / int64(time.Second)
		prev = p.ts
		if step < 0 {
			step = -step | 0x8000
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(p.data)))
		out = binary.BigEndian.AppendUint16(out, uint16(min(step, 0x7fff)))
		out = append(out, p.data...)
	}
	return out
}

// FuzzTable feeds arbitrary packets to a table: it must never panic, and
// the invariants of checkInvariants must hold (every IP packet in exactly
// one flow, times ordered, sequences bounded). The first input byte also
// picks small timeouts and bounds, so that expiry, eviction and fragment
// expiry run often.
func FuzzTable(f *testing.F) {
	seeds := [][]synPacket{
		seqWrap(0xffffff00),
		conv(1, 2, "> S", "< SA", "> A", "> PA 100", "< RA"),
		{dns(t0, false, 10), dns(t0+ms, true, 40)},
		{eth(t0, vxlanPkt(vtep1, vtep2, 1111, 7, ether(ipPkt(cli4, srv4, protoTCP, tcpHdr(1, 2, "S", 1, 0, 1, nil)))))},
		{raw(t0, ip4Frag(srv4, cli4, protoUDP, 7, 8, false, make([]byte, 16))), raw(t0+ms, ip4Frag(srv4, cli4, protoUDP, 7, 0, true, udpHdr(53, 9, nil)))},
		{raw(t0, ipPkt(srv4, cli4, protoICMP, icmpHdr(3, 3, 0, 0, ipPkt(cli4, srv4, protoUDP, udpHdr(9, 53, nil)))))},
	}
	for i, s := range seeds {
		sel := byte(0)
		if s[0].link == capture.LinkTypeEthernet {
			sel = 1
		}
		f.Add(joinFuzz(sel+byte(8*i), s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, sel, pkts := splitFuzz(data)
		cfg := Config{}
		if sel&0x80 != 0 {
			cfg = Config{
				IdleTCP: 2 * time.Second, IdleUDP: time.Second, IdleICMP: time.Second, IdleOther: time.Second,
				Active: 3 * time.Second, Linger: -1, MaxFlows: 3, FragTimeout: time.Second, MaxFrags: 2, SeqLen: 9,
				MergeVLANs: sel&0x40 != 0, InnerOnly: sel&0x20 != 0,
			}
		}
		var flows []*Flow
		tab, err := NewTable(cfg, func(f *Flow) { flows = append(flows, f.Clone()) })
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			tab.Add(p)
		}
		tab.Flush()
		st := tab.Stats()
		if st.Packets != uint64(len(pkts)) {
			t.Errorf("Stats.Packets = %d, want %d", st.Packets, len(pkts))
		}
		checkInvariants(t, flows, st)
		checkEmpty(t, tab)
		for _, fl := range flows {
			_ = fl.ConnState()
			_ = fl.Key.String()
		}
	})
}
