package label

import (
	"bytes"
	"strconv"
)

// Binary protocols recognised by their structure: NTP, DHCP and DHCPv6,
// STUN, NetFlow and IPFIX, SOME/IP, RTP and BitTorrent. Each check starts
// with the fields that random bytes fail most often, and lengths must
// agree exactly with the datagram where the protocol defines them.

// NTP (RFC 5905 and earlier). On port 123 a version 1 to 4 header with a
// sane mode, stratum, poll and precision matches, and so do mode 6 and 7
// control messages; elsewhere only a 48-byte client or server packet
// whose timestamps fall in the current NTP era matches.
func (s *State) ntp(sp, dp uint16, b []byte) verdict {
	if len(b) < 12 {
		return no
	}
	vn, mode := b[0]>>3&7, b[0]&7
	if vn < 1 || vn > 4 || mode == 0 {
		return no
	}
	port := sp == 123 || dp == 123
	switch {
	case mode == 6 || mode == 7:
		// ntpq and ntpdc control messages: only on the NTP port.
		if !port || mode == 6 && 12+int(be16(b[10:])) > len(b) {
			return no
		}
	case len(b) < 48:
		return no
	default:
		stratum, poll, prec := b[1], int8(b[2]), int8(b[3])
		if stratum > 16 || poll < -6 || poll > 17 || prec < -32 || prec > 0 {
			return no
		}
		if !port && !ntpLoose(b, mode) {
			return no
		}
	}
	s.label(NTP)
	ev := s.evidence()
	setString(&ev.Version, strconv.Itoa(int(vn)))
	setString(&ev.Detail, ntpModes[mode])
	s.done()
	return yes
}

var ntpModes = [8]string{"reserved", "symmetric active", "symmetric passive", "client", "server", "broadcast", "control", "private"}

// ntpLoose checks an NTP packet seen off port 123: exactly 48 bytes,
// version 3 or 4, a client or server, and a transmit timestamp (and for a
// server the receive timestamp) between 2002 and 2044.
func ntpLoose(b []byte, mode byte) bool {
	vn := b[0] >> 3 & 7
	if len(b) != 48 || vn < 3 || mode != 3 && mode != 4 {
		return false
	}
	era := func(sec uint32) bool { return sec >= 0xc0000000 || sec < 0x10000000 && sec != 0 }
	if !era(be32(b[40:])) {
		return false
	}
	return mode == 3 || b[1] >= 1 && b[1] <= 15 && era(be32(b[32:]))
}

// DHCP message types (option 53) and DHCPv6 message types.
var (
	dhcpTypes   = [...]string{"", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM"}
	dhcpv6Types = [...]string{"", "SOLICIT", "ADVERTISE", "REQUEST", "CONFIRM", "RENEW", "REBIND", "REPLY",
		"RELEASE", "DECLINE", "RECONFIGURE", "INFORMATION-REQUEST", "RELAY-FORW", "RELAY-REPL"}
)

// dhcp checks a BOOTP message with the DHCP magic cookie (RFC 2131) on
// any port, or a DHCPv6 message (RFC 8415) on ports 546 and 547.
func (s *State) dhcp(sp, dp uint16, b []byte) verdict {
	if len(b) >= 240 && (b[0] == 1 || b[0] == 2) && b[2] <= 16 && b[3] <= 16 &&
		string(b[236:240]) == "\x63\x82\x53\x63" {
		s.label(DHCP)
		detail := ""
		// Options: code, length, value; 0 pads and 255 ends.
		for o := 240; o < len(b) && b[o] != 255; {
			if b[o] == 0 {
				o++
				continue
			}
			if o+2 > len(b) || o+2+int(b[o+1]) > len(b) {
				break
			}
			if b[o] == 53 && b[o+1] == 1 && int(b[o+2]) < len(dhcpTypes) {
				detail = dhcpTypes[b[o+2]]
				break
			}
			o += 2 + int(b[o+1])
		}
		if detail != "" {
			setString(&s.evidence().Detail, detail)
		}
		s.done()
		return yes
	}
	if (sp == 546 || sp == 547 || dp == 546 || dp == 547) && len(b) >= 4 && b[0] >= 1 && int(b[0]) < len(dhcpv6Types) {
		start := 4
		if b[0] >= 12 { // relay messages: hop count and two addresses
			start = 34
		}
		if !tlvExact(b, start) {
			return no
		}
		s.label(DHCP)
		setString(&s.evidence().Detail, dhcpv6Types[b[0]])
		s.done()
		return yes
	}
	return no
}

// tlvExact reports whether b from off is a sequence of (16-bit type,
// 16-bit length, value) options that ends exactly at the end of b.
func tlvExact(b []byte, off int) bool {
	if off > len(b) {
		return false
	}
	for n := 0; off < len(b); n++ {
		if off+4 > len(b) || n > 256 {
			return false
		}
		off += 4 + int(be16(b[off+2:]))
	}
	return off == len(b)
}

// STUN methods and classes for the evidence.
var (
	stunMethods = map[uint16]string{1: "Binding", 3: "Allocate", 4: "Refresh", 6: "Send", 7: "Data", 8: "CreatePermission", 9: "ChannelBind"}
	stunClasses = [4]string{"Request", "Indication", "Success Response", "Error Response"}
)

// stun checks a STUN message: zero top bits, a length that is a multiple
// of four and equals the datagram's, and either the RFC 5389 magic
// cookie or (classic RFC 3489 STUN) a Binding message; the attributes
// must fill the message exactly.
func (s *State) stun(b []byte) verdict {
	if len(b) < 20 || b[0]&0xc0 != 0 || b[3]&3 != 0 || int(be16(b[2:]))+20 != len(b) {
		return no
	}
	typ := be16(b)
	if be32(b[4:]) != 0x2112a442 && typ != 0x0001 && typ != 0x0101 && typ != 0x0111 {
		return no
	}
	for off := 20; off < len(b); {
		if off+4 > len(b) {
			return no
		}
		off += 4 + (int(be16(b[off+2:]))+3)&^3
		if off > len(b) {
			return no
		}
	}
	s.label(STUN)
	method := typ&0x000f | typ>>1&0x0070 | typ>>2&0x0f80
	class := typ>>4&1 | typ>>7&2
	name := stunMethods[method]
	if name == "" {
		name = "Method 0x" + hex16(method)
	}
	setString(&s.evidence().Detail, name+" "+stunClasses[class])
	return yes
}

// netflow checks NetFlow v1, v5, v7 and v9 export packets and IPFIX
// messages. v1, v5 and v7 have fixed record sizes and a record count
// that must match the length exactly; v9 flowsets and IPFIX sets must
// tile the packet (or the message) exactly, with valid set IDs.
func (s *State) netflow(b []byte) verdict {
	if len(b) < 16 || b[0] != 0 {
		return no
	}
	var p Protocol
	switch ver, count := b[1], int(be16(b[2:])); ver {
	case 1, 5, 7:
		hdr, rec := 16, 48
		if ver == 5 {
			hdr = 24
		} else if ver == 7 {
			hdr, rec = 24, 52
		}
		if count == 0 || count > 30 || len(b) != hdr+count*rec {
			return no
		}
		p = NetFlow
	case 9:
		if len(b) < 24 || !setsExact(b[20:], 0, 1) {
			return no
		}
		p = NetFlow
	case 10:
		if count != len(b) || !setsExact(b[16:], 2, 3) {
			return no
		}
		p = IPFIX
	default:
		return no
	}
	s.label(p)
	setString(&s.evidence().Version, strconv.Itoa(int(b[1])))
	s.done()
	return yes
}

// setsExact reports whether b is a sequence of NetFlow v9 flowsets or
// IPFIX sets (16-bit ID, 16-bit length including the header) that ends
// exactly at the end of b; IDs are the two template IDs given or data
// set IDs (256 and up). NetFlow v9 allows up to three bytes of padding at
// the end, which the last set's length includes.
func setsExact(b []byte, tmpl, opts uint16) bool {
	if len(b) < 4 {
		return false
	}
	for off, n := 0, 0; off < len(b); n++ {
		if off+4 > len(b) || n > 64 {
			return false
		}
		id, l := be16(b[off:]), int(be16(b[off+2:]))
		if l < 4 || id != tmpl && id != opts && id < 256 {
			return false
		}
		off += l
		if off > len(b) {
			return false
		}
	}
	return true
}

// ipfixTCP checks the start of a TCP direction for an IPFIX message
// (RFC 7011 over TCP): version 10 and sets that tile the message.
func (s *State) ipfixTCP(b []byte) verdict {
	if len(b) < 16 || b[0] != 0 || b[1] != 10 {
		return no
	}
	n := int(be16(b[2:]))
	if n < 20 || n > len(b) || !setsExact(b[16:n], 2, 3) {
		return no
	}
	s.label(IPFIX)
	setString(&s.evidence().Version, "10")
	s.done()
	return yes
}

// someIP checks a SOME/IP message: a length that covers the rest of the
// message exactly (UDP: the messages tile the datagram), protocol version
// 1, a defined message type and return code.
func (s *State) someIP(b []byte, udp bool) verdict {
	if len(b) < 16 || b[12] != 1 {
		return no
	}
	for off, n := 0, 0; off < len(b); n++ {
		if off+16 > len(b) || n > 16 || b[off+12] != 1 || b[off+15] > 0x5e {
			return no
		}
		switch b[off+14] &^ 0x20 { // 0x20 marks a SOME/IP-TP segment
		case 0x00, 0x01, 0x02, 0x40, 0x41, 0x42, 0x80, 0x81, 0xc0, 0xc1:
		default:
			return no
		}
		l := be32(b[off+4:])
		if l < 8 || l > uint32(len(b)-off-8) {
			if !udp && off > 0 {
				break // TCP: a later message may continue in the next segment
			}
			return no
		}
		off += 8 + int(l)
	}
	s.label(SOMEIP)
	if service, method := be16(b), be16(b[2:]); service == 0xffff && method == 0x8100 {
		setString(&s.evidence().Detail, "SD")
	} else {
		setString(&s.evidence().Detail, "service 0x"+hex16(service)+" method 0x"+hex16(method))
	}
	s.done()
	return yes
}

// rtpHeader checks an RTP header (RFC 3550): version 2, a payload type
// that is not one of RTCP's, and CSRC list, extension and padding that
// fit the packet.
func rtpHeader(b []byte) (ssrc uint32, seq uint16, pt uint8, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, 0, 0, false
	}
	pt = b[1] & 0x7f
	if pt >= 72 && pt <= 76 {
		return 0, 0, 0, false // RTCP SR, RR, SDES, BYE, APP share the first bytes
	}
	hdr := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if hdr+4 > len(b) {
			return 0, 0, 0, false
		}
		hdr += 4 + 4*int(be16(b[hdr+2:]))
	}
	if hdr > len(b) {
		return 0, 0, 0, false
	}
	if b[0]&0x20 != 0 {
		pad := int(b[len(b)-1])
		if pad == 0 || hdr+pad > len(b) {
			return 0, 0, 0, false
		}
	}
	return be32(b[8:]), be16(b[2:]), pt, true
}

// rtp takes an RTP-shaped packet of direction d. One packet makes a
// candidate; a second one of the same direction with the same SSRC and a
// sequence number at most 16 ahead confirms RTP. Each direction has its
// own 32 bits of State.aux: the SSRC folded to 16 bits and the sequence
// number (the two directions of a call interleave).
func (s *State) rtp(d int, b []byte) verdict {
	ssrc, seq, pt, ok := rtpHeader(b)
	if !ok {
		return no
	}
	if s.cand != candNone && s.cand != candRTP {
		return no
	}
	shift := 32 * uint(d)
	fold := uint16(ssrc>>16) ^ uint16(ssrc)
	memo := uint32(s.aux >> shift)
	if s.cand == candRTP && memo != 0 && uint16(memo>>16) == fold {
		if delta := seq - uint16(memo); delta >= 1 && delta <= 16 {
			s.proto = RTP // also replaces STUN when media follows it
			s.cand, s.aux = candNone, 0
			s.evidence().Detail = "PT " + strconv.Itoa(int(pt))
			s.done()
			return yes
		}
	}
	memo = uint32(fold)<<16 | uint32(seq)
	if memo == 0 {
		memo = 1 // zero marks an empty slot
	}
	s.cand = candRTP
	s.aux = s.aux&^(0xffffffff<<shift) | uint64(memo)<<shift
	return no
}

// rtpTCP checks the start of a TCP direction for RTP framed as RFC 4571
// says: a 16-bit length, then the RTP packet.
func (s *State) rtpTCP(d int, b []byte) verdict {
	if len(b) < 14 || b[2]>>6 != 2 {
		return no
	}
	n := int(be16(b))
	if n < 12 || n > len(b)-2 {
		return no
	}
	return s.rtp(d, b[2:2+n])
}

// btProtocol is the start of the BitTorrent peer wire handshake.
const btProtocol = "\x13BitTorrent protocol"

// btHandshake checks the start of a TCP direction for the BitTorrent
// handshake.
func (s *State) btHandshake(b []byte) verdict {
	if len(b) < len(btProtocol) {
		if prefixOf(b, btProtocol) {
			return more
		}
		return no
	}
	if string(b[:len(btProtocol)]) != btProtocol {
		return no
	}
	s.label(BitTorrent)
	setString(&s.evidence().Detail, "handshake")
	s.done()
	return yes
}

// btDHT checks a datagram for a BitTorrent DHT message (BEP 5): a
// bencoded dictionary with a query, response or error type.
func (s *State) btDHT(b []byte) verdict {
	if len(b) < 12 || b[0] != 'd' || b[len(b)-1] != 'e' {
		return no
	}
	if !bytes.HasPrefix(b, []byte("d1:ad2:id20:")) && !bytes.HasPrefix(b, []byte("d1:rd2:id20:")) &&
		!bytes.Contains(b, []byte("1:y1:q")) && !bytes.Contains(b, []byte("1:y1:r")) && !bytes.Contains(b, []byte("1:y1:e")) {
		return no
	}
	s.label(BitTorrent)
	setString(&s.evidence().Detail, "DHT")
	s.done()
	return yes
}

// uTP packet types (BEP 29).
const (
	utpData  = 0
	utpState = 2
	utpSyn   = 4
)

// utpHeader checks a uTP header: version 1, a type up to ST_SYN and an
// extension chain that fits; it returns where the payload starts.
func utpHeader(b []byte) (typ uint8, conn, seq, ack uint16, payload int, ok bool) {
	if len(b) < 20 || b[0]&0x0f != 1 || b[0]>>4 > utpSyn {
		return 0, 0, 0, 0, 0, false
	}
	off := 20
	for ext, n := b[1], 0; ext != 0; n++ {
		if ext > 4 || n > 4 || off+2 > len(b) {
			return 0, 0, 0, 0, 0, false
		}
		ext = b[off]
		off += 2 + int(b[off+1])
		if off > len(b) {
			return 0, 0, 0, 0, 0, false
		}
	}
	return b[0] >> 4, be16(b[2:]), be16(b[16:]), be16(b[18:]), off, true
}

// utp takes a uTP-shaped datagram of direction d. A data packet that
// carries the BitTorrent handshake or a bencoded message matches at once;
// otherwise a SYN makes a candidate that the other side's STATE packet
// confirms when it acknowledges the SYN on the same connection ID.
func (s *State) utp(d int, b []byte) verdict {
	typ, conn, seq, ack, off, ok := utpHeader(b)
	if !ok {
		return no
	}
	body := b[off:]
	if typ == utpData && (bytes.HasPrefix(body, []byte(btProtocol)) || len(body) > 4 && body[0] == 'd' &&
		'1' <= body[1] && body[1] <= '9' && bytes.IndexByte(body[:min(len(body), 8)], ':') > 0) {
		s.label(BitTorrent)
		setString(&s.evidence().Detail, "uTP")
		s.done()
		return yes
	}
	switch {
	case typ == utpSyn && len(b) == off && (s.cand == candNone || s.cand == candUTP):
		s.cand = candUTP
		s.aux = uint64(conn)<<32 | uint64(seq)<<16 | uint64(d)
	case typ == utpState && s.cand == candUTP && int(s.aux&1) != d &&
		uint16(s.aux>>32) == conn && uint16(s.aux>>16) == ack:
		s.label(BitTorrent)
		setString(&s.evidence().Detail, "uTP")
		s.done()
		return yes
	}
	return no
}
