package pseudo

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"hash"
	"log/slog"
	"sync"
)

// TokenPrefix starts every token, so a reader (or a policy rule) can tell a
// pseudonym from a real name.
const TokenPrefix = "tok1-"

// tokenBytes is how much of the HMAC output a token keeps: 128 bits, far
// beyond any realistic number of distinct names, in 26 base32 characters.
const tokenBytes = 16

// tokenEncoding is lowercase base32 without padding: letters and digits only,
// so a token is also a valid DNS label and user name.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Tokenizer turns short strings such as host names and user names into
// keyed pseudonyms: "tok1-" followed by 26 characters of HMAC-SHA-256. The
// same key, context and input always give the same token; without the key
// no token can be linked to its input, and with it only by guessing inputs
// (tokens are not reversible). The context (for example "hostname" or
// "username") is mixed into the key, so tokens of different contexts do not
// match even for equal inputs.
//
// Tokenizer hashes the bytes it is given: normalize first where the
// application treats spellings as equal (DNS names are case-insensitive,
// Unix user names are not).
//
// A Tokenizer is safe for concurrent use. Create one with [NewTokenizer].
type Tokenizer struct {
	pool *sync.Pool // of keyed HMAC states
}

// NewTokenizer returns a Tokenizer for the given context. key must be at
// least [MinDerivedKeySize] bytes.
func NewTokenizer(key []byte, context string) (*Tokenizer, error) {
	if len(key) < MinDerivedKeySize {
		return nil, fmt.Errorf("creating tokenizer: key is %d bytes, want at least %d: %w",
			len(key), MinDerivedKeySize, ErrKeySize)
	}
	sub, err := hkdf.Key(sha256.New, key, nil, tokenKeyInfo+context, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("deriving token key: %w", err)
	}
	// HMAC keeps its own copy of the key; sub is only reachable from the
	// pool's constructor.
	return &Tokenizer{pool: &sync.Pool{New: func() any { return hmac.New(sha256.New, sub) }}}, nil
}

// Token returns the token of s.
func (t *Tokenizer) Token(s string) string {
	h := t.pool.Get().(hash.Hash)
	h.Reset()
	_, _ = h.Write([]byte(s))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	t.pool.Put(h)
	var out [len(TokenPrefix) + 26]byte
	copy(out[:], TokenPrefix)
	tokenEncoding.Encode(out[len(TokenPrefix):], sum[:tokenBytes])
	return string(out[:])
}

// String returns a redacted description; the key never appears.
func (t Tokenizer) String() string { return redacted("Tokenizer") }

// GoString implements fmt.GoStringer with the same redacted form.
func (t Tokenizer) GoString() string { return t.String() }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (t Tokenizer) Format(s fmt.State, verb rune) { formatRedacted(s, "Tokenizer") }

// LogValue implements slog.LogValuer with the redacted form.
func (t Tokenizer) LogValue() slog.Value { return slog.StringValue(t.String()) }
