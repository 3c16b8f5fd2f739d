package packet

// IP protocol numbers.
const (
	protoHopByHop = 0
	protoICMPv4   = 1
	protoIPv4     = 4
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6     = 41
	protoRouting  = 43
	protoFragment = 44
	protoGRE      = 47
	protoESP      = 50
	protoAH       = 51
	protoICMPv6   = 58
	protoNoNext   = 59
	protoDestOpts = 60
	protoSCTP     = 132
)

// ipAny decodes an IP header of the version its first nibble names.
func (d *decoder) ipAny(off int) {
	if !d.fits(IPv4, off, 1) {
		return
	}
	switch d.data[off] >> 4 {
	case 4:
		d.ipv4(off)
	case 6:
		d.ipv6(off)
	default:
		d.stop(Malformed)
	}
}

// ipv4 decodes an IPv4 header with its options. Outside quotes, the total
// length bounds what follows; 0, as written by captures with segmentation
// offload, leaves the length to the captured bytes.
func (d *decoder) ipv4(off int) {
	b := d.data
	if off < d.lim && b[off]>>4 != 4 {
		d.stop(Malformed)
		return
	}
	if !d.fits(IPv4, off, 20) {
		return
	}
	hl := int(b[off]&0x0f) * 4
	if hl < 20 {
		d.stop(Malformed)
		return
	}
	if !d.fits(IPv4, off, hl) {
		return
	}
	tot := int(be16(b, off+2))
	if !d.quoted {
		switch {
		case tot == 0:
			// Unknown: the bytes captured are all there is to go by.
			tot = d.lim - off
		case tot < hl:
			d.stop(Malformed)
			return
		case !d.bound(off + tot):
			return
		}
	}
	i := d.push(IPv4, off, hl)
	if i < 0 {
		return
	}
	d.addr(off+12, 4, AddrIPv4, RoleSrc, i)
	d.addr(off+16, 4, AddrIPv4, RoleDst, i)
	if hl > 20 {
		d.ipv4Options(off+20, off+hl, i)
	}
	d.ip = i
	proto := b[off+9]
	ff := be16(b, off+6)
	fragOff, more := int(ff&0x1fff)*8, ff&0x2000 != 0
	if !d.quoted {
		d.setIP(i, proto, tot)
		if more || fragOff > 0 {
			d.setFrag(uint32(be16(b, off+4)), fragOff, more)
		}
	}
	if fragOff > 0 {
		d.payload(off + hl)
		return
	}
	if more {
		d.frag = true
	}
	d.ipProto(proto, off+hl)
}

// ipv4Options records the addresses in IPv4 options: the address slots of
// record route and loose and strict source route, and the addresses of a
// timestamp option with flag 1 or 3. An invalid option ends the walk; the
// kernel would drop such a packet, but its other headers are still valid.
func (d *decoder) ipv4Options(o, end, i int) {
	b := d.data
	for o < end {
		t := b[o]
		if t == 0 { // end of option list
			return
		}
		if t == 1 { // no operation
			o++
			continue
		}
		if o+2 > end {
			return
		}
		l := int(b[o+1])
		if l < 2 || o+l > end {
			return
		}
		switch t {
		case 7, 131, 137: // record route, loose and strict source route
			for a := o + 3; a+4 <= o+l; a += 4 {
				d.addr(a, 4, AddrIPv4, RoleOther, i)
			}
		case 68: // timestamp
			if l < 4 {
				break
			}
			if fl := b[o+3] & 0x0f; fl == 1 || fl == 3 {
				for a := o + 4; a+8 <= o+l; a += 8 {
					d.addr(a, 4, AddrIPv4, RoleOther, i)
				}
			}
		}
		o += l
	}
}

// ipv6 decodes the IPv6 fixed header. Outside quotes, the payload length
// bounds what follows; 0 with a next header, as in jumbograms and captures
// with segmentation offload, leaves the length to the captured bytes.
func (d *decoder) ipv6(off int) {
	b := d.data
	if off < d.lim && b[off]>>4 != 6 {
		d.stop(Malformed)
		return
	}
	if !d.fits(IPv6, off, 40) {
		return
	}
	nh := b[off+6]
	tot := 40 + int(be16(b, off+4))
	if !d.quoted {
		if tot == 40 && nh != protoNoNext {
			tot = d.lim - off // unknown, as for IPv4
		} else if !d.bound(off + tot) {
			return
		}
	}
	i := d.push(IPv6, off, 40)
	if i < 0 {
		return
	}
	d.addr(off+8, 16, AddrIPv6, RoleSrc, i)
	d.addr(off+24, 16, AddrIPv6, RoleDst, i)
	d.ip = i
	if !d.quoted {
		d.setIP(i, nh, tot)
	}
	d.ipProto(nh, off+40)
}

// setIP makes header i the Inner IP header of the flow fields.
func (d *decoder) setIP(i int, proto uint8, tot int) {
	p := d.p
	if p.Inner >= 0 {
		p.resetL4() // forget the outer packet's transport fields
	}
	p.Inner = i
	if p.Outer < 0 {
		p.Outer = i
	}
	p.Proto = proto
	p.IPLen = tot
}

// setFrag records the fragmentation of the Inner IP packet.
func (d *decoder) setFrag(id uint32, off int, more bool) {
	f := &d.p.Frag
	f.ID, f.Offset, f.More, f.Fragmented = id, off, more, true
}

// ipProto follows an IP protocol or IPv6 next-header number.
func (d *decoder) ipProto(proto uint8, off int) {
	switch proto {
	case protoTCP:
		d.tcp(off)
	case protoUDP:
		d.udp(off)
	case protoICMPv4:
		d.icmpv4(off)
	case protoICMPv6:
		d.icmpv6(off)
	case protoSCTP:
		d.sctp(off)
	case protoGRE:
		d.gre(off)
	case protoIPv4, protoIPv6:
		// IP in IP, 6in4, 4in6, 6in6: the encapsulating IP header is
		// the tunnel header.
		if d.ip < 0 || !d.tunnel(d.p.Headers[d.ip].Kind, d.ip, 0) {
			return
		}
		if proto == protoIPv4 {
			d.ipv4(off)
		} else {
			d.ipv6(off)
		}
	case protoHopByHop:
		d.ext(IPv6HopByHop, off)
	case protoRouting:
		d.ext(IPv6Routing, off)
	case protoDestOpts:
		d.ext(IPv6DestOpts, off)
	case protoFragment:
		d.frag6(off)
	case protoAH:
		d.ah(off)
	case protoESP:
		if d.fits(ESP, off, 8) && d.push(ESP, off, 8) >= 0 {
			d.payload(off + 8)
		}
	case protoNoNext:
		// Nothing follows.
	default:
		d.payload(off)
	}
}

// ext decodes an IPv6 hop-by-hop, routing or destination options header.
func (d *decoder) ext(k Kind, off int) {
	if !d.fits(k, off, 8) {
		return
	}
	b := d.data
	n := (int(b[off+1]) + 1) * 8
	if !d.fits(k, off, n) {
		return
	}
	i := d.push(k, off, n)
	if i < 0 {
		return
	}
	switch k {
	case IPv6Routing:
		d.routingAddrs(off, n, i)
	case IPv6DestOpts:
		d.homeAddr(off, n, i)
	}
	nh := b[off]
	if !d.quoted {
		d.p.Proto = nh
	}
	d.ipProto(nh, off+n)
}

// routingAddrs records the addresses of a routing header of type 0
// (deprecated source route), 2 (mobile IPv6 home address) or 4 (segment
// routing: the segments up to the last entry).
func (d *decoder) routingAddrs(off, n, i int) {
	b := d.data
	cnt := (n - 8) / 16
	switch b[off+2] {
	case 0, 2:
	case 4:
		cnt = min(cnt, int(b[off+4])+1)
	default:
		return
	}
	for k := 0; k < cnt; k++ {
		d.addr(off+8+16*k, 16, AddrIPv6, RoleOther, i)
	}
}

// homeAddr records the home address option of a destination options
// header.
func (d *decoder) homeAddr(off, n, i int) {
	b := d.data
	end := off + n
	for o := off + 2; o < end; {
		if b[o] == 0 { // Pad1
			o++
			continue
		}
		if o+2 > end {
			return
		}
		l := int(b[o+1])
		if b[o] == 201 && l == 16 && o+2+16 <= end {
			d.addr(o+2, 16, AddrIPv6, RoleOther, i)
		}
		o += 2 + l
	}
}

// frag6 decodes an IPv6 fragment header. Only the first fragment holds the
// headers that follow.
func (d *decoder) frag6(off int) {
	if !d.fits(IPv6Frag, off, 8) || d.push(IPv6Frag, off, 8) < 0 {
		return
	}
	b := d.data
	nh := b[off]
	fragOff, more := int(be16(b, off+2)&0xfff8), b[off+3]&1 != 0
	if !d.quoted {
		d.p.Proto = nh
		d.setFrag(be32(b, off+4), fragOff, more)
	}
	if fragOff > 0 {
		d.payload(off + 8)
		return
	}
	if more {
		d.frag = true
	}
	d.ipProto(nh, off+8)
}

// ah decodes an IP authentication header, whose length counts 4-byte units
// minus 2.
func (d *decoder) ah(off int) {
	if !d.fits(AH, off, 12) {
		return
	}
	b := d.data
	n := (int(b[off+1]) + 2) * 4
	if !d.fits(AH, off, n) || d.push(AH, off, n) < 0 {
		return
	}
	nh := b[off]
	if !d.quoted {
		d.p.Proto = nh
	}
	d.ipProto(nh, off+n)
}
