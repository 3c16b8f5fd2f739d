package packet

// tcp decodes a TCP header and, outside quotes, fills the TCP flow fields.
func (d *decoder) tcp(off int) {
	if !d.fits(TCP, off, 20) {
		return
	}
	b := d.data
	hl := int(b[off+12]>>4) * 4
	if hl < 20 {
		d.stop(Malformed)
		return
	}
	if !d.fits(TCP, off, hl) {
		return
	}
	i := d.push(TCP, off, hl)
	if i < 0 || d.quoted {
		return
	}
	p := d.p
	p.L4 = i
	p.SrcPort, p.DstPort = be16(b, off), be16(b, off+2)
	p.Seq, p.Ack = be32(b, off+4), be32(b, off+8)
	p.TCPFlags = b[off+13]
	if hl > 20 {
		p.TSOpt = TCPTimestamp(b, off+20, off+hl)
	}
	d.payload(off + hl)
}

// TCPTimestamp returns the offset of the timestamp option among the TCP
// options in b[o:end], or -1. Packet.TSOpt holds it for the main TCP header;
// this finds it in any other, such as one quoted by an ICMP error.
func TCPTimestamp(b []byte, o, end int) int {
	for o < end {
		switch k := b[o]; k {
		case 0: // end of option list
			return -1
		case 1: // no operation
			o++
		default:
			if o+2 > end {
				return -1
			}
			l := int(b[o+1])
			if l < 2 || o+l > end {
				return -1
			}
			if k == 8 && l == 10 {
				return o
			}
			o += l
		}
	}
	return -1
}

// udp decodes a UDP header, then a tunnel the ports (or for Teredo the
// payload) announce, else records the payload. Outside quotes the UDP
// length bounds the payload (0, as in IPv6 jumbograms, means the rest of
// the IP packet).
func (d *decoder) udp(off int) {
	if !d.fits(UDP, off, 8) {
		return
	}
	b := d.data
	if !d.quoted {
		ul := int(be16(b, off+4))
		if ul == 0 {
			ul = d.claim - off
		}
		if ul < 8 {
			d.stop(Malformed)
			return
		}
		if !d.bound(off + ul) {
			return
		}
	}
	i := d.push(UDP, off, 8)
	if i < 0 || d.quoted {
		return
	}
	p := d.p
	p.L4 = i
	sp, dp := be16(b, off), be16(b, off+2)
	p.SrcPort, p.DstPort = sp, dp
	if !d.udpTunnel(sp, dp, off+8) {
		d.payload(off + 8)
	}
}

// sctp decodes the SCTP common header; the chunks are payload.
func (d *decoder) sctp(off int) {
	if !d.fits(SCTP, off, 12) {
		return
	}
	i := d.push(SCTP, off, 12)
	if i < 0 || d.quoted {
		return
	}
	p := d.p
	p.L4 = i
	p.SrcPort, p.DstPort = be16(d.data, off), be16(d.data, off+2)
	d.payload(off + 12)
}

// icmpv4 decodes an ICMP header. Error messages (destination unreachable,
// source quench, redirect, time exceeded, parameter problem) quote the
// packet that caused them; redirects and router advertisements carry
// addresses.
func (d *decoder) icmpv4(off int) {
	if !d.fits(ICMPv4, off, 8) {
		return
	}
	i := d.push(ICMPv4, off, 8)
	if i < 0 || d.quoted {
		return
	}
	b := d.data
	p := d.p
	t := b[off]
	p.L4 = i
	p.ICMPType, p.ICMPCode = t, b[off+1]
	switch t {
	case 3, 4, 11, 12:
		d.quote(off + 8)
	case 5:
		d.addr(off+4, 4, AddrIPv4, RoleOther, i) // gateway
		d.quote(off + 8)
	case 9:
		// Router advertisement: count, entry size in 4-byte units, then
		// (address, preference) entries.
		n, size := int(b[off+4]), int(b[off+5])*4
		for k := 0; size >= 8 && k < n; k++ {
			a := off + 8 + k*size
			if a+4 > d.lim {
				break
			}
			d.addr(a, 4, AddrIPv4, RoleOther, i)
		}
		d.payload(off + 8)
	default:
		d.payload(off + 8)
	}
}

// ICMPv6 message types with more than the 8-byte header.
const (
	icmpv6RouterSolicit   = 133
	icmpv6RouterAdvert    = 134
	icmpv6NeighborSolicit = 135
	icmpv6NeighborAdvert  = 136
	icmpv6Redirect        = 137
)

// icmpv6 decodes an ICMPv6 header. Error messages (destination
// unreachable, packet too big, time exceeded, parameter problem) quote the
// packet that caused them. Neighbor discovery messages are decoded whole:
// their target and destination addresses and their options (link-layer
// addresses, prefixes, DNS servers, the redirected header) are recorded,
// and the header covers the options.
func (d *decoder) icmpv6(off int) {
	if !d.fits(ICMPv6, off, 8) {
		return
	}
	b := d.data
	t := b[off]
	n := 8
	if !d.quoted {
		switch t {
		case icmpv6RouterAdvert:
			n = 16
		case icmpv6NeighborSolicit, icmpv6NeighborAdvert:
			n = 24
		case icmpv6Redirect:
			n = 40
		}
	}
	if !d.fits(ICMPv6, off, n) {
		return
	}
	i := d.push(ICMPv6, off, n)
	if i < 0 || d.quoted {
		return
	}
	p := d.p
	p.L4 = i
	p.ICMPType, p.ICMPCode = t, b[off+1]
	switch t {
	case 1, 2, 3, 4:
		d.quote(off + 8)
	case icmpv6RouterSolicit, icmpv6RouterAdvert:
		d.ndpOptions(off+n, i)
	case icmpv6NeighborSolicit, icmpv6NeighborAdvert:
		d.addr(off+8, 16, AddrIPv6, RoleOther, i) // target
		d.ndpOptions(off+n, i)
	case icmpv6Redirect:
		d.addr(off+8, 16, AddrIPv6, RoleOther, i)  // target
		d.addr(off+24, 16, AddrIPv6, RoleOther, i) // destination
		d.ndpOptions(off+n, i)
	default:
		d.payload(off + 8)
	}
}

// ndpOptions walks the options of a neighbor discovery message from o to
// the end of the message, growing header i over them, then decodes the
// packet in a redirected header option as a quote.
func (d *decoder) ndpOptions(o, i int) {
	b := d.data
	quote, quoteEnd := -1, 0
	for o < d.lim {
		if o+2 > d.lim {
			d.overrun(o + 2)
			return
		}
		l := int(b[o+1]) * 8
		if l == 0 {
			d.stop(Malformed)
			return
		}
		if o+l > d.lim {
			if b[o] == 4 && quote < 0 && o+8 <= d.lim {
				// A redirected header cut short is a quote cut short.
				d.grow(i, o+8)
				quote, quoteEnd = o+8, d.lim
				break
			}
			d.overrun(o + l)
			return
		}
		switch b[o] {
		case 1, 2: // source and target link-layer address
			d.addr(o+2, min(l-2, 8), AddrMAC, RoleOther, i)
		case 3: // prefix information
			if l == 32 {
				d.addr(o+16, 16, AddrIPv6, RoleOther, i)
			}
		case 4: // redirected header: 8 bytes, then the quoted packet
			if quote < 0 && l > 8 {
				quote, quoteEnd = o+8, o+l
			}
		case 24: // route information: a prefix of 0, 8 or 16 bytes
			d.addr(o+8, min(l-8, 16), AddrIPv6, RoleOther, i)
		case 25: // recursive DNS servers
			for a := o + 8; a+16 <= o+l; a += 16 {
				d.addr(a, 16, AddrIPv6, RoleOther, i)
			}
		}
		o += l
		d.grow(i, o)
	}
	if quote < 0 && o < d.claim {
		d.stop(Truncated) // the capture ends between two options
		return
	}
	if quote >= 0 && d.p.Stop == Complete {
		d.lim = quoteEnd
		d.quote(quote)
	}
}

// quote decodes the packet quoted at off by an ICMP error message: its IP
// header (and any IP-in-IP and extension headers) and the first transport
// header, all marked Quoted. A quote that ends inside a header leaves a
// Partial header and does not stop the decoding of the packet as
// truncated.
func (d *decoder) quote(off int) {
	if off >= d.lim {
		return
	}
	p := d.p
	first := p.N
	d.quoted = true
	switch d.data[off] >> 4 {
	case 4:
		d.ipv4(off)
	case 6:
		d.ipv6(off)
	default:
		d.stop(Malformed)
	}
	if p.N > first && p.Quote < 0 {
		p.Quote = first
	}
}
