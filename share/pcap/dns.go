package pcap

// DNS messages are parsed strictly before anything in them is written: every length
// is checked against the message, every name is at most 255 bytes and 127 labels,
// and a compression pointer must point before the start of the run of labels it
// ends, so that a name is read in at most as many jumps as the message has bytes
// and a pointer loop is impossible. A pointer must also point to the start of a
// label (or the end of a name) read before, as a compressor writes them: a pointer
// into the middle of a label would read its text, which may be rewritten, as
// lengths. A message that breaks any rule, or whose address
// data cannot be rewritten (address record types this package does not rewrite, a
// reverse name whose pseudonym does not fit its labels), is cut whole.

const (
	maxNameLen    = 255 // RFC 1035 2.3.4, on the wire
	maxNameLabels = 128
)

// DNS record types whose data holds addresses or names.
const (
	typeA        = 1
	typeNS       = 2
	typeMD       = 3
	typeMF       = 4
	typeCNAME    = 5
	typeSOA      = 6
	typeMB       = 7
	typeMG       = 8
	typeMR       = 9
	typeWKS      = 11
	typePTR      = 12
	typeMINFO    = 14
	typeMX       = 15
	typeRP       = 17
	typeAFSDB    = 18
	typeRT       = 21
	typePX       = 26
	typeAAAA     = 28
	typeSRV      = 33
	typeNAPTR    = 35
	typeKX       = 36
	typeA6       = 38
	typeDNAME    = 39
	typeOPT      = 41
	typeAPL      = 42
	typeIPSECKEY = 45
	typeSVCB     = 64
	typeHTTPS    = 65
	typeL32      = 105
	typeAMTRELAY = 260

	ednsClientSubnet = 8
	svcIPv4Hint      = 4
	svcIPv6Hint      = 6
)

// dnsParser holds the state of parsing one message.
type dnsParser struct {
	msg  []byte
	base int // offset of msg in the packet, added to every field
	m    *mapper
	fl   *fieldList
	// labels holds the offsets (in msg) of the length bytes of the labels of the
	// name read last, first label first.
	labels [maxNameLabels]int
	nl     int
	// starts marks the offsets of the label length bytes and name ends read so
	// far, the only places a pointer may point to.
	starts [1 << 13]byte
}

func (d *dnsParser) mark(pos int) { d.starts[pos>>3] |= 1 << (pos & 7) }

func (d *dnsParser) marked(pos int) bool { return d.starts[pos>>3]&(1<<(pos&7)) != 0 }

// parseDNS parses the DNS message msg, found at offset base of the packet, and
// collects its address fields in fl: A, AAAA, WKS, IPSECKEY gateways, SVCB/HTTPS
// address hints, EDNS client subnets, and the labels of reverse names
// (in-addr.arpa, ip6.arpa) wherever a name appears. It returns the length of the
// message; bytes after it are not part of it.
func parseDNS(msg []byte, base int, m *mapper, fl *fieldList) (int, bool) {
	d := dnsParser{msg: msg, base: base, m: m, fl: fl}
	return d.message()
}

// parseDNSStream parses DNS messages on TCP, each preceded by its 16-bit length, and
// returns the end of the last whole message that parsed; ok is false when the first
// one did not.
func parseDNSStream(b []byte, base int, m *mapper, fl *fieldList) (int, bool) {
	off := 0
	for off+2 <= len(b) {
		l := be16(b, off)
		if off+2+l > len(b) {
			break
		}
		n0 := fl.n
		d := dnsParser{msg: b[off+2 : off+2+l], base: base + off + 2, m: m, fl: fl}
		if n, ok := d.message(); !ok || n != l {
			fl.n = n0
			break
		}
		off += 2 + l
	}
	return off, off > 0
}

func (d *dnsParser) message() (int, bool) {
	b := d.msg
	if len(b) < 12 || len(b) > 8*len(d.starts) {
		return 0, false
	}
	qd, an, ns, ar := be16(b, 4), be16(b, 6), be16(b, 8), be16(b, 10)
	off := 12
	// Each question takes at least 5 bytes and each record 11, so the loops end
	// within the message whatever the counts say.
	for range qd {
		next, ok := d.name(off, len(b))
		if !ok || next+4 > len(b) {
			return 0, false
		}
		off = next + 4
	}
	for range an + ns + ar {
		next, ok := d.name(off, len(b))
		if !ok || next+10 > len(b) {
			return 0, false
		}
		typ, rdl := be16(b, next), be16(b, next+8)
		start := next + 10
		if start+rdl > len(b) || !d.rdata(typ, start, start+rdl) {
			return 0, false
		}
		off = start + rdl
	}
	return off, true
}

// name reads the name at off, whose inline part must end by lim, records its labels
// and rewrites a reverse name. It returns the offset after the inline part.
func (d *dnsParser) name(off, lim int) (int, bool) {
	b := d.msg
	d.nl = 0
	next := -1
	run := off // start of the current run of labels
	total := 0
	pos := off
	for {
		if pos >= lim {
			return 0, false
		}
		c := int(b[pos])
		switch c & 0xc0 {
		case 0x00:
			d.mark(pos)
			total += 1 + c
			if total > maxNameLen {
				return 0, false
			}
			if c == 0 {
				if next < 0 {
					next = pos + 1
				}
				return next, d.reverse()
			}
			if pos+1+c > lim || d.nl == maxNameLabels {
				return 0, false
			}
			d.labels[d.nl] = pos
			d.nl++
			pos += 1 + c
		case 0xc0:
			if pos+2 > lim {
				return 0, false
			}
			target := (c&0x3f)<<8 | int(b[pos+1])
			if target >= run || !d.marked(target) {
				return 0, false // forward, self, loop, or not at a label
			}
			if next < 0 {
				next = pos + 2
			}
			run, pos, lim = target, target, len(b)
		default:
			return 0, false // extended (0x40) and reserved (0x80) label types
		}
	}
}

// label returns the text of label i of the name read last.
func (d *dnsParser) label(i int) []byte {
	o := d.labels[i]
	return d.msg[o+1 : o+1+int(d.msg[o])]
}

// reverse rewrites the address labels of a reverse name (d.labels). It reports
// false when the name cannot be rewritten safely.
func (d *dnsParser) reverse() bool {
	if d.nl < 3 || !asciiEqualFold(d.label(d.nl-1), "arpa") {
		return true
	}
	switch {
	case asciiEqualFold(d.label(d.nl-2), "in-addr"):
		return d.reverse4()
	case asciiEqualFold(d.label(d.nl-2), "ip6"):
		return d.reverse6()
	}
	return true
}

// reverse4 handles d.c.b.a.in-addr.arpa and its shorter zone forms. Each octet is
// written in the length of its label, with leading zeros, so that the message keeps
// its length; a pseudonym octet that needs more digits than its label has cannot be
// written, and the name is refused.
func (d *dnsParser) reverse4() bool {
	var addr uint32
	k := 0
	for ; k < 4 && d.nl-3-k >= 0; k++ {
		v, ok := decimalOctet(d.label(d.nl - 3 - k))
		if !ok {
			break
		}
		addr |= uint32(v) << (24 - 8*k)
	}
	if k == 0 {
		return true
	}
	if i := d.nl - 3 - k; i >= 0 {
		l := d.label(i)
		if _, ok := decimalOctet(l); ok && k == 4 || k < 4 && hasDigit(l) {
			return false // more numbers than an address has, or a classless form
		}
	}
	var out uint32
	if k == 4 {
		out = d.m.v4(addr)
	} else {
		out = d.m.v4prefix(addr, 8*k)
	}
	for j := range k {
		o := d.labels[d.nl-3-j]
		n := int(d.msg[o])
		v := byte(out >> (24 - 8*j))
		var t [3]byte
		if !decimalInto(t[:n], v) || !d.text(o+1, n, t) {
			return false
		}
	}
	return true
}

// reverse6 handles the nibble labels of ip6.arpa names, lowercase hexadecimal digits
// as resolvers write them; a name with uppercase nibbles is refused.
func (d *dnsParser) reverse6() bool {
	var a [16]byte
	k := 0
	for ; k < 32 && d.nl-3-k >= 0; k++ {
		l := d.label(d.nl - 3 - k)
		v, ok := lowerNibble(l)
		if !ok {
			break
		}
		a[k/2] |= v << (4 * (1 - k%2))
	}
	if i := d.nl - 3 - k; i >= 0 {
		if l := d.label(i); len(l) == 1 && isHexDigit(l[0]) {
			return false // an uppercase nibble, or more than 32
		}
	}
	if k == 0 {
		return true
	}
	var out [16]byte
	if k == 32 {
		out = d.m.v6(a)
	} else {
		out = d.m.v6prefix(a, 4*k)
	}
	for j := range k {
		o := d.labels[d.nl-3-j]
		v := out[j/2] >> (4 * (1 - j%2)) & 0xf
		if !d.text(o+1, 1, [3]byte{"0123456789abcdef"[v]}) {
			return false
		}
	}
	return true
}

// text records replacement bytes for a label. A label shared by several names (by
// compression) gets the same bytes from each of them, as the first labels of a
// prefix-preserving pseudonym depend only on the labels after them; if they differ
// (cycle walking moved one of the addresses), the message is refused.
func (d *dnsParser) text(off, n int, t [3]byte) bool {
	abs := d.base + off
	for i := 0; i < d.fl.n; i++ {
		if f := &d.fl.f[i]; f.kind == fieldText && f.off == abs {
			return f.n == n && f.text == t
		}
	}
	return d.fl.add(field{off: abs, n: n, kind: fieldText, text: t})
}

// addr records an address field of msg.
func (d *dnsParser) addr(off, n int, k fieldKind) bool {
	return d.fl.add(field{off: d.base + off, n: n, kind: k})
}

// rdata checks the data of a record of type typ in msg[s:e] and records its
// address fields.
func (d *dnsParser) rdata(typ, s, e int) bool {
	b := d.msg
	n := e - s
	switch typ {
	case typeA:
		return n == 4 && d.addr(s, 4, fieldV4)
	case typeAAAA:
		return n == 16 && d.addr(s, 16, fieldV6)
	case typeWKS:
		return n >= 5 && d.addr(s, 4, fieldV4)
	case typeNS, typeMD, typeMF, typeCNAME, typeMB, typeMG, typeMR, typePTR, typeDNAME:
		return d.names(s, e, 1)
	case typeMX, typeAFSDB, typeRT, typeKX:
		return n >= 2 && d.names(s+2, e, 1)
	case typePX:
		return n >= 2 && d.names(s+2, e, 2)
	case typeSRV:
		return n >= 6 && d.names(s+6, e, 1)
	case typeMINFO, typeRP:
		return d.names(s, e, 2)
	case typeSOA:
		o, ok := d.name(s, e)
		if !ok {
			return false
		}
		o, ok = d.name(o, e)
		return ok && o+20 == e
	case typeNAPTR:
		o := s + 4
		for range 3 { // flags, services, regexp: character strings
			if o >= e || o+1+int(b[o]) > e {
				return false
			}
			o += 1 + int(b[o])
		}
		return d.names(o, e, 1)
	case typeOPT:
		return d.opt(s, e)
	case typeIPSECKEY:
		return d.ipseckey(s, e)
	case typeSVCB, typeHTTPS:
		return d.svcb(s, e)
	case typeA6, typeAPL, typeL32, typeAMTRELAY:
		return false // address data this package does not rewrite: fail closed
	}
	return true
}

// names reads cnt names that must fill msg[s:e] exactly.
func (d *dnsParser) names(s, e, cnt int) bool {
	for range cnt {
		o, ok := d.name(s, e)
		if !ok {
			return false
		}
		s = o
	}
	return s == e
}

// opt checks EDNS options and records client subnet addresses (RFC 7871): a
// prefix of the client's address, mapped over the bytes it holds so that its first
// bits are the pseudonym of the prefix.
func (d *dnsParser) opt(s, e int) bool {
	b := d.msg
	return walkTLV16(b, s, e, func(code, v, l int) bool {
		if code == ednsClientSubnet {
			if l < 4 {
				return false
			}
			fam, bits, n := be16(b, v), int(b[v+2]), l-4
			max, k := 0, fieldV4Prefix
			switch fam {
			case 1:
				max = 32
			case 2:
				max, k = 128, fieldV6Prefix
			default:
				return false
			}
			if bits > max || n != (bits+7)/8 {
				return false
			}
			if n > 0 && !d.addr(v+4, n, k) {
				return false
			}
		}
		return true
	})
}

// ipseckey records the gateway of an IPSECKEY record (RFC 4025).
func (d *dnsParser) ipseckey(s, e int) bool {
	if e-s < 3 {
		return false
	}
	g := s + 3
	switch d.msg[s+1] {
	case 0:
		return true
	case 1:
		return g+4 <= e && d.addr(g, 4, fieldV4)
	case 2:
		return g+16 <= e && d.addr(g, 16, fieldV6)
	case 3:
		_, ok := d.name(g, e)
		return ok
	}
	return false
}

// svcb records the ipv4hint and ipv6hint parameters of SVCB and HTTPS records
// (RFC 9460).
func (d *dnsParser) svcb(s, e int) bool {
	b := d.msg
	if e-s < 3 {
		return false
	}
	o, ok := d.name(s+2, e)
	if !ok {
		return false
	}
	for o < e {
		if o+4 > e {
			return false
		}
		key, l := be16(b, o), be16(b, o+2)
		v := o + 4
		if v+l > e {
			return false
		}
		switch key {
		case svcIPv4Hint:
			if l == 0 || l%4 != 0 {
				return false
			}
			for a := v; a < v+l; a += 4 {
				if !d.addr(a, 4, fieldV4) {
					return false
				}
			}
		case svcIPv6Hint:
			if l == 0 || l%16 != 0 {
				return false
			}
			for a := v; a < v+l; a += 16 {
				if !d.addr(a, 16, fieldV6) {
					return false
				}
			}
		}
		o = v + l
	}
	return true
}

// decimalOctet parses a label of 1 to 3 decimal digits with a value up to 255.
func decimalOctet(l []byte) (byte, bool) {
	if len(l) == 0 || len(l) > 3 {
		return 0, false
	}
	v := 0
	for _, c := range l {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return byte(v), v <= 255
}

// decimalInto writes v in decimal into t, padded with leading zeros, and reports
// false when it needs more digits than t has.
func decimalInto(t []byte, v byte) bool {
	x := int(v)
	for i := len(t) - 1; i >= 0; i-- {
		t[i] = byte('0' + x%10)
		x /= 10
	}
	return x == 0
}

func lowerNibble(l []byte) (byte, bool) {
	if len(l) != 1 {
		return 0, false
	}
	switch c := l[0]; {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hasDigit(l []byte) bool {
	for _, c := range l {
		if c >= '0' && c <= '9' {
			return true
		}
	}
	return false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
