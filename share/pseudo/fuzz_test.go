package pseudo

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
)

// addrFromBytes reads an address from fuzz input: 16 or more bytes are an
// IPv6 address (possibly IPv4-mapped), 4 to 15 an IPv4 address.
func addrFromBytes(b []byte) (netip.Addr, bool) {
	switch {
	case len(b) >= 16:
		return netip.AddrFrom16([16]byte(b[:16])), true
	case len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4])), true
	}
	return netip.Addr{}, false
}

// sameFamily turns b into an address of a's length (zero-padded), keeping
// the IPv4-mapped prefix when a has one so that both take the same path.
func sameFamily(a netip.Addr, b []byte) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom4([4]byte(append(b, make([]byte, 4)...)[:4]))
	}
	v := [16]byte(append(b, make([]byte, 16)...)[:16])
	if a.Is4In6() {
		copy(v[:12], []byte{10: 0xff, 11: 0xff})
	}
	return netip.AddrFrom16(v)
}

func fuzzPrefixMapper(f *testing.F, mappers ...AddrMapper) {
	f.Add([]byte{192, 0, 2, 1}, []byte{192, 0, 2, 200})
	f.Add([]byte{0, 0, 0, 0}, []byte{255, 255, 255, 255})
	f.Add(netip.MustParseAddr("2001:db8::1").AsSlice(), netip.MustParseAddr("2001:db8::8000:0:0:1").AsSlice())
	f.Add(netip.MustParseAddr("::ffff:198.51.100.7").AsSlice(), []byte{198, 51, 100, 9})
	f.Add([]byte{1, 2}, []byte{})
	f.Fuzz(func(t *testing.T, x, y []byte) {
		a, ok := addrFromBytes(x)
		if !ok || len(x) > 64 || len(y) > 64 {
			return
		}
		b := sameFamily(a, y)
		for _, m := range mappers {
			pa, pb := m.Map(a), m.Map(b)
			back, err := m.Unmap(pa)
			if err != nil || back != a {
				t.Fatalf("%v: Unmap(Map(%s) = %s) = %s, %v", m, a, pa, back, err)
			}
			if pa.Is4() != a.Is4() || pa.Is4In6() != a.Is4In6() {
				t.Fatalf("%v: Map(%s) = %s changes the address form", m, a, pa)
			}
			if got, want := commonPrefixLen(pa, pb), commonPrefixLen(a, b); got != want {
				t.Fatalf("%v: Map(%s) = %s and Map(%s) = %s share %d bits, inputs %d",
					m, a, pa, b, pb, got, want)
			}
		}
	})
}

// FuzzCryptoPAnRoundTrip checks Unmap(Map(a)) = a and prefix preservation
// against a second address, with and without the prefix cache.
func FuzzCryptoPAnRoundTrip(f *testing.F) {
	fuzzPrefixMapper(f, mustCryptoPAn(f, propKey), mustCryptoPAn(f, propKey, WithPrefixCache(0)))
}

// FuzzPFXRoundTrip is FuzzCryptoPAnRoundTrip for ipcrypt-pfx.
func FuzzPFXRoundTrip(f *testing.F) {
	fuzzPrefixMapper(f, mustPFX(f, propKey), mustPFX(f, propKey, WithPrefixCache(0)))
}

// FuzzIPCryptNDDecrypt feeds arbitrary bytes to the ipcrypt-nd and
// ipcrypt-ndx decrypters: they must never panic, and whatever they accept
// must encrypt back to the same bytes (both are permutations per tweak).
func FuzzIPCryptNDDecrypt(f *testing.F) {
	nd, err := NewIPCryptND(propKey[:NDKeySize])
	if err != nil {
		f.Fatal(err)
	}
	ndx, err := NewIPCryptNDX(propKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustHex(f, "08e0c289bff23b7cb349aadfe3bcef56221c384c7c217b16"))
	f.Add(mustHex(f, "21bd1834bc088cd2b4ecbe30b70898d782db0d4125fdace61db35b8339f20ee5"))
	f.Add([]byte{})
	f.Add(make([]byte, 23))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Longer inputs exercise nothing new, but would reach fresh
		// coverage in the error formatting (more digits) and make the
		// fuzzer spend its time minimizing them.
		if len(b) > 64 {
			return
		}
		if a, err := nd.Decrypt(b); err == nil {
			out, err := nd.Encrypt(a, [NDTweakSize]byte(b[:NDTweakSize]))
			if err != nil || !bytes.Equal(out[:], b) {
				t.Fatalf("ipcrypt-nd: Encrypt(Decrypt(%x) = %s) = %x, %v", b, a, out, err)
			}
		} else if len(b) == NDOutputSize {
			t.Fatalf("ipcrypt-nd: Decrypt(%x): %v", b, err)
		}
		if a, err := ndx.Decrypt(b); err == nil {
			out, err := ndx.Encrypt(a, [NDXTweakSize]byte(b[:NDXTweakSize]))
			if err != nil || !bytes.Equal(out[:], b) {
				t.Fatalf("ipcrypt-ndx: Encrypt(Decrypt(%x) = %s) = %x, %v", b, a, out, err)
			}
		} else if len(b) == NDXOutputSize {
			t.Fatalf("ipcrypt-ndx: Decrypt(%x): %v", b, err)
		}
	})
}

// FuzzAESImplsAgree compares every AES code path of this machine with the
// generic one on fuzzed keys and blocks: bulk encryption, one-block
// decryption, the KIASU-BC schedules and both bit kernels.
func FuzzAESImplsAgree(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0x5a}, 32), []byte("some blocks of data to encrypt, more than one"), uint8(16), uint8(16))
	f.Add(make([]byte, 32), []byte{}, uint8(0), uint8(1))
	f.Add(propKey, bytes.Repeat([]byte{0xff}, 300), uint8(127), uint8(64))
	f.Fuzz(func(t *testing.T, key, data []byte, from, n uint8) {
		if len(key) < 32 || len(key) > 64 || len(data) > 512 {
			return
		}
		k1, k2 := mustAESKey(t, key[:16]), mustAESKey(t, key[16:32])
		data = data[:len(data)/blockSize*blockSize]
		start, count := int(from)%128, 1+int(n)%64
		count = min(count, 128-start)
		var in16 [blockSize]byte
		copy(in16[:], data)
		var xhi, xlo uint64
		if len(data) >= 16 {
			xhi, xlo = bytesToU64(data[:8]), bytesToU64(data[8:16])
		}
		cp := &cpFunc{k: k1, padHi: bytesToU64(key[16:24]), padLo: bytesToU64(key[24:32])}
		for i := range cp.prk0 {
			cp.prk0[i] = key[16+i] ^ k1.enc[i]
		}
		pf := &pfxFunc{k1: k1, k2: k2}
		type result struct {
			enc        []byte
			dec, kiasu [blockSize]byte
			cp, pf     uint64
		}
		run := func() result {
			var r result
			r.enc = make([]byte, len(data))
			encryptBlocks(k1, r.enc, data)
			decryptBlock(k1, &r.dec, &in16)
			tw := padTweak([NDTweakSize]byte(key[:8]))
			var c [blockSize]byte
			kiasuEncrypt(k1, &tw, &c, &in16)
			kiasuDecrypt(k1, &tw, &r.kiasu, &c)
			if r.kiasu != in16 {
				t.Fatalf("KIASU-BC decrypt(encrypt(%x)) = %x", in16, r.kiasu)
			}
			r.kiasu = c
			r.cp = cpBits(cp, xhi, xlo, start, count)
			r.pf = pfxBits(pf, xhi, xlo, start, count)
			return r
		}
		impls := aesImpls()
		slices.Reverse(impls) // "generic" first
		var want result
		for i, impl := range impls {
			restore := setAESImpl(impl)
			got := run()
			restore()
			if i == 0 {
				want = got
				continue
			}
			if !bytes.Equal(got.enc, want.enc) || got.dec != want.dec || got.kiasu != want.kiasu ||
				got.cp != want.cp || got.pf != want.pf {
				t.Fatalf("%s disagrees with generic: %+v vs %+v", impl, got, want)
			}
		}
	})
}

// FuzzMACRoundTrip checks Unmap(Map(m)) = m and the kept bits.
func FuzzMACRoundTrip(f *testing.F) {
	plain, _ := NewMACMapper(propKey, false)
	oui, _ := NewMACMapper(propKey, true)
	f.Add([]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 6 || len(b) > 64 {
			return
		}
		mac := [6]byte(b[:6])
		for _, m := range []*MACMapper{plain, oui} {
			p := m.Map(mac)
			if back := m.Unmap(p); back != mac || p[0]&3 != mac[0]&3 {
				t.Fatalf("keepOUI=%v: Map(%x) = %x, Unmap = %x", m.keepOUI, mac, p, back)
			}
		}
	})
}

func bytesToU64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}
