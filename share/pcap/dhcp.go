package pcap

// DHCP (RFC 2131, 2132) and DHCPv6 (RFC 8415) messages are parsed like DNS: strictly,
// collecting their address fields before anything is written, and cut whole when any
// length is wrong. Options this package does not know are kept as they are; host
// names, domain names and vendor strings are kept too (they are names, not
// addresses).

// DHCPv4 layout.
const (
	dhcpFixedLen = 236 // op .. file
	dhcpCookie   = 0x63825363
	dhcpSname    = 44
	dhcpFile     = 108
)

// DHCPv4 options whose value is a list of IPv4 addresses (RFC 2132 and later).
var dhcpAddrLists = [256]bool{
	3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true,
	41: true, 42: true, 44: true, 45: true, 48: true, 49: true, 65: true, 68: true,
	69: true, 70: true, 71: true, 72: true, 73: true, 74: true, 75: true, 76: true,
	85: true, 136: true, 138: true, 150: true,
}

// DHCPv4 options whose value is one IPv4 address: swap server, broadcast address,
// router solicitation address, requested address, server identifier, subnet
// selection.
var dhcpAddrSingle = [256]bool{16: true, 28: true, 32: true, 50: true, 54: true, 118: true}

// parseDHCP4 parses a DHCP or BOOTP message at offset base of the packet and collects
// its address fields in fl: ciaddr, yiaddr, siaddr, giaddr, chaddr and the address
// options, including those in the sname and file fields when option 52 overloads
// them. It returns the length kept: through the end option, or the fixed part for
// BOOTP without the DHCP magic cookie (its vendor area is not parsed).
func parseDHCP4(b []byte, base int, fl *fieldList) (int, bool) {
	if len(b) < dhcpFixedLen || b[0] != 1 && b[0] != 2 || b[2] > 16 {
		return 0, false
	}
	for _, o := range [4]int{12, 16, 20, 24} {
		if !fl.add(field{off: base + o, n: 4, kind: fieldV4}) {
			return 0, false
		}
	}
	if hl := int(b[2]); hl > 0 && !fl.add(field{off: base + 28, n: hl, kind: fieldMAC}) {
		return 0, false
	}
	if len(b) < dhcpFixedLen+4 || be16(b, 236)<<16|be16(b, 238) != dhcpCookie {
		return dhcpFixedLen, true
	}
	d := dhcp4Parser{b: b, base: base, fl: fl}
	end, ok := d.options(dhcpFixedLen+4, len(b), true)
	if !ok {
		return 0, false
	}
	if d.overload&1 != 0 {
		if _, ok := d.options(dhcpFile, dhcpFixedLen, false); !ok {
			return 0, false
		}
	}
	if d.overload&2 != 0 {
		if _, ok := d.options(dhcpSname, dhcpFile, false); !ok {
			return 0, false
		}
	}
	return end, true
}

type dhcp4Parser struct {
	b        []byte
	base     int
	fl       *fieldList
	overload byte
}

func (d *dhcp4Parser) add(off, n int, k fieldKind) bool {
	return d.fl.add(field{off: d.base + off, n: n, kind: k})
}

// options walks the options in b[s:e]. The main area must end with the end option
// (needEnd); an overloaded field may also be filled to its end.
func (d *dhcp4Parser) options(s, e int, needEnd bool) (int, bool) {
	b := d.b
	o := s
	for o < e {
		code := b[o]
		switch code {
		case 0: // pad
			o++
			continue
		case 255: // end
			return o + 1, true
		}
		if o+2 > e || o+2+int(b[o+1]) > e {
			return 0, false
		}
		v, l := o+2, int(b[o+1])
		if !d.option(code, v, l) {
			return 0, false
		}
		o = v + l
	}
	return e, !needEnd
}

// option records the address fields of one option whose value is b[v:v+l].
func (d *dhcp4Parser) option(code byte, v, l int) bool {
	b := d.b
	switch {
	case dhcpAddrLists[code]:
		return l > 0 && l%4 == 0 && d.list4(v, l, 4)
	case dhcpAddrSingle[code]:
		return l == 4 && d.add(v, 4, fieldV4)
	}
	switch code {
	case 21: // policy filter: address, mask pairs
		return l > 0 && l%8 == 0 && d.list4(v, l, 8)
	case 33: // static routes: destination, router pairs
		return l > 0 && l%8 == 0 && d.list4(v, l, 4)
	case 52: // option overload
		if l != 1 {
			return false
		}
		d.overload = b[v]
	case 61: // client identifier: hardware type and address, or IAID and DUID
		switch {
		case l >= 2 && b[v] == 255:
			return l >= 5 && duid(b, v+5, v+l, d.base, d.fl)
		case l >= 2 && b[v] != 0:
			return d.add(v+1, l-1, fieldMAC)
		}
	case 82: // relay agent information
		return d.relayAgent(v, v+l)
	case 121, 249: // classless static routes (RFC 3442; 249 is Microsoft's)
		return d.classless(v, v+l)
	}
	return true
}

// list4 records the first address of every stride bytes of b[v:v+l].
func (d *dhcp4Parser) list4(v, l, stride int) bool {
	for a := v; a+4 <= v+l; a += stride {
		if !d.add(a, 4, fieldV4) {
			return false
		}
	}
	return true
}

// classless records the destination prefixes and routers of a classless static
// route option: a prefix length, the significant octets of the destination, the
// router.
func (d *dhcp4Parser) classless(s, e int) bool {
	b := d.b
	for o := s; o < e; {
		w := int(b[o])
		if w > 32 {
			return false
		}
		sig := (w + 7) / 8
		if o+1+sig+4 > e {
			return false
		}
		if sig > 0 && !d.add(o+1, sig, fieldV4Prefix) {
			return false
		}
		if !d.add(o+1+sig, 4, fieldV4) {
			return false
		}
		o += 1 + sig + 4
	}
	return true
}

// relayAgent records the sub-options of option 82 that hold addresses: a remote ID
// of MAC size, link selection and server identifier override.
func (d *dhcp4Parser) relayAgent(s, e int) bool {
	b := d.b
	for o := s; o < e; {
		if o+2 > e || o+2+int(b[o+1]) > e {
			return false
		}
		code, v, l := b[o], o+2, int(b[o+1])
		switch {
		case code == 2 && l == 6:
			if !d.add(v, 6, fieldMAC) {
				return false
			}
		case (code == 5 || code == 11) && l == 4:
			if !d.add(v, 4, fieldV4) {
				return false
			}
		}
		o = v + l
	}
	return true
}

// duid records the link-layer address of a DHCP unique identifier in b[s:e]: the
// DUID-LLT and DUID-LL forms carry one, usually the client's MAC.
func duid(b []byte, s, e, base int, fl *fieldList) bool {
	if e-s < 2 {
		return false
	}
	ll := -1
	switch be16(b, s) {
	case 1: // type, hardware type, time, address
		ll = s + 8
	case 3: // type, hardware type, address
		ll = s + 4
	default:
		return true
	}
	if ll > e {
		return false
	}
	if ll == e {
		return true
	}
	return fl.add(field{off: base + ll, n: e - ll, kind: fieldMAC})
}

// DHCPv6 message types and options.
const (
	dhcp6RelayForw = 12
	dhcp6RelayRepl = 13
	dhcp6MaxDepth  = 8 // nested relay messages (RFC 8415 allows 32 hops; 8 is plenty)
)

// DHCPv6 options whose value is a list of IPv6 addresses: SIP servers, DNS servers,
// NIS and NIS+ servers, SNTP servers, PANA agents, leasequery client links, CAPWAP
// access controllers.
var dhcp6AddrLists = map[int]bool{22: true, 23: true, 27: true, 28: true, 31: true, 40: true, 48: true, 52: true}

// parseDHCP6 parses a DHCPv6 message at offset base of the packet and collects its
// address fields: relay link and peer addresses, DUIDs, IA addresses and prefixes,
// server unicast and server list options, client link-layer addresses; relayed
// messages are parsed to dhcp6MaxDepth levels.
func parseDHCP6(b []byte, base int, fl *fieldList, depth int) (int, bool) {
	if len(b) < 4 {
		return 0, false
	}
	off := 4
	if b[0] == dhcp6RelayForw || b[0] == dhcp6RelayRepl {
		if len(b) < 34 ||
			!fl.add(field{off: base + 2, n: 16, kind: fieldV6}) ||
			!fl.add(field{off: base + 18, n: 16, kind: fieldV6}) {
			return 0, false
		}
		off = 34
	}
	if !options6(b, off, len(b), base, fl, depth) {
		return 0, false
	}
	return len(b), true
}

// options6 walks the DHCPv6 options in b[s:e], which they must fill exactly.
func options6(b []byte, s, e, base int, fl *fieldList, depth int) bool {
	if depth > dhcp6MaxDepth {
		return false
	}
	add := func(off, n int, k fieldKind) bool {
		return fl.add(field{off: base + off, n: n, kind: k})
	}
	return walkTLV16(b, s, e, func(code, v, l int) bool {
		ok := true
		switch {
		case code == 1 || code == 2: // client and server identifiers
			ok = duid(b, v, v+l, base, fl)
		case code == 3 || code == 25: // IA_NA, IA_PD: IAID, T1, T2, options
			ok = l >= 12 && options6(b, v+12, v+l, base, fl, depth+1)
		case code == 4: // IA_TA: IAID, options
			ok = l >= 4 && options6(b, v+4, v+l, base, fl, depth+1)
		case code == 5: // IA address, lifetimes, options
			ok = l >= 24 && add(v, 16, fieldV6) && options6(b, v+24, v+l, base, fl, depth+1)
		case code == 26: // IA prefix: lifetimes, length, prefix, options
			ok = l >= 25 && int(b[v+8]) <= 128 && add(v+9, 16, fieldV6Prefix) &&
				options6(b, v+25, v+l, base, fl, depth+1)
		case code == 12: // server unicast
			ok = l == 16 && add(v, 16, fieldV6)
		case dhcp6AddrLists[code]:
			ok = l > 0 && l%16 == 0
			for a := v; ok && a < v+l; a += 16 {
				ok = add(a, 16, fieldV6)
			}
		case code == 56: // NTP server: sub-options, 1 and 2 are addresses
			ok = ntpServer(b, v, v+l, base, fl)
		case code == 9: // relay message
			_, ok = parseDHCP6(b[v:v+l], base+v, fl, depth+1)
		case code == 37: // remote ID: enterprise number, ID (a MAC when of its size)
			ok = l >= 4 && (l != 10 || add(v+4, 6, fieldMAC))
		case code == 44: // leasequery: type, link address, options
			ok = l >= 17 && add(v+1, 16, fieldV6) && options6(b, v+17, v+l, base, fl, depth+1)
		case code == 45: // client data: options
			ok = options6(b, v, v+l, base, fl, depth+1)
		case code == 47: // relay data: peer address, relayed message
			if ok = l >= 16 && add(v, 16, fieldV6); ok && l > 16 {
				_, ok = parseDHCP6(b[v+16:v+l], base+v+16, fl, depth+1)
			}
		case code == 79: // client link-layer address: hardware type, address
			ok = l >= 2 && (l == 2 || add(v+2, l-2, fieldMAC))
		}
		return ok
	})
}

// ntpServer records the address sub-options of a DHCPv6 NTP server option.
func ntpServer(b []byte, s, e, base int, fl *fieldList) bool {
	return walkTLV16(b, s, e, func(code, v, l int) bool {
		return code != 1 && code != 2 || l == 16 && fl.add(field{off: base + v, n: 16, kind: fieldV6})
	})
}

// walkTLV16 walks options of a 2-byte code and a 2-byte length, as DHCPv6 and
// EDNS encode them, which must fill b[s:e] exactly. It calls fn with each
// option's code, value offset and value length, and returns false when the
// options overrun e or fn returns false.
func walkTLV16(b []byte, s, e int, fn func(code, v, l int) bool) bool {
	for o := s; o < e; {
		if o+4 > e {
			return false
		}
		code, l := be16(b, o), be16(b, o+2)
		v := o + 4
		if v+l > e || !fn(code, v, l) {
			return false
		}
		o = v + l
	}
	return true
}
