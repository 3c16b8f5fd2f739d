package pcap

import (
	"encoding/binary"

	"github.com/flowfed/flowfed/share/packet"
)

// counters are the per-packet figures a rewrite accumulates; Stats reports them.
type counters struct {
	addrs      int64 // address fields changed
	passed     int64 // whole address fields kept by the pass-through list
	cleared    int64 // hardware address fields cleared (too short to map)
	tsZeroed   int64 // TCP timestamp options zeroed
	checksums  int64 // checksum fields updated
	dnsOK      int64 // DNS messages rewritten
	dnsDropped int64 // DNS payloads cut because they could not be parsed safely
	dhcpOK     int64 // DHCP and DHCPv6 messages rewritten
	dhcpDrop   int64 // DHCP and DHCPv6 payloads cut
	cutDamage  int64 // packets cut after the last header understood (not Complete)
	stops      [5]int64
}

// rewriter rewrites the packets of one capture in place. It is not safe for
// concurrent use.
type rewriter struct {
	m           *mapper
	restore     bool
	payload     PayloadMode
	keepTCPOpts bool
	st          counters

	p  packet.Packet
	sc [maxScopes]scope
	ns int
	fl fieldList
}

// Application protocols recognised by port.
const (
	portDNS    = 53
	portMDNS   = 5353
	portLLMNR  = 5355
	portDHCPS  = 67
	portDHCPC  = 68
	portDHCP6C = 546
	portDHCP6S = 547
	portNBNS   = 137
	portNBDGM  = 138
)

// rewrite rewrites one packet of the given link type in place and returns the
// number of its bytes to keep. ok is false for a link type that is not decoded: the
// packet must be dropped.
func (rw *rewriter) rewrite(data []byte, linkType uint32) (keep int, ok bool) {
	p := &rw.p
	if err := packet.Decode(p, data, linkType); err == packet.ErrUnsupportedLinkType {
		return 0, false
	}
	if int(p.Stop) < len(rw.st.stops) {
		rw.st.stops[p.Stop]++
	}
	// The checksums are listed before anything changes; every edit below adds
	// its change to the ones that cover it, and applyScopes writes them last.
	rw.buildScopes(data)
	// The address fields the decoder found, wherever they are: also in bytes that
	// will be cut, which costs little and keeps restore symmetric.
	for i := 0; i < p.NAddr; i++ {
		a := &p.Addrs[i]
		f := field{off: a.Off, n: int(a.Len)}
		switch a.Type {
		case packet.AddrIPv4:
			f.kind = fieldV4
			if f.n != 4 {
				f.kind = fieldV4Prefix
			}
		case packet.AddrIPv6:
			f.kind = fieldV6
			if f.n != 16 {
				f.kind = fieldV6Prefix
			}
		case packet.AddrIPv4XOR:
			f.kind = fieldV4XOR
			if f.n != 4 {
				f.kind = fieldMAC // cleared: too short to map
			}
		default:
			f.kind = fieldMAC
		}
		rw.edit(data, &f)
	}
	// Fields the decoder does not list, then the application message.
	rw.extras(data)
	rw.tcpOptions(data)
	appEnd := -1
	if rw.restore || rw.payload != PayloadDrop {
		appEnd = rw.app(data)
	}
	rw.applyScopes(data)
	if rw.restore {
		return len(data), true // restoring never cuts: the bytes are those written
	}
	return rw.keepLen(data, appEnd), true
}

// edit rewrites one field and records the change for the checksums.
func (rw *rewriter) edit(data []byte, f *field) {
	if f.n <= 0 || f.off < 0 || f.off+f.n > len(data) {
		return
	}
	d := data[f.off : f.off+f.n]
	switch f.kind {
	case fieldV4:
		// The common case, without the generic sums.
		a := binary.BigEndian.Uint32(d)
		o := rw.m.v4(a)
		if o == a {
			rw.st.passed++
			return
		}
		binary.BigEndian.PutUint32(d, o)
		rw.st.addrs++
		rw.delta(f.off, fold(uint64(o>>16)+uint64(o&0xffff)+uint64(^a>>16)+uint64(^a&0xffff)))
		return
	case fieldMAC:
		if f.n != 6 {
			break
		}
		// Two per Ethernet frame: the same shortcut.
		a := macUint([6]byte(d))
		o := rw.m.mac(a)
		if o == a {
			rw.st.passed++
			return
		}
		w := macBytes(o)
		copy(d, w[:])
		rw.st.addrs++
		// The ones' complement of a word x is 0xffff-x: three words of the old
		// value subtracted, three of the new one added.
		rw.delta(f.off, fold(3*0xffff+words48(o)-words48(a)))
		return
	}
	old := sum16(d)
	changed, cleared := rw.m.rewrite(data, f)
	switch {
	case cleared:
		rw.st.cleared++
	case changed:
		rw.st.addrs++
	default:
		rw.st.passed++
	}
	if changed {
		rw.change(f.off, old, sum16(d))
	}
}

// extras rewrites the address fields that the decoder does not list: the gateway
// of a redirect quoted by an ICMP error, and the originator of an IPv4 traceroute
// option (RFC 1393).
func (rw *rewriter) extras(data []byte) {
	p := &rw.p
	for i := 0; i < p.N; i++ {
		h := &p.Headers[i]
		switch {
		case h.Kind == packet.IPv4 && h.Len > 20 && !h.Partial:
			rw.traceroute(data, h.Off+20, min(h.Off+h.Len, len(data)))
		case h.Quoted && h.Kind == packet.ICMPv4 && !h.Partial && h.Off+8 <= len(data) && data[h.Off] == 5:
			rw.edit(data, &field{off: h.Off + 4, n: 4, kind: fieldV4})
		}
	}
}

// traceroute rewrites the originator address of traceroute options among the IPv4
// options in data[o:end].
func (rw *rewriter) traceroute(data []byte, o, end int) {
	for o < end {
		switch data[o] {
		case 0:
			return
		case 1:
			o++
			continue
		}
		if o+2 > end {
			return
		}
		l := int(data[o+1])
		if l < 2 || o+l > end {
			return
		}
		if data[o] == 82 && l == 12 {
			rw.edit(data, &field{off: o + 8, n: 4, kind: fieldV4})
		}
		o += l
	}
}

// tcpOptions handles the TCP options of every TCP header, quoted ones included:
// the addresses an MPTCP ADD_ADDR option advertises are rewritten, and timestamp
// values, whose clock identifies a host across addresses, are zeroed unless they
// are to be kept.
func (rw *rewriter) tcpOptions(data []byte) {
	p := &rw.p
	// TCP headers are the packet's own (L4, decoded only when complete) and quoted
	// ones after Quote; no other header carries TCP.
	if p.L4 >= 0 && p.Headers[p.L4].Kind == packet.TCP {
		rw.tcpHeaderOptions(data, &p.Headers[p.L4])
	}
	if p.Quote < 0 {
		return
	}
	for i := p.Quote; i < p.N; i++ {
		if h := &p.Headers[i]; h.Kind == packet.TCP {
			rw.tcpHeaderOptions(data, h)
		}
	}
}

// tcpHeaderOptions walks the options of one TCP header.
func (rw *rewriter) tcpHeaderOptions(data []byte, h *packet.Header) {
	if h.Partial || h.Len <= 20 {
		return
	}
	end := min(h.Off+h.Len, len(data))
	for o := h.Off + 20; o < end; {
		k := data[o]
		if k == 0 {
			return
		}
		if k == 1 {
			o++
			continue
		}
		if o+2 > end {
			return
		}
		l := int(data[o+1])
		if l < 2 || o+l > end {
			return
		}
		switch {
		case k == 8 && l == 10 && !rw.restore && !rw.keepTCPOpts:
			rw.zeroTS(data, o)
		case k == 30 && l >= 8 && data[o+2]>>4 == 3:
			rw.mptcpAddAddr(data, o, l)
		}
		o += l
	}
}

// mptcpAddAddr rewrites the address of an MPTCP ADD_ADDR option of length l at o
// (RFC 8684 3.4.1, and RFC 6824's version with the IP version in the low nibble):
// kind, length, subtype and flags, address ID, then the address, an optional port
// and, in version 1, an HMAC, which no longer matches (it cannot without the keys).
func (rw *rewriter) mptcpAddAddr(data []byte, o, l int) {
	switch l {
	case 8, 10, 16, 18:
		rw.edit(data, &field{off: o + 4, n: 4, kind: fieldV4})
	case 20, 22, 28, 30:
		rw.edit(data, &field{off: o + 4, n: 16, kind: fieldV6})
	}
}

// zeroTS zeroes the two values of the timestamp option at o.
func (rw *rewriter) zeroTS(data []byte, o int) {
	v := data[o+2 : o+10]
	old := sum16(v)
	if old == 0 {
		return
	}
	clear(v)
	rw.change(o+2, old, 0)
	rw.st.tsZeroed++
}

// app rewrites the DNS, DHCP or DHCPv6 message in the transport payload, when the
// ports name one. It returns -1 when no such message is expected, otherwise the end
// of the bytes to keep: the end of the parsed message, or the start of the payload
// when the message could not be parsed safely (fail closed).
func (rw *rewriter) app(data []byte) int {
	p := &rw.p
	if p.L4 < 0 || p.Payload < 0 || p.Payload > len(data) {
		return -1
	}
	l4 := &p.Headers[p.L4]
	if l4.Quoted || l4.End() != p.Payload {
		return -1 // the payload belongs to a tunnel header, not to the transport
	}
	sp, dp := p.SrcPort, p.DstPort
	pay := p.Payload
	// The message is what was captured of the transport payload; one cut by the
	// capture or spread over fragments does not parse, and is cut whole.
	end := min(len(data), pay+p.PayloadLen)
	msg := data[pay:end]
	rw.fl.n = 0
	var n int
	var ok, dhcp bool
	switch {
	case l4.Kind == packet.UDP && (isDNSPort(sp) || isDNSPort(dp)):
		n, ok = parseDNS(msg, pay, rw.m, &rw.fl)
	case l4.Kind == packet.TCP && (sp == portDNS || dp == portDNS):
		if len(msg) == 0 {
			return pay
		}
		n, ok = parseDNSStream(msg, pay, rw.m, &rw.fl)
	case l4.Kind == packet.UDP && (sp == portDHCPS || sp == portDHCPC) && (dp == portDHCPS || dp == portDHCPC):
		dhcp = true
		n, ok = parseDHCP4(msg, pay, &rw.fl)
	case l4.Kind == packet.UDP && (sp == portDHCP6C || sp == portDHCP6S) && (dp == portDHCP6C || dp == portDHCP6S):
		dhcp = true
		n, ok = parseDHCP6(msg, pay, &rw.fl, 0)
	default:
		return -1
	}
	// Two fields sharing bytes would be mapped twice, which no restore undoes.
	if ok && rw.fl.overlap() {
		ok = false
	}
	if !ok {
		switch {
		case rw.restore:
		case dhcp:
			rw.st.dhcpDrop++
		default:
			rw.st.dnsDropped++
		}
		return pay
	}
	for i := 0; i < rw.fl.n; i++ {
		rw.edit(data, &rw.fl.f[i])
	}
	if dhcp {
		rw.st.dhcpOK++
	} else {
		rw.st.dnsOK++
	}
	return pay + n
}

func isDNSPort(p uint16) bool { return p == portDNS || p == portMDNS || p == portLLMNR }

// keepLen returns how many bytes of the rewritten packet to write: the headers that
// were understood, plus what the payload mode keeps.
func (rw *rewriter) keepLen(data []byte, appEnd int) int {
	p := &rw.p
	end := p.End + rw.partialTail()
	if p.Stop != packet.Complete {
		rw.st.cutDamage++
	}
	if cut := rw.opaque(data); cut >= 0 {
		return cut
	}
	switch rw.payload {
	case PayloadCut:
		if appEnd >= 0 {
			end = max(end, appEnd)
		}
	case PayloadKeep:
		switch {
		case appEnd >= 0:
			end = max(end, appEnd)
		case p.Stop == packet.Complete && p.Payload >= 0 && rw.keepable():
			end = max(end, p.Payload+p.PayloadLen)
		}
	}
	return min(end, len(data))
}

// opaque returns the offset of the first header that holds addresses the decoder
// does not report, or -1: an IPv6 routing header of a type other than 0, 2 and 4
// (such as RPL's, with compressed addresses). The packet is cut before it, as if
// decoding had stopped there.
func (rw *rewriter) opaque(data []byte) int {
	p := &rw.p
	for i := 0; i < p.N; i++ {
		h := &p.Headers[i]
		if h.Kind == packet.IPv6Routing && h.Off+3 <= len(data) {
			if t := data[h.Off+2]; t != 0 && t != 2 && t != 4 {
				return h.Off
			}
		}
	}
	return -1
}

// partialTail returns how many bytes of a header cut short, right after the headers
// understood, are kept: only of headers whose address fields the decoder reports
// even when cut, and only up to where they might hold fields it does not report
// (IPv4 options, TCP options, an ICMP redirect's gateway).
func (rw *rewriter) partialTail() int {
	p := &rw.p
	if p.Stop == packet.Complete && p.Quote < 0 {
		return 0 // partial headers come only from truncation and in quotes
	}
	for i := 0; i < p.N; i++ {
		h := &p.Headers[i]
		if !h.Partial || h.Off != p.End {
			continue
		}
		switch h.Kind {
		case packet.IPv4, packet.TCP:
			return min(h.Len, 20)
		case packet.ICMPv4, packet.ICMPv6:
			return min(h.Len, 4)
		case packet.IPv6, packet.UDP, packet.SCTP, packet.Ethernet, packet.SLL, packet.SLL2,
			packet.ARP, packet.VLAN:
			return h.Len
		}
		return 0
	}
	return 0
}

// keepable reports whether PayloadKeep keeps the payload of the decoded packet: the
// data of TCP and UDP (except NetBIOS name and datagram services, whose messages
// carry addresses), ICMP echo data and ESP, but not that of IP fragments after the
// first, whose protocol is unknown, nor SCTP chunks (INIT and ASCONF carry
// addresses), nor the payload of other protocols.
func (rw *rewriter) keepable() bool {
	p := &rw.p
	if p.Frag.Fragmented && p.Frag.Offset > 0 {
		return false
	}
	last := p.N - 1
	if last >= 0 && p.Headers[last].Kind == packet.Payload {
		last--
	}
	if last < 0 {
		return false
	}
	switch p.Headers[last].Kind {
	case packet.TCP, packet.ESP:
		return true
	case packet.UDP:
		sp, dp := p.SrcPort, p.DstPort
		return sp != portNBNS && dp != portNBNS && sp != portNBDGM && dp != portNBDGM
	case packet.ICMPv4:
		return p.ICMPType == 0 || p.ICMPType == 8
	case packet.ICMPv6:
		return p.ICMPType == 128 || p.ICMPType == 129
	}
	return false
}

// maxFields bounds the address fields of one application message; a message with
// more is cut rather than rewritten.
const maxFields = 256

// fieldList collects the address fields of an application message while it is
// parsed, so that nothing is written before the whole message is known to be safe.
type fieldList struct {
	f [maxFields]field
	n int
}

// add appends f and reports false when the list is full.
func (fl *fieldList) add(f field) bool {
	if fl.n == maxFields {
		return false
	}
	fl.f[fl.n] = f
	fl.n++
	return true
}

// overlap reports whether two fields share a byte (a name pointer into address
// data, for example): rewriting both would map bytes twice.
func (fl *fieldList) overlap() bool {
	for i := 0; i < fl.n; i++ {
		a := &fl.f[i]
		for j := i + 1; j < fl.n; j++ {
			b := &fl.f[j]
			if a.off < b.off+b.n && b.off < a.off+a.n {
				return true
			}
		}
	}
	return false
}

func be16(b []byte, off int) int { return int(binary.BigEndian.Uint16(b[off:])) }

// words48 sums the three 16-bit words of a 48-bit value.
func words48(v uint64) uint64 { return v>>32&0xffff + v>>16&0xffff + v&0xffff }
