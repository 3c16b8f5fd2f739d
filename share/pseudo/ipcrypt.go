package pseudo

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
)

// Key and output sizes of the non-prefix-preserving ipcrypt modes.
const (
	DetKeySize    = 16 // ipcrypt-deterministic: one AES-128 key
	NDKeySize     = 16 // ipcrypt-nd: one AES-128 key (KIASU-BC)
	NDXKeySize    = 32 // ipcrypt-ndx: K1 || K2 (AES-XTS)
	NDTweakSize   = 8
	NDXTweakSize  = 16
	NDOutputSize  = NDTweakSize + 16
	NDXOutputSize = NDXTweakSize + 16
)

// to16 returns the 16-byte form of the draft: IPv6 as is, IPv4 as
// ::ffff:a.b.c.d.
func to16(a netip.Addr) [16]byte { return a.As16() }

// from16 converts back: a value in ::ffff:0:0/96 is IPv4, anything else IPv6.
func from16(b [16]byte) netip.Addr {
	a := netip.AddrFrom16(b)
	if a.Is4In6() {
		return a.Unmap()
	}
	return a
}

// IPCryptDet is ipcrypt-deterministic: AES-128 of the 16-byte form. The
// pseudonym of an IPv4 address is almost always an IPv6 address (unless the
// ciphertext happens to fall into ::ffff:0:0/96), so it is format-preserving
// but does not keep the address family; rewriters that must keep a packet's
// family use a prefix-preserving mode.
//
// An IPCryptDet is safe for concurrent use. Create one with [NewIPCryptDet].
type IPCryptDet struct {
	k *aesKey
}

// NewIPCryptDet returns an ipcrypt-deterministic mapper for a
// [DetKeySize]-byte key.
func NewIPCryptDet(key []byte) (*IPCryptDet, error) {
	if len(key) != DetKeySize {
		return nil, keySizeError("ipcrypt-deterministic", len(key), DetKeySize)
	}
	k, err := newAESKey(key)
	if err != nil {
		return nil, fmt.Errorf("expanding ipcrypt-deterministic key: %w", err)
	}
	return &IPCryptDet{k: k}, nil
}

// Encrypt16 encrypts a 16-byte address form. It does not allocate.
func (d *IPCryptDet) Encrypt16(b [16]byte) [16]byte {
	encryptBlocks(d.k, b[:], b[:])
	return b
}

// Decrypt16 inverts [IPCryptDet.Encrypt16].
func (d *IPCryptDet) Decrypt16(b [16]byte) [16]byte {
	decryptBlock(d.k, &b, &b)
	return b
}

// Map returns the pseudonym of a; IPv4 and ::ffff:a.b.c.d have the same
// one. The zone is dropped and the zero Addr maps to itself.
func (d *IPCryptDet) Map(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return netip.Addr{}
	}
	return from16(d.Encrypt16(to16(a)))
}

// Unmap returns the address whose pseudonym is p. An IPv4 original comes
// back as IPv4 (never as ::ffff:a.b.c.d). It fails only for the zero Addr
// ([ErrInvalidAddr]).
func (d *IPCryptDet) Unmap(p netip.Addr) (netip.Addr, error) {
	if !p.IsValid() {
		return netip.Addr{}, fmt.Errorf("unmapping ipcrypt-deterministic pseudonym: %w", ErrInvalidAddr)
	}
	return from16(d.Decrypt16(to16(p))), nil
}

// IPCryptND is ipcrypt-nd: KIASU-BC (AES-128 with an 8-byte tweak XORed into
// every round key) over the 16-byte form. The output tweak || ciphertext is
// 24 bytes; with a fresh random tweak per call, equal addresses give
// unlinkable outputs. After about 2^32 encryptions under one key random
// tweaks start to repeat, which reveals only that two equal inputs met the
// same tweak.
//
// An IPCryptND is safe for concurrent use. Create one with [NewIPCryptND].
type IPCryptND struct {
	k *aesKey
}

// NewIPCryptND returns an ipcrypt-nd encrypter for an [NDKeySize]-byte key.
func NewIPCryptND(key []byte) (*IPCryptND, error) {
	if len(key) != NDKeySize {
		return nil, keySizeError("ipcrypt-nd", len(key), NDKeySize)
	}
	k, err := newAESKey(key)
	if err != nil {
		return nil, fmt.Errorf("expanding ipcrypt-nd key: %w", err)
	}
	return &IPCryptND{k: k}, nil
}

// padTweak spreads the 8-byte tweak over the 16-byte state: two bytes at the
// start of each 4-byte column, zeros elsewhere (the draft's pad_tweak).
func padTweak(t [NDTweakSize]byte) [blockSize]byte {
	return [blockSize]byte{t[0], t[1], 0, 0, t[2], t[3], 0, 0, t[4], t[5], 0, 0, t[6], t[7], 0, 0}
}

// kiasuSchedule derives tweaked round keys for the portable code. KIASU-BC
// is AES whose every round key has the padded tweak t XORed in, so the
// encryption schedule is rk_i ^ t. AESDEC wants InvMixColumns applied to
// the middle round keys, and InvMixColumns is linear: IMC(rk ^ t) =
// IMC(rk) ^ IMC(t).
func kiasuSchedule(k *aesKey, t *[blockSize]byte, decrypt bool) schedule {
	t0, t1 := binary.LittleEndian.Uint64(t[:8]), binary.LittleEndian.Uint64(t[8:])
	m0, m1 := t0, t1
	src := &k.enc
	if decrypt {
		src = &k.dec
		imc := *t
		invMixColumns(&imc)
		m0, m1 = binary.LittleEndian.Uint64(imc[:8]), binary.LittleEndian.Uint64(imc[8:])
	}
	var s schedule
	for r := range 11 {
		x0, x1 := m0, m1
		if r == 0 || r == 10 {
			x0, x1 = t0, t1
		}
		o := r * blockSize
		binary.LittleEndian.PutUint64(s[o:], binary.LittleEndian.Uint64(src[o:])^x0)
		binary.LittleEndian.PutUint64(s[o+8:], binary.LittleEndian.Uint64(src[o+8:])^x1)
	}
	return s
}

// kiasuEncryptGeneric is KIASU-BC with the software AES rounds.
func kiasuEncryptGeneric(k *aesKey, t, dst, src *[blockSize]byte) {
	rk := kiasuSchedule(k, t, false)
	encryptScheduleSoft(&rk, dst, src)
}

// kiasuDecryptGeneric inverts kiasuEncryptGeneric.
func kiasuDecryptGeneric(k *aesKey, t, dst, src *[blockSize]byte) {
	dk := kiasuSchedule(k, t, true)
	decryptScheduleSoft(&dk, dst, src)
}

// Encrypt encrypts a with the given tweak and returns tweak || ciphertext.
// The tweak must be uniformly random for the mode's privacy guarantee;
// [IPCryptND.EncryptRandom] draws one. Fixed tweaks are for test vectors.
func (c *IPCryptND) Encrypt(a netip.Addr, tweak [NDTweakSize]byte) ([NDOutputSize]byte, error) {
	var out [NDOutputSize]byte
	if !a.IsValid() {
		return out, fmt.Errorf("encrypting with ipcrypt-nd: %w", ErrInvalidAddr)
	}
	t := padTweak(tweak)
	in := to16(a)
	var ct [blockSize]byte
	kiasuEncrypt(c.k, &t, &ct, &in)
	copy(out[:NDTweakSize], tweak[:])
	copy(out[NDTweakSize:], ct[:])
	return out, nil
}

// EncryptRandom encrypts a with a tweak from crypto/rand.
func (c *IPCryptND) EncryptRandom(a netip.Addr) ([NDOutputSize]byte, error) {
	var tweak [NDTweakSize]byte
	_, _ = rand.Read(tweak[:]) // never fails (Go 1.24+); a broken RNG aborts the program
	return c.Encrypt(a, tweak)
}

// Decrypt recovers the address from tweak || ciphertext. Input that is not
// [NDOutputSize] bytes fails with [ErrNotPseudonym]; any 24 bytes decrypt
// to some address, since KIASU-BC is a permutation for each tweak.
func (c *IPCryptND) Decrypt(b []byte) (netip.Addr, error) {
	if len(b) != NDOutputSize {
		return netip.Addr{}, fmt.Errorf("decrypting ipcrypt-nd output of %d bytes (want %d): %w",
			len(b), NDOutputSize, ErrNotPseudonym)
	}
	var tweak [NDTweakSize]byte
	var ct [blockSize]byte
	copy(tweak[:], b)
	copy(ct[:], b[NDTweakSize:])
	t := padTweak(tweak)
	kiasuDecrypt(c.k, &t, &ct, &ct)
	return from16(ct), nil
}

// IPCryptNDX is ipcrypt-ndx: single-block AES-XTS with a 16-byte tweak,
// AES_K1(x ^ ET) ^ ET with ET = AES_K2(tweak). The output tweak ||
// ciphertext is 32 bytes; random tweaks repeat only after about 2^64
// encryptions.
//
// An IPCryptNDX is safe for concurrent use. Create one with [NewIPCryptNDX].
type IPCryptNDX struct {
	k1, k2 *aesKey
}

// NewIPCryptNDX returns an ipcrypt-ndx encrypter. key must be [NDXKeySize]
// bytes with differing halves ([ErrWeakKey] otherwise, as XTS requires).
func NewIPCryptNDX(key []byte) (*IPCryptNDX, error) {
	if len(key) != NDXKeySize {
		return nil, keySizeError("ipcrypt-ndx", len(key), NDXKeySize)
	}
	if subtle.ConstantTimeCompare(key[:16], key[16:]) == 1 {
		return nil, fmt.Errorf("creating ipcrypt-ndx: %w", ErrWeakKey)
	}
	k1, err := newAESKey(key[:16])
	if err != nil {
		return nil, fmt.Errorf("expanding ipcrypt-ndx key: %w", err)
	}
	k2, err := newAESKey(key[16:])
	if err != nil {
		return nil, fmt.Errorf("expanding ipcrypt-ndx key: %w", err)
	}
	return &IPCryptNDX{k1: k1, k2: k2}, nil
}

func xor16(a *[blockSize]byte, b *[blockSize]byte) {
	x0 := binary.LittleEndian.Uint64(a[:8]) ^ binary.LittleEndian.Uint64(b[:8])
	x1 := binary.LittleEndian.Uint64(a[8:]) ^ binary.LittleEndian.Uint64(b[8:])
	binary.LittleEndian.PutUint64(a[:8], x0)
	binary.LittleEndian.PutUint64(a[8:], x1)
}

// Encrypt encrypts a with the given tweak and returns tweak || ciphertext.
// The tweak must be uniformly random; [IPCryptNDX.EncryptRandom] draws one.
func (c *IPCryptNDX) Encrypt(a netip.Addr, tweak [NDXTweakSize]byte) ([NDXOutputSize]byte, error) {
	var out [NDXOutputSize]byte
	if !a.IsValid() {
		return out, fmt.Errorf("encrypting with ipcrypt-ndx: %w", ErrInvalidAddr)
	}
	var et [blockSize]byte
	encryptBlocks(c.k2, et[:], tweak[:])
	x := to16(a)
	xor16(&x, &et)
	encryptBlocks(c.k1, x[:], x[:])
	xor16(&x, &et)
	copy(out[:NDXTweakSize], tweak[:])
	copy(out[NDXTweakSize:], x[:])
	return out, nil
}

// EncryptRandom encrypts a with a tweak from crypto/rand.
func (c *IPCryptNDX) EncryptRandom(a netip.Addr) ([NDXOutputSize]byte, error) {
	var tweak [NDXTweakSize]byte
	_, _ = rand.Read(tweak[:]) // never fails (Go 1.24+); a broken RNG aborts the program
	return c.Encrypt(a, tweak)
}

// Decrypt recovers the address from tweak || ciphertext. Input that is not
// [NDXOutputSize] bytes fails with [ErrNotPseudonym].
func (c *IPCryptNDX) Decrypt(b []byte) (netip.Addr, error) {
	if len(b) != NDXOutputSize {
		return netip.Addr{}, fmt.Errorf("decrypting ipcrypt-ndx output of %d bytes (want %d): %w",
			len(b), NDXOutputSize, ErrNotPseudonym)
	}
	var et, x [blockSize]byte
	encryptBlocks(c.k2, et[:], b[:NDXTweakSize])
	copy(x[:], b[NDXTweakSize:])
	xor16(&x, &et)
	decryptBlock(c.k1, &x, &x)
	xor16(&x, &et)
	return from16(x), nil
}

// String returns a redacted description; the key never appears.
func (d IPCryptDet) String() string { return redacted("IPCryptDet") }

// GoString implements fmt.GoStringer with the same redacted form.
func (d IPCryptDet) GoString() string { return d.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (d IPCryptDet) Format(s fmt.State, verb rune) { formatRedacted(s, "IPCryptDet") }

// LogValue implements slog.LogValuer with the redacted form.
func (d IPCryptDet) LogValue() slog.Value { return slog.StringValue(d.String()) }

// String returns a redacted description; the key never appears.
func (c IPCryptND) String() string { return redacted("IPCryptND") }

// GoString implements fmt.GoStringer with the same redacted form.
func (c IPCryptND) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (c IPCryptND) Format(s fmt.State, verb rune) { formatRedacted(s, "IPCryptND") }

// LogValue implements slog.LogValuer with the redacted form.
func (c IPCryptND) LogValue() slog.Value { return slog.StringValue(c.String()) }

// String returns a redacted description; the key never appears.
func (c IPCryptNDX) String() string { return redacted("IPCryptNDX") }

// GoString implements fmt.GoStringer with the same redacted form.
func (c IPCryptNDX) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (c IPCryptNDX) Format(s fmt.State, verb rune) { formatRedacted(s, "IPCryptNDX") }

// LogValue implements slog.LogValuer with the redacted form.
func (c IPCryptNDX) LogValue() slog.Value { return slog.StringValue(c.String()) }
