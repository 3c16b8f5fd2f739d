package capture

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Benchmarks read and write a synthetic capture of benchPackets packets held in
// memory, so that they measure this package and not the disk. Each reports ns/pkt
// besides MB/s (of capture bytes) and allocs/op (per whole capture). Sub-benchmarks
// named pcapgo run gopacket's reader or writer on the same bytes.
//
// Set FLOWFED_BENCH_PCAP to a capture file (such as the one mkbench.sh builds) to run
// BenchmarkReadFile on it, for comparison with `tcpdump -r in -w out`.

const benchPackets = 10000

// benchSizes approximates the frame-size mix of an Internet link: many bare ACKs,
// full-size segments, and a spread in between.
func benchSizes() []int {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := make([]int, benchPackets)
	for i := range sizes {
		switch x := rng.IntN(100); {
		case x < 40:
			sizes[i] = 54 + rng.IntN(20)
		case x < 75:
			sizes[i] = 1514
		default:
			sizes[i] = 74 + rng.IntN(1400)
		}
	}
	return sizes
}

var benchInput = struct {
	pkts          []Packet
	pcap, pcapng  []byte
	bytesPerPkt   float64
	generatedOnce bool
}{}

func benchData(b *testing.B) ([]Packet, []byte, []byte) {
	b.Helper()
	in := &benchInput
	if !in.generatedOnce {
		in.generatedOnce = true
		payload := frame(1514, 7)
		for i, size := range benchSizes() {
			in.pkts = append(in.pkts, Packet{
				Data:      payload[:size],
				Timestamp: t0*1e9 + int64(i)*123_457_000,
				OrigLen:   size,
			})
		}
		var pc, ng bytes.Buffer
		pw, err := NewPcapWriter(&pc, LinkTypeEthernet, 0, false)
		if err != nil {
			b.Fatal(err)
		}
		nw, err := NewPcapngWriter(&ng, PcapngOptions{Interfaces: []PcapngInterface{{LinkType: LinkTypeEthernet}}})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range in.pkts {
			if err := pw.WritePacket(p); err != nil {
				b.Fatal(err)
			}
			if err := nw.WritePacket(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := pw.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := nw.Flush(); err != nil {
			b.Fatal(err)
		}
		in.pcap, in.pcapng = pc.Bytes(), ng.Bytes()
	}
	return in.pkts, in.pcap, in.pcapng
}

func reportPerPacket(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/pkt")
}

// drain reads every packet and returns the count and a checksum of their bytes, so the
// work cannot be optimised away.
func drain(b *testing.B, r *Reader) (int, int) {
	n, sum := 0, 0
	for {
		p, err := r.Next()
		if err == io.EOF {
			return n, sum
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
		sum += len(p.Data) + int(p.Data[len(p.Data)-1])
	}
}

func drainGopacket(b *testing.B, src interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}) int {
	n := 0
	for {
		data, _, err := src.ZeroCopyReadPacketData()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n += len(data)
	}
}

func benchRead(b *testing.B, in []byte, gopacketReader func(io.Reader) (interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}, error)) {
	b.Run("capture", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			r, err := NewReader(bytes.NewReader(in))
			if err != nil {
				b.Fatal(err)
			}
			if n, _ := drain(b, r); n != benchPackets {
				b.Fatalf("read %d packets", n)
			}
		}
		reportPerPacket(b, benchPackets)
	})
	b.Run("pcapgo", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			r, err := gopacketReader(bytes.NewReader(in))
			if err != nil {
				b.Fatal(err)
			}
			drainGopacket(b, r)
		}
		reportPerPacket(b, benchPackets)
	})
}

func BenchmarkReadPcap(b *testing.B) {
	_, pc, _ := benchData(b)
	benchRead(b, pc, func(r io.Reader) (interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}, error) {
		return pcapgo.NewReader(r)
	})
}

func BenchmarkReadPcapng(b *testing.B) {
	_, _, ng := benchData(b)
	benchRead(b, ng, func(r io.Reader) (interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}, error) {
		return pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	})
}

func BenchmarkWritePcap(b *testing.B) {
	pkts, pc, _ := benchData(b)
	b.Run("capture", func(b *testing.B) {
		b.SetBytes(int64(len(pc)))
		b.ReportAllocs()
		for b.Loop() {
			w, err := NewPcapWriter(io.Discard, LinkTypeEthernet, 0, false)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range pkts {
				if err := w.WritePacket(p); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		reportPerPacket(b, len(pkts))
	})
	b.Run("pcapgo", func(b *testing.B) {
		b.SetBytes(int64(len(pc)))
		b.ReportAllocs()
		for b.Loop() {
			bw := bufio.NewWriterSize(io.Discard, writeBufSize)
			w := pcapgo.NewWriter(bw)
			if err := w.WriteFileHeader(MaxPacketLen, layers.LinkTypeEthernet); err != nil {
				b.Fatal(err)
			}
			for _, p := range pkts {
				ci := gopacket.CaptureInfo{Timestamp: p.Time(), CaptureLength: len(p.Data), Length: p.OrigLen}
				if err := w.WritePacket(ci, p.Data); err != nil {
					b.Fatal(err)
				}
			}
			if err := bw.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		reportPerPacket(b, len(pkts))
	})
}

func BenchmarkWritePcapng(b *testing.B) {
	pkts, _, ng := benchData(b)
	b.SetBytes(int64(len(ng)))
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewPcapngWriter(io.Discard, PcapngOptions{Interfaces: []PcapngInterface{{LinkType: LinkTypeEthernet}}})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pkts {
			if err := w.WritePacket(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	reportPerPacket(b, len(pkts))
}

// BenchmarkReadSmallFile reads a capture of three blocks, one of them damaged: the
// cost of opening a reader, which dominates when many small files are read.
func BenchmarkReadSmallFile(b *testing.B) {
	in := c03a()
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		if _, skipped, err := readAll(b, r, true); err != nil || len(skipped) != 1 {
			b.Fatalf("reading: %v, %d skipped", err, len(skipped))
		}
	}
}

// BenchmarkReadFile reads the capture named by FLOWFED_BENCH_PCAP from disk and writes
// it as pcap to /dev/null through a file, system calls included: the work of
// `tcpdump -r in -w /dev/null`.
func BenchmarkReadFile(b *testing.B) {
	path := os.Getenv("FLOWFED_BENCH_PCAP")
	if path == "" {
		b.Skip("FLOWFED_BENCH_PCAP not set")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		ifc := r.Interfaces()
		var lt LinkType
		if len(ifc) > 0 {
			lt = ifc[0].LinkType
		}
		w, err := NewPcapWriter(null, lt, 0, true)
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for {
			p, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := w.WritePacket(p); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	reportPerPacket(b, n)
}
