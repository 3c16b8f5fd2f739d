package synth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flowfed/flowfed/share/label"
)

func TestWriteCaptureDeterministicAndReadable(t *testing.T) {
	var a, b bytes.Buffer
	addrs, err := WriteCapture(&a, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCapture(&b, 3); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two captures of the same size differ")
	}
	for _, ad := range addrs {
		if !(ad.Is4() && (ad.As4()[0] == 192 || ad.As4()[0] == 198 || ad.As4()[0] == 203)) && !ad.Is6() {
			t.Errorf("address %s is outside the documentation ranges", ad)
		}
	}
	if n := len(readPackets(t, a.Bytes())); n != 3*9 {
		t.Fatalf("read %d packets, want 27", n)
	}
}

// TestWriteCaptureGroups checks what the tests that count on WriteCapture
// rely on: three flows per group (TCP, DNS, IPv6 UDP), a DNS answer per
// group, the first client endpoint, and the addresses it returns.
func TestWriteCaptureGroups(t *testing.T) {
	var buf bytes.Buffer
	addrs, err := WriteCapture(&buf, 5)
	if err != nil {
		t.Fatal(err)
	}
	fs, st := flows(t, buf.Bytes())
	if st.Flows != 15 || st.Packets != 45 {
		t.Fatalf("%d flows and %d packets, want 15 and 45", st.Flows, st.Packets)
	}
	answers, first := 0, false
	for _, f := range fs {
		if f.Label.Protocol == label.DNS && f.Label.Evidence != nil && f.Label.Evidence.DNSAnswer != "" {
			answers++
			if f.Label.Evidence.DNSQuery != "www.example.org" {
				t.Errorf("DNS query %q", f.Label.Evidence.DNSQuery)
			}
		}
		first = first || strings.HasPrefix(f.Key.String(), "6 192.0.2.1:40000 >")
	}
	if answers != 5 || !first {
		t.Errorf("%d DNS answers (want 5); flow from 192.0.2.1:40000 present: %v", answers, first)
	}
	// Every address returned is in the capture and the other way round.
	seen := map[string]bool{}
	for _, p := range readPackets(t, buf.Bytes()) {
		for _, a := range p.addrs {
			seen[a.String()] = true
		}
	}
	want := map[string]bool{}
	for _, a := range addrs {
		want[a.String()] = true
		if !seen[a.String()] {
			t.Errorf("returned address %s is not in the capture", a)
		}
	}
	for a := range seen {
		if !want[a] {
			t.Errorf("address %s of the capture was not returned", a)
		}
	}
	if empty, err := WriteCapture(&bytes.Buffer{}, 0); err != nil || len(empty) != 0 {
		t.Errorf("WriteCapture(0) = %v, %v", empty, err)
	}
}
