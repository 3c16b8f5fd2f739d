package packet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

const casesDir = "../../../shared/cases"

// TestC07QuotedAddresses reads case C07: ICMP and ICMPv6 errors whose
// quoted headers carry addresses, one quote cut inside the source address.
// Every byte of every original address in the capture must lie inside an
// address field that the decoder reports (so that a rewriter that rewrites
// those fields leaves none behind), and the quoted fields must be where
// the case says.
func TestC07QuotedAddresses(t *testing.T) {
	path := filepath.Join(casesDir, "C07-icmp-quoted.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("case C07 not available: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(casesDir, "C07-expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Packets   int      `json:"packets"`
		MustNotBe []string `json:"original_address_bytes_that_must_not_survive_rewrite"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("parsing C07-expected.json: %v", err)
	}
	recs := readCapture(t, path)
	if len(recs) != want.Packets {
		t.Fatalf("C07 has %d packets, want %d", len(recs), want.Packets)
	}
	var p Packet
	for i, r := range recs {
		if err := Decode(&p, r.data, r.linkType); err != nil {
			t.Errorf("packet %d: Decode = %v (%s)", i+1, err, kinds(&p))
			continue
		}
		checkInvariants(t, &p, r.data)
		if p.Quote < 0 {
			t.Errorf("packet %d: no quoted headers (%s)", i+1, kinds(&p))
			continue
		}
		covered := make([]bool, len(r.data))
		for _, a := range p.Addrs[:p.NAddr] {
			for j := a.Off; j < a.Off+int(a.Len); j++ {
				covered[j] = true
			}
		}
		for _, h := range want.MustNotBe {
			pat, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			for from := 0; ; {
				k := bytes.Index(r.data[from:], pat)
				if k < 0 {
					break
				}
				for j := from + k; j < from+k+len(pat); j++ {
					if !covered[j] {
						t.Errorf("packet %d: byte %d of address %s is in no address field (%s)", i+1, j, h, kinds(&p))
						break
					}
				}
				from += k + 1
			}
		}
		// The quoted IP header's addresses: source and destination
		// swapped with respect to the outer header of the error, as the
		// case describes.
		q := p.Headers[p.Quote]
		outer := p.HeaderAddrs(p.Inner)
		inner := p.HeaderAddrs(p.Quote)
		switch i {
		case 0, 1, 2:
			if len(inner) != 2 || len(outer) != 2 {
				t.Fatalf("packet %d: %d outer and %d quoted addresses, want 2 and 2", i+1, len(outer), len(inner))
			}
			field := func(a Addr) []byte { return r.data[a.Off : a.Off+int(a.Len)] }
			if !bytes.Equal(field(outer[1]), field(inner[0])) {
				t.Errorf("packet %d: outer destination %x, quoted source %x: want equal", i+1, field(outer[1]), field(inner[0]))
			}
			if i == 0 && !bytes.Equal(field(outer[0]), field(inner[1])) {
				t.Errorf("packet %d: outer source %x, quoted destination %x: want equal", i+1, field(outer[0]), field(inner[1]))
			}
		case 3:
			// Cut after 20 bytes: 12 bytes of the source address remain.
			if !q.Partial || q.Kind != IPv6 || q.Len != 20 {
				t.Errorf("packet 4: quoted header %+v, want a partial IPv6 header of 20 bytes", q)
			}
			if len(inner) != 1 || inner[0].Len != 12 || inner[0].Off != q.Off+8 {
				t.Errorf("packet 4: quoted address fields %+v, want 12 bytes at %d", inner, q.Off+8)
			}
		}
	}
}
