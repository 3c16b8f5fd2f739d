package dataset

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
)

// Row is one stored flow offered to Build.
type Row struct {
	// Source names the capture (ingest id or file name) the flow came
	// from; it is kept per record so that models can split by capture.
	Source string
	// Flow is the flow with pseudonymized addresses: Flow.KeyID names the
	// epoch key, Flow.ConfigDigest the flow-meter settings. Its label
	// evidence is never read.
	Flow *flow.Record
}

// Built is a dataset ready to be stored: its manifest, its content and the
// content cut into chunks (which share Content's memory).
type Built struct {
	Manifest Manifest
	Content  []byte
	Chunks   []Chunk
	// Charge is non-nil when DP was applied: what the epsilon ledger must
	// be charged (see CheckBudget).
	Charge *Charge
}

// result is what the kind-specific builders hand to finish.
type result struct {
	content    []byte
	records    int
	labels     []LabelCount
	keyIDs     []string
	digests    []string
	timeRange  TimeRange
	suppressed int
	dp         *DPApplied
	charge     *Charge
}

// Build builds a dataset from rows under spec. It reads every row once,
// keeps the flows the selection picks, applies the privacy gates (the
// k-threshold, then DP if asked for) and returns the dataset, or an error
// and nothing: ErrSpec for a bad spec or row, ErrRawAddresses for a flow
// without key ID, ErrEmpty when nothing is selected, ErrBelowK when the
// k-threshold releases nothing. Build does not consult the epsilon ledger:
// the caller charges Built.Charge with CheckBudget.
func Build(spec Spec, rows iter.Seq[Row]) (*Built, error) {
	sp, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	var res *result
	if sp.kind == KindFlows {
		res, err = buildFlows(sp, rows)
	} else {
		res, err = buildAggregates(sp, rows)
	}
	if err != nil {
		return nil, err
	}
	chunks, refs := chunk(res.content)
	m := Manifest{
		Schema:        SchemaVersion,
		Kind:          sp.kind,
		GroupBy:       sp.groupBy,
		Window:        Duration(sp.window),
		FlowSettings:  sp.settings,
		ConfigDigests: res.digests,
		KeyIDs:        res.keyIDs,
		Domain:        sp.domain,
		Minimised:     sp.minimised,
		Selection:     Selection{From: sp.from, To: sp.to, Labels: sp.labels},
		TimeRange:     res.timeRange,
		Labels:        res.labels,
		Records:       res.records,
		K:             sp.k,
		Suppressed:    res.suppressed,
		DP:            res.dp,
		Chunks:        refs,
		Size:          int64(len(res.content)),
		Usage:         sp.usage,
	}
	if sp.kind == KindFlows {
		m.Features = &FeatureSchema{Steps: Steps, Names: slices.Clone(FeatureNames)}
	}
	m.ID = m.computeID()
	// The manifest must pass the checks its recipients make.
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("building manifest: %w", err)
	}
	return &Built{Manifest: m, Content: res.content, Chunks: chunks, Charge: res.charge}, nil
}

// interner numbers strings in the order first seen.
type interner struct {
	ids   map[string]uint32
	names []string
}

func (in *interner) id(s string) uint32 {
	if in.ids == nil {
		in.ids = map[string]uint32{}
	}
	if i, ok := in.ids[s]; ok {
		return i
	}
	i := uint32(len(in.names))
	in.ids[s] = i
	in.names = append(in.names, s)
	return i
}

// sortedNames returns the names of the ids set in used, sorted.
func (in *interner) sortedNames(used map[uint32]bool) []string {
	out := make([]string, 0, len(used))
	for i := range used {
		out = append(out, in.names[i])
	}
	slices.Sort(out)
	return out
}

// hostID is a source host: a pseudonym under one epoch key.
type hostID struct {
	key  uint32
	addr netip.Addr
}

// hostCounter counts distinct hosts per cell. Hosts are told apart by their
// pseudonym under one key; a cell's count is the largest over the keys of
// its flows, a lower bound of its real hosts, since one host has a pseudonym
// per key epoch.
type hostCounter[C comparable] struct {
	seen  map[cellHost[C]]struct{}
	count map[cellKeyOf[C]]int
	best  map[C]int
}

type cellHost[C comparable] struct {
	cell C
	host hostID
}

type cellKeyOf[C comparable] struct {
	cell C
	key  uint32
}

func newHostCounter[C comparable]() *hostCounter[C] {
	return &hostCounter[C]{seen: map[cellHost[C]]struct{}{}, count: map[cellKeyOf[C]]int{}, best: map[C]int{}}
}

func (h *hostCounter[C]) add(c C, host hostID) {
	k := cellHost[C]{c, host}
	if _, ok := h.seen[k]; ok {
		return
	}
	h.seen[k] = struct{}{}
	ck := cellKeyOf[C]{c, host.key}
	h.count[ck]++
	if n := h.count[ck]; n > h.best[c] {
		h.best[c] = n
	}
}

// hosts returns the distinct hosts of cell c.
func (h *hostCounter[C]) hosts(c C) int { return h.best[c] }

// rowChecker validates rows and applies the selection.
type rowChecker struct {
	sp   *spec
	n    int // rows seen
	from int64
	to   int64
}

func newRowChecker(sp *spec) *rowChecker {
	rc := &rowChecker{sp: sp, from: -1 << 63, to: 1<<63 - 1}
	if !sp.from.IsZero() {
		rc.from = sp.from.UnixNano()
	}
	if !sp.to.IsZero() {
		rc.to = sp.to.UnixNano()
	}
	return rc
}

// check validates the row and reports whether the selection keeps it.
func (rc *rowChecker) check(row Row) (bool, error) {
	rc.n++
	r := row.Flow
	if r == nil {
		return false, specErr("row %d has no flow", rc.n)
	}
	if r.KeyID == "" {
		return false, fmt.Errorf("%w: row %d (source %q) has no key ID: its addresses were never pseudonymized", ErrRawAddresses, rc.n, row.Source)
	}
	switch {
	case !printable(r.KeyID, maxKeyIDLen):
		return false, specErr("row %d: key ID is not printable text of at most %d bytes", rc.n, maxKeyIDLen)
	case !printable(row.Source, maxSourceLen):
		return false, specErr("row %d: source is not printable UTF-8 of at most %d bytes", rc.n, maxSourceLen)
	case !printable(r.ConfigDigest, maxKeyIDLen):
		return false, specErr("row %d: config digest is not printable text", rc.n)
	case !printable(r.ConnState, maxStateLen) || !printable(r.History, maxStateLen):
		return false, specErr("row %d: conn_state or history is not printable text", rc.n)
	case r.End < r.Start:
		return false, specErr("row %d: flow ends before it starts", rc.n)
	case int(r.Label.Source) >= len(labelSources):
		return false, specErr("row %d: label source %d", rc.n, r.Label.Source)
	}
	if _, err := r.Label.Protocol.MarshalText(); err != nil {
		return false, specErr("row %d: label %v is not a protocol", rc.n, r.Label.Protocol)
	}
	if r.Start < rc.from || r.Start >= rc.to {
		return false, nil
	}
	if rc.sp.labelSet != nil && !rc.sp.labelSet[r.Label.Protocol] {
		return false, nil
	}
	return true, nil
}

// emptyErr explains an empty selection.
func (rc *rowChecker) emptyErr() error {
	if rc.n == 0 {
		return fmt.Errorf("%w: no flows were offered: nothing released", ErrEmpty)
	}
	var sel []string
	if !rc.sp.from.IsZero() {
		sel = append(sel, "from "+rc.sp.from.Format(time.RFC3339))
	}
	if !rc.sp.to.IsZero() {
		sel = append(sel, "to "+rc.sp.to.Format(time.RFC3339))
	}
	if rc.sp.labels != nil {
		sel = append(sel, "labels "+strings.Join(rc.sp.labels, ","))
	}
	return fmt.Errorf("%w: none of the %d flows offered matches the selection (%s): nothing released",
		ErrEmpty, rc.n, strings.Join(sel, ", "))
}

// belowKErr explains a k-threshold that released nothing.
func belowKErr(k, population, cells int, what string) error {
	if population < k {
		return fmt.Errorf("%w: the selection covers %d distinct source hosts, fewer than k=%d: nothing released",
			ErrBelowK, population, k)
	}
	return fmt.Errorf("%w: each of the %d %s covers fewer than k=%d distinct source hosts (the selection covers %d): nothing released",
		ErrBelowK, cells, what, k, population)
}

// slabSize is the size of the blocks encoded records are kept in until they
// are sorted; blocks spare the copying of one growing buffer.
const slabSize = 1 << 20

// slab holds encoded records in blocks that never grow.
type slab struct{ blocks [][]byte }

// reserve returns the current block with room for n more bytes.
func (s *slab) reserve(n int) int {
	if k := len(s.blocks); k > 0 && cap(s.blocks[k-1])-len(s.blocks[k-1]) >= n {
		return k - 1
	}
	s.blocks = append(s.blocks, make([]byte, 0, max(slabSize, n)))
	return len(s.blocks) - 1
}

// maxFlowLen bounds the encoded size of a flows record.
func maxFlowLen(source string, r *flow.Record) int {
	const fixed = 2*binary.MaxVarintLen64 + 3 + 2*34 + 4 + 1 + 8*binary.MaxVarintLen64 + 4*binary.MaxVarintLen64 + 2
	const step = 2 + 3 + 3 + 5
	return fixed + len(source) + len(r.Label.Protocol.String()) + len(r.KeyID) + len(r.ConnState) + len(r.History) +
		min(len(r.Seq), Steps)*step
}

// flowMeta locates one encoded flows record in the slab.
type flowMeta struct {
	block      int
	off, n     int
	start, end int64
	label      label.Protocol
	key        uint32
	digest     uint32
}

// buildFlows builds a flows dataset. The cells of the k-threshold are the
// label classes: the records of one protocol label.
func buildFlows(sp *spec, rows iter.Seq[Row]) (*result, error) {
	rc := newRowChecker(sp)
	var keys, digests interner
	var arena slab
	var metas []flowMeta
	cells := newHostCounter[label.Protocol]()
	all := newHostCounter[struct{}]()
	for row := range rows {
		ok, err := rc.check(row)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		r := row.Flow
		bi := arena.reserve(maxFlowLen(row.Source, r))
		blk := arena.blocks[bi]
		off := len(blk)
		blk = appendFlow(blk, row.Source, r)
		arena.blocks[bi] = blk
		m := flowMeta{block: bi, off: off, n: len(blk) - off, start: r.Start, end: r.End, label: r.Label.Protocol,
			key: keys.id(r.KeyID), digest: digests.id(r.ConfigDigest)}
		metas = append(metas, m)
		h := hostID{m.key, r.Key.SrcAddr()}
		cells.add(m.label, h)
		all.add(struct{}{}, h)
	}
	if len(metas) == 0 {
		return nil, rc.emptyErr()
	}
	released := map[label.Protocol]bool{}
	suppressed := 0
	for p := range cells.best {
		if cells.hosts(p) >= sp.k {
			released[p] = true
		} else {
			suppressed++
		}
	}
	if len(released) == 0 {
		return nil, belowKErr(sp.k, all.hosts(struct{}{}), suppressed, "label classes")
	}
	// Totals are taken over released records only (see the package
	// documentation): a suppressed class adds to no published number.
	kept := metas[:0]
	for _, m := range metas {
		if released[m.label] {
			kept = append(kept, m)
		}
	}
	rec := func(m flowMeta) []byte { return arena.blocks[m.block][m.off : m.off+m.n] }
	slices.SortFunc(kept, func(a, b flowMeta) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return bytes.Compare(rec(a), rec(b))
	})
	size := headerLen
	for _, m := range kept {
		size += m.n
	}
	content := appendHeader(make([]byte, 0, size), KindFlows)
	counts := map[label.Protocol]uint64{}
	usedKeys, usedDigests := map[uint32]bool{}, map[uint32]bool{}
	tr := TimeRange{From: time.Unix(0, kept[0].start).UTC()}
	var last int64 = kept[0].end
	for _, m := range kept {
		content = append(content, rec(m)...)
		counts[m.label]++
		usedKeys[m.key], usedDigests[m.digest] = true, true
		last = max(last, m.end)
	}
	tr.To = time.Unix(0, last).UTC()
	return &result{
		content:    content,
		records:    len(kept),
		labels:     labelCounts(counts),
		keyIDs:     keys.sortedNames(usedKeys),
		digests:    digests.sortedNames(usedDigests),
		timeRange:  tr,
		suppressed: suppressed,
	}, nil
}

// labelCounts returns counts by protocol name.
func labelCounts(counts map[label.Protocol]uint64) []LabelCount {
	out := make([]LabelCount, 0, len(counts))
	for p, n := range counts {
		out = append(out, LabelCount{Label: p.String(), Count: n})
	}
	slices.SortFunc(out, func(a, b LabelCount) int { return strings.Compare(a.Label, b.Label) })
	return out
}
