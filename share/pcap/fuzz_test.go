package pcap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowfed/flowfed/share/packet"
)

// Damaged development captures that seed FuzzAnonymize, when present.
var damagedSeeds = []string{
	"zeek__trunc-hdr.pcap", "fuzz-2021-10-13.pcap", "badpackets.pcap",
	"ip_fragmented_garbage.pcap", "dhcp-fuzz.pcapng", "teredo.pcap", "zeek__vxlan.pcap",
}

// FuzzAnonymize feeds arbitrary bytes as a capture. Anonymize must never panic; when
// it succeeds its output must read back (with share/capture and gopacket's pcapgo)
// with the packets it says it wrote, and Deanonymize must read it and restore as
// many packets.
func FuzzAnonymize(f *testing.F) {
	for _, b := range synthCaptures(f) {
		f.Add(b)
	}
	for _, name := range damagedSeeds {
		if b, err := os.ReadFile(filepath.Join(devDir, name)); err == nil {
			f.Add(b)
		}
	}
	// Every capture of the real-world failure cases, those of other components
	// (reader damage, DNS on odd ports, TCP sequence wrap) included.
	cases, _ := filepath.Glob(filepath.Join(casesDir, "*.pcap*"))
	for _, name := range cases {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		fwd, inv := sharedMappers(t)
		opts := testOptions()
		var out bytes.Buffer
		st, err := anonymizeWith(context.Background(), bytes.NewReader(in), &out, &opts, fwd)
		if err != nil {
			return // not a capture: an error, not a panic
		}
		recs, _ := readAll(t, out.Bytes())
		if int64(len(recs)) != st.PacketsOut {
			t.Fatalf("output holds %d packets, Stats says %d", len(recs), st.PacketsOut)
		}
		if out.Len() > 0 {
			if n := pcapgoCount(t, out.Bytes()); n != st.PacketsOut {
				t.Fatalf("pcapgo reads %d packets, Stats says %d", n, st.PacketsOut)
			}
		}
		var back bytes.Buffer
		rst, err := restoreWith(context.Background(), bytes.NewReader(out.Bytes()), &back, opts.metadata(), nil, inv)
		if err != nil {
			t.Fatalf("Deanonymize of an output: %v", err)
		}
		if rst.PacketsOut != st.PacketsOut {
			t.Fatalf("restored %d packets of %d", rst.PacketsOut, st.PacketsOut)
		}
	})
}

// FuzzDNSRewrite feeds arbitrary DNS messages, over UDP and TCP framing, to the DNS
// parser. It must never panic and always end (pointer loops are impossible by
// construction); a message it accepts must keep its structure when rewritten, and
// restoring the rewritten message must give back the original bytes.
func FuzzDNSRewrite(f *testing.F) {
	for _, b := range dnsSeeds(f) {
		f.Add(b, false)
		f.Add(append(u16(len(b)), b...), true)
	}
	f.Fuzz(func(t *testing.T, msg []byte, stream bool) {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		dnsRoundTrip(t, msg, stream)
	})
}

// FuzzDHCPRewrite does for DHCP and DHCPv6 messages what FuzzDNSRewrite does for
// DNS.
func FuzzDHCPRewrite(f *testing.F) {
	for _, b := range appSeeds(f, 67) {
		f.Add(b, false)
	}
	for _, b := range appSeeds(f, 546, 547) {
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, msg []byte, v6 bool) {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		fwd, inv := sharedMappers(t)
		parse := func(b []byte, fl *fieldList) (int, bool) {
			if v6 {
				return parseDHCP6(b, 0, fl, 0)
			}
			return parseDHCP4(b, 0, fl)
		}
		var fl fieldList
		n, ok := parse(msg, &fl)
		if !ok || fl.overlap() {
			return
		}
		if n > len(msg) {
			t.Fatalf("parsed length %d beyond %d", n, len(msg))
		}
		out := bytes.Clone(msg)
		applyFields(out, fwd, &fl)
		var fl2 fieldList
		if n2, ok := parse(out, &fl2); !ok || n2 != n || fl2.n != fl.n {
			t.Fatalf("rewritten message parses as (%d, %v, %d fields), original (%d, true, %d)", n2, ok, fl2.n, n, fl.n)
		}
		applyFields(out, inv, &fl2)
		want := bytes.Clone(msg)
		for _, f := range fl.f[:fl.n] {
			if f.kind == fieldMAC && f.n < 6 {
				clear(want[f.off : f.off+f.n]) // too short to map: cleared on purpose
			}
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("restored message differs:\n got %x\nwant %x", out, want)
		}
	})
}

// dnsSeeds returns DNS messages of the corpus and of C05.
func dnsSeeds(t testing.TB) [][]byte {
	seeds := appSeeds(t, 53, 5353)
	if b, err := os.ReadFile(filepath.Join(casesDir, "C05-dns-malformed.pcap")); err == nil {
		seeds = append(seeds, payloads(t, b, 53)...)
	}
	return seeds
}

// appSeeds returns UDP payloads on the given ports from the synthesized captures and
// the development captures.
func appSeeds(t testing.TB, ports ...uint16) [][]byte {
	var seeds [][]byte
	caps := synthCaptures(t)
	for _, name := range []string{"dns.pcap", "whatsapp_login_call.pcap", "zeek__pppoe.pcap", "KakaoTalk_chat.pcap", "dhcp-fuzz.pcapng"} {
		if b, err := os.ReadFile(filepath.Join(devDir, name)); err == nil {
			caps[name] = b
		}
	}
	for _, b := range caps {
		seeds = append(seeds, payloads(t, b, ports...)...)
	}
	return seeds
}

// payloads returns the UDP payloads of a capture on the given ports (either side).
func payloads(t testing.TB, b []byte, ports ...uint16) [][]byte {
	recs, _ := readAll(t, b)
	var out [][]byte
	var p packet.Packet
	for _, r := range recs {
		if packet.Decode(&p, r.data, uint32(r.link)) != nil || p.L4 < 0 || p.Headers[p.L4].Kind != packet.UDP {
			continue
		}
		for _, port := range ports {
			if p.SrcPort == port || p.DstPort == port {
				if pb := p.PayloadBytes(r.data); len(pb) > 0 {
					out = append(out, bytes.Clone(pb))
				}
				break
			}
		}
	}
	return out
}
