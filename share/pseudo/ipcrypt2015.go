package pseudo

import (
	"fmt"
	"log/slog"
	"math/bits"
)

// IPCrypt2015KeySize is the key size of the 2015 ipcrypt.
const IPCrypt2015KeySize = 16

// IPCrypt2015 is the original ipcrypt by Jean-Philippe Aumasson (2015): a
// 4-byte ARX permutation of IPv4 addresses with a 16-byte key, 4 key
// additions around 3 double rounds. It is not the IETF draft's ipcrypt and
// has no security proof; flowfed offers it only to read data pseudonymized
// by older tools. New data uses a [Mode].
//
// An IPCrypt2015 is safe for concurrent use.
type IPCrypt2015 struct {
	k *[IPCrypt2015KeySize]byte
}

// NewIPCrypt2015 returns the 2015 ipcrypt permutation for a
// [IPCrypt2015KeySize]-byte key.
func NewIPCrypt2015(key []byte) (*IPCrypt2015, error) {
	if len(key) != IPCrypt2015KeySize {
		return nil, keySizeError("ipcrypt (2015)", len(key), IPCrypt2015KeySize)
	}
	k := new([IPCrypt2015KeySize]byte)
	copy(k[:], key)
	return &IPCrypt2015{k: k}, nil
}

func rotl(b byte, n int) byte { return bits.RotateLeft8(b, n) }

func (c *IPCrypt2015) xorKey(s *[4]byte, i int) {
	for j := range 4 {
		s[j] ^= c.k[4*i+j]
	}
}

func permuteFwd(s *[4]byte) {
	b0, b1, b2, b3 := s[0], s[1], s[2], s[3]
	b0 += b1
	b2 += b3
	b1 = rotl(b1, 2)
	b3 = rotl(b3, 5)
	b1 ^= b0
	b3 ^= b2
	b0 = rotl(b0, 4)
	b0 += b3
	b2 += b1
	b1 = rotl(b1, 3)
	b3 = rotl(b3, 7)
	b1 ^= b2
	b3 ^= b0
	b2 = rotl(b2, 4)
	*s = [4]byte{b0, b1, b2, b3}
}

// permuteBwd undoes permuteFwd step by step, last step first.
func permuteBwd(s *[4]byte) {
	b0, b1, b2, b3 := s[0], s[1], s[2], s[3]
	b2 = rotl(b2, -4)
	b1 ^= b2
	b3 ^= b0
	b1 = rotl(b1, -3)
	b3 = rotl(b3, -7)
	b0 -= b3
	b2 -= b1
	b0 = rotl(b0, -4)
	b1 ^= b0
	b3 ^= b2
	b1 = rotl(b1, -2)
	b3 = rotl(b3, -5)
	b0 -= b1
	b2 -= b3
	*s = [4]byte{b0, b1, b2, b3}
}

// Encrypt permutes an IPv4 address (network byte order).
func (c *IPCrypt2015) Encrypt(a [4]byte) [4]byte {
	c.xorKey(&a, 0)
	for i := 1; i < 4; i++ {
		permuteFwd(&a)
		c.xorKey(&a, i)
	}
	return a
}

// Decrypt inverts [IPCrypt2015.Encrypt].
func (c *IPCrypt2015) Decrypt(a [4]byte) [4]byte {
	c.xorKey(&a, 3)
	for i := 2; i >= 0; i-- {
		permuteBwd(&a)
		c.xorKey(&a, i)
	}
	return a
}

// String returns a redacted description; the key never appears.
func (c IPCrypt2015) String() string { return redacted("IPCrypt2015") }

// GoString implements fmt.GoStringer with the same redacted form.
func (c IPCrypt2015) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (c IPCrypt2015) Format(s fmt.State, verb rune) { formatRedacted(s, "IPCrypt2015") }

// LogValue implements slog.LogValuer with the redacted form.
func (c IPCrypt2015) LogValue() slog.Value { return slog.StringValue(c.String()) }
