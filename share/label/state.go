package label

// Limits of the inspection of one flow.
const (
	// MaxPacketsPerDirection is the number of payload-bearing packets of
	// each direction that [State.Observe] inspects; the label is final once
	// either direction reaches it.
	MaxPacketsPerDirection = 10
	// MaxPackets is the number of payload-bearing packets of both
	// directions together after which the label is final.
	MaxPackets = 16
	// MaxReassembly bounds the bytes kept for one direction of a TCP flow
	// while a message that classification needs spans segments (a DNS
	// message, a TLS ClientHello, HTTP request headers), and the CRYPTO
	// bytes kept of a QUIC client's Initial packets.
	MaxReassembly = 4096
)

// IP protocol numbers of the transports that carry inspected payload.
const (
	ipTCP = 6
	ipUDP = 17
)

// verdict is what a parser concluded from the bytes it was given.
type verdict uint8

const (
	// no: the bytes are not (or no longer) of interest to this parser.
	no verdict = iota
	// yes: the bytes matched (and the evidence was taken).
	yes
	// more: the bytes are a consistent but incomplete prefix: the parser
	// wants the rest of this direction's message.
	more
)

// cand names the protocol that a State is waiting to confirm with another
// packet; the meaning of State.aux depends on it.
type cand uint8

const (
	candNone  cand = iota
	candRTP        // one RTP-shaped packet seen; aux holds rtpMemo
	candUTP        // a uTP SYN seen; aux holds its connection ID and sequence
	candGreet      // a 220 greeting seen that names neither SMTP nor FTP
)

// Flag bits of State.flags.
const (
	fDone uint16 = 1 << iota
	// fA and fB mark the two halves of a protocol's evidence as taken:
	// the request, query, ClientHello or client banner (fA), and the
	// response, ServerHello or server banner (fB). Which half a packet
	// fills is decided by its content where the protocol allows, so that
	// a capture that starts with the server's packet is read right.
	fA
	fB
	// fGreetResp marks that the candGreet greeting came from the
	// responder (the usual case).
	fGreetResp
)

// State is the per-flow inspection state. Its zero value is ready to use; it is
// small and fixed-size so that a flow table can hold one per flow.
//
// A State is not safe for concurrent use; a flow table calls it from the
// goroutine that owns the flow.
type State struct {
	// ev is allocated when the first evidence is found.
	ev *Evidence
	// re holds the first bytes of a TCP direction while a message spans
	// segments, and the CRYPTO bytes of a QUIC client's Initial packets.
	// It is allocated only then, and dropped when the message is complete
	// or the label is final.
	re *reassembly
	// aux is the memory of the candidate protocol (see cand).
	aux   uint64
	proto Protocol
	flags uint16
	cand  cand
	// n counts the payload-bearing packets observed from the initiator
	// (n[0]) and from the responder (n[1]).
	n [2]uint8
}

// reassembly is the bounded buffer of a State.
type reassembly struct {
	// head[d] holds the first bytes of direction d while a message is
	// incomplete; nil when nothing is being collected.
	head [2][]byte
	// last[d] is the length of the last segment appended to head[d], to
	// skip an immediate retransmission of it.
	last [2]int
	// quic collects the CRYPTO stream of a QUIC client.
	quic *quicCrypto
}

// Observe inspects one payload-bearing packet of the flow. fromInitiator says the
// packet travels from the flow's initiator to its responder; transport is the IP
// protocol number (6 TCP, 17 UDP); srcPort and dstPort are the packet's own ports.
// It returns true once the label is final, after which the caller may stop calling.
//
// Observe does not keep payload (it copies the few bytes it needs) and
// does not modify it. Packets without payload are ignored. TCP segments
// are taken in the order given: the caller passes them in capture order,
// and Observe skips an immediate retransmission of the previous segment
// but does not reorder. Transports other than TCP and UDP are not
// inspected: the first call for such a flow returns true.
func (s *State) Observe(fromInitiator bool, transport uint8, srcPort, dstPort uint16, payload []byte) (done bool) {
	if s.flags&fDone != 0 {
		return true
	}
	if len(payload) == 0 {
		return false
	}
	d := 1
	if fromInitiator {
		d = 0
	}
	if s.n[d] < 255 {
		s.n[d]++
	}
	switch transport {
	case ipTCP:
		s.tcp(d, payload)
	case ipUDP:
		s.udp(d, srcPort, dstPort, payload)
	default:
		s.finish()
		return true
	}
	if s.flags&fDone == 0 && (s.n[0] >= MaxPacketsPerDirection || s.n[1] >= MaxPacketsPerDirection ||
		int(s.n[0])+int(s.n[1]) >= MaxPackets) {
		s.finish()
	}
	return s.flags&fDone != 0
}

// Result returns the flow's label: the payload label if one was found, else a
// port-based (weak) label from the responder's port, else Unknown.
//
// Result makes the label final: it reads what a pending reassembly buffer
// holds and releases it, so later calls of Observe change nothing. The
// port table is consulted for the responder's port first, then for the
// initiator's port when that one is a system port (below 1024) and the
// responder's is not, which covers flows whose first packet seen came from
// the server. Evidence of a weak label is nil.
func (s *State) Result(transport uint8, initiatorPort, responderPort uint16) Label {
	s.finish()
	if s.ev != nil && *s.ev == (Evidence{}) {
		s.ev = nil // a parser matched but found nothing to keep
	}
	if s.proto == Unknown && s.cand == candGreet {
		port := initiatorPort
		if s.flags&fGreetResp != 0 {
			port = responderPort
		}
		s.settleGreeting(port)
	}
	if s.proto != Unknown {
		return Label{Protocol: s.proto, Source: SourcePayload, Evidence: s.ev}
	}
	if p := portProtocol(transport, responderPort); p != Unknown {
		return Label{Protocol: p, Source: SourcePort}
	}
	if initiatorPort < 1024 && responderPort >= 1024 {
		if p := portProtocol(transport, initiatorPort); p != Unknown {
			return Label{Protocol: p, Source: SourcePort}
		}
	}
	return Label{}
}

// finish makes the label final: pending reassembly buffers are parsed for
// what they hold and memory is released.
func (s *State) finish() {
	if s.flags&fDone != 0 {
		return
	}
	// Set first: the parsers called below may call done again.
	s.flags |= fDone
	if re := s.re; re != nil {
		s.re = nil
		for d := range 2 {
			if h := re.head[d]; h != nil {
				s.tcpParse(d, h, true)
			}
		}
		if q := re.quic; q != nil && s.proto == QUIC && s.flags&fA == 0 {
			q.parseHello(s, true)
		}
	}
	if s.cand != candGreet {
		// An undecided greeting stays for Result, which knows the ports.
		s.cand, s.aux = candNone, 0
	}
}

// label records p as the flow's protocol.
func (s *State) label(p Protocol) {
	if s.proto == Unknown {
		s.proto = p
		s.cand, s.aux = candNone, 0
	}
}

// done marks the label final.
func (s *State) done() { s.finish() }

// evidence returns the flow's Evidence, allocating it on first use.
func (s *State) evidence() *Evidence {
	if s.ev == nil {
		s.ev = new(Evidence)
	}
	return s.ev
}

// tcp handles one TCP segment of direction d.
func (s *State) tcp(d int, p []byte) {
	pending := s.re != nil && s.re.head[d] != nil
	data := p
	if pending {
		data = s.re.add(d, p)
	}
	v := s.tcpParse(d, data, pending && len(data) >= MaxReassembly)
	if s.flags&fDone != 0 || s.re == nil && v != more {
		return
	}
	switch {
	case v == more && !pending:
		s.keep(d, p)
	case v != more && pending:
		s.drop(d)
	}
}

// tcpParse runs the detectors (or, once the protocol is known, the
// protocol's own parser) over data, the first bytes of direction d's
// current message. final says that no more bytes will come.
func (s *State) tcpParse(d int, data []byte, final bool) verdict {
	var v verdict
	if s.proto == Unknown {
		v = s.detectTCP(d, data, final)
	} else {
		v = s.followTCP(d, data, final)
	}
	if final {
		return no
	}
	return v
}

// keep starts collecting direction d's bytes with the segment p.
func (s *State) keep(d int, p []byte) {
	if s.re == nil {
		s.re = new(reassembly)
	}
	n := min(len(p), MaxReassembly)
	h := make([]byte, n, min(MaxReassembly, max(2*n, 512)))
	copy(h, p)
	s.re.head[d], s.re.last[d] = h, len(p)
}

// drop stops collecting direction d's bytes.
func (s *State) drop(d int) {
	if s.re == nil {
		return
	}
	s.re.head[d], s.re.last[d] = nil, 0
	if s.re.head[0] == nil && s.re.head[1] == nil && s.re.quic == nil {
		s.re = nil
	}
}

// minRetransmit is the shortest segment that add takes for a
// retransmission when it repeats the previous one: short segments (a
// length prefix, a line end) legitimately repeat.
const minRetransmit = 16

// add appends segment p to direction d's bytes, up to MaxReassembly, and
// returns them. A segment of at least minRetransmit bytes equal to the
// previous one is taken for a retransmission and skipped (Observe sees no
// sequence numbers).
func (r *reassembly) add(d int, p []byte) []byte {
	h := r.head[d]
	if n := r.last[d]; n == len(p) && n >= minRetransmit && n <= len(h) && string(h[len(h)-n:]) == string(p) {
		return h
	}
	room := MaxReassembly - len(h)
	h = append(h, p[:min(len(p), room)]...)
	r.head[d], r.last[d] = h, len(p)
	return h
}

// udp handles one UDP datagram of direction d.
func (s *State) udp(d int, sp, dp uint16, p []byte) {
	if s.proto == Unknown {
		s.detectUDP(d, sp, dp, p)
		return
	}
	s.followUDP(d, sp, dp, p)
}
