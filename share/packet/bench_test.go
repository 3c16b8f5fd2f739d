package packet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The benchmarks decode a mix of synthetic packets (Ethernet/IPv4/TCP,
// VLAN/IPv6/UDP, VXLAN with an inner TCP packet, GRE, an ICMP error with
// a quote) and report ns per packet, first with Decode, then with
// gopacket's DecodingLayerParser over Ethernet, 802.1Q, IPv4, IPv6, TCP
// and UDP. gopacket does less work: it stops at the first tunnel and
// does not look into ICMP quotes.

var benchNames = []string{"eth-ipv4-tcp", "vlan-ipv6-udp", "vxlan", "gre", "icmp-quote"}

func BenchmarkDecode(b *testing.B) {
	mix := benchMix(b)
	var p Packet
	for i, data := range mix {
		b.Run(benchNames[i], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Decode(&p, data, LinkEthernet)
			}
		})
	}
	b.Run("mix", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for _, data := range mix {
				_ = Decode(&p, data, LinkEthernet)
			}
			n += len(mix)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
	})
}

func BenchmarkGopacketDecodingLayerParser(b *testing.B) {
	mix := benchMix(b)
	ref := newRefParser()
	for i, data := range mix {
		b.Run(benchNames[i], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = ref.parser.DecodeLayers(data, &ref.decoded)
			}
		})
	}
	b.Run("mix", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for _, data := range mix {
				_ = ref.parser.DecodeLayers(data, &ref.decoded)
			}
			n += len(mix)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
	})
}

// devEthernet returns every Ethernet packet of the development captures,
// skipping the benchmark when they are absent.
func devEthernet(b *testing.B) [][]byte {
	entries, err := os.ReadDir(devDir)
	if err != nil {
		b.Skipf("development captures not available: %v", err)
	}
	var pkts [][]byte
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "pcap") && !strings.HasSuffix(e.Name(), "pcapng") {
			continue
		}
		for _, r := range readCapture(b, filepath.Join(devDir, e.Name())) {
			if r.linkType == LinkEthernet {
				pkts = append(pkts, r.data)
			}
		}
	}
	return pkts
}

// BenchmarkDevCaptures decodes every Ethernet packet of the development
// captures (real traffic of many protocols) with Decode and with gopacket.
func BenchmarkDevCaptures(b *testing.B) {
	pkts := devEthernet(b)
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		var p Packet
		n := 0
		for b.Loop() {
			for _, data := range pkts {
				_ = Decode(&p, data, LinkEthernet)
			}
			n += len(pkts)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
	})
	b.Run("gopacket", func(b *testing.B) {
		b.ReportAllocs()
		ref := newRefParser()
		n := 0
		for b.Loop() {
			for _, data := range pkts {
				_ = ref.parser.DecodeLayers(data, &ref.decoded)
			}
			n += len(pkts)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
	})
}
