package pcap

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkAnonymizeFile rewrites the capture named by FLOWFED_BENCH_PCAP (such as
// the one ../shared/tools/mkbench.sh builds) from its file to a file in a temporary
// directory, as the command does: read, rewrite, write, sync and rename. It reports
// packets and bytes per second of the input.
func BenchmarkAnonymizeFile(b *testing.B) {
	in := os.Getenv("FLOWFED_BENCH_PCAP")
	if in == "" {
		b.Skip("FLOWFED_BENCH_PCAP names no capture")
	}
	fi, err := os.Stat(in)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "out.pcap")
	opts := testOptions()
	b.SetBytes(fi.Size())
	b.ResetTimer()
	var st Stats
	for b.Loop() {
		if st, err = AnonymizeFile(context.Background(), in, out, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.PacketsIn)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkAnonymize rewrites a synthetic capture held in memory to io.Discard: the
// frames of the synthesized Ethernet capture (every kind of header, tunnel and
// application message the rewriter handles) repeated to about 100,000 packets.
func BenchmarkAnonymize(b *testing.B) {
	one, _ := readAll(b, synthEthernet(b))
	var fs []frame
	for len(fs) < 100_000 {
		for _, r := range one {
			fs = append(fs, frame{link: r.link, data: r.data, orig: r.orig})
		}
	}
	in := writeCapture(b, false, fs)
	for _, payload := range []PayloadMode{PayloadCut, PayloadKeep} {
		b.Run(payload.String(), func(b *testing.B) {
			opts := testOptions()
			opts.Payload = payload
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Anonymize(context.Background(), bytes.NewReader(in), io.Discard, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkAnonymizeDistinct rewrites 100,000 TCP segments over Ethernet whose
// addresses (IPv4 and MAC) are all different: every address misses the caches, the
// worst case for the rewriter, which the development captures (a few hundred
// addresses) never reach.
func BenchmarkAnonymizeDistinct(b *testing.B) {
	const n = 100_000
	fs := make([]frame, n)
	for i := range fs {
		a := u32(uint32(i) * 2654435761)
		c := u32(uint32(i)*2246822519 + 7)
		m1 := cat([]byte{0x00, 0x16}, a)
		m2 := cat([]byte{0x00, 0x17}, c)
		fs[i] = frame{link: 1, data: eth(m1, m2, 0x0800, ipv4(a, c, 6, tcp(a, c, 40000, 443, 1, 2, tsOption(3, 4), nil)))}
	}
	in := writeCapture(b, false, fs)
	opts := testOptions()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Anonymize(context.Background(), bytes.NewReader(in), io.Discard, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkRewritePacket measures the rewrite of one packet, without the container:
// a TCP segment with timestamps over IPv4 and Ethernet, whose addresses are cached.
func BenchmarkRewritePacket(b *testing.B) {
	fwd, _ := sharedMappers(b)
	rw := &rewriter{m: fwd}
	pkt := eth(macB, macA, 0x0800, ipv4(v4Cli, v4Srv, 6, tcp(v4Cli, v4Srv, 40000, 443, 1, 2, tsOption(3, 4), make([]byte, 1000))))
	buf := make([]byte, len(pkt))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, pkt)
		rw.rewrite(buf, 1)
	}
}
