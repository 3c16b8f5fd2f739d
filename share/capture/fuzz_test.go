package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// seedCaptures returns generated captures covering every format feature and, when
// present, damaged real captures and the C03 cases.
func seedCaptures(tb testing.TB) [][]byte {
	seeds := [][]byte{
		newPcapFile(false, false, 65535, 1).rec(t0, 1, frame(60, 0), 60).rec(t0, 2, frame(20, 0), 1500).b,
		newPcapFile(true, true, 64, 276).rec(t0, 1, frame(98, 0), 98).b,
		c03a(), c03b(), c03c(),
	}
	var ng ngFile
	ng.shb(true).idb(1, 0, opt(2, 'e'), opt(9, 0x80|20), opt(14, u64bytes(ng.bo, 5)...)).
		block(4, []byte{0, 0, 0, 0}).epb(0, 1<<20, frame(40, 0), 40).
		shb(false).idb(113, 64).spb(100, frame(64, 0)).pb(0, 7, frame(10, 0), 10).
		block(0x1234, nil).epbLen(0, 1, 1<<31, 10, frame(8, 0))
	seeds = append(seeds, ng.b, ng.b[:len(ng.b)-6])
	for _, path := range []string{
		filepath.Join(devDir, "zeek__trunc-hdr.pcap"),
		filepath.Join(devDir, "fuzz-2021-10-13.pcap"),
		filepath.Join(devDir, "dhcp-fuzz.pcapng"),
		filepath.Join(devDir, "gopacket__be_test202.pcapng"),
		filepath.Join(devDir, "zeek__pcapng-multi-interface.pcapng"),
		filepath.Join(casesDir, "C03a-pcapng-huge-caplen.pcapng"),
		filepath.Join(casesDir, "C03b-pcap-caplen-gt-snaplen.pcap"),
		filepath.Join(casesDir, "C03c-pcapng-snaplen0.pcapng"),
	} {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzReader: NewReader and Next never panic, Next terminates, every allocation stays
// bounded, delivered packets are bytes of the input, and errors follow the contract.
func FuzzReader(f *testing.F) {
	for _, s := range seedCaptures(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			var de *DamageError
			if !errors.Is(err, ErrUnknownFormat) && !(errors.As(err, &de) && !de.Resumable) {
				t.Fatalf("NewReader = %v, want ErrUnknownFormat or a fatal *DamageError", err)
			}
			return
		}
		// Every call consumes a record or block (at least 12 bytes) or ends reading, so
		// more calls than this would mean a loop that does not advance.
		limit := len(in)/8 + 2
		calls := 0
		for ; ; calls++ {
			if calls > limit {
				t.Fatalf("Next did not finish after %d calls on %d bytes", calls, len(in))
			}
			p, err := r.Next()
			var de *DamageError
			if errors.As(err, &de) {
				if de.Resumable {
					continue
				}
				if _, again := r.Next(); again != err {
					t.Fatalf("Next after %v = %v, want the same error", err, again)
				}
				break
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next = %v, want a *DamageError or io.EOF", err)
			}
			ifcs := r.Interfaces()
			if len(p.Data) > MaxPacketLen || p.Interface >= len(ifcs) || p.LinkType != ifcs[p.Interface].LinkType {
				t.Fatalf("packet of %d bytes on interface %d of %d (%v)", len(p.Data), p.Interface, len(ifcs), p.LinkType)
			}
			// Packets are cut from the input, never made up or read from a stale buffer.
			if !bytes.Contains(in, p.Data) {
				t.Fatalf("packet data is not from the input")
			}
		}
		// Memory bounds: nothing sized by the input outgrows its constant.
		if cap(r.scratch) > MaxPacketLen || len(r.ifaces) > MaxInterfaces || len(r.sections) > MaxSections {
			t.Fatalf("scratch %d, %d interfaces, %d sections", cap(r.scratch), len(r.ifaces), len(r.sections))
		}
		for _, d := range r.Damage() {
			if d.Count <= 0 || d.Offset < 0 || d.Offset >= int64(len(in)) {
				t.Fatalf("damage %+v in %d bytes", d, len(in))
			}
		}
	})
}

// roundTripPackets derives packets from fuzz bytes: per packet a 2-byte length, a
// 4-byte time step, an interface byte, then the data.
func roundTripPackets(in []byte, start int64, nifc int) []Packet {
	var pkts []Packet
	ts := start
	for len(in) >= 7 && len(pkts) < 200 {
		n := int(binary.LittleEndian.Uint16(in)) % 2000
		step := int64(binary.LittleEndian.Uint32(in[2:]))
		ifc := int(in[6]) % nifc
		in = in[7:]
		n = min(n, len(in))
		ts += step
		pkts = append(pkts, Packet{Data: in[:n], Timestamp: ts, OrigLen: n + int(step%3)*500 - 200, Interface: ifc})
		in = in[n:]
	}
	return pkts
}

// FuzzRoundTrip: what the writers write, the reader reads back exactly (data cut at the
// snapshot length, times cut to the resolution), without damage.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("\x10\x00\x01\x00\x00\x00\x00abcdefghijklmnop"), int64(t0*1e9), true, false, uint16(1), uint32(0))
	f.Add([]byte("\x05\x00\xff\xff\xff\xff\x01hello\x00\x08\x00\x00\x00\x00\x02"), int64(0), false, true, uint16(276), uint32(3))
	f.Add(c03a()[28:], int64(math.MaxUint32*1e9), true, true, uint16(239), uint32(100))
	f.Fuzz(func(t *testing.T, in []byte, start int64, nano, ng bool, lt uint16, snap uint32) {
		snaplen := int(snap % (MaxPacketLen + 1))
		nifc := 1
		if ng {
			nifc = 3
		}
		pkts := roundTripPackets(in, start, nifc)
		var buf bytes.Buffer
		var write func(Packet) error
		var flush func() error
		if ng {
			w, err := NewPcapngWriter(&buf, PcapngOptions{Nanosecond: nano, UserAppl: "flowfed"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range nifc {
				if _, err := w.AddInterface(PcapngInterface{LinkType: LinkType(lt) + LinkType(i), SnapLen: snaplen}); err != nil {
					t.Fatal(err)
				}
			}
			write, flush = w.WritePacket, w.Flush
		} else {
			w, err := NewPcapWriter(&buf, LinkType(lt), snaplen, nano)
			if err != nil {
				t.Fatal(err)
			}
			write, flush = w.WritePacket, w.Flush
		}
		// want is what the reader must return: the input as the writer was told to
		// shape it (cut at snaplen, resolution, lengths repaired, interface link types).
		var want []Packet
		for _, p := range pkts {
			err := write(p)
			outOfRange := p.Timestamp < 0 || (!ng && p.Timestamp/1e9 > math.MaxUint32)
			if outOfRange != errors.Is(err, ErrTimestampRange) {
				t.Fatalf("WritePacket(time %d) = %v", p.Timestamp, err)
			}
			if err != nil {
				continue
			}
			if !nano {
				p.Timestamp -= p.Timestamp % 1000
			}
			p.OrigLen = max(p.OrigLen, len(p.Data))
			if snaplen > 0 {
				p.Data = p.Data[:min(len(p.Data), snaplen)]
			}
			p.LinkType = LinkType(lt) + LinkType(p.Interface)
			if !ng {
				p.LinkType, p.Interface = LinkType(lt), 0
			}
			want = append(want, p)
		}
		if err := flush(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(&buf)
		if err != nil {
			t.Fatalf("NewReader = %v", err)
		}
		got, _, err := readAll(t, r, false)
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		comparePackets(t, got, want)
		if d := r.Damage(); len(d) != 0 {
			t.Fatalf("Damage() = %v, want none", d)
		}
	})
}
