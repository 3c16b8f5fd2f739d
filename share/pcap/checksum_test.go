package pcap

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// ckResult is the state of one checksum of a packet.
type ckResult struct {
	what  string // header kind and offset
	valid bool
}

// verifyChecksums recomputes every checksum of a packet whose covered bytes are all
// captured, from scratch and with this file's own pseudo-header rules, and reports
// which are valid. It does not use the rewriter's code.
func verifyChecksums(data []byte, lt capture.LinkType) []ckResult {
	var p packet.Packet
	if packet.Decode(&p, data, uint32(lt)) == packet.ErrUnsupportedLinkType {
		return nil
	}
	out := []ckResult{} // not nil: the packet was decoded
	ip := -1
	for i, h := range p.Headers[:p.N] {
		if h.Partial {
			continue
		}
		what := fmt.Sprintf("%s@%d", h.Kind, h.Off)
		switch h.Kind {
		case packet.IPv4, packet.IPv6:
			ip = i
			if h.Kind == packet.IPv4 {
				out = append(out, ckResult{what, inetSum(0, data[h.Off:h.End()]) == 0})
			}
			continue
		}
		if ip < 0 || h.Quoted {
			continue
		}
		iph := p.Headers[ip]
		var end int
		if iph.Kind == packet.IPv4 {
			end = iph.Off + int(binary.BigEndian.Uint16(data[iph.Off+2:]))
		} else {
			end = iph.Off + 40 + int(binary.BigEndian.Uint16(data[iph.Off+4:]))
		}
		if end > len(data) || end <= h.Off {
			continue // not all covered bytes are captured
		}
		seg := data[h.Off:end]
		switch h.Kind {
		case packet.TCP, packet.UDP, packet.ICMPv6:
			if h.Kind == packet.UDP && binary.BigEndian.Uint16(seg[6:]) == 0 {
				continue // no checksum
			}
			src, dst := pseudoAddrs(&p, data, ip, i)
			proto := map[packet.Kind]int{packet.TCP: 6, packet.UDP: 17, packet.ICMPv6: 58}[h.Kind]
			out = append(out, ckResult{what, inetSum(pseudoSum(src, dst, proto, len(seg)), seg) == 0})
		case packet.ICMPv4:
			out = append(out, ckResult{what, inetSum(0, seg) == 0})
		case packet.GRE:
			if data[h.Off]&0x80 != 0 {
				out = append(out, ckResult{what, inetSum(0, seg) == 0})
			}
		}
	}
	return out
}

// pseudoAddrs returns the pseudo-header addresses for transport header i carried by
// IP header ip: RFC 8200 8.1 for IPv6 (final destination of a routing header with
// segments left), RFC 6275 6.3 (the home address).
func pseudoAddrs(p *packet.Packet, data []byte, ip, i int) (src, dst []byte) {
	h := p.Headers[ip]
	if h.Kind == packet.IPv4 {
		return data[h.Off+12 : h.Off+16], data[h.Off+16 : h.Off+20]
	}
	src, dst = data[h.Off+8:h.Off+24], data[h.Off+24:h.Off+40]
	for j := ip + 1; j < i; j++ {
		e := p.Headers[j]
		switch e.Kind {
		case packet.IPv6Routing:
			if left := data[e.Off+3]; left > 0 {
				n := (e.Len - 8) / 16
				last := e.Off + 8 + 16*(n-1)
				if data[e.Off+2] == 4 {
					last = e.Off + 8
				}
				dst = data[last : last+16]
			}
		case packet.IPv6DestOpts:
			for o := e.Off + 2; o < e.End(); {
				if data[o] == 0 {
					o++
					continue
				}
				if data[o] == 201 && data[o+1] == 16 {
					src = data[o+2 : o+18]
				}
				o += 2 + int(data[o+1])
			}
		}
	}
	return src, dst
}

// TestChecksums checks, for every packet of the corpus, that every checksum keeps
// its validity: valid in the input means valid in the output, wrong means wrong.
// The output's payload is cut, so its checksums are verified over the output's
// bytes followed by the input's cut bytes, which is the packet the rewritten headers
// belong to. The synthesized captures hold checksums that are wrong on purpose and
// a UDP checksum of zero.
func TestChecksums(t *testing.T) {
	c := corpus(t)
	for _, payload := range []PayloadMode{PayloadCut, PayloadKeep} {
		opts := testOptions()
		opts.Payload = payload
		var valid, invalid int
		for _, name := range sortedNames(c) {
			in := c[name]
			out, _ := anonymize(t, in, opts)
			inRecs, _ := readAll(t, in)
			outRecs, _ := readAll(t, out)
			k := 0
			for i, r := range inRecs {
				want := verifyChecksums(r.data, r.link)
				if want == nil {
					continue // dropped: link type not decoded
				}
				o := outRecs[k]
				k++
				virt := append(append([]byte(nil), o.data...), r.data[len(o.data):]...)
				got := verifyChecksums(virt, o.link)
				if len(got) != len(want) {
					t.Errorf("%s packet %d: %d checksums in the output, %d in the input", name, i+1, len(got), len(want))
					continue
				}
				for j := range want {
					if got[j].valid != want[j].valid {
						t.Errorf("%s packet %d: %s checksum valid=%v in the input, %v in the output (%s)", name, i+1, want[j].what, want[j].valid, got[j].valid, payload)
					}
					if want[j].valid {
						valid++
					} else {
						invalid++
					}
				}
			}
		}
		t.Logf("payload %s: %d checksums valid and still valid, %d wrong and still wrong", payload, valid, invalid)
		if invalid < 2 {
			t.Errorf("only %d wrong checksums seen: the synthesized capture's wrong ones were not checked", invalid)
		}
	}
}

// TestChecksumsGopacket checks TCP checksums with gopacket, on outputs that keep
// the payload: a TCP checksum valid in the input is valid in the output by
// gopacket's computation too.
func TestChecksumsGopacket(t *testing.T) {
	opts := testOptions()
	opts.Payload = PayloadKeep
	opts.KeepTCPOptions = true
	c := corpus(t)
	var checked int
	for _, name := range sortedNames(c) {
		in := c[name]
		out, _ := anonymize(t, in, opts)
		inRecs, _ := readAll(t, in)
		outRecs, _ := readAll(t, out)
		k := 0
		for i, r := range inRecs {
			if verifyChecksums(r.data, r.link) == nil {
				continue
			}
			o := outRecs[k]
			k++
			if r.link != capture.LinkTypeEthernet || len(o.data) != len(r.data) {
				continue
			}
			vin, okIn := gopacketTCPValid(r.data)
			vout, okOut := gopacketTCPValid(o.data)
			if !okIn || !okOut {
				continue
			}
			checked++
			if vin != vout {
				t.Errorf("%s packet %d: gopacket TCP checksum valid=%v in the input, %v in the output", name, i+1, vin, vout)
			}
		}
	}
	t.Logf("%d TCP checksums compared with gopacket", checked)
	if checked == 0 {
		t.Error("no TCP checksum compared")
	}
}

// gopacketTCPValid decodes an Ethernet frame with gopacket and reports whether its
// TCP checksum is valid; ok is false when the frame holds no complete TCP segment
// directly in IPv4 or IPv6.
func gopacketTCPValid(data []byte) (valid, ok bool) {
	pk := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	tl, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tl == nil || pk.ErrorLayer() != nil || pk.Metadata().Truncated {
		return false, false
	}
	var nl gopacket.NetworkLayer
	for _, l := range pk.Layers() {
		if n, isNet := l.(gopacket.NetworkLayer); isNet {
			nl = n // the innermost network layer carries the segment
		}
	}
	if nl == nil || tl.SetNetworkLayerForChecksum(nl) != nil {
		return false, false
	}
	if ip, is4 := nl.(*layers.IPv4); is4 && int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
		return false, false
	}
	sum, err := tl.ComputeChecksum()
	return sum == 0, err == nil
}
