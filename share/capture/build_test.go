package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// This file builds capture bytes by hand, independently of the writers, so that reader
// tests do not rest on the code they would be checking.

func order(be bool) binary.AppendByteOrder {
	if be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// pcapFile builds a classic pcap file.
type pcapFile struct {
	bo binary.AppendByteOrder
	b  []byte
}

func newPcapFile(be, nano bool, snaplen, linkType uint32) *pcapFile {
	f := &pcapFile{bo: order(be)}
	magic := uint32(0xA1B2C3D4)
	if nano {
		magic = 0xA1B23C4D
	}
	f.b = f.bo.AppendUint32(f.b, magic)
	f.b = f.bo.AppendUint16(f.b, 2)
	f.b = f.bo.AppendUint16(f.b, 4)
	f.b = f.bo.AppendUint32(f.b, 0)
	f.b = f.bo.AppendUint32(f.b, 0)
	f.b = f.bo.AppendUint32(f.b, snaplen)
	f.b = f.bo.AppendUint32(f.b, linkType)
	return f
}

// rec appends a record whose captured length is len(data).
func (f *pcapFile) rec(sec, frac uint32, data []byte, origLen uint32) *pcapFile {
	return f.recLen(sec, frac, uint32(len(data)), origLen, data)
}

// recLen appends a record header claiming caplen, followed by data as given.
func (f *pcapFile) recLen(sec, frac, caplen, origLen uint32, data []byte) *pcapFile {
	f.b = f.bo.AppendUint32(f.b, sec)
	f.b = f.bo.AppendUint32(f.b, frac)
	f.b = f.bo.AppendUint32(f.b, caplen)
	f.b = f.bo.AppendUint32(f.b, origLen)
	f.b = append(f.b, data...)
	return f
}

// ngFile builds a pcapng file; every section switches the byte order of what follows.
type ngFile struct {
	bo binary.AppendByteOrder
	b  []byte
}

func (f *ngFile) shb(be bool, opts ...[]byte) *ngFile {
	f.bo = order(be)
	body := f.bo.AppendUint32(nil, 0x1A2B3C4D)
	body = f.bo.AppendUint16(body, 1)
	body = f.bo.AppendUint16(body, 0)
	body = f.bo.AppendUint64(body, ^uint64(0))
	return f.block(blockSHB, append(body, optList(f.bo, opts)...))
}

// block appends a block, padding body to 4 bytes.
func (f *ngFile) block(typ uint32, body []byte) *ngFile {
	body = append(body, make([]byte, -len(body)&3)...)
	total := uint32(12 + len(body))
	f.b = f.bo.AppendUint32(f.b, typ)
	f.b = f.bo.AppendUint32(f.b, total)
	f.b = append(f.b, body...)
	f.b = f.bo.AppendUint32(f.b, total)
	return f
}

func (f *ngFile) idb(linkType uint16, snaplen uint32, opts ...[]byte) *ngFile {
	body := f.bo.AppendUint16(nil, linkType)
	body = f.bo.AppendUint16(body, 0)
	body = f.bo.AppendUint32(body, snaplen)
	return f.block(blockIDB, append(body, optList(f.bo, opts)...))
}

func (f *ngFile) epb(ifid uint32, ts uint64, data []byte, origLen uint32) *ngFile {
	return f.epbLen(ifid, ts, uint32(len(data)), origLen, data)
}

func (f *ngFile) epbLen(ifid uint32, ts uint64, caplen, origLen uint32, data []byte) *ngFile {
	body := f.bo.AppendUint32(nil, ifid)
	body = f.bo.AppendUint32(body, uint32(ts>>32))
	body = f.bo.AppendUint32(body, uint32(ts))
	body = f.bo.AppendUint32(body, caplen)
	body = f.bo.AppendUint32(body, origLen)
	return f.block(blockEPB, append(body, data...))
}

func (f *ngFile) pb(ifid uint16, ts uint64, data []byte, origLen uint32) *ngFile {
	body := f.bo.AppendUint16(nil, ifid)
	body = f.bo.AppendUint16(body, 0)
	body = f.bo.AppendUint32(body, uint32(ts>>32))
	body = f.bo.AppendUint32(body, uint32(ts))
	body = f.bo.AppendUint32(body, uint32(len(data)))
	body = f.bo.AppendUint32(body, origLen)
	return f.block(blockPB, append(body, data...))
}

func (f *ngFile) spb(origLen uint32, data []byte) *ngFile {
	return f.block(blockSPB, append(f.bo.AppendUint32(nil, origLen), data...))
}

// opt returns an option for optList: its code (2 bytes, big-endian) and value.
// optList encodes it in the byte order of the block it goes into.
func opt(code uint16, val ...byte) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, val...)
}

func optList(bo binary.AppendByteOrder, opts [][]byte) []byte {
	if len(opts) == 0 {
		return nil
	}
	var b []byte
	for _, o := range opts {
		code, val := uint16(o[0])<<8|uint16(o[1]), o[2:]
		b = bo.AppendUint16(b, code)
		b = bo.AppendUint16(b, uint16(len(val)))
		b = append(b, val...)
		b = append(b, make([]byte, -len(val)&3)...)
	}
	return append(b, 0, 0, 0, 0)
}

func u64bytes(bo binary.AppendByteOrder, v uint64) []byte { return bo.AppendUint64(nil, v) }

// frame returns n bytes of recognisable content.
func frame(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// readAll reads every packet, copying data, until the first error, which it returns
// (nil for io.EOF). It gives up on resumable errors only when keepGoing is false.
func readAll(t testing.TB, r *Reader, keepGoing bool) ([]Packet, []*DamageError, error) {
	t.Helper()
	var pkts []Packet
	var skipped []*DamageError
	for range 1 << 20 {
		p, err := r.Next()
		if err == io.EOF {
			return pkts, skipped, nil
		}
		var de *DamageError
		if keepGoing && errors.As(err, &de) && de.Resumable {
			skipped = append(skipped, de)
			continue
		}
		if err != nil {
			return pkts, skipped, err
		}
		p.Data = append([]byte(nil), p.Data...)
		pkts = append(pkts, p)
	}
	t.Fatal("Next did not terminate")
	return nil, nil, nil
}
