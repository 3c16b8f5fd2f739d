package node

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metricsCollector exports the node's counters as Prometheus metrics, read at scrape
// time.
type metricsCollector Node

var (
	descPeers     = prometheus.NewDesc("flowfed_peers", "Members of the federation, by connection state.", []string{"state"}, nil)
	descSent      = prometheus.NewDesc("flowfed_artifacts_sent_total", "Artifacts delivered to members (acknowledged by a signed receipt).", nil, nil)
	descReceived  = prometheus.NewDesc("flowfed_artifacts_received_total", "Artifacts received, verified and stored.", nil, nil)
	descRejected  = prometheus.NewDesc("flowfed_artifacts_rejected_total", "Messages or artifacts rejected, by reason.", []string{"reason"}, nil)
	descBytes     = prometheus.NewDesc("flowfed_protocol_bytes_total", "Bytes moved by the flowfed protocols.", []string{"direction"}, nil)
	descLag       = prometheus.NewDesc("flowfed_sync_lag", "Artifacts a member announced that are not pulled yet.", []string{"peer"}, nil)
	descHead      = prometheus.NewDesc("flowfed_head_seq", "Sequence number of this node's last published artifact.", nil, nil)
	descWithheld  = prometheus.NewDesc("flowfed_artifacts_withheld_total", "Our artifacts the sharing policy kept from a requesting member.", nil, nil)
	descExpired   = prometheus.NewDesc("flowfed_artifacts_expired_total", "Artifacts deleted because their retention ended.", nil, nil)
	descChunkByte = prometheus.NewDesc("flowfed_dataset_chunk_bytes_total", "Dataset chunk bytes fetched from members.", nil, nil)
)

func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeers, descSent, descReceived, descRejected, descWithheld, descBytes, descLag, descHead, descExpired, descChunkByte} {
		ch <- d
	}
}

func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	n := (*Node)(c)
	connected, total := 0, 0
	for _, p := range n.peerStatus() {
		total++
		if p.Connected {
			connected++
		}
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(p.Head-p.Cursor), p.ID)
	}
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(connected), "connected")
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(total-connected), "disconnected")
	ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(n.stats.sent.Load()))
	ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(n.stats.received.Load()))
	ch <- prometheus.MustNewConstMetric(descExpired, prometheus.CounterValue, float64(n.stats.expired.Load()))
	ch <- prometheus.MustNewConstMetric(descChunkByte, prometheus.CounterValue, float64(n.stats.chunkBytes.Load()))
	if head, err := n.st.OwnSeq(); err == nil {
		ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, float64(head))
	}
	ps := n.svc.Stats()
	for reason, v := range ps.Rejected {
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(v), reason)
	}
	ch <- prometheus.MustNewConstMetric(descWithheld, prometheus.CounterValue, float64(ps.Withheld))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(ps.BytesIn), "in")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(ps.BytesOut), "out")
}
