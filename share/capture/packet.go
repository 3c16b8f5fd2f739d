package capture

import (
	"encoding/binary"
	"strconv"
	"time"
)

// Limits that bound every allocation made for data read from a capture.
const (
	// MaxPacketLen is the largest captured length read or written, the same bound as
	// libpcap's for most link types. A record header may claim less snaplen than its
	// packet holds (that is counted, not refused), but never more than this.
	MaxPacketLen = 262144

	// MaxBlockLen is the largest pcapng block accepted, the bound libpcap uses. Blocks
	// are never allocated whole: non-packet blocks are skipped in place.
	MaxBlockLen = 16 << 20

	// MaxInterfaces bounds the interfaces kept for [Reader.Interfaces], over all sections.
	MaxInterfaces = 1 << 16

	// MaxSections bounds the pcapng sections kept for [Reader.Sections].
	MaxSections = 1 << 16

	// maxNameLen bounds the interface name kept from if_name.
	maxNameLen = 256
)

// Format is a capture container format.
type Format uint8

// Container formats, told apart by their magic numbers.
const (
	FormatPcap   Format = iota + 1 // classic libpcap format
	FormatPcapng                   // pcapng
)

// String returns "pcap" or "pcapng".
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapng:
		return "pcapng"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Resolution is a timestamp resolution in the encoding of the pcapng if_tsresol option:
// with the top bit clear the unit is 10^-n seconds, with it set 2^-n seconds, n being
// the low seven bits.
type Resolution uint8

// Common resolutions: classic pcap uses one of these two.
const (
	ResolutionMicro Resolution = 6 // microseconds, the pcapng default
	ResolutionNano  Resolution = 9 // nanoseconds
)

// String returns "us", "ns", "ms" or "s" for the common decimal resolutions,
// otherwise "10^-n" or "2^-n".
func (r Resolution) String() string {
	switch r {
	case 0:
		return "s"
	case 3:
		return "ms"
	case ResolutionMicro:
		return "us"
	case ResolutionNano:
		return "ns"
	}
	if r&0x80 != 0 {
		return "2^-" + strconv.Itoa(int(r&0x7f))
	}
	return "10^-" + strconv.Itoa(int(r))
}

// Packet is one packet read from a capture, or one to write.
type Packet struct {
	// Data holds the captured bytes. A Packet returned by [Reader.Next] points into the
	// reader's buffer: Data is valid, and may be modified in place, until the next call
	// to Next, including one that returns io.EOF or an error (the buffer then goes to
	// other Readers). Copy it to keep it. Its length is the captured length; there is
	// no separate field for it, so the two cannot disagree.
	Data []byte

	// Timestamp is the arrival time in nanoseconds since the Unix epoch, UTC, with the
	// pcapng if_tsoffset applied. See [Packet.Time].
	Timestamp int64

	// OrigLen is the length of the packet on the wire; it is at least len(Data) in an
	// undamaged capture.
	OrigLen int

	// Interface indexes [Reader.Interfaces]: interfaces are numbered over the whole
	// input, so in a pcapng file with several sections the first interface of the
	// second section follows the last of the first. Always 0 for classic pcap. For
	// [PcapngWriter.WritePacket] it selects the writer's interface.
	Interface int

	// LinkType is the link type of the packet's interface. The writers ignore it: the
	// link type of written packets is the one of the interface they are written to.
	LinkType LinkType

	// NoTimestamp is true for packets from pcapng Simple Packet Blocks, which carry no
	// time; Timestamp is then 0. The writers ignore it.
	NoTimestamp bool
}

// Time returns the timestamp as a [time.Time] in UTC.
func (p *Packet) Time() time.Time {
	return time.Unix(0, p.Timestamp).UTC()
}

// Interface describes one capture interface: the single one of a classic pcap file or
// one Interface Description Block of a pcapng file.
type Interface struct {
	LinkType   LinkType
	SnapLen    int        // snapshot length; 0 means unlimited
	Resolution Resolution // timestamp resolution of its packets
	TSOffset   int64      // if_tsoffset in seconds, already added to packet timestamps
	Name       string     // if_name, cut at 256 bytes; empty for classic pcap
	Section    int        // index into Reader.Sections; 0 for classic pcap
}

// Section describes one pcapng section.
type Section struct {
	Offset    int64            // byte offset of its Section Header Block
	ByteOrder binary.ByteOrder // binary.LittleEndian or binary.BigEndian
	Major     uint16           // format version, always 1
	Minor     uint16
}
