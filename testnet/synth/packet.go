package synth

import (
	"encoding/binary"
	"net/netip"
)

// Header sizes and protocol numbers.
const (
	ethLen   = 14
	ip4Len   = 20
	ip6Len   = 40
	udpLen   = 8
	tcpLen   = 20
	protoTCP = 6
	protoUDP = 17
)

// TCP flags.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// TCP option layouts of a SYN or SYN-ACK, after the operating systems
// whose stacks send them.
type tcpProfile uint8

const (
	profLinux   tcpProfile = iota // mss, sackOK, TS, nop, wscale 7
	profWindows                   // mss, nop, wscale 8, nop, nop, sackOK
	profMac                       // mss, nop, wscale 6, nop, nop, TS, sackOK, eol
	profServer                    // Linux server: like profLinux, without TS unless the client sent it
	profScan                      // a raw-socket scanner: mss only
	profNone                      // no options at all
)

// pkt is one packet of a session: its time and where its bytes are.
type pkt struct {
	ts            int64
	chunk, off, n int32
}

// chunkSize is the size of the buffers that hold packets; a packet never
// spans two.
const chunkSize = 64 << 10

// session holds the packets of one unit of generated traffic (a
// connection, a DNS exchange, a scan) until they are written in time
// order with those of the other sessions.
type session struct {
	id     uint64
	pk     []pkt
	chunks [][]byte // from the generator's pool, returned when written
	next   int      // index of the next packet to write
	index  int      // position in the heap
}

// data returns the bytes of packet p.
func (s *session) data(p pkt) []byte { return s.chunks[p.chunk][p.off : p.off+p.n] }

// side is one end of a connection as the capture sees it.
type side struct {
	mac  [6]byte
	addr [16]byte // IPv4 addresses in the first 4 bytes
	port uint16
	ttl  uint8
	ipid uint16
	flow uint32 // IPv6 flow label
	// TCP.
	seq     uint32 // next sequence number to send
	win     uint16 // window field after the handshake
	synWin  uint16 // window field of the SYN or SYN-ACK
	mss     uint16 // MSS option sent in the SYN
	prof    tcpProfile
	ts      bool   // the timestamp option is in use
	tsBase  uint32 // the TS clock's value at the capture's epoch
	tsEcho  uint32 // last TS value received from the peer
	segSize int    // largest payload this side puts in a segment
}

// conn builds the packets of one flow into a session. Direction 0 is the
// initiator (ep[0]), 1 the responder.
type conn struct {
	g  *gen
	s  *session
	t  int64 // time of the next packet, ns since 1970
	v6 bool
	ep [2]side
	// Timing seen from the capture point, which sits at the edge of the
	// organisation's network: the responder of an outgoing connection
	// answers after wan (the round trip to it) plus its processing time,
	// the client after lan.
	wan, lan int64
	// nsPerByte[d] is the serialization time of direction d's
	// bottleneck, which spaces the segments of a burst.
	nsPerByte [2]int64
}

// delay returns the round trip from the capture point to the side that
// receives what direction d sends.
func (c *conn) delay(d int) int64 {
	if d == 0 {
		return c.wan
	}
	return c.lan
}

// begin starts a packet of l4 bytes from direction d: it appends the
// Ethernet and IP headers to the session buffer and returns the offset of
// the transport header.
func (c *conn) begin(d int, proto uint8, l4 int) (start, at int) {
	s := c.s
	src, dst := &c.ep[d], &c.ep[1-d]
	hdr := ethLen + ip4Len
	if c.v6 {
		hdr = ethLen + ip6Len
	}
	n := hdr + l4
	last := len(s.chunks) - 1
	if last < 0 || cap(s.chunks[last])-len(s.chunks[last]) < n {
		s.chunks = append(s.chunks, c.g.chunk())
		last++
	}
	start = len(s.chunks[last])
	s.chunks[last] = s.chunks[last][:start+n]
	b := s.chunks[last][start:]
	copy(b[0:6], dst.mac[:])
	copy(b[6:12], src.mac[:])
	if c.v6 {
		b[12], b[13] = 0x86, 0xdd
		ip := b[ethLen:]
		binary.BigEndian.PutUint32(ip[0:], 6<<28|src.flow&0xfffff)
		binary.BigEndian.PutUint16(ip[4:], uint16(l4))
		ip[6], ip[7] = proto, src.ttl
		copy(ip[8:24], src.addr[:])
		copy(ip[24:40], dst.addr[:])
	} else {
		b[12], b[13] = 0x08, 0x00
		ip := b[ethLen:]
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:], uint16(ip4Len+l4))
		binary.BigEndian.PutUint16(ip[4:], src.ipid)
		src.ipid++
		df := uint16(0x4000)
		if proto != protoTCP {
			df = 0 // most stacks leave DF off for small UDP datagrams
		}
		binary.BigEndian.PutUint16(ip[6:], df)
		ip[8], ip[9], ip[10], ip[11] = src.ttl, proto, 0, 0
		copy(ip[12:16], src.addr[:4])
		copy(ip[16:20], dst.addr[:4])
		binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip[:ip4Len], 0)))
	}
	return start, start + hdr
}

// finish records the packet that begin started, computing the transport
// checksum at offset cs within the transport header.
func (c *conn) finish(d int, proto uint8, start, at, cs int) {
	last := len(c.s.chunks) - 1
	b := c.s.chunks[last]
	l4 := b[at:]
	src, dst := &c.ep[d], &c.ep[1-d]
	var acc uint64
	if c.v6 {
		acc = sum(src.addr[:], 0)
		acc = sum(dst.addr[:], acc)
	} else {
		acc = sum(src.addr[:4], 0)
		acc = sum(dst.addr[:4], acc)
	}
	acc += uint64(proto) + uint64(len(l4))
	v := ^fold(sum(l4, acc))
	if v == 0 && proto == protoUDP {
		v = 0xffff
	}
	binary.BigEndian.PutUint16(l4[cs:], v)
	c.s.pk = append(c.s.pk, pkt{ts: c.t, chunk: int32(last), off: int32(start), n: int32(len(b) - start)})
}

// udp writes a UDP datagram from direction d at the current time.
func (c *conn) udp(d int, payload []byte) {
	start, at := c.begin(d, protoUDP, udpLen+len(payload))
	b := c.s.chunks[len(c.s.chunks)-1][at:]
	binary.BigEndian.PutUint16(b[0:], c.ep[d].port)
	binary.BigEndian.PutUint16(b[2:], c.ep[1-d].port)
	binary.BigEndian.PutUint16(b[4:], uint16(udpLen+len(payload)))
	b[6], b[7] = 0, 0
	copy(b[udpLen:], payload)
	c.finish(d, protoUDP, start, at, 6)
}

// tsNow returns side e's TCP timestamp clock at the current time (1 kHz).
func (c *conn) tsNow(e *side) uint32 {
	return e.tsBase + uint32((c.t-c.g.epoch)/1e6)
}

// synOptions appends the options of a SYN (or SYN-ACK) of side e.
func (c *conn) synOptions(b []byte, e *side, synack bool) []byte {
	mss := []byte{2, 4, byte(e.mss >> 8), byte(e.mss)}
	ts := func(b []byte) []byte {
		b = append(b, 8, 10)
		b = binary.BigEndian.AppendUint32(b, c.tsNow(e))
		if synack {
			return binary.BigEndian.AppendUint32(b, e.tsEcho)
		}
		return append(b, 0, 0, 0, 0)
	}
	switch e.prof {
	case profLinux:
		b = append(append(b, mss...), 4, 2)
		b = ts(b)
		return append(b, 1, 3, 3, 7)
	case profWindows:
		return append(append(b, mss...), 1, 3, 3, 8, 1, 1, 4, 2)
	case profMac:
		b = append(append(b, mss...), 1, 3, 3, 6, 1, 1)
		b = ts(b)
		return append(b, 4, 2, 0, 0)
	case profServer:
		if e.ts {
			b = append(append(b, mss...), 4, 2)
			b = ts(b)
			return append(b, 1, 3, 3, 7)
		}
		return append(append(b, mss...), 1, 1, 4, 2, 1, 3, 3, 7)
	case profNone:
		return b
	}
	return append(b, mss...)
}

// tcp writes a TCP segment from direction d at the current time, with the
// peer's next sequence number as acknowledgment when flags hold ACK.
func (c *conn) tcp(d int, flags uint8, payload []byte) {
	c.tcpSeg(d, flags, payload, c.ep[1-d].seq)
}

// tcpSeg is tcp with an explicit acknowledgment number.
func (c *conn) tcpSeg(d int, flags uint8, payload []byte, ackNum uint32) {
	e, peer := &c.ep[d], &c.ep[1-d]
	var opt [24]byte
	var opts []byte
	switch {
	case flags&fSYN != 0:
		opts = c.synOptions(opt[:0], e, flags&fACK != 0)
	case e.ts && flags&fRST == 0:
		opts = append(opt[:0], 1, 1, 8, 10)
		opts = binary.BigEndian.AppendUint32(opts, c.tsNow(e))
		opts = binary.BigEndian.AppendUint32(opts, e.tsEcho)
	}
	hl := tcpLen + len(opts)
	start, at := c.begin(d, protoTCP, hl+len(payload))
	b := c.s.chunks[len(c.s.chunks)-1][at:]
	binary.BigEndian.PutUint16(b[0:], e.port)
	binary.BigEndian.PutUint16(b[2:], peer.port)
	binary.BigEndian.PutUint32(b[4:], e.seq)
	if flags&fACK == 0 {
		ackNum = 0
	}
	binary.BigEndian.PutUint32(b[8:], ackNum)
	b[12], b[13] = byte(hl/4)<<4, flags
	win := e.win
	switch {
	case flags&fSYN != 0:
		win = e.synWin
	case flags&fRST != 0:
		win = 0
	}
	binary.BigEndian.PutUint16(b[14:], win)
	b[16], b[17], b[18], b[19] = 0, 0, 0, 0
	copy(b[tcpLen:], opts)
	copy(b[hl:], payload)
	c.finish(d, protoTCP, start, at, 16)
	if e.ts || flags&fSYN != 0 {
		peer.tsEcho = c.tsNow(e)
	}
	e.seq += uint32(len(payload))
	if flags&(fSYN|fFIN) != 0 {
		e.seq++
	}
}

// handshake writes the three-way handshake of a connection from ep[0] to
// ep[1], starting now, and settles the segment sizes and timestamps.
func (c *conn) handshake(serverProc int64) {
	cl, sv := &c.ep[0], &c.ep[1]
	sv.ts = cl.prof == profLinux || cl.prof == profMac
	cl.ts = sv.ts
	c.tcp(0, fSYN, nil)
	c.t += c.wan + serverProc
	c.tcp(1, fSYN|fACK, nil)
	c.t += c.lan + c.jitter(20e3)
	c.tcp(0, fACK, nil)
	tsLen := 0
	if cl.ts {
		tsLen = 12
	}
	cl.segSize = int(min(cl.mss, sv.mss)) - tsLen
	sv.segSize = int(min(cl.mss, sv.mss)) - tsLen
}

// jitter returns a random duration of 1 to n ns.
func (c *conn) jitter(n int64) int64 { return c.g.r.Int64N(max(n, 1)) + 1 }

// closeTCP writes the teardown started by direction d: FIN, the peer's
// FIN, the last ACK.
func (c *conn) closeTCP(d int) {
	c.tcp(d, fFIN|fACK, nil)
	c.t += c.delay(d) + c.jitter(300e3)
	c.tcp(1-d, fFIN|fACK, nil)
	c.t += c.delay(1-d) + c.jitter(50e3)
	c.tcp(d, fACK, nil)
}

// send writes data from direction d as TCP segments starting now, with
// the receiver's acknowledgments: every second segment is acknowledged
// when it reaches the receiver, and the sender's window starts at ten
// segments and doubles each round trip (slow start), the segments of a
// round spaced by the bottleneck's serialization time. The last segment
// of data carries PSH. c.t is left at the last packet written. It reports
// whether the last segment was acknowledged (a message that fits one
// segment is not: the caller decides when its answer or ACK follows).
func (c *conn) send(d int, data []byte) (acked bool) {
	seg := c.ep[d].segSize
	if seg <= 0 {
		seg = 1200
	}
	if len(data) <= seg {
		c.tcp(d, fPSH|fACK, data)
		return false
	}
	const initWindow = 10
	window := initWindow
	ackDelay := c.delay(d) + c.jitter(40e3) // the receiver acknowledges on arrival
	react := c.delay(1-d) + c.jitter(100e3) // the sender's next round follows the first ACK
	var (
		ackPending bool
		ackAt      int64
		roundStart = c.t
		firstAck   int64
		unacked    int
	)
	for off := 0; off < len(data); {
		for i := 0; i < window && off < len(data); i++ {
			n := min(seg, len(data)-off)
			ts := roundStart + int64(i)*int64(n+66)*c.nsPerByte[d]
			if ackPending && ackAt <= ts {
				c.t = ackAt
				c.tcp(1-d, fACK, nil)
				ackPending = false
			}
			c.t = max(ts, c.t)
			flags := uint8(fACK)
			if off+n == len(data) {
				flags |= fPSH
			}
			c.tcp(d, flags, data[off:off+n])
			off += n
			if unacked++; unacked == 2 || off == len(data) {
				unacked = 0
				ackPending, ackAt = true, c.t+ackDelay
				if i <= 1 {
					firstAck = ackAt
				}
			}
		}
		last := c.t
		next := max(firstAck+react, last+int64(seg)*c.nsPerByte[d])
		if ackPending && ackAt <= next {
			c.t = ackAt
			c.tcp(1-d, fACK, nil)
			ackPending = false
		}
		roundStart = max(next, c.t+1)
		window = min(2*window, 64)
	}
	if ackPending {
		c.t = max(ackAt, c.t)
		c.tcp(1-d, fACK, nil)
	}
	return true
}

// sum adds b as big-endian 16-bit words to acc (RFC 1071).
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		acc += v>>32 + v&0xffffffff
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold folds a checksum accumulator to 16 bits.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// addrBytes returns a as a side's address field.
func addrBytes(a netip.Addr) (b [16]byte) {
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
		return b
	}
	return a.As16()
}
