//go:build !amd64 || purego

package pseudo

// The portable build: crypto/aes block by block (which uses the platform's
// AES instructions where Go has them, e.g. on arm64), and the software round
// functions for KIASU-BC.

func aesImpls() []string { return []string{"generic"} }

func setAESImpl(string) (restore func()) { return func() {} }

func encryptBlocks(k *aesKey, dst, src []byte) { encryptBlocksGeneric(k, dst, src) }

func cpBits(f *cpFunc, xhi, xlo uint64, from, n int) uint64 {
	return cpBitsGeneric(f, xhi, xlo, from, n)
}

func prf2Bits(k1, k2 *aesKey, src []byte, n int) uint64 { return prf2BitsGeneric(k1, k2, src, n) }

func pfxBits(f *pfxFunc, hi, lo uint64, from, n int) uint64 {
	return pfxBitsGeneric(f, hi, lo, from, n)
}

func decryptBlock(k *aesKey, dst, src *[blockSize]byte) { decryptBlockGeneric(k, dst, src) }

func kiasuEncrypt(k *aesKey, t, dst, src *[blockSize]byte) { kiasuEncryptGeneric(k, t, dst, src) }

func kiasuDecrypt(k *aesKey, t, dst, src *[blockSize]byte) { kiasuDecryptGeneric(k, t, dst, src) }
