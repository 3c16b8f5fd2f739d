package pseudo

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/bits"
	"net/netip"
)

// CryptoPAnKeySize is the key size of Crypto-PAn: a 16-byte AES key followed
// by 16 bytes from which the pad is made.
const CryptoPAnKeySize = 32

// CryptoPAn is the prefix-preserving address anonymization of Xu, Fan, Ammar
// and Moon (2002), for IPv4 and, with the same construction over 128 bit
// positions, for IPv6. For bit i the AES input is the first i address bits
// followed by the pad from bit i on; the most significant bit of the AES
// output is XORed into bit i.
//
// A CryptoPAn is safe for concurrent use. Its zero value is not usable; call
// [NewCryptoPAn].
type CryptoPAn struct {
	f    *cpFunc
	perm *prefixPerm
}

// cpFunc is the Crypto-PAn bit function.
type cpFunc struct {
	k            *aesKey
	padHi, padLo uint64   // pad = AES_K(key[16:32])
	prk0         [16]byte // pad ^ round key 0, for the assembly kernels
}

// NewCryptoPAn returns a Crypto-PAn keyed with key, which must be
// [CryptoPAnKeySize] bytes. Creating one costs about 65,000 AES evaluations
// (the table described under "Speed" in the package documentation).
func NewCryptoPAn(key []byte, opts ...Option) (*CryptoPAn, error) {
	if len(key) != CryptoPAnKeySize {
		return nil, keySizeError("cryptopan", len(key), CryptoPAnKeySize)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	k, err := newAESKey(key[:16])
	if err != nil {
		return nil, fmt.Errorf("expanding cryptopan key: %w", err)
	}
	var pad [blockSize]byte
	encryptBlocks(k, pad[:], key[16:32])
	f := &cpFunc{
		k:     k,
		padHi: binary.BigEndian.Uint64(pad[0:]),
		padLo: binary.BigEndian.Uint64(pad[8:]),
	}
	for i := range pad {
		f.prk0[i] = pad[i] ^ k.enc[i]
	}
	clear(pad[:])
	// The first 32 bits of an IPv4 AES input are laid out exactly like the
	// first 32 bits of an IPv6 one (address bits, then pad), so both
	// families share one table of the top 16 levels.
	perm := newPrefixPerm(f, cfg, true)
	return &CryptoPAn{f: f, perm: perm}, nil
}

// bits4 implements bitFunc. The IPv4 address sits in the first 32 bits of
// the 128-bit AES input; the other 96 are always pad.
func (f *cpFunc) bits4(a uint32, from, to int) uint32 {
	r := cpBits(f, uint64(a)<<32^f.padHi, 0, from, to-from)
	// Bit j of r is position from+j, which belongs at bit 31-from-j.
	return uint32(bits.Reverse64(r) >> (32 + from))
}

// bits6 implements bitFunc, in runs of at most 64 positions.
func (f *cpFunc) bits6(hi, lo uint64, from, to int) (mhi, mlo uint64) {
	xhi, xlo := hi^f.padHi, lo^f.padLo
	for start := from; start < to; start += 64 {
		rev := bits.Reverse64(cpBits(f, xhi, xlo, start, min(64, to-start)))
		// Position start+j is now at bit 63-j; move it to bit 63-i of
		// mhi or 127-i of mlo. Go shifts of 64 or more give 0.
		if start < 64 {
			mhi |= rev >> start
			mlo |= rev << (64 - start)
		} else {
			mlo |= rev >> (start - 64)
		}
	}
	return mhi, mlo
}

// input4 implements bitFunc.
func (f *cpFunc) input4(a uint32, i int) (hi, lo uint64) {
	return f.input6(uint64(a)<<32, 0, i)
}

// input6 implements bitFunc: the first i address bits, then the pad.
func (f *cpFunc) input6(hi, lo uint64, i int) (ihi, ilo uint64) {
	mhi, mlo := prefixMask(i)
	return hi&mhi | f.padHi&^mhi, lo&mlo | f.padLo&^mlo
}

// tree4 implements bitFunc.
func (f *cpFunc) tree4(a uint32, i int) uint64 { return f.tree6(uint64(a)<<32, 0, i) }

// tree6 implements bitFunc.
func (f *cpFunc) tree6(hi, lo uint64, i int) uint64 {
	var buf [16 * blockSize]byte
	n := 0
	for k := range invDepth {
		// The k new bits sit at positions i to i+k-1, inside the address
		// part of the block, and all in one word: i is a multiple of
		// invDepth, which divides 64.
		bhi, blo := f.input6(hi, lo, i+k)
		s := uint(128-i-k) & 63 // e<<s lands in hi (i < 64) or lo
		for e := range uint64(1) << k {
			if i < 64 {
				putBlock(buf[n*blockSize:], bhi|e<<s, blo)
			} else {
				putBlock(buf[n*blockSize:], bhi, blo|e<<s)
			}
			n++
		}
	}
	// 15 blocks plus an unused one: a whole VAES group is faster than
	// the 8+4+2+1 steps of a ragged count.
	return f.evalBits(buf[:], 16)
}

// evalBits implements bitFunc: the most significant bit of each AES output.
func (f *cpFunc) evalBits(buf []byte, n int) uint64 {
	encryptBlocks(f.k, buf[:n*blockSize], buf[:n*blockSize])
	var r uint64
	for j := range n {
		r |= uint64(buf[j*blockSize]>>7) << j
	}
	return r
}

// AnonymizeIPv4 maps an IPv4 address held as a big-endian uint32. It does
// not allocate.
func (c *CryptoPAn) AnonymizeIPv4(a uint32) uint32 { return c.perm.perm4(a) }

// DeanonymizeIPv4 inverts [CryptoPAn.AnonymizeIPv4].
func (c *CryptoPAn) DeanonymizeIPv4(p uint32) uint32 { return c.perm.inv4(p) }

// Anonymize16 maps a 128-bit address with the IPv6 construction over all
// 128 bits, including IPv4-mapped addresses (this is what other Crypto-PAn
// implementations compute for IPv6 input). [CryptoPAn.Map] instead maps
// ::ffff:a.b.c.d as the IPv4 address a.b.c.d. It does not allocate.
func (c *CryptoPAn) Anonymize16(a [16]byte) [16]byte {
	hi, lo := c.perm.perm6(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]))
	return from64(hi, lo)
}

// Deanonymize16 inverts [CryptoPAn.Anonymize16].
func (c *CryptoPAn) Deanonymize16(p [16]byte) [16]byte {
	hi, lo := c.perm.inv6(binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:]))
	return from64(hi, lo)
}

// Map returns the pseudonym of a. IPv4 maps to IPv4, IPv6 to IPv6, and an
// IPv4-mapped IPv6 address ::ffff:a.b.c.d to ::ffff:w.x.y.z where w.x.y.z
// is the pseudonym of a.b.c.d, so one host has one pseudonym whichever way a
// packet spells it. An IPv6 zone is dropped. The zero Addr maps to itself.
func (c *CryptoPAn) Map(a netip.Addr) netip.Addr { return mapPrefix(c.perm, a) }

// Unmap returns the address whose pseudonym is p. It fails only for the
// zero Addr ([ErrInvalidAddr]).
func (c *CryptoPAn) Unmap(p netip.Addr) (netip.Addr, error) {
	return unmapPrefix(c.perm, "cryptopan", p)
}

// mapPrefix applies a prefix-preserving permutation to a netip.Addr.
func mapPrefix(p *prefixPerm, a netip.Addr) netip.Addr {
	switch {
	case a.Is4():
		b := a.As4()
		return netip.AddrFrom4(u32Bytes(p.perm4(binary.BigEndian.Uint32(b[:]))))
	case a.Is4In6():
		b := a.Unmap().As4()
		return mapped4(p.perm4(binary.BigEndian.Uint32(b[:])))
	case a.Is6():
		b := a.As16()
		hi, lo := p.perm6(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]))
		return netip.AddrFrom16(from64(hi, lo))
	}
	return netip.Addr{}
}

// unmapPrefix inverts mapPrefix.
func unmapPrefix(p *prefixPerm, mode string, a netip.Addr) (netip.Addr, error) {
	switch {
	case a.Is4():
		b := a.As4()
		return netip.AddrFrom4(u32Bytes(p.inv4(binary.BigEndian.Uint32(b[:])))), nil
	case a.Is4In6():
		b := a.Unmap().As4()
		return mapped4(p.inv4(binary.BigEndian.Uint32(b[:]))), nil
	case a.Is6():
		b := a.As16()
		hi, lo := p.inv6(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]))
		return netip.AddrFrom16(from64(hi, lo)), nil
	}
	return netip.Addr{}, fmt.Errorf("unmapping %s pseudonym: %w", mode, ErrInvalidAddr)
}

func u32Bytes(v uint32) [4]byte {
	return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func mapped4(v uint32) netip.Addr {
	return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: byte(v >> 24), 13: byte(v >> 16), 14: byte(v >> 8), 15: byte(v)})
}

func from64(hi, lo uint64) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return b
}

// String returns a redacted description; the key never appears.
func (c CryptoPAn) String() string { return redacted("CryptoPAn") }

// GoString implements fmt.GoStringer with the same redacted form.
func (c CryptoPAn) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (c CryptoPAn) Format(s fmt.State, verb rune) { formatRedacted(s, "CryptoPAn") }

// LogValue implements slog.LogValuer with the redacted form.
func (c CryptoPAn) LogValue() slog.Value { return slog.StringValue(c.String()) }
