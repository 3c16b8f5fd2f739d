package testnet

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/flowfed/flowfed/node"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/usage"
)

// BenchmarkNotifyToStored measures, in a 10-node testnet, the time from the
// publication of one small indicator to its being stored by all nine other
// nodes (notify, then pull), and reports the median and p99 of that time.
func BenchmarkNotifyToStored(b *testing.B) {
	net := New(b, 10)
	pub := net.Nodes[0]
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ind, err := node.NewIndicator("domain", fmt.Sprintf("bench-%d.example.net", i), pub.Org, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
		if err != nil {
			b.Fatal(err)
		}
		ind.Policy = usage.Policy{TLP: usage.Green}
		start := time.Now()
		if _, err := pub.PublishIndicators(ctx, []intel.Indicator{ind}); err != nil {
			b.Fatal(err)
		}
		for _, n := range net.Nodes[1:] {
			for {
				if _, err := n.Store().Indicator(node.IndicatorArtifact(ind.ID, pub.ID())); err == nil {
					break
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkMemoryPerPeer reports the heap held per connected member: a
// testnet of 12 nodes with 11 connected members each, against the same 12
// nodes knowing no members.
func BenchmarkMemoryPerPeer(b *testing.B) {
	for b.Loop() {
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapInuse
		}
		measure := func(isolated bool) uint64 {
			base := heap()
			net, err := Start(context.Background(), Options{Nodes: 12, Dir: b.TempDir(), Isolated: isolated})
			if err != nil {
				b.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // let the start-up pulls settle
			used := heap() - base
			net.Close()
			return used
		}
		alone, connected := measure(true), measure(false)
		// 12 nodes with 11 connected members each.
		b.ReportMetric(float64(int64(connected)-int64(alone))/(12*11)/1024, "KiB/peer")
	}
}
