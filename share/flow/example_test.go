package flow_test

import (
	"encoding/hex"
	"fmt"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/flow"
)

func ExampleTable() {
	// A DNS query from 192.0.2.1:50000 to 198.51.100.2:53 and its answer,
	// raw IPv4 packets 5 ms apart.
	query, _ := hex.DecodeString("450000210001000040110000c0000201c6336402" + "c3500035000d0000" + "7175657279")
	answer, _ := hex.DecodeString("450000220002000040110000c6336402c0000201" + "0035c350000e0000" + "616e73776572")

	t, err := flow.NewTable(flow.Config{}, func(f *flow.Flow) {
		fmt.Println(f.Key, f.ConnState(), f.History(), f.Reason)
		for _, s := range f.Seq {
			fmt.Printf("  from responder %v: %d IP bytes, %d payload bytes, %d µs after the previous packet\n",
				s.FromResp, s.IPLen, s.PayloadLen, s.IAT)
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	const t0 = 1704067200_000000000 // 2024-01-01T00:00:00Z in nanoseconds
	t.Add(capture.Packet{Data: query, Timestamp: t0, LinkType: capture.LinkTypeRaw})
	t.Add(capture.Packet{Data: answer, Timestamp: t0 + 5_000_000, LinkType: capture.LinkTypeRaw})
	t.Flush()
	// Output:
	// 17 192.0.2.1:50000 > 198.51.100.2:53 SF Dd end
	//   from responder false: 33 IP bytes, 5 payload bytes, 0 µs after the previous packet
	//   from responder true: 34 IP bytes, 6 payload bytes, 5000 µs after the previous packet
}
