package pseudo

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
)

// MinDerivedKeySize is the shortest key NewMACMapper and NewTokenizer
// accept. They derive their own subkeys with HKDF-SHA-256, so any longer
// uniformly random secret (such as a 32-byte epoch key) works.
const MinDerivedKeySize = 16

// Labels for HKDF: each purpose gets its own subkey, so one epoch key can
// feed Crypto-PAn (which uses it directly), MAC pseudonyms and string tokens
// without any two of them computing with the same key.
const (
	macKeyInfo   = "flowfed share/pseudo v1 mac feistel"
	tokenKeyInfo = "flowfed share/pseudo v1 token hmac\x00"
)

// macRounds is the number of Feistel rounds. NIST's FF1 uses 10 for domains
// of any size; the small domain of keepOUI (12-bit halves) is the reason not
// to use fewer.
const macRounds = 10

// MACMapper is a keyed permutation of 48-bit MAC addresses that keeps the
// I/G (group) and U/L (local) bits of the first octet, so a multicast or
// locally administered address stays one. The other 46 bits go through a
// balanced Feistel network with 10 rounds whose round function is AES-128
// under a key derived from the caller's key. With keepOUI the first three
// octets (the vendor's OUI) stay as they are and only the low 24 bits are
// permuted, with the OUI as a tweak so each vendor's block gets its own
// permutation.
//
// Broadcast ff:ff:ff:ff:ff:ff is mapped like any other address; callers
// that must keep it exclude it themselves.
//
// A MACMapper is safe for concurrent use. Create one with [NewMACMapper].
type MACMapper struct {
	k       *aesKey
	keepOUI bool
}

// NewMACMapper returns a MAC pseudonymizer. key must be at least
// [MinDerivedKeySize] bytes.
func NewMACMapper(key []byte, keepOUI bool) (*MACMapper, error) {
	if len(key) < MinDerivedKeySize {
		return nil, fmt.Errorf("creating MAC mapper: key is %d bytes, want at least %d: %w",
			len(key), MinDerivedKeySize, ErrKeySize)
	}
	sub, err := hkdf.Key(sha256.New, key, nil, macKeyInfo, 16)
	if err != nil {
		return nil, fmt.Errorf("deriving MAC key: %w", err)
	}
	k, err := newAESKey(sub)
	clear(sub)
	if err != nil {
		return nil, fmt.Errorf("expanding MAC key: %w", err)
	}
	return &MACMapper{k: k, keepOUI: keepOUI}, nil
}

// split returns the permuted part of a MAC as a Feistel input of 2*half
// bits, and the tweak made of the bits that stay.
func (m *MACMapper) split(v uint64) (x uint64, half uint, tweak uint64) {
	if m.keepOUI {
		return v & 0xffffff, 12, v >> 24
	}
	// Drop bits 40 (I/G) and 41 (U/L): the 6 high bits of octet 0, then
	// the 40 bits of octets 1 to 5.
	return v>>42<<40 | v&(1<<40-1), 23, v >> 40 & 3
}

func (m *MACMapper) join(x, tweak uint64) uint64 {
	if m.keepOUI {
		return tweak<<24 | x
	}
	return x>>40<<42 | tweak<<40 | x&(1<<40-1)
}

// round is the Feistel round function: AES of (round, mode, tweak, half),
// cut to the half width.
func (m *MACMapper) round(r int, tweak, v uint64, half uint) uint64 {
	var b [blockSize]byte
	b[0] = byte(r)
	if m.keepOUI {
		b[1] = 1
	}
	binary.BigEndian.PutUint32(b[4:], uint32(tweak))
	binary.BigEndian.PutUint64(b[8:], v)
	encryptBlocks(m.k, b[:], b[:])
	return binary.BigEndian.Uint64(b[:8]) & (1<<half - 1)
}

// Map returns the pseudonym of a MAC address.
func (m *MACMapper) Map(mac [6]byte) [6]byte {
	x, half, tweak := m.split(macUint(mac))
	l, r := x>>half, x&(1<<half-1)
	for i := range macRounds {
		l, r = r, l^m.round(i, tweak, r, half)
	}
	return macBytes(m.join(l<<half|r, tweak))
}

// Unmap inverts [MACMapper.Map].
func (m *MACMapper) Unmap(p [6]byte) [6]byte {
	x, half, tweak := m.split(macUint(p))
	l, r := x>>half, x&(1<<half-1)
	for i := macRounds - 1; i >= 0; i-- {
		l, r = r^m.round(i, tweak, l, half), l
	}
	return macBytes(m.join(l<<half|r, tweak))
}

func macUint(b [6]byte) uint64 {
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
		uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

func macBytes(v uint64) [6]byte {
	return [6]byte{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// String returns a redacted description; the key never appears.
func (m MACMapper) String() string { return redacted("MACMapper") }

// GoString implements fmt.GoStringer with the same redacted form.
func (m MACMapper) GoString() string { return m.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (m MACMapper) Format(s fmt.State, verb rune) { formatRedacted(s, "MACMapper") }

// LogValue implements slog.LogValuer with the redacted form.
func (m MACMapper) LogValue() slog.Value { return slog.StringValue(m.String()) }
