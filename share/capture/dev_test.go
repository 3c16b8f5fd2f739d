package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"
)

// devDir holds real captures and EXPECTED.tsv, figures measured with capinfos, tshark
// and libpcap. The tests skip when it is absent.
const devDir = "../../../shared/data/pcap/dev"

// devRow is one line of EXPECTED.tsv, by column name.
type devRow map[string]string

func loadExpected(t *testing.T) []devRow {
	t.Helper()
	f, err := os.Open(filepath.Join(devDir, "EXPECTED.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s absent", devDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cols []string
	var rows []devRow
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = fields
			continue
		}
		if len(fields) != len(cols) {
			t.Fatalf("EXPECTED.tsv: line of %d fields, header has %d", len(fields), len(cols))
		}
		row := devRow{}
		for i, c := range cols {
			row[c] = fields[i]
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// parseEpochNS parses decimal seconds such as "1340954905.298858000" into integer
// nanoseconds, exactly. More than nine fraction digits are refused, not rounded.
func parseEpochNS(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	if len(frac) > 9 {
		return 0, fmt.Errorf("%q has %d fraction digits", s, len(frac))
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, err
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return 0, err
		}
	}
	return n*1e9 + f, nil
}

func TestParseEpochNS(t *testing.T) {
	for in, want := range map[string]int64{
		"1340954905.298858000": 1340954905_298858000,
		"1.031048000":          1_031048000,
		"1656949481.728614596": 1656949481_728614596,
		"7.5":                  7_500000000,
		"12":                   12e9,
	} {
		if got, err := parseEpochNS(in); got != want || err != nil {
			t.Errorf("parseEpochNS(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseEpochNS("980658802.1882137472"); err == nil {
		t.Errorf("parseEpochNS accepted ten fraction digits")
	}
}

// devResult is what reading one dev capture gave.
type devResult struct {
	r        *Reader
	pkts     []Packet // without data
	skips    []*DamageError
	err      error // final error; nil for io.EOF
	capltlen int   // packets with a captured length below the original length
}

func readDev(t *testing.T, name string) devResult {
	t.Helper()
	f, err := os.Open(filepath.Join(devDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	res := devResult{r: r}
	for {
		p, err := r.Next()
		var de *DamageError
		if errors.As(err, &de) && de.Resumable {
			res.skips = append(res.skips, de)
			continue
		}
		if err != nil {
			if err != io.EOF {
				res.err = err
			}
			return res
		}
		if len(p.Data) < p.OrigLen {
			res.capltlen++
		}
		p.Data = nil
		res.pkts = append(res.pkts, p)
	}
}

// TestDevCaptures checks every dev capture against EXPECTED.tsv.
//
// One justified difference: fuzz-2021-10-13.pcap holds a single record claiming
// 524501 bytes, of which 199 are present. capinfos and tshark count it as a packet
// (capinfos_packets 1) and take its time and its caplen < len; this reader delivers
// no such record, in line with complete_packet_records 0, so its first/last time and
// pkts_caplen_lt_len are not compared. Its sub-second field, 1882137472 ns, is also why
// the expected times have ten fraction digits.
func TestDevCaptures(t *testing.T) {
	for _, row := range loadExpected(t) {
		t.Run(row["file"], func(t *testing.T) {
			res := readDev(t, row["file"])
			r := res.r
			damaged := row["tail_problem"] != "" || row["read_error"] != ""

			wantN, err := strconv.Atoi(row["complete_packet_records"])
			if err != nil {
				t.Fatal(err)
			}
			if len(res.pkts) != wantN {
				t.Errorf("read %d packets, want complete_packet_records %d", len(res.pkts), wantN)
			}
			if got := r.Format().String(); got != row["container"] {
				t.Errorf("Format() = %s, want %s", got, row["container"])
			}
			if got := byteOrders(r); got != row["byte_order"] {
				t.Errorf("byte order %s, want %s", got, row["byte_order"])
			}
			var lts []string
			for _, ifc := range r.Interfaces() {
				lts = append(lts, strconv.Itoa(int(ifc.LinkType)))
			}
			if got := strings.Join(lts, ";"); got != row["linktypes"] {
				t.Errorf("link types %s, want %s", got, row["linktypes"])
			}
			if r.Format() == FormatPcap {
				ifc := r.Interfaces()[0]
				if got := ifc.Resolution.String(); got != row["pcap_ts_resolution"] {
					t.Errorf("resolution %s, want %s", got, row["pcap_ts_resolution"])
				}
				if got := strconv.Itoa(ifc.SnapLen); got != row["pcap_snaplen"] {
					t.Errorf("snaplen %s, want %s", got, row["pcap_snaplen"])
				}
			} else {
				if got := strconv.Itoa(len(r.Sections())); got != row["pcapng_sections"] {
					t.Errorf("%s sections, want %s", got, row["pcapng_sections"])
				}
				if got := strconv.Itoa(len(r.Interfaces())); got != row["pcapng_idbs"] {
					t.Errorf("%s interfaces, want %s", got, row["pcapng_idbs"])
				}
				if got, want := len(res.pkts), packetBlocks(t, row["pcapng_block_counts"]); got != want {
					t.Errorf("%d packets, want EPB+SPB+PB = %d", got, want)
				}
			}
			if wantN > 0 {
				for i, col := range map[int]string{0: "first_ts_epoch", wantN - 1: "last_ts_epoch"} {
					want, err := parseEpochNS(row[col])
					if err != nil {
						t.Fatal(err)
					}
					if i < len(res.pkts) && res.pkts[i].Timestamp != want {
						t.Errorf("packet %d at %d ns, want %s %d", i, res.pkts[i].Timestamp, col, want)
					}
				}
				if got := strconv.Itoa(res.capltlen); got != row["pkts_caplen_lt_len"] {
					t.Errorf("%s packets with caplen < len, want %s", got, row["pkts_caplen_lt_len"])
				}
			}

			if damaged {
				if res.err == nil && len(r.Damage()) == 0 {
					t.Errorf("damaged capture (%s%s) read without damage", row["tail_problem"], row["read_error"])
				}
			} else if res.err != nil || len(res.skips) > 0 {
				t.Errorf("intact capture: final error %v, skipped blocks %v", res.err, res.skips)
			}
			if len(r.Damage()) > 0 || res.err != nil {
				t.Logf("damage %+v, final error %v", r.Damage(), res.err)
			}
		})
	}
}

// byteOrders spells the byte order as EXPECTED.tsv does: "LE", or for pcapng the
// orders of its sections in order of appearance, such as "BE/LE".
func byteOrders(r *Reader) string {
	name := func(bo binary.ByteOrder) string {
		if bo == binary.ByteOrder(binary.BigEndian) {
			return "BE"
		}
		return "LE"
	}
	if r.Format() == FormatPcap {
		return name(r.ByteOrder())
	}
	var seen []string
	for _, s := range r.Sections() {
		if n := name(s.ByteOrder); !strings.Contains(strings.Join(seen, "/"), n) {
			seen = append(seen, n)
		}
	}
	return strings.Join(seen, "/")
}

// packetBlocks sums the packet blocks in a count list such as "EPB=6,IDB=5,SPB=2".
func packetBlocks(t *testing.T, counts string) int {
	n := 0
	for item := range strings.SplitSeq(counts, ",") {
		kind, v, _ := strings.Cut(item, "=")
		if kind == "EPB" || kind == "SPB" || kind == "PB" {
			c, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("block counts %q: %v", counts, err)
			}
			n += c
		}
	}
	return n
}

// TestDevCapturesAgainstPcapgo compares packet data, lengths and times with gopacket's
// pcapgo on every dev capture, for as many packets as pcapgo reads. pcapgo stops early
// where it is stricter (a pcap packet longer than the snaplen) or lacks support, and
// its 2^-n and sub-microsecond conversions are not exact; the comparison ends there.
func TestDevCapturesAgainstPcapgo(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(devDir, "*.pcap*"))
	if len(names) == 0 {
		t.Skipf("%s absent", devDir)
	}
	total := 0
	for _, path := range names {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			var src gopacket.PacketDataSource
			if r.Format() == FormatPcap {
				src, err = pcapgo.NewReader(bytes.NewReader(in))
			} else {
				src, err = pcapgo.NewNgReader(bytes.NewReader(in), pcapgo.NgReaderOptions{WantMixedLinkType: true})
			}
			if err != nil {
				t.Skipf("pcapgo cannot open it: %v", err)
			}
			n := 0
			for ; ; n++ {
				p, err := r.Next()
				if err != nil {
					break
				}
				data, ci, err := src.ReadPacketData()
				if err != nil {
					t.Logf("pcapgo stops after %d packets: %v", n, err)
					break
				}
				if p.NoTimestamp {
					ci.Timestamp = time.Unix(0, 0)
				}
				if !bytes.Equal(p.Data, data) || p.OrigLen != ci.Length || p.Timestamp != ci.Timestamp.UnixNano() {
					t.Fatalf("packet %d: %d bytes of %d at %d; pcapgo: %d of %d at %d",
						n, len(p.Data), p.OrigLen, p.Timestamp, len(data), ci.Length, ci.Timestamp.UnixNano())
				}
			}
			total += n
		})
	}
	t.Logf("%d packets agree with pcapgo", total)
}
