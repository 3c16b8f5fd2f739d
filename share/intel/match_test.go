package intel

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/flowfed/flowfed/share/pseudo"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func cryptoPAn(t testing.TB) AddrMapper {
	t.Helper()
	m, err := pseudo.NewAddrMapper(pseudo.ModeCryptoPAn, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return Infallible(m)
}

// bruteMatch finds the indicators matching a raw address by scanning.
func bruteMatch(inds []Indicator, a netip.Addr) []string {
	var out []string
	for _, ind := range inds {
		if ind.Revoked || ind.Informational {
			continue
		}
		switch ind.Type {
		case TypeIPv4, TypeIPv6:
			if netip.MustParseAddr(ind.Value) == a {
				out = append(out, ind.ID)
			}
		case TypeCIDR:
			if netip.MustParsePrefix(ind.Value).Contains(a) {
				out = append(out, ind.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestMatcherPseudonymSpace compares matching of pseudonymized addresses
// with a scan of the indicators over the raw addresses: Crypto-PAn keeps
// the answers, nested networks included.
func TestMatcherPseudonymSpace(t *testing.T) {
	var inds []Indicator
	add := func(typ Type, v string) Indicator {
		ind := newTestIndicator(t, typ, v)
		inds = append(inds, ind)
		return ind
	}
	add(TypeCIDR, "10.0.0.0/8")
	add(TypeCIDR, "10.1.0.0/16")
	add(TypeIPv4, "10.1.2.3")
	add(TypeCIDR, "192.0.2.0/24")
	add(TypeIPv4, "198.51.100.7")
	add(TypeCIDR, "2001:db8::/32")
	add(TypeCIDR, "2001:db8:1::/48")
	add(TypeIPv6, "2001:db8:1::53")
	add(TypeCIDR, "2001:db8:1:0:1::/80")
	add(TypeCIDR, "0.0.0.0/0")
	revoked := add(TypeIPv4, "203.0.113.9")
	inds[len(inds)-1].Revoked = true
	info := add(TypeIPv4, "203.0.113.10")
	inds[len(inds)-1].Informational = true
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		add(TypeIPv4, netip.AddrFrom4(b).String())
	}

	mapper := cryptoPAn(t)
	m, err := NewMatcher(inds, mapper, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	probes := []string{"10.1.2.3", "10.1.2.4", "10.2.0.1", "192.0.2.200", "198.51.100.7", "198.51.100.8", "2001:db8:1::53",
		"2001:db8:1:0:1::9", "2001:db8:2::1", "2001:db9::1", "::ffff:10.1.2.3", revoked.Value, info.Value}
	for _, ind := range inds {
		if ind.Type == TypeIPv4 {
			probes = append(probes, ind.Value)
		}
	}
	for range 2000 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if rng.IntN(4) == 0 {
			b[0] = 10
		}
		probes = append(probes, netip.AddrFrom4(b).String())
	}
	hits := 0
	for _, p := range probes {
		a := netip.MustParseAddr(p).Unmap()
		pa, _ := mapper.Map(a)
		got := slices.Sorted(slices.Values(m.MatchAddr(pa)))
		want := bruteMatch(inds, a)
		if !slices.Equal(got, want) {
			t.Errorf("MatchAddr(pseudonym of %s) = %v, want %v", p, got, want)
		}
		if len(want) > 1 {
			hits++
		}
	}
	if hits == 0 {
		t.Fatal("no probe hit nested networks")
	}
	// Order: exact first, then the most specific network.
	pa, _ := mapper.Map(netip.MustParseAddr("10.1.2.3"))
	got := m.MatchAddr(pa)
	want := []string{IndicatorID(TypeIPv4, "10.1.2.3"), IndicatorID(TypeCIDR, "10.1.0.0/16"), IndicatorID(TypeCIDR, "10.0.0.0/8"), IndicatorID(TypeCIDR, "0.0.0.0/0")}
	if !slices.Equal(got, want) {
		t.Errorf("match order %v, want %v", got, want)
	}
	if buf := m.AppendMatchAddr(make([]string, 0, 8), pa); len(buf) != 4 {
		t.Errorf("AppendMatchAddr = %v", buf)
	}
	if m.MatchAddr(netip.Addr{}) != nil {
		t.Error("the zero address matched")
	}
}

func TestMatcherRefusesCIDRWithoutPrefixPreservation(t *testing.T) {
	det, err := pseudo.NewAddrMapper(pseudo.ModeDeterministic, testKey[:16])
	if err != nil {
		t.Fatal(err)
	}
	net := newTestIndicator(t, TypeCIDR, "192.0.2.0/24")
	host := newTestIndicator(t, TypeIPv4, "192.0.2.1")
	if _, err := NewMatcher([]Indicator{host, net}, Infallible(det), false, nil); !errors.Is(err, ErrNotPrefixPreserving) {
		t.Errorf("NewMatcher(cidr, ipcrypt-det) = %v, want ErrNotPrefixPreserving", err)
	}
	// A mapper claimed prefix-preserving that changes the family is refused too.
	if _, err := NewMatcher([]Indicator{net}, Infallible(det), true, nil); !errors.Is(err, ErrNotPrefixPreserving) {
		t.Errorf("NewMatcher(cidr, family-changing) = %v, want ErrNotPrefixPreserving", err)
	}
	// Exact addresses work with any deterministic mapper, across families.
	m, err := NewMatcher([]Indicator{host}, Infallible(det), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := det.Map(netip.MustParseAddr("192.0.2.1"))
	if got := m.MatchAddr(p); !slices.Equal(got, []string{host.ID}) {
		t.Errorf("MatchAddr(ipcrypt-det pseudonym) = %v", got)
	}
	failing := AddrMapperFunc(func(netip.Addr) (netip.Addr, error) { return netip.Addr{}, errors.New("key shredded") })
	if _, err := NewMatcher([]Indicator{host}, failing, true, nil); err == nil {
		t.Error("a failing mapper built a matcher")
	}
}

func TestMatcherNames(t *testing.T) {
	tok, err := pseudo.NewTokenizer(testKey, "dns")
	if err != nil {
		t.Fatal(err)
	}
	d := newTestIndicator(t, TypeDomain, "Bücher.Example.")
	other := newTestIndicator(t, TypeURL, "http://bücher.example/")
	m, err := NewMatcher([]Indicator{d, other}, nil, false, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d, want 1 (URLs are not names)", m.Len())
	}
	if got := m.MatchName(tok.Token("xn--bcher-kva.example")); !slices.Equal(got, []string{d.ID}) {
		t.Errorf("MatchName(token) = %v", got)
	}
	for _, miss := range []string{"xn--bcher-kva.example", tok.Token("www.xn--bcher-kva.example"), ""} {
		if got := m.MatchName(miss); got != nil {
			t.Errorf("MatchName(%q) = %v", miss, got)
		}
	}
	// Without a keyer names match in the clear.
	plain, _ := NewMatcher([]Indicator{d}, nil, false, nil)
	if got := plain.MatchName("xn--bcher-kva.example"); len(got) != 1 {
		t.Errorf("plain MatchName = %v", got)
	}
}
