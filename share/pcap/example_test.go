package pcap_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/pcap"
)

// This example anonymizes a capture of one ARP request held in memory. The keys
// would come from a key vault; any 32 bytes do for the example.
func ExampleAnonymize() {
	var in bytes.Buffer
	w, err := capture.NewPcapWriter(&in, capture.LinkTypeEthernet, 0, false)
	if err != nil {
		log.Fatal(err)
	}
	arp := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x08, 0x06, // Ethernet
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // ARP request
		0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 192, 0, 2, 10, // sender
		0, 0, 0, 0, 0, 0, 192, 0, 2, 1, // target
	}
	if err := w.WritePacket(capture.Packet{Data: arp, Timestamp: 1_700_000_000e9}); err != nil {
		log.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}

	var out bytes.Buffer
	st, err := pcap.Anonymize(context.Background(), &in, &out, pcap.Options{
		AddrKey: bytes.Repeat([]byte{1}, 32), // Crypto-PAn key
		MACKey:  bytes.Repeat([]byte{2}, 32),
		KeyID:   "ek_example",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d packet written as %s\n", st.PacketsOut, st.Output)
	// The broadcast destination and the unknown target MAC pass through.
	fmt.Printf("%d addresses rewritten, %d passed through\n", st.AddrsRewritten, st.AddrsPassedThrough)
	fmt.Println(bytes.Contains(out.Bytes(), []byte{192, 0, 2, 10}))
	// Output:
	// 1 packet written as pcap
	// 4 addresses rewritten, 2 passed through
	// false
}
