package packet

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Addresses of the synthetic packets, all from documentation ranges.
var (
	macA = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}
	macB = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x02}
	ip4A = net.IP{192, 0, 2, 1}
	ip4B = net.IP{198, 51, 100, 2}
	ip4C = net.IP{203, 0, 113, 3}
	ip4D = net.IP{203, 0, 113, 4}
	ip6A = net.ParseIP("2001:db8::1")
	ip6B = net.ParseIP("2001:db8::2")
	ip6C = net.ParseIP("2001:db8:1::3")
	ip6D = net.ParseIP("2001:db8:1::4")
)

// ser serializes layers with lengths and checksums fixed.
func ser(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatalf("serializing %d layers: %v", len(ls), err)
	}
	return bytes.Clone(buf.Bytes())
}

// cat concatenates byte slices into a new one.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func u16b(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32b(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(proto layers.IPProtocol, src, dst net.IP) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Id: 0x1234, Protocol: proto, SrcIP: src, DstIP: dst}
}

func ip6(nh layers.IPProtocol, src, dst net.IP) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: src, DstIP: dst}
}

// tcp returns a TCP header with MSS, NOP, NOP and timestamp options,
// checksummed over nl.
func tcp(sp, dp uint16, nl gopacket.NetworkLayer) *layers.TCP {
	l := &layers.TCP{
		SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp),
		Seq: 0xfffffff0, Ack: 0x01020304, PSH: true, ACK: true, Window: 512,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}},
		},
	}
	if nl != nil {
		_ = l.SetNetworkLayerForChecksum(nl)
	}
	return l
}

func udp(sp, dp uint16, nl gopacket.NetworkLayer) *layers.UDP {
	l := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	if nl != nil {
		_ = l.SetNetworkLayerForChecksum(nl)
	}
	return l
}

var payload = gopacket.Payload("flowfed synthetic payload")

// Inner packets that tunnels and quotes carry.

func innerIPv4UDP(tb testing.TB) []byte {
	n := ip4(layers.IPProtocolUDP, ip4C, ip4D)
	return ser(tb, n, udp(5353, 53, n), payload)
}

func innerIPv4TCP(tb testing.TB) []byte {
	n := ip4(layers.IPProtocolTCP, ip4C, ip4D)
	return ser(tb, n, tcp(40000, 443, n), payload)
}

func innerIPv6UDP(tb testing.TB) []byte {
	n := ip6(layers.IPProtocolUDP, ip6C, ip6D)
	return ser(tb, n, udp(546, 547, n), payload)
}

func innerEthIPv4TCP(tb testing.TB) []byte {
	n := ip4(layers.IPProtocolTCP, ip4C, ip4D)
	return ser(tb, &layers.Ethernet{SrcMAC: macB, DstMAC: macA, EthernetType: layers.EthernetTypeIPv4}, n, tcp(40000, 443, n), payload)
}

// Outer packets.

func pktEthIPv4TCP(tb testing.TB) []byte {
	n := ip4(layers.IPProtocolTCP, ip4A, ip4B)
	return ser(tb, eth(layers.EthernetTypeIPv4), n, tcp(12345, 80, n), payload)
}

func pktVLANIPv6UDP(tb testing.TB) []byte {
	n := ip6(layers.IPProtocolUDP, ip6A, ip6B)
	return ser(tb, eth(layers.EthernetTypeDot1Q),
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv6},
		n, udp(5353, 53, n), payload)
}

func pktQinQinQ(tb testing.TB) []byte {
	n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
	return ser(tb, eth(layers.EthernetTypeQinQ),
		&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 20, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 30, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 4095, Type: layers.EthernetTypeIPv4},
		n, udp(68, 67, n), payload)
}

func pktVXLAN(tb testing.TB) []byte {
	n := ip4(layers.IPProtocolUDP, ip4A, ip4B)
	return ser(tb, eth(layers.EthernetTypeIPv4), n, udp(49152, 4789, n),
		&layers.VXLAN{ValidIDFlag: true, VNI: 0xabcdef}, gopacket.Payload(innerEthIPv4TCP(tb)))
}

func pktGRE(tb testing.TB) []byte {
	return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, ip4A, ip4B),
		&layers.GRE{KeyPresent: true, Key: 0x11223344, SeqPresent: true, Seq: 7, Protocol: layers.EthernetTypeIPv4},
		gopacket.Payload(innerIPv4UDP(tb)))
}

// icmpQuote returns an ICMP destination unreachable message quoting the
// first n bytes of an IPv4/UDP packet from A to B (all of it for n < 0).
func pktICMPQuote(tb testing.TB, n int) []byte {
	q := innerIPv4UDP(tb)
	if n >= 0 {
		q = q[:n]
	}
	return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4, ip4B, ip4A),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(q))
}

// benchMix is the packet mix of the benchmarks and the allocation test.
func benchMix(tb testing.TB) [][]byte {
	return [][]byte{pktEthIPv4TCP(tb), pktVLANIPv6UDP(tb), pktVXLAN(tb), pktGRE(tb), pktICMPQuote(tb, 28)}
}

// kinds lists the header kinds of p, marking quoted headers with "q" and
// partial ones with "p", such as "Ethernet IPv4 ICMPv4 IPv4q UDPqp".
func kinds(p *Packet) string {
	var sb strings.Builder
	for i := 0; i < p.N; i++ {
		h := p.Headers[i]
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(h.Kind.String())
		if h.Quoted {
			sb.WriteByte('q')
		}
		if h.Partial {
			sb.WriteByte('p')
		}
	}
	return sb.String()
}
