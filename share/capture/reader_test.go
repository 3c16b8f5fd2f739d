package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const t0 = 1_700_000_000 // seconds: 2023-11-14

// TestReadPcap reads classic pcap in both byte orders and both resolutions, with a
// link type field that carries FCS bits, and a packet cut by the snapshot length.
func TestReadPcap(t *testing.T) {
	for _, tc := range []struct {
		name     string
		be, nano bool
	}{
		{"le-us", false, false},
		{"be-us", true, false},
		{"le-ns", false, true},
		{"be-ns", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit := int64(1000)
			res := ResolutionMicro
			if tc.nano {
				unit, res = 1, ResolutionNano
			}
			// The link type field carries FCS bits above bit 16; they are not part of it.
			f := newPcapFile(tc.be, tc.nano, 65535, 0x14000000|uint32(LinkTypeLinuxSLL2))
			f.rec(t0, 123456, frame(60, 1), 60)
			f.rec(t0+1, 999999, frame(1514, 2), 1514)
			f.rec(t0+2, 0, frame(100, 3), 1500)
			r, err := NewReader(bytes.NewReader(f.b))
			if err != nil {
				t.Fatalf("NewReader = %v", err)
			}
			if r.Format() != FormatPcap || r.ByteOrder() != order(tc.be).(binary.ByteOrder) {
				t.Errorf("Format, ByteOrder = %v, %v", r.Format(), r.ByteOrder())
			}
			wantIf := []Interface{{LinkType: LinkTypeLinuxSLL2, SnapLen: 65535, Resolution: res}}
			if got := r.Interfaces(); !slices.Equal(got, wantIf) {
				t.Errorf("Interfaces() = %+v, want %+v", got, wantIf)
			}
			if r.Sections() != nil {
				t.Errorf("Sections() = %v, want nil", r.Sections())
			}
			pkts, _, err := readAll(t, r, false)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			want := []Packet{
				{Data: frame(60, 1), Timestamp: t0*1e9 + 123456*unit, OrigLen: 60, LinkType: LinkTypeLinuxSLL2},
				{Data: frame(1514, 2), Timestamp: (t0+1)*1e9 + 999999*unit, OrigLen: 1514, LinkType: LinkTypeLinuxSLL2},
				{Data: frame(100, 3), Timestamp: (t0 + 2) * 1e9, OrigLen: 1500, LinkType: LinkTypeLinuxSLL2},
			}
			comparePackets(t, pkts, want)
			if d := r.Damage(); len(d) != 0 {
				t.Errorf("Damage() = %v, want none", d)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
		})
	}
}

// comparePackets fails the test when got and want differ in any field.
func comparePackets(t *testing.T, got, want []Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("packet %d: Data = %x, want %x", i, g.Data[:min(len(g.Data), 16)], w.Data[:min(len(w.Data), 16)])
		}
		g.Data, w.Data = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("packet %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestReadPcapngSections reads two sections of different byte order, with interfaces
// of different link types, resolutions (10^-n and 2^-n) and offsets, and all three
// packet block types among blocks that are not packets.
func TestReadPcapngSections(t *testing.T) {
	var f ngFile
	f.shb(true, opt(4, []byte("test writer")...)) // shb_userappl is skipped
	f.idb(uint16(LinkTypeEthernet), 0, opt(2, []byte("eth0")...), opt(9, 9))
	f.idb(uint16(LinkTypeRaw), 128, opt(9, 0x80|20), opt(14, u64bytes(f.bo, 1000)...))
	f.block(4, []byte{0, 1, 0, 4, 192, 0, 2, 1, 0, 0, 0, 0}) // name resolution block
	f.block(0x0BAD, []byte{0, 0, 0x7e, 0x3c, 'x'})           // custom block
	f.epb(0, t0*1e9+123456789, frame(60, 1), 60)             // ns
	f.epb(1, 5<<20|1<<19, frame(40, 2), 40)                  // 5.5 s at 2^-20, +1000 s
	f.block(5, f.bo.AppendUint32(make([]byte, 0, 12), 0))    // interface statistics, short
	f.block(0x80000001, []byte("local use"))                 // reserved for local use
	f.shb(false)
	f.idb(uint16(LinkTypeLinuxSLL2), 64)
	f.idb(uint16(LinkTypeIPv4), 0, opt(9, 3), opt(14, u64bytes(f.bo, math.MaxUint64)...)) // ms, offset -1 s
	f.spb(100, frame(64, 3))                                                              // cut by snaplen 64
	f.spb(61, frame(61, 4))                                                               // padded to 64 bytes
	f.pb(1, 1234567, frame(20, 5), 20)                                                    // 1234.567 s - 1 s
	f.epb(0, t0*1e6+1, frame(64, 6), 1500)                                                // us, snap-truncated

	r, err := NewReader(bytes.NewReader(f.b))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	if r.Format() != FormatPcapng || r.ByteOrder() != binary.ByteOrder(binary.BigEndian) {
		t.Errorf("Format, ByteOrder = %v, %v, want pcapng, big-endian", r.Format(), r.ByteOrder())
	}
	pkts, _, err := readAll(t, r, false)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	want := []Packet{
		{Data: frame(60, 1), Timestamp: t0*1e9 + 123456789, OrigLen: 60, Interface: 0, LinkType: LinkTypeEthernet},
		{Data: frame(40, 2), Timestamp: 1005_500_000_000, OrigLen: 40, Interface: 1, LinkType: LinkTypeRaw},
		{Data: frame(64, 3), OrigLen: 100, Interface: 2, LinkType: LinkTypeLinuxSLL2, NoTimestamp: true},
		{Data: frame(61, 4), OrigLen: 61, Interface: 2, LinkType: LinkTypeLinuxSLL2, NoTimestamp: true},
		{Data: frame(20, 5), Timestamp: 1233_567_000_000, OrigLen: 20, Interface: 3, LinkType: LinkTypeIPv4},
		{Data: frame(64, 6), Timestamp: t0*1e9 + 1000, OrigLen: 1500, Interface: 2, LinkType: LinkTypeLinuxSLL2},
	}
	comparePackets(t, pkts, want)

	wantIf := []Interface{
		{LinkType: LinkTypeEthernet, Resolution: ResolutionNano, Name: "eth0"},
		{LinkType: LinkTypeRaw, SnapLen: 128, Resolution: 0x80 | 20, TSOffset: 1000},
		{LinkType: LinkTypeLinuxSLL2, SnapLen: 64, Resolution: ResolutionMicro, Section: 1},
		{LinkType: LinkTypeIPv4, Resolution: 3, TSOffset: -1, Section: 1},
	}
	if got := r.Interfaces(); !slices.Equal(got, wantIf) {
		t.Errorf("Interfaces() = %+v\nwant %+v", got, wantIf)
	}
	secs := r.Sections()
	if len(secs) != 2 || secs[0].ByteOrder != binary.ByteOrder(binary.BigEndian) ||
		secs[1].ByteOrder != binary.ByteOrder(binary.LittleEndian) || secs[0].Offset != 0 || secs[1].Major != 1 {
		t.Errorf("Sections() = %+v", secs)
	}
	if r.ByteOrder() != binary.ByteOrder(binary.LittleEndian) {
		t.Errorf("ByteOrder after the second section = %v, want little-endian", r.ByteOrder())
	}
	if d := r.Damage(); len(d) != 0 {
		t.Errorf("Damage() = %v, want none", d)
	}
}

// TestTimestampConversion checks if_tsresol and if_tsoffset arithmetic at its edges:
// decimal and binary units, units finer than 1 ns, shifts past 64 bits, overflow.
func TestTimestampConversion(t *testing.T) {
	for _, tc := range []struct {
		res    Resolution
		offset int64
		ts     uint64
		want   int64
		ok     bool
	}{
		{ResolutionMicro, 0, 1, 1000, true},
		{ResolutionNano, 0, 5, 5, true},
		{0, 0, 3, 3e9, true},
		{3, 0, 1500, 1.5e9, true},
		{12, 0, 1999, 1, true},                       // picoseconds, rounded down
		{28, 0, math.MaxUint64, 1, true},             // 10^-28: 1.8e19 units are 1.8 ns
		{30, 0, math.MaxUint64, 0, true},             // 10^-30: below 1 ns whatever ts is
		{0x80, 0, 7, 7e9, true},                      // 2^0 s
		{0x80 | 1, 0, 3, 1.5e9, true},                // half seconds
		{0x80 | 20, 0, 5<<20 | 1<<19, 5.5e9, true},   // 2^-20 s
		{0x80 | 32, 0, 1 << 32, 1e9, true},           // 2^-32 s
		{0x80 | 32, 0, 3 << 30, 7.5e8, true},         // 0.75 s exactly
		{0x80 | 32, 0, 1, 0, true},                   // 0.23 ns rounds down
		{0x80 | 63, 0, 1 << 62, 5e8, true},           // 2^-63 s
		{0x80 | 64, 0, 1 << 63, 5e8, true},           // 2^-64 s: shift past 64 bits
		{0x80 | 100, 0, math.MaxUint64, 0, true},     // 2^-100 s
		{ResolutionMicro, -10, 1, 1000 - 10e9, true}, // negative if_tsoffset
		{ResolutionMicro, 0, math.MaxUint64, math.MaxInt64, false},
		{0x80 | 10, 0, math.MaxUint64, math.MaxInt64, false},
		{ResolutionNano, maxSeconds, math.MaxInt64, math.MaxInt64, false},
		{ResolutionNano, -maxSeconds, 0, -maxSeconds * 1e9, true},
	} {
		c := newIfaceConv(LinkTypeEthernet, 0, tc.res, tc.offset)
		got, ok := c.nanos(tc.ts)
		if got != tc.want || ok != tc.ok {
			t.Errorf("nanos(%d) at %v, offset %d = %d, %v; want %d, %v", tc.ts, tc.res, tc.offset, got, ok, tc.want, tc.ok)
		}
	}
}

// TestResolutionString checks the names used in reports and in EXPECTED.tsv.
func TestResolutionString(t *testing.T) {
	for res, want := range map[Resolution]string{
		0: "s", 3: "ms", 6: "us", 9: "ns", 12: "10^-12", 0x80 | 20: "2^-20", 0x80: "2^-0",
	} {
		if got := res.String(); got != want {
			t.Errorf("Resolution(%#x).String() = %q, want %q", uint8(res), got, want)
		}
	}
}

// TestLinkTypeString checks names, including the link types gopacket truncates.
func TestLinkTypeString(t *testing.T) {
	for lt, want := range map[LinkType]string{
		LinkTypeLinuxSLL2: "LINUX_SLL2", LinkTypeNull: "NULL", LinkTypeRaw14: "RAW_14", 1234: "LINKTYPE(1234)",
	} {
		if got := lt.String(); got != want {
			t.Errorf("LinkType(%d).String() = %q, want %q", uint32(lt), got, want)
		}
	}
}

// TestUnknownFormat: input that is no capture is refused with its first bytes named.
func TestUnknownFormat(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "only 0 bytes"},
		{"short", "\xd4\xc3", "only 2 bytes (d4c3)"},
		{"text", "hello, world", "magic 68656c6c6f2c2077:"},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00", "(gzip-compressed data"},
		{"modified-pcap", "\x34\xcd\xb2\xa1\x02\x00\x04\x00", "(modified pcap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.in))
			if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewReader(%q) = %v, want ErrUnknownFormat naming %q", tc.in, err, tc.want)
			}
		})
	}
}

// TestDamage reads damaged inputs. Resumable errors are stepped over, as a caller
// that wants every readable packet does.
func TestDamage(t *testing.T) {
	// Inputs are built from an intact start (a header, or a section with one
	// Ethernet interface) and then damaged: cut, or followed by raw words.
	pcapLE := func() *pcapFile { return newPcapFile(false, false, 65535, 1) }
	ngLE := func() *ngFile {
		f := &ngFile{}
		return f.shb(false).idb(1, 0)
	}
	const ngHead = 28 + 20 // SHB and IDB above
	withBlock := func(f *ngFile, raw ...uint32) []byte {
		for _, v := range raw {
			f.b = f.bo.AppendUint32(f.b, v)
		}
		return f.b
	}
	cut := func(b []byte, n int) []byte { return b[:len(b)-n] }
	bigEPB := (&ngFile{}).shb(false).idb(1, 0).epb(0, 1, frame(MaxPacketLen+4, 0), MaxPacketLen+4).epb(0, 2, frame(10, 0), 10).b

	for _, tc := range []struct {
		name      string
		in        []byte
		pkts      int          // packets delivered
		skips     []DamageKind // resumable errors, in order
		fatal     DamageKind   // final error; 0 for io.EOF
		fatalOff  int64
		damage    []DamageKind // Damage() kinds, in order of first offset
		unexpEOF  bool         // final error wraps io.ErrUnexpectedEOF
		detailHas string
	}{
		// Classic pcap cut short: the packets before the cut are delivered, then a
		// fatal error that wraps io.ErrUnexpectedEOF, never a plain io.EOF.
		{name: "pcap/cut-record-header", in: pcapLE().rec(t0, 0, frame(60, 0), 60).rec(t0, 0, nil, 0).b[:24+76+10],
			pkts: 1, fatal: DamageTruncatedFile, fatalOff: 100, damage: []DamageKind{DamageTruncatedFile},
			unexpEOF: true, detailHas: "after 10 of 16 bytes"},
		{name: "pcap/cut-data", in: cut(pcapLE().rec(t0, 0, frame(60, 0), 60).rec(t0, 0, frame(100, 0), 100).b, 50),
			pkts: 1, fatal: DamageTruncatedFile, fatalOff: 100, damage: []DamageKind{DamageTruncatedFile},
			unexpEOF: true, detailHas: "after 66 of 116 bytes"},
		// A length no capture tool writes: the record framing cannot be trusted.
		{name: "pcap/caplen-gt-max", in: pcapLE().recLen(t0, 0, MaxPacketLen+1, 70000, frame(64, 0)).b,
			fatal: DamageCaplenGtMax, fatalOff: 24, damage: []DamageKind{DamageCaplenGtMax}, detailHas: "262145"},
		// Oddities that spoil no packet: every packet is delivered, each kind counted.
		{name: "pcap/counted", in: newPcapFile(false, false, 64, 1).
			rec(t0, 0, frame(98, 0), 98).     // caplen > snaplen
			rec(t0, 0, frame(20, 0), 10).     // caplen > len
			rec(t0, 1e6, frame(20, 0), 20).b, // fraction of a full second
			pkts: 3, damage: []DamageKind{DamageCaplenGtSnaplen, DamageCaplenGtLen, DamageBadTimestamp}},
		// Impossible block lengths: the next block cannot be found, so reading stops.
		{name: "pcapng/length-not-multiple-of-4", in: withBlock(ngLE().epb(0, 1, frame(8, 0), 8), 4, 30),
			pkts: 1, fatal: DamageBogusBlockLength, fatalOff: ngHead + 40, damage: []DamageKind{DamageBogusBlockLength},
			detailHas: "not a multiple of 4"},
		{name: "pcapng/length-below-12", in: withBlock(ngLE(), 4, 8, 8),
			fatal: DamageBogusBlockLength, fatalOff: ngHead, damage: []DamageKind{DamageBogusBlockLength}},
		{name: "pcapng/epb-below-32", in: withBlock(ngLE(), 6, 16, 0, 16),
			fatal: DamageBogusBlockLength, fatalOff: ngHead, damage: []DamageKind{DamageBogusBlockLength},
			detailHas: "below the minimum of 32"},
		{name: "pcapng/length-above-max", in: withBlock(ngLE(), 4, MaxBlockLen+4, 0),
			fatal: DamageBogusBlockLength, fatalOff: ngHead, damage: []DamageKind{DamageBogusBlockLength}},
		{name: "pcapng/trailer-mismatch", in: append(cut(ngLE().epb(0, 1, frame(8, 0), 8).b, 4), 44, 0, 0, 0),
			fatal: DamageBogusBlockLength, fatalOff: ngHead, damage: []DamageKind{DamageBogusBlockLength},
			detailHas: "differs from its trailing copy 44"},
		{name: "pcapng/skipped-trailer-mismatch", in: append(cut(ngLE().block(4, make([]byte, 8)).b, 4), 1, 0, 0, 0),
			fatal: DamageBogusBlockLength, fatalOff: ngHead, damage: []DamageKind{DamageBogusBlockLength}},
		// pcapng cut short, inside a packet block, a block header or a skipped block.
		{name: "pcapng/cut-block", in: cut(ngLE().epb(0, 1, frame(8, 0), 8).epb(0, 1, frame(100, 0), 100).b, 30),
			pkts: 1, fatal: DamageTruncatedBlock, fatalOff: ngHead + 40, damage: []DamageKind{DamageTruncatedBlock},
			unexpEOF: true},
		{name: "pcapng/cut-block-header", in: cut(ngLE().epb(0, 1, frame(8, 0), 8).epb(0, 1, nil, 0).b, 27),
			pkts: 1, fatal: DamageTruncatedBlock, fatalOff: ngHead + 40, damage: []DamageKind{DamageTruncatedBlock},
			unexpEOF: true, detailHas: "after 5 of 8 bytes"},
		{name: "pcapng/cut-skipped-block", in: cut(ngLE().block(4, make([]byte, 100)).b, 50),
			fatal: DamageTruncatedBlock, fatalOff: ngHead, damage: []DamageKind{DamageTruncatedBlock}, unexpEOF: true},
		// Packet blocks with intact framing but impossible contents: skipped, resumable.
		{name: "pcapng/caplen-gt-block", in: ngLE().epbLen(0, 1, 0xFFFFFFFF, 0xFFFFFFFF, frame(4, 0)).epb(0, 2, frame(8, 0), 8).b,
			pkts: 1, skips: []DamageKind{DamageCaplenGtBlock}, damage: []DamageKind{DamageCaplenGtBlock}},
		{name: "pcapng/caplen-gt-max", in: bigEPB,
			pkts: 1, skips: []DamageKind{DamageCaplenGtMax}, damage: []DamageKind{DamageCaplenGtMax}},
		{name: "pcapng/bad-interface-id", in: ngLE().epb(1, 1, frame(8, 0), 8).epb(0, 2, frame(8, 0), 8).b,
			pkts: 1, skips: []DamageKind{DamageBadInterfaceID}, damage: []DamageKind{DamageBadInterfaceID}},
		{name: "pcapng/spb-without-interface", in: (&ngFile{}).shb(false).spb(8, frame(8, 0)).idb(1, 0).spb(8, frame(8, 0)).b,
			pkts: 1, skips: []DamageKind{DamageBadInterfaceID}, damage: []DamageKind{DamageBadInterfaceID}},
		// Interface numbers start again in every section: interface 0 of a section
		// without an IDB does not exist even though the previous section had one.
		{name: "pcapng/interfaces-per-section", in: ngLE().shb(true).epb(0, 1, frame(8, 0), 8).b,
			skips: []DamageKind{DamageBadInterfaceID}, damage: []DamageKind{DamageBadInterfaceID}},
		// Oddities outside packets: counted, and the packets around them delivered.
		{name: "pcapng/unknown-block", in: ngLE().block(0x1234, []byte("?")).epb(0, 2, frame(8, 0), 8).b,
			pkts: 1, damage: []DamageKind{DamageUnknownBlock}},
		{name: "pcapng/bad-option", in: (&ngFile{}).shb(false).
			block(blockIDB, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 200, 0, 'e', 't', 'h', '0'}).
			epb(0, 2, frame(8, 0), 8).b,
			pkts: 1, damage: []DamageKind{DamageBadOption}},
		{name: "pcapng/bad-tsresol-size", in: (&ngFile{}).shb(false).idb(1, 0, opt(9, 9, 9)).epb(0, 2, frame(8, 0), 8).b,
			pkts: 1, damage: []DamageKind{DamageBadOption}},
		// A section header that cannot be read leaves the byte order unknown: fatal.
		{name: "pcapng/bad-byte-order-magic", in: append(ngLE().epb(0, 1, frame(8, 0), 8).b,
			0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4),
			pkts: 1, fatal: DamageBadSectionHeader, fatalOff: ngHead + 40, damage: []DamageKind{DamageBadSectionHeader},
			detailHas: "byte-order magic 01020304"},
		{name: "pcapng/version-2", in: func() []byte {
			b := ngLE().epb(0, 1, frame(8, 0), 8).shb(false).b
			b[ngHead+40+12] = 2
			return b
		}(), pkts: 1, fatal: DamageBadSectionHeader, fatalOff: ngHead + 40, damage: []DamageKind{DamageBadSectionHeader},
			detailHas: "version 2.0"},
		// A time past 2262 does not fit int64 nanoseconds: clamped and counted.
		{name: "pcapng/timestamp-overflow", in: ngLE().epb(0, math.MaxUint64, frame(8, 0), 8).b,
			pkts: 1, damage: []DamageKind{DamageBadTimestamp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatalf("NewReader = %v", err)
			}
			pkts, skips, err := readAll(t, r, true)
			if len(pkts) != tc.pkts {
				t.Errorf("read %d packets, want %d", len(pkts), tc.pkts)
			}
			var skipKinds []DamageKind
			for _, s := range skips {
				skipKinds = append(skipKinds, s.Kind)
			}
			if !slices.Equal(skipKinds, tc.skips) {
				t.Errorf("resumable errors %v, want %v", skipKinds, tc.skips)
			}
			var de *DamageError
			switch {
			case tc.fatal == 0 && err != nil:
				t.Errorf("final error = %v, want io.EOF", err)
			case tc.fatal != 0 && !errors.As(err, &de):
				t.Errorf("final error = %v, want a *DamageError", err)
			case tc.fatal != 0:
				if de.Kind != tc.fatal || de.Offset != tc.fatalOff || de.Resumable {
					t.Errorf("final error = %+v, want kind %v at %#x, not resumable", de, tc.fatal, tc.fatalOff)
				}
				if !errors.Is(err, ErrDamaged) || errors.Is(err, io.ErrUnexpectedEOF) != tc.unexpEOF {
					t.Errorf("final error %v: wraps ErrDamaged %v, io.ErrUnexpectedEOF %v (want %v)",
						err, errors.Is(err, ErrDamaged), errors.Is(err, io.ErrUnexpectedEOF), tc.unexpEOF)
				}
				if !strings.Contains(err.Error(), tc.detailHas) {
					t.Errorf("error %q does not say %q", err, tc.detailHas)
				}
				if _, again := r.Next(); again != err {
					t.Errorf("Next after a fatal error = %v, want the same error", again)
				}
			}
			var kinds []DamageKind
			for _, d := range r.Damage() {
				kinds = append(kinds, d.Kind)
			}
			if !slices.Equal(kinds, tc.damage) {
				t.Errorf("Damage() = %v, want kinds %v", r.Damage(), tc.damage)
			}
		})
	}
}

// TestDamagedHeader: a damaged file or first section header fails NewReader itself.
func TestDamagedHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		kind DamageKind
	}{
		{"pcap", newPcapFile(false, false, 0, 1).b[:20], DamageTruncatedFile},
		{"pcapng-cut", (&ngFile{}).shb(false).b[:20], DamageTruncatedBlock},
		{"pcapng-cut-magic", (&ngFile{}).shb(false).b[:10], DamageTruncatedBlock},
		{"pcapng-bom", append([]byte("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00"), "abcd"...), DamageBadSectionHeader},
		{"pcapng-length", (&ngFile{}).shb(false).b[:8], DamageTruncatedBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tc.in))
			var de *DamageError
			if !errors.As(err, &de) || de.Kind != tc.kind || de.Offset != 0 {
				t.Errorf("NewReader = %v, want %v at offset 0", err, tc.kind)
			}
		})
	}
}

// TestBlocksLargerThanBuffer covers the path for blocks that do not fit the read
// buffer: a packet block with large options, and a large description and skipped block.
func TestBlocksLargerThanBuffer(t *testing.T) {
	var comments [][]byte
	for range 40 {
		comments = append(comments, opt(1, bytes.Repeat([]byte("c"), 60000)...))
	}
	var f ngFile
	f.shb(false)
	f.idb(1, 0, append([][]byte{opt(2, bytes.Repeat([]byte("n"), 300)...), opt(9, 9)}, comments...)...)
	f.block(4, make([]byte, 3<<20))
	body := f.bo.AppendUint32(nil, 0)
	body = f.bo.AppendUint32(body, 0)
	body = f.bo.AppendUint32(body, 77)
	body = f.bo.AppendUint32(body, 1000)
	body = f.bo.AppendUint32(body, 1000)
	body = append(body, frame(1000, 9)...)
	f.block(blockEPB, append(body, optList(f.bo, comments)...))
	f.epb(0, 78, frame(10, 1), 10)

	r, err := NewReader(bytes.NewReader(f.b))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	pkts, _, err := readAll(t, r, false)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	comparePackets(t, pkts, []Packet{
		{Data: frame(1000, 9), Timestamp: 77, OrigLen: 1000, LinkType: 1},
		{Data: frame(10, 1), Timestamp: 78, OrigLen: 10, LinkType: 1},
	})
	ifc := r.Interfaces()[0]
	if len(ifc.Name) != maxNameLen || ifc.Resolution != ResolutionNano {
		t.Errorf("interface name of %d bytes, resolution %v; want %d, ns", len(ifc.Name), ifc.Resolution, maxNameLen)
	}
	if d := r.Damage(); len(d) != 0 {
		t.Errorf("Damage() = %v, want none", d)
	}

	// The same input cut inside the large packet block.
	r, err = NewReader(bytes.NewReader(f.b[:len(f.b)-44-(1<<20)]))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	_, _, err = readAll(t, r, false)
	var de *DamageError
	if !errors.As(err, &de) || de.Kind != DamageTruncatedBlock {
		t.Errorf("reading a cut large block = %v, want truncated-block", err)
	}
}

// TestNextAllocs checks that reading allocates nothing per packet.
func TestNextAllocs(t *testing.T) {
	pc := newPcapFile(false, true, 0, 1)
	var ng ngFile
	ng.shb(false).idb(1, 0)
	for i := range 2000 {
		pc.rec(t0, uint32(i), frame(60+i%1400, byte(i)), 1500)
		ng.epb(0, uint64(i), frame(60+i%1400, byte(i)), 1500)
	}
	for name, in := range map[string][]byte{"pcap": pc.b, "pcapng": ng.b} {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("NewReader = %v", err)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := r.Next(); err != nil {
				t.Fatalf("Next = %v", err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Next allocates %v times per packet, want 0", name, allocs)
		}
	}
}

// TestDamageErrorUnwrap pins the error text callers log and the errors it wraps.
func TestDamageErrorUnwrap(t *testing.T) {
	e := &DamageError{Kind: DamageTruncatedBlock, Offset: 0x7c, Record: "enhanced packet block",
		Detail: "input ends after 8 of 36 bytes", Err: io.ErrUnexpectedEOF}
	want := "reading enhanced packet block at offset 0x7c: input ends after 8 of 36 bytes (truncated-block): unexpected EOF"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, ErrDamaged) || !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Errorf("%v does not wrap ErrDamaged and io.ErrUnexpectedEOF", e)
	}
	if s := DamageKind(0).String(); s != "DamageKind(0)" {
		t.Errorf("DamageKind(0).String() = %q", s)
	}
}

// errReader fails after its data.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// TestInputError: an error of the underlying reader is returned with the offset
// where it struck, and is not mistaken for damage.
func TestInputError(t *testing.T) {
	boom := errors.New("disk on fire")
	f := newPcapFile(false, false, 0, 1).rec(t0, 0, frame(60, 0), 60)
	r, err := NewReader(&errReader{data: f.b, err: boom})
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatalf("Next = %v", err)
	}
	_, err = r.Next()
	if !errors.Is(err, boom) || errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "offset 0x64") {
		t.Errorf("Next = %v, want the input's error at offset 0x64", err)
	}
	if _, err := NewReader(&errReader{err: boom}); !errors.Is(err, boom) {
		t.Errorf("NewReader = %v, want the input's error", err)
	}
}
