package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
)

// sharedMu serialises the fuzz targets' use of the cached mappers, whose caches
// make them unsafe for concurrent use.
var sharedMu sync.Mutex

// sharedMappers returns the cached mappers of the test options.
func sharedMappers(t testing.TB) (fwd, inv *mapper) {
	t.Helper()
	return mapperFor(t, testOptions(), false), mapperFor(t, testOptions(), true)
}

// applyFields rewrites the fields of fl in b (the rewriter does the same, plus the
// checksums).
func applyFields(b []byte, m *mapper, fl *fieldList) {
	for i := 0; i < fl.n; i++ {
		m.rewrite(b, &fl.f[i])
	}
}

// dnsRoundTrip parses msg, rewrites it, parses and restores the result, and
// checks that the structure is kept and the original comes back. It returns the
// rewritten message, or nil when msg was refused.
func dnsRoundTrip(t testing.TB, msg []byte, stream bool) []byte {
	t.Helper()
	fwd, inv := sharedMappers(t)
	parse := func(b []byte, m *mapper, fl *fieldList) (int, bool) {
		if stream {
			return parseDNSStream(b, 0, m, fl)
		}
		return parseDNS(b, 0, m, fl)
	}
	var fl fieldList
	n, ok := parse(msg, fwd, &fl)
	if !ok || fl.overlap() {
		return nil
	}
	if n > len(msg) {
		t.Fatalf("parsed length %d beyond the message of %d bytes", n, len(msg))
	}
	for _, f := range fl.f[:fl.n] {
		if f.off < 0 || f.off+f.n > n {
			t.Fatalf("field %+v outside the message of %d bytes", f, n)
		}
	}
	out := bytes.Clone(msg)
	applyFields(out, fwd, &fl)
	var fl2 fieldList
	n2, ok := parse(out, inv, &fl2)
	if !ok || n2 != n || fl2.n != fl.n {
		t.Fatalf("rewritten message parses as (%d, %v) with %d fields; original (%d, true) with %d", n2, ok, fl2.n, n, fl.n)
	}
	back := bytes.Clone(out)
	applyFields(back, inv, &fl2)
	if !bytes.Equal(back, msg) {
		t.Fatalf("restored message differs:\n got %x\nwant %x", back, msg)
	}
	return out
}

// TestDNSRefusesMalformed checks that every kind of malformed message is refused
// (and so cut): the faults of C05 and their relatives, pointer rules, counts
// that promise more than the data holds, address records this package cannot
// rewrite and reverse names it cannot rewrite safely.
func TestDNSRefusesMalformed(t *testing.T) {
	q := func(name []byte) []byte {
		return cat(u16(1), u16(0x0100), u16(1), u16(0), u16(0), u16(0), name, u16(1), u16(1))
	}
	for name, msg := range map[string][]byte{
		"short header":                 make([]byte, 11),
		"label overrun":                q([]byte{63, 'a', 'b'}),
		"no root":                      q([]byte{3, 'a', 'b', 'c'}),
		"pointer to itself":            q([]byte{0xc0, 12}),
		"pointer forward":              q([]byte{0xc0, 14, 0}),
		"pointer into header":          q([]byte{0xc0, 4}),
		"cut pointer":                  q([]byte{1, 'a', 0xc0}),
		"extended label":               q([]byte{0x41, 0}),
		"name too long":                q(cat(bytes.Repeat(cat([]byte{63}, bytes.Repeat([]byte{'a'}, 63)), 4), []byte{0})),
		"forward pointer in an answer": cat(u16(1), u16(0x8180), u16(0), u16(2), u16(0), u16(0), dnsRR([]byte{1, 'a', 0xc0, 12 + 17}, 1, v4Cli), dnsRR([]byte{0xc0, 12}, 1, v4Cli)),
		"rdlength past end":            cat(u16(1), u16(0x8180), u16(0), u16(1), u16(0), u16(0), []byte{0}, u16(1), u16(1), u32(0), u16(65535), v4Cli),
		"A of 5 bytes":                 cat(u16(1), u16(0x8180), u16(0), u16(1), u16(0), u16(0), dnsRR([]byte{0}, 1, cat(v4Cli, []byte{0}))),
		"AAAA of 4 bytes":              cat(u16(1), u16(0x8180), u16(0), u16(1), u16(0), u16(0), dnsRR([]byte{0}, 28, v4Cli)),
		"A6 not rewritten":             cat(u16(1), u16(0x8180), u16(0), u16(1), u16(0), u16(0), dnsRR([]byte{0}, 38, cat([]byte{0}, v6Cli))),
		"APL not rewritten":            cat(u16(1), u16(0x8180), u16(0), u16(1), u16(0), u16(0), dnsRR([]byte{0}, 42, cat(u16(1), []byte{24, 3}, v4Cli[:3]))),
		"counts beyond data":           cat(u16(1), u16(0x8180), u16(0xffff), u16(0xffff), u16(0xffff), u16(0xffff), []byte{0}, u16(1), u16(1)),
		"ECS of wrong length":          cat(u16(1), u16(0x8180), u16(0), u16(0), u16(0), u16(1), []byte{0}, u16(41), u16(512), u32(0), u16(11), u16(8), u16(7), u16(1), []byte{32, 0}, v4Cli[:3]),
		"classless reverse":            q(dnsName("10.0/25.2.0.192.in-addr.arpa")),
		"five octets":                  q(dnsName("7.10.2.0.192.in-addr.arpa")),
		"uppercase nibble":             q(dnsName("A.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")),
	} {
		var fl fieldList
		fwd, _ := sharedMappers(t)
		if n, ok := parseDNS(msg, 0, fwd, &fl); ok {
			t.Errorf("%s: parseDNS = (%d, true), want refusal", name, n)
		}
	}
}

// TestDNSRewritesAddresses checks every address-bearing record type: the
// pseudonyms are those of the headers' mapping, no original is left, and the
// message restores byte for byte.
func TestDNSRewritesAddresses(t *testing.T) {
	fwd, _ := sharedMappers(t)
	ps4 := func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, fwd.v4(binary.BigEndian.Uint32(b))) }
	ps6 := func(b []byte) []byte { r := fwd.v6([16]byte(b)); return r[:] }
	an := [][]byte{
		dnsRR(dnsName("a.example.org"), 1, v4Cli),
		dnsRR(dnsName("a.example.org"), 28, v6Cli),
		dnsRR(dnsName("a.example.org"), 11, cat(v4Srv, []byte{6, 0xff})),
		dnsRR(dnsName("a.example.org"), 45, cat([]byte{10, 1, 2}, v4Gw, []byte{1, 2, 3})),
		dnsRR(dnsName("a.example.org"), 64, cat(u16(1), dnsName("svc.example.org"), u16(1), u16(2), []byte("h2"), u16(4), u16(8), v4Cli, v4Cli2, u16(6), u16(16), v6Srv)),
	}
	ecs := cat([]byte{0}, u16(41), u16(1232), u32(0), u16(4+4+3), u16(8), u16(4+3), u16(1), []byte{20, 0}, ip4("192.0.16.0")[:3])
	msg := dnsMsg(7, dnsName("a.example.org"), 1, an, nil, [][]byte{ecs})
	out := dnsRoundTrip(t, msg, false)
	if out == nil {
		t.Fatal("message refused")
	}
	for _, want := range [][]byte{ps4(v4Cli), ps6(v6Cli), ps4(v4Srv), ps4(v4Gw), ps4(v4Cli2), ps6(v6Srv)} {
		if !bytes.Contains(out, want) {
			t.Errorf("pseudonym %x not in the rewritten message", want)
		}
	}
	for _, orig := range [][]byte{v4Cli, v6Cli, v4Srv, v4Gw, v4Cli2, v6Srv} {
		if bytes.Contains(out, orig) {
			t.Errorf("original %x still in the rewritten message", orig)
		}
	}
	// The client subnet keeps its length; its bytes are the first bytes of the
	// pseudonym of the address they start.
	sub := out[len(out)-3:]
	wantSub := binary.BigEndian.AppendUint32(nil, fwd.v4prefix(binary.BigEndian.Uint32(ip4("192.0.16.0")), 24))[:3]
	if !bytes.Equal(sub, wantSub) {
		t.Errorf("client subnet %x, want %x", sub, wantSub)
	}
}

// TestDNSReverseNames checks the rewriting of in-addr.arpa and ip6.arpa names.
func TestDNSReverseNames(t *testing.T) {
	fwd, _ := sharedMappers(t)
	// A full in-addr.arpa name maps like the address, written with leading zeros in
	// the labels' lengths; a name sharing the suffix by compression gets the same
	// text there. Labels of three digits hold any octet.
	for last := 100; last < 110; last++ {
		ps := fwd.v4(binary.BigEndian.Uint32([]byte{192, 168, 100, byte(last)}))
		msg := dnsMsg(1, dnsName(fmt.Sprintf("%d.100.168.192.in-addr.arpa", last)), 12, [][]byte{
			dnsRR([]byte{0xc0, 12}, 12, dnsName("h.example.org")),
			dnsRR([]byte{3, '1', '9', '9', 0xc0, 16}, 12, dnsName("i.example.org")),
		}, nil, nil)
		out := dnsRoundTrip(t, msg, false)
		if out == nil {
			t.Fatalf("%d: refused", last)
		}
		want := dnsName(fmt.Sprintf("%03d.%03d.%03d.%03d.in-addr.arpa", byte(ps), byte(ps>>8), byte(ps>>16), byte(ps>>24)))
		if got := out[12 : 12+len(want)]; !bytes.Equal(got, want) {
			t.Errorf("%d: reverse name %q, want %q", last, got, want)
		}
	}
	// Labels of one digit hold a pseudonym octet only when it is below 10;
	// otherwise the message is refused (it cannot keep its length).
	for last := 1; last < 10; last++ {
		ps := fwd.v4(binary.BigEndian.Uint32([]byte{192, 0, 2, byte(last)}))
		msg := dnsMsg(1, dnsName(fmt.Sprintf("%d.2.0.192.in-addr.arpa", last)), 12, nil, nil, nil)
		fits := byte(ps) <= 9 && byte(ps>>8) <= 9 && byte(ps>>16) <= 9
		if out := dnsRoundTrip(t, msg, false); (out != nil) != fits {
			t.Errorf("192.0.2.%d -> %08x: rewritten = %v, want %v", last, ps, out != nil, fits)
		}
	}
	// A zone name maps as a prefix; an ip6.arpa name nibble by nibble.
	msg := dnsMsg(1, dnsName("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"), 12, nil, nil, nil)
	out := dnsRoundTrip(t, msg, false)
	if out == nil {
		t.Fatal("ip6.arpa name refused")
	}
	ps := fwd.v6([16]byte(ip6("2001:db8:1::")))
	var want []byte
	for j := 31; j >= 0; j-- {
		want = append(want, 1, "0123456789abcdef"[ps[j/2]>>(4*(1-j%2))&0xf])
	}
	if got := out[12 : 12+64]; !bytes.Equal(got, want) {
		t.Errorf("ip6.arpa name %q, want %q", got, want)
	}
	zone := dnsRoundTrip(t, dnsMsg(1, dnsName("2.0.192.in-addr.arpa"), 6, nil, nil, nil), false)
	if zone != nil && bytes.Equal(zone, dnsMsg(1, dnsName("2.0.192.in-addr.arpa"), 6, nil, nil, nil)) {
		t.Error("zone name not rewritten")
	}
}

// TestDNSStream checks DNS over TCP: whole messages are kept, a partial one is cut,
// and a segment that starts inside a message is refused.
func TestDNSStream(t *testing.T) {
	m := dnsMsg(3, dnsName("a.example.org"), 1, [][]byte{dnsRR([]byte{0xc0, 12}, 1, v4Cli)}, nil, nil)
	two := cat(u16(len(m)), m, u16(len(m)), m)
	fwd, _ := sharedMappers(t)
	var fl fieldList
	if n, ok := parseDNSStream(cat(two, u16(len(m)), m[:10]), 0, fwd, &fl); !ok || n != len(two) || fl.n != 2 {
		t.Errorf("stream with a partial third message: (%d, %v, %d fields), want (%d, true, 2)", n, ok, fl.n, len(two))
	}
	if out := dnsRoundTrip(t, two, true); out == nil || bytes.Contains(out, v4Cli) {
		t.Errorf("stream not rewritten: %x", out)
	}
	fl.n = 0
	if _, ok := parseDNSStream(m[:20], 0, fwd, &fl); ok {
		t.Error("stream starting inside a message accepted")
	}
}

// TestDHCP checks DHCP address fields and options, the refusal of malformed
// messages, and the bound on nested DHCPv6 relay messages.
func TestDHCP(t *testing.T) {
	fwd, _ := sharedMappers(t)
	// The synthesized DHCP ack, through the whole rewriter.
	var fl fieldList
	relay := cat([]byte{82, 14, 2, 6}, macC, []byte{5, 4}, v4Gw)
	routes := cat([]byte{24}, v4Far[:3], v4Rtr, []byte{0}, v4Gw)
	msg := cat([]byte{2, 1, 6, 0}, u32(1), u32(0), ip4("0.0.0.0"), v4Cli, v4Srv, v4Gw, macA, make([]byte, 10),
		make([]byte, 192), u32(dhcpCookie), []byte{53, 1, 5, 54, 4}, v4Srv, []byte{3, 4}, v4Rtr,
		[]byte{121, byte(len(routes))}, routes, relay, []byte{61, 7, 1}, macA, []byte{255, 0, 0, 0})
	n, ok := parseDHCP4(msg, 0, &fl)
	if !ok || n != len(msg)-3 {
		t.Fatalf("parseDHCP4 = (%d, %v), want (%d, true): padding after the end option is not kept", n, ok, len(msg)-3)
	}
	out := bytes.Clone(msg)
	applyFields(out, fwd, &fl)
	for _, orig := range [][]byte{v4Cli, v4Srv, v4Gw, v4Rtr, macA, macC} {
		if bytes.Contains(out[:n], orig) {
			t.Errorf("original %x still in the rewritten message", orig)
		}
	}
	if bytes.Contains(out, v4Far[:3]) {
		t.Error("route destination prefix not rewritten")
	}
	for name, bad := range map[string][]byte{
		"short":          msg[:200],
		"no end option":  msg[:len(msg)-4],
		"option overrun": cat(msg[:240], []byte{3, 200}, v4Rtr),
		"router of 5":    cat(msg[:240], []byte{3, 5}, v4Rtr, []byte{0, 255}),
		"route of /33":   cat(msg[:240], []byte{121, 6, 33}, v4Rtr, []byte{0, 255}),
	} {
		fl.n = 0
		if _, ok := parseDHCP4(bad, 0, &fl); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	// DHCPv6: relayed messages nest, but not without bound.
	inner := cat([]byte{1, 0, 0, 1}, u16(1), u16(10), u16(3), u16(1), macA)
	for range 12 {
		inner = cat([]byte{12, 0}, v6Srv, v6Cli, u16(9), u16(len(inner)), inner)
	}
	fl.n = 0
	if _, ok := parseDHCP6(inner, 0, &fl, 0); ok {
		t.Error("DHCPv6 relay nesting of 12 accepted")
	}
}

// TestMapperPassthroughAndWalk checks the pass-through list and cycle walking: no
// address is mapped into the list, every one restores, some needed walking, and
// the solicited-node and IPv4-mapped special cases.
func TestMapperPassthroughAndWalk(t *testing.T) {
	fwd, inv := sharedMappers(t)
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "127.0.0.1", "224.0.0.251", "239.255.255.250"} {
		a := binary.BigEndian.Uint32(ip4(s))
		if fwd.v4(a) != a {
			t.Errorf("%s not passed through", s)
		}
	}
	for _, s := range []string{"::", "::1", "ff02::1", "ff05::1:3"} {
		if a := [16]byte(ip6(s)); fwd.v6(a) != a {
			t.Errorf("%s not passed through", s)
		}
	}
	for _, s := range []string{"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb"} {
		if a := macUint([6]byte(mac(s))); fwd.mac(a) != a {
			t.Errorf("%s not passed through", s)
		}
	}
	// Every other address maps outside the list and back, some of them by walking.
	walked := 0
	for i := range uint32(50_000) {
		a := i * 2654435761
		if fwd.pass.has4(a) {
			continue
		}
		p := fwd.v4(a)
		if fwd.pass.has4(p) {
			t.Fatalf("%08x maps into the pass-through list: %08x", a, p)
		}
		if fwd.f4(a) != p {
			walked++
		}
		if back := inv.v4(p); back != a {
			t.Fatalf("%08x -> %08x -> %08x", a, p, back)
		}
	}
	if walked == 0 {
		t.Error("no address needed cycle walking: the test does not test it")
	}
	t.Logf("%d of 50000 IPv4 addresses walked", walked)
	// The solicited-node group keeps its prefix and maps its low 24 bits as its
	// group MAC does.
	sn := fwd.v6([16]byte(v6SN))
	snMAC := macBytes(fwd.mac(macUint([6]byte(macSN))))
	if !bytes.Equal(sn[:13], v6SN[:13]) || !bytes.Equal(sn[13:], snMAC[3:]) || bytes.Equal(sn[13:], v6SN[13:]) {
		t.Errorf("solicited-node %x -> %x, group MAC -> %x", v6SN, sn, snMAC)
	}
	if back := inv.v6(sn); !bytes.Equal(back[:], v6SN) {
		t.Errorf("solicited-node restored to %x", back)
	}
	// An IPv4-mapped IPv6 address maps as its IPv4 address.
	m := fwd.v6([16]byte(ip6("::ffff:192.0.2.10")))
	if want := fwd.v4(binary.BigEndian.Uint32(v4Cli)); binary.BigEndian.Uint32(m[12:]) != want || !bytes.Equal(m[:12], ip6("::ffff:0:0")[:12]) {
		t.Errorf("IPv4-mapped address -> %x", m)
	}
}

// TestPassthroughParse checks the text form of pass-through lists and the bound on
// how much of the address space they may cover.
func TestPassthroughParse(t *testing.T) {
	p, err := ParsePassthrough("loopback, 192.0.2.53, 2001:db8::/32,mac-zero")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "127.0.0.0/8,::1/128,192.0.2.53/32,2001:db8::/32,mac-zero"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if q, err := ParsePassthrough(p.String()); err != nil || q.String() != p.String() {
		t.Errorf("round trip: %q, %v", q.String(), err)
	}
	if d := DefaultPassthrough(); d.String() != "0.0.0.0/32,::/128,255.255.255.255/32,127.0.0.0/8,::1/128,224.0.0.0/4,ff00::/8,mac-zero,mac-broadcast,mac-multicast" {
		t.Errorf("default list %q", d.String())
	}
	for _, bad := range []string{"0.0.0.0/0", "10.0.0.0/1,128.0.0.0/2", "nonsense", "::ffff:0:0/96", "fe80::1%eth0"} {
		if _, err := ParsePassthrough(bad); err == nil {
			t.Errorf("ParsePassthrough(%q) accepted", bad)
		}
	}
	if p, err := ParsePassthrough("none"); err != nil || p.String() != "none" {
		t.Errorf("none: %q, %v", p.String(), err)
	}
}
