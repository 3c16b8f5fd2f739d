package label

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// QUIC (RFC 9000, RFC 9369 for version 2, the IETF drafts, and Google's
// versions). A datagram matches when it starts with a long header of a
// known version whose connection ID lengths fit, or a Version Negotiation
// packet that offers a known version, or a Google QUIC public header with
// a "Q0nn" version.
//
// The client's Initial packets are protected with keys derived from the
// client's first Destination Connection ID and a salt that each version
// publishes (RFC 9001 section 5.2, RFC 9369 section 3.3.1). The
// ClientHello in them is read by deriving those keys with HKDF-SHA256,
// removing header protection with AES-128 and opening the packet with
// AES-128-GCM, then joining the CRYPTO frames by offset (clients split
// and reorder them, and a large ClientHello spans two Initial packets).
// Google QUIC before Q046 sends its CHLO in the clear; its SNI tag is read
// directly.

// quicVersion describes a QUIC version whose Initial packets can be read.
type quicVersion struct {
	salt []byte
	v2   bool // RFC 9369 labels and long-header packet types
}

var (
	saltV1      = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2      = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	saltDraft29 = []byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
	saltDraft23 = []byte{0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02}
)

// QUIC version numbers with special handling.
const (
	quicV1 = 0x00000001
	quicV2 = 0x6b3343cf
)

// quicKnown reports whether v is a QUIC version that flowfed recognises,
// and returns the parameters of its Initial packets when it can read them.
func quicKnown(v uint32) (known bool, iv *quicVersion) {
	switch {
	case v == quicV1, v == 0xff000021, v == 0xff000022: // v1; drafts 33 and 34 use its salt
		return true, &quicVersion{salt: saltV1}
	case v == quicV2:
		return true, &quicVersion{salt: saltV2, v2: true}
	case v >= 0xff00001d && v <= 0xff000020: // drafts 29 to 32
		return true, &quicVersion{salt: saltDraft29}
	case v >= 0xff000017 && v <= 0xff00001c: // drafts 23 to 28
		return true, &quicVersion{salt: saltDraft23}
	case v>>8 == 0xff0000 && v&0xff >= 0x0d: // older drafts
		return true, nil
	case v&0xfffffff0 == 0xfaceb000: // mvfst
		return true, nil
	case googleVersion(v):
		return true, nil
	}
	return false, nil
}

// googleVersion reports whether v is a Google QUIC version: "Q", "T" or
// "Z" followed by three digits.
func googleVersion(v uint32) bool {
	c := byte(v >> 24)
	for _, d := range [3]byte{byte(v >> 16), byte(v >> 8), byte(v)} {
		if d < '0' || d > '9' {
			return false
		}
	}
	return c == 'Q' || c == 'T' || c == 'Z'
}

// quicVersionName names a QUIC version for the evidence.
func quicVersionName(v uint32) string {
	switch {
	case v == quicV1:
		return "v1"
	case v == quicV2:
		return "v2"
	case v>>8 == 0xff0000:
		return "draft-" + strconv.Itoa(int(v&0xff))
	case googleVersion(v):
		return string([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return "0x" + hex16(uint16(v>>16)) + hex16(uint16(v))
}

// varint reads a QUIC variable-length integer at off.
func varint(b []byte, off int) (v uint64, next int, ok bool) {
	if off >= len(b) {
		return 0, off, false
	}
	n := 1 << (b[off] >> 6)
	if off+n > len(b) {
		return 0, off, false
	}
	v = uint64(b[off] & 0x3f)
	for _, c := range b[off+1 : off+n] {
		v = v<<8 | uint64(c)
	}
	return v, off + n, true
}

// longHeader is the parsed part of a QUIC long header.
type longHeader struct {
	version uint32
	dcid    []byte
	initial bool
	pnOff   int // offset of the packet number (Initial packets)
	end     int // end of the packet (Initial packets)
}

// parseLongHeader parses a long header with the connection ID lengths of
// QUIC version 1 (at most 20 bytes each).
func parseLongHeader(b []byte) (h longHeader, ok bool) {
	if len(b) < 7 || b[0]&0x80 == 0 {
		return h, false
	}
	h.version = be32(b[1:])
	dcil := int(b[5])
	if dcil > 20 || 6+dcil >= len(b) {
		return h, false
	}
	h.dcid = b[6 : 6+dcil]
	off := 6 + dcil
	scil := int(b[off])
	if scil > 20 || off+1+scil > len(b) {
		return h, false
	}
	off += 1 + scil
	if h.version == 0 {
		return h, true // Version Negotiation: the caller reads the list
	}
	typ := b[0] >> 4 & 3
	if _, iv := quicKnown(h.version); iv != nil && (typ == 0 && !iv.v2 || typ == 1 && iv.v2) {
		token, next, ok := varint(b, off)
		if !ok || token > uint64(len(b)) || next+int(token) > len(b) {
			return h, false
		}
		length, next, ok := varint(b, next+int(token))
		if !ok || length > uint64(len(b)-next) || length < 20 {
			return h, false
		}
		h.initial, h.pnOff, h.end = true, next, next+int(length)
	}
	return h, true
}

// quicLong inspects a datagram that starts with a long header.
func (s *State) quicLong(b []byte) verdict {
	if len(b) < 7 {
		return no
	}
	v := be32(b[1:])
	known, _ := quicKnown(v)
	if !known && v != 0 {
		return no
	}
	if v != 0 && !googleVersion(v) && b[0]&0x40 == 0 {
		return no // the fixed bit
	}
	if googleVersion(v) && (v>>8 == 'Q'<<16|'0'<<8|'4' || b[5] > 20) {
		// Q046 packs both connection ID lengths in one byte.
		s.label(QUIC)
		setString(&s.evidence().QUICVersion, quicVersionName(v))
		s.done()
		return yes
	}
	h, ok := parseLongHeader(b)
	if !ok {
		return no
	}
	if v == 0 {
		return s.quicNegotiation(b, h)
	}
	s.label(QUIC)
	setString(&s.evidence().QUICVersion, quicVersionName(v))
	if !h.initial || !s.quicInitial(b, h) {
		s.done()
		return yes
	}
	var prefix [8]byte
	copy(prefix[:], h.dcid)
	s.aux = binary.BigEndian.Uint64(prefix[:])
	return yes
}

// quicNegotiation inspects a Version Negotiation packet (version 0): a
// list of 32-bit versions of which one must be known.
func (s *State) quicNegotiation(b []byte, h longHeader) verdict {
	off := 6 + len(h.dcid)
	off += 1 + int(b[off])
	list := b[off:]
	if len(list) == 0 || len(list)%4 != 0 {
		return no
	}
	for i := 0; i < len(list); i += 4 {
		v := be32(list[i:])
		if known, _ := quicKnown(v); known {
			s.label(QUIC)
			setString(&s.evidence().QUICVersion, quicVersionName(v))
			s.done()
			return yes
		}
	}
	return no
}

// quicFollow reads further client Initial packets of a QUIC flow whose
// ClientHello is not complete yet.
func (s *State) quicFollow(b []byte) {
	if s.flags&fA != 0 || len(b) < 7 || b[0]&0x80 == 0 {
		return
	}
	h, ok := parseLongHeader(b)
	if !ok || !h.initial {
		return
	}
	var prefix [8]byte
	copy(prefix[:], h.dcid)
	if binary.BigEndian.Uint64(prefix[:]) != s.aux {
		return // not the client's: the server's Initial uses other keys
	}
	s.quicInitial(b, h)
}

// quicInitial decrypts a client Initial packet and adds its CRYPTO frames
// to the flow's ClientHello. It returns true while the ClientHello is
// incomplete and worth waiting for.
func (s *State) quicInitial(b []byte, h longHeader) bool {
	_, qv := quicKnown(h.version)
	plain := openInitial(b, h, qv)
	if plain == nil {
		return false
	}
	if s.re == nil {
		s.re = new(reassembly)
	}
	if s.re.quic == nil {
		s.re.quic = new(quicCrypto)
	}
	q := s.re.quic
	if !q.frames(plain) {
		return false
	}
	if q.parseHello(s, false) {
		s.re.quic = nil
		if s.re.head[0] == nil && s.re.head[1] == nil {
			s.re = nil
		}
		s.done()
		return false
	}
	return true
}

// hkdfExpandLabel is HKDF-Expand-Label of TLS 1.3 (RFC 8446 section 7.1)
// with an empty context.
func hkdfExpandLabel(secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = append(info, byte(n>>8), byte(n), byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		return nil
	}
	return out
}

// initialKeys derives the AEAD key, IV and header protection key of a
// client's Initial packets from the Destination Connection ID.
func initialKeys(dcid []byte, qv *quicVersion) (key, iv, hp []byte) {
	initial, err := hkdf.Extract(sha256.New, dcid, qv.salt)
	if err != nil {
		return nil, nil, nil
	}
	client := hkdfExpandLabel(initial, "client in", 32)
	prefix := "quic "
	if qv.v2 {
		prefix = "quicv2 "
	}
	return hkdfExpandLabel(client, prefix+"key", 16), hkdfExpandLabel(client, prefix+"iv", 12),
		hkdfExpandLabel(client, prefix+"hp", 16)
}

// openInitial removes the protection of a client Initial packet and
// returns its decrypted payload, or nil.
func openInitial(b []byte, h longHeader, qv *quicVersion) []byte {
	if qv == nil || h.end > len(b) || h.pnOff+4+16 > h.end {
		return nil
	}
	key, iv, hp := initialKeys(h.dcid, qv)
	if key == nil || iv == nil || hp == nil {
		return nil
	}
	hpBlock, err := aes.NewCipher(hp)
	if err != nil {
		return nil
	}
	var mask [16]byte
	hpBlock.Encrypt(mask[:], b[h.pnOff+4:h.pnOff+20])
	first := b[0] ^ mask[0]&0x0f
	pnLen := int(first&3) + 1
	hdr := make([]byte, h.pnOff+pnLen)
	copy(hdr, b)
	hdr[0] = first
	var pn uint64
	for i := range pnLen {
		hdr[h.pnOff+i] ^= mask[1+i]
		pn = pn<<8 | uint64(hdr[h.pnOff+i])
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil
	}
	nonce := iv
	for i := range 8 {
		nonce[len(nonce)-1-i] ^= byte(pn >> (8 * i))
	}
	plain, err := aead.Open(nil, nonce, b[h.pnOff+pnLen:h.end], hdr)
	if err != nil {
		return nil
	}
	return plain
}

// quicCrypto joins the CRYPTO stream of a QUIC client's Initial packets,
// up to MaxReassembly bytes.
type quicCrypto struct {
	buf  [MaxReassembly]byte
	have [MaxReassembly / 64]uint64 // bitmap of the bytes present
}

// frames walks the frames of a decrypted Initial payload and stores the
// CRYPTO data. It returns false for a payload it cannot walk.
func (q *quicCrypto) frames(p []byte) bool {
	off := 0
	for off < len(p) {
		typ, next, ok := varint(p, off)
		if !ok {
			return false
		}
		off = next
		switch typ {
		case 0x00, 0x01: // PADDING, PING
		case 0x02, 0x03: // ACK
			var n uint64
			for i := 0; i < 4 && ok; i++ { // largest, delay, range count, first range
				var v uint64
				v, off, ok = varint(p, off)
				if i == 2 {
					n = v
				}
			}
			if !ok || n > 64 {
				return false
			}
			for i := uint64(0); i < 2*n && ok; i++ {
				_, off, ok = varint(p, off)
			}
			for i := 0; typ == 0x03 && i < 3 && ok; i++ {
				_, off, ok = varint(p, off)
			}
			if !ok {
				return false
			}
		case 0x06: // CRYPTO
			var at, n uint64
			at, off, ok = varint(p, off)
			if ok {
				n, off, ok = varint(p, off)
			}
			if !ok || n > uint64(len(p)-off) {
				return false
			}
			q.put(at, p[off:off+int(n)])
			off += int(n)
		case 0x1c: // CONNECTION_CLOSE
			return true
		default:
			return true // a frame an Initial should not hold: stop here
		}
	}
	return true
}

// put stores CRYPTO data at stream offset at.
func (q *quicCrypto) put(at uint64, data []byte) {
	if at >= MaxReassembly {
		return
	}
	n := copy(q.buf[at:], data)
	for i := int(at); i < int(at)+n; i++ {
		q.have[i/64] |= 1 << (i % 64)
	}
}

// contiguous returns the number of stream bytes present from offset 0.
func (q *quicCrypto) contiguous() int {
	for i, w := range q.have {
		if w != ^uint64(0) {
			n := 0
			for w&1 != 0 {
				w >>= 1
				n++
			}
			return i*64 + n
		}
	}
	return MaxReassembly
}

// parseHello reads the ClientHello once it is complete, or as far as it
// goes when final or when it exceeds the buffer. It returns true when
// the ClientHello was read (or is not one).
func (q *quicCrypto) parseHello(s *State, final bool) bool {
	c := q.contiguous()
	if c < 4 {
		return final
	}
	if q.buf[0] != tlsClientHello {
		s.flags |= fA
		return true
	}
	need := 4 + (int(q.buf[1])<<16 | int(q.buf[2])<<8 | int(q.buf[3]))
	if c < need && c < MaxReassembly && !final {
		return false
	}
	parseClientHello(q.buf[4:min(c, need)], s.evidence(), true)
	s.flags |= fA
	return true
}

// gquic inspects a datagram for a Google QUIC public header (versions up
// to Q043): flags with the version bit, an optional 8-byte connection ID,
// then a "Q0nn" version; the CHLO that follows is in the clear.
func (s *State) gquic(b []byte) verdict {
	off := 1
	if b[0]&0x08 != 0 {
		off += 8
	}
	if len(b) < off+4 || b[off] != 'Q' || !googleVersion(be32(b[off:])) {
		return no
	}
	s.label(QUIC)
	ev := s.evidence()
	setString(&ev.QUICVersion, quicVersionName(be32(b[off:])))
	rest := b[off+4:]
	if i := bytes.Index(rest[:min(len(rest), 64)], []byte("CHLO")); i >= 0 {
		chloTags(rest[i:], ev)
	}
	s.done()
	return yes
}

// chloTags reads the SNI and UAID tags of a Google QUIC CHLO message:
// "CHLO", a 16-bit tag count, two bytes of padding, then (tag, end offset)
// pairs and the values.
func chloTags(b []byte, ev *Evidence) {
	if len(b) < 8 {
		return
	}
	n := int(binary.LittleEndian.Uint16(b[4:]))
	idx := b[8:]
	if n > 64 || len(idx) < 8*n {
		return
	}
	values := idx[8*n:]
	prev := 0
	for i := range n {
		tag := idx[8*i : 8*i+4]
		end := int(binary.LittleEndian.Uint32(idx[8*i+4:]))
		if end < prev || end > len(values) {
			return
		}
		switch string(tag) {
		case "SNI\x00":
			setText(&ev.TLSSNI, values[prev:end])
		case "UAID":
			setText(&ev.UserAgent, values[prev:end])
		}
		prev = end
	}
}
