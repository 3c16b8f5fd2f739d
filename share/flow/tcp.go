package flow

// TCP endpoint states, as Zeek's TCP analyzer keeps them for each side of a
// connection; ConnState derives Zeek's conn_state from the pair.
const (
	tcpInactive    = iota // nothing sent yet
	tcpSynSent            // sent a SYN
	tcpSynAckSent         // sent a SYN-ACK
	tcpPartial            // sent data without a handshake seen
	tcpEstablished        // handshake completed
	tcpClosed             // sent a FIN
	tcpReset              // sent a RST
)

// TCP flag bits.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// History letters (upper case; the responder's are lower case) and the bits
// that record that a once-only letter was given.
const (
	histS = 1 << iota
	histH
	histA
	histD
	histF
	histR
	histI
	histQ
)

// histCap bounds the history letters kept per flow.
const histCap = 24

// tooLargeSeqDelta is the jump of a SYN's or RST's sequence number beyond
// which Zeek does not trust it to advance the stream (1 MiB).
const tooLargeSeqDelta = 1 << 20

// tcpDir is the TCP state of one direction (one endpoint) of a flow.
type tcpDir struct {
	// rel is the end of the sequence space sent so far (the highest
	// sequence number plus segment length) relative to the initial
	// sequence number, in 64 bits so that it counts past wraps.
	rel uint64
	// acked is the highest acknowledgment number the peer sent for this
	// direction; valid with dirAcked.
	acked uint32
	// isn is the initial sequence number (Counters.ISN).
	isn uint32
	// holeLo and holeHi delimit one range of sequence space that a later
	// segment skipped; segments that fill it are out of order rather than
	// retransmitted. Empty when equal.
	holeLo, holeHi uint32
	// lastSYN, lastFIN and lastRST are the relative sequence numbers of
	// the last SYN, FIN and RST, so that a repeated letter in the history
	// marks a new one, not a retransmission.
	lastSYN, lastFIN, lastRST uint32
	state, prev               uint8
	seen                      uint8 // once-only history letters given
	bits                      uint8 // dirStarted, dirAcked, dirFIN
}

// Bits of tcpDir.bits.
const (
	dirStarted = 1 << iota // the endpoint has sent a segment
	dirAcked               // acked is valid
	dirFIN                 // the endpoint has sent a FIN
)

// setState moves an endpoint to state s, remembering the previous one.
func (d *tcpDir) setState(s uint8) {
	d.prev, d.state = d.state, s
}

// after reports whether sequence number a comes after b in serial-number
// arithmetic (RFC 1982).
func after(a, b uint32) bool { return int32(a-b) > 0 }

// tcpSegment is what the TCP logic needs of one segment.
type tcpSegment struct {
	flags    uint8
	seq, ack uint32
	win      uint16
	winKnown bool // the window field was captured
	len      int  // payload length
}

// tcpPacket updates the TCP state of s for a segment sent by direction dir
// (0 initiator, 1 responder) and returns whether the connection is now
// closed (a FIN from each side, a RST, or a FIN answered by nothing).
func (s *slot) tcpPacket(dir int, g *tcpSegment) bool {
	ep, peer := &s.tcp[dir], &s.tcp[1-dir]
	c := &s.c[dir]
	fl := g.flags
	syn, fin, rst, ack := fl&flagSYN != 0, fl&flagFIN != 0, fl&flagRST != 0, fl&flagACK != 0
	segLen := g.len
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= g.len // data on a RST is not part of the stream
	}
	// An endpoint that has sent nothing yet takes its sequence space from
	// this segment: from the SYN, or as if a SYN had come just before. A
	// SYN with a new sequence number starts the space again, as does a SYN
	// after a RST that was the endpoint's first packet.
	switch {
	case ep.state == tcpInactive:
		ep.isn = g.seq - 1
		if syn {
			ep.isn = g.seq
		}
		ep.rel, ep.holeLo, ep.holeHi = uint64(g.seq-ep.isn), 0, 0
		ep.bits |= dirStarted
	case syn && (g.seq != ep.isn && ep.state != tcpClosed && ep.state != tcpReset ||
		ep.state == tcpReset && ep.prev == tcpInactive):
		ep.isn = g.seq
		ep.rel, ep.holeLo, ep.holeHi = 0, 0, 0
	}
	rel := g.seq - ep.isn
	s.tcpHistory(dir, fl, rel, g.len)

	if g.winKnown && g.win == 0 && !rst && peer.state != tcpClosed && ep.state != tcpReset {
		c.zeroWin++
		s.scaledLetter(dir, 'W', c.zeroWin)
	}

	if ack {
		pc := &s.c[1-dir]
		switch {
		case peer.state == tcpInactive:
			// Number the peer's stream as if its SYN had preceded what
			// this segment acknowledges.
			peer.isn = g.ack - 1
			peer.rel = 0
			peer.acked = g.ack - 1
			peer.bits |= dirAcked
		case !rst:
			if peer.bits&dirAcked == 0 || after(g.ack, peer.acked) {
				peer.acked = g.ack
				peer.bits |= dirAcked
			}
			// An acknowledgment beyond everything the peer was seen to
			// send reveals data the capture missed. The peer's stream
			// moves on to it; should the data come after all, it fills
			// the hole.
			if end := peer.isn + uint32(peer.rel); after(g.ack, end) {
				pc.gaps++
				s.scaledLetter(1-dir, 'G', pc.gaps)
				if peer.holeLo == peer.holeHi {
					peer.holeLo, peer.holeHi = end, g.ack
				}
				peer.rel += uint64(g.ack - end)
			}
		}
	}

	s.tcpSequence(dir, g, segLen, syn || rst)
	if fin {
		ep.bits |= dirFIN
	}
	s.tcpState(dir, g, syn, fin, rst, ack)

	a, b := s.tcp[0].state, s.tcp[1].state
	return a == tcpReset || b == tcpReset || (a == tcpClosed && (b == tcpClosed || b == tcpInactive)) ||
		(b == tcpClosed && a == tcpInactive)
}

// tcpSequence advances the sequence space of endpoint ep by a segment and
// classifies its payload as new, out of order (filling the hole a later
// segment left) or retransmitted.
func (s *slot) tcpSequence(dir int, g *tcpSegment, segLen int, synOrRST bool) {
	ep, c := &s.tcp[dir], &s.c[dir]
	end := ep.isn + uint32(ep.rel)
	segEnd := g.seq + uint32(segLen)
	dEnd := int32(segEnd - end)
	if synOrRST && (dEnd > tooLargeSeqDelta || dEnd < -tooLargeSeqDelta) {
		return // a SYN or RST far off the stream is not trusted
	}
	if g.len > 0 && g.flags&flagRST == 0 {
		d := int32(g.seq - end)
		switch {
		case d > 0:
			// A gap: remember the first one, so that the segments
			// filling it count as out of order.
			if ep.holeLo == ep.holeHi {
				ep.holeLo, ep.holeHi = end, g.seq
			}
		case d < 0:
			dataEnd := g.seq + uint32(g.len)
			if ep.holeLo != ep.holeHi && after(dataEnd, ep.holeLo) && after(ep.holeHi, g.seq) {
				c.ooo++
				fillHole(ep, g.seq, dataEnd)
			} else if dEnd <= 0 {
				c.retrans++
				s.scaledLetter(dir, 'T', c.retrans)
			}
		}
	}
	if dEnd > 0 && ep.state != tcpReset {
		ep.rel += uint64(dEnd)
	}
}

// fillHole removes [lo, hi) from the hole of ep, keeping the larger part
// when it splits the hole in two.
func fillHole(ep *tcpDir, lo, hi uint32) {
	hl, hh := ep.holeLo, ep.holeHi
	switch {
	case !after(lo, hl) && !after(hh, hi): // covers it
		ep.holeLo, ep.holeHi = 0, 0
	case !after(lo, hl): // covers its start
		ep.holeLo = hi
	case !after(hh, hi): // covers its end
		ep.holeHi = lo
	case lo-hl >= hh-hi:
		ep.holeHi = lo
	default:
		ep.holeLo = hi
	}
}

// tcpState runs Zeek's TCP endpoint state machine for a segment from
// direction dir.
func (s *slot) tcpState(dir int, g *tcpSegment, syn, fin, rst, ack bool) {
	ep, peer := &s.tcp[dir], &s.tcp[1-dir]
	isOrig := dir == 0
	switch ep.state {
	case tcpInactive:
		if syn {
			if isOrig {
				if ack {
					ep.setState(tcpSynAckSent)
				} else {
					ep.setState(tcpSynSent)
				}
			} else {
				if peer.state == tcpSynSent || (!ack && peer.state == tcpSynAckSent) {
					peer.setState(tcpEstablished)
				}
				ep.setState(tcpEstablished)
			}
		}
		if fin {
			ep.setState(tcpClosed)
		}
		if rst {
			ep.setState(tcpReset)
		}
		if ep.state == tcpInactive {
			switch {
			case !isOrig && g.len == 0 && s.tcp[0].state == tcpSynSent:
				// Some stacks acknowledge a SYN before answering it:
				// not the start of a partial connection.
			case ack && peer.state == tcpEstablished:
				// The initiator's SYN was missed but the responder's
				// SYN-ACK was not.
				ep.setState(tcpEstablished)
			default:
				ep.setState(tcpPartial)
			}
		}
	case tcpSynSent, tcpSynAckSent:
		if fin {
			ep.setState(tcpClosed)
		}
		if rst {
			ep.setState(tcpReset)
		}
	case tcpEstablished, tcpPartial:
		if syn && ep.state == tcpPartial && peer.state == tcpInactive && !ack {
			ep.setState(tcpSynSent)
		}
		if fin && !rst {
			ep.setState(tcpClosed)
			if peer.state == tcpReset && peer.prev == tcpClosed {
				// A FIN followed by a RST from the peer: that was a
				// normal close.
				peer.setState(tcpClosed)
			}
		}
		if rst {
			ep.setState(tcpReset)
		}
	case tcpClosed:
		if rst && peer.state != tcpClosed {
			ep.setState(tcpReset)
		}
	}
}

// tcpHistory adds the history letters of a segment, as Zeek's
// update_history does.
func (s *slot) tcpHistory(dir int, fl uint8, rel uint32, n int) {
	ep := &s.tcp[dir]
	syn, fin, rst := fl&flagSYN != 0, fl&flagFIN != 0, fl&flagRST != 0
	nb := 0
	for _, b := range [...]bool{syn, fin, rst} {
		if b {
			nb++
		}
	}
	switch {
	case nb > 1:
		if fin && rst {
			s.onceLetter(dir, histI, 'I')
		} else {
			s.onceLetter(dir, histQ, 'Q')
		}
	case syn:
		bit, code := uint8(histS), byte('S')
		if fl&flagACK != 0 {
			bit, code = histH, 'H'
		}
		if s.onceLetter(dir, bit, code) && rel != ep.lastSYN {
			s.letter(dir, code)
		}
		ep.lastSYN = rel
	case fin:
		// A FIN's sequence number is the end of its data.
		if s.onceLetter(dir, histF, 'F') && rel+uint32(n) != ep.lastFIN {
			s.letter(dir, 'F')
		}
		ep.lastFIN = rel + uint32(n)
	case rst:
		if s.onceLetter(dir, histR, 'R') && rel != ep.lastRST {
			s.letter(dir, 'R')
		}
		ep.lastRST = rel
	case n > 0:
		s.onceLetter(dir, histD, 'D')
	case fl&flagACK != 0:
		s.onceLetter(dir, histA, 'A')
	}
}

// onceLetter adds a letter the first time it occurs in a direction and
// reports whether it had occurred before.
func (s *slot) onceLetter(dir int, bit uint8, code byte) (seen bool) {
	ep := &s.tcp[dir]
	if ep.seen&bit != 0 {
		return true
	}
	ep.seen |= bit
	s.letter(dir, code)
	return false
}

// scaledLetter adds a letter when a count reaches 1, 10, 100, ...
func (s *slot) scaledLetter(dir int, code byte, n uint32) {
	for p := uint32(1); p <= n; p *= 10 {
		if p == n {
			s.letter(dir, code)
			return
		}
		if p > ^uint32(0)/10 {
			return
		}
	}
}

// letter appends a history letter, lower case for the responder.
func (s *slot) letter(dir int, code byte) {
	if s.histLen >= histCap {
		return
	}
	if dir == 1 && code >= 'A' && code <= 'Z' {
		code += 'a' - 'A'
	}
	s.hist[s.histLen] = code
	s.histLen++
}

// tcpConnState is Zeek's conn_state function for TCP: os and rs are the
// initiator's and responder's endpoint states, osize and rsize their
// stream sizes, hist the history.
func tcpConnState(os, rs uint8, osize, rsize uint64, hist []byte) string {
	oInactive := os == tcpInactive || os == tcpPartial
	rInactive := rs == tcpInactive || rs == tcpPartial
	switch {
	case rs == tcpReset:
		switch {
		case os == tcpSynSent || os == tcpSynAckSent || (os == tcpReset && osize == 0 && rsize == 0):
			return "REJ"
		case oInactive:
			return "RSTRH"
		}
		return "RSTR"
	case os == tcpReset:
		if rInactive {
			if synThenRST(hist) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == tcpClosed && os == tcpClosed:
		return "SF"
	case os == tcpClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == tcpClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == tcpSynSent && rs == tcpInactive:
		return "S0"
	case os == tcpEstablished && rs == tcpEstablished:
		return "S1"
	}
	return "OTH"
}

// synThenRST matches Zeek's pattern ^?S[^HAFGIQ]*R.* against a whole
// history: an initiator's SYN, then its RST, with no handshake, ACK, FIN,
// gap or odd flags from the initiator in between.
func synThenRST(h []byte) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
