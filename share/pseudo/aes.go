package pseudo

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
)

// blockSize is the AES block size in bytes.
const blockSize = 16

// schedule is an expanded AES-128 key: 11 round keys of 16 bytes each, in the
// byte order of FIPS-197 (which is also the order AES-NI loads them in).
type schedule [11 * blockSize]byte

// aesKey holds one AES-128 key in every form this package needs. The assembly
// reads enc and dec directly; block serves the portable fallback, where
// crypto/aes picks the best code the platform has.
type aesKey struct {
	enc   schedule     // encryption round keys
	dec   schedule     // equivalent inverse cipher round keys (AESDEC order)
	block cipher.Block // crypto/aes for the fallback path
}

// newAESKey expands a 16-byte key. It never fails for a 16-byte key; the
// error of crypto/aes is still passed on rather than ignored.
func newAESKey(key []byte) (*aesKey, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	k := &aesKey{block: b}
	expandKey(&k.enc, key)
	invertSchedule(&k.dec, &k.enc)
	return k, nil
}

// encryptBlocksGeneric encrypts len(src)/16 independent blocks with crypto/aes,
// one call per block. The blocks go through a local copy: handing sub-slices
// of src or dst to the interface method would make the compiler move the
// caller's stack buffers to the heap on every build, even where the assembly
// is used.
func encryptBlocksGeneric(k *aesKey, dst, src []byte) {
	var blk [blockSize]byte
	for i := 0; i+blockSize <= len(src); i += blockSize {
		copy(blk[:], src[i:i+blockSize])
		k.block.Encrypt(blk[:], blk[:])
		copy(dst[i:i+blockSize], blk[:])
	}
}

// decryptBlockGeneric decrypts one block with crypto/aes.
func decryptBlockGeneric(k *aesKey, dst, src *[blockSize]byte) {
	var blk [blockSize]byte
	copy(blk[:], src[:])
	k.block.Decrypt(blk[:], blk[:])
	*dst = blk
}

// rcon holds the round constants of the AES-128 key schedule.
var rcon = [10]uint32{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36}

// expandKey is the FIPS-197 key expansion for AES-128 (section 5.2).
func expandKey(rk *schedule, key []byte) {
	var w [44]uint32
	for i := range 4 {
		w[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	for i := 4; i < 44; i++ {
		t := w[i-1]
		if i%4 == 0 {
			t = subWord(t<<8|t>>24) ^ rcon[i/4-1]<<24
		}
		w[i] = w[i-4] ^ t
	}
	for i, v := range w {
		binary.BigEndian.PutUint32(rk[4*i:], v)
	}
}

// invertSchedule derives the round keys of the equivalent inverse cipher
// (FIPS-197 section 5.3.5): reversed order, InvMixColumns applied to the nine
// middle keys. That is the form AESDEC expects.
func invertSchedule(dk, rk *schedule) {
	copy(dk[0:16], rk[160:176])
	for r := 1; r < 10; r++ {
		var b [blockSize]byte
		copy(b[:], rk[(10-r)*16:])
		invMixColumns(&b)
		copy(dk[r*16:], b[:])
	}
	copy(dk[160:176], rk[0:16])
}

func subWord(w uint32) uint32 {
	return uint32(sbox[w>>24])<<24 | uint32(sbox[w>>16&0xff])<<16 |
		uint32(sbox[w>>8&0xff])<<8 | uint32(sbox[w&0xff])
}

// The S-boxes are derived from their definition (multiplicative inverse in
// GF(2^8) followed by the affine map) instead of being typed in, so there is
// no 512-byte literal to proofread; the key-expansion test against crypto/aes
// checks them.
var sbox, invSbox [256]byte

func init() {
	for x := range 256 {
		inv := byte(0)
		if x != 0 {
			// x^254 is the inverse of x in GF(2^8).
			inv = gfPow254(byte(x))
		}
		s := inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63
		sbox[x] = s
		invSbox[s] = byte(x)
	}
}

func rotl8(b byte, n uint) byte { return b<<n | b>>(8-n) }

// xtime multiplies by x (that is, 2) in GF(2^8) modulo the AES polynomial.
func xtime(b byte) byte { return b<<1 ^ (b>>7)*0x1b }

// gfMul multiplies two elements of GF(2^8); only the S-box construction
// uses it.
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		a = xtime(a)
		b >>= 1
	}
	return p
}

func gfPow254(x byte) byte {
	// 254 = 0b11111110: square-and-multiply.
	r := byte(1)
	for range 7 {
		x = gfMul(x, x)
		r = gfMul(r, x)
	}
	return r
}

// The functions below are a byte-oriented software model of the AES-NI round
// instructions. Only ipcrypt-nd (KIASU-BC) needs them, and only where the
// assembly is unavailable: KIASU-BC changes every round key, which crypto/aes
// cannot express. Like the generic crypto/aes code they use table lookups,
// so on such platforms they are not hardened against cache-timing attacks.

// subShift applies SubBytes and ShiftRows. The state is column-major:
// byte i is row i%4 of column i/4.
func subShift(s *[blockSize]byte) {
	var t [blockSize]byte
	for c := range 4 {
		for r := range 4 {
			t[r+4*c] = sbox[s[r+4*((c+r)%4)]]
		}
	}
	*s = t
}

// invSubShift applies InvShiftRows and InvSubBytes.
func invSubShift(s *[blockSize]byte) {
	var t [blockSize]byte
	for c := range 4 {
		for r := range 4 {
			t[r+4*((c+r)%4)] = invSbox[s[r+4*c]]
		}
	}
	*s = t
}

func mixColumns(s *[blockSize]byte) {
	for c := 0; c < blockSize; c += 4 {
		a0, a1, a2, a3 := s[c], s[c+1], s[c+2], s[c+3]
		all := a0 ^ a1 ^ a2 ^ a3
		s[c] = a0 ^ all ^ xtime(a0^a1)
		s[c+1] = a1 ^ all ^ xtime(a1^a2)
		s[c+2] = a2 ^ all ^ xtime(a2^a3)
		s[c+3] = a3 ^ all ^ xtime(a3^a0)
	}
}

func invMixColumns(s *[blockSize]byte) {
	for c := 0; c < blockSize; c += 4 {
		a0, a1, a2, a3 := s[c], s[c+1], s[c+2], s[c+3]
		// Multiples 9, 11, 13, 14 from x, 2x, 4x, 8x: no table, no branch.
		x2 := [4]byte{xtime(a0), xtime(a1), xtime(a2), xtime(a3)}
		x4 := [4]byte{xtime(x2[0]), xtime(x2[1]), xtime(x2[2]), xtime(x2[3])}
		x8 := [4]byte{xtime(x4[0]), xtime(x4[1]), xtime(x4[2]), xtime(x4[3])}
		a := [4]byte{a0, a1, a2, a3}
		var m9, m11, m13, m14 [4]byte
		for i := range 4 {
			m9[i] = x8[i] ^ a[i]
			m11[i] = x8[i] ^ x2[i] ^ a[i]
			m13[i] = x8[i] ^ x4[i] ^ a[i]
			m14[i] = x8[i] ^ x4[i] ^ x2[i]
		}
		s[c] = m14[0] ^ m11[1] ^ m13[2] ^ m9[3]
		s[c+1] = m9[0] ^ m14[1] ^ m11[2] ^ m13[3]
		s[c+2] = m13[0] ^ m9[1] ^ m14[2] ^ m11[3]
		s[c+3] = m11[0] ^ m13[1] ^ m9[2] ^ m14[3]
	}
}

func xorInto(s *[blockSize]byte, k []byte) {
	for i := range s {
		s[i] ^= k[i]
	}
}

// encryptScheduleSoft encrypts one block with arbitrary round keys, exactly
// as PXOR, 9×AESENC, AESENCLAST would.
func encryptScheduleSoft(rk *schedule, dst, src *[blockSize]byte) {
	s := *src
	xorInto(&s, rk[0:16])
	for r := 1; r < 10; r++ {
		subShift(&s)
		mixColumns(&s)
		xorInto(&s, rk[r*16:r*16+16])
	}
	subShift(&s)
	xorInto(&s, rk[160:176])
	*dst = s
}

// decryptScheduleSoft decrypts one block with equivalent-inverse-cipher round
// keys, exactly as PXOR, 9×AESDEC, AESDECLAST would.
func decryptScheduleSoft(dk *schedule, dst, src *[blockSize]byte) {
	s := *src
	xorInto(&s, dk[0:16])
	for r := 1; r < 10; r++ {
		invSubShift(&s)
		invMixColumns(&s)
		xorInto(&s, dk[r*16:r*16+16])
	}
	invSubShift(&s)
	xorInto(&s, dk[160:176])
	*dst = s
}
