package pcap

import (
	"testing"

	"github.com/flowfed/flowfed/share/capture"
)

// Addresses of the synthesized captures: documentation ranges (RFC 5737, 3849,
// 7042), plus the embedded forms the leak test must also find absent.
var (
	macA   = mac("00:00:5e:00:53:01") // client
	macB   = mac("00:00:5e:00:53:02") // router
	macC   = mac("02:42:c0:00:02:0b") // locally administered
	v4Cli  = ip4("192.0.2.10")
	v4Cli2 = ip4("192.0.2.11")
	v4Srv  = ip4("198.51.100.20")
	v4DNS  = ip4("203.0.113.53")
	v4Rtr  = ip4("192.0.2.1")
	v4Gw   = ip4("192.0.2.254")
	v4Far  = ip4("203.0.113.200")
	v6Cli  = ip6("2001:db8:1::10")
	v6Srv  = ip6("2001:db8:2::20")
	v6DNS  = ip6("2001:db8::53")
	// EUI-64 link-local address of macA: 00:00:5e -> 02:00:5e, ff:fe inserted.
	v6LL    = ip6("fe80::200:5eff:fe00:5301")
	v6LLRtr = ip6("fe80::200:5eff:fe00:5302")
	// The solicited-node group of v6LLRtr and its group MAC.
	v6SN  = ip6("ff02::1:ff00:5302")
	macSN = mac("33:33:ff:00:53:02")
	// 6to4 address embedding 198.51.100.20 (c633:6414).
	v66to4 = ip6("2002:c633:6414::1")
	// Teredo: server 192.0.2.100, client 203.0.113.7 port 40000, both embedded
	// (client and port inverted).
	v4TeredoSrv = ip4("192.0.2.100")
	v4TeredoCli = ip4("203.0.113.7")
	v6Teredo    = ip6("2001:0:c000:264:0:63bf:34ff:8ef8")
)

// synthEthernet is a classic pcap of Ethernet frames exercising every kind of
// address field, tunnel, application message and damage the rewriter handles.
func synthEthernet(t testing.TB) []byte {
	t.Helper()
	var fs []frame
	add := func(b []byte) { fs = append(fs, frame{link: capture.LinkTypeEthernet, data: b}) }
	ether4 := func(p []byte) []byte { return eth(macB, macA, 0x0800, p) }
	ether6 := func(p []byte) []byte { return eth(macB, macA, 0x86dd, p) }

	// TCP SYN with timestamps, record route option holding an address.
	rr := cat([]byte{1, 7, 11, 8}, v4Rtr, v4Gw)
	add(ether4(ipv4h(v4Cli, v4Srv, 6, rr, tcp(v4Cli, v4Srv, 40000, 443, 1000, 0, tsOption(0x11223344, 0), nil))))
	// TCP data whose payload repeats the client's address: cut by default.
	add(ether4(ipv4(v4Cli, v4Srv, 6, tcp(v4Cli, v4Srv, 40000, 443, 1001, 7, tsOption(0x11223345, 0x55667788), cat([]byte("GET / HTTP/1.1 "), v4Cli, v6Cli, macA)))))

	// DNS: a reverse lookup answered with compression, A, AAAA, SOA, OPT with ECS.
	q := dnsName("10.2.0.192.in-addr.arpa")
	ans := [][]byte{
		dnsRR([]byte{0xc0, 12}, 12, dnsName("host.example.org")),
		// 11.2.0.192.in-addr.arpa sharing the labels after "10".
		dnsRR([]byte{2, '1', '1', 0xc0, 15}, 12, dnsName("other.example.org")),
		dnsRR(dnsName("host.example.org"), 1, v4Cli),
		dnsRR(dnsName("host.example.org"), 28, v6Cli),
		dnsRR(dnsName("host.example.org"), 65, cat(u16(1), []byte{0}, u16(4), u16(4), v4Srv, u16(6), u16(16), v6Srv)),
	}
	auth := [][]byte{dnsRR(dnsName("example.org"), 6, cat(dnsName("ns.example.org"), dnsName("hostmaster.example.org"), make([]byte, 20)))}
	opt := cat([]byte{0}, u16(41), u16(1232), u32(0), u16(4+4+3), u16(8), u16(4+3), u16(1), []byte{24, 0}, v4Cli[:3])
	add(ether4(ipv4(v4DNS, v4Cli, 17, udp(v4DNS, v4Cli, 53, 53001, dnsMsg(0x1001, q, 12, ans, auth, [][]byte{opt})))))
	// The same over IPv6 with an ip6.arpa question, and DNS over TCP.
	q6 := dnsName("0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
	m6 := dnsMsg(0x1002, q6, 12, [][]byte{dnsRR([]byte{0xc0, 12}, 12, dnsName("host.example.org"))}, nil, nil)
	add(ether6(ipv6(v6DNS, v6Cli, 17, udp(v6DNS, v6Cli, 53, 53002, m6))))
	ma := dnsMsg(0x1003, dnsName("host.example.org"), 1, [][]byte{dnsRR([]byte{0xc0, 12}, 1, v4Cli2)}, nil, nil)
	add(ether4(ipv4(v4DNS, v4Cli, 6, tcp(v4DNS, v4Cli, 53, 40001, 5, 9, nil, cat(u16(len(ma)), ma, u16(len(ma)), ma)))))

	// ICMP errors quoting the packets that caused them.
	dnsq := ipv4(v4Cli, v4DNS, 17, udp(v4Cli, v4DNS, 53001, 53, dnsMsg(0x1004, dnsName("host.example.org"), 1, nil, nil, nil)))
	add(ether4(ipv4(v4DNS, v4Cli, 1, icmp4(3, 3, make([]byte, 4), dnsq))))
	syn := ipv4(v4Cli, v4Far, 6, tcp(v4Cli, v4Far, 40002, 80, 77, 0, tsOption(1, 2), nil))
	add(ether4(ipv4(v4Rtr, v4Cli, 1, icmp4(5, 1, v4Gw, syn))))
	add(ether4(ipv4(v4Rtr, v4Cli, 1, icmp4(11, 0, make([]byte, 4), syn[:18])))) // quote cut in the IPv4 header
	tcp6 := ipv6(v6Cli, v6Srv, 6, tcp(v6Cli, v6Srv, 40003, 22, 5, 0, nil, nil))
	add(ether6(ipv6(v6DNS, v6Cli, 58, icmp6(v6DNS, v6Cli, 1, 4, cat(make([]byte, 4), tcp6)))))
	add(ether6(ipv6(v6DNS, v6Cli, 58, icmp6(v6DNS, v6Cli, 2, 0, cat(u32(1280), tcp6[:20]))))) // quote cut in the IPv6 header

	// ARP request (target MAC unknown) and reply.
	arp := func(op int, sha, spa, tha, tpa []byte) []byte {
		return cat(u16(1), u16(0x0800), []byte{6, 4}, u16(op), sha, spa, tha, tpa)
	}
	add(eth(mac("ff:ff:ff:ff:ff:ff"), macA, 0x0806, arp(1, macA, v4Cli, make([]byte, 6), v4Rtr)))
	add(eth(macA, macB, 0x0806, arp(2, macB, v4Rtr, macA, v4Cli)))

	// Neighbor discovery: solicitation to the solicited-node group, advertisement,
	// router advertisement with prefix and DNS server options, redirect.
	ns := icmp6(v6LL, v6SN, 135, 0, cat(make([]byte, 4), v6LLRtr, []byte{1, 1}, macA))
	add(eth(macSN, macA, 0x86dd, ipv6(v6LL, v6SN, 58, ns)))
	na := icmp6(v6LLRtr, v6LL, 136, 0, cat([]byte{0x60, 0, 0, 0}, v6LLRtr, []byte{2, 1}, macB))
	add(eth(macA, macB, 0x86dd, ipv6(v6LLRtr, v6LL, 58, na)))
	pio := cat([]byte{3, 4, 64, 0xc0}, u32(86400), u32(14400), u32(0), ip6("2001:db8:1::"))
	rdnss := cat([]byte{25, 3}, u16(0), u32(600), v6DNS)
	ra := icmp6(v6LLRtr, ip6("ff02::1"), 134, 0, cat([]byte{64, 0}, u16(1800), u32(0), u32(0), []byte{1, 1}, macB, pio, rdnss))
	add(eth(mac("33:33:00:00:00:01"), macB, 0x86dd, ipv6(v6LLRtr, ip6("ff02::1"), 58, ra)))
	quoted := ipv6(v6LL, v6Srv, 17, udp(v6LL, v6Srv, 5000, 6000, []byte("hello")))
	redir := icmp6(v6LLRtr, v6LL, 137, 0, cat(make([]byte, 4), v6LLRtr, v6Srv, []byte{2, 1}, macB,
		[]byte{4, byte((8 + len(quoted) + 7) / 8)}, make([]byte, 6), quoted, make([]byte, (8-len(quoted)%8)%8)))
	add(eth(macA, macB, 0x86dd, ipv6(v6LLRtr, v6LL, 58, redir)))

	// DHCP: a discover with a client identifier and requested address, and an ack
	// through a relay with routers, servers, classless routes and relay options.
	dhcp := func(op int, ciaddr, yiaddr, siaddr, giaddr []byte, opts []byte) []byte {
		return cat([]byte{byte(op), 1, 6, 0}, u32(0xabcd), u16(0), u16(0), ciaddr, yiaddr, siaddr, giaddr,
			macA, make([]byte, 10), make([]byte, 192), u32(dhcpCookie), opts, []byte{255})
	}
	zero4 := ip4("0.0.0.0")
	disc := dhcp(1, zero4, zero4, zero4, zero4, cat([]byte{53, 1, 1, 61, 7, 1}, macA, []byte{50, 4}, v4Cli, []byte{55, 2, 1, 3}))
	add(eth(mac("ff:ff:ff:ff:ff:ff"), macA, 0x0800, ipv4(zero4, ip4("255.255.255.255"), 17, udp(zero4, ip4("255.255.255.255"), 68, 67, disc))))
	routes := cat([]byte{24}, v4Far[:3], v4Rtr, []byte{0}, v4Gw)
	relay := cat([]byte{82, 14, 2, 6}, macC, []byte{5, 4}, v4Gw)
	ack := dhcp(2, zero4, v4Cli, v4Srv, v4Gw, cat([]byte{53, 1, 5, 54, 4}, v4Srv, []byte{3, 8}, v4Rtr, v4Gw,
		[]byte{6, 4}, v4DNS, []byte{121, byte(len(routes))}, routes, relay))
	add(ether4(ipv4(v4Srv, v4Gw, 17, udp(v4Srv, v4Gw, 67, 67, ack))))

	// DHCPv6: a solicit with a DUID-LLT holding macA, an advertise with an address,
	// a delegated prefix and DNS servers, and a relayed solicit.
	duidLLT := cat(u16(1), u16(1), u32(0x2a2b2c2d), macA)
	opt6 := func(code int, v []byte) []byte { return cat(u16(code), u16(len(v)), v) }
	sol := cat([]byte{1, 0x12, 0x34, 0x56}, opt6(1, duidLLT), opt6(3, cat(u32(1), u32(0), u32(0))))
	add(eth(mac("33:33:00:01:00:02"), macA, 0x86dd, ipv6(v6LL, ip6("ff02::1:2"), 17, udp(v6LL, ip6("ff02::1:2"), 546, 547, sol))))
	iaaddr := opt6(5, cat(v6Cli, u32(3600), u32(7200)))
	iapfx := opt6(26, cat(u32(3600), u32(7200), []byte{56}, ip6("2001:db8:ab00::")))
	adv := cat([]byte{2, 0x12, 0x34, 0x56}, opt6(1, duidLLT), opt6(2, cat(u16(3), u16(1), macB)),
		opt6(3, cat(u32(1), u32(0), u32(0), iaaddr)), opt6(25, cat(u32(2), u32(0), u32(0), iapfx)), opt6(23, cat(v6DNS, v6Srv)))
	add(eth(macA, macB, 0x86dd, ipv6(v6LLRtr, v6LL, 17, udp(v6LLRtr, v6LL, 547, 546, adv))))
	relayed := cat([]byte{12, 0}, v6Srv, v6LL, opt6(9, sol), opt6(79, cat(u16(1), macA)))
	add(ether6(ipv6(v6Srv, v6DNS, 17, udp(v6Srv, v6DNS, 547, 547, relayed))))

	// Tunnels: 6to4, Teredo with origin indication, GRE with checksum and key,
	// VXLAN, IP in IP, QinQ with MPLS, PPPoE, GTP-U.
	add(ether4(ipv4(v4Srv, v4Rtr, 41, ipv6(v66to4, v6Srv, 6, tcp(v66to4, v6Srv, 40004, 80, 1, 0, nil, nil)))))
	origin := cat([]byte{0, 0}, u16(40000^0xffff), []byte{^v4TeredoCli[0], ^v4TeredoCli[1], ^v4TeredoCli[2], ^v4TeredoCli[3]})
	inner6 := ipv6(v6Srv, v6Teredo, 17, udp(v6Srv, v6Teredo, 53, 40005, []byte("x")))
	add(ether4(ipv4(v4TeredoSrv, v4TeredoCli, 17, udp(v4TeredoSrv, v4TeredoCli, 3544, 40000, cat(origin, inner6)))))
	greIn := ipv4(v4Cli, v4Far, 17, udp(v4Cli, v4Far, 1000, 2000, []byte("gre")))
	gre := cat([]byte{0xa0, 0}, u16(0x0800), u16(0), u16(0), u32(42), greIn)
	binary16(gre[4:], inetSum(0, gre))
	add(ether4(ipv4(v4Rtr, v4Gw, 47, gre)))
	vx := cat([]byte{8, 0, 0, 0}, u32(4242<<8), eth(macB, macC, 0x0800, ipv4(v4Cli2, v4Srv, 6, tcp(v4Cli2, v4Srv, 40006, 443, 3, 0, nil, nil))))
	add(ether4(ipv4(v4Rtr, v4Gw, 17, udp(v4Rtr, v4Gw, 50000, 4789, vx))))
	add(ether4(ipv4(v4Rtr, v4Gw, 4, ipv4(v4Cli, v4Far, 17, udp(v4Cli, v4Far, 1, 2, nil)))))
	mpls := cat(u32(100<<12|1<<8|64), ipv4(v4Cli, v4Srv, 17, udp(v4Cli, v4Srv, 3, 4, []byte("mpls"))))
	add(eth(macB, macA, 0x88a8, vlan(10, 0x8100, vlan(20, 0x8847, mpls))))
	ppp := cat(u16(0x0021), ipv4(v4Cli, v4Srv, 6, tcp(v4Cli, v4Srv, 40007, 80, 9, 9, nil, nil)))
	add(eth(macB, macA, 0x8864, cat([]byte{0x11, 0}, u16(7), u16(len(ppp)), ppp)))
	gtpIn := ipv4(v4Cli, v4Far, 17, udp(v4Cli, v4Far, 5, 6, []byte("gtp")))
	add(ether4(ipv4(v4Rtr, v4Gw, 17, udp(v4Rtr, v4Gw, 2152, 2152, cat([]byte{0x30, 255}, u16(len(gtpIn)), u32(7), gtpIn)))))

	// IPv6 with a home address option and a type 2 routing header: the TCP
	// checksum's pseudo-header uses those addresses.
	hao := cat([]byte{6, 2}, []byte{1, 2, 0, 0}, []byte{201, 16}, v6Cli) // dest opts: PadN(2), HAO
	rh2 := cat([]byte{60, 2, 2, 1}, u32(0), v6Srv)                       // routing type 2, 1 segment left
	seg := tcp(v6Cli, v6Srv, 40008, 443, 11, 0, nil, nil)                // pseudo-header: home address, final destination
	add(ether6(ipv6(v6LL, v6DNS, 43, cat(rh2, hao, seg))))
	// An IPv4-mapped address in an IPv6 header.
	add(ether6(ipv6(ip6("::ffff:192.0.2.77"), v6Srv, 17, udp(ip6("::ffff:192.0.2.77"), v6Srv, 7, 8, nil))))

	// Addresses in places the decoder does not list: MPTCP ADD_ADDR options (IPv4,
	// IPv6) and an IPv4 traceroute option; and an RPL routing header (type 3),
	// whose compressed addresses cannot be rewritten: the packet is cut before it.
	mptcp := cat([]byte{30, 8, 0x34, 1}, v4Far, []byte{30, 20, 0x36, 2}, v6Srv)
	add(ether4(ipv4(v4Cli, v4Srv, 6, tcp(v4Cli, v4Srv, 40011, 443, 21, 0, mptcp, nil))))
	trace := cat([]byte{82, 12}, u16(7), u16(1), u16(0), v4Gw)
	add(ether4(ipv4h(v4Cli, v4Srv, 17, trace, udp(v4Cli, v4Srv, 33434, 33435, nil))))
	rpl := cat([]byte{17, 2, 3, 1, 0, 0, 0, 0}, v6DNS)
	add(ether6(ipv6(v6Cli, v6Srv, 43, cat(rpl, udp(v6Cli, v6Srv, 9, 9, nil)))))

	// Checksums wrong on purpose (they must stay wrong), and a UDP checksum of
	// zero (it must stay zero).
	bad := ipv4(v4Cli, v4Srv, 6, tcp(v4Cli, v4Srv, 40009, 80, 1, 1, nil, nil))
	bad[10] ^= 0x5a
	bad[20+17] ^= 0x33
	add(ether4(bad))
	z := ipv4(v4Cli, v4Srv, 17, udp(v4Cli, v4Srv, 9, 10, []byte("zero")))
	z[26], z[27] = 0, 0
	add(ether4(z))

	// Damage and things not understood: a frame cut inside the TCP options, padding
	// after the IP packet holding an address (Etherleak), LLDP with a management
	// address, a later IP fragment, IGMPv3 with a source address.
	cut := ether4(ipv4(v4Cli, v4Srv, 6, tcp(v4Cli, v4Srv, 40010, 80, 2, 2, tsOption(3, 4), nil)))
	fs = append(fs, frame{link: capture.LinkTypeEthernet, data: cut[:14+20+24], orig: len(cut)})
	short := ether4(ipv4(v4Cli, v4Srv, 17, udp(v4Cli, v4Srv, 11, 12, nil)))
	add(cat(short, v4Far, make([]byte, 60-len(short)-4)))
	lldp := cat([]byte{2, 7, 4}, macA, []byte{4, 3, 7}, []byte("p1"), []byte{6, 2, 0, 120},
		[]byte{16, 12, 5, 1}, v4Cli, []byte{2, 0, 0, 0, 1, 0}, []byte{0, 0})
	add(eth(mac("01:80:c2:00:00:0e"), macA, 0x88cc, lldp))
	frag := ipv4(v4Cli, v4Srv, 17, cat(v4Far, v6Cli))
	frag[6], frag[7] = 0x00, 0x10 // offset 128 bytes, no more fragments
	binary16(frag[10:], 0)
	binary16(frag[10:], inetSum(0, frag[:20]))
	add(ether4(frag))
	igmp := cat([]byte{0x22, 0}, u16(0), u16(0), u16(1), []byte{1, 0}, u16(1), ip4("232.1.1.1"), v4Srv)
	binary16(igmp[2:], inetSum(0, igmp))
	add(eth(mac("01:00:5e:00:00:16"), macA, 0x0800, ipv4(v4Cli, ip4("224.0.0.22"), 2, igmp)))
	return writeCapture(t, false, fs)
}

// binary16 stores a big-endian 16-bit value.
func binary16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

// synthLinks is a pcapng capture of several interfaces with other link types,
// one of them not decoded (its packets must be dropped and reported).
func synthLinks(t testing.TB) []byte {
	t.Helper()
	u4 := ipv4(v4Cli, v4Srv, 17, udp(v4Cli, v4Srv, 1234, 53000, []byte("raw")))
	u6 := ipv6(v6Cli, v6Srv, 17, udp(v6Cli, v6Srv, 1234, 53000, []byte("raw6")))
	sll := cat(u16(0), u16(1), u16(6), macA, u16(0), u16(0x0800), u4)
	sll2 := cat(u16(0x86dd), u16(0), u32(3), u16(1), []byte{0, 6}, macC, u16(0), u6)
	null := cat([]byte{2, 0, 0, 0}, u4)
	ppp := cat([]byte{0xff, 0x03}, u16(0x0057), u6)
	return writeCapture(t, true, []frame{
		{link: capture.LinkTypeIPv4, data: u4},
		{link: capture.LinkTypeIPv6, data: u6},
		{link: capture.LinkTypeLinuxSLL, data: sll},
		{link: capture.LinkTypeLinuxSLL2, data: sll2},
		{link: capture.LinkTypeNull, data: null},
		{link: capture.LinkTypePPP, data: ppp},
		{link: capture.LinkTypeRaw, data: u6},
		{link: 147, data: cat(macA, v4Cli, v6Cli)}, // LINKTYPE_USER0: not decoded
		{link: capture.LinkTypeIPv4, data: u4},
	})
}

// synthCaptures lists the synthesized captures by name.
func synthCaptures(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"synth-ethernet.pcap": synthEthernet(t),
		"synth-links.pcapng":  synthLinks(t),
	}
}
