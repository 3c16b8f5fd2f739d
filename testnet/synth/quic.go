package synth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
)

// QUIC version 1 (RFC 9000) constants.
const (
	quicV1       = 0x00000001
	quicMinInit  = 1200 // a client's datagram with an Initial is at least this big
	quicTypeInit = 0
	quicTypeHS   = 2
)

// quicSaltV1 is the initial salt of RFC 9001, section 5.2.
var quicSaltV1 = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}

// initialKeys are the packet protection keys of one direction of the
// Initial packets (RFC 9001, section 5).
type initialKeys struct {
	aead cipher.AEAD
	iv   [12]byte
	hp   cipher.Block
}

// expandLabel is HKDF-Expand-Label of TLS 1.3 with an empty context.
func expandLabel(secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = append(info, byte(n>>8), byte(n), byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		panic("synth: HKDF-Expand of a fixed-size key failed: " + err.Error()) // cannot happen for n <= 255*32
	}
	return out
}

// newInitialKeys derives the client's (server false) or the server's
// Initial keys from the client's first destination connection ID.
func newInitialKeys(dcid []byte, server bool) *initialKeys {
	initial, err := hkdf.Extract(sha256.New, dcid, quicSaltV1)
	if err != nil {
		panic("synth: HKDF-Extract failed: " + err.Error()) // cannot happen: SHA-256 has no key length limit
	}
	label := "client in"
	if server {
		label = "server in"
	}
	secret := expandLabel(initial, label, 32)
	k := &initialKeys{}
	block, err := aes.NewCipher(expandLabel(secret, "quic key", 16))
	if err == nil {
		k.aead, err = cipher.NewGCM(block)
	}
	if err == nil {
		k.hp, err = aes.NewCipher(expandLabel(secret, "quic hp", 16))
	}
	if err != nil {
		panic("synth: AES-128-GCM with a 16-byte key failed: " + err.Error()) // cannot happen
	}
	copy(k.iv[:], expandLabel(secret, "quic iv", 12))
	return k
}

// appendVarint appends a QUIC variable-length integer.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return binary.BigEndian.AppendUint16(b, uint16(v)|0x4000)
	case v < 1<<30:
		return binary.BigEndian.AppendUint32(b, uint32(v)|0x80000000)
	}
	return binary.BigEndian.AppendUint64(b, v|0xc000000000000000)
}

// appendInitial appends a protected Initial packet carrying the frames in
// plain, padded with PADDING frames so that the packet is at least size
// bytes.
func appendInitial(b []byte, k *initialKeys, dcid, scid []byte, pn uint32, pnLen int, plain []byte, size int) []byte {
	start := len(b)
	b = append(b, 0xc0|quicTypeInit<<4|byte(pnLen-1))
	b = binary.BigEndian.AppendUint32(b, quicV1)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	b = append(b, 0) // no token
	hdr := len(b) - start + 2 + pnLen
	payload := len(plain)
	if need := size - hdr - 16; payload < need {
		payload = need
	}
	payload = max(payload, 4-pnLen+16) // room for the header protection sample
	b = binary.BigEndian.AppendUint16(b, uint16(pnLen+payload+16)|0x4000)
	pnOff := len(b)
	for i := pnLen - 1; i >= 0; i-- {
		b = append(b, byte(pn>>(8*i)))
	}
	header := b[start:]
	nonce := k.iv
	for i := range 8 {
		nonce[11-i] ^= byte(uint64(pn) >> (8 * i))
	}
	body := len(b)
	b = append(b, plain...)
	b = append(b, make([]byte, payload-len(plain))...) // PADDING frames
	b = k.aead.Seal(b[:body], nonce[:], b[body:], header)
	// Header protection (RFC 9001, section 5.4).
	var mask [16]byte
	k.hp.Encrypt(mask[:], b[pnOff+4:pnOff+20])
	b[start] ^= mask[0] & 0x0f
	for i := range pnLen {
		b[pnOff+i] ^= mask[1+i]
	}
	return b
}

// appendLongNoise appends a long-header packet of type typ (Handshake)
// whose protected payload is noise, total bytes in all.
func (g *gen) appendLongNoise(b []byte, typ byte, dcid, scid []byte, total int) []byte {
	start := len(b)
	b = append(b, 0xc0|typ<<4|byte(g.r.IntN(16)))
	b = binary.BigEndian.AppendUint32(b, quicV1)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	n := max(total-(len(b)-start)-2, 24)
	b = binary.BigEndian.AppendUint16(b, uint16(n)|0x4000)
	return appendNoise(b, g.r, n)
}

// appendShort appends a 1-RTT (short header) packet of total bytes.
func (g *gen) appendShort(b []byte, dcid []byte, total int) []byte {
	start := len(b)
	b = append(b, 0x40|byte(g.r.IntN(64)))
	b = append(b, dcid...)
	b = appendNoise(b, g.r, max(total-1-len(dcid), 20))
	if teredoLike(b[start:]) {
		b[start] &^= 0x20 // another value of the protected bits
	}
	return b
}

// appendTransportParams appends QUIC transport parameters (RFC 9000,
// section 18) as a browser sends them.
func (g *gen) appendTransportParams(b, scid []byte) []byte {
	param := func(b []byte, id, v uint64) []byte {
		b = appendVarint(b, id)
		n := len(appendVarint(nil, v))
		b = appendVarint(b, uint64(n))
		return appendVarint(b, v)
	}
	b = param(b, 0x01, 30000)    // max_idle_timeout
	b = param(b, 0x03, 1472)     // max_udp_payload_size
	b = param(b, 0x04, 15728640) // initial_max_data
	b = param(b, 0x05, 6291456)  // initial_max_stream_data_bidi_local
	b = param(b, 0x06, 6291456)  // initial_max_stream_data_bidi_remote
	b = param(b, 0x07, 6291456)  // initial_max_stream_data_uni
	b = param(b, 0x08, 100)      // initial_max_streams_bidi
	b = param(b, 0x09, 103)      // initial_max_streams_uni
	b = appendVarint(b, 0x0f)    // initial_source_connection_id
	b = appendVarint(b, uint64(len(scid)))
	b = append(b, scid...)
	b = appendVarint(b, 0x0c) // disable_active_migration
	return append(b, 0)
}

// quic writes an HTTP/3 connection: the client's protected Initial
// packets with its ClientHello (SNI, ALPN h3), the server's Initial and
// Handshake flight, the client's acknowledgment and Finished, then 1-RTT
// packets of the request, the response and ACKs.
func (g *gen) quic(s *session, start int64, budget int) {
	r := g.r
	h := g.pickHost()
	n := g.w.pickName(r, 2)
	srv := &g.w.servers[n.srv]
	g.addName(n.name)
	c := g.outbound(s, start, h, srv, g.useV6(h, srv), 443)
	prof := h.browser.hello
	dcid := appendRandom(nil, r, 8)
	var scid []byte // Chrome uses empty connection IDs
	size := 1250
	if prof != helloChrome {
		scid = appendRandom(nil, r, 8)
		size = 1252
		if prof == helloFirefox {
			size = 1357
		}
	}
	srvCID := appendRandom(nil, r, 8+4*r.IntN(4))
	pq := prof == helloChrome || prof == helloFirefox
	hello := g.appendClientHello(g.tmp2[:0], prof, helloOpts{sni: n.name, alpn: []string{"h3"}, quic: true, pq: pq, scid: scid})
	g.tmp2 = hello
	ck := newInitialKeys(dcid, false)
	sk := newInitialKeys(dcid, true)
	maxDatagram := size // UDP payload of the client's datagrams with Initial packets
	// The ClientHello in CRYPTO frames, as many Initial packets as it takes.
	pn := uint32(0)
	for off := 0; off < len(hello); pn++ {
		chunk := min(len(hello)-off, maxDatagram-60)
		frame := append(g.scratch[:0], 0x06)
		frame = appendVarint(frame, uint64(off))
		frame = appendVarint(frame, uint64(chunk))
		frame = append(frame, hello[off:off+chunk]...)
		g.scratch = frame
		dg := appendInitial(g.tmp[:0], ck, dcid, scid, pn, 2, frame, maxDatagram)
		g.tmp = dg
		c.udp(0, dg)
		c.t += c.jitter(40e3)
		off += chunk
	}
	// The server's flight: Initial (ACK, ServerHello) with Handshake
	// packets, then more Handshake packets with the certificate.
	c.t += c.wan + c.jitter(srv.proc/4)
	sh := g.appendServerHello(g.tmp2[:0], 0, true, pq, "")
	g.tmp2 = sh
	frames := append(g.scratch[:0], 0x02)
	frames = appendVarint(frames, uint64(pn-1))
	frames = append(frames, 0, 0, 0)
	frames = append(frames, 0x06, 0)
	frames = appendVarint(frames, uint64(len(sh)))
	frames = append(frames, sh...)
	g.scratch = frames
	dg := appendInitial(g.tmp[:0], sk, scid, srvCID, 0, 2, frames, 0)
	first := 1200 + r.IntN(53)
	if len(dg) < first-40 {
		dg = g.appendLongNoise(dg, quicTypeHS, scid, srvCID, first-len(dg))
	}
	g.tmp = dg
	c.udp(1, dg)
	hsLeft := 1800 + r.IntN(2800) // the rest of the certificate chain
	for hsLeft > 0 {
		c.t += c.jitter(100e3) + int64(1200)*c.nsPerByte[1]
		l := min(hsLeft, 1200+r.IntN(52))
		g.tmp = g.appendLongNoise(g.tmp[:0], quicTypeHS, scid, srvCID, max(l, 60))
		c.udp(1, g.tmp)
		hsLeft -= l
	}
	// The client: ACK in an Initial (padded), then Handshake ACK and
	// Finished; then the request in 1-RTT packets.
	c.t += c.lan + c.jitter(1e6)
	ack := append(g.scratch[:0], 0x02, 0, 0, 0, 0)
	g.scratch = ack
	dg = appendInitial(g.tmp[:0], ck, srvCID, scid, pn, 2, ack, 0)
	dg = g.appendLongNoise(dg, quicTypeHS, srvCID, scid, 80+r.IntN(20))
	if len(dg) < maxDatagram {
		dg = append(dg, make([]byte, maxDatagram-len(dg))...) // padding after the packets
	}
	g.tmp = dg
	c.udp(0, dg)
	c.t += c.jitter(300e3)
	g.tmp = g.appendShort(g.tmp[:0], srvCID, 60+r.IntN(300))
	c.udp(0, g.tmp)
	// The response: 1-RTT packets paced by the server, ACKed every second.
	c.t += c.wan + c.jitter(srv.proc)
	g.tmp = g.appendShort(g.tmp[:0], scid, 100+r.IntN(150)) // HANDSHAKE_DONE, NEW_TOKEN, SETTINGS
	c.udp(1, g.tmp)
	pkts := int(logUniform(r, 1, 300))
	pkts = max(min(pkts, (budget-len(c.s.pk)-4)*2/3), 1)
	gap := int64(1252) * c.nsPerByte[1]
	for k := range pkts {
		c.t += gap + c.jitter(gap/2+1)
		l := 1252
		if k == pkts-1 {
			l = 60 + r.IntN(1150)
		}
		g.tmp = g.appendShort(g.tmp[:0], scid, l)
		c.udp(1, g.tmp)
		if k%2 == 1 || k == pkts-1 {
			c.t += c.lan/2 + c.jitter(50e3)
			g.tmp = g.appendShort(g.tmp[:0], srvCID, 30+r.IntN(25))
			c.udp(0, g.tmp)
		}
	}
	if r.IntN(2) == 0 {
		// The client closes the connection (CONNECTION_CLOSE).
		c.t += ms(logUniform(r, 100, 20000))
		g.tmp = g.appendShort(g.tmp[:0], srvCID, 40+r.IntN(20))
		c.udp(0, g.tmp)
	}
	g.flows[kQUIC]++
}
