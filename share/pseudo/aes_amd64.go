//go:build amd64 && !purego

package pseudo

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// CPU features, read once with CPUID. VAES on ymm also needs AVX2 and the
// operating system's consent to save ymm state (OSXSAVE and XCR0 bits 1-2).
var (
	useAESNI bool
	useVAES  bool
)

func init() {
	useAESNI, useVAES = detectCPU()
}

func detectCPU() (aesni, vaes bool) {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 1 {
		return false, false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	aesni = ecx1&(1<<25) != 0
	osxsave := ecx1&(1<<27) != 0
	avx := ecx1&(1<<28) != 0
	if !aesni || !osxsave || !avx || maxID < 7 {
		return aesni, false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return aesni, false
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	avx2 := ebx7&(1<<5) != 0
	hasVAES := ecx7&(1<<9) != 0
	return aesni, avx2 && hasVAES
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

//go:noescape
func encryptBlocksAESNI(rk *schedule, dst *byte, src *byte, n int)

//go:noescape
func encryptBlocksVAES(rk *schedule, dst *byte, src *byte, n int)

//go:noescape
func cpBitsAESNI(rk *schedule, xhi uint64, xlo uint64, prk0 *[16]byte, masks *[16]byte, n int) (bits uint64)

//go:noescape
func cpBitsVAES(rk *schedule, xhi uint64, xlo uint64, prk0 *[16]byte, masks *[16]byte, n int) (bits uint64)

//go:noescape
func prf2BitsAESNI(rk1 *schedule, rk2 *schedule, src *byte, n int) (bits uint64)

//go:noescape
func prf2BitsVAES(rk1 *schedule, rk2 *schedule, src *byte, n int) (bits uint64)

//go:noescape
func pfxBitsAESNI(rk1 *schedule, rk2 *schedule, vs *[2]uint64, groups int) (bits uint64)

//go:noescape
func pfxBitsVAES(rk1 *schedule, rk2 *schedule, vs *[2]uint64, groups int) (bits uint64)

//go:noescape
func kiasuEncryptAESNI(rk *schedule, tweak *[16]byte, dst *byte, src *byte)

//go:noescape
func kiasuDecryptAESNI(dk *schedule, tweak *[16]byte, dst *byte, src *byte)

//go:noescape
func decryptBlockAESNI(dk *schedule, dst *byte, src *byte)

// aesImpls lists the AES code paths this CPU can run, for tests that compare
// them; the first is the one in use.
func aesImpls() []string {
	impls := []string{"generic"}
	if useAESNI {
		impls = append([]string{"aesni"}, impls...)
	}
	if useVAES {
		impls = append([]string{"vaes"}, impls...)
	}
	return impls
}

// setAESImpl switches the code path and returns a function that restores the
// previous one. Tests only: it is not safe while other goroutines map.
func setAESImpl(name string) (restore func()) {
	ni, va := useAESNI, useVAES
	hasNI, hasVA := detectCPU()
	switch name {
	case "vaes":
		useAESNI, useVAES = hasNI, hasVA
	case "aesni":
		useAESNI, useVAES = hasNI, false
	default:
		useAESNI, useVAES = false, false
	}
	return func() { useAESNI, useVAES = ni, va }
}

// encryptBlocks encrypts len(src)/16 independent blocks; dst may equal src.
func encryptBlocks(k *aesKey, dst, src []byte) {
	n := len(src) / blockSize
	if n == 0 {
		return
	}
	_ = dst[n*blockSize-1] // the assembly writes n blocks
	switch {
	case useVAES:
		encryptBlocksVAES(&k.enc, unsafe.SliceData(dst), unsafe.SliceData(src), n)
	case useAESNI:
		encryptBlocksAESNI(&k.enc, unsafe.SliceData(dst), unsafe.SliceData(src), n)
	default:
		encryptBlocksGeneric(k, dst, src)
	}
}

// cpMasks[i] keeps the first i bits of a 128-bit block (big-endian byte
// order), for i = 0 to 128. The entries after 128 only give the assembly's
// rounded-up groups something to read; those blocks' bits are discarded.
var cpMasks [128 + 1 + 31][16]byte

func init() {
	for i := range cpMasks {
		hi, lo := prefixMask(min(i, 128))
		binary.BigEndian.PutUint64(cpMasks[i][:8], hi)
		binary.BigEndian.PutUint64(cpMasks[i][8:], lo)
	}
}

// lowBits returns a mask of the n low bits, 0 <= n <= 64.
func lowBits(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// cpBits evaluates the Crypto-PAn bit function at n consecutive positions
// (see cpBitsGeneric for the contract).
func cpBits(f *cpFunc, xhi, xlo uint64, from, n int) uint64 {
	var r uint64
	switch {
	case useVAES:
		r = cpBitsVAES(&f.k.enc, bits.ReverseBytes64(xhi), bits.ReverseBytes64(xlo), &f.prk0, &cpMasks[from], n)
	case useAESNI:
		r = cpBitsAESNI(&f.k.enc, bits.ReverseBytes64(xhi), bits.ReverseBytes64(xlo), &f.prk0, &cpMasks[from], n)
	default:
		return cpBitsGeneric(f, xhi, xlo, from, n)
	}
	return r & lowBits(n)
}

// prf2Bits evaluates the ipcrypt-pfx bit function on n blocks (see
// prf2BitsGeneric for the contract).
func prf2Bits(k1, k2 *aesKey, src []byte, n int) uint64 {
	_ = src[(n+7)/8*8*blockSize-1] // the kernels read whole groups of 8
	var r uint64
	switch {
	case useVAES:
		r = prf2BitsVAES(&k1.enc, &k2.enc, unsafe.SliceData(src), n)
	case useAESNI:
		r = prf2BitsAESNI(&k1.enc, &k2.enc, unsafe.SliceData(src), n)
	default:
		return prf2BitsGeneric(k1, k2, src, n)
	}
	return r & lowBits(n)
}

// pfxBits evaluates the ipcrypt-pfx bit function at n consecutive positions
// of a 128-bit address (see pfxBitsGeneric for the contract).
func pfxBits(f *pfxFunc, hi, lo uint64, from, n int) uint64 {
	// The kernels take groups of 8 positions ending at the last one; the
	// first group may reach back before from (those bits are dropped), but
	// not before position 0.
	groups := (n + 7) / 8
	start := from + n - 8*groups
	if start < 0 || !(useVAES || useAESNI) {
		return pfxBitsGeneric(f, hi, lo, from, n)
	}
	var vs [8][2]uint64
	for g := range groups {
		ih, il := pfxPadded(hi, lo, start+8*g+7)
		vs[g] = [2]uint64{il, ih}
	}
	var r uint64
	if useVAES {
		r = pfxBitsVAES(&f.k1.enc, &f.k2.enc, &vs[0], groups)
	} else {
		r = pfxBitsAESNI(&f.k1.enc, &f.k2.enc, &vs[0], groups)
	}
	return r >> (8*groups - n) & lowBits(n)
}

// decryptBlock decrypts one block with k.
func decryptBlock(k *aesKey, dst, src *[blockSize]byte) {
	if useAESNI {
		decryptBlockAESNI(&k.dec, &dst[0], &src[0])
		return
	}
	decryptBlockGeneric(k, dst, src)
}

// kiasuEncrypt encrypts one block with KIASU-BC under k and the padded
// tweak t.
func kiasuEncrypt(k *aesKey, t, dst, src *[blockSize]byte) {
	if useAESNI {
		kiasuEncryptAESNI(&k.enc, t, &dst[0], &src[0])
		return
	}
	kiasuEncryptGeneric(k, t, dst, src)
}

// kiasuDecrypt inverts kiasuEncrypt.
func kiasuDecrypt(k *aesKey, t, dst, src *[blockSize]byte) {
	if useAESNI {
		kiasuDecryptAESNI(&k.dec, t, &dst[0], &src[0])
		return
	}
	kiasuDecryptGeneric(k, t, dst, src)
}
