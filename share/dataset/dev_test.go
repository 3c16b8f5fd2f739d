package dataset

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/pseudo"
)

// devDir holds the development captures (../shared/data/pcap/dev from the
// module root); the tests skip when it is absent.
const devDir = "../../../shared/data/pcap/dev"

const devKeyID = "dev-epoch-1"

// devData meters every development capture, pseudonymizes the flows under a
// fixed test key and returns them as rows (source = file name), with the raw
// addresses and the evidence strings seen.
func devData(t testing.TB) (rows []Row, raw map[netip.Addr]bool, evidence []string) {
	t.Helper()
	entries, err := os.ReadDir(devDir)
	if err != nil {
		t.Skipf("development captures not available: %v", err)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i*7 + 1)
	}
	m, err := pseudo.NewAddrMapper(pseudo.ModeCryptoPAn, key)
	if err != nil {
		t.Fatal(err)
	}
	raw = map[netip.Addr]bool{}
	cfg := flow.Config{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".pcap") && !strings.HasSuffix(name, ".pcapng") {
			continue
		}
		_, err := flow.ReadFile(context.Background(), filepath.Join(devDir, name), cfg, func(f *flow.Flow) {
			r := f.Record(cfg)
			raw[r.Key.SrcAddr()], raw[r.Key.DstAddr()] = true, true
			if ev := r.Label.Evidence; ev != nil {
				for _, s := range []string{ev.DNSQuery, ev.TLSSNI, ev.UserAgent, ev.HTTPHost, ev.Banner, ev.SSHBanner, ev.Command} {
					if len(s) >= 8 {
						evidence = append(evidence, s)
					}
				}
			}
			r.Pseudonymize(m, devKeyID)
			rows = append(rows, Row{Source: name, Flow: &r})
		})
		if err != nil {
			t.Logf("%s: %v", name, err)
		}
	}
	if len(rows) == 0 {
		t.Skip("no flows in the development captures")
	}
	return rows, raw, evidence
}

func TestDevCaptures(t *testing.T) {
	rows, raw, evidence := devData(t)
	const k = 2
	// The released label classes, computed from the rows directly.
	hosts := map[label.Protocol]map[netip.Addr]bool{}
	flows := map[label.Protocol]uint64{}
	for _, r := range rows {
		p := r.Flow.Label.Protocol
		if hosts[p] == nil {
			hosts[p] = map[netip.Addr]bool{}
		}
		hosts[p][r.Flow.Key.SrcAddr()] = true
		flows[p]++
	}
	var want []LabelCount
	var records, suppressed int
	for p, hs := range hosts {
		if len(hs) >= k {
			want = append(want, LabelCount{p.String(), flows[p]})
			records += int(flows[p])
		} else {
			suppressed++
		}
	}
	slices.SortFunc(want, func(a, b LabelCount) int { return strings.Compare(a.Label, b.Label) })
	captures := map[string]bool{}
	for _, r := range rows {
		captures[r.Source] = true
	}
	t.Logf("%d flows from %d captures (%d evidence strings); %d released in %d label classes, %d classes suppressed",
		len(rows), len(captures), len(evidence), records, len(want), suppressed)

	b := mustBuild(t, Spec{Kind: KindFlows, K: k}, rows)
	m := b.Manifest
	if m.Records != records || m.Suppressed != suppressed || !slices.Equal(m.Labels, want) {
		t.Errorf("manifest records %d suppressed %d labels %v; want %d, %d, %v", m.Records, m.Suppressed, m.Labels, records, suppressed, want)
	}
	if !slices.Equal(m.KeyIDs, []string{devKeyID}) || len(m.ConfigDigests) != 1 || m.ConfigDigests[0] != (flow.Config{}).Digest() {
		t.Errorf("key IDs %v digests %v", m.KeyIDs, m.ConfigDigests)
	}
	if _, err := DecodeManifest(m.Encode()); err != nil {
		t.Errorf("DecodeManifest = %v", err)
	}
	sources := map[string]bool{}
	for _, r := range collectRecords(t, b) {
		sources[r.Source] = true
		if raw[r.Src] && raw[r.Dst] {
			t.Errorf("record %s %v > %v carries raw addresses", r.Source, r.Src, r.Dst)
		}
	}
	if len(sources) < 2 {
		t.Errorf("records come from %d captures", len(sources))
	}
	if again := mustBuild(t, Spec{Kind: KindFlows, K: k}, shuffled(rows, 3)); again.Manifest.ID != m.ID {
		t.Errorf("shuffled rows give another id")
	}
	outs := [][]byte{b.Content, m.Encode()}
	for _, f := range []string{FormatCSV, FormatJSONL, FormatNPZ} {
		outs = append(outs, exportBytes(t, b, f))
	}
	for _, ev := range evidence {
		for _, o := range outs {
			if bytes.Contains(o, []byte(ev)) {
				t.Errorf("dataset contains label evidence %q", ev)
			}
		}
	}
	// Aggregates by protocol release the same classes.
	ab := mustBuild(t, Spec{Kind: KindAggregates, GroupBy: []string{"protocol"}, K: k}, rows)
	if !slices.Equal(ab.Manifest.Labels, want) || ab.Manifest.Records != len(want) {
		t.Errorf("aggregates labels %v, want %v", ab.Manifest.Labels, want)
	}
	for _, a := range collectAggregates(t, ab) {
		p, _ := label.ParseProtocol(a.Protocol)
		if a.Flows != flows[p] || a.Hosts != uint64(len(hosts[p])) {
			t.Errorf("group %s: %d flows of %d hosts, want %d of %d", a.Protocol, a.Flows, a.Hosts, flows[p], len(hosts[p]))
		}
	}
	t.Run("numpy", func(t *testing.T) { checkWithNumpy(t, b, exportBytes(t, b, FormatNPZ)) })
}
