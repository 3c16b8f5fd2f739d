package label

import (
	"net/netip"
	"strconv"
)

// DNS and mDNS messages (RFC 1035, RFC 6762), over UDP on any port and
// over TCP with the two-byte length prefix (RFC 7766).
//
// A message matches when its header is that of a plausible query or
// response, its first question is a well-formed name of printable labels
// with a known class, and every resource record present parses. Names are
// followed through compression pointers that must point strictly backwards,
// so a walk always ends; a name is at most 255 bytes on the wire.

// Bounds of the DNS parser.
const (
	maxDNSName    = 255 // bytes of a name on the wire (RFC 1035 3.1)
	maxDNSPointer = 32  // compression pointers followed in one name
	maxDNSRecords = 256 // records of one section walked
)

// DNS record types that the evidence renders.
const (
	dnsTypeA     = 1
	dnsTypeNS    = 2
	dnsTypeCNAME = 5
	dnsTypePTR   = 12
	dnsTypeMX    = 15
	dnsTypeTXT   = 16
	dnsTypeAAAA  = 28
	dnsTypeSRV   = 33
	dnsTypeOPT   = 41
)

var rcodeNames = [...]string{
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
}

// dnsName walks the name at off. It returns the offset after the name in
// place (after the first pointer when there is one), yes for a valid
// name, more when msg ends inside it, no when it is malformed.
func dnsName(msg []byte, off int) (end int, v verdict) {
	end = -1
	wire, jumps := 0, 0
	start := off // the name continues only at offsets before start
	for {
		if off >= len(msg) {
			return end, more
		}
		l := int(msg[off])
		switch l >> 6 {
		case 0:
			if l == 0 {
				if end < 0 {
					end = off + 1
				}
				return end, yes
			}
			if wire += l + 1; wire > maxDNSName {
				return end, no
			}
			if off+1+l > len(msg) {
				return end, more
			}
			for _, c := range msg[off+1 : off+1+l] {
				if c <= 0x20 || c >= 0x7f {
					return end, no
				}
			}
			off += 1 + l
		case 3:
			if off+1 >= len(msg) {
				return end, more
			}
			ptr := (l&0x3f)<<8 | int(msg[off+1])
			if end < 0 {
				end = off + 2
			}
			if ptr < 12 || ptr >= start || jumps >= maxDNSPointer {
				return end, no
			}
			jumps++
			off, start = ptr, ptr
		default:
			return end, no // 0x40 and 0x80 label types are obsolete
		}
	}
}

// appendDNSName appends the text of the valid name at off, lower case,
// without the trailing dot ("." for the root).
func appendDNSName(dst, msg []byte, off int) []byte {
	n := len(dst)
	for jumps := 0; off < len(msg) && jumps <= maxDNSPointer; {
		l := int(msg[off])
		switch {
		case l == 0:
			if len(dst) == n {
				dst = append(dst, '.')
			}
			return dst
		case l>>6 == 3:
			if off+1 >= len(msg) {
				return dst
			}
			off = (l&0x3f)<<8 | int(msg[off+1])
			jumps++
			continue
		}
		if off+1+l > len(msg) {
			return dst
		}
		if len(dst) > n {
			dst = append(dst, '.')
		}
		for _, c := range msg[off+1 : off+1+l] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		off += 1 + l
	}
	return dst
}

// dnsNameText returns the text of the valid name at off.
func dnsNameText(msg []byte, off int) string {
	var buf [maxDNSName + 1]byte
	return clean(appendDNSName(buf[:0], msg, off))
}

// netbiosName reports whether the name at off starts with a 32-byte label
// of the letters A to P: a NetBIOS name, as NBNS sends in DNS format.
func netbiosName(msg []byte, off int) bool {
	if off+33 > len(msg) || msg[off] != 32 {
		return false
	}
	for _, c := range msg[off+1 : off+33] {
		if c < 'A' || c > 'P' {
			return false
		}
	}
	return true
}

// dnsClassOK reports whether class is one that questions carry: IN, CH,
// HS, NONE or ANY; mDNS uses the top bit for unicast-response or
// cache-flush.
func dnsClassOK(class uint16, mdns bool) bool {
	if mdns {
		class &= 0x7fff
	}
	switch class {
	case 1, 3, 4, 254, 255:
		return true
	}
	return false
}

// dnsMessage parses a DNS message. cut says that msg may end before the
// message does (a TCP prefix, a truncated capture); final says that no
// more bytes will come. Unless final, it returns more when msg is cut
// before the first question or, in a response, before the first answer.
// On a match it labels the flow (DNS, or MDNS when mdns is set) and takes
// the evidence.
func (s *State) dnsMessage(msg []byte, cut, final, mdns bool) verdict {
	if len(msg) < 12 {
		if cut {
			return more
		}
		return no
	}
	flags := be16(msg[2:])
	qd, an, ns, ar := be16(msg[4:]), be16(msg[6:]), be16(msg[8:]), be16(msg[10:])
	response := flags&0x8000 != 0
	opcode := flags >> 11 & 0xf
	rcode := flags & 0xf
	if flags&0x0040 != 0 || (opcode != 0 && opcode != 1 && opcode != 2 && opcode != 4 && opcode != 5) {
		return no
	}
	switch {
	case mdns:
		if qd > 64 || an > 64 || ns > 64 || ar > 64 || qd+an == 0 {
			return no
		}
	case !response:
		if qd != 1 || rcode != 0 || an > 1 && opcode != 5 || ns > 64 || ar > 8 {
			return no
		}
	default:
		if qd != 1 || an > maxDNSRecords || ns > maxDNSRecords || ar > maxDNSRecords {
			return no
		}
	}
	off := 12
	qname := -1
	for i := 0; i < int(qd); i++ {
		end, v := dnsName(msg, off)
		if v == no || v == more && !cut {
			return no
		}
		if v == more || end+4 > len(msg) {
			if i == 0 {
				if final {
					return no
				}
				return more
			}
			break
		}
		if i == 0 {
			if netbiosName(msg, off) {
				return no
			}
			qname = off
		}
		if be16(msg[end:]) == 0 || !dnsClassOK(be16(msg[end+2:]), mdns) {
			return no
		}
		off = end + 4
	}
	// Every record present must parse; the first answer is the evidence.
	answer := -1
	for i := 0; i < int(an)+int(ns)+int(ar) && off < len(msg); i++ {
		end, v := dnsName(msg, off)
		if v == no {
			return no
		}
		if v == more || end+10 > len(msg) {
			break
		}
		typ, class := be16(msg[end:]), be16(msg[end+2:])
		if typ == 0 || typ != dnsTypeOPT && !dnsClassOK(class, mdns) {
			return no
		}
		rdlen := int(be16(msg[end+8:]))
		if end+10+rdlen > len(msg) {
			break
		}
		if i < int(an) && answer < 0 {
			answer = off
		}
		off = end + 10 + rdlen
	}
	if response && answer < 0 && an > 0 && !final {
		return more // the first answer is still to come
	}

	p := DNS
	if mdns {
		p = MDNS
	}
	if s.proto != Unknown && s.proto != p {
		return no
	}
	s.label(p)
	ev := s.evidence()
	if qname >= 0 && ev.DNSQuery == "" {
		ev.DNSQuery = dnsNameText(msg, qname)
	}
	if response && s.flags&fB == 0 {
		s.flags |= fB
		if int(rcode) < len(rcodeNames) {
			ev.DNSRcode = rcodeNames[rcode]
		} else {
			ev.DNSRcode = "RCODE" + strconv.Itoa(int(rcode))
		}
		if answer >= 0 {
			ev.DNSAnswer = dnsRecordText(msg, answer)
		}
	} else if !response {
		s.flags |= fA
	}
	return yes
}

// dnsRecordText renders the data of the record at off, which parsed.
func dnsRecordText(msg []byte, off int) string {
	end, _ := dnsName(msg, off)
	typ := be16(msg[end:])
	rd := msg[end+10 : end+10+int(be16(msg[end+8:]))]
	data := end + 10
	switch typ {
	case dnsTypeA:
		if len(rd) == 4 {
			return netip.AddrFrom4([4]byte(rd)).String()
		}
	case dnsTypeAAAA:
		if len(rd) == 16 {
			return netip.AddrFrom16([16]byte(rd)).String()
		}
	case dnsTypeCNAME, dnsTypeNS, dnsTypePTR:
		if _, v := dnsName(msg[:data+len(rd)], data); v == yes {
			return dnsNameText(msg, data)
		}
	case dnsTypeMX:
		if len(rd) > 2 {
			if _, v := dnsName(msg[:data+len(rd)], data+2); v == yes {
				return dnsNameText(msg, data+2)
			}
		}
	case dnsTypeSRV:
		if len(rd) > 6 {
			if _, v := dnsName(msg[:data+len(rd)], data+6); v == yes {
				return dnsNameText(msg, data+6)
			}
		}
	case dnsTypeTXT:
		if len(rd) > 0 && int(rd[0]) < len(rd) {
			return clean(rd[1 : 1+int(rd[0])])
		}
	}
	return "TYPE" + strconv.Itoa(int(typ))
}

// dnsUDP inspects a UDP datagram for a DNS or mDNS message.
func (s *State) dnsUDP(sp, dp uint16, b []byte) verdict {
	if len(b) < 17 || b[4] != 0 || b[2]&0x78 > 0x28 {
		return no // fewer bytes than a header and a root question, or qdcount > 255, or a bad opcode
	}
	if sp == 137 || dp == 137 || sp == 138 || dp == 138 {
		return no // NetBIOS name and datagram services use DNS's format
	}
	mdns := sp == 5353 || dp == 5353
	if !mdns && b[5] != 1 {
		return no
	}
	v := s.dnsMessage(b, true, true, mdns)
	if v == yes && (s.flags&fB != 0 || mdns) {
		s.done()
	}
	return v
}

// dnsTCP inspects the start of a TCP direction for a DNS message with its
// length prefix. It returns more while the message is incomplete and the
// evidence it may hold is not yet taken.
func (s *State) dnsTCP(b []byte, final bool) verdict {
	if len(b) < 2 {
		if final {
			return no
		}
		return more
	}
	n := int(be16(b))
	if n < 12 {
		return no
	}
	msg := b[2:]
	cut := len(msg) < n
	if !cut {
		msg = msg[:n]
	}
	if len(msg) < 12 {
		if final {
			return no
		}
		return more
	}
	if msg[4] != 0 || msg[5] != 1 {
		return no // a DNS message over TCP asks one question
	}
	v := s.dnsMessage(msg, cut, final, false)
	if v == yes && s.flags&fB != 0 {
		s.done()
	}
	return v
}
