// Package capture reads and writes packet captures: classic pcap and pcapng. It is the
// one place where flowfed parses capture containers; packet decoding (link layers, IP
// and above) happens in the packages that use it.
//
// A [Reader] streams packets through one buffer and hands each out as a slice of it,
// so reading allocates nothing per packet:
//
//	r, err := capture.NewReader(f)
//	if err != nil {
//		return err
//	}
//	for {
//		p, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		var de *capture.DamageError
//		if errors.As(err, &de) && de.Resumable {
//			continue // one damaged block skipped
//		}
//		if err != nil {
//			return err
//		}
//		use(p.Data, p.Timestamp, p.LinkType)
//	}
//	report(r.Damage())
//
// [PcapWriter] and [PcapngWriter] write captures that this package, libpcap, Wireshark
// and gopacket read back. They write only what they are given (link types, snapshot
// lengths, packets, and for pcapng an optional comment and application name): no
// interface names, filters, host descriptions, name resolution or decryption secrets
// are ever carried over from a capture that was read, so a rewritten capture leaks no
// metadata of its source.
//
// # Formats
//
// The format is told by the magic number, never by the file name. Classic pcap is read
// in both byte orders with microsecond (a1b2c3d4) and nanosecond (a1b23c4d) timestamps;
// its link type is the low 16 bits of the header field, the upper bits carrying FCS
// information. pcapng is read with any number of sections, each in its own byte order,
// and any number of interfaces per section, each with its own link type, snapshot
// length, if_tsresol (10^-n and 2^-n seconds) and if_tsoffset. Enhanced, Simple and the
// obsolete Packet Blocks yield packets; all other blocks are skipped and never counted
// as packets. Interfaces are numbered over the whole input ([Packet.Interface] indexes
// [Reader.Interfaces]), so packets of different sections stay apart.
//
// Timestamps are int64 nanoseconds since the Unix epoch, which spans 1678 to 2262;
// finer units are rounded down. Simple Packet Blocks carry no time: their packets have
// NoTimestamp set.
//
// Link types are reported at full width as [LinkType]. A snapshot length of 0 means
// unlimited when read, and is never written: the writers put [MaxPacketLen] instead.
//
// # Damage
//
// Damaged input is data, not a crash: the reader delivers what is readable and reports
// the rest, by kind ([DamageKind]) and first byte offset, in [Reader.Damage]. There are
// three classes:
//
//   - Counted: the packet is delivered and reading goes on. A captured length above the
//     snapshot length (the packet is delivered whole: snaplen limits what a capturing
//     tool kept, not what a reader may read) or above the original length, a sub-second
//     field of a second or more, a malformed interface option, an unknown block type.
//   - Resumable: a pcapng packet block whose captured length exceeds its block or
//     [MaxPacketLen], or that names an interface its section lacks, while the block
//     framing is intact. Next returns a [*DamageError] with Resumable set; the block has
//     been skipped and the next call continues after it.
//   - Fatal: the input ends inside a header, record or block; a pcapng block length that
//     is impossible or differs from its trailing copy; a bad Section Header Block; a
//     classic pcap captured length above MaxPacketLen (the next record cannot be found
//     from it). Next returns a [*DamageError] naming the byte offset of the record and
//     the value at fault, and returns it again on every later call.
//
// A truncated capture therefore never ends in a plain io.EOF: its last error wraps
// io.ErrUnexpectedEOF. Every DamageError wraps [ErrDamaged].
//
// # Limits
//
// Every allocation is bounded by constants, never by a length read from the input: a
// packet holds at most [MaxPacketLen] bytes, a pcapng block at most [MaxBlockLen]
// (non-packet blocks are skipped in place, not buffered), interface names are cut at
// 256 bytes, and at most [MaxInterfaces] interfaces and [MaxSections] sections are
// kept. A Reader uses a 320 KiB buffer plus, for packet blocks larger than that buffer,
// one scratch buffer of at most MaxPacketLen bytes; a writer buffers 64 KiB.
package capture
