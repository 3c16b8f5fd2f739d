package pseudo

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with context; test with errors.Is.
// No error of this package ever contains key material.
var (
	// ErrKeySize is returned by the constructors when the key has the wrong
	// length for its algorithm; the message names the expected length.
	ErrKeySize = errors.New("wrong key size")

	// ErrWeakKey is returned by NewIPCryptPFX and NewIPCryptNDX when the two
	// 16-byte halves of the key are equal: in ipcrypt-pfx the two AES
	// outputs would cancel and every address would map to itself, and
	// XTS requires distinct halves.
	ErrWeakKey = errors.New("weak key: both halves are equal")

	// ErrUnknownMode is returned by ParseMode, Mode.UnmarshalText and
	// NewAddrMapper for a mode name this package does not implement.
	ErrUnknownMode = errors.New("unknown pseudonymization mode")

	// ErrNotFormatPreserving is returned by NewAddrMapper for ipcrypt-nd and
	// ipcrypt-ndx, whose output is a byte string rather than an address.
	ErrNotFormatPreserving = errors.New("mode is not format-preserving")

	// ErrNotPseudonym is returned by the Decrypt methods of IPCryptND and
	// IPCryptNDX when the input cannot be one of their outputs (it has the
	// wrong length).
	ErrNotPseudonym = errors.New("not a pseudonym of this mode")

	// ErrInvalidAddr is returned when an address argument is the zero
	// netip.Addr.
	ErrInvalidAddr = errors.New("invalid address")

	// ErrBadOption is returned by the constructors for an out-of-range
	// Option value.
	ErrBadOption = errors.New("bad option")
)

func keySizeError(alg string, got, want int) error {
	return fmt.Errorf("creating %s: key is %d bytes, want %d: %w", alg, got, want, ErrKeySize)
}
