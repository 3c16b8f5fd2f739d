package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/flowfed/flowfed/share/dataset"
)

// pkt is one packet of a synthetic flow.
type pkt struct {
	resp                    bool
	ipLen, payload          int
	iat                     int // µs
	syn, ack, fin, rst, psh bool
}

// tensor writes the packets into a new tensor and mask as dataset.Tensor
// does (steps beyond dataset.Steps are cut).
func tensor(pkts []pkt) (x, mask []float32) {
	x = make([]float32, dataset.Steps*dataset.Features)
	mask = make([]float32, dataset.Steps)
	for i, p := range pkts[:min(len(pkts), dataset.Steps)] {
		row := x[i*dataset.Features : (i+1)*dataset.Features]
		b := func(v bool) float32 {
			if v {
				return 1
			}
			return 0
		}
		row[0] = b(p.resp)
		row[1] = float32(p.ipLen)
		row[2] = float32(p.payload)
		row[3] = float32(p.iat)
		row[4], row[5], row[6], row[7], row[8] = b(p.syn), b(p.ack), b(p.fin), b(p.rst), b(p.psh)
		mask[i] = 1
	}
	return x, mask
}

// The synthetic classes: a DNS-like UDP query and answer, a web-like TCP
// download and an RTP-like stream of equal UDP packets at a steady pace.
var synthClasses = []string{"query", "download", "stream"}

// synthFlow draws the packets of one flow of class c.
func synthFlow(rng *rand.Rand, c int) []pkt {
	udp := func(resp bool, payload, iat int) pkt {
		return pkt{resp: resp, ipLen: payload + 28, payload: payload, iat: iat}
	}
	tcp := func(resp bool, payload, iat int, flags string) pkt {
		p := pkt{resp: resp, ipLen: payload + 52, payload: payload, iat: iat}
		for _, f := range flags {
			switch f {
			case 'S':
				p.syn = true
			case 'A':
				p.ack = true
			case 'F':
				p.fin = true
			case 'R':
				p.rst = true
			case 'P':
				p.psh = true
			}
		}
		return p
	}
	between := func(lo, hi int) int { return lo + rng.IntN(hi-lo+1) }
	switch c {
	case 0: // query
		ps := []pkt{udp(false, between(25, 70), 0), udp(true, between(60, 400), between(500, 80000))}
		if rng.IntN(4) == 0 { // a retry now and then
			ps = append(ps, udp(false, ps[0].payload, between(1e6, 3e6)), udp(true, ps[1].payload, between(500, 80000)))
		}
		return ps
	case 1: // download
		rtt := between(2000, 90000)
		ps := []pkt{tcp(false, 0, 0, "S"), tcp(true, 0, rtt, "SA"), tcp(false, 0, 100, "A"),
			tcp(false, between(150, 700), between(50, 500), "PA")}
		for range between(3, 40) {
			ps = append(ps, tcp(true, between(1000, 1448), between(10, 3000), "A"))
			if rng.IntN(2) == 0 {
				ps = append(ps, tcp(false, 0, between(10, 500), "A"))
			}
		}
		return append(ps, tcp(false, 0, between(100, 9000), "FA"), tcp(true, 0, rtt, "FA"), tcp(false, 0, 50, "A"))
	default: // stream
		size := between(160, 240)
		gap := between(18000, 22000)
		var ps []pkt
		for i := range between(20, 140) {
			iat := gap + between(-800, 800)
			if i == 0 {
				iat = 0
			}
			ps = append(ps, udp(rng.IntN(10) == 0, size, iat))
		}
		return ps
	}
}

// synthExamples draws n examples, the classes in turn, spread over groups
// named by prefix. The flows depend only on seed.
func synthExamples(n int, seed uint64, prefix string, groups int) []Example {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]Example, n)
	for i := range out {
		c := i % len(synthClasses)
		x, mask := tensor(synthFlow(rng, c))
		out[i] = Example{Group: fmt.Sprintf("%s%d", prefix, rng.IntN(groups)), X: x, Mask: mask, Label: synthClasses[c]}
	}
	return out
}

// xorExamples draws two-packet UDP flows, a request from the initiator and a
// reply, each either small or large; the label says whether both are of one
// kind ("same") or not ("mixed"). No linear function of the derived inputs
// tells the classes apart: they form an XOR of the two sizes.
func xorExamples(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 11))
	size := func(large bool) int {
		if large {
			return 700 + rng.IntN(500)
		}
		return 20 + rng.IntN(40)
	}
	out := make([]Example, n)
	for i := range out {
		a, b := rng.IntN(2) == 1, rng.IntN(2) == 1
		pa, pb := size(a), size(b)
		x, mask := tensor([]pkt{
			{ipLen: pa + 28, payload: pa},
			{resp: true, ipLen: pb + 28, payload: pb, iat: 1000 + rng.IntN(1000)},
		})
		l := "mixed"
		if a == b {
			l = "same"
		}
		out[i] = Example{Group: fmt.Sprint(i % 10), X: x, Mask: mask, Label: l}
	}
	return out
}
