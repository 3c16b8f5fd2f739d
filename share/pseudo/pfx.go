package pseudo

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/bits"
	"net/netip"
)

// PFXKeySize is the key size of ipcrypt-pfx: K1 || K2, two AES-128 keys.
const PFXKeySize = 32

// IPCryptPFX is ipcrypt-pfx from draft-denis-ipcrypt: prefix-preserving
// encryption in which the bit function is the least significant bit of
// AES_K1(p) xor AES_K2(p), for p the padded prefix (zeros, a 1 bit, then the
// prefix bits). IPv4 addresses stay 4 bytes; the draft processes them as
// the last 32 bit positions of their IPv4-mapped form.
//
// An IPCryptPFX is safe for concurrent use. Create one with [NewIPCryptPFX].
type IPCryptPFX struct {
	f    *pfxFunc
	perm *prefixPerm
}

type pfxFunc struct {
	k1, k2 *aesKey
}

// NewIPCryptPFX returns an ipcrypt-pfx mapper. key must be [PFXKeySize]
// bytes with differing halves ([ErrWeakKey] otherwise). Creating one costs
// about 260,000 AES evaluations for the two precomputed tables (see "Speed"
// in the package documentation).
func NewIPCryptPFX(key []byte, opts ...Option) (*IPCryptPFX, error) {
	if len(key) != PFXKeySize {
		return nil, keySizeError("ipcrypt-pfx", len(key), PFXKeySize)
	}
	if subtle.ConstantTimeCompare(key[:16], key[16:]) == 1 {
		return nil, fmt.Errorf("creating ipcrypt-pfx: %w", ErrWeakKey)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	k1, err := newAESKey(key[:16])
	if err != nil {
		return nil, fmt.Errorf("expanding ipcrypt-pfx key: %w", err)
	}
	k2, err := newAESKey(key[16:])
	if err != nil {
		return nil, fmt.Errorf("expanding ipcrypt-pfx key: %w", err)
	}
	f := &pfxFunc{k1: k1, k2: k2}
	perm := newPrefixPerm(f, cfg, false)
	return &IPCryptPFX{f: f, perm: perm}, nil
}

// bits4 implements bitFunc. IPv4 position i is position 96+i of the
// IPv4-mapped address ::ffff:a.
func (f *pfxFunc) bits4(a uint32, from, to int) uint32 {
	r := pfxBits(f, 0, 0xffff<<32|uint64(a), 96+from, to-from)
	// Bit j of r is position from+j, which belongs at bit 31-from-j.
	return uint32(bits.Reverse64(r) >> (32 + from))
}

// bits6 implements bitFunc, in runs of at most 64 positions.
func (f *pfxFunc) bits6(hi, lo uint64, from, to int) (mhi, mlo uint64) {
	for start := from; start < to; start += 64 {
		rev := bits.Reverse64(pfxBits(f, hi, lo, start, min(64, to-start)))
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

// input4 implements bitFunc: IPv4 position i is position 96+i of ::ffff:a.
func (f *pfxFunc) input4(a uint32, i int) (hi, lo uint64) {
	return pfxPadded(0, 0xffff<<32|uint64(a), 96+i)
}

// input6 implements bitFunc.
func (f *pfxFunc) input6(hi, lo uint64, i int) (ihi, ilo uint64) {
	return pfxPadded(hi, lo, i)
}

// tree4 implements bitFunc.
func (f *pfxFunc) tree4(a uint32, i int) uint64 { return f.tree6(0, 0xffff<<32|uint64(a), 96+i) }

// tree6 implements bitFunc.
func (f *pfxFunc) tree6(hi, lo uint64, i int) uint64 {
	var buf [16 * blockSize]byte
	n := 0
	for k := range invDepth {
		for e := range uint64(1) << k {
			ehi, elo := shl128(e, 128-i-k)
			ih, il := pfxPadded(hi|ehi, lo|elo, i+k)
			putBlock(buf[n*blockSize:], ih, il)
			n++
		}
	}
	return f.evalBits(buf[:], 16)
}

// evalBits implements bitFunc.
func (f *pfxFunc) evalBits(buf []byte, n int) uint64 {
	return prf2Bits(f.k1, f.k2, buf, n)
}

// EncryptIPv4 encrypts an IPv4 address held as a big-endian uint32. It does
// not allocate.
func (c *IPCryptPFX) EncryptIPv4(a uint32) uint32 { return c.perm.perm4(a) }

// DecryptIPv4 inverts [IPCryptPFX.EncryptIPv4].
func (c *IPCryptPFX) DecryptIPv4(p uint32) uint32 { return c.perm.inv4(p) }

// Encrypt16 encrypts a 16-byte address as IPv6, over all 128 bits. The
// draft encrypts an IPv4-mapped address as IPv4 instead; [IPCryptPFX.Map]
// does that. It does not allocate.
func (c *IPCryptPFX) Encrypt16(a [16]byte) [16]byte {
	hi, lo := c.perm.perm6(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]))
	return from64(hi, lo)
}

// Decrypt16 inverts [IPCryptPFX.Encrypt16].
func (c *IPCryptPFX) Decrypt16(p [16]byte) [16]byte {
	hi, lo := c.perm.inv6(binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:]))
	return from64(hi, lo)
}

// Map returns the pseudonym of a. IPv4 maps to IPv4 and IPv6 to IPv6. As
// the draft requires, ::ffff:a.b.c.d gets the same pseudonym as a.b.c.d; it
// keeps its IPv4-mapped form. An IPv6 zone is dropped and the zero Addr
// maps to itself.
func (c *IPCryptPFX) Map(a netip.Addr) netip.Addr { return mapPrefix(c.perm, a) }

// Unmap returns the address whose pseudonym is p. It fails only for the
// zero Addr ([ErrInvalidAddr]).
func (c *IPCryptPFX) Unmap(p netip.Addr) (netip.Addr, error) {
	return unmapPrefix(c.perm, "ipcrypt-pfx", p)
}

// String returns a redacted description; the key never appears.
func (c IPCryptPFX) String() string { return redacted("IPCryptPFX") }

// GoString implements fmt.GoStringer with the same redacted form.
func (c IPCryptPFX) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (c IPCryptPFX) Format(s fmt.State, verb rune) { formatRedacted(s, "IPCryptPFX") }

// LogValue implements slog.LogValuer with the redacted form.
func (c IPCryptPFX) LogValue() slog.Value { return slog.StringValue(c.String()) }
