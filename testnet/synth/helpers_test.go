package synth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/packet"
)

// synth writes the capture of cfg into memory.
func synth(t testing.TB, cfg Config) ([]byte, Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Write(&buf, cfg)
	if err != nil {
		t.Fatalf("Write(%+v): %v", cfg, err)
	}
	return buf.Bytes(), sum
}

// flows meters a capture with share/flow's default settings.
func flows(t testing.TB, data []byte) ([]*flow.Flow, flow.Stats) {
	t.Helper()
	var out []*flow.Flow
	st, err := flow.ReadCapture(context.Background(), bytes.NewReader(data), flow.Config{}, func(f *flow.Flow) {
		out = append(out, f.Clone())
	})
	if err != nil {
		t.Fatalf("reading the capture: %v", err)
	}
	if len(st.Damage) > 0 {
		t.Fatalf("the capture is damaged: %v", st.Damage)
	}
	return out, st
}

// kindOf tells which kind a flow was generated as, from what is visible
// on the wire: scans carry no payload, the rest is told by the server
// port.
func kindOf(f *flow.Flow) string {
	if f.Key.Proto == 6 && f.Orig.PayloadBytes == 0 && f.Resp.PayloadBytes == 0 {
		return KindScan
	}
	switch {
	case f.Key.Proto == 17 && f.Key.DstPort == 53:
		return KindDNS
	case f.Key.Proto == 17 && f.Key.DstPort == 123:
		return KindNTP
	case f.Key.Proto == 17 && f.Key.DstPort == 443:
		return KindQUIC
	case f.Key.Proto == 6 && (f.Key.DstPort == 80 || f.Key.DstPort == 8080):
		return KindHTTP
	case f.Key.Proto == 6 && f.Key.DstPort == 443:
		return KindTLS
	case f.Key.Proto == 6 && f.Key.DstPort == 22:
		return KindSSH
	}
	return "?"
}

// wantProtocol is the label of each kind.
var wantProtocol = map[string]label.Protocol{
	KindDNS: label.DNS, KindHTTP: label.HTTP, KindTLS: label.TLS, KindSSH: label.SSH,
	KindNTP: label.NTP, KindQUIC: label.QUIC,
}

// packetInfo is what a test reads back from each packet.
type packetInfo struct {
	ts    int64
	data  []byte
	addrs []netip.Addr // IP header addresses and DNS answer addresses
	names []string     // DNS names in questions and answers
}

// readPackets decodes every packet of a capture: header addresses with
// share/packet, DNS messages with gopacket.
func readPackets(t testing.TB, data []byte) []packetInfo {
	t.Helper()
	r, err := capture.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []packetInfo
	var p packet.Packet
	for {
		pk, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d := append([]byte(nil), pk.Data...)
		info := packetInfo{ts: pk.Timestamp, data: d}
		if err := packet.Decode(&p, d, uint32(capture.LinkTypeEthernet)); err != nil {
			t.Fatalf("packet %d does not decode: %v", len(out), err)
		}
		for _, a := range p.Addrs[:p.NAddr] {
			if a.Type == packet.AddrIPv4 || a.Type == packet.AddrIPv6 {
				ad, _ := netip.AddrFromSlice(d[a.Off : a.Off+int(a.Len)])
				info.addrs = append(info.addrs, ad)
			}
		}
		if p.Proto == 17 && (p.SrcPort == 53 || p.DstPort == 53) {
			var dns layers.DNS
			if err := dns.DecodeFromBytes(p.PayloadBytes(d), gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("packet %d: DNS message does not decode: %v", len(out), err)
			}
			for _, q := range dns.Questions {
				info.names = append(info.names, string(q.Name))
			}
			for _, rrs := range [][]layers.DNSResourceRecord{dns.Answers, dns.Authorities} {
				for _, rr := range rrs {
					info.names = append(info.names, string(rr.Name))
					switch rr.Type {
					case layers.DNSTypeA, layers.DNSTypeAAAA:
						a, _ := netip.AddrFromSlice(rr.IP)
						info.addrs = append(info.addrs, a.Unmap())
					case layers.DNSTypeCNAME:
						info.names = append(info.names, string(rr.CNAME))
					case layers.DNSTypeSOA:
						info.names = append(info.names, string(rr.SOA.MName), string(rr.SOA.RName))
					}
				}
			}
		}
		out = append(out, info)
	}
	return out
}
