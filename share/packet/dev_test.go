package packet

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// expectedRow holds the figures of one capture in EXPECTED.tsv, computed
// with tshark.
type expectedRow struct {
	v4Outer, v6Outer, v4All, v6All, frags int
}

// readExpected reads the address and fragment columns of EXPECTED.tsv.
func readExpected(t *testing.T) map[string]expectedRow {
	t.Helper()
	f, err := os.Open(filepath.Join(devDir, "EXPECTED.tsv"))
	if err != nil {
		t.Skipf("EXPECTED.tsv not available: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	col := map[string]int{}
	rows := map[string]expectedRow{}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(col) == 0 {
			for i, name := range fields {
				col[name] = i
			}
			for _, name := range []string{"file", "ipv4_addrs_outer", "ipv6_addrs_outer", "ipv4_addrs_all_layers", "ipv6_addrs_all_layers", "ip_fragment_pkts"} {
				if _, ok := col[name]; !ok {
					t.Fatalf("EXPECTED.tsv has no column %q", name)
				}
			}
			continue
		}
		num := func(name string) int {
			n, err := strconv.Atoi(fields[col[name]])
			if err != nil {
				t.Fatalf("EXPECTED.tsv: %s of %s: %v", name, fields[col["file"]], err)
			}
			return n
		}
		rows[fields[col["file"]]] = expectedRow{
			v4Outer: num("ipv4_addrs_outer"), v6Outer: num("ipv6_addrs_outer"),
			v4All: num("ipv4_addrs_all_layers"), v6All: num("ipv6_addrs_all_layers"),
			frags: num("ip_fragment_pkts"),
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// addrCounts counts what the decoder finds in one capture, the way the
// tshark figures were made: "outer" is the first IPv4 and the first IPv6
// header of each packet (tshark's first ip.src/ipv6.src occurrence, so an
// IPv6 packet inside IPv4 is "outer" for IPv6, as 6in4tunnel.pcap and
// teredo.pcap show), "all" is every IP header, including tunnels and the
// headers quoted by ICMP errors. Quotes must be included: without them
// 6in4tunnel.pcap has 6 IPv6 addresses in all layers, tshark 7, the
// seventh appearing only inside ICMPv6 error quotes. A partial header is
// skipped, as tshark shows no fields of a header cut short (none of the
// captures has one).
type addrCounts struct {
	v4Outer, v6Outer, v4All, v6All map[netip.Addr]bool
	frags                          int
	unsupportedLink                bool
}

func countAddrs(recs []record) addrCounts {
	c := addrCounts{
		v4Outer: map[netip.Addr]bool{}, v6Outer: map[netip.Addr]bool{},
		v4All: map[netip.Addr]bool{}, v6All: map[netip.Addr]bool{},
	}
	var p Packet
	for _, r := range recs {
		if err := Decode(&p, r.data, r.linkType); errors.Is(err, ErrUnsupportedLinkType) {
			c.unsupportedLink = true
			continue
		}
		seen4, seen6, frag := false, false, false
		for i := 0; i < p.N; i++ {
			h := p.Headers[i]
			switch h.Kind {
			case IPv4:
				if h.Partial {
					continue // tshark does not show the addresses of a cut header
				}
				if !h.Quoted && (be16(r.data, h.Off+6)&0x3fff) != 0 {
					frag = true
				}
				for _, a := range p.HeaderAddrs(i) {
					if a.Type == AddrIPv4 && (a.Role == RoleSrc || a.Role == RoleDst) {
						ip, _ := netip.AddrFromSlice(r.data[a.Off : a.Off+4])
						c.v4All[ip] = true
						if !seen4 {
							c.v4Outer[ip] = true
						}
					}
				}
				seen4 = true
			case IPv6:
				if h.Partial {
					continue
				}
				for _, a := range p.HeaderAddrs(i) {
					if a.Type == AddrIPv6 && (a.Role == RoleSrc || a.Role == RoleDst) {
						ip, _ := netip.AddrFromSlice(r.data[a.Off : a.Off+16])
						c.v6All[ip] = true
						if !seen6 {
							c.v6Outer[ip] = true
						}
					}
				}
				seen6 = true
			case IPv6Frag:
				if !h.Quoted {
					frag = true
				}
			}
		}
		if frag {
			c.frags++
		}
	}
	return c
}

// expectedDiffs explains every figure where the decoder and tshark
// disagree, by file; the test fails on any other difference. It is empty:
// all 47 captures agree, including the PPI (192) and Solaris ipnet (226)
// ones, whose link types were added for that reason.
var expectedDiffs = map[string]string{}

// TestDevCapturesAgainstTshark compares the distinct addresses and the
// fragment counts that the decoder finds in every development capture with
// tshark's figures in EXPECTED.tsv.
func TestDevCapturesAgainstTshark(t *testing.T) {
	rows := readExpected(t)
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	var table strings.Builder
	fmt.Fprintf(&table, "%-40s %13s %13s %13s %13s %13s\n", "file", "v4 outer", "v6 outer", "v4 all", "v6 all", "fragments")
	agree, total := 0, 0
	for _, name := range names {
		want := rows[name]
		path := filepath.Join(devDir, name)
		if !fileExists(path) {
			t.Errorf("%s is listed in EXPECTED.tsv but missing", name)
			continue
		}
		recs := readCapture(t, path)
		got := countAddrs(recs)
		cells := [5][2]int{
			{len(got.v4Outer), want.v4Outer}, {len(got.v6Outer), want.v6Outer},
			{len(got.v4All), want.v4All}, {len(got.v6All), want.v6All},
			{got.frags, want.frags},
		}
		fmt.Fprintf(&table, "%-40s", name)
		same := true
		for _, c := range cells {
			mark := " "
			if c[0] != c[1] {
				mark, same = "*", false
			}
			fmt.Fprintf(&table, " %5d/%-5d %s", c[0], c[1], mark)
		}
		if got.unsupportedLink {
			fmt.Fprintf(&table, "  (link type not decoded)")
		}
		table.WriteString("\n")
		total++
		if same {
			agree++
			continue
		}
		if why, ok := expectedDiffs[name]; ok {
			t.Logf("%s differs from tshark: %s", name, why)
			continue
		}
		t.Errorf("%s: decoder/tshark = %v, no justification recorded", name, cells)
	}
	t.Logf("distinct addresses and fragments, decoder/tshark (* = differs), %d of %d files agree:\n%s", agree, total, table.String())
}
