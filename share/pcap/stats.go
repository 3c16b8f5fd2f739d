package pcap

import (
	"fmt"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// DropReason says why a packet was left out of the output.
type DropReason uint8

// Reasons for dropping a packet.
const (
	// DropLinkType: the link type of its interface is not decoded, so its
	// addresses cannot be found; the packet is never passed through.
	DropLinkType DropReason = iota + 1
	// DropLinkTypeMismatch: a classic pcap output holds one link type, that of the
	// first packet written; packets of interfaces with another one are dropped.
	DropLinkTypeMismatch
	// DropTimestamp: the shifted or rounded time does not fit the output format
	// (before 1970, or after 2106 for classic pcap).
	DropTimestamp
	numDropReasons
)

var dropNames = [numDropReasons]string{"", "unsupported-link-type", "link-type-mismatch", "timestamp-out-of-range"}

// String returns the kebab-case name of the reason.
func (r DropReason) String() string {
	if r > 0 && r < numDropReasons {
		return dropNames[r]
	}
	return fmt.Sprintf("DropReason(%d)", uint8(r))
}

// Drop counts the packets of one interface dropped for one reason.
type Drop struct {
	Reason    DropReason
	Interface int // index in the input's interfaces
	LinkType  capture.LinkType
	Count     int64
}

// Stats reports what a rewrite did. Counts of packets and bytes are of captured
// packets; bytes are captured bytes, without container headers.
type Stats struct {
	Input  capture.Format
	Output capture.Format

	PacketsIn  int64
	PacketsOut int64
	BytesIn    int64
	BytesOut   int64
	Dropped    []Drop

	// Damage is the damage found in the input container, one entry per kind.
	Damage []capture.Damage
	// Headers counts packets by why their decoding stopped: only "complete" packets
	// were understood to their payload; the others were cut after the last header
	// understood (see the package documentation, "Damage").
	Headers HeaderStops

	AddrsRewritten      int64
	AddrsPassedThrough  int64
	AddrsCleared        int64
	TCPTimestampsZeroed int64
	ChecksumsUpdated    int64
	DNSRewritten        int64
	DNSDropped          int64
	DHCPRewritten       int64
	DHCPDropped         int64
}

// HeaderStops counts decoded packets by the reason their decoding ended.
type HeaderStops struct {
	Complete    int64
	Truncated   int64 // the capture ends inside a header
	Malformed   int64 // a header contradicts itself or its container
	Unsupported int64 // a protocol that is not decoded follows
	TooDeep     int64 // more headers, addresses or tunnels than decoded
}

func headerStops(s [5]int64) HeaderStops {
	return HeaderStops{
		Complete:    s[packet.Complete],
		Truncated:   s[packet.Truncated],
		Malformed:   s[packet.Malformed],
		Unsupported: s[packet.Unsupported],
		TooDeep:     s[packet.TooDeep],
	}
}

// Damaged reports whether the input showed any damage: of its container, or
// packets with truncated or malformed headers.
func (s *Stats) Damaged() bool {
	return len(s.Damage) > 0 || s.Headers.Truncated > 0 || s.Headers.Malformed > 0
}

// DroppedPackets returns the number of packets dropped for any reason.
func (s *Stats) DroppedPackets() int64 {
	var n int64
	for _, d := range s.Dropped {
		n += d.Count
	}
	return n
}

// dropTable counts drops per reason and interface without a map in the packet
// loop; the list is short.
type dropTable struct{ d []Drop }

func (t *dropTable) add(r DropReason, iface int, lt capture.LinkType) {
	for i := range t.d {
		if d := &t.d[i]; d.Reason == r && d.Interface == iface {
			d.Count++
			return
		}
	}
	t.d = append(t.d, Drop{Reason: r, Interface: iface, LinkType: lt, Count: 1})
}

// fill copies the rewriter's counters into s.
func (s *Stats) fill(c *counters) {
	s.Headers = headerStops(c.stops)
	s.AddrsRewritten = c.addrs
	s.AddrsPassedThrough = c.passed
	s.AddrsCleared = c.cleared
	s.TCPTimestampsZeroed = c.tsZeroed
	s.ChecksumsUpdated = c.checksums
	s.DNSRewritten, s.DNSDropped = c.dnsOK, c.dnsDropped
	s.DHCPRewritten, s.DHCPDropped = c.dhcpOK, c.dhcpDrop
}
