package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// writeBufSize is the size of the writers' output buffer.
const writeBufSize = 64 << 10

var le = binary.LittleEndian

// checkWriterArgs validates a link type and snapshot length and resolves snapshot
// length 0: a snaplen of 0 is never written, because readers differ on what it means.
func checkWriterArgs(lt LinkType, snaplen int) (int, error) {
	if lt > linkTypeMaxInField {
		return 0, fmt.Errorf("link type %d: %w", lt, ErrLinkType)
	}
	if snaplen < 0 || snaplen > MaxPacketLen {
		return 0, fmt.Errorf("snapshot length %d: %w", snaplen, ErrSnapLen)
	}
	if snaplen == 0 {
		snaplen = MaxPacketLen
	}
	return snaplen, nil
}

// lengths returns the captured bytes to write, cut at snaplen, and the original
// length, raised to at least the length of Data so that the output is never damaged.
func lengths(p *Packet, snaplen int) ([]byte, uint32) {
	orig := uint32(min(max(p.OrigLen, len(p.Data)), math.MaxUint32))
	return p.Data[:min(len(p.Data), snaplen)], orig
}

// PcapWriter writes a classic pcap file in little-endian byte order, format version 2.4.
// It writes only what it is given: the link type, the snapshot length and packets.
//
// Output is buffered: call [PcapWriter.Flush] when done. A PcapWriter is not safe for
// concurrent use.
type PcapWriter struct {
	bw   *bufio.Writer
	snap int
	nano bool
	hdr  [pcapRecordHeaderLen]byte
}

// NewPcapWriter writes a pcap file header to w and returns a writer for its packets, or
// an error wrapping [ErrLinkType] or [ErrSnapLen] for arguments the header cannot hold.
// Timestamps are stored in nanoseconds when nanosecond is true, otherwise in
// microseconds (rounded down). A snaplen of 0 stands for [MaxPacketLen]; packets longer
// than snaplen are cut to it when written.
func NewPcapWriter(w io.Writer, linkType LinkType, snaplen int, nanosecond bool) (*PcapWriter, error) {
	snaplen, err := checkWriterArgs(linkType, snaplen)
	if err != nil {
		return nil, fmt.Errorf("creating pcap writer: %w", err)
	}
	pw := &PcapWriter{bw: bufio.NewWriterSize(w, writeBufSize), snap: snaplen, nano: nanosecond}
	var h [pcapFileHeaderLen]byte
	magic := uint32(0xA1B2C3D4)
	if nanosecond {
		magic = 0xA1B23C4D
	}
	le.PutUint32(h[0:], magic)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	// thiszone and sigfigs stay 0, as every writer since libpcap 0.9 does.
	le.PutUint32(h[16:], uint32(snaplen))
	le.PutUint32(h[20:], uint32(linkType))
	if _, err := pw.bw.Write(h[:]); err != nil {
		return nil, fmt.Errorf("writing pcap file header: %w", err)
	}
	return pw, nil
}

// WritePacket writes one record: p.Data cut at the snapshot length, p.OrigLen (at least
// len(p.Data)) and p.Timestamp. p.Interface, p.LinkType and p.NoTimestamp are ignored.
// It returns an error wrapping [ErrTimestampRange], writing nothing, for a time before
// 1970 or after 2106-02-07T06:28:15Z.
func (w *PcapWriter) WritePacket(p Packet) error {
	if p.Timestamp < 0 || p.Timestamp/1e9 > math.MaxUint32 {
		return fmt.Errorf("writing pcap record: timestamp %d ns: %w", p.Timestamp, ErrTimestampRange)
	}
	sec, frac := uint64(p.Timestamp)/1e9, uint64(p.Timestamp)%1e9
	if !w.nano {
		frac /= 1000
	}
	data, orig := lengths(&p, w.snap)
	le.PutUint32(w.hdr[0:], uint32(sec))
	le.PutUint32(w.hdr[4:], uint32(frac))
	le.PutUint32(w.hdr[8:], uint32(len(data)))
	le.PutUint32(w.hdr[12:], orig)
	if _, err := w.bw.Write(w.hdr[:]); err != nil {
		return fmt.Errorf("writing pcap record: %w", err)
	}
	if _, err := w.bw.Write(data); err != nil {
		return fmt.Errorf("writing pcap record: %w", err)
	}
	return nil
}

// Flush writes buffered data to the underlying writer.
func (w *PcapWriter) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("flushing pcap writer: %w", err)
	}
	return nil
}

// PcapngOptions configures a [PcapngWriter]. Everything written comes from here or from
// [PcapngWriter.AddInterface]: nothing is carried over from a capture that was read.
type PcapngOptions struct {
	Comment    string            // shb_comment of the section; omitted when empty
	UserAppl   string            // shb_userappl of the section; omitted when empty
	Nanosecond bool              // if_tsresol 9 on every interface; else microseconds
	Interfaces []PcapngInterface // interfaces described right after the section header
}

// PcapngInterface describes an interface to a [PcapngWriter]. It has no name or other
// descriptive fields on purpose: those are metadata a rewritten capture must not leak.
type PcapngInterface struct {
	LinkType LinkType
	SnapLen  int // 0 stands for MaxPacketLen; 0 itself is never written
}

// PcapngWriter writes a pcapng file of one little-endian section: a Section Header
// Block, Interface Description Blocks and Enhanced Packet Blocks.
//
// Output is buffered: call [PcapngWriter.Flush] when done. A PcapngWriter is not safe
// for concurrent use.
type PcapngWriter struct {
	bw    *bufio.Writer
	nano  bool
	snaps []int // snapshot length per interface
	hdr   [epbFixedLen]byte
	tail  [8]byte // padding and trailing length; a field, as a local would escape
}

// NewPcapngWriter writes the section header and the interfaces of opts to w. It returns
// an error wrapping [ErrOptionTooLong], [ErrLinkType] or [ErrSnapLen] for options the
// format cannot hold.
func NewPcapngWriter(w io.Writer, opts PcapngOptions) (*PcapngWriter, error) {
	if len(opts.Comment) > math.MaxUint16 || len(opts.UserAppl) > math.MaxUint16 {
		return nil, fmt.Errorf("creating pcapng writer: %w", ErrOptionTooLong)
	}
	pw := &PcapngWriter{bw: bufio.NewWriterSize(w, writeBufSize), nano: opts.Nanosecond}
	var o options
	o.add(1, opts.Comment)  // shb_comment
	o.add(4, opts.UserAppl) // shb_userappl
	body := make([]byte, 16, 16+len(o.b)+4)
	le.PutUint32(body[0:], 0x1A2B3C4D) // byte-order magic
	le.PutUint16(body[4:], 1)          // version 1.0
	le.PutUint64(body[8:], math.MaxUint64)
	// Section length -1: not known in advance, as the output is streamed.
	body = append(body, o.end()...)
	if err := pw.writeBlock(blockSHB, body); err != nil {
		return nil, fmt.Errorf("writing section header block: %w", err)
	}
	for _, ifc := range opts.Interfaces {
		if _, err := pw.AddInterface(ifc); err != nil {
			return nil, fmt.Errorf("creating pcapng writer: %w", err)
		}
	}
	return pw, nil
}

// AddInterface writes an Interface Description Block and returns the index to put in
// [Packet.Interface] for packets of that interface. Interfaces from the options come
// first, numbered from 0.
func (w *PcapngWriter) AddInterface(ifc PcapngInterface) (int, error) {
	snaplen, err := checkWriterArgs(ifc.LinkType, ifc.SnapLen)
	if err != nil {
		return 0, fmt.Errorf("adding interface: %w", err)
	}
	body := make([]byte, 8, 24)
	le.PutUint16(body[0:], uint16(ifc.LinkType))
	le.PutUint32(body[4:], uint32(snaplen))
	if w.nano {
		var o options
		o.add(optTSResol, string([]byte{byte(ResolutionNano)}))
		body = append(body, o.end()...)
	}
	if err := w.writeBlock(blockIDB, body); err != nil {
		return 0, fmt.Errorf("writing interface description block: %w", err)
	}
	w.snaps = append(w.snaps, snaplen)
	return len(w.snaps) - 1, nil
}

// WritePacket writes one Enhanced Packet Block on interface p.Interface: p.Data cut at
// the interface's snapshot length, p.OrigLen (at least len(p.Data)) and p.Timestamp.
// p.LinkType and p.NoTimestamp are ignored. It returns an error wrapping
// [ErrNoInterface] for an interface not added, and [ErrTimestampRange] for a time
// before 1970, writing nothing.
func (w *PcapngWriter) WritePacket(p Packet) error {
	if p.Interface < 0 || p.Interface >= len(w.snaps) {
		return fmt.Errorf("writing enhanced packet block: interface %d of %d: %w", p.Interface, len(w.snaps), ErrNoInterface)
	}
	if p.Timestamp < 0 {
		return fmt.Errorf("writing enhanced packet block: timestamp %d ns: %w", p.Timestamp, ErrTimestampRange)
	}
	ts := uint64(p.Timestamp)
	if !w.nano {
		ts /= 1000
	}
	data, orig := lengths(&p, w.snaps[p.Interface])
	pad := -len(data) & 3
	total := uint32(epbFixedLen + len(data) + pad + 4)
	h := w.hdr[:]
	le.PutUint32(h[0:], blockEPB)
	le.PutUint32(h[4:], total)
	le.PutUint32(h[8:], uint32(p.Interface))
	le.PutUint32(h[12:], uint32(ts>>32))
	le.PutUint32(h[16:], uint32(ts))
	le.PutUint32(h[20:], uint32(len(data)))
	le.PutUint32(h[24:], orig)
	tail := w.tail[:pad+4] // up to 3 bytes of padding, then the trailing length
	clear(tail)
	le.PutUint32(tail[pad:], total)
	if _, err := w.bw.Write(h); err != nil {
		return fmt.Errorf("writing enhanced packet block: %w", err)
	}
	if _, err := w.bw.Write(data); err != nil {
		return fmt.Errorf("writing enhanced packet block: %w", err)
	}
	if _, err := w.bw.Write(tail); err != nil {
		return fmt.Errorf("writing enhanced packet block: %w", err)
	}
	return nil
}

// Flush writes buffered data to the underlying writer.
func (w *PcapngWriter) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("flushing pcapng writer: %w", err)
	}
	return nil
}

// writeBlock frames a block body (a multiple of 4 bytes) with type and lengths.
func (w *PcapngWriter) writeBlock(typ uint32, body []byte) error {
	total := uint32(12 + len(body))
	var h [8]byte
	le.PutUint32(h[0:], typ)
	le.PutUint32(h[4:], total)
	var t [4]byte
	le.PutUint32(t[:], total)
	for _, b := range [][]byte{h[:], body, t[:]} {
		if _, err := w.bw.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// options builds a pcapng option list in little-endian order.
type options struct{ b []byte }

// add appends an option unless its value is empty.
func (o *options) add(code uint16, v string) {
	if v == "" {
		return
	}
	o.b = le.AppendUint16(o.b, code)
	o.b = le.AppendUint16(o.b, uint16(len(v)))
	o.b = append(o.b, v...)
	o.b = append(o.b, make([]byte, -len(v)&3)...)
}

// end returns the list closed by opt_endofopt, or nothing when it is empty.
func (o *options) end() []byte {
	if len(o.b) == 0 {
		return nil
	}
	return append(o.b, 0, 0, 0, 0)
}
