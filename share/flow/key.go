package flow

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"

	"github.com/flowfed/flowfed/share/packet"
)

// IP protocol numbers that the flow logic tells apart.
const (
	protoICMP   = 1
	protoIPv4   = 4
	protoTCP    = 6
	protoUDP    = 17
	protoIPv6   = 41
	protoGRE    = 47
	protoICMPv6 = 58
	protoSCTP   = 132
)

// Key identifies a flow, oriented from its initiator (Src) to its responder
// (Dst). Every field is a fixed-size value, so Keys compare with ==.
type Key struct {
	// Src and Dst are the initiator's and the responder's addresses. An
	// IPv4 address fills the first 4 bytes; the rest are zero.
	Src, Dst [16]byte
	// SrcPort and DstPort are the TCP, UDP or SCTP ports. For ICMP and
	// ICMPv6 they hold the message type that the initiator sends and its
	// counterpart (echo request 8 and reply 0, for example), or for a
	// message without counterpart its type and code, as Zeek does. Zero
	// for other protocols and for packets whose transport header was not
	// captured.
	SrcPort, DstPort uint16
	// ICMPID is the identifier of ICMP and ICMPv6 echo, timestamp,
	// information and address mask messages, which keeps concurrent
	// pings apart; zero otherwise.
	ICMPID uint16
	// VLAN holds the VLAN IDs in the order met, outer first (zeros when
	// Config.MergeVLANs is set).
	VLAN [packet.MaxVLANs]uint16
	// Proto is the IP protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6...
	Proto uint8
	// IPv6 is set for IPv6 addresses.
	IPv6 bool
	// Tunnel is the context of the innermost tunnel around the flow (zero
	// when there is none or Config.MergeTunnels is set).
	Tunnel Tunnel
}

// Tunnel is the tunnel context of a flow: which tunnel, between which
// endpoints, carries it.
type Tunnel struct {
	// Kind is packet.VXLAN, packet.GRE, packet.GTPU, packet.Teredo, or for
	// IP in IP the kind of the encapsulating header (packet.IPv4 or
	// packet.IPv6); zero outside tunnels.
	Kind packet.Kind
	// Depth counts the tunnels around the flow.
	Depth uint8
	// OuterIPv6 is set when the outer addresses are IPv6.
	OuterIPv6 bool
	// ID is the VXLAN VNI or the GRE key. It is zero for GTP-U and PPTP,
	// whose TEIDs and call IDs differ by direction: there the outer
	// addresses alone tell tunnels apart.
	ID uint32
	// OuterSrc and OuterDst are the addresses of the tunnel endpoints on
	// the initiator's and the responder's side.
	OuterSrc, OuterDst [16]byte
}

// addrOf converts a 16-byte key address to a netip.Addr.
func addrOf(a [16]byte, v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16(a)
	}
	return netip.AddrFrom4([4]byte(a[:4]))
}

// SrcAddr returns the initiator's address.
func (k Key) SrcAddr() netip.Addr { return addrOf(k.Src, k.IPv6) }

// DstAddr returns the responder's address.
func (k Key) DstAddr() netip.Addr { return addrOf(k.Dst, k.IPv6) }

// OuterSrcAddr returns the tunnel endpoint on the initiator's side, or the
// zero Addr outside tunnels.
func (t Tunnel) OuterSrcAddr() netip.Addr {
	if t.Kind == 0 {
		return netip.Addr{}
	}
	return addrOf(t.OuterSrc, t.OuterIPv6)
}

// OuterDstAddr returns the tunnel endpoint on the responder's side, or the
// zero Addr outside tunnels.
func (t Tunnel) OuterDstAddr() netip.Addr {
	if t.Kind == 0 {
		return netip.Addr{}
	}
	return addrOf(t.OuterDst, t.OuterIPv6)
}

// String returns "proto src:port > dst:port", followed by the ICMP
// identifier, VLANs and tunnel when present, such as
// "6 192.0.2.1:40000 > 198.51.100.2:443 vlan=100 vxlan:42[203.0.113.1>203.0.113.2]".
func (k Key) String() string {
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(int(k.Proto)))
	sb.WriteByte(' ')
	sb.WriteString(netip.AddrPortFrom(k.SrcAddr(), k.SrcPort).String())
	sb.WriteString(" > ")
	sb.WriteString(netip.AddrPortFrom(k.DstAddr(), k.DstPort).String())
	if k.ICMPID != 0 {
		sb.WriteString(" id=")
		sb.WriteString(strconv.Itoa(int(k.ICMPID)))
	}
	if k.VLAN[0] != 0 {
		sb.WriteString(" vlan=")
		for i, v := range k.VLAN {
			if v == 0 && i > 0 {
				break
			}
			if i > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(strconv.Itoa(int(v)))
		}
	}
	if t := k.Tunnel; t.Kind != 0 {
		sb.WriteByte(' ')
		sb.WriteString(strings.ToLower(t.Kind.String()))
		sb.WriteByte(':')
		sb.WriteString(strconv.FormatUint(uint64(t.ID), 10))
		sb.WriteByte('[')
		sb.WriteString(t.OuterSrcAddr().String())
		sb.WriteByte('>')
		sb.WriteString(t.OuterDstAddr().String())
		sb.WriteByte(']')
	}
	return sb.String()
}

// key is the table's form of a flow key: canonical (endpoint a sorts before
// endpoint b, whatever the packet's direction) and packed into words that
// hash and compare quickly. w0 holds the ports, ICMP identifier, protocol
// and address family; w1 the VLAN IDs and oswapBit; w2 the number of the
// interned tunnel context (see tunnels), 0 outside tunnels.
type key struct {
	a, b [2]uint64 // endpoint addresses, big-endian words
	w0   uint64    // portA<<48 | portB<<32 | icmpID<<16 | proto<<8 | fam
	w1   uint64    // vlan0 | vlan1<<16 | vlan2<<32 | oswapBit
	w2   uint64    // tunnel context
}

// famV6 in key.w0 marks IPv6 endpoint addresses.
const famV6 = 1

// addrWords loads a 4- or 16-byte address into two words.
func addrWords(b []byte) [2]uint64 {
	if len(b) == 16 {
		return [2]uint64{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
	}
	if len(b) == 4 {
		return [2]uint64{uint64(binary.BigEndian.Uint32(b)) << 32, 0}
	}
	return [2]uint64{}
}

// wordsAddr stores two address words as 16 bytes.
func wordsAddr(w [2]uint64) (a [16]byte) {
	binary.BigEndian.PutUint64(a[:], w[0])
	binary.BigEndian.PutUint64(a[8:], w[1])
	return a
}

func (k *key) portA() uint16 { return uint16(k.w0 >> 48) }
func (k *key) portB() uint16 { return uint16(k.w0 >> 32) }
func (k *key) proto() uint8  { return uint8(k.w0 >> 8) }

// canon orders the endpoints of k, whose a side is the packet's source, and
// reports whether the source is endpoint a afterwards.
func (k *key) canon() (srcIsA bool) {
	pa, pb := k.portA(), k.portB()
	switch {
	case k.a[0] != k.b[0]:
		srcIsA = k.a[0] < k.b[0]
	case k.a[1] != k.b[1]:
		srcIsA = k.a[1] < k.b[1]
	default:
		srcIsA = pa <= pb
	}
	if !srcIsA {
		k.a, k.b = k.b, k.a
		k.w0 = uint64(pb)<<48 | uint64(pa)<<32 | k.w0&0xffffffff
		if k.w2 != 0 {
			k.w1 ^= oswapBit
		}
	}
	return srcIsA
}

// Hash constants (from wyhash).
const (
	hk0 = 0xa0761d6478bd642f
	hk1 = 0xe7037ed1a0b428db
	hk2 = 0x8ebc6af09c88c6e3
	hk3 = 0x589965cc75374cc3
)

// mum multiplies a and b into 128 bits and folds the halves.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash returns the hash of k under seed.
func (k *key) hash(seed uint64) uint64 {
	h := mum(k.a[0]^seed^hk0, k.a[1]^hk1) ^ mum(k.b[0]^hk2, k.b[1]^seed^hk3) ^
		mum(k.w0^hk1, k.w1^seed^hk0) ^ mum(k.w2^hk3, seed^hk2)
	return mum(h^hk0, h^seed^hk1)
}

// export returns the oriented Key of k: the initiator is endpoint b when
// flipped is set. tu resolves the tunnel context.
func (k *key) export(flipped bool, tu *tunnels) Key {
	var out Key
	a, b := k.a, k.b
	pa, pb := k.portA(), k.portB()
	if flipped {
		a, b, pa, pb = b, a, pb, pa
	}
	out.Src, out.Dst = wordsAddr(a), wordsAddr(b)
	out.SrcPort, out.DstPort = pa, pb
	out.ICMPID = uint16(k.w0 >> 16)
	out.Proto = k.proto()
	out.IPv6 = k.w0&famV6 != 0
	for i := range out.VLAN {
		out.VLAN[i] = uint16(k.w1 >> (16 * i))
	}
	if k.w2 != 0 {
		c := tu.get(k.w2)
		oa, ob := c.lo, c.hi
		if (k.w1&oswapBit != 0) != flipped {
			oa, ob = ob, oa
		}
		out.Tunnel = Tunnel{
			Kind: c.kind, Depth: c.depth, OuterIPv6: c.v6, ID: c.id,
			OuterSrc: wordsAddr(oa), OuterDst: wordsAddr(ob),
		}
	}
	return out
}

// ICMP and ICMPv6 message pairs. icmpPair maps a message type to its
// counterpart (Zeek's ICMP4_counterpart and ICMP6_counterpart); types
// without one are one-way and use their code instead.

type icmpInfo struct {
	peer    uint8 // counterpart type
	paired, // has a counterpart
	reply, // the answer of a request/response pair: its receiver initiated
	ident bool // carries an identifier (echo and the like)
}

var icmp4Info, icmp6Info [256]icmpInfo

func init() {
	pair := func(t *[256]icmpInfo, req, rep uint8, ident, answer bool) {
		t[req] = icmpInfo{peer: rep, paired: true, ident: ident}
		t[rep] = icmpInfo{peer: req, paired: true, ident: ident, reply: answer}
	}
	pair(&icmp4Info, 8, 0, true, true)    // echo
	pair(&icmp4Info, 13, 14, true, true)  // timestamp
	pair(&icmp4Info, 15, 16, true, true)  // information
	pair(&icmp4Info, 17, 18, true, true)  // address mask
	pair(&icmp4Info, 10, 9, false, false) // router solicitation, advertisement
	pair(&icmp6Info, 128, 129, true, true)
	pair(&icmp6Info, 133, 134, false, false) // router solicitation, advertisement
	pair(&icmp6Info, 135, 136, false, false) // neighbor solicitation, advertisement
	pair(&icmp6Info, 130, 131, false, false) // multicast listener query, report
	pair(&icmp6Info, 139, 140, false, true)  // node information query, response
	pair(&icmp6Info, 144, 145, false, true)  // home agent address discovery
}

// icmpPorts returns the port slots of an ICMP or ICMPv6 message and what the
// table needs to know about its type.
func icmpPorts(v6 bool, typ, code uint8) (sp, dp uint16, info icmpInfo) {
	if v6 {
		info = icmp6Info[typ]
	} else {
		info = icmp4Info[typ]
	}
	if info.paired {
		return uint16(typ), uint16(info.peer), info
	}
	return uint16(typ), uint16(code), info
}

// isICMPError reports whether an ICMP or ICMPv6 type is an error message,
// which quotes the packet that caused it.
func isICMPError(v6 bool, typ uint8) bool {
	if v6 {
		return typ >= 1 && typ <= 4
	}
	switch typ {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// serverPorts marks the ports of well-known services, for the initiator
// rule: a first packet sent from such a port to a port not in the list is
// taken to come from the responder. The list follows the ports that Zeek's
// protocol analyzers register (its likely_server_ports), plus common
// services that Zeek lacks; it is the same for TCP and UDP.
var serverPorts [65536 / 64]uint64

func init() {
	for _, p := range []uint16{
		20, 21, 22, 23, 25, 42, 43, 49, 53, 67, 68, 69, 79, 80, 81, 88, 102, 110, 111, 113, 119,
		123, 135, 137, 138, 139, 143, 161, 162, 179, 389, 427, 443, 445, 465, 500, 502, 513, 514,
		515, 520, 546, 547, 554, 563, 585, 587, 614, 623, 631, 636, 853, 873, 989, 990, 992, 993,
		994, 995, 1080, 1194, 1433, 1434, 1521, 1701, 1723, 1812, 1813, 1883, 1900, 2049, 2123,
		2152, 2181, 2375, 2376, 2404, 2811, 3128, 3260, 3268, 3306, 3389, 3478, 3544, 4500, 4789,
		4790, 5060, 5061, 5072, 5222, 5223, 5269, 5353, 5355, 5432, 5671, 5672, 5900, 5938, 6081,
		6379, 6443, 6666, 6667, 6668, 6669, 6697, 8000, 8008, 8080, 8088, 8443, 8883, 8888, 9000,
		9042, 9092, 9200, 9418, 11211, 20000, 27017,
	} {
		serverPorts[p/64] |= 1 << (p % 64)
	}
}

// likelyServer reports whether p is in the list of service ports.
func likelyServer(p uint16) bool { return serverPorts[p/64]&(1<<(p%64)) != 0 }
