package capture

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// testPackets returns packets of realistic sizes with nanosecond times, on interface
// ifc(i) of each.
func testPackets(n int, ifc func(int) int) []Packet {
	pkts := make([]Packet, n)
	sizes := []int{54, 60, 66, 98, 583, 1294, 1514, 9000, 1}
	for i := range pkts {
		size := sizes[i%len(sizes)]
		pkts[i] = Packet{
			Data:      frame(size, byte(i)),
			Timestamp: t0*1e9 + int64(i)*1_234_567_891,
			OrigLen:   size + i%3*100,
			Interface: ifc(i),
		}
	}
	return pkts
}

// zeroIfc puts every packet on interface 0.
func zeroIfc(int) int { return 0 }

// TestPcapWriterRoundTrip writes packets as pcap in both resolutions, up to the last
// representable second, and reads them back exactly.
func TestPcapWriterRoundTrip(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var buf bytes.Buffer
		w, err := NewPcapWriter(&buf, LinkTypeNFLOG, 0, nano)
		if err != nil {
			t.Fatal(err)
		}
		in := testPackets(50, zeroIfc)
		in = append(in, Packet{Data: frame(10, 0), Timestamp: math.MaxUint32*1e9 + 999_999_999, OrigLen: 10})
		for _, p := range in {
			if err := w.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]Packet, len(in))
		for i, p := range in {
			p.LinkType = LinkTypeNFLOG
			if !nano {
				p.Timestamp -= p.Timestamp % 1000
			}
			want[i] = p
		}
		got, _, err := readAll(t, r, false)
		if err != nil {
			t.Fatal(err)
		}
		comparePackets(t, got, want)
		ifc := r.Interfaces()[0]
		if ifc.LinkType != LinkTypeNFLOG || ifc.SnapLen != MaxPacketLen || (ifc.Resolution == ResolutionNano) != nano {
			t.Errorf("nano %v: interface %+v", nano, ifc)
		}
		if d := r.Damage(); len(d) != 0 {
			t.Errorf("Damage() = %v, want none", d)
		}
	}
}

// TestPcapngWriterRoundTrip writes three interfaces with different link types and
// snapshot lengths, one added between packets, and reads everything back exactly.
func TestPcapngWriterRoundTrip(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var buf bytes.Buffer
		w, err := NewPcapngWriter(&buf, PcapngOptions{
			Comment:    "rewritten by flowfed",
			UserAppl:   "flowfed",
			Nanosecond: nano,
			Interfaces: []PcapngInterface{{LinkType: LinkTypeEthernet}, {LinkType: LinkTypeLinuxSLL2, SnapLen: 9000}},
		})
		if err != nil {
			t.Fatal(err)
		}
		in := testPackets(60, func(i int) int { return i % 3 })
		// The third interface is added between packets, as a streaming rewrite does.
		for i, p := range in {
			if i == 2 {
				if id, err := w.AddInterface(PcapngInterface{LinkType: LinkTypeNFLOG, SnapLen: 128}); err != nil || id != 2 {
					t.Fatalf("AddInterface = %d, %v; want 2", id, err)
				}
			}
			if err := w.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		lts := []LinkType{LinkTypeEthernet, LinkTypeLinuxSLL2, LinkTypeNFLOG}
		snaps := []int{MaxPacketLen, 9000, 128}
		want := make([]Packet, len(in))
		for i, p := range in {
			p.LinkType = lts[p.Interface]
			p.Data = p.Data[:min(len(p.Data), snaps[p.Interface])]
			if !nano {
				p.Timestamp -= p.Timestamp % 1000
			}
			want[i] = p
		}
		got, _, err := readAll(t, r, false)
		if err != nil {
			t.Fatal(err)
		}
		comparePackets(t, got, want)
		res := ResolutionMicro
		if nano {
			res = ResolutionNano
		}
		for i, ifc := range r.Interfaces() {
			if ifc != (Interface{LinkType: lts[i], SnapLen: snaps[i], Resolution: res}) {
				t.Errorf("interface %d = %+v", i, ifc)
			}
		}
		if d := r.Damage(); len(d) != 0 {
			t.Errorf("Damage() = %v, want none", d)
		}
	}
}

// TestPcapngWriterBytes pins the exact bytes written, built independently.
func TestPcapngWriterBytes(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapngWriter(&buf, PcapngOptions{
		Comment: "c", UserAppl: "flowfed", Nanosecond: true,
		Interfaces: []PcapngInterface{{LinkType: LinkTypeLinuxSLL2, SnapLen: 1500}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(Packet{Data: frame(5, 1), Timestamp: 1 << 40, OrigLen: 60}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var f ngFile
	f.shb(false, opt(1, 'c'), opt(4, []byte("flowfed")...))
	f.idb(276, 1500, opt(9, 9))
	f.epb(0, 1<<40, frame(5, 1), 60)
	if !bytes.Equal(buf.Bytes(), f.b) {
		t.Errorf("written:\n%x\nwant:\n%x", buf.Bytes(), f.b)
	}

	buf.Reset()
	pw, err := NewPcapWriter(&buf, LinkTypeRaw, 65535, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.WritePacket(Packet{Data: frame(5, 1), Timestamp: 7*1e9 + 1999, OrigLen: 5}); err != nil {
		t.Fatal(err)
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := newPcapFile(false, false, 65535, 101).rec(7, 1, frame(5, 1), 5).b; !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("written:\n%x\nwant:\n%x", buf.Bytes(), want)
	}
}

// TestWritersCutAndRepair: packets are cut at the snapshot length and an original
// length below the captured one is raised, so the output is never damaged.
func TestWritersCutAndRepair(t *testing.T) {
	var pc, ng bytes.Buffer
	pw, err := NewPcapWriter(&pc, LinkTypeEthernet, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	nw, err := NewPcapngWriter(&ng, PcapngOptions{Interfaces: []PcapngInterface{{LinkType: 1, SnapLen: 64}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Packet{
		{Data: frame(98, 0), OrigLen: 98},
		{Data: frame(30, 0), OrigLen: 10},
	} {
		if err := pw.WritePacket(p); err != nil {
			t.Fatal(err)
		}
		if err := nw.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := nw.Flush(); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]*bytes.Buffer{"pcap": &pc, "pcapng": &ng} {
		r, err := NewReader(out)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := readAll(t, r, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || len(got[0].Data) != 64 || got[0].OrigLen != 98 || got[1].OrigLen != 30 {
			t.Errorf("%s: read back %+v", name, got)
		}
		if d := r.Damage(); len(d) != 0 {
			t.Errorf("%s: Damage() = %v, want none", name, d)
		}
	}
}

// TestWriterErrors: arguments the formats cannot hold are refused with sentinels.
func TestWriterErrors(t *testing.T) {
	if _, err := NewPcapWriter(io.Discard, 0x10000, 0, false); !errors.Is(err, ErrLinkType) {
		t.Errorf("NewPcapWriter(link type 0x10000) = %v, want ErrLinkType", err)
	}
	for _, snap := range []int{-1, MaxPacketLen + 1} {
		if _, err := NewPcapWriter(io.Discard, 1, snap, false); !errors.Is(err, ErrSnapLen) {
			t.Errorf("NewPcapWriter(snaplen %d) = %v, want ErrSnapLen", snap, err)
		}
	}
	pw, err := NewPcapWriter(io.Discard, 1, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []int64{-1, (math.MaxUint32 + 1) * 1e9} {
		if err := pw.WritePacket(Packet{Timestamp: ts}); !errors.Is(err, ErrTimestampRange) {
			t.Errorf("pcap WritePacket(timestamp %d) = %v, want ErrTimestampRange", ts, err)
		}
	}
	if _, err := NewPcapngWriter(io.Discard, PcapngOptions{Comment: strings.Repeat("x", 1<<16)}); !errors.Is(err, ErrOptionTooLong) {
		t.Errorf("NewPcapngWriter(long comment) = %v, want ErrOptionTooLong", err)
	}
	if _, err := NewPcapngWriter(io.Discard, PcapngOptions{Interfaces: []PcapngInterface{{LinkType: 1 << 16}}}); !errors.Is(err, ErrLinkType) {
		t.Errorf("NewPcapngWriter(link type 1<<16) = %v, want ErrLinkType", err)
	}
	nw, err := NewPcapngWriter(io.Discard, PcapngOptions{Interfaces: []PcapngInterface{{LinkType: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range []int{-1, 1} {
		if err := nw.WritePacket(Packet{Interface: ifc}); !errors.Is(err, ErrNoInterface) {
			t.Errorf("pcapng WritePacket(interface %d) = %v, want ErrNoInterface", ifc, err)
		}
	}
	if err := nw.WritePacket(Packet{Timestamp: -1}); !errors.Is(err, ErrTimestampRange) {
		t.Errorf("pcapng WritePacket(timestamp -1) = %v, want ErrTimestampRange", err)
	}
	// A pcapng time beyond 2106 is fine: its timestamp field has 64 bits.
	if err := nw.WritePacket(Packet{Timestamp: math.MaxInt64}); err != nil {
		t.Errorf("pcapng WritePacket(max timestamp) = %v", err)
	}
}

type failWriter struct{}

var errFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errFull }

// TestWriterOutputError: errors of the output surface, wrapped, at the latest on Flush.
func TestWriterOutputError(t *testing.T) {
	pw, err := NewPcapWriter(failWriter{}, 1, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.WritePacket(Packet{Data: frame(10, 0)}); err != nil {
		t.Fatal(err) // buffered
	}
	if err := pw.Flush(); !errors.Is(err, errFull) {
		t.Errorf("Flush = %v, want the output's error", err)
	}
	nw, err := NewPcapngWriter(failWriter{}, PcapngOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.Flush(); !errors.Is(err, errFull) {
		t.Errorf("Flush = %v, want the output's error", err)
	}
}

// TestNoMetadataCopied rewrites a capture full of metadata the way a rewriting tool
// uses this package, and checks that none of it reaches the output.
func TestNoMetadataCopied(t *testing.T) {
	var f ngFile
	f.shb(false, opt(1, []byte("secret comment")...), opt(2, []byte("secret hardware")...),
		opt(3, []byte("secret os")...), opt(4, []byte("secret app")...))
	f.idb(1, 0, opt(2, []byte("secret-eth0")...), opt(3, []byte("secret description")...),
		opt(11, append([]byte{0}, "secret filter"...)...), opt(12, []byte("secret os")...))
	f.block(4, []byte("\x01\x00\x0c\x00\xc0\x00\x02\x01secret.example.org\x00\x00\x00\x00\x00"))
	f.block(0x0A, []byte("TLSKsecret keys"))
	f.block(0x0BAD, []byte("\x00\x00\x7e\x3csecret custom"))
	body := f.bo.AppendUint32(nil, 0)
	body = f.bo.AppendUint32(body, 0)
	body = f.bo.AppendUint32(body, 1)
	body = f.bo.AppendUint32(body, 4)
	body = f.bo.AppendUint32(body, 4)
	body = append(body, "data"...)
	f.block(blockEPB, append(body, optList(f.bo, [][]byte{opt(1, []byte("secret packet comment")...)})...))

	r, err := NewReader(bytes.NewReader(f.b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := NewPcapngWriter(&out, PcapngOptions{UserAppl: "flowfed"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]int{}
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		id, ok := ids[p.Interface]
		if !ok {
			ifc := r.Interfaces()[p.Interface]
			if r.Interfaces()[p.Interface].Name != "secret-eth0" {
				t.Errorf("interface name %q not read", ifc.Name)
			}
			if id, err = w.AddInterface(PcapngInterface{LinkType: ifc.LinkType, SnapLen: ifc.SnapLen}); err != nil {
				t.Fatal(err)
			}
			ids[p.Interface] = id
		}
		p.Interface = id
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("secret")) {
		t.Errorf("output carries metadata of the input:\n%q", out.Bytes())
	}
	if !bytes.Contains(out.Bytes(), []byte("data")) {
		t.Errorf("output lacks the packet")
	}
}

// TestWritersReadByPcapgo checks that gopacket's pcapgo reads what the writers write.
func TestWritersReadByPcapgo(t *testing.T) {
	for _, nano := range []bool{false, true} {
		in := testPackets(40, func(i int) int { return i % 2 })
		unit := int64(1000)
		if nano {
			unit = 1
		}

		var pc bytes.Buffer
		pw, err := NewPcapWriter(&pc, LinkTypeLinuxSLL, 0, nano)
		if err != nil {
			t.Fatal(err)
		}
		var ng bytes.Buffer
		nw, err := NewPcapngWriter(&ng, PcapngOptions{Nanosecond: nano,
			Interfaces: []PcapngInterface{{LinkType: LinkTypeEthernet}, {LinkType: LinkTypeRaw, SnapLen: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range in {
			if err := pw.WritePacket(p); err != nil {
				t.Fatal(err)
			}
			if err := nw.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := nw.Flush(); err != nil {
			t.Fatal(err)
		}

		pr, err := pcapgo.NewReader(&pc)
		if err != nil {
			t.Fatalf("pcapgo.NewReader = %v", err)
		}
		if pr.LinkType() != layers.LinkTypeLinuxSLL {
			t.Errorf("pcapgo link type %v", pr.LinkType())
		}
		checkPcapgo(t, "pcap", pr, in, unit, func(int) int { return MaxPacketLen })

		nr, err := pcapgo.NewNgReader(&ng, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatalf("pcapgo.NewNgReader = %v", err)
		}
		checkPcapgo(t, "pcapng", nr, in, unit, func(i int) int { return []int{MaxPacketLen, 1000}[i] })
		for i, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw} {
			if ifc, err := nr.Interface(i); err != nil || ifc.LinkType != lt {
				t.Errorf("pcapgo interface %d = %+v, %v", i, ifc, err)
			}
		}
	}
}

// checkPcapgo reads in from src and compares with what was written: data cut at the
// interface snaplen, times cut to the unit of the file.
func checkPcapgo(t *testing.T, name string, src gopacket.PacketDataSource, in []Packet, unit int64, snap func(int) int) {
	t.Helper()
	for i, p := range in {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			t.Fatalf("%s: pcapgo packet %d: %v", name, i, err)
		}
		want := p.Data[:min(len(p.Data), snap(p.Interface))]
		if !bytes.Equal(data, want) || ci.Length != p.OrigLen || ci.Timestamp.UnixNano() != p.Timestamp-p.Timestamp%unit {
			t.Errorf("%s: pcapgo packet %d: %d bytes of %d at %v; want %d of %d at %d",
				name, i, len(data), ci.Length, ci.Timestamp.UnixNano(), len(want), p.OrigLen, p.Timestamp)
		}
	}
	if _, _, err := src.ReadPacketData(); err != io.EOF {
		t.Errorf("%s: pcapgo after the last packet: %v, want io.EOF", name, err)
	}
}
