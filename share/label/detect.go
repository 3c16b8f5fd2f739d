package label

import "encoding/binary"

// Dispatch: which parsers see a packet. Before a protocol is known every
// detector that the first byte allows is tried, cheapest and most specific
// first; each rejects unrelated bytes within its first few checks and
// allocates nothing until it matches. Once the protocol is known, only
// its own parser runs, to complete the evidence.

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// detectTCP tries the TCP detectors on data, the first bytes of direction
// d's current message.
func (s *State) detectTCP(d int, data []byte, final bool) verdict {
	c := data[0]
	switch {
	case c == 0x16:
		if v := s.tls(d, data, final); v != no {
			return v
		}
		if v := s.tlsRecords(data); v != no {
			return v
		}
	case 0x14 <= c && c <= 0x17:
		if v := s.tlsRecords(data); v != no {
			return v
		}
	case c == 0x13:
		if v := s.btHandshake(data); v != no {
			return v
		}
	case 'A' <= c && c <= 'Z':
		if v := s.detectLine(d, data, final); v != no {
			return v
		}
	case '1' <= c && c <= '5':
		if v := s.greeting(d, data); v != no {
			return v
		}
	}
	// Binary messages with a length prefix.
	if v := s.dnsTCP(data, final); v != no {
		return v
	}
	if v := s.rtpTCP(d, data); v != no {
		return v
	}
	if v := s.someIP(data, false); v != no {
		return v
	}
	return s.ipfixTCP(data)
}

// detectLine tries the line-oriented detectors.
func (s *State) detectLine(d int, data []byte, final bool) verdict {
	switch data[0] {
	case 'S':
		if v := s.ssh(d, data); v != no {
			return v
		}
	case 'I', 'C':
		if v := s.nats(data); v != no {
			return v
		}
	}
	switch {
	case s.cand == candGreet && (d == 1) != (s.flags&fGreetResp != 0):
		// The other side of an undecided 220 greeting: its command
		// decides between SMTP and FTP.
		if v := s.command(data); v != no {
			return v
		}
	case hasPrefixFold(data, "EHLO ") || hasPrefixFold(data, "HELO "):
		if v := s.command(data); v != no {
			return v
		}
	}
	p, v := s.textMessage(data, final, false, 0, 0)
	if v == yes {
		s.label(p)
		s.textDone()
	}
	return v
}

// textDone ends a text protocol's inspection once both its request and
// its response were seen.
func (s *State) textDone() {
	if s.flags&(fA|fB) == fA|fB {
		s.done()
	}
}

// followTCP runs the known protocol's parser on direction d's current
// message to complete the evidence.
func (s *State) followTCP(d int, data []byte, final bool) verdict {
	switch s.proto {
	case TLS:
		return s.tls(d, data, final)
	case HTTP, RTSP, SIP, BitTorrent:
		if s.proto == BitTorrent && s.ev != nil && s.ev.Detail != "tracker" {
			s.done()
			return no
		}
		_, v := s.textMessage(data, final, false, 0, 0)
		s.textDone()
		return v
	case SSH:
		return s.ssh(d, data)
	case SMTP, FTP:
		var v verdict
		if s.flags&fA == 0 && '1' <= data[0] && data[0] <= '5' {
			v = s.greeting(d, data)
		} else if s.flags&fB == 0 {
			v = s.command(data)
		}
		if s.flags&(fA|fB) == fA|fB {
			s.done()
		}
		return v
	case DNS:
		return s.dnsTCP(data, final)
	case NATS:
		return s.nats(data)
	}
	s.done()
	return no
}

// detectUDP tries the UDP detectors on one datagram.
func (s *State) detectUDP(d int, sp, dp uint16, b []byte) {
	c := b[0]
	switch {
	case c&0x80 != 0 && s.quicLong(b) != no:
		return
	case c&0x80 == 0 && c&0x01 != 0 && s.gquic(b) != no:
		return
	case 'A' <= c && c <= 'Z':
		if p, v := s.textMessage(b, true, true, sp, dp); v == yes {
			s.label(p)
			s.textDone()
			return
		}
	case c == 'd':
		if s.btDHT(b) == yes {
			return
		}
	}
	if s.dnsUDP(sp, dp, b) == yes || s.dhcp(sp, dp, b) == yes || s.ntp(sp, dp, b) == yes ||
		s.stun(b) == yes || s.netflow(b) == yes || s.someIP(b, true) == yes {
		return
	}
	if c&0xc0 == 0x80 {
		s.rtp(d, b)
		return
	}
	if c&0x0f == 1 {
		s.utp(d, b)
	}
}

// followUDP runs the known protocol's parser on one datagram.
func (s *State) followUDP(d int, sp, dp uint16, b []byte) {
	switch s.proto {
	case DNS, MDNS:
		s.dnsUDP(sp, dp, b)
	case QUIC:
		s.quicFollow(b)
	case SIP, SSDP:
		s.textMessage(b, true, true, sp, dp)
		s.textDone()
	case STUN:
		// Media often follows STUN connectivity checks on the same
		// 5-tuple (ICE): a confirmed RTP stream relabels the flow.
		if len(b) > 0 && b[0]&0xc0 == 0x80 {
			s.rtp(d, b)
		}
	default:
		s.done()
	}
}

// clean returns b as evidence text: printable ASCII kept, other bytes
// escaped as \xNN, cut at MaxEvidenceLen bytes.
func clean(b []byte) string {
	ok := len(b) <= MaxEvidenceLen
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			ok = false
			break
		}
	}
	if ok {
		return string(b)
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, min(MaxEvidenceLen, len(b)))
	for _, c := range b {
		if c >= 0x20 && c <= 0x7e {
			if len(out)+1 > MaxEvidenceLen {
				break
			}
			out = append(out, c)
			continue
		}
		if len(out)+4 > MaxEvidenceLen {
			break
		}
		out = append(out, '\\', 'x', hex[c>>4], hex[c&15])
	}
	return string(out)
}

// setText stores b as evidence in *dst unless *dst is already set or b is
// empty.
func setText(dst *string, b []byte) {
	if *dst == "" && len(b) > 0 {
		*dst = clean(b)
	}
}

// setString stores v in *dst unless *dst is already set.
func setString(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}
