package dataset

import (
	"io"
	"sync"
	"testing"
	"time"
)

const benchFlows = 100_000

var benchData = sync.OnceValue(func() []Row { return genRows(benchFlows, 5000, 42) })

// BenchmarkBuild builds datasets from 100k flows with full sequences.
func BenchmarkBuild(b *testing.B) {
	rows := benchData()
	for _, c := range []struct {
		name string
		spec Spec
	}{
		{"flows", Spec{Kind: KindFlows}},
		{"aggregates-protocol-window", Spec{Kind: KindAggregates, GroupBy: []string{"protocol", "window"}, Window: 10 * time.Minute}},
		{"aggregates-dp-laplace", Spec{Kind: KindAggregates, GroupBy: []string{"protocol", "window"}, DP: &DP{Mechanism: "laplace", Epsilon: 0.5}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var bt *Built
			for b.Loop() {
				var err error
				if bt, err = Build(c.spec, seqOf(rows)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(float64(len(bt.Content)), "content-bytes")
		})
	}
}

// BenchmarkExport reports the output rate of each format on 20k flows
// (SetBytes is the output size).
func BenchmarkExport(b *testing.B) {
	bt, err := Build(Spec{Kind: KindFlows}, seqOf(benchData()[:20_000]))
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{FormatCSV, FormatCSVStats, FormatJSONL, FormatNPZ} {
		b.Run(f, func(b *testing.B) {
			var cw countWriter
			if err := Export(&cw, bt.Manifest, bt.Content, f); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(cw.n)
			b.ReportAllocs()
			for b.Loop() {
				if err := Export(io.Discard, bt.Manifest, bt.Content, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecords decodes 20k flows records with their tensors.
func BenchmarkRecords(b *testing.B) {
	bt, err := Build(Spec{Kind: KindFlows}, seqOf(benchData()[:20_000]))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bt.Content)))
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range Records(bt.Manifest, bt.Content) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
