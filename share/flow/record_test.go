package flow

import (
	"net/netip"
	"testing"
)

// reverseMapper is a stand-in pseudonymizer: it inverts every bit, which keeps
// prefixes (like Crypto-PAn) and makes results easy to check.
type reverseMapper struct{}

func (reverseMapper) Map(a netip.Addr) netip.Addr {
	b := a.AsSlice()
	for i := range b {
		b[i] = ^b[i]
	}
	p, _ := netip.AddrFromSlice(b)
	return p
}

func TestMapAddrLiterals(t *testing.T) {
	m := reverseMapper{}
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "63.255.253.254"},
		{"Host 192.0.2.1:8080 ok", "Host 63.255.253.254:8080 ok"},
		{"2001:db8::1", "dffe:f247:ffff:ffff:ffff:ffff:ffff:fffe"},
		{"www.example.org", "www.example.org"},
		{"1.2.0.192.in-addr.arpa", "254.253.255.63.in-addr.arpa"},
		// RFC 2317 classless delegation: the host label is mapped too.
		{"70.64.2.6.216.in-addr.arpa", "185.191.253.249.39.in-addr.arpa"},
		{"2.0.192.in-addr.arpa", "253.255.63.in-addr.arpa"},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
			"e.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.7.4.2.f.e.f.f.d.ip6.arpa"},
		{"version 1.1", "version 1.1"},
	} {
		if got := MapAddrLiterals(tc.in, m); got != tc.want {
			t.Errorf("MapAddrLiterals(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
