package flow

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// devDir holds the development captures with reference results of tshark,
// Zeek and nDPI (../shared/data/pcap/dev; tests skip when it is absent).
const devDir = "../../../shared/data/pcap/dev"

// devFiles returns the captures listed in EXPECTED.tsv with their columns,
// or skips the test.
func devRows(t *testing.T) (cols map[string]int, rows [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(devDir, "EXPECTED.tsv"))
	if err != nil {
		t.Skipf("development captures not available: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, name := range fields {
				cols[name] = i
			}
			continue
		}
		rows = append(rows, fields)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading EXPECTED.tsv: %v", err)
	}
	return cols, rows
}

// readFlows meters a development capture and returns clones of its flows.
func readFlows(t testing.TB, name string, cfg Config) ([]*Flow, Stats) {
	t.Helper()
	var flows []*Flow
	st, err := ReadFile(context.Background(), filepath.Join(devDir, name), cfg, func(f *Flow) {
		flows = append(flows, f.Clone())
	})
	if err != nil {
		t.Fatalf("ReadFile(%s) = %v", name, err)
	}
	return flows, st
}

// tsharkConfig approximates what `tshark -z conv,...` counts: one
// conversation per 5-tuple over the whole capture, whatever the gaps in
// time, and whatever the VLAN or tunnel (tshark keys conversations by
// addresses and ports only, and counts the conversations inside a tunnel
// and the tunnel's own in the same tables, as our carrier flows do). TCP
// conversations are tshark's TCP streams: a SYN with a new sequence number
// on the ports of a closed connection starts a new one, as it starts a new
// flow here; so timeouts are off and the linger after a close is as long
// as the capture.
var tsharkConfig = Config{
	IdleTCP: -1, IdleUDP: -1, IdleICMP: -1, IdleOther: -1, Active: -1,
	Linger: 100 * 365 * 24 * time.Hour, MergeVLANs: true, MergeTunnels: true,
}

// tsharkDifferences lists the captures whose counts differ from tshark's on
// purpose, and why.
var tsharkDifferences = map[string]string{
	// Four trains of 313 IPv4 fragments of garbage, 16 bytes each, whose
	// first fragments begin like TCP headers (ports, sequence numbers,
	// flags). Flows attribute fragments by their first one, so each train
	// is a TCP flow; tshark counts a TCP conversation only when the
	// reassembled datagram has a valid TCP header, and in two of the four
	// the header length field is below 20.
	"ip_fragmented_garbage.pcap": "tcp 4, tshark 2",
	// One IPv6 fragment whose first fragment was not captured: accounted
	// to a flow of its addresses with ports 0, so that the packet counts;
	// tshark cannot reassemble it and counts no UDP conversation for it.
	"zeek__ipv6-fragmented-dns.pcap": "udp 3, tshark 2",
}

// TestTsharkConversations compares flow counts with tshark's conversation
// tables (EXPECTED.tsv: tshark_conv_tcp and tshark_conv_udp count
// conversations by 5-tuple; tshark_conv_ip and tshark_conv_ipv6 by
// address pair, at every layer).
func TestTsharkConversations(t *testing.T) {
	cols, rows := devRows(t)
	for _, c := range []string{"file", "tshark_conv_tcp", "tshark_conv_udp", "tshark_conv_ip", "tshark_conv_ipv6"} {
		if _, ok := cols[c]; !ok {
			t.Fatalf("EXPECTED.tsv has no column %s", c)
		}
	}
	var same, total int
	for _, r := range rows {
		name := r[cols["file"]]
		num := func(c string) int {
			n, _ := strconv.Atoi(r[cols[c]])
			return n
		}
		flows, _ := readFlows(t, name, tsharkConfig)
		var tcp, udp int
		v4, v6 := map[[2][16]byte]bool{}, map[[2][16]byte]bool{}
		for _, f := range flows {
			switch f.Key.Proto {
			case protoTCP:
				tcp++
			case protoUDP:
				udp++
			}
			pair := [2][16]byte{f.Key.Src, f.Key.Dst}
			if string(pair[0][:]) > string(pair[1][:]) {
				pair[0], pair[1] = pair[1], pair[0]
			}
			if f.Key.IPv6 {
				v6[pair] = true
			} else {
				v4[pair] = true
			}
		}
		got := [4]int{tcp, udp, len(v4), len(v6)}
		want := [4]int{num("tshark_conv_tcp"), num("tshark_conv_udp"), num("tshark_conv_ip"), num("tshark_conv_ipv6")}
		mark := ""
		for i := range got {
			total++
			if got[i] == want[i] {
				same++
			} else {
				mark = " *"
			}
		}
		t.Logf("%-38s tcp %4d/%-4d udp %3d/%-3d ip %3d/%-3d ipv6 %3d/%-3d%s", name,
			got[0], want[0], got[1], want[1], got[2], want[2], got[3], want[3], mark)
		if why, known := tsharkDifferences[name]; (mark != "") != known {
			t.Errorf("%s: counts (ours/tshark) tcp %d/%d udp %d/%d ip %d/%d ipv6 %d/%d; known difference: %q",
				name, got[0], want[0], got[1], want[1], got[2], want[2], got[3], want[3], why)
		}
	}
	t.Logf("agreement: %d of %d counts (%.1f%%)", same, total, 100*float64(same)/float64(total))
}

// zeekConn is one line of a Zeek conn.log baseline.
type zeekConn struct {
	orig, resp           string // "addr port"
	proto                string
	origBytes, respBytes string // "-" when Zeek leaves them unset
	state, history       string
	origPkts, origIP     uint64
	respPkts, respIP     uint64
}

// readZeek reads a conn.log in Zeek's TSV format.
func readZeek(t *testing.T, name string) []zeekConn {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(devDir, "labels", name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	var cols map[string]int
	var out []zeekConn
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "#fields\t"); ok {
			cols = map[string]int{}
			for i, c := range strings.Split(rest, "\t") {
				cols[c] = i
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") || cols == nil {
			continue
		}
		f := strings.Split(line, "\t")
		get := func(c string) string { return f[cols[c]] }
		num := func(c string) uint64 {
			n, _ := strconv.ParseUint(get(c), 10, 64)
			return n
		}
		out = append(out, zeekConn{
			orig: get("id.orig_h") + " " + get("id.orig_p"), resp: get("id.resp_h") + " " + get("id.resp_p"),
			proto: get("proto"), origBytes: get("orig_bytes"), respBytes: get("resp_bytes"),
			state: get("conn_state"), history: get("history"),
			origPkts: num("orig_pkts"), origIP: num("orig_ip_bytes"), respPkts: num("resp_pkts"), respIP: num("resp_ip_bytes"),
		})
	}
	return out
}

// zeekConfig approximates Zeek's defaults: its inactivity timeouts (TCP 5
// min, UDP and ICMP 1 min) and close delay (5 s) equal ours; Zeek has no
// active timeout and keys connections by addresses and ports alone, so
// VLANs and tunnels are merged.
var zeekConfig = Config{Active: -1, MergeVLANs: true, MergeTunnels: true}

// TestZeekConnLog compares flows with Zeek's conn.log baselines: matched by
// oriented 5-tuple, then per-direction packets and IP bytes, conn_state,
// history (TCP) and Zeek's payload bytes (orig_bytes and resp_bytes, which
// Zeek sets only for connections longer than 0 s; for TCP they come from
// sequence numbers, so they are compared with Counters.StreamBytes).
//
// Intentional differences, none of which shows in these baselines:
//   - Zeek keys ICMP by type and counterpart only; we add the echo
//     identifier, so concurrent pings between two hosts are separate flows.
//   - Zeek's history letter t counts every segment that does not advance
//     the sequence space; ours counts only true retransmissions, and
//     segments that fill a gap count as out of order (Counters.OutOfOrder).
//   - Zeek reassembles fragments and counts a datagram as one packet; we
//     count each fragment (Counters.Fragments), as on the wire.
//   - Zeek's c (bad checksum) never appears: checksums are not verified.
//   - Zeek logs no flow for GRE and IP-in-IP outer packets; we meter them
//     as carrier flows (Flow.Carries), as we do the outer UDP flows of
//     VXLAN, Teredo and GTP-U that Zeek logs too.
func TestZeekConnLog(t *testing.T) {
	matches, _ := filepath.Glob(filepath.Join(devDir, "labels", "*.zeek-conn.log"))
	if len(matches) == 0 {
		t.Skip("no Zeek baselines in " + devDir)
	}
	var total, agree [6]int
	names := [6]string{"orig_pkts+ip_bytes", "resp_pkts+ip_bytes", "conn_state", "history", "orig_bytes", "resp_bytes"}
	for _, m := range matches {
		logName := filepath.Base(m)
		capName := strings.TrimSuffix(logName, ".zeek-conn.log")
		flows, _ := readFlows(t, capName, zeekConfig)
		byTuple := map[string]*Flow{}
		for _, f := range flows {
			k := f.Key
			id := k.SrcAddr().String() + " " + strconv.Itoa(int(k.SrcPort)) + "|" + k.DstAddr().String() + " " + strconv.Itoa(int(k.DstPort))
			byTuple[id] = f
		}
		conns := readZeek(t, logName)
		var fileTotal, fileAgree int
		for _, z := range conns {
			f := byTuple[z.orig+"|"+z.resp]
			if f == nil {
				t.Errorf("%s: Zeek's %s %s > %s has no flow", capName, z.proto, z.orig, z.resp)
				continue
			}
			check := func(i int, ok bool, what string, got, want any) {
				total[i]++
				fileTotal++
				if ok {
					agree[i]++
					fileAgree++
					return
				}
				t.Logf("%s: %s %s > %s: %s = %v, Zeek %v", capName, z.proto, z.orig, z.resp, what, got, want)
			}
			check(0, f.Orig.Packets == z.origPkts && f.Orig.IPBytes == z.origIP, "orig pkts/ip_bytes",
				[2]uint64{f.Orig.Packets, f.Orig.IPBytes}, [2]uint64{z.origPkts, z.origIP})
			check(1, f.Resp.Packets == z.respPkts && f.Resp.IPBytes == z.respIP, "resp pkts/ip_bytes",
				[2]uint64{f.Resp.Packets, f.Resp.IPBytes}, [2]uint64{z.respPkts, z.respIP})
			check(2, f.ConnState() == z.state, "conn_state", f.ConnState(), z.state)
			if z.proto == "tcp" || z.proto == "udp" {
				check(3, f.History() == z.history, "history", f.History(), z.history)
			}
			if z.origBytes != "-" {
				check(4, strconv.FormatUint(f.Orig.StreamBytes, 10) == z.origBytes, "orig_bytes", f.Orig.StreamBytes, z.origBytes)
				check(5, strconv.FormatUint(f.Resp.StreamBytes, 10) == z.respBytes, "resp_bytes", f.Resp.StreamBytes, z.respBytes)
			}
		}
		t.Logf("%-38s %d Zeek connections, %d flows, %d of %d fields agree", capName, len(conns), len(flows), fileAgree, fileTotal)
	}
	for i, n := range names {
		if total[i] == 0 {
			continue
		}
		pct := 100 * float64(agree[i]) / float64(total[i])
		t.Logf("%-20s %3d of %3d agree (%.0f%%)", n, agree[i], total[i], pct)
		if pct < 95 {
			t.Errorf("%s agrees with Zeek for %.0f%% of connections, want at least 95%%", n, pct)
		}
	}
}

// TestDevInvariants meters every development capture under the default
// settings and under tight bounds (small timeouts, four flows, two
// fragment entries), checking that every packet is counted once and that
// nothing is left behind.
func TestDevInvariants(t *testing.T) {
	_, rows := devRows(t)
	tight := Config{
		IdleTCP: 2 * time.Second, IdleUDP: time.Second, IdleICMP: time.Second, IdleOther: time.Second,
		Active: 3 * time.Second, Linger: -1, MaxFlows: 4, FragTimeout: time.Second, MaxFrags: 2, SeqLen: 9,
	}
	for _, r := range rows {
		name := r[0]
		for _, cfg := range []Config{{}, tight, tsharkConfig} {
			f, err := os.Open(filepath.Join(devDir, name))
			if err != nil {
				t.Fatal(err)
			}
			var flows []*Flow
			tab, _ := NewTable(cfg, func(f *Flow) { flows = append(flows, f.Clone()) })
			err = tab.ReadCapture(context.Background(), f)
			f.Close()
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			tab.Flush()
			checkInvariants(t, flows, tab.Stats())
			checkEmpty(t, tab)
		}
	}
}

// TestTsharkPerFlow compares the packets of every TCP and UDP flow, per
// direction, with tshark's conversation tables. It runs tshark on each
// development capture (about 15 s), so it runs only when FLOWFED_TSHARK=1
// and tshark is installed.
//
// The one intentional difference: tshark reassembles fragmented datagrams
// and counts each as one frame; flows count every fragment as a packet (as
// on the wire; Counters.Fragments). Only flows with fragments may differ.
func TestTsharkPerFlow(t *testing.T) {
	if os.Getenv("FLOWFED_TSHARK") != "1" {
		t.Skip("set FLOWFED_TSHARK=1 to run tshark on the development captures")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	_, rows := devRows(t)
	var agree, total int
	for _, r := range rows {
		name := r[0]
		out, err := exec.Command(tshark, "-r", filepath.Join(devDir, name), "-q", "-z", "conv,tcp", "-z", "conv,udp").Output()
		if err != nil {
			t.Logf("%s: tshark: %v", name, err)
		}
		flows, _ := readFlows(t, name, tsharkConfig)
		byPair := map[[2]netip.AddrPort]*Flow{}
		for _, f := range flows {
			a, b := netip.AddrPortFrom(f.Key.SrcAddr(), f.Key.SrcPort), netip.AddrPortFrom(f.Key.DstAddr(), f.Key.DstPort)
			byPair[[2]netip.AddrPort{a, b}] = f
		}
		for _, line := range strings.Split(string(out), "\n") {
			// A <-> B, frames from B to A, bytes, unit, frames from A to B, ...
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[1] != "<->" {
				continue
			}
			a, errA := parseEndpoint(fs[0])
			b, errB := parseEndpoint(fs[2])
			if errA != nil || errB != nil {
				t.Errorf("%s: cannot parse %q", name, line)
				continue
			}
			ba, _ := strconv.ParseUint(fs[3], 10, 64)
			ab, _ := strconv.ParseUint(fs[6], 10, 64)
			total++
			var got [2]uint64
			f := byPair[[2]netip.AddrPort{a, b}]
			if f != nil {
				got = [2]uint64{f.Orig.Packets, f.Resp.Packets}
			} else if f = byPair[[2]netip.AddrPort{b, a}]; f != nil {
				got = [2]uint64{f.Resp.Packets, f.Orig.Packets}
			} else {
				t.Errorf("%s: tshark's %v <-> %v has no flow", name, a, b)
				continue
			}
			if got == [2]uint64{ab, ba} {
				agree++
				continue
			}
			msg := fmt.Sprintf("%s: %v <-> %v: packets %d/%d, tshark %d/%d", name, a, b, got[0], got[1], ab, ba)
			if f.Orig.Fragments+f.Resp.Fragments > 0 {
				t.Log(msg + " (fragments)")
			} else {
				t.Error(msg)
			}
		}
	}
	t.Logf("per-direction packets agree for %d of %d tshark conversations", agree, total)
}

// parseEndpoint parses tshark's "addr:port".
func parseEndpoint(s string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("no port in %q", s)
	}
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(s[i+1:], 10, 16)
	return netip.AddrPortFrom(a, uint16(p)), err
}
