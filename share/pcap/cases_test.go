package pcap

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowfed/flowfed/share/packet"
)

// readCase reads a file of the real-world failure cases, or skips.
func readCase(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(casesDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s absent", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustNotSurvive checks the original address bytes a case lists against the output.
func mustNotSurvive(t *testing.T, out []byte, hexes []string) {
	t.Helper()
	for _, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(out, b); i >= 0 {
			t.Errorf("original bytes %s survive at output offset %d", h, i)
		}
	}
}

// TestCaseC05 is the malformed DNS case: label overrun, pointer past the end,
// missing root, cut pointer, rdlength 65535, pointer loop. Decoders crashed on
// these elsewhere. The one valid message must be parsed and its A record
// pseudonymized; every other DNS payload must be cut (fail closed), with no
// original address left.
func TestCaseC05(t *testing.T) {
	in := readCase(t, "C05-dns-malformed.pcap")
	var want struct {
		Packets []struct {
			N     int    `json:"n"`
			What  string `json:"what"`
			DNSOK bool   `json:"dns_parse_ok"`
		} `json:"packets"`
		Orig []string `json:"original_address_bytes_that_must_not_survive_rewrite"`
	}
	if err := json.Unmarshal(readCase(t, "C05-expected.json"), &want); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	out, st := anonymize(t, in, opts)
	inRecs, _ := readAll(t, in)
	outRecs, _ := readAll(t, out)
	if len(outRecs) != len(want.Packets) || len(inRecs) != len(want.Packets) {
		t.Fatalf("%d packets in, %d out, want %d", len(inRecs), len(outRecs), len(want.Packets))
	}
	m := restoreMapper(t, opts)
	fwd := mapperFor(t, opts, false)
	for i, w := range want.Packets {
		var p packet.Packet
		if err := packet.Decode(&p, inRecs[i].data, uint32(inRecs[i].link)); err != nil || p.Payload < 0 {
			t.Fatalf("packet %d: decoding: %v", w.N, err)
		}
		var fl fieldList
		_, ok := parseDNS(inRecs[i].data[p.Payload:p.Payload+p.PayloadLen], p.Payload, m, &fl)
		if ok != w.DNSOK {
			t.Errorf("packet %d (%s): parseDNS ok = %v, want %v", w.N, w.What, ok, w.DNSOK)
		}
		got := outRecs[i].data
		switch {
		case w.DNSOK:
			// The A record's data is the pseudonym of 192.0.2.10.
			pk := gopacket.NewPacket(got, layers.LinkTypeEthernet, gopacket.Default)
			dl, _ := pk.Layer(layers.LayerTypeDNS).(*layers.DNS)
			if dl == nil || len(dl.Answers) != 1 {
				t.Fatalf("packet %d: rewritten DNS does not decode with one answer: %v", w.N, pk.ErrorLayer())
			}
			wantIP := binary.BigEndian.AppendUint32(nil, fwd.v4(binary.BigEndian.Uint32(ip4("192.0.2.10"))))
			if !bytes.Equal(dl.Answers[0].IP.To4(), wantIP) {
				t.Errorf("packet %d: A record %v, want the pseudonym %v", w.N, dl.Answers[0].IP, net4(wantIP))
			}
		case len(got) != p.Payload:
			t.Errorf("packet %d (%s): %d bytes kept, want %d (the DNS payload cut)", w.N, w.What, len(got), p.Payload)
		}
	}
	if st.DNSRewritten != 1 || st.DNSDropped != 6 {
		t.Errorf("stats: %d DNS rewritten, %d dropped; want 1 and 6", st.DNSRewritten, st.DNSDropped)
	}
	mustNotSurvive(t, out, want.Orig)
}

// net4 returns 4 bytes as an address, for messages.
func net4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b)) }

// TestCaseC07 is the ICMP quote case: addresses quoted by ICMP and ICMPv6 errors
// leaked elsewhere. Quoted headers must be rewritten with the same mapping as the
// outer ones, their checksums updated, and a quote cut inside its IP header must
// not keep the original bytes of what is present.
func TestCaseC07(t *testing.T) {
	in := readCase(t, "C07-icmp-quoted.pcap")
	var want struct {
		Packets int      `json:"packets"`
		Orig    []string `json:"original_address_bytes_that_must_not_survive_rewrite"`
	}
	if err := json.Unmarshal(readCase(t, "C07-expected.json"), &want); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	out, _ := anonymize(t, in, opts)
	outRecs, _ := readAll(t, out)
	inRecs, _ := readAll(t, in)
	if len(outRecs) != want.Packets {
		t.Fatalf("%d packets out, want %d", len(outRecs), want.Packets)
	}
	fwd := mapperFor(t, opts, false)
	ps4 := func(s string) []byte {
		return binary.BigEndian.AppendUint32(nil, fwd.v4(binary.BigEndian.Uint32(ip4(s))))
	}
	ps6 := func(s string) []byte { r := fwd.v6([16]byte(ip6(s))); return r[:] }
	// ip returns the source and destination of the outer (0) or quoted (1) IP
	// header of output packet i.
	ip := func(i, which int) (src, dst []byte) {
		var p packet.Packet
		d := outRecs[i].data
		_ = packet.Decode(&p, d, uint32(outRecs[i].link))
		n := 0
		for _, h := range p.Headers[:p.N] {
			if h.Kind != packet.IPv4 && h.Kind != packet.IPv6 {
				continue
			}
			if n == which {
				if h.Kind == packet.IPv4 {
					return d[h.Off+12 : h.Off+16], d[h.Off+16 : min(h.Off+20, len(d))]
				}
				return d[h.Off+8 : min(h.Off+24, len(d))], d[min(h.Off+24, len(d)):min(h.Off+40, len(d))]
			}
			n++
		}
		t.Fatalf("packet %d: no IP header %d", i+1, which)
		return nil, nil
	}
	eq := func(what string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s = %x, want %x", what, got, want)
		}
	}
	s0, d0 := ip(0, 0)
	s1, d1 := ip(0, 1)
	eq("pkt1 outer dst", d0, ps4("192.0.2.1"))
	eq("pkt1 inner src", s1, ps4("192.0.2.1"))
	eq("pkt1 outer src", s0, ps4("198.51.100.2"))
	eq("pkt1 inner dst", d1, ps4("198.51.100.2"))
	s0, _ = ip(1, 0)
	s1, d1 = ip(1, 1)
	eq("pkt2 outer src", s0, ps4("203.0.113.254"))
	eq("pkt2 inner src", s1, ps4("192.0.2.1"))
	eq("pkt2 inner dst", d1, ps4("198.51.100.2"))
	_, d0 = ip(2, 0)
	s1, d1 = ip(2, 1)
	eq("pkt3 outer dst", d0, ps6("2001:db8::1"))
	eq("pkt3 inner src", s1, ps6("2001:db8::1"))
	eq("pkt3 inner dst", d1, ps6("2001:db8:1::2"))
	s1, _ = ip(3, 1)
	if len(s1) != 12 {
		t.Errorf("pkt4: %d bytes of the quoted source kept, want the 12 present", len(s1))
	} else if bytes.Equal(s1, ip6("2001:db8::1")[:12]) {
		t.Error("pkt4: the 12 bytes of the cut quoted source are the original ones")
	} else {
		eq("pkt4 cut inner src (prefix of the pseudonym)", s1, ps6("2001:db8::1")[:12])
	}
	// Checksums: outer ICMP/ICMPv6 and quoted IPv4 header checksums as valid as
	// before.
	for i := range outRecs {
		a := verifyChecksums(inRecs[i].data, inRecs[i].link)
		b := verifyChecksums(append(bytes.Clone(outRecs[i].data), inRecs[i].data[len(outRecs[i].data):]...), outRecs[i].link)
		for j := range a {
			if a[j].valid != b[j].valid {
				t.Errorf("pkt%d: %s checksum valid %v before, %v after", i+1, a[j].what, a[j].valid, b[j].valid)
			}
		}
		var p packet.Packet
		_ = packet.Decode(&p, outRecs[i].data, uint32(outRecs[i].link))
		for _, h := range p.Headers[:p.N] {
			if h.Quoted && h.Kind == packet.IPv4 && !h.Partial && inetSum(0, outRecs[i].data[h.Off:h.End()]) != 0 {
				t.Errorf("pkt%d: quoted IPv4 header checksum wrong after rewriting", i+1)
			}
		}
	}
	mustNotSurvive(t, out, want.Orig)
}

// TestTeredoOrigin checks that the Teredo origin indication, the client's IPv4
// address with every bit inverted, is rewritten as the inverse of the pseudonym
// the same address gets in the outer IPv4 header, and restored.
func TestTeredoOrigin(t *testing.T) {
	opts := testOptions()
	in := synthEthernet(t)
	out, _ := anonymize(t, in, opts)
	recs, _ := readAll(t, out)
	var found bool
	for _, r := range recs {
		var p packet.Packet
		_ = packet.Decode(&p, r.data, uint32(r.link))
		for _, a := range p.Addrs[:p.NAddr] {
			if a.Type != packet.AddrIPv4XOR {
				continue
			}
			found = true
			outerDst := r.data[p.Headers[p.Outer].Off+16 : p.Headers[p.Outer].Off+20]
			origin := r.data[a.Off : a.Off+4]
			for i := range 4 {
				if origin[i] != ^outerDst[i] {
					t.Fatalf("origin %x is not the inverse of the outer destination %x", origin, outerDst)
				}
			}
			if bytes.Equal(outerDst, v4TeredoCli) {
				t.Error("outer destination not rewritten")
			}
		}
	}
	if !found {
		t.Fatal("no Teredo origin indication in the synthesized capture")
	}
	back := deanonymize(t, out, opts)
	if !bytes.Contains(back, []byte{^v4TeredoCli[0], ^v4TeredoCli[1], ^v4TeredoCli[2], ^v4TeredoCli[3]}) {
		t.Error("origin indication not restored")
	}
}
