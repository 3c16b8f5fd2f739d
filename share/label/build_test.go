package label

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"net/netip"
	"strings"
)

// Builders of hand-made payloads for the tests, written from the
// protocols' specifications rather than from flowfed's parsers.

func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
func u32(v uint32) []byte {
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// dnsName encodes a name as labels.
func encodeName(name string) []byte {
	var out []byte
	for _, l := range strings.Split(name, ".") {
		if l != "" {
			out = append(out, byte(len(l)))
			out = append(out, l...)
		}
	}
	return append(out, 0)
}

// dnsQuery builds a query for name with the given type, class IN.
func dnsQuery(id uint16, name string, qtype int) []byte {
	return cat(u16(int(id)), u16(0x0100), u16(1), u16(0), u16(0), u16(0), encodeName(name), u16(qtype), u16(1))
}

// dnsResponse builds a response to the query with the given answer
// records (each built with rr).
func dnsResponse(id uint16, name string, qtype, rcode int, answers ...[]byte) []byte {
	msg := cat(u16(int(id)), u16(0x8180|rcode), u16(1), u16(len(answers)), u16(0), u16(0), encodeName(name), u16(qtype), u16(1))
	for _, a := range answers {
		msg = append(msg, a...)
	}
	return msg
}

// rr builds a resource record whose owner is a pointer to the question
// name (offset 12).
func rr(typ int, data []byte) []byte {
	return cat([]byte{0xc0, 0x0c}, u16(typ), u16(1), u32(300), u16(len(data)), data)
}

func ip4(s string) []byte {
	a := netip.MustParseAddr(s).As4()
	return a[:]
}

// clientHello builds a TLS ClientHello handshake message (with its 4-byte
// header) offering the given SNI, ALPN protocols and supported versions.
func clientHello(sni string, alpn []string, versions []uint16, extra int) []byte {
	var ext []byte
	if sni != "" {
		entry := cat([]byte{0}, u16(len(sni)), []byte(sni))
		list := cat(u16(len(entry)), entry)
		ext = cat(ext, u16(extServerName), u16(len(list)), list)
	}
	if len(alpn) > 0 {
		var l []byte
		for _, a := range alpn {
			l = append(append(l, byte(len(a))), a...)
		}
		data := cat(u16(len(l)), l)
		ext = cat(ext, u16(extALPN), u16(len(data)), data)
	}
	if len(versions) > 0 {
		data := []byte{byte(2 * len(versions))}
		for _, v := range versions {
			data = append(data, u16(int(v))...)
		}
		ext = cat(ext, u16(extSupportedVersions), u16(len(data)), data)
	}
	if extra > 0 { // a padding extension (21) to make the hello large
		ext = cat(ext, u16(21), u16(extra), make([]byte, extra))
	}
	body := cat(u16(0x0303), make([]byte, 32), []byte{32}, make([]byte, 32),
		u16(6), []byte{0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f}, []byte{1, 0}, u16(len(ext)), ext)
	return cat([]byte{tlsClientHello, 0}, u16(len(body)), body)
}

// serverHello builds a ServerHello (with its header); version 0x0304 is
// sent in supported_versions with the legacy version 3.3.
func serverHello(version uint16) []byte {
	var ext []byte
	legacy := version
	if version == 0x0304 {
		legacy = 0x0303
		ext = cat(u16(extSupportedVersions), u16(2), u16(0x0304))
	}
	body := cat(u16(int(legacy)), make([]byte, 32), []byte{0}, []byte{0x13, 0x01}, []byte{0}, u16(len(ext)), ext)
	return cat([]byte{tlsServerHello, 0}, u16(len(body)), body)
}

// tlsRecord wraps a payload in a TLS record of the given content type.
func tlsRecord(typ byte, payload []byte) []byte {
	return cat([]byte{typ, 3, 1}, u16(len(payload)), payload)
}

// rtpPacket builds an RTP packet.
func rtpPacket(seq uint16, ssrc uint32, pt byte, n int) []byte {
	return cat([]byte{0x80, pt}, u16(int(seq)), u32(uint32(seq)*160), u32(ssrc), make([]byte, n))
}

// utpPacket builds a uTP packet without extensions.
func utpPacket(typ byte, conn, seq, ack uint16, payload []byte) []byte {
	return cat([]byte{typ<<4 | 1, 0}, u16(int(conn)), u32(1000), u32(0), u32(1<<20), u16(int(seq)), u16(int(ack)), payload)
}

// ntpPacket builds a 48-byte NTP packet.
func ntpPacket(first, stratum byte, txSeconds uint32) []byte {
	b := make([]byte, 48)
	b[0], b[1], b[2], b[3] = first, stratum, 6, 0xe9
	binary.BigEndian.PutUint32(b[32:], txSeconds)
	binary.BigEndian.PutUint32(b[40:], txSeconds)
	return b
}

// dhcpDiscover builds a DHCPDISCOVER.
func dhcpDiscover() []byte {
	b := make([]byte, 236)
	b[0], b[1], b[2] = 1, 1, 6
	copy(b[28:], []byte{0x02, 0, 0, 0, 0, 1})
	return cat(b, []byte{0x63, 0x82, 0x53, 0x63, 53, 1, 1, 55, 2, 1, 3, 255})
}

// quicVarint encodes v in the 2-byte or 4-byte form.
func quicVarint(v int) []byte {
	if v < 1<<14 {
		return u16(0x4000 | v)
	}
	return u32(0x80000000 | uint32(v))
}

// cryptoFrame builds a QUIC CRYPTO frame.
func cryptoFrame(off int, data []byte) []byte {
	return cat([]byte{0x06}, quicVarint(off), quicVarint(len(data)), data)
}

// sealInitial builds a client Initial packet of the version with the
// given DCID and frames, padded to 1200 bytes, protected as RFC 9001
// section 5 says.
func sealInitial(version uint32, dcid []byte, frames []byte) []byte {
	_, qv := quicKnown(version)
	key, iv, hp := initialKeys(dcid, qv)
	const pnLen = 2
	pn := 1
	typ := byte(0)
	if qv.v2 {
		typ = 1
	}
	payload := frames
	if n := 1200 - (1 + 4 + 1 + len(dcid) + 1 + 1 + 2 + pnLen + 16) - len(payload); n > 0 {
		payload = append(append([]byte(nil), payload...), make([]byte, n)...)
	}
	hdr := cat([]byte{0xc0 | typ<<4 | (pnLen - 1)}, u32(version), []byte{byte(len(dcid))}, dcid, []byte{0}, []byte{0},
		quicVarint(pnLen+len(payload)+16), u16(pn))
	pnOff := len(hdr) - pnLen
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	nonce := append([]byte(nil), iv...)
	nonce[len(nonce)-1] ^= byte(pn)
	pkt := aead.Seal(append([]byte(nil), hdr...), nonce, payload, hdr)
	hpBlock, _ := aes.NewCipher(hp)
	var mask [16]byte
	hpBlock.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := range pnLen {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}
