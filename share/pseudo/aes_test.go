package pseudo

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// forEachImpl runs f once per AES code path this machine has (VAES, AES-NI,
// generic), so every algorithm test also proves the paths agree.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, impl := range aesImpls() {
		t.Run(impl, func(t *testing.T) {
			restore := setAESImpl(impl)
			clear(mapperCache)
			defer func() {
				restore()
				clear(mapperCache)
			}()
			f(t)
		})
	}
}

func mustAESKey(t testing.TB, key []byte) *aesKey {
	t.Helper()
	k, err := newAESKey(key)
	if err != nil {
		t.Fatalf("newAESKey: %v", err)
	}
	return k
}

func TestAESFIPS197(t *testing.T) {
	// FIPS-197 appendix C.1.
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	pt, _ := hex.DecodeString("00112233445566778899aabbccddeeff")
	want, _ := hex.DecodeString("69c4e0d86a7b0430d8cdb78070b4c55a")
	forEachImpl(t, func(t *testing.T) {
		k := mustAESKey(t, key)
		got := make([]byte, 16)
		encryptBlocks(k, got, pt)
		if !bytes.Equal(got, want) {
			t.Fatalf("encryptBlocks = %x, want %x", got, want)
		}
		var in, out [16]byte
		copy(in[:], want)
		decryptBlock(k, &out, &in)
		if !bytes.Equal(out[:], pt) {
			t.Fatalf("decryptBlock = %x, want %x", out, pt)
		}
	})
}

func TestKeyExpansionMatchesCryptoAES(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		key := randBytes(rng, 16)
		k := mustAESKey(t, key)
		ref, _ := aes.NewCipher(key)
		var pt, got, soft, back [16]byte
		copy(pt[:], randBytes(rng, 16))
		want := make([]byte, 16)
		ref.Encrypt(want, pt[:])
		encryptScheduleSoft(&k.enc, &got, &pt)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("key %x: software rounds with expanded key = %x, want %x", key, got, want)
		}
		var zero [16]byte
		kiasuEncrypt(k, &zero, &soft, &pt)
		if soft != got {
			t.Fatalf("key %x: KIASU-BC with a zero tweak = %x, want AES %x", key, soft, got)
		}
		decryptScheduleSoft(&k.dec, &back, &got)
		if back != pt {
			t.Fatalf("key %x: software decryption = %x, want %x", key, back, pt)
		}
		kiasuDecrypt(k, &zero, &back, &got)
		if back != pt {
			t.Fatalf("key %x: KIASU-BC decryption with a zero tweak = %x, want %x", key, back, pt)
		}
	}
}

// TestEncryptBlocksImplsAgree checks every block count from 0 to 70 (all the
// tails of the 16-, 8-, 4-, 2- and 1-block steps) on every code path.
func TestEncryptBlocksImplsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	k := mustAESKey(t, randBytes(rng, 16))
	for n := 0; n <= 70; n++ {
		src := randBytes(rng, n*16)
		want := make([]byte, n*16)
		encryptBlocksGeneric(k, want, src)
		for _, impl := range aesImpls() {
			restore := setAESImpl(impl)
			got := make([]byte, n*16)
			encryptBlocks(k, got, src)
			inPlace := bytes.Clone(src)
			encryptBlocks(k, inPlace, inPlace)
			restore()
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: encryptBlocks(n=%d) differs from crypto/aes", impl, n)
			}
			if !bytes.Equal(inPlace, want) {
				t.Fatalf("%s: in-place encryptBlocks(n=%d) differs", impl, n)
			}
		}
	}
}

// TestBitKernelsImplsAgree checks the Crypto-PAn and ipcrypt-pfx kernels on
// every run length and start they can be called with.
func TestBitKernelsImplsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cp := mustCryptoPAn(t, randBytes(rng, 32), WithPrefixCache(0))
	pfx := mustPFX(t, randBytes(rng, 32), WithPrefixCache(0))
	for from := 0; from < 128; from++ {
		for n := 1; n <= 64 && from+n <= 128; n++ {
			xhi, xlo := rng.Uint64(), rng.Uint64()
			want := cpBitsGeneric(cp.f, xhi, xlo, from, n)
			src := randBytes(rng, 64*16)
			want2 := prf2BitsGeneric(pfx.f.k1, pfx.f.k2, src, n)
			for _, impl := range aesImpls() {
				restore := setAESImpl(impl)
				got := cpBits(cp.f, xhi, xlo, from, n)
				got2 := prf2Bits(pfx.f.k1, pfx.f.k2, src, n)
				got3 := pfxBits(pfx.f, xhi, xlo, from, n)
				restore()
				if want3 := pfxBitsGeneric(pfx.f, xhi, xlo, from, n); got3 != want3 {
					t.Fatalf("%s: pfxBits(from=%d, n=%d) = %#x, want %#x", impl, from, n, got3, want3)
				}
				if got != want {
					t.Fatalf("%s: cpBits(from=%d, n=%d) = %#x, want %#x", impl, from, n, got, want)
				}
				if got2 != want2 {
					t.Fatalf("%s: prf2Bits(n=%d) = %#x, want %#x", impl, n, got2, want2)
				}
			}
		}
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
