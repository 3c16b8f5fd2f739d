package packet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// refParser is gopacket's DecodingLayerParser for the layers that both
// decoders know: the independent reference for the comparison test and
// the benchmark.
type refParser struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newRefParser() *refParser {
	r := &refParser{decoded: make([]gopacket.LayerType, 0, 16)}
	r.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &r.eth, &r.dot1q, &r.ip4, &r.ip6, &r.tcp, &r.udp)
	r.parser.IgnoreUnsupported = true
	return r
}

// TestAgainstGopacket decodes every Ethernet packet of the development
// captures with gopacket as well and requires the layers both know
// (Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP) at the same offsets with the
// same ports, in the outer packet that gopacket decodes.
func TestAgainstGopacket(t *testing.T) {
	entries, err := os.ReadDir(devDir)
	if err != nil {
		t.Skipf("development captures not available: %v", err)
	}
	ref := newRefParser()
	var p Packet
	compared := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "pcap") && !strings.HasSuffix(e.Name(), "pcapng") {
			continue
		}
		for n, r := range readCapture(t, filepath.Join(devDir, e.Name())) {
			if r.linkType != LinkEthernet {
				continue
			}
			_ = Decode(&p, r.data, r.linkType)
			// On an error, decoded lists the layers before the one that
			// failed; those are compared.
			_ = ref.parser.DecodeLayers(r.data, &ref.decoded)
			off := 0
			for _, lt := range ref.decoded {
				var k Kind
				var size int
				var sp, dp uint16
				switch lt {
				case layers.LayerTypeEthernet:
					k, size = Ethernet, len(ref.eth.Contents)
				case layers.LayerTypeDot1Q:
					k, size = VLAN, len(ref.dot1q.Contents)
				case layers.LayerTypeIPv4:
					k, size = IPv4, len(ref.ip4.Contents)
				case layers.LayerTypeIPv6:
					// gopacket folds a hop-by-hop header into IPv6.
					k, size = IPv6, len(ref.ip6.Contents)
				case layers.LayerTypeTCP:
					k, size = TCP, len(ref.tcp.Contents)
					sp, dp = uint16(ref.tcp.SrcPort), uint16(ref.tcp.DstPort)
				case layers.LayerTypeUDP:
					k, size = UDP, len(ref.udp.Contents)
					sp, dp = uint16(ref.udp.SrcPort), uint16(ref.udp.DstPort)
				}
				i := headerAt(&p, k, off)
				if i < 0 {
					t.Errorf("%s packet %d: gopacket has %v at %d, decoder has %s (%v)", e.Name(), n+1, lt, off, kinds(&p), p.Stop)
					break
				}
				if k == TCP || k == UDP {
					gsp, gdp, _ := p.Headers[i].Ports(r.data)
					if gsp != sp || gdp != dp {
						t.Errorf("%s packet %d: ports %d>%d, gopacket %d>%d", e.Name(), n+1, gsp, gdp, sp, dp)
					}
				}
				compared++
				off += size
			}
		}
	}
	t.Logf("%d layers compared with gopacket", compared)
}

// headerAt returns the index of the header of kind k at off, or -1.
func headerAt(p *Packet, k Kind, off int) int {
	for i := 0; i < p.N; i++ {
		if h := p.Headers[i]; h.Kind == k && h.Off == off {
			return i
		}
	}
	return -1
}
