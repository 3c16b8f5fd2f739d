package dataset

import (
	"iter"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
)

// t0 is the start of the test flows: a Monday in March 2024, UTC.
var t0 = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)

// secretEvidence is label evidence that must never reach a dataset.
var secretEvidence = label.Evidence{
	DNSQuery:  "secret-host.corp.example",
	TLSSNI:    "private-sni.example.net",
	UserAgent: "SecretAgent/1.0 (internal build)",
	HTTPHost:  "intranet.corp.example",
}

// fl describes a test flow.
type fl struct {
	src, dst   string
	sport      uint16
	dport      uint16
	proto      uint8
	label      label.Protocol
	lsrc       label.Source
	start      time.Duration // after t0
	dur        time.Duration
	steps      int
	key        string
	pk, by     uint64
	retransmit uint32
}

func setAddr(b *[16]byte, a netip.Addr) {
	*b = [16]byte{}
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
		return
	}
	*b = a.As16()
}

// record builds a pseudonymized flow record from f, with evidence strings
// that must be dropped.
func (f fl) record() *flow.Record {
	src, dst := netip.MustParseAddr(f.src), netip.MustParseAddr(f.dst)
	r := &flow.Record{
		Start: t0.Add(f.start).UnixNano(),
		End:   t0.Add(f.start + f.dur).UnixNano(),
		Orig: flow.Counters{Packets: f.pk, IPBytes: f.by, PayloadBytes: f.by / 2,
			Retransmits: f.retransmit},
		Resp:         flow.Counters{Packets: f.pk / 2, IPBytes: f.by * 3, PayloadBytes: f.by},
		Label:        label.Label{Protocol: f.label, Source: f.lsrc},
		ConnState:    "SF",
		History:      "ShADadFf",
		ConfigDigest: "0123456789abcdef",
		KeyID:        f.key,
	}
	if r.KeyID == "" {
		r.KeyID = "epoch-2024-03"
	}
	if f.proto == 0 {
		f.proto = 6
	}
	r.Key.Proto = f.proto
	r.Key.IPv6 = src.Is6()
	setAddr(&r.Key.Src, src)
	setAddr(&r.Key.Dst, dst)
	r.Key.SrcPort, r.Key.DstPort = f.sport, f.dport
	ev := secretEvidence
	r.Label.Evidence = &ev
	for i := range f.steps {
		r.Seq = append(r.Seq, flow.Step{
			FromResp: i%2 == 1, Flags: uint8(0x10 | i&0x0f), IPLen: uint16(40 + 7*i),
			PayloadLen: uint16(7 * i), IAT: uint32(i * 1000),
		})
	}
	return r
}

// hostsFlows returns n flows of protocol p from n distinct source hosts
// (10.0.<base>.1 ...), one each, to one server.
func hostsFlows(n, base int, p label.Protocol, port uint16) []fl {
	var out []fl
	for i := range n {
		out = append(out, fl{
			src: netip.AddrFrom4([4]byte{10, 0, byte(base), byte(1 + i)}).String(), dst: "192.0.2.53",
			sport: uint16(40000 + i), dport: port, proto: 17, label: p, lsrc: label.SourcePayload,
			start: time.Duration(i) * time.Minute, dur: time.Duration(i+1) * time.Second,
			steps: 2 + i%5, pk: uint64(2 + i), by: uint64(100 * (i + 1)),
		})
	}
	return out
}

func rowsOf(fs []fl, source string) []Row {
	out := make([]Row, len(fs))
	for i, f := range fs {
		out[i] = Row{Source: source, Flow: f.record()}
	}
	return out
}

func seqOf(rows []Row) iter.Seq[Row] { return slices.Values(rows) }

func mustBuild(t testing.TB, s Spec, rows []Row) *Built {
	t.Helper()
	b, err := Build(s, seqOf(rows))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return b
}

func shuffled(rows []Row, seed uint64) []Row {
	out := slices.Clone(rows)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// seeded returns a deterministic noise source.
func seeded(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

func collectRecords(t testing.TB, b *Built) []Record {
	t.Helper()
	var out []Record
	for r, err := range Records(b.Manifest, b.Content) {
		if err != nil {
			t.Fatalf("Records: %v", err)
		}
		out = append(out, r)
	}
	return out
}

func collectAggregates(t testing.TB, b *Built) []Aggregate {
	t.Helper()
	var out []Aggregate
	for a, err := range Aggregates(b.Manifest, b.Content) {
		if err != nil {
			t.Fatalf("Aggregates: %v", err)
		}
		out = append(out, a)
	}
	return out
}

// genRows returns n varied flows of about hosts source hosts, each with a
// full sequence of Steps packets, spread over the first day of the month.
func genRows(n, hosts int, seed uint64) []Row {
	r := rand.New(rand.NewPCG(seed, 7))
	protos := []label.Protocol{label.DNS, label.TLS, label.HTTP, label.QUIC, label.SSH, label.Unknown}
	rows := make([]Row, n)
	for i := range rows {
		h := r.IntN(hosts)
		src := netip.AddrFrom4([4]byte{10, byte(h >> 16), byte(h >> 8), byte(h)})
		dst := netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(64))})
		p := protos[r.IntN(len(protos))]
		start := t0.Add(time.Duration(r.Int64N(int64(14 * time.Hour))))
		f := &flow.Record{
			Start: start.UnixNano(), End: start.Add(time.Duration(r.Int64N(int64(time.Minute)))).UnixNano(),
			Orig:  flow.Counters{Packets: uint64(1 + r.IntN(500)), IPBytes: uint64(r.IntN(1 << 20)), Retransmits: uint32(r.IntN(3))},
			Resp:  flow.Counters{Packets: uint64(r.IntN(500)), IPBytes: uint64(r.IntN(1 << 20))},
			Label: label.Label{Protocol: p, Source: label.SourcePayload}, ConnState: "SF", History: "ShADadFf",
			ConfigDigest: "0123456789abcdef", KeyID: "epoch-2024-03",
			Seq: make([]flow.Step, Steps),
		}
		if p == label.Unknown {
			f.Label.Source = label.SourceNone
		}
		f.Key.Proto = 6
		setAddr(&f.Key.Src, src)
		setAddr(&f.Key.Dst, dst)
		f.Key.SrcPort, f.Key.DstPort = uint16(1024+r.IntN(60000)), 443
		for j := range f.Seq {
			f.Seq[j] = flow.Step{FromResp: r.IntN(2) == 1, Flags: uint8(r.IntN(32)), IPLen: uint16(40 + r.IntN(1460)),
				PayloadLen: uint16(r.IntN(1400)), IAT: uint32(r.IntN(200000))}
		}
		rows[i] = Row{Source: []string{"capture-1.pcap", "capture-2.pcapng", "ingest-7"}[i%3], Flow: f}
	}
	return rows
}
