package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/flowfed/flowfed/share/capture"
)

// This file builds packets by hand for the synthesized captures: every header is
// laid out byte by byte and every checksum computed here, independently of the
// code under test, so that the tests can also hand it wrong checksums on purpose.

// ip4 and ip6 return the bytes of an address literal.
func ip4(s string) []byte { a := netip.MustParseAddr(s).As4(); return a[:] }
func ip6(s string) []byte { a := netip.MustParseAddr(s).As16(); return a[:] }

// mac parses a MAC address written as six colon-separated hex octets.
func mac(s string) []byte {
	var b [6]byte
	n := 0
	for i := 0; i < len(s) && n < 6; i += 3 {
		b[n] = unhex(s[i])<<4 | unhex(s[i+1])
		n++
	}
	return b[:]
}

// unhex returns the value of one hex digit.
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// cat concatenates byte strings.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// u16 and u32 encode big-endian values.
func u16(v int) []byte    { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// inetSum is the Internet checksum (RFC 1071) of b with an initial sum.
func inetSum(init uint32, b []byte) uint16 {
	s := init
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// pseudoSum is the sum of an IPv4 or IPv6 pseudo-header.
func pseudoSum(src, dst []byte, proto, length int) uint32 {
	var s uint32
	for _, a := range [][]byte{src, dst} {
		for i := 0; i < len(a); i += 2 {
			s += uint32(a[i])<<8 | uint32(a[i+1])
		}
	}
	return s + uint32(proto) + uint32(length)
}

// eth builds an Ethernet II frame.
func eth(dst, src []byte, etype int, payload []byte) []byte {
	return cat(dst, src, u16(etype), payload)
}

// vlan builds an 802.1Q tag followed by its payload.
func vlan(id, etype int, payload []byte) []byte { return cat(u16(id), u16(etype), payload) }

// ipv4h builds an IPv4 packet with options opts (a multiple of 4 bytes).
func ipv4h(src, dst []byte, proto int, opts, payload []byte) []byte {
	hl := 20 + len(opts)
	h := cat([]byte{byte(0x40 | hl/4), 0}, u16(hl+len(payload)), u16(0x1234), u16(0), []byte{64, byte(proto)},
		u16(0), src, dst, opts)
	binary.BigEndian.PutUint16(h[10:], inetSum(0, h))
	return cat(h, payload)
}

// ipv4 builds an IPv4 packet without options.
func ipv4(src, dst []byte, proto int, payload []byte) []byte {
	return ipv4h(src, dst, proto, nil, payload)
}

// ipv6 builds an IPv6 packet; extension headers go in the payload.
func ipv6(src, dst []byte, nh int, payload []byte) []byte {
	return cat([]byte{0x60, 0, 0, 0}, u16(len(payload)), []byte{byte(nh), 64}, src, dst, payload)
}

// l4 builds a TCP/UDP/ICMPv6 segment whose checksum covers a pseudo-header.
func l4(src, dst []byte, proto int, seg []byte, ckOff int) []byte {
	seg = bytes.Clone(seg)
	binary.BigEndian.PutUint16(seg[ckOff:], inetSum(pseudoSum(src, dst, proto, len(seg)), seg))
	return seg
}

// tcp builds a TCP segment (flags PSH and ACK) with a valid checksum for the
// pseudo-header of src and dst.
func tcp(src, dst []byte, sp, dp int, seq, ack uint32, opts, payload []byte) []byte {
	hl := 20 + len(opts)
	seg := cat(u16(sp), u16(dp), u32(seq), u32(ack), []byte{byte(hl / 4 << 4), 0x18}, u16(65535), u16(0), u16(0), opts, payload)
	return l4(src, dst, 6, seg, 16)
}

// udp builds a UDP datagram with a valid checksum for src and dst.
func udp(src, dst []byte, sp, dp int, payload []byte) []byte {
	seg := cat(u16(sp), u16(dp), u16(8+len(payload)), u16(0), payload)
	return l4(src, dst, 17, seg, 6)
}

// icmp4 builds an ICMP message: type, code, checksum, the 4 bytes rest, payload.
func icmp4(typ, code int, rest, payload []byte) []byte {
	m := cat([]byte{byte(typ), byte(code)}, u16(0), rest, payload)
	binary.BigEndian.PutUint16(m[2:], inetSum(0, m))
	return m
}

// icmp6 builds an ICMPv6 message with a valid checksum for src and dst.
func icmp6(src, dst []byte, typ, code int, body []byte) []byte {
	return l4(src, dst, 58, cat([]byte{byte(typ), byte(code)}, u16(0), body), 2)
}

// tsOption is NOP, NOP, timestamp with the given values.
func tsOption(val, ecr uint32) []byte { return cat([]byte{1, 1, 8, 10}, u32(val), u32(ecr)) }

// dnsName encodes a name as labels.
func dnsName(s string) []byte {
	var b []byte
	for _, l := range bytes.Split([]byte(s), []byte(".")) {
		if len(l) == 0 {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// dnsRR encodes a resource record with an uncompressed owner name.
func dnsRR(name []byte, typ int, rdata []byte) []byte {
	return cat(name, u16(typ), u16(1), u32(300), u16(len(rdata)), rdata)
}

// dnsMsg builds a DNS response with one question and the given records.
func dnsMsg(id int, q []byte, qtype int, an, ns, ar [][]byte) []byte {
	m := cat(u16(id), u16(0x8180), u16(1), u16(len(an)), u16(len(ns)), u16(len(ar)), q, u16(qtype), u16(1))
	for _, rs := range [][][]byte{an, ns, ar} {
		for _, r := range rs {
			m = append(m, r...)
		}
	}
	return m
}

// frame is one packet of a synthesized capture.
type frame struct {
	link capture.LinkType
	data []byte
	orig int // original length when the frame is cut short; 0: len(data)
}

// writeCapture writes frames as classic pcap (one link type) or as pcapng with an
// interface per link type.
func writeCapture(t testing.TB, ng bool, frames []frame) []byte {
	t.Helper()
	var buf bytes.Buffer
	ts := int64(1_700_000_000_123_456_789)
	if !ng {
		w, err := capture.NewPcapWriter(&buf, frames[0].link, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range frames {
			if err := w.WritePacket(capture.Packet{Data: f.data, OrigLen: f.orig, Timestamp: ts + int64(i)*1_000_001}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	w, err := capture.NewPcapngWriter(&buf, capture.PcapngOptions{Comment: "synthesized by the share/pcap tests", Nanosecond: true})
	if err != nil {
		t.Fatal(err)
	}
	ifs := map[capture.LinkType]int{}
	for i, f := range frames {
		id, ok := ifs[f.link]
		if !ok {
			if id, err = w.AddInterface(capture.PcapngInterface{LinkType: f.link}); err != nil {
				t.Fatal(err)
			}
			ifs[f.link] = id
		}
		if err := w.WritePacket(capture.Packet{Data: f.data, OrigLen: f.orig, Interface: id, Timestamp: ts + int64(i)*1_000_001}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
