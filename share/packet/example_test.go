package packet_test

import (
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/flowfed/flowfed/share/packet"
)

func ExampleDecode() {
	// An IPv4/UDP packet from 192.0.2.1:5353 to 198.51.100.2:53 with a
	// 5-byte payload, captured as LINKTYPE_IPV4.
	data, _ := hex.DecodeString("450000211234000040110000c0000201c6336402" + "14e90035000d0000" + "68656c6c6f")

	var p packet.Packet // reused for every packet of a capture
	if err := packet.Decode(&p, data, packet.LinkIPv4); err != nil {
		fmt.Println("decoding:", err)
	}
	for _, h := range p.Headers[:p.N] {
		fmt.Printf("%v at %d+%d\n", h.Kind, h.Off, h.Len)
	}
	src, dst := p.InnerAddrs(data)
	s, _ := netip.AddrFromSlice(src)
	d, _ := netip.AddrFromSlice(dst)
	fmt.Printf("%v:%d > %v:%d proto %d, %d payload bytes, %v\n", s, p.SrcPort, d, p.DstPort, p.Proto, p.PayloadLen, p.Stop)
	// Output:
	// IPv4 at 0+20
	// UDP at 20+8
	// Payload at 28+5
	// 192.0.2.1:5353 > 198.51.100.2:53 proto 17, 5 payload bytes, complete
}
