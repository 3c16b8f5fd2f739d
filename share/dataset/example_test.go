package dataset_test

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/flowfed/flowfed/share/dataset"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
)

// Rows normally come from the store, pseudonymized at ingest; here twelve
// DNS flows from twelve hosts are made up.
func exampleRows() []dataset.Row {
	start := time.Date(2024, 5, 6, 8, 0, 0, 0, time.UTC)
	var rows []dataset.Row
	for i := range 12 {
		r := &flow.Record{
			Start: start.Add(time.Duration(i) * time.Minute).UnixNano(),
			End:   start.Add(time.Duration(i)*time.Minute + time.Second).UnixNano(),
			Orig:  flow.Counters{Packets: 1, IPBytes: 60}, Resp: flow.Counters{Packets: 1, IPBytes: 120},
			Label: label.Label{Protocol: label.DNS, Source: label.SourcePayload},
			Seq:   []flow.Step{{IPLen: 60, PayloadLen: 32}, {FromResp: true, IPLen: 120, PayloadLen: 92, IAT: 900}},
			KeyID: "epoch-7",
		}
		r.Key.Proto = 17
		src, dst := netip.AddrFrom4([4]byte{100, 64, 0, byte(i + 1)}).As4(), netip.MustParseAddr("100.64.9.9").As4()
		copy(r.Key.Src[:], src[:])
		copy(r.Key.Dst[:], dst[:])
		r.Key.SrcPort, r.Key.DstPort = uint16(40000+i), 53
		rows = append(rows, dataset.Row{Source: "site-a.pcap", Flow: r})
	}
	return rows
}

func ExampleBuild() {
	rows := exampleRows()
	b, err := dataset.Build(dataset.Spec{Kind: dataset.KindAggregates, GroupBy: []string{"protocol", "window"}},
		func(yield func(dataset.Row) bool) {
			for _, r := range rows {
				if !yield(r) {
					return
				}
			}
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := b.Manifest
	fmt.Println(m.Kind, m.GroupBy, m.Records, "group(s), k =", m.K, m.Usage)
	if err := dataset.Export(os.Stdout, m, b.Content, dataset.FormatCSV); err != nil {
		fmt.Println(err)
	}
	// Output:
	// aggregates [protocol window] 1 group(s), k = 10 TLP:AMBER PAP:AMBER purposes=research retain=180d reshare=none k_min=10
	// protocol,window_start_ns,flows,orig_packets,resp_packets,orig_bytes,resp_bytes,hosts,counterparts,duration_min_ns,duration_p50_ns,duration_p90_ns,duration_max_ns,duration_mean_ns,label_DNS
	// DNS,1714982400000000000,12,12,12,720,1440,12,1,1000000000,1000000000,1000000000,1000000000,1000000000,12
}
