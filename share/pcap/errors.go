package pcap

import "errors"

// Sentinel errors. Test for them with errors.Is; the functions of this package wrap
// them with the context of the failed step. No error ever contains key material or an
// address read from a capture.
var (
	// ErrMode is returned by [Anonymize], [Deanonymize] and their File variants when the
	// pseudonymization mode cannot rewrite a packet in place: only the prefix-preserving
	// modes (cryptopan, ipcrypt-pfx) map an IPv4 address to an IPv4 address.
	ErrMode = errors.New("mode cannot rewrite captures")

	// ErrOptions is returned when [Options] or [RestoreOptions] are inconsistent: a
	// negative time rounding, an unknown output format or payload mode, a pass-through
	// list that covers too much of the address space (see [Passthrough]).
	ErrOptions = errors.New("invalid options")

	// ErrNoMetadata is returned by [ReadMetadata] and [Deanonymize] when a capture
	// carries no record of how it was anonymized: no flowfed section comment in a
	// pcapng file and no sidecar file next to a classic pcap file.
	ErrNoMetadata = errors.New("no flowfed anonymization record")

	// ErrKeyMismatch is returned by [Deanonymize] when the anonymization record in the
	// capture names another key ID or mode than the one the keys were made for.
	ErrKeyMismatch = errors.New("capture was anonymized with another key")

	// ErrSameFile is returned by [AnonymizeFile] and [DeanonymizeFile] when the output
	// path names the input file: the input would be destroyed by the rename.
	ErrSameFile = errors.New("output is the input file")
)
