package pcap

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"

	"github.com/flowfed/flowfed/share/capture"
)

// expectedPackets reads complete_packet_records of EXPECTED.tsv, or nil when absent.
func expectedPackets(t *testing.T) map[string]int64 {
	t.Helper()
	f, err := os.Open(filepath.Join(devDir, "EXPECTED.tsv"))
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	col := map[string]int{}
	out := map[string]int64{}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(col) == 0 {
			for i, c := range fields {
				col[c] = i
			}
			continue
		}
		n, err := strconv.ParseInt(fields[col["complete_packet_records"]], 10, 64)
		if err != nil {
			t.Fatalf("EXPECTED.tsv: %v", err)
		}
		out[fields[col["file"]]] = n
	}
	return out
}

// pcapgoCount reads a capture with gopacket's pcapgo and counts its packets.
func pcapgoCount(t *testing.T, b []byte) int64 {
	t.Helper()
	var next func() error
	if bytes.HasPrefix(b, []byte("\x0a\x0d\x0d\x0a")) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatalf("pcapgo: %v", err)
		}
		for i := 0; i < r.NInterfaces(); i++ {
			if ifc, _ := r.Interface(i); ifc.Name != "" || ifc.Description != "" || ifc.Filter != "" || ifc.OS != "" {
				t.Errorf("output interface %d carries metadata: %+v", i, ifc)
			}
		}
		next = func() error { _, _, err := r.ReadPacketData(); return err }
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("pcapgo: %v", err)
		}
		next = func() error { _, _, err := r.ReadPacketData(); return err }
	}
	var n int64
	for {
		err := next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("pcapgo: packet %d: %v", n+1, err)
		}
		n++
	}
}

// TestOutputReadable checks that every output reads back with gopacket's pcapgo and
// with Wireshark's reader (capinfos, one run over all outputs; tshark on a few)
// with as many packets as were read minus those reported dropped, and that the
// input's packets were all read (EXPECTED.tsv).
func TestOutputReadable(t *testing.T) {
	c := corpus(t)
	exp := expectedPackets(t)
	dir := t.TempDir()
	want := map[string]int64{}
	var files []string
	for _, name := range sortedNames(c) {
		out, st := anonymize(t, c[name], testOptions())
		if n, ok := exp[name]; ok && st.PacketsIn != n {
			t.Errorf("%s: %d packets read, EXPECTED.tsv says %d complete records", name, st.PacketsIn, n)
		}
		if st.PacketsOut != st.PacketsIn-st.DroppedPackets() {
			t.Errorf("%s: %d packets out, %d in, %d dropped", name, st.PacketsOut, st.PacketsIn, st.DroppedPackets())
		}
		if n := pcapgoCount(t, out); n != st.PacketsOut {
			t.Errorf("%s: pcapgo reads %d packets, %d written", name, n, st.PacketsOut)
		}
		p := filepath.Join(dir, name+".anon"+ext(st.Output))
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		want[p] = st.PacketsOut
	}
	t.Run("capinfos", func(t *testing.T) {
		out, err := exec.Command(tool(t, "capinfos"), append([]string{"-c", "-M"}, files...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("capinfos: %v\n%s", err, out)
		}
		re := regexp.MustCompile(`(?m)^File name:\s+(\S+)\n(?:.*\n)*?Number of packets:\s+(\d+)`)
		got := map[string]int64{}
		for _, m := range re.FindAllStringSubmatch(string(out), -1) {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			got[m[1]] = n
		}
		for f, n := range want {
			if got[f] != n {
				t.Errorf("capinfos counts %d packets in %s, want %d", got[f], filepath.Base(f), n)
			}
		}
	})
	t.Run("tshark", func(t *testing.T) {
		tshark := tool(t, "tshark")
		for _, name := range []string{"synth-ethernet.pcap.anon.pcap", "synth-links.pcapng.anon.pcapng", "teredo.pcap.anon.pcap"} {
			p := filepath.Join(dir, name)
			if _, ok := want[p]; !ok {
				continue
			}
			out, err := exec.Command(tshark, "-n", "-r", p, "-T", "fields", "-e", "frame.number").Output()
			if err != nil {
				t.Fatalf("tshark %s: %v", name, err)
			}
			if n := int64(len(strings.Fields(string(out)))); n != want[p] {
				t.Errorf("tshark reads %d packets of %s, want %d", n, name, want[p])
			}
		}
	})
}

// TestDroppedLinkType checks that packets of a link type that is not decoded are
// dropped, never passed through, and reported with their interface.
func TestDroppedLinkType(t *testing.T) {
	_, st := anonymize(t, synthLinks(t), testOptions())
	if len(st.Dropped) != 1 || st.Dropped[0].Reason != DropLinkType || st.Dropped[0].LinkType != 147 || st.Dropped[0].Count != 1 {
		t.Errorf("dropped = %+v, want one packet of link type 147", st.Dropped)
	}
	if st.Output != capture.FormatPcapng || st.PacketsOut != 8 {
		t.Errorf("output %v with %d packets, want pcapng with 8", st.Output, st.PacketsOut)
	}
}
