package keyvault

import (
	"fmt"
	"io"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// secret is a handle to 32 key bytes. It is a function rather than an array
// or a pointer on purpose: when fmt prints a struct that holds a key type in
// an unexported field, it cannot call the key type's Format method and falls
// back to reflection, which follows pointers (for some verbs even nested
// ones) but shows a function only as an address. Key bytes are reached only
// through bytes().
type secret func() *[32]byte

// Format redacts, in case a secret is ever printed directly.
func (secret) Format(f fmt.State, verb rune) { writeRedacted(f, verb, "secret(redacted)") }

func (s secret) bytes() []byte { return s()[:] }

// wipe zeroes the bytes; every holder of the handle sees zeros afterwards.
func (s secret) wipe() { clear(s()[:]) }

func newSecret() secret {
	b := randomBytes(32)
	defer clear(b)
	s, _ := secretFrom(b)
	return s
}

// secretFrom copies b, which must be 32 bytes.
func secretFrom(b []byte) (secret, bool) {
	if len(b) != 32 {
		return nil, false
	}
	arr := new([32]byte)
	copy(arr[:], b)
	return func() *[32]byte { return arr }, true
}

// writeRedacted is the body of every key type's Format method: whatever the
// verb (%x included), the output is the redacted description.
func writeRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s)
		return
	}
	_, _ = io.WriteString(f, s)
}

// masterKey is the root of the vault's sealing keys: the record key is
// derived from it (deriveRecordKey), and it is itself sealed under the
// passphrase. It never leaves the package.
type masterKey struct{ s secret }

func (masterKey) String() string                  { return "masterKey(redacted)" }
func (k masterKey) GoString() string              { return k.String() }
func (k masterKey) Format(f fmt.State, verb rune) { writeRedacted(f, verb, k.String()) }
func (k masterKey) LogValue() slog.Value          { return slog.StringValue(k.String()) }

// HKDF info strings. They are part of the pseudonymization format: changing one
// changes every pseudonym, so golden tests pin their outputs.
const (
	domainKeyInfo = "flowfed/v1/domain-key"
	pseudoKeyInfo = "flowfed/v1/pseudo-key"
	maxDomainLen  = 255
	maxPseudoSize = 255 * 32 // the most HKDF-SHA256 can produce
)

// EpochKey is a random 32-byte pseudonymization key for one epoch, as returned
// by [Vault.EpochFor], [Vault.Rotate] and [Vault.Key]. It covers the interval
// [Start, End) in UTC.
//
// The zero value is not a key. An EpochKey never prints its bytes: String,
// GoString, Format (every fmt verb) and LogValue return a redacted form such
// as "EpochKey(ek_…, redacted)". The only way to key material is
// [EpochKey.PseudoKey] (or a [DomainKey] derived from it). EpochKey is an
// immutable value and safe for concurrent use.
type EpochKey struct {
	id      KeyID
	start   time.Time
	end     time.Time
	created time.Time
	k       secret
}

// ID returns the key ID that pseudonym-bearing records made with this key carry.
func (k EpochKey) ID() KeyID { return k.id }

// Start returns the beginning of the interval the key covers.
func (k EpochKey) Start() time.Time { return k.start }

// End returns the end (exclusive) of the interval the key covers.
func (k EpochKey) End() time.Time { return k.end }

// Created returns when the key was generated.
func (k EpochKey) Created() time.Time { return k.created }

// IsZero reports whether k is the zero EpochKey.
func (k EpochKey) IsZero() bool { return k.k == nil }

// Domain derives the key for one recipient domain (a peer ID or a sharing
// group name) from this epoch key: HKDF-SHA256 with the epoch key as secret,
// no salt, and info "flowfed/v1/domain-key" || 0x00 || name. Different domains
// get independent keys, so two recipients cannot link what they were sent
// unless policy puts them in one domain. The name must be 1 to 255 bytes of
// UTF-8; otherwise the error wraps [ErrInvalid].
func (k EpochKey) Domain(name string) (DomainKey, error) {
	if k.k == nil {
		return DomainKey{}, fmt.Errorf("deriving domain key: zero epoch key: %w", ErrInvalid)
	}
	if name == "" || len(name) > maxDomainLen || !utf8.ValidString(name) {
		return DomainKey{}, fmt.Errorf("deriving domain key: domain name must be 1 to %d bytes of UTF-8: %w",
			maxDomainLen, ErrInvalid)
	}
	d, _ := secretFrom(mustHKDF(k.k.bytes(), nil, domainKeyInfo+"\x00"+name, 32))
	return DomainKey{epoch: k.id, domain: name, k: d}, nil
}

// PseudoKey returns size bytes of key material for the pseudonymization
// algorithm named mode ("cryptopan", "ipcrypt-pfx", "ipcrypt-det",
// "ipcrypt-nd", "ipcrypt-ndx", "mac", "token", …): HKDF-SHA256 with the epoch
// key as secret, no salt, and info "flowfed/v1/pseudo-key" || 0x00 || mode.
//
// This is the explicit accessor for raw key bytes, meant for the
// pseudonymization code only: the caller owns the returned slice and must not
// log or store it. For "ipcrypt-pfx" with size 32 the two 16-byte halves are
// guaranteed to differ (the algorithm needs two distinct AES keys).
//
// PseudoKey panics if k is zero, mode is empty, or size is not in 1..8160:
// those are programming errors, not conditions of the input.
func (k EpochKey) PseudoKey(mode string, size int) []byte {
	if k.k == nil {
		panic("keyvault: PseudoKey on a zero EpochKey")
	}
	return derivePseudoKey(k.k, mode, size)
}

// String returns "EpochKey(<id>, redacted)".
func (k EpochKey) String() string {
	if k.k == nil {
		return "EpochKey(zero)"
	}
	return "EpochKey(" + k.id.String() + ", redacted)"
}

// GoString returns the same redacted form as String.
func (k EpochKey) GoString() string { return k.String() }

// Format implements [fmt.Formatter] so that no verb prints key bytes.
func (k EpochKey) Format(f fmt.State, verb rune) { writeRedacted(f, verb, k.String()) }

// LogValue implements [slog.LogValuer] with the redacted form.
func (k EpochKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// DomainKey is an epoch key specialised to one recipient domain (see
// [EpochKey.Domain]). Like EpochKey it never prints its bytes, is immutable
// and safe for concurrent use.
type DomainKey struct {
	epoch  KeyID
	domain string
	k      secret
}

// EpochID returns the ID of the epoch key this key was derived from; together
// with Domain it names the key in pseudonym-bearing records.
func (k DomainKey) EpochID() KeyID { return k.epoch }

// Domain returns the recipient domain name.
func (k DomainKey) Domain() string { return k.domain }

// IsZero reports whether k is the zero DomainKey.
func (k DomainKey) IsZero() bool { return k.k == nil }

// PseudoKey derives algorithm key material from the domain key exactly as
// [EpochKey.PseudoKey] does from an epoch key, with the same contract and
// panics.
func (k DomainKey) PseudoKey(mode string, size int) []byte {
	if k.k == nil {
		panic("keyvault: PseudoKey on a zero DomainKey")
	}
	return derivePseudoKey(k.k, mode, size)
}

// String returns "DomainKey(<epoch id>/<domain>, redacted)".
func (k DomainKey) String() string {
	if k.k == nil {
		return "DomainKey(zero)"
	}
	return fmt.Sprintf("DomainKey(%s/%q, redacted)", k.epoch, k.domain)
}

// GoString returns the same redacted form as String.
func (k DomainKey) GoString() string { return k.String() }

// Format implements [fmt.Formatter] so that no verb prints key bytes.
func (k DomainKey) Format(f fmt.State, verb rune) { writeRedacted(f, verb, k.String()) }

// LogValue implements [slog.LogValuer] with the redacted form.
func (k DomainKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// derivePseudoKey implements PseudoKey for both key types.
func derivePseudoKey(s secret, mode string, size int) []byte {
	if mode == "" {
		panic("keyvault: PseudoKey with an empty mode")
	}
	if size < 1 || size > maxPseudoSize {
		panic(fmt.Sprintf("keyvault: PseudoKey size %d not in 1..%d", size, maxPseudoSize))
	}
	expand := func(info string) []byte { return mustHKDF(s.bytes(), nil, info, size) }
	info := pseudoKeyInfo + "\x00" + mode
	if mode == "ipcrypt-pfx" && size == 32 {
		return distinctHalves(info, expand)
	}
	return expand(info)
}

// distinctHalves derives a 32-byte key whose 16-byte halves differ. The first
// try uses info itself, so the common case equals the plain derivation; if the
// halves collide (probability 2^-128) it retries with info || 0x00 || counter.
// expand is a parameter so that tests can force the collision path.
func distinctHalves(info string, expand func(info string) []byte) []byte {
	for ctr := 0; ctr < 256; ctr++ {
		in := info
		if ctr > 0 {
			in = info + string([]byte{0, byte(ctr)})
		}
		out := expand(in)
		if string(out[:16]) != string(out[16:]) {
			return out
		}
		clear(out)
	}
	// 256 collisions in a row mean expand is not a PRF.
	panic("keyvault: cannot derive distinct ipcrypt-pfx halves")
}

// IdentityKey is the node's libp2p Ed25519 key, as stored in the vault. It
// exists to sign: the libp2p host uses it to authenticate its connections and
// flowfed signs envelopes with it. It is never used to encrypt or to derive
// other keys. Like the other key types it prints only a redacted form with
// its peer ID.
type IdentityKey struct {
	id KeyID
	// priv is a function for the reason given at [secret]: libp2p's key type
	// is a pointer to the key bytes.
	priv func() crypto.PrivKey
	pid  peer.ID
}

func newIdentityKey(id KeyID, priv crypto.PrivKey, pid peer.ID) IdentityKey {
	return IdentityKey{id: id, priv: func() crypto.PrivKey { return priv }, pid: pid}
}

// ID returns the vault key ID of the identity record.
func (k IdentityKey) ID() KeyID { return k.id }

// PeerID returns the libp2p peer ID of the key.
func (k IdentityKey) PeerID() peer.ID { return k.pid }

// Public returns the public half.
func (k IdentityKey) Public() crypto.PubKey {
	if k.priv == nil {
		return nil
	}
	return k.priv().GetPublic()
}

// Sign signs data with Ed25519.
func (k IdentityKey) Sign(data []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, fmt.Errorf("signing: zero identity key: %w", ErrInvalid)
	}
	return k.priv().Sign(data)
}

// PrivKey returns the libp2p private key, for libp2p.Identity. This is the
// explicit accessor for key material: libp2p's key type does not redact when
// printed, so never log or format the returned value.
func (k IdentityKey) PrivKey() crypto.PrivKey {
	if k.priv == nil {
		return nil
	}
	return k.priv()
}

// String returns "IdentityKey(<peer id>, redacted)".
func (k IdentityKey) String() string {
	if k.priv == nil {
		return "IdentityKey(zero)"
	}
	return "IdentityKey(" + k.pid.String() + ", redacted)"
}

// GoString returns the same redacted form as String.
func (k IdentityKey) GoString() string { return k.String() }

// Format implements [fmt.Formatter] so that no verb prints key bytes.
func (k IdentityKey) Format(f fmt.State, verb rune) { writeRedacted(f, verb, k.String()) }

// LogValue implements [slog.LogValuer] with the redacted form.
func (k IdentityKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// KeyInfo describes a stored key without its bytes, as listed by [Vault.List].
type KeyInfo struct {
	ID      KeyID
	Purpose Purpose
	// Start and End bound the interval [Start, End) an epoch key covers. For
	// the identity key Start is its creation time and End is zero.
	Start time.Time
	End   time.Time
	// Created is when the key was generated.
	Created time.Time
	// Shredded is when the key was shredded; zero unless State is StateShredded.
	Shredded time.Time
	State    KeyState
}
