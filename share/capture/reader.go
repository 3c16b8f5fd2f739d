package capture

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
)

// readBufSize is the size of the reader's buffer (320 KiB). It holds the largest packet
// with its record or block header and 64 KiB of pcapng options, so that packets are
// handed out as slices of the buffer without a copy, and it keeps read calls on the
// input large. A larger buffer measured slower: this one stays in a core's L2 cache.
const readBufSize = MaxPacketLen + 64<<10

// bufPool recycles read buffers between Readers: a buffer is larger than many whole
// captures, and allocating one per file dominated the cost of reading small files.
var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// A Reader reads packets from a classic pcap or pcapng capture, one at a time, through
// one buffer of 320 KiB. It detects the format from the magic number.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	br     *bufio.Reader // nil once the reader has stopped
	pooled bool          // br came from bufPool and goes back when the reader stops
	format Format
	be     bool  // byte order of the file (pcap) or current section (pcapng)
	off    int64 // offset of the next unread byte
	err    error // sticky: io.EOF, a fatal *DamageError or an error of the input

	ifaces   []Interface
	conv     []ifaceConv // parallel to ifaces: what the hot path needs
	sections []Section
	secBase  int // index in ifaces of the current section's first interface

	// classic pcap only
	snap      uint32
	fracMul   int64  // nanoseconds per unit of the sub-second field
	fracLimit uint32 // units per second of the sub-second field
	linkType  LinkType

	scratch []byte // packet data of pcapng blocks larger than the buffer
	dmg     [numDamageKinds]damageCount
}

type damageCount struct {
	count int
	first int64
}

// NewReader reads the file header (classic pcap) or first Section Header Block (pcapng)
// from r and returns a Reader positioned at the first record. It returns an error
// wrapping [ErrUnknownFormat] when r holds neither format, and a [*DamageError] when the
// header itself is cut short or malformed.
//
// The Reader wraps r in a [bufio.Reader] of its own unless r already is one that large.
// It returns that buffer for reuse by later Readers when it stops: at the end of the
// input or at a fatal error.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{}
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= readBufSize {
		rd.br = br
	} else {
		rd.br, rd.pooled = bufPool.Get().(*bufio.Reader), true
		rd.br.Reset(r)
	}
	if err := rd.open(); err != nil {
		rd.halt(err)
		return nil, err
	}
	return rd, nil
}

// open detects the format and reads the file or first section header.
func (r *Reader) open() error {
	magic, err := r.br.Peek(4)
	if len(magic) < 4 {
		if err != nil && !isEOF(err) {
			return fmt.Errorf("detecting format: %w", err)
		}
		return fmt.Errorf("detecting format: input holds only %d bytes (%x): %w",
			len(magic), magic, ErrUnknownFormat)
	}
	switch string(magic) {
	case "\x0a\x0d\x0d\x0a":
		r.format = FormatPcapng
		err = r.readSectionHeader()
	case "\xd4\xc3\xb2\xa1":
		err = r.readPcapHeader(false, false)
	case "\xa1\xb2\xc3\xd4":
		err = r.readPcapHeader(true, false)
	case "\x4d\x3c\xb2\xa1":
		err = r.readPcapHeader(false, true)
	case "\xa1\xb2\x3c\x4d":
		err = r.readPcapHeader(true, true)
	default:
		head, _ := r.br.Peek(8)
		return fmt.Errorf("detecting format: magic %x%s: %w", head, formatHint(head), ErrUnknownFormat)
	}
	return err
}

// halt stops the reader with err, returned by every later call to Next, and releases
// the read buffer. Data of the last packet pointed into it, and is no longer valid by
// the contract of Next.
func (r *Reader) halt(err error) error {
	r.err = err
	if r.pooled && r.br != nil {
		r.br.Reset(nil)
		bufPool.Put(r.br)
	}
	r.br = nil
	return err
}

// formatHint names formats that users hand in by mistake, to make the error actionable.
func formatHint(head []byte) string {
	hints := []struct{ magic, name string }{
		{"\x1f\x8b", "gzip-compressed data: decompress it first"},
		{"\x28\xb5\x2f\xfd", "zstd-compressed data: decompress it first"},
		{"\xfd7zXZ", "xz-compressed data: decompress it first"},
		{"BZh", "bzip2-compressed data: decompress it first"},
		{"\xa1\xb2\xcd\x34", "modified pcap: convert it with editcap -F pcap"},
		{"\x34\xcd\xb2\xa1", "modified pcap: convert it with editcap -F pcap"},
		{"snoop\x00\x00\x00", "snoop: convert it with editcap -F pcap"},
	}
	for _, h := range hints {
		if len(head) >= len(h.magic) && string(head[:len(h.magic)]) == h.magic {
			return " (" + h.name + ")"
		}
	}
	return ""
}

// Next returns the next packet. At the clean end of the input it returns io.EOF.
//
// Damage that spoils no packet is counted (see [Reader.Damage]) and Next goes on. A
// record that cannot be delivered yields a [*DamageError]: when its Resumable field is
// true the damaged block has been skipped and Next may be called again; otherwise the
// reader has stopped, as it has after an error of the underlying reader, and Next
// returns that error again on every call.
//
// The returned Data is valid until the next call to Next.
func (r *Reader) Next() (Packet, error) {
	if r.err != nil {
		return Packet{}, r.err
	}
	if r.format == FormatPcap {
		return r.nextPcap()
	}
	return r.nextPcapng()
}

// Format returns the container format of the input.
func (r *Reader) Format() Format { return r.format }

// ByteOrder returns the byte order of the file (classic pcap) or of the section read
// last (pcapng; see [Reader.Sections] for all of them).
func (r *Reader) ByteOrder() binary.ByteOrder {
	if r.be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Interfaces returns the interfaces described so far, in file order over all sections;
// [Packet.Interface] indexes this list. A classic pcap file has exactly one, whose
// SnapLen is the snapshot length of the file header. A pcapng file may describe
// interfaces between packets, so the list grows while reading.
func (r *Reader) Interfaces() []Interface { return slices.Clone(r.ifaces) }

// Sections returns the pcapng sections read so far; nil for classic pcap.
func (r *Reader) Sections() []Section { return slices.Clone(r.sections) }

// Damage returns a summary of the damage found so far, one entry per kind, in the
// order in which each kind was first found. It is empty for an undamaged capture.
func (r *Reader) Damage() []Damage {
	var out []Damage
	for k := DamageKind(1); k < numDamageKinds; k++ {
		if d := r.dmg[k]; d.count > 0 {
			out = append(out, Damage{Kind: k, Count: d.count, Offset: d.first})
		}
	}
	slices.SortStableFunc(out, func(a, b Damage) int { return cmp.Compare(a.Offset, b.Offset) })
	return out
}

// note counts damage that does not stop reading.
func (r *Reader) note(k DamageKind, off int64) {
	d := &r.dmg[k]
	if d.count == 0 {
		d.first = off
	}
	d.count++
}

// fail counts fatal damage, stops the reader and returns the error.
func (r *Reader) fail(k DamageKind, off int64, record, detail string, cause error) error {
	r.note(k, off)
	return r.halt(&DamageError{Kind: k, Offset: off, Record: record, Detail: detail, Err: cause})
}

// skipped counts damage of a block that was skipped whole; reading may go on.
func (r *Reader) skipped(k DamageKind, off int64, record, detail string) error {
	r.note(k, off)
	return &DamageError{Kind: k, Offset: off, Record: record, Detail: detail, Resumable: true}
}

// short handles a read at a record boundary that returned fewer than want bytes: the
// clean end of the input when there were none, otherwise as cut.
func (r *Reader) short(off int64, have, want int, err error, k DamageKind, record string) error {
	if have == 0 && (err == nil || isEOF(err)) {
		return r.halt(io.EOF)
	}
	return r.cut(off, have, want, err, k, record)
}

// cut handles a read that found fewer than want bytes of the record at off, of which
// have were there: truncation at the end of the input, or the error of the input.
func (r *Reader) cut(off int64, have, want int, err error, k DamageKind, record string) error {
	if err == nil || isEOF(err) {
		return r.fail(k, off, record,
			fmt.Sprintf("input ends after %d of %d bytes", have, want), io.ErrUnexpectedEOF)
	}
	return r.halt(fmt.Errorf("reading %s at offset %#x: %w", record, off, err))
}

func isEOF(err error) bool {
	return err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)
}

// discard consumes n bytes that are known to be buffered.
func (r *Reader) discard(n int) {
	d, _ := r.br.Discard(n)
	r.off += int64(d)
}

func (r *Reader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) u64(b []byte) uint64 {
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// toInt converts a length read from a file to int without wrapping on 32-bit systems.
func toInt(v uint32) int {
	if uint64(v) > math.MaxInt {
		return math.MaxInt
	}
	return int(v)
}
