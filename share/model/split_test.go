package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// grouped returns examples of groups with the given sizes, all of label
// "a"; X holds each example's index, so order and identity can be checked.
func grouped(sizes ...int) []Example {
	var out []Example
	for g, n := range sizes {
		for range n {
			out = append(out, Example{Group: fmt.Sprintf("cap%02d.pcap", g), Label: "a", X: []float32{float32(len(out))}})
		}
	}
	return out
}

// checkSplit verifies the invariants of a split of ex: each group whole on
// one side, every example exactly once, the input order kept on each side.
func checkSplit(t *testing.T, ex, train, test []Example) {
	t.Helper()
	side := map[string]string{}
	seen := map[float32]bool{}
	for name, part := range map[string][]Example{"train": train, "test": test} {
		last := float32(-1)
		for _, e := range part {
			if s, ok := side[e.Group]; ok && s != name {
				t.Fatalf("group %s is in both train and test", e.Group)
			}
			side[e.Group] = name
			i := e.X[0]
			if i <= last || seen[i] {
				t.Fatalf("%s is out of input order at example %v", name, i)
			}
			seen[i] = true
			last = i
		}
	}
	if len(train)+len(test) != len(ex) {
		t.Fatalf("split of %d examples gave %d + %d", len(ex), len(train), len(test))
	}
}

// randomGroups draws up to 30 groups of up to 40 examples (a few of 200
// more) and shuffles their examples. With classes > 1, each group holds
// one class (when pure) or a random mix; it returns the largest group size
// per class.
func randomGroups(rng *rand.Rand, classes int, pure bool) (ex []Example, largest map[string]int) {
	largest = map[string]int{}
	for g := range 1 + rng.IntN(30) {
		n := 1 + rng.IntN(40)
		if rng.IntN(8) == 0 {
			n += 200
		}
		c := rng.IntN(classes)
		in := map[string]bool{}
		for range n {
			if !pure {
				c = rng.IntN(classes)
			}
			l := string(rune('a' + c))
			in[l] = true
			ex = append(ex, Example{Group: fmt.Sprintf("cap%02d", g), Label: l})
		}
		for l := range in {
			largest[l] = max(largest[l], n)
		}
	}
	rng.Shuffle(len(ex), func(i, j int) { ex[i], ex[j] = ex[j], ex[i] })
	for i := range ex {
		ex[i].X = []float32{float32(i)}
	}
	return ex, largest
}

func TestSplitByGroup(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		classes := 1 + trial%4
		pure := trial%3 != 0
		ex, largest := randomGroups(rng, classes, pure)
		frac := []float64{0.1, 0.25, 0.3, 0.5, 0.9}[trial%5]
		seed := uint64(trial)
		train, test := SplitByGroup(ex, frac, seed)
		checkSplit(t, ex, train, test)

		groups := len(groupSet(ex))
		if groups >= 2 && (len(train) == 0 || len(test) == 0) {
			t.Fatalf("trial %d: %d groups gave an empty side (%d train, %d test)", trial, groups, len(train), len(test))
		}
		// With one class per group, each class is off its target by at
		// most its largest group (or the split is forced to one group).
		if pure && groups >= 2 {
			for _, c := range classCounts(ex) {
				n := 0
				for _, e := range test {
					if e.Label == c.Name {
						n++
					}
				}
				if d := math.Abs(float64(n) - frac*float64(c.N)); d > float64(largest[c.Name]) && len(groupSet(test)) > 1 {
					t.Errorf("trial %d: class %s has %d test examples for target %.1f (largest group %d)",
						trial, c.Name, n, frac*float64(c.N), largest[c.Name])
				}
			}
		}

		// Deterministic, and independent of the examples' order.
		train2, test2 := SplitByGroup(ex, frac, seed)
		if !slices.EqualFunc(test, test2, sameExample) || !slices.EqualFunc(train, train2, sameExample) {
			t.Fatalf("trial %d: two calls with seed %d differ", trial, seed)
		}
		rev := slices.Clone(ex)
		slices.Reverse(rev)
		_, test3 := SplitByGroup(rev, frac, seed)
		if !slices.Equal(groupSet(test), groupSet(test3)) {
			t.Fatalf("trial %d: reversing the input changed the test groups: %v vs %v", trial, groupSet(test), groupSet(test3))
		}
	}
}

// TestSplitByGroupStratifies puts a rare class in a few small groups beside
// a frequent one in many: an unstratified split by size would often leave
// the rare class out of the test set or the training set.
func TestSplitByGroupStratifies(t *testing.T) {
	var sizes []int
	for range 12 {
		sizes = append(sizes, 10)
	}
	sizes = append(sizes, 3, 3, 3, 3)
	ex := grouped(sizes...)
	for i := range ex {
		if i >= 120 {
			ex[i].Label = "rare"
		}
	}
	for seed := range uint64(50) {
		train, test := SplitByGroup(ex, 0.25, seed)
		checkSplit(t, ex, train, test)
		n := 0
		for _, e := range test {
			if e.Label == "rare" {
				n++
			}
		}
		if n != 3 || len(test) != 33 {
			t.Errorf("seed %d: %d test examples, %d of them rare; want 33 and 3", seed, len(test), n)
		}
	}
}

func sameExample(a, b Example) bool { return a.Group == b.Group && a.X[0] == b.X[0] }

func groupSet(ex []Example) []string {
	var g []string
	for _, e := range ex {
		g = append(g, e.Group)
	}
	slices.Sort(g)
	return slices.Compact(g)
}

func TestSplitByGroupSeeds(t *testing.T) {
	ex := grouped(5, 5, 5, 5, 5, 5, 5, 5, 5, 5)
	seen := map[string]bool{}
	for seed := range uint64(20) {
		_, test := SplitByGroup(ex, 0.3, seed)
		if len(test) != 15 {
			t.Errorf("seed %d: %d test examples of 50 at 0.3 with equal groups of 5, want 15", seed, len(test))
		}
		seen[fmt.Sprint(groupSet(test))] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 seeds gave only %d different test sets", len(seen))
	}
}

func TestSplitByGroupEdges(t *testing.T) {
	ex := grouped(3, 4, 5)
	for _, tt := range []struct {
		frac float64
		test int // -1: any, but both sides used
	}{
		{0, 0}, {-1, 0}, {math.NaN(), 0}, {1, 12}, {2, 12},
		{0.01, -1}, // the smallest share still takes one group
		{0.99, -1}, // and the largest leaves one
	} {
		train, test := SplitByGroup(ex, tt.frac, 1)
		checkSplit(t, ex, train, test)
		switch {
		case tt.test >= 0 && len(test) != tt.test:
			t.Errorf("SplitByGroup(%v) = %d train, %d test; want %d test", tt.frac, len(train), len(test), tt.test)
		case tt.test < 0 && (len(train) == 0 || len(test) == 0):
			t.Errorf("SplitByGroup(%v) = %d train, %d test; want both sides used", tt.frac, len(train), len(test))
		}
	}
	one := grouped(10)
	if train, test := SplitByGroup(one, 0.5, 1); len(train)+len(test) != 10 || (len(train) != 0 && len(test) != 0) {
		t.Errorf("one group split into %d and %d", len(train), len(test))
	}
	if train, test := SplitByGroup(nil, 0.5, 1); len(train) != 0 || len(test) != 0 {
		t.Errorf("SplitByGroup(nil) = %v, %v", train, test)
	}
}
