package node

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowfed/flowfed/internal/store"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/pseudo"
	"github.com/flowfed/flowfed/testnet/synth"
)

// benchStore ingests a synthetic capture of about packets packets into a new
// store and returns it with its vault.
func benchStore(b *testing.B, packets int) (*store.Store, *keyvault.Vault, int) {
	b.Helper()
	dir := b.TempDir()
	capPath := filepath.Join(dir, "bench.pcap")
	if _, err := synth.WriteFile(capPath, synth.Config{Seed: 1, Hosts: 200, Packets: packets}); err != nil {
		b.Fatal(err)
	}
	v, err := keyvault.Create(filepath.Join(dir, VaultFile), []byte("benchmark passphrase"), keyvault.Options{KDF: keyvault.KDFParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	st, err := store.Open(filepath.Join(dir, StoreFile), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	m, id, err := AddrMapper(v, pseudo.ModeCryptoPAn, keyvault.KeyID{}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	res, err := Ingest(context.Background(), st, []string{capPath}, IngestOptions{Mapper: m, KeyID: id.String(), Mode: string(pseudo.ModeCryptoPAn)})
	if err != nil || res[0].Err != nil {
		b.Fatal(err, res)
	}
	n, _ := st.FlowCount()
	return st, v, n
}

// BenchmarkBuildDatasetFromStore measures a flows dataset's build from the
// stored flows: reading and decoding the store, the privacy gates, encoding
// and chunking (not storing, so every iteration builds the same dataset).
func BenchmarkBuildDatasetFromStore(b *testing.B) {
	st, _, n := benchStore(b, 400_000)
	spec := dataset.Spec{Kind: dataset.KindFlows, K: 10}
	b.ResetTimer()
	for b.Loop() {
		if _, err := buildFrom(st, spec, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkMatchIntel screens the stored flows against 100,000 address
// indicators (90% addresses, 10% networks) in pseudonym space.
func BenchmarkMatchIntel(b *testing.B) {
	st, v, n := benchStore(b, 400_000)
	inds := map[string][]byte{}
	at := time.Now().Add(-time.Hour)
	for i := range 100_000 {
		typ, val := "ipv4", netip.AddrFrom4([4]byte{byte(11 + i>>16%200), byte(i >> 8), byte(i), 1}).String()
		if i%10 == 0 {
			typ, val = "cidr", fmt.Sprintf("100.%d.%d.0/24", i>>8%256, i%256)
		}
		ind, err := NewIndicator(typ, val, "ORG-X", at)
		if err != nil {
			b.Fatal(err)
		}
		inds[ind.ID] = ind.Encode()
	}
	// One that matches the synthesized servers, so matches are written too.
	hit, _ := NewIndicator("cidr", "198.51.100.0/24", "ORG-X", at)
	inds[hit.ID] = hit.Encode()
	if err := st.PutIndicators(inds); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		ms, err := MatchIntel(st, v, pseudo.ModeCryptoPAn, "ORG-A", false, time.Now())
		if err != nil || len(ms) == 0 {
			b.Fatal(err, len(ms))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	_ = intel.CanonVersion
}
