package dataset

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
)

// groupKey identifies a group; fields of keys not grouped by stay zero.
type groupKey struct {
	key      uint32 // epoch key of host, src and dst (interned)
	host     netip.Addr
	proto    label.Protocol
	src, dst netip.Addr
	window   int64 // bucket start, ns
}

// cellKey is the unit of the k-threshold in an aggregates dataset: the flows
// of one label within one group.
type cellKey struct {
	g     groupKey
	label label.Protocol
}

// aggFlow is what an aggregates dataset keeps of a selected flow.
type aggFlow struct {
	cell       cellKey
	unit       hostID
	dst        netip.Addr
	start, end int64
	pk, by     [2]uint64
	digest     uint32
}

// groupOf returns the group key of r under mask.
func groupOf(sp *spec, key uint32, r *flow.Record) groupKey {
	var g groupKey
	if sp.mask&(maskHost|maskPair) != 0 {
		g.key = key
	}
	if sp.mask&maskHost != 0 {
		g.host = r.Key.SrcAddr()
	}
	if sp.mask&maskProtocol != 0 {
		g.proto = r.Label.Protocol
	}
	if sp.mask&maskPair != 0 {
		g.src, g.dst = r.Key.SrcAddr(), r.Key.DstAddr()
	}
	if sp.mask&maskWindow != 0 {
		w := int64(sp.window)
		b := r.Start / w * w
		if b > r.Start { // floor for times before 1970
			b -= w
		}
		g.window = b
	}
	return g
}

// groupOrder compares groups in canonical order: key ID name, host,
// protocol name, source, destination, window.
func groupOrder(keys *interner) func(a, b groupKey) int {
	return func(a, b groupKey) int {
		if a.key != b.key {
			if c := strings.Compare(keys.names[a.key], keys.names[b.key]); c != 0 {
				return c
			}
		}
		if c := a.host.Compare(b.host); c != 0 {
			return c
		}
		if a.proto != b.proto {
			if c := strings.Compare(a.proto.String(), b.proto.String()); c != 0 {
				return c
			}
		}
		if c := a.src.Compare(b.src); c != 0 {
			return c
		}
		if c := a.dst.Compare(b.dst); c != 0 {
			return c
		}
		return cmp.Compare(a.window, b.window)
	}
}

// The DP queries, in the order of the manifest and of the noise draws.
const (
	qFlows = iota
	qHosts
	qCounterparts
	qOrigPackets
	qRespPackets
	qOrigBytes
	qRespBytes
	qDuration
	numQueries
)

var queryNames = [numQueries]string{"flows", "hosts", "counterparts", "orig_packets", "resp_packets", "orig_bytes", "resp_bytes", "duration_us"}

// groupAcc accumulates a released group.
type groupAcc struct {
	key      groupKey
	labels   map[label.Protocol]uint64
	pk, by   [2]uint64
	durs     []int64
	durSumUS uint64 // DP: clamped durations in microseconds
}

// buildAggregates builds an aggregates dataset. The cells of the
// k-threshold are the (group, label) pairs.
func buildAggregates(sp *spec, rows iter.Seq[Row]) (*result, error) {
	rc := newRowChecker(sp)
	var keys, digests interner
	var flows []aggFlow
	months := map[string]bool{}
	for row := range rows {
		ok, err := rc.check(row)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		r := row.Flow
		key := keys.id(r.KeyID)
		f := aggFlow{
			cell:   cellKey{groupOf(sp, key, r), r.Label.Protocol},
			unit:   hostID{key, r.Key.SrcAddr()},
			dst:    r.Key.DstAddr(),
			start:  r.Start,
			end:    r.End,
			pk:     [2]uint64{r.Orig.Packets, r.Resp.Packets},
			by:     [2]uint64{r.Orig.IPBytes, r.Resp.IPBytes},
			digest: digests.id(r.ConfigDigest),
		}
		flows = append(flows, f)
		if sp.dp != nil {
			months[time.Unix(0, r.Start).UTC().Format("2006-01")] = true
		}
	}
	if len(flows) == 0 {
		return nil, rc.emptyErr()
	}
	gcmp := groupOrder(&keys)
	ccmp := func(a, b cellKey) int {
		if c := gcmp(a.g, b.g); c != 0 {
			return c
		}
		return strings.Compare(a.label.String(), b.label.String())
	}
	var period string
	if sp.dp != nil {
		if len(months) > 1 {
			ms := slices.Sorted(func(yield func(string) bool) {
				for m := range months {
					if !yield(m) {
						return
					}
				}
			})
			return nil, specErr("a DP dataset must lie within one calendar month (UTC); the selection spans %s to %s: narrow its time range (from, to)",
				ms[0], ms[len(ms)-1])
		}
		for m := range months {
			period = m
		}
		flows = boundContributions(flows, sp.dp.MaxContrib, ccmp)
	}

	// The k-threshold, on the flows that will be counted.
	cells := newHostCounter[cellKey]()
	all := newHostCounter[struct{}]()
	for i := range flows {
		cells.add(flows[i].cell, flows[i].unit)
		all.add(struct{}{}, flows[i].unit)
	}
	released := map[cellKey]bool{}
	suppressed := 0
	for c := range cells.best {
		if cells.hosts(c) >= sp.k {
			released[c] = true
		} else {
			suppressed++
		}
	}
	if len(released) == 0 {
		return nil, belowKErr(sp.k, all.hosts(struct{}{}), suppressed, "cells (group and label)")
	}

	// Group figures over released cells only.
	groups := map[groupKey]*groupAcc{}
	srcs, dsts := newHostCounter[groupKey](), newHostCounter[groupKey]()
	usedKeys, usedDigests := map[uint32]bool{}, map[uint32]bool{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range flows {
		f := &flows[i]
		if !released[f.cell] {
			continue
		}
		g := groups[f.cell.g]
		if g == nil {
			g = &groupAcc{key: f.cell.g, labels: map[label.Protocol]uint64{}}
			groups[f.cell.g] = g
		}
		g.labels[f.cell.label]++
		srcs.add(f.cell.g, f.unit)
		dsts.add(f.cell.g, hostID{f.unit.key, f.dst})
		usedKeys[f.unit.key], usedDigests[f.digest] = true, true
		first, last = min(first, f.start), max(last, f.end)
		dur := f.end - f.start
		if d := sp.dp; d != nil {
			for j := range 2 {
				g.pk[j] += min(f.pk[j], d.MaxPackets)
				g.by[j] += min(f.by[j], d.MaxBytes)
			}
			g.durSumUS += uint64(min(dur, int64(d.MaxDuration)) / 1e3)
		} else {
			for j := range 2 {
				g.pk[j] += f.pk[j]
				g.by[j] += f.by[j]
			}
			g.durs = append(g.durs, dur)
		}
	}
	order := make([]*groupAcc, 0, len(groups))
	for _, g := range groups {
		order = append(order, g)
	}
	slices.SortFunc(order, func(a, b *groupAcc) int { return gcmp(a.key, b.key) })

	res := &result{
		records:    len(order),
		keyIDs:     keys.sortedNames(usedKeys),
		digests:    digests.sortedNames(usedDigests),
		suppressed: suppressed,
		timeRange:  TimeRange{From: time.Unix(0, first).UTC(), To: time.Unix(0, last).UTC()},
	}
	var nz *[numQueries]*noise
	if sp.dp != nil {
		var err error
		nz, res.dp, err = calibrate(sp, len(keys.names))
		if err != nil {
			return nil, err
		}
		res.dp.Period = period
		res.dp.Family = family(sp)
		res.timeRange = periodRange(sp, period)
		res.charge = &Charge{Family: res.dp.Family, Period: period, Epsilon: sp.dp.Epsilon, Budget: sp.dp.Budget}
	}
	content := appendHeader(nil, KindAggregates)
	totals := map[label.Protocol]uint64{}
	var a Aggregate
	for _, g := range order {
		a = Aggregate{}
		if sp.mask&(maskHost|maskPair) != 0 {
			a.KeyID = keys.names[g.key.key]
		}
		a.Host, a.Src, a.Dst = g.key.host, g.key.src, g.key.dst
		if sp.mask&maskProtocol != 0 {
			a.Protocol = g.key.proto.String()
		}
		if sp.mask&maskWindow != 0 {
			a.Window = time.Unix(0, g.key.window).UTC()
		}
		labels := make([]label.Protocol, 0, len(g.labels))
		for p := range g.labels {
			labels = append(labels, p)
		}
		slices.SortFunc(labels, func(x, y label.Protocol) int { return strings.Compare(x.String(), y.String()) })
		hosts, counterparts := uint64(srcs.hosts(g.key)), uint64(dsts.hosts(g.key))
		for _, p := range labels {
			n := g.labels[p]
			if nz != nil {
				n = nz[qFlows].add(n)
			}
			a.Labels = append(a.Labels, LabelCount{Label: p.String(), Count: n})
			a.Flows += n
			totals[p] += n
		}
		if nz != nil {
			a.Hosts = nz[qHosts].add(hosts)
			a.Counterparts = nz[qCounterparts].add(counterparts)
			a.OrigPackets = nz[qOrigPackets].add(g.pk[0])
			a.RespPackets = nz[qRespPackets].add(g.pk[1])
			a.OrigBytes = nz[qOrigBytes].add(g.by[0])
			a.RespBytes = nz[qRespBytes].add(g.by[1])
			sum := nz[qDuration].add(g.durSumUS)
			if a.Flows > 0 {
				a.DurationMean = mulDivDuration(sum, 1e3, a.Flows)
			}
			if err := nz[0].s.err; err != nil {
				return nil, fmt.Errorf("drawing noise: %w", err)
			}
		} else {
			a.Hosts, a.Counterparts = hosts, counterparts
			a.OrigPackets, a.RespPackets, a.OrigBytes, a.RespBytes = g.pk[0], g.pk[1], g.by[0], g.by[1]
			a.DurationMin, a.DurationP50, a.DurationP90, a.DurationMax, a.DurationMean = durationStats(g.durs)
		}
		content = appendAggregate(content, sp.mask, &a)
	}
	res.content = content
	res.labels = labelCounts(totals)
	return res, nil
}

// boundContributions keeps at most maxContrib flows of each unit (source
// host under one key), taken round-robin over the unit's cells in canonical
// order so that the unit counts in as many cells as it can. Within a cell a
// unit's flows are taken in order of start, end, destination and counts, so
// the choice does not depend on the order of the rows.
func boundContributions(flows []aggFlow, maxContrib int, ccmp func(a, b cellKey) int) []aggFlow {
	units := map[hostID][]int{}
	for i := range flows {
		units[flows[i].unit] = append(units[flows[i].unit], i)
	}
	keep := make([]bool, len(flows))
	for _, idx := range units {
		if len(idx) <= maxContrib {
			for _, i := range idx {
				keep[i] = true
			}
			continue
		}
		slices.SortFunc(idx, func(x, y int) int {
			a, b := &flows[x], &flows[y]
			if c := ccmp(a.cell, b.cell); c != 0 {
				return c
			}
			return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end), a.dst.Compare(b.dst),
				cmp.Compare(a.pk[0], b.pk[0]), cmp.Compare(a.pk[1], b.pk[1]),
				cmp.Compare(a.by[0], b.by[0]), cmp.Compare(a.by[1], b.by[1]))
		})
		var buckets [][]int
		for j, i := range idx {
			if j == 0 || flows[idx[j-1]].cell != flows[i].cell {
				buckets = append(buckets, nil)
			}
			buckets[len(buckets)-1] = append(buckets[len(buckets)-1], i)
		}
		taken := 0
		for round := 0; taken < maxContrib; round++ {
			for _, b := range buckets {
				if round < len(b) && taken < maxContrib {
					keep[b[round]] = true
					taken++
				}
			}
		}
	}
	out := flows[:0]
	for i := range flows {
		if keep[i] {
			out = append(out, flows[i])
		}
	}
	return out
}

// calibrate sets up the noise of the DP queries. units is the number of key
// epochs of the selection: a host may appear as one unit per epoch.
func calibrate(sp *spec, units int) (*[numQueries]*noise, *DPApplied, error) {
	d := sp.dp
	durUS := max(uint64(d.MaxDuration/time.Microsecond), 1)
	base := float64(d.MaxContrib) * float64(units)
	l1 := [numQueries]float64{
		qFlows: base, qHosts: base, qCounterparts: base,
		qOrigPackets: base * float64(d.MaxPackets), qRespPackets: base * float64(d.MaxPackets),
		qOrigBytes: base * float64(d.MaxBytes), qRespBytes: base * float64(d.MaxBytes),
		qDuration: base * float64(durUS),
	}
	app := &DPApplied{
		Mechanism: d.Mechanism, Epsilon: d.Epsilon, Delta: d.Delta, MaxContrib: d.MaxContrib, KeyUnits: units,
		MaxPackets: d.MaxPackets, MaxBytes: d.MaxBytes, MaxDuration: Duration(d.MaxDuration), Budget: d.Budget,
	}
	s := newSampler(sp.rand)
	var nz [numQueries]*noise
	var rho float64
	if d.Mechanism == MechGaussian {
		// (epsilon, delta)-DP from rho-zCDP: epsilon = rho + 2 sqrt(rho
		// ln(1/delta)) (Bun and Steinke 2016), solved for rho.
		l := math.Log(1 / d.Delta)
		rho = math.Pow(math.Sqrt(l+d.Epsilon)-math.Sqrt(l), 2)
		app.Rho = rho
	}
	for q := range numQueries {
		var err error
		sens := l1[q]
		if d.Mechanism == MechLaplace {
			nz[q], err = s.laplaceNoise(sens * numQueries / d.Epsilon)
		} else {
			if q == qHosts {
				// A unit changes each of at most base cells by one.
				sens = math.Sqrt(base)
			}
			// sigma^2 = sens^2 / (2 rho_q), rho_q = rho / numQueries.
			nz[q], err = s.gaussianNoise(sens * sens * numQueries / (2 * rho))
		}
		if err != nil {
			return nil, nil, err
		}
		app.Queries = append(app.Queries, DPQuery{Name: queryNames[q], Sensitivity: sens, Scale: nz[q].param()})
	}
	return &nz, app, nil
}

// family names the ledger family of a spec: kind, group-by and labels.
func family(sp *spec) string {
	gb, ls := "none", "all"
	if len(sp.groupBy) > 0 {
		gb = strings.Join(sp.groupBy, ",")
	}
	if sp.labels != nil {
		ls = strings.Join(sp.labels, ",")
	}
	return fmt.Sprintf("%s|group_by=%s|labels=%s", sp.kind, gb, ls)
}

// periodRange returns the calendar month period ("2006-01") narrowed to the
// selection.
func periodRange(sp *spec, period string) TimeRange {
	start, _ := time.Parse("2006-01", period)
	tr := TimeRange{From: start.UTC(), To: start.AddDate(0, 1, 0).UTC()}
	if !sp.from.IsZero() && sp.from.After(tr.From) {
		tr.From = sp.from
	}
	if !sp.to.IsZero() && sp.to.Before(tr.To) {
		tr.To = sp.to
	}
	return tr
}

// durationStats returns the minimum, median, 90th percentile (nearest rank),
// maximum and mean of ds, which it sorts.
func durationStats(ds []int64) (minD, p50, p90, maxD, mean time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	rank := func(p int) time.Duration { return time.Duration(ds[(p*len(ds)+99)/100-1]) }
	var hi, lo uint64
	for _, d := range ds {
		var c uint64
		lo, c = bits.Add64(lo, uint64(d), 0)
		hi += c
	}
	q, _ := bits.Div64(hi, lo, uint64(len(ds)))
	return time.Duration(ds[0]), rank(50), rank(90), time.Duration(ds[len(ds)-1]), time.Duration(q)
}

// mulDivDuration returns v*m/n as a Duration, saturating.
func mulDivDuration(v, m, n uint64) time.Duration {
	hi, lo := bits.Mul64(v, m)
	if hi >= n {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, n)
	return time.Duration(min(q, math.MaxInt64))
}
