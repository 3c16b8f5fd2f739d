package synth

import (
	"io"
	"net/netip"
)

// WriteCapture writes a classic pcap (Ethernet, nanosecond time stamps)
// of fixed flow groups, one millisecond apart, and returns the addresses
// it used. Group i holds a TCP connection from 192.0.2.(1+i%200) port
// 40000+i to 198.51.100.(1+i%7) port 443 (handshake and teardown, no
// payload), a DNS query for www.example.org with an answer naming
// 203.0.113.(1+i%50), and one IPv6 UDP datagram, so that a capture of n
// groups holds exactly 9n packets and 3n flows. The same flows value
// gives the same bytes.
//
// Tests that count flows and packets use it; [Write] synthesizes
// realistic traffic.
func WriteCapture(out io.Writer, flows int) (addrs []netip.Addr, err error) {
	n, err := Config{}.normalize()
	if err != nil {
		return nil, err
	}
	if _, err := run(out, &n, func(g *gen) { g.legacy(flows) }); err != nil {
		return nil, err
	}
	return legacyAddrs(flows), nil
}

// legacyAddrs lists the addresses of the first n groups in the order
// WriteCapture has always returned them.
func legacyAddrs(n int) []netip.Addr {
	var out []netip.Addr
	for i := range n {
		out = append(out,
			netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%200)}),
			netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i%7)}),
			netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%50)}))
		c6 := netip.MustParseAddr("2001:db8::10").As16()
		c6[15] = byte(i)
		out = append(out, netip.AddrFrom16(c6), netip.MustParseAddr("2001:db8:1::53"))
	}
	return out
}

// legacy writes the flow groups of WriteCapture as one session.
func (g *gen) legacy(groups int) {
	s := g.newSession()
	c := &g.conn
	*c = conn{g: g, s: s, t: 1_700_000_000_000_000_000}
	mac := [2][6]byte{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}}
	set := func(v6 bool, src, dst netip.Addr, sp, dp uint16) {
		c.v6 = v6
		c.ep[0] = side{mac: mac[0], addr: addrBytes(src), port: sp, ttl: 64, win: 1000, prof: profNone}
		c.ep[1] = side{mac: mac[1], addr: addrBytes(dst), port: dp, ttl: 64, win: 1000, prof: profNone}
	}
	tick := func() { c.t += 1_000_000 }
	for i := range groups {
		cli := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%200)})
		srv := netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i%7)})
		ans := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%50)})
		set(false, cli, srv, uint16(40000+i), 443)
		// Handshake and teardown without options or payload; the
		// sequence numbers are those the groups have always carried.
		for j, f := range []struct {
			d     int
			flags uint8
		}{{0, fSYN}, {1, fSYN | fACK}, {0, fACK}, {0, fFIN | fACK}, {1, fFIN | fACK}, {0, fACK}} {
			tick()
			c.ep[f.d].seq = uint32(1000 + j)
			c.ep[f.d].synWin = 1000
			c.tcpSeg(f.d, f.flags, nil, 0)
		}
		// A DNS query and its answer.
		set(false, cli, srv, uint16(50000+i), 53)
		tick()
		g.scratch = appendQuery(g.scratch[:0], uint16(i), "www.example.org", dnsA, false)
		c.udp(0, g.scratch)
		tick()
		g.scratch = g.appendResponse(g.scratch[:0], uint16(i), "www.example.org", dnsA, resolution{v4: ans, ttl: 60}, false)
		c.udp(1, g.scratch)
		// An IPv6 UDP datagram.
		c6 := netip.MustParseAddr("2001:db8::10").As16()
		c6[15] = byte(i)
		set(true, netip.AddrFrom16(c6), netip.MustParseAddr("2001:db8:1::53"), 5000, 9999)
		tick()
		c.udp(0, []byte("hello"))
		g.flows[kLegacy] += 3
	}
	g.push(s, 0)
}
