package pseudo

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"testing"
)

// classicCryptoPAn is Crypto-PAn as it is usually written (the original C++
// code and most ports): one crypto/aes call per bit, each waiting for the
// previous one. It is the baseline of the benchmarks and an independent
// second implementation for the tests. Like those ports it keeps its
// scratch blocks in the struct, so it does not allocate and is not safe for
// concurrent use.
type classicCryptoPAn struct {
	block   cipher.Block
	pad     [16]byte
	in, out [16]byte
}

func newClassicCryptoPAn(t testing.TB, key []byte) *classicCryptoPAn {
	t.Helper()
	b, err := aes.NewCipher(key[:16])
	if err != nil {
		t.Fatal(err)
	}
	c := &classicCryptoPAn{block: b}
	b.Encrypt(c.pad[:], key[16:32])
	return c
}

func (c *classicCryptoPAn) anonymize4(a uint32) uint32 {
	padWord := binary.BigEndian.Uint32(c.pad[:4])
	copy(c.in[4:], c.pad[4:])
	var result uint32
	for pos := range 32 {
		// The first pos bits of the address, then the pad's bits.
		v := padWord
		if pos > 0 {
			v = a>>(32-pos)<<(32-pos) | padWord<<pos>>pos
		}
		binary.BigEndian.PutUint32(c.in[:4], v)
		c.block.Encrypt(c.out[:], c.in[:])
		result |= uint32(c.out[0]>>7) << (31 - pos)
	}
	return a ^ result
}

func (c *classicCryptoPAn) anonymize16(a [16]byte) [16]byte {
	var result [16]byte
	for pos := range 128 {
		byteIdx, bitIdx := pos/8, pos%8
		copy(c.in[:byteIdx], a[:byteIdx])
		keep := byte(uint16(0xff00) >> bitIdx) // the address bits of this byte
		c.in[byteIdx] = a[byteIdx]&keep | c.pad[byteIdx]&^keep
		copy(c.in[byteIdx+1:], c.pad[byteIdx+1:])
		c.block.Encrypt(c.out[:], c.in[:])
		result[byteIdx] |= (c.out[0] >> 7) << (7 - bitIdx)
	}
	for i := range result {
		result[i] ^= a[i]
	}
	return result
}
