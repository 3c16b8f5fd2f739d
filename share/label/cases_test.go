package label

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCaseC14 checks the C14 case: a DNS exchange on a non-standard UDP
// port, and a DNS exchange over TCP whose query and response each span two
// segments (the length prefix alone, then the message; the response cut
// inside its question). Both flows must be labelled DNS from the payload
// with the query name and the first answer as evidence.
func TestCaseC14(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(casesDir, "C14-expected.json"))
	if err != nil {
		t.Skipf("case C14 not available: %v", err)
	}
	var want struct {
		Flows []struct {
			Proto, Client, Server, Label, Query, Answer string
			ClientPayloadPackets                        int `json:"client_payload_packets"`
			ServerPayloadPackets                        int `json:"server_payload_packets"`
		}
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("parsing C14-expected.json: %v", err)
	}
	flows := readFlows(t, filepath.Join(casesDir, "C14-dns-unusual.pcap"))
	if len(flows) != len(want.Flows) {
		t.Fatalf("C14: %d flows, want %d", len(flows), len(want.Flows))
	}
	for i, w := range want.Flows {
		f := flows[i]
		proto := map[uint8]string{ipTCP: "tcp", ipUDP: "udp"}[f.proto]
		if proto != w.Proto || f.init.String() != w.Client || f.resp.String() != w.Server {
			t.Errorf("C14 flow %d: %s %v -> %v, want %s %s -> %s", i, proto, f.init, f.resp, w.Proto, w.Client, w.Server)
			continue
		}
		if w.ClientPayloadPackets > 0 && (f.payloads[0] != w.ClientPayloadPackets || f.payloads[1] != w.ServerPayloadPackets) {
			t.Errorf("C14 flow %d: payload packets %v, want [%d %d]", i, f.payloads, w.ClientPayloadPackets, w.ServerPayloadPackets)
		}
		l := f.result()
		if l.Protocol.String() != w.Label || l.Source != SourcePayload {
			t.Errorf("C14 flow %d (%s): label %v from %v, want %s from the payload", i, w.Proto, l, l.Source, w.Label)
			continue
		}
		if l.Evidence == nil || l.Evidence.DNSQuery != w.Query || l.Evidence.DNSAnswer != w.Answer {
			t.Errorf("C14 flow %d (%s): evidence %+v, want query %q answer %q", i, w.Proto, l.Evidence, w.Query, w.Answer)
		}
		if f.state.re != nil {
			t.Errorf("C14 flow %d: reassembly buffer kept after Result", i)
		}
	}
}
