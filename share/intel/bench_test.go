package intel

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
)

const benchIndicators = 100_000

var (
	benchBundleOnce sync.Once
	benchBundle     []byte
)

// genBundle writes a STIX bundle of n indicators of mixed types (IPv4,
// CIDR, IPv6, domain, URL, SHA-256), each with a TLP 2.0 marking, as a feed
// of that size looks.
func genBundle(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 7))
	var b bytes.Buffer
	b.WriteString(`{"type":"bundle","id":"bundle--5f0c2a8e-0000-4000-8000-000000000b01","objects":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		var pat string
		switch i % 6 {
		case 0:
			pat = fmt.Sprintf("[ipv4-addr:value = '%d.%d.%d.%d']", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), rng.IntN(256))
		case 1:
			pat = fmt.Sprintf("[ipv4-addr:value = '%d.%d.%d.0/24']", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256))
		case 2:
			pat = fmt.Sprintf("[ipv6-addr:value = '2001:db8:%x::%x']", rng.IntN(65536), rng.IntN(65536))
		case 3:
			pat = fmt.Sprintf("[domain-name:value = 'host%d.example%d.org']", i, rng.IntN(1000))
		case 4:
			pat = fmt.Sprintf("[url:value = 'http://site%d.example/path/%d?q=%d']", rng.IntN(100000), i, rng.IntN(10))
		default:
			pat = fmt.Sprintf("[file:hashes.'SHA-256' = '%016x%016x%016x%016x']", rng.Uint64(), rng.Uint64(), rng.Uint64(), uint64(i))
		}
		fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"indicator--5f0c2a8e-0000-4000-8000-%012x",`+
			`"created_by_ref":"identity--5f0c2a8e-0000-4000-8000-0000000000aa","created":"2024-03-01T09:00:00.000Z",`+
			`"modified":"2024-03-01T09:00:00.000Z","indicator_types":["malicious-activity"],"pattern":%q,"pattern_type":"stix",`+
			`"valid_from":"2024-03-01T09:00:00Z","confidence":75,"object_marking_refs":["%s"]}`, i, pat, MarkingTLP2Green)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func loadBenchBundle() []byte {
	benchBundleOnce.Do(func() { benchBundle = genBundle(benchIndicators) })
	return benchBundle
}

// BenchmarkImportSTIX100k imports a generated bundle of 100 000
// indicators.
func BenchmarkImportSTIX100k(b *testing.B) {
	data := loadBenchBundle()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		res, err := ImportSTIX(bytes.NewReader(data), ImportOptions{})
		if err != nil || len(res.Problems) > 0 {
			b.Fatalf("ImportSTIX = %v, %v", err, res.Problems[:min(3, len(res.Problems))])
		}
		n = len(res.Indicators)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "indicators/s")
}

// BenchmarkExportSTIX100k exports the imported bundle again.
func BenchmarkExportSTIX100k(b *testing.B) {
	res, err := ImportSTIX(bytes.NewReader(loadBenchBundle()), ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := ExportSTIX(&out, res.Objects, STIXOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(res.Indicators))*float64(b.N)/b.Elapsed().Seconds(), "indicators/s")
}

// benchAddrIndicators returns 100 000 address indicators: 70% exact IPv4,
// 10% exact IPv6, 20% networks of lengths /8 to /30 and IPv6 /32 to /64.
func benchAddrIndicators(tb testing.TB) []Indicator {
	rng := rand.New(rand.NewPCG(9, 9))
	inds := make([]Indicator, 0, benchIndicators)
	seen := map[string]bool{}
	for len(inds) < benchIndicators {
		var typ Type
		var v string
		switch r := rng.IntN(10); {
		case r < 7:
			typ, v = TypeIPv4, netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()
		case r == 7:
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for i := 2; i < 16; i++ {
				a[i] = byte(rng.IntN(256))
			}
			typ, v = TypeIPv6, netip.AddrFrom16(a).String()
		case r == 8:
			bits := 8 + rng.IntN(23)
			a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			typ, v = TypeCIDR, netip.PrefixFrom(a, bits).Masked().String()
		default:
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for i := 2; i < 8; i++ {
				a[i] = byte(rng.IntN(256))
			}
			typ, v = TypeCIDR, netip.PrefixFrom(netip.AddrFrom16(a), 32+rng.IntN(33)).Masked().String()
		}
		ind, err := NewIndicator(typ, v)
		if err != nil {
			tb.Fatal(err)
		}
		if seen[ind.ID] {
			continue
		}
		seen[ind.ID] = true
		inds = append(inds, ind)
	}
	return inds
}

// BenchmarkMatchAddr matches pseudonymized addresses (Crypto-PAn) against
// 100 000 address indicators, exact and CIDR mixed; about one probe in
// four is a known address.
func BenchmarkMatchAddr(b *testing.B) {
	inds := benchAddrIndicators(b)
	mapper := cryptoPAn(b)
	m, err := NewMatcher(inds, mapper, true, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	probes := make([]netip.Addr, 1<<16)
	for i := range probes {
		var a netip.Addr
		if i%4 == 0 {
			ind := inds[rng.IntN(len(inds))]
			if ind.Type != TypeCIDR {
				a = netip.MustParseAddr(ind.Value)
			}
		}
		if !a.IsValid() {
			a = netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
		probes[i], _ = mapper.Map(a)
	}
	buf := make([]string, 0, 64)
	hits := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = m.AppendMatchAddr(buf[:0], probes[i&(len(probes)-1)])
		hits += len(buf)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "addrs/s")
	if hits == 0 {
		b.Fatal("no probe matched")
	}
}

// BenchmarkNewMatcher pseudonymizes and indexes 100 000 address
// indicators.
func BenchmarkNewMatcher(b *testing.B) {
	inds := benchAddrIndicators(b)
	mapper := cryptoPAn(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewMatcher(inds, mapper, true, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(inds))*float64(b.N)/b.Elapsed().Seconds(), "indicators/s")
}

// BenchmarkCanonicalizeURL canonicalises a typical URL.
func BenchmarkCanonicalizeURL(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Canonicalize(TypeURL, "HTTP://Www.Example.ORG:80/a/./b/../c%7e?q=%2f&x=1"); err != nil {
			b.Fatal(err)
		}
	}
}
