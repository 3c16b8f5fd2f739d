package flow

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "update the golden files in testdata")

// goldenCaptures are the development captures whose sequence features are
// kept as golden files. They were checked by hand against
//
//	tshark -r FILE -T fields -e frame.time_epoch -e ip.len -e tcp.len -e udp.length -e tcp.flags
//
// (IP length, TCP payload length or UDP length less 8, the time since the
// flow's previous packet, and the flags byte). The golden files hold no
// address: they are derived data of shared captures.
var goldenCaptures = []string{"NTPv4.pcap", "dns.pcap", "tls_1.3_unidirectional_client.pcapng"}

// formatSeq renders the flows of a capture without addresses.
func formatSeq(flows []*Flow) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# %s\n", Config{}.String())
	for _, f := range flows {
		k := f.Key
		fam := "ipv4"
		if k.IPv6 {
			fam = "ipv6"
		}
		fmt.Fprintf(&sb, "flow %d %s proto %d ports %d>%d vlan %v reason %v state %s history %s packets %d/%d ip_bytes %d/%d payload %d/%d\n",
			f.ID, fam, k.Proto, k.SrcPort, k.DstPort, k.VLAN, f.Reason, f.ConnState(), f.History(),
			f.Orig.Packets, f.Resp.Packets, f.Orig.IPBytes, f.Resp.IPBytes, f.Orig.PayloadBytes, f.Resp.PayloadBytes)
		sb.WriteString("step dir ip_len payload_len iat_us flags\n")
		for i, s := range f.Seq {
			dir := ">"
			if s.FromResp {
				dir = "<"
			}
			fmt.Fprintf(&sb, "%d %s %d %d %d 0x%02x\n", i, dir, s.IPLen, s.PayloadLen, s.IAT, s.Flags)
		}
	}
	return sb.String()
}

// TestGoldenSequences compares the sequence features of a few small
// captures with testdata/*.golden (go test -update rewrites them).
func TestGoldenSequences(t *testing.T) {
	for _, name := range goldenCaptures {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(devDir, name)); err != nil {
				t.Skipf("capture not available: %v", err)
			}
			flows, _ := readFlows(t, name, Config{})
			got := formatSeq(flows)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("sequence features differ from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
