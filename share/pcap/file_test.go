package pcap

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/pseudo"
)

// writeTemp writes b to a new file named name and returns its path.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAnonymizeFileRecords checks the files AnonymizeFile leaves: the output,
// its record (comment or sidecar) readable by ReadMetadata, no input metadata,
// no temporary files, and a restore through DeanonymizeFile.
func TestAnonymizeFileRecords(t *testing.T) {
	opts := testOptions()
	for name, in := range synthCaptures(t) {
		t.Run(name, func(t *testing.T) {
			src := writeTemp(t, name, in)
			out := filepath.Join(t.TempDir(), "out")
			st, err := AnonymizeFile(context.Background(), src, out, opts)
			if err != nil {
				t.Fatal(err)
			}
			md, err := ReadMetadata(out)
			if err != nil {
				t.Fatal(err)
			}
			if md.KeyID != "ek_test" || md.Mode != pseudo.ModeCryptoPAn || md.Passthrough != DefaultPassthrough().String() || md.Flowfed != "test" {
				t.Errorf("record %+v", md)
			}
			_, err = os.Stat(out + SidecarSuffix)
			if sidecar := err == nil; sidecar != (st.Output == capture.FormatPcap) {
				t.Errorf("%s output: sidecar present = %v", st.Output, sidecar)
			}
			b, _ := os.ReadFile(out)
			if bytes.Contains(b, []byte("synthesized by the share/pcap tests")) {
				t.Error("the input's section comment was copied")
			}
			back := filepath.Join(t.TempDir(), "back")
			if _, err := DeanonymizeFile(context.Background(), out, back, testRestore(md)); err != nil {
				t.Fatal(err)
			}
			bb, _ := os.ReadFile(back)
			if !bytes.Equal(bb, deanonymize(t, b, opts)) {
				t.Error("DeanonymizeFile and Deanonymize differ")
			}
			entries, _ := os.ReadDir(filepath.Dir(out))
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file %s left", e.Name())
				}
			}
		})
	}
}

// TestFileFailures checks the errors: same file, junk input (nothing left
// behind), a mode that cannot rewrite, a missing record, a record of another key,
// and cancellation.
func TestFileFailures(t *testing.T) {
	opts := testOptions()
	dir := t.TempDir()
	src := writeTemp(t, "in.pcap", synthEthernet(t))
	if _, err := AnonymizeFile(context.Background(), src, src, opts); !errors.Is(err, ErrSameFile) {
		t.Errorf("output onto input: %v, want ErrSameFile", err)
	}
	junk := writeTemp(t, "junk", []byte("not a capture at all"))
	out := filepath.Join(dir, "out.pcap")
	if _, err := AnonymizeFile(context.Background(), junk, out, opts); !errors.Is(err, capture.ErrUnknownFormat) {
		t.Errorf("junk input: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed rewrite left %d files", len(entries))
	}
	det := opts
	det.Mode = pseudo.ModeDeterministic
	if _, err := AnonymizeFile(context.Background(), src, out, det); !errors.Is(err, ErrMode) {
		t.Errorf("ipcrypt-det: %v, want ErrMode", err)
	}
	if _, err := ReadMetadata(src); !errors.Is(err, ErrNoMetadata) {
		t.Errorf("record of a capture never anonymized: %v, want ErrNoMetadata", err)
	}
	// A pcapng capture names its key: restoring with the record of another fails.
	ng := opts
	ng.Format = capture.FormatPcapng
	b, _ := anonymize(t, synthEthernet(t), ng)
	other := ng.metadata()
	other.KeyID = "ek_other"
	var sink bytes.Buffer
	if _, err := Deanonymize(context.Background(), bytes.NewReader(b), &sink, testRestore(other)); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("restoring with another key's record: %v, want ErrKeyMismatch", err)
	}
	// Cancellation is seen between packets.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := manyPackets(t, 3*progressEvery)
	if _, err := Anonymize(ctx, bytes.NewReader(big), &sink, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// manyPackets returns a classic pcap of n small packets.
func manyPackets(t testing.TB, n int) []byte {
	p := eth(macB, macA, 0x0800, ipv4(v4Cli, v4Srv, 17, udp(v4Cli, v4Srv, 1, 2, nil)))
	fs := make([]frame, n)
	for i := range fs {
		fs[i] = frame{link: capture.LinkTypeEthernet, data: p}
	}
	return writeCapture(t, false, fs)
}

// TestFormatsAndTime checks container conversion both ways, nanosecond times,
// time shift and rounding, and the drop of times a format cannot hold.
func TestFormatsAndTime(t *testing.T) {
	in := synthLinks(t) // pcapng, nanosecond times, several link types
	opts := testOptions()
	opts.Format = capture.FormatPcap
	out, st := anonymize(t, in, opts)
	// Classic pcap holds one link type: the first packet's (raw IPv4).
	var mismatch int64
	for _, d := range st.Dropped {
		if d.Reason == DropLinkTypeMismatch {
			mismatch += d.Count
		}
	}
	if st.Output != capture.FormatPcap || st.PacketsOut != 2 || mismatch != 6 {
		t.Errorf("pcapng to pcap: %v, %d packets, %d dropped for their link type; want pcap, 2, 6 (%+v)", st.Output, st.PacketsOut, mismatch, st.Dropped)
	}
	inRecs, _ := readAll(t, in)
	outRecs, r := readAll(t, out)
	if r.Interfaces()[0].Resolution != capture.ResolutionNano || outRecs[0].ts != inRecs[0].ts {
		t.Errorf("nanosecond time not kept: %d, want %d", outRecs[0].ts, inRecs[0].ts)
	}
	// Shift and round.
	opts = testOptions()
	opts.TimeShift = -72 * time.Hour
	opts.TimeRound = time.Second
	out, _ = anonymize(t, in, opts)
	outRecs, _ = readAll(t, out)
	for i, o := range outRecs {
		want := inRecs[i].ts - int64(72*time.Hour)
		want -= want % int64(time.Second)
		if o.ts != want {
			t.Errorf("packet %d: time %d, want %d", i+1, o.ts, want)
			break
		}
	}
	md := opts.metadata()
	if !md.TimeShifted || md.TimeRound != "1s" || strings.Contains(md.comment(), "72h") {
		t.Errorf("record %s", md.comment())
	}
	// A shift before 1970 drops the packets and says why.
	opts.TimeShift = -60 * 365 * 24 * time.Hour
	_, st = anonymize(t, in, opts)
	if st.PacketsOut != 0 || len(st.Dropped) == 0 || st.Dropped[0].Reason != DropTimestamp {
		t.Errorf("shift before 1970: %d packets out, dropped %+v", st.PacketsOut, st.Dropped)
	}
	// pcap to pcapng keeps every packet and records the anonymization.
	opts = testOptions()
	opts.Format = capture.FormatPcapng
	out, st = anonymize(t, synthEthernet(t), opts)
	if st.Output != capture.FormatPcapng || !bytes.Contains(out, []byte(commentPrefix)) {
		t.Errorf("pcap to pcapng: %v, record present = %v", st.Output, bytes.Contains(out, []byte(commentPrefix)))
	}
}

// TestPayloadModes checks that drop, cut and keep keep increasing amounts, and
// that only drop leaves out the DNS and DHCP messages.
func TestPayloadModes(t *testing.T) {
	in := synthEthernet(t)
	sizes := map[PayloadMode]int64{}
	for _, m := range []PayloadMode{PayloadDrop, PayloadCut, PayloadKeep} {
		opts := testOptions()
		opts.Payload = m
		_, st := anonymize(t, in, opts)
		sizes[m] = st.BytesOut
		if m == PayloadDrop && (st.DNSRewritten != 0 || st.DHCPRewritten != 0) {
			t.Errorf("drop: %d DNS and %d DHCP messages kept", st.DNSRewritten, st.DHCPRewritten)
		}
		if m != PayloadDrop && (st.DNSRewritten == 0 || st.DHCPRewritten == 0) {
			t.Errorf("%s: no DNS or DHCP message rewritten", m)
		}
	}
	if !(sizes[PayloadDrop] < sizes[PayloadCut] && sizes[PayloadCut] < sizes[PayloadKeep]) {
		t.Errorf("bytes out: drop %d, cut %d, keep %d; want increasing", sizes[PayloadDrop], sizes[PayloadCut], sizes[PayloadKeep])
	}
	for _, s := range []string{"cut", "KEEP", "drop"} {
		if _, err := ParsePayloadMode(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParsePayloadMode("half"); !errors.Is(err, ErrOptions) {
		t.Errorf("ParsePayloadMode(half): %v", err)
	}
}

// TestTCPTimestampsZeroed checks the TCP timestamp values go, unless asked to stay.
func TestTCPTimestampsZeroed(t *testing.T) {
	in := synthEthernet(t)
	for _, keep := range []bool{false, true} {
		opts := testOptions()
		opts.KeepTCPOptions = keep
		out, st := anonymize(t, in, opts)
		has := bytes.Contains(out, u32(0x11223344))
		if has != keep || (st.TCPTimestampsZeroed == 0) == !keep {
			t.Errorf("keep-tcp-options %v: timestamp present %v, %d zeroed", keep, has, st.TCPTimestampsZeroed)
		}
	}
}

// TestInspect checks the summary of a multi-interface capture, of an output
// (its record) and of a damaged capture.
func TestInspect(t *testing.T) {
	s, err := Inspect(context.Background(), bytes.NewReader(synthLinks(t)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Format != capture.FormatPcapng || s.Packets != 9 || len(s.Interfaces) != 8 || s.Meta != nil {
		t.Errorf("summary %+v", s)
	}
	for _, ifc := range s.Interfaces {
		if ifc.Decoded != (ifc.LinkType != 147) {
			t.Errorf("interface %v: decoded %v", ifc.LinkType, ifc.Decoded)
		}
	}
	if s.IPv4 != 2 || s.IPv6 != 2 || s.MAC != 2 || !s.HasTime || s.Last <= s.First {
		t.Errorf("addresses %d/%d/%d, time %v %d..%d", s.IPv4, s.IPv6, s.MAC, s.HasTime, s.First, s.Last)
	}
	out, _ := anonymize(t, synthLinks(t), testOptions())
	if s, err := Inspect(context.Background(), bytes.NewReader(out)); err != nil || s.Meta == nil || s.Meta.KeyID != "ek_test" {
		t.Errorf("Inspect of an output: record %+v, %v", s.Meta, err)
	}
	b, err := os.ReadFile(filepath.Join(devDir, "zeek__trunc-hdr.pcap"))
	if err != nil {
		t.Skip("development captures absent")
	}
	if s, err := Inspect(context.Background(), bytes.NewReader(b)); err != nil || !s.Damaged() {
		t.Errorf("damaged capture: damaged = %v, %v", s.Damaged(), err)
	}
}

// TestProgress checks that progress is reported every progressEvery packets and
// once at the end with the whole input consumed.
func TestProgress(t *testing.T) {
	opts := testOptions()
	var reports []Progress
	opts.Progress = func(p Progress) { reports = append(reports, p) }
	in := manyPackets(t, progressEvery+10)
	var sink bytes.Buffer
	if _, err := Anonymize(context.Background(), bytes.NewReader(in), &sink, opts); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || reports[0].Packets != progressEvery || !reports[1].Done || reports[1].Bytes != int64(len(in)) {
		t.Errorf("reports %+v", reports)
	}
}

// TestKeepCutsSCTP checks that PayloadKeep cuts SCTP chunks, whose INIT and ASCONF
// parameters carry addresses, but keeps TCP payload.
func TestKeepCutsSCTP(t *testing.T) {
	initChunk := cat([]byte{1, 0}, u16(20+8), u32(1), u32(65535), u16(1), u16(1), u32(1), u16(5), u16(8), v4Cli)
	sctp := cat(u16(1), u16(2), u32(0), u32(0), initChunk)
	in := writeCapture(t, false, []frame{
		{link: capture.LinkTypeEthernet, data: eth(macB, macA, 0x0800, ipv4(v4Srv, v4Rtr, 132, sctp))},
		{link: capture.LinkTypeEthernet, data: eth(macB, macA, 0x0800, ipv4(v4Srv, v4Rtr, 6, tcp(v4Srv, v4Rtr, 1, 2, 3, 4, nil, []byte("payload"))))},
	})
	opts := testOptions()
	opts.Payload = PayloadKeep
	out, _ := anonymize(t, in, opts)
	recs, _ := readAll(t, out)
	if len(recs[0].data) != 14+20+12 || bytes.Contains(out, v4Cli) {
		t.Errorf("SCTP packet kept %d bytes, want the 46 up to the chunks", len(recs[0].data))
	}
	if !bytes.HasSuffix(recs[1].data, []byte("payload")) {
		t.Error("TCP payload not kept")
	}
}
