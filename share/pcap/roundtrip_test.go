package pcap

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/flowfed/flowfed/share/packet"
	"github.com/flowfed/flowfed/share/pseudo"
)

// TestRoundTrip checks that Deanonymize(Anonymize(f)) restores every original address
// in every header and application message that was rewritten, for every capture
// of the corpus and several option sets. Beyond the address fields it checks the
// whole packet: the restored bytes equal the input's except for what anonymizing
// removes on purpose (the cut tail and zeroed TCP timestamp values).
func TestRoundTrip(t *testing.T) {
	c := corpus(t)
	sets := []struct {
		name string
		mod  func(*Options)
	}{
		{"cut", func(*Options) {}},
		{"keep-pfx-oui", func(o *Options) { o.Payload, o.Mode, o.KeepOUI = PayloadKeep, pseudo.ModePFX, true }},
		{"no-passthrough", func(o *Options) { o.Passthrough = &Passthrough{} }},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			opts := testOptions()
			set.mod(&opts)
			var fields, pkts int
			for _, name := range sortedNames(c) {
				in := c[name]
				out, _ := anonymize(t, in, opts)
				back := deanonymize(t, out, opts)
				f, n := compareRoundTrip(t, name, in, back, opts)
				fields += f
				pkts += n
			}
			t.Logf("%d packets, %d address fields restored", pkts, fields)
		})
	}
}

// compareRoundTrip compares a restored capture with its input and returns the
// number of address fields and packets compared.
func compareRoundTrip(t *testing.T, name string, in, back []byte, opts Options) (int, int) {
	t.Helper()
	inRecs, _ := readAll(t, in)
	backRecs, _ := readAll(t, back)
	var p packet.Packet
	var fl fieldList
	fields, k := 0, 0
	m := restoreMapper(t, opts) // only for parsing reverse names; never written
	for i, r := range inRecs {
		if packet.Decode(&p, r.data, uint32(r.link)) == packet.ErrUnsupportedLinkType {
			continue
		}
		if k >= len(backRecs) {
			t.Fatalf("%s: restored capture has %d packets, too few", name, len(backRecs))
		}
		got := backRecs[k].data
		k++
		where := fmt.Sprintf("%s packet %d", name, i+1)
		if len(got) > len(r.data) {
			t.Errorf("%s: restored %d bytes, input %d", where, len(got), len(r.data))
			continue
		}
		want := bytes.Clone(r.data[:len(got)])
		// TCP timestamp values are zeroed on purpose, which changes the checksum.
		if !opts.KeepTCPOptions {
			for _, h := range p.Headers[:p.N] {
				if h.Kind == packet.TCP && !h.Partial && h.Len > 20 {
					if o := packet.TCPTimestamp(want, h.Off+20, min(h.End(), len(want))); o >= 0 {
						// So is the checksum over them: TestChecksums checks it.
						clear(want[o+2 : o+10])
						copy(want[h.Off+16:h.Off+18], got[h.Off+16:])
					}
				}
			}
		}
		for _, a := range p.Addrs[:p.NAddr] {
			if a.Type == packet.AddrMAC && a.Len < 6 && a.Off+int(a.Len) <= len(want) {
				// A hardware address too short to map is cleared on purpose (a MAC
				// cut by the end of the capture): nothing to restore.
				copy(want[a.Off:a.Off+int(a.Len)], make([]byte, a.Len))
				continue
			}
			if a.Off+int(a.Len) <= len(got) {
				fields++
				if !bytes.Equal(got[a.Off:a.Off+int(a.Len)], r.data[a.Off:a.Off+int(a.Len)]) {
					t.Errorf("%s: %s %s field at %d: restored %x, input %x", where, p.Headers[a.Header].Kind, a.Type,
						a.Off, got[a.Off:a.Off+int(a.Len)], r.data[a.Off:a.Off+int(a.Len)])
				}
			}
		}
		fields += appFields(&p, r.data, len(got), m, &fl)
		if !bytes.Equal(got, want) {
			for j := range got {
				if got[j] != want[j] {
					t.Errorf("%s: restored packet differs first at byte %d: %x, input %x", where, j, got[j:min(j+8, len(got))], want[j:min(j+8, len(want))])
					break
				}
			}
		}
	}
	if k != len(backRecs) {
		t.Errorf("%s: restored capture has %d packets, want %d", name, len(backRecs), k)
	}
	return fields, k
}

// appFields counts the address fields of the application message of a decoded
// input packet that lie in the first n bytes (the whole-packet comparison checks
// their values).
func appFields(p *packet.Packet, data []byte, n int, m *mapper, fl *fieldList) int {
	if p.L4 < 0 || p.Payload < 0 || p.Payload > len(data) {
		return 0
	}
	msg := data[p.Payload:min(len(data), p.Payload+p.PayloadLen)]
	fl.n = 0
	switch sp, dp := p.SrcPort, p.DstPort; {
	case p.Headers[p.L4].Kind == packet.UDP && (isDNSPort(sp) || isDNSPort(dp)):
		parseDNS(msg, p.Payload, m, fl)
	case p.Headers[p.L4].Kind == packet.UDP && (sp == 67 || sp == 68):
		parseDHCP4(msg, p.Payload, fl)
	case p.Headers[p.L4].Kind == packet.UDP && (sp == 546 || sp == 547):
		parseDHCP6(msg, p.Payload, fl, 0)
	}
	c := 0
	for _, f := range fl.f[:fl.n] {
		if f.off+f.n <= n {
			c++
		}
	}
	return c
}
