package label

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// Benchmarks of Observe on the first packet of a flow, matching and not
// matching (run with -benchmem: the non-matching path must not allocate),
// and of labelling whole flows of the development captures.

func benchObserve(b *testing.B, transport uint8, sp, dp uint16, payload []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		var s State
		s.Observe(true, transport, sp, dp, payload)
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func BenchmarkObserve(b *testing.B) {
	q := dnsQuery(0x1234, "www.example.org", dnsTypeA)
	ch := tlsRecord(tlsRecordHandshake, clientHello("www.example.org", []string{"h2", "http/1.1"}, []uint16{0x0304, 0x0303}, 200))
	req := []byte("GET /index.html HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")
	hello := clientHello("quic.example.org", []string{"h3"}, []uint16{0x0304}, 0)
	initial := sealInitial(quicV1, []byte{1, 2, 3, 4, 5, 6, 7, 8}, cryptoFrame(0, hello))
	b.Run("DNSQuery", func(b *testing.B) { benchObserve(b, ipUDP, 40000, 53, q) })
	b.Run("TLSClientHello", func(b *testing.B) { benchObserve(b, ipTCP, 40000, 443, ch) })
	b.Run("HTTPRequest", func(b *testing.B) { benchObserve(b, ipTCP, 40000, 80, req) })
	b.Run("QUICInitial", func(b *testing.B) { benchObserve(b, ipUDP, 40000, 443, initial) })
	b.Run("RandomTCP", func(b *testing.B) { benchObserve(b, ipTCP, 40000, 5555, randomBytes(1400, 1)) })
	b.Run("RandomUDP", func(b *testing.B) { benchObserve(b, ipUDP, 40000, 5555, randomBytes(200, 2)) })
	b.Run("RandomUDPSmall", func(b *testing.B) { benchObserve(b, ipUDP, 40000, 5555, randomBytes(48, 3)) })
	b.Run("TextTCP", func(b *testing.B) {
		benchObserve(b, ipTCP, 40000, 5555, []byte("A001 LOGIN user secret\r\nA002 SELECT INBOX\r\n"))
	})
}

// BenchmarkUnknownFlow labels a flow of random payloads in both
// directions until Observe reports done: the cost of a flow that matches
// nothing.
func BenchmarkUnknownFlow(b *testing.B) {
	pkts := make([][]byte, 20)
	for i := range pkts {
		pkts[i] = randomBytes(100+50*i, uint64(i+10))
	}
	for _, transport := range []uint8{ipTCP, ipUDP} {
		name := map[uint8]string{ipTCP: "TCP", ipUDP: "UDP"}[transport]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var s State
				for i, p := range pkts {
					if s.Observe(i%2 == 0, transport, 40000, 5555, p) {
						break
					}
				}
				s.Result(transport, 40000, 5555)
			}
		})
	}
}

// BenchmarkDevCaptures labels every flow of the development captures,
// calling Observe as the flow table does, and reports the time per packet
// given to Observe.
func BenchmarkDevCaptures(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(devDir, "*.pcap*"))
	if len(files) == 0 {
		b.Skip("development captures not available")
	}
	type flow struct {
		transport    uint8
		cport, sport uint16
		pkts         []pkt
	}
	var flows []flow
	total := 0
	for _, f := range files {
		for _, fl := range readFlowsRecorded(b, f) {
			x := flow{transport: fl.proto, cport: fl.init.Port(), sport: fl.resp.Port(), pkts: fl.recorded}
			total += len(x.pkts)
			flows = append(flows, x)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range flows {
			var s State
			for _, p := range f.pkts {
				sp, dp := f.cport, f.sport
				if !p.fromClient {
					sp, dp = dp, sp
				}
				if s.Observe(p.fromClient, f.transport, sp, dp, p.data) {
					break
				}
			}
			s.Result(f.transport, f.cport, f.sport)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(total), "ns/packet")
	b.ReportMetric(float64(len(flows)), "flows")
}
