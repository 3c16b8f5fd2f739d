package pseudo

import (
	"crypto/aes"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Benchmarks report, besides ns/op, "aesblk/op": ns per address divided by
// the ns of one crypto/aes block encryption measured in the same run
// (BenchmarkAES128Block). That ratio says how many sequential AES calls
// the operation costs, which carries over between machines better than ns.

var benchKey = []byte("flowfed benchmark key 32 bytes!!")

const benchN = 1 << 12 // addresses per benchmark table (a power of two)

var (
	aesBlockOnce sync.Once
	aesBlockNs   float64
)

// aesBlockNanos times chained crypto/aes block encryptions the way
// BenchmarkAES128Block does (testing.Benchmark cannot run inside another
// benchmark), keeping the best of five runs of 2^20 blocks.
func aesBlockNanos() float64 {
	aesBlockOnce.Do(func() {
		c, err := aes.NewCipher(benchKey[:16])
		if err != nil {
			panic(err)
		}
		buf := make([]byte, 16)
		const n = 1 << 20
		for range 5 {
			start := time.Now()
			for range n {
				c.Encrypt(buf, buf)
			}
			ns := float64(time.Since(start).Nanoseconds()) / n
			if aesBlockNs == 0 || ns < aesBlockNs {
				aesBlockNs = ns
			}
		}
	})
	return aesBlockNs
}

// reportAESBlocks adds the aesblk/op metric.
func reportAESBlocks(b *testing.B) {
	b.Helper()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns/aesBlockNanos(), "aesblk/op")
}

func BenchmarkAES128Block(b *testing.B) {
	c, err := aes.NewCipher(benchKey[:16])
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 16)
	b.ResetTimer()
	for b.Loop() {
		// Chained, as in the classic Crypto-PAn loop: each call waits for
		// the previous one.
		c.Encrypt(buf, buf)
	}
}

func benchAddrs4() []uint32 {
	rng := rand.New(rand.NewPCG(7, 8))
	a := make([]uint32, benchN)
	for i := range a {
		a[i] = rng.Uint32()
	}
	return a
}

func benchAddrs16() [][16]byte {
	rng := rand.New(rand.NewPCG(9, 10))
	a := make([][16]byte, benchN)
	for i := range a {
		hi, lo := rng.Uint64(), rng.Uint64()
		a[i] = from64(hi, lo)
	}
	return a
}

// Realistic streams: 256 networks, random hosts. Most /24s (IPv4) and /48s
// (IPv6) repeat, as they do in captures.
func benchStream4() []uint32 {
	rng := rand.New(rand.NewPCG(11, 12))
	nets := make([]uint32, 256)
	for i := range nets {
		nets[i] = rng.Uint32() &^ 0xff
	}
	a := make([]uint32, benchN)
	for i := range a {
		a[i] = nets[rng.IntN(len(nets))] | rng.Uint32()&0xff
	}
	return a
}

func benchStream16() [][16]byte {
	rng := rand.New(rand.NewPCG(13, 14))
	nets := make([]uint64, 256)
	for i := range nets {
		nets[i] = rng.Uint64() &^ 0xffff
	}
	a := make([][16]byte, benchN)
	for i := range a {
		hi := nets[rng.IntN(len(nets))] | rng.Uint64()&0xffff
		a[i] = from64(hi, rng.Uint64())
	}
	return a
}

func BenchmarkCryptoPAnIPv4Uncached(b *testing.B) {
	c := mustCryptoPAn(b, benchKey, WithPrefixCache(0))
	addrs := benchAddrs4()
	var sink uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink ^= c.AnonymizeIPv4(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkCryptoPAnIPv6Uncached(b *testing.B) {
	c := mustCryptoPAn(b, benchKey, WithPrefixCache(0))
	addrs := benchAddrs16()
	var sink [16]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.Anonymize16(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkCryptoPAnIPv4Stream(b *testing.B) {
	c := mustCryptoPAn(b, benchKey)
	addrs := benchStream4()
	var sink uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink ^= c.AnonymizeIPv4(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkCryptoPAnIPv6Stream(b *testing.B) {
	c := mustCryptoPAn(b, benchKey)
	addrs := benchStream16()
	var sink [16]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.Anonymize16(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

// BenchmarkCryptoPAnMapAddr includes the netip.Addr conversions that
// callers holding netip.Addr values pay.
func BenchmarkCryptoPAnMapAddr(b *testing.B) {
	c := mustCryptoPAn(b, benchKey)
	raw := benchStream4()
	addrs := make([]netip.Addr, len(raw))
	for i, v := range raw {
		addrs[i] = netip.AddrFrom4(u32Bytes(v))
	}
	var sink netip.Addr
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.Map(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkCryptoPAnIPv4Deanonymize(b *testing.B) {
	c := mustCryptoPAn(b, benchKey)
	addrs := benchAddrs4()
	var sink uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink ^= c.DeanonymizeIPv4(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkCryptoPAnIPv6Deanonymize(b *testing.B) {
	c := mustCryptoPAn(b, benchKey)
	addrs := benchAddrs16()
	var sink [16]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.Deanonymize16(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

// The classic one-AES-call-per-bit Crypto-PAn, for comparison.
func BenchmarkClassicCryptoPAnIPv4(b *testing.B) {
	c := newClassicCryptoPAn(b, benchKey)
	addrs := benchAddrs4()
	var sink uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink ^= c.anonymize4(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkClassicCryptoPAnIPv6(b *testing.B) {
	c := newClassicCryptoPAn(b, benchKey)
	addrs := benchAddrs16()
	var sink [16]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.anonymize16(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkNewCryptoPAn(b *testing.B) {
	for b.Loop() {
		mustCryptoPAn(b, benchKey)
	}
	reportAESBlocks(b)
}

func BenchmarkPFXIPv4Uncached(b *testing.B) {
	c := mustPFX(b, benchKey, WithPrefixCache(0))
	addrs := benchAddrs4()
	var sink uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink ^= c.EncryptIPv4(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkPFXIPv6Uncached(b *testing.B) {
	c := mustPFX(b, benchKey, WithPrefixCache(0))
	addrs := benchAddrs16()
	var sink [16]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.Encrypt16(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkPFXIPv4Stream(b *testing.B) {
	c := mustPFX(b, benchKey)
	addrs := benchStream4()
	var sink uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink ^= c.EncryptIPv4(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkPFXIPv6Stream(b *testing.B) {
	c := mustPFX(b, benchKey)
	addrs := benchStream16()
	var sink [16]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.Encrypt16(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkIPCryptDet(b *testing.B) {
	c, err := NewIPCryptDet(benchKey[:DetKeySize])
	if err != nil {
		b.Fatal(err)
	}
	addrs := benchAddrs16()
	var sink [16]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = c.Encrypt16(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func benchAddrValues() []netip.Addr {
	raw := benchAddrs16()
	a := make([]netip.Addr, len(raw))
	for i, v := range raw {
		a[i] = netip.AddrFrom16(v)
	}
	return a
}

func BenchmarkIPCryptND(b *testing.B) {
	c, err := NewIPCryptND(benchKey[:NDKeySize])
	if err != nil {
		b.Fatal(err)
	}
	addrs := benchAddrValues()
	tweak := [NDTweakSize]byte{1, 2, 3, 4, 5, 6, 7, 8}
	var sink [NDOutputSize]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink, _ = c.Encrypt(addrs[i&(benchN-1)], tweak)
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkIPCryptNDRandom(b *testing.B) {
	c, err := NewIPCryptND(benchKey[:NDKeySize])
	if err != nil {
		b.Fatal(err)
	}
	addrs := benchAddrValues()
	var sink [NDOutputSize]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink, _ = c.EncryptRandom(addrs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkIPCryptNDDecrypt(b *testing.B) {
	c, err := NewIPCryptND(benchKey[:NDKeySize])
	if err != nil {
		b.Fatal(err)
	}
	out, _ := c.Encrypt(netip.MustParseAddr("2001:db8::1"), [NDTweakSize]byte{1})
	var sink netip.Addr
	b.ResetTimer()
	for b.Loop() {
		sink, _ = c.Decrypt(out[:])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkIPCryptNDX(b *testing.B) {
	c, err := NewIPCryptNDX(benchKey)
	if err != nil {
		b.Fatal(err)
	}
	addrs := benchAddrValues()
	tweak := [NDXTweakSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	var sink [NDXOutputSize]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink, _ = c.Encrypt(addrs[i&(benchN-1)], tweak)
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkMAC(b *testing.B) {
	m, err := NewMACMapper(benchKey, false)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 16))
	macs := make([][6]byte, benchN)
	for i := range macs {
		macs[i] = macBytes(rng.Uint64())
	}
	var sink [6]byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = m.Map(macs[i&(benchN-1)])
	}
	reportAESBlocks(b)
	_ = sink
}

func BenchmarkToken(b *testing.B) {
	tk, err := NewTokenizer(benchKey, "hostname")
	if err != nil {
		b.Fatal(err)
	}
	var sink string
	for b.Loop() {
		sink = tk.Token("mail01.corp.example.org")
	}
	reportAESBlocks(b)
	_ = sink
}
