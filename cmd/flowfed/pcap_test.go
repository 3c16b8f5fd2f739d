package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowfed/flowfed/share/capture"
)

// runRaw runs a command like cli.run, without adding --dir.
func (c *cli) runRaw(args ...string) (int, string, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// Addresses of the test capture.
var (
	tcClient = net.IP{192, 0, 2, 10}
	tcServer = net.IP{198, 51, 100, 53}
	tcMAC    = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}
)

// testCapture writes a classic pcap file with a DNS answer and a TCP segment, the
// second one cut to 30 bytes when damaged is set (truncated inside the IP header).
func testCapture(t *testing.T, path string, damaged bool) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: tcMAC, DstMAC: net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x02}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: tcServer, DstIP: tcClient}
	udp := &layers.UDP{SrcPort: 53, DstPort: 40000}
	dns := &layers.DNS{ID: 1, QR: true, QDCount: 1, ANCount: 1,
		Questions: []layers.DNSQuestion{{Name: []byte("host.example.org"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}},
		Answers:   []layers.DNSResourceRecord{{Name: []byte("host.example.org"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: tcClient}},
	}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	o := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, o, eth, ip, udp, dns); err != nil {
		t.Fatal(err)
	}
	p1 := append([]byte(nil), buf.Bytes()...)
	ip2 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: tcClient, DstIP: tcServer}
	tcp := &layers.TCP{SrcPort: 40001, DstPort: 443, Seq: 1, SYN: true, Window: 1024}
	if err := tcp.SetNetworkLayerForChecksum(ip2); err != nil {
		t.Fatal(err)
	}
	if err := gopacket.SerializeLayers(buf, o, eth, ip2, tcp); err != nil {
		t.Fatal(err)
	}
	p2 := buf.Bytes()
	if damaged {
		p2 = p2[:30]
	}
	var f bytes.Buffer
	w, err := capture.NewPcapWriter(&f, capture.LinkTypeEthernet, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range [][]byte{p1, p2} {
		if err := w.WritePacket(capture.Packet{Data: p, OrigLen: 60 + len(p), Timestamp: 1_700_000_000_000_000_001 + int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPcap runs the pcap subcommands against one node: unlocking a vault is slow on
// purpose, so the subtests share it.
func TestPcap(t *testing.T) {
	c := newCLI(t)
	c.must("", "init")
	t.Run("round trip", func(t *testing.T) { pcapRoundTrip(t, c) })
	t.Run("damage", func(t *testing.T) { pcapDamage(t, c) })
	t.Run("usage", func(t *testing.T) { pcapUsageErrors(t, c) })
}

// pcapRoundTrip anonymizes to both containers and back: no original address in
// the output, all of them restored, and inspect finds the record.
func pcapRoundTrip(t *testing.T, c *cli) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	testCapture(t, in, false)
	for _, format := range []string{"pcap", "pcapng"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(dir, "out."+format)
			stdout := c.must("", "pcap", "anonymize", in, out, "--format", format)
			if !strings.Contains(stdout, "2 of 2 packets") || !epochRE.MatchString(stdout) {
				t.Errorf("anonymize printed:\n%s", stdout)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, orig := range [][]byte{tcClient, tcServer, tcMAC} {
				if bytes.Contains(b, orig) {
					t.Errorf("%x is still in the %s output", orig, format)
				}
			}
			_, err = os.Stat(out + ".json")
			if sidecar := err == nil; sidecar != (format == "pcap") {
				t.Errorf("%s output: sidecar present = %v", format, sidecar)
			}
			back := filepath.Join(dir, "back."+format)
			c.must("", "pcap", "deanonymize", out, back)
			rb, err := os.ReadFile(back)
			if err != nil {
				t.Fatal(err)
			}
			for _, orig := range [][]byte{tcClient, tcServer, tcMAC} {
				if !bytes.Contains(rb, orig) {
					t.Errorf("%x not restored in the %s capture", orig, format)
				}
			}
			code, info, _ := c.runRaw("pcap", "inspect", out)
			if code != 0 || !strings.Contains(info, "packets:    2") || !strings.Contains(info, "anonymized: mode cryptopan, key ek_") {
				t.Errorf("inspect: exit %d\n%s", code, info)
			}
		})
	}
}

// pcapDamage checks damage reporting, --strict (exit 1, no output) and that a
// failed run leaves no files.
func pcapDamage(t *testing.T, c *cli) {
	dir := t.TempDir()
	in := filepath.Join(dir, "damaged.pcap")
	testCapture(t, in, true)
	out := filepath.Join(dir, "out.pcap")
	code, stdout, stderr := c.run("", "pcap", "anonymize", in, out)
	if code != 0 || strings.Count(stderr, "damage: ") != 1 || !strings.Contains(stderr, "truncated-header: 1 packets") {
		t.Errorf("damaged input: exit %d, stderr %q, want exit 0 and one damage line", code, stderr)
	}
	if !strings.Contains(stdout, "2 of 2 packets") {
		t.Errorf("stdout %q", stdout)
	}
	os.Remove(out)
	os.Remove(out + ".json")
	code, _, stderr = c.run("", "pcap", "anonymize", "--strict", in, out)
	if code != 1 || !strings.Contains(stderr, "--strict") {
		t.Errorf("--strict: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("--strict left an output")
	}
	if code, _, _ := c.runRaw("pcap", "inspect", "--strict", in); code != 1 {
		t.Errorf("inspect --strict of a damaged capture: exit %d", code)
	}
	// Not a capture at all: an error, and nothing left behind.
	junk := filepath.Join(dir, "junk.pcap")
	if err := os.WriteFile(junk, []byte("\x1f\x8b\x08\x00 not a capture"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = c.run("", "pcap", "anonymize", junk, out)
	if code != 1 || !strings.Contains(stderr, "gzip") {
		t.Errorf("gzip input: exit %d, stderr %q", code, stderr)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".out*"))
	if _, err := os.Stat(out); err == nil || len(left) > 0 {
		t.Errorf("a failed run left files: %v", left)
	}
}

// pcapUsageErrors checks the help texts, usage errors (exit 2) and errors of
// the input (exit 1).
func pcapUsageErrors(t *testing.T, c *cli) {
	for _, args := range [][]string{
		{"pcap", "--help"}, {"pcap", "anonymize", "--help"}, {"pcap", "deanonymize", "--help"}, {"pcap", "inspect", "--help"},
	} {
		code, out, errs := c.runRaw(args...)
		if code != 0 || !strings.Contains(out, "Example") {
			t.Errorf("flowfed %v: exit %d, stdout %q, stderr %q; want usage with an example", args, code, out, errs)
		}
	}
	for _, args := range [][]string{
		{"pcap"}, {"pcap", "shred"}, {"pcap", "anonymize", "in.pcap"},
		{"pcap", "anonymize", "--mode", "ipcrypt-det", "a", "b"}, {"pcap", "anonymize", "--payload", "half", "a", "b"},
		{"pcap", "anonymize", "--passthrough", "0.0.0.0/0", "a", "b"}, {"pcap", "anonymize", "--format", "snoop", "a", "b"},
		{"pcap", "inspect"},
	} {
		if code, _, _ := c.run("", args...); code != 2 {
			t.Errorf("flowfed %v: exit %d, want 2", args, code)
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	testCapture(t, in, false)
	if code, _, errs := c.run("", "pcap", "deanonymize", in, filepath.Join(dir, "x.pcap")); code != 1 || !strings.Contains(errs, "no flowfed anonymization record") {
		t.Errorf("deanonymize of a capture never anonymized: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := c.run("", "pcap", "anonymize", in, in); code != 1 || !strings.Contains(errs, "input") {
		t.Errorf("anonymize onto itself: exit %d, stderr %q", code, errs)
	}
}
