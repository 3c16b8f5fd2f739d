package keyvault

import (
	"encoding/base32"
	"fmt"
	"strings"
)

// Purpose says what a stored key is for. Each purpose has its own Go type for
// the key itself ([EpochKey], [IdentityKey]) and its own [KeyID] text prefix.
type Purpose uint8

// Key purposes. The numbers are stored in the vault file.
const (
	// PurposeEpoch is a pseudonymization key for one epoch.
	PurposeEpoch Purpose = 1
	// PurposeIdentity is the node's libp2p Ed25519 signing key.
	PurposeIdentity Purpose = 2
)

func (p Purpose) valid() bool { return p == PurposeEpoch || p == PurposeIdentity }

// String returns "epoch" or "identity".
func (p Purpose) String() string {
	switch p {
	case PurposeEpoch:
		return "epoch"
	case PurposeIdentity:
		return "identity"
	}
	return fmt.Sprintf("Purpose(%d)", uint8(p))
}

// idPrefix is the text prefix of key IDs of this purpose.
func (p Purpose) idPrefix() string {
	switch p {
	case PurposeEpoch:
		return "ek_"
	case PurposeIdentity:
		return "ik_"
	}
	return ""
}

// KeyState is where a key is in its life cycle.
type KeyState uint8

// Key states. The numbers are stored in the vault file.
const (
	// StateActive: the key is used for new data at the current time.
	StateActive KeyState = 1
	// StateRetired: superseded (by [Vault.Rotate] or the end of its epoch);
	// still available to reverse pseudonyms.
	StateRetired KeyState = 2
	// StateShredded: the key bytes are destroyed; only metadata remains.
	StateShredded KeyState = 3
)

func (s KeyState) valid() bool { return s >= StateActive && s <= StateShredded }

// String returns "active", "retired" or "shredded".
func (s KeyState) String() string {
	switch s {
	case StateActive:
		return "active"
	case StateRetired:
		return "retired"
	case StateShredded:
		return "shredded"
	}
	return fmt.Sprintf("KeyState(%d)", uint8(s))
}

// MarshalText implements [encoding.TextMarshaler].
func (s KeyState) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("marshaling key state %d: %w", uint8(s), ErrInvalid)
	}
	return []byte(s.String()), nil
}

// keyIDSize is 128 random bits: collisions are out of reach, and the ID says
// nothing about the key (it is drawn independently of the key bytes).
const keyIDSize = 16

// idEncoding is lowercase RFC 4648 base32 without padding: case-insensitive
// systems and humans can copy it, and 16 bytes become 26 characters.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// KeyID identifies a key in a vault. Every pseudonym-bearing record carries the
// KeyID of the epoch key it was made with, so the zero value means "none".
//
// Its canonical text form is a purpose prefix ("ek_" for epoch keys, "ik_"
// for the node identity) followed by 26 lowercase base32 characters, for
// example "ek_mfrggzdfmztwq2lknnwg23tpoa". The ID is random, never derived from
// key material. KeyID is comparable and can be used as a map key.
type KeyID struct {
	purpose Purpose
	raw     [keyIDSize]byte
}

func newKeyID(p Purpose) KeyID {
	id := KeyID{purpose: p}
	copy(id.raw[:], randomBytes(keyIDSize))
	return id
}

func keyIDFromBytes(p Purpose, b []byte) (KeyID, bool) {
	if len(b) != keyIDSize || !p.valid() {
		return KeyID{}, false
	}
	id := KeyID{purpose: p}
	copy(id.raw[:], b)
	return id, true
}

// IsZero reports whether id is the zero KeyID.
func (id KeyID) IsZero() bool { return id == KeyID{} }

// Purpose returns the purpose of the key id names.
func (id KeyID) Purpose() Purpose { return id.purpose }

// String returns the canonical text form, or "none" for the zero KeyID.
func (id KeyID) String() string {
	if id.IsZero() || !id.purpose.valid() {
		return "none"
	}
	return id.purpose.idPrefix() + idEncoding.EncodeToString(id.raw[:])
}

// MarshalText implements [encoding.TextMarshaler]. The zero KeyID has no text
// form and returns an error wrapping [ErrInvalid].
func (id KeyID) MarshalText() ([]byte, error) {
	if id.IsZero() || !id.purpose.valid() {
		return nil, fmt.Errorf("marshaling key ID: zero key ID: %w", ErrInvalid)
	}
	return []byte(id.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]. It accepts only the
// canonical form produced by MarshalText, so each ID has exactly one text.
func (id *KeyID) UnmarshalText(text []byte) error {
	parsed, err := ParseKeyID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseKeyID parses the canonical text form of a KeyID. Errors wrap
// [ErrInvalid] and quote at most the prefix of s.
func ParseKeyID(s string) (KeyID, error) {
	var p Purpose
	switch {
	case strings.HasPrefix(s, PurposeEpoch.idPrefix()):
		p = PurposeEpoch
	case strings.HasPrefix(s, PurposeIdentity.idPrefix()):
		p = PurposeIdentity
	default:
		return KeyID{}, fmt.Errorf("parsing key ID: want prefix ek_ or ik_: %w", ErrInvalid)
	}
	body := s[len(p.idPrefix()):]
	if len(body) != idEncoding.EncodedLen(keyIDSize) {
		return KeyID{}, fmt.Errorf("parsing key ID: %d characters after the prefix, want %d: %w",
			len(body), idEncoding.EncodedLen(keyIDSize), ErrInvalid)
	}
	raw, err := idEncoding.DecodeString(body)
	// Base32 of 16 bytes has 2 spare bits in the last character; re-encoding
	// rejects texts that set them, which would otherwise alias a canonical ID.
	if err != nil || len(raw) != keyIDSize || idEncoding.EncodeToString(raw) != body {
		return KeyID{}, fmt.Errorf("parsing key ID: not canonical lowercase base32: %w", ErrInvalid)
	}
	id, _ := keyIDFromBytes(p, raw)
	return id, nil
}
