package model

import (
	"math"

	"github.com/flowfed/flowfed/share/dataset"
)

// featureVersion names the derivation of model inputs from the sequence
// tensor implemented by extract. A model file records it, and Load refuses
// a model trained on inputs derived differently: standardisation statistics
// and weights are meaningless for other inputs.
const featureVersion = 1

// The layout of the derived inputs: summaryDim statistics over all present
// steps, then stepDim values for each of the first firstK present steps.
const (
	firstK     = 16
	stepDim    = 9
	summaryDim = 32
	featureDim = summaryDim + firstK*stepDim
)

// Offsets of the per-step features of the raw tensor (dataset.FeatureNames).
const (
	fDir = iota
	fIPLen
	fPayload
	fIAT
	fSYN
	fACK
	fFIN
	fRST
	fPSH
)

// maxRaw bounds a raw tensor value before it is used: sizes are at most
// 65535 and gaps at most about 4.2e9 µs, so larger values (and NaN or
// negative ones, read as 0) come only from damaged or hostile data.
const maxRaw = 1e10

// clean returns v as a finite value in [0, maxRaw].
func clean(v float32) float64 {
	f := float64(v)
	switch {
	case !(f > 0): // NaN, zero and negative values
		return 0
	case f > maxRaw:
		return maxRaw
	}
	return f
}

// bit reads a 0/1 tensor value; anything above one half is set.
func bit(v float32) bool { return v > 0.5 }

// moments accumulates count, mean, M2 (Welford) and maximum of a series.
type moments struct {
	n        int
	mean, m2 float64
	max      float64
}

func (m *moments) add(v float64) {
	m.n++
	d := v - m.mean
	m.mean += d / float64(m.n)
	m.m2 += d * (v - m.mean)
	m.max = max(m.max, v)
}

func (m *moments) std() float64 {
	if m.n < 2 {
		return 0
	}
	return math.Sqrt(max(m.m2/float64(m.n), 0))
}

// extract writes the model inputs derived from one flow's raw sequence
// tensor x (dataset.Steps*dataset.Features values) and mask
// (dataset.Steps values) into out (featureDim values). The caller checks
// the lengths. Steps are the positions where mask is above one half, in
// order; a mask need not be a prefix.
//
// Sizes enter as log1p, signed by direction for the per-step values (+ from
// the initiator, − from the responder), gaps as log1p of microseconds, the
// header overhead (IP length less payload) tells the transport and IP
// version apart, and flag bits are kept as they are. The summary holds
// counts, per-direction size statistics, gap statistics, flag frequencies
// and a few shape figures (direction changes, repeated sizes, the first
// payload sizes); see the code for the exact list.
func extract(x, mask []float32, out []float32) {
	clear(out[:featureDim])
	var (
		n, switches, sameSize int
		dirM                  [2]moments // log1p payload per direction
		bytes                 [2]float64 // payload bytes per direction
		zero                  [2]int     // zero-payload packets per direction
		iat                   moments    // log1p gap, steps after the first
		iatSum                float64
		hdr                   moments
		hdrMin                = math.Inf(1)
		flags                 [5]int
		prevDir               = -1
		lastPay               = [2]float64{-1, -1}
		firstPay, firstPayAt  = 0.0, -1
		firstRespPay          = 0.0
	)
	steps := min(len(mask), len(x)/dataset.Features)
	for i := range steps {
		if !bit(mask[i]) {
			continue
		}
		row := x[i*dataset.Features : (i+1)*dataset.Features]
		d := 0
		if bit(row[fDir]) {
			d = 1
		}
		pay := clean(row[fPayload])
		ipLen := clean(row[fIPLen])
		gap := clean(row[fIAT])
		lp := math.Log1p(pay)
		lg := math.Log1p(gap)
		h := min(max(ipLen-pay, 0), 1024)

		dirM[d].add(lp)
		bytes[d] += pay
		if pay == 0 {
			zero[d]++
		}
		if n > 0 {
			iat.add(lg)
			iatSum += gap
		}
		hdr.add(h)
		hdrMin = min(hdrMin, h)
		for j := range flags {
			if bit(row[fSYN+j]) {
				flags[j]++
			}
		}
		if prevDir >= 0 && d != prevDir {
			switches++
		}
		prevDir = d
		if pay > 0 && lastPay[d] == pay {
			sameSize++
		}
		lastPay[d] = pay
		sign := 1.0
		if d == 1 {
			sign = -1
		}
		if pay > 0 && firstPayAt < 0 {
			firstPay, firstPayAt = sign*lp, n
		}
		if pay > 0 && d == 1 && firstRespPay == 0 {
			firstRespPay = lp
		}

		if n < firstK {
			s := out[summaryDim+n*stepDim : summaryDim+(n+1)*stepDim]
			s[0] = 1
			s[1] = float32(sign * lp)
			s[2] = float32(sign)
			s[3] = float32(lg)
			for j := range 5 {
				if bit(row[fSYN+j]) {
					s[4+j] = 1
				}
			}
		}
		n++
	}
	if n == 0 {
		return
	}
	fn := float64(n)
	s := out[:summaryDim]
	s[0] = float32(math.Log1p(fn))
	s[1] = float32(float64(dirM[1].n) / fn)
	for d := range 2 {
		b := s[2+6*d : 8+6*d]
		m := &dirM[d]
		b[0] = float32(math.Log1p(float64(m.n)))
		b[1] = float32(math.Log1p(bytes[d]))
		if m.n > 0 {
			b[2] = float32(m.mean)
			b[3] = float32(m.std())
			b[4] = float32(m.max)
			b[5] = float32(float64(zero[d]) / float64(m.n))
		}
	}
	if iat.n > 0 {
		s[14] = float32(iat.mean)
		s[15] = float32(iat.std())
		s[16] = float32(iat.max)
	}
	s[17] = float32(math.Log1p(iatSum))
	s[18] = float32(hdr.mean)
	s[19] = float32(hdrMin)
	anyFlag := false
	for j, c := range flags {
		s[20+j] = float32(float64(c) / fn)
		anyFlag = anyFlag || c > 0
	}
	if anyFlag {
		s[25] = 1
	}
	if n > 1 {
		s[26] = float32(float64(switches) / float64(n-1))
	}
	s[27] = float32(firstPay)
	s[28] = float32(math.Log1p(float64(max(firstPayAt, 0))))
	if firstPayAt < 0 {
		s[28] = float32(math.Log1p(fn)) // no payload: past the last step
	}
	s[29] = float32(firstRespPay)
	s[30] = float32(math.Log1p(bytes[1]) - math.Log1p(bytes[0]))
	s[31] = float32(float64(sameSize) / fn)
}
