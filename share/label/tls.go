package label

import "strings"

// TLS (RFC 8446, RFC 5246): the ClientHello and ServerHello at the start
// of the two directions. A direction matches when it starts with a
// handshake record of a TLS or SSL 3 version that holds a ClientHello or
// ServerHello with a plausible length and version; the hello itself is
// then read, across records and segments, for the evidence. A hello cut
// by MaxReassembly or by the end of inspection is read as far as it goes.

// TLS record and handshake constants.
const (
	tlsRecordHandshake = 0x16
	tlsClientHello     = 1
	tlsServerHello     = 2
	tlsMaxRecord       = 1<<14 + 2048 // the largest TLSCiphertext length

	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
)

// tlsVersionName returns the name of a TLS protocol version.
func tlsVersionName(v uint16) string {
	switch v {
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLSv1"
	case 0x0302:
		return "TLSv1.1"
	case 0x0303:
		return "TLSv1.2"
	case 0x0304:
		return "TLSv1.3"
	}
	if v>>8 == 0x7f {
		return "TLSv1.3-draft"
	}
	return "0x" + hex16(v)
}

// hex16 formats v as four lower-case hex digits.
func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}

// grease reports whether v is a GREASE value (RFC 8701).
func grease(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// tls inspects the start of direction d for a TLS handshake record.
func (s *State) tls(d int, b []byte, final bool) verdict {
	// Record header: type, version 3.0 to 3.4, length; then the handshake
	// header: type, 24-bit length, and the hello's own version.
	for i, c := range b[:min(len(b), 11)] {
		ok := true
		switch i {
		case 0:
			ok = c == tlsRecordHandshake
		case 1, 9:
			ok = c == 3
		case 2, 10:
			ok = c <= 4
		case 5:
			ok = c == tlsClientHello || c == tlsServerHello
		case 6:
			ok = c == 0
		}
		if !ok {
			if s.proto == TLS {
				s.tlsOther(d)
			}
			return no
		}
	}
	if len(b) < 11 {
		if final {
			return no
		}
		return more
	}
	rlen := int(be16(b[3:]))
	hlen := int(b[7])<<8 | int(b[8])
	if rlen < 6 || rlen > tlsMaxRecord || hlen < 38 {
		return no
	}
	typ := b[5]
	if s.proto != Unknown && s.proto != TLS {
		return no
	}
	if s.proto == Unknown {
		s.label(TLS)
	}
	if typ == tlsClientHello && s.flags&fA != 0 || typ == tlsServerHello && s.flags&fB != 0 {
		return no
	}
	// Collect the handshake message from consecutive handshake records.
	msg, complete := handshakeMessage(b, hlen)
	if !complete && !final && len(b) < MaxReassembly {
		return more
	}
	ev := s.evidence()
	if typ == tlsClientHello {
		parseClientHello(msg, ev, s.flags&fB == 0)
		s.flags |= fA
	} else {
		parseServerHello(msg, ev)
		s.flags |= fB
	}
	if s.flags&(fA|fB) == fA|fB {
		s.done()
	}
	return yes
}

// tlsOther notes that direction d of a TLS flow started with something
// other than a hello (an alert, a change cipher spec), which ends the wait
// for that side's hello.
func (s *State) tlsOther(d int) {
	if d == 0 {
		s.flags |= fA
	} else {
		s.flags |= fB
	}
	if s.flags&(fA|fB) == fA|fB {
		s.done()
	}
}

// handshakeMessage returns the body of the handshake message that starts
// in the first record of b (after its 4-byte header), with the fragments
// from following handshake records appended when it spans records, and
// whether the whole message is there.
func handshakeMessage(b []byte, hlen int) (msg []byte, complete bool) {
	rlen := int(be16(b[3:]))
	rec := b[5:min(len(b), 5+rlen)]
	if 4+hlen <= len(rec) {
		return rec[4 : 4+hlen], true
	}
	if len(b) < 5+rlen {
		return rec[4:], false // the first record is not complete yet
	}
	// The message spans records: join the fragments (rare, and bounded by
	// MaxReassembly since b is).
	buf := make([]byte, 0, min(hlen, MaxReassembly))
	buf = append(buf, rec[4:]...)
	for off := 5 + rlen; len(buf) < hlen && off+5 <= len(b); {
		if b[off] != tlsRecordHandshake {
			return buf, true // the message ends early: read what there is
		}
		n := int(be16(b[off+3:]))
		end := min(len(b), off+5+n)
		buf = append(buf, b[off+5:end]...)
		if end < off+5+n {
			return buf, false
		}
		off = end
	}
	if len(buf) >= hlen {
		return buf[:hlen], true
	}
	return buf, false
}

// helloReader walks the fields of a hello message that may be cut short;
// every read past the end yields ok == false.
type helloReader struct {
	b   []byte
	off int
}

func (r *helloReader) skip(n int) bool {
	if n < 0 || r.off+n > len(r.b) {
		r.off = len(r.b) + 1
		return false
	}
	r.off += n
	return true
}

func (r *helloReader) u8() (int, bool) {
	if r.off+1 > len(r.b) {
		return 0, false
	}
	r.off++
	return int(r.b[r.off-1]), true
}

func (r *helloReader) u16() (int, bool) {
	if r.off+2 > len(r.b) {
		r.off = len(r.b) + 1
		return 0, false
	}
	r.off += 2
	return int(be16(r.b[r.off-2:])), true
}

// extensions calls f for each extension of a hello whose data is
// complete, from the current offset to the end of the extension block. It
// reports whether the whole block was there.
func (r *helloReader) extensions(f func(typ int, data []byte)) bool {
	n, ok := r.u16()
	if !ok {
		return false
	}
	end := r.off + n
	if end > len(r.b) {
		end = len(r.b)
		ok = false
	}
	for r.off+4 <= end {
		typ, l := int(be16(r.b[r.off:])), int(be16(r.b[r.off+2:]))
		if r.off+4+l > end {
			return false
		}
		f(typ, r.b[r.off+4:r.off+4+l])
		r.off += 4 + l
	}
	return ok && r.off == end
}

// parseClientHello takes the evidence of a ClientHello body (from TLS or
// from QUIC's CRYPTO stream), which may be cut short: SNI, the offered
// ALPN list and, when setVersion is set, the highest version offered.
// That version is known from supported_versions, or from the legacy
// version field once the whole extension block showed that there is no
// supported_versions; a hello cut earlier leaves it unset.
func parseClientHello(b []byte, ev *Evidence, setVersion bool) {
	r := helloReader{b: b}
	legacy, ok := r.u16()
	if !ok || !r.skip(32) {
		return
	}
	version := 0
	if n, ok := r.u8(); !ok || !r.skip(n) { // session ID
		return
	}
	if n, ok := r.u16(); !ok || !r.skip(n) { // cipher suites
		return
	}
	if n, ok := r.u8(); !ok || !r.skip(n) { // compression methods
		return
	}
	complete := r.extensions(func(typ int, data []byte) {
		switch typ {
		case extServerName:
			// server_name_list: length, then entries of type and name.
			if len(data) >= 5 && data[2] == 0 {
				n := int(be16(data[3:]))
				if 5+n <= len(data) {
					setText(&ev.TLSSNI, data[5:5+n])
				}
			}
		case extALPN:
			if ev.TLSALPN == "" && len(data) > 2 {
				ev.TLSALPN = alpnList(data[2:min(len(data), 2+int(be16(data)))])
			}
		case extSupportedVersions:
			if len(data) > 0 {
				best := 0
				list := data[1:min(len(data), 1+int(data[0]))]
				for i := 0; i+1 < len(list); i += 2 {
					if v := be16(list[i:]); !grease(v) && int(v) > best && v>>8 == 3 {
						best = int(v)
					}
				}
				if best > 0 {
					version = best
				}
			}
		}
	})
	if version == 0 && complete {
		version = legacy
	}
	if setVersion && version != 0 {
		ev.TLSVersion = tlsVersionName(uint16(version))
	}
}

// alpnList joins the protocol names of an ALPN extension with commas.
func alpnList(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := int(b[0])
		if 1+n > len(b) {
			break
		}
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(clean(b[1 : 1+n]))
		b = b[1+n:]
		if sb.Len() >= MaxEvidenceLen {
			break
		}
	}
	s := sb.String()
	if len(s) > MaxEvidenceLen {
		s = s[:MaxEvidenceLen]
	}
	return s
}

// parseServerHello takes the negotiated version of a ServerHello body.
func parseServerHello(b []byte, ev *Evidence) {
	r := helloReader{b: b}
	version, ok := r.u16()
	if !ok {
		return
	}
	if r.skip(32) {
		if n, ok := r.u8(); ok && r.skip(n) && r.skip(3) { // session ID, cipher suite, compression
			r.extensions(func(typ int, data []byte) {
				if typ == extSupportedVersions && len(data) == 2 {
					version = int(be16(data))
				}
			})
		}
	}
	ev.TLSVersion = tlsVersionName(uint16(version))
}

// tlsRecords recognises a TLS connection seen after its handshake (the
// capture started late, or the hellos were lost): the segment is a run of
// complete TLS records of content types 20 to 23 and versions 3.0 to 3.4,
// with a last record whose header is complete. Random bytes pass the
// three header bytes and the exact lengths with negligible probability.
func (s *State) tlsRecords(b []byte) verdict {
	off, n := 0, 0
	for off+5 <= len(b) {
		if b[off] < 0x14 || b[off] > 0x17 || b[off+1] != 3 || b[off+2] > 4 {
			return no
		}
		l := int(be16(b[off+3:]))
		if l == 0 || l > tlsMaxRecord {
			return no
		}
		if off+5+l > len(b) {
			break
		}
		off += 5 + l
		n++
	}
	if n == 0 || off < len(b) && off+5 > len(b) {
		return no
	}
	s.label(TLS)
	s.done()
	return yes
}
