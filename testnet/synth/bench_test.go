package synth

import (
	"io"
	"testing"
)

// BenchmarkWrite1M synthesizes a capture of a million packets, the size
// of flowfed's benchmark input, into io.Discard.
func BenchmarkWrite1M(b *testing.B) {
	b.ReportAllocs()
	var pk int
	for b.Loop() {
		sum, err := Write(io.Discard, Config{Seed: 1, Packets: 1_000_000})
		if err != nil {
			b.Fatal(err)
		}
		pk += sum.Packets
	}
	b.ReportMetric(float64(pk)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(0, "ns/op")
}
