package capture

import (
	"fmt"
	"io"
	"math"
	"math/bits"
)

// pcapng block types read here; all others are skipped.
const (
	blockSHB uint32 = 0x0A0D0D0A // Section Header Block (same value in both byte orders)
	blockIDB uint32 = 1          // Interface Description Block
	blockPB  uint32 = 2          // Packet Block (obsolete)
	blockSPB uint32 = 3          // Simple Packet Block
	blockEPB uint32 = 6          // Enhanced Packet Block
)

// Minimum total lengths: block header (8) + fixed body + trailing length (4).
const (
	minBlockLen = 12
	minSHBLen   = 28 // + byte-order magic, version, section length
	minIDBLen   = 20 // + link type, reserved, snaplen
	epbFixedLen = 28 // header + interface, timestamp (2×4), captured and original length
	spbFixedLen = 12 // header + original length
)

// pcapng option codes read from Interface Description Blocks.
const (
	optEndOfOpt = 0
	optIfName   = 2
	optTSResol  = 9
	optTSOffset = 14
)

// ifaceConv is what the packet path needs of an interface, with the timestamp
// conversion precomputed so that the common resolutions cost one multiplication.
type ifaceConv struct {
	linkType LinkType
	snap     uint32
	mul      uint64 // nanoseconds per unit, when the unit is a whole number of them
	maxTS    uint64 // largest timestamp that mul does not carry past math.MaxInt64
	div      uint64 // units per nanosecond for decimal units below 1 ns (0: always 0 ns)
	shift    uint   // exponent of binary units 2^-shift s, when bin
	bin      bool
	offset   int64 // if_tsoffset in nanoseconds
}

// maxSeconds is the last whole second of the int64 nanosecond range (year 2262).
const maxSeconds = math.MaxInt64 / 1_000_000_000

func newIfaceConv(lt LinkType, snap uint32, res Resolution, offsetSec int64) ifaceConv {
	c := ifaceConv{linkType: lt, snap: snap, offset: offsetSec * 1e9}
	n := uint(res & 0x7f)
	switch {
	case res&0x80 == 0 && n <= 9:
		c.mul = 1
		for range 9 - n {
			c.mul *= 10
		}
	case res&0x80 == 0:
		// 10^-n s with n > 9: divide by 10^(n-9), which fits uint64 up to n = 28.
		if n-9 <= 19 {
			c.div = 1
			for range n - 9 {
				c.div *= 10
			}
		}
	case n == 0:
		c.mul = 1e9
	default:
		c.bin, c.shift = true, n
	}
	if c.mul != 0 {
		c.maxTS = math.MaxInt64 / c.mul
	}
	return c
}

// nanos converts a timestamp in interface units to nanoseconds since the epoch,
// rounding down. It reports false, with the result clamped, when the time does not
// fit an int64.
func (c *ifaceConv) nanos(ts uint64) (int64, bool) {
	var ns uint64
	switch {
	case c.mul != 0:
		if ts > c.maxTS {
			return math.MaxInt64, false
		}
		ns = ts * c.mul
	case c.bin:
		var sec, frac uint64
		if c.shift < 64 {
			sec, frac = ts>>c.shift, ts&(1<<c.shift-1)
		} else {
			frac = ts
		}
		if sec > maxSeconds {
			return math.MaxInt64, false
		}
		// frac·1e9 / 2^shift in 128 bits: frac < 2^shift, so the result is below 1e9.
		hi, lo := bits.Mul64(frac, 1e9)
		var sub uint64
		switch {
		case c.shift < 64:
			sub = hi<<(64-c.shift) | lo>>c.shift
		case c.shift < 128:
			sub = hi >> (c.shift - 64)
		}
		ns = sec*1e9 + sub
		if ns > math.MaxInt64 {
			return math.MaxInt64, false
		}
	case c.div != 0:
		ns = ts / c.div
	}
	v := int64(ns)
	if c.offset != 0 {
		s, overflow := addInt64(v, c.offset)
		if overflow {
			return s, false
		}
		v = s
	}
	return v, true
}

// addInt64 adds with the result clamped to the int64 range on overflow.
func addInt64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return math.MaxInt64, true
		}
		return math.MinInt64, true
	}
	return s, false
}

// blockName names a block type in error messages.
func blockName(typ uint32) string {
	switch typ {
	case blockSHB:
		return "section header block"
	case blockIDB:
		return "interface description block"
	case blockPB:
		return "packet block"
	case blockSPB:
		return "simple packet block"
	case blockEPB:
		return "enhanced packet block"
	}
	return fmt.Sprintf("block of type %#x", typ)
}

// knownBlock reports whether a block type that is skipped is defined somewhere, so that
// skipping it is not damage.
func knownBlock(typ uint32) bool {
	switch {
	case typ >= 4 && typ <= 0x0A: // NRB, ISB, IRIG, AFDX, systemd journal, DSB
		return true
	case typ >= 0x101 && typ <= 0x10F: // Hone project
		return true
	case typ >= 0x201 && typ <= 0x2FF: // Sysdig and Falco
		return true
	case typ == 0x0BAD || typ == 0x40000BAD: // Custom Blocks
		return true
	}
	return typ&0x80000000 != 0 // reserved for local use
}

// nextPcapng reads blocks until one yields a packet.
func (r *Reader) nextPcapng() (Packet, error) {
	for {
		off := r.off
		hdr, err := r.br.Peek(8)
		if len(hdr) < 8 {
			return Packet{}, r.short(off, len(hdr), 8, err, DamageTruncatedBlock, "block header")
		}
		// The type of a Section Header Block reads the same in both byte orders, so a
		// new section is recognised before its byte order is known; its length is
		// read by readSectionHeader once the byte-order magic has been seen.
		typ, total := r.u32(hdr), r.u32(hdr[4:])
		switch typ {
		case blockEPB, blockPB, blockSPB:
			return r.readPacketBlock(off, typ, total)
		case blockSHB:
			err = r.readSectionHeader()
		case blockIDB:
			err = r.readInterfaceBlock(off, total)
		default:
			// Name resolution, statistics, decryption secrets, custom blocks and the
			// rest carry nothing this package delivers: skipped in place, unread.
			if err = r.checkLen(off, typ, total, minBlockLen); err == nil {
				if !knownBlock(typ) {
					r.note(DamageUnknownBlock, off)
				}
				err = r.skipRest(off, typ, total, 0)
			}
		}
		if err != nil {
			return Packet{}, err
		}
	}
}

// checkLen stops the reader when a block's total length cannot be right.
func (r *Reader) checkLen(off int64, typ, total, minLen uint32) error {
	var why string
	switch {
	case total < minLen:
		why = fmt.Sprintf("block length %d is below the minimum of %d", total, minLen)
	case total%4 != 0:
		why = fmt.Sprintf("block length %d is not a multiple of 4", total)
	case total > MaxBlockLen:
		why = fmt.Sprintf("block length %d exceeds the maximum of %d", total, MaxBlockLen)
	default:
		return nil
	}
	return r.fail(DamageBogusBlockLength, off, blockName(typ), why, nil)
}

// peekBlock returns the block at off, or as much of it as the buffer holds. whole
// reports whether that is all of it; then its trailing length has been checked.
// Nothing is consumed.
func (r *Reader) peekBlock(off int64, typ, total uint32) (b []byte, whole bool, err error) {
	n := min(int(total), r.br.Size())
	b, err = r.br.Peek(n)
	if len(b) < n {
		return nil, false, r.cut(off, len(b), int(total), err, DamageTruncatedBlock, blockName(typ))
	}
	if n < int(total) {
		return b, false, nil
	}
	if t := r.u32(b[n-4:]); t != total {
		return nil, false, r.fail(DamageBogusBlockLength, off, blockName(typ),
			fmt.Sprintf("block length %d differs from its trailing copy %d", total, t), nil)
	}
	return b, true, nil
}

// skipRest consumes the rest of a block of which done bytes are consumed, and checks
// its trailing length.
func (r *Reader) skipRest(off int64, typ, total uint32, done int) error {
	rest := int(total) - 4 - done
	n, err := r.br.Discard(rest)
	r.off += int64(n)
	if n < rest {
		return r.cut(off, done+n, int(total), err, DamageTruncatedBlock, blockName(typ))
	}
	t, err := r.br.Peek(4)
	if len(t) < 4 {
		return r.cut(off, int(total)-4+len(t), int(total), err, DamageTruncatedBlock, blockName(typ))
	}
	if got := r.u32(t); got != total {
		return r.fail(DamageBogusBlockLength, off, blockName(typ),
			fmt.Sprintf("block length %d differs from its trailing copy %d", total, got), nil)
	}
	r.discard(4)
	return nil
}

// consume finishes a block returned by peekBlock.
func (r *Reader) consume(off int64, typ, total uint32, whole bool) error {
	if whole {
		r.discard(int(total))
		return nil
	}
	return r.skipRest(off, typ, total, 0)
}

// readSectionHeader reads a Section Header Block, which sets the byte order of the
// blocks that follow and starts a new numbering of interfaces.
func (r *Reader) readSectionHeader() error {
	const rec = "section header block"
	off := r.off
	b, err := r.br.Peek(12)
	if len(b) < 12 {
		return r.cut(off, len(b), 12, err, DamageTruncatedBlock, rec)
	}
	switch string(b[8:12]) {
	case "\x1a\x2b\x3c\x4d":
		r.be = true
	case "\x4d\x3c\x2b\x1a":
		r.be = false
	default:
		return r.fail(DamageBadSectionHeader, off, rec, fmt.Sprintf("byte-order magic %x", b[8:12]), nil)
	}
	total := r.u32(b[4:])
	if err := r.checkLen(off, blockSHB, total, minSHBLen); err != nil {
		return err
	}
	b, whole, err := r.peekBlock(off, blockSHB, total)
	if err != nil {
		return err
	}
	major, minor := r.u16(b[12:]), r.u16(b[14:])
	if major != 1 {
		return r.fail(DamageBadSectionHeader, off, rec, fmt.Sprintf("unsupported version %d.%d", major, minor), nil)
	}
	if len(r.sections) >= MaxSections {
		return r.fail(DamageLimit, off, rec, fmt.Sprintf("more than %d sections", MaxSections), nil)
	}
	r.sections = append(r.sections, Section{Offset: off, ByteOrder: r.ByteOrder(), Major: major, Minor: minor})
	r.secBase = len(r.ifaces)
	return r.consume(off, blockSHB, total, whole)
}

// readInterfaceBlock reads an Interface Description Block. Of its options, if_name,
// if_tsresol and if_tsoffset are kept; an option list cut by the end of the buffer
// (blocks above 320 KiB) is read as far as it goes.
func (r *Reader) readInterfaceBlock(off int64, total uint32) error {
	if err := r.checkLen(off, blockIDB, total, minIDBLen); err != nil {
		return err
	}
	b, whole, err := r.peekBlock(off, blockIDB, total)
	if err != nil {
		return err
	}
	if len(r.ifaces) >= MaxInterfaces {
		return r.fail(DamageLimit, off, blockName(blockIDB), fmt.Sprintf("more than %d interfaces", MaxInterfaces), nil)
	}
	snap := r.u32(b[12:])
	ifc := Interface{
		LinkType:   LinkType(r.u16(b[8:])),
		SnapLen:    toInt(snap),
		Resolution: ResolutionMicro,
		Section:    len(r.sections) - 1,
	}
	// Options are code, length, value padded to 4 bytes, ended by opt_endofopt or by
	// the end of the block. A value of 1–3 trailing bytes without padding is accepted:
	// some writers omit the padding of the last option.
	opts := b[16:]
	if whole {
		opts = b[16 : len(b)-4]
	}
	for len(opts) >= 4 {
		code, l := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEndOfOpt {
			break
		}
		if 4+l > len(opts) {
			if whole {
				r.note(DamageBadOption, off)
			}
			break
		}
		v := opts[4 : 4+l]
		switch code {
		case optIfName:
			ifc.Name = string(v[:min(l, maxNameLen)])
		case optTSResol:
			if l != 1 {
				r.note(DamageBadOption, off)
				break
			}
			ifc.Resolution = Resolution(v[0])
		case optTSOffset:
			if l != 8 {
				r.note(DamageBadOption, off)
				break
			}
			if s := int64(r.u64(v)); s <= maxSeconds && s >= -maxSeconds {
				ifc.TSOffset = s
			} else {
				r.note(DamageBadOption, off)
			}
		}
		opts = opts[min(len(opts), 4+(l+3)&^3):]
	}
	r.ifaces = append(r.ifaces, ifc)
	r.conv = append(r.conv, newIfaceConv(ifc.LinkType, snap, ifc.Resolution, ifc.TSOffset))
	return r.consume(off, blockIDB, total, whole)
}

// readPacketBlock reads an Enhanced, Simple or obsolete Packet Block. The packet is a
// slice of the read buffer when the whole block fits in it, as all blocks holding at
// most MaxPacketLen bytes and modest options do; otherwise it is copied to a scratch
// buffer of at most MaxPacketLen bytes.
func (r *Reader) readPacketBlock(off int64, typ, total uint32) (Packet, error) {
	fixed := uint32(epbFixedLen)
	if typ == blockSPB {
		fixed = spbFixedLen
	}
	if err := r.checkLen(off, typ, total, fixed+4); err != nil {
		return Packet{}, err
	}
	b, whole, err := r.peekBlock(off, typ, total)
	if err != nil {
		return Packet{}, err
	}
	room := total - fixed - 4 // bytes between the fixed fields and the trailing length
	var ifid, caplen, origlen uint32
	var ts uint64
	switch typ {
	case blockEPB:
		ifid = r.u32(b[8:])
		ts = uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:]))
		caplen, origlen = r.u32(b[20:]), r.u32(b[24:])
	case blockPB:
		ifid = uint32(r.u16(b[8:])) // followed by a 16-bit drop count
		ts = uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:]))
		caplen, origlen = r.u32(b[20:]), r.u32(b[24:])
	default:
		// The captured length of a Simple Packet Block is implied: the original
		// length, cut by the block and by the snapshot length of interface 0.
		origlen = r.u32(b[8:])
		caplen = min(origlen, room)
	}
	// A block whose framing is intact (the trailing length matched, or will be
	// checked while skipping) but whose contents cannot be a packet is skipped whole:
	// the blocks after it are still found, so reading may resume. Its error names the
	// value at fault, as it came from the file.
	rec := blockName(typ)
	nifc := uint32(len(r.ifaces) - r.secBase)
	var skip error
	switch {
	case ifid >= nifc:
		skip = r.skipped(DamageBadInterfaceID, off, rec,
			fmt.Sprintf("interface %d is not described in its section, which has %d", ifid, nifc))
	case caplen > room:
		skip = r.skipped(DamageCaplenGtBlock, off, rec,
			fmt.Sprintf("captured length %d exceeds the %d bytes left in the %d-byte block", caplen, room, total))
	}
	idx := r.secBase + int(ifid)
	var c *ifaceConv
	if skip == nil {
		c = &r.conv[idx]
		if typ == blockSPB && c.snap != 0 {
			caplen = min(caplen, c.snap)
		}
		if caplen > MaxPacketLen {
			skip = r.skipped(DamageCaplenGtMax, off, rec,
				fmt.Sprintf("captured length %d exceeds the maximum of %d", caplen, MaxPacketLen))
		}
	}
	if skip != nil {
		if err := r.consume(off, typ, total, whole); err != nil {
			return Packet{}, err
		}
		return Packet{}, skip
	}

	// From here on the packet is delivered; what is odd about it is only counted.
	p := Packet{OrigLen: toInt(origlen), Interface: idx, LinkType: c.linkType}
	if typ == blockSPB {
		p.NoTimestamp = true
	} else {
		var ok bool
		if p.Timestamp, ok = c.nanos(ts); !ok {
			r.note(DamageBadTimestamp, off)
		}
		if caplen > c.snap && c.snap != 0 {
			r.note(DamageCaplenGtSnaplen, off)
		}
		if caplen > origlen {
			r.note(DamageCaplenGtLen, off)
		}
	}
	end := fixed + caplen
	if whole {
		p.Data = b[fixed:end:end]
		r.discard(int(total))
		return p, nil
	}
	// A block larger than the buffer: copy the packet out before reading on.
	if cap(r.scratch) < int(caplen) {
		r.scratch = make([]byte, caplen, MaxPacketLen)
	}
	r.discard(int(fixed))
	n, err := io.ReadFull(r.br, r.scratch[:caplen])
	r.off += int64(n)
	if err != nil {
		return Packet{}, r.cut(off, int(fixed)+n, int(total), err, DamageTruncatedBlock, rec)
	}
	if err := r.skipRest(off, typ, total, int(end)); err != nil {
		return Packet{}, err
	}
	p.Data = r.scratch[:caplen:caplen]
	return p, nil
}
