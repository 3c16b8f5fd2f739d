package pcap

import (
	"encoding/binary"
	"math/bits"

	"github.com/flowfed/flowfed/share/packet"
)

// Checksums are updated incrementally (RFC 1624, equation 3: HC' = ~(~HC + ~m + m'))
// rather than recomputed: the ones' complement sum is linear, so adding the change of
// every rewritten field to the stored checksum keeps a valid checksum valid and a
// wrong one wrong by exactly the same amount, and it works on packets whose payload
// was never captured or is cut, which a recomputation cannot check.
//
// A scope is one checksum and the bytes it covers: a byte range of the packet plus,
// for TCP, UDP and ICMPv6, the two address fields of the IP pseudo-header. Every
// change of a field is added to each scope that covers it; then the scopes are
// applied innermost first, since a changed inner checksum is itself a change that
// the outer checksums (of a tunnel's UDP or GRE header, of an ICMP error quoting
// the packet) cover.

// scope is one checksum to update.
type scope struct {
	ck         int    // offset of the 16-bit checksum field
	start, end int    // bytes covered
	psrc, pdst int    // offsets of the pseudo-header address fields, or -1
	udp        bool   // a result of 0 is written as 0xffff (0 means "no checksum")
	acc        uint64 // sum of the changes, not yet folded
}

// maxScopes bounds the scopes of one packet: at most one per header.
const maxScopes = packet.MaxHeaders

// sum16 returns the ones' complement sum of b as if b started at an even offset
// of the checksummed data; a trailing odd byte is the high byte of its word.
func sum16(b []byte) uint16 {
	var s uint64
	i := 0
	for ; i+4 <= len(b); i += 4 {
		// 2^16 = 1 modulo 2^16-1, so 32-bit words fold to the same sum.
		s += uint64(binary.BigEndian.Uint32(b[i:]))
	}
	for ; i+2 <= len(b); i += 2 {
		s += uint64(binary.BigEndian.Uint16(b[i:]))
	}
	if i < len(b) {
		s += uint64(b[i]) << 8
	}
	return fold(s)
}

// fold reduces a sum of 16-bit words to 16 bits with end-around carry.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// buildScopes lists the checksums of the decoded packet whose fields are present.
func (rw *rewriter) buildScopes(data []byte) {
	p := &rw.p
	rw.ns = 0
	ip, ipEnd := -1, 0 // the last IP header seen: it carries what follows
	for i := 0; i < p.N; i++ {
		h := &p.Headers[i]
		o := h.Off
		hend := min(o+h.Len, len(data))
		var ck int
		switch h.Kind {
		case packet.IPv4:
			ip, ipEnd = i, rw.ipEnd(data, i)
			if o+12 > hend {
				continue
			}
			rw.addScope(o+10, o, min(o+int(data[o]&0x0f)*4, hend), -1, -1, false)
			continue
		case packet.IPv6:
			ip, ipEnd = i, rw.ipEnd(data, i)
			continue
		case packet.TCP:
			ck = o + 16
		case packet.UDP:
			ck = o + 6
		case packet.ICMPv4, packet.ICMPv6:
			ck = o + 2
		case packet.GRE:
			// A GRE checksum covers the GRE header and everything after it.
			if o+6 > hend || data[o]&0x80 == 0 || ip < 0 {
				continue
			}
			rw.addScope(o+4, o, ipEnd, -1, -1, false)
			continue
		default:
			continue
		}
		if ck+2 > hend || ip < 0 {
			continue
		}
		udp := h.Kind == packet.UDP
		if udp && data[ck]|data[ck+1] == 0 {
			continue // no checksum; it stays so
		}
		psrc, pdst := -1, -1
		if h.Kind != packet.ICMPv4 {
			psrc, pdst = rw.pseudoFields(data, ip, i)
		}
		rw.addScope(ck, o, ipEnd, psrc, pdst, udp)
	}
}

// addScope appends a scope unless it covers nothing or the list is full.
func (rw *rewriter) addScope(ck, start, end, psrc, pdst int, udp bool) {
	if end <= start || rw.ns == maxScopes {
		return
	}
	s := &rw.sc[rw.ns]
	s.ck, s.start, s.end, s.psrc, s.pdst, s.udp, s.acc = ck, start, end, psrc, pdst, udp, 0
	rw.ns++
}

// ipEnd returns the end of the IP packet of header j by its length field, within
// the captured data.
func (rw *rewriter) ipEnd(data []byte, j int) int {
	h := &rw.p.Headers[j]
	o := h.Off
	n := len(data)
	switch h.Kind {
	case packet.IPv4:
		if o+4 <= n {
			if t := int(binary.BigEndian.Uint16(data[o+2:])); t != 0 {
				return min(o+t, n)
			}
		}
	case packet.IPv6:
		if o+6 <= n {
			if pl := int(binary.BigEndian.Uint16(data[o+4:])); pl != 0 {
				return min(o+40+pl, n)
			}
		}
	}
	return n
}

// pseudoFields returns the offsets of the source and destination address fields
// that the pseudo-header of transport header i, carried by IP header ip, uses. For
// IPv6 those are the home address of a destination option when there is one, and
// the final destination of a routing header with segments left (RFC 8200 8.1).
func (rw *rewriter) pseudoFields(data []byte, ip, i int) (src, dst int) {
	p := &rw.p
	h := &p.Headers[ip]
	if h.Kind == packet.IPv4 {
		return h.Off + 12, h.Off + 16
	}
	src, dst = h.Off+8, h.Off+24
	for j := ip + 1; j < i; j++ {
		e := &p.Headers[j]
		switch e.Kind {
		case packet.IPv6DestOpts:
			for _, a := range p.HeaderAddrs(j) {
				if a.Type == packet.AddrIPv6 && a.Len == 16 {
					src = a.Off
				}
			}
		case packet.IPv6Routing:
			if e.Off+4 > len(data) || data[e.Off+3] == 0 {
				continue
			}
			addrs := p.HeaderAddrs(j)
			if len(addrs) == 0 || addrs[len(addrs)-1].Len != 16 {
				continue
			}
			if data[e.Off+2] == 4 {
				dst = addrs[0].Off // segment routing: Segment List[0] is the last segment
			} else {
				dst = addrs[len(addrs)-1].Off
			}
		}
	}
	return src, dst
}

// change adds the change of the bytes at off, whose sum went from old to new, to the
// scopes that cover them.
func (rw *rewriter) change(off int, old, new uint16) {
	rw.delta(off, fold(uint64(new)+uint64(^old)))
}

// delta adds d, the change of the ones' complement sum of the bytes at off (summed
// as if off were even), to the scopes that cover them.
func (rw *rewriter) delta(off int, d uint16) {
	if d == 0 || d == 0xffff {
		return
	}
	for i := 0; i < rw.ns; i++ {
		s := &rw.sc[i]
		if off == s.psrc || off == s.pdst {
			s.acc += uint64(d)
		}
		if off >= s.start && off < s.end {
			if (off-s.start)&1 != 0 {
				// Bytes at an odd offset of the covered data are the low bytes of
				// their words: the sum of their change is the byte-swapped one.
				s.acc += uint64(bits.ReverseBytes16(d))
			} else {
				s.acc += uint64(d)
			}
		}
	}
}

// applyScopes writes the updated checksums, innermost first.
func (rw *rewriter) applyScopes(data []byte) {
	for i := rw.ns - 1; i >= 0; i-- {
		s := &rw.sc[i]
		if s.acc == 0 {
			continue
		}
		old := binary.BigEndian.Uint16(data[s.ck:])
		nw := ^fold(uint64(^old) + s.acc)
		if s.udp && nw == 0 {
			nw = 0xffff
		}
		s.acc = 0
		if nw == old {
			continue
		}
		binary.BigEndian.PutUint16(data[s.ck:], nw)
		rw.st.checksums++
		rw.change(s.ck, old, nw)
	}
}
