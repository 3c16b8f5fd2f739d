package synth

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// DNS record types and response codes used.
const (
	dnsA       = 1
	dnsCNAME   = 5
	dnsSOA     = 6
	dnsAAAA    = 28
	dnsOPT     = 41
	dnsHTTPS   = 65
	rcNXDomain = 3
)

// resolution is what the resolver answers for a name.
type resolution struct {
	cname  string
	v4, v6 netip.Addr
	ttl    uint32
	nx     bool
}

// dnsWriter builds one DNS message with name compression.
type dnsWriter struct {
	b     []byte
	base  int // offset of the message in b
	names [16]dnsSuffix
	n     int
}

type dnsSuffix struct {
	name string
	off  int
}

// name appends a domain name, pointing to an earlier copy of its longest
// known suffix.
func (w *dnsWriter) name(n string) {
	for rest := n; rest != ""; {
		for _, s := range w.names[:w.n] {
			if s.name == rest {
				w.b = binary.BigEndian.AppendUint16(w.b, 0xc000|uint16(s.off))
				return
			}
		}
		if off := len(w.b) - w.base; off < 0x3fff && w.n < len(w.names) {
			w.names[w.n] = dnsSuffix{rest, off}
			w.n++
		}
		label := rest
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			label, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		w.b = append(w.b, byte(len(label)))
		w.b = append(w.b, label...)
	}
	w.b = append(w.b, 0)
}

// rr appends a resource record header; the caller appends rdata of
// length rdlen, or calls patch for rdata of unknown length.
func (w *dnsWriter) rr(owner string, typ uint16, ttl uint32, rdlen int) {
	w.name(owner)
	w.b = binary.BigEndian.AppendUint16(w.b, typ)
	w.b = binary.BigEndian.AppendUint16(w.b, 1)
	w.b = binary.BigEndian.AppendUint32(w.b, ttl)
	w.b = binary.BigEndian.AppendUint16(w.b, uint16(rdlen))
}

// opt appends an EDNS(0) OPT record advertising size.
func (w *dnsWriter) opt(size uint16) {
	w.b = append(w.b, 0)
	w.b = binary.BigEndian.AppendUint16(w.b, dnsOPT)
	w.b = binary.BigEndian.AppendUint16(w.b, size)
	w.b = append(w.b, 0, 0, 0, 0, 0, 0)
}

// header appends the 12-byte header.
func (w *dnsWriter) header(id, flags, qd, an, ns, ar uint16) {
	for _, v := range [...]uint16{id, flags, qd, an, ns, ar} {
		w.b = binary.BigEndian.AppendUint16(w.b, v)
	}
}

// appendQuery appends a recursive query.
func appendQuery(b []byte, id uint16, qname string, qtype uint16, edns bool) []byte {
	w := dnsWriter{b: b, base: len(b)}
	ar := uint16(0)
	if edns {
		ar = 1
	}
	w.header(id, 0x0100, 1, 0, 0, ar)
	w.name(qname)
	w.b = binary.BigEndian.AppendUint16(w.b, qtype)
	w.b = binary.BigEndian.AppendUint16(w.b, 1)
	if edns {
		w.opt(1232)
	}
	return w.b
}

// appendResponse appends the resolver's answer to a query; it reports the
// names and addresses it wrote through g.
func (g *gen) appendResponse(b []byte, id uint16, qname string, qtype uint16, res resolution, edns bool) []byte {
	w := dnsWriter{b: b, base: len(b)}
	var addr netip.Addr
	switch qtype {
	case dnsA:
		addr = res.v4
	case dnsAAAA:
		addr = res.v6
	}
	an, ns, rcode := uint16(0), uint16(0), uint16(0)
	switch {
	case res.nx:
		ns, rcode = 1, rcNXDomain
	case addr.IsValid() && res.cname != "":
		an = 2
	case addr.IsValid():
		an = 1
	case res.cname != "":
		an, ns = 1, 1 // the alias, and no data of the type
	default:
		ns = 1
	}
	ar := uint16(0)
	if edns {
		ar = 1
	}
	w.header(id, 0x8180|rcode, 1, an, ns, ar)
	w.name(qname)
	w.b = binary.BigEndian.AppendUint16(w.b, qtype)
	w.b = binary.BigEndian.AppendUint16(w.b, 1)
	owner := qname
	if res.cname != "" && !res.nx {
		w.rr(qname, dnsCNAME, res.ttl, 0)
		start := len(w.b)
		w.name(res.cname)
		binary.BigEndian.PutUint16(w.b[start-2:], uint16(len(w.b)-start))
		owner = res.cname
		g.addName(res.cname)
	}
	if an > 0 && addr.IsValid() {
		raw := addr.AsSlice()
		w.rr(owner, qtype, res.ttl, len(raw))
		w.b = append(w.b, raw...)
		g.addAddr(addr)
	}
	if ns > 0 {
		zone := g.w.domain
		w.rr(zone, dnsSOA, 300, 0)
		start := len(w.b)
		w.name(g.w.nsName)
		w.name(g.w.mboxName)
		for _, v := range [...]uint32{2026010501, 7200, 3600, 1209600, 300} {
			w.b = binary.BigEndian.AppendUint32(w.b, v)
		}
		binary.BigEndian.PutUint16(w.b[start-2:], uint16(len(w.b)-start))
		g.addName(zone)
		g.addName(g.w.nsName)
		g.addName(g.w.mboxName)
	}
	if edns {
		w.opt(1232)
	}
	return w.b
}

// nxLabel makes up a name that does not exist: a mistyped known label or
// a random probe.
func (g *gen) nxLabel() string {
	r := g.r
	if r.IntN(2) == 0 {
		known := g.w.names[r.IntN(len(g.w.names))].name
		label := known[:strings.IndexByte(known, '.')]
		i := r.IntN(len(label))
		switch r.IntN(3) {
		case 0: // doubled letter
			return label[:i+1] + label[i:]
		case 1: // dropped letter
			if len(label) > 2 {
				return label[:i] + label[i+1:]
			}
		}
		return label + "s"
	}
	b := make([]byte, 7+r.IntN(8))
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// dns writes one lookup of a host: an A query, often with the AAAA query
// on the same socket, sometimes an HTTPS query, and the answers.
func (g *gen) dns(s *session, start int64) {
	r := g.r
	h := g.pickHost()
	res := &g.w.servers[g.w.resolvers[r.IntN(len(g.w.resolvers))]]
	v6 := h.v6.IsValid() && res.v6.IsValid() && r.IntN(10) < 3
	c := g.outbound(s, start, h, res, v6, 53)
	var qname string
	var ans resolution
	switch x := r.IntN(100); {
	case x < 8:
		qname = g.nxLabel() + "." + g.w.domain
		ans.nx = true
	case x < 12:
		i := r.IntN(len(g.w.ntp))
		srv := &g.w.servers[g.w.ntp[i]]
		qname, ans = g.w.ntpNames[i], resolution{v4: srv.v4, v6: srv.v6, ttl: 3600}
	case x < 15:
		i := r.IntN(len(g.w.ssh))
		srv := &g.w.servers[g.w.ssh[i]]
		qname, ans = g.w.sshNames[i], resolution{v4: srv.v4, v6: srv.v6, ttl: 3600}
	default:
		n := &g.w.names[weighted(r, g.w.cumDNS)]
		srv := &g.w.servers[n.srv]
		qname, ans = n.name, resolution{cname: n.cname, v4: srv.v4, v6: srv.v6, ttl: n.ttl}
	}
	g.addName(qname)
	var types []uint16
	switch x := r.IntN(100); {
	case x < 35:
		types = []uint16{dnsA}
	case x < 90:
		types = []uint16{dnsA, dnsAAAA}
	case x < 95:
		types = []uint16{dnsAAAA}
	default:
		types = []uint16{dnsHTTPS, dnsA, dnsAAAA}
	}
	edns := h.os != osWindows || r.IntN(2) == 0
	ids := [3]uint16{}
	for i, t := range types {
		for {
			ids[i] = uint16(r.Uint32())
			g.scratch = appendQuery(g.scratch[:0], ids[i], qname, t, edns)
			if !teredoLike(g.scratch) {
				break
			}
		}
		c.udp(0, g.scratch)
		c.t += c.jitter(120e3)
	}
	c.t += c.wan + c.jitter(res.proc)
	for i, t := range types {
		a := ans
		if t == dnsHTTPS {
			a.v4, a.v6 = netip.Addr{}, netip.Addr{}
		}
		g.scratch = g.appendResponse(g.scratch[:0], ids[i], qname, t, a, edns)
		c.udp(1, g.scratch)
		c.t += c.jitter(300e3)
	}
	g.flows[kDNS]++
}

// teredoLike reports whether a UDP payload could pass for a Teredo
// packet (an IPv6 packet that fills the datagram, or a Teredo indicator)
// in the eyes of a decoder that looks for Teredo on any port, as flowfed's
// does: a DNS query of 41 bytes whose ID starts with 0x6 is one. The
// generator avoids such payloads, which real traffic makes rarely, so
// that every flow keeps its kind.
func teredoLike(p []byte) bool {
	return len(p) > 0 && (p[0] == 0 || len(p) >= 40 && p[0]>>4 == 6 && 40+int(binary.BigEndian.Uint16(p[4:])) == len(p))
}
