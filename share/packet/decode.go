package packet

import "encoding/binary"

const maxInt = int(^uint(0) >> 1)

// Decode decodes the headers of one packet, captured with the given pcap
// link type, into p. Whatever p held before is discarded; p keeps no
// reference to data, and Decode does not allocate.
//
// Decode returns ErrUnsupportedLinkType for a link type it does not know,
// nil when every header was decoded (p.Stop == Complete), and otherwise the
// sentinel error of p.Stop; p then holds every header decoded before the
// stop. Decode never reads outside data and never panics.
func Decode(p *Packet, data []byte, linkType uint32) error {
	p.Reset()
	// Fields are set one by one for the reason given at setHeader.
	var d decoder
	d.p, d.data, d.lim, d.claim, d.ip = p, data, len(data), maxInt, -1
	if !d.link(linkType, 0) {
		p.Stop = Unsupported
		return ErrUnsupportedLinkType
	}
	return stopErrs[p.Stop]
}

// link decodes from a link-layer header of the given type at off, and
// reports false for an unknown link type.
func (d *decoder) link(linkType uint32, off int) bool {
	switch linkType {
	case LinkEthernet:
		d.ethernet(off)
	case LinkNull, LinkLoop:
		d.null(off)
	case LinkPPP:
		d.ppp(off)
	case LinkPPPHDLC:
		// Captures of "PPP in HDLC-like framing" also hold Cisco HDLC
		// frames, which start with the address 0x0f or 0x8f instead of 0xff.
		if off < len(d.data) && d.data[off]&0x7f == 0x0f {
			d.chdlc(off)
		} else {
			d.ppp(off)
		}
	case LinkRaw, linkRaw12, linkRaw14:
		d.ipAny(off)
	case LinkCHDLC:
		d.chdlc(off)
	case LinkLinuxSLL:
		d.sll(off)
	case LinkLinuxSLL2:
		d.sll2(off)
	case LinkIPv4:
		d.ipv4(off)
	case LinkIPv6:
		d.ipv6(off)
	case LinkNFLOG:
		d.nflog(off)
	case LinkIPNet:
		d.ipnet(off)
	case LinkPPI:
		d.ppi(off)
	default:
		return false
	}
	return true
}

// decoder is the state of one Decode call. Decoding is a chain: every
// header has one successor, so each handler checks its bytes, appends its
// header and calls the handler of the next protocol. Every call appends a
// header or stops, and appending fails past MaxHeaders, which bounds the
// recursion.
type decoder struct {
	p    *Packet
	data []byte
	// lim is the end of the bytes the current header may use: the end of
	// the captured data, cut to the enclosing headers' length fields.
	lim int
	// claim is the end that the enclosing length fields claim (maxInt
	// above the first length field); it can lie beyond the captured data.
	claim int
	ip    int   // index of the last IP header; -1 before the first
	depth uint8 // tunnels entered so far
	// quoted is set inside an ICMP quote: headers there are listed as
	// Quoted, may be cut short without a stop, and do not touch the flow
	// fields.
	quoted bool
	// frag is set inside the first fragment of an IP packet: inner length
	// fields may reach past its end, into fragments not at hand.
	frag bool
}

func be16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
func be32(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }

// stop ends decoding; the first reason wins.
func (d *decoder) stop(r StopReason) {
	if d.p.Stop == Complete {
		d.p.Stop = r
	}
}

// push appends a complete header and returns its index, or -1 when
// decoding has stopped or the header list is full.
func (d *decoder) push(k Kind, off, n int) int {
	p := d.p
	if p.Stop != Complete {
		return -1
	}
	if p.N == MaxHeaders {
		p.Stop = TooDeep
		return -1
	}
	i := p.N
	d.setHeader(i, k, off, n, false)
	p.N++
	if off+n > p.End {
		p.End = off + n
	}
	return i
}

// setHeader fills header i field by field. Assigning a composite literal
// makes the compiler build it on the stack and copy it with wide loads
// that stall on the narrow stores just made; profiles showed a third of
// the decoding time there. The address and tunnel records are filled the
// same way.
func (d *decoder) setHeader(i int, k Kind, off, n int, partial bool) {
	h := &d.p.Headers[i]
	h.Off, h.Len, h.Kind, h.Depth, h.Quoted, h.Partial = off, n, k, d.depth, d.quoted, partial
}

// grow extends header i, whose length became known while decoding it, to
// end.
func (d *decoder) grow(i, end int) {
	h := &d.p.Headers[i]
	h.Len = end - h.Off
	if end > d.p.End {
		d.p.End = end
	}
}

// fits reports whether the n bytes of a header of kind k at off are
// available. When they are not, it records why (see cut).
func (d *decoder) fits(k Kind, off, n int) bool {
	if off+n <= d.lim {
		return true
	}
	d.cut(k, off, n)
	return false
}

// cut handles a header of kind k at off that needs n bytes more than are
// available. If an enclosing length field says the bytes cannot be there,
// the packet is malformed. Otherwise the data ends inside the header: the
// bytes present are listed as a Partial header with the address fields
// they hold, so that a rewriter still finds them, and decoding stops as
// truncated, except inside an ICMP quote, where a cut header is normal.
func (d *decoder) cut(k Kind, off, n int) {
	if !d.quoted && !d.frag && off+n > d.claim {
		d.stop(Malformed)
		return
	}
	p := d.p
	if p.Stop != Complete {
		return
	}
	if off < d.lim && p.N < MaxHeaders {
		i := p.N
		d.setHeader(i, k, off, d.lim-off, true)
		p.N++
		d.partialAddrs(k, off, i)
	}
	if !d.quoted {
		d.stop(Truncated)
	}
}

// overrun stops decoding inside a header (already listed) whose part
// ending at end is missing.
func (d *decoder) overrun(end int) {
	if !d.frag && end > d.claim {
		d.stop(Malformed)
	} else {
		d.stop(Truncated)
	}
}

// partialAddrs records the address fields of a header cut short.
func (d *decoder) partialAddrs(k Kind, off, i int) {
	switch k {
	case Ethernet:
		d.macs(off, i)
	case IPv4:
		d.addr(off+12, 4, AddrIPv4, RoleSrc, i)
		d.addr(off+16, 4, AddrIPv4, RoleDst, i)
	case IPv6:
		d.addr(off+8, 16, AddrIPv6, RoleSrc, i)
		d.addr(off+24, 16, AddrIPv6, RoleDst, i)
	case ARP:
		if off+6 <= d.lim {
			d.arpAddrs(off, i)
		}
	case SLL:
		if off+6 <= d.lim {
			d.hwaddr(off+6, int(be16(d.data, off+4)), i)
		}
	case SLL2:
		if off+12 <= d.lim {
			d.hwaddr(off+12, int(d.data[off+11]), i)
		}
	}
}

// addr records an address field of n bytes at off that belongs to header
// h, cut to the bytes available.
func (d *decoder) addr(off, n int, t AddrType, r Role, h int) {
	if off >= d.lim || n <= 0 {
		return
	}
	n = min(n, d.lim-off, 255)
	p := d.p
	if p.NAddr == MaxAddrs {
		d.stop(TooDeep)
		return
	}
	a := &p.Addrs[p.NAddr]
	a.Off, a.Len, a.Type, a.Role, a.Header = off, uint8(n), t, r, uint8(h)
	p.NAddr++
}

// macs records the destination and source MAC address of an Ethernet
// header.
func (d *decoder) macs(off, i int) {
	d.addr(off, 6, AddrMAC, RoleDst, i)
	d.addr(off+6, 6, AddrMAC, RoleSrc, i)
}

// hwaddr records a sender hardware address of n bytes (at most 8, the
// size of the field in cooked headers).
func (d *decoder) hwaddr(off, n, i int) {
	d.addr(off, min(n, 8), AddrMAC, RoleSrc, i)
}

// bound narrows the container to end, the end that a length field at the
// current position claims. A claim beyond the enclosing claim is
// malformed, except inside a first fragment, whose contents continue in
// other fragments.
func (d *decoder) bound(end int) bool {
	if end > d.claim {
		if !d.frag {
			d.stop(Malformed)
			return false
		}
		end = d.claim
	}
	d.claim = end
	d.lim = min(d.lim, end)
	return true
}

// tunnel enters a tunnel whose header is header h; the headers decoded
// next are one level deeper.
func (d *decoder) tunnel(k Kind, h int, id uint32) bool {
	if int(d.depth) >= MaxTunnels {
		d.stop(TooDeep)
		return false
	}
	d.depth++
	if !d.quoted {
		p := d.p
		t := &p.Tunnels[p.NTunnel]
		t.Kind, t.Header, t.Outer, t.ID = k, uint8(h), uint8(max(d.ip, 0)), id
		p.NTunnel++
	}
	return true
}

// payload records the data at off as the payload of the current packet.
func (d *decoder) payload(off int) {
	if d.quoted {
		return
	}
	p := d.p
	end := d.claim
	if end == maxInt {
		end = d.lim
	}
	p.Payload, p.PayloadLen = off, max(end-off, 0)
	if n := d.lim - off; n > 0 && p.N < MaxHeaders {
		d.setHeader(p.N, Payload, off, n, false)
		p.N++
	}
}
