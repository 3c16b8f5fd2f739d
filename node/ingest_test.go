package node

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/internal/testutil"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/pseudo"
)

// testMapper is Crypto-PAn under a fixed test key.
func testMapper(t testing.TB) pseudo.AddrMapper {
	t.Helper()
	key := bytes.Repeat([]byte{7, 1, 3, 9}, 8)
	m, err := pseudo.NewAddrMapper(pseudo.ModeCryptoPAn, key, pseudo.WithPrefixCache(256))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// assertNoRawAddresses fails when any address of raw occurs in the bytes of the
// files under dir: IPv6 as its 16 bytes, IPv4 as its 4 bytes behind a protobuf
// length byte 4 (how the store encodes an address; a bare 4-byte search would hit
// by chance in megabytes of timestamps and counters), and both in text form.
func assertNoRawAddresses(t *testing.T, dir string, raw []netip.Addr) {
	t.Helper()
	var data []byte
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		data = append(data, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		t.Fatal("nothing stored")
	}
	found := 0
	for _, a := range raw {
		var pats [][]byte
		// Addresses made mostly of zero bytes (::1, 0.0.0.1) occur in any binary
		// file; only their text form says something.
		if b := a.AsSlice(); len(b)-bytes.Count(b, []byte{0}) >= 3 {
			if a.Is4() {
				pats = append(pats, append([]byte{4}, b...))
			} else {
				pats = append(pats, b)
			}
		}
		pats = append(pats, []byte(a.String()))
		for _, p := range pats {
			if i := bytes.Index(data, p); i >= 0 {
				found++
				if found < 10 {
					t.Errorf("raw address %s found in the data directory at byte %d (%q)", a, i, p)
				}
			}
		}
	}
	if found > 0 {
		t.Errorf("%d raw address forms found", found)
	}
}

func ingestOpts(t testing.TB) IngestOptions {
	return IngestOptions{Mapper: testMapper(t), KeyID: "ek_aaaaaaaaaaaaaaaaaaaaaaaaaa", Mode: "cryptopan", BatchSize: 16}
}

func TestIngestSyntheticNoRawAddressesAndIdempotent(t *testing.T) {
	dir := t.TempDir()
	capPath := filepath.Join(t.TempDir(), "synth.pcap")
	raw := testutil.WriteSynthCapture(t, capPath, 40)
	st, err := store.Open(filepath.Join(dir, "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Ingest(context.Background(), st, []string{capPath}, ingestOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Skipped || res[0].Flows != 120 {
		t.Fatalf("first ingest: %+v; want 120 flows (40 TCP, 40 DNS, 40 IPv6)", res[0])
	}
	n1, _ := st.FlowCount()
	// Again, under another name: the same bytes are the same capture.
	other := filepath.Join(t.TempDir(), "renamed.pcap")
	b, _ := os.ReadFile(capPath)
	if err := os.WriteFile(other, b, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = Ingest(context.Background(), st, []string{capPath, other}, ingestOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Skipped || !res[1].Skipped {
		t.Fatalf("second ingest not skipped: %+v", res)
	}
	if n2, _ := st.FlowCount(); n2 != n1 || n1 != 120 {
		t.Fatalf("flow count %d then %d, want 120 both times", n1, n2)
	}
	// Every stored flow carries the key ID, and the DNS answers are pseudonyms.
	isRaw := map[string]bool{}
	for _, a := range raw {
		isRaw[a.String()] = true
	}
	labelled := 0
	err = st.ForEachFlow(func(r *flow.Record) error {
		if r.KeyID == "" {
			t.Errorf("flow without key ID: %+v", r.Key)
		}
		if ev := r.Label.Evidence; ev != nil && ev.DNSAnswer != "" {
			labelled++
			if _, err := netip.ParseAddr(ev.DNSAnswer); err != nil || isRaw[ev.DNSAnswer] {
				t.Errorf("DNS answer evidence %q is not a pseudonym", ev.DNSAnswer)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if labelled != 40 {
		t.Errorf("%d flows with a DNS answer, want 40", labelled)
	}
	st.Close()
	assertNoRawAddresses(t, dir, raw)
}

// cancellingMapper cancels a context after n addresses, simulating an ingest that
// is killed halfway.
type cancellingMapper struct {
	flow.AddrMapper
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancellingMapper) Map(a netip.Addr) netip.Addr {
	if c.n.Add(-1) == 0 {
		c.cancel()
	}
	return c.AddrMapper.Map(a)
}

func TestIngestInterruptedThenCompleted(t *testing.T) {
	capPath := filepath.Join(t.TempDir(), "synth.pcap")
	testutil.WriteSynthCapture(t, capPath, 60)
	st, err := store.Open(filepath.Join(t.TempDir(), "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	opts := ingestOpts(t)
	cm := &cancellingMapper{AddrMapper: opts.Mapper, cancel: cancel}
	cm.n.Store(150)
	opts.Mapper = cm
	if _, err := Ingest(ctx, st, []string{capPath}, opts); err == nil {
		t.Fatal("interrupted ingest reported success")
	}
	partial, _ := st.FlowCount()
	ins, _ := st.Ingests()
	if len(ins) != 1 || ins[0].Complete || partial == 0 || partial >= 180 {
		t.Fatalf("after the interruption: %d flows, ingests %+v; want some flows and an incomplete ingest", partial, ins)
	}
	res, err := Ingest(context.Background(), st, []string{capPath}, ingestOpts(t))
	if err != nil || res[0].Skipped {
		t.Fatalf("re-run: %+v %v", res, err)
	}
	if n, _ := st.FlowCount(); n != 180 {
		t.Fatalf("after the re-run %d flows, want 180 (no duplicates)", n)
	}
}

func TestIngestNeedsPseudonymizer(t *testing.T) {
	if _, err := Ingest(context.Background(), nil, []string{"x"}, IngestOptions{}); err != ErrNoPseudonymizer {
		t.Fatalf("Ingest without mapper = %v", err)
	}
}

// devDir is the reference corpus next to the repository, when present.
const devDir = "../../shared/data/pcap/dev"

func TestIngestDevCorpusLeavesNoRawAddress(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(devDir, "*.pcap*"))
	if len(files) == 0 {
		t.Skip("reference captures not present at " + devDir)
	}
	sort.Strings(files)
	// The raw addresses, as the flow meter sees them (endpoints, tunnel endpoints,
	// address literals in the evidence).
	seen := map[netip.Addr]bool{}
	collect := collector{seen: seen}
	for _, f := range files {
		if _, err := flow.ReadFile(context.Background(), f, flow.Config{}, func(fl *flow.Flow) {
			c := fl.Clone()
			c.Pseudonymize(&collect)
		}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := ingestOpts(t)
	opts.BatchSize = 0
	res, err := Ingest(context.Background(), st, files, opts)
	if err != nil {
		t.Fatal(err)
	}
	var flows uint64
	for _, r := range res {
		flows += r.Flows
	}
	n, _ := st.FlowCount()
	if uint64(n) != flows {
		t.Fatalf("stored %d flows, ingest reported %d", n, flows)
	}
	st.Close()
	var raw []netip.Addr
	for a := range seen {
		raw = append(raw, a)
	}
	t.Logf("%d captures, %d flows, %d distinct raw addresses checked", len(files), flows, len(raw))
	assertNoRawAddresses(t, dir, raw)
}

// collector records every address it is asked to map and maps it to itself.
type collector struct{ seen map[netip.Addr]bool }

func (c *collector) Map(a netip.Addr) netip.Addr {
	if a.IsValid() && !a.IsUnspecified() {
		c.seen[a] = true
	}
	return a
}
