package packet

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// decodeCase is one synthetic packet with what Decode must find in it.
type decodeCase struct {
	name  string
	lt    uint32
	data  []byte
	kinds string     // expected header kinds, see kinds
	stop  StopReason // expected stop reason
	// opaqueCut is set when a cut copy cannot be recognised as cut: a
	// tunnel found by its shape, NFLOG attributes (which have no total
	// length).
	opaqueCut bool
	check     func(t *testing.T, p *Packet, data []byte)
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// wantAddr checks that p lists an address field of the given shape.
func wantAddr(t *testing.T, p *Packet, off, n int, typ AddrType, role Role) {
	t.Helper()
	for _, a := range p.Addrs[:p.NAddr] {
		if a.Off == off {
			if int(a.Len) != n || a.Type != typ || a.Role != role {
				t.Errorf("address at %d = %d bytes %v %v, want %d bytes %v %v", off, a.Len, a.Type, a.Role, n, typ, role)
			}
			return
		}
	}
	t.Errorf("no address field at offset %d (want %d bytes %v %v); have %v", off, n, typ, role, p.Addrs[:p.NAddr])
}

// wantHeader checks the offset and length of header i.
func wantHeader(t *testing.T, p *Packet, i int, k Kind, off, n int) {
	t.Helper()
	if i < 0 || i >= p.N {
		t.Errorf("header %d (%v) missing", i, k)
		return
	}
	h := p.Headers[i]
	if h.Kind != k || h.Off != off || h.Len != n {
		t.Errorf("header %d = %v at %d+%d, want %v at %d+%d", i, h.Kind, h.Off, h.Len, k, off, n)
	}
}

// wantTunnel checks tunnel i.
func wantTunnel(t *testing.T, p *Packet, i int, want Tunnel) {
	t.Helper()
	if i >= p.NTunnel {
		t.Errorf("tunnel %d missing (have %d)", i, p.NTunnel)
		return
	}
	if p.Tunnels[i] != want {
		t.Errorf("tunnel %d = %+v, want %+v", i, p.Tunnels[i], want)
	}
}

func ethHdr(t uint16) []byte { return cat(macB, macA, u16b(t)) }

func mplsEntry(label uint32, bos bool) []byte {
	v := label<<12 | 64
	if bos {
		v |= 0x100
	}
	return u32b(v)
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// nflogTLV builds one NFLOG attribute in the given byte order, padded to 4.
func nflogTLV(order binary.AppendByteOrder, typ uint16, v []byte) []byte {
	b := order.AppendUint16(nil, uint16(4+len(v)))
	b = order.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func nflogPacket(tb testing.TB, order binary.AppendByteOrder) []byte {
	return cat([]byte{2, 0, 0, 1},
		nflogTLV(order, 1, []byte{0x08, 0x00, 3, 0}), // packet header: hw protocol, hook
		nflogTLV(order, nfulaHWType, u16b(1)),        // Ethernet
		nflogTLV(order, nfulaHWAddr, cat(u16b(6), u16b(0), macA, []byte{0, 0})),
		nflogTLV(order, nfulaHWHeader, ethHdr(0x0800)),
		nflogTLV(order, nfulaPayload, innerIPv4UDP(tb)))
}

// nested returns an IPv4 packet holding n further IPv4 headers (IP in IP)
// around a UDP packet.
func nested(tb testing.TB, n int) []byte {
	in := innerIPv4UDP(tb)
	for i := 0; i < n; i++ {
		in = ser(tb, ip4(layers.IPProtocolIPv4, ip4A, ip4B), gopacket.Payload(in))
	}
	return in
}

// icmp6Pkt builds Ethernet, IPv6 and an ICMPv6 message with the given
// body (everything after type, code and checksum).
func icmp6Pkt(tb testing.TB, src, dst net.IP, typ, code uint8, body []byte) []byte {
	n := ip6(layers.IPProtocolICMPv6, src, dst)
	m := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
	_ = m.SetNetworkLayerForChecksum(n)
	return ser(tb, eth(layers.EthernetTypeIPv6), n, m, gopacket.Payload(body))
}

func decodeCases(tb testing.TB) []decodeCase {
	tcpPkt := pktEthIPv4TCP(tb)
	v4udp := innerIPv4UDP(tb)
	v6udp := innerIPv6UDP(tb)
	ethIn := innerEthIPv4TCP(tb)

	var cases []decodeCase
	add := func(c decodeCase) { cases = append(cases, c) }

	add(decodeCase{name: "ethernet ipv4 tcp", lt: LinkEthernet, data: tcpPkt,
		kinds: "Ethernet IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, TCP, 34, 36)
			wantAddr(t, p, 0, 6, AddrMAC, RoleDst)
			wantAddr(t, p, 6, 6, AddrMAC, RoleSrc)
			wantAddr(t, p, 26, 4, AddrIPv4, RoleSrc)
			wantAddr(t, p, 30, 4, AddrIPv4, RoleDst)
			eq(t, "Outer", p.Outer, 1)
			eq(t, "Inner", p.Inner, 1)
			eq(t, "L4", p.L4, 2)
			eq(t, "Proto", p.Proto, 6)
			eq(t, "ports", [2]uint16{p.SrcPort, p.DstPort}, [2]uint16{12345, 80})
			eq(t, "Seq", p.Seq, 0xfffffff0)
			eq(t, "Ack", p.Ack, 0x01020304)
			eq(t, "TCPFlags", p.TCPFlags, 0x18)
			eq(t, "TSOpt", p.TSOpt, 60)
			eq(t, "Payload", p.Payload, 70)
			eq(t, "PayloadLen", p.PayloadLen, len(payload))
			eq(t, "IPLen", p.IPLen, 20+36+len(payload))
			eq(t, "End", p.End, 70)
		}})
	add(decodeCase{name: "vlan ipv6 udp", lt: LinkEthernet, data: pktVLANIPv6UDP(tb),
		kinds: "Ethernet VLAN IPv6 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "NVLAN", p.NVLAN, 1)
			eq(t, "VLAN[0]", p.VLAN[0], 100)
			wantAddr(t, p, 26, 16, AddrIPv6, RoleSrc)
			wantAddr(t, p, 42, 16, AddrIPv6, RoleDst)
			eq(t, "ports", [2]uint16{p.SrcPort, p.DstPort}, [2]uint16{5353, 53})
			eq(t, "Payload", p.Payload, 66)
		}})
	add(decodeCase{name: "802.1ad and three 802.1Q tags", lt: LinkEthernet, data: pktQinQinQ(tb),
		kinds: "Ethernet VLAN VLAN VLAN VLAN IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "NVLAN", p.NVLAN, 4)
			eq(t, "VLAN", p.VLAN, [MaxVLANs]uint16{10, 20, 30})
			eq(t, "ports", [2]uint16{p.SrcPort, p.DstPort}, [2]uint16{68, 67})
		}})
	// A 0x9100 tag with priority 1 and VLAN 7, then an 802.1Q tag.
	add(decodeCase{name: "0x9100 outer tag", lt: LinkEthernet,
		data:  cat(ethHdr(0x9100), []byte{0x20, 0x07, 0x81, 0x00}, []byte{0, 9, 0x08, 0x00}, v4udp),
		kinds: "Ethernet VLAN VLAN IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "VLAN", p.VLAN, [MaxVLANs]uint16{7, 9, 0}) // priority bits dropped
		}})
	// IEEE 802.3: a length instead of a type, LLC AA AA 03, SNAP with the
	// zero OUI and EtherType IPv4, then padding beyond the length.
	add(decodeCase{name: "802.3 LLC SNAP ipv4", lt: LinkEthernet,
		data:  cat(macB, macA, u16b(uint16(8+len(v4udp))), []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, v4udp, make([]byte, 6)),
		kinds: "Ethernet LLC IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 1, LLC, 14, 8)
			eq(t, "Payload end", p.Payload+p.PayloadLen, 22+len(v4udp))
		}})
	// Spanning tree BPDUs use LLC 42 42 03 without SNAP: not decoded.
	add(decodeCase{name: "802.3 spanning tree", lt: LinkEthernet,
		data:  cat([]byte{1, 0x80, 0xc2, 0, 0, 0}, macA, u16b(38), []byte{0x42, 0x42, 0x03}, make([]byte, 35)),
		kinds: "Ethernet LLC", stop: Unsupported})
	add(decodeCase{name: "mpls two labels ipv4", lt: LinkEthernet,
		data:  cat(ethHdr(0x8847), mplsEntry(100, false), mplsEntry(200, true), v4udp),
		kinds: "Ethernet MPLS IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { wantHeader(t, p, 1, MPLS, 14, 8) }})
	add(decodeCase{name: "mpls ipv6", lt: LinkEthernet,
		data:  cat(ethHdr(0x8848), mplsEntry(3, true), v6udp),
		kinds: "Ethernet MPLS IPv6 UDP Payload"})
	// An all-zero control word, then an Ethernet frame (RFC 4448).
	add(decodeCase{name: "mpls ethernet pseudowire", lt: LinkEthernet,
		data:  cat(ethHdr(0x8847), mplsEntry(16, true), make([]byte, 4), ethIn),
		kinds: "Ethernet MPLS Ethernet IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 1, MPLS, 14, 8)
			wantAddr(t, p, 22, 6, AddrMAC, RoleDst)
		}})
	add(decodeCase{name: "mpls label stack too deep", lt: LinkEthernet,
		data:  cat(ethHdr(0x8847), mplsEntry(1, false), mplsEntry(2, false), mplsEntry(3, false), mplsEntry(4, false), mplsEntry(5, false), mplsEntry(6, false), mplsEntry(7, false), mplsEntry(8, false), mplsEntry(9, true), v4udp),
		kinds: "Ethernet", stop: TooDeep})
	add(decodeCase{name: "pppoe session ipv4 tcp", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolTCP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypePPPoESession),
				&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 0x11},
				&layers.PPP{PPPType: layers.PPPTypeIPv4}, n, tcp(1024, 22, n), payload)
		}(),
		kinds: "Ethernet PPPoE PPP IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, PPP, 20, 2)
			eq(t, "DstPort", p.DstPort, 22)
		}})
	// Session data carrying LCP (0xc021) rather than IP.
	add(decodeCase{name: "pppoe lcp", lt: LinkEthernet,
		data:  cat(ethHdr(0x8864), []byte{0x11, 0, 0, 1}, u16b(6), []byte{0xc0, 0x21, 1, 1, 0, 4}),
		kinds: "Ethernet PPPoE PPP", stop: Unsupported})
	add(decodeCase{name: "arp request", lt: LinkEthernet,
		data: ser(tb, eth(layers.EthernetTypeARP), &layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: macA, SourceProtAddress: ip4A,
			DstHwAddress: make([]byte, 6), DstProtAddress: ip4B}),
		kinds: "Ethernet ARP",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 1, ARP, 14, 28)
			wantAddr(t, p, 22, 6, AddrMAC, RoleSrc)
			wantAddr(t, p, 28, 4, AddrIPv4, RoleSrc)
			wantAddr(t, p, 32, 6, AddrMAC, RoleDst)
			wantAddr(t, p, 38, 4, AddrIPv4, RoleDst)
			eq(t, "End", p.End, 42) // the Ethernet padding is not understood data
			eq(t, "Inner", p.Inner, -1)
		}})
	// Record route: type 7, length 11, pointer, two address slots; the
	// option is padded to 12 bytes, so the header is 32 bytes long.
	add(decodeCase{name: "ipv4 record route first fragment", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			n.Flags = layers.IPv4MoreFragments
			n.Options = []layers.IPv4Option{{OptionType: 7, OptionLength: 11, OptionData: cat([]byte{8}, ip4C, ip4D)}}
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(53, 5353, n), payload)
		}(),
		kinds: "Ethernet IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 1, IPv4, 14, 32)
			wantAddr(t, p, 37, 4, AddrIPv4, RoleOther)
			wantAddr(t, p, 41, 4, AddrIPv4, RoleOther)
			eq(t, "Frag", p.Frag, Frag{ID: 0x1234, More: true, Fragmented: true})
			eq(t, "SrcPort", p.SrcPort, 53)
		}})
	add(decodeCase{name: "ipv4 later fragment", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			n.FragOffset = 185
			return ser(tb, eth(layers.EthernetTypeIPv4), n, payload)
		}(),
		kinds: "Ethernet IPv4 Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "Frag", p.Frag, Frag{ID: 0x1234, Offset: 1480, Fragmented: true})
			eq(t, "Proto", p.Proto, 17)
			eq(t, "L4", p.L4, -1)
			eq(t, "Payload", p.Payload, 34)
		}})
	// Hop-by-hop (PadN), segment routing (type 4) with two segments,
	// destination options with PadN and a home address option, then a
	// first fragment holding UDP.
	add(decodeCase{name: "ipv6 extension header chain", lt: LinkEthernet,
		data: func() []byte {
			hbh := []byte{43, 0, 1, 4, 0, 0, 0, 0}
			srh := cat([]byte{60, 4, 4, 1, 1, 0, 0, 0}, ip6C.To16(), ip6D.To16())
			dst := cat([]byte{44, 2, 1, 2, 0, 0, 201, 16}, ip6A.To16())
			frag := cat([]byte{17, 0, 0, 1}, u32b(0xdeadbeef))
			n := ip6(layers.IPProtocolUDP, ip6A, ip6B)
			u := ser(tb, n, udp(4000, 53, n), payload)[40:]
			return ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6HopByHop, ip6A, ip6B),
				gopacket.Payload(cat(hbh, srh, dst, frag, u)))
		}(),
		kinds: "Ethernet IPv6 IPv6HopByHop IPv6Routing IPv6DestOpts IPv6Frag UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 3, IPv6Routing, 62, 40)
			wantAddr(t, p, 70, 16, AddrIPv6, RoleOther)
			wantAddr(t, p, 86, 16, AddrIPv6, RoleOther)
			wantAddr(t, p, 102+8, 16, AddrIPv6, RoleOther)
			eq(t, "NAddr", p.NAddr, 2+2+3) // MACs, IPv6 addresses, segments and home address
			eq(t, "Frag", p.Frag, Frag{ID: 0xdeadbeef, More: true, Fragmented: true})
			eq(t, "Proto", p.Proto, 17)
			eq(t, "DstPort", p.DstPort, 53)
		}})
	// Fragment offset 181 (1448 bytes), identification 7.
	add(decodeCase{name: "ipv6 later fragment", lt: LinkEthernet,
		data: ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6Fragment, ip6A, ip6B),
			gopacket.Payload(cat([]byte{17, 0, 0x05, 0xa8}, u32b(7), []byte(payload)))),
		kinds: "Ethernet IPv6 IPv6Frag Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "Frag", p.Frag, Frag{ID: 7, Offset: 1448, Fragmented: true})
			eq(t, "Proto", p.Proto, 17)
		}})
	// AH: next header TCP, length 4 (24 bytes), SPI, sequence, 12-byte ICV.
	add(decodeCase{name: "ipv6 ah tcp", lt: LinkEthernet,
		data: func() []byte {
			n := ip6(layers.IPProtocolTCP, ip6A, ip6B)
			tc := ser(tb, n, tcp(1, 2, n), payload)[40:]
			return ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolAH, ip6A, ip6B),
				gopacket.Payload(cat([]byte{6, 4, 0, 0}, u32b(0x100), u32b(1), make([]byte, 12), tc)))
		}(),
		kinds: "Ethernet IPv6 AH TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, AH, 54, 24)
			eq(t, "Proto", p.Proto, 6)
		}})
	add(decodeCase{name: "ipv4 esp", lt: LinkEthernet,
		data:  ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolESP, ip4A, ip4B), gopacket.Payload(cat(u32b(0x100), u32b(1), []byte(payload)))),
		kinds: "Ethernet IPv4 ESP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { eq(t, "Proto", p.Proto, 50) }})
	add(decodeCase{name: "ipv4 unknown protocol", lt: LinkEthernet,
		data:  ser(tb, eth(layers.EthernetTypeIPv4), ip4(89, ip4A, ip4B), payload),
		kinds: "Ethernet IPv4 Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { eq(t, "Proto", p.Proto, 89) }})
	add(decodeCase{name: "sctp", lt: LinkEthernet,
		data:  ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolSCTP, ip4A, ip4B), &layers.SCTP{SrcPort: 2905, DstPort: 2906, VerificationTag: 1}, payload),
		kinds: "Ethernet IPv4 SCTP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "ports", [2]uint16{p.SrcPort, p.DstPort}, [2]uint16{2905, 2906})
		}})

	// ICMP errors and neighbor discovery.
	add(decodeCase{name: "icmp unreachable quoting ipv4 udp", lt: LinkEthernet, data: pktICMPQuote(tb, -1),
		kinds: "Ethernet IPv4 ICMPv4 IPv4q UDPq",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "Quote", p.Quote, 3)
			wantAddr(t, p, 54, 4, AddrIPv4, RoleSrc)
			wantAddr(t, p, 58, 4, AddrIPv4, RoleDst)
			eq(t, "ICMP", [2]uint8{p.ICMPType, p.ICMPCode}, [2]uint8{3, 3})
			eq(t, "L4", p.L4, 2)
			eq(t, "Inner", p.Inner, 1)
			eq(t, "End", p.End, 70)
			eq(t, "SrcPort", p.SrcPort, 0)
		}})
	add(decodeCase{name: "icmp quote cut inside the source address", lt: LinkEthernet, data: pktICMPQuote(tb, 14),
		kinds: "Ethernet IPv4 ICMPv4 IPv4qp",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantAddr(t, p, 54, 2, AddrIPv4, RoleSrc)
			eq(t, "End", p.End, 42)
		}})
	// The gateway 192.0.2.99 sits where echo messages keep ID and sequence.
	add(decodeCase{name: "icmp redirect quoting tcp", lt: LinkEthernet,
		data: func() []byte {
			q := innerIPv4TCP(tb)[:28]
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4, ip4B, ip4A),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(5, 1), Id: 0xc000, Seq: 0x0263}, gopacket.Payload(q))
		}(),
		kinds: "Ethernet IPv4 ICMPv4 IPv4q TCPqp",
		check: func(t *testing.T, p *Packet, data []byte) {
			wantAddr(t, p, 38, 4, AddrIPv4, RoleOther)
			sp, dp, ok := p.Headers[4].Ports(data)
			eq(t, "quoted ports", [2]uint16{sp, dp}, [2]uint16{40000, 443})
			eq(t, "quoted ports ok", ok, true)
		}})
	add(decodeCase{name: "icmpv6 packet too big quoting tcp", lt: LinkEthernet,
		data: icmp6Pkt(tb, ip6B, ip6A, 2, 0, (cat(u32b(1280), func() []byte {
			n := ip6(layers.IPProtocolTCP, ip6A, ip6C)
			return ser(tb, n, tcp(40000, 443, n), payload)[:48]
		}()))),
		kinds: "Ethernet IPv6 ICMPv6 IPv6q TCPqp",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantAddr(t, p, 62+8, 16, AddrIPv6, RoleSrc)
			wantAddr(t, p, 62+24, 16, AddrIPv6, RoleDst)
			eq(t, "Quote", p.Quote, 3)
		}})
	// Reserved, target, source link-layer address option.
	add(decodeCase{name: "ndp neighbor solicitation", lt: LinkEthernet,
		data:  icmp6Pkt(tb, ip6A, ip6B, 135, 0, (cat(make([]byte, 4), ip6C.To16(), []byte{1, 1}, macA))),
		kinds: "Ethernet IPv6 ICMPv6",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, ICMPv6, 54, 32)
			wantAddr(t, p, 62, 16, AddrIPv6, RoleOther)
			wantAddr(t, p, 80, 6, AddrMAC, RoleOther)
			eq(t, "End", p.End, 86)
		}})
	// Hop limit, flags, lifetime, reachable and retransmission timers, then
	// the source link-layer address, MTU, prefix information and
	// recursive DNS server (two addresses) options.
	add(decodeCase{name: "ndp router advertisement", lt: LinkEthernet,
		data: icmp6Pkt(tb, ip6A, ip6B, 134, 0, (cat([]byte{64, 0, 0x07, 0x08}, make([]byte, 8),
			[]byte{1, 1}, macA,
			[]byte{5, 1, 0, 0}, u32b(1500),
			[]byte{3, 4, 64, 0xc0}, u32b(1), u32b(1), u32b(0), ip6C.To16(),
			[]byte{25, 5, 0, 0}, u32b(600), ip6C.To16(), ip6D.To16()))),
		kinds: "Ethernet IPv6 ICMPv6",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, ICMPv6, 54, 16+8+8+32+40)
			wantAddr(t, p, 72, 6, AddrMAC, RoleOther)
			wantAddr(t, p, 102, 16, AddrIPv6, RoleOther)
			wantAddr(t, p, 126, 16, AddrIPv6, RoleOther)
			wantAddr(t, p, 142, 16, AddrIPv6, RoleOther)
		}})
	// Reserved, target, destination, target link-layer address option,
	// redirected header option (7 units: 8 bytes, then 48 quoted bytes).
	add(decodeCase{name: "ndp redirect with redirected header", lt: LinkEthernet,
		data: icmp6Pkt(tb, ip6A, ip6B, 137, 0, (cat(make([]byte, 4), ip6C.To16(), ip6D.To16(),
			[]byte{2, 1}, macB,
			[]byte{4, 7, 0, 0, 0, 0, 0, 0}, v6udp[:48]))),
		kinds: "Ethernet IPv6 ICMPv6 IPv6q UDPq",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, ICMPv6, 54, 40+8+56)
			wantAddr(t, p, 62, 16, AddrIPv6, RoleOther)
			wantAddr(t, p, 78, 16, AddrIPv6, RoleOther)
			wantAddr(t, p, 96, 6, AddrMAC, RoleOther)
			wantHeader(t, p, 3, IPv6, 110, 40)
			wantAddr(t, p, 118, 16, AddrIPv6, RoleSrc)
			eq(t, "Quote", p.Quote, 3)
		}})
	add(decodeCase{name: "ndp option of length zero", lt: LinkEthernet,
		data:  icmp6Pkt(tb, ip6A, ip6B, 133, 0, (cat(make([]byte, 4), []byte{1, 0}, macA))),
		kinds: "Ethernet IPv6 ICMPv6", stop: Malformed})
	add(decodeCase{name: "router advertisement with too many dns servers", lt: LinkEthernet,
		data: func() []byte {
			opt := []byte{25, 1 + 2*MaxAddrs, 0, 0, 0, 0, 0, 1}
			for i := 0; i < MaxAddrs; i++ {
				opt = append(opt, ip6C.To16()...)
			}
			return icmp6Pkt(tb, ip6A, ip6B, 134, 0, (cat(make([]byte, 12), opt)))
		}(),
		kinds: "Ethernet IPv6 ICMPv6", stop: TooDeep})

	// Tunnels.
	add(decodeCase{name: "gre key and sequence ipv4", lt: LinkEthernet, data: pktGRE(tb),
		kinds: "Ethernet IPv4 GRE IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, GRE, 34, 12)
			wantTunnel(t, p, 0, Tunnel{Kind: GRE, Header: 2, Outer: 1, ID: 0x11223344})
			eq(t, "inner depth", p.Headers[3].Depth, 1)
			eq(t, "Outer", p.Outer, 1)
			eq(t, "Inner", p.Inner, 3)
			eq(t, "ports", [2]uint16{p.SrcPort, p.DstPort}, [2]uint16{5353, 53})
		}})
	add(decodeCase{name: "gre checksum transparent ethernet", lt: LinkEthernet,
		data: ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, ip4A, ip4B),
			&layers.GRE{ChecksumPresent: true, Protocol: layers.EthernetTypeTransparentEthernetBridging}, gopacket.Payload(ethIn)),
		kinds: "Ethernet IPv4 GRE Ethernet IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, GRE, 34, 8)
			wantAddr(t, p, 42, 6, AddrMAC, RoleDst)
		}})
	add(decodeCase{name: "erspan type II", lt: LinkEthernet,
		data: ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, ip4A, ip4B),
			&layers.GRE{SeqPresent: true, Seq: 1, Protocol: layers.EthernetTypeERSPAN},
			&layers.ERSPANII{Version: 1, SessionID: 0x155, Index: 1}, gopacket.Payload(ethIn)),
		kinds: "Ethernet IPv4 GRE ERSPAN Ethernet IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantTunnel(t, p, 0, Tunnel{Kind: GRE, Header: 2, Outer: 1, ID: 0x155})
		}})
	// ERSPAN III: version 2 and session 0x42, timestamp, SGT and flags
	// without the platform subheader.
	add(decodeCase{name: "erspan type III", lt: LinkEthernet,
		data: ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, ip4A, ip4B),
			&layers.GRE{SeqPresent: true, Seq: 1, Protocol: 0x22eb},
			gopacket.Payload(cat([]byte{0x20, 0, 0x00, 0x42}, u32b(1), []byte{0, 0, 0, 0}, ethIn))),
		kinds: "Ethernet IPv4 GRE ERSPAN Ethernet IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 3, ERSPAN, 42, 12)
			eq(t, "tunnel ID", p.Tunnels[0].ID, 0x42)
		}})
	// Enhanced GRE: key and sequence flags, acknowledgment flag and
	// version 1, PPP; payload length and call ID; sequence; ack; then PPP
	// with address and control bytes.
	add(decodeCase{name: "pptp enhanced gre with ppp", lt: LinkEthernet,
		data: ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, ip4A, ip4B),
			gopacket.Payload(cat([]byte{0x30, 0x81, 0x88, 0x0b}, u16b(uint16(4+len(v4udp))), u16b(0x4242), u32b(9), u32b(8),
				[]byte{0xff, 0x03, 0x00, 0x21}, v4udp))),
		kinds: "Ethernet IPv4 GRE PPP IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 2, GRE, 34, 16)
			wantHeader(t, p, 3, PPP, 50, 4)
			wantTunnel(t, p, 0, Tunnel{Kind: GRE, Header: 2, Outer: 1, ID: 0x4242})
		}})
	add(decodeCase{name: "pptp acknowledgment only", lt: LinkEthernet,
		data: ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, ip4A, ip4B),
			gopacket.Payload(cat([]byte{0x20, 0x81, 0x88, 0x0b}, u16b(0), u16b(0x4242), u32b(8)))),
		kinds: "Ethernet IPv4 GRE",
		check: func(t *testing.T, p *Packet, _ []byte) { wantHeader(t, p, 2, GRE, 34, 12) }})
	add(decodeCase{name: "vxlan", lt: LinkEthernet, data: pktVXLAN(tb),
		kinds: "Ethernet IPv4 UDP VXLAN Ethernet IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 3, VXLAN, 42, 8)
			wantTunnel(t, p, 0, Tunnel{Kind: VXLAN, Header: 3, Outer: 1, ID: 0xabcdef})
			eq(t, "VXLAN depth", p.Headers[3].Depth, 0)
			eq(t, "inner Ethernet depth", p.Headers[4].Depth, 1)
			eq(t, "Outer", p.Outer, 1)
			eq(t, "Inner", p.Inner, 5)
			eq(t, "L4", p.L4, 6)
			eq(t, "ports", [2]uint16{p.SrcPort, p.DstPort}, [2]uint16{40000, 443})
			wantAddr(t, p, 50, 6, AddrMAC, RoleDst)
		}})
	// VXLAN-GPE: I and P flags, next protocol 2 (IPv6), VNI 7.
	add(decodeCase{name: "vxlan-gpe carrying ipv6", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(50000, 4790, n),
				gopacket.Payload(cat([]byte{0x0c, 0, 0, 2, 0, 0, 7, 0}, v6udp)))
		}(),
		kinds: "Ethernet IPv4 UDP VXLAN IPv6 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { eq(t, "VNI", p.Tunnels[0].ID, 7) }})
	add(decodeCase{name: "vxlan without the I flag is payload", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(4789, 4789, n), gopacket.Payload(cat(make([]byte, 8), ethIn)))
		}(),
		kinds: "Ethernet IPv4 UDP Payload"})
	// Authentication without client ID or value (13 bytes), then the
	// origin indication with the port and address bits inverted.
	add(decodeCase{name: "teredo with authentication and origin", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			auth := cat([]byte{0, 1, 0, 0}, make([]byte, 8), []byte{0})
			origin := cat([]byte{0, 0}, u16b(^uint16(40000)), []byte{^byte(192), ^byte(0), ^byte(2), ^byte(9)})
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(3544, 40000, n), gopacket.Payload(cat(auth, origin, v6udp)))
		}(),
		kinds: "Ethernet IPv4 UDP Teredo IPv6 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 3, Teredo, 42, 21)
			wantAddr(t, p, 42+13+4, 4, AddrIPv4XOR, RoleOther)
			wantTunnel(t, p, 0, Tunnel{Kind: Teredo, Header: 3, Outer: 1})
			eq(t, "DstPort", p.DstPort, 547)
		}})
	add(decodeCase{name: "teredo found by its shape", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(40001, 50000, n), gopacket.Payload(v6udp))
		}(),
		kinds: "Ethernet IPv4 UDP Teredo IPv6 UDP Payload", opaqueCut: true,
		check: func(t *testing.T, p *Packet, _ []byte) { wantHeader(t, p, 3, Teredo, 42, 0) }})
	add(decodeCase{name: "udp payload that only starts like ipv6", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(40001, 50000, n), gopacket.Payload(cat(v6udp, []byte{0})))
		}(),
		kinds: "Ethernet IPv4 UDP Payload"})
	// Flags: version 1, GTP, E; G-PDU; length; TEID; sequence, N-PDU and
	// next extension type 0x85 (PDU session container, 4 bytes, ending
	// the chain).
	add(decodeCase{name: "gtp-u with extension header", lt: LinkEthernet,
		data: func() []byte {
			in := innerIPv4TCP(tb)
			g := cat([]byte{0x34, 0xff}, u16b(uint16(8+len(in))), u32b(0xcafe0001), u16b(0), []byte{0, 0x85}, []byte{1, 0x10, 0x09, 0}, in)
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(2152, 2152, n), gopacket.Payload(g))
		}(),
		kinds: "Ethernet IPv4 UDP GTPU IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantHeader(t, p, 3, GTPU, 42, 16)
			wantTunnel(t, p, 0, Tunnel{Kind: GTPU, Header: 3, Outer: 1, ID: 0xcafe0001})
		}})
	add(decodeCase{name: "gtp-u echo request", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(40000, 2152, n),
				gopacket.Payload(cat([]byte{0x32, 1}, u16b(4), u32b(0), u16b(1), []byte{0, 0})))
		}(),
		kinds: "Ethernet IPv4 UDP GTPU", check: func(t *testing.T, p *Packet, _ []byte) { eq(t, "NTunnel", p.NTunnel, 0) }})
	add(decodeCase{name: "6in4", lt: LinkEthernet,
		data:  ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv6, ip4A, ip4B), gopacket.Payload(v6udp)),
		kinds: "Ethernet IPv4 IPv6 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantTunnel(t, p, 0, Tunnel{Kind: IPv4, Header: 1, Outer: 1})
			eq(t, "Inner", p.Inner, 2)
		}})
	add(decodeCase{name: "ip in ip", lt: LinkEthernet,
		data:  ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv4, ip4A, ip4B), gopacket.Payload(v4udp)),
		kinds: "Ethernet IPv4 IPv4 UDP Payload"})
	add(decodeCase{name: "ipv4 in ipv6", lt: LinkEthernet,
		data:  ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv4, ip6A, ip6B), gopacket.Payload(v4udp)),
		kinds: "Ethernet IPv6 IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { wantTunnel(t, p, 0, Tunnel{Kind: IPv6, Header: 1, Outer: 1}) }})
	add(decodeCase{name: "ipv6 in ipv6", lt: LinkEthernet,
		data:  ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6, ip6A, ip6B), gopacket.Payload(v6udp)),
		kinds: "Ethernet IPv6 IPv6 UDP Payload"})
	add(decodeCase{name: "tunnels nested too deep", lt: LinkIPv4, data: nested(tb, MaxTunnels+1),
		kinds: "IPv4 IPv4 IPv4 IPv4 IPv4", stop: TooDeep})
	add(decodeCase{name: "tunnels nested to the limit", lt: LinkIPv4, data: nested(tb, MaxTunnels),
		kinds: "IPv4 IPv4 IPv4 IPv4 IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "NTunnel", p.NTunnel, MaxTunnels)
			eq(t, "depth", p.Headers[5].Depth, MaxTunnels)
		}})

	// Link types.
	add(decodeCase{name: "null little-endian", lt: LinkNull, data: cat(le32(2), v4udp), kinds: "Null IPv4 UDP Payload"})
	add(decodeCase{name: "null big-endian darwin ipv6", lt: LinkNull, data: cat(u32b(30), v6udp), kinds: "Null IPv6 UDP Payload"})
	add(decodeCase{name: "null freebsd ipv6", lt: LinkNull, data: cat(le32(28), v6udp), kinds: "Null IPv6 UDP Payload"})
	add(decodeCase{name: "loop openbsd ipv6", lt: LinkLoop, data: cat(u32b(24), v6udp), kinds: "Null IPv6 UDP Payload"})
	add(decodeCase{name: "null unknown family", lt: LinkNull, data: cat(le32(7), v4udp), kinds: "Null", stop: Unsupported})
	add(decodeCase{name: "ppp with address and control", lt: LinkPPP, data: cat([]byte{0xff, 0x03, 0x00, 0x21}, v4udp),
		kinds: "PPP IPv4 UDP Payload", check: func(t *testing.T, p *Packet, _ []byte) { wantHeader(t, p, 0, PPP, 0, 4) }})
	add(decodeCase{name: "ppp compressed protocol", lt: LinkPPP, data: cat([]byte{0x21}, v4udp),
		kinds: "PPP IPv4 UDP Payload", check: func(t *testing.T, p *Packet, _ []byte) { wantHeader(t, p, 0, PPP, 0, 1) }})
	add(decodeCase{name: "ppp hdlc ipv6", lt: LinkPPPHDLC, data: cat([]byte{0xff, 0x03, 0x00, 0x57}, v6udp), kinds: "PPP IPv6 UDP Payload"})
	add(decodeCase{name: "ppp hdlc carrying cisco hdlc", lt: LinkPPPHDLC, data: cat([]byte{0x0f, 0x00, 0x08, 0x00}, v4udp), kinds: "CHDLC IPv4 UDP Payload"})
	add(decodeCase{name: "cisco hdlc", lt: LinkCHDLC, data: cat([]byte{0x8f, 0x00, 0x86, 0xdd}, v6udp), kinds: "CHDLC IPv6 UDP Payload"})
	add(decodeCase{name: "raw ipv4", lt: LinkRaw, data: v4udp, kinds: "IPv4 UDP Payload"})
	add(decodeCase{name: "raw 12 ipv6", lt: linkRaw12, data: v6udp, kinds: "IPv6 UDP Payload"})
	add(decodeCase{name: "raw 14 ipv4", lt: linkRaw14, data: v4udp, kinds: "IPv4 UDP Payload"})
	add(decodeCase{name: "raw garbage", lt: LinkRaw, data: []byte{0x50, 1, 2, 3}, kinds: "", stop: Malformed})
	add(decodeCase{name: "linktype ipv4", lt: LinkIPv4, data: v4udp, kinds: "IPv4 UDP Payload"})
	add(decodeCase{name: "linktype ipv6", lt: LinkIPv6, data: v6udp, kinds: "IPv6 UDP Payload"})
	add(decodeCase{name: "linktype ipv4 holding ipv6", lt: LinkIPv4, data: v6udp, kinds: "", stop: Malformed})
	// Packet type, hardware type 1, address length 6, address padded to
	// 8 bytes, protocol.
	add(decodeCase{name: "linux sll", lt: LinkLinuxSLL,
		data:  cat([]byte{0, 0, 0, 1, 0, 6}, macA, []byte{0, 0, 0x08, 0x00}, v4udp),
		kinds: "SLL IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { wantAddr(t, p, 6, 6, AddrMAC, RoleSrc) }})
	add(decodeCase{name: "linux sll vlan", lt: LinkLinuxSLL,
		data:  cat([]byte{0, 4, 0, 1, 0, 6}, macA, []byte{0, 0, 0x81, 0x00}, []byte{0, 5, 0x08, 0x00}, v4udp),
		kinds: "SLL VLAN IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { eq(t, "VLAN[0]", p.VLAN[0], 5) }})
	// Protocol, reserved, interface index, hardware type, packet type,
	// address length, address padded to 8 bytes.
	add(decodeCase{name: "linux sll2", lt: LinkLinuxSLL2,
		data:  cat([]byte{0x86, 0xdd, 0, 0}, u32b(3), []byte{0, 1, 4, 6}, macA, []byte{0, 0}, v6udp),
		kinds: "SLL2 IPv6 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { wantAddr(t, p, 12, 6, AddrMAC, RoleSrc) }})
	add(decodeCase{name: "nflog little-endian", lt: LinkNFLOG, data: nflogPacket(tb, binary.LittleEndian),
		kinds: "NFLOG IPv4 UDP Payload", opaqueCut: true,
		check: func(t *testing.T, p *Packet, data []byte) {
			eq(t, "NFLOG length", p.Headers[0].Len, len(data)-len(nflogTLV(binary.LittleEndian, nfulaPayload, v4udp))+4)
			eq(t, "NAddr", p.NAddr, 3+2)
			wantAddr(t, p, 4+8+8+8, 6, AddrMAC, RoleSrc)
			wantAddr(t, p, 4+8+8+16+4, 6, AddrMAC, RoleDst)
		}})
	add(decodeCase{name: "nflog big-endian", lt: LinkNFLOG, data: nflogPacket(tb, binary.BigEndian), kinds: "NFLOG IPv4 UDP Payload", opaqueCut: true})
	// PPI version 0, flags 0, length 8 and link type, little-endian.
	add(decodeCase{name: "ppi around ethernet", lt: LinkPPI, data: cat([]byte{0, 0, 8, 0}, le32(1), tcpPkt), kinds: "PPI Ethernet IPv4 TCP Payload"})
	add(decodeCase{name: "ppi around 802.11", lt: LinkPPI, data: cat([]byte{0, 0, 8, 0}, le32(105), tcpPkt), kinds: "PPI", stop: Unsupported})
	// ipnet version 1, family 26 (IPv6), hardware type, length, and the
	// interface and zone IDs.
	add(decodeCase{name: "solaris ipnet", lt: LinkIPNet, data: cat([]byte{1, 26, 0, 0}, u32b(uint32(len(v6udp))), make([]byte, 16), v6udp), kinds: "IPNet IPv6 UDP Payload"})

	// Damage.
	add(decodeCase{name: "truncated inside tcp", lt: LinkEthernet, data: tcpPkt[:40],
		kinds: "Ethernet IPv4 TCPp", stop: Truncated,
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "End", p.End, 34)
			eq(t, "L4", p.L4, -1)
			eq(t, "Inner", p.Inner, 1)
		}})
	add(decodeCase{name: "truncated inside ipv4 addresses", lt: LinkEthernet, data: tcpPkt[:28],
		kinds: "Ethernet IPv4p", stop: Truncated,
		check: func(t *testing.T, p *Packet, _ []byte) {
			wantAddr(t, p, 26, 2, AddrIPv4, RoleSrc)
			eq(t, "Inner", p.Inner, -1)
		}})
	add(decodeCase{name: "ipv4 header length 16", lt: LinkEthernet,
		data: func() []byte { b := cat(tcpPkt); b[14] = 0x44; return b }(), kinds: "Ethernet", stop: Malformed})
	add(decodeCase{name: "ipv4 total length below header length", lt: LinkEthernet,
		data: func() []byte { b := cat(tcpPkt); b[16], b[17] = 0, 12; return b }(), kinds: "Ethernet", stop: Malformed})
	add(decodeCase{name: "tcp data offset 4", lt: LinkEthernet,
		data: func() []byte { b := cat(tcpPkt); b[46] = 0x40; return b }(), kinds: "Ethernet IPv4", stop: Malformed})
	add(decodeCase{name: "udp length 7", lt: LinkIPv4,
		data: func() []byte { b := cat(v4udp); b[24], b[25] = 0, 7; return b }(), kinds: "IPv4", stop: Malformed})
	add(decodeCase{name: "udp length past the ip packet", lt: LinkIPv4,
		data: func() []byte { b := cat(v4udp); b[24], b[25] = 0x10, 0; return b }(), kinds: "IPv4", stop: Malformed})
	add(decodeCase{name: "inner ipv4 longer than the gre payload", lt: LinkEthernet,
		data: func() []byte { b := pktGRE(tb); b[48], b[49] = 0x05, 0xdc; return b }(), kinds: "Ethernet IPv4 GRE", stop: Malformed})
	// A one-byte UDP payload: gopacket pads the frame to 60 bytes, and the
	// padding must not count as payload.
	add(decodeCase{name: "ethernet padding after ipv4", lt: LinkEthernet,
		data: func() []byte {
			n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
			return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(1, 2, n), gopacket.Payload([]byte{1}))
		}(),
		kinds: "Ethernet IPv4 UDP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) {
			eq(t, "PayloadLen", p.PayloadLen, 1)
			eq(t, "payload header length", p.Headers[3].Len, 1)
		}})
	add(decodeCase{name: "ipv4 total length 0 from segmentation offload", lt: LinkEthernet,
		data: func() []byte { b := cat(tcpPkt); b[16], b[17] = 0, 0; return b }(), kinds: "Ethernet IPv4 TCP Payload",
		check: func(t *testing.T, p *Packet, _ []byte) { eq(t, "PayloadLen", p.PayloadLen, len(payload)) }})
	add(decodeCase{name: "lldp", lt: LinkEthernet, data: cat(ethHdr(0x88cc), make([]byte, 46)), kinds: "Ethernet", stop: Unsupported})
	// More tags than MaxHeaders: the header list fills up.
	add(decodeCase{name: "too many vlan tags", lt: LinkEthernet,
		data: func() []byte {
			b := ethHdr(0x8100)
			for i := 0; i < MaxHeaders; i++ {
				b = append(b, 0, byte(i), 0x81, 0x00)
			}
			return append(b, v4udp...)
		}(),
		kinds: "Ethernet VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN VLAN", stop: TooDeep})
	return cases
}

func TestDecode(t *testing.T) {
	var p Packet
	for _, c := range decodeCases(t) {
		t.Run(c.name, func(t *testing.T) {
			err := Decode(&p, c.data, c.lt)
			if got := kinds(&p); got != c.kinds {
				t.Errorf("headers = %q, want %q", got, c.kinds)
			}
			if p.Stop != c.stop {
				t.Errorf("Stop = %v, want %v", p.Stop, c.stop)
			}
			if err != p.Err() || (err == nil) != (c.stop == Complete) {
				t.Errorf("Decode = %v with Stop %v", err, p.Stop)
			}
			checkInvariants(t, &p, c.data)
			if c.check != nil && !t.Failed() {
				c.check(t, &p, c.data)
			}
		})
	}
}

func TestUnsupportedLinkType(t *testing.T) {
	var p Packet
	for _, lt := range []uint32{105, 127, 0x10000 + 1, 0xffffffff} {
		err := Decode(&p, pktEthIPv4TCP(t), lt)
		if !errors.Is(err, ErrUnsupportedLinkType) || p.N != 0 || p.Stop != Unsupported {
			t.Errorf("Decode(link type %d) = %v, %d headers, Stop %v; want ErrUnsupportedLinkType, none, unsupported", lt, err, p.N, p.Stop)
		}
	}
}

// checkInvariants checks what must hold for any input: headers inside the
// data with offsets that never decrease, End within the data and at the
// end of a complete header, address fields inside their bytes, indexes in
// range.
func checkInvariants(t testing.TB, p *Packet, data []byte) {
	t.Helper()
	if p.N < 0 || p.N > MaxHeaders || p.NAddr < 0 || p.NAddr > MaxAddrs || p.NTunnel < 0 || p.NTunnel > MaxTunnels {
		t.Fatalf("counts out of range: N %d, NAddr %d, NTunnel %d", p.N, p.NAddr, p.NTunnel)
	}
	if p.End < 0 || p.End > len(data) {
		t.Errorf("End = %d outside %d bytes", p.End, len(data))
	}
	prev, endOK := 0, p.End == 0
	for i := 0; i < p.N; i++ {
		h := p.Headers[i]
		if h.Off < prev || h.Len < 0 || h.Off+h.Len > len(data) {
			t.Errorf("header %d %v at %d+%d: outside %d bytes or before %d", i, h.Kind, h.Off, h.Len, len(data), prev)
		}
		if h.Kind == 0 || h.Kind >= numKinds || int(h.Depth) > MaxTunnels {
			t.Errorf("header %d: kind %d depth %d", i, h.Kind, h.Depth)
		}
		if h.Partial && h.Len == 0 {
			t.Errorf("header %d %v: empty partial header", i, h.Kind)
		}
		if !h.Partial && h.Kind != Payload && h.End() == p.End {
			endOK = true
		}
		if !h.Partial && h.Kind != Payload && h.End() > p.End {
			t.Errorf("header %d %v ends at %d, after End %d", i, h.Kind, h.End(), p.End)
		}
		prev = h.Off
	}
	if !endOK {
		t.Errorf("End = %d is not the end of a complete header", p.End)
	}
	for i, a := range p.Addrs[:p.NAddr] {
		if a.Len == 0 || a.Off < 0 || a.Off+int(a.Len) > len(data) || int(a.Header) >= p.N {
			t.Errorf("address %d %+v outside %d bytes or %d headers", i, a, len(data), p.N)
		}
		if i > 0 && a.Header < p.Addrs[i-1].Header {
			t.Errorf("address %d belongs to header %d, after header %d", i, a.Header, p.Addrs[i-1].Header)
		}
	}
	for i, tn := range p.Tunnels[:p.NTunnel] {
		if int(tn.Header) >= p.N || int(tn.Outer) >= p.N || tn.Outer > tn.Header {
			t.Errorf("tunnel %d %+v: indexes out of range", i, tn)
		}
	}
	for _, idx := range []int{p.Outer, p.Inner, p.Quote, p.L4} {
		if idx < -1 || idx >= p.N {
			t.Errorf("index %d out of range (N %d)", idx, p.N)
		}
	}
	if p.Payload >= 0 && (p.Payload > len(data) || p.PayloadLen < 0) {
		t.Errorf("Payload %d+%d outside %d bytes", p.Payload, p.PayloadLen, len(data))
	}
	if p.TSOpt >= 0 && p.TSOpt+10 > len(data) {
		t.Errorf("TSOpt %d outside %d bytes", p.TSOpt, len(data))
	}
}

// TestTruncation cuts every synthetic packet at every length: decoding
// must never report more than the bytes hold, and a cut before the end of
// the last header must be reported as truncated (or, inside an ICMP quote,
// as a partial quoted header).
func TestTruncation(t *testing.T) {
	var full, p Packet
	for _, c := range decodeCases(t) {
		if Decode(&full, c.data, c.lt); full.Stop != Complete {
			continue
		}
		for n := 0; n < len(c.data); n++ {
			cut := c.data[:n:n]
			Decode(&p, cut, c.lt)
			checkInvariants(t, &p, cut)
			if p.End > n {
				t.Fatalf("%s cut to %d: End %d", c.name, n, p.End)
			}
			switch {
			case n < full.End && full.Quote >= 0 && n >= full.Headers[full.Quote].Off:
				if p.Stop != Complete {
					t.Errorf("%s cut to %d inside the quote: Stop %v, want complete", c.name, n, p.Stop)
				}
			case n < full.End && c.opaqueCut && p.Stop == Complete:
			case n < full.End && udpEnd(&full, n):
				// Without a byte of the UDP payload nothing says that a
				// tunnel follows: the payload was not captured.
				if p.Stop != Complete {
					t.Errorf("%s cut to %d after a UDP header: Stop %v, want complete", c.name, n, p.Stop)
				}
			case n < full.End:
				if p.Stop != Truncated {
					t.Errorf("%s cut to %d before End %d: Stop %v, want truncated (%s)", c.name, n, full.End, p.Stop, kinds(&p))
				}
			default:
				if p.Stop != Complete || p.End != full.End {
					t.Errorf("%s cut to %d after End %d: Stop %v End %d, want complete at %d", c.name, n, full.End, p.Stop, p.End, full.End)
				}
			}
		}
	}
}

// udpEnd reports whether n is the end of a UDP header of p.
func udpEnd(p *Packet, n int) bool {
	for _, h := range p.Headers[:p.N] {
		if h.Kind == UDP && h.End() == n {
			return true
		}
	}
	return false
}

// TestReuse decodes every case into one Packet after a large packet and
// compares with a fresh Packet: nothing may leak from one packet to the
// next.
func TestReuse(t *testing.T) {
	cases := decodeCases(t)
	big := pktVXLAN(t)
	var reused Packet
	for _, c := range cases {
		Decode(&reused, big, LinkEthernet)
		Decode(&reused, c.data, c.lt)
		var fresh Packet
		Decode(&fresh, c.data, c.lt)
		if !samePacket(&reused, &fresh) {
			t.Errorf("%s: reused Packet differs from a fresh one:\n%+v\n%+v", c.name, reused, fresh)
		}
	}
}

// samePacket compares the meaningful parts of two Packets.
func samePacket(a, b *Packet) bool {
	x, y := *a, *b
	for i := x.N; i < MaxHeaders; i++ {
		x.Headers[i], y.Headers[i] = Header{}, Header{}
	}
	for i := x.NAddr; i < MaxAddrs; i++ {
		x.Addrs[i], y.Addrs[i] = Addr{}, Addr{}
	}
	for i := x.NTunnel; i < MaxTunnels; i++ {
		x.Tunnels[i], y.Tunnels[i] = Tunnel{}, Tunnel{}
	}
	return x == y
}

func TestZeroAllocations(t *testing.T) {
	var pkts [][]byte
	var lts []uint32
	for _, c := range decodeCases(t) {
		pkts, lts = append(pkts, c.data), append(lts, c.lt)
	}
	var p Packet
	allocs := testing.AllocsPerRun(100, func() {
		for i, b := range pkts {
			_ = Decode(&p, b, lts[i])
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %v times per run of %d packets, want 0", allocs, len(pkts))
	}
}

func TestStrings(t *testing.T) {
	for k := Kind(1); k < numKinds; k++ {
		if s := k.String(); s == "" || s == "None" {
			t.Errorf("Kind(%d).String() = %q", k, s)
		}
	}
	eq(t, "Kind(200)", Kind(200).String(), "Kind(200)")
	eq(t, "Truncated", Truncated.String(), "truncated")
	eq(t, "StopReason(9)", StopReason(9).String(), "StopReason(9)")
	eq(t, "AddrIPv4XOR", AddrIPv4XOR.String(), "IPv4XOR")
	eq(t, "RoleOther", RoleOther.String(), "other")
}

func TestAccessors(t *testing.T) {
	data := pktICMPQuote(t, -1)
	var p Packet
	if err := Decode(&p, data, LinkEthernet); err != nil {
		t.Fatal(err)
	}
	src, dst := p.InnerAddrs(data)
	eq(t, "InnerAddrs src", string(src), string(ip4B.To4()))
	eq(t, "InnerAddrs dst", string(dst), string(ip4A.To4()))
	eq(t, "HeaderAddrs(3)", len(p.HeaderAddrs(3)), 2)
	eq(t, "HeaderAddrs(3)[0].Off", p.HeaderAddrs(3)[0].Off, 54)
	eq(t, "HeaderAddrs(2)", len(p.HeaderAddrs(2)), 0)
	sp, dp, ok := p.Headers[4].Ports(data)
	eq(t, "quoted Ports", [3]any{sp, dp, ok}, [3]any{uint16(5353), uint16(53), true})
	if _, _, ok := p.Headers[1].Ports(data); ok {
		t.Error("Ports of an IPv4 header: ok")
	}
	eq(t, "PayloadBytes", len(p.PayloadBytes(data)), 0)

	data = pktEthIPv4TCP(t)
	_ = Decode(&p, data, LinkEthernet)
	eq(t, "PayloadBytes", string(p.PayloadBytes(data)), string(payload))
	_ = Decode(&p, []byte{1}, LinkEthernet)
	if s, d := p.InnerAddrs([]byte{1}); s != nil || d != nil {
		t.Error("InnerAddrs without IP: not nil")
	}
}
