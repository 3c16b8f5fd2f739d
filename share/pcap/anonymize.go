package pcap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/flowfed/flowfed/share/capture"
)

// readBufSize matches the buffer of capture.Reader, which then uses ours as it is
// instead of adding a second one.
const readBufSize = capture.MaxPacketLen + 64<<10

// readers recycles read buffers: one is larger than many captures, and allocating
// it for each dominated the cost of rewriting small files.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// getReader returns a pooled buffer reading from r; putReader gives it back.
func getReader(r io.Reader) *bufio.Reader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readers.Put(br)
}

// progressEvery is the number of packets between two progress reports (and
// context checks, which are cheap but not free).
const progressEvery = 1 << 16

// Anonymize reads a pcap or pcapng capture from r and writes it to w with every
// address pseudonymized, checksums updated and the payload cut as opts say (see the
// package documentation for what is rewritten). The output is classic pcap or
// pcapng as opts.Format says, else as the input is; a pcapng output carries the
// anonymization record in its section comment, and for a classic pcap output the
// caller must store it (AnonymizeFile writes the sidecar file; see Metadata).
//
// Damage to the input is counted in the Stats, not returned: the readable packets
// are rewritten and the rest is left out. The error is for what stops the rewrite:
// invalid options (ErrMode, ErrOptions, or share/pseudo's key errors), an input that
// is no capture, an error of r or w, or ctx being done. A packet is never written
// unless it was rewritten. Anonymize does not allocate per packet.
func Anonymize(ctx context.Context, r io.Reader, w io.Writer, opts Options) (Stats, error) {
	if err := opts.check(); err != nil {
		return Stats{}, err
	}
	m, err := newMapper(opts.mode(), opts.AddrKey, opts.MACKey, opts.KeepOUI, opts.passthrough(), false)
	if err != nil {
		return Stats{}, err
	}
	return anonymizeWith(ctx, r, w, &opts, m)
}

// anonymizeWith is Anonymize with a mapper made for opts.
func anonymizeWith(ctx context.Context, r io.Reader, w io.Writer, opts *Options, m *mapper) (Stats, error) {
	meta := opts.metadata()
	j := &job{
		rw:       &rewriter{m: m, payload: opts.Payload, keepTCPOpts: opts.KeepTCPOptions},
		format:   opts.Format,
		comment:  meta.comment(),
		shift:    int64(opts.TimeShift),
		round:    int64(opts.TimeRound),
		progress: opts.Progress,
	}
	return j.run(ctx, r, w)
}

// Deanonymize reads a capture made by Anonymize and writes it with the original
// addresses restored, in every header and application message Anonymize rewrote,
// and with checksums updated again. It needs the keys of the anonymization and its
// record, opts.Meta. When the capture is pcapng and carries a record itself, that
// record must name the same key ID and mode (ErrKeyMismatch otherwise).
//
// What Anonymize removed cannot come back: cut payloads, zeroed TCP timestamps,
// shifted or rounded times. Packets are never dropped or cut here.
func Deanonymize(ctx context.Context, r io.Reader, w io.Writer, opts RestoreOptions) (Stats, error) {
	md := opts.Meta
	pass, err := ParsePassthrough(md.Passthrough)
	if err != nil {
		return Stats{}, fmt.Errorf("restoring capture: %w", err)
	}
	m, err := newMapper(md.Mode, opts.AddrKey, opts.MACKey, md.KeepOUI, pass, true)
	if err != nil {
		return Stats{}, err
	}
	return restoreWith(ctx, r, w, md, opts.Progress, m)
}

// restoreWith is Deanonymize with a mapper made for the record md.
func restoreWith(ctx context.Context, r io.Reader, w io.Writer, md Metadata, progress func(Progress), m *mapper) (Stats, error) {
	j := &job{
		rw:       &rewriter{m: m, restore: true, payload: PayloadKeep},
		restore:  true,
		meta:     md,
		progress: progress,
	}
	return j.run(ctx, r, w)
}

// job is one pass over a capture: the reading loop, the output container, and the
// figures for Stats. It lives for one call of Anonymize or Deanonymize.
type job struct {
	rw       *rewriter
	restore  bool
	meta     Metadata // restore: the record the keys belong to
	format   capture.Format
	comment  string
	shift    int64 // nanoseconds
	round    int64 // nanoseconds; 0: none
	progress func(Progress)

	cr    countingReader
	st    Stats
	drops dropTable

	out     capture.Format
	pw      *capture.PcapWriter
	nw      *capture.PcapngWriter
	w       io.Writer
	nano    bool                // classic pcap output in nanoseconds
	link    capture.LinkType    // classic pcap output: its link type
	outIf   []int               // pcapng output: output interface per input interface, -1 unknown
	inIf    []capture.Interface // input interfaces known so far
	pending bool                // classic pcap output: the header is not written yet
}

// countingReader counts the bytes read, for progress reports.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (j *job) run(ctx context.Context, r io.Reader, w io.Writer) (Stats, error) {
	j.cr.r = r
	br := getReader(&j.cr)
	defer putReader(br)
	if j.restore {
		if err := j.checkRecord(br); err != nil {
			return Stats{}, err
		}
	}
	// The reader takes our buffer as its own (it has the size it wants), so
	// packets are slices of it and are rewritten where they lie.
	rd, err := capture.NewReader(br)
	if err != nil {
		return Stats{}, fmt.Errorf("reading capture: %w", err)
	}
	j.st.Input = rd.Format()
	j.inIf = rd.Interfaces()
	if err := j.open(w, rd); err != nil {
		return j.st, err
	}
	var n int64
	for {
		if n%progressEvery == 0 && n > 0 {
			if err := ctx.Err(); err != nil {
				return j.st, fmt.Errorf("rewriting capture: %w", err)
			}
			if j.progress != nil {
				j.progress(Progress{Packets: n, Bytes: j.cr.n})
			}
		}
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var de *capture.DamageError
			if errors.As(err, &de) {
				if de.Resumable {
					continue
				}
				break // fatal damage: what was readable has been rewritten
			}
			return j.st, fmt.Errorf("reading capture: %w", err)
		}
		n++
		if err := j.packet(rd, &p); err != nil {
			return j.st, err
		}
	}
	j.st.Damage = rd.Damage()
	if err := j.finish(); err != nil {
		return j.st, err
	}
	j.st.Dropped = j.drops.d
	j.st.fill(&j.rw.st)
	if j.progress != nil {
		j.progress(Progress{Packets: n, Bytes: j.cr.n, Done: true})
	}
	return j.st, nil
}

// checkRecord compares the record in a pcapng input with the one the keys are for.
func (j *job) checkRecord(br *bufio.Reader) error {
	head, _ := br.Peek(shbPeek)
	if formatOf(head) != capture.FormatPcapng {
		return nil
	}
	m, found, err := recordInComments(sectionComments(head))
	if err != nil {
		return fmt.Errorf("restoring capture: %w", err)
	}
	if found && (m.KeyID != j.meta.KeyID || m.Mode != j.meta.Mode) {
		return fmt.Errorf("restoring capture: it names key %s (%s), the keys are of %s (%s): %w",
			m.KeyID, m.Mode, j.meta.KeyID, j.meta.Mode, ErrKeyMismatch)
	}
	return nil
}

// open prepares the writer of the output container.
func (j *job) open(w io.Writer, rd *capture.Reader) error {
	j.w = w
	j.out = j.format
	if j.out == 0 {
		j.out = rd.Format()
	}
	j.st.Output = j.out
	if j.out == capture.FormatPcapng {
		var err error
		j.nw, err = capture.NewPcapngWriter(w, capture.PcapngOptions{Comment: j.comment, Nanosecond: true})
		if err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		return nil
	}
	// Classic pcap: one link type, known from the first packet written. A pcap
	// input keeps its time resolution; pcapng may have finer ones.
	j.pending = true
	j.nano = true
	if rd.Format() == capture.FormatPcap && len(j.inIf) > 0 {
		j.link = j.inIf[0].LinkType
		j.nano = j.inIf[0].Resolution != capture.ResolutionMicro
	}
	return nil
}

// packet rewrites and writes one packet.
func (j *job) packet(rd *capture.Reader, p *capture.Packet) error {
	j.st.PacketsIn++
	j.st.BytesIn += int64(len(p.Data))
	if p.Interface >= len(j.inIf) {
		// A pcapng interface described since the last packet: copying the list
		// allocates, so only then.
		j.inIf = rd.Interfaces()
	}
	keep, ok := j.rw.rewrite(p.Data, uint32(p.LinkType))
	switch {
	case ok:
		p.Data = p.Data[:keep]
	case !j.restore:
		j.drops.add(DropLinkType, p.Interface, p.LinkType)
		return nil
	}
	if !p.NoTimestamp && !j.restore {
		ts, ok := j.time(p.Timestamp)
		if !ok {
			j.drops.add(DropTimestamp, p.Interface, p.LinkType)
			return nil
		}
		p.Timestamp = ts
	}
	wrote, err := true, error(nil)
	if j.out == capture.FormatPcapng {
		err = j.writePcapng(p)
	} else {
		wrote, err = j.writePcap(p)
	}
	if err != nil || !wrote {
		return err
	}
	j.st.PacketsOut++
	j.st.BytesOut += int64(len(p.Data))
	return nil
}

// time applies the shift and rounding, and reports false for a result outside
// the range of the output format.
func (j *job) time(ts int64) (int64, bool) {
	if s := j.shift; s != 0 {
		if s > 0 && ts > math.MaxInt64-s || s < 0 && ts < math.MinInt64-s {
			return 0, false
		}
		ts += s
	}
	if ts < 0 {
		return 0, false
	}
	if j.round > 0 {
		ts -= ts % j.round
	}
	if j.out == capture.FormatPcap && ts/1e9 > math.MaxUint32 {
		return 0, false
	}
	return ts, true
}

// writePcapng writes p, describing its interface to the output on first use: an
// interface of the output has the link type of its input interface and nothing
// else (no name, no description, no filter).
func (j *job) writePcapng(p *capture.Packet) error {
	for p.Interface >= len(j.outIf) {
		j.outIf = append(j.outIf, -1)
	}
	o := j.outIf[p.Interface]
	if o < 0 {
		var err error
		o, err = j.nw.AddInterface(capture.PcapngInterface{LinkType: p.LinkType})
		if err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		j.outIf[p.Interface] = o
	}
	p.Interface = o
	if err := j.nw.WritePacket(*p); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// writePcap writes p unless its link type differs from the output's.
func (j *job) writePcap(p *capture.Packet) (bool, error) {
	if j.pending {
		if j.st.Input != capture.FormatPcap {
			j.link = p.LinkType
		}
		if err := j.startPcap(); err != nil {
			return false, err
		}
	}
	if p.LinkType != j.link {
		j.drops.add(DropLinkTypeMismatch, p.Interface, p.LinkType)
		return false, nil
	}
	if err := j.pw.WritePacket(*p); err != nil {
		return false, fmt.Errorf("writing output: %w", err)
	}
	return true, nil
}

// startPcap writes the classic pcap file header. Its snapshot length is the
// largest the readers accept, since the input's may be smaller than what a damaged
// input's records hold.
func (j *job) startPcap() error {
	j.pending = false
	var err error
	j.pw, err = capture.NewPcapWriter(j.w, j.link, 0, j.nano)
	if err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// finish writes what is buffered, and the pcap header of an output without packets.
func (j *job) finish() error {
	if j.nw != nil {
		if err := j.nw.Flush(); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		return nil
	}
	if j.pending {
		// No packet was written: the header names the first interface's link type.
		if j.st.Input != capture.FormatPcap {
			j.link = capture.LinkTypeEthernet
			if len(j.inIf) > 0 {
				j.link = j.inIf[0].LinkType
			}
		}
		if err := j.startPcap(); err != nil {
			return err
		}
	}
	if err := j.pw.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
