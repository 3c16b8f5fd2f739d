package model

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SplitByGroup divides the examples into a training and a test set along
// Example.Group: every group goes whole to one side, so that no capture
// contributes flows to both (flows of one capture share hosts, timing and
// software, and a model tested on them would look better than it is).
//
// The split is stratified as far as whole groups allow: the groups are
// shuffled with the seed and taken into the test set one by one whenever
// that brings the test set's count of every label, summed over labels,
// closer to testFraction of that label's examples. So each class is
// represented on both sides when its examples come from enough groups, and
// the test set holds about testFraction of the examples.
//
// With two or more groups and a fraction strictly between 0 and 1, each
// side gets at least one group. A fraction of 0 or less (or NaN) puts
// everything into train, 1 or more everything into test. The examples keep
// their order within each side. Which groups go to test depends only on
// the groups, labels and seed, not on the order of the examples.
func SplitByGroup(ex []Example, testFraction float64, seed uint64) (train, test []Example) {
	switch {
	case !(testFraction > 0):
		return slices.Clone(ex), nil
	case testFraction >= 1:
		return nil, slices.Clone(ex)
	}
	labels := classCounts(ex)
	class := make(map[string]int, len(labels))
	for i, c := range labels {
		class[c.Name] = i
	}
	// Per group, its examples of each class (sparse: class index, count).
	type count struct{ class, n int }
	byGroup := map[string][]count{}
	var groups []string
	for i := range ex {
		g, c := ex[i].Group, class[ex[i].Label]
		cs, ok := byGroup[g]
		if !ok {
			groups = append(groups, g)
		}
		j := slices.IndexFunc(cs, func(x count) bool { return x.class == c })
		if j < 0 {
			cs = append(cs, count{c, 0})
			j = len(cs) - 1
		}
		cs[j].n++
		byGroup[g] = cs
	}
	slices.Sort(groups) // independent of the examples' order
	rng := rand.New(rand.NewPCG(seed, pcgStream))
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })

	have := make([]float64, len(labels)) // test examples per class
	inTest := map[string]bool{}
	for _, g := range groups {
		var delta float64 // change of Σ|have-target| if g is taken
		for _, c := range byGroup[g] {
			target := testFraction * float64(labels[c.class].N)
			delta += math.Abs(have[c.class]+float64(c.n)-target) - math.Abs(have[c.class]-target)
		}
		if delta < 0 {
			inTest[g] = true
			for _, c := range byGroup[g] {
				have[c.class] += float64(c.n)
			}
		}
	}
	if len(groups) >= 2 {
		switch len(inTest) {
		case 0: // every group overshoots the target
			inTest[groups[0]] = true
		case len(groups):
			delete(inTest, groups[len(groups)-1])
		}
	}
	for i := range ex {
		if inTest[ex[i].Group] {
			test = append(test, ex[i])
		} else {
			train = append(train, ex[i])
		}
	}
	return train, test
}
