package packet

import (
	"path/filepath"
	"testing"
)

// FuzzDecode decodes arbitrary bytes under an arbitrary link type: Decode
// must not panic, must keep every offset inside the data (End, headers in
// order, address fields, payload), and must give the same result into a
// reused Packet as into a fresh one.
func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases(f) {
		f.Add(c.data, c.lt)
	}
	for _, name := range []string{
		"6in4tunnel.pcap", "gre.pcapng", "teredo.pcap", "zeek__vxlan.pcap", "zeek__mixed-vlan-mpls.pcap",
		"zeek__pppoe.pcap", "zeek__linux_dlt_sll2.pcap", "tcpdump__nflog.pcap", "dlt_ppp.pcap",
		"zeek__ipv6-fragmented-dns.pcap", "badpackets.pcap", "fuzz-2021-10-13.pcap",
	} {
		path := filepath.Join(devDir, name)
		if !fileExists(path) {
			continue
		}
		for i, r := range readCapture(f, path) {
			if i == 3 {
				break
			}
			f.Add(r.data, r.linkType)
		}
	}
	var dirty Packet
	f.Fuzz(func(t *testing.T, data []byte, linkType uint32) {
		var fresh Packet
		err := Decode(&fresh, data, linkType)
		checkInvariants(t, &fresh, data)
		if err != fresh.Err() && err != ErrUnsupportedLinkType {
			t.Errorf("Decode = %v, Err() = %v", err, fresh.Err())
		}
		// Reuse a Packet that holds the previous input's result.
		_ = Decode(&dirty, data, linkType)
		if !samePacket(&dirty, &fresh) {
			t.Errorf("reused Packet differs from a fresh one:\n%+v\n%+v", dirty, fresh)
		}
	})
}
