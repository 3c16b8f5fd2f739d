package dataset

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/usage"
)

func TestBuildFlowsRoundTrip(t *testing.T) {
	fs := append(hostsFlows(4, 1, label.DNS, 53), hostsFlows(3, 2, label.TLS, 443)...)
	fs[0].src, fs[0].dst = "2001:db8::1", "2001:db8::53"
	fs[1].lsrc = label.SourcePort
	fs[2].steps = 200 // more than Steps: cut
	rows := rowsOf(fs, "capture-a")
	b := mustBuild(t, Spec{Kind: KindFlows, K: 3}, rows)
	m := b.Manifest
	if m.Records != 7 || m.Suppressed != 0 || m.K != 3 || m.Usage.KMin != 3 {
		t.Fatalf("manifest records=%d suppressed=%d k=%d kmin=%d", m.Records, m.Suppressed, m.K, m.Usage.KMin)
	}
	wantLabels := []LabelCount{{"DNS", 4}, {"TLS", 3}}
	if !slices.Equal(m.Labels, wantLabels) {
		t.Errorf("labels = %v, want %v", m.Labels, wantLabels)
	}
	if m.Usage.TLP != usage.Amber || !slices.Equal(m.Usage.Purposes, []string{"research"}) ||
		m.Usage.RetentionDays != 180 || m.Usage.Reshare != usage.ReshareNone {
		t.Errorf("usage = %v, want the safe defaults", m.Usage)
	}
	if !slices.Equal(m.KeyIDs, []string{"epoch-2024-03"}) || !slices.Equal(m.ConfigDigests, []string{"0123456789abcdef"}) {
		t.Errorf("key IDs %v, digests %v", m.KeyIDs, m.ConfigDigests)
	}
	if m.Features == nil || m.Features.Steps != Steps || !slices.Equal(m.Features.Names, FeatureNames) {
		t.Errorf("features = %+v", m.Features)
	}
	if !m.TimeRange.From.Equal(t0) || !m.TimeRange.To.Equal(t0.Add(3*time.Minute+4*time.Second)) {
		t.Errorf("time range = %v", m.TimeRange)
	}
	got := collectRecords(t, b)
	if len(got) != len(rows) {
		t.Fatalf("%d records, want %d", len(got), len(rows))
	}
	// Every input flow comes back once, with its tensor.
	type startSrc struct {
		start int64
		src   netip.Addr
	}
	byStart := map[startSrc]*flow.Record{}
	for _, r := range rows {
		byStart[startSrc{r.Flow.Start, r.Flow.Key.SrcAddr()}] = r.Flow
	}
	for i, r := range got {
		in := byStart[startSrc{r.Start.UnixNano(), r.Src}]
		if in == nil {
			t.Fatalf("record %d: no input flow starts at %v", i, r.Start)
		}
		if i > 0 && r.Start.Before(got[i-1].Start) {
			t.Errorf("records not in start order")
		}
		if r.Src != in.Key.SrcAddr() || r.Dst != in.Key.DstAddr() || r.SrcPort != in.Key.SrcPort ||
			r.DstPort != in.Key.DstPort || r.Proto != in.Key.Proto || r.KeyID != in.KeyID || r.Source != "capture-a" {
			t.Errorf("record %d endpoints = %v:%d > %v:%d key %q", i, r.Src, r.SrcPort, r.Dst, r.DstPort, r.KeyID)
		}
		if r.Label != in.Label.Protocol.String() || r.LabelSource != map[label.Source]string{label.SourcePayload: "payload", label.SourcePort: "port"}[in.Label.Source] {
			t.Errorf("record %d label = %s/%s, want %v", i, r.Label, r.LabelSource, in.Label)
		}
		if r.Orig.Packets != in.Orig.Packets || r.Resp.Bytes != in.Resp.IPBytes || r.Orig.Retransmits != uint64(in.Orig.Retransmits) ||
			r.Orig.PayloadBytes != in.Orig.PayloadBytes || r.Duration() != time.Duration(in.End-in.Start) {
			t.Errorf("record %d stats = %+v %+v", i, r.Orig, r.Resp)
		}
		x, mask := make([]float32, Steps*Features), make([]float32, Steps)
		n := Tensor(in, x, mask)
		if !slices.Equal(r.X, x) || !slices.Equal(r.Mask, mask) || len(r.Seq) != n {
			t.Errorf("record %d tensor differs from Tensor of the input (%d steps, want %d)", i, len(r.Seq), n)
		}
	}
}

func TestEvidenceNeverReleased(t *testing.T) {
	rows := rowsOf(append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(12, 2, label.HTTP, 80)...), "cap")
	secrets := []string{secretEvidence.DNSQuery, secretEvidence.TLSSNI, secretEvidence.UserAgent, secretEvidence.HTTPHost}
	for _, s := range []Spec{{Kind: KindFlows}, {Kind: KindAggregates, GroupBy: []string{"protocol", "window"}}} {
		b := mustBuild(t, s, rows)
		outs := [][]byte{b.Content, b.Manifest.Encode()}
		for _, f := range []string{FormatCSV, FormatJSONL, FormatNPZ} {
			var buf bytes.Buffer
			if err := Export(&buf, b.Manifest, b.Content, f); err == nil {
				outs = append(outs, buf.Bytes())
			}
		}
		for _, o := range outs {
			for _, sec := range secrets {
				if bytes.Contains(o, []byte(sec)) {
					t.Errorf("%s dataset contains evidence %q", s.Kind, sec)
				}
			}
		}
	}
}

func TestDeterministicID(t *testing.T) {
	fs := append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(11, 2, label.TLS, 443)...)
	fs = append(fs, hostsFlows(3, 3, label.SSH, 22)...) // suppressed
	// Two flows that differ only in their steps, at one start time: the
	// order must not depend on the rows' order.
	twin := fs[0]
	twin.steps = 7
	fs = append(fs, twin)
	rows := rowsOf(fs, "cap")
	specs := []Spec{
		{Kind: KindFlows},
		{Kind: KindAggregates, GroupBy: []string{"window", "protocol"}, Window: 10 * time.Minute},
		{Kind: KindAggregates, GroupBy: []string{"pair"}, K: 1},
		{Kind: KindAggregates},
	}
	for _, s := range specs {
		ref := mustBuild(t, s, rows)
		for seed := range uint64(5) {
			b := mustBuild(t, s, shuffled(rows, seed))
			if b.Manifest.ID != ref.Manifest.ID || !bytes.Equal(b.Content, ref.Content) {
				t.Errorf("%s %v: shuffled rows give id %s, want %s", s.Kind, s.GroupBy, b.Manifest.ID, ref.Manifest.ID)
			}
		}
		// The id changes with the content and with the spec.
		other := mustBuild(t, s, rows[1:])
		if other.Manifest.ID == ref.Manifest.ID {
			t.Errorf("%s: dropping a flow keeps the id", s.Kind)
		}
		s.Usage.TLP = usage.Green
		if mustBuild(t, s, rows).Manifest.ID == ref.Manifest.ID {
			t.Errorf("%s: another usage policy keeps the id", s.Kind)
		}
	}
}

func TestKThreshold(t *testing.T) {
	rows := rowsOf(append(hostsFlows(10, 1, label.DNS, 53), hostsFlows(9, 2, label.TLS, 443)...), "cap")
	b := mustBuild(t, Spec{Kind: KindFlows}, rows)
	if b.Manifest.K != DefaultK || b.Manifest.Suppressed != 1 || b.Manifest.Records != 10 {
		t.Errorf("k=%d suppressed=%d records=%d, want %d, 1, 10", b.Manifest.K, b.Manifest.Suppressed, b.Manifest.Records, DefaultK)
	}
	for _, r := range collectRecords(t, b) {
		if r.Label != "DNS" {
			t.Errorf("record of suppressed class %s released", r.Label)
		}
	}
	// Many flows from few hosts do not pass: hosts count, not flows.
	few := hostsFlows(3, 1, label.DNS, 53)
	var many []fl
	for i := range 30 {
		f := few[i%3]
		f.start = time.Duration(i) * time.Second
		many = append(many, f)
	}
	_, err := Build(Spec{Kind: KindFlows, K: 4}, seqOf(rowsOf(many, "cap")))
	if !errors.Is(err, ErrBelowK) || !strings.Contains(err.Error(), "3 distinct source hosts") {
		t.Errorf("Build(30 flows of 3 hosts, k=4) = %v, want ErrBelowK naming 3 hosts", err)
	}
	// Enough hosts overall, but no cell reaches k.
	_, err = Build(Spec{Kind: KindAggregates, GroupBy: []string{"host"}, K: 2}, seqOf(rows))
	if !errors.Is(err, ErrBelowK) || !strings.Contains(err.Error(), "19") {
		t.Errorf("Build(group by host, k=2) = %v, want ErrBelowK", err)
	}
	// The usage policy's k_min raises k.
	_, err = Build(Spec{Kind: KindFlows, K: 2, Usage: usage.Policy{KMin: 11}}, seqOf(rows))
	if !errors.Is(err, ErrBelowK) {
		t.Errorf("Build(k_min 11) = %v, want ErrBelowK", err)
	}
	// A host is counted once however many epoch keys show it: two keys
	// with 6 pseudonyms each count as 6, not 12.
	two := hostsFlows(12, 1, label.DNS, 53)
	for i := range two {
		if i >= 6 {
			two[i].key = "epoch-2024-04"
		}
	}
	_, err = Build(Spec{Kind: KindFlows, K: 7}, seqOf(rowsOf(two, "cap")))
	if !errors.Is(err, ErrBelowK) || !strings.Contains(err.Error(), "6 distinct") {
		t.Errorf("Build(6+6 hosts under two keys, k=7) = %v, want ErrBelowK naming 6 hosts", err)
	}
}

// TestComplementarySuppression checks that a suppressed cell cannot be
// recomputed: whatever its size, every published byte (manifest, content,
// exports) stays the same, and published totals add up over released cells.
func TestComplementarySuppression(t *testing.T) {
	base := append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(10, 2, label.TLS, 443)...)
	// The SSH cell (2 hosts) is below k=10; vary its flows and volumes.
	variant := func(n int, bytes uint64) []Row {
		fs := slices.Clone(base)
		for i := range n {
			fs = append(fs, fl{src: []string{"10.9.0.1", "10.9.0.2"}[i%2], dst: "192.0.2.22", sport: uint16(50000 + i), dport: 22,
				label: label.SSH, lsrc: label.SourcePayload, start: time.Duration(i) * time.Minute, dur: time.Hour, steps: 9, pk: 99, by: bytes})
		}
		return rowsOf(fs, "cap")
	}
	specs := []Spec{
		{Kind: KindFlows},
		{Kind: KindAggregates},
		{Kind: KindAggregates, GroupBy: []string{"window"}, Window: 24 * time.Hour},
		{Kind: KindAggregates, GroupBy: []string{"protocol"}},
	}
	for _, s := range specs {
		ref := mustBuild(t, s, variant(2, 1000))
		for _, v := range []struct {
			n  int
			by uint64
		}{{3, 1000}, {7, 50}, {40, 1 << 30}} {
			b := mustBuild(t, s, variant(v.n, v.by))
			if !bytes.Equal(b.Manifest.Encode(), ref.Manifest.Encode()) || !bytes.Equal(b.Content, ref.Content) {
				t.Errorf("%s %v: the dataset changes with the suppressed cell (%d flows of %d bytes)", s.Kind, s.GroupBy, v.n, v.by)
			}
		}
		m := ref.Manifest
		if m.Suppressed != 1 {
			t.Errorf("%s %v: suppressed = %d, want 1", s.Kind, s.GroupBy, m.Suppressed)
		}
		for _, l := range m.Labels {
			if l.Label == "SSH" {
				t.Errorf("%s %v: manifest lists the suppressed label", s.Kind, s.GroupBy)
			}
		}
		// Published totals add up over released cells.
		var labelSum uint64
		for _, l := range m.Labels {
			labelSum += l.Count
		}
		if s.Kind == KindFlows {
			if labelSum != uint64(m.Records) || m.Records != 22 {
				t.Errorf("flows: label counts add to %d, records %d, want 22", labelSum, m.Records)
			}
			continue
		}
		var flows uint64
		perLabel := map[string]uint64{}
		for _, a := range collectAggregates(t, ref) {
			flows += a.Flows
			for _, l := range a.Labels {
				perLabel[l.Label] += l.Count
			}
			if a.Flows == 0 || a.DurationMax >= time.Hour {
				t.Errorf("%v: group %+v includes suppressed flows", s.GroupBy, a)
			}
		}
		if flows != labelSum || flows != 22 {
			t.Errorf("%v: groups add to %d flows, label counts to %d, want 22", s.GroupBy, flows, labelSum)
		}
		for _, l := range m.Labels {
			if perLabel[l.Label] != l.Count {
				t.Errorf("%v: label %s: groups add to %d, manifest says %d", s.GroupBy, l.Label, perLabel[l.Label], l.Count)
			}
		}
	}
}

func TestAggregates(t *testing.T) {
	fs := append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(10, 2, label.TLS, 443)...)
	fs = append(fs, hostsFlows(10, 3, label.DNS, 53)...)
	for i := range fs {
		if fs[i].src >= "10.0.3." {
			fs[i].start += 2 * time.Hour // a second window
			fs[i].dst = "192.0.2.54"
		}
	}
	rows := rowsOf(fs, "cap")
	b := mustBuild(t, Spec{Kind: KindAggregates, GroupBy: []string{"window", "protocol"}}, rows)
	m := b.Manifest
	if !slices.Equal(m.GroupBy, []string{"protocol", "window"}) || time.Duration(m.Window) != time.Hour {
		t.Errorf("group-by %v window %v", m.GroupBy, m.Window)
	}
	got := collectAggregates(t, b)
	if len(got) != 3 || m.Records != 3 {
		t.Fatalf("%d groups (manifest %d), want 3", len(got), m.Records)
	}
	// Recompute every group from the input.
	type gk struct {
		p string
		w time.Time
	}
	want := map[gk]*Aggregate{}
	durs := map[gk][]time.Duration{}
	dsts := map[gk]map[string]bool{}
	for _, f := range fs {
		k := gk{f.label.String(), t0.Add(f.start).Truncate(time.Hour)}
		a := want[k]
		if a == nil {
			a = &Aggregate{}
			want[k], dsts[k] = a, map[string]bool{}
		}
		a.Flows++
		a.Hosts++ // one flow per host in hostsFlows
		a.OrigPackets += f.pk
		a.RespPackets += f.pk / 2
		a.OrigBytes += f.by
		a.RespBytes += f.by * 3
		durs[k] = append(durs[k], f.dur)
		dsts[k][f.dst] = true
	}
	for i, a := range got {
		k := gk{a.Protocol, a.Window}
		w := want[k]
		if w == nil {
			t.Fatalf("unexpected group %s %v", a.Protocol, a.Window)
		}
		if i > 0 && (got[i-1].Protocol > a.Protocol || got[i-1].Protocol == a.Protocol && !got[i-1].Window.Before(a.Window)) {
			t.Errorf("groups not in canonical order")
		}
		ds := durs[k]
		slices.Sort(ds)
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		if a.Flows != w.Flows || a.Hosts != w.Hosts || a.OrigPackets != w.OrigPackets || a.RespPackets != w.RespPackets ||
			a.OrigBytes != w.OrigBytes || a.RespBytes != w.RespBytes || a.Counterparts != uint64(len(dsts[k])) {
			t.Errorf("group %s %v = %+v, want %+v", a.Protocol, a.Window, a, w)
		}
		if a.DurationMin != ds[0] || a.DurationMax != ds[len(ds)-1] || a.DurationMean != sum/time.Duration(len(ds)) ||
			a.DurationP50 != ds[(len(ds)+1)/2-1] {
			t.Errorf("group %s %v durations %v %v %v %v", a.Protocol, a.Window, a.DurationMin, a.DurationP50, a.DurationMax, a.DurationMean)
		}
		if len(a.Labels) != 1 || a.Labels[0] != (LabelCount{a.Protocol, a.Flows}) {
			t.Errorf("group labels %v", a.Labels)
		}
	}
	if !slices.Equal(m.Labels, []LabelCount{{"DNS", 22}, {"TLS", 10}}) {
		t.Errorf("labels %v", m.Labels)
	}
}

func TestBadInput(t *testing.T) {
	rows := rowsOf(hostsFlows(12, 1, label.DNS, 53), "cap")
	raw := rowsOf(hostsFlows(1, 1, label.DNS, 53), "cap")
	raw[0].Flow.KeyID = ""
	bad := rowsOf(hostsFlows(1, 1, label.DNS, 53), "cap")
	bad[0].Flow.End = bad[0].Flow.Start - 1
	cases := []struct {
		name string
		spec Spec
		rows []Row
		want error
	}{
		{"no rows", Spec{Kind: KindFlows}, nil, ErrEmpty},
		{"nothing in range", Spec{Kind: KindFlows, From: t0.Add(48 * time.Hour)}, rows, ErrEmpty},
		{"no such label", Spec{Kind: KindFlows, Labels: []string{"tls"}}, rows, ErrEmpty},
		{"population below k", Spec{Kind: KindFlows, K: 13}, rows, ErrBelowK},
		{"unknown kind", Spec{Kind: "pcap"}, rows, ErrSpec},
		{"group-by on flows", Spec{Kind: KindFlows, GroupBy: []string{"host"}}, rows, ErrSpec},
		{"unknown group-by", Spec{Kind: KindAggregates, GroupBy: []string{"port"}}, rows, ErrSpec},
		{"repeated group-by", Spec{Kind: KindAggregates, GroupBy: []string{"host", "Host"}}, rows, ErrSpec},
		{"negative window", Spec{Kind: KindAggregates, GroupBy: []string{"window"}, Window: -time.Hour}, rows, ErrSpec},
		{"tiny window", Spec{Kind: KindAggregates, GroupBy: []string{"window"}, Window: time.Millisecond}, rows, ErrSpec},
		{"empty range", Spec{Kind: KindFlows, From: t0, To: t0}, rows, ErrSpec},
		{"unknown label", Spec{Kind: KindFlows, Labels: []string{"gopher"}}, rows, ErrSpec},
		{"negative k", Spec{Kind: KindFlows, K: -1}, rows, ErrSpec},
		{"dp on flows", Spec{Kind: KindFlows, DP: &DP{Mechanism: "laplace", Epsilon: 0.5}}, rows, ErrSpec},
		{"dp mechanism", Spec{Kind: KindAggregates, DP: &DP{Mechanism: "uniform", Epsilon: 0.5}}, rows, ErrSpec},
		{"dp epsilon", Spec{Kind: KindAggregates, DP: &DP{Mechanism: "laplace"}}, rows, ErrSpec},
		{"dp laplace delta", Spec{Kind: KindAggregates, DP: &DP{Mechanism: "laplace", Epsilon: 0.5, Delta: 1e-6}}, rows, ErrSpec},
		{"dp gaussian delta", Spec{Kind: KindAggregates, DP: &DP{Mechanism: "gaussian", Epsilon: 0.5}}, rows, ErrSpec},
		{"dp over budget", Spec{Kind: KindAggregates, DP: &DP{Mechanism: "laplace", Epsilon: 2}}, rows, ErrBudgetExhausted},
		{"raw addresses", Spec{Kind: KindFlows}, raw, ErrRawAddresses},
		{"nil flow", Spec{Kind: KindFlows}, []Row{{Source: "x"}}, ErrSpec},
		{"flow ends before start", Spec{Kind: KindFlows}, bad, ErrSpec},
		{"bad source", Spec{Kind: KindFlows}, []Row{{Source: "a\x00b", Flow: rows[0].Flow}}, ErrSpec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Build(c.spec, seqOf(c.rows))
			if !errors.Is(err, c.want) || b != nil {
				t.Fatalf("Build = %v, %v; want nil, %v", b, err, c.want)
			}
			if strings.Contains(err.Error(), "10.0.1.") {
				t.Errorf("error %q names an address", err)
			}
		})
	}
}

func TestSelection(t *testing.T) {
	fs := append(hostsFlows(12, 1, label.DNS, 53), hostsFlows(12, 2, label.TLS, 443)...)
	rows := rowsOf(fs, "cap")
	from, to := t0.Add(2*time.Minute), t0.Add(9*time.Minute)
	b := mustBuild(t, Spec{Kind: KindFlows, From: from, To: to, Labels: []string{"dns"}, K: 1}, rows)
	m := b.Manifest
	if m.Records != 7 || !slices.Equal(m.Selection.Labels, []string{"DNS"}) || !m.Selection.From.Equal(from) {
		t.Errorf("records %d selection %+v", m.Records, m.Selection)
	}
	for _, r := range collectRecords(t, b) {
		if r.Label != "DNS" || r.Start.Before(from) || !r.Start.Before(to) {
			t.Errorf("record %s at %v outside the selection", r.Label, r.Start)
		}
	}
}
