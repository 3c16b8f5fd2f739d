package packet

// UDP ports of the tunnels decoded inside UDP.
const (
	portVXLAN    = 4789
	portVXLANGPE = 4790
	portGTPU     = 2152
	portTeredo   = 3544
)

// gre decodes a GRE header: version 0 with its optional checksum, key and
// sequence fields (the obsolete source routing is not decoded), or the
// enhanced GRE of PPTP (version 1: key holding payload length and call
// ID, optional sequence and acknowledgment numbers, PPP inside). Inside a
// quote only the GRE header is listed.
func (d *decoder) gre(off int) {
	if !d.fits(GRE, off, 4) {
		return
	}
	b := d.data
	flags, ver, proto := b[off], b[off+1]&0x07, be16(b, off+2)
	hl := 4
	switch ver {
	case 0:
		if flags&0x40 != 0 {
			d.stop(Unsupported) // source routing (RFC 1701)
			return
		}
		if flags&0x80 != 0 {
			hl += 4 // checksum and reserved
		}
		if flags&0x20 != 0 {
			hl += 4 // key
		}
		if flags&0x10 != 0 {
			hl += 4 // sequence number
		}
	case 1:
		if flags&0x20 == 0 || proto != etherPPP {
			d.stop(Malformed)
			return
		}
		hl = 8
		if flags&0x10 != 0 {
			hl += 4 // sequence number
		}
		if b[off+1]&0x80 != 0 {
			hl += 4 // acknowledgment number
		}
	default:
		d.stop(Unsupported)
		return
	}
	if !d.fits(GRE, off, hl) {
		return
	}
	i := d.push(GRE, off, hl)
	if i < 0 || d.quoted {
		return
	}
	o := off + hl
	if ver == 1 {
		n := int(be16(b, off+4))
		if n == 0 {
			return // acknowledgment without payload
		}
		if d.bound(o+n) && d.tunnel(GRE, i, uint32(be16(b, off+6))) {
			d.ppp(o)
		}
		return
	}
	var key uint32
	if flags&0x20 != 0 {
		k := off + 4
		if flags&0x80 != 0 {
			k += 4
		}
		key = be32(b, k)
	}
	switch proto {
	case etherERSPAN2:
		// ERSPAN type II has a sequence number and an 8-byte header;
		// type I has neither, and Ethernet follows GRE directly.
		if flags&0x10 == 0 {
			if d.tunnel(GRE, i, key) {
				d.ethernet(o)
			}
			return
		}
		d.erspan(o, 8, 1, i, key)
	case etherERSPAN3:
		n := 12
		if d.lim >= o+12 && b[o+11]&1 != 0 {
			n += 8 // platform-specific subheader
		}
		d.erspan(o, n, 2, i, key)
	default:
		if d.tunnel(GRE, i, key) {
			d.etherType(proto, o)
		}
	}
}

// erspan decodes an ERSPAN header of n bytes and version ver, then the
// mirrored Ethernet frame. The tunnel ID is the GRE key, or the ERSPAN
// session ID without one.
func (d *decoder) erspan(off, n int, ver uint8, gre int, key uint32) {
	if !d.fits(ERSPAN, off, n) {
		return
	}
	b := d.data
	if b[off]>>4 != ver {
		d.stop(Malformed)
		return
	}
	if key == 0 {
		key = uint32(be16(b, off+2) & 0x03ff)
	}
	if d.push(ERSPAN, off, n) >= 0 && d.tunnel(GRE, gre, key) {
		d.ethernet(off + n)
	}
}

// udpTunnel decodes the tunnel that a UDP port (either one) announces in
// the UDP payload at off, and reports whether it did. A payload that does
// not look like the tunnel's header is left to the caller as payload; a
// tunnel header cut by the end of the capture stops decoding as truncated.
// Teredo is also recognised on other ports when the payload is exactly one
// IPv6 packet, as Wireshark's Teredo heuristic does.
func (d *decoder) udpTunnel(sp, dp uint16, off int) bool {
	switch {
	case dp == portVXLAN || sp == portVXLAN:
		return d.vxlan(off, false)
	case dp == portVXLANGPE || sp == portVXLANGPE:
		return d.vxlan(off, true)
	case dp == portGTPU || sp == portGTPU:
		return d.gtpu(off)
	case dp == portTeredo || sp == portTeredo:
		return d.teredo(off, true)
	}
	return d.teredo(off, false)
}

// vxlan decodes a VXLAN header (flags with the I bit, VNI) and the
// Ethernet frame after it, or for VXLAN-GPE the protocol its next-protocol
// field names.
func (d *decoder) vxlan(off int, gpe bool) bool {
	b := d.data
	if off >= d.lim || b[off]&0x08 == 0 {
		return false
	}
	if d.short(off, 8) {
		d.cut(VXLAN, off, 8)
		return true
	}
	if off+8 > d.lim {
		return false
	}
	next := uint8(3) // Ethernet
	if gpe && b[off]&0x04 != 0 {
		next = b[off+3]
	}
	i := d.push(VXLAN, off, 8)
	if i < 0 || !d.tunnel(VXLAN, i, be32(b, off+4)>>8) {
		return true
	}
	switch next {
	case 1:
		d.ipv4(off + 8)
	case 2:
		d.ipv6(off + 8)
	case 3:
		d.ethernet(off + 8)
	case 5:
		d.mpls(off + 8)
	default:
		d.stop(Unsupported)
	}
	return true
}

// gtpu decodes a GTP-U header: flags (version 1, protocol type GTP),
// message type, length, TEID, then when any of the E, S or PN flags is set
// the sequence number, N-PDU number and the chain of extension headers.
// A G-PDU carries an IPv4 or IPv6 packet; other messages are payload.
func (d *decoder) gtpu(off int) bool {
	b := d.data
	if off >= d.lim {
		return false
	}
	flags := b[off]
	if flags>>5 != 1 || flags&0x10 == 0 {
		return false
	}
	if d.short(off, 8) {
		d.cut(GTPU, off, 8)
		return true
	}
	if off+8 > d.lim {
		return false
	}
	msg := b[off+1]
	teid := be32(b, off+4)
	if !d.bound(off + 8 + int(be16(b, off+2))) {
		return true
	}
	hl := 8
	if flags&0x07 != 0 {
		hl = 12
		if !d.fits(GTPU, off, hl) {
			return true
		}
		// With the E flag, each extension header gives its length in
		// 4-byte units and ends with the type of the next one; the chain
		// ends at type 0. Without it the type field is to be ignored.
		next := b[off+11]
		if flags&0x04 == 0 {
			next = 0
		}
		for next != 0 {
			if !d.fits(GTPU, off, hl+4) {
				return true
			}
			n := int(b[off+hl]) * 4
			if n == 0 {
				d.stop(Malformed)
				return true
			}
			if !d.fits(GTPU, off, hl+n) {
				return true
			}
			next = b[off+hl+n-1]
			hl += n
		}
	}
	i := d.push(GTPU, off, hl)
	if i < 0 {
		return true
	}
	if msg != 255 {
		d.payload(off + hl) // echo, error indication, end marker
		return true
	}
	if d.tunnel(GTPU, i, teid) {
		d.ipAny(off + hl)
	}
	return true
}

// teredo decodes Teredo encapsulation: an optional authentication header
// (indicator 1, client ID and authentication value lengths, the two
// values, nonce, confirmation byte), an optional origin indication
// (indicator 0, obfuscated port and IPv4 address), then an IPv6 packet.
// The Teredo header is listed even when empty. Away from port 3544 it is
// accepted only when the IPv6 payload length fills the UDP payload
// exactly.
func (d *decoder) teredo(off int, port bool) bool {
	b, lim := d.data, d.lim
	if off >= lim {
		return false // nothing captured: payload
	}
	o, origin := off, -1
	// Both indicators start with a zero byte, IPv6 with 0x6_.
	if b[o] == 0 {
		if o+2 > lim {
			return d.teredoCut(off, o+2, port)
		}
		if b[o+1] == 1 { // authentication
			if o+4 > lim {
				return d.teredoCut(off, o+4, port)
			}
			o += 4 + int(b[o+2]) + int(b[o+3]) + 9
			if o+2 > lim {
				return d.teredoCut(off, o+2, port)
			}
		}
		if b[o] == 0 && b[o+1] == 0 { // origin indication
			if o+8 > lim {
				return d.teredoCut(off, o+8, port)
			}
			origin = o
			o += 8
		}
	}
	if o >= lim {
		return d.teredoCut(off, o+1, port)
	}
	if b[o]>>4 != 6 {
		return false
	}
	if !port && (o+40 > lim || o+40+int(be16(b, o+4)) != d.claim) {
		return false
	}
	i := d.push(Teredo, off, o-off)
	if i < 0 {
		return true
	}
	if origin >= 0 {
		d.addr(origin+4, 4, AddrIPv4XOR, RoleOther, i)
	}
	if d.tunnel(Teredo, i, 0) {
		d.ipv6(o)
	}
	return true
}

// teredoCut handles Teredo headers that end at end, past the captured
// data: on the Teredo port they are a truncated tunnel header, elsewhere
// the payload is not Teredo.
func (d *decoder) teredoCut(off, end int, port bool) bool {
	if !port || !d.short(off, end-off) {
		return false
	}
	d.cut(Teredo, off, end-off)
	return true
}

// short reports whether the captured data ends before off+n although the
// enclosing length fields say that the bytes were sent: a tunnel header
// cut by the capture, as opposed to a UDP payload too small to be one.
func (d *decoder) short(off, n int) bool {
	return off+n > d.lim && (d.frag || off+n <= d.claim)
}
