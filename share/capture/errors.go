package capture

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test for them with [errors.Is]; the errors returned by this package
// wrap them with the context of the failed step.
var (
	// ErrUnknownFormat is returned by [NewReader] when the input does not start with the
	// magic number of classic pcap or pcapng. The message names the first bytes in hex
	// and, when they belong to a format known not to be a capture this package reads
	// (gzip, zstd, modified pcap, snoop), that format.
	ErrUnknownFormat = errors.New("unknown capture format")

	// ErrDamaged is wrapped by every [*DamageError], so callers that do not care about
	// the kind of damage can branch on errors.Is(err, ErrDamaged).
	ErrDamaged = errors.New("damaged capture")

	// ErrLinkType is returned by the writers for a link type that does not fit the
	// 16-bit field of the pcap header or the pcapng Interface Description Block.
	ErrLinkType = errors.New("link type out of range")

	// ErrSnapLen is returned by the writers for a snapshot length above [MaxPacketLen]:
	// this package would not read such packets back.
	ErrSnapLen = errors.New("snapshot length out of range")

	// ErrTimestampRange is returned by WritePacket when a timestamp cannot be stored in
	// the output format: before 1970 for both formats, after 2106-02-07 for classic pcap.
	ErrTimestampRange = errors.New("timestamp out of range")

	// ErrNoInterface is returned by [PcapngWriter.WritePacket] when the packet names an
	// interface that was not added to the writer.
	ErrNoInterface = errors.New("no such interface")

	// ErrOptionTooLong is returned by [NewPcapngWriter] when a comment or application
	// name exceeds the 65535 bytes a pcapng option can hold.
	ErrOptionTooLong = errors.New("option value too long")
)

// DamageKind names one kind of damage found in a capture.
type DamageKind uint8

// Kinds of damage. The comment of each says what happens to the record or block; see
// the package documentation for the rules. The zero value is not a kind.
const (
	// DamageTruncatedFile: the input ends inside the pcap file header or a pcap record.
	// Fatal.
	DamageTruncatedFile DamageKind = iota + 1
	// DamageTruncatedBlock: the input ends inside a pcapng block. Fatal.
	DamageTruncatedBlock
	// DamageBogusBlockLength: a pcapng block length is below the minimum of its block
	// type, not a multiple of 4, above [MaxBlockLen], or differs from the copy at the
	// end of the block. Fatal: the next block cannot be found.
	DamageBogusBlockLength
	// DamageBadSectionHeader: a Section Header Block has an unknown byte-order magic or
	// a major version other than 1. Fatal.
	DamageBadSectionHeader
	// DamageLimit: the input describes more than [MaxInterfaces] interfaces or more
	// than [MaxSections] sections. Fatal.
	DamageLimit
	// DamageCaplenGtMax: a captured length above [MaxPacketLen]. Fatal in classic pcap
	// (the next record cannot be found), resumable in pcapng (the block is skipped).
	DamageCaplenGtMax
	// DamageCaplenGtBlock: a pcapng packet block claims more captured bytes than the
	// block holds. Resumable: the block is skipped.
	DamageCaplenGtBlock
	// DamageBadInterfaceID: a pcapng packet block names an interface that its section
	// has not described. Resumable: the block is skipped.
	DamageBadInterfaceID
	// DamageCaplenGtSnaplen: a captured length above the snapshot length of its
	// interface. Counted; the packet is delivered whole.
	DamageCaplenGtSnaplen
	// DamageCaplenGtLen: a captured length above the original length. Counted; the
	// packet is delivered with OrigLen as read.
	DamageCaplenGtLen
	// DamageBadTimestamp: a sub-second field of one second or more (classic pcap), or a
	// time outside the int64 nanosecond range. Counted; the packet is delivered with the
	// excess carried into seconds, or with the time clamped.
	DamageBadTimestamp
	// DamageBadOption: an option in an Interface Description Block runs past the end of
	// its block, or if_tsresol/if_tsoffset has the wrong size. Counted; the remaining
	// options of that block are ignored.
	DamageBadOption
	// DamageUnknownBlock: a pcapng block type that is neither standard, custom,
	// reserved for local use nor assigned to a known application. Counted; skipped.
	DamageUnknownBlock

	numDamageKinds
)

var damageNames = [numDamageKinds]string{
	DamageTruncatedFile:    "truncated-file",
	DamageTruncatedBlock:   "truncated-block",
	DamageBogusBlockLength: "bogus-block-length",
	DamageBadSectionHeader: "bad-section-header",
	DamageLimit:            "limit-exceeded",
	DamageCaplenGtMax:      "caplen-gt-max",
	DamageCaplenGtBlock:    "caplen-gt-block",
	DamageBadInterfaceID:   "bad-interface-id",
	DamageCaplenGtSnaplen:  "caplen-gt-snaplen",
	DamageCaplenGtLen:      "caplen-gt-len",
	DamageBadTimestamp:     "bad-timestamp",
	DamageBadOption:        "bad-option",
	DamageUnknownBlock:     "unknown-block",
}

// String returns the kebab-case name of the kind, such as "caplen-gt-snaplen".
func (k DamageKind) String() string {
	if k > 0 && k < numDamageKinds {
		return damageNames[k]
	}
	return fmt.Sprintf("DamageKind(%d)", uint8(k))
}

// MarshalText returns the name of the kind, so summaries encode readably as JSON.
func (k DamageKind) MarshalText() ([]byte, error) {
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind's name, as MarshalText writes it.
func (k *DamageKind) UnmarshalText(b []byte) error {
	for i := DamageKind(1); i < numDamageKinds; i++ {
		if damageNames[i] == string(b) {
			*k = i
			return nil
		}
	}
	var n uint8
	if _, err := fmt.Sscanf(string(b), "DamageKind(%d)", &n); err == nil {
		*k = DamageKind(n)
		return nil
	}
	return fmt.Errorf("unknown damage kind %q", b)
}

// Damage summarises one kind of damage found while reading: how often it occurred and
// where first.
type Damage struct {
	Kind   DamageKind
	Count  int
	Offset int64 // byte offset of the first damaged record or block
}

// DamageError reports damage that keeps a record or block from being delivered as a
// packet. [Reader.Next] returns it directly (it carries its own context).
//
// When Resumable is true, the damaged block was skipped whole and its neighbours are
// intact: Next may be called again and continues with the following block. Otherwise
// the reader has stopped and every later call to Next returns the same error.
type DamageError struct {
	Kind      DamageKind
	Offset    int64  // byte offset of the start of the damaged record or block
	Record    string // what was being read, such as "enhanced packet block"
	Detail    string // what is wrong, with the values read from the input
	Resumable bool
	Err       error // underlying cause such as io.ErrUnexpectedEOF, or nil
}

// Error names the record, its byte offset in hex and what is wrong with it.
func (e *DamageError) Error() string {
	msg := fmt.Sprintf("reading %s at offset %#x: %s (%s)", e.Record, e.Offset, e.Detail, e.Kind)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns [ErrDamaged] and, when set, the underlying cause.
func (e *DamageError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrDamaged, e.Err}
	}
	return []error{ErrDamaged}
}
