package pcap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/packet"
)

// maxDistinct bounds each set of distinct addresses Inspect keeps (about 100 MiB at
// most for the three); beyond it the count is a lower bound.
const maxDistinct = 1 << 21

// Summary describes a capture, as Inspect finds it.
type Summary struct {
	Format     capture.Format
	Packets    int64
	Bytes      int64 // captured bytes of the packets
	Interfaces []InterfaceSummary
	// First and Last are the earliest and latest timestamps in nanoseconds since
	// the Unix epoch; HasTime is false when no packet carried one.
	First, Last int64
	HasTime     bool
	// Distinct addresses found in the address fields of headers (outer, tunnelled,
	// quoted, ARP, neighbor discovery); AddrsCapped is set when a count reached its
	// bound and is a lower bound.
	IPv4, IPv6, MAC int
	AddrsCapped     bool
	Damage          []capture.Damage
	Headers         HeaderStops
	// Meta is the anonymization record the capture carries in its section comment,
	// or nil.
	Meta *Metadata
}

// InterfaceSummary describes one interface of a capture.
type InterfaceSummary struct {
	LinkType   capture.LinkType
	Resolution capture.Resolution
	Packets    int64
	// Decoded is false for a link type whose packets are not decoded: Anonymize
	// drops them.
	Decoded bool
}

// Inspect reads a capture and summarises it: packets, interfaces and link types,
// time span, distinct addresses and damage. Like Anonymize it reads damaged
// captures to the end of what is readable and reports the damage.
func Inspect(ctx context.Context, r io.Reader) (Summary, error) {
	br := getReader(r)
	defer putReader(br)
	var s Summary
	if head, _ := br.Peek(shbPeek); formatOf(head) == capture.FormatPcapng {
		if m, found, err := recordInComments(sectionComments(head)); found && err == nil {
			s.Meta = &m
		}
	}
	rd, err := capture.NewReader(br)
	if err != nil {
		return Summary{}, fmt.Errorf("reading capture: %w", err)
	}
	s.Format = rd.Format()
	v4 := map[uint32]struct{}{}
	v6 := map[[16]byte]struct{}{}
	macs := map[uint64]struct{}{}
	var p packet.Packet
	var stops [5]int64
	var ifs []capture.Interface
	for {
		if s.Packets%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return s, fmt.Errorf("inspecting capture: %w", err)
			}
		}
		pk, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var de *capture.DamageError
			if errors.As(err, &de) {
				if de.Resumable {
					continue
				}
				break
			}
			return s, fmt.Errorf("reading capture: %w", err)
		}
		s.Packets++
		s.Bytes += int64(len(pk.Data))
		if pk.Interface >= len(ifs) {
			ifs = rd.Interfaces()
			for len(s.Interfaces) < len(ifs) {
				i := ifs[len(s.Interfaces)]
				s.Interfaces = append(s.Interfaces, InterfaceSummary{LinkType: i.LinkType, Resolution: i.Resolution})
			}
		}
		is := &s.Interfaces[pk.Interface]
		is.Packets++
		if !pk.NoTimestamp {
			if !s.HasTime || pk.Timestamp < s.First {
				s.First = pk.Timestamp
			}
			if !s.HasTime || pk.Timestamp > s.Last {
				s.Last = pk.Timestamp
			}
			s.HasTime = true
		}
		// Addresses are counted as the rewriter finds them: every full-length
		// address field of every header, Teredo's inverted one inverted back.
		if packet.Decode(&p, pk.Data, uint32(pk.LinkType)) == packet.ErrUnsupportedLinkType {
			continue
		}
		is.Decoded = true
		stops[p.Stop]++
		for _, a := range p.Addrs[:p.NAddr] {
			d := pk.Data[a.Off : a.Off+int(a.Len)]
			switch {
			case a.Type == packet.AddrIPv4 && a.Len == 4:
				s.AddrsCapped = add(v4, binary.BigEndian.Uint32(d)) || s.AddrsCapped
			case a.Type == packet.AddrIPv4XOR && a.Len == 4:
				s.AddrsCapped = add(v4, ^binary.BigEndian.Uint32(d)) || s.AddrsCapped
			case a.Type == packet.AddrIPv6 && a.Len == 16:
				s.AddrsCapped = add(v6, [16]byte(d)) || s.AddrsCapped
			case a.Type == packet.AddrMAC && a.Len == 6:
				s.AddrsCapped = add(macs, macUint([6]byte(d))) || s.AddrsCapped
			}
		}
	}
	// An interface described but without packets is listed too.
	for _, i := range rd.Interfaces()[len(s.Interfaces):] {
		s.Interfaces = append(s.Interfaces, InterfaceSummary{LinkType: i.LinkType, Resolution: i.Resolution})
	}
	s.IPv4, s.IPv6, s.MAC = len(v4), len(v6), len(macs)
	s.Damage = rd.Damage()
	s.Headers = headerStops(stops)
	return s, nil
}

// add inserts k into set unless the set is full, and reports whether it was.
func add[K comparable](set map[K]struct{}, k K) (full bool) {
	if len(set) >= maxDistinct {
		_, ok := set[k]
		return !ok
	}
	set[k] = struct{}{}
	return false
}

// Damaged reports whether the capture showed damage (see Stats.Damaged).
func (s *Summary) Damaged() bool {
	return len(s.Damage) > 0 || s.Headers.Truncated > 0 || s.Headers.Malformed > 0
}
