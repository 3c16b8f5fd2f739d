package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGradient compares the gradient of backprop with central finite
// differences of the loss, for every parameter of a small network of each
// architecture at random weights.
func TestGradient(t *testing.T) {
	ex := synthExamples(12, 14, "g", 2)
	for _, arch := range []string{ArchLogReg, ArchMLP} {
		t.Run(arch, func(t *testing.T) {
			c := quickConfig(arch)
			c.Hidden = 5
			c.MinClassSize = 1
			tr, err := newTrainer(c, ex)
			if err != nil {
				t.Fatalf("newTrainer: %v", err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			p := tr.m.p
			for i := range p {
				p[i] = rng.NormFloat64() * 0.3
			}
			// loss is the cross-entropy of example k, by a forward pass only.
			loss := func(k int) float64 {
				s := tr.m.newScratch()
				z := make([]float64, featureDim)
				for i, v := range tr.x[k*featureDim : (k+1)*featureDim] {
					z[i] = float64(v)
				}
				tr.m.forward(s, z)
				return -math.Log(s.logits[tr.y[k]])
			}
			const eps = 1e-6
			bad := 0
			for k := range 3 {
				clear(tr.g)
				if got, want := tr.backprop(k), loss(k); math.Abs(got-want) > 1e-12 {
					t.Errorf("example %d: backprop loss %v, forward loss %v", k, got, want)
				}
				for i := range p {
					orig := p[i]
					p[i] = orig + eps
					up := loss(k)
					p[i] = orig - eps
					down := loss(k)
					p[i] = orig
					num := (up - down) / (2 * eps)
					if d := math.Abs(num - tr.g[i]); d > 1e-6+1e-4*math.Abs(num) {
						if bad++; bad <= 5 {
							t.Errorf("example %d, parameter %d of %d: backprop %.8g, finite difference %.8g", k, i, len(p), tr.g[i], num)
						}
					}
				}
			}
			if bad > 5 {
				t.Errorf("%d more parameters disagree", bad-5)
			}
		})
	}
}

// TestStandardise checks that the training inputs come out centred with
// unit variance (constant inputs: zero) and that prediction standardises
// the same way.
func TestStandardise(t *testing.T) {
	ex := synthExamples(300, 15, "g", 3)
	tr, err := newTrainer(quickConfig(ArchLogReg), ex)
	if err != nil {
		t.Fatalf("newTrainer: %v", err)
	}
	checked := 0
	for i := range featureDim {
		var sum, sq float64
		clipped := false
		for k := range tr.n {
			v := float64(tr.x[k*featureDim+i])
			sum += v
			sq += v * v
			clipped = clipped || math.Abs(v) >= clipZ
		}
		if clipped {
			continue // clipping moves the moments
		}
		mean, variance := sum/float64(tr.n), sq/float64(tr.n)
		if math.Abs(mean) > 1e-4 || (math.Abs(variance-1) > 1e-3 && variance > 1e-9) {
			t.Errorf("input %d: mean %v, variance %v after standardising", i, mean, variance)
		}
		checked++
	}
	if checked < featureDim/2 {
		t.Errorf("only %d of %d inputs unclipped", checked, featureDim)
	}
	// Predict derives and standardises the inputs of an example as
	// training did.
	s := tr.m.newScratch()
	for k := range 5 {
		extract(ex[k].X, ex[k].Mask, s.raw)
		tr.m.standardise(s.z, s.raw)
		for i, v := range s.z {
			if float32(v) != tr.x[k*featureDim+i] {
				t.Fatalf("example %d input %d: %v at prediction, %v in training", k, i, float32(v), tr.x[k*featureDim+i])
			}
		}
	}
}
