package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// The leak test proves that no original address is left in an anonymized capture.
//
// Forbidden byte strings: every address of the input that is not on the
// pass-through list, as IPv4 (4 bytes), IPv6 (16) or MAC (6), found by two decoders
// independently of the rewriter (share/packet's address fields, and gopacket's
// layers including DNS answers, DHCP fields and neighbor discovery), plus what IPv6
// addresses embed: the MAC and the interface identifier of an EUI-64 address, the
// IPv4 address of a 6to4 one, the server and (inverted and plain) client address of
// a Teredo one, and the inverted form of every Teredo origin address.
//
// Each forbidden string is searched for in every byte of the output file. A hit is
// a leak unless one of these explanations holds, checked and printed per hit:
//
//   - container: every byte of the hit lies in the pcap or pcapng structure written
//     by share/capture (record and block headers with times and lengths, interface
//     descriptions, the anonymization record), none in packet data;
//   - collision: the hit lies on bytes the rewriter changed, and restoring them with
//     the key gives the address that was there in the input, which differs from the
//     hit: it is the pseudonym of another address that happens to equal an original
//     one (chance 2^-32 per pair for IPv4);
//   - unchanged non-address bytes: every packet byte of the hit is the input's byte
//     at the same offset and lies in a header field on a fixed list of fields that
//     are never addresses (IP version to checksum, ports, sequence numbers, flags,
//     TCP options MSS, window scale, SACK and timestamps, VLAN tags, GRE keys, ...;
//     see nonAddress), and gopacket did not find the hit's value as an address of
//     that packet. They equal an address of another packet by chance, and copying
//     them is what a rewriter must do. The list does not rely on the decoders
//     knowing every address field: bytes of IP options, unknown TCP options,
//     neighbor discovery, tunnel headers with addresses or application messages
//     are never explained this way.
//
// Bytes that were cut are not in the output, so they cannot hit.

// origin describes where a forbidden string comes from.
type origin struct {
	kind string // IPv4, IPv6, MAC, EUI-64 IID, ...
	text string // its text form, or "" when it has none to search in text
	from string
}

// forbidden collects the forbidden strings of a capture.
type forbidden struct {
	pass passSet
	m    map[string]origin
}

// newForbidden returns an empty set for the pass-through list p, whose addresses
// are allowed to stay.
func newForbidden(p Passthrough) *forbidden {
	return &forbidden{pass: compilePass(p), m: map[string]origin{}}
}

// addV4 adds an IPv4 address unless it passes through.
func (f *forbidden) addV4(b []byte, from string) {
	a := binary.BigEndian.Uint32(b)
	if f.pass.has4(a) {
		return
	}
	ad := netip.AddrFrom4([4]byte(b))
	f.put(b, origin{"IPv4", ad.String(), from})
}

// addV6 adds an IPv6 address unless it passes through, and the addresses it
// embeds in any case.
func (f *forbidden) addV6(b []byte, from string) {
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	if isMapped4(hi, lo) {
		f.addV4(b[12:], from+" (IPv4-mapped)")
		return
	}
	ad := netip.AddrFrom16([16]byte(b))
	if !f.pass.has6(hi, lo) {
		f.put(b, origin{"IPv6", ad.String(), from})
	}
	// What the address embeds, whichever list it is on.
	switch {
	case b[11] == 0xff && b[12] == 0xfe:
		iid := bytes.Clone(b[8:16])
		f.put(iid, origin{"EUI-64 IID", "", "in " + ad.String()})
		m := []byte{b[8] ^ 2, b[9], b[10], b[13], b[14], b[15]}
		f.addMAC(m, "EUI-64 in "+ad.String())
	case b[0] == 0x20 && b[1] == 0x02:
		f.addV4(b[2:6], "6to4 in "+ad.String())
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0:
		f.addV4(b[4:8], "Teredo server in "+ad.String())
		f.addV4XOR(b[12:16], "Teredo client in "+ad.String())
	}
}

// addV4XOR adds an inverted IPv4 address and its plain form.
func (f *forbidden) addV4XOR(b []byte, from string) {
	plain := []byte{^b[0], ^b[1], ^b[2], ^b[3]}
	if f.pass.has4(binary.BigEndian.Uint32(plain)) {
		return
	}
	f.addV4(plain, from)
	f.put(b, origin{"IPv4 inverted", "", from})
}

// addMAC adds a MAC address unless it passes through.
func (f *forbidden) addMAC(b []byte, from string) {
	if len(b) != 6 || f.pass.hasMAC(macUint([6]byte(b))) {
		return
	}
	f.put(b, origin{"MAC", net.HardwareAddr(b).String(), from})
}

// put records a forbidden string with its first origin.
func (f *forbidden) put(b []byte, o origin) {
	if _, ok := f.m[string(b)]; !ok {
		f.m[string(b)] = o
	}
}

// collect adds the addresses of one input packet and returns the values gopacket
// found in it.
func (f *forbidden) collect(data []byte, lt capture.LinkType) map[string]bool {
	var p packet.Packet
	if packet.Decode(&p, data, uint32(lt)) != packet.ErrUnsupportedLinkType {
		for _, a := range p.Addrs[:p.NAddr] {
			b := data[a.Off : a.Off+int(a.Len)]
			from := "share/packet " + p.Headers[a.Header].Kind.String() + " " + a.Role.String()
			switch {
			case a.Type == packet.AddrIPv4 && a.Len == 4:
				f.addV4(b, from)
			case a.Type == packet.AddrIPv6 && a.Len == 16:
				f.addV6(b, from)
			case a.Type == packet.AddrMAC && a.Len == 6:
				f.addMAC(b, from)
			case a.Type == packet.AddrIPv4XOR && a.Len == 4:
				f.addV4XOR(b, from)
			}
		}
	}
	return f.gopacket(data, lt)
}

// gopacket adds the addresses gopacket's layers find, and returns them.
func (f *forbidden) gopacket(data []byte, lt capture.LinkType) map[string]bool {
	seen := map[string]bool{}
	if lt > 255 {
		return seen // gopacket keeps link types in a byte
	}
	v4 := func(ip net.IP, from string) {
		if ip4 := ip.To4(); ip4 != nil {
			seen[string(ip4)] = true
			f.addV4(ip4, "gopacket "+from)
		} else if len(ip) == 16 {
			seen[string(ip)] = true
			f.addV6(ip, "gopacket "+from)
		}
	}
	hw := func(h net.HardwareAddr, from string) {
		seen[string(h)] = true
		f.addMAC(h, "gopacket "+from)
	}
	pk := gopacket.NewPacket(data, layers.LinkType(lt), gopacket.DecodeOptions{NoCopy: true})
	for _, l := range pk.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			hw(l.SrcMAC, "Ethernet")
			hw(l.DstMAC, "Ethernet")
		case *layers.LinuxSLL:
			hw(l.Addr, "SLL")
		case *layers.ARP:
			hw(l.SourceHwAddress, "ARP")
			hw(l.DstHwAddress, "ARP")
			v4(l.SourceProtAddress, "ARP")
			v4(l.DstProtAddress, "ARP")
		case *layers.IPv4:
			v4(l.SrcIP, "IPv4")
			v4(l.DstIP, "IPv4")
		case *layers.IPv6:
			v4(l.SrcIP, "IPv6")
			v4(l.DstIP, "IPv6")
		case *layers.DNS:
			for _, rs := range [][]layers.DNSResourceRecord{l.Answers, l.Authorities, l.Additionals} {
				for _, r := range rs {
					if r.IP != nil {
						v4(r.IP, "DNS "+r.Type.String())
					}
				}
			}
		case *layers.DHCPv4:
			for _, ip := range []net.IP{l.ClientIP, l.YourClientIP, l.NextServerIP, l.RelayAgentIP} {
				v4(ip, "DHCP")
			}
			if len(l.ClientHWAddr) == 6 {
				hw(l.ClientHWAddr, "DHCP chaddr")
			}
			for _, o := range l.Options {
				switch o.Type {
				case layers.DHCPOptRouter, layers.DHCPOptDNS, layers.DHCPOptServerID, layers.DHCPOptRequestIP:
					for i := 0; i+4 <= len(o.Data); i += 4 {
						v4(o.Data[i:i+4], "DHCP "+o.Type.String())
					}
				}
			}
		case *layers.ICMPv6NeighborSolicitation:
			v4(l.TargetAddress, "NDP target")
		case *layers.ICMPv6NeighborAdvertisement:
			v4(l.TargetAddress, "NDP target")
		case *layers.ICMPv6Redirect:
			v4(l.TargetAddress, "NDP redirect")
			v4(l.DestinationAddress, "NDP redirect")
		}
	}
	return seen
}

// region is a run of packet data in a capture file.
type region struct {
	start, end int // file offsets
	pkt        int // index among the file's packets
}

// layout returns the packet data regions of a capture written by share/capture's
// writers (little-endian; one pcapng section).
func layout(t testing.TB, b []byte) []region {
	t.Helper()
	var rs []region
	if len(b) >= 4 && (string(b[:4]) == "\xd4\xc3\xb2\xa1" || string(b[:4]) == "\x4d\x3c\xb2\xa1") {
		for o := 24; o+16 <= len(b); {
			n := int(binary.LittleEndian.Uint32(b[o+8:]))
			rs = append(rs, region{o + 16, o + 16 + n, len(rs)})
			o += 16 + n
		}
		return rs
	}
	for o := 0; o+12 <= len(b); {
		typ, n := binary.LittleEndian.Uint32(b[o:]), int(binary.LittleEndian.Uint32(b[o+4:]))
		if n < 12 {
			t.Fatalf("layout: block of length %d at %d", n, o)
		}
		if typ == 6 {
			cl := int(binary.LittleEndian.Uint32(b[o+20:]))
			rs = append(rs, region{o + 28, o + 28 + cl, len(rs)})
		}
		o += n
	}
	return rs
}

// hit is one occurrence of a forbidden string in an output file.
type hit struct {
	off int
	pat string
	org origin
}

// leakCheck runs the byte search on one capture and returns the forbidden strings
// (for the text search), the explained hits and the leaks.
func leakCheck(t testing.TB, name string, in, out []byte, opts Options) (fb *forbidden, notes, leaks []string) {
	t.Helper()
	fb = newForbidden(opts.passthrough())
	inRecs, _ := readAll(t, in)
	outRecs, _ := readAll(t, out)
	// Output packet k is the k-th input packet whose link type is decoded.
	var kept []int
	var seen []map[string]bool
	for i, r := range inRecs {
		seen = append(seen, fb.collect(r.data, r.link))
		var p packet.Packet
		if packet.Decode(&p, r.data, uint32(r.link)) != packet.ErrUnsupportedLinkType {
			kept = append(kept, i)
		}
	}
	if len(kept) != len(outRecs) {
		t.Fatalf("%s: %d packets out, %d decodable in", name, len(outRecs), len(kept))
	}
	regions := layout(t, out)
	if len(regions) != len(outRecs) {
		t.Fatalf("%s: layout found %d packets, the reader %d", name, len(regions), len(outRecs))
	}
	rm := restoreMapper(t, opts)
	for pat, org := range fb.m {
		for o := 0; ; {
			i := bytes.Index(out[o:], []byte(pat))
			if i < 0 {
				break
			}
			h := hit{off: o + i, pat: pat, org: org}
			why, ok := explain(h, regions, inRecs, outRecs, kept, seen, rm)
			if !ok {
				leaks = append(leaks, fmt.Sprintf("%s: LEAK: %s %x (%s, from %s) at file offset %d: %s", name, org.kind, pat, org.text, org.from, h.off, why))
			} else {
				notes = append(notes, fmt.Sprintf("%s: %s %s at %d explained: %s", name, org.kind, org.text, h.off, why))
			}
			o += i + 1
		}
	}
	return fb, notes, leaks
}

// explain applies the rules of the file comment to one hit.
func explain(h hit, regions []region, inRecs, outRecs []rec, kept []int, seen []map[string]bool, rm *mapper) (string, bool) {
	end := h.off + len(h.pat)
	var pkt = -1
	var lo, hi int // packet data offsets of the hit's packet bytes
	for _, r := range regions {
		if h.off < r.end && r.start < end {
			if pkt >= 0 {
				return "spans two packets", false
			}
			pkt, lo, hi = r.pkt, max(h.off, r.start)-r.start, min(end, r.end)-r.start
		}
	}
	if pkt < 0 {
		return "container bytes only (record or block header, interface description or the anonymization record)", true
	}
	in := inRecs[kept[pkt]].data
	out := outRecs[pkt].data
	if hi > len(in) {
		return "packet bytes beyond the input packet", false
	}
	if !bytes.Equal(in[lo:hi], out[lo:hi]) {
		// Changed bytes: only a pseudonym that equals another original address.
		if lo != h.off-regions[pkt].start || hi-lo != len(h.pat) {
			return "changed bytes that are not a whole field", false
		}
		orig := restoreField(rm, h.org.kind, out[lo:hi])
		if orig != nil && bytes.Equal(orig, in[lo:hi]) && !bytes.Equal(orig, []byte(h.pat)) {
			return fmt.Sprintf("collision: pseudonym of %x equals the original %x", orig, h.pat), true
		}
		return "changed bytes that do not restore to the input's", false
	}
	var p packet.Packet
	_ = packet.Decode(&p, in, uint32(inRecs[kept[pkt]].link))
	for _, a := range p.Addrs[:p.NAddr] {
		if a.Off < hi && lo < a.Off+int(a.Len) {
			return "unchanged bytes in an address field", false
		}
	}
	if seen[kept[pkt]][h.pat] {
		return "gopacket found this value as an address of the packet", false
	}
	var fields []string
	for i := lo; i < hi; i++ {
		name, ok := nonAddress(&p, in, i)
		if !ok {
			return fmt.Sprintf("unchanged byte %d is not in a field known never to hold an address", i), false
		}
		if len(fields) == 0 || fields[len(fields)-1] != name {
			fields = append(fields, name)
		}
	}
	return "unchanged non-address header bytes: " + strings.Join(fields, ", "), true
}

// nonAddress names the field that holds byte i of a decoded packet when that field
// is on the list of fields that never hold an address.
func nonAddress(p *packet.Packet, data []byte, i int) (string, bool) {
	for _, h := range p.Headers[:p.N] {
		if i < h.Off || i >= h.End() || h.Partial {
			continue
		}
		r := i - h.Off
		name := h.Kind.String()
		switch h.Kind {
		case packet.Ethernet:
			return name + " type", r >= 12
		case packet.VLAN, packet.MPLS, packet.PPPoE, packet.PPP, packet.Null, packet.GRE, packet.VXLAN, packet.GTPU, packet.UDP, packet.IPv6Frag:
			return name + " header", true
		case packet.IPv4:
			return name + " header before the addresses", r < 12
		case packet.IPv6:
			return name + " header before the addresses", r < 8
		case packet.TCP:
			if r < 20 {
				return "TCP header (ports, sequence, acknowledgment, flags, window, checksum)", true
			}
			// Options: only within MSS, window scale, SACK and timestamps.
			for o := h.Off + 20; o < h.End(); {
				k := data[o]
				if k == 0 || k == 1 {
					if o == i {
						return "TCP option padding", true
					}
					o++
					continue
				}
				l := int(data[o+1])
				if l < 2 {
					return "", false
				}
				if i < o+l {
					return fmt.Sprintf("TCP option %d", k), k == 2 || k == 3 || k == 4 || k == 5 || k == 8
				}
				o += l
			}
			return "", false
		case packet.ICMPv4:
			return name + " header", r < 4 || data[h.Off] != 5 && data[h.Off] != 9
		case packet.ICMPv6:
			return name + " type, code, checksum", r < 4
		case packet.ARP:
			return name + " types and lengths", r < 8
		case packet.SLL:
			return name + " header", r < 6 || r >= 14
		case packet.SLL2:
			return name + " header", r < 12
		}
		return "", false
	}
	return "", false
}

// restoreField inverts the mapping of one field of the given kind.
func restoreField(rm *mapper, kind string, b []byte) []byte {
	switch kind {
	case "IPv4":
		r := rm.v4(binary.BigEndian.Uint32(b))
		return binary.BigEndian.AppendUint32(nil, r)
	case "IPv6":
		r := rm.v6([16]byte(b))
		return r[:]
	case "MAC":
		r := macBytes(rm.mac(macUint([6]byte(b))))
		return r[:]
	}
	return nil
}

// TestNoAddressLeaks anonymizes every capture of the corpus with the default
// options and searches the output's bytes for every original address; then, when
// tshark is installed, searches the text of all outputs for their text forms.
func TestNoAddressLeaks(t *testing.T) {
	opts := testOptions()
	dir := t.TempDir()
	var outputs []string
	text := map[string]string{} // text form -> where from
	c := corpus(t)
	for _, name := range sortedNames(c) {
		in := c[name]
		out, st := anonymize(t, in, opts)
		fb, notes, leaks := leakCheck(t, name, in, out, opts)
		for _, n := range notes {
			t.Log(n)
		}
		for _, l := range leaks {
			t.Error(l)
		}
		t.Logf("%s: %d packets, %d forbidden strings, %d unexplained hits, %d explained", name, st.PacketsOut, len(fb.m), len(leaks), len(notes))
		for _, o := range fb.m {
			if o.text != "" {
				text[o.text] = name + ": " + o.kind + " from " + o.from
			}
		}
		p := filepath.Join(dir, name+".anon"+ext(st.Output))
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, p)
	}
	t.Run("tshark-text", func(t *testing.T) { textLeaks(t, dir, outputs, text) })
}

// textLeaks runs tshark -V once over all outputs merged and looks for the text forms
// of the original addresses, and of their reverse-lookup names.
func textLeaks(t *testing.T, dir string, outputs []string, forms map[string]string) {
	tshark := tool(t, "tshark")
	mergecap := tool(t, "mergecap")
	merged := filepath.Join(dir, "all.pcapng")
	if b, err := exec.Command(mergecap, append([]string{"-a", "-F", "pcapng", "-w", merged}, outputs...)...).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v\n%s", err, b)
	}
	cmd := exec.Command(tshark, "-n", "-V", "-r", merged)
	txt, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	s := string(txt)
	if !strings.Contains(s, "Frame 1:") {
		t.Fatalf("tshark printed no frames")
	}
	// The text is cut into tokens of address characters once; every form and its
	// reverse-lookup name is then looked up among them. Whole tokens only: 10.0.0.1
	// is not in 110.0.0.12. A token's tail after its last colon is a token too, for
	// IPv4-mapped addresses printed as ::ffff:a.b.c.d.
	tokens := map[string]int{}
	for i, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == ':' || r == '-' || r == '_')
	}) {
		tok = strings.ToLower(strings.TrimRight(tok, ".:"))
		tokens[tok] = i
		if j := strings.LastIndexByte(tok, ':'); j >= 0 {
			tokens[tok[j+1:]] = i
		}
	}
	for form, from := range forms {
		pats := []string{strings.ToLower(form)}
		if a, err := netip.ParseAddr(form); err == nil && a.Is4() {
			b := a.As4()
			pats = append(pats, fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", b[3], b[2], b[1], b[0]))
		}
		for _, p := range pats {
			if _, ok := tokens[p]; ok {
				i := strings.Index(s, p)
				line := s[strings.LastIndex(s[:max(i, 0)+1], "\n")+1:]
				line, _, _ = strings.Cut(line, "\n")
				t.Errorf("LEAK in tshark text: %s (%s): %q", p, from, line)
			}
		}
	}
	t.Logf("tshark -V text of %d outputs (%d bytes) holds none of %d original address forms", len(outputs), len(s), len(forms))
}

// TestLeakCheckFindsLeaks keeps the leak test honest: an output that is the input
// itself leaks every forbidden string, and an anonymized output into which one
// original address is copied back leaks exactly that one.
func TestLeakCheckFindsLeaks(t *testing.T) {
	opts := testOptions()
	in := synthEthernet(t)
	fb, _, leaks := leakCheck(t, "identity", in, in, opts)
	if len(leaks) < len(fb.m) {
		t.Errorf("identity output: %d leaks reported, want at least %d (one per forbidden string)", len(leaks), len(fb.m))
	}
	out, _ := anonymize(t, in, opts)
	// Put the client's original IPv4 address back into the first packet's IPv4
	// source field: a rewriter that missed one field.
	regions := layout(t, out)
	bad := bytes.Clone(out)
	copy(bad[regions[0].start+14+12:], v4Cli)
	_, _, leaks = leakCheck(t, "one field", in, bad, opts)
	if len(leaks) != 1 || !strings.Contains(leaks[0], "192.0.2.10") {
		t.Errorf("one restored field: leaks %q, want exactly the one of 192.0.2.10", leaks)
	}
}
