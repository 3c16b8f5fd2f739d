package synth

import (
	"encoding/binary"
	"math/rand/v2"
)

// helloProfile is the ClientHello layout of a TLS client family.
type helloProfile uint8

const (
	helloChrome  helloProfile = iota // BoringSSL: GREASE, shuffled extensions, ML-KEM share
	helloFirefox                     // NSS: fixed order, ML-KEM share, P-256 share
	helloSafari                      // GREASE, fixed order, X25519 only
	helloOpenSSL                     // curl, wget and friends
)

// TLS constants.
const (
	recHandshake = 0x16
	recCCS       = 0x14
	recAlert     = 0x15
	recAppData   = 0x17
	x25519MLKEM  = 0x11ec
	mlkemShare   = 1216 // client key share of X25519MLKEM768
	mlkemReply   = 1120 // server key share of X25519MLKEM768
)

// helloOpts are the variable parts of a ClientHello.
type helloOpts struct {
	sni  string
	alpn []string
	quic bool   // inside a QUIC Initial: TLS 1.3 only, transport parameters
	pq   bool   // offer X25519MLKEM768
	scid []byte // QUIC: the client's source connection ID
}

func put16(b []byte, v int) { binary.BigEndian.PutUint16(b, uint16(v)) }
func add16(b []byte, v int) []byte {
	return binary.BigEndian.AppendUint16(b, uint16(v))
}

// grease returns a random GREASE value (RFC 8701).
func grease(r *rand.Rand) uint16 {
	n := uint16(r.IntN(16))<<4 | 0x0a
	return n<<8 | n
}

// extBuilder collects extensions so that they can be reordered.
type extBuilder struct {
	b    []byte
	ends []int
	arr  [32]int // backs ends
}

func (e *extBuilder) begin(typ uint16) { e.b = add16(add16(e.b, int(typ)), 0) }
func (e *extBuilder) end() {
	start := 0
	if n := len(e.ends); n > 0 {
		start = e.ends[n-1]
	}
	put16(e.b[start+2:], len(e.b)-start-4)
	e.ends = append(e.ends, len(e.b))
}

// ext returns extension i's bytes.
func (e *extBuilder) ext(i int) []byte {
	start := 0
	if i > 0 {
		start = e.ends[i-1]
	}
	return e.b[start:e.ends[i]]
}

// appendClientHello appends a ClientHello handshake message.
func (g *gen) appendClientHello(b []byte, prof helloProfile, o helloOpts) []byte {
	r := g.r
	b = append(b, 1, 0, 0, 0)
	msg := len(b)
	b = append(b, 3, 3)
	b = appendRandom(b, r, 32)
	if o.quic {
		b = append(b, 0)
	} else {
		b = append(b, 32)
		b = appendRandom(b, r, 32)
	}
	var suites []uint16
	switch {
	case o.quic:
		suites = []uint16{0x1301, 0x1302, 0x1303}
	case prof == helloOpenSSL:
		suites = []uint16{0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f, 0x009e,
			0xc024, 0xc028, 0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009, 0xc013, 0x0033, 0x009d,
			0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x00ff}
	case prof == helloFirefox:
		suites = []uint16{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a, 0xc009,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	default:
		suites = []uint16{grease(r), 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	}
	b = add16(b, 2*len(suites))
	for _, s := range suites {
		b = add16(b, int(s))
	}
	b = append(b, 1, 0) // null compression

	greasy := prof == helloChrome || prof == helloSafari
	e := &g.exts
	e.b, e.ends = g.tmp[:0], e.arr[:0]
	if greasy {
		e.begin(grease(r))
		e.end()
	}
	first := len(e.ends) // extensions from here on may be shuffled
	// server_name
	e.begin(0)
	e.b = add16(e.b, len(o.sni)+3)
	e.b = append(e.b, 0)
	e.b = add16(e.b, len(o.sni))
	e.b = append(e.b, o.sni...)
	e.end()
	if !o.quic {
		e.begin(23) // extended_master_secret
		e.end()
		if prof != helloOpenSSL {
			e.begin(0xff01) // renegotiation_info
			e.b = append(e.b, 0)
			e.end()
		}
	}
	// supported_groups
	var groups []uint16
	if greasy {
		groups = append(groups, grease(r))
	}
	if o.pq {
		groups = append(groups, x25519MLKEM)
	}
	groups = append(groups, 0x001d, 0x0017, 0x0018)
	switch prof {
	case helloFirefox:
		groups = append(groups, 0x0019, 0x0100, 0x0101)
	case helloOpenSSL:
		groups = append(groups, 0x001e, 0x0019, 0x0100, 0x0101)
	}
	e.begin(10)
	e.b = add16(e.b, 2*len(groups))
	for _, v := range groups {
		e.b = add16(e.b, int(v))
	}
	e.end()
	if !o.quic {
		e.begin(11) // ec_point_formats
		if prof == helloOpenSSL {
			e.b = append(e.b, 3, 0, 1, 2)
		} else {
			e.b = append(e.b, 1, 0)
		}
		e.end()
		e.begin(35) // session_ticket
		e.end()
	}
	if len(o.alpn) > 0 {
		e.begin(16)
		n := 0
		for _, p := range o.alpn {
			n += 1 + len(p)
		}
		e.b = add16(e.b, n)
		for _, p := range o.alpn {
			e.b = append(e.b, byte(len(p)))
			e.b = append(e.b, p...)
		}
		e.end()
	}
	if prof != helloOpenSSL && !o.quic {
		e.begin(5) // status_request
		e.b = append(e.b, 1, 0, 0, 0, 0)
		e.end()
	}
	if prof == helloOpenSSL {
		e.begin(22) // encrypt_then_mac
		e.end()
	}
	// signature_algorithms
	algs := []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}
	if prof == helloOpenSSL {
		algs = append(algs, 0x0807, 0x0808, 0x081a, 0x081b, 0x081c, 0x0809, 0x080a, 0x080b, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602)
	}
	e.begin(13)
	e.b = add16(e.b, 2*len(algs))
	for _, v := range algs {
		e.b = add16(e.b, int(v))
	}
	e.end()
	if greasy && !o.quic {
		e.begin(18) // signed_certificate_timestamp
		e.end()
	}
	// key_share
	e.begin(51)
	at := len(e.b)
	e.b = add16(e.b, 0)
	if greasy {
		e.b = add16(e.b, int(grease(r)))
		e.b = append(e.b, 0, 1, 0)
	}
	if o.pq {
		e.b = add16(e.b, x25519MLKEM)
		e.b = add16(e.b, mlkemShare)
		e.b = appendRandom(e.b, r, mlkemShare)
	}
	e.b = add16(e.b, 0x001d)
	e.b = add16(e.b, 32)
	e.b = appendRandom(e.b, r, 32)
	if prof == helloFirefox {
		e.b = add16(e.b, 0x0017)
		e.b = add16(e.b, 65)
		e.b = append(e.b, 4)
		e.b = appendRandom(e.b, r, 64)
	}
	put16(e.b[at:], len(e.b)-at-2)
	e.end()
	e.begin(45) // psk_key_exchange_modes
	e.b = append(e.b, 1, 1)
	e.end()
	// supported_versions
	e.begin(43)
	vers := []uint16{0x0304}
	if greasy {
		vers = append([]uint16{grease(r)}, vers...)
	}
	if !o.quic {
		vers = append(vers, 0x0303)
		if prof == helloSafari {
			vers = append(vers, 0x0302, 0x0301)
		}
	}
	e.b = append(e.b, byte(2*len(vers)))
	for _, v := range vers {
		e.b = add16(e.b, int(v))
	}
	e.end()
	if prof == helloChrome || prof == helloSafari {
		e.begin(27) // compress_certificate: brotli (zlib for Safari)
		if prof == helloChrome {
			e.b = append(e.b, 2, 0, 2)
		} else {
			e.b = append(e.b, 2, 0, 1)
		}
		e.end()
	}
	if prof == helloFirefox {
		e.begin(28) // record_size_limit
		e.b = add16(e.b, 0x4001)
		e.end()
	}
	if o.quic {
		e.begin(57) // quic_transport_parameters
		e.b = g.appendTransportParams(e.b, o.scid)
		e.end()
	}
	if prof == helloChrome || prof == helloFirefox {
		// A GREASE Encrypted Client Hello (draft-ietf-tls-esni).
		e.begin(0xfe0d)
		e.b = append(e.b, 0, 0, 1, 0, 1, byte(r.IntN(256)), 0, 32)
		e.b = appendRandom(e.b, r, 32)
		n := 144 + 32*r.IntN(4)
		e.b = add16(e.b, n)
		e.b = appendRandom(e.b, r, n)
		e.end()
	}
	last := len(e.ends)
	if greasy {
		e.begin(grease(r))
		e.b = append(e.b, 0)
		e.end()
	}
	// Chrome shuffles its extensions (but not the GREASE ones).
	order := make([]int, len(e.ends))
	for i := range order {
		order[i] = i
	}
	if prof == helloChrome {
		r.Shuffle(last-first, func(i, j int) {
			order[first+i], order[first+j] = order[first+j], order[first+i]
		})
	}
	extLen := len(e.b)
	// BoringSSL pads a hello of 256 to 511 bytes to 512 (RFC 7685).
	pad := -1
	if !o.quic && (prof == helloChrome || prof == helloOpenSSL) {
		if l := len(b) - msg + 4 + 2 + extLen; l > 255 && l < 512 {
			pad = max(512-l-4, 1)
		}
	}
	if pad >= 0 {
		extLen += 4 + pad
	}
	b = add16(b, extLen)
	for _, i := range order {
		if pad >= 0 && i == last && greasy {
			b = add16(b, 21)
			b = add16(b, pad)
			b = append(b, make([]byte, pad)...)
			pad = -1
		}
		b = append(b, e.ext(i)...)
	}
	if pad >= 0 {
		b = add16(b, 21)
		b = add16(b, pad)
		b = append(b, make([]byte, pad)...)
	}
	g.tmp = e.b[:0]
	n := len(b) - msg
	b[msg-3], b[msg-2], b[msg-1] = byte(n>>16), byte(n>>8), byte(n)
	return b
}

// appendServerHello appends a ServerHello handshake message: TLS 1.3
// with a key share, or TLS 1.2 with the ALPN choice.
func (g *gen) appendServerHello(b []byte, sessID int, tls13, pq bool, alpn string) []byte {
	r := g.r
	b = append(b, 2, 0, 0, 0)
	msg := len(b)
	b = append(b, 3, 3)
	b = appendRandom(b, r, 32)
	b = append(b, byte(sessID))
	b = appendRandom(b, r, sessID)
	if tls13 {
		b = append(b, 0x13, 0x01, 0)
	} else {
		b = append(b, 0xc0, 0x2f, 0)
	}
	at := len(b)
	b = add16(b, 0)
	if tls13 {
		b = append(b, 0, 43, 0, 2, 3, 4)
		b = append(b, 0, 51)
		if pq {
			b = add16(b, 4+mlkemReply)
			b = add16(b, x25519MLKEM)
			b = add16(b, mlkemReply)
			b = appendRandom(b, r, mlkemReply)
		} else {
			b = append(b, 0, 36, 0, 0x1d, 0, 32)
			b = appendRandom(b, r, 32)
		}
	} else {
		b = append(b, 0xff, 0x01, 0, 1, 0)
		b = append(b, 0, 11, 0, 4, 3, 0, 1, 2)
		b = append(b, 0, 23, 0, 0)
		if alpn != "" {
			b = add16(b, 16)
			b = add16(b, len(alpn)+3)
			b = add16(b, len(alpn)+1)
			b = append(b, byte(len(alpn)))
			b = append(b, alpn...)
		}
	}
	put16(b[at:], len(b)-at-2)
	n := len(b) - msg
	b[msg-3], b[msg-2], b[msg-1] = byte(n>>16), byte(n>>8), byte(n)
	return b
}

// appendRecord appends a TLS record header for a body of n bytes.
func appendRecord(b []byte, typ byte, n int) []byte {
	return add16(append(b, typ, 3, 3), n)
}

// appendSealed appends a record of n bytes of ciphertext.
func (g *gen) appendSealed(b []byte, typ byte, n int) []byte {
	return appendNoise(appendRecord(b, typ, n), g.r, n)
}

// appendHandshakeRecord wraps the handshake message built by f in a record.
func appendHandshakeRecord(b []byte, version byte, f func([]byte) []byte) []byte {
	b = append(b, recHandshake, 3, version, 0, 0)
	at := len(b)
	b = f(b)
	put16(b[at-2:], len(b)-at)
	return b
}

// tls writes a TLS connection to a web server: handshake, ClientHello
// with SNI and ALPN, the server's flight (TLS 1.3 or 1.2), one or more
// requests and responses as application data, close_notify and teardown.
func (g *gen) tls(s *session, start int64, budget int) {
	r := g.r
	h := g.pickHost()
	n := g.w.pickName(r, 1)
	srv := &g.w.servers[n.srv]
	g.addName(n.name)
	client := h.browser
	if r.IntN(4) == 0 {
		client = h.tool
	}
	c := g.outbound(s, start, h, srv, g.useV6(h, srv), 443)
	c.handshake(c.jitter(200e3))
	pq := client.hello == helloChrome || client.hello == helloFirefox
	alpn := []string{"h2", "http/1.1"}
	if client.hello == helloOpenSSL && r.IntN(2) == 0 {
		alpn = []string{"http/1.1"}
	}
	c.t += c.jitter(600e3)
	g.scratch = appendHandshakeRecord(g.scratch[:0], 1, func(b []byte) []byte {
		return g.appendClientHello(b, client.hello, helloOpts{sni: n.name, alpn: alpn, pq: pq})
	})
	c.send(0, g.scratch) // the server's flight acknowledges it
	c.t += c.wan + c.jitter(srv.proc/4) + ms(0.3)
	tls13 := !srv.tls12
	certLen := 1800 + r.IntN(3200)
	g.scratch = appendHandshakeRecord(g.scratch[:0], 3, func(b []byte) []byte {
		return g.appendServerHello(b, 32, tls13, pq && tls13, alpn[0])
	})
	if tls13 {
		g.scratch = append(g.scratch, recCCS, 3, 3, 0, 1, 1)
		if r.IntN(2) == 0 {
			// Encrypted extensions, certificate, verify and finished in
			// one record.
			g.scratch = g.appendSealed(g.scratch, recAppData, certLen+400+r.IntN(40))
		} else {
			for _, l := range []int{25 + 2 + len(alpn[0]), certLen, 264, 36} {
				g.scratch = g.appendSealed(g.scratch, recAppData, l+17)
			}
		}
	} else {
		g.scratch = appendHandshakeRecord(g.scratch, 3, func(b []byte) []byte { return g.appendCertificate(b, n.name, c.t) })
		g.scratch = appendHandshakeRecord(g.scratch, 3, func(b []byte) []byte {
			b = append(b, 12, 0, 1, 40, 3, 0, 0x1d, 32)
			b = appendRandom(b, r, 32)
			b = append(b, 8, 4, 1, 0)
			return appendNoise(b, r, 256)
		})
		g.scratch = append(g.scratch, recHandshake, 3, 3, 0, 4, 14, 0, 0, 0)
	}
	acked := c.send(1, g.scratch)
	c.t += c.lan + c.jitter(1500e3)
	if tls13 {
		// The client's Finished; the request follows at once.
		g.scratch = append(g.scratch[:0], recCCS, 3, 3, 0, 1, 1)
		g.scratch = g.appendSealed(g.scratch, recAppData, 53)
		c.send(0, g.scratch)
	} else {
		if !acked {
			c.tcp(0, fACK, nil)
			c.t += c.jitter(300e3)
		}
		g.scratch = appendRecord(g.scratch[:0], recHandshake, 37)
		g.scratch = append(g.scratch, 16, 0, 0, 33, 32)
		g.scratch = appendRandom(g.scratch, r, 32)
		g.scratch = append(g.scratch, recCCS, 3, 3, 0, 1, 1)
		g.scratch = g.appendSealed(g.scratch, recHandshake, 40)
		c.send(0, g.scratch)
		c.t += c.wan + c.jitter(srv.proc/4)
		g.scratch = g.appendSealed(g.scratch[:0], recHandshake, 202)
		g.scratch = append(g.scratch, recCCS, 3, 3, 0, 1, 1)
		g.scratch = g.appendSealed(g.scratch, recHandshake, 40)
		c.send(1, g.scratch)
		c.t += c.lan + c.jitter(500e3)
	}
	overhead := 17
	if !tls13 {
		overhead = 24
	}
	requests := 1
	if r.IntN(3) == 0 {
		requests += r.IntN(5)
	}
	for i := range requests {
		if i > 0 {
			c.t += ms(logUniform(r, 10, 4000))
		} else {
			c.t += c.jitter(200e3)
		}
		g.scratch = g.appendSealed(g.scratch[:0], recAppData, 80+r.IntN(500)+overhead)
		c.send(0, g.scratch)
		c.t += c.wan + c.jitter(srv.proc)
		room := (budget - len(c.s.pk) - 8) * c.ep[1].segSize * 2 / 3
		size := max(min(int(logUniform(r, 300, 400e3)), room), 200)
		g.scratch = g.scratch[:0]
		if i == 0 && tls13 {
			for range 2 { // session tickets
				g.scratch = g.appendSealed(g.scratch, recAppData, 230+r.IntN(60))
			}
		}
		// Dynamic record sizing: small records first, then full ones.
		for left, k := size, 0; left > 0; k++ {
			l := 16384
			if k < 4 {
				l = 1300 + r.IntN(100)
			}
			l = min(l, left)
			g.scratch = g.appendSealed(g.scratch, recAppData, l+overhead)
			left -= l
		}
		if !c.send(1, g.scratch) {
			c.t += c.lan + ms(logUniform(r, 0.05, 40))
			c.tcp(0, fACK, nil)
		}
	}
	c.t += ms(logUniform(r, 30, 5000))
	if tls13 {
		g.scratch = g.appendSealed(g.scratch[:0], recAppData, 19)
	} else {
		g.scratch = g.appendSealed(g.scratch[:0], recAlert, 26)
	}
	c.tcp(0, fPSH|fACK, g.scratch)
	c.t += c.jitter(100e3)
	c.closeTCP(0)
	g.flows[kTLS]++
}
