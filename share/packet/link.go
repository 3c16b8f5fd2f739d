package packet

import "encoding/binary"

// EtherTypes and other link-level protocol numbers.
const (
	etherIPv4      = 0x0800
	etherARP       = 0x0806
	etherRARP      = 0x8035
	etherIPv6      = 0x86dd
	etherDot1Q     = 0x8100
	etherDot1AD    = 0x88a8
	etherQinQ9100  = 0x9100
	etherQinQ9200  = 0x9200
	etherMPLS      = 0x8847
	etherMPLSMulti = 0x8848
	etherPPPoE     = 0x8864
	etherTEB       = 0x6558 // transparent Ethernet bridging (GRE, NVGRE)
	etherERSPAN2   = 0x88be
	etherERSPAN3   = 0x22eb
	etherPPP       = 0x880b // PPP inside enhanced GRE (PPTP)

	pppIPv4      = 0x0021
	pppIPv6      = 0x0057
	pppMPLS      = 0x0281
	pppMPLSMulti = 0x0283

	arphrdNetlink = 824 // Linux cooked capture of netlink messages
	ethP8022      = 4   // Linux ETH_P_802_2: an LLC frame follows

	nfulaHWAddr   = 8
	nfulaPayload  = 9
	nfulaHWType   = 15
	nfulaHWHeader = 16
)

// ethernet decodes an Ethernet II or IEEE 802.3 header.
func (d *decoder) ethernet(off int) {
	if !d.fits(Ethernet, off, 14) {
		return
	}
	i := d.push(Ethernet, off, 14)
	if i < 0 {
		return
	}
	d.macs(off, i)
	d.typeOrLen(be16(d.data, off+12), off+14)
}

// typeOrLen follows an Ethernet or VLAN type field, which holds an
// IEEE 802.3 frame length when it is at most 1500.
func (d *decoder) typeOrLen(t uint16, off int) {
	switch {
	case t >= 0x0600:
		d.etherType(t, off)
	case t <= 1500:
		// The LLC frame is t bytes long; what follows is padding.
		if d.bound(off + int(t)) {
			d.llc(off)
		}
	default:
		d.stop(Unsupported)
	}
}

// llc decodes an IEEE 802.2 LLC header and its SNAP extension.
func (d *decoder) llc(off int) {
	if !d.fits(LLC, off, 3) {
		return
	}
	b := d.data
	if b[off] == 0xaa && b[off+1] == 0xaa && b[off+2] == 0x03 {
		if !d.fits(LLC, off, 8) || d.push(LLC, off, 8) < 0 {
			return
		}
		// Only the zero OUI (and 802.1H bridge tunnelling) carry EtherTypes.
		if oui := uint32(b[off+3])<<16 | uint32(be16(b, off+4)); oui != 0 && oui != 0xf8 {
			d.stop(Unsupported)
			return
		}
		d.etherType(be16(b, off+6), off+8)
		return
	}
	// Spanning tree, NetBIOS and the like: not decoded.
	n := 3
	if b[off+2]&3 != 3 {
		n = 4 // information and supervisory frames have a 2-byte control field
	}
	if d.fits(LLC, off, n) && d.push(LLC, off, n) >= 0 {
		d.stop(Unsupported)
	}
}

// etherType follows an EtherType.
func (d *decoder) etherType(t uint16, off int) {
	switch t {
	case etherIPv4:
		d.ipv4(off)
	case etherIPv6:
		d.ipv6(off)
	case etherDot1Q, etherDot1AD, etherQinQ9100, etherQinQ9200:
		d.vlan(off)
	case etherMPLS, etherMPLSMulti:
		d.mpls(off)
	case etherPPPoE:
		d.pppoe(off)
	case etherARP, etherRARP:
		d.arp(off)
	case etherTEB:
		d.ethernet(off)
	default:
		d.stop(Unsupported)
	}
}

// vlan decodes one VLAN tag and records its ID.
func (d *decoder) vlan(off int) {
	if !d.fits(VLAN, off, 4) || d.push(VLAN, off, 4) < 0 {
		return
	}
	p := d.p
	if p.NVLAN < MaxVLANs {
		p.VLAN[p.NVLAN] = be16(d.data, off) & 0x0fff
	}
	p.NVLAN++
	d.typeOrLen(be16(d.data, off+2), off+4)
}

// mpls decodes an MPLS label stack up to the bottom-of-stack entry and
// guesses the payload from its first nibble, as MPLS carries no type: 4 is
// IPv4, 6 is IPv6, and 0 is the control word of an Ethernet pseudowire.
func (d *decoder) mpls(off int) {
	n := 0
	for {
		if n == maxMPLS {
			d.stop(TooDeep)
			return
		}
		if !d.fits(MPLS, off, 4*n+4) {
			return
		}
		n++
		if d.data[off+4*n-2]&1 != 0 {
			break
		}
	}
	next := off + 4*n
	if next >= d.lim {
		// The stack is complete but nothing follows it.
		if d.push(MPLS, off, 4*n) >= 0 {
			d.overrun(next + 1)
		}
		return
	}
	switch d.data[next] >> 4 {
	case 4:
		if d.push(MPLS, off, 4*n) >= 0 {
			d.ipv4(next)
		}
	case 6:
		if d.push(MPLS, off, 4*n) >= 0 {
			d.ipv6(next)
		}
	case 0:
		if d.fits(MPLS, off, 4*n+4) && d.push(MPLS, off, 4*n+4) >= 0 {
			d.ethernet(next + 4)
		}
	default:
		if d.push(MPLS, off, 4*n) >= 0 {
			d.stop(Unsupported)
		}
	}
}

// pppoe decodes a PPPoE session header and the PPP frame in it.
func (d *decoder) pppoe(off int) {
	if !d.fits(PPPoE, off, 6) {
		return
	}
	b := d.data
	if b[off] != 0x11 || b[off+1] != 0 { // version 1, type 1, session data
		d.stop(Malformed)
		return
	}
	if !d.bound(off+6+int(be16(b, off+4))) || d.push(PPPoE, off, 6) < 0 {
		return
	}
	d.ppp(off + 6)
}

// ppp decodes a PPP header: the optional HDLC address and control bytes
// 0xff 0x03, then a protocol field of one byte (when compressed, its low
// bit is set) or two.
func (d *decoder) ppp(off int) {
	if !d.fits(PPP, off, 1) {
		return
	}
	b := d.data
	o := off
	if b[o] == 0xff {
		if !d.fits(PPP, off, 3) {
			return
		}
		if b[o+1] != 0x03 {
			d.stop(Malformed)
			return
		}
		o += 2
	}
	var proto uint16
	if b[o]&1 != 0 {
		proto = uint16(b[o])
		o++
	} else {
		if !d.fits(PPP, off, o+2-off) {
			return
		}
		proto = be16(b, o)
		o += 2
	}
	if d.push(PPP, off, o-off) < 0 {
		return
	}
	switch proto {
	case pppIPv4:
		d.ipv4(o)
	case pppIPv6:
		d.ipv6(o)
	case pppMPLS, pppMPLSMulti:
		d.mpls(o)
	default:
		d.stop(Unsupported) // LCP, IPCP, compressed or encrypted data
	}
}

// chdlc decodes a Cisco HDLC header: address, control, EtherType.
func (d *decoder) chdlc(off int) {
	if !d.fits(CHDLC, off, 4) || d.push(CHDLC, off, 4) < 0 {
		return
	}
	d.etherType(be16(d.data, off+2), off+4)
}

// null decodes the 4-byte address family of BSD loopback captures. It is
// in the writer's byte order for LinkNull and in network order for
// LinkLoop; since families are small, a value above 0xffff means the other
// order, which handles both.
func (d *decoder) null(off int) {
	if !d.fits(Null, off, 4) || d.push(Null, off, 4) < 0 {
		return
	}
	af := binary.LittleEndian.Uint32(d.data[off:])
	if af > 0xffff {
		af = be32(d.data, off)
	}
	switch af {
	case 2: // AF_INET everywhere
		d.ipv4(off + 4)
	case 10, 23, 24, 28, 30: // AF_INET6: Linux, Windows, BSD, FreeBSD, Darwin
		d.ipv6(off + 4)
	default:
		d.stop(Unsupported)
	}
}

// sll decodes a Linux cooked capture v1 header: packet type, hardware
// type, address length, address (8 bytes), protocol.
func (d *decoder) sll(off int) {
	if !d.fits(SLL, off, 16) {
		return
	}
	i := d.push(SLL, off, 16)
	if i < 0 {
		return
	}
	b := d.data
	d.hwaddr(off+6, int(be16(b, off+4)), i)
	d.cooked(be16(b, off+2), be16(b, off+14), off+16)
}

// sll2 decodes a Linux cooked capture v2 header: protocol, reserved,
// interface index, hardware type, packet type, address length, address.
func (d *decoder) sll2(off int) {
	if !d.fits(SLL2, off, 20) {
		return
	}
	i := d.push(SLL2, off, 20)
	if i < 0 {
		return
	}
	b := d.data
	d.hwaddr(off+12, int(b[off+11]), i)
	d.cooked(be16(b, off+8), be16(b, off), off+20)
}

// cooked follows the protocol field of a Linux cooked header.
func (d *decoder) cooked(hatype, proto uint16, off int) {
	switch {
	case hatype == arphrdNetlink:
		d.stop(Unsupported)
	case proto >= 0x0600:
		d.etherType(proto, off)
	case proto == ethP8022:
		d.llc(off)
	default:
		d.stop(Unsupported)
	}
}

// nflog decodes a Linux NFLOG header (family, version, resource ID) and its
// TLVs up to NFULA_PAYLOAD, whose value is the IP packet. TLV lengths and
// types are in the byte order of the host that wrote the capture, which
// the first TLV reveals; lengths include the 4-byte TLV header, and every
// TLV is padded to 4 bytes. Hardware addresses in NFULA_HWADDR and
// NFULA_HWHEADER are recorded.
func (d *decoder) nflog(off int) {
	if !d.fits(NFLOG, off, 4) {
		return
	}
	b := d.data
	if b[off+1] != 0 {
		d.stop(Unsupported) // only version 0 exists
		return
	}
	i := d.push(NFLOG, off, 4)
	if i < 0 {
		return
	}
	family := b[off]
	le := true
	if o := off + 4; o+4 <= d.lim {
		// Attribute types are small; a plausible little-endian length
		// and type decide, big-endian otherwise.
		if l, t := u16(b, o, true), u16(b, o+2, true)&0x3fff; l < 4 || t >= 64 {
			le = false
		}
	}
	ether := true // hardware type Ethernet unless NFULA_HWTYPE says otherwise
	o := off + 4
	for o < d.lim {
		if o+4 > d.lim {
			d.overrun(o + 4)
			return
		}
		l := int(u16(b, o, le))
		t := u16(b, o+2, le) & 0x3fff // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
		if l < 4 {
			d.stop(Malformed)
			return
		}
		if t == nfulaPayload {
			// The packet may be cut inside the payload like any other.
			d.grow(i, o+4)
			if !d.bound(o + l) {
				return
			}
			switch family {
			case 2:
				d.ipv4(o + 4)
			case 10:
				d.ipv6(o + 4)
			default:
				d.ipAny(o + 4)
			}
			return
		}
		if o+l > d.lim {
			d.overrun(o + l)
			return
		}
		switch t {
		case nfulaHWAddr: // __be16 length, 2 bytes padding, 8 bytes address
			if l >= 8 {
				d.hwaddr(o+8, min(int(be16(b, o+4)), l-8), i)
			}
		case nfulaHWType:
			if l >= 6 {
				ether = be16(b, o+4) == 1
			}
		case nfulaHWHeader:
			if ether && l >= 4+12 {
				d.macs(o+4, i)
			}
		}
		o += (l + 3) &^ 3
		d.grow(i, min(o, d.lim))
	}
	// No payload attribute: a message logged without a copy of the packet
	// (the kernel adds the payload last, so a capture cut between two
	// attributes looks the same).
}

// u16 reads a 16-bit value in either byte order.
func u16(b []byte, off int, le bool) uint16 {
	if le {
		return binary.LittleEndian.Uint16(b[off:])
	}
	return binary.BigEndian.Uint16(b[off:])
}

// ppi decodes a per-packet information header (version 0, flags, header
// length and link type, little-endian) and the frame of that link type
// after its fields.
func (d *decoder) ppi(off int) {
	if !d.fits(PPI, off, 8) {
		return
	}
	b := d.data
	n := int(binary.LittleEndian.Uint16(b[off+2:]))
	if b[off] != 0 || n < 8 {
		d.stop(Malformed)
		return
	}
	if !d.fits(PPI, off, n) || d.push(PPI, off, n) < 0 {
		return
	}
	// A PPI header inside a PPI header is not a thing: refusing it also
	// keeps link-type recursion to one level.
	if lt := binary.LittleEndian.Uint32(b[off+4:]); lt == LinkPPI || !d.link(lt, off+n) {
		d.stop(Unsupported)
	}
}

// ipnet decodes a Solaris ipnet header: version 1, address family (2 for
// IPv4, 26 for IPv6), hardware type, packet length, interface and zone
// IDs.
func (d *decoder) ipnet(off int) {
	if !d.fits(IPNet, off, 24) {
		return
	}
	b := d.data
	if b[off] != 1 {
		d.stop(Malformed)
		return
	}
	if d.push(IPNet, off, 24) < 0 {
		return
	}
	switch b[off+1] {
	case 2:
		d.ipv4(off + 24)
	case 26:
		d.ipv6(off + 24)
	default:
		d.stop(Unsupported)
	}
}

// arp decodes an ARP or RARP message.
func (d *decoder) arp(off int) {
	if !d.fits(ARP, off, 8) {
		return
	}
	b := d.data
	n := 8 + 2*(int(b[off+4])+int(b[off+5]))
	if !d.fits(ARP, off, n) {
		return
	}
	if i := d.push(ARP, off, n); i >= 0 {
		d.arpAddrs(off, i)
	}
}

// arpAddrs records the sender and target hardware and protocol addresses
// of an ARP message; protocol addresses only for IPv4.
func (d *decoder) arpAddrs(off, i int) {
	b := d.data
	hl, pl := int(b[off+4]), int(b[off+5])
	ip := be16(b, off+2) == etherIPv4 && pl == 4
	a := off + 8
	d.addr(a, hl, AddrMAC, RoleSrc, i)
	a += hl
	if ip {
		d.addr(a, 4, AddrIPv4, RoleSrc, i)
	}
	a += pl
	d.addr(a, hl, AddrMAC, RoleDst, i)
	a += hl
	if ip {
		d.addr(a, 4, AddrIPv4, RoleDst, i)
	}
}
