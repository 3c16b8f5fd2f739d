package pseudo

import (
	"fmt"
	"net/netip"
	"strings"
)

// Mode names an address pseudonymization algorithm. Its text form is the
// name used in configuration files and on the command line.
type Mode string

// The modes. ModeCryptoPAn and ModePFX preserve prefixes; ModeDeterministic
// only maps addresses to addresses; ModeND and ModeNDX produce byte strings
// that differ on every call.
const (
	ModeCryptoPAn     Mode = "cryptopan"
	ModePFX           Mode = "ipcrypt-pfx"
	ModeDeterministic Mode = "ipcrypt-det"
	ModeND            Mode = "ipcrypt-nd"
	ModeNDX           Mode = "ipcrypt-ndx"
)

// Modes lists every mode, in the order used in messages.
func Modes() []Mode {
	return []Mode{ModeCryptoPAn, ModePFX, ModeDeterministic, ModeND, ModeNDX}
}

// ParseMode returns the mode named s. Case is ignored, and the draft's name
// "ipcrypt-deterministic" is accepted for ModeDeterministic. An unknown
// name gives an error wrapping [ErrUnknownMode] that lists the valid ones.
func ParseMode(s string) (Mode, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "ipcrypt-deterministic" {
		return ModeDeterministic, nil
	}
	for _, m := range Modes() {
		if name == string(m) {
			return m, nil
		}
	}
	valid := make([]string, 0, 5)
	for _, m := range Modes() {
		valid = append(valid, string(m))
	}
	return "", fmt.Errorf("parsing mode %q (valid: %s): %w", s, strings.Join(valid, ", "), ErrUnknownMode)
}

// String returns the mode's name.
func (m Mode) String() string { return string(m) }

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) {
	if m.KeySize() == 0 {
		return nil, fmt.Errorf("marshaling mode %q: %w", string(m), ErrUnknownMode)
	}
	return []byte(m), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with [ParseMode].
func (m *Mode) UnmarshalText(b []byte) error {
	p, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = p
	return nil
}

// KeySize returns the number of key bytes the mode needs, or 0 for an
// unknown mode.
func (m Mode) KeySize() int {
	switch m {
	case ModeCryptoPAn:
		return CryptoPAnKeySize
	case ModePFX:
		return PFXKeySize
	case ModeDeterministic:
		return DetKeySize
	case ModeND:
		return NDKeySize
	case ModeNDX:
		return NDXKeySize
	}
	return 0
}

// FormatPreserving reports whether the mode's output is an address
// (cryptopan, ipcrypt-pfx, ipcrypt-det). ipcrypt-nd and ipcrypt-ndx output
// 24 or 32 bytes.
func (m Mode) FormatPreserving() bool {
	return m == ModeCryptoPAn || m == ModePFX || m == ModeDeterministic
}

// PrefixPreserving reports whether addresses sharing a prefix of n bits get
// pseudonyms sharing a prefix of n bits. Only these modes also keep the
// address family (an IPv4 pseudonym for an IPv4 address), which rewriting
// a packet in place needs.
func (m Mode) PrefixPreserving() bool {
	return m == ModeCryptoPAn || m == ModePFX
}

// AddrMapper is a deterministic, invertible, format-preserving address
// mapping. Map is a pure function of the key and the address: the result
// never depends on other calls or their order. The zero Addr maps to
// itself and IPv6 zones are dropped. Unmap inverts Map; its only error is
// [ErrInvalidAddr] for the zero Addr. Implementations are safe for
// concurrent use.
type AddrMapper interface {
	Map(a netip.Addr) netip.Addr
	Unmap(p netip.Addr) (netip.Addr, error)
}

// NewAddrMapper returns the AddrMapper of a format-preserving mode. Options
// apply to the prefix-preserving modes and are ignored by ipcrypt-det. For
// ipcrypt-nd and ipcrypt-ndx it returns an error wrapping
// [ErrNotFormatPreserving]; use [NewIPCryptND] or [NewIPCryptNDX].
func NewAddrMapper(m Mode, key []byte, opts ...Option) (AddrMapper, error) {
	switch m {
	case ModeCryptoPAn:
		return NewCryptoPAn(key, opts...)
	case ModePFX:
		return NewIPCryptPFX(key, opts...)
	case ModeDeterministic:
		if _, err := newConfig(opts); err != nil {
			return nil, err
		}
		return NewIPCryptDet(key)
	case ModeND, ModeNDX:
		return nil, fmt.Errorf("creating address mapper for %s: %w", m, ErrNotFormatPreserving)
	}
	return nil, fmt.Errorf("creating address mapper for %q: %w", string(m), ErrUnknownMode)
}
