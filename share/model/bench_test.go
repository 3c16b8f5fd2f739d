package model

import (
	"testing"
)

// benchExamples returns n synthetic examples. They share the tensors of a
// pool of 3000 distinct flows, so that 100k examples fit in little memory;
// the pool is large enough that training sees varied data.
func benchExamples(n int) []Example {
	pool := synthExamples(3000, 42, "b", 100)
	out := make([]Example, n)
	for i := range out {
		out[i] = pool[i%len(pool)]
	}
	return out
}

// BenchmarkEpoch measures one training epoch (a pass over 100k examples in
// batches of 32, with the default settings) of each architecture: ns/op
// is the time per epoch. Deriving and standardising the inputs happens once
// per Train call and is left out (see BenchmarkExtract).
func BenchmarkEpoch(b *testing.B) {
	ex := benchExamples(100_000)
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		b.Run(arch+"/100k", func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Arch = arch
			t, err := newTrainer(cfg, ex)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := t.epoch(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(ex))*float64(b.N)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}

// BenchmarkExtract measures deriving the model inputs from one flow's
// tensor.
func BenchmarkExtract(b *testing.B) {
	ex := benchExamples(1000)
	out := make([]float32, featureDim)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		extract(ex[i].X, ex[i].Mask, out)
		i = (i + 1) % len(ex)
	}
}

// BenchmarkPredict measures classifying one flow with the default MLP.
func BenchmarkPredict(b *testing.B) {
	ex := benchExamples(3000)
	cfg := DefaultConfig()
	cfg.Epochs = 1
	m, err := Train(cfg, ex)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Predict(ex[i].X, ex[i].Mask)
		i = (i + 1) % len(ex)
	}
}
