package flow

import (
	"fmt"
	"time"

	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/packet"
)

// Flow is one flow record: a bidirectional flow from its first packet to
// the packet or the moment that ended it.
//
// A *Flow handed to the emit function of a [Table] and its Seq belong to the
// table and are valid only during that call: copy what you keep (Clone
// copies all of it).
type Flow struct {
	// ID numbers the flows of a table in the order they were created,
	// from 1. A record continued after an active timeout gets a new ID.
	ID uint64
	// Key identifies the flow, oriented from initiator to responder.
	Key Key
	// Start and End are the timestamps of the first and the last packet
	// in nanoseconds since the Unix epoch; End >= Start.
	Start, End int64
	// Orig and Resp count the packets sent by the initiator and by the
	// responder.
	Orig, Resp Counters
	// ICMPErrors counts the ICMP and ICMPv6 error messages (unreachable,
	// time exceeded, ...) that quoted a packet of this flow while it was
	// in the table. The error messages themselves form their own flows.
	ICMPErrors uint32
	// Carries is the tunnel kind when this is the outer flow of a tunnel
	// (a VXLAN, Teredo or GTP-U UDP flow, a GRE or IP-in-IP flow) whose
	// packets were also accounted to the flows inside; zero otherwise.
	Carries packet.Kind
	// Reason says why the record ended.
	Reason EndReason
	// Continued is set when the record continues a flow whose previous
	// record ended with [EndActive].
	Continued bool
	// Label is the application protocol found by the labeler (package
	// label); Unknown when labels are off.
	Label label.Label
	// Seq holds the first Config.SeqLen packets of the record, in the
	// order they were accounted. Steps past len(Seq) are missing: the
	// record had fewer packets.
	Seq []Step

	// hist holds the Zeek-style history letters; see History.
	hist    [histCap]byte
	histLen uint8
	// tcpState holds the TCP endpoint states of the initiator and the
	// responder (tcpInactive... tcpReset), for ConnState.
	tcpState [2]uint8
}

// Counters are the figures of one direction of a flow.
type Counters struct {
	// Packets counts the packets, fragments included.
	Packets uint64
	// IPBytes sums the IP lengths as the IP headers state them (Zeek's
	// orig_ip_bytes): headers included, link padding excluded.
	IPBytes uint64
	// PayloadBytes sums the transport payload lengths as the headers
	// state them: the bytes after the TCP, UDP, SCTP or ICMP header (for
	// other protocols after the IP headers), retransmissions included.
	PayloadBytes uint64
	// StreamBytes is, for TCP, the payload bytes by sequence numbers: the
	// span from the initial sequence number to the highest sequence
	// number sent or acknowledged, less SYN and FIN (Zeek's orig_bytes).
	// For other protocols it equals PayloadBytes.
	StreamBytes uint64
	// Flags counts the TCP packets with each flag set.
	Flags TCPFlagCounts
	// Retransmits counts TCP segments whose payload had been sent
	// before; OutOfOrder counts segments that filled a gap left by a
	// later segment. Both compare sequence numbers in serial-number
	// arithmetic (RFC 1982), so they survive a wrap of the sequence space.
	Retransmits, OutOfOrder uint32
	// ZeroWindows counts TCP segments advertising a zero window.
	ZeroWindows uint32
	// Gaps counts acknowledgments of data that was never seen (data
	// missed by the capture).
	Gaps uint32
	// Fragments counts IP fragments (the first one included).
	Fragments uint32
	// ISN is the initial sequence number of a TCP direction: the sequence
	// number of its SYN, or one less than its first segment's when no SYN
	// was seen (as Zeek numbers partial connections). Relative sequence
	// numbers are Seq - ISN.
	ISN uint32
}

// TCPFlagCounts counts TCP packets per flag, in the order of the bits of
// the TCP flags byte from the lowest: FIN, SYN, RST, PSH, ACK, URG, ECE, CWR.
type TCPFlagCounts [8]uint32

// Counts of the individual flags.
func (c TCPFlagCounts) FIN() uint32 { return c[0] }
func (c TCPFlagCounts) SYN() uint32 { return c[1] }
func (c TCPFlagCounts) RST() uint32 { return c[2] }
func (c TCPFlagCounts) PSH() uint32 { return c[3] }
func (c TCPFlagCounts) ACK() uint32 { return c[4] }
func (c TCPFlagCounts) URG() uint32 { return c[5] }
func (c TCPFlagCounts) ECE() uint32 { return c[6] }
func (c TCPFlagCounts) CWR() uint32 { return c[7] }

// Step is one packet of a flow's sequence.
type Step struct {
	// FromResp is set for a packet from the responder to the initiator.
	FromResp bool
	// Flags is the TCP flags byte (0 for other protocols).
	Flags uint8
	// IPLen and PayloadLen are the IP length and the transport payload
	// length, as the headers state them, saturating at 65535.
	IPLen, PayloadLen uint16
	// IAT is the time since the flow's previous packet in microseconds
	// (0 for the first packet and for packets that arrived out of time
	// order). It is exact below 4.194304 s; above, it is kept to the
	// millisecond (rounded down), and it saturates at 4194303 ms (69.9
	// min).
	IAT uint32
}

// EndReason says why a flow record ended.
type EndReason uint8

// End reasons.
const (
	// EndIdle: no packet for the idle timeout of its protocol.
	EndIdle EndReason = iota + 1
	// EndActive: the active timeout cut a long flow; it continues in a
	// new record.
	EndActive
	// EndFIN: a TCP flow closed with FINs, after its linger time (or
	// when a new connection reused its ports).
	EndFIN
	// EndRST: a TCP flow reset, after its linger time (or when a new
	// connection reused its ports).
	EndRST
	// EndEvicted: the table was full (Config.MaxFlows) and this flow had
	// been idle the longest.
	EndEvicted
	// EndFlush: the input ended (Table.Flush) with the flow still open.
	EndFlush
	numReasons
)

var reasonNames = [numReasons]string{"", "idle", "active", "fin", "rst", "evicted", "end"}

// String returns "idle", "active", "fin", "rst", "evicted" or "end".
func (r EndReason) String() string {
	if r > 0 && r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("EndReason(%d)", uint8(r))
}

// MarshalText returns the String form.
func (r EndReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses the String form.
func (r *EndReason) UnmarshalText(b []byte) error {
	for i := EndReason(1); i < numReasons; i++ {
		if reasonNames[i] == string(b) {
			*r = i
			return nil
		}
	}
	return fmt.Errorf("unknown end reason %q", b)
}

// Duration returns the time from the first to the last packet.
func (f *Flow) Duration() time.Duration { return time.Duration(f.End - f.Start) }

// Packets returns the packets of both directions.
func (f *Flow) Packets() uint64 { return f.Orig.Packets + f.Resp.Packets }

// History returns the Zeek-style history of the flow: one letter per
// event, upper case when the initiator sent the packet, lower case for the
// responder. For TCP: s (SYN), h (SYN-ACK), a (pure ACK), d (payload), f
// (FIN), r (RST), once each per direction, except that s, h, f and r repeat
// when their sequence number changes; t (retransmission), w (zero window)
// and g (gap) at the 1st, 10th, 100th... occurrence; i (FIN with RST), q
// (SYN with FIN or RST). For UDP: d. A leading ^ says that the initiator is
// the receiver of the first packet (see the package documentation). At
// most 24 letters are kept. Checksums are not verified (offloading makes
// them unreliable in captures), so Zeek's c never appears.
func (f *Flow) History() string { return string(f.hist[:f.histLen]) }

// AppendHistory appends the history to b, for writers that avoid
// allocating.
func (f *Flow) AppendHistory(b []byte) []byte { return append(b, f.hist[:f.histLen]...) }

// ConnState returns Zeek's conn_state of the flow: for TCP one of S0, S1,
// SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH by the TCP
// endpoint states, as Zeek's conn.log defines them; for UDP SF (both
// directions seen), S0 (initiator only) or SHR (responder only); OTH for
// other protocols.
func (f *Flow) ConnState() string {
	switch f.Key.Proto {
	case protoTCP:
		return tcpConnState(f.tcpState[0], f.tcpState[1], f.Orig.StreamBytes, f.Resp.StreamBytes, f.hist[:f.histLen])
	case protoUDP:
		switch {
		case f.Orig.Packets > 0 && f.Resp.Packets > 0:
			return "SF"
		case f.Orig.Packets > 0:
			return "S0"
		case f.Resp.Packets > 0:
			return "SHR"
		}
	}
	return "OTH"
}

// Clone returns a deep copy of f that stays valid after the emit call.
func (f *Flow) Clone() *Flow {
	c := *f
	if f.Seq != nil {
		c.Seq = append([]Step(nil), f.Seq...)
	}
	if f.Label.Evidence != nil {
		ev := *f.Label.Evidence
		c.Label.Evidence = &ev
	}
	return &c
}
