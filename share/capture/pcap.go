package capture

import (
	"encoding/binary"
	"fmt"
)

// Classic pcap layout: a 24-byte file header, then records of a 16-byte header
// (seconds, sub-second units, captured length, original length) and the packet bytes.
const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

const recPcapRecord = "pcap record"

// readPcapHeader reads the file header whose magic selected byte order and resolution.
func (r *Reader) readPcapHeader(be, nano bool) error {
	r.format = FormatPcap
	r.be = be
	hdr, err := r.br.Peek(pcapFileHeaderLen)
	if len(hdr) < pcapFileHeaderLen {
		return r.cut(0, len(hdr), pcapFileHeaderLen, err, DamageTruncatedFile, "pcap file header")
	}
	r.snap = r.u32(hdr[16:])
	// The link type field carries FCS information in its upper bits; the link type
	// proper is the low 16 bits, as in libpcap's LT_LINKTYPE.
	r.linkType = LinkType(r.u32(hdr[20:]) & 0xFFFF)
	res := ResolutionMicro
	r.fracMul, r.fracLimit = 1000, 1e6
	if nano {
		res = ResolutionNano
		r.fracMul, r.fracLimit = 1, 1e9
	}
	r.ifaces = []Interface{{LinkType: r.linkType, SnapLen: toInt(r.snap), Resolution: res}}
	r.discard(pcapFileHeaderLen)
	return nil
}

// nextPcap reads one record. The packet is handed out as a slice of the read buffer:
// MaxPacketLen plus the record header always fits in it.
func (r *Reader) nextPcap() (Packet, error) {
	off := r.off
	hdr, err := r.br.Peek(pcapRecordHeaderLen)
	if len(hdr) < pcapRecordHeaderLen {
		return Packet{}, r.short(off, len(hdr), pcapRecordHeaderLen, err, DamageTruncatedFile, recPcapRecord)
	}
	var sec, frac, caplen, origlen uint32
	if r.be {
		b := binary.BigEndian
		sec, frac, caplen, origlen = b.Uint32(hdr), b.Uint32(hdr[4:]), b.Uint32(hdr[8:]), b.Uint32(hdr[12:])
	} else {
		l := binary.LittleEndian
		sec, frac, caplen, origlen = l.Uint32(hdr), l.Uint32(hdr[4:]), l.Uint32(hdr[8:]), l.Uint32(hdr[12:])
	}
	if caplen > MaxPacketLen {
		// The header cannot be trusted to find the next record: stop here.
		return Packet{}, r.fail(DamageCaplenGtMax, off, recPcapRecord,
			fmt.Sprintf("captured length %d exceeds the maximum of %d", caplen, MaxPacketLen), nil)
	}
	n := pcapRecordHeaderLen + int(caplen)
	rec, err := r.br.Peek(n)
	if len(rec) < n {
		return Packet{}, r.cut(off, len(rec), n, err, DamageTruncatedFile, recPcapRecord)
	}
	r.discard(n)
	if caplen > r.snap && r.snap != 0 {
		r.note(DamageCaplenGtSnaplen, off)
	}
	if caplen > origlen {
		r.note(DamageCaplenGtLen, off)
	}
	if frac >= r.fracLimit {
		// Carried into the seconds below; cannot overflow: both fields are 32-bit.
		r.note(DamageBadTimestamp, off)
	}
	return Packet{
		Data:      rec[pcapRecordHeaderLen:n:n],
		Timestamp: int64(sec)*1e9 + int64(frac)*r.fracMul,
		OrigLen:   toInt(origlen),
		LinkType:  r.linkType,
	}, nil
}
