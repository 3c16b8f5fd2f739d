package packet

import "strconv"

// Link types accepted by [Decode]: the LINKTYPE_ values of pcap and pcapng
// files. They are untyped so that they convert to any capture package's
// link-type type.
const (
	LinkNull      = 0   // BSD loopback: 4-byte address family in the writer's byte order
	LinkEthernet  = 1   // Ethernet II and IEEE 802.3 with LLC/SNAP
	LinkPPP       = 9   // PPP, with or without the HDLC address and control bytes
	LinkPPPHDLC   = 50  // PPP in HDLC-like framing (also Cisco HDLC framing)
	LinkRaw       = 101 // raw IPv4 or IPv6, told apart by the version nibble
	LinkCHDLC     = 104 // Cisco HDLC
	LinkLoop      = 108 // OpenBSD loopback: 4-byte address family in network order
	LinkLinuxSLL  = 113 // Linux cooked capture v1
	LinkPPI       = 192 // per-packet information header around another link type
	LinkIPNet     = 226 // Solaris ipnet: 24-byte header, then IPv4 or IPv6
	LinkIPv4      = 228 // raw IPv4
	LinkIPv6      = 229 // raw IPv6
	LinkNFLOG     = 239 // Linux netfilter NFLOG
	LinkLinuxSLL2 = 276 // Linux cooked capture v2

	// linkRaw12 and linkRaw14 are the platform DLT_RAW values that some
	// writers store instead of LinkRaw; Decode treats them as LinkRaw.
	linkRaw12 = 12
	linkRaw14 = 14
)

// Bounds of the fixed-size arrays in a [Packet]. A packet that needs more
// stops decoding with [TooDeep].
const (
	MaxHeaders = 16 // headers listed per packet, payload included
	MaxAddrs   = 32 // address fields listed per packet
	MaxTunnels = 4  // nested tunnels (and the depth of any header)
	MaxVLANs   = 3  // VLAN IDs kept; further tags are still decoded and counted
	maxMPLS    = 8  // labels in one MPLS stack
)

// Kind names a protocol header.
type Kind uint8

// Header kinds. The zero Kind names no header.
const (
	Ethernet     Kind = iota + 1 // Ethernet II or IEEE 802.3 MAC header, 14 bytes
	LLC                          // IEEE 802.2 LLC, with the SNAP extension when present
	VLAN                         // IEEE 802.1Q, 802.1ad or 0x9100/0x9200 tag, 4 bytes
	MPLS                         // the whole MPLS label stack, plus a pseudowire control word
	PPPoE                        // PPPoE session header, 6 bytes
	PPP                          // PPP address/control (optional) and protocol
	CHDLC                        // Cisco HDLC, 4 bytes
	Null                         // BSD loopback address family, 4 bytes
	SLL                          // Linux cooked capture v1, 16 bytes
	SLL2                         // Linux cooked capture v2, 20 bytes
	NFLOG                        // NFLOG header and the TLVs before the payload
	PPI                          // per-packet information header with its fields
	IPNet                        // Solaris ipnet header, 24 bytes
	ARP                          // ARP or RARP, with its addresses
	IPv4                         // IPv4 header with options
	IPv6                         // IPv6 fixed header, 40 bytes
	IPv6HopByHop                 // IPv6 hop-by-hop options
	IPv6Routing                  // IPv6 routing header
	IPv6Frag                     // IPv6 fragment header, 8 bytes
	IPv6DestOpts                 // IPv6 destination options
	AH                           // IP authentication header (IPv4 or IPv6)
	ESP                          // IP encapsulating security payload: SPI and sequence, 8 bytes
	GRE                          // GRE version 0, or enhanced GRE version 1 (PPTP)
	ERSPAN                       // ERSPAN type II or III header inside GRE
	VXLAN                        // VXLAN or VXLAN-GPE, 8 bytes
	Teredo                       // Teredo authentication and origin indication (may be empty)
	GTPU                         // GTP-U header with its optional fields and extension headers
	TCP                          // TCP header with options
	UDP                          // UDP header, 8 bytes
	SCTP                         // SCTP common header, 12 bytes
	ICMPv4                       // ICMP header, 8 bytes
	ICMPv6                       // ICMPv6 header; for neighbor discovery the whole message
	Payload                      // the captured bytes after the last header
	numKinds
)

var kindNames = [numKinds]string{
	"None", "Ethernet", "LLC", "VLAN", "MPLS", "PPPoE", "PPP", "CHDLC", "Null",
	"SLL", "SLL2", "NFLOG", "PPI", "IPNet", "ARP", "IPv4", "IPv6", "IPv6HopByHop", "IPv6Routing",
	"IPv6Frag", "IPv6DestOpts", "AH", "ESP", "GRE", "ERSPAN", "VXLAN", "Teredo",
	"GTPU", "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6", "Payload",
}

// String returns the name of the kind, such as "IPv4".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// StopReason says why decoding of a packet ended.
type StopReason uint8

// Stop reasons. Only [Complete] means that every byte up to the payload was
// understood.
const (
	// Complete: every header was decoded; what follows End is payload,
	// fragment data, an opaque IP protocol (ESP, OSPF, ...) or link padding.
	Complete StopReason = iota
	// Truncated: the captured bytes end inside a header.
	Truncated
	// Malformed: a header contradicts itself or its container (a bad
	// version, a header length too small, a length field larger than the
	// enclosing header allows).
	Malformed
	// Unsupported: the next protocol is one this package does not decode,
	// such as an unknown EtherType or PPP protocol.
	Unsupported
	// TooDeep: a fixed bound was reached (MaxHeaders, MaxAddrs, MaxTunnels,
	// or the MPLS label limit).
	TooDeep
	numStops
)

var stopNames = [numStops]string{"complete", "truncated", "malformed", "unsupported", "too deep"}

var stopErrs = [numStops]error{nil, ErrTruncated, ErrMalformed, ErrUnsupported, ErrTooDeep}

// String returns the reason in lower case, such as "truncated".
func (s StopReason) String() string {
	if s < numStops {
		return stopNames[s]
	}
	return "StopReason(" + strconv.Itoa(int(s)) + ")"
}

// Header is one header that the decoder walked. Headers of a packet are
// listed outermost first; their offsets never decrease.
type Header struct {
	Off  int  // byte offset of the header in the packet
	Len  int  // header length in bytes (captured bytes for a Partial header)
	Kind Kind // protocol of the header
	// Depth counts the tunnels around the header: 0 for the outer
	// headers, 1 inside the first tunnel, and so on. A tunnel's own
	// header (GRE, VXLAN, ...) has the depth of the packet that carries it.
	Depth uint8

	// Quoted marks the headers of the packet quoted by an ICMP or ICMPv6
	// error (or an NDP redirected-header option).
	Quoted bool
	// Partial marks a header cut short by the end of the captured bytes
	// or of an ICMP quote: only Len bytes of it are present, and it is not
	// counted in Packet.End.
	Partial bool
}

// End returns the offset just past the header.
func (h Header) End() int { return h.Off + h.Len }

// Ports returns the source and destination ports of a TCP, UDP or SCTP
// header, quoted or partial ones included, when their four bytes are in
// data.
func (h Header) Ports(data []byte) (src, dst uint16, ok bool) {
	if (h.Kind != TCP && h.Kind != UDP && h.Kind != SCTP) || h.Len < 4 || h.Off < 0 || h.Off+4 > len(data) {
		return 0, 0, false
	}
	return be16(data, h.Off), be16(data, h.Off+2), true
}

// AddrType is the format of an address field.
type AddrType uint8

// Address formats.
const (
	// AddrMAC is a link-layer address: 6 bytes for Ethernet, up to 8 for
	// other hardware types (Linux cooked captures, NFLOG, NDP options).
	AddrMAC AddrType = iota + 1
	AddrIPv4
	AddrIPv6 // also IPv6 prefixes in NDP options, which may be shorter
	// AddrIPv4XOR is the Teredo origin indication: the client's IPv4
	// address with every bit inverted.
	AddrIPv4XOR
)

// String returns "MAC", "IPv4", "IPv6" or "IPv4XOR".
func (t AddrType) String() string {
	switch t {
	case AddrMAC:
		return "MAC"
	case AddrIPv4:
		return "IPv4"
	case AddrIPv6:
		return "IPv6"
	case AddrIPv4XOR:
		return "IPv4XOR"
	}
	return "AddrType(" + strconv.Itoa(int(t)) + ")"
}

// Role tells which end of the exchange an address field names.
type Role uint8

// Address roles.
const (
	// RoleSrc: the source of an IP, Ethernet or cooked header, the sender
	// of an ARP message.
	RoleSrc Role = iota + 1
	// RoleDst: the destination of an IP or Ethernet header, the target of
	// an ARP message.
	RoleDst
	// RoleOther: any other address field: IPv4 route options, IPv6
	// routing headers and home address options, NDP targets and options,
	// ICMP redirect gateways and router advertisements, NFLOG hardware
	// fields, the Teredo origin.
	RoleOther
)

// String returns "src", "dst" or "other".
func (r Role) String() string {
	switch r {
	case RoleSrc:
		return "src"
	case RoleDst:
		return "dst"
	case RoleOther:
		return "other"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Addr is one address field found in the packet.
type Addr struct {
	Off    int      // byte offset of the field in the packet
	Len    uint8    // bytes present; fewer than the format's size when cut short
	Type   AddrType // format of the field
	Role   Role     // what the field names
	Header uint8    // index in Packet.Headers of the header that holds the field
}

// Tunnel describes one encapsulation that the decoder entered. Flows
// inside different tunnels differ in Kind, ID or the outer addresses.
type Tunnel struct {
	// Kind is GRE, VXLAN, Teredo or GTPU; for IP in IP (IPv4 or IPv6
	// inside IPv4 or IPv6, including 6in4) it is the Kind of the
	// encapsulating IP header.
	Kind Kind
	// Header is the index in Packet.Headers of the tunnel header (the
	// encapsulating IP header for IP in IP).
	Header uint8
	// Outer is the index of the IP header that carries the tunnel.
	Outer uint8
	// ID is the VXLAN VNI, the GRE key (for PPTP the call ID, for
	// ERSPAN without a key the session ID) or the GTP-U TEID; 0 when the
	// tunnel has none.
	ID uint32
}

// Frag describes the fragmentation of an IP packet.
type Frag struct {
	ID     uint32 // identification: 16 bits for IPv4, 32 for IPv6
	Offset int    // offset of the fragment data in bytes
	More   bool   // more fragments follow
	// Fragmented is set for every fragment (including the first and an
	// IPv6 atomic fragment); the other fields are zero when it is not.
	Fragmented bool
}

// Packet is the result of decoding one packet. It holds offsets into the
// packet bytes, never the bytes themselves, so one Packet can be reused for
// every packet of a capture without allocating. A Packet is not safe for
// concurrent use.
//
// The flow fields (Inner, Proto, ports, TCP fields, Frag, Payload) describe
// the innermost IP packet that is not quoted by an ICMP error, and its
// transport header when that was decoded.
type Packet struct {
	// Headers[:N] lists the headers walked, outermost first.
	Headers [MaxHeaders]Header
	N       int
	// Addrs[:NAddr] lists every address field found, in header order:
	// MAC addresses of link headers, IP source and destination (of quoted
	// packets too), ARP, NDP and option addresses.
	Addrs [MaxAddrs]Addr
	NAddr int
	// Tunnels[:NTunnel] lists the tunnels entered, outermost first.
	// Tunnels inside ICMP quotes are not listed.
	Tunnels [MaxTunnels]Tunnel
	NTunnel int
	// VLAN holds the first MaxVLANs VLAN IDs in the order met (outer tag
	// first, tags inside tunnels after) and zeros after them, so that it
	// can serve in a flow key as it is; NVLAN counts every tag.
	VLAN  [MaxVLANs]uint16
	NVLAN int

	Stop StopReason // why decoding ended
	// End is the offset just past the last complete header (payload
	// headers and partial headers are not counted): bytes before End were
	// understood.
	End int

	Outer int // index of the outermost IP header; -1 when none
	Inner int // index of the innermost IP header that is not quoted; -1 when none
	Quote int // index of the first quoted header; -1 when none
	L4    int // index of the transport (or ICMP) header after Inner; -1 when none

	Proto   uint8 // upper-layer protocol after Inner and its extension headers
	IPLen   int   // Inner's length on the wire by its header (captured length if that says 0)
	SrcPort uint16
	DstPort uint16

	TCPFlags uint8  // TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN)
	Seq      uint32 // TCP sequence number
	Ack      uint32 // TCP acknowledgment number
	TSOpt    int    // offset of the TCP timestamp option (its kind byte); -1 when none

	ICMPType uint8 // type of an ICMPv4 or ICMPv6 L4 header
	ICMPCode uint8 // code of an ICMPv4 or ICMPv6 L4 header

	Frag Frag // fragmentation of Inner

	// Payload is the offset of the data after the last header of Inner's
	// packet (the L4 payload, fragment data, or an undecoded protocol's
	// bytes); -1 when there is none. PayloadLen is its length according to
	// the IP and UDP length fields, which can exceed the captured bytes.
	Payload    int
	PayloadLen int
}

// Reset clears p to the state of a packet with no headers. [Decode] calls
// it; the header, address and tunnel arrays are not cleared, only their
// counts.
func (p *Packet) Reset() {
	p.N, p.NAddr, p.NTunnel, p.NVLAN = 0, 0, 0, 0
	p.VLAN = [MaxVLANs]uint16{}
	p.Stop, p.End = Complete, 0
	p.Outer, p.Inner, p.Quote, p.L4 = -1, -1, -1, -1
	p.resetL4()
}

// resetL4 clears the flow fields that belong to one IP packet.
func (p *Packet) resetL4() {
	p.L4 = -1
	p.Proto, p.IPLen, p.SrcPort, p.DstPort = 0, 0, 0, 0
	p.TCPFlags, p.Seq, p.Ack, p.TSOpt = 0, 0, 0, -1
	p.ICMPType, p.ICMPCode = 0, 0
	p.Frag = Frag{}
	p.Payload, p.PayloadLen = -1, 0
}

// Err returns the error that [Decode] returned for p's Stop: nil for
// [Complete].
func (p *Packet) Err() error {
	if p.Stop < numStops {
		return stopErrs[p.Stop]
	}
	return ErrMalformed
}

// HeaderAddrs returns the address fields that belong to header i, a
// sub-slice of p.Addrs.
func (p *Packet) HeaderAddrs(i int) []Addr {
	lo := 0
	for lo < p.NAddr && int(p.Addrs[lo].Header) < i {
		lo++
	}
	hi := lo
	for hi < p.NAddr && int(p.Addrs[hi].Header) == i {
		hi++
	}
	return p.Addrs[lo:hi]
}

// InnerAddrs returns the source and destination address of the Inner IP
// header as sub-slices of data (4 or 16 bytes), or nil when there is none.
func (p *Packet) InnerAddrs(data []byte) (src, dst []byte) {
	if p.Inner < 0 || p.Inner >= p.N {
		return nil, nil
	}
	h := p.Headers[p.Inner]
	switch h.Kind {
	case IPv4:
		if h.Off+20 <= len(data) {
			return data[h.Off+12 : h.Off+16], data[h.Off+16 : h.Off+20]
		}
	case IPv6:
		if h.Off+40 <= len(data) {
			return data[h.Off+8 : h.Off+24], data[h.Off+24 : h.Off+40]
		}
	}
	return nil, nil
}

// PayloadBytes returns the captured part of the payload, or nil.
func (p *Packet) PayloadBytes(data []byte) []byte {
	if p.Payload < 0 || p.Payload > len(data) {
		return nil
	}
	end := p.Payload + p.PayloadLen
	if end > len(data) {
		end = len(data)
	}
	return data[p.Payload:end]
}
