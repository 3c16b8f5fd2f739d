package flow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncodings renders synthetic flows (documentation addresses only) in
// JSON and as conn.log rows, compared with testdata/encodings.golden.
func TestEncodings(t *testing.T) {
	pkts := conv(1000, 5000, "> S", "< SA", "> A", "> PA 10", "< PA 20", "> FA", "< FA", "> A")
	pkts = append(pkts, dns(t0+20*ms, false, 30), dns(t0+21*ms, true, 60),
		eth(t0+22*ms, vxlanPkt(vtep1, vtep2, 1111, 7, ether(ipPkt(cli6, srv6, protoICMPv6, icmpHdr(128, 0, 9, 1, nil)), 100))))
	flows, _ := run(t, Config{LabelPackets: -1}, pkts...)
	var sb strings.Builder
	sb.WriteString(ConnHeader(Config{}, '\t'))
	for _, f := range flows {
		sb.Write(f.AppendConn(nil, '\t'))
	}
	sb.WriteString(ConnHeader(Config{}, ','))
	for _, f := range flows {
		sb.Write(f.AppendConn(nil, ','))
	}
	for _, f := range flows {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("JSON of flow %d does not parse: %v", f.ID, err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	got := sb.String()
	golden := filepath.Join("testdata", "encodings.golden")
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
		t.Errorf("encodings differ from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestConfigEncoding(t *testing.T) {
	def := Config{}
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"version":1,"merge_vlans":false,"merge_tunnels":false,"inner_only":false,"idle_tcp":"5m0s","idle_udp":"1m0s","idle_icmp":"1m0s","idle_other":"1m0s","active":"30m0s","linger":"5s","max_flows":1048576,"frag_timeout":"30s","max_frags":4096,"seq_len":128,"label_packets":10}`
	if string(b) != want {
		t.Errorf("json.Marshal(Config{}) = %s, want %s", b, want)
	}
	c, err := ParseConfig(b)
	if err != nil || c.Effective() != def.Effective() {
		t.Errorf("ParseConfig(%s) = %+v, %v", b, c, err)
	}
	odd := Config{MergeVLANs: true, IdleUDP: -1, Active: -5, SeqLen: 16, MaxFlows: 10}
	b, _ = json.Marshal(odd)
	c, err = ParseConfig(b)
	if err != nil || c.Effective() != odd.Effective() || c.String() != odd.String() || c.Digest() != odd.Digest() {
		t.Errorf("round trip of %s: %+v, %v", b, c, err)
	}
	if def.Digest() == odd.Digest() || len(def.Digest()) != 16 {
		t.Errorf("digests %s and %s", def.Digest(), odd.Digest())
	}
	if !strings.Contains(odd.String(), "idle_udp=off") || !strings.HasPrefix(odd.String(), "flow/v1 merge_vlans=true") {
		t.Errorf("String() = %s", odd.String())
	}
	for _, bad := range []string{
		`{"version":2}`, `{"idle_tcp":"5 minutes"}`, `{"idle_tcp":"-5s"}`, `{"unknown":1}`, `{"seq_len":5000}`,
		`{"max_flows":-1}`, `[]`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s) accepted", bad)
		}
	}
	if _, err := NewTable(Config{LabelPackets: 256}, nil); err == nil {
		t.Error("NewTable accepted label_packets 256")
	}
	var r EndReason
	if err := r.UnmarshalText([]byte("evicted")); err != nil || r != EndEvicted || EndReason(99).String() != "EndReason(99)" {
		t.Errorf("EndReason text: %v %v", r, err)
	}
	if err := r.UnmarshalText([]byte("bogus")); err == nil {
		t.Error("EndReason accepted bogus")
	}
}
