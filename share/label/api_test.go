package label

import (
	"errors"
	"testing"
	"unsafe"
)

// TestStateSize keeps State small: a flow table holds one per flow.
func TestStateSize(t *testing.T) {
	if n := unsafe.Sizeof(State{}); n > 48 {
		t.Errorf("sizeof(State) = %d, want at most 48", n)
	}
}

func TestProtocolText(t *testing.T) {
	for _, p := range append([]Protocol{Unknown}, Protocols()...) {
		text, err := p.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText() = %v", p, err)
		}
		if string(text) != p.String() {
			t.Errorf("%v.MarshalText() = %q, want %q", p, text, p.String())
		}
		var q Protocol
		if err := q.UnmarshalText(text); err != nil || q != p {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, q, err, p)
		}
		if q, err := ParseProtocol(string(text)); err != nil || q != p {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", text, q, err, p)
		}
	}
	if p, err := ParseProtocol("bittorrent"); err != nil || p != BitTorrent {
		t.Errorf(`ParseProtocol("bittorrent") = %v, %v; want BitTorrent`, p, err)
	}
	_, err := ParseProtocol("Gopher")
	var pe *ParseError
	if !errors.Is(err, ErrUnknownProtocol) || !errors.As(err, &pe) || pe.Name != "Gopher" {
		t.Errorf(`ParseProtocol("Gopher") error = %v, want a *ParseError wrapping ErrUnknownProtocol`, err)
	}
	if _, err := numProtocols.MarshalText(); err == nil {
		t.Error("MarshalText of an invalid protocol succeeded")
	}
	if got := Protocol(999).String(); got != "Protocol(999)" {
		t.Errorf("Protocol(999).String() = %q", got)
	}
	if len(Protocols()) != int(numProtocols)-1 {
		t.Errorf("Protocols() has %d entries, want %d", len(Protocols()), numProtocols-1)
	}
}

func TestSourceText(t *testing.T) {
	for _, s := range []Source{SourceNone, SourcePayload, SourcePort} {
		text, err := s.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText() = %v", s, err)
		}
		var got Source
		if err := got.UnmarshalText(text); err != nil || got != s {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, got, err, s)
		}
	}
	var s Source
	if err := s.UnmarshalText([]byte("guess")); err == nil {
		t.Error(`UnmarshalText("guess") succeeded`)
	}
	if _, err := Source(9).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid source succeeded")
	}
}

func TestLabelString(t *testing.T) {
	for _, c := range []struct {
		l    Label
		want string
	}{
		{Label{}, "Unknown"},
		{Label{Protocol: DNS, Source: SourcePayload}, "DNS"},
		{Label{Protocol: TLS, Source: SourcePort}, "TLS (port)"},
	} {
		if got := c.l.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.l, got, c.want)
		}
	}
	if (Label{Protocol: TLS, Source: SourcePort}).Strong() || !(Label{Protocol: TLS, Source: SourcePayload}).Strong() {
		t.Error("Strong() is wrong")
	}
}

func TestWeakLabels(t *testing.T) {
	for _, c := range []struct {
		transport    uint8
		iport, rport uint16
		want         Protocol
	}{
		{ipTCP, 40000, 443, TLS},
		{ipUDP, 40000, 443, QUIC},
		{ipUDP, 40000, 53, DNS},
		{ipTCP, 22, 40000, SSH}, // the server's packet came first
		{ipTCP, 40000, 40001, Unknown},
		{ipTCP, 1023, 1022, Unknown},
		{1, 0, 0, Unknown}, // ICMP
	} {
		var s State
		l := s.Result(c.transport, c.iport, c.rport)
		src := SourcePort
		if c.want == Unknown {
			src = SourceNone
		}
		if l.Protocol != c.want || l.Source != src || l.Evidence != nil {
			t.Errorf("Result(%d, %d, %d) = %+v, want %v from %v", c.transport, c.iport, c.rport, l, c.want, src)
		}
	}
}

func TestObserveContract(t *testing.T) {
	var s State
	if s.Observe(true, ipTCP, 40000, 80, nil) {
		t.Error("an empty payload ended inspection")
	}
	if s.n != [2]uint8{} {
		t.Error("an empty payload was counted")
	}
	if !s.Observe(true, 1, 0, 0, []byte{8, 0, 0, 0}) {
		t.Error("ICMP payload not reported done")
	}

	// A flow of unknown payloads ends after the packet limits.
	var u State
	for i := range MaxPackets + 4 {
		done := u.Observe(i%2 == 0, ipUDP, 40000, 40001, []byte("\x00\x01 nothing to see here"))
		if want := i+1 >= MaxPackets; done != want {
			t.Fatalf("packet %d: done = %v, want %v", i+1, done, want)
		}
	}
	var one State
	for i := range MaxPacketsPerDirection {
		if done := one.Observe(true, ipTCP, 40000, 40001, []byte("\x00\x01 nothing")); done != (i+1 == MaxPacketsPerDirection) {
			t.Fatalf("packet %d of one direction: done = %v", i+1, done)
		}
	}

	// Once done, Observe changes nothing.
	var d State
	q := dnsQuery(1, "a.example", dnsTypeA)
	d.Observe(true, ipUDP, 40000, 53, q)
	d.Observe(false, ipUDP, 53, 40000, dnsResponse(1, "a.example", dnsTypeA, 0, rr(dnsTypeA, ip4("192.0.2.1"))))
	before := d.Result(ipUDP, 40000, 53)
	if !d.Observe(true, ipUDP, 40000, 53, dnsQuery(2, "b.example", dnsTypeA)) {
		t.Error("Observe after done did not report done")
	}
	if after := d.Result(ipUDP, 40000, 53); *after.Evidence != *before.Evidence {
		t.Errorf("evidence changed after done: %+v", *after.Evidence)
	}
}

// TestNoAllocNonMatching checks that payloads that match nothing cost no
// allocation, over TCP and UDP.
func TestNoAllocNonMatching(t *testing.T) {
	payloads := [][]byte{randomBytes(1400, 1), randomBytes(200, 2), randomBytes(48, 3), randomBytes(20, 4),
		[]byte("A001 LOGIN user secret\r\n"), []byte("hello world, nothing here\r\n")}
	for _, transport := range []uint8{ipTCP, ipUDP} {
		allocs := testing.AllocsPerRun(100, func() {
			var s State
			for i, p := range payloads {
				s.Observe(i%2 == 0, transport, 40000, 5555, p)
			}
			s.Result(transport, 40000, 5555)
		})
		if allocs != 0 {
			t.Errorf("transport %d: %v allocations per flow of non-matching payloads, want 0", transport, allocs)
		}
	}
}

func TestCleanEvidence(t *testing.T) {
	if got := clean([]byte("a\x00b\xffc")); got != `a\x00b\xffc` {
		t.Errorf("clean = %q", got)
	}
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'x'
	}
	if got := clean(long); len(got) != MaxEvidenceLen {
		t.Errorf("clean of 1000 bytes = %d bytes, want %d", len(got), MaxEvidenceLen)
	}
	if got := clean(append(long[:MaxEvidenceLen-2:MaxEvidenceLen-2], 0)); len(got) > MaxEvidenceLen {
		t.Errorf("escaped evidence of %d bytes", len(got))
	}
}
