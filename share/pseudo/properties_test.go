package pseudo

import (
	"errors"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

var propKey = []byte("flowfed property test key, 32 B!")

// prefixModes are the prefix-preserving mappers under test, each with the
// default cache and without one.
func prefixMappers(t testing.TB) map[string]AddrMapper {
	t.Helper()
	return map[string]AddrMapper{
		"cryptopan":         mustCryptoPAn(t, propKey),
		"cryptopan/nocache": mustCryptoPAn(t, propKey, WithPrefixCache(0)),
		"pfx":               mustPFX(t, propKey),
		"pfx/nocache":       mustPFX(t, propKey, WithPrefixCache(0)),
	}
}

func commonPrefixLen(a, b netip.Addr) int {
	x, y := a.AsSlice(), b.AsSlice()
	n := 0
	for i := range x {
		if d := x[i] ^ y[i]; d != 0 {
			return n + bits.LeadingZeros8(d)
		}
		n += 8
	}
	return n
}

// withCommonPrefix returns an address sharing exactly k leading bits with a
// (k < bit length): bit k flipped, later bits random.
func withCommonPrefix(rng *rand.Rand, a netip.Addr, k int) netip.Addr {
	b := a.AsSlice()
	b[k/8] ^= 0x80 >> (k % 8)
	for i := k + 1; i < len(b)*8; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] ^= 0x80 >> (i % 8)
		}
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

func randAddr(rng *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16(from64(rng.Uint64(), rng.Uint64()))
	}
	return netip.AddrFrom4(u32Bytes(rng.Uint32()))
}

// TestPrefixPreservation checks every common-prefix length: for random
// pairs sharing exactly k bits, the pseudonyms share exactly k bits.
func TestPrefixPreservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for name, m := range prefixMappers(t) {
		t.Run(name, func(t *testing.T) {
			for _, v6 := range []bool{false, true} {
				width := 32
				if v6 {
					width = 128
				}
				for k := range width {
					for range 8 {
						a := randAddr(rng, v6)
						b := withCommonPrefix(rng, a, k)
						pa, pb := m.Map(a), m.Map(b)
						if got := commonPrefixLen(pa, pb); got != k {
							t.Fatalf("common prefix of Map(%s)=%s and Map(%s)=%s is %d bits, want %d",
								a, pa, b, pb, got, k)
						}
					}
				}
			}
		})
	}
}

// TestBijectionExhaustive maps a whole IPv4 /16 and IPv6 /112: 65536 distinct
// inputs must give 65536 distinct pseudonyms in one /16 (or /112), and each
// must map back.
func TestBijectionExhaustive(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive bijection check skipped in -short mode")
	}
	nets := []netip.Addr{netip.MustParseAddr("198.51.0.0"), netip.MustParseAddr("2001:db8:1:2:3:4:5:0")}
	for _, name := range []string{"cryptopan", "pfx"} {
		m := prefixMappers(t)[name]
		for _, base := range nets {
			t.Run(name+"/"+base.String(), func(t *testing.T) {
				seen := make(map[netip.Addr]bool, 1<<16)
				b := base.AsSlice()
				var outPrefix netip.Prefix
				for i := range 1 << 16 {
					b[len(b)-2], b[len(b)-1] = byte(i>>8), byte(i)
					a, _ := netip.AddrFromSlice(b)
					p := m.Map(a)
					if seen[p] {
						t.Fatalf("Map(%s) = %s, already the pseudonym of another address", a, p)
					}
					seen[p] = true
					pfx, _ := p.Prefix(p.BitLen() - 16)
					if i == 0 {
						outPrefix = pfx
					} else if pfx != outPrefix {
						t.Fatalf("Map(%s) = %s, outside %s", a, p, outPrefix)
					}
					if back, err := m.Unmap(p); err != nil || back != a {
						t.Fatalf("Unmap(%s) = %s, %v; want %s", p, back, err, a)
					}
				}
			})
		}
	}
}

// TestRoundTripAllModes checks decrypt(encrypt(x)) = x for every mode on
// IPv4, IPv6 and IPv4-mapped addresses.
func TestRoundTripAllModes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	addrs := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
		netip.MustParseAddr("::ffff:192.0.2.1"),
	}
	for range 200 {
		addrs = append(addrs, randAddr(rng, false), randAddr(rng, true),
			netip.AddrFrom16(randAddr(rng, false).As16()))
	}
	forEachImpl(t, func(t *testing.T) {
		for _, m := range Modes() {
			key := propKey[:m.KeySize()]
			if m.FormatPreserving() {
				mp, err := NewAddrMapper(m, key)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range addrs {
					p := mp.Map(a)
					back, err := mp.Unmap(p)
					want := a
					if m == ModeDeterministic {
						want = a.Unmap() // the 16-byte form does not keep ::ffff: apart
					}
					if err != nil || back != want {
						t.Errorf("%s: Unmap(Map(%s)=%s) = %s, %v", m, a, p, back, err)
					}
					if m.PrefixPreserving() && (p.Is4() != a.Is4() || p.Is4In6() != a.Is4In6()) {
						t.Errorf("%s: Map(%s) = %s changes the address form", m, a, p)
					}
				}
				continue
			}
			for _, a := range addrs {
				var back netip.Addr
				var err error
				if m == ModeND {
					c, _ := NewIPCryptND(key)
					out, _ := c.EncryptRandom(a)
					back, err = c.Decrypt(out[:])
				} else {
					c, _ := NewIPCryptNDX(key)
					out, _ := c.EncryptRandom(a)
					back, err = c.Decrypt(out[:])
				}
				if err != nil || back != a.Unmap() {
					t.Errorf("%s: Decrypt(Encrypt(%s)) = %s, %v", m, a, back, err)
				}
			}
		}
	})
	c, _ := NewIPCrypt2015(propKey[:16])
	for range 1000 {
		a := u32Bytes(rng.Uint32())
		if got := c.Decrypt(c.Encrypt(a)); got != a {
			t.Fatalf("ipcrypt 2015: Decrypt(Encrypt(%v)) = %v", a, got)
		}
	}
}

func TestNonDeterministicModesDiffer(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	nd, _ := NewIPCryptND(propKey[:NDKeySize])
	x, _ := nd.EncryptRandom(a)
	y, _ := nd.EncryptRandom(a)
	if x == y {
		t.Errorf("ipcrypt-nd EncryptRandom gave %x twice", x)
	}
	ndx, _ := NewIPCryptNDX(propKey)
	u, _ := ndx.EncryptRandom(a)
	v, _ := ndx.EncryptRandom(a)
	if u == v {
		t.Errorf("ipcrypt-ndx EncryptRandom gave %x twice", u)
	}
}

// stream returns a capture-like sequence: 64 networks, few hosts each, so
// that prefixes and whole addresses repeat.
func stream(rng *rand.Rand, n int) []netip.Addr {
	var nets []netip.Addr
	for range 32 {
		nets = append(nets, randAddr(rng, false), randAddr(rng, true))
	}
	out := make([]netip.Addr, n)
	for i := range out {
		b := nets[rng.IntN(len(nets))].AsSlice()
		b[len(b)-1] = byte(rng.IntN(8))
		out[i], _ = netip.AddrFromSlice(b)
	}
	return out
}

// TestMappingIsPure: the pseudonym depends on the address alone. Mapping a
// stream in order, in reverse with unrelated addresses interleaved, with no
// cache and with a one-entry cache that thrashes gives the same results, so
// source and destination addresses of a packet are mapped independently.
func TestMappingIsPure(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	s := stream(rng, 4000)
	for _, m := range []Mode{ModeCryptoPAn, ModePFX} {
		ref, _ := NewAddrMapper(m, propKey, WithPrefixCache(0))
		want := make([]netip.Addr, len(s))
		for i, a := range s {
			want[i] = ref.Map(a)
		}
		for _, entries := range []int{DefaultCacheEntries, 1, 3, 0} {
			mp, err := NewAddrMapper(m, propKey, WithPrefixCache(entries))
			if err != nil {
				t.Fatal(err)
			}
			for i := len(s) - 1; i >= 0; i-- {
				mp.Map(randAddr(rng, i%2 == 0)) // unrelated traffic in between
				if got := mp.Map(s[i]); got != want[i] {
					t.Fatalf("%s (cache %d): Map(%s) = %s, want %s", m, entries, s[i], got, want[i])
				}
			}
		}
	}
}

// TestConcurrentUse shares one mapper with a small, contended cache between
// goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	s := stream(rng, 2000)
	for _, m := range []Mode{ModeCryptoPAn, ModePFX} {
		ref, _ := NewAddrMapper(m, propKey, WithPrefixCache(0))
		want := make([]netip.Addr, len(s))
		for i, a := range s {
			want[i] = ref.Map(a)
		}
		shared, _ := NewAddrMapper(m, propKey, WithPrefixCache(16))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for j := range s {
					i := (j*7 + g*131) % len(s)
					if got := shared.Map(s[i]); got != want[i] {
						errs <- errors.New(m.String() + ": concurrent Map(" + s[i].String() + ") = " +
							got.String() + ", want " + want[i].String())
						return
					}
					if back, err := shared.Unmap(want[i]); err != nil || back != s[i] {
						errs <- errors.New(m.String() + ": concurrent Unmap(" + want[i].String() + ") = " + back.String())
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// TestIPv4MappedForm: ::ffff:a.b.c.d gets the pseudonym of a.b.c.d, in the
// same form as the input for the prefix-preserving modes.
func TestIPv4MappedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for _, m := range []Mode{ModeCryptoPAn, ModePFX, ModeDeterministic} {
		mp, _ := NewAddrMapper(m, propKey[:m.KeySize()])
		for range 100 {
			v4 := randAddr(rng, false)
			v4in6 := netip.AddrFrom16(v4.As16())
			p4, p6 := mp.Map(v4), mp.Map(v4in6)
			want := netip.AddrFrom16(p4.As16())
			if m == ModeDeterministic {
				want = p4
			}
			if p6 != want {
				t.Fatalf("%s: Map(%s) = %s, want %s (Map(%s) = %s)", m, v4in6, p6, want, v4, p4)
			}
		}
	}
}

func TestZeroAddrAndZone(t *testing.T) {
	for _, m := range []Mode{ModeCryptoPAn, ModePFX, ModeDeterministic} {
		mp, _ := NewAddrMapper(m, propKey[:m.KeySize()])
		if got := mp.Map(netip.Addr{}); got.IsValid() {
			t.Errorf("%s: Map(zero Addr) = %s, want the zero Addr", m, got)
		}
		if _, err := mp.Unmap(netip.Addr{}); !errors.Is(err, ErrInvalidAddr) {
			t.Errorf("%s: Unmap(zero Addr) error = %v, want ErrInvalidAddr", m, err)
		}
		zoned := netip.MustParseAddr("fe80::1%eth0")
		if got, want := mp.Map(zoned), mp.Map(zoned.WithZone("")); got != want {
			t.Errorf("%s: Map(%s) = %s, want %s (zone dropped)", m, zoned, got, want)
		}
	}
	nd, _ := NewIPCryptND(propKey[:NDKeySize])
	if _, err := nd.Encrypt(netip.Addr{}, [8]byte{}); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("ipcrypt-nd Encrypt(zero Addr) error = %v, want ErrInvalidAddr", err)
	}
	ndx, _ := NewIPCryptNDX(propKey)
	if _, err := ndx.Encrypt(netip.Addr{}, [16]byte{}); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("ipcrypt-ndx Encrypt(zero Addr) error = %v, want ErrInvalidAddr", err)
	}
}

func TestFrom16(t *testing.T) {
	if got := from16(netip.MustParseAddr("::ffff:1.2.3.4").As16()); got != netip.MustParseAddr("1.2.3.4") {
		t.Errorf("from16(::ffff:1.2.3.4) = %s, want 1.2.3.4", got)
	}
	if got := from16(netip.MustParseAddr("::1.2.3.4").As16()); !got.Is6() {
		t.Errorf("from16(::1.2.3.4) = %s, want an IPv6 address", got)
	}
}

// TestFastPathsMatchClassic compares the batched Crypto-PAn with the classic
// one-AES-per-bit loop on random addresses.
func TestFastPathsMatchClassic(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	classic := newClassicCryptoPAn(t, propKey)
	forEachImpl(t, func(t *testing.T) {
		c := mustCryptoPAn(t, propKey)
		for range 300 {
			a := rng.Uint32()
			if got, want := c.AnonymizeIPv4(a), classic.anonymize4(a); got != want {
				t.Fatalf("AnonymizeIPv4(%v) = %v, classic %v", u32Bytes(a), u32Bytes(got), u32Bytes(want))
			}
			b := from64(rng.Uint64(), rng.Uint64())
			if got, want := c.Anonymize16(b), classic.anonymize16(b); got != want {
				t.Fatalf("Anonymize16(%x) = %x, classic %x", b, got, want)
			}
		}
	})
}

func TestMACMapper(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, keepOUI := range []bool{false, true} {
		m, err := NewMACMapper(propKey, keepOUI)
		if err != nil {
			t.Fatal(err)
		}
		seen := make(map[[6]byte][6]byte, 1<<16)
		base := macBytes(rng.Uint64())
		for i := range 1 << 16 {
			mac := base
			if i >= 1<<15 {
				mac = macBytes(rng.Uint64()) // random sample across OUIs and flag bits
			} else {
				mac[4], mac[5] = byte(i>>8), byte(i) // a dense block
			}
			p := m.Map(mac)
			if p[0]&3 != mac[0]&3 {
				t.Fatalf("keepOUI=%v: Map(%x) = %x changes the I/G or U/L bit", keepOUI, mac, p)
			}
			if keepOUI && [3]byte(p[:3]) != [3]byte(mac[:3]) {
				t.Fatalf("keepOUI: Map(%x) = %x changes the OUI", mac, p)
			}
			if prev, ok := seen[p]; ok && prev != mac {
				t.Fatalf("keepOUI=%v: Map(%x) = Map(%x) = %x", keepOUI, mac, prev, p)
			}
			seen[p] = mac
			if back := m.Unmap(p); back != mac {
				t.Fatalf("keepOUI=%v: Unmap(Map(%x)) = %x", keepOUI, mac, back)
			}
		}
		mac := [6]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
		if m.Map(mac) == mac {
			t.Errorf("keepOUI=%v: Map(%x) is the identity", keepOUI, mac)
		}
	}
	// The OUI tweaks the permutation of the low 24 bits.
	m, _ := NewMACMapper(propKey, true)
	a, b := m.Map([6]byte{0, 0, 1, 7, 7, 7}), m.Map([6]byte{0, 0, 2, 7, 7, 7})
	if [3]byte(a[3:]) == [3]byte(b[3:]) {
		t.Errorf("keepOUI: equal low halves under different OUIs: %x, %x", a, b)
	}
	// Subkeys are derived per purpose: the MAC mapper's AES key is not
	// the first 16 bytes that Crypto-PAn uses directly.
	if m.k.enc == mustAESKey(t, propKey[:16]).enc {
		t.Error("MAC mapper uses the raw key as its AES key")
	}
}

func TestTokenizer(t *testing.T) {
	host, err := NewTokenizer(propKey, "hostname")
	if err != nil {
		t.Fatal(err)
	}
	user, _ := NewTokenizer(propKey, "username")
	other, _ := NewTokenizer([]byte("another key of at least 16 bytes"), "hostname")
	a, b := host.Token("mail.example.org"), host.Token("mail.example.org")
	if a != b {
		t.Errorf("Token is not deterministic: %q, %q", a, b)
	}
	if len(a) != len(TokenPrefix)+26 || a[:len(TokenPrefix)] != TokenPrefix {
		t.Errorf("Token = %q, want %q and 26 characters", a, TokenPrefix)
	}
	for _, r := range a[len(TokenPrefix):] {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			t.Errorf("Token %q has %q outside lowercase base32", a, r)
		}
	}
	for _, tt := range []struct{ name, x, y string }{
		{"inputs", a, host.Token("mail2.example.org")},
		{"contexts", a, user.Token("mail.example.org")},
		{"keys", a, other.Token("mail.example.org")},
		{"case", a, host.Token("MAIL.example.org")},
		{"empty", host.Token(""), user.Token("")},
	} {
		if tt.x == tt.y {
			t.Errorf("different %s give the same token %q", tt.name, tt.x)
		}
	}
}

func TestKeyValidation(t *testing.T) {
	same := append(append([]byte{}, propKey[:16]...), propKey[:16]...)
	ctors := []struct {
		name string
		size int
		new  func([]byte) error
	}{
		{"cryptopan", 32, func(k []byte) error { _, err := NewCryptoPAn(k); return err }},
		{"pfx", 32, func(k []byte) error { _, err := NewIPCryptPFX(k); return err }},
		{"det", 16, func(k []byte) error { _, err := NewIPCryptDet(k); return err }},
		{"nd", 16, func(k []byte) error { _, err := NewIPCryptND(k); return err }},
		{"ndx", 32, func(k []byte) error { _, err := NewIPCryptNDX(k); return err }},
		{"2015", 16, func(k []byte) error { _, err := NewIPCrypt2015(k); return err }},
	}
	for _, c := range ctors {
		for _, n := range []int{0, 1, c.size - 1, c.size + 1, 64} {
			if err := c.new(make([]byte, n)); !errors.Is(err, ErrKeySize) {
				t.Errorf("%s with a %d-byte key: error %v, want ErrKeySize", c.name, n, err)
			}
		}
		if err := c.new(propKey[:c.size]); err != nil {
			t.Errorf("%s with a %d-byte key: %v", c.name, c.size, err)
		}
	}
	for name, f := range map[string]func([]byte) error{
		"pfx": func(k []byte) error { _, err := NewIPCryptPFX(k); return err },
		"ndx": func(k []byte) error { _, err := NewIPCryptNDX(k); return err },
		"mapper": func(k []byte) error {
			_, err := NewAddrMapper(ModePFX, k)
			return err
		},
	} {
		if err := f(same); !errors.Is(err, ErrWeakKey) {
			t.Errorf("%s with equal halves: error %v, want ErrWeakKey", name, err)
		}
	}
	if _, err := NewMACMapper(propKey[:15], false); !errors.Is(err, ErrKeySize) {
		t.Errorf("NewMACMapper with 15 bytes: error %v, want ErrKeySize", err)
	}
	if _, err := NewTokenizer(nil, "x"); !errors.Is(err, ErrKeySize) {
		t.Errorf("NewTokenizer with no key: error %v, want ErrKeySize", err)
	}
	for _, n := range []int{-1, MaxCacheEntries + 1} {
		if _, err := NewCryptoPAn(propKey, WithPrefixCache(n)); !errors.Is(err, ErrBadOption) {
			t.Errorf("WithPrefixCache(%d): error %v, want ErrBadOption", n, err)
		}
	}
}

func TestModes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Mode
	}{
		{"cryptopan", ModeCryptoPAn}, {"CryptoPAn", ModeCryptoPAn}, {" ipcrypt-pfx ", ModePFX},
		{"ipcrypt-det", ModeDeterministic}, {"ipcrypt-deterministic", ModeDeterministic},
		{"ipcrypt-nd", ModeND}, {"IPCRYPT-NDX", ModeNDX},
	} {
		got, err := ParseMode(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	_, err := ParseMode("crypto-pan")
	if !errors.Is(err, ErrUnknownMode) {
		t.Fatalf("ParseMode(crypto-pan) error = %v, want ErrUnknownMode", err)
	}
	for _, m := range Modes() {
		if !strings.Contains(err.Error(), string(m)) {
			t.Errorf("error %q does not list %s", err, m)
		}
		var back Mode
		text, err := m.MarshalText()
		if err != nil || back.UnmarshalText(text) != nil || back != m {
			t.Errorf("text round trip of %s = %q, %v", m, back, err)
		}
	}
	if _, err := Mode("bogus").MarshalText(); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("MarshalText(bogus) error = %v, want ErrUnknownMode", err)
	}
	want := map[Mode][3]int{ // key size, format-preserving, prefix-preserving
		ModeCryptoPAn: {32, 1, 1}, ModePFX: {32, 1, 1}, ModeDeterministic: {16, 1, 0},
		ModeND: {16, 0, 0}, ModeNDX: {32, 0, 0}, "bogus": {0, 0, 0},
	}
	for m, w := range want {
		got := [3]int{m.KeySize(), b2i(m.FormatPreserving()), b2i(m.PrefixPreserving())}
		if got != w {
			t.Errorf("%s: KeySize, FormatPreserving, PrefixPreserving = %v, want %v", m, got, w)
		}
	}
	for _, m := range []Mode{ModeND, ModeNDX} {
		if _, err := NewAddrMapper(m, propKey[:m.KeySize()]); !errors.Is(err, ErrNotFormatPreserving) {
			t.Errorf("NewAddrMapper(%s) error = %v, want ErrNotFormatPreserving", m, err)
		}
	}
	if _, err := NewAddrMapper("bogus", propKey); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("NewAddrMapper(bogus) error = %v, want ErrUnknownMode", err)
	}
}

func TestNDDecryptRejectsWrongLength(t *testing.T) {
	nd, _ := NewIPCryptND(propKey[:NDKeySize])
	ndx, _ := NewIPCryptNDX(propKey)
	for _, n := range []int{0, 1, 16, 23, 25, 31, 33} {
		if _, err := nd.Decrypt(make([]byte, n)); (n != NDOutputSize) != errors.Is(err, ErrNotPseudonym) {
			t.Errorf("ipcrypt-nd Decrypt(%d bytes) error = %v", n, err)
		}
		if _, err := ndx.Decrypt(make([]byte, n)); (n != NDXOutputSize) != errors.Is(err, ErrNotPseudonym) {
			t.Errorf("ipcrypt-ndx Decrypt(%d bytes) error = %v", n, err)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCacheMemoryBound pins down the memory figures in the documentation:
// 32 bytes per entry pair, rounded up to a power of two.
func TestCacheMemoryBound(t *testing.T) {
	if got := unsafe.Sizeof(atomic.Uint64{}) + unsafe.Sizeof(entry6{}); got != cacheEntryBytes {
		t.Errorf("an IPv4 plus an IPv6 cache entry take %d bytes, documented %d", got, cacheEntryBytes)
	}
	for _, tt := range []struct{ entries, want int }{{1, 1}, {3, 4}, {1000, 1024}, {DefaultCacheEntries, 4096}} {
		c := mustCryptoPAn(t, propKey, WithPrefixCache(tt.entries))
		if len(c.perm.c4.entries) != tt.want || len(c.perm.c6.entries) != tt.want {
			t.Errorf("WithPrefixCache(%d): %d and %d entries, want %d", tt.entries,
				len(c.perm.c4.entries), len(c.perm.c6.entries), tt.want)
		}
	}
	if c := mustCryptoPAn(t, propKey, WithPrefixCache(0)); c.perm.c4 != nil || c.perm.c6 != nil {
		t.Error("WithPrefixCache(0) still has a cache")
	}
}
