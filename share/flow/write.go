package flow

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/flowfed/flowfed/share/label"
)

// Canonical encodings of a Flow: JSON (one object per flow, for JSON lines)
// and rows in the columns of Zeek's conn.log, tab-separated (Zeek's own
// format) or comma-separated. They print the addresses of the Key as they
// are: to share flows, replace them with pseudonyms in a copy first.

// flowJSON is the JSON form of a Flow; its field order is the order of the
// encoding.
type flowJSON struct {
	ID         uint64       `json:"id"`
	Start      int64        `json:"start_ns"`
	End        int64        `json:"end_ns"`
	Proto      uint8        `json:"proto"`
	IPVersion  int          `json:"ip_version"`
	Src        string       `json:"src"`
	SrcPort    uint16       `json:"src_port"`
	Dst        string       `json:"dst"`
	DstPort    uint16       `json:"dst_port"`
	ICMPID     uint16       `json:"icmp_id,omitempty"`
	VLAN       []uint16     `json:"vlan,omitempty"`
	Tunnel     *tunnelJSON  `json:"tunnel,omitempty"`
	Carries    string       `json:"carries,omitempty"`
	Orig       countersJSON `json:"orig"`
	Resp       countersJSON `json:"resp"`
	ICMPErrors uint32       `json:"icmp_errors,omitempty"`
	ConnState  string       `json:"conn_state"`
	History    string       `json:"history"`
	Reason     EndReason    `json:"reason"`
	Continued  bool         `json:"continued,omitempty"`
	Label      *label.Label `json:"label,omitempty"`
	Seq        [][5]uint32  `json:"seq"`
}

type tunnelJSON struct {
	Kind     string `json:"kind"`
	ID       uint32 `json:"id"`
	Depth    uint8  `json:"depth"`
	OuterSrc string `json:"outer_src"`
	OuterDst string `json:"outer_dst"`
}

type countersJSON struct {
	Packets      uint64    `json:"pkts"`
	IPBytes      uint64    `json:"ip_bytes"`
	PayloadBytes uint64    `json:"payload_bytes"`
	StreamBytes  uint64    `json:"stream_bytes"`
	Flags        *flagJSON `json:"tcp_flags,omitempty"`
	Retransmits  uint32    `json:"retransmits,omitempty"`
	OutOfOrder   uint32    `json:"out_of_order,omitempty"`
	ZeroWindows  uint32    `json:"zero_windows,omitempty"`
	Gaps         uint32    `json:"gaps,omitempty"`
	Fragments    uint32    `json:"fragments,omitempty"`
	ISN          *uint32   `json:"isn,omitempty"`
}

type flagJSON struct {
	FIN uint32 `json:"fin"`
	SYN uint32 `json:"syn"`
	RST uint32 `json:"rst"`
	PSH uint32 `json:"psh"`
	ACK uint32 `json:"ack"`
	URG uint32 `json:"urg"`
	ECE uint32 `json:"ece"`
	CWR uint32 `json:"cwr"`
}

func countersOf(c *Counters, tcp bool) countersJSON {
	out := countersJSON{
		Packets: c.Packets, IPBytes: c.IPBytes, PayloadBytes: c.PayloadBytes, StreamBytes: c.StreamBytes,
		Retransmits: c.Retransmits, OutOfOrder: c.OutOfOrder, ZeroWindows: c.ZeroWindows, Gaps: c.Gaps,
		Fragments: c.Fragments,
	}
	if tcp {
		f := c.Flags
		out.Flags = &flagJSON{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]}
		if c.Packets > 0 {
			isn := c.ISN
			out.ISN = &isn
		}
	}
	return out
}

// MarshalJSON encodes the flow as one JSON object: addresses as text,
// times in nanoseconds since the Unix epoch, the counters of each
// direction (TCP flag counts and the ISN for TCP only), Zeek's conn_state
// and history, the label, and the sequence as an array of steps, each
// [from_resp (0 or 1), ip_len, payload_len, iat_us, tcp_flags]; steps past
// the array are missing.
func (f *Flow) MarshalJSON() ([]byte, error) {
	k := f.Key
	j := flowJSON{
		ID: f.ID, Start: f.Start, End: f.End, Proto: k.Proto, IPVersion: 4,
		Src: k.SrcAddr().String(), SrcPort: k.SrcPort, Dst: k.DstAddr().String(), DstPort: k.DstPort,
		ICMPID: k.ICMPID, ICMPErrors: f.ICMPErrors, ConnState: f.ConnState(), History: f.History(),
		Reason: f.Reason, Continued: f.Continued, Seq: make([][5]uint32, len(f.Seq)),
	}
	if k.IPv6 {
		j.IPVersion = 6
	}
	for _, v := range k.VLAN {
		if v != 0 {
			j.VLAN = append(j.VLAN, v)
		}
	}
	if t := k.Tunnel; t.Kind != 0 {
		j.Tunnel = &tunnelJSON{
			Kind: t.Kind.String(), ID: t.ID, Depth: t.Depth,
			OuterSrc: t.OuterSrcAddr().String(), OuterDst: t.OuterDstAddr().String(),
		}
	}
	if f.Carries != 0 {
		j.Carries = f.Carries.String()
	}
	tcp := k.Proto == protoTCP
	j.Orig, j.Resp = countersOf(&f.Orig, tcp), countersOf(&f.Resp, tcp)
	if f.Label.Protocol != label.Unknown || f.Label.Evidence != nil {
		l := f.Label
		j.Label = &l
	}
	for i, s := range f.Seq {
		var d uint32
		if s.FromResp {
			d = 1
		}
		j.Seq[i] = [5]uint32{d, uint32(s.IPLen), uint32(s.PayloadLen), s.IAT, uint32(s.Flags)}
	}
	return json.Marshal(j)
}

// connColumns are the columns of AppendConn, named as in Zeek's conn.log
// (uid holds the flow ID, service the label; local_orig, local_resp,
// missed_bytes and tunnel_parents are left out).
var connColumns = []string{
	"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
	"orig_bytes", "resp_bytes", "conn_state", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts",
	"resp_ip_bytes", "ip_proto",
}

// ConnHeader returns the header of rows written by AppendConn with
// separator sep: for a tab, Zeek's #separator, #fields and #types lines,
// preceded by a #flowfed line with the settings cfg; for any other
// separator, one line of column names.
func ConnHeader(cfg Config, sep byte) string {
	if sep != '\t' {
		return strings.Join(connColumns, string(sep)) + "\n"
	}
	return "#separator \\x09\n#flowfed " + cfg.String() + "\n#fields\t" + strings.Join(connColumns, "\t") +
		"\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tstring\tcount\tcount\tcount\tcount\tcount\n"
}

// AppendConn appends the flow as a row of Zeek conn.log columns (see
// ConnHeader), fields separated by sep, and a newline. Times are in seconds
// with microseconds, as Zeek writes them; orig_bytes and resp_bytes are
// Counters.StreamBytes; unset fields are "-".
func (f *Flow) AppendConn(b []byte, sep byte) []byte {
	k := f.Key
	field := func(s string) {
		b = append(b, s...)
		b = append(b, sep)
	}
	num := func(n uint64) {
		b = strconv.AppendUint(b, n, 10)
		b = append(b, sep)
	}
	secs := func(ns int64) {
		b = strconv.AppendFloat(b, float64(ns)/1e9, 'f', 6, 64)
		b = append(b, sep)
	}
	secs(f.Start)
	b = append(b, 'F')
	num(f.ID)
	field(k.SrcAddr().String())
	num(uint64(k.SrcPort))
	field(k.DstAddr().String())
	num(uint64(k.DstPort))
	switch k.Proto {
	case protoTCP:
		field("tcp")
	case protoUDP:
		field("udp")
	case protoICMP, protoICMPv6:
		field("icmp")
	default:
		field("unknown_transport")
	}
	if f.Label.Protocol != label.Unknown {
		field(strings.ToLower(f.Label.Protocol.String()))
	} else {
		field("-")
	}
	secs(f.End - f.Start)
	num(f.Orig.StreamBytes)
	num(f.Resp.StreamBytes)
	field(f.ConnState())
	if f.histLen == 0 {
		field("-")
	} else {
		b = f.AppendHistory(b)
		b = append(b, sep)
	}
	num(f.Orig.Packets)
	num(f.Orig.IPBytes)
	num(f.Resp.Packets)
	num(f.Resp.IPBytes)
	b = strconv.AppendUint(b, uint64(k.Proto), 10)
	return append(b, '\n')
}
