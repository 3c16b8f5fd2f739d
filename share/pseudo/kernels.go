package pseudo

import "encoding/binary"

// The bit kernels: everything the prefix-preserving mappers compute per
// address beyond table and cache look-ups. The assembly versions (amd64)
// and these portable ones must agree bit for bit; the tests and a fuzz
// target compare them. The portable ones go through crypto/aes one block at
// a time (and allocate a little, since its blocks pass an interface).

// prefixMask returns the 128-bit mask of the first i bits.
func prefixMask(i int) (hi, lo uint64) {
	if i <= 64 {
		return ^(^uint64(0) >> i), 0
	}
	return ^uint64(0), ^(^uint64(0) >> (i - 64))
}

// cpBitsGeneric returns, for j < n (1 <= n <= 64, from+n <= 128), bit j =
// the most significant bit of AES(pad ^ (x & mask(from+j))), where x is the
// address XOR the pad: the Crypto-PAn bit function at position from+j.
func cpBitsGeneric(f *cpFunc, xhi, xlo uint64, from, n int) uint64 {
	var buf [64 * blockSize]byte
	for j := range n {
		mhi, mlo := prefixMask(from + j)
		b := buf[j*blockSize : (j+1)*blockSize]
		binary.BigEndian.PutUint64(b[:8], f.padHi^xhi&mhi)
		binary.BigEndian.PutUint64(b[8:], f.padLo^xlo&mlo)
	}
	encryptBlocksGeneric(f.k, buf[:n*blockSize], buf[:n*blockSize])
	var r uint64
	for j := range n {
		r |= uint64(buf[j*blockSize]>>7) << j
	}
	return r
}

// prf2BitsGeneric returns, for j < n (1 <= n <= 64), bit j = the least
// significant bit of AES_k1(b) xor AES_k2(b) for the j-th block b of src:
// the ipcrypt-pfx bit function. src must hold n rounded up to 8 blocks
// (the assembly reads whole groups).
func prf2BitsGeneric(k1, k2 *aesKey, src []byte, n int) uint64 {
	var a, b [blockSize]byte
	var r uint64
	for j := range n {
		copy(a[:], src[j*blockSize:])
		k2.block.Encrypt(b[:], a[:])
		k1.block.Encrypt(a[:], a[:])
		r |= uint64((a[15]^b[15])&1) << j
	}
	return r
}

// pfxPadded returns the ipcrypt-pfx padded prefix of position i (0 to 127)
// of the address (hi, lo): the 128-bit value 1<<i | addr>>(128-i), that is
// zeros, a 1 bit, then the first i address bits.
func pfxPadded(hi, lo uint64, i int) (ih, il uint64) {
	if i <= 64 {
		il = hi >> (64 - i) // Go: a shift by 64 yields 0
	} else {
		ih, il = hi>>(128-i), lo>>(128-i)|hi<<(i-64)
	}
	if i < 64 {
		il |= 1 << i
	} else {
		ih |= 1 << (i - 64)
	}
	return ih, il
}

// pfxBitsGeneric returns, for j < n (1 <= n <= 64, from+n <= 128), bit j =
// the ipcrypt-pfx bit function at position from+j of the address (hi, lo).
func pfxBitsGeneric(f *pfxFunc, hi, lo uint64, from, n int) uint64 {
	var buf [64 * blockSize]byte
	for j := range n {
		ih, il := pfxPadded(hi, lo, from+j)
		b := buf[j*blockSize : (j+1)*blockSize]
		binary.BigEndian.PutUint64(b[:8], ih)
		binary.BigEndian.PutUint64(b[8:], il)
	}
	return prf2BitsGeneric(f.k1, f.k2, buf[:], n)
}
