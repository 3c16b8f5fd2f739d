package dataset

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Export formats.
const (
	// FormatCSV is comma-separated values with a header row. Flows: one row
	// per record with its fields, then "steps" (the number of packet
	// steps; the mask is 1 for steps below it) and the tensor flattened
	// as columns x_<step>_<feature> (x_0_dir ... x_127_psh), padding
	// included. Aggregates: one row per group with its key columns, its
	// figures and one label_<name> column per label of the manifest.
	FormatCSV = "csv"
	// FormatCSVStats is FormatCSV for flows without the tensor columns.
	FormatCSVStats = "csv-stats"
	// FormatJSONL is one JSON object per record or group. The tensor of a
	// flow is "x": one array of Features values per present step (padding
	// steps, which are all zero, are left out; "steps" counts the rows).
	FormatJSONL = "jsonl"
	// FormatNPZ is a NumPy .npz archive (flows only): a zip of stored,
	// uncompressed .npy (version 1.0) arrays X float32 (n, Steps, Features),
	// mask float32 (n, Steps), y int64 (n,) indexing label_names, a unicode
	// array of the manifest's labels in order, source (unicode, n) and
	// start_ns int64 (n,). Byte-for-byte deterministic.
	FormatNPZ = "npz"
)

// Export writes the dataset (m and its content) to w in format: FormatCSV,
// FormatCSVStats, FormatJSONL or FormatNPZ. It decodes the whole content
// before writing anything, so content that does not decode (ErrBadContent)
// leaves w untouched. An unknown format, or NPZ for an aggregates dataset,
// is refused with ErrFormat. Text fields are written as they are stored;
// recipients that open CSV in a spreadsheet should treat them as text.
func Export(w io.Writer, m Manifest, content []byte, format string) error {
	switch format {
	case FormatCSV, FormatCSVStats, FormatJSONL, FormatNPZ:
	default:
		return fmt.Errorf("%w: %q (want %s, %s, %s or %s)", ErrFormat, format, FormatCSV, FormatCSVStats, FormatJSONL, FormatNPZ)
	}
	if m.Kind == KindAggregates && format == FormatNPZ {
		return fmt.Errorf("%w: NPZ holds the tensors of a flows dataset; export aggregates as %s or %s", ErrFormat, FormatCSV, FormatJSONL)
	}
	if err := m.validate(); err != nil {
		return fmt.Errorf("exporting: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch {
	case m.Kind == KindAggregates:
		err = exportAggregates(bw, &m, content, format)
	case format == FormatNPZ:
		err = exportNPZ(bw, &m, content)
	default:
		err = exportFlows(bw, &m, content, format)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", format, err)
	}
	return nil
}

// labelIndex maps the manifest's label names to their index.
func labelIndex(m *Manifest) map[string]int {
	idx := make(map[string]int, len(m.Labels))
	for i, l := range m.Labels {
		idx[l.Label] = i
	}
	return idx
}

// checkFlows decodes every record once, checking each label against the
// manifest, and calls fn for each.
func checkFlows(m *Manifest, content []byte, fn func(r *Record)) error {
	idx := labelIndex(m)
	var bad string
	err := flowRecords(m, content, true, func(r *Record) bool {
		if _, ok := idx[r.Label]; !ok {
			bad = r.Label
			return false
		}
		if fn != nil {
			fn(r)
		}
		return true
	})
	if err == nil && bad != "" {
		err = fmt.Errorf("%w: record label %q is not in the manifest", ErrBadContent, bad)
	}
	return err
}

// flowColumns are the CSV columns of a flows record before the tensor.
var flowColumns = []string{
	"source", "label", "label_source", "key_id", "proto", "src", "src_port", "dst", "dst_port",
	"start_ns", "end_ns", "duration_ns",
	"orig_packets", "orig_bytes", "orig_payload_bytes", "orig_retransmits",
	"resp_packets", "resp_bytes", "resp_payload_bytes", "resp_retransmits",
	"conn_state", "history", "steps",
}

func exportFlows(w *bufio.Writer, m *Manifest, content []byte, format string) error {
	if err := checkFlows(m, content, nil); err != nil {
		return err
	}
	var b []byte
	if format != FormatJSONL {
		b = append(b, strings.Join(flowColumns, ",")...)
		if format == FormatCSV {
			for s := range Steps {
				for _, f := range FeatureNames {
					b = append(b, ",x_"...)
					b = strconv.AppendInt(b, int64(s), 10)
					b = append(b, '_')
					b = append(b, f...)
				}
			}
		}
		b = append(b, '\n')
	}
	var werr error
	err := flowRecords(m, content, true, func(r *Record) bool {
		if format == FormatJSONL {
			b = appendFlowJSON(b, r)
		} else {
			b = appendFlowCSV(b, r, format == FormatCSV)
		}
		if len(b) >= 32<<10 {
			_, werr = w.Write(b)
			b = b[:0]
		}
		return werr == nil
	})
	if err == nil && werr == nil {
		_, werr = w.Write(b)
	}
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("writing %s: %w", format, werr)
	}
	return nil
}

// appendCSVField appends s, quoted when it holds a comma, a quote, a line
// break or leading or trailing space.
func appendCSVField(b []byte, s string) []byte {
	if s == "" || !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[len(s)-1] != ' ' {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := range len(s) {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendFloat appends a tensor value: integers below 2^24 as such, other
// values in the shortest form that reads back as the same float32.
func appendFloat(b []byte, v float32) []byte {
	if v >= 0 && v < 1<<24 && v == float32(int32(v)) {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, float64(v), 'f', -1, 32)
}

func appendFlowCSV(b []byte, r *Record, tensor bool) []byte {
	u := func(v uint64) { b = strconv.AppendUint(b, v, 10); b = append(b, ',') }
	s := func(v string) { b = appendCSVField(b, v); b = append(b, ',') }
	s(r.Source)
	s(r.Label)
	s(r.LabelSource)
	s(r.KeyID)
	u(uint64(r.Proto))
	s(r.Src.String())
	u(uint64(r.SrcPort))
	s(r.Dst.String())
	u(uint64(r.DstPort))
	b = strconv.AppendInt(b, r.Start.UnixNano(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.End.UnixNano(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Duration()), 10)
	b = append(b, ',')
	for _, d := range []*DirStats{&r.Orig, &r.Resp} {
		u(d.Packets)
		u(d.Bytes)
		u(d.PayloadBytes)
		u(d.Retransmits)
	}
	s(r.ConnState)
	s(r.History)
	b = strconv.AppendInt(b, int64(len(r.Seq)), 10)
	if tensor {
		for _, v := range r.X {
			b = append(b, ',')
			b = appendFloat(b, v)
		}
	}
	return append(b, '\n')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
			i++
			continue
		}
		b = append(b, s[i:i+n]...)
		i += n
	}
	return append(b, '"')
}

func appendFlowJSON(b []byte, r *Record) []byte {
	key := func(k string) { b = append(b, ',', '"'); b = append(b, k...); b = append(b, '"', ':') }
	str := func(k, v string) { key(k); b = appendJSONString(b, v) }
	num := func(k string, v uint64) { key(k); b = strconv.AppendUint(b, v, 10) }
	inum := func(k string, v int64) { key(k); b = strconv.AppendInt(b, v, 10) }
	b = append(b, `{"source":`...)
	b = appendJSONString(b, r.Source)
	str("label", r.Label)
	str("label_source", r.LabelSource)
	str("key_id", r.KeyID)
	num("proto", uint64(r.Proto))
	str("src", r.Src.String())
	num("src_port", uint64(r.SrcPort))
	str("dst", r.Dst.String())
	num("dst_port", uint64(r.DstPort))
	inum("start_ns", r.Start.UnixNano())
	inum("end_ns", r.End.UnixNano())
	inum("duration_ns", int64(r.Duration()))
	for i, d := range []*DirStats{&r.Orig, &r.Resp} {
		key([]string{"orig", "resp"}[i])
		b = append(b, `{"packets":`...)
		b = strconv.AppendUint(b, d.Packets, 10)
		num("bytes", d.Bytes)
		num("payload_bytes", d.PayloadBytes)
		num("retransmits", d.Retransmits)
		b = append(b, '}')
	}
	str("conn_state", r.ConnState)
	str("history", r.History)
	num("steps", uint64(len(r.Seq)))
	key("x")
	b = append(b, '[')
	for s := range len(r.Seq) {
		if s > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for f, v := range r.X[s*Features : (s+1)*Features] {
			if f > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, v)
		}
		b = append(b, ']')
	}
	return append(b, "]}\n"...)
}

// aggregateColumns returns the CSV columns of an aggregates dataset.
func aggregateColumns(m *Manifest, mask uint8) []string {
	var cols []string
	if mask&(maskHost|maskPair) != 0 {
		cols = append(cols, "key_id")
	}
	if mask&maskHost != 0 {
		cols = append(cols, "host")
	}
	if mask&maskProtocol != 0 {
		cols = append(cols, "protocol")
	}
	if mask&maskPair != 0 {
		cols = append(cols, "src", "dst")
	}
	if mask&maskWindow != 0 {
		cols = append(cols, "window_start_ns")
	}
	cols = append(cols, "flows", "orig_packets", "resp_packets", "orig_bytes", "resp_bytes", "hosts", "counterparts",
		"duration_min_ns", "duration_p50_ns", "duration_p90_ns", "duration_max_ns", "duration_mean_ns")
	for _, l := range m.Labels {
		cols = append(cols, "label_"+l.Label)
	}
	return cols
}

func exportAggregates(w *bufio.Writer, m *Manifest, content []byte, format string) error {
	mask, _ := parseGroupBy(m.GroupBy) // validated by m.validate
	idx := labelIndex(m)
	var bad string
	check := func(a *Aggregate) bool {
		for _, l := range a.Labels {
			if _, ok := idx[l.Label]; !ok {
				bad = l.Label
				return false
			}
		}
		return true
	}
	if err := aggregates(m, content, check); err != nil {
		return err
	}
	if bad != "" {
		return fmt.Errorf("%w: group label %q is not in the manifest", ErrBadContent, bad)
	}
	var b []byte
	if format != FormatJSONL {
		b = append(b, strings.Join(aggregateColumns(m, mask), ",")...)
		b = append(b, '\n')
	}
	counts := make([]uint64, len(m.Labels))
	var werr error
	err := aggregates(m, content, func(a *Aggregate) bool {
		if format == FormatJSONL {
			b = appendAggregateJSON(b, mask, a)
		} else {
			clear(counts)
			for _, l := range a.Labels {
				counts[idx[l.Label]] = l.Count
			}
			b = appendAggregateCSV(b, mask, a, counts)
		}
		if len(b) >= 32<<10 {
			_, werr = w.Write(b)
			b = b[:0]
		}
		return werr == nil
	})
	if err == nil && werr == nil {
		_, werr = w.Write(b)
	}
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("writing %s: %w", format, werr)
	}
	return nil
}

// aggregateKey yields the key fields of a as name and text, in column order.
func aggregateKey(mask uint8, a *Aggregate, fn func(name, value string, quoted bool)) {
	addr := func(x netip.Addr) string { return x.String() }
	if mask&(maskHost|maskPair) != 0 {
		fn("key_id", a.KeyID, true)
	}
	if mask&maskHost != 0 {
		fn("host", addr(a.Host), true)
	}
	if mask&maskProtocol != 0 {
		fn("protocol", a.Protocol, true)
	}
	if mask&maskPair != 0 {
		fn("src", addr(a.Src), true)
		fn("dst", addr(a.Dst), true)
	}
	if mask&maskWindow != 0 {
		fn("window_start_ns", strconv.FormatInt(a.Window.UnixNano(), 10), false)
	}
}

func aggregateFigures(a *Aggregate) []uint64 {
	return []uint64{a.Flows, a.OrigPackets, a.RespPackets, a.OrigBytes, a.RespBytes, a.Hosts, a.Counterparts}
}

var figureNames = []string{"flows", "orig_packets", "resp_packets", "orig_bytes", "resp_bytes", "hosts", "counterparts"}

func aggregateDurations(a *Aggregate) []time.Duration {
	return []time.Duration{a.DurationMin, a.DurationP50, a.DurationP90, a.DurationMax, a.DurationMean}
}

var durationNames = []string{"duration_min_ns", "duration_p50_ns", "duration_p90_ns", "duration_max_ns", "duration_mean_ns"}

func appendAggregateCSV(b []byte, mask uint8, a *Aggregate, counts []uint64) []byte {
	aggregateKey(mask, a, func(_, v string, _ bool) {
		b = appendCSVField(b, v)
		b = append(b, ',')
	})
	for _, v := range aggregateFigures(a) {
		b = strconv.AppendUint(b, v, 10)
		b = append(b, ',')
	}
	for i, d := range aggregateDurations(a) {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	for _, c := range counts {
		b = append(b, ',')
		b = strconv.AppendUint(b, c, 10)
	}
	return append(b, '\n')
}

func appendAggregateJSON(b []byte, mask uint8, a *Aggregate) []byte {
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	aggregateKey(mask, a, func(name, v string, quoted bool) {
		sep()
		b = appendJSONString(b, name)
		b = append(b, ':')
		if quoted {
			b = appendJSONString(b, v)
		} else {
			b = append(b, v...)
		}
	})
	for i, v := range aggregateFigures(a) {
		sep()
		b = appendJSONString(b, figureNames[i])
		b = append(b, ':')
		b = strconv.AppendUint(b, v, 10)
	}
	for i, d := range aggregateDurations(a) {
		b = append(b, ',')
		b = appendJSONString(b, durationNames[i])
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(d), 10)
	}
	b = append(b, `,"labels":{`...)
	for i, l := range a.Labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, l.Label)
		b = append(b, ':')
		b = strconv.AppendUint(b, l.Count, 10)
	}
	return append(b, "}}\n"...)
}

// unicodeWidth returns the width of a NumPy unicode array holding ss: the
// largest number of code points, at least 1.
func unicodeWidth(ss []string) int {
	w := 1
	for _, s := range ss {
		w = max(w, utf8.RuneCountInString(s))
	}
	return w
}
