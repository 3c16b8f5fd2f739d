package flow

import (
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// Benchmarks report ns/op per packet (b.N counts packets) and packets/s.
// Set FLOWFED_BENCH_PCAP to a capture file (such as the one
// ../shared/tools/mkbench.sh builds) to run BenchmarkReadFile on it; compare
// with `ndpiReader -q -i FILE` (GOMAXPROCS=1 for one core).

// manyFlows returns one packet (a TCP SYN over IPv4 and Ethernet) of each of
// n flows, distinct by address and port.
func manyFlows(n int, payload int) []capture.Packet {
	out := make([]capture.Packet, n)
	for i := range out {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		seg := tcpHdr(uint16(1024+i%50000), 443, "PA", uint32(i), 1, 1000, make([]byte, payload))
		data := ether(ipPkt(src, srv4, protoTCP, seg))
		out[i] = capture.Packet{Data: data, Timestamp: t0, OrigLen: len(data), LinkType: capture.LinkTypeEthernet}
	}
	return out
}

// heapBytes returns the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryPerFlow measures the heap taken by a table of 100000 flows,
// with one packet each and with full 128-step sequences, and checks the
// latter against the budget of 1.5 KiB per flow (slot, index, sequence and
// label state).
func TestMemoryPerFlow(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocates 150 MB; not measured under -short or -race")
	}
	const n = 100000
	pkts := manyFlows(n, 0)
	before := heapBytes()
	tab, _ := NewTable(Config{}, nil)
	for _, p := range pkts {
		tab.Add(p)
	}
	one := heapBytes() - before
	// Fill the sequences directly: feeding 12.8 million packets would
	// measure the same memory, more slowly.
	for i := int32(0); i < tab.nslots; i++ {
		s := tab.slot(i)
		for s.seqN < uint16(tab.seqs.n) {
			tab.seqs.add(s, 1)
		}
	}
	full := heapBytes() - before
	runtime.KeepAlive(pkts)
	st := tab.Stats()
	t.Logf("%d flows: %d B/flow with 1 packet, %d B/flow with %d steps (Stats.Memory %d B/flow; slot %d B)",
		tab.Len(), one/n, full/n, tab.seqs.n, st.Memory/n, sizeofSlot)
	if full/n > 1536 {
		t.Errorf("%d bytes per flow with full sequences, want at most 1536", full/n)
	}
}

// BenchmarkTable adds in-memory packets of 10000 concurrent flows, with
// payloads for the labeler, to a table (decoding included).
func BenchmarkTable(b *testing.B) {
	pkts := manyFlows(10000, 100)
	tab, _ := NewTable(Config{}, func(*Flow) {})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pkts[i%len(pkts)]
		p.Timestamp = t0 + int64(i)*1000
		tab.Add(p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkNewFlows adds packets that each start a new flow, so that the
// table keeps creating, expiring and evicting flows.
func BenchmarkNewFlows(b *testing.B) {
	pkts := manyFlows(1<<16, 0)
	tab, _ := NewTable(Config{MaxFlows: 10000}, func(*Flow) {})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pkts[i%len(pkts)]
		// A new source port each round keeps every packet in a new flow.
		binary.BigEndian.PutUint16(p.Data[14+20:], uint16(i/len(pkts)))
		p.Timestamp = t0 + int64(i)*1000
		tab.Add(p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkAddDecoded measures the table alone on pre-decoded packets of
// 10000 flows.
func BenchmarkAddDecoded(b *testing.B) {
	pkts := manyFlows(10000, 100)
	dec := make([]packet.Packet, len(pkts))
	for i, p := range pkts {
		_ = packet.Decode(&dec[i], p.Data, uint32(p.LinkType))
	}
	tab, _ := NewTable(Config{}, func(*Flow) {})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(pkts)
		tab.AddDecoded(t0+int64(i)*1000, pkts[j].Data, &dec[j])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkReadFile meters the capture named by FLOWFED_BENCH_PCAP:
// reading, decoding, flow table, labels and sequence features. One op is
// the whole file; pkts/s, flows and the peak of flows held are reported.
func BenchmarkReadFile(b *testing.B) {
	name := os.Getenv("FLOWFED_BENCH_PCAP")
	if name == "" {
		b.Skip("FLOWFED_BENCH_PCAP not set")
	}
	b.ReportAllocs()
	var st Stats
	for i := 0; i < b.N; i++ {
		var err error
		st, err = ReadFile(context.Background(), name, Config{}, func(*Flow) {})
		if err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(st.Packets)/sec, "pkts/s")
	b.ReportMetric(float64(st.Flows), "flows")
	b.ReportMetric(float64(st.Peak), "peak-flows")
	b.ReportMetric(float64(st.Memory)/(1<<20), "table-MiB")
	_ = time.Second
}
