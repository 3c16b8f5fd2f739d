package label

import (
	"testing"
)

// encodeFlow writes the packets of a case in FuzzObserve's input format:
// per packet a two-byte header (bit 15: from the responder; low 12 bits:
// the length) and the payload.
func encodeFlow(pkts []pkt) []byte {
	var out []byte
	for _, p := range pkts {
		n := min(len(p.data), 0xfff)
		h := n
		if !p.fromClient {
			h |= 0x8000
		}
		out = append(out, byte(h>>8), byte(h))
		out = append(out, p.data[:n]...)
	}
	return out
}

// FuzzObserve feeds arbitrary packet sequences to a State. Properties:
// no panic; the reassembly buffer never exceeds MaxReassembly per
// direction and is gone after Result; Observe keeps reporting done once it
// has; a payload label names a protocol; evidence is printable ASCII of
// at most MaxEvidenceLen bytes; Result is stable when called again.
func FuzzObserve(f *testing.F) {
	for _, c := range allCases() {
		f.Add(c.transport == ipUDP, c.cport, c.sport, encodeFlow(c.pkts))
	}
	f.Fuzz(func(t *testing.T, udp bool, cport, sport uint16, stream []byte) {
		transport := uint8(ipTCP)
		if udp {
			transport = ipUDP
		}
		var s State
		done := false
		for len(stream) >= 2 {
			h := int(stream[0])<<8 | int(stream[1])
			n := min(h&0xfff, len(stream)-2)
			payload := stream[2 : 2+n]
			stream = stream[2+n:]
			fromClient := h&0x8000 == 0
			sp, dp := cport, sport
			if !fromClient {
				sp, dp = dp, sp
			}
			saved := string(payload)
			got := s.Observe(fromClient, transport, sp, dp, payload)
			if string(payload) != saved {
				t.Fatal("Observe modified the payload")
			}
			if done && !got {
				t.Fatal("Observe reported not done after done")
			}
			done = got
			if s.re != nil {
				for d, h := range s.re.head {
					if len(h) > MaxReassembly {
						t.Fatalf("direction %d: %d bytes kept, more than %d", d, len(h), MaxReassembly)
					}
				}
			}
		}
		l := s.Result(transport, cport, sport)
		if s.re != nil {
			t.Fatal("reassembly buffer kept after Result")
		}
		if l.Source == SourcePayload && l.Protocol == Unknown || l.Source == SourceNone && l.Protocol != Unknown {
			t.Fatalf("inconsistent label %+v", l)
		}
		if l2 := s.Result(transport, cport, sport); l2 != l {
			t.Fatalf("Result changed: %+v then %+v", l, l2)
		}
		if l.Evidence == nil {
			return
		}
		for _, v := range evidenceFields(l.Evidence) {
			if len(v) > MaxEvidenceLen {
				t.Fatalf("evidence of %d bytes: %q", len(v), v)
			}
			for _, c := range []byte(v) {
				if c < 0x20 || c > 0x7e {
					t.Fatalf("evidence not printable: %q", v)
				}
			}
		}
	})
}

// evidenceFields lists the strings of an Evidence.
func evidenceFields(e *Evidence) []string {
	return []string{e.DNSQuery, e.DNSAnswer, e.DNSRcode, e.HTTPHost, e.HTTPMethod, e.HTTPStatus, e.UserAgent,
		e.TLSSNI, e.TLSALPN, e.TLSVersion, e.SSHBanner, e.QUICVersion, e.Banner, e.Command, e.Version, e.Detail}
}
