package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/netip"
	"time"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
)

// The content of a dataset is a 6-byte header followed by its records,
// back to back, in canonical order:
//
//	header   "FFDS", format version (1), kind (1 flows, 2 aggregates)
//	uvarint  unsigned LEB128, shortest form only
//	varint   zig-zag then uvarint
//	str      uvarint length, then that many bytes
//	addr     family byte (4 or 6), then 4 or 16 address bytes
//
// A flows record:
//
//	str source, str label (a label.Protocol name), byte label source
//	(0 none, 1 payload, 2 port), str key ID, byte IP protocol,
//	addr src, addr dst (one family), 2 bytes src port, 2 bytes dst port
//	(big endian), varint start (ns since the Unix epoch), uvarint duration
//	(ns), per direction (initiator, then responder) uvarint packets, IP
//	bytes, payload bytes, retransmits; str conn_state, str history;
//	uvarint steps (at most Steps), per step: byte direction (0 or 1), byte
//	TCP flags, uvarint IP length, uvarint payload length, uvarint
//	inter-arrival time (us).
//
// An aggregates record:
//
//	byte key mask (1 host, 2 protocol, 4 pair, 8 window; equal to the
//	manifest's group-by), str key ID if host or pair, addr host if host,
//	str protocol if protocol, addr src and addr dst if pair, varint window
//	start (ns) if window; uvarint flows, initiator packets, responder
//	packets, initiator bytes, responder bytes, source hosts,
//	counterparts; uvarint duration min, p50, p90, max, mean (ns);
//	uvarint label count (>= 1), then per label (names ascending) str name,
//	uvarint flows, which add up to the record's flows.
//
// The sequence steps are stored, not the tensor: Records rebuilds X and Mask
// with Tensor, so the content is about a quarter of the tensor's size.
const (
	contentMagic   = "FFDS"
	contentVersion = 1
	headerLen      = 6
	kindByteFlows  = 1
	kindByteAggr   = 2
	maxIAT         = math.MaxUint32
	maxLabelLen    = 32
	maxStateLen    = 64
)

// Record is one flow of a flows dataset. Addresses are pseudonyms under the
// epoch key KeyID. X and Mask are the sequence tensor of Tensor, rebuilt from
// Seq.
type Record struct {
	// Source names the capture the flow came from (an ingest id or file
	// name), so that models can split by capture.
	Source string
	// Label is the protocol name (label.Protocol), "Unknown" when none.
	Label string
	// LabelSource is the evidence class of the label: "payload", "port",
	// or "" for none.
	LabelSource string
	KeyID       string
	// Proto is the IP protocol number (6 TCP, 17 UDP...).
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	// Start and End are the times of the first and the last packet (UTC).
	Start, End time.Time
	// Orig counts the initiator's packets, Resp the responder's.
	Orig, Resp DirStats
	// ConnState and History are Zeek's conn_state and history letters.
	ConnState, History string
	// Seq holds the first Steps packet steps, exactly as metered.
	Seq []flow.Step
	// X holds Steps*Features values, Mask Steps (see Tensor).
	X, Mask []float32
}

// Duration returns End - Start.
func (r *Record) Duration() time.Duration { return r.End.Sub(r.Start) }

// DirStats are the figures of one direction of a flow.
type DirStats struct {
	Packets uint64
	// Bytes sums the IP lengths.
	Bytes uint64
	// PayloadBytes sums the transport payload lengths.
	PayloadBytes uint64
	// Retransmits counts TCP retransmissions.
	Retransmits uint64
}

// Aggregate is one group of an aggregates dataset. Only the key fields named
// by the manifest's group-by are set. Under DP the counts are noisy, the
// duration minimum and quantiles are zero, and DurationMean is the noisy
// clamped mean.
type Aggregate struct {
	// KeyID names the epoch key of Host, Src and Dst ("" when neither host
	// nor pair is grouped).
	KeyID string
	// Host is the source host ("host").
	Host netip.Addr
	// Protocol is the protocol label ("protocol").
	Protocol string
	// Src and Dst are the source and destination hosts ("pair").
	Src, Dst netip.Addr
	// Window is the start of the time bucket ("window"), UTC.
	Window time.Time

	// Flows counts the group's flows; it equals the sum of Labels.
	Flows uint64
	// Packets and IP bytes sent by the initiators and by the responders.
	OrigPackets, RespPackets uint64
	OrigBytes, RespBytes     uint64
	// Hosts counts the distinct source hosts, Counterparts the distinct
	// destination hosts.
	Hosts, Counterparts uint64
	// Duration statistics of the group's flows.
	DurationMin, DurationP50, DurationP90, DurationMax, DurationMean time.Duration
	// Labels is the label distribution: flows per protocol, by name.
	Labels []LabelCount
}

// LabelCount is the number of records (flows kind) or flows (aggregates)
// with one protocol label.
type LabelCount struct {
	Label string `json:"label"`
	Count uint64 `json:"count"`
}

var labelSources = [...]string{"", "payload", "port"}

// ---- encoding ----

func appendHeader(b []byte, k Kind) []byte {
	kb := byte(kindByteFlows)
	if k == KindAggregates {
		kb = kindByteAggr
	}
	return append(append(b, contentMagic...), contentVersion, kb)
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(append(b, 4), v[:]...)
	}
	v := a.As16()
	return append(append(b, 6), v[:]...)
}

// appendFlow encodes one flows record from a stored flow. The label
// evidence is never read: only the protocol and its source.
func appendFlow(b []byte, source string, r *flow.Record) []byte {
	b = appendStr(b, source)
	b = appendStr(b, r.Label.Protocol.String())
	b = append(b, byte(r.Label.Source))
	b = appendStr(b, r.KeyID)
	b = append(b, r.Key.Proto)
	b = appendAddr(b, r.Key.SrcAddr())
	b = appendAddr(b, r.Key.DstAddr())
	b = binary.BigEndian.AppendUint16(b, r.Key.SrcPort)
	b = binary.BigEndian.AppendUint16(b, r.Key.DstPort)
	b = binary.AppendVarint(b, r.Start)
	b = binary.AppendUvarint(b, uint64(r.End-r.Start))
	for _, c := range []*flow.Counters{&r.Orig, &r.Resp} {
		b = binary.AppendUvarint(b, c.Packets)
		b = binary.AppendUvarint(b, c.IPBytes)
		b = binary.AppendUvarint(b, c.PayloadBytes)
		b = binary.AppendUvarint(b, uint64(c.Retransmits))
	}
	b = appendStr(b, r.ConnState)
	b = appendStr(b, r.History)
	seq := r.Seq[:min(len(r.Seq), Steps)]
	b = binary.AppendUvarint(b, uint64(len(seq)))
	for _, s := range seq {
		var d byte
		if s.FromResp {
			d = 1
		}
		b = append(b, d, s.Flags)
		b = binary.AppendUvarint(b, uint64(s.IPLen))
		b = binary.AppendUvarint(b, uint64(s.PayloadLen))
		b = binary.AppendUvarint(b, uint64(s.IAT))
	}
	return b
}

// appendRecord encodes a decoded flows record; appendRecord of what
// decodeFlow read gives back the bytes it read.
func appendRecord(b []byte, r *Record) []byte {
	b = appendStr(b, r.Source)
	b = appendStr(b, r.Label)
	var ls byte
	for i, s := range labelSources {
		if s == r.LabelSource {
			ls = byte(i)
		}
	}
	b = append(b, ls)
	b = appendStr(b, r.KeyID)
	b = append(b, r.Proto)
	b = appendAddr(b, r.Src)
	b = appendAddr(b, r.Dst)
	b = binary.BigEndian.AppendUint16(b, r.SrcPort)
	b = binary.BigEndian.AppendUint16(b, r.DstPort)
	b = binary.AppendVarint(b, r.Start.UnixNano())
	b = binary.AppendUvarint(b, uint64(r.End.Sub(r.Start)))
	for _, c := range []*DirStats{&r.Orig, &r.Resp} {
		b = binary.AppendUvarint(b, c.Packets)
		b = binary.AppendUvarint(b, c.Bytes)
		b = binary.AppendUvarint(b, c.PayloadBytes)
		b = binary.AppendUvarint(b, c.Retransmits)
	}
	b = appendStr(b, r.ConnState)
	b = appendStr(b, r.History)
	b = binary.AppendUvarint(b, uint64(len(r.Seq)))
	for _, s := range r.Seq {
		var d byte
		if s.FromResp {
			d = 1
		}
		b = append(b, d, s.Flags)
		b = binary.AppendUvarint(b, uint64(s.IPLen))
		b = binary.AppendUvarint(b, uint64(s.PayloadLen))
		b = binary.AppendUvarint(b, uint64(s.IAT))
	}
	return b
}

// appendAggregate encodes one aggregates record; mask is the group-by mask.
func appendAggregate(b []byte, mask uint8, a *Aggregate) []byte {
	b = append(b, mask)
	if mask&(maskHost|maskPair) != 0 {
		b = appendStr(b, a.KeyID)
	}
	if mask&maskHost != 0 {
		b = appendAddr(b, a.Host)
	}
	if mask&maskProtocol != 0 {
		b = appendStr(b, a.Protocol)
	}
	if mask&maskPair != 0 {
		b = appendAddr(b, a.Src)
		b = appendAddr(b, a.Dst)
	}
	if mask&maskWindow != 0 {
		b = binary.AppendVarint(b, a.Window.UnixNano())
	}
	for _, v := range []uint64{a.Flows, a.OrigPackets, a.RespPackets, a.OrigBytes, a.RespBytes, a.Hosts, a.Counterparts} {
		b = binary.AppendUvarint(b, v)
	}
	for _, d := range []time.Duration{a.DurationMin, a.DurationP50, a.DurationP90, a.DurationMax, a.DurationMean} {
		b = binary.AppendUvarint(b, uint64(d))
	}
	b = binary.AppendUvarint(b, uint64(len(a.Labels)))
	for _, l := range a.Labels {
		b = appendStr(b, l.Label)
		b = binary.AppendUvarint(b, l.Count)
	}
	return b
}

// ---- decoding ----

// errShort is the decoder's error for content that ends inside a record.
var errShort = errors.New("unexpected end of content")

// decoder reads content; the first error sticks.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %s", d.off, fmt.Sprintf(format, a...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.err = errShort
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b)-d.off {
		d.err = errShort
		return nil
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v
}

// uvarint reads an unsigned varint in its shortest form.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.err = errShort
		return 0
	case n < 0:
		d.fail("varint overflows 64 bits")
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail("varint not in shortest form")
		return 0
	}
	d.off += n
	return v
}

// uvarintMax reads a uvarint of at most limit.
func (d *decoder) uvarintMax(what string, limit uint64) uint64 {
	v := d.uvarint()
	if v > limit {
		d.fail("%s %d above %d", what, v, limit)
		return 0
	}
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// str reads a string of at most limit bytes that printable accepts.
func (d *decoder) str(what string, limit int) string { return d.strPrev(what, limit, "") }

// strPrev is str, returning prev without allocating when the string equals
// it (prev must have passed the same checks).
func (d *decoder) strPrev(what string, limit int, prev string) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(limit) {
		d.fail("%s of %d bytes (at most %d)", what, n, limit)
		return ""
	}
	b := d.bytes(int(n))
	if d.err == nil && string(b) == prev {
		return prev
	}
	s := string(b)
	if d.err == nil && !printable(s, limit) {
		d.fail("%s is not printable text", what)
		return ""
	}
	return s
}

func (d *decoder) addr() netip.Addr {
	switch f := d.byte(); f {
	case 4:
		if b := d.bytes(4); b != nil {
			return netip.AddrFrom4([4]byte(b))
		}
	case 6:
		if b := d.bytes(16); b != nil {
			return netip.AddrFrom16([16]byte(b))
		}
	default:
		d.fail("address family %d", f)
	}
	return netip.Addr{}
}

// protocolName reads a label and checks that it is a protocol's canonical
// name.
func (d *decoder) protocolName() string { return d.protocolNamePrev("") }

// protocolNamePrev is protocolName with strPrev's shortcut; prev is "" or a
// canonical protocol name.
func (d *decoder) protocolNamePrev(prev string) string {
	s := d.strPrev("label", maxLabelLen, prev)
	if d.err != nil || (s == prev && prev != "") {
		return s
	}
	p, err := label.ParseProtocol(s)
	if err != nil || p.String() != s {
		d.fail("label %q is not a protocol name", s)
		return ""
	}
	return s
}

// header checks the content header for kind k.
func (d *decoder) header(k Kind) {
	h := d.bytes(headerLen)
	if d.err != nil {
		return
	}
	if string(h[:4]) != contentMagic {
		d.fail("not dataset content (magic %q)", h[:4])
		return
	}
	if h[4] != contentVersion {
		d.fail("content version %d (want %d)", h[4], contentVersion)
		return
	}
	want := byte(kindByteFlows)
	if k == KindAggregates {
		want = kindByteAggr
	}
	if h[5] != want {
		d.fail("content kind %d does not match the manifest's %s", h[5], k)
	}
}

// step reads one sequence step. Its fast path takes steps whose three
// varints fit in three bytes each (all but gaps of 2 s and more); anything
// else, errors included, goes through the checked path.
func (d *decoder) step() (flow.Step, bool) {
	if d.err != nil {
		return flow.Step{}, false
	}
	if b := d.b[d.off:]; len(b) >= 2+3*3 && b[0] <= 1 {
		i := 2
		var v [3]uint32
		ok := true
		for k := range v {
			c0, c1, c2 := b[i], b[i+1], b[i+2]
			switch {
			case c0 < 0x80:
				v[k], i = uint32(c0), i+1
			case c1 < 0x80 && c1 != 0:
				v[k], i = uint32(c0&0x7f)|uint32(c1)<<7, i+2
			case c1 >= 0x80 && c2 < 0x80 && c2 != 0:
				v[k], i = uint32(c0&0x7f)|uint32(c1&0x7f)<<7|uint32(c2)<<14, i+3
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok && v[0] <= math.MaxUint16 && v[1] <= math.MaxUint16 {
			d.off += i
			return flow.Step{FromResp: b[0] == 1, Flags: b[1], IPLen: uint16(v[0]), PayloadLen: uint16(v[1]), IAT: v[2]}, true
		}
	}
	dir := d.byte()
	if dir > 1 {
		d.fail("step direction %d", dir)
	}
	s := flow.Step{FromResp: dir == 1, Flags: d.byte()}
	s.IPLen = uint16(d.uvarintMax("IP length", math.MaxUint16))
	s.PayloadLen = uint16(d.uvarintMax("payload length", math.MaxUint16))
	s.IAT = uint32(d.uvarintMax("inter-arrival time", maxIAT))
	return s, d.err == nil
}

// decodeFlow reads one flows record into r, reusing r's slices when reuse is
// set.
func (d *decoder) decodeFlow(r *Record, reuse bool) {
	// With reuse, r holds the previous record, whose strings the next one
	// mostly repeats.
	if !reuse {
		*r = Record{}
	}
	r.Source = d.strPrev("source", maxSourceLen, r.Source)
	r.Label = d.protocolNamePrev(r.Label)
	ls := d.byte()
	if int(ls) >= len(labelSources) {
		d.fail("label source %d", ls)
		return
	}
	r.LabelSource = labelSources[ls]
	r.KeyID = d.strPrev("key ID", maxKeyIDLen, r.KeyID)
	if d.err == nil && r.KeyID == "" {
		d.fail("empty key ID")
	}
	r.Proto = d.byte()
	r.Src = d.addr()
	r.Dst = d.addr()
	if d.err == nil && r.Src.Is4() != r.Dst.Is4() {
		d.fail("source and destination of different address families")
	}
	if p := d.bytes(4); p != nil {
		r.SrcPort, r.DstPort = binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
	}
	start := d.varint()
	dur := d.uvarintMax("duration", math.MaxInt64)
	if d.err == nil && start > math.MaxInt64-int64(dur) {
		d.fail("end time overflows")
	}
	r.Start, r.End = time.Unix(0, start).UTC(), time.Unix(0, start+int64(dur)).UTC()
	for _, c := range []*DirStats{&r.Orig, &r.Resp} {
		c.Packets = d.uvarint()
		c.Bytes = d.uvarint()
		c.PayloadBytes = d.uvarint()
		c.Retransmits = d.uvarintMax("retransmits", math.MaxUint32)
	}
	r.ConnState = d.strPrev("conn_state", maxStateLen, r.ConnState)
	r.History = d.strPrev("history", maxStateLen, r.History)
	n := int(d.uvarintMax("steps", Steps))
	if d.err != nil {
		return
	}
	if reuse {
		r.Seq = r.Seq[:0]
	} else {
		r.Seq = make([]flow.Step, 0, n)
	}
	for range n {
		s, ok := d.step()
		if !ok {
			return
		}
		r.Seq = append(r.Seq, s)
	}
	if !reuse || len(r.X) != Steps*Features || len(r.Mask) != Steps {
		r.X, r.Mask = make([]float32, Steps*Features), make([]float32, Steps)
	}
	fr := flow.Record{Seq: r.Seq}
	Tensor(&fr, r.X, r.Mask)
}

// decodeAggregate reads one aggregates record into a.
func (d *decoder) decodeAggregate(mask uint8, a *Aggregate) {
	*a = Aggregate{}
	if m := d.byte(); d.err == nil && m != mask {
		d.fail("record key mask %#x does not match the manifest's group-by %#x", m, mask)
		return
	}
	if mask&(maskHost|maskPair) != 0 {
		a.KeyID = d.str("key ID", maxKeyIDLen)
		if d.err == nil && a.KeyID == "" {
			d.fail("empty key ID")
		}
	}
	if mask&maskHost != 0 {
		a.Host = d.addr()
	}
	if mask&maskProtocol != 0 {
		a.Protocol = d.protocolName()
	}
	if mask&maskPair != 0 {
		a.Src, a.Dst = d.addr(), d.addr()
	}
	if mask&maskWindow != 0 {
		a.Window = time.Unix(0, d.varint()).UTC()
	}
	for _, p := range []*uint64{&a.Flows, &a.OrigPackets, &a.RespPackets, &a.OrigBytes, &a.RespBytes, &a.Hosts, &a.Counterparts} {
		*p = d.uvarint()
	}
	for _, p := range []*time.Duration{&a.DurationMin, &a.DurationP50, &a.DurationP90, &a.DurationMax, &a.DurationMean} {
		*p = time.Duration(d.uvarintMax("duration", math.MaxInt64))
	}
	n := d.uvarintMax("label count", uint64(len(label.Protocols())+1))
	if d.err != nil {
		return
	}
	if n == 0 {
		d.fail("group without labels")
		return
	}
	a.Labels = make([]LabelCount, 0, n)
	var sum uint64
	for i := range int(n) {
		l := LabelCount{Label: d.protocolName(), Count: d.uvarint()}
		if d.err != nil {
			return
		}
		if i > 0 && l.Label <= a.Labels[i-1].Label {
			d.fail("labels not in ascending order")
			return
		}
		if sum+l.Count < sum {
			d.fail("label counts overflow")
			return
		}
		sum += l.Count
		a.Labels = append(a.Labels, l)
	}
	if sum != a.Flows {
		d.fail("label counts add up to %d, not the group's %d flows", sum, a.Flows)
		return
	}
	if mask&maskProtocol != 0 && (n != 1 || a.Labels[0].Label != a.Protocol) {
		d.fail("group of protocol %s has other labels", a.Protocol)
	}
}

// checkContent checks what Records and Aggregates need of the manifest.
func checkContent(m *Manifest, content []byte, k Kind) error {
	if m.Kind != k {
		return fmt.Errorf("%w: manifest is of kind %q, not %q", ErrBadContent, m.Kind, k)
	}
	if int64(len(content)) != m.Size {
		return fmt.Errorf("%w: content is %d bytes, manifest says %d", ErrBadContent, len(content), m.Size)
	}
	if m.Records < 0 {
		return fmt.Errorf("%w: manifest record count %d", ErrBadContent, m.Records)
	}
	return nil
}

// flowRecords iterates over the flows records of content. The Record
// passed to yield is reused between calls when reuse is set.
func flowRecords(m *Manifest, content []byte, reuse bool, yield func(*Record) bool) error {
	if err := checkContent(m, content, KindFlows); err != nil {
		return err
	}
	d := decoder{b: content}
	d.header(KindFlows)
	var r Record
	for i := 0; i < m.Records && d.err == nil; i++ {
		if !reuse {
			r = Record{}
		}
		d.decodeFlow(&r, reuse)
		if d.err != nil {
			return fmt.Errorf("%w: decoding record %d: %v", ErrBadContent, i, d.err)
		}
		if !yield(&r) {
			return nil
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", ErrBadContent, d.err)
	}
	if d.off != len(content) {
		return fmt.Errorf("%w: %d bytes after the last of %d records", ErrBadContent, len(content)-d.off, m.Records)
	}
	return nil
}

// Records decodes the content of a flows dataset, yielding its records in
// order. Each Record owns its memory. Content that does not decode, or holds
// another number of records than the manifest says, yields one error wrapping
// ErrBadContent as the last element; records before it were complete. Records
// does not check chunk hashes: Assemble does.
func Records(m Manifest, content []byte) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		stopped := false
		err := flowRecords(&m, content, false, func(r *Record) bool {
			if !yield(*r, nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil && !stopped {
			yield(Record{}, err)
		}
	}
}

// aggregates iterates over the records of an aggregates dataset.
func aggregates(m *Manifest, content []byte, yield func(*Aggregate) bool) error {
	if err := checkContent(m, content, KindAggregates); err != nil {
		return err
	}
	mask, err := parseGroupBy(m.GroupBy)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadContent, err)
	}
	d := decoder{b: content}
	d.header(KindAggregates)
	var a Aggregate
	for i := 0; i < m.Records && d.err == nil; i++ {
		d.decodeAggregate(mask, &a)
		if d.err != nil {
			return fmt.Errorf("%w: decoding group %d: %v", ErrBadContent, i, d.err)
		}
		if !yield(&a) {
			return nil
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", ErrBadContent, d.err)
	}
	if d.off != len(content) {
		return fmt.Errorf("%w: %d bytes after the last of %d groups", ErrBadContent, len(content)-d.off, m.Records)
	}
	return nil
}

// Aggregates decodes the content of an aggregates dataset, yielding its
// groups in order, with errors as Records does.
func Aggregates(m Manifest, content []byte) iter.Seq2[Aggregate, error] {
	return func(yield func(Aggregate, error) bool) {
		stopped := false
		err := aggregates(&m, content, func(a *Aggregate) bool {
			if !yield(*a, nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil && !stopped {
			yield(Aggregate{}, err)
		}
	}
}

// validLabel reports whether s is a protocol's canonical name.
func validLabel(s string) bool {
	if len(s) > maxLabelLen {
		return false
	}
	p, err := label.ParseProtocol(s)
	return err == nil && p.String() == s
}
