package synth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Packets: 3000, Mix: map[string]float64{"dns": 1, "tls": 2, "quic": 1, "ssh": 1, "scan": 0.5}}
	a, sa := synth(t, cfg)
	b, sb := synth(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("the same configuration gave different bytes")
	}
	if !slices.Equal(sa.Addrs, sb.Addrs) || !slices.Equal(sa.Names, sb.Names) || sa.Packets != sb.Packets {
		t.Fatal("the same configuration gave different summaries")
	}
	for _, other := range []Config{
		{Seed: 43, Packets: 3000, Mix: cfg.Mix},
		{Seed: 42, Packets: 3000, Mix: cfg.Mix, Clients: netip.MustParsePrefix("10.1.0.0/16")},
		{Seed: 42, Packets: 3000, Mix: cfg.Mix, Start: DefaultStart.Add(time.Hour)},
	} {
		if c, _ := synth(t, other); bytes.Equal(a, c) {
			t.Errorf("configuration %+v gave the same bytes as %+v", other, cfg)
		}
	}
}

func TestPacketCount(t *testing.T) {
	for _, n := range []int{1, 50, 400, 3000} {
		for seed := range uint64(2) {
			data, sum := synth(t, Config{Seed: seed, Packets: n})
			got := countPackets(t, data)
			if got != sum.Packets {
				t.Fatalf("Packets %d: the capture holds %d packets, the summary says %d", n, got, sum.Packets)
			}
			// Whole flows: at least n, and at most a small flow more.
			if got < n || got > n+max(n/50, 40) {
				t.Errorf("Packets %d seed %d: wrote %d", n, seed, got)
			}
		}
	}
	if _, sum := synth(t, Config{}); sum.Packets < DefaultPackets || sum.Packets > DefaultPackets+100 {
		t.Errorf("default: %d packets, want about %d", sum.Packets, DefaultPackets)
	}
}

// countPackets counts the packets of a capture.
func countPackets(t *testing.T, data []byte) int {
	t.Helper()
	r, err := capture.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// TestSummaryMatchesCapture reads every address and DNS name back from the
// capture: Summary.Addrs and Summary.Names must be exactly them.
func TestSummaryMatchesCapture(t *testing.T) {
	cfgs := []Config{
		{Seed: 7},
		{Seed: 8, Packets: 4000, Clients: netip.MustParsePrefix("10.2.0.0/16"), Servers: netip.MustParsePrefix("203.0.113.0/24"),
			Clients6: netip.MustParsePrefix("fd00:1:2::/48"), Servers6: netip.MustParsePrefix("3fff:100::/32"), Domain: "Corp.Example.NET"},
	}
	for _, cfg := range cfgs {
		data, sum := synth(t, cfg)
		n, _ := cfg.normalize()
		addrs := map[netip.Addr]bool{}
		names := map[string]bool{}
		for _, p := range readPackets(t, data) {
			for _, a := range p.addrs {
				addrs[a] = true
			}
			for _, nm := range p.names {
				names[nm] = true
			}
		}
		fs, _ := flows(t, data)
		for _, f := range fs {
			if ev := f.Label.Evidence; ev != nil {
				for _, nm := range []string{ev.TLSSNI, ev.HTTPHost} {
					if nm != "" {
						names[strings.TrimSuffix(nm, ":8080")] = true
					}
				}
			}
		}
		var want []netip.Addr
		for a := range addrs {
			want = append(want, a)
			if !n.Clients.Contains(a) && !n.Servers.Contains(a) && !n.Clients6.Contains(a) && !n.Servers6.Contains(a) {
				t.Errorf("address %s is outside the configured prefixes", a)
			}
		}
		slices.SortFunc(want, netip.Addr.Compare)
		if !slices.Equal(want, sum.Addrs) {
			t.Errorf("%+v: Summary.Addrs has %d addresses, the capture %d:\nsummary %v\ncapture %v", cfg, len(sum.Addrs), len(want), sum.Addrs, want)
		}
		var wantNames []string
		for nm := range names {
			wantNames = append(wantNames, nm)
			if nm != n.Domain && !strings.HasSuffix(nm, "."+n.Domain) {
				t.Errorf("name %q is not under %s", nm, n.Domain)
			}
		}
		slices.Sort(wantNames)
		if !slices.Equal(wantNames, sum.Names) {
			t.Errorf("%+v: Summary.Names\n%v\nnames in the capture\n%v", cfg, sum.Names, wantNames)
		}
	}
}

// TestPackets checks every packet: time order, IPv4 header, TCP and UDP
// checksums, sizes within the Ethernet MTU.
func TestPackets(t *testing.T) {
	data, _ := synth(t, Config{Seed: 9, Packets: 6000})
	var p packet.Packet
	last := int64(0)
	for i, pi := range readPackets(t, data) {
		if pi.ts < last {
			t.Fatalf("packet %d is older than the one before", i)
		}
		last = pi.ts
		d := pi.data
		if len(d) > 1514 {
			t.Errorf("packet %d has %d bytes, more than an Ethernet frame", i, len(d))
		}
		if err := packet.Decode(&p, d, uint32(capture.LinkTypeEthernet)); err != nil || p.Stop != packet.Complete {
			t.Fatalf("packet %d: %v", i, err)
		}
		ip := p.Headers[p.Inner]
		l4 := p.Headers[p.L4]
		var pseudo []byte
		if ip.Kind == packet.IPv4 {
			if ones(d[ip.Off:ip.Off+20], 0) != 0xffff {
				t.Errorf("packet %d: bad IPv4 header checksum", i)
			}
			pseudo = append(pseudo, d[ip.Off+12:ip.Off+20]...)
		} else {
			pseudo = append(pseudo, d[ip.Off+8:ip.Off+40]...)
		}
		seg := d[l4.Off:]
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(seg)))
		pseudo = append(pseudo, 0, 0, 0, p.Proto)
		if ones(seg, sumWords(pseudo)) != 0xffff {
			t.Errorf("packet %d: bad %v checksum", i, l4.Kind)
		}
	}
}

// ones returns the ones' complement sum of b plus acc, folded.
func ones(b []byte, acc uint32) uint16 {
	acc += sumWords(b)
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

func sumWords(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

// TestTiming checks the spread of the flows over the duration and the
// gaps inside them.
func TestTiming(t *testing.T) {
	start := time.Date(2025, 11, 3, 14, 0, 0, 0, time.UTC)
	cfgs := []Config{
		{Seed: 11, Packets: 8000, Start: start, Duration: 20 * time.Minute},
		{Seed: 13, Packets: 3000, Start: start, Duration: 20 * time.Minute},
		{Seed: 14, Packets: 3000, Start: start, Duration: time.Minute},
		// A sweep of a small server prefix cannot fill its share.
		{Seed: 12, Packets: 6000, Start: start, Duration: 20 * time.Minute, Servers: netip.MustParsePrefix("203.0.113.32/27"),
			Mix: map[string]float64{"scan": 2, "dns": 1, "tls": 1}},
	}
	for _, cfg := range cfgs {
		data, _ := synth(t, cfg)
		fs, _ := flows(t, data)
		var quarters [4]int
		handshakes, others := 0, 0 // others: packets of the flows other than scans
		starts := map[int64]int{}
		for _, f := range fs {
			off := time.Duration(f.Start - start.UnixNano())
			if off < 0 || off > cfg.Duration+time.Millisecond {
				t.Fatalf("flow %v starts at %v, outside the duration", f.Key, off)
			}
			if kindOf(f) == KindScan {
				continue // a scan is a burst
			}
			others += int(f.Packets())
			quarters[min(int(4*off/cfg.Duration), 3)] += int(f.Packets())
			if starts[f.Start]++; starts[f.Start] == 3 {
				t.Errorf("several flows start at %v", off)
			}
			if k := kindOf(f); k == KindHTTP || k == KindTLS || k == KindSSH {
				// SYN, SYN-ACK after the round trip, ACK after the LAN delay.
				rtt, lan := time.Duration(f.Seq[1].IAT)*time.Microsecond, time.Duration(f.Seq[2].IAT)*time.Microsecond
				if rtt < time.Millisecond || rtt > 250*time.Millisecond || lan <= 0 || lan > 3*time.Millisecond {
					t.Errorf("flow %v: SYN-ACK after %v, ACK after %v", f.Key, rtt, lan)
				}
				handshakes++
			}
		}
		// Evenly by volume: each quarter starts flows of about a quarter
		// of the packets (large captures only: one big flow skews a
		// small one).
		for i, n := range quarters {
			if cfg.Packets >= 6000 && n < others/8 {
				t.Errorf("flows starting in quarter %d of the duration hold %d of %d packets", i, n, others)
			}
		}
		if handshakes == 0 {
			t.Error("no TCP connections")
		}
	}
}

// TestOrganisations synthesizes two members of a federation: their hosts
// differ, the servers they talk to and the scanner are shared.
func TestOrganisations(t *testing.T) {
	pairs := [][2]netip.Prefix{
		{netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("192.0.2.128/25")},
		{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.0.0/16")},
	}
	for _, pair := range pairs {
		var sums [2]Summary
		var scanners [2]map[netip.Addr]bool
		for i, p := range pair {
			data, sum := synth(t, Config{Seed: uint64(100 + i), Clients: p, Packets: 4000})
			sums[i] = sum
			scanners[i] = map[netip.Addr]bool{}
			fs, _ := flows(t, data)
			for _, f := range fs {
				if kindOf(f) == KindScan && !p.Contains(f.Key.SrcAddr()) {
					scanners[i][f.Key.SrcAddr()] = true
				}
			}
			for _, a := range sum.Addrs {
				if a.Is4() && !p.Contains(a) && !DefaultServers.Contains(a) {
					t.Errorf("%v: address %s in neither prefix", p, a)
				}
			}
		}
		shared := 0
		for _, a := range sums[0].Addrs {
			if _, ok := slices.BinarySearchFunc(sums[1].Addrs, a, netip.Addr.Compare); ok {
				if pair[0].Contains(a) || pair[1].Contains(a) {
					t.Errorf("client address %s in both organisations", a)
				}
				shared++
			}
		}
		if shared < 5 {
			t.Errorf("%v: the organisations share %d server addresses", pair, shared)
		}
		for a := range scanners[0] {
			if !scanners[1][a] {
				t.Errorf("external scanner %s of the first organisation does not scan the second (%v)", a, scanners[1])
			}
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "org.pcap")
	cfg := Config{Seed: 5, Packets: 500}
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := WriteFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, wantSum := synth(t, cfg)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || sum.Packets != wantSum.Packets || !slices.Equal(sum.Addrs, wantSum.Addrs) {
		t.Error("WriteFile wrote other bytes or another summary than Write")
	}
	if _, err := WriteFile(filepath.Join(dir, "bad.pcap"), Config{Hosts: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("WriteFile of an invalid config: %v", err)
	}
	if _, err := WriteFile(filepath.Join(dir, "missing", "x.pcap"), cfg); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "org.pcap" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only org.pcap", names)
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	for _, n := range []int{0, 10, 100 << 10} {
		if _, err := Write(&failWriter{n: n}, Config{Packets: 2000}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("writer failing after %d bytes: %v", n, err)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	p := netip.MustParsePrefix
	cases := []struct {
		name     string
		cfg      Config
		reserved bool // the error also wraps ErrNotReserved
	}{
		{"public clients", Config{Clients: p("8.8.8.0/24")}, true},
		{"public servers", Config{Servers: p("100.64.0.0/24")}, true},
		{"wider than documentation", Config{Servers: p("198.51.0.0/16")}, true},
		{"public IPv6", Config{Clients6: p("2a00:1450::/32")}, true},
		{"IPv6 clients prefix", Config{Clients: p("2001:db8::/64")}, false},
		{"IPv4 servers6 prefix", Config{Servers6: p("10.0.0.0/8")}, false},
		{"negative hosts", Config{Hosts: -1}, false},
		{"too many hosts", Config{Hosts: MaxHosts + 1}, false},
		{"hosts beyond the prefix", Config{Clients: p("192.0.2.0/29"), Hosts: 7}, false},
		{"servers too small", Config{Servers: p("198.51.100.0/29")}, false},
		{"overlap", Config{Clients: p("10.0.0.0/8"), Servers: p("10.1.0.0/16")}, false},
		{"overlap6", Config{Servers6: p("2001:db8:1::/48")}, false},
		{"negative packets", Config{Packets: -5}, false},
		{"too many packets", Config{Packets: MaxPackets + 1}, false},
		{"negative duration", Config{Duration: -time.Second}, false},
		{"before 1970", Config{Start: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}, false},
		{"after 2106", Config{Start: time.Date(2106, 2, 7, 0, 0, 0, 0, time.UTC)}, false},
		{"unknown kind", Config{Mix: map[string]float64{"smtp": 1}}, false},
		{"negative weight", Config{Mix: map[string]float64{"dns": -1, "tls": 2}}, false},
		{"NaN weight", Config{Mix: map[string]float64{"dns": math.NaN()}}, false},
		{"infinite weights", Config{Mix: map[string]float64{"dns": math.MaxFloat64, "tls": math.MaxFloat64}}, false},
		{"zero weights", Config{Mix: map[string]float64{"dns": 0}}, false},
		{"empty mix", Config{Mix: map[string]float64{}}, false},
		{"kind twice", Config{Mix: map[string]float64{"dns": 1, "DNS": 1}}, false},
		{"real domain", Config{Domain: "flowfed.org"}, false},
		{"look-alike domain", Config{Domain: "notexample.org"}, false},
		{"bad label", Config{Domain: "a_b.example.org"}, false},
		{"empty label", Config{Domain: "a..example.com"}, false},
		{"long domain", Config{Domain: strings.Repeat("a.", 100) + "example.com"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Write(&buf, c.cfg)
			if !errors.Is(err, ErrInvalidConfig) || errors.Is(err, ErrNotReserved) != c.reserved {
				t.Fatalf("Write(%+v) = %v; want ErrInvalidConfig (and ErrNotReserved: %v)", c.cfg, err, c.reserved)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written for an invalid config", buf.Len())
			}
			if err := c.cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate = %v", err)
			}
		})
	}
	// Boundaries that are valid.
	for _, cfg := range []Config{
		{Clients: p("192.0.2.0/27"), Hosts: 30, Packets: 100},
		{Servers: p("203.0.113.0/28"), Packets: 100},
		{Clients: p("172.16.5.0/24"), Servers: p("192.168.0.0/16"), Clients6: p("fd12:3456::/64"), Servers6: p("3fff::/20"), Packets: 100},
		{Domain: "example.com.", Mix: map[string]float64{"Scan": 1}, Packets: 100},
		{Hosts: 1, Packets: 100},
	} {
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", cfg, err)
		}
		synth(t, cfg)
	}
}

// TestConcurrentWrites runs several syntheses at once: they share no
// mutable state (the race detector watches) and agree byte for byte.
func TestConcurrentWrites(t *testing.T) {
	cfg := Config{Seed: 77, Packets: 1500}
	out := make([][]byte, 4)
	done := make(chan int)
	for i := range out {
		go func() {
			var buf bytes.Buffer
			if _, err := Write(&buf, cfg); err != nil {
				t.Error(err)
			}
			out[i] = buf.Bytes()
			done <- i
		}()
	}
	for range out {
		<-done
	}
	for i := 1; i < len(out); i++ {
		if !bytes.Equal(out[0], out[i]) {
			t.Fatalf("concurrent synthesis %d differs from the first", i)
		}
	}
}
