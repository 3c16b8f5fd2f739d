package keyvault

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KDFParams are the Argon2id cost parameters that turn a passphrase into the
// key sealing the master key (or a backup). The salt is not part of it: a fresh
// 16-byte salt is drawn every time a passphrase is set.
type KDFParams struct {
	// MemoryKiB is the memory cost in KiB, at least 8 per thread, at most 1 GiB.
	MemoryKiB uint32
	// Time is the number of passes, 1 to 16.
	Time uint32
	// Threads is the degree of parallelism, 1 to 64.
	Threads uint8
}

// Bounds on KDF parameters. They apply to what a caller asks for and, more
// importantly, to what a vault or backup file declares: a crafted file must not
// be able to make Open allocate gigabytes or run for hours.
const (
	kdfMinMemoryPerThreadKiB = 8       // Argon2's own minimum, 8 KiB per lane
	kdfMaxMemoryKiB          = 1 << 20 // 1 GiB
	kdfMinTime               = 1
	kdfMaxTime               = 16
	kdfMinThreads            = 1
	kdfMaxThreads            = 64
	saltSize                 = 16 // what this package writes
	minSaltSize              = 16 // what it accepts when reading
	maxSaltSize              = 64
)

// DefaultKDFParams returns the parameters used when [Options.KDF] is zero: the
// second recommended option of RFC 9106 (64 MiB, 3 passes, 4 lanes), which
// takes a fraction of a second on a server and keeps offline guessing costly.
func DefaultKDFParams() KDFParams {
	return KDFParams{MemoryKiB: 64 * 1024, Time: 3, Threads: 4}
}

// Validate reports whether p is within the accepted bounds. The error wraps
// [ErrKDFParams].
func (p KDFParams) Validate() error {
	return checkKDF(uint64(p.MemoryKiB), p.Time, uint32(p.Threads), defaultLimits)
}

// kdfLimits are the upper bounds enforced on KDF parameters read from a file.
// Production code always uses defaultLimits; fuzz tests pass tighter ones so
// that a fuzzed file with in-bounds but expensive parameters stays fast.
type kdfLimits struct {
	maxMemoryKiB uint64
	maxTime      uint32
}

var defaultLimits = kdfLimits{maxMemoryKiB: kdfMaxMemoryKiB, maxTime: kdfMaxTime}

// checkKDF validates parameters as read (memory as uint64 so that a crafted
// value cannot wrap around). It only compares numbers.
func checkKDF(memKiB uint64, time, threads uint32, lim kdfLimits) error {
	switch {
	case threads < kdfMinThreads || threads > kdfMaxThreads:
		return fmt.Errorf("%w: %d threads, want %d to %d", ErrKDFParams, threads, kdfMinThreads, kdfMaxThreads)
	case time < kdfMinTime || time > lim.maxTime:
		return fmt.Errorf("%w: %d passes, want %d to %d", ErrKDFParams, time, kdfMinTime, lim.maxTime)
	case memKiB < kdfMinMemoryPerThreadKiB*uint64(threads) || memKiB > lim.maxMemoryKiB:
		return fmt.Errorf("%w: %d KiB memory, want %d to %d", ErrKDFParams, memKiB,
			kdfMinMemoryPerThreadKiB*uint64(threads), lim.maxMemoryKiB)
	}
	return nil
}

func checkSalt(salt []byte) error {
	if len(salt) < minSaltSize || len(salt) > maxSaltSize {
		return fmt.Errorf("%w: %d-byte salt, want %d to %d", ErrKDFParams, len(salt), minSaltSize, maxSaltSize)
	}
	return nil
}

// passphraseKeys are the two keys derived from one Argon2id output: seal
// encrypts, check is stored so that a wrong passphrase can be told apart from a
// damaged seal. HKDF makes them independent, so storing check reveals nothing
// about seal beyond what the AEAD tag already allows (an offline guess).
type passphraseKeys struct {
	seal  secret
	check [32]byte
}

// HKDF info strings for passphrase keys, per file kind. Versioned so that a
// future format can change the derivation without ambiguity.
const (
	vaultPassphraseInfo  = "flowfed/v1/vault-passphrase"
	backupPassphraseInfo = "flowfed/v1/backup-passphrase"
)

// derivePassphraseKeys runs Argon2id. Callers must have validated p and salt.
func derivePassphraseKeys(passphrase []byte, p KDFParams, salt []byte, info string) passphraseKeys {
	ikm := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	defer clear(ikm)
	var k passphraseKeys
	k.seal, _ = secretFrom(mustHKDF(ikm, nil, info+"\x00seal", 32))
	copy(k.check[:], mustHKDF(ikm, nil, info+"\x00check", 32))
	return k
}

// matches compares check values in constant time.
func (k *passphraseKeys) matches(check []byte) bool {
	return subtle.ConstantTimeCompare(k.check[:], check) == 1
}

func (k *passphraseKeys) wipe() {
	k.seal.wipe()
	clear(k.check[:])
}

// mustHKDF is HKDF-SHA256. hkdf.Key fails only for an output longer than
// 255·32 bytes or, in FIPS-only mode, for a secret shorter than 112 bits; every
// caller passes a 32-byte (or longer) secret and a bounded length, so an error
// is a programming error.
func mustHKDF(secretBytes, salt []byte, info string, size int) []byte {
	out, err := hkdf.Key(sha256.New, secretBytes, salt, info, size)
	if err != nil {
		panic("keyvault: hkdf: " + err.Error())
	}
	return out
}

// nonceSize is XChaCha20-Poly1305's 24-byte nonce: large enough to draw at
// random for every seal without tracking counters across crashes.
const (
	nonceSize = chacha20poly1305.NonceSizeX
	tagSize   = chacha20poly1305.Overhead
)

// newAEAD fails only when the Go runtime enforces FIPS 140-only mode, which
// does not allow XChaCha20-Poly1305; the vault cannot work there.
func newAEAD(key secret) (cipher.AEAD, error) {
	aead, err := chacha20poly1305.NewX(key.bytes())
	if err != nil {
		return nil, fmt.Errorf("creating xchacha20-poly1305: %w", err)
	}
	return aead, nil
}

// seal encrypts plaintext under key with a random nonce, binding ad.
func seal(key secret, plaintext, ad []byte) (nonce, ciphertext []byte, err error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, nil, err
	}
	nonce = randomBytes(nonceSize)
	return nonce, aead.Seal(nil, nonce, plaintext, ad), nil
}

// unseal reverses seal. Any failure, including a wrong key, is reported as
// ErrCorrupt: callers that can tell a wrong passphrase apart check that first.
func unseal(key secret, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != nonceSize || len(ciphertext) < tagSize {
		return nil, fmt.Errorf("%w: malformed seal", ErrCorrupt)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, ciphertext, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: seal does not authenticate", ErrCorrupt)
	}
	return pt, nil
}

// randomBytes reads n bytes from the system CSPRNG. crypto/rand.Read never
// returns an error on supported platforms (it crashes the program instead), so
// there is no error to pass on.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// adBuilder builds associated data: a label, then fields that are either fixed
// width or length-prefixed, so that two different field lists never produce
// the same bytes.
type adBuilder []byte

func newAD(label string) adBuilder {
	return append(adBuilder(label), 0)
}

func (a adBuilder) bytes(b []byte) adBuilder {
	a = binary.AppendUvarint(a, uint64(len(b)))
	return append(a, b...)
}

func (a adBuilder) u64(v uint64) adBuilder {
	return binary.BigEndian.AppendUint64(a, v)
}

func (a adBuilder) i64(v int64) adBuilder {
	return a.u64(uint64(v))
}
